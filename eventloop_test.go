package websocket_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// goid returns the current goroutine's id (tests only).
func goid() string {
	var b [64]byte
	s := b[:runtime.Stack(b[:], false)]
	s = bytes.TrimPrefix(s, []byte("goroutine "))
	return string(s[:bytes.IndexByte(s, ' ')])
}

func TestEventLoopManyApps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const apps = 5
		p := &pipeServer{handle: func(i int, c *wstest.Conn) { wstest.Echo(c) }}
		l := websocket.NewEventLoop()
		var loopID string
		inCallback := 0 // a plain int: -race flags callbacks that overlap
		got := make([]*events, apps)
		enter := func() func() {
			if id := goid(); id != loopID {
				t.Errorf("callback on goroutine %s, want the loop's %s", id, loopID)
			}
			if inCallback != 0 {
				t.Error("callbacks overlap")
			}
			inCallback++
			return func() { inCallback-- }
		}
		received := 0
		for i := range apps {
			e := &events{}
			got[i] = e
			a := &websocket.App{URL: pipeURL}
			a.OnOpen = func(a *websocket.App) {
				defer enter()()
				e.add("open")
				a.SendText(fmt.Sprint("app ", i))
			}
			a.OnMessage = func(a *websocket.App, m websocket.Message) {
				defer enter()()
				e.add("message %s", m.Data)
				if received++; received == apps {
					l.Stop() // closes every App with 1001 and waits for OnClose
				}
			}
			a.OnClose = func(_ *websocket.App, c websocket.StatusCode, r string) {
				defer enter()()
				e.add("close %d", c)
			}
			a.OnError = func(_ *websocket.App, err error) { t.Errorf("app %d: %v", i, err) }
			err := a.RunForever(&websocket.RunOptions{Dispatcher: l,
				DialOptions: websocket.DialOptions{NetDialContext: p.dial}})
			if err != nil {
				t.Fatalf("RunForever with a dispatcher = %v", err)
			}
		}
		loopID = goid()
		if err := l.Run(t.Context()); err != nil {
			t.Fatalf("Run = %v, want nil after Stop", err)
		}
		for i, e := range got {
			want := []string{"open", fmt.Sprint("message app ", i), "close 1001"}
			if g := e.list(); !slices.Equal(g, want) {
				t.Errorf("app %d events %q, want %q", i, g, want)
			}
		}
		if err := l.Run(t.Context()); err == nil {
			t.Error("second Run = nil, want an error")
		}
		a := &websocket.App{URL: pipeURL}
		if err := a.RunForever(&websocket.RunOptions{Dispatcher: l}); err == nil {
			t.Error("RunForever on a stopped loop = nil, want an error")
		}
	})
}

func TestEventLoopContextAndRunEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &pipeServer{handle: func(i int, c *wstest.Conn) {
			if c.Request.Header.Get("X-App") == "1" {
				c.WriteFrame(true, 0x8, wstest.ClosePayload(1000, "done"))
			}
			wstest.Echo(c)
		}}
		l := websocket.NewEventLoop()
		var e1, e2, e3 events
		a1 := &websocket.App{URL: pipeURL, Header: http.Header{"X-App": {"1"}}} // closed by the server: its run ends, the loop goes on
		record(a1, &e1)
		a2 := &websocket.App{URL: pipeURL} // stopped by its own ctx
		record(a2, &e2)
		a3 := &websocket.App{URL: pipeURL} // stopped by the loop's ctx
		record(a3, &e3)
		opts := &websocket.RunOptions{Dispatcher: l, DialOptions: websocket.DialOptions{NetDialContext: p.dial}}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		appCtx, appCancel := context.WithTimeout(t.Context(), time.Second)
		defer appCancel()
		for i, a := range []*websocket.App{a1, a2, a3} {
			c := context.Background()
			if i == 1 {
				c = appCtx
			}
			if err := a.Run(c, opts); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		if err := l.Run(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d != time.Minute {
			t.Errorf("Run returned after %v, want 1m", d)
		}
		for i, c := range []struct {
			e    *events
			want string
		}{{&e1, `close 1000 "done"`}, {&e2, `close 1000 ""`}, {&e3, `close 1001 ""`}} {
			if g, want := c.e.list(), []string{"open", c.want}; !slices.Equal(g, want) {
				t.Errorf("app %d events %q, want %q", i+1, g, want)
			}
		}
	})
}

func TestEventLoopStopBeforeRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := websocket.NewEventLoop()
		var e events
		a := &websocket.App{URL: pipeURL}
		record(a, &e)
		if err := a.RunForever(&websocket.RunOptions{Dispatcher: l, Reconnect: time.Second,
			DialOptions: websocket.DialOptions{NetDialContext: (&pipeServer{handle: func(int, *wstest.Conn) {}}).dial}}); err != nil {
			t.Fatal(err)
		}
		l.Stop()
		if err := l.Run(context.Background()); err != nil {
			t.Fatalf("Run = %v", err)
		}
		if g := e.list(); len(g) != 0 {
			t.Errorf("events %q, want none: the App never started", g)
		}
	})
}
