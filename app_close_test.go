package websocket_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// closeRecorder is a pipeServer handler that records the first frame the
// client sends; with answer set it echoes a close frame, else it reads on
// and never answers.
type closeRecorder struct {
	answer bool
	first  atomic.Pointer[wstest.Frame]
}

func (r *closeRecorder) handle(i int, c *wstest.Conn) {
	for {
		f, err := c.ReadFrame()
		if err != nil {
			return
		}
		r.first.CompareAndSwap(nil, f)
		if f.Opcode == 0x8 && r.answer {
			c.WriteFrame(true, 0x8, f.Payload)
			return
		}
	}
}

// wantClose checks the first frame the server got: our close with code and
// reason.
func (r *closeRecorder) wantClose(t *testing.T, code uint16, reason string) {
	t.Helper()
	f := r.first.Load()
	if f == nil || f.Opcode != 0x8 || string(f.Payload) != string(wstest.ClosePayload(code, reason)) {
		t.Errorf("server got %+v, want a close frame %d %q", f, code, reason)
	}
}

func TestAppCloseWith(t *testing.T) {
	tests := []struct {
		name    string
		answer  bool          // the server echoes our close
		timeout time.Duration // CloseWith's
		took    time.Duration // from CloseWith to the end of the run
		want    string        // OnClose
	}{
		{"silent server", false, 500 * time.Millisecond, 500 * time.Millisecond, `close 1006 ""`},
		{"silent server, no wait", false, 0, 0, `close 1006 ""`},
		{"answering server", true, time.Minute, 0, `close 4000 "done"`},
	}
	for _, tt := range tests {
		for _, dispatcher := range []bool{false, true} {
			name := tt.name
			if dispatcher {
				name += ", EventLoop"
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					r := &closeRecorder{answer: tt.answer}
					p := &pipeServer{handle: r.handle}
					var e events
					a := &websocket.App{URL: pipeURL}
					record(a, &e)
					var closed time.Time
					a.OnOpen = func(a *websocket.App) {
						e.add("open")
						closed = time.Now()
						if err := a.CloseWith(4000, "done", tt.timeout); err != nil {
							t.Errorf("CloseWith = %v", err)
						}
					}
					var l *websocket.EventLoop
					opts := &websocket.RunOptions{Reconnect: time.Second, DialOptions: websocket.DialOptions{NetDialContext: p.dial}}
					if dispatcher {
						l = websocket.NewEventLoop()
						opts.Dispatcher = l
						a.OnClose = func(_ *websocket.App, c websocket.StatusCode, reason string) {
							e.add("close %d %q", c, reason)
							l.Stop()
						}
					}
					if err := a.RunForever(opts); err != nil {
						t.Fatalf("RunForever = %v, want nil", err)
					}
					if l != nil {
						if err := l.Run(context.Background()); err != nil {
							t.Fatalf("EventLoop.Run = %v", err)
						}
					}
					if d := time.Since(closed); d != tt.took {
						t.Errorf("run ended %v after CloseWith, want %v", d, tt.took)
					}
					// Time enough for any reconnect to happen.
					time.Sleep(time.Minute)
					if want := []string{"open", tt.want}; !slices.Equal(e.list(), want) {
						t.Errorf("events\n got %q\nwant %q", e.list(), want)
					}
					if n := p.n.Load(); n != 1 {
						t.Errorf("%d connections, want 1: CloseWith ends the run", n)
					}
					r.wantClose(t, 4000, "done")
				})
			})
		}
	}
}

// TestAppCloseIsCloseWith: Close is CloseWith(StatusNormal, "", 3s).
func TestAppCloseIsCloseWith(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &closeRecorder{}
		p := &pipeServer{handle: r.handle}
		var e events
		a := &websocket.App{URL: pipeURL}
		record(a, &e)
		var closed time.Time
		a.OnOpen = func(a *websocket.App) {
			e.add("open")
			closed = time.Now()
			a.Close()
		}
		if err := a.RunForever(&websocket.RunOptions{Reconnect: time.Second,
			DialOptions: websocket.DialOptions{NetDialContext: p.dial}}); err != nil {
			t.Fatalf("RunForever = %v", err)
		}
		if d := time.Since(closed); d != 3*time.Second {
			t.Errorf("run ended %v after Close, want 3s", d)
		}
		if want := []string{"open", `close 1006 ""`}; !slices.Equal(e.list(), want) {
			t.Errorf("events\n got %q\nwant %q", e.list(), want)
		}
		r.wantClose(t, 1000, "")
	})
}

func TestAppCloseWithFromOnMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &pipeServer{handle: func(i int, c *wstest.Conn) {
			c.WriteFrame(true, 0x1, []byte("bye"))
			wstest.Echo(c)
		}}
		var e events
		a := &websocket.App{URL: pipeURL}
		record(a, &e)
		a.OnMessage = func(a *websocket.App, m websocket.Message) {
			e.add("message %s", m.Data)
			if err := a.CloseWith(websocket.StatusGoingAway, string(m.Data), time.Second); err != nil {
				t.Errorf("CloseWith = %v", err)
			}
		}
		if err := a.RunForever(&websocket.RunOptions{Reconnect: time.Second,
			DialOptions: websocket.DialOptions{NetDialContext: p.dial}}); err != nil {
			t.Fatalf("RunForever = %v", err)
		}
		want := []string{"open", `data text "bye" true`, "message bye", `close 1001 "bye"`}
		if got := e.list(); !slices.Equal(got, want) {
			t.Errorf("events\n got %q\nwant %q", got, want)
		}
	})
}

// TestAppCloseFromOnDataStartsNoMessageCallback: "Once it is called, no
// OnMessage, OnData or OnContMessage starts": OnData closing the App ends
// the frame's delivery there. The frame's OnMessage (or OnContMessage) ran
// after the OnData that closed.
func TestAppCloseFromOnDataStartsNoMessageCallback(t *testing.T) {
	for _, fragmented := range []bool{false, true} {
		t.Run(map[bool]string{false: "whole", true: "fragmented"}[fragmented], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := &pipeServer{handle: func(i int, c *wstest.Conn) {
					if fragmented {
						c.WriteFrame(false, 0x1, []byte("hel"))
						c.WriteFrame(true, 0x0, []byte("lo"))
					} else {
						c.WriteFrame(true, 0x1, []byte("hello"))
					}
					wstest.Echo(c)
				}}
				var e events
				a := &websocket.App{URL: pipeURL}
				record(a, &e)
				a.OnContMessage = func(_ *websocket.App, d []byte, fin bool) { e.add("cont %q %v", d, fin) }
				a.OnData = func(a *websocket.App, d []byte, op websocket.Opcode, fin bool) {
					e.add("data %s %q %v", op, d, fin)
					a.Close()
				}
				if err := a.RunForever(&websocket.RunOptions{Reconnect: time.Second,
					DialOptions: websocket.DialOptions{NetDialContext: p.dial}}); err != nil {
					t.Fatalf("RunForever = %v", err)
				}
				want := []string{"open", `data text "hello" true`, `close 1000 ""`}
				if fragmented {
					want[1] = `data text "hel" false`
				}
				if got := e.list(); !slices.Equal(got, want) {
					t.Errorf("events\n got %q\nwant %q", got, want)
				}
			})
		})
	}
}

// TestCrossedClosesOverTLS: the server's close crosses ours (it sends its
// close as the connection opens; OnOpen closes): the server gets our close
// frame, on both paths. The reader, finding our close claimed by the
// closing goroutine but not yet written, closed the socket under it: over
// wss the server read no close frame at all in about one run in three.
func TestCrossedClosesOverTLS(t *testing.T) {
	ca := wstest.NewCA()
	for _, onLoop := range []bool{false, true} {
		t.Run(map[bool]string{false: "goroutine", true: "loop"}[onLoop], func(t *testing.T) {
			for range 20 {
				closes := make(chan int, 1)
				srv := tlsServer(ca, tls.VersionTLS13, nil, nil, func(c *wstest.Conn) {
					c.WriteFrame(true, 8, wstest.ClosePayload(4005, "srv"))
					n := 0
					for {
						f, err := c.ReadFrame()
						if err != nil {
							break
						}
						if f.Opcode == 8 {
							n++
						}
					}
					closes <- n
				})
				a := &websocket.App{URL: srv.URL}
				a.OnOpen = func(a *websocket.App) { a.CloseWith(4006, "cli", 2*time.Second) }
				opts := tlsRun(ca)
				opts.Reconnect = -1
				if err := runOn(t, onLoop, a, opts); err != nil {
					t.Errorf("Run = %v", err)
				}
				if n := <-closes; n != 1 {
					t.Fatalf("the server got %d close frames, want 1", n)
				}
				srv.Close()
			}
		})
	}
}

// TestAppRunRefusedByItsDispatcher: a dispatcher that accepts the run and
// then refuses its first function (it stopped since Attach): Run returns
// the refusal, the run is detached, and its Session's Done is closed with
// Err the refusal; no callback runs. Done stayed open, so Err blocked for
// good.
func TestAppRunRefusedByItsDispatcher(t *testing.T) {
	d := &refusingDispatcher{}
	a := &websocket.App{URL: "ws://127.0.0.1:1/"}
	var e events
	record(a, &e)
	err := a.Run(context.Background(), &websocket.RunOptions{Dispatcher: d})
	if err == nil || !strings.HasPrefix(err.Error(), "websocket: ") {
		t.Fatalf("Run = %v, want the dispatcher's refusal", err)
	}
	if d.s == nil || !d.detached {
		t.Fatalf("attached %v, detached %v: want the run attached and then detached", d.s != nil, d.detached)
	}
	select {
	case <-d.s.Done():
	case <-time.After(guard):
		t.Fatal("the refused run's Done is not closed")
	}
	if got := d.s.Err(); got == nil || got.Error() != err.Error() {
		t.Errorf("Err = %v, want Run's %v", got, err)
	}
	if got := e.list(); len(got) != 0 {
		t.Errorf("callbacks ran: %q", got)
	}
}

// refusingDispatcher accepts runs and refuses every function.
type refusingDispatcher struct {
	s        *websocket.Session
	detached bool
}

func (d *refusingDispatcher) Attach(s *websocket.Session) error { d.s = s; return nil }
func (d *refusingDispatcher) Detach(s *websocket.Session)       { d.detached = s == d.s }
func (d *refusingDispatcher) Post(func()) bool                  { return false }
func (d *refusingDispatcher) Go(func())                         {}
func (d *refusingDispatcher) AfterFunc(time.Duration, func()) func() bool {
	return func() bool { return true }
}

// TestAppCloseWithInvalid: a code that may not be sent, or a reason too
// long, is an error; nothing is sent and the run goes on.
func TestAppCloseWithInvalid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &pipeServer{handle: func(i int, c *wstest.Conn) {
			f, err := c.ReadFrame()
			if err != nil || f.Opcode != 0x1 || string(f.Payload) != "after" {
				t.Errorf("server got %+v, %v, want the text message sent after the failed CloseWith", f, err)
			}
			c.WriteFrame(true, 0x8, wstest.ClosePayload(1000, "ok"))
			c.ReadFrame()
		}}
		var e events
		a := &websocket.App{URL: pipeURL}
		record(a, &e)
		a.OnOpen = func(a *websocket.App) {
			e.add("open")
			for _, c := range []struct {
				code   websocket.StatusCode
				reason string
			}{{websocket.StatusNoStatusReceived, ""}, {websocket.StatusAbnormalClosure, ""}, {999, ""}, {websocket.StatusNormal, strings.Repeat("x", 124)}} {
				if err := a.CloseWith(c.code, c.reason, time.Second); err == nil || !strings.HasPrefix(err.Error(), "websocket: ") {
					t.Errorf("CloseWith(%d, %d bytes) = %v, want an error", c.code, len(c.reason), err)
				}
			}
			if err := a.SendText("after"); err != nil {
				t.Error(err)
			}
		}
		if err := a.RunForever(&websocket.RunOptions{DialOptions: websocket.DialOptions{NetDialContext: p.dial}}); err != nil {
			t.Fatalf("RunForever = %v", err)
		}
		want := []string{"open", `close 1000 "ok"`}
		if got := e.list(); !slices.Equal(got, want) {
			t.Errorf("events\n got %q\nwant %q", got, want)
		}
		if err := (&websocket.App{}).CloseWith(1005, "", 0); err == nil {
			t.Error("CloseWith(1005) without a run = nil, want an error")
		}
		if err := (&websocket.App{}).CloseWith(websocket.StatusNormal, "", 0); err != nil {
			t.Errorf("CloseWith without a run = %v, want nil", err)
		}
	})
}

// TestAppCloseWithBeforeOpen: CloseWith while the first dial is under way,
// while waiting to reconnect, or before the dispatcher started the run ends
// the run with no (further) dial.
func TestAppCloseWithBeforeOpen(t *testing.T) {
	t.Run("dialing", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var dials atomic.Int32
			dialing := make(chan struct{})
			dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				close(dialing)
				<-ctx.Done()
				return nil, ctx.Err()
			}
			var e events
			a := &websocket.App{URL: pipeURL}
			record(a, &e)
			go func() {
				<-dialing
				a.CloseWith(websocket.StatusNormal, "", time.Second)
			}()
			start := time.Now()
			if err := a.RunForever(&websocket.RunOptions{Reconnect: time.Second,
				DialOptions: websocket.DialOptions{NetDialContext: dial}}); err != nil {
				t.Fatalf("RunForever = %v, want nil", err)
			}
			if d := time.Since(start); d != 0 {
				t.Errorf("run ended after %v, want at once", d)
			}
			if got := e.list(); len(got) != 0 {
				t.Errorf("events %q, want none", got)
			}
			if n := dials.Load(); n != 1 {
				t.Errorf("%d dials, want 1", n)
			}
		})
	})
	t.Run("waiting to reconnect", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var dials atomic.Int32
			dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				return nil, errors.New("refused")
			}
			var e events
			a := &websocket.App{URL: pipeURL}
			record(a, &e)
			a.OnError = func(a *websocket.App, err error) {
				e.add("error")
				a.CloseWith(websocket.StatusNormal, "", time.Second)
			}
			if err := a.RunForever(&websocket.RunOptions{Reconnect: time.Second,
				DialOptions: websocket.DialOptions{NetDialContext: dial}}); err != nil {
				t.Fatalf("RunForever = %v, want nil", err)
			}
			time.Sleep(time.Minute) // time enough for any reconnect
			if want := []string{"error"}; !slices.Equal(e.list(), want) {
				t.Errorf("events %q, want %q", e.list(), want)
			}
			if n := dials.Load(); n != 1 {
				t.Errorf("%d dials, want 1", n)
			}
		})
	})
	t.Run("before the dispatcher runs", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var dials atomic.Int32
			dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				return nil, errors.New("refused")
			}
			var e events
			a := &websocket.App{URL: pipeURL}
			record(a, &e)
			l := websocket.NewEventLoop()
			opts := &websocket.RunOptions{Dispatcher: l, Reconnect: time.Second,
				DialOptions: websocket.DialOptions{NetDialContext: dial}}
			if err := a.RunForever(opts); err != nil {
				t.Fatal(err)
			}
			a.CloseWith(websocket.StatusNormal, "", time.Second)
			ctx, cancel := context.WithCancel(context.Background())
			ran := make(chan error)
			go func() { ran <- l.Run(ctx) }()
			synctest.Wait()
			// The run is over: the App may run again on the loop.
			if err := a.RunForever(&websocket.RunOptions{Dispatcher: l, DialOptions: websocket.DialOptions{
				NetDialContext: (&pipeServer{handle: func(int, *wstest.Conn) {}}).dial}}); err != nil {
				t.Fatalf("second RunForever = %v, want nil: the first run should be over", err)
			}
			synctest.Wait()
			cancel()
			if err := <-ran; !errors.Is(err, context.Canceled) {
				t.Errorf("EventLoop.Run = %v", err)
			}
			if n := dials.Load(); n != 0 {
				t.Errorf("%d dials of the closed run, want 0", n)
			}
		})
	})
}

// TestAppCloseWithStalledServer: a server that stopped reading cannot hold
// the run up: the close frame that cannot be written is abandoned after
// the timeout (3 s when it is 0).
func TestAppCloseWithStalledServer(t *testing.T) {
	for _, tt := range []struct{ timeout, took time.Duration }{
		{500 * time.Millisecond, 500 * time.Millisecond},
		{0, 3 * time.Second},
	} {
		t.Run(tt.timeout.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				p := &pipeServer{handle: func(i int, c *wstest.Conn) { stallThenRead(c, release) }}
				var e events
				a := &websocket.App{URL: pipeURL}
				record(a, &e)
				var closed time.Time
				a.OnOpen = func(a *websocket.App) {
					e.add("open")
					closed = time.Now()
					a.CloseWith(websocket.StatusNormal, "", tt.timeout)
				}
				if err := a.RunForever(&websocket.RunOptions{Reconnect: time.Second,
					DialOptions: websocket.DialOptions{NetDialContext: p.dial}}); err != nil {
					t.Fatalf("RunForever = %v", err)
				}
				close(release)
				if d := time.Since(closed); d != tt.took {
					t.Errorf("run ended %v after CloseWith, want %v", d, tt.took)
				}
				if want := []string{"open", `close 1006 ""`}; !slices.Equal(e.list(), want) {
					t.Errorf("events\n got %q\nwant %q", e.list(), want)
				}
			})
		})
	}
}

// TestAppPingTimeoutStalledServer: a server that stopped reading holds the
// automatic ping in its write; the pong deadline ends the connection, and
// the ping's write, failing as the socket closes, is not a second error.
// The run reconnects, and the server closes the next connection.
func TestAppPingTimeoutStalledServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval, timeout = 10 * time.Second, 3 * time.Second
		release := make(chan struct{})
		p := &pipeServer{handle: func(i int, c *wstest.Conn) {
			if i > 0 {
				c.WriteFrame(true, 0x8, wstest.ClosePayload(1000, ""))
				c.ReadFrame() // the echo
				return
			}
			stallThenRead(c, release)
		}}
		var e events
		a := &websocket.App{URL: pipeURL}
		record(a, &e)
		var errs []error
		a.OnError = func(_ *websocket.App, err error) { e.add("error"); errs = append(errs, err) }
		start := time.Now()
		err := a.RunForever(&websocket.RunOptions{PingInterval: interval, PingTimeout: timeout, Reconnect: time.Second,
			DialOptions: websocket.DialOptions{NetDialContext: p.dial}})
		close(release)
		if err != nil {
			t.Errorf("RunForever = %v, want nil (the server closed the second connection)", err)
		}
		if d := time.Since(start); d != interval+timeout+time.Second {
			t.Errorf("run ended after %v, want %v", d, interval+timeout+time.Second)
		}
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), "no pong within PingTimeout") {
			t.Errorf("errors %v, want the ping timeout alone", errs)
		}
		if want := []string{"open", "error", `close 1006 ""`, "reconnect", `close 1000 ""`}; !slices.Equal(e.list(), want) {
			t.Errorf("events\n got %q\nwant %q", e.list(), want)
		}
	})
}

// stallThenRead is a server that does not read until release is closed,
// and then reads until the connection ends. Over net.Pipe, which has no
// buffer, every write of the client blocks meanwhile.
func stallThenRead(c *wstest.Conn, release <-chan struct{}) {
	<-release
	for {
		if _, err := c.ReadFrame(); err != nil {
			return
		}
	}
}
