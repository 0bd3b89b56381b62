package websocket_test

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/leaktest"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestEventLoopBareSocket: the loop holds the socket it dialed as a bare
// descriptor, with no net.Conn, until NetConn is called (for wss: the
// socket under the *tls.Conn); NetConn then returns a *net.TCPConn over
// the same socket, the same one at every call, the loop goes on reading
// and writing through it, and closing it closes the connection, as closing
// NetConn's socket does off the loop.
func TestEventLoopBareSocket(t *testing.T) {
	defer leaktest.Check(t)()
	srv := newServer(wstest.Echo)
	defer srv.Close()
	ca := wstest.NewCA()
	tlsSrv := tlsServer(ca, tls.VersionTLS13, nil, nil, wstest.Echo)
	defer tlsSrv.Close()
	for _, tc := range []struct {
		name, url string
		opts      *websocket.RunOptions
	}{
		{"ws", srv.URL, nil},
		{"wss", tlsSrv.URL, tlsRun(ca)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e events
			var nc net.Conn
			a := &websocket.App{URL: tc.url}
			a.OnOpen = func(a *websocket.App) {
				e.add("open, bare %v", websocket.LoopBareSocket(a.Conn()))
				a.SendText("one")
			}
			a.OnMessage = func(a *websocket.App, m websocket.Message) {
				e.add("echo %s", m.Data)
				switch string(m.Data) {
				case "one":
					nc = socketOf(a.Conn())
					e.add("socket %T, bare %v", nc, websocket.LoopBareSocket(a.Conn()))
					if nc.RemoteAddr() == nil || !strings.Contains(tc.url, "//"+nc.RemoteAddr().String()) {
						t.Errorf("the socket's remote address %v, dialed %s", nc.RemoteAddr(), tc.url)
					}
					if again := socketOf(a.Conn()); again != nc {
						t.Errorf("a second NetConn returned %p, the first %p", again, nc)
					}
					a.SendText("two") // written and read through the new descriptor
				case "two":
					nc.Close()
					a.SendText("three") // fails: the socket is closed
				}
			}
			a.OnClose = func(_ *websocket.App, code websocket.StatusCode, _ string) { e.add("close %d", code) }
			if err := runEngine(t, a, tc.opts); err == nil {
				t.Error("Run = nil after the socket was closed under it, want the write's error")
			}
			want := []string{"open, bare true", "echo one", "socket *net.TCPConn, bare false", "echo two", "close 1006"}
			if g := e.list(); !slices.Equal(g, want) {
				t.Errorf("events\n got %q\nwant %q", g, want)
			}
		})
	}
}

// socketOf returns the socket c runs on: NetConn for ws, the socket under
// its TLS for wss.
func socketOf(c *websocket.Conn) net.Conn {
	nc := c.NetConn()
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
		if w, ok := nc.(interface{ NetConn() net.Conn }); ok {
			nc = w.NetConn() // the library's wrapper of the socket under TLS
		}
	}
	return nc
}

// TestEventLoopBareSocketConcurrentNetConn: NetConn called from several
// goroutines at once while messages flow both ways returns one net.Conn to
// all, and no message is lost (run with -race).
func TestEventLoopBareSocketConcurrentNetConn(t *testing.T) {
	defer leaktest.Check(t)()
	srv := newServer(wstest.Echo)
	defer srv.Close()
	const callers, msgs = 4, 50
	var wg sync.WaitGroup
	got := make([]net.Conn, callers)
	echoes := 0
	a := &websocket.App{URL: srv.URL}
	a.OnOpen = func(a *websocket.App) {
		c := a.Conn()
		for i := range callers {
			wg.Go(func() { got[i] = c.NetConn() })
		}
		for range msgs {
			a.SendText("x")
		}
	}
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		if echoes++; echoes == msgs {
			a.Close()
		}
	}
	if err := runEngine(t, a, nil); err != nil {
		t.Fatalf("Run = %v", err)
	}
	wg.Wait()
	if echoes != msgs {
		t.Errorf("%d echoes, want %d", echoes, msgs)
	}
	for i, nc := range got {
		if _, ok := nc.(*net.TCPConn); !ok || nc != got[0] {
			t.Errorf("caller %d got %T %p, caller 0 %p", i, nc, nc, got[0])
		}
	}
}

// TestEventLoopUserNetConnKept: a socket of the user's (App.NetConn, or
// what DialOptions.NetDialContext returned) is not replaced: the loop
// reads it through its own RawConn, and NetConn returns it.
func TestEventLoopUserNetConnKept(t *testing.T) {
	defer leaktest.Check(t)()
	srv := newServer(wstest.Echo)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "ws://")
	for _, name := range []string{"App.NetConn", "NetDialContext"} {
		t.Run(name, func(t *testing.T) {
			var e events
			var given net.Conn
			a := &websocket.App{URL: srv.URL}
			var opts websocket.RunOptions
			if name == "App.NetConn" {
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				a.NetConn, given = nc, nc
			} else {
				opts.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
					nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
					given = nc
					return nc, err
				}
			}
			a.OnOpen = func(a *websocket.App) {
				e.add("owned %v, bare %v, given %v", websocket.LoopOwned(a.Conn()), websocket.LoopBareSocket(a.Conn()),
					a.Conn().NetConn() == given)
				a.SendText("hi")
			}
			a.OnMessage = func(a *websocket.App, m websocket.Message) {
				e.add("echo %s", m.Data)
				a.Close()
			}
			if err := runEngine(t, a, &opts); err != nil {
				t.Fatalf("Run = %v", err)
			}
			want := []string{"owned true, bare false, given true", "echo hi"}
			if g := e.list(); !slices.Equal(g, want) {
				t.Errorf("events\n got %q\nwant %q", g, want)
			}
		})
	}
}

// TestEventLoopSocketClosedByItsHolder: closing the net.Conn a connection
// on the loop runs on (the one NetConn made, the App's own, or the one
// NetDialContext returned) ends the connection with nothing more sent or
// received, as it does off the loop: OnError, OnClose 1006, and the run's
// end. The loop was not told of such a close (the descriptor just left its
// poller), so the connection stayed open to the App for good.
func TestEventLoopSocketClosedByItsHolder(t *testing.T) {
	defer leaktest.Check(t)()
	srv := newServer(wstest.Echo)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "ws://")
	for _, name := range []string{"Conn.NetConn", "App.NetConn", "NetDialContext"} {
		t.Run(name, func(t *testing.T) {
			var e events
			var given net.Conn
			a := &websocket.App{URL: srv.URL}
			var opts websocket.RunOptions
			switch name {
			case "App.NetConn":
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				a.NetConn, given = nc, nc
			case "NetDialContext":
				opts.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
					nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
					given = nc
					return nc, err
				}
			}
			a.OnOpen = func(a *websocket.App) { a.SendText("hi") }
			a.OnMessage = func(a *websocket.App, m websocket.Message) {
				e.add("echo %s", m.Data)
				if given == nil {
					given = a.Conn().NetConn()
				}
				given.Close()
			}
			a.OnError = func(_ *websocket.App, err error) { e.add("error %v", errors.Is(err, websocket.ErrConnectionClosed)) }
			a.OnClose = func(_ *websocket.App, code websocket.StatusCode, _ string) { e.add("close %d", code) }
			done := make(chan error, 1)
			go func() { done <- runEngine(t, a, &opts) }()
			select {
			case err := <-done:
				if !errors.Is(err, websocket.ErrConnectionClosed) {
					t.Errorf("Run = %v, want an error matching ErrConnectionClosed", err)
				}
			case <-time.After(testTimeout):
				t.Error("the run did not end after its socket was closed")
				a.Close()
				<-done
			}
			want := []string{"echo hi", "error true", "close 1006"}
			if g := e.list(); !slices.Equal(g, want) {
				t.Errorf("events\n got %q\nwant %q", g, want)
			}
		})
	}
}

// TestEventLoopBareSocketMovedWhilePaused: a NetConn call while the reading
// is paused (a full receive queue) moves the loop to the new descriptor
// still paused; when the callbacks catch up the reading resumes there, and
// every message arrives, in order.
func TestEventLoopBareSocketMovedWhilePaused(t *testing.T) {
	defer leaktest.Check(t)()
	const n, size = 500, 1000
	srv := rawServer(t, false, func(nc net.Conn, c *wstest.Conn) {
		var b []byte
		for i := range n {
			b = wstest.AppendFrame(b, true, 2, numberedMsg(i, size))
		}
		nc.Write(b)
		wstest.Echo(c) // the close frame
	})
	defer srv.Close()
	var got []int
	a := &websocket.App{URL: srv.URL}
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		got = append(got, int(binary.BigEndian.Uint32(m.Data)))
		if len(got) == 1 {
			if !within(func() bool { _, _, paused, _ := websocket.RecvQueueState(a); return paused }) {
				t.Error("the reading did not pause")
			}
			if !websocket.LoopBareSocket(a.Conn()) {
				t.Error("the socket had a net.Conn before NetConn")
			}
			if _, ok := a.Conn().NetConn().(*net.TCPConn); !ok {
				t.Errorf("NetConn is %T", a.Conn().NetConn())
			}
			if _, _, paused, _ := websocket.RecvQueueState(a); !paused {
				t.Error("the move ended the pause")
			}
		}
		if len(got) == n {
			a.Close()
		}
	}
	a.OnError = func(_ *websocket.App, err error) { t.Errorf("OnError(%v)", err) }
	if err := runEngine(t, a, &websocket.RunOptions{RecvQueueMessages: 8, RecvQueueLowMessages: 2}); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if len(got) != n || !slices.IsSorted(got) || got[0] != 0 || got[n-1] != n-1 {
		t.Errorf("%d messages, want %d in order", len(got), n)
	}
}

// TestEventLoopBareSocketDeadlines: deadlines on a bare socket are kept by
// the loop, without making a net.Conn: a passed write deadline fails the
// next write, as the runtime's net.Conn would, and a cleared one does not.
func TestEventLoopBareSocketDeadlines(t *testing.T) {
	defer leaktest.Check(t)()
	srv := newServer(wstest.Echo)
	defer srv.Close()
	for _, clear := range []bool{false, true} {
		t.Run(map[bool]string{false: "passed", true: "cleared"}[clear], func(t *testing.T) {
			var e events
			a := &websocket.App{URL: srv.URL}
			a.OnOpen = func(a *websocket.App) {
				c := a.Conn()
				if err := c.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
					t.Errorf("SetWriteDeadline = %v", err)
				}
				if clear {
					c.SetDeadline(time.Time{})
				}
				e.add("bare %v", websocket.LoopBareSocket(c))
				a.SendText("x")
			}
			a.OnMessage = func(a *websocket.App, m websocket.Message) {
				e.add("echo %s", m.Data)
				a.Close()
			}
			a.OnClose = func(_ *websocket.App, code websocket.StatusCode, _ string) { e.add("close %d", code) }
			err := runEngine(t, a, nil)
			want := []string{"bare true", "echo x", "close 1000"}
			if !clear {
				want = []string{"bare true", "close 1006"}
				if err == nil {
					t.Error("Run = nil, want the failed write's error")
				}
			} else if err != nil {
				t.Errorf("Run = %v", err)
			}
			if g := e.list(); !slices.Equal(g, want) {
				t.Errorf("events\n got %q\nwant %q", g, want)
			}
		})
	}
}
