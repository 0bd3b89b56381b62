package websocket_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
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

// TestEventLoopRefusesAppsWhileStopping: an App given a loop that is
// stopping its Apps is refused (its Run returns an error) rather than
// attached and never stopped, which kept the loop's Run from returning.
func TestEventLoopRefusesAppsWhileStopping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &pipeServer{handle: func(_ int, c *wstest.Conn) { wstest.Echo(c) }}
		l := websocket.NewEventLoop()
		opts := &websocket.RunOptions{Dispatcher: l, DialOptions: websocket.DialOptions{NetDialContext: p.dial}}
		var late error
		var e2 events
		a2 := &websocket.App{URL: pipeURL}
		record(a2, &e2)
		a1 := &websocket.App{URL: pipeURL}
		a1.OnOpen = func(*websocket.App) { l.Stop() }
		a1.OnClose = func(*websocket.App, websocket.StatusCode, string) {
			late = a2.Run(context.Background(), opts) // the loop is stopping
		}
		if err := a1.Run(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- l.Run(context.Background()) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run = %v", err)
			}
		case <-time.After(time.Hour):
			t.Fatal("the loop's Run did not return: an App attached while it stopped was never stopped")
		}
		if late == nil || !strings.Contains(late.Error(), "stopping") {
			t.Errorf("Run of an App given a stopping loop = %v, want an error", late)
		}
		if g := e2.list(); len(g) != 0 {
			t.Errorf("the refused App's events %q, want none", g)
		}
		if err := a2.Run(context.Background(), opts); err == nil {
			t.Error("Run of an App given a stopped loop = nil, want an error")
		}
	})
}

// attachRecorder is an EventLoop that keeps the runs attached to it.
type attachRecorder struct {
	*websocket.EventLoop
	runs []*websocket.Session
}

func (l *attachRecorder) Attach(s *websocket.Session) error {
	l.runs = append(l.runs, s)
	return l.EventLoop.Attach(s)
}

// TestSessionApp: the Session a Dispatcher is given tells which App it
// runs, and each run of an App is a Session of its own.
func TestSessionApp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &pipeServer{handle: func(_ int, c *wstest.Conn) {
			c.WriteFrame(true, 0x8, wstest.ClosePayload(1000, ""))
			c.ReadFrame()
		}}
		l := &attachRecorder{EventLoop: websocket.NewEventLoop()}
		go l.Run(context.Background())
		defer l.Stop()
		a1, a2 := &websocket.App{URL: pipeURL}, &websocket.App{URL: pipeURL}
		opts := &websocket.RunOptions{Dispatcher: l, DialOptions: websocket.DialOptions{NetDialContext: p.dial}}
		for i, a := range []*websocket.App{a1, a2, a1} {
			if err := a.Run(context.Background(), opts); err != nil {
				t.Fatal(err)
			}
			if len(l.runs) != i+1 {
				t.Fatalf("run %d: %d runs attached", i, len(l.runs))
			}
			<-l.runs[i].Done() // a1 runs again once its first run is over
		}
		if l.runs[0] == l.runs[2] {
			t.Error("a1's second run is its first Session")
		}
		for i, want := range []*websocket.App{a1, a2, a1} {
			if got := l.runs[i].App(); got != want {
				t.Errorf("run %d: App() = %p, want %p", i, got, want)
			}
		}
	})
}

// TestSessionStop: a Dispatcher's Stop closes the connection with the code
// given, StatusNormal for a code that may not be sent, and ends the run
// without reconnecting.
func TestSessionStop(t *testing.T) {
	for _, tc := range []struct {
		code, want websocket.StatusCode
	}{{4001, 4001}, {websocket.StatusGoingAway, websocket.StatusGoingAway}, {websocket.StatusNoStatusReceived, websocket.StatusNormal}, {999, websocket.StatusNormal}} {
		t.Run(tc.code.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				got := make(chan websocket.StatusCode, 1)
				p := &pipeServer{handle: func(_ int, c *wstest.Conn) {
					f, err := c.ReadFrame()
					if err != nil || f.Opcode != 0x8 || len(f.Payload) < 2 {
						t.Errorf("server read %+v, %v; want a close frame with a code", f, err)
						return
					}
					got <- websocket.StatusCode(binary.BigEndian.Uint16(f.Payload))
					c.WriteFrame(true, 0x8, f.Payload)
				}}
				l := &attachRecorder{EventLoop: websocket.NewEventLoop()}
				go l.Run(context.Background())
				defer l.Stop()
				var e events
				a := &websocket.App{URL: pipeURL}
				record(a, &e)
				opened := make(chan struct{})
				a.OnOpen = func(*websocket.App) { close(opened) }
				if err := a.Run(context.Background(), &websocket.RunOptions{Dispatcher: l, Reconnect: time.Second,
					DialOptions: websocket.DialOptions{NetDialContext: p.dial}}); err != nil {
					t.Fatal(err)
				}
				<-opened
				s := l.runs[0]
				s.Stop(tc.code)
				<-s.Done()
				if c := <-got; c != tc.want {
					t.Errorf("Stop(%d) sent close %d, want %d", tc.code, c, tc.want)
				}
				if err := s.Err(); err != nil || p.n.Load() != 1 {
					t.Errorf("Err() = %v after %d connections, want nil after 1", err, p.n.Load())
				}
			})
		})
	}
}

// TestEventLoopAfterFunc: timers run on the loop in the order they are
// due, those due at the same time in the order they were set; stop cancels
// a timer (the next one due too) and reports true, and after the timer ran
// reports false.
func TestEventLoopAfterFunc(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := websocket.NewEventLoop()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- l.Run(ctx) }()
		start := time.Now()
		var ran []string
		at := func(name string) func() {
			return func() { ran = append(ran, fmt.Sprintf("%s %v", name, time.Since(start))) }
		}
		stopFirst := l.AfterFunc(time.Second, at("first")) // the next due: the top of the heap
		l.AfterFunc(2*time.Second, at("a"))
		l.AfterFunc(2*time.Second, at("b"))
		stopC := l.AfterFunc(2*time.Second, at("c"))
		l.AfterFunc(2*time.Second, at("d"))
		stopLast := l.AfterFunc(3*time.Second, at("last"))
		if !stopFirst() {
			t.Error("stop of the next timer due = false, want true")
		}
		if !stopC() {
			t.Error("stop of a pending timer = false, want true")
		}
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if stopLast() {
			t.Error("stop after the timer ran = true, want false")
		}
		if stopFirst() {
			t.Error("a second stop = true, want false")
		}
		cancel()
		<-done
		if want := []string{"a 2s", "b 2s", "d 2s", "last 3s"}; !slices.Equal(ran, want) {
			t.Errorf("timers ran\n got %q\nwant %q", ran, want)
		}
	})
}
