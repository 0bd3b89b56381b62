//go:build unix

package websocket

// Promises of the event loop's stop, signals and queues, an App run's end,
// reconnects and EventLoopGroup that no test held (a mutation audit: each
// test fails with the code changed to break its promise).

import (
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/wstest"
)

// withinBound reports whether cond became true within loopTestTimeout, looking
// every millisecond (a condition of the loop's queue, which has no event).
func withinBound(cond func() bool) bool {
	for deadline := time.Now().Add(loopTestTimeout); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// TestLoopSendMarkAtMost8MiB: on an EventLoop that owns the socket,
// SendQueueBytes "is also what the loop may hold for the socket (8 MiB at
// most) before a send waits" (RunOptions.SendQueueBytes; EventLoop: "more
// than RunOptions.SendQueueBytes (at most 8 MiB)"). With SendQueueBytes
// 32 MiB and a server that reads nothing for a while, the loop holds about
// 8 MiB, the rest waits in the App's send queue, and once the server reads
// everything arrives, with no failure: the loop never reaches its 16 MiB
// bound.
func TestLoopSendMarkAtMost8MiB(t *testing.T) {
	const (
		msgSize = 256 << 10
		total   = 64 << 20
		queue   = 32 << 20 // SendQueueBytes
		mark    = 8 << 20
		senders = 4
	)
	read := make(chan struct{})
	var got atomic.Int64
	srv := wstest.New(func(c *wstest.Conn) {
		<-read
		for {
			f, err := c.ReadFrame()
			if err != nil {
				return
			}
			if f.Opcode == 8 {
				c.WriteFrame(true, 8, f.Payload)
				return
			}
			got.Add(int64(len(f.Payload)))
		}
	})
	defer srv.Close()
	var failure atomic.Pointer[error]
	var most atomic.Int64
	l := NewEventLoop()
	a := &App{URL: srv.URL}
	a.OnError = func(_ *App, err error) { failure.CompareAndSwap(nil, &err) }
	a.OnClose = func(*App, StatusCode, string) { l.Stop() }
	a.OnOpen = func(a *App) {
		c := a.Conn()
		if !LoopOwned(c) {
			t.Error("the loop does not own the socket")
		}
		// Several senders: one writes, the others queue behind it.
		sent := make(chan error, senders)
		for range senders {
			go func() {
				msg := make([]byte, msgSize)
				for range total / msgSize / senders {
					if err := a.SendBytes(msg); err != nil {
						sent <- err
						return
					}
				}
				sent <- nil
			}()
		}
		go func() {
			// The sends back up: the loop holds more than its mark for
			// the socket, and the sends wait (flagLoopBacklog).
			if !withinBound(func() bool {
				return failure.Load() != nil || c.flags.has(flagLoopBacklog)
			}) {
				t.Errorf("the sends never backed up: the loop holds %d, the App's queue %d", LoopQueued(c), a.Buffered())
			}
			most.Store(int64(LoopQueued(c)))
			t.Logf("the loop holds %d bytes, the App's send queue %d", most.Load(), a.Buffered())
			close(read)
			for range senders {
				if err := <-sent; err != nil {
					t.Errorf("send = %v", err)
				}
			}
			// The sends returned once queued: the close waits until the
			// server has it all (a busy machine may take longer to send
			// the 32 MiB still queued than the close's 3 s).
			withinBound(func() bool { return got.Load() == total || failure.Load() != nil })
			a.Close()
		}()
	}
	if err := a.Run(context.Background(), &RunOptions{Dispatcher: l, Reconnect: -1, SendQueueBytes: queue}); err != nil {
		t.Fatal(err)
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatalf("loop Run = %v", err)
	}
	// The mark, two batches of the Conn's write queue and a message a sender.
	if bound := int64(mark + 2*64<<10 + senders*(msgSize+14)); most.Load() > bound {
		t.Errorf("the loop held %d bytes for the socket; want %d at most (8 MiB mark)", most.Load(), bound)
	}
	if p := failure.Load(); p != nil {
		t.Errorf("failure: %v", *p)
	}
	if n := got.Load(); n != total {
		t.Errorf("the server got %d bytes, want %d", n, total)
	}
}

// TestClosingRunReadsPastDroppedData: once CloseWith is called, "no
// OnMessage, OnData or OnContMessage starts: messages still queued, or
// arriving before the server's close, are dropped" (App.CloseWith), and the
// reader "then reads on at the socket's pace rather than the consumer's,
// never pausing for frames no one will see" (recvQueue.dropData). With a
// callback holding the dispatcher (OnPing) after the close began, data the
// server sends before its close does not fill the receive queue: the
// server's close is read, and the connection closed, while the callback
// still runs; OnClose then gets the server's code and reason.
func TestClosingRunReadsPastDroppedData(t *testing.T) {
	proceed, gotEOF, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	srv := wstest.New(func(c *wstest.Conn) {
		defer close(gotEOF)
		if f, err := c.ReadFrame(); err != nil || f.Opcode != 8 { // our close
			return
		}
		<-proceed
		c.WriteFrame(true, 9, []byte("p1")) // OnPing holds the dispatcher
		for range 10 {
			c.WriteFrame(true, 1, []byte("dropped"))
		}
		c.WriteFrame(true, 8, wstest.ClosePayload(1000, "bye"))
		for {
			if _, err := c.ReadFrame(); err != nil {
				return
			}
		}
	})
	defer srv.Close()
	l := NewEventLoop()
	opened := make(chan struct{})
	var messages atomic.Int32
	var closed []any
	a := &App{URL: srv.URL}
	a.OnOpen = func(*App) { close(opened) }
	a.OnMessage = func(*App, Message) { messages.Add(1) }
	a.OnPing = func(_ *App, p []byte) {
		if string(p) == "p1" {
			<-release
		}
	}
	a.OnClose = func(_ *App, code StatusCode, reason string) {
		closed = append(closed, code, reason)
		l.Stop()
	}
	go func() {
		defer close(release)
		<-opened
		if err := a.CloseWith(StatusNormal, "", 10*time.Second); err != nil {
			t.Error(err)
		}
		ran := make(chan struct{})
		l.Post(func() { close(ran) }) // after the close the dispatcher began
		<-ran
		close(proceed)
		select {
		case <-gotEOF:
		case <-time.After(5 * time.Second):
			t.Error("the server's close, behind data sent before it, was not read while a callback ran: the reader paused for frames no callback gets")
		}
	}()
	opts := &RunOptions{Dispatcher: l, Reconnect: -1, RecvQueueMessages: 2, RecvQueueLowMessages: 1}
	if err := a.Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatalf("loop Run = %v", err)
	}
	if n := messages.Load(); n != 0 {
		t.Errorf("%d OnMessage after CloseWith, want none", n)
	}
	if !slices.Equal(closed, []any{StatusNormal, "bye"}) {
		t.Errorf("OnClose got %v, want the server's 1000 \"bye\"", closed)
	}
}

// TestLoopStopEndsAReconnectingRun: EventLoop.Stop "makes Run close
// its Apps (StatusGoingAway), wait for their OnClose and return nil", and
// a stop is for good ("no reconnect follows", App.CloseWith). An App with
// ReconnectOnServerClose, whose server echoes the stop's 1001 — a code
// that, from the server, would ask for a reconnect — ends its run: OnClose
// once with 1001, no second dial, and the loop's Run returns.
func TestLoopStopEndsAReconnectingRun(t *testing.T) {
	var dials atomic.Int32
	srv := wstest.New(func(c *wstest.Conn) {
		dials.Add(1)
		echoClose(c)
	})
	defer srv.Close()
	l := NewEventLoop()
	var closes []StatusCode
	a := &App{URL: srv.URL}
	a.OnOpen = func(*App) { l.Stop() }
	a.OnClose = func(_ *App, code StatusCode, _ string) { closes = append(closes, code) }
	if err := a.Run(context.Background(), &RunOptions{Dispatcher: l, Reconnect: time.Millisecond, ReconnectOnServerClose: true}); err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- l.Run(context.Background()) }()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("loop Run = %v, want nil after Stop", err)
		}
	case <-time.After(loopTestTimeout):
		t.Fatal("the loop's Run did not return after Stop: the App's run never ended")
	}
	if !slices.Equal(closes, []StatusCode{StatusGoingAway}) || dials.Load() != 1 {
		t.Errorf("OnClose got %v after %d dials, want [1001] after one", closes, dials.Load())
	}
}

// TestGroupRunWaitsForEveryLoop: EventLoopGroup.Run runs every loop
// "until ctx ends or Stop is called, as EventLoop.Run does for one loop:
// each loop closes its Apps and waits for them before Run returns". An App
// on the group's second loop whose OnClose is still running holds the
// group's Run back, after the first loop has returned.
func TestGroupRunWaitsForEveryLoop(t *testing.T) {
	srv := wstest.New(echoClose)
	defer srv.Close()
	g := NewEventLoopGroup(2)
	g.Next() // the first loop has no App
	inClose, release := make(chan struct{}), make(chan struct{})
	a := &App{URL: srv.URL}
	a.OnOpen = func(*App) { g.Stop() }
	a.OnClose = func(*App, StatusCode, string) {
		close(inClose)
		<-release
	}
	if err := a.Run(context.Background(), &RunOptions{Dispatcher: g.Next(), Reconnect: -1}); err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- g.Run(context.Background()) }()
	<-inClose
	first := g.loops[0]
	for { // the first loop's Run has returned
		first.mu.Lock()
		done := first.state == loopDone
		first.mu.Unlock()
		if done {
			break
		}
		runtime.Gosched()
	}
	select {
	case err := <-ran:
		t.Errorf("the group's Run returned (%v) while an App of its second loop was in OnClose", err)
		close(release)
	case <-time.After(time.Second): // Run waits, as it must: let OnClose end
		close(release)
		if err := <-ran; err != nil {
			t.Errorf("group Run = %v, want nil after Stop", err)
		}
	}
}

// TestCloseCancelsTheReconnectWait: App.CloseWith stops the run and
// "a pending dial or reconnect is cancelled". On an EventLoop, where a
// reconnect wait is a timer of the loop, an App closed during an hour's
// wait leaves no timer behind once its run is over: the loop does not hold
// the run (and its App) until the hour has passed.
func TestCloseCancelsTheReconnectWait(t *testing.T) {
	l := NewEventLoop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := startedLoop(ctx, l)
	timers := func() int {
		n := make(chan int, 1)
		l.Post(func() {
			l.mu.Lock()
			n <- len(l.timers)
			l.mu.Unlock()
		})
		return <-n
	}
	before := timers()
	refused := func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("refused") }
	a := &App{URL: "ws://127.0.0.1:1/"}
	run := make(chan *Session, 1) // the run, taken while it runs: it may be over before Run's caller looks
	a.OnError = func(a *App, _ error) {
		a.mu.Lock()
		select {
		case run <- a.sess:
		default:
		}
		a.mu.Unlock()
		l.Post(func() { a.Close() }) // after the reconnect is scheduled
	}
	if err := a.Run(context.Background(), &RunOptions{Dispatcher: l, Reconnect: time.Hour,
		DialOptions: DialOptions{NetDialContext: refused}}); err != nil {
		t.Fatal(err)
	}
	s := <-run
	select {
	case <-s.Done():
	case <-time.After(loopTestTimeout):
		t.Fatal("the run did not end after Close")
	}
	if n := timers(); n != before {
		t.Errorf("the loop holds %d timers after the run ended, %d before it: the reconnect wait was not cancelled", n, before)
	}
	cancel()
	<-ran
}

// pingBehind30MiB sends a 30 MiB message on an event loop to a server
// that reads nothing, then a ping, and returns the bytes the loop held
// after the send and what the send and the ping returned.
func pingBehind30MiB(t *testing.T) (queued int, sendErr, pingErr error) {
	quit := make(chan struct{})
	srv := wstest.New(func(*wstest.Conn) { <-quit }) // reads nothing
	defer srv.Close()
	defer close(quit)
	l := NewEventLoop()
	a := &App{URL: srv.URL}
	a.OnOpen = func(a *App) {
		c := a.Conn()
		if !LoopOwned(c) {
			t.Error("the loop does not own the socket")
		}
		sendErr = a.SendBytes(make([]byte, 30<<20))
		queued = LoopQueued(c)
		pingErr = c.Ping(nil)
		a.Close()
	}
	a.OnClose = func(*App, StatusCode, string) { l.Stop() }
	if err := a.Run(context.Background(), &RunOptions{Dispatcher: l, Reconnect: -1}); err != nil {
		t.Fatal(err)
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatalf("loop Run = %v", err)
	}
	if sendErr != nil {
		t.Errorf("the 30 MiB send = %v, want nil (one frame of any size is queued)", sendErr)
	}
	if queued <= 16<<20 {
		t.Fatalf("the loop holds %d bytes after the send; the test needs more than 16 MiB", queued)
	}
	return queued, sendErr, pingErr
}

// TestLoopRefusesAFrameBehind16MiB: on the event loop "a frame that
// finds 16 MiB queued" fails (EventLoop; maxLoopQueue: "a frame ... that
// finds more than this waiting fails, and the connection with it, as a
// write that times out does. One frame of any size is queued when less is
// waiting"), with a timeout that "matches os.ErrDeadlineExceeded, and it
// is a net.Error whose Timeout is true" (errLoopQueueFull). A 30 MiB
// message to a server that reads nothing is queued whole; a ping after it
// finds more than 16 MiB queued and fails.
func TestLoopRefusesAFrameBehind16MiB(t *testing.T) {
	queued, _, pingErr := pingBehind30MiB(t)
	var ne net.Error
	if !errors.Is(pingErr, os.ErrDeadlineExceeded) || !errors.As(pingErr, &ne) || !ne.Timeout() {
		t.Errorf("the ping behind %d bytes = %v, want a timeout (net.Error) matching os.ErrDeadlineExceeded", queued, pingErr)
	}
}

// TestLoopQueueFullIsAnOpError: EventLoop's doc: a send that waits out
// its time fails "with a *net.OpError that matches os.ErrDeadlineExceeded;
// so does a frame that finds 16 MiB queued". That frame's error was no
// *net.OpError (no operation, no addresses).
func TestLoopQueueFullIsAnOpError(t *testing.T) {
	queued, _, pingErr := pingBehind30MiB(t)
	var oe *net.OpError
	if !errors.As(pingErr, &oe) {
		t.Errorf("the ping behind %d bytes = %v (%T), want a *net.OpError, as EventLoop's doc says", queued, pingErr, pingErr)
	}
}

// echoClose reads frames until the client's close, which it echoes.
func echoClose(c *wstest.Conn) {
	for {
		f, err := c.ReadFrame()
		if err != nil {
			return
		}
		if f.Opcode == 8 {
			c.WriteFrame(true, 8, f.Payload)
			return
		}
	}
}
