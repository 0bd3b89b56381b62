package websocket

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/deflate"
)

// gateConn is a net.Conn that records every Write. While hold is set, the
// first Write announces itself on entered and waits for release, which lets
// a test queue frames behind a write that is "in the system call". Writes
// numbered in failAt return an error instead.
type gateConn struct {
	mu      sync.Mutex
	writes  [][]byte
	hold    bool
	entered chan struct{}
	release chan struct{}
	failAt  map[int]bool
	closed  bool
}

func newGateConn(hold bool) *gateConn {
	return &gateConn{hold: hold, entered: make(chan struct{}), release: make(chan struct{}), failAt: map[int]bool{}}
}

func (g *gateConn) Write(p []byte) (int, error) {
	g.mu.Lock()
	n := len(g.writes)
	hold := g.hold && n == 0
	fail := g.failAt[n] || g.closed
	g.writes = append(g.writes, bytes.Clone(p))
	g.mu.Unlock()
	if hold {
		close(g.entered)
		<-g.release
	}
	if fail {
		return 0, errors.New("gateConn: write failed")
	}
	return len(p), nil
}

func (g *gateConn) Read([]byte) (int, error) { return 0, io.EOF }
func (g *gateConn) Close() error {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	return nil
}
func (g *gateConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (g *gateConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (g *gateConn) SetDeadline(time.Time) error      { return nil }
func (g *gateConn) SetReadDeadline(time.Time) error  { return nil }
func (g *gateConn) SetWriteDeadline(time.Time) error { return nil }

// recorded returns the number of writes and the frames they carried.
func (g *gateConn) recorded(t *testing.T) (int, []Frame) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	var wire []byte
	for _, w := range g.writes {
		wire = append(wire, w...)
	}
	var frames []Frame
	for len(wire) > 0 {
		h, n, err := parseHeader(wire)
		if err != nil || n == 0 || int64(len(wire)-n) < h.length {
			t.Fatalf("undecodable bytes after %d frames: %v", len(frames), err)
		}
		p := bytes.Clone(wire[n : n+int(h.length)])
		if h.masked {
			Mask(h.key, p)
		}
		frames = append(frames, Frame{Fin: h.fin, Opcode: h.opcode, Masked: h.masked, MaskKey: h.key, Payload: p})
		wire = wire[n+int(h.length):]
	}
	return len(g.writes), frames
}

// blockFirstWrite starts a send of "first" on its own goroutine and returns
// once its write is in progress, with the send's result channel.
func blockFirstWrite(t *testing.T, c *Conn, g *gateConn) chan error {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- c.SendText("first") }()
	<-g.entered
	return errc
}

func TestSendsQueuedBehindAWriteGoOutInOneWrite(t *testing.T) {
	g := newGateConn(true)
	c := newConn(g, nil, &DialOptions{})
	first := blockFirstWrite(t, c, g)
	const n = 100
	for i := range n {
		// These return at once: the frame is queued, not written.
		if err := c.SendText(strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	close(g.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	writes, frames := g.recorded(t)
	if writes != 2 {
		t.Errorf("%d writes, want 2 (the first frame, then the %d queued ones together)", writes, n)
	}
	if len(frames) != n+1 || string(frames[0].Payload) != "first" {
		t.Fatalf("got %d frames, want %d starting with \"first\"", len(frames), n+1)
	}
	keys := map[[4]byte]bool{}
	for i, f := range frames[1:] {
		if !f.Fin || f.Opcode != OpText || !f.Masked || string(f.Payload) != strconv.Itoa(i) {
			t.Fatalf("frame %d = %v, want masked text %d", i+1, &f, i)
		}
		keys[f.MaskKey] = true
	}
	if len(keys) < n-1 {
		t.Errorf("queued frames share mask keys: %d distinct of %d", len(keys), n)
	}
}

func TestCloseWaitsForQueuedFrames(t *testing.T) {
	g := newGateConn(true)
	c := newConn(g, nil, &DialOptions{})
	first := blockFirstWrite(t, c, g)
	for i := range 10 {
		if err := c.SendBinary([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- c.SendClose(StatusNormal, "bye") }()
	close(g.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := c.SendText("late"); err == nil {
		t.Error("a send after the close frame succeeded")
	}
	_, frames := g.recorded(t)
	if len(frames) != 12 || frames[11].Opcode != OpClose {
		t.Fatalf("got %d frames ending with %v, want 12 ending with the close", len(frames), frames[len(frames)-1].Opcode)
	}
	for i, f := range frames[1:11] {
		if f.Opcode != OpBinary || f.Payload[0] != byte(i) {
			t.Fatalf("frame %d = %v, want binary %d", i+1, &f, i)
		}
	}
}

func TestQueuedWriteErrorIsReportedLater(t *testing.T) {
	g := newGateConn(true)
	g.failAt[1] = true // the flusher's write
	c := newConn(g, nil, &DialOptions{})
	first := blockFirstWrite(t, c, g)
	if err := c.SendText("queued"); err != nil {
		t.Fatalf("queued send = %v, want nil (its write has not happened yet)", err)
	}
	close(g.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	err := c.Flush()
	if !errors.Is(err, ErrConnectionClosed) {
		t.Fatalf("Flush = %v, want the write failure (ErrConnectionClosed)", err)
	}
	if err2 := c.SendText("after"); !errors.Is(err2, ErrConnectionClosed) {
		t.Fatalf("send after a failed write = %v, want ErrConnectionClosed", err2)
	}
	if c.Connected() {
		t.Error("Connected after a failed write")
	}
}

func TestLoneSendReportsItsOwnWriteError(t *testing.T) {
	g := newGateConn(false)
	g.failAt[0] = true
	c := newConn(g, nil, &DialOptions{})
	if err := c.SendText("lone"); !errors.Is(err, ErrConnectionClosed) {
		t.Fatalf("SendText = %v, want its write's error", err)
	}
}

// A send that never waits leaves the Conn without a condition variable,
// and without its rare state: waking writers must not make either (it is
// per-connection memory).
func TestLoneSendMakesNoCond(t *testing.T) {
	g := newGateConn(false)
	c := newConn(g, nil, &DialOptions{})
	if err := c.SendText("lone"); err != nil {
		t.Fatal(err)
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if r := c.rare.Load(); r != nil {
		t.Errorf("a lone send made the rare state (waits %v)", r.waits.Load())
	}
}

func TestBurstIsCoalesced(t *testing.T) {
	g := newGateConn(false)
	c := newConn(g, nil, &DialOptions{})
	// Pretend the previous write just ended: the next sends are a burst.
	c.writeMu.Lock()
	c.lastWrite = monoNow() + int64(time.Hour)
	c.writeMu.Unlock()
	for i := range 1000 {
		if err := c.SendBinary([]byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	writes, frames := g.recorded(t)
	if len(frames) != 1000 {
		t.Fatalf("%d frames, want 1000", len(frames))
	}
	for i, f := range frames {
		if string(f.Payload) != strconv.Itoa(i) {
			t.Fatalf("frame %d carries %q", i, f.Payload)
		}
	}
	t.Logf("1000 frames in %d writes", writes)
}

func TestLargeFrameWaitsForQueue(t *testing.T) {
	g := newGateConn(true)
	c := newConn(g, nil, &DialOptions{})
	first := blockFirstWrite(t, c, g)
	if err := c.SendBinary([]byte("small")); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{'b'}, maxQueuedFrame+1)
	done := make(chan error, 1)
	go func() { done <- c.SendBinary(big) }() // too big to queue: waits, then writes itself
	close(g.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	_, frames := g.recorded(t)
	if len(frames) != 3 || string(frames[1].Payload) != "small" || !bytes.Equal(frames[2].Payload, big) {
		t.Fatalf("got %d frames, want first, small, big in that order", len(frames))
	}
}

// TestCompressedBurstTimedFromSendStart: a compressed send that began
// right after the previous write ended is part of a burst and queues,
// however long compressing took, so that back-to-back compressed sends
// write one message while compressing the next (the burst test used to
// look at the clock after compressing: never within burstWindow).
func TestCompressedBurstTimedFromSendStart(t *testing.T) {
	ext := func() *compression {
		return &compression{params: deflate.Params{ClientMaxWindowBits: 15, ServerMaxWindowBits: 15}, level: 1}
	}
	// A message whose compression takes far longer than burstWindow and
	// whose compressed frame is small enough to queue; long enough (tens
	// of milliseconds) that the sending goroutine's start, however late on
	// a busy machine, comes within half of it.
	msg := bytes.Repeat([]byte(`{"sym":"BTC-USD","px":61234.5,"seq":1234567},`), 1<<18)
	timed := newConn(newGateConn(false), nil, &DialOptions{})
	timed.ext = ext()
	start := time.Now()
	if err := timed.SendBinary(msg); err != nil {
		t.Fatal(err)
	}
	d := time.Since(start) // what compressing (and writing) it takes
	if d < 100*time.Duration(burstWindow) {
		t.Fatalf("compressing took %v: too fast to tell", d)
	}

	g := newGateConn(true) // the first write holds until released
	c := newConn(g, nil, &DialOptions{})
	c.ext = ext()
	// The previous write ends half a compression after the send begins:
	// the send begins within the burst window, its compression ends
	// outside it.
	c.writeMu.Lock()
	c.lastWrite = monoNow() + int64(d/2)
	c.writeMu.Unlock()
	done := make(chan error, 1)
	go func() { done <- c.SendBinary(msg) }()
	<-g.entered
	select {
	case err := <-done: // queued: the flusher holds the write, not the sender
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Error("the compressed send wrote directly: it was not taken for part of a burst")
	}
	close(g.release)
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, frames := g.recorded(t); len(frames) != 1 || len(frames[0].Payload) >= len(msg) {
		t.Fatalf("%d frames, want one, compressed", len(frames))
	}
}
