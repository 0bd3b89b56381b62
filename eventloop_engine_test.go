package websocket_test

import (
	"bytes"
	"context"
	"net"
	"slices"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/leaktest"
	"github.com/wsclient/websocket/internal/netpoll"
	"github.com/wsclient/websocket/internal/wstest"
)

// skipWithoutPoller skips a test of the engine where none exists.
func skipWithoutPoller(t *testing.T) {
	t.Helper()
	p, err := netpoll.New()
	if err != nil {
		t.Skip("no poller on this platform")
	}
	p.Close()
}

// runEngine runs a on its own event loop (App.Run without a Dispatcher),
// checking that the connections that deliver messages are owned by the
// loop's poller.
func runEngine(t *testing.T, a *websocket.App, opts *websocket.RunOptions) error {
	t.Helper()
	skipWithoutPoller(t)
	checkOwned(t, a)
	return a.Run(context.Background(), opts)
}

// checkOwned makes a's OnMessage check that the loop's poller owns the
// connection.
func checkOwned(t *testing.T, a *websocket.App) {
	msg := a.OnMessage
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		if !websocket.LoopOwned(a.Conn()) {
			t.Error("the connection is not owned by the loop's poller")
		}
		if msg != nil {
			msg(a, m)
		}
	}
}

func TestEventLoopEngineEcho(t *testing.T) {
	defer leaktest.Check(t)()
	srv := newServer(wstest.Echo)
	defer srv.Close()
	var e events
	a := &websocket.App{URL: srv.URL}
	record(a, &e)
	a.OnOpen = func(a *websocket.App) {
		e.add("open")
		a.SendText("hello")
		a.SendBytes([]byte{1, 2})
	}
	n := 0
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		e.add("message %s %q", m.Opcode, m.Data)
		if n++; n == 2 {
			a.Close()
		}
	}
	if err := runEngine(t, a, nil); err != nil {
		t.Fatalf("Run = %v", err)
	}
	want := []string{"open", `data text "hello" true`, `message text "hello"`,
		`data binary "\x01\x02" true`, `message binary "\x01\x02"`, `close 1000 ""`}
	if got := e.list(); !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}

// rawServer answers the handshake itself and then writes script's bytes;
// with sameWrite they go out in the same write as the 101 response, so the
// client's handshake reads them with it.
func rawServer(t *testing.T, sameWrite bool, script func(nc net.Conn, c *wstest.Conn)) *wstest.Server {
	return wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		req, accept, br, err := wstest.ReadRequest(nc)
		if err != nil {
			return
		}
		_ = req
		resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + accept + "\r\n\r\n"
		c := &wstest.Conn{NC: nc, R: br}
		if sameWrite {
			var buf bytes.Buffer
			buf.WriteString(resp)
			script(&bufWriter{Conn: nc, buf: &buf}, c)
			nc.Write(buf.Bytes())
		} else {
			nc.Write([]byte(resp))
			script(nc, c)
		}
		// Answer the client's close.
		for {
			f, err := c.ReadFrame()
			if err != nil {
				return
			}
			if f.Opcode == 8 {
				c.WriteFrame(true, 8, f.Payload)
				return
			}
		}
	})
}

// bufWriter collects the writes of a script.
type bufWriter struct {
	net.Conn
	buf *bytes.Buffer
}

func (b *bufWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }

func TestEventLoopEngineLeftover(t *testing.T) {
	defer leaktest.Check(t)()
	srv := rawServer(t, true, func(nc net.Conn, _ *wstest.Conn) {
		b := wstest.AppendFrame(nil, true, 1, []byte("behind the 101"))
		b = wstest.AppendFrame(b, false, 2, []byte{1})
		b = wstest.AppendFrame(b, true, 0, []byte{2})
		nc.Write(b)
	})
	defer srv.Close()
	var e events
	a := &websocket.App{URL: srv.URL}
	record(a, &e)
	a.OnData = nil
	n := 0
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		e.add("message %s %q", m.Opcode, m.Data)
		if n++; n == 2 {
			a.Close()
		}
	}
	if err := runEngine(t, a, nil); err != nil {
		t.Fatalf("Run = %v", err)
	}
	want := []string{"open", `message text "behind the 101"`, `message binary "\x01\x02"`, `close 1000 ""`}
	if got := e.list(); !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}
