package websocket_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// TestCloseFrameIgnoresCallersDeadlines: the close is bounded by its own
// timeout, whatever SetTimeout or the deadlines say. A write deadline in
// the past (SetDeadline(time.Now()) to cancel a blocked Recv is the usual
// way there) or a per-operation timeout too short for a write made the
// close frame's write fail at once: no close frame went out, and Close
// returned nil as if it had. Set while the close writes its frame (from a
// goroutine racing CloseWith: a hook sets it there), a deadline landed
// between the close's clearing of the write deadline and its write, with
// the same result.
func TestCloseFrameIgnoresCallersDeadlines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		set    func(c *websocket.Conn) error
		during bool // set while the close writes its frame
	}{
		{"a deadline that passed", func(c *websocket.Conn) error { return c.SetDeadline(time.Now()) }, false},
		{"a write deadline that passed", func(c *websocket.Conn) error { return c.SetWriteDeadline(time.Now().Add(-time.Hour)) }, false},
		{"a per-operation timeout of 1ns", func(c *websocket.Conn) error { c.SetTimeout(time.Nanosecond); return nil }, false},
		{"SetDeadline during the close", func(c *websocket.Conn) error { return c.SetDeadline(time.Now()) }, true},
		{"SetWriteDeadline during the close", func(c *websocket.Conn) error { return c.SetWriteDeadline(time.Now().Add(-time.Hour)) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				got := make(chan []wstest.Frame, 1)
				srv := wstest.NewPipeServer(func(sc *wstest.Conn) {
					wstest.Echo(sc)
					got <- sc.Received()
				})
				defer srv.Close()
				c, err := websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{NetDialContext: srv.DialContext})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Abort()
				var setErr error
				if tc.during {
					defer websocket.SetCloseTimedWrite(func() { setErr = tc.set(c) })()
				} else {
					setErr = tc.set(c)
				}
				time.Sleep(time.Millisecond) // the deadline is in the past
				if err := c.Close(); err != nil {
					t.Errorf("Close = %v", err)
				}
				if setErr != nil {
					t.Errorf("setting it = %v, want nil", setErr)
				}
				fs := <-got
				if len(fs) != 1 || fs[0].Opcode != wstest.OpClose {
					t.Errorf("the server received %v, want our close frame", fs)
				}
			})
		})
	}
}
