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

// App.CloseWith waits up to its timeout for the server's close frame,
// counted from the call, which sends the close frame at once: a callback
// that kept the dispatcher busy for most of the timeout did not make the
// wait start over when it returned (the socket was closed at 3.6 s, not 2).
func TestAppCloseWithTimeoutCountsFromTheCall(t *testing.T) {
	for _, onLoop := range []bool{false, true} {
		t.Run(fmt.Sprintf("loop=%v", onLoop), func(t *testing.T) {
			if onLoop {
				skipWithoutPoller(t)
			}
			ended := make(chan time.Time, 1)
			srv := wstest.New(func(c *wstest.Conn) {
				c.WriteFrame(true, 1, []byte("hello"))
				readToClose(c, new(atomic.Int64))
				for { // no answer: read until the client closes the socket
					if _, err := c.ReadFrame(); err != nil {
						ended <- time.Now()
						return
					}
				}
			})
			defer srv.Close()
			const timeout = 2 * time.Second
			var called time.Time
			var code websocket.StatusCode
			a := &websocket.App{
				URL: srv.URL,
				OnMessage: func(a *websocket.App, _ websocket.Message) {
					called = time.Now()
					go a.CloseWith(4000, "stop", timeout)
					time.Sleep(1600 * time.Millisecond) // slow, but within the timeout
				},
				OnClose: func(_ *websocket.App, c websocket.StatusCode, _ string) { code = c },
			}
			if err := runOn(t, onLoop, a, &websocket.RunOptions{Reconnect: -1}); err != nil {
				t.Errorf("run = %v", err)
			}
			if d := (<-ended).Sub(called); d > timeout+800*time.Millisecond {
				t.Errorf("the socket was closed %v after CloseWith(…, %v)", d.Round(time.Millisecond), timeout)
			}
			if code != websocket.StatusAbnormalClosure {
				t.Errorf("OnClose got %d, want 1006 (no answer)", code)
			}
		})
	}
}

// EventLoop.Stop aborts only an App whose close has not begun within the
// close timeout: one whose App.CloseWith sent its close frame waits for
// the echo for that close's own timeout, however long a callback holds the
// loop (it was aborted at 3 s, OnClose 1006).
func TestLoopStopLeavesABegunCloseAlone(t *testing.T) {
	skipWithoutPoller(t)
	srv := wstest.New(func(c *wstest.Conn) {
		c.WriteFrame(true, 1, []byte("hello"))
		if readToClose(c, new(atomic.Int64)) != nil {
			time.Sleep(3500 * time.Millisecond) // slow, but within the close's 10 s
			c.WriteFrame(true, 8, wstest.ClosePayload(4000, "echo"))
		}
	})
	defer srv.Close()
	l := websocket.NewEventLoop()
	var closed string
	a := &websocket.App{
		URL: srv.URL,
		OnMessage: func(a *websocket.App, _ websocket.Message) {
			a.CloseWith(4000, "stop", 10*time.Second) // the close frame goes out now
			l.Stop()
			time.Sleep(4 * time.Second) // a callback slower than the loop's stop watch
		},
		OnClose: func(_ *websocket.App, code websocket.StatusCode, reason string) {
			closed = fmt.Sprintf("%d %s", code, reason)
		},
	}
	if err := a.Run(context.Background(), &websocket.RunOptions{Dispatcher: l, Reconnect: -1}); err != nil {
		t.Fatal(err)
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatalf("loop Run = %v", err)
	}
	if closed != "4000 echo" {
		t.Errorf("OnClose got %q, want the echo, 4000 echo", closed)
	}
}

// An App whose App.CloseWith (20 s) frame is stuck behind a send the server
// does not read holds EventLoop.Stop back no longer than the loop's close
// timeout (3 s): the stop took the close as begun and waited its 20 s.
func TestLoopStopCutsACloseWhoseFrameIsStuck(t *testing.T) {
	skipWithoutPoller(t)
	hold := make(chan struct{})
	srv := wstest.New(func(c *wstest.Conn) {
		c.WriteFrame(true, 1, []byte("hello"))
		<-hold // reads nothing
	})
	defer srv.Close()
	defer close(hold)
	l := websocket.NewEventLoop()
	sending := make(chan struct{})
	a := &websocket.App{
		URL: srv.URL,
		OnMessage: func(a *websocket.App, _ websocket.Message) {
			close(sending)
			a.SendBytes(make([]byte, 64<<20)) // the server reads none of it
		},
	}
	if err := a.Run(context.Background(), &websocket.RunOptions{Dispatcher: l, Reconnect: -1}); err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- l.Run(context.Background()) }()
	<-sending
	if !within(func() bool { return backedUp(a) }) {
		t.Fatal("the sends never waited")
	}
	closeThenStop(t, a, l, ran) // the close frame waits behind the message
}

// closeThenStop closes a with a 20 s CloseWith, stops l and fails unless
// l's Run, which reports to ran, returns within 10 s: the loop's stop (3 s)
// bounds a close whose frame is stuck.
func closeThenStop(t *testing.T, a *websocket.App, l *websocket.EventLoop, ran <-chan error) {
	t.Helper()
	a.CloseWith(websocket.StatusNormal, "", 20*time.Second)
	start := time.Now()
	l.Stop()
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10 s of Stop: the loop's stop (3 s) waited for CloseWith's 20 s")
	}
	t.Logf("Run returned %v after Stop", time.Since(start).Round(time.Millisecond))
}
