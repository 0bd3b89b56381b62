//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package websocket_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/leaktest"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestEventLoopBareSocketNoNetConn: when NetConn cannot make a net.Conn
// (no descriptors left) it returns a closed *net.TCPConn, and the loop
// keeps the bare socket, watched as before: the connection goes on.
func TestEventLoopBareSocketNoNetConn(t *testing.T) {
	defer leaktest.Check(t)()
	srv := newServer(wstest.Echo)
	defer srv.Close()
	var e events
	a := &websocket.App{URL: srv.URL}
	a.OnOpen = func(a *websocket.App) {
		restore := websocket.FailNetConns()
		nc := a.Conn().NetConn()
		restore()
		tc, ok := nc.(*net.TCPConn)
		e.add("NetConn %T, closed %v, bare %v", nc, ok && tc.Close() != nil, websocket.LoopBareSocket(a.Conn()))
		a.SendText("still here")
	}
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		e.add("echo %s", m.Data)
		a.Close()
	}
	a.OnClose = func(_ *websocket.App, code websocket.StatusCode, _ string) { e.add("close %d", code) }
	// Bounded: a socket the poller no longer watched would never echo.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := runOnLoop(ctx, t, a, &websocket.RunOptions{}); err != nil {
		t.Errorf("Run = %v", err)
	}
	want := []string{"NetConn *net.TCPConn, closed true, bare true", "echo still here", "close 1000"}
	if g := e.list(); !slices.Equal(g, want) {
		t.Errorf("events\n got %q\nwant %q", g, want)
	}
}

// TestEventLoopResetIsAnOpError: a server's reset ends a run on the event
// loop with the error the goroutine path gives: a read *net.OpError with
// the socket's address, around ECONNRESET. The loop's was a bare errno
// ("connection reset by peer"), which errors.As did not find.
func TestEventLoopResetIsAnOpError(t *testing.T) {
	for _, onLoop := range []bool{false, true} {
		t.Run(map[bool]string{false: "goroutine", true: "loop"}[onLoop], func(t *testing.T) {
			srv := rawServer(t, false, func(nc net.Conn, c *wstest.Conn) {
				c.ReadFrame() // the client is past its handshake
				nc.(*net.TCPConn).SetLinger(0)
				nc.Close() // a reset
			})
			defer srv.Close()
			a := &websocket.App{URL: srv.URL}
			a.OnOpen = func(a *websocket.App) { a.SendText("x") }
			err := runOn(t, onLoop, a, &websocket.RunOptions{Reconnect: -1})
			var oe *net.OpError
			if !errors.As(err, &oe) || oe.Op != "read" || oe.Net != "tcp" || oe.Source == nil ||
				!errors.Is(err, syscall.ECONNRESET) || !errors.Is(err, websocket.ErrConnectionClosed) {
				t.Fatalf("Run = %v (%#v); want a read *net.OpError with the local address around ECONNRESET, matching ErrConnectionClosed", err, oe)
			}
			if want := "read tcp " + oe.Source.String(); !strings.Contains(err.Error(), want) {
				t.Errorf("Run = %q; want it to say %q", err, want)
			}
		})
	}
}
