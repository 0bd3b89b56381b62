//go:build !race

// Under the race detector allocations are not counted reliably.

package websocket

import (
	"context"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket/wstest"
)

// TestAppRecvAllocations: an App's message costs one allocation, its
// payload (OnMessage may keep it), on the goroutine path and on an
// EventLoop; the frame waits in the receive queue by value.
func TestAppRecvAllocations(t *testing.T) {
	const n = 20000
	var batch []byte
	for range 1000 {
		batch = wstest.Frame{Fin: true, Opcode: wstest.OpBinary, Payload: make([]byte, 16)}.AppendTo(batch)
	}
	forBothPaths(t, func(t *testing.T, loop bool) {
		before, after := appRecvMemory(t, loop, batch, 1000, n/1000, nil)
		if per := float64(after.Mallocs-before.Mallocs) / n; per > 1.1 {
			t.Errorf("%.2f allocations per message, want 1", per)
		}
	})
}

// TestAppRecvLargeMessageBytes: a large message costs a few times its size
// in allocations at most, on the goroutine path and on an EventLoop: its
// buffer grows by what has arrived, or by doubling, not by append's steps
// (an EventLoop allocated 4.9 MB per 1 MiB message that way).
func TestAppRecvLargeMessageBytes(t *testing.T) {
	const n, size = 8, 1 << 20
	frame := wstest.Frame{Fin: true, Opcode: wstest.OpBinary, Payload: make([]byte, size)}.AppendTo(nil)
	forBothPaths(t, func(t *testing.T, loop bool) {
		before, after := appRecvMemory(t, loop, frame, 1, n, func(m Message) {
			if len(m.Data) != size {
				t.Errorf("a message of %d bytes, want %d", len(m.Data), size)
			}
		})
		// Doubling allocates less than three times what it ends with
		// (the step before the last can be nearly the message's size);
		// what has arrived, when the socket tells, takes less.
		if per := (after.TotalAlloc - before.TotalAlloc) / n; per > size*7/2 {
			t.Errorf("%d bytes allocated per %d-byte message, want at most %d", per, size, size*7/2)
		}
	})
}

// forBothPaths runs f as a subtest for an App on the goroutine path and
// for one on an EventLoop.
func forBothPaths(t *testing.T, f func(t *testing.T, loop bool)) {
	for _, loop := range []bool{false, true} {
		name := "goroutine"
		if loop {
			name = "EventLoop"
		}
		t.Run(name, func(t *testing.T) { f(t, loop) })
	}
}

// appRecvMemory opens an App (on an EventLoop when loop) to a server that
// then writes wire, n messages, times times, and returns the memory
// statistics from before the writing to the last message; each message
// goes to check (when not nil).
func appRecvMemory(t *testing.T, loop bool, wire []byte, n, times int, check func(Message)) (before, after runtime.MemStats) {
	n *= times
	start := make(chan struct{})
	srv := wstest.NewServer(func(c *wstest.Conn) {
		if c.Accept(nil) != nil {
			return
		}
		<-start
		for range times {
			if c.WriteRaw(wire) != nil {
				return
			}
		}
		c.ReadFrame() // the client's close
	})
	defer srv.Close()
	done := make(chan struct{})
	got := 0
	a := &App{URL: srv.URL}
	a.OnMessage = func(_ *App, m Message) {
		if check != nil {
			check(m)
		}
		if got++; got == n {
			runtime.ReadMemStats(&after)
			close(done)
		}
	}
	ended := runOpen(t, a, loop)
	runtime.ReadMemStats(&before)
	close(start)
	<-done
	a.Close()
	ended()
	return before, after
}

// TestAppSendAllocations: App.SendBytes with nothing queued writes the frame
// from the caller's goroutine and allocates nothing, on the goroutine path
// and on an EventLoop.
func TestAppSendAllocations(t *testing.T) {
	forBothPaths(t, func(t *testing.T, loop bool) {
		srv := wstest.NewServer(func(c *wstest.Conn) {
			if c.Accept(nil) != nil {
				return
			}
			io.Copy(io.Discard, c.NetConn()) // reads without allocating
		})
		defer srv.Close()
		a := &App{URL: srv.URL}
		ended := runOpen(t, a, loop)
		msg := make([]byte, 16)
		a.SendBytes(msg) // the first send may set up what the others reuse
		if allocs := testing.AllocsPerRun(1000, func() {
			if err := a.SendBytes(msg); err != nil {
				t.Fatal(err)
			}
		}); allocs != 0 {
			t.Errorf("%.2f allocations per App.SendBytes, want 0", allocs)
		}
		a.CloseWith(StatusNormal, "", time.Millisecond) // the server does not answer the close
		ended()
	})
}

// runOpen starts a's run without reconnecting, on a running EventLoop or
// on a goroutine of its own, and returns once a's connection is open.
// ended waits for the run to end (on a loop, Run returned at once) and
// fails the test if it failed.
func runOpen(t *testing.T, a *App, loop bool) (ended func()) {
	t.Helper()
	opts := &RunOptions{Reconnect: -1}
	if loop {
		opts.Dispatcher = runningLoop(t)
	}
	opened := make(chan struct{})
	a.OnOpen = func(*App) { close(opened) }
	finished := make(chan error, 1)
	go func() { finished <- a.Run(context.Background(), opts) }()
	if loop {
		if err := <-finished; err != nil {
			t.Fatal(err)
		}
	}
	<-opened
	return func() {
		if !loop {
			if err := <-finished; err != nil {
				t.Error(err)
			}
		}
	}
}

// TestAppKeepAliveAllocations: on an EventLoop an automatic ping, its pong
// and the pong check allocate nothing: each run sets the same two timers
// again at every ping, and the receive queue keeps the ring the pong
// needs. With a million connections pinging every 30 s, eight allocations
// per ping were a quarter of a million a second.
func TestAppKeepAliveAllocations(t *testing.T) {
	const conns, step = 50, 500
	var pings atomic.Int64
	marks := make(chan struct{}, 64) // each step-th ping the server reads
	pong := wstest.Frame{Fin: true, Opcode: wstest.OpPong}.AppendTo(nil)
	srv := wstest.NewServer(func(c *wstest.Conn) {
		if c.Accept(nil) != nil {
			return
		}
		// The client sends nothing but pings without payload, masked:
		// 6 bytes each.
		buf, got := make([]byte, 256), 0
		for {
			n, err := c.NetConn().Read(buf)
			if err != nil {
				return
			}
			for got += n; got >= 6; got -= 6 {
				if pings.Add(1)%step == 0 {
					select {
					case marks <- struct{}{}:
					default:
					}
				}
				if c.WriteRaw(pong) != nil {
					return
				}
			}
		}
	})
	defer srv.Close()
	l := runningLoop(t)
	// A pong check ends within the interval; a machine too busy to
	// answer within it fails a connection (its error paths allocate), and
	// the window that saw it is measured again.
	var failed atomic.Int64
	opened := make(chan struct{}, conns)
	opts := &RunOptions{Dispatcher: l, Reconnect: -1, PingInterval: 100 * time.Millisecond, PingTimeout: 99 * time.Millisecond}
	for range conns {
		a := &App{URL: srv.URL}
		a.OnOpen = func(*App) { opened <- struct{}{} }
		a.OnError = func(_ *App, err error) { failed.Add(1) }
		if err := a.Run(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
	}
	for range conns {
		<-opened
	}
	<-marks // every timer set once, every ring made
	for try := 0; ; try++ {
		var before, after runtime.MemStats
		f := failed.Load()
		runtime.ReadMemStats(&before)
		select {
		case <-marks:
		case <-time.After(time.Minute):
			t.Fatalf("the pings stopped: %d connections failed", failed.Load())
		}
		runtime.ReadMemStats(&after)
		if failed.Load() != f && try < 3 {
			continue
		}
		if per := float64(after.Mallocs-before.Mallocs) / step; per > 0.05 {
			t.Errorf("%.3f allocations per automatic ping (%d bytes), want 0", per, (after.TotalAlloc-before.TotalAlloc)/step)
		}
		return
	}
}
