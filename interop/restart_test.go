package interop

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	websocket "github.com/wsclient/websocket"
)

// App settings of the restart check: pings often enough that several go
// out on each connection, and a short reconnect delay.
const (
	restartPingInterval = 300 * time.Millisecond
	restartPingTimeout  = 250 * time.Millisecond
	restartReconnect    = 100 * time.Millisecond
	restartWait         = 20 * time.Second // bound on every wait of the check
)

// appEvents collects an App's callbacks for the restart check. Callbacks
// never block: they record and signal.
type appEvents struct {
	mu       sync.Mutex
	opens    int // OnOpen
	reopens  int // OnReconnect
	closes   []websocket.StatusCode
	pongs    int
	messages []string
	errs     []error
	changed  chan struct{} // signalled after every event
}

func (e *appEvents) record(f func()) {
	e.mu.Lock()
	f()
	e.mu.Unlock()
	select {
	case e.changed <- struct{}{}:
	default:
	}
}

// waitFor waits until cond holds over the events, failing the test after
// restartWait.
func (e *appEvents) waitFor(t *testing.T, what string, cond func(e *appEvents) bool) {
	t.Helper()
	timer := time.NewTimer(restartWait)
	defer timer.Stop()
	for {
		e.mu.Lock()
		ok := cond(e)
		e.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-e.changed:
		case <-timer.C:
			e.mu.Lock()
			defer e.mu.Unlock()
			t.Fatalf("no %s within %v; events: opens=%d reopens=%d closes=%v pongs=%d messages=%q errors=%v",
				what, restartWait, e.opens, e.reopens, e.closes, e.pongs, e.messages, e.errs)
		}
	}
}

// runAppRestart runs an App with PingInterval against the server, kills the
// server (a crash: no close frame) and starts it again on the same port.
// The App must report the drop, reconnect (OnReconnect), keep pinging
// (pongs on the new connection) and echo again; cancelling its context
// must then end the run cleanly.
func runAppRestart(t *testing.T, tg *target) {
	if tg.stop == nil || tg.resume == nil {
		t.Skip("the harness cannot restart this server")
	}
	ev := &appEvents{changed: make(chan struct{}, 1)}
	app := &websocket.App{
		URL:         tg.url,
		OnOpen:      func(*websocket.App) { ev.record(func() { ev.opens++ }) },
		OnReconnect: func(*websocket.App) { ev.record(func() { ev.reopens++ }) },
		OnPong:      func(*websocket.App, []byte) { ev.record(func() { ev.pongs++ }) },
		OnMessage: func(_ *websocket.App, m websocket.Message) {
			ev.record(func() { ev.messages = append(ev.messages, m.Text()) })
		},
		OnError: func(_ *websocket.App, err error) { ev.record(func() { ev.errs = append(ev.errs, err) }) },
		OnClose: func(_ *websocket.App, code websocket.StatusCode, _ string) {
			ev.record(func() { ev.closes = append(ev.closes, code) })
		},
	}
	opts := &websocket.RunOptions{
		DialOptions:  *tg.dialOptions(),
		PingInterval: restartPingInterval,
		PingTimeout:  restartPingTimeout,
		Reconnect:    restartReconnect,
	}
	opts.DialOptions.Timeout = 5 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- app.Run(ctx, opts) }()
	// However the check ends, the run must end with it: no goroutine of
	// the App may outlive the test.
	defer func() {
		cancel()
		select {
		case <-runErr:
		case <-time.After(restartWait):
			t.Errorf("App.Run did not return %v after its context was cancelled", restartWait)
		}
	}()

	ev.waitFor(t, "OnOpen", func(e *appEvents) bool { return e.opens == 1 })
	sendApp(t, app, "before restart")
	ev.waitFor(t, "echo before the restart", func(e *appEvents) bool { return has(e.messages, "before restart") })
	ev.waitFor(t, "two pongs on the first connection", func(e *appEvents) bool { return e.pongs >= 2 })

	// Counted from here: a pong late past PingTimeout on a busy machine
	// may have cost the first connection already, and that close and
	// reconnect are not the restart's.
	closesBefore, reopensBefore := 0, 0
	ev.record(func() { closesBefore, reopensBefore = len(ev.closes), ev.reopens })
	tg.stop(t)
	ev.waitFor(t, "OnClose after the server died", func(e *appEvents) bool { return len(e.closes) > closesBefore })
	pongsBefore := 0
	ev.record(func() { pongsBefore = ev.pongs })
	tg.resume(t)

	ev.waitFor(t, "OnReconnect", func(e *appEvents) bool { return e.reopens > reopensBefore })
	sendApp(t, app, "after restart")
	ev.waitFor(t, "echo after the restart", func(e *appEvents) bool { return has(e.messages, "after restart") })
	ev.waitFor(t, "two pongs on the new connection", func(e *appEvents) bool { return e.pongs >= pongsBefore+2 })

	ev.mu.Lock()
	if ev.opens != 1 {
		t.Errorf("OnOpen called %d times, want 1 (OnReconnect after the restart)", ev.opens)
	}
	if ev.closes[closesBefore] != websocket.StatusAbnormalClosure {
		t.Errorf("OnClose after the server died: code %d, want %d", ev.closes[closesBefore], websocket.StatusAbnormalClosure)
	}
	if len(ev.errs) == 0 {
		t.Errorf("OnError was not called for the dropped connection")
	}
	ev.mu.Unlock()

	cancel()
	select {
	case err := <-runErr:
		runErr <- err // for the deferred check
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("App.Run after cancel = %v, want nil", err)
		}
	case <-time.After(restartWait):
		t.Fatalf("App.Run did not return after cancel")
	}
}

// sendApp sends a text message through the App, which is connected:
// OnOpen or OnReconnect has been called.
func sendApp(t *testing.T, app *websocket.App, text string) {
	t.Helper()
	if err := app.SendText(text); err != nil {
		t.Fatalf("App.SendText(%q): %v", text, err)
	}
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
