//go:build linux && !race

// Under the race detector allocations are not counted reliably.

package websocket

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
)

// TestRecvArrivedWhole checks that a message past the first 32 KiB of room
// that has arrived whole is read into one allocation of its size, not into
// 32 KiB first and then a copy (81,920 bytes for a 48 KiB message): the
// socket tells what it holds.
func TestRecvArrivedWhole(t *testing.T) {
	c, s := tcpPair(t)
	// Room for the whole frame in the kernel while nothing reads it.
	if err := c.SetReadBuffer(256 << 10); err != nil {
		t.Fatal(err)
	}
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	const size = 48 << 10
	frame := append([]byte{0x82, 126, size >> 8, size & 0xff}, bytes.Repeat([]byte{'p'}, size)...)
	conn := newConn(c, nil, &DialOptions{})
	// No collection while it runs: one would empty the read buffers'
	// pools, and the next buffer would be counted as the message's.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for _, tc := range []struct {
		name string
		recv func() ([]byte, error)
	}{
		{"RecvData", func() ([]byte, error) { _, p, err := conn.RecvData(false); return p, err }},
		{"Recv", func() ([]byte, error) { m, err := conn.Recv(); return m.Data, err }},
		{"RecvFrame", func() ([]byte, error) { f, err := conn.RecvFrame(); return f.Payload, err }},
	} {
		// The first message makes the socket reader and the pooled read
		// buffer; the others show the steady state.
		for i := range 3 {
			if _, err := s.Write(frame); err != nil {
				t.Fatal(err)
			}
			waitHolds(t, rc, len(frame))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			p, err := tc.recv()
			runtime.ReadMemStats(&after)
			if err != nil || len(p) != size {
				t.Fatalf("%s: %d bytes, %v", tc.name, len(p), err)
			}
			// The bytes, not the count, and up to 16 KiB more than the
			// payload: a busy machine adds small allocations of the
			// runtime's and of the contention check, and a read buffer
			// its pool did not have on this CPU costs 4 KiB. The old
			// growth cost 32 KiB more.
			if got := after.TotalAlloc - before.TotalAlloc; i > 0 && got > size+16<<10 {
				t.Errorf("%s of a %d-byte message that has arrived allocated %d bytes; want the payload's alone",
					tc.name, size, got)
			}
		}
	}
}

// TestArrivedAsksTheLoopsSocket checks that a Conn an event loop owns asks
// the loop's socket what has arrived: the loop reads the socket, not the
// Conn's read buffer.
func TestArrivedAsksTheLoopsSocket(t *testing.T) {
	c, s := tcpPair(t)
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 10000)
	if _, err := s.Write(data); err != nil {
		t.Fatal(err)
	}
	waitHolds(t, rc, len(data))
	conn := &Conn{}
	conn.lc.Store(&loopConn{rc: rc})
	if got := conn.arrived(1 << 20); got != int64(len(data)) {
		t.Errorf("arrived = %d, want the %d bytes the socket holds", got, len(data))
	}
}

// waitHolds waits until the socket of rc holds n bytes, reading none: the
// runtime's poller wakes the wait as more arrive.
func waitHolds(t *testing.T, rc syscall.RawConn, n int) {
	t.Helper()
	if err := rc.Read(func(fd uintptr) bool { return socketAvailable(fd) >= n }); err != nil {
		t.Fatal(err)
	}
}
