package websocket_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// TestEventLoopStopsWhileAlwaysBusy: Run returns on Stop, or when its ctx
// ends, also while its queue never empties. The loop looked for either
// only when it had nothing queued, so a function that posts itself again
// kept it running forever.
func TestEventLoopStopsWhileAlwaysBusy(t *testing.T) {
	for _, how := range []string{"Stop", "ctx"} {
		t.Run(how, func(t *testing.T) {
			l := websocket.NewEventLoop()
			var turns atomic.Int64
			var quit atomic.Bool
			busy := make(chan struct{})
			var again func()
			again = func() {
				if turns.Add(1) == 1000 {
					close(busy)
				}
				if !quit.Load() {
					l.Post(again) // always one more function queued
				}
			}
			l.Post(again)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- l.Run(ctx) }()
			<-busy
			if how == "Stop" {
				l.Stop()
			} else {
				cancel()
			}
			select {
			case err := <-done:
				if how == "ctx" && !errors.Is(err, context.Canceled) || how == "Stop" && err != nil {
					t.Errorf("Run = %v", err)
				}
			case <-time.After(10 * time.Second):
				quit.Store(true) // the queue drains, and the loop sees the stop
				<-done
				t.Fatalf("Run did not return within 10s of %s while functions were always queued", how)
			}
		})
	}
}

// TestEventLoopStopsAFloodedSlowConsumer: the same through an App whose
// server sends without pause, faster than its OnMessage takes the
// messages: the loop's Stop (or its ctx) closes the App, whose OnClose
// runs, and Run returns, within the close timeout and some.
func TestEventLoopStopsAFloodedSlowConsumer(t *testing.T) {
	skipWithoutPoller(t)
	var chunk []byte
	for i := range 1000 {
		chunk = wstest.Frame{Fin: true, Opcode: wstest.OpBinary, Payload: []byte{byte(i)}}.AppendTo(chunk)
	}
	for _, how := range []string{"Stop", "ctx"} {
		t.Run(how, func(t *testing.T) {
			srv := wstest.NewServer(func(c *wstest.Conn) {
				c.Accept(nil)
				go io.Copy(io.Discard, c.NetConn()) // reads past the recorder: keeps nothing
				for c.WriteRaw(chunk) == nil {
				}
			})
			defer srv.Close()
			l := websocket.NewEventLoop()
			var msgs atomic.Int64
			var fast atomic.Bool
			flooded := make(chan struct{})
			var once sync.Once
			closed := make(chan websocket.StatusCode, 1)
			a := &websocket.App{URL: srv.URL}
			a.OnMessage = func(*websocket.App, websocket.Message) {
				if msgs.Add(1) >= 2000 {
					once.Do(func() { close(flooded) })
				}
				if !fast.Load() {
					time.Sleep(200 * time.Microsecond) // the slow consumer under test
				}
			}
			a.OnClose = func(_ *websocket.App, code websocket.StatusCode, _ string) { closed <- code }
			if err := a.Run(context.Background(), &websocket.RunOptions{Dispatcher: l, Reconnect: -1}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- l.Run(ctx) }()
			<-flooded
			if how == "Stop" {
				l.Stop()
			} else {
				cancel()
			}
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				fast.Store(true) // the callbacks keep up: the queue drains and the loop sees the stop
				<-done
				t.Fatalf("Run did not return within 20s of %s (the close timeout is 3 s)", how)
			}
			select {
			case <-closed:
			default:
				t.Error("Run returned before OnClose")
			}
		})
	}
}

// TestAppCloseWithWhileFloodedSlowConsumer: CloseWith(…, 500ms) to a server
// that sends without pause and never answers the close, while OnMessage is
// slower than the stream: OnClose comes within the timeout and some, and no
// OnMessage starts after the call, on both paths. With a reading goroutine
// OnClose came more than 20 s later: the messages already read, and the
// read buffer's rest, were delivered first, one slow callback each.
func TestAppCloseWithWhileFloodedSlowConsumer(t *testing.T) {
	var chunk []byte
	for i := range 1000 {
		chunk = wstest.Frame{Fin: true, Opcode: wstest.OpBinary, Payload: []byte{byte(i)}}.AppendTo(chunk)
		if i%10 == 0 {
			chunk = wstest.Frame{Fin: true, Opcode: wstest.OpPing, Payload: []byte("p")}.AppendTo(chunk)
		}
	}
	for _, onLoop := range []bool{false, true} {
		t.Run(map[bool]string{false: "goroutine", true: "loop"}[onLoop], func(t *testing.T) {
			if onLoop {
				skipWithoutPoller(t)
			}
			srv := wstest.NewServer(func(c *wstest.Conn) {
				c.Accept(nil)
				go io.Copy(io.Discard, c.NetConn()) // reads, answers nothing
				for c.WriteRaw(chunk) == nil {
				}
			})
			defer srv.Close()
			var msgs, late atomic.Int64
			var closing atomic.Bool
			flooded := make(chan struct{})
			var once sync.Once
			closed := make(chan websocket.StatusCode, 1)
			a := &websocket.App{URL: srv.URL}
			a.OnMessage = func(*websocket.App, websocket.Message) {
				if closing.Load() {
					late.Add(1)
				}
				if msgs.Add(1) >= 2000 {
					once.Do(func() { close(flooded) })
				}
				time.Sleep(200 * time.Microsecond) // the slow consumer under test
			}
			a.OnClose = func(_ *websocket.App, code websocket.StatusCode, _ string) { closed <- code }
			done := make(chan error, 1)
			go func() { done <- runOn(t, onLoop, a, &websocket.RunOptions{Reconnect: -1}) }()
			<-flooded
			start := time.Now()
			if err := a.CloseWith(websocket.StatusNormal, "", 500*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			closing.Store(true)
			select {
			case code := <-closed:
				if d := time.Since(start); d > 10*time.Second {
					t.Errorf("OnClose(%d) %v after CloseWith(…, 500ms)", code, d)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("no OnClose within 30s of CloseWith(…, 500ms); %d messages delivered after it", late.Load())
			}
			// One OnMessage may have been starting as CloseWith returned.
			if n := late.Load(); n > 1 {
				t.Errorf("%d OnMessage calls started after CloseWith returned", n)
			}
			if err := <-done; err != nil {
				t.Errorf("run = %v", err)
			}
		})
	}
}

// TestAppPingFloodFromAServerThatDoesNotRead: pings from a server that
// reads nothing are answered while the write queue has room, and then only
// the latest one is, once the queue drains: the connection lives on and
// the queue stays bounded, on both paths. On the loop every ping was
// answered in full until 16 MiB waited and the connection failed.
func TestAppPingFloodFromAServerThatDoesNotRead(t *testing.T) {
	var pings []byte
	for range 1000 {
		pings = wstest.Frame{Fin: true, Opcode: wstest.OpPing, Payload: make([]byte, 125)}.AppendTo(pings)
	}
	end := wstest.Frame{Fin: true, Opcode: wstest.OpText, Payload: []byte("end")}.AppendTo(nil)
	for _, onLoop := range []bool{false, true} {
		t.Run(map[bool]string{false: "goroutine", true: "loop"}[onLoop], func(t *testing.T) {
			if onLoop {
				skipWithoutPoller(t)
			}
			hold := make(chan struct{})
			srv := wstest.NewServer(func(c *wstest.Conn) {
				c.Accept(nil)
				// 400,000 pings: 50 MiB of pongs, were they all answered.
				for range 400 {
					if c.WriteRaw(pings) != nil {
						return
					}
				}
				c.WriteRaw(end)
				<-hold // reads nothing, ever
			})
			defer srv.Close()
			defer close(hold)
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			var mu sync.Mutex
			var events []string
			add := func(s string) { mu.Lock(); events = append(events, s); mu.Unlock() }
			a := &websocket.App{URL: srv.URL}
			a.OnError = func(_ *websocket.App, err error) { add("error: " + err.Error()) }
			a.OnMessage = func(a *websocket.App, m websocket.Message) {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if grew := int64(ms.HeapInuse) - int64(base.HeapInuse); grew > 12<<20 {
					add(fmt.Sprintf("heap grew by %d MiB", grew>>20))
				}
				add(m.Text())
				a.CloseWith(websocket.StatusNormal, "", 100*time.Millisecond)
			}
			if err := runOn(t, onLoop, a, &websocket.RunOptions{Reconnect: -1}); err != nil {
				t.Errorf("run = %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(events) != "[end]" {
				t.Errorf("events %q, want only the message after the pings", events)
			}
		})
	}
}

// TestEventLoopStalledDialsDoNotHoldBackOthers: 100 Apps whose server
// accepts and never answers take the loop's 64 dialers; an App dialing a
// good server then opens at once, and does not wait for their
// HandshakeTimeout (20 s) in the loop's dial queue: it waited, and its own
// 2 s HandshakeTimeout counted only from the end of that wait.
func TestEventLoopStalledDialsDoNotHoldBackOthers(t *testing.T) {
	skipWithoutPoller(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 200)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open, never answered
		}
	}()
	defer func() {
		ln.Close()
		for {
			select {
			case c := <-accepted:
				c.Close()
			default:
				return
			}
		}
	}()
	good := wstest.NewServer(wstest.Echo)
	defer good.Close()

	l := websocket.NewEventLoop()
	ctx, cancel := context.WithCancel(context.Background())
	loopDone := make(chan error, 1)
	go func() { loopDone <- l.Run(ctx) }()
	defer func() {
		cancel()
		<-loopDone
	}()
	for range 100 {
		a := &websocket.App{URL: "ws://" + ln.Addr().String() + "/"}
		if err := a.Run(context.Background(), &websocket.RunOptions{Dispatcher: l, Reconnect: -1,
			DialOptions: websocket.DialOptions{HandshakeTimeout: 20 * time.Second}}); err != nil {
			t.Fatal(err)
		}
	}
	var held []net.Conn
	for range 64 { // every dialer of the loop's is stalled
		held = append(held, <-accepted)
	}
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	opened := make(chan struct{})
	failed := make(chan error, 1)
	a := &websocket.App{URL: good.URL}
	a.OnOpen = func(*websocket.App) { close(opened) }
	a.OnError = func(_ *websocket.App, err error) {
		select {
		case failed <- err:
		default:
		}
	}
	start := time.Now()
	if err := a.Run(context.Background(), &websocket.RunOptions{Dispatcher: l, Reconnect: -1,
		DialOptions: websocket.DialOptions{HandshakeTimeout: 2 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-opened:
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("opened after %v", d)
		}
	case err := <-failed:
		t.Fatalf("failed after %v: %v", time.Since(start), err)
	case <-time.After(15 * time.Second):
		t.Fatal("an App dialing a good server neither opened nor failed within 15 s: its dial waits behind the stalled ones")
	}
}
