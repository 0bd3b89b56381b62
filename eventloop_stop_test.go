package websocket_test

import (
	"context"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestLoopStopsBehindABlockedCallback: stopping an EventLoop closes its
// Apps and returns also while a callback is blocked in a send to a server
// that reads nothing. The loop looked at Stop, its ctx and its signals only
// between callbacks, so Run waited for good; App.CloseWith and the end of
// an App's own ctx already watched the close's deadline from outside.
func TestLoopStopsBehindABlockedCallback(t *testing.T) {
	for _, how := range []string{"Stop", "ctx"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			loopStopBehindBlockedCallback(t, func(l *websocket.EventLoop, cancel context.CancelFunc) {
				if how == "Stop" {
					l.Stop()
				} else {
					cancel()
				}
			}, nil)
		})
	}
}

// loopStopBehindBlockedCallback runs an App on a loop whose OnOpen sends
// until its sends wait for a server that reads nothing, then stops the
// loop with stop and checks that Run returns and OnClose ran. prepare, if
// set, runs on the loop before Run.
func loopStopBehindBlockedCallback(t *testing.T, stop func(*websocket.EventLoop, context.CancelFunc), prepare func(*websocket.EventLoop)) {
	release := make(chan struct{})
	srv := wstest.New(func(*wstest.Conn) { <-release })
	defer srv.Close()
	defer close(release)
	l := websocket.NewEventLoop()
	if prepare != nil {
		prepare(l)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- l.Run(ctx) }()
	closed := make(chan websocket.StatusCode, 1)
	a := &websocket.App{
		URL: srv.URL,
		OnOpen: func(a *websocket.App) {
			msg := make([]byte, 1<<20)
			for a.SendBytes(msg) == nil {
			}
		},
		OnClose: func(_ *websocket.App, code websocket.StatusCode, _ string) { closed <- code },
	}
	a.RunForever(&websocket.RunOptions{Dispatcher: l})
	// The loop holds bytes for the socket: the callback's sends are
	// blocked, or about to be, and it holds the loop's goroutine.
	if !within(func() bool { c := a.Conn(); return c != nil && websocket.LoopQueued(c) > 0 }) {
		t.Fatal("the loop never held bytes for the socket")
	}
	start := time.Now()
	stop(l, cancel)
	select {
	case <-ran:
	case <-time.After(testTimeout):
		a.CloseWith(websocket.StatusGoingAway, "", time.Millisecond) // frees the loop
		t.Fatalf("Run still running %v after the stop", testTimeout)
	}
	select {
	case <-closed:
	default:
		t.Error("Run returned before OnClose")
	}
	t.Logf("Run returned %v after the stop", time.Since(start).Round(time.Millisecond))
}
