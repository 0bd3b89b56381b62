package websocket_test

// Black-box tests of promises of the App, the event loop, the protocol
// rules, tracing, the environment and the limits that no other test
// checked, or checked on one path only: most App tests run on the calling
// goroutine and on an EventLoop that owns the socket. Exported API only,
// loopback servers from the public wstest kit.

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// appPromiseLog records callbacks in order.
type appPromiseLog struct {
	mu  sync.Mutex
	evs []string
}

func (l *appPromiseLog) add(format string, args ...any) {
	l.mu.Lock()
	l.evs = append(l.evs, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *appPromiseLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.evs)
}

func (l *appPromiseLog) count(prefix string) int {
	n := 0
	for _, e := range l.list() {
		if strings.HasPrefix(e, prefix) {
			n++
		}
	}
	return n
}

// appPromiseRecord sets every callback of a to log into l.
func appPromiseRecord(a *websocket.App, l *appPromiseLog) {
	a.OnOpen = func(*websocket.App) { l.add("open") }
	a.OnReconnect = func(*websocket.App) { l.add("reconnect") }
	a.OnMessage = func(_ *websocket.App, m websocket.Message) { l.add("message %s %q", m.Opcode, m.Data) }
	a.OnPing = func(_ *websocket.App, p []byte) { l.add("ping %q", p) }
	a.OnPong = func(_ *websocket.App, p []byte) { l.add("pong %q", p) }
	a.OnError = func(_ *websocket.App, err error) { l.add("error") }
	a.OnClose = func(_ *websocket.App, c websocket.StatusCode, r string) { l.add("close %d %q", c, r) }
}

// runWithin runs f and fails the test if it does not return within d.
func runWithin(t *testing.T, d time.Duration, f func() error) error {
	t.Helper()
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	select {
	case err := <-ch:
		return err
	case <-time.After(d):
		t.Fatalf("did not return within %v", d)
		return nil
	}
}

// appPromiseLoop wraps an *EventLoop (keeping everything it implements, so the
// loop still owns the sockets) to see each run's Session.
type appPromiseLoop struct {
	*websocket.EventLoop
	mu       sync.Mutex
	sessions []*websocket.Session
}

func (d *appPromiseLoop) Attach(s *websocket.Session) error {
	d.mu.Lock()
	d.sessions = append(d.sessions, s)
	d.mu.Unlock()
	return d.EventLoop.Attach(s)
}

// appPromiseRunOnLoop runs app on a fresh EventLoop and returns the run's result.
func appPromiseRunOnLoop(t *testing.T, app *websocket.App, opts *websocket.RunOptions) error {
	t.Helper()
	var o websocket.RunOptions
	if opts != nil {
		o = *opts
	}
	d := &appPromiseLoop{EventLoop: websocket.NewEventLoop()}
	o.Dispatcher = d
	start := time.Now()
	if err := app.RunForever(&o); err != nil {
		return fmt.Errorf("RunForever with a Dispatcher = %v", err)
	}
	if e := time.Since(start); e > 5*time.Second {
		t.Errorf("RunForever with a Dispatcher took %v, want it to return at once", e)
	}
	loopDone := make(chan error, 1)
	go func() { loopDone <- d.Run(context.Background()) }()
	d.mu.Lock()
	if len(d.sessions) != 1 {
		d.mu.Unlock()
		t.Fatalf("%d sessions attached, want 1", len(d.sessions))
	}
	s := d.sessions[0]
	d.mu.Unlock()
	<-s.Done()
	d.Stop()
	if err := <-loopDone; err != nil {
		t.Errorf("EventLoop.Run after Stop = %v, want nil", err)
	}
	return s.Err()
}

// forModes runs body once with the App on the calling goroutine and once on an EventLoop.
func forModes(t *testing.T, body func(t *testing.T, run func(*websocket.App, *websocket.RunOptions) error)) {
	t.Run("direct", func(t *testing.T) {
		body(t, func(a *websocket.App, o *websocket.RunOptions) error {
			return runWithin(t, 20*time.Second, func() error { return a.RunForever(o) })
		})
	})
	t.Run("eventloop", func(t *testing.T) {
		body(t, func(a *websocket.App, o *websocket.RunOptions) error {
			return runWithin(t, 20*time.Second, func() error { return appPromiseRunOnLoop(t, a, o) })
		})
	})
}

// "Callbacks are called with the App".
func TestAppCallbacksReceiveTheirApp(t *testing.T) {
	forModes(t, func(t *testing.T, run func(*websocket.App, *websocket.RunOptions) error) {
		srv := wstest.NewServer(wstest.Script(
			wstest.Accept(nil),
			wstest.Send(wstest.OpPing, []byte("pi")),
			wstest.Send(wstest.OpPong, []byte("po")),
			wstest.SendFrame(wstest.Frame{Fin: false, Opcode: wstest.OpText, Payload: []byte("a")}),
			wstest.SendFrame(wstest.Frame{Fin: true, Opcode: wstest.OpContinuation, Payload: []byte("b")}),
			wstest.Send(wstest.OpText, []byte("whole")),
			wstest.Close(1000, ""),
		))
		defer srv.Close()
		app := &websocket.App{URL: srv.URL}
		var mu sync.Mutex
		seen := map[string]bool{}
		check := func(name string, a *websocket.App) {
			mu.Lock()
			defer mu.Unlock()
			seen[name] = true
			if a != app {
				t.Errorf("%s called with %p, want the App %p", name, a, app)
			}
		}
		app.OnOpen = func(a *websocket.App) { check("OnOpen", a) }
		app.OnMessage = func(a *websocket.App, _ websocket.Message) { check("OnMessage", a) }
		app.OnData = func(a *websocket.App, _ []byte, _ websocket.Opcode, _ bool) { check("OnData", a) }
		app.OnContMessage = func(a *websocket.App, _ []byte, _ bool) { check("OnContMessage", a) }
		app.OnPing = func(a *websocket.App, _ []byte) { check("OnPing", a) }
		app.OnPong = func(a *websocket.App, _ []byte) {
			check("OnPong", a)
			panic("to see OnError")
		}
		app.OnError = func(a *websocket.App, _ error) { check("OnError", a) }
		app.OnClose = func(a *websocket.App, _ websocket.StatusCode, _ string) { check("OnClose", a) }
		if err := run(app, nil); err != nil {
			t.Fatalf("RunForever = %v, want nil", err)
		}
		for _, name := range []string{"OnOpen", "OnMessage", "OnData", "OnContMessage", "OnPing", "OnPong", "OnError", "OnClose"} {
			if !seen[name] {
				t.Errorf("%s was not called", name)
			}
		}
	})
}

// "a panic ... inside a callback is reported to OnError and never kills the run" —
// for every callback, not only OnMessage.
func TestAppPanicInEveryCallbackGoesToOnError(t *testing.T) {
	forModes(t, func(t *testing.T, run func(*websocket.App, *websocket.RunOptions) error) {
		var n atomic.Int32
		srv := wstest.NewServer(func(c *wstest.Conn) {
			if n.Add(1) == 1 {
				// first connection: events, then drop so that OnReconnect runs
				c.Accept(nil)
				c.WriteMessage(wstest.OpPing, []byte("pi"))
				c.WriteMessage(wstest.OpPong, []byte("po"))
				c.WriteFrame(wstest.Frame{Fin: false, Opcode: wstest.OpText, Payload: []byte("a")})
				c.WriteFrame(wstest.Frame{Fin: true, Opcode: wstest.OpContinuation, Payload: []byte("b")})
				c.WriteMessage(wstest.OpText, []byte("whole"))
				// wait for the client's marker message, then drop
				c.ReadMessage()
				c.Drop()
				return
			}
			c.Accept(nil)
			c.ReadMessage()
			c.Close(1000, "done")
		})
		defer srv.Close()
		var l appPromiseLog
		app := &websocket.App{URL: srv.URL}
		boom := func(name string) { l.add("call %s", name); panic("boom in " + name) }
		app.OnOpen = func(*websocket.App) { boom("OnOpen") }
		app.OnReconnect = func(a *websocket.App) {
			l.add("call OnReconnect")
			a.SendText("again")
			panic("boom in OnReconnect")
		}
		app.OnData = func(_ *websocket.App, _ []byte, _ websocket.Opcode, _ bool) { boom("OnData") }
		app.OnContMessage = func(_ *websocket.App, _ []byte, _ bool) { boom("OnContMessage") }
		app.OnMessage = func(a *websocket.App, _ websocket.Message) {
			l.add("call OnMessage")
			a.SendText("marker")
			panic("boom in OnMessage")
		}
		app.OnPing = func(*websocket.App, []byte) { boom("OnPing") }
		app.OnPong = func(*websocket.App, []byte) { boom("OnPong") }
		app.OnClose = func(*websocket.App, websocket.StatusCode, string) { boom("OnClose") }
		app.OnError = func(_ *websocket.App, err error) { l.add("error %v", err) }
		err := run(app, &websocket.RunOptions{Reconnect: 10 * time.Millisecond})
		if err != nil {
			t.Fatalf("RunForever = %v, want nil (the second connection closed cleanly)", err)
		}
		got := l.list()
		for _, name := range []string{"OnOpen", "OnReconnect", "OnData", "OnContMessage", "OnMessage", "OnPing", "OnPong", "OnClose"} {
			i := slices.Index(got, "call "+name)
			if i < 0 {
				t.Errorf("%s never called; events %q", name, got)
				continue
			}
			found := false
			for _, e := range got[i+1:] {
				if strings.HasPrefix(e, "error ") && strings.Contains(e, "boom in "+name) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("panic in %s not reported to OnError; events %q", name, got)
			}
		}
		if c := l.count("call OnClose"); c != 2 {
			t.Errorf("OnClose called %d times, want 2 (one per connection); events %q", c, got)
		}
	})
}

// "a failed dial, a handshake failure ... goes to OnError and then, when reconnecting is on,
// to the reconnect schedule"; "OnOpen fires for the first successful connection of a run (even
// after failed dials), OnReconnect for each later one"; "nil if the last connection closed
// cleanly, even after earlier errors".
func TestAppFailedAttemptsThenOpenThenReconnect(t *testing.T) {
	forModes(t, func(t *testing.T, run func(*websocket.App, *websocket.RunOptions) error) {
		var n atomic.Int32
		srv := wstest.NewServer(func(c *wstest.Conn) {
			switch n.Add(1) {
			case 1:
				c.Reject(503, nil, "busy") // handshake failure
			case 2:
				c.WriteRaw([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n"))
			case 3:
				c.Accept(nil)
				c.Drop() // dropped socket
			case 4:
				c.Accept(nil)
				c.Close(1000, "bye")
			}
		})
		defer srv.Close()
		var l appPromiseLog
		app := &websocket.App{URL: srv.URL}
		appPromiseRecord(app, &l)
		// A dial to a closed port first: a failed dial. HeaderFunc counts attempts.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		deadAddr := ln.Addr().String()
		ln.Close()
		var attempts atomic.Int32
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			if attempts.Add(1) == 1 {
				var d net.Dialer
				return d.DialContext(ctx, network, deadAddr)
			}
			return srv.DialContext(ctx, network, addr)
		}
		err = run(app, &websocket.RunOptions{
			Reconnect:   5 * time.Millisecond,
			Backoff:     &websocket.Backoff{Max: 10 * time.Millisecond},
			DialOptions: websocket.DialOptions{NetDialContext: dial},
		})
		if err != nil {
			t.Fatalf("RunForever = %v, want nil: the last connection closed cleanly", err)
		}
		want := []string{"error", "error", "error", "open", "error", `close 1006 ""`, "reconnect", `close 1000 "bye"`}
		if got := l.list(); !slices.Equal(got, want) {
			t.Errorf("events\n got %q\nwant %q", got, want)
		}
	})
}

// Without OnReconnect, every connection is an open (as in Python's
// websocket-client): what OnOpen sets up, a subscription say, is set up
// again after a reconnect.
func TestAppOnOpenAtEveryConnectionWithoutOnReconnect(t *testing.T) {
	forModes(t, func(t *testing.T, run func(*websocket.App, *websocket.RunOptions) error) {
		var n atomic.Int32
		subscribed := make(chan string, 4)
		srv := wstest.NewServer(func(c *wstest.Conn) {
			k := n.Add(1)
			c.Accept(nil)
			if _, p, err := c.ReadMessage(); err == nil {
				subscribed <- string(p)
			}
			if k == 1 {
				c.Drop()
				return
			}
			c.Close(1000, "bye")
		})
		defer srv.Close()
		var l appPromiseLog
		app := &websocket.App{URL: srv.URL}
		appPromiseRecord(app, &l)
		app.OnReconnect = nil
		record := app.OnOpen
		app.OnOpen = func(a *websocket.App) {
			record(a)
			a.SendText("subscribe")
		}
		err := run(app, &websocket.RunOptions{Reconnect: 5 * time.Millisecond})
		if err != nil {
			t.Fatalf("RunForever = %v, want nil: the last connection closed cleanly", err)
		}
		want := []string{"open", "error", `close 1006 ""`, "open", `close 1000 "bye"`}
		if got := l.list(); !slices.Equal(got, want) {
			t.Errorf("events\n got %q\nwant %q", got, want)
		}
		if len(subscribed) != 2 {
			t.Errorf("the server got %d subscriptions, want one per connection", len(subscribed))
		}
	})
}

// OnClose gets "StatusNoStatusReceived for an empty close frame" and, "after our Close,
// the echoed ones"; "StatusAbnormalClosure and "" when ... the server never answered our close".
func TestAppOnCloseCodes(t *testing.T) {
	forModes(t, func(t *testing.T, run func(*websocket.App, *websocket.RunOptions) error) {
		t.Run("empty close frame", func(t *testing.T) {
			srv := wstest.NewServer(wstest.Script(wstest.Accept(nil), wstest.Close(0, "")))
			defer srv.Close()
			var l appPromiseLog
			app := &websocket.App{URL: srv.URL}
			appPromiseRecord(app, &l)
			if err := run(app, nil); err != nil {
				t.Fatal(err)
			}
			if got, want := l.list(), []string{"open", `close 1005 ""`}; !slices.Equal(got, want) {
				t.Errorf("events %q, want %q", got, want)
			}
		})
		t.Run("echo of our close", func(t *testing.T) {
			srv := wstest.NewServer(func(c *wstest.Conn) {
				c.Accept(nil)
				_, p, _ := c.ReadMessage()
				// echo with a different reason, so "the echoed ones" is observable
				code := uint16(p[0])<<8 | uint16(p[1])
				c.Close(code, "server says "+string(p[2:]))
			})
			defer srv.Close()
			var l appPromiseLog
			app := &websocket.App{URL: srv.URL}
			appPromiseRecord(app, &l)
			app.OnOpen = func(a *websocket.App) { l.add("open"); a.CloseWith(4001, "mine", 3*time.Second) }
			if err := run(app, nil); err != nil {
				t.Fatal(err)
			}
			if got, want := l.list(), []string{"open", `close 4001 "server says mine"`}; !slices.Equal(got, want) {
				t.Errorf("events %q, want %q", got, want)
			}
		})
		t.Run("no answer to our close", func(t *testing.T) {
			srv := wstest.NewServer(func(c *wstest.Conn) {
				c.Accept(nil)
				for { // never answers our close
					if _, err := c.ReadFrame(); err != nil {
						return
					}
				}
			})
			defer srv.Close()
			var l appPromiseLog
			app := &websocket.App{URL: srv.URL}
			appPromiseRecord(app, &l)
			app.OnOpen = func(a *websocket.App) { l.add("open"); a.CloseWith(1000, "", 100*time.Millisecond) }
			start := time.Now()
			if err := run(app, &websocket.RunOptions{Reconnect: 5 * time.Millisecond}); err != nil {
				t.Fatalf("RunForever = %v, want nil", err)
			}
			if d := time.Since(start); d > 8*time.Second {
				t.Errorf("run took %v, want about the 100ms close timeout", d)
			}
			if got, want := l.list(), []string{"open", `close 1006 ""`}; !slices.Equal(got, want) {
				t.Errorf("events %q, want %q", got, want)
			}
			if n := len(srv.Conns()); n != 1 {
				t.Errorf("%d connections, want 1: no reconnect after our Close", n)
			}
		})
	})
}

// App.Send returns ErrConnectionClosed when not connected; Conn() is nil between connections.
func TestAppSendAndConnWhenNotConnected(t *testing.T) {
	app := &websocket.App{URL: "ws://127.0.0.1:1/"}
	for name, send := range map[string]func() error{
		"Send":      func() error { return app.Send([]byte("x"), websocket.OpText) },
		"SendText":  func() error { return app.SendText("x") },
		"SendBytes": func() error { return app.SendBytes([]byte("x")) },
	} {
		if err := send(); !errors.Is(err, websocket.ErrConnectionClosed) {
			t.Errorf("%s before a run = %v, want ErrConnectionClosed", name, err)
		}
	}
	if app.Conn() != nil {
		t.Error("Conn() != nil before a run")
	}
	// between connections: during the reconnect wait
	var n atomic.Int32
	srv := wstest.NewServer(func(c *wstest.Conn) {
		c.Accept(nil)
		if n.Add(1) == 1 {
			c.Drop()
			return
		}
		c.Close(1000, "")
	})
	defer srv.Close()
	app = &websocket.App{URL: srv.URL}
	type between struct {
		conn *websocket.Conn
		err  error
	}
	betweenCh := make(chan between, 1)
	app.OnOpen = func(a *websocket.App) {
		if a.Conn() == nil {
			t.Error("Conn() == nil in OnOpen")
		}
	}
	app.OnError = func(a *websocket.App, err error) {
		// after the drop, the connection is gone
	}
	app.OnClose = func(a *websocket.App, _ websocket.StatusCode, _ string) {
		if n.Load() == 1 { // the first connection ended; the next is not dialed yet
			betweenCh <- between{a.Conn(), a.SendText("x")}
		}
	}
	if err := runWithin(t, 10*time.Second, func() error {
		return app.RunForever(&websocket.RunOptions{Reconnect: 300 * time.Millisecond})
	}); err != nil {
		t.Fatal(err)
	}
	b := <-betweenCh
	if b.conn != nil {
		t.Error("Conn() != nil between connections")
	}
	if !errors.Is(b.err, websocket.ErrConnectionClosed) {
		t.Errorf("SendText between connections = %v, want ErrConnectionClosed", b.err)
	}
	if app.Conn() != nil {
		t.Error("Conn() != nil after the run")
	}
}

// EventLoop.Run "dispatches until ctx ends (returns ctx.Err()) ... first closes its Apps (1001)
// and waits for their OnClose" — over real sockets (the loop owns them).
func TestEventLoopCtxEndClosesAppsWith1001(t *testing.T) {
	var codes sync.Map
	srv := wstest.NewServer(func(c *wstest.Conn) {
		c.Accept(nil)
		for {
			op, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			if op == wstest.OpClose {
				if len(p) >= 2 {
					codes.Store(c, uint16(p[0])<<8|uint16(p[1]))
				}
				c.WriteMessage(wstest.OpClose, p)
				return
			}
		}
	})
	defer srv.Close()
	l := websocket.NewEventLoop()
	const apps = 3
	var opened sync.WaitGroup
	opened.Add(apps)
	var closes atomic.Int32
	var mu sync.Mutex
	var got []string
	var loopG atomic.Value
	var offLoop atomic.Int32
	for range apps {
		app := &websocket.App{URL: srv.URL}
		app.OnOpen = func(*websocket.App) { opened.Done() }
		app.OnClose = func(_ *websocket.App, c websocket.StatusCode, r string) {
			if g, _ := loopG.Load().(string); g != appPromiseGoid() {
				offLoop.Add(1)
			}
			time.Sleep(20 * time.Millisecond) // a slow OnClose: Run must wait for it
			mu.Lock()
			got = append(got, fmt.Sprintf("%d %q", c, r))
			mu.Unlock()
			closes.Add(1)
		}
		if err := app.RunForever(&websocket.RunOptions{Dispatcher: l, Reconnect: 5 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		loopG.Store(appPromiseGoid())
		done <- l.Run(ctx)
	}()
	waitCh := make(chan struct{})
	go func() { opened.Wait(); close(waitCh) }()
	select {
	case <-waitCh:
	case <-time.After(5 * time.Second):
		t.Fatal("apps did not open")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if n := closes.Load(); n != apps {
		t.Errorf("%d OnClose calls had run when Run returned, want %d", n, apps)
	}
	if n := offLoop.Load(); n != 0 {
		t.Errorf("%d OnClose calls ran off the goroutine of the loop's Run", n)
	}
	mu.Lock()
	for _, g := range got {
		if g != `1001 ""` {
			t.Errorf("OnClose got %s, want 1001 \"\"", g)
		}
	}
	mu.Unlock()
	srv.Close()
	n := 0
	codes.Range(func(_, v any) bool {
		n++
		if v.(uint16) != 1001 {
			t.Errorf("server got close %d, want 1001", v)
		}
		return true
	})
	if n != apps {
		t.Errorf("%d servers got a close frame, want %d", n, apps)
	}
}

func appPromiseGoid() string {
	var b [64]byte
	s := string(b[:runtime.Stack(b[:], false)])
	s = strings.TrimPrefix(s, "goroutine ")
	return s[:strings.IndexByte(s, ' ')]
}

// appPromiseBadFrame is one protocol-rule violation sent by a server after the handshake.
type appPromiseBadFrame struct {
	name   string
	frames []wstest.Frame
	limit  int64  // DialOptions.ReadLimit
	code   uint16 // the close code the client must send
	kind   string // "protocol", "payload" or "limit"
}

func appPromiseBadFrames() []appPromiseBadFrame {
	f := func(fin bool, op wstest.Opcode, p string) wstest.Frame {
		return wstest.Frame{Fin: fin, Opcode: op, Payload: []byte(p)}
	}
	closeP := func(code uint16, reason string) string {
		return string([]byte{byte(code >> 8), byte(code)}) + reason
	}
	var cases []appPromiseBadFrame
	for _, r := range []int{1, 2, 3} {
		fr := f(true, wstest.OpText, "x")
		fr.Rsv1, fr.Rsv2, fr.Rsv3 = r == 1, r == 2, r == 3
		cases = append(cases, appPromiseBadFrame{name: fmt.Sprintf("rsv%d", r), frames: []wstest.Frame{fr}, code: 1002, kind: "protocol"})
	}
	for _, op := range []wstest.Opcode{3, 7, 0xB, 0xF} {
		cases = append(cases, appPromiseBadFrame{name: fmt.Sprintf("opcode %#x", byte(op)), frames: []wstest.Frame{f(true, op, "x")}, code: 1002, kind: "protocol"})
	}
	cases = append(cases,
		appPromiseBadFrame{name: "fragmented ping", frames: []wstest.Frame{f(false, wstest.OpPing, "a"), f(true, wstest.OpContinuation, "b")}, code: 1002, kind: "protocol"},
		appPromiseBadFrame{name: "fragmented close", frames: []wstest.Frame{f(false, wstest.OpClose, closeP(1000, ""))}, code: 1002, kind: "protocol"},
		appPromiseBadFrame{name: "pong of 126 bytes", frames: []wstest.Frame{f(true, wstest.OpPong, strings.Repeat("p", 126))}, code: 1002, kind: "protocol"},
		appPromiseBadFrame{name: "close of 126 bytes", frames: []wstest.Frame{f(true, wstest.OpClose, closeP(1000, strings.Repeat("r", 124)))}, code: 1002, kind: "protocol"},
		appPromiseBadFrame{name: "continuation without start", frames: []wstest.Frame{f(true, wstest.OpContinuation, "x")}, code: 1002, kind: "protocol"},
		appPromiseBadFrame{name: "text inside fragmented message", frames: []wstest.Frame{f(false, wstest.OpText, "a"), f(true, wstest.OpText, "b")}, code: 1002, kind: "protocol"},
		appPromiseBadFrame{name: "binary inside fragmented message", frames: []wstest.Frame{f(false, wstest.OpBinary, "a"), f(true, wstest.OpBinary, "b")}, code: 1002, kind: "protocol"},
		appPromiseBadFrame{name: "invalid UTF-8 text", frames: []wstest.Frame{f(true, wstest.OpText, "ok\xff")}, code: 1007, kind: "payload"},
		appPromiseBadFrame{name: "overlong UTF-8", frames: []wstest.Frame{f(true, wstest.OpText, "\xc0\xaf")}, code: 1007, kind: "payload"},
		appPromiseBadFrame{name: "UTF-8 cut at the final fragment", frames: []wstest.Frame{f(false, wstest.OpText, "a\xe2"), f(true, wstest.OpContinuation, "\x82")}, code: 1007, kind: "payload"},
		appPromiseBadFrame{name: "close payload of 1 byte", frames: []wstest.Frame{f(true, wstest.OpClose, "\x03")}, code: 1002, kind: "protocol"},
		appPromiseBadFrame{name: "close reason not UTF-8", frames: []wstest.Frame{f(true, wstest.OpClose, closeP(1000, "\xff\xfe"))}, code: 1002, kind: "protocol"},
		appPromiseBadFrame{name: "masked server frame", frames: []wstest.Frame{{Fin: true, Opcode: wstest.OpText, Masked: true, MaskKey: [4]byte{1, 2, 3, 4}, Payload: []byte("hi")}}, code: 1002, kind: "protocol"},
		appPromiseBadFrame{name: "message over ReadLimit in one frame", frames: []wstest.Frame{f(true, wstest.OpBinary, strings.Repeat("z", 101))}, limit: 100, code: 1009, kind: "limit"},
		appPromiseBadFrame{name: "message over ReadLimit across fragments", frames: []wstest.Frame{f(false, wstest.OpBinary, strings.Repeat("z", 60)), f(true, wstest.OpContinuation, strings.Repeat("z", 41))}, limit: 100, code: 1009, kind: "limit"},
		appPromiseBadFrame{name: "64-bit length with the top bit set", frames: []wstest.Frame{{Fin: true, Opcode: wstest.OpBinary, Length: 1<<63 | 3, Payload: []byte("abc")}}, limit: -1, code: 1002, kind: "protocol"},
	)
	for _, code := range []uint16{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		cases = append(cases, appPromiseBadFrame{name: fmt.Sprintf("close code %d", code), frames: []wstest.Frame{f(true, wstest.OpClose, closeP(code, ""))}, code: 1002, kind: "protocol"})
	}
	return cases
}

// appPromiseBadFrameServer sends the frames after a handshake and reports the client's close code.
func appPromiseBadFrameServer(frames []wstest.Frame, got chan<- uint16) *wstest.Server {
	return wstest.NewServer(func(c *wstest.Conn) {
		c.Accept(nil)
		for _, fr := range frames {
			if c.WriteFrame(fr) != nil {
				break
			}
		}
		c.NetConn().SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			fr, err := c.ReadFrame()
			if err != nil {
				got <- 0
				return
			}
			if fr.Opcode == wstest.OpClose {
				code, _ := fr.CloseStatus()
				got <- code
				return
			}
		}
	})
}

func appPromiseCheckKind(t *testing.T, err error, kind string) {
	t.Helper()
	var pe *websocket.ProtocolError
	var ye *websocket.PayloadError
	switch kind {
	case "protocol":
		if !errors.As(err, &pe) {
			t.Errorf("error %v (%T), want *ProtocolError", err, err)
		}
	case "payload":
		if !errors.As(err, &ye) {
			t.Errorf("error %v (%T), want *PayloadError", err, err)
		}
	case "limit":
		if err == nil {
			t.Error("no error for a message over ReadLimit")
		}
	}
	if err != nil && !strings.HasPrefix(err.Error(), "websocket: ") {
		t.Errorf("error %q does not start with \"websocket: \"", err)
	}
}

// through an App (on the calling goroutine, and on an EventLoop that owns the socket):
// the failure goes to OnError with the right type and the right close code is sent.
func TestProtocolRulesApp(t *testing.T) {
	forModes(t, func(t *testing.T, run func(*websocket.App, *websocket.RunOptions) error) {
		for _, cont := range []bool{false, true} {
			for _, tc := range appPromiseBadFrames() {
				t.Run(fmt.Sprintf("cont=%v/%s", cont, tc.name), func(t *testing.T) {
					got := make(chan uint16, 1)
					srv := appPromiseBadFrameServer(tc.frames, got)
					defer srv.Close()
					var mu sync.Mutex
					var errs []error
					var closes []string
					app := &websocket.App{URL: srv.URL}
					app.OnError = func(_ *websocket.App, err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }
					if cont {
						app.OnContMessage = func(*websocket.App, []byte, bool) {}
					}
					app.OnClose = func(_ *websocket.App, c websocket.StatusCode, r string) {
						mu.Lock()
						closes = append(closes, fmt.Sprintf("%d %q", c, r))
						mu.Unlock()
					}
					runErr := run(app, &websocket.RunOptions{DialOptions: websocket.DialOptions{ReadLimit: tc.limit}})
					if runErr == nil {
						t.Error("run ended with nil after a protocol failure")
					}
					mu.Lock()
					defer mu.Unlock()
					if len(errs) != 1 {
						t.Fatalf("OnError got %v, want one error", errs)
					}
					appPromiseCheckKind(t, errs[0], tc.kind)
					if len(closes) != 1 {
						t.Errorf("OnClose calls %q, want one", closes)
					}
					select {
					case code := <-got:
						if code != tc.code {
							t.Errorf("client sent close %d, want %d", code, tc.code)
						}
					case <-time.After(6 * time.Second):
						t.Error("server saw nothing")
					}
				})
			}
		}
	})
}

// "ProxyURL's noProxy entries follow the no_proxy rules" (localhost not bypassed).
func TestProxyURLNoProxyRules(t *testing.T) {
	f := websocket.ProxyURL("p:1", "*.skip.test", ".dot.test", "name.test", "10.0.0.0/8", "2001:db8::/32", "192.0.2.1", "port.test:8080")
	tests := []struct{ target, want string }{
		{"ws://name.test/", ""},
		{"ws://sub.name.test/", ""},
		{"ws://badname.test/", "http://p:1"},
		{"ws://dot.test/", ""},
		{"ws://x.dot.test/", ""},
		{"ws://10.1.1.1/", ""},
		{"ws://[2001:db8::9]/", ""},
		{"ws://192.0.2.1/", ""},
		{"ws://192.0.2.2/", "http://p:1"},
		{"ws://port.test:8080/", ""},
		{"ws://port.test:8081/", "http://p:1"},
		{"ws://localhost/", "http://p:1"},
		{"ws://127.0.0.1/", "http://p:1"},
		{"ws://[::1]/", "http://p:1"},
	}
	for _, tt := range tests {
		target, _ := url.Parse(tt.target)
		u, err := f(target)
		if err != nil {
			t.Errorf("%s: %v", tt.target, err)
			continue
		}
		got := ""
		if u != nil {
			got = u.String()
		}
		if got != tt.want {
			t.Errorf("ProxyURL(...)(%s) = %q, want %q", tt.target, got, tt.want)
		}
	}
	// "*" in noProxy: nothing is proxied
	if u, err := websocket.ProxyURL("p:1", "*")(&url.URL{Scheme: "ws", Host: "example.com"}); err != nil || u != nil {
		t.Errorf("ProxyURL with noProxy * = %v, %v; want direct", u, err)
	}
}

// WEBSOCKET_CLIENT_CA_BUNDLE naming a directory is added to the roots, also with a nil TLSConfig.
func TestCABundleDirectoryNilTLSConfig(t *testing.T) {
	srv := wstest.NewTLSServer(wstest.Echo)
	defer srv.Close()
	// take the server's certificate chain off the wire
	tc, err := tls.Dial("tcp", strings.TrimPrefix(srv.URL, "wss://"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	var pemBytes []byte
	for _, c := range tc.ConnectionState().PeerCertificates {
		pemBytes = append(pemBytes, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	tc.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WEBSOCKET_CLIENT_CA_BUNDLE", "")
	if c, err := websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{Timeout: 5 * time.Second}); err == nil {
		c.Shutdown()
		t.Fatal("Dial trusted an unknown server without a bundle")
	}
	t.Setenv("WEBSOCKET_CLIENT_CA_BUNDLE", dir)
	c, err := websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("Dial with WEBSOCKET_CLIENT_CA_BUNDLE=<dir> = %v", err)
	}
	c.Close()
	t.Setenv("WEBSOCKET_CLIENT_CA_BUNDLE", filepath.Join(dir, "ca.pem"))
	c, err = websocket.Dial(context.Background(), srv.URL, nil)
	if err != nil {
		t.Fatalf("Dial with WEBSOCKET_CLIENT_CA_BUNDLE=<file>, nil options = %v", err)
	}
	c.Close()
}

// "Flush() waits until queued frames reached the socket": after Flush, closing the socket
// without a close frame loses none of the frames sent before.
func TestFlushThenShutdownLosesNothing(t *testing.T) {
	const senders, each = 4, 500
	var got atomic.Int32
	done := make(chan struct{})
	srv := wstest.NewServer(func(c *wstest.Conn) {
		defer close(done)
		c.Accept(nil)
		for {
			f, err := c.ReadFrame()
			if err != nil {
				return
			}
			if f.Opcode == wstest.OpBinary {
				got.Add(1)
			}
		}
	})
	defer srv.Close()
	c, err := websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for range each {
				if err := c.SendBinary(make([]byte, 100)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := c.Flush(); err != nil {
		t.Fatalf("Flush = %v", err)
	}
	c.Shutdown()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("server did not see the socket end")
	}
	if n := got.Load(); n != senders*each {
		t.Errorf("server got %d frames, want %d", n, senders*each)
	}
}

// "Close/CloseWith (Conn and App) return within their timeout (plus scheduling) whatever
// else is blocked" — real sockets, a server that stops reading, sends stuck on full buffers.
func TestCloseWithinTimeoutWhileSendsBlocked(t *testing.T) {
	stall := wstest.Script(wstest.Accept(nil), wstest.Sleep(time.Minute)) // reads nothing; ends when dropped
	t.Run("Conn", func(t *testing.T) {
		srv := wstest.NewServer(stall)
		defer srv.Close()
		c, err := websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		sendDone := make(chan struct{})
		go func() {
			defer close(sendDone)
			for c.SendBinary(make([]byte, 1<<20)) == nil {
			}
		}()
		time.Sleep(300 * time.Millisecond) // let the socket buffers fill
		start := time.Now()
		c.CloseWith(websocket.StatusNormal, "", 200*time.Millisecond)
		if d := time.Since(start); d > 5*time.Second { // far below the 30 s Timeout
			t.Errorf("CloseWith(200ms) took %v", d)
		}
		select {
		case <-sendDone:
		case <-time.After(8 * time.Second):
			t.Error("the blocked send did not end after Close")
		}
		if c.Connected() {
			t.Error("Connected() after CloseWith")
		}
		srv.Close()
	})
	forModes(t, func(t *testing.T, run func(*websocket.App, *websocket.RunOptions) error) {
		srv := wstest.NewServer(stall)
		defer srv.Close()
		var l appPromiseLog
		app := &websocket.App{URL: srv.URL}
		appPromiseRecord(app, &l)
		closeCalled := make(chan time.Time, 1)
		closeReturned := make(chan time.Duration, 1)
		app.OnOpen = func(a *websocket.App) {
			l.add("open")
			go func() {
				// 8 MiB: more than the socket buffers and an EventLoop's
				// send mark take, so the send waits
				for range 8 {
					if a.SendBytes(make([]byte, 1<<20)) != nil {
						return
					}
				}
			}()
			go func() {
				time.Sleep(300 * time.Millisecond)
				called := time.Now()
				closeCalled <- called
				a.CloseWith(websocket.StatusNormal, "", 200*time.Millisecond)
				closeReturned <- time.Since(called)
			}()
		}
		err := run(app, &websocket.RunOptions{DialOptions: websocket.DialOptions{Timeout: 30 * time.Second}})
		ended := time.Since(<-closeCalled)
		if err != nil {
			t.Errorf("run = %v, want nil after our CloseWith", err)
		}
		if d := <-closeReturned; d > 2*time.Second {
			t.Errorf("App.CloseWith took %v, want it to return at once", d)
		}
		if ended > 8*time.Second { // far below the 30 s Timeout
			t.Errorf("run ended %v after CloseWith(200ms)", ended)
		}
		if got := l.list(); len(got) == 0 || got[len(got)-1] != `close 1006 ""` {
			t.Errorf("events %q, want the last to be close 1006", got)
		}
		srv.Close()
	})
}

// EnableTrace "Traces the handshake request/response and every frame sent and received";
// LevelTrace for frames, slog.LevelDebug for the handshake; "Trace output never shows the values
// of Authorization, Proxy-Authorization, Cookie or Set-Cookie headers, nor passwords in URLs" —
// for an App, on the calling goroutine and on an EventLoop (which reads the socket itself).
func TestTraceAppFramesHandshakeAndSecrets(t *testing.T) {
	const (
		authSecret   = "AUTHSECRET1"
		cookieSecret = "COOKIESECRET2"
		setCookie    = "SETCOOKIESECRET3"
		urlPassword  = "URLPASSWORD4"
		proxySecret  = "PROXYPASSWORD5"
	)
	forModes(t, func(t *testing.T, run func(*websocket.App, *websocket.RunOptions) error) {
		srv := wstest.NewServer(wstest.Script(
			wstest.Accept(http.Header{"Set-Cookie": {"s=" + setCookie}}),
			wstest.Send(wstest.OpPing, []byte("pp")),
			wstest.Send(wstest.OpText, []byte("hello")),
			wstest.Read,
			wstest.Close(1000, "bye"),
		))
		defer srv.Close()
		proxyAddr, proxySaw := appPromiseConnectProxy(t)
		h := &recordHandler{level: websocket.LevelTrace}
		websocket.EnableTrace(true, h)
		defer websocket.EnableTrace(false, slog.DiscardHandler)
		if !websocket.IsEnabledForTrace() || !websocket.IsEnabledForDebug() || !websocket.IsEnabledForError() {
			t.Error("IsEnabledFor* false with a handler enabled at LevelTrace")
		}
		u := strings.Replace(srv.URL, "ws://", "ws://user:"+urlPassword+"@", 1) + "/path"
		app := &websocket.App{URL: u, Cookie: "c=" + cookieSecret,
			Header: http.Header{"Authorization": {"Bearer " + authSecret}}}
		app.OnMessage = func(a *websocket.App, m websocket.Message) { a.SendText("out") }
		err := run(app, &websocket.RunOptions{DialOptions: websocket.DialOptions{
			Proxy: websocket.ProxyURL("http://puser:" + proxySecret + "@" + proxyAddr)}})
		if err != nil {
			t.Fatal(err)
		}
		if !<-proxySaw {
			t.Error("the dial did not go through the proxy with Proxy-Authorization")
		}
		recs := h.matching("") // every record
		joined := strings.Join(recs, "\n")
		for _, s := range []string{authSecret, cookieSecret, setCookie, urlPassword, proxySecret,
			base64.StdEncoding.EncodeToString([]byte("puser:" + proxySecret)),
			base64.StdEncoding.EncodeToString([]byte("user:" + urlPassword))} {
			if strings.Contains(joined, s) {
				t.Errorf("trace shows the secret %q", s)
			}
		}
		has := func(prefix string, parts ...string) bool {
			for _, r := range recs {
				if !strings.HasPrefix(r, prefix) {
					continue
				}
				ok := true
				for _, p := range parts {
					ok = ok && strings.Contains(r, p)
				}
				if ok {
					return true
				}
			}
			return false
		}
		if !has("DEBUG websocket: handshake request") {
			t.Error("no handshake request at slog.LevelDebug")
		}
		if !has("DEBUG websocket: handshake response", "101") {
			t.Error("no handshake response at slog.LevelDebug")
		}
		trace := websocket.LevelTrace.String() + " websocket: frame "
		for _, want := range []struct{ dir, op, payload string }{
			{"recv", "ping", `"pp"`}, {"send", "pong", `"pp"`},
			{"recv", "text", `"hello"`}, {"send", "text", `"out"`},
			{"recv", "close", `1000 "bye"`}, {"send", "close", "1000"},
		} {
			if !has(trace+want.dir, "opcode="+want.op, want.payload) {
				t.Errorf("no trace of the %s frame %s %s", want.dir, want.op, want.payload)
			}
		}
		if t.Failed() {
			t.Logf("trace:\n%s", joined)
		}
	})
}

// appPromiseConnectProxy is an HTTP CONNECT proxy on a loopback port; the channel tells, per
// connection, whether it got a Proxy-Authorization header.
func appPromiseConnectProxy(t *testing.T) (string, <-chan bool) {
	addr, saw, _ := appPromiseConnectProxyTo(t, "")
	return addr, saw
}

// appPromiseConnectProxyTo is appPromiseConnectProxy connecting every tunnel to upstream (when not "")
// whatever host was asked for; the last channel gets the CONNECT targets asked for.
func appPromiseConnectProxyTo(t *testing.T, upstream string) (string, <-chan bool, <-chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	saw := make(chan bool, 8)
	asked := make(chan string, 8)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil || req.Method != http.MethodConnect {
					return
				}
				saw <- req.Header.Get("Proxy-Authorization") != ""
				asked <- req.Host
				target := req.Host
				if upstream != "" {
					target = upstream
				}
				up, err := net.Dial("tcp", target)
				if err != nil {
					io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
					return
				}
				defer up.Close()
				io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
				done := make(chan struct{}, 2)
				go func() { io.Copy(up, br); up.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
				go func() { io.Copy(c, up); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
				<-done
				<-done
			})
		}
	})
	return ln.Addr().String(), saw, asked
}

// SetDefaultTimeout / DefaultTimeout, and a Conn dialed with Timeout 0 takes it as its I/O
// timeout (a read timeout that leaves the Conn usable).
func TestSetDefaultTimeoutIsTheConnTimeout(t *testing.T) {
	old := websocket.DefaultTimeout()
	t.Cleanup(func() { websocket.SetDefaultTimeout(old) })
	websocket.SetDefaultTimeout(time.Second)
	if d := websocket.DefaultTimeout(); d != time.Second {
		t.Fatalf("DefaultTimeout() = %v after SetDefaultTimeout(1s)", d)
	}
	srv := wstest.NewServer(func(c *wstest.Conn) {
		c.Accept(nil)
		c.ReadMessage() // the client's "go"
		c.WriteMessage(wstest.OpText, []byte("late"))
		c.ReadMessage()
	})
	defer srv.Close()
	c, err := websocket.Dial(context.Background(), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if d := c.Timeout(); d != time.Second {
		t.Errorf("Conn.Timeout() = %v, want the default 1s", d)
	}
	start := time.Now()
	_, err = c.Recv()
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Recv on a silent server = %v, want a timeout", err)
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 10*time.Second {
		t.Errorf("timed out after %v, want about 1s", d)
	}
	if err := c.SendText("go"); err != nil {
		t.Fatalf("SendText after a read timeout = %v", err)
	}
	if m, err := c.Recv(); err != nil || m.Text() != "late" {
		t.Errorf("Recv after a read timeout = %q, %v", m.Text(), err)
	}
}

// cancelling Run's ctx "closes cleanly and returns" also while the App waits to reconnect or
// while a dial is stuck in its handshake; no dial follows.
func TestAppRunCtxCancelBetweenConnections(t *testing.T) {
	for _, stage := range []string{"reconnect wait", "stalled handshake"} {
		t.Run(stage, func(t *testing.T) {
			var n atomic.Int32
			srv := wstest.NewServer(func(c *wstest.Conn) {
				n.Add(1)
				if stage == "reconnect wait" {
					c.Accept(nil)
					c.Drop()
					return
				}
				wstest.Sleep(time.Minute)(c) // never answers the handshake
			})
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			app := &websocket.App{URL: srv.URL}
			var closes atomic.Int32
			app.OnClose = func(*websocket.App, websocket.StatusCode, string) {
				closes.Add(1)
				if stage == "reconnect wait" {
					time.AfterFunc(100*time.Millisecond, cancel)
				}
			}
			if stage == "stalled handshake" {
				time.AfterFunc(200*time.Millisecond, cancel)
			}
			start := time.Now()
			err := runWithin(t, 10*time.Second, func() error {
				return app.Run(ctx, &websocket.RunOptions{Reconnect: time.Hour,
					DialOptions: websocket.DialOptions{HandshakeTimeout: time.Hour}})
			})
			if err != nil {
				t.Errorf("Run = %v after ctx was cancelled, want nil", err)
			}
			if d := time.Since(start); d > 8*time.Second {
				t.Errorf("Run returned %v after the start, want soon after the cancel", d)
			}
			if got := n.Load(); got != 1 {
				t.Errorf("%d dials, want 1", got)
			}
		})
	}
}

// EventLoop.Run "first closes its Apps ... and waits for their OnClose" — an App waiting to
// reconnect has no connection: Run returns at once, with no further dial.
func TestEventLoopStopsAppWaitingToReconnect(t *testing.T) {
	var n atomic.Int32
	srv := wstest.NewServer(func(c *wstest.Conn) {
		n.Add(1)
		c.Accept(nil)
		c.Drop()
	})
	defer srv.Close()
	l := websocket.NewEventLoop()
	app := &websocket.App{URL: srv.URL}
	app.OnClose = func(*websocket.App, websocket.StatusCode, string) { time.AfterFunc(100*time.Millisecond, l.Stop) }
	if err := app.RunForever(&websocket.RunOptions{Dispatcher: l, Reconnect: time.Hour}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := runWithin(t, 10*time.Second, func() error { return l.Run(context.Background()) }); err != nil {
		t.Errorf("Run = %v after Stop, want nil", err)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("Run took %v", d)
	}
	if got := n.Load(); got != 1 {
		t.Errorf("%d dials, want 1", got)
	}
}

// "OnOpen fires for the first successful connection of a run": a second run of the same App
// starts with OnOpen again, not OnReconnect.
func TestAppSecondRunStartsWithOnOpen(t *testing.T) {
	srv := wstest.NewServer(wstest.Script(wstest.Accept(nil), wstest.Close(1000, "")))
	defer srv.Close()
	var l appPromiseLog
	app := &websocket.App{URL: srv.URL}
	appPromiseRecord(app, &l)
	for range 2 {
		if err := runWithin(t, 10*time.Second, func() error {
			return app.RunForever(&websocket.RunOptions{Reconnect: 5 * time.Millisecond})
		}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"open", `close 1000 ""`, "open", `close 1000 ""`}
	if got := l.list(); !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// through every read API of the Conn: the rules hold, and the matching close code is sent,
// however the application reads.
func TestProtocolRulesEveryReadAPI(t *testing.T) {
	readers := []struct {
		name    string
		fireCon bool
		read    func(c *websocket.Conn) error // reads until an error
	}{
		{"RecvData(false)", false, func(c *websocket.Conn) error {
			for {
				if _, _, err := c.RecvData(false); err != nil {
					return err
				}
			}
		}},
		{"RecvData(true)", false, func(c *websocket.Conn) error {
			for {
				if _, _, err := c.RecvData(true); err != nil {
					return err
				}
			}
		}},
		{"RecvDataFrame(true) FireContFrame", true, func(c *websocket.Conn) error {
			for {
				if _, _, err := c.RecvDataFrame(true); err != nil {
					return err
				}
			}
		}},
		{"RecvData(false) FireContFrame", true, func(c *websocket.Conn) error {
			for {
				if _, _, err := c.RecvData(false); err != nil {
					return err
				}
			}
		}},
		{"NextReader", false, func(c *websocket.Conn) error {
			for {
				_, r, err := c.NextReader()
				if err != nil {
					return err
				}
				if _, err := io.ReadAll(r); err != nil {
					return err
				}
			}
		}},
		{"Messages", false, func(c *websocket.Conn) error {
			for _, err := range c.Messages() {
				if err != nil {
					return err
				}
			}
			return errors.New("Messages ended without an error")
		}},
		{"RecvFrame", false, func(c *websocket.Conn) error {
			for {
				if _, err := c.RecvFrame(); err != nil {
					return err
				}
			}
		}},
	}
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			for _, tc := range appPromiseBadFrames() {
				t.Run(tc.name, func(t *testing.T) {
					got := make(chan uint16, 1)
					srv := appPromiseBadFrameServer(tc.frames, got)
					defer srv.Close()
					c, err := websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{ReadLimit: tc.limit, Timeout: 3 * time.Second, FireContFrame: rd.fireCon})
					if err != nil {
						t.Fatal(err)
					}
					defer c.Shutdown()
					err = rd.read(c)
					appPromiseCheckKind(t, err, tc.kind)
					select {
					case code := <-got:
						if code != tc.code {
							t.Errorf("client sent close %d, want %d (error %v)", code, tc.code, err)
						}
					case <-time.After(6 * time.Second):
						t.Error("server saw nothing")
					}
				})
			}
		})
	}
}

// "A message may not have more than a bounded number of frames (default documented; going
// over: 1009)" — the documented default is 131,072 — through an App, with and without fragment
// delivery, on the calling goroutine and on an EventLoop.
func TestAppMessageFrameBound(t *testing.T) {
	const bound = 131072
	wire := func(n int) []byte {
		var b []byte
		for i := range n {
			op := wstest.OpContinuation
			if i == 0 {
				op = wstest.OpBinary
			}
			b = wstest.Frame{Fin: i == n-1, Opcode: op}.AppendTo(b)
		}
		return b
	}
	atBound, overBound := wire(bound), wire(bound+1)
	forModes(t, func(t *testing.T, run func(*websocket.App, *websocket.RunOptions) error) {
		for _, cont := range []bool{false, true} {
			for _, n := range []int{bound, bound + 1} {
				t.Run(fmt.Sprintf("cont=%v/frames=%d", cont, n), func(t *testing.T) {
					raw := atBound
					if n > bound {
						raw = overBound
					}
					got := make(chan uint16, 1)
					srv := wstest.NewServer(func(c *wstest.Conn) {
						c.Accept(nil)
						c.WriteRaw(raw)
						c.WriteMessage(wstest.OpClose, []byte{0x03, 0xe8})
						c.NetConn().SetReadDeadline(time.Now().Add(10 * time.Second))
						for {
							f, err := c.ReadFrame()
							if err != nil {
								got <- 0
								return
							}
							if f.Opcode == wstest.OpClose {
								code, _ := f.CloseStatus()
								got <- code
								return
							}
						}
					})
					defer srv.Close()
					var messages, fragments atomic.Int32
					app := &websocket.App{URL: srv.URL}
					app.OnMessage = func(*websocket.App, websocket.Message) { messages.Add(1) }
					if cont {
						app.OnContMessage = func(*websocket.App, []byte, bool) { fragments.Add(1) }
					}
					var errs atomic.Int32
					app.OnError = func(*websocket.App, error) { errs.Add(1) }
					err := run(app, nil)
					code := <-got
					if n == bound {
						if err != nil || code != 1000 {
							t.Errorf("%d frames: run = %v, close sent %d; want nil and 1000", n, err, code)
						}
						if !cont && messages.Load() != 1 {
							t.Errorf("%d messages, want 1", messages.Load())
						}
						if cont && fragments.Load() != bound {
							t.Errorf("%d fragments delivered, want %d", fragments.Load(), bound)
						}
						return
					}
					if err == nil || errs.Load() != 1 {
						t.Errorf("%d frames: run = %v, %d errors; want the failure", n, err, errs.Load())
					}
					if code != 1009 {
						t.Errorf("%d frames: client sent close %d, want 1009", n, code)
					}
				})
			}
		}
	})
}

// / "Proxy: nil = ProxyFromEnvironment": Dial and App with no Proxy go through http_proxy
// for ws and https_proxy for wss.
func TestEnvironmentProxyUsedByDialAndApp(t *testing.T) {
	vars := []string{"http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"}
	for _, k := range vars {
		t.Setenv(k, "")
	}
	plain := wstest.NewServer(wstest.Echo)
	defer plain.Close()
	secure := wstest.NewTLSServer(wstest.Echo)
	defer secure.Close()
	httpProxy, _, httpAsked := appPromiseConnectProxyTo(t, strings.TrimPrefix(plain.URL, "ws://"))
	httpsProxy, _, httpsAsked := appPromiseConnectProxyTo(t, strings.TrimPrefix(secure.URL, "wss://"))
	t.Setenv("http_proxy", httpProxy)             // no scheme: http
	t.Setenv("HTTPS_PROXY", "http://"+httpsProxy) // upper case
	tlsConf := secure.TLSConfig()
	tlsConf.ServerName = "localhost" // the certificate's name; the URL's host is a made-up one
	echo := func(c *websocket.Conn) {
		t.Helper()
		if err := c.SendText("via proxy"); err != nil {
			t.Fatal(err)
		}
		if m, err := c.Recv(); err != nil || m.Text() != "via proxy" {
			t.Fatalf("Recv = %q, %v", m.Text(), err)
		}
	}
	c, err := websocket.Dial(context.Background(), "ws://ws.proxied.test/", nil)
	if err != nil {
		t.Fatalf("Dial ws through http_proxy: %v", err)
	}
	echo(c)
	c.Close()
	if h := <-httpAsked; h != "ws.proxied.test:80" {
		t.Errorf("CONNECT %q, want ws.proxied.test:80", h)
	}
	c, err = websocket.Dial(context.Background(), "wss://wss.proxied.test/", &websocket.DialOptions{TLSConfig: tlsConf})
	if err != nil {
		t.Fatalf("Dial wss through HTTPS_PROXY: %v", err)
	}
	echo(c)
	c.Close()
	if h := <-httpsAsked; h != "wss.proxied.test:443" {
		t.Errorf("CONNECT %q, want wss.proxied.test:443", h)
	}
	forModes(t, func(t *testing.T, run func(*websocket.App, *websocket.RunOptions) error) {
		app := &websocket.App{URL: "ws://app.proxied.test:8080/"}
		app.OnOpen = func(a *websocket.App) { a.SendText("hi") }
		app.OnMessage = func(a *websocket.App, m websocket.Message) { a.Close() }
		var errs []error
		app.OnError = func(_ *websocket.App, err error) { errs = append(errs, err) }
		if err := run(app, nil); err != nil {
			t.Fatalf("App through http_proxy: %v (%v)", err, errs)
		}
		if h := <-httpAsked; h != "app.proxied.test:8080" {
			t.Errorf("CONNECT %q, want app.proxied.test:8080", h)
		}
	})
}

// "IsEnabledForError/Debug/Trace: each asks the current handler's Enabled for its level".
func TestIsEnabledForAsksTheHandler(t *testing.T) {
	defer websocket.EnableTrace(false, slog.DiscardHandler)
	for _, tc := range []struct {
		level slog.Level
		want  [3]bool // Error, Debug, Trace
	}{
		{websocket.LevelTrace, [3]bool{true, true, true}},
		{slog.LevelDebug, [3]bool{true, true, false}},
		{slog.LevelInfo, [3]bool{true, false, false}},
		{slog.LevelError, [3]bool{true, false, false}},
		{slog.LevelError + 1, [3]bool{false, false, false}},
	} {
		websocket.EnableTrace(true, &recordHandler{level: tc.level})
		got := [3]bool{websocket.IsEnabledForError(), websocket.IsEnabledForDebug(), websocket.IsEnabledForTrace()}
		if got != tc.want {
			t.Errorf("handler at %v: IsEnabledForError, Debug, Trace = %v, want %v", tc.level, got, tc.want)
		}
	}
	if websocket.LevelTrace != slog.Level(-8) {
		t.Errorf("LevelTrace = %v, want -8", websocket.LevelTrace)
	}
}

// "CR, LF or NUL in Host, Origin, Cookie or a subprotocol (which must be an RFC 7230 token)
// is an error and nothing is sent, as for Header values" — through an App with reconnecting on:
// an invalid Header value ends the run at once with the error; the other fields must too, rather
// than being retried on the reconnect schedule.
func TestAppRefusesInvalidRequestFieldsAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(a *websocket.App, o *websocket.RunOptions)
	}{
		{"App.Header value CR", func(a *websocket.App, _ *websocket.RunOptions) { a.Header = http.Header{"X-A": {"1\rX"}} }},
		{"App.Cookie CRLF", func(a *websocket.App, _ *websocket.RunOptions) { a.Cookie = "a=1\r\nX-Evil: 1" }},
		{"App.Cookie NUL", func(a *websocket.App, _ *websocket.RunOptions) { a.Cookie = "a=1\x00" }},
		{"App.Subprotocols LF", func(a *websocket.App, _ *websocket.RunOptions) { a.Subprotocols = []string{"chat\nX: 1"} }},
		{"App.Subprotocols not a token", func(a *websocket.App, _ *websocket.RunOptions) { a.Subprotocols = []string{"chat room"} }},
		{"DialOptions.Host LF", func(_ *websocket.App, o *websocket.RunOptions) { o.Host = "h\nX: 1" }},
		{"DialOptions.Origin NUL", func(_ *websocket.App, o *websocket.RunOptions) { o.Origin = "http://o\x00" }},
		// url.Parse takes any digits as a port.
		{"URL port past 65535", func(a *websocket.App, _ *websocket.RunOptions) { a.URL = "ws://127.0.0.1:99999/" }},
		{"URL port 0", func(a *websocket.App, _ *websocket.RunOptions) { a.URL = "ws://127.0.0.1:0/" }},
		// "Invalid options are returned at once, before any callback": also the HTTP/2
		// mode's, which only the dial checked.
		{"DialOptions.HTTP2 not a mode", func(_ *websocket.App, o *websocket.RunOptions) { o.HTTP2 = websocket.HTTP2Mode(7) }},
		{"HTTP2Require with App.NetConn", func(a *websocket.App, o *websocket.RunOptions) {
			a.NetConn, _ = net.Pipe()
			o.HTTP2 = websocket.HTTP2Require
		}},
	} {
		for _, onLoop := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/loop=%v", tc.name, onLoop), func(t *testing.T) {
				srv := wstest.NewServer(wstest.Echo)
				defer srv.Close()
				app := &websocket.App{URL: srv.URL}
				opts := &websocket.RunOptions{Reconnect: 10 * time.Millisecond}
				tc.set(app, opts)
				var l *websocket.EventLoop
				if onLoop {
					l = websocket.NewEventLoop()
					opts.Dispatcher = l
				}
				var errs atomic.Int32
				app.OnError = func(*websocket.App, error) { errs.Add(1) }
				app.OnOpen = func(a *websocket.App) { a.Close() }
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				err := app.Run(ctx, opts)
				if err == nil && l != nil {
					l.Run(ctx) // until the 2s ctx ends
				}
				if err == nil || errs.Load() != 0 {
					t.Errorf("Run = %v after %d OnError calls, want the error at once, before any callback", err, errs.Load())
				}
				if n := len(srv.Conns()); n != 0 {
					t.Errorf("%d handshake requests reached the server, want none", n)
				}
			})
		}
	}
}

// "A close frame from the server ends the run cleanly" also when the server hangs up right
// after its close frame, without waiting for our echo.
func TestAppServerCloseThenHangUpIsClean(t *testing.T) {
	forModes(t, func(t *testing.T, run func(*websocket.App, *websocket.RunOptions) error) {
		srv := wstest.NewServer(func(c *wstest.Conn) {
			c.Accept(nil)
			c.WriteMessage(wstest.OpText, []byte("last"))
			c.WriteMessage(wstest.OpClose, []byte{0x03, 0xe9, 'b', 'y', 'e'}) // 1001 "bye"
			c.Drop()
		})
		defer srv.Close()
		var l appPromiseLog
		app := &websocket.App{URL: srv.URL}
		appPromiseRecord(app, &l)
		if err := run(app, &websocket.RunOptions{Reconnect: 5 * time.Millisecond}); err != nil {
			t.Fatalf("run = %v, want nil", err)
		}
		want := []string{"open", `message text "last"`, `close 1001 "bye"`}
		if got := l.list(); !slices.Equal(got, want) {
			t.Errorf("events %q, want %q", got, want)
		}
	})
}

// App.NetConn: the App runs its one connection over the given stream; a drop is a failure
// (OnError, OnClose 1006) and there is nothing to reconnect to.
func TestAppNetConnOneConnection(t *testing.T) {
	forModes(t, func(t *testing.T, run func(*websocket.App, *websocket.RunOptions) error) {
		srv := wstest.NewServer(func(c *wstest.Conn) {
			c.Accept(nil)
			op, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			c.WriteMessage(op, p)
			c.Drop()
		})
		defer srv.Close()
		nc, err := srv.DialContext(context.Background(), "tcp", "")
		if err != nil {
			t.Fatal(err)
		}
		var l appPromiseLog
		app := &websocket.App{URL: "ws://given.test/", NetConn: nc}
		appPromiseRecord(app, &l)
		app.OnOpen = func(a *websocket.App) {
			l.add("open")
			if a.Conn().NetConn() != nc {
				t.Error("Conn().NetConn() is not the given NetConn")
			}
			a.SendText("over the given stream")
		}
		err = run(app, &websocket.RunOptions{Reconnect: 5 * time.Millisecond})
		if err == nil {
			t.Error("run = nil after the given stream was dropped, want the error")
		}
		want := []string{"open", `message text "over the given stream"`, "error", `close 1006 ""`}
		if got := l.list(); !slices.Equal(got, want) {
			t.Errorf("events %q, want %q", got, want)
		}
		if n := len(srv.Conns()); n != 1 {
			t.Errorf("%d connections, want 1", n)
		}
	})
}

// EventLoop.Stop is "safe from any goroutine": many concurrent and repeated calls.
func TestEventLoopStopConcurrent(t *testing.T) {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	l := websocket.NewEventLoop()
	opened := make(chan struct{})
	var closes atomic.Int32
	app := &websocket.App{URL: srv.URL,
		OnOpen:  func(*websocket.App) { close(opened) },
		OnClose: func(*websocket.App, websocket.StatusCode, string) { closes.Add(1) }}
	if err := app.RunForever(&websocket.RunOptions{Dispatcher: l}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- l.Run(context.Background()) }()
	<-opened
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() { l.Stop(); l.Stop() })
	}
	wg.Wait()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	l.Stop() // after Run returned
	if n := closes.Load(); n != 1 {
		t.Errorf("OnClose ran %d times, want 1", n)
	}
}

// "Dispatcher: nil = run on the calling goroutine": every callback of a run without a
// Dispatcher runs on the goroutine that called RunForever, one at a time.
func TestAppCallbacksOnCallingGoroutine(t *testing.T) {
	var n atomic.Int32
	srv := wstest.NewServer(func(c *wstest.Conn) {
		c.Accept(nil)
		if n.Add(1) == 1 {
			c.WriteMessage(wstest.OpPing, []byte("p"))
			c.WriteFrame(wstest.Frame{Opcode: wstest.OpText, Payload: []byte("a")})
			c.WriteFrame(wstest.Frame{Fin: true, Opcode: wstest.OpContinuation, Payload: []byte("b")})
			c.WriteMessage(wstest.OpText, []byte("m"))
			c.ReadMessage()
			c.Drop()
			return
		}
		c.Close(1000, "")
	})
	defer srv.Close()
	var caller string
	var inside, bad, calls atomic.Int32
	enter := func() func() {
		calls.Add(1)
		if appPromiseGoid() != caller {
			bad.Add(1)
		}
		if inside.Add(1) != 1 {
			bad.Add(1)
		}
		return func() { inside.Add(-1) }
	}
	app := &websocket.App{URL: srv.URL}
	app.OnOpen = func(a *websocket.App) { defer enter()() }
	app.OnReconnect = func(a *websocket.App) { defer enter()() }
	app.OnPing = func(*websocket.App, []byte) { defer enter()() }
	app.OnData = func(*websocket.App, []byte, websocket.Opcode, bool) { defer enter()() }
	app.OnContMessage = func(*websocket.App, []byte, bool) { defer enter()() }
	app.OnMessage = func(a *websocket.App, _ websocket.Message) { defer enter()(); a.SendText("x") }
	app.OnError = func(*websocket.App, error) { defer enter()() }
	app.OnClose = func(*websocket.App, websocket.StatusCode, string) { defer enter()() }
	err := runWithin(t, 10*time.Second, func() error {
		caller = appPromiseGoid()
		return app.RunForever(&websocket.RunOptions{Reconnect: 5 * time.Millisecond, PingInterval: time.Hour})
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() < 10 {
		t.Errorf("only %d callbacks ran", calls.Load())
	}
	if bad.Load() != 0 {
		t.Errorf("%d callbacks ran off the calling goroutine or overlapped", bad.Load())
	}
}

// invalid UTF-8 "detected as early as the bytes allow", through an App (on the calling
// goroutine and on an EventLoop that reads the socket itself).
func TestAppUTF8FailsFast(t *testing.T) {
	forModes(t, func(t *testing.T, run func(*websocket.App, *websocket.RunOptions) error) {
		for _, tc := range []struct {
			name string
			raw  []byte
		}{
			{"bad first fragment, rest never sent", wstest.Frame{Opcode: wstest.OpText, Payload: []byte("ab\xff")}.AppendTo(nil)},
			{"bad bytes at the start of a long frame", wstest.Frame{Fin: true, Opcode: wstest.OpText, Length: 1 << 20, Payload: append([]byte("ab\xff"), make([]byte, 64<<10)...)}.AppendTo(nil)},
		} {
			for _, cont := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/cont=%v", tc.name, cont), func(t *testing.T) {
					got := make(chan uint16, 1)
					srv := wstest.NewServer(func(c *wstest.Conn) {
						c.Accept(nil)
						c.WriteRaw(tc.raw) // and then nothing more
						c.NetConn().SetReadDeadline(time.Now().Add(5 * time.Second))
						for {
							fr, err := c.ReadFrame()
							if err != nil {
								got <- 0
								return
							}
							if fr.Opcode == wstest.OpClose {
								code, _ := fr.CloseStatus()
								got <- code
								return
							}
						}
					})
					defer srv.Close()
					app := &websocket.App{URL: srv.URL}
					var mu sync.Mutex
					var errs []error
					app.OnError = func(_ *websocket.App, err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }
					if cont {
						app.OnContMessage = func(*websocket.App, []byte, bool) {}
					}
					start := time.Now()
					err := run(app, &websocket.RunOptions{DialOptions: websocket.DialOptions{Timeout: 30 * time.Second}})
					if d := time.Since(start); d > 8*time.Second { // far below the Timeout
						t.Errorf("run ended after %v, want at once", d)
					}
					var ye *websocket.PayloadError
					if !errors.As(err, &ye) {
						t.Errorf("run = %v (%T), want *PayloadError", err, err)
					}
					if code := <-got; code != 1007 {
						t.Errorf("client sent close %d, want 1007", code)
					}
				})
			}
		}
	})
}

// "HandshakeTimeout bounds dial + proxy + TLS + upgrade together"; "With Timeout also set,
// the earlier deadline wins" — through an App (on the calling goroutine and on an EventLoop,
// which dials sockets itself): a server that never answers the upgrade is a timeout failure.
func TestAppHandshakeTimeout(t *testing.T) {
	forModes(t, func(t *testing.T, run func(*websocket.App, *websocket.RunOptions) error) {
		for _, tc := range []struct {
			name string
			do   websocket.DialOptions
		}{
			{"HandshakeTimeout", websocket.DialOptions{HandshakeTimeout: 200 * time.Millisecond}},
			{"Timeout earlier", websocket.DialOptions{HandshakeTimeout: time.Minute, Timeout: 200 * time.Millisecond}},
			{"HandshakeTimeout earlier", websocket.DialOptions{HandshakeTimeout: 200 * time.Millisecond, Timeout: time.Minute}},
		} {
			for _, scheme := range []string{"ws", "wss"} {
				t.Run(tc.name+"/"+scheme, func(t *testing.T) {
					stall := wstest.Script(wstest.Sleep(time.Minute)) // never answers the handshake
					srv := wstest.NewServer(stall)
					do := tc.do
					if scheme == "wss" {
						srv.Close()
						srv = wstest.NewTLSServer(stall)
						do.TLSConfig = srv.TLSConfig()
					}
					defer srv.Close()
					app := &websocket.App{URL: srv.URL}
					start := time.Now()
					err := run(app, &websocket.RunOptions{DialOptions: do})
					if d := time.Since(start); d > 8*time.Second { // a bound a busy machine keeps, far below the minute
						t.Errorf("run ended after %v, want about 200ms", d)
					}
					var ne net.Error
					if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
						t.Errorf("run = %v (%T), want a timeout", err, err)
					}
				})
			}
		}
	})
}

// TestAppRunWithAnEndedContextDialsNothing: Run given a context that has
// already ended returns without a connection attempt (HeaderFunc was
// called and the server's port connected to, 20 times in 20), on its own
// loop and on an EventLoop.
func TestAppRunWithAnEndedContextDialsNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	l := websocket.NewEventLoop()
	lctx, lcancel := context.WithCancel(context.Background())
	defer lcancel()
	go l.Run(lctx)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := &attachRecorder{EventLoop: l}
	var headers, callbacks atomic.Int32
	for _, d := range []websocket.Dispatcher{nil, rec} {
		for range 20 {
			a := &websocket.App{URL: "ws://" + ln.Addr().String() + "/",
				HeaderFunc: func() http.Header { headers.Add(1); return nil },
				OnOpen:     func(*websocket.App) { callbacks.Add(1) },
				OnError:    func(*websocket.App, error) { callbacks.Add(1) },
			}
			if err := a.Run(ctx, &websocket.RunOptions{Dispatcher: d, Reconnect: -1}); err != nil {
				t.Fatalf("Run = %v, want nil", err)
			}
			if d == nil {
				continue // Run returned when the run ended
			}
			select { // Attach ran on this goroutine, in Run
			case <-rec.runs[len(rec.runs)-1].Done():
			case <-time.After(testTimeout):
				t.Fatal("the run did not end")
			}
		}
	}
	if headers.Load() != 0 || callbacks.Load() != 0 {
		t.Errorf("HeaderFunc called %d times, %d callbacks, for runs whose context had ended", headers.Load(), callbacks.Load())
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("the server's port was connected to %d times", n)
	}
}
