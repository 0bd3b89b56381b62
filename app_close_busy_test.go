package websocket_test

import (
	"context"
	"fmt"
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
