package websocket_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/leaktest"
	"github.com/wsclient/websocket/internal/wstest"
)

// events records an App's callbacks as short strings, in order.
type events struct {
	mu  sync.Mutex
	evs []string
}

func (e *events) add(format string, args ...any) {
	e.mu.Lock()
	e.evs = append(e.evs, fmt.Sprintf(format, args...))
	e.mu.Unlock()
}

func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.evs)
}

// record sets every callback of a to append to e; extra hooks may follow.
func record(a *websocket.App, e *events) {
	a.OnOpen = func(*websocket.App) { e.add("open") }
	a.OnReconnect = func(*websocket.App) { e.add("reconnect") }
	a.OnMessage = func(_ *websocket.App, m websocket.Message) { e.add("message %s %q", m.Opcode, m.Data) }
	a.OnData = func(_ *websocket.App, d []byte, op websocket.Opcode, fin bool) { e.add("data %s %q %v", op, d, fin) }
	a.OnPing = func(_ *websocket.App, p []byte) { e.add("ping %q", p) }
	a.OnPong = func(_ *websocket.App, p []byte) { e.add("pong %q", p) }
	a.OnError = func(_ *websocket.App, err error) { e.add("error") }
	a.OnClose = func(_ *websocket.App, c websocket.StatusCode, r string) { e.add("close %d %q", c, r) }
}

// pipeServer is a WebSocket server reached through net.Pipe, for synctest
// bubbles (which cannot use real sockets): use dial as
// DialOptions.NetDialContext. Each connection runs handle with the
// connection's index.
type pipeServer struct {
	handle func(i int, c *wstest.Conn)
	n      atomic.Int32
}

func (p *pipeServer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	cli, pipe := net.Pipe()
	srv := newBufConn(pipe)
	i := int(p.n.Add(1)) - 1
	go func() {
		defer srv.Close()
		c, err := wstest.Upgrade(srv, nil, nil)
		if err != nil {
			return
		}
		p.handle(i, c)
	}()
	return cli, nil
}

// bufConn buffers the writes of one end of a net.Pipe, as a socket's send
// buffer does, so that a server writing frames and a client answering a
// ping cannot block each other. Close delivers what was written, then
// closes the pipe.
type bufConn struct {
	net.Conn
	mu     sync.Mutex
	cond   *sync.Cond
	q      [][]byte
	closed bool
	done   chan struct{}
}

func newBufConn(c net.Conn) *bufConn {
	b := &bufConn{Conn: c, done: make(chan struct{})}
	b.cond = sync.NewCond(&b.mu)
	go b.pump()
	return b
}

func (b *bufConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, net.ErrClosed
	}
	b.q = append(b.q, slices.Clone(p))
	b.cond.Signal()
	return len(p), nil
}

func (b *bufConn) pump() {
	defer close(b.done)
	defer b.Conn.Close()
	for {
		b.mu.Lock()
		for len(b.q) == 0 && !b.closed {
			b.cond.Wait()
		}
		if len(b.q) == 0 {
			b.mu.Unlock()
			return
		}
		p := b.q[0]
		b.q = b.q[1:]
		b.mu.Unlock()
		if _, err := b.Conn.Write(p); err != nil {
			return
		}
	}
}

func (b *bufConn) Close() error {
	b.mu.Lock()
	b.closed = true
	b.cond.Signal()
	b.mu.Unlock()
	<-b.done
	return nil
}

// newServer is wstest.New without its race on Server.Requests (the
// handler reads the field while New is still setting the variable).
func newServer(handle func(*wstest.Conn)) *wstest.Server {
	return wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		if c, err := wstest.Upgrade(nc, nil, nil); err == nil {
			handle(c)
		}
	})
}

const pipeURL = "ws://127.0.0.1:1/"

func TestAppEcho(t *testing.T) {
	defer leaktest.Check(t)()
	srv := newServer(wstest.Echo)
	defer srv.Close()
	var e events
	a := &websocket.App{URL: srv.URL}
	record(a, &e)
	a.OnOpen = func(a *websocket.App) {
		e.add("open")
		if err := a.SendText("hello"); err != nil {
			t.Error(err)
		}
	}
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		e.add("message %s %q", m.Opcode, m.Data)
		a.Close()
	}
	if err := a.RunForever(nil); err != nil {
		t.Fatalf("RunForever = %v, want nil", err)
	}
	want := []string{"open", `data text "hello" true`, `message text "hello"`, `close 1000 ""`}
	if got := e.list(); !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
	if a.Conn() != nil {
		t.Error("Conn() != nil after the run")
	}
	if err := a.SendText("late"); !errors.Is(err, websocket.ErrConnectionClosed) {
		t.Errorf("SendText after the run = %v, want ErrConnectionClosed", err)
	}
}

func TestAppOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		url  string
		opts websocket.RunOptions
		want string
	}{
		{"negative interval", pipeURL, websocket.RunOptions{PingInterval: -1}, "negative"},
		{"negative timeout", pipeURL, websocket.RunOptions{PingInterval: time.Second, PingTimeout: -1}, "negative"},
		{"timeout equals interval", pipeURL, websocket.RunOptions{PingInterval: time.Second, PingTimeout: time.Second}, "shorter"},
		{"timeout longer", pipeURL, websocket.RunOptions{PingInterval: time.Second, PingTimeout: 2 * time.Second}, "shorter"},
		{"timeout without pings", pipeURL, websocket.RunOptions{PingTimeout: time.Second}, "shorter"},
		{"long payload", pipeURL, websocket.RunOptions{PingInterval: time.Second, PingPayload: make([]byte, 126)}, "125"},
		{"bad scheme", "http://127.0.0.1/", websocket.RunOptions{}, "scheme"},
		{"reserved header", pipeURL, websocket.RunOptions{DialOptions: websocket.DialOptions{Header: http.Header{"Upgrade": {"x"}}}}, "Upgrade"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			a := &websocket.App{URL: tt.url, OnError: func(*websocket.App, error) { called = true }}
			err := a.RunForever(&tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "websocket: ") {
				t.Errorf("RunForever = %v, want an error containing %q", err, tt.want)
			}
			if called {
				t.Error("OnError called for an option error")
			}
		})
	}
}

func TestAppServerCloseEndsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &pipeServer{handle: func(i int, c *wstest.Conn) {
			c.WriteFrame(true, 0x1, []byte("hi"))
			c.WriteFrame(true, 0x8, wstest.ClosePayload(1001, "bye"))
			c.ReadFrame() // the echoed close
		}}
		var e events
		a := &websocket.App{URL: pipeURL}
		record(a, &e)
		err := a.RunForever(&websocket.RunOptions{Reconnect: time.Second,
			DialOptions: websocket.DialOptions{NetDialContext: p.dial}})
		if err != nil {
			t.Fatalf("RunForever = %v, want nil after the server's close", err)
		}
		want := []string{"open", `data text "hi" true`, `message text "hi"`, `close 1001 "bye"`}
		if got := e.list(); !slices.Equal(got, want) {
			t.Errorf("events\n got %q\nwant %q", got, want)
		}
		if n := p.n.Load(); n != 1 {
			t.Errorf("%d connections, want 1 (no reconnect after a close frame)", n)
		}
	})
}

func TestAppReconnectAfterDrop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var headerCalls atomic.Int32
		p := &pipeServer{handle: func(i int, c *wstest.Conn) {
			if got := c.Request.Header.Get("X-Attempt"); got != fmt.Sprint(i+1) {
				t.Errorf("connection %d: X-Attempt %q", i, got)
			}
			if i == 0 {
				c.WriteRaw(wstest.AppendFrame(nil, true, 0x1, []byte("partial"))[:4]) // dies mid-frame
				return
			}
			c.WriteFrame(true, 0x8, wstest.ClosePayload(1000, ""))
			c.ReadFrame()
		}}
		var e events
		a := &websocket.App{URL: pipeURL, HeaderFunc: func() http.Header {
			return http.Header{"X-Attempt": {fmt.Sprint(headerCalls.Add(1))}}
		}}
		record(a, &e)
		var dropped time.Time
		a.OnClose = func(_ *websocket.App, c websocket.StatusCode, r string) {
			e.add("close %d %q", c, r)
			dropped = time.Now()
		}
		a.OnReconnect = func(*websocket.App) {
			e.add("reconnect")
			if d := time.Since(dropped); d != 3*time.Second {
				t.Errorf("reconnected after %v, want 3s", d)
			}
		}
		err := a.RunForever(&websocket.RunOptions{Reconnect: 3 * time.Second,
			DialOptions: websocket.DialOptions{NetDialContext: p.dial}})
		if err != nil {
			t.Fatalf("RunForever = %v, want nil", err)
		}
		want := []string{"open", "error", `close 1006 ""`, "reconnect", `close 1000 ""`}
		if got := e.list(); !slices.Equal(got, want) {
			t.Errorf("events\n got %q\nwant %q", got, want)
		}
	})
}

// TestAppDialFields: what an App sets for its dials (Header, HeaderFunc,
// Cookie, Subprotocols, MaskKeyFunc) takes the place of the run's
// DialOptions, on every dial of the run.
func TestAppDialFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		key := [4]byte{9, 8, 7, 6}
		p := &pipeServer{handle: func(i int, c *wstest.Conn) {
			h := c.Request.Header
			if h.Get("X-App") != "app" || h.Get("X-Func") != "app" || h.Get("Cookie") != "c=app" || h.Get("Sec-WebSocket-Protocol") != "app.v1" {
				t.Errorf("dial %d: X-App %q, X-Func %q, Cookie %q, Sec-WebSocket-Protocol %q; want the App's", i,
					h.Get("X-App"), h.Get("X-Func"), h.Get("Cookie"), h.Get("Sec-WebSocket-Protocol"))
			}
			f, k, err := c.ReadFrameWithKey()
			if err != nil || string(f.Payload) != "hi" || k != key {
				t.Errorf("dial %d: frame %v, key %x, %v; want \"hi\" masked with the App's key", i, f, k, err)
			}
			if i == 0 {
				return // dropped: the second dial must use the same fields
			}
			c.WriteFrame(true, 0x8, wstest.ClosePayload(1000, ""))
			c.ReadFrame()
		}}
		a := &websocket.App{
			URL:          pipeURL,
			Header:       http.Header{"X-App": {"app"}},
			HeaderFunc:   func() http.Header { return http.Header{"X-Func": {"app"}} },
			Cookie:       "c=app",
			Subprotocols: []string{"app.v1"},
			MaskKeyFunc:  func() [4]byte { return key },
		}
		send := func(a *websocket.App) { a.SendText("hi") }
		a.OnOpen, a.OnReconnect = send, send
		err := a.RunForever(&websocket.RunOptions{Reconnect: time.Second, DialOptions: websocket.DialOptions{
			NetDialContext: p.dial,
			Header:         http.Header{"X-App": {"run"}},
			HeaderFunc:     func() http.Header { return http.Header{"X-Func": {"run"}} },
			Cookie:         "c=run",
			Subprotocols:   []string{"run.v1"},
			MaskKeyFunc:    func() [4]byte { return [4]byte{1, 1, 1, 1} },
		}})
		if err != nil || p.n.Load() != 2 {
			t.Errorf("RunForever = %v after %d dials, want nil after 2", err, p.n.Load())
		}
	})
}

// TestSetReconnect: a run whose RunOptions.Reconnect is 0 reconnects after
// the SetReconnect delay; a negative one, and the initial 0, never
// reconnect; RunOptions.Reconnect, when set, wins.
func TestSetReconnect(t *testing.T) {
	t.Cleanup(func() { websocket.SetReconnect(0) })
	for _, tc := range []struct {
		name      string
		global    time.Duration
		reconnect time.Duration // RunOptions.Reconnect
		wait      time.Duration // after the drop; 0: no reconnect
	}{
		{"initial 0", 0, 0, 0},
		{"SetReconnect(2s)", 2 * time.Second, 0, 2 * time.Second},
		{"SetReconnect(-1)", -1, 0, 0},
		{"RunOptions.Reconnect wins", 2 * time.Second, 5 * time.Second, 5 * time.Second},
		{"RunOptions.Reconnect -1 wins", 2 * time.Second, -1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			websocket.SetReconnect(tc.global)
			synctest.Test(t, func(t *testing.T) {
				p := &pipeServer{handle: func(i int, c *wstest.Conn) {
					if i == 0 {
						return // dropped at once
					}
					c.WriteFrame(true, 0x8, wstest.ClosePayload(1000, ""))
					c.ReadFrame()
				}}
				a := &websocket.App{URL: pipeURL}
				var dropped time.Time
				var waited []time.Duration
				a.OnClose = func(*websocket.App, websocket.StatusCode, string) {
					if dropped.IsZero() {
						dropped = time.Now()
					}
				}
				a.OnReconnect = func(*websocket.App) { waited = append(waited, time.Since(dropped)) }
				err := a.RunForever(&websocket.RunOptions{Reconnect: tc.reconnect,
					DialOptions: websocket.DialOptions{NetDialContext: p.dial}})
				if tc.wait == 0 {
					if !errors.Is(err, websocket.ErrConnectionClosed) || len(waited) != 0 || p.n.Load() != 1 {
						t.Errorf("RunForever = %v after %d connections (reconnects after %v), want ErrConnectionClosed after 1", err, p.n.Load(), waited)
					}
					return
				}
				if err != nil || !slices.Equal(waited, []time.Duration{tc.wait}) {
					t.Errorf("RunForever = %v, reconnected after %v, want nil after [%v]", err, waited, tc.wait)
				}
			})
		})
	}
}

func TestAppDropWithoutReconnectReturnsError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &pipeServer{handle: func(int, *wstest.Conn) {}}
		var e events
		a := &websocket.App{URL: pipeURL}
		record(a, &e)
		err := a.RunForever(&websocket.RunOptions{Reconnect: -1,
			DialOptions: websocket.DialOptions{NetDialContext: p.dial}})
		if !errors.Is(err, websocket.ErrConnectionClosed) {
			t.Fatalf("RunForever = %v, want ErrConnectionClosed", err)
		}
		want := []string{"open", "error", `close 1006 ""`}
		if got := e.list(); !slices.Equal(got, want) {
			t.Errorf("events\n got %q\nwant %q", got, want)
		}
	})
}

func TestAppPingSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 10 * time.Second
		var opened time.Time
		var pings []time.Duration
		p := &pipeServer{handle: func(i int, c *wstest.Conn) {
			for {
				f, err := c.ReadFrame()
				if err != nil {
					return
				}
				switch f.Opcode {
				case 0x9:
					if string(f.Payload) != "hb" {
						t.Errorf("ping payload %q, want hb", f.Payload)
					}
					pings = append(pings, time.Since(opened))
					c.WriteFrame(true, 0xA, f.Payload)
					if len(pings) == 3 {
						c.WriteFrame(true, 0x8, wstest.ClosePayload(1000, "done"))
					}
				case 0x8:
					return
				}
			}
		}}
		var e events
		a := &websocket.App{URL: pipeURL}
		record(a, &e)
		a.OnOpen = func(*websocket.App) { opened = time.Now(); e.add("open") }
		err := a.RunForever(&websocket.RunOptions{PingInterval: interval, PingTimeout: time.Second, PingPayload: []byte("hb"),
			DialOptions: websocket.DialOptions{NetDialContext: p.dial}})
		if err != nil {
			t.Fatalf("RunForever = %v", err)
		}
		if want := []time.Duration{interval, 2 * interval, 3 * interval}; !slices.Equal(pings, want) {
			t.Errorf("pings at %v, want %v", pings, want)
		}
		want := []string{"open", `pong "hb"`, `pong "hb"`, `pong "hb"`, `close 1000 "done"`}
		if got := e.list(); !slices.Equal(got, want) {
			t.Errorf("events\n got %q\nwant %q", got, want)
		}
	})
}

// TestAppPingTimeout: a server that stops answering pings is detected
// PingInterval + PingTimeout after its last pong, on the App's own loop
// (whose timers are set again in place at every ping) and on a Dispatcher
// of the user's (AfterFunc at every ping).
func TestAppPingTimeout(t *testing.T) {
	t.Run("own loop", func(t *testing.T) { testAppPingTimeout(t, false) })
	t.Run("user's Dispatcher", func(t *testing.T) { testAppPingTimeout(t, true) })
}

func testAppPingTimeout(t *testing.T, userDispatcher bool) {
	synctest.Test(t, func(t *testing.T) {
		const interval, timeout = 10 * time.Second, 3 * time.Second
		var lastPong time.Time
		p := &pipeServer{handle: func(i int, c *wstest.Conn) {
			answered := 0
			for {
				f, err := c.ReadFrame()
				if err != nil {
					return
				}
				if f.Opcode == 0x9 && answered < 2 {
					answered++ // then the server goes silent, but keeps reading
					c.WriteFrame(true, 0xA, f.Payload)
					lastPong = time.Now()
				} else if f.Opcode == 0x9 {
					if answered++; answered > 4 {
						t.Error("no ping timeout after three unanswered pings")
						return
					}
				}
			}
		}}
		var e events
		var detected time.Time
		a := &websocket.App{URL: pipeURL}
		record(a, &e)
		a.OnError = func(_ *websocket.App, err error) {
			e.add("error")
			detected = time.Now()
			var ne net.Error
			if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("ping timeout error %v is not a timeout", err)
			}
		}
		opts := &websocket.RunOptions{PingInterval: interval, PingTimeout: timeout,
			DialOptions: websocket.DialOptions{NetDialContext: p.dial}}
		if userDispatcher {
			l := websocket.NewEventLoop()
			closed := make(chan struct{})
			a.OnClose = func(_ *websocket.App, code websocket.StatusCode, reason string) {
				e.add("close %d %q", code, reason)
				close(closed)
			}
			opts.Dispatcher = readLoopDispatcher{l}
			if err := a.RunForever(opts); err != nil {
				t.Fatal(err)
			}
			go l.Run(context.Background())
			<-closed
			l.Stop()
		} else if err := a.RunForever(opts); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("RunForever = %v, want the ping timeout", err)
		}
		if d := detected.Sub(lastPong); d != interval+timeout {
			t.Errorf("detected %v after the last pong, want %v", d, interval+timeout)
		}
		want := []string{"open", `pong ""`, `pong ""`, "error", `close 1006 ""`}
		if got := e.list(); !slices.Equal(got, want) {
			t.Errorf("events\n got %q\nwant %q", got, want)
		}
	})
}

func TestAppBackoffSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var attempts []time.Duration
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			attempts = append(attempts, time.Since(start))
			return nil, errors.New("refused")
		}
		var errs int
		a := &websocket.App{URL: pipeURL, OnError: func(a *websocket.App, err error) {
			errs++
			if errs == 8 {
				a.Close() // also cancels the pending reconnect
			}
		}, OnOpen: func(*websocket.App) { t.Error("OnOpen without a connection") }}
		err := a.RunForever(&websocket.RunOptions{Reconnect: time.Second,
			Backoff:     &websocket.Backoff{Max: 10 * time.Second, Jitter: -1},
			DialOptions: websocket.DialOptions{NetDialContext: dial}})
		if err != nil {
			t.Fatalf("RunForever = %v, want nil after Close", err)
		}
		s := time.Second
		want := []time.Duration{0, 1 * s, 3 * s, 7 * s, 15 * s, 25 * s, 35 * s, 45 * s}
		if !slices.Equal(attempts, want) {
			t.Errorf("attempts at %v, want %v", attempts, want)
		}
		if d := time.Since(start); d != 45*s {
			t.Errorf("Close returned after %v, want at once (45s)", d)
		}
	})
}

func TestAppBackoffJitterAndReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Connections 0-3 fail to dial, 4 opens and dies, 5-6 fail, 7 closes.
		start := time.Now()
		var attempts []time.Duration
		p := &pipeServer{handle: func(i int, c *wstest.Conn) {
			if i == 1 {
				c.WriteFrame(true, 0x8, wstest.ClosePayload(1000, ""))
				c.ReadFrame()
			}
		}}
		n := 0
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			attempts = append(attempts, time.Since(start))
			n++
			switch n {
			case 5, 8:
				return p.dial(ctx, network, addr)
			}
			return nil, errors.New("refused")
		}
		a := &websocket.App{URL: pipeURL}
		if err := a.RunForever(&websocket.RunOptions{Reconnect: time.Second,
			DialOptions: websocket.DialOptions{NetDialContext: dial}}); err != nil {
			t.Fatalf("RunForever = %v", err)
		}
		if len(attempts) != 8 {
			t.Fatalf("%d attempts, want 8", len(attempts))
		}
		// Un-jittered waits: 1, 2, 4, 8 | reset | 1, 2, 4; jitter takes up to 20% off all but the first.
		nominal := []time.Duration{1, 2, 4, 8, 1, 2, 4}
		for i, w := range nominal {
			w *= time.Second
			got := attempts[i+1] - attempts[i]
			lo := w - w/5
			if i == 0 || i == 4 {
				lo = w
			}
			if got < lo || got > w {
				t.Errorf("wait %d = %v, want in [%v, %v]", i, got, lo, w)
			}
		}
	})
}

// TestAppBackoffResetAfter: with Backoff.ResetAfter, a connection that
// dies sooner does not reset the schedule (the waits go on growing), one
// that stays open that long does.
func TestAppBackoffResetAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Dial 1 fails; 2 opens and dies after 5 s; 3 fails; 4 opens and
		// dies after 10 s; 5 fails; 6 opens and is closed by the server.
		start := time.Now()
		var attempts []time.Duration
		p := &pipeServer{handle: func(i int, c *wstest.Conn) {
			switch i {
			case 0:
				time.Sleep(5 * time.Second)
			case 1:
				time.Sleep(10 * time.Second)
			default:
				c.WriteFrame(true, 0x8, wstest.ClosePayload(1000, ""))
				c.ReadFrame()
			}
		}}
		n := 0
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			attempts = append(attempts, time.Since(start))
			if n++; n%2 == 0 {
				return p.dial(ctx, network, addr)
			}
			return nil, errors.New("refused")
		}
		a := &websocket.App{URL: pipeURL}
		if err := a.RunForever(&websocket.RunOptions{Reconnect: time.Second,
			Backoff:     &websocket.Backoff{Jitter: -1, ResetAfter: 10 * time.Second},
			DialOptions: websocket.DialOptions{NetDialContext: dial}}); err != nil {
			t.Fatalf("RunForever = %v", err)
		}
		s := time.Second
		// Waits: 1 | open 5 s (no reset) | 2, 4 | open 10 s (reset) | 1, 2.
		want := []time.Duration{0, 1 * s, 1*s + 5*s + 2*s, 8*s + 4*s, 12*s + 10*s + 1*s, 23*s + 2*s}
		if !slices.Equal(attempts, want) {
			t.Errorf("attempts at %v, want %v", attempts, want)
		}
	})
}

func TestAppPanicGoesToOnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &pipeServer{handle: func(i int, c *wstest.Conn) {
			c.WriteFrame(true, 0x1, []byte("one"))
			c.WriteFrame(true, 0x1, []byte("two"))
			c.WriteFrame(true, 0x8, wstest.ClosePayload(1000, ""))
			c.ReadFrame()
		}}
		var e events
		a := &websocket.App{URL: pipeURL}
		record(a, &e)
		a.OnData = nil
		a.OnMessage = func(_ *websocket.App, m websocket.Message) {
			e.add("message %q", m.Data)
			if m.Text() == "two" {
				panic(websocket.ErrConnectionClosed) // an error: wrapped, "websocket: " said once
			}
			panic("boom " + m.Text())
		}
		a.OnError = func(_ *websocket.App, err error) {
			e.add("error %v (is ErrConnectionClosed: %v)", err, errors.Is(err, websocket.ErrConnectionClosed))
			panic("OnError panics too")
		}
		if err := a.RunForever(&websocket.RunOptions{DialOptions: websocket.DialOptions{NetDialContext: p.dial}}); err != nil {
			t.Fatalf("RunForever = %v", err)
		}
		want := []string{"open", `message "one"`, "error websocket: panic in OnMessage: boom one (is ErrConnectionClosed: false)",
			`message "two"`, "error websocket: panic in OnMessage: connection closed (is ErrConnectionClosed: true)", `close 1000 ""`}
		if got := e.list(); !slices.Equal(got, want) {
			t.Errorf("events\n got %q\nwant %q", got, want)
		}
	})
}

func TestAppFragments(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &pipeServer{handle: func(i int, c *wstest.Conn) {
			c.WriteFrame(false, 0x1, []byte("he"))
			c.WriteFrame(true, 0x9, []byte("p"))
			c.WriteFrame(false, 0x0, []byte("ll"))
			c.WriteFrame(true, 0x0, []byte("o"))
			c.WriteFrame(true, 0x2, []byte{1})
			c.WriteFrame(true, 0x8, nil)
			c.ReadMessage()
		}}
		var e events
		a := &websocket.App{URL: pipeURL}
		record(a, &e)
		a.OnContMessage = func(_ *websocket.App, d []byte, fin bool) { e.add("cont %q %v", d, fin) }
		if err := a.RunForever(&websocket.RunOptions{DialOptions: websocket.DialOptions{NetDialContext: p.dial}}); err != nil {
			t.Fatalf("RunForever = %v", err)
		}
		want := []string{"open",
			`data text "he" false`, `cont "he" false`,
			`ping "p"`,
			`data continuation "ll" false`, `cont "ll" false`,
			`data continuation "o" true`, `cont "o" true`,
			`data binary "\x01" true`, `message binary "\x01"`,
			`close 1005 ""`}
		if got := e.list(); !slices.Equal(got, want) {
			t.Errorf("events\n got %q\nwant %q", got, want)
		}
	})
}

func TestAppContextCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &pipeServer{handle: func(i int, c *wstest.Conn) { wstest.Echo(c) }}
		var e events
		a := &websocket.App{URL: pipeURL}
		record(a, &e)
		ctx, cancel := context.WithCancel(t.Context())
		a.OnOpen = func(*websocket.App) {
			e.add("open")
			time.AfterFunc(time.Minute, cancel)
		}
		if err := a.Run(ctx, &websocket.RunOptions{Reconnect: time.Second,
			DialOptions: websocket.DialOptions{NetDialContext: p.dial}}); err != nil {
			t.Fatalf("Run = %v, want nil after cancel", err)
		}
		want := []string{"open", `close 1000 ""`}
		if got := e.list(); !slices.Equal(got, want) {
			t.Errorf("events\n got %q\nwant %q", got, want)
		}
	})
}

func TestAppCloseWithoutServerAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &pipeServer{handle: func(i int, c *wstest.Conn) {
			for {
				if _, err := c.ReadFrame(); err != nil { // reads our close, never answers
					return
				}
			}
		}}
		var e events
		a := &websocket.App{URL: pipeURL}
		record(a, &e)
		a.OnOpen = func(a *websocket.App) { e.add("open"); a.Close() }
		start := time.Now()
		if err := a.RunForever(&websocket.RunOptions{DialOptions: websocket.DialOptions{NetDialContext: p.dial}}); err != nil {
			t.Fatalf("RunForever = %v", err)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("closed after %v, want the 3s close timeout", d)
		}
		want := []string{"open", `close 1006 ""`}
		if got := e.list(); !slices.Equal(got, want) {
			t.Errorf("events\n got %q\nwant %q", got, want)
		}
	})
}

func TestAppSendFromOtherGoroutines(t *testing.T) {
	defer leaktest.Check(t)()
	srv := newServer(wstest.Echo)
	defer srv.Close()
	const senders, each = 4, 50
	var got atomic.Int32
	a := &websocket.App{URL: srv.URL}
	var wg sync.WaitGroup
	a.OnOpen = func(a *websocket.App) {
		for range senders {
			wg.Go(func() {
				for range each {
					if err := a.SendText("x"); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		if got.Add(1) == senders*each {
			a.Close()
		}
	}
	if err := a.RunForever(nil); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if n := got.Load(); n != senders*each {
		t.Errorf("%d echoes, want %d", n, senders*each)
	}
}

func TestAppAlreadyRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &pipeServer{handle: func(i int, c *wstest.Conn) { wstest.Echo(c) }}
		a := &websocket.App{URL: pipeURL}
		a.OnOpen = func(a *websocket.App) {
			if err := a.RunForever(nil); err == nil || !strings.Contains(err.Error(), "already running") {
				t.Errorf("second RunForever = %v", err)
			}
			a.Close()
		}
		if err := a.RunForever(&websocket.RunOptions{DialOptions: websocket.DialOptions{NetDialContext: p.dial}}); err != nil {
			t.Fatal(err)
		}
	})
}
