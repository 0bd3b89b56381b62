package websocket_test

import (
	"context"
	"crypto/tls"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/leaktest"
	"github.com/wsclient/websocket/internal/netpoll"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestEventLoopEngineTakesSocketFromGo: the socket of a ws or wss
// connection the loop owns is watched by the loop's epoll set alone, no
// longer by Go's own poller (which would be woken for nothing at each
// burst of data), and the connection still echoes and closes.
func TestEventLoopEngineTakesSocketFromGo(t *testing.T) {
	defer leaktest.Check(t)()
	skipWithoutPoller(t)
	srv := newServer(wstest.Echo)
	defer srv.Close()
	// A Dial'd Conn's socket shows Go's own set.
	c, err := websocket.Dial(context.Background(), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	goSet := watchedBy(t, c.NetConn().(*net.TCPConn))
	if len(goSet) != 1 {
		t.Fatalf("a Dial'd socket is watched by the sets %v, want one (Go's)", goSet)
	}
	c.Close()

	ca := wstest.NewCA()
	tlsSrv := tlsServer(ca, tls.VersionTLS13, nil, nil, wstest.Echo)
	defer tlsSrv.Close()
	for _, tc := range []struct {
		name, url string
		opts      *websocket.RunOptions
	}{
		{"ws", srv.URL, &websocket.RunOptions{}},
		{"wss", tlsSrv.URL, tlsRun(ca)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sets []int
			var echoed bool
			a := &websocket.App{URL: tc.url}
			a.OnOpen = func(a *websocket.App) {
				var err error
				bare := websocket.LoopFd(a.Conn())
				if sets, err = netpoll.Watchers(bare); err != nil {
					t.Error(err)
				}
				// NetConn stays the live stream: the *net.TCPConn for
				// ws, the *tls.Conn for wss, with addresses and socket
				// options working.
				nc := a.Conn().NetConn()
				if tlsConn, ok := nc.(*tls.Conn); ok == (tc.name == "ws") {
					t.Errorf("NetConn is %T", nc)
				} else if ok {
					nc = tlsConn.NetConn()
					if w, ok := nc.(interface{ NetConn() net.Conn }); ok {
						nc = w.NetConn() // the library's wrapper of the socket under TLS
					}
				}
				if nc.RemoteAddr() == nil || !strings.Contains(tc.url, "//"+nc.RemoteAddr().String()) {
					t.Errorf("NetConn's remote address %v, dialed %s", nc.RemoteAddr(), tc.url)
				}
				if len(sets) == 1 {
					// NetConn made the net.Conn: the loop now watches
					// its descriptor, and Go's set does not; the bare
					// descriptor's watch went with it.
					newFd := websocket.LoopFd(a.Conn())
					moved, err := netpoll.Watchers(newFd)
					if err != nil || !slices.Equal(moved, sets) {
						t.Errorf("NetConn's socket is watched by the sets %v (%v), want the loop's %v", moved, err, sets)
					}
					if stale, _ := netpoll.Watchers(bare); newFd == bare || slices.Contains(stale, sets[0]) {
						t.Errorf("the bare descriptor %d (now %d) is still watched by the loop's set", bare, newFd)
					}
				}
				if sc, ok := nc.(interface{ SetNoDelay(bool) error }); !ok {
					t.Errorf("the socket under NetConn is %T, not a TCP connection", nc)
				} else if err := sc.SetNoDelay(true); err != nil {
					t.Errorf("SetNoDelay on the loop's socket: %v", err)
				}
				a.SendText("hello")
			}
			a.OnMessage = func(a *websocket.App, m websocket.Message) {
				echoed = string(m.Data) == "hello"
				a.Close()
			}
			if err := runOnLoop(context.Background(), t, a, tc.opts); err != nil {
				t.Fatalf("Run = %v", err)
			}
			if len(sets) != 1 || sets[0] == goSet[0] {
				t.Errorf("the loop's socket is watched by the sets %v, want one that is not Go's (%d)", sets, goSet[0])
			}
			if !echoed {
				t.Error("no echo")
			}
		})
	}
}

// watchedBy returns the epoll sets that watch c's socket.
func watchedBy(t *testing.T, c *net.TCPConn) []int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var sets []int
	rc.Control(func(fd uintptr) { sets, err = netpoll.Watchers(int(fd)) })
	if err != nil {
		t.Fatal(err)
	}
	return sets
}
