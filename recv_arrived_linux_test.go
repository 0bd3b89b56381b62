//go:build linux && !race

// Under the race detector allocations are not counted reliably.

package websocket

import (
	"bytes"
	"crypto/tls"
	"net"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/wsclient/websocket/internal/testenv"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestRecvArrivedWhole checks that a message past the first 32 KiB of room
// that has arrived whole is read into one allocation of its size, not into
// 32 KiB first and then a copy (81,920 bytes for a 48 KiB message): the
// socket tells what it holds.
func TestRecvArrivedWhole(t *testing.T) {
	c, s, rc := roomyTCPPair(t, 256<<10)
	conn := newConn(c, nil, &DialOptions{})
	checkArrivedWhole(t, conn, rc, 48<<10, func(frame []byte) int {
		if _, err := s.Write(frame); err != nil {
			t.Fatal(err)
		}
		return len(frame)
	})
}

// TestRecvArrivedWholeAfterLeftover checks the same for a message that
// began in the bytes the handshake read past its response (the server
// wrote the 101 and the message at once): the socket is asked for the
// rest, where the growth doubled from 32 KiB (2.8x a 129 KiB message).
func TestRecvArrivedWholeAfterLeftover(t *testing.T) {
	const size, head = 129 << 10, 1000
	frame, err := (&Frame{Fin: true, Opcode: OpBinary, Payload: bytes.Repeat([]byte{'p'}, size)}).AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for _, mode := range []BusyPollMode{BusyPollOff, BusyPollOn} {
		t.Run(mode.String(), func(t *testing.T) {
			c, s, rc := roomyTCPPair(t, 256<<10)
			conn := newConn(c, frame[:head], &DialOptions{BusyPoll: mode})
			if _, err := s.Write(frame[head:]); err != nil {
				t.Fatal(err)
			}
			waitHolds(t, rc, len(frame)-head)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			m, err := conn.Recv()
			runtime.ReadMemStats(&after)
			if err != nil || len(m.Data) != size {
				t.Fatalf("Recv: %d bytes, %v", len(m.Data), err)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > uint64(size)+16<<10 {
				t.Errorf("Recv of a %d-byte message that has arrived allocated %d bytes (%.2fx); want the payload's alone",
					size, got, float64(got)/size)
			}
		})
	}
}

// TestRecvArrivedWholeTLS checks the same over TLS, through crypto/tls's
// reader and through the busy-polling one: the socket and what crypto/tls
// last read from it tell what has arrived (tlsHolds). The old growth cost
// 80 KiB for a 48 KiB message and 424 KiB for a 200 KiB one.
func TestRecvArrivedWholeTLS(t *testing.T) {
	for _, mode := range []BusyPollMode{BusyPollOff, BusyPollOn} {
		t.Run(mode.String(), func(t *testing.T) {
			tc, ts, sw, rc := tlsTCPPair(t)
			conn := newConn(tc, nil, &DialOptions{BusyPoll: mode})
			conn.isTLS = true
			// crypto/tls's buffers grow, and its records with them, over
			// the first 128 KiB a connection carries: past that, they
			// are the steady state's.
			warm, err := (&Frame{Fin: true, Opcode: OpBinary, Payload: make([]byte, 64<<10)}).AppendTo(nil)
			if err != nil {
				t.Fatal(err)
			}
			for range 4 {
				if _, err := ts.Write(warm); err != nil {
					t.Fatal(err)
				}
				if _, _, err := conn.RecvData(false); err != nil {
					t.Fatal(err)
				}
			}
			for _, size := range []int{48 << 10, 200 << 10} {
				checkArrivedWhole(t, conn, rc, size, func(frame []byte) int {
					before := sw.n.Load()
					if _, err := ts.Write(frame); err != nil {
						t.Fatal(err)
					}
					return int(sw.n.Load() - before)
				})
			}
		})
	}
}

// TestGrowthOverTLS checks the room a message's buffer gets over TLS
// against what the peer really sent: a peer that declares 64 MiB and sends
// 10 bytes gets the 32 KiB of any message, and one that sends 1 MiB gets
// room for what arrived (its records' headers and tags included), never
// the 64 MiB it declared.
func TestGrowthOverTLS(t *testing.T) {
	for _, tc := range []struct {
		sent     int
		min, max int
	}{
		{10, 32 << 10, 32 << 10},
		{1 << 20, 1 << 20, 1<<20 + 64<<10},
	} {
		cc, ts, sw, rc := tlsTCPPair(t)
		conn := newConn(cc, nil, &DialOptions{})
		conn.readLimit = -1
		// A first frame makes the socket reader (readProbe).
		if _, err := ts.Write([]byte{0x82, 1, 'x'}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := conn.RecvData(false); err != nil {
			t.Fatal(err)
		}
		before := sw.n.Load()
		if _, err := ts.Write(make([]byte, tc.sent)); err != nil {
			t.Fatal(err)
		}
		waitHolds(t, rc, int(sw.n.Load()-before))
		conn.fr.dec.remaining = 64 << 20 // the declared frame, read no further
		if got := conn.growth(0, true); got < tc.min || got > tc.max {
			t.Errorf("%d bytes sent of a declared 64 MiB: room %d, want %d to %d", tc.sent, got, tc.min, tc.max)
		}
	}
}

// TestTLSHoldsAllocatesOnce checks that asking what has arrived over TLS
// allocates only the first time: the socket's RawConn is kept.
func TestTLSHoldsAllocatesOnce(t *testing.T) {
	cc, _, _, _ := tlsTCPPair(t)
	tlsHolds(cc)
	if n := testing.AllocsPerRun(100, func() { tlsHolds(cc) }); n != 0 {
		t.Errorf("tlsHolds made %.1f allocations after the first", n)
	}
}

// tlsTCPPair returns the two ends of a loopback TCP connection running TLS,
// handshaken: the client over a tlsSocket, with room in the kernel for
// 1 MiB and more; the server's bytes on the wire counted by sw; rc the
// client's socket.
func tlsTCPPair(t *testing.T) (client, server *tls.Conn, sw *countingSocket, rc syscall.RawConn) {
	t.Helper()
	c, s, rc := roomyTCPPair(t, 2<<20)
	ca := wstest.NewCA()
	sw = &countingSocket{Conn: s}
	server = tls.Server(sw, ca.ServerConfig())
	client = tls.Client(&tlsSocket{Conn: c}, &tls.Config{RootCAs: ca.Pool, ServerName: "localhost"})
	done := make(chan error, 1)
	go func() { done <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return client, server, sw, rc
}

// roomyTCPPair returns tcpPair's two ends, the client's socket with room
// in the kernel for rcvbuf bytes while nothing reads it, and its RawConn.
// A kernel that caps receive buffers below that (net.core.rmem_max) skips
// the test, and fails it in CI: its waits for the bytes to arrive would
// never end.
func roomyTCPPair(t *testing.T, rcvbuf int) (client, server *net.TCPConn, rc syscall.RawConn) {
	t.Helper()
	client, server = tcpPair(t)
	if err := client.SetReadBuffer(rcvbuf); err != nil {
		t.Fatal(err)
	}
	rc, err := client.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	got := 0 // Linux doubles what is set, for its bookkeeping
	if err := rc.Control(func(fd uintptr) { got, err = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF) }); err != nil {
		t.Fatal(err)
	}
	if got < 2*rcvbuf {
		testenv.Missing(t, "room in a socket's receive buffer: the kernel caps it at %d bytes (net.core.rmem_max); this test needs %d", got/2, rcvbuf)
	}
	return client, server, rc
}

// countingSocket counts the bytes written to it.
type countingSocket struct {
	net.Conn
	n atomic.Int64
}

func (c *countingSocket) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// checkArrivedWhole has a message of size bytes sent (send writes the
// frame and returns how many bytes the socket of rc is to hold then), waits
// until they have arrived, and receives it through each receiving call of
// conn, three times each: after the first, which makes the socket reader
// and the pooled read buffer, a call must allocate the payload's bytes
// alone.
func checkArrivedWhole(t *testing.T, conn *Conn, rc syscall.RawConn, size int, send func(frame []byte) int) {
	t.Helper()
	frame, err := (&Frame{Fin: true, Opcode: OpBinary, Payload: bytes.Repeat([]byte{'p'}, size)}).AppendTo(nil)
	if err != nil {
		t.Fatal(err)
	}
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
		for i := range 3 {
			waitHolds(t, rc, send(frame))
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
			// growth cost 32 KiB more and up.
			if got := after.TotalAlloc - before.TotalAlloc; i > 0 && got > uint64(size)+16<<10 {
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
