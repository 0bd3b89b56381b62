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
// returned nil as if it had.
func TestCloseFrameIgnoresCallersDeadlines(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(c *websocket.Conn)
	}{
		{"a deadline that passed", func(c *websocket.Conn) { c.SetDeadline(time.Now()) }},
		{"a write deadline that passed", func(c *websocket.Conn) { c.SetWriteDeadline(time.Now().Add(-time.Hour)) }},
		{"a per-operation timeout of 1ns", func(c *websocket.Conn) { c.SetTimeout(time.Nanosecond) }},
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
				tc.set(c)
				time.Sleep(time.Millisecond) // the deadline is in the past
				if err := c.Close(); err != nil {
					t.Errorf("Close = %v", err)
				}
				fs := <-got
				if len(fs) != 1 || fs[0].Opcode != wstest.OpClose {
					t.Errorf("the server received %v, want our close frame", fs)
				}
			})
		})
	}
}

// TestDeadlineSetWhileTheCloseWrites: a deadline set while a close writes
// its frame (SetDeadline(time.Now()) to end a blocked Recv, from a
// goroutine racing CloseWith) does not stop the frame either. The close
// cleared the write deadline before writing, and a deadline set between
// that clear and the write failed it: no close frame went out.
func TestDeadlineSetWhileTheCloseWrites(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(c *websocket.Conn) error
	}{
		{"SetDeadline", func(c *websocket.Conn) error { return c.SetDeadline(time.Now()) }},
		{"SetWriteDeadline", func(c *websocket.Conn) error { return c.SetWriteDeadline(time.Now().Add(-time.Hour)) }},
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
				defer websocket.SetCloseTimedWrite(func() { setErr = tc.set(c) })()
				time.Sleep(time.Millisecond)
				if err := c.Close(); err != nil {
					t.Errorf("Close = %v", err)
				}
				if setErr != nil {
					t.Errorf("%s during the close = %v, want nil", tc.name, setErr)
				}
				fs := <-got
				if len(fs) != 1 || fs[0].Opcode != wstest.OpClose {
					t.Errorf("the server received %v, want our close frame", fs)
				}
			})
		})
	}
}
