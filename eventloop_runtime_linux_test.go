package websocket_test

import (
	"context"
	"crypto/tls"
	"net"
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
				if sets, err = netpoll.Watchers(websocket.LoopFd(a.Conn())); err != nil {
					t.Error(err)
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
