package websocket_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// TestSetTimeoutZeroClearsItsDeadlines: with the per-operation timeout
// turned off, deadlines are SetDeadline's alone. The last deadline the
// timeout had set stayed on the socket: the next blocking Recv failed with
// a read timeout, and the next blocking send with a write timeout, which
// closes the Conn.
func TestSetTimeoutZeroClearsItsDeadlines(t *testing.T) {
	t.Run("read", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := wstest.NewPipeServer(wstest.Script(
				wstest.Accept(nil),
				wstest.Sleep(100*time.Millisecond),
				wstest.Send(wstest.OpText, []byte("first")),
				wstest.Sleep(10*time.Second),
				wstest.Send(wstest.OpText, []byte("second")),
				wstest.Stall))
			defer srv.Close()
			c, err := websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{NetDialContext: srv.DialContext, Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Abort()
			if m, err := c.Recv(); err != nil || m.Text() != "first" {
				t.Fatalf("Recv = %q, %v", m.Text(), err)
			}
			c.SetTimeout(0)
			if m, err := c.Recv(); err != nil || m.Text() != "second" {
				t.Fatalf("Recv after SetTimeout(0) = %q, %v; want \"second\" 10 s later", m.Text(), err)
			}
		})
	})
	t.Run("write", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			srv := wstest.NewPipeServer(func(sc *wstest.Conn) {
				sc.Accept(nil)
				<-release
				for {
					if _, err := sc.ReadFrame(); err != nil {
						return
					}
				}
			})
			defer srv.Close()
			c, err := websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{NetDialContext: srv.DialContext, Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Abort()
			if err := c.SendText("a"); err != nil {
				t.Fatal(err)
			}
			c.SetTimeout(0)
			time.AfterFunc(10*time.Second, func() { close(release) })
			if err := c.SendBinary(make([]byte, 1<<20)); err != nil {
				t.Fatalf("a send after SetTimeout(0) = %v; want it to wait for the server", err)
			}
		})
	})
}
