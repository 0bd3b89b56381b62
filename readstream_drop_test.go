package websocket_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// TestDroppedRestIsChecked: the rest of a message a NextReader left unread,
// which the next receiving call drops, is still checked as a received
// message is: bytes that are not UTF-8 in a text message, or a text message
// ending inside a UTF-8 sequence, fail the connection with 1007 rather than
// pass unseen, over ws and wss.
func TestDroppedRestIsChecked(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first wstest.Frame // read in part through NextReader
		rest  []wstest.Frame
	}{
		{"invalid in a later fragment",
			wstest.Frame{Opcode: wstest.OpText, Payload: []byte("hello world, the start")},
			[]wstest.Frame{{Fin: true, Opcode: wstest.OpContinuation, Payload: []byte{0xff, 0xfe}}}},
		{"ends inside a sequence",
			wstest.Frame{Fin: true, Opcode: wstest.OpText, Payload: []byte("abcdefgh\xe2\x82")}, nil},
	} {
		for _, scheme := range []string{"ws", "wss"} {
			t.Run(tc.name+"/"+scheme, func(t *testing.T) {
				code := make(chan uint16, 1)
				h := func(c *wstest.Conn) {
					c.Accept(nil)
					c.WriteFrame(tc.first)
					for _, f := range tc.rest {
						c.WriteFrame(f)
					}
					c.WriteFrame(wstest.Frame{Fin: true, Opcode: wstest.OpText, Payload: []byte("next message")})
					code <- clientCloseCode(c)
				}
				var srv *wstest.Server
				opts := &websocket.DialOptions{}
				if scheme == "wss" {
					srv = wstest.NewTLSServer(h)
					opts.TLSConfig = srv.TLSConfig()
				} else {
					srv = wstest.NewServer(h)
				}
				defer srv.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c, err := websocket.Dial(ctx, srv.URL, opts)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Abort()
				_, r, err := c.NextReader()
				if err != nil {
					t.Fatal(err)
				}
				r.Read(make([]byte, 4))
				m, err := c.Recv()
				var pe *websocket.PayloadError
				if !errors.As(err, &pe) {
					t.Fatalf("Recv after dropping the rest = %q, %v; want a *PayloadError", m.Data, err)
				}
				if got := <-code; got != 1007 {
					t.Errorf("close code %d, want 1007", got)
				}
			})
		}
	}
}
