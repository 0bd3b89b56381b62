package websocket

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/wstest"
)

// A signal of StopOnSignal that came before Run, and a Stop while Run
// begins: begin took the signal as a Stop with the loop's lock held while
// the Stop under way held its once and waited for that lock.
func TestStopWhileRunBeginsAfterASignal(t *testing.T) {
	l := NewEventLoop()
	l.StopOnSignal(os.Interrupt)
	l.sigCh <- os.Interrupt // the signal, come before Run
	hook := func(l *EventLoop) {
		go l.Stop()
		<-l.stopCh // Stop is under way: it waits for l.mu, held here
	}
	testHookBegin.Store(&hook)
	defer testHookBegin.Store(nil)
	ran := make(chan error, 1)
	go func() { ran <- l.Run(context.Background()) }()
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return: it and Stop wait for each other")
	}
}

// takeHook is an EventLoop whose takeConn, which dialed calls between its
// look at the stop and showing the connection to other goroutines, runs
// hook and leaves the connection to a read loop.
type takeHook struct {
	*EventLoop
	hook func()
}

func (d *takeHook) takeConn(*Conn, *recvQueue, func()) bool {
	d.hook()
	return false
}

// stopIn returns a hook that runs stop on a goroutine of its own and
// returns once the run of a was asked to stop.
func stopIn(a *App, stop func()) func() {
	return func() {
		go stop()
		a.mu.Lock()
		s := a.sess
		a.mu.Unlock()
		for !s.stopFlags.has(stopAsked) {
			runtime.Gosched()
		}
	}
}

// A stop from another goroutine while dialed shows the new connection
// found none, began no close and watched nothing; OnOpen then blocked in a
// send to a server that reads nothing, and the close, queued behind it,
// never ran.
func TestStopWhileTheOpenIsShown(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(a *App, l *EventLoop)
	}{
		{"App.CloseWith", func(a *App, _ *EventLoop) { a.CloseWith(StatusNormal, "", 300*time.Millisecond) }},
		{"EventLoop.Stop", func(_ *App, l *EventLoop) { l.Stop() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewEventLoop()
			ran := make(chan error, 1)
			go func() { ran <- l.Run(context.Background()) }()
			defer func() { l.Stop(); <-ran }()
			hold := make(chan struct{})
			srv := wstest.New(func(c *wstest.Conn) { <-hold }) // reads nothing
			defer srv.Close()                                  // before the loop's stop: ends a send still blocked
			defer close(hold)
			closed := make(chan struct{})
			a := &App{URL: srv.URL}
			d := &takeHook{EventLoop: l, hook: stopIn(a, func() { tc.stop(a, l) })}
			a.OnOpen = func(a *App) { a.SendBytes(make([]byte, 64<<20)) } // blocks but for the stop
			a.OnClose = func(*App, StatusCode, string) { close(closed) }
			if err := a.Run(context.Background(), &RunOptions{Dispatcher: d, Reconnect: -1}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-closed:
			case <-time.After(15 * time.Second):
				t.Fatal("no OnClose: the send OnOpen is blocked in was never ended")
			}
		})
	}
}
