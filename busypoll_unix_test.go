//go:build unix

package websocket

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/wsclient/websocket/internal/wstest"
)

func newTestBusyReader(t *testing.T, nc net.Conn) *busyReader {
	t.Helper()
	if !busyPollCPUs {
		t.Skip("one CPU: busy polling is off")
	}
	b, ok := newSocketReader(nc, BusyPollDefault).(*busyReader)
	if !ok {
		t.Fatalf("newSocketReader(%T) is not a busyReader", nc)
	}
	return b
}

// TestBusyReaderSize checks the size class of what a Conn keeps of its
// busy-poll reader after its first bytes: the state of a read in progress
// is pooled (busyRead), so an idle connection holds 48 bytes, not 144.
// The tlsSocket under every wss connection stays in the 64-byte class: what
// only large messages need of it (tlsHolds's RawConn) is made then.
func TestBusyReaderSize(t *testing.T) {
	checkSizes(t, []sizeLimit{{"busyReader", unsafe.Sizeof(busyReader{}), 48}, {"tlsSocket", unsafe.Sizeof(tlsSocket{}), 64}})
}

// TestBusyReaderReads checks that a busyReader returns what a net.Conn
// would: the bytes in order, whether or not it had to wait for them, and
// io.EOF after the peer's close.
func TestBusyReaderReads(t *testing.T) {
	c, s := tcpPair(t)
	b := newTestBusyReader(t, c)
	if n, err := b.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) = %d, %v; want 0, nil", n, err)
	}
	want := make([]byte, 1<<20)
	for i := range want {
		want[i] = byte(i * 7)
	}
	go func() {
		// In pieces, so that some reads find the socket empty.
		for p := want; len(p) > 0; p = p[min(len(p), 100_000):] {
			s.Write(p[:min(len(p), 100_000)])
		}
		s.Close()
	}()
	got, err := io.ReadAll(b)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if string(got) != string(want) {
		t.Fatalf("read %d bytes, not the %d written", len(got), len(want))
	}
	if n, err := b.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("Read after EOF = %d, %v; want 0, io.EOF", n, err)
	}
}

// TestBusyReaderErrors checks that the errors are a net.Conn's: an
// *net.OpError "read" wrapping os.ErrDeadlineExceeded (a timeout),
// net.ErrClosed or the system call's error.
func TestBusyReaderErrors(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		c, _ := tcpPair(t)
		b := newTestBusyReader(t, c)
		c.SetReadDeadline(time.Now().Add(-time.Second))
		_, err := b.Read(make([]byte, 10))
		var oe *net.OpError
		if !errors.As(err, &oe) || oe.Op != "read" || !errors.Is(err, os.ErrDeadlineExceeded) || !oe.Timeout() {
			t.Fatalf("err = %#v; want a read OpError wrapping os.ErrDeadlineExceeded", err)
		}
		// A deadline that passes while the reader waits.
		c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := b.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("err = %v; want os.ErrDeadlineExceeded", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		c, _ := tcpPair(t)
		b := newTestBusyReader(t, c)
		c.Close()
		if _, err := b.Read(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("err = %v; want net.ErrClosed", err)
		}
	})
	t.Run("closed while waiting", func(t *testing.T) {
		c, _ := tcpPair(t)
		b := newTestBusyReader(t, c)
		done := make(chan error)
		go func() {
			_, err := b.Read(make([]byte, 10))
			done <- err
		}()
		c.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("err = %v; want net.ErrClosed", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		c, s := tcpPair(t)
		b := newTestBusyReader(t, c)
		s.SetLinger(0)
		s.Close()
		_, err := b.Read(make([]byte, 10))
		var oe *net.OpError
		if !errors.As(err, &oe) || oe.Op != "read" || !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("err = %#v; want a read OpError wrapping ECONNRESET", err)
		}
		if want := "read tcp " + c.LocalAddr().String() + "->" + c.RemoteAddr().String() + ": read: connection reset by peer"; err.Error() != want {
			t.Fatalf("err = %q; want %q", err, want)
		}
	})
}

// TestBusyReaderSpin drives readSocket on an empty socket: the first wait
// spins, finds nothing and parks, and the next one parks without spinning;
// once data is there it is read at once.
func TestBusyReaderSpin(t *testing.T) {
	c, s := tcpPair(t)
	b := newTestBusyReader(t, c)
	setContended(t, false)
	rc, _ := c.SyscallConn()
	var r *busyRead
	read := func() bool {
		var done bool
		r = &busyRead{b: b, p: make([]byte, 10), spin: true}
		rc.Control(func(fd uintptr) { done = r.readSocket(fd) })
		return done
	}
	// The shortest of a few fresh waits, so that a cold first call cannot
	// pass for a spin.
	shortest := time.Hour
	for range 5 {
		b.policy = busyPolicy{}
		start := time.Now()
		if read() {
			t.Fatal("empty socket: readSocket has a result")
		}
		shortest = min(shortest, time.Since(start))
	}
	if shortest < busyPollTime {
		t.Fatalf("a fresh wait parked after %v; want a spin of %v first", shortest, busyPollTime)
	}
	if !r.parked || b.policy.skip != 1 {
		t.Fatalf("after an unrewarded spin: parked %v, skip %d; want parked, 1", r.parked, b.policy.skip)
	}
	if read() || b.policy.skip != 0 {
		t.Fatalf("second wait: want a park without spinning, skip 0; skip %d", b.policy.skip)
	}
	s.Write([]byte("hello"))
	// The bytes may take a moment to show on the other end of loopback.
	for r.n == 0 {
		if read() && (r.err != nil || string(r.p[:r.n]) != "hello") {
			t.Fatalf("read %q, %v; want hello", r.p[:r.n], r.err)
		}
	}
}

// TestConnBusyReader checks that a Conn reads its first bytes from its
// net.Conn and then switches to a busyReader.
func TestConnBusyReader(t *testing.T) {
	if !busyPollCPUs {
		t.Skip("one CPU: busy polling is off")
	}
	c, s := tcpPair(t)
	conn := newConn(c, nil, &DialOptions{})
	if conn.fr.sock != nil {
		t.Fatal("a new Conn already has its socket reader")
	}
	for range 2 {
		s.Write([]byte{0x82, 3, 'a', 'b', 'c'})
		if op, p, err := conn.RecvAppend(nil); err != nil || op != OpBinary || string(p) != "abc" {
			t.Fatalf("RecvAppend = %v, %q, %v", op, p, err)
		}
		if _, ok := conn.fr.sock.(*busyReader); !ok {
			t.Fatalf("after a message the socket reader is %T; want *busyReader", conn.fr.sock)
		}
	}
}

// TestBusyReaderNoSpinWhileStreaming checks that a read refilling the large
// buffer parks at once, without spinning or touching the backoff: data is
// then coming faster than it is read, and parking lets a full buffer gather.
func TestBusyReaderNoSpinWhileStreaming(t *testing.T) {
	c, _ := tcpPair(t)
	if !busyPollCPUs {
		t.Skip("one CPU: busy polling is off")
	}
	var fr frameReader
	b := newSocketReader(c, BusyPollDefault).(*busyReader)
	fr.take(largeReadBufferSize) // as fill does when reads fill the small buffer
	defer fr.putBuf()
	rc, _ := c.SyscallConn()
	r := &busyRead{b: b, p: make([]byte, 10), spin: fr.maySpin()} // as frameReader.read passes it
	var done bool
	rc.Control(func(fd uintptr) { done = r.readSocket(fd) })
	if done || !r.parked || b.policy != (busyPolicy{}) {
		t.Fatalf("readSocket = %v, parked %v, policy %+v; want a park without a spin", done, r.parked, b.policy)
	}
}

// TestBusyPollOff checks DialOptions.BusyPoll: BusyPollOff reads through
// a busyReader that never spins, BusyPollOn through one that spins
// whatever GOMAXPROCS is.
func TestBusyPollOff(t *testing.T) {
	for _, mode := range []BusyPollMode{BusyPollOff, BusyPollOn} {
		t.Run(mode.String(), func(t *testing.T) {
			c, s := tcpPair(t)
			conn := newConn(c, nil, &DialOptions{BusyPoll: mode})
			for range 2 {
				s.Write([]byte{0x82, 3, 'a', 'b', 'c'})
				if op, p, err := conn.RecvAppend(nil); err != nil || op != OpBinary || string(p) != "abc" {
					t.Fatalf("RecvAppend = %v, %q, %v", op, p, err)
				}
			}
			b, ok := conn.fr.sock.(*busyReader)
			if !ok || b.noSpin != (mode == BusyPollOff) {
				t.Fatalf("socket reader is %T (%+v) with %v", conn.fr.sock, b, mode)
			}
		})
	}
}

// TestBusyPollTLS checks that a wss Conn with BusyPollOn busy-polls too:
// crypto/tls reads its records through a tlsSocket that the Conn switches
// to a busyReader at its first bytes; with BusyPollOff and by default it
// does not. The stream keeps working either way, and NetConn is still the
// *tls.Conn.
func TestBusyPollTLS(t *testing.T) {
	ca := wstest.NewCA()
	s := wstest.NewTLS(ca.ServerConfig(), wstest.Echo)
	t.Cleanup(s.Close)
	for _, mode := range []BusyPollMode{BusyPollOn, BusyPollOff, BusyPollDefault} {
		t.Run(mode.String(), func(t *testing.T) {
			c, err := Dial(context.Background(), s.URL, &DialOptions{Timeout: 5 * time.Second, BusyPoll: mode, TLSConfig: &tls.Config{RootCAs: ca.Pool}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			tc, ok := c.NetConn().(*tls.Conn)
			if !ok {
				t.Fatalf("NetConn() is %T, want *tls.Conn", c.NetConn())
			}
			msg := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB: several records
			for range 3 {
				if err := c.SendBinary(msg); err != nil {
					t.Fatal(err)
				}
				if _, p, err := c.RecvAppend(nil); err != nil || !bytes.Equal(p, msg) {
					t.Fatalf("RecvAppend: %d bytes, %v", len(p), err)
				}
			}
			ts, ok := tc.NetConn().(*tlsSocket)
			if !ok {
				t.Fatalf("TLS runs over %T, want *tlsSocket", tc.NetConn())
			}
			_, isReader := c.fr.sock.(*tlsReader)
			if spins := ts.b.Load() != nil; spins != (mode == BusyPollOn) || isReader != spins {
				t.Fatalf("%v: tlsSocket busy %v, socket reader %T", mode, spins, c.fr.sock)
			}
		})
	}
}

// TestConnScatterRead checks that a long payload read straight into the
// caller's buffer brings the bytes behind it (the next frame's header) into
// the read buffer in the same read, on a real socket.
func TestConnScatterRead(t *testing.T) {
	c, s := tcpPair(t)
	conn := newConn(c, nil, &DialOptions{})
	defer conn.Abort()
	var wire []byte
	var msgs [][]byte
	for i := range 3 {
		msg := bytes.Repeat([]byte{byte('a' + i)}, 40000)
		wire = append((&header{fin: true, opcode: OpBinary, length: int64(len(msg))}).appendTo(wire), msg...)
		msgs = append(msgs, msg)
	}
	go s.Write(wire)
	scattered := false
	for i, want := range msgs {
		if op, p, err := conn.RecvAppend(nil); err != nil || op != OpBinary || !bytes.Equal(p, want) {
			t.Fatalf("message %d: RecvAppend = %v, %d bytes, %v", i, op, len(p), err)
		}
		scattered = scattered || conn.fr.buffered() > 0
	}
	if _, ok := conn.fr.sock.(scatterReader); ok && runtime.GOOS == "linux" && !scattered {
		t.Error("no message left the next frame's bytes in the buffer")
	}
}

// TestBusyReaderWaitReadable: a wait for data that has already arrived
// ends at once. The runtime forgets a readiness it saw before the wait
// began, so the socket itself must be looked at first: without that look
// this wait would last until its deadline.
func TestBusyReaderWaitReadable(t *testing.T) {
	c, s := tcpPair(t)
	b := newTestBusyReader(t, c)
	s.Write([]byte("x"))
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	for arrived := false; !arrived; { // the byte crosses loopback
		rc.Control(func(fd uintptr) { arrived = socketReadable(fd) })
		runtime.Gosched()
	}
	// Idle long enough for the runtime's poller to take the byte's
	// readiness; the wait below then starts without it. The test passes
	// either way with the look; this makes its absence show.
	time.Sleep(20 * time.Millisecond)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := b.waitReadable(); err != nil {
		t.Fatalf("waitReadable with data waiting = %v, want nil at once", err)
	}
	if n, err := b.Read(make([]byte, 4)); n != 1 || err != nil {
		t.Errorf("Read after the wait = %d, %v; want the byte", n, err)
	}
}
