package websocket_test

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// closeEchoServer sends one message, then reads until the client's close
// frame, which it reports on got (nil when the stream ended first) and
// answers with 4000 "echo".
func closeEchoServer(got chan<- *wstest.Frame) *wstest.Server {
	return wstest.New(func(c *wstest.Conn) {
		c.WriteFrame(true, 1, []byte("hello"))
		f := readToClose(c, new(atomic.Int64))
		got <- f
		if f != nil {
			c.WriteFrame(true, 8, wstest.ClosePayload(4000, "echo"))
		}
	})
}

// TestAppCloseWithDuringItsSlowCallback: CloseWith from another goroutine
// while the App's own callback runs starts the closing handshake at once.
// The close was the dispatcher's work, begun once the callback returned:
// with a callback slower than the close's timeout, the close's watch
// aborted the connection first, and the server got no close frame though
// its socket could take one (OnClose 1006 instead of the echo).
func TestAppCloseWithDuringItsSlowCallback(t *testing.T) {
	for _, onLoop := range []bool{false, true} {
		t.Run(fmt.Sprintf("loop=%v", onLoop), func(t *testing.T) {
			got := make(chan *wstest.Frame, 1)
			srv := closeEchoServer(got)
			defer srv.Close()
			var closed string
			a := &websocket.App{
				URL: srv.URL,
				OnMessage: func(a *websocket.App, _ websocket.Message) {
					go a.CloseWith(4000, "stop", 300*time.Millisecond)
					// Slow: it returns once the server has the close
					// frame (or never had one), long after 300 ms.
					select {
					case f := <-got:
						got <- f
					case <-time.After(testTimeout):
					}
				},
				OnClose: func(_ *websocket.App, code websocket.StatusCode, reason string) {
					closed = fmt.Sprintf("%d %s", code, reason)
				},
			}
			if err := runOn(t, onLoop, a, &websocket.RunOptions{Reconnect: -1}); err != nil {
				t.Errorf("run = %v", err)
			}
			if f := <-got; f == nil || string(f.Payload[2:]) != "stop" {
				t.Errorf("the server read %v, want the close frame 4000 stop", f)
			}
			if closed != "4000 echo" {
				t.Errorf("OnClose got %q, want the echo, 4000 echo", closed)
			}
		})
	}
}

// TestAppCloseWithBehindAnotherAppsCallback: on a shared EventLoop, an
// App's CloseWith starts its closing handshake while another App's
// callback holds the loop (see TestAppCloseWithDuringItsSlowCallback).
func TestAppCloseWithBehindAnotherAppsCallback(t *testing.T) {
	skipWithoutPoller(t)
	gotA, gotB := make(chan *wstest.Frame, 1), make(chan *wstest.Frame, 1)
	srvA, srvB := closeEchoServer(gotA), closeEchoServer(gotB)
	defer srvA.Close()
	defer srvB.Close()
	l := websocket.NewEventLoop()
	ran := make(chan error, 1)
	go func() { ran <- l.Run(context.Background()) }()
	var closedA string
	closedB := make(chan struct{})
	inB := make(chan struct{})
	appA := &websocket.App{URL: srvA.URL,
		OnClose: func(_ *websocket.App, code websocket.StatusCode, reason string) {
			closedA = fmt.Sprintf("%d %s", code, reason)
		},
	}
	appB := &websocket.App{URL: srvB.URL,
		OnMessage: func(*websocket.App, websocket.Message) {
			close(inB)
			// Holds the loop until A's server has A's close frame.
			select {
			case f := <-gotA:
				gotA <- f
			case <-time.After(testTimeout):
			}
		},
		OnClose: func(*websocket.App, websocket.StatusCode, string) { close(closedB) },
	}
	opts := &websocket.RunOptions{Dispatcher: l, Reconnect: -1}
	appA.Run(context.Background(), opts)
	if !within(func() bool { return appA.Conn() != nil }) {
		t.Fatal("A never opened")
	}
	appB.Run(context.Background(), opts)
	<-inB
	appA.CloseWith(4000, "bye", 300*time.Millisecond)
	if f := <-gotA; f == nil || string(f.Payload[2:]) != "bye" {
		t.Errorf("A's server read %v, want the close frame 4000 bye", f)
	}
	appB.Close()
	<-closedB
	l.Stop()
	if err := <-ran; err != nil {
		t.Errorf("loop Run = %v", err)
	}
	if closedA != "4000 echo" {
		t.Errorf("A's OnClose got %q, want the echo, 4000 echo", closedA)
	}
}

// TestAppCloseWithBeforeItsDialEnded: a CloseWith that comes after the
// dial's result was posted, while the dispatcher was busy, opens nothing:
// "a pending dial or reconnect is cancelled". The dial's result ran before
// the close, which it did not look for: OnOpen ran after CloseWith
// returned, and the server saw a whole connection.
func TestAppCloseWithBeforeItsDialEnded(t *testing.T) {
	skipWithoutPoller(t)
	accepted, answer := make(chan struct{}), make(chan struct{})
	srvA := wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		close(accepted)
		<-answer
		if c, err := wstest.Upgrade(nc, nil, nil); err == nil {
			readToClose(c, new(atomic.Int64))
		}
	})
	defer srvA.Close()
	gotB := make(chan *wstest.Frame, 1)
	srvB := closeEchoServer(gotB)
	defer srvB.Close()
	l := &websocket.PostCounter{EventLoop: websocket.NewEventLoop()}
	ran := make(chan error, 1)
	go func() { ran <- l.Run(context.Background()) }()
	var opened atomic.Bool
	appA := &websocket.App{URL: srvA.URL, OnOpen: func(*websocket.App) { opened.Store(true) }}
	inB, releaseB := make(chan struct{}), make(chan struct{})
	appB := &websocket.App{URL: srvB.URL, OnMessage: func(*websocket.App, websocket.Message) {
		close(inB)
		<-releaseB // holds the loop
	}}
	opts := &websocket.RunOptions{Dispatcher: l, Reconnect: -1}
	appA.Run(context.Background(), opts)
	<-accepted // A's dial waits for the answer
	appB.Run(context.Background(), opts)
	<-inB
	posts := l.Posts.Load()
	close(answer) // A's dial ends, and its result is posted behind B's callback
	if !within(func() bool { return l.Posts.Load() > posts }) {
		t.Fatal("A's dial never posted its result")
	}
	appA.CloseWith(4000, "bye", time.Second)
	close(releaseB)
	appB.Close()
	l.Stop()
	if err := <-ran; err != nil {
		t.Errorf("loop Run = %v", err)
	}
	if opened.Load() {
		t.Error("A opened after its CloseWith")
	}
}

// goroutineCheckingLoop is a Dispatcher that delegates to an EventLoop and
// counts the calls of Go from other goroutines than its own, which the
// Dispatcher interface does not promise to support.
type goroutineCheckingLoop struct {
	l       *websocket.EventLoop
	loopID  atomic.Int64 // the goroutine running the posted functions
	outside atomic.Int64
}

func (d *goroutineCheckingLoop) wrap(f func()) func() {
	return func() { d.loopID.Store(goroutineID()); f() }
}

// goroutineID returns the calling goroutine's number, from its stack's
// first line.
func goroutineID() int64 {
	var buf [64]byte
	line := string(buf[:runtime.Stack(buf[:], false)])
	id, _ := strconv.ParseInt(strings.Fields(strings.TrimPrefix(line, "goroutine "))[0], 10, 64)
	return id
}
func (d *goroutineCheckingLoop) Attach(s *websocket.Session) error { return d.l.Attach(s) }
func (d *goroutineCheckingLoop) Detach(s *websocket.Session)       { d.l.Detach(s) }
func (d *goroutineCheckingLoop) Post(f func()) bool                { return d.l.Post(d.wrap(f)) }
func (d *goroutineCheckingLoop) AfterFunc(t time.Duration, f func()) func() bool {
	return d.l.AfterFunc(t, d.wrap(f))
}
func (d *goroutineCheckingLoop) Go(f func()) {
	if goroutineID() != d.loopID.Load() {
		d.outside.Add(1)
	}
	d.l.Go(f)
}

// TestCustomDispatcherGoOnlyFromItsGoroutine: a close begun from another
// goroutine (App.CloseWith during a slow callback) does not call a custom
// dispatcher's Go from there: the interface promises Go only to the
// dispatcher's goroutine.
func TestCustomDispatcherGoOnlyFromItsGoroutine(t *testing.T) {
	got := make(chan *wstest.Frame, 1)
	srv := closeEchoServer(got)
	defer srv.Close()
	d := &goroutineCheckingLoop{l: websocket.NewEventLoop()}
	ran := make(chan error, 1)
	go func() { ran <- d.l.Run(context.Background()) }()
	closed := make(chan struct{})
	a := &websocket.App{URL: srv.URL,
		OnMessage: func(a *websocket.App, _ websocket.Message) {
			done := make(chan struct{})
			go func() { defer close(done); a.CloseWith(4000, "stop", time.Second) }()
			<-done // the close begins while this callback holds the dispatcher
		},
		OnClose: func(*websocket.App, websocket.StatusCode, string) { close(closed) },
	}
	a.Run(context.Background(), &websocket.RunOptions{Dispatcher: d, Reconnect: -1})
	<-closed
	d.l.Stop()
	<-ran
	if n := d.outside.Load(); n != 0 {
		t.Errorf("Go called %d times from outside the dispatcher's goroutine", n)
	}
	if f := <-got; f == nil {
		t.Error("the server got no close frame")
	}
}
