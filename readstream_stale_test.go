package websocket_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// TestStaleReaderTakesNothingOfTheNextMessage: a NextReader's reader is
// valid until the next receiving call. One whose message was read to its
// last byte (not yet to io.EOF) took the payload of the next message that
// a later call had begun and left unfinished (cut by a read timeout, or
// returning a ping from between its fragments): that message came back
// corrupted ("first-cond"), or never.
func TestStaleReaderTakesNothingOfTheNextMessage(t *testing.T) {
	for _, cut := range []string{"read timeout", "control frame"} {
		t.Run(cut, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				between := wstest.Sleep(2 * time.Second)
				if cut == "control frame" {
					between = wstest.SendFrame(wstest.Frame{Fin: true, Opcode: wstest.OpPing, Payload: []byte("p")})
				}
				srv := wstest.NewPipeServer(wstest.Script(
					wstest.Send(wstest.OpText, []byte("abc")),
					wstest.SendFrame(wstest.Frame{Opcode: wstest.OpText, Payload: []byte("first-")}),
					between,
					wstest.SendFrame(wstest.Frame{Fin: true, Opcode: wstest.OpContinuation, Payload: []byte("second")}),
					wstest.Stall))
				defer srv.Close()
				c, err := websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{NetDialContext: srv.DialContext})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Abort()
				_, r, err := c.NextReader()
				if err != nil {
					t.Fatal(err)
				}
				b := make([]byte, 3)
				if _, err := io.ReadFull(r, b); err != nil || string(b) != "abc" {
					t.Fatal(string(b), err)
				}
				c.SetReadDeadline(time.Now().Add(time.Second))
				if cut == "control frame" {
					if op, p, err := c.RecvData(true); err != nil || op != websocket.OpPing || string(p) != "p" {
						t.Fatalf("RecvData(true) = %v %q %v, want the ping", op, p, err)
					}
				} else if _, err := c.Recv(); !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
					t.Fatalf("Recv = %v, want its read timeout", err)
				}
				c.SetReadDeadline(time.Time{})
				if n, err := r.Read(make([]byte, 64)); n > 0 || err == nil {
					t.Errorf("the stale reader read %d bytes, %v; want an error and nothing", n, err)
				}
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if _, p, err := c.RecvData(false); err != nil || string(p) != "first-second" {
					t.Errorf("the next message = %q, %v; want \"first-second\"", p, err)
				}
			})
		})
	}
}
