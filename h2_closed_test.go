package websocket_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// closeTarget is a server, reached over HTTP/1.1 or over HTTP/2 (h2c),
// that runs the same handler on each WebSocket.
type closeTarget struct {
	name string
	url  string
	opts func() *websocket.DialOptions
}

func closeTargets(t *testing.T, handle func(*wstest.Conn)) []closeTarget {
	ws := wstest.New(handle)
	t.Cleanup(ws.Close)
	h2 := startH2Server(t, handle, nil, true)
	tr := &websocket.HTTP2Transport{}
	t.Cleanup(func() { tr.Close() })
	return []closeTarget{
		{"http1", ws.URL, func() *websocket.DialOptions { return &websocket.DialOptions{} }},
		{"http2", h2.URL, func() *websocket.DialOptions {
			return &websocket.DialOptions{HTTP2: websocket.HTTP2Require, HTTP2Transport: tr}
		}},
	}
}

// untilClose reads the client's frames up to its close frame, and then
// holds the WebSocket open, answering nothing, until the client goes.
func untilClose(c *wstest.Conn) {
	for {
		f, err := c.ReadFrame()
		if err != nil {
			return
		}
		if f.Opcode == 8 {
			c.ReadFrame() // until the client closes its side
			return
		}
	}
}

// TestOwnCloseIsNoFailureOnEveryProtocol: after the Conn's own close —
// Abort, Shutdown, a read timeout then Abort, a close the server does not
// answer — reads and sends say the Conn is closed (ErrConnectionClosed,
// not a timeout, which would invite a retry), nothing is counted as sent,
// and Stats().LastError stays nil, over HTTP/2 as over HTTP/1.1. Over
// HTTP/2 reads said "read timeout" once a deadline had passed, and the
// stream's "read on a closed stream" was recorded as the Conn's failure.
func TestOwnCloseIsNoFailureOnEveryProtocol(t *testing.T) {
	for _, end := range []struct {
		name string
		f    func(t *testing.T, c *websocket.Conn)
	}{
		{"Abort", func(_ *testing.T, c *websocket.Conn) { c.Abort() }},
		{"Shutdown", func(_ *testing.T, c *websocket.Conn) { c.Shutdown() }},
		{"read timeout, then Abort", func(t *testing.T, c *websocket.Conn) {
			c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
			if _, err := c.Recv(); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Recv past the deadline = %v, want a timeout", err)
			}
			c.Abort()
		}},
		{"unanswered CloseWith", func(t *testing.T, c *websocket.Conn) {
			if err := c.CloseWith(websocket.StatusNormal, "", 100*time.Millisecond); err != nil {
				t.Fatalf("CloseWith = %v", err)
			}
		}},
	} {
		t.Run(end.name, func(t *testing.T) {
			for _, tg := range closeTargets(t, untilClose) {
				t.Run(tg.name, func(t *testing.T) {
					c, err := websocket.Dial(context.Background(), tg.url+"/x", tg.opts())
					if err != nil {
						t.Fatal(err)
					}
					defer c.Abort()
					end.f(t, c)
					before := c.Stats()
					for i := range 3 {
						_, rerr := c.Recv()
						werr := c.SendText("never sent")
						if !errors.Is(rerr, websocket.ErrConnectionClosed) || errors.Is(rerr, os.ErrDeadlineExceeded) ||
							!errors.Is(werr, websocket.ErrConnectionClosed) || errors.Is(werr, os.ErrDeadlineExceeded) {
							t.Fatalf("#%d: Recv = %v, SendText = %v; want ErrConnectionClosed, not a timeout", i+1, rerr, werr)
						}
					}
					after := c.Stats()
					if after.MessagesSent != before.MessagesSent || after.BytesSent != before.BytesSent {
						t.Errorf("refused sends counted: MessagesSent %d -> %d, BytesSent %d -> %d",
							before.MessagesSent, after.MessagesSent, before.BytesSent, after.BytesSent)
					}
					if err := after.LastError; err != nil {
						t.Errorf("Stats().LastError = %v, want nil: the Conn was closed, it did not fail", err)
					}
				})
			}
		})
	}
}
