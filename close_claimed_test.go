package websocket_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestCloseBehindAClaimedStuckClose: SendClose claims the close frame and
// waits behind a send stuck on a server that reads nothing; CloseWith then
// cannot get the frame out within its timeout, and returns the error of a
// close frame abandoned; a second SendClose, ended by Abort, returns
// ErrConnectionClosed. Both returned nil: a close that found the frame
// claimed took it as sent.
func TestCloseBehindAClaimedStuckClose(t *testing.T) {
	quit := make(chan struct{})
	srv := wstest.New(func(*wstest.Conn) { <-quit }) // reads nothing
	defer srv.Close()
	defer close(quit)
	for _, end := range []string{"CloseWith", "Abort"} {
		t.Run(end, func(t *testing.T) {
			c, err := websocket.Dial(context.Background(), srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Abort()
			stuck := make(chan struct{})
			go func() {
				defer close(stuck)
				c.SendBinary(make([]byte, 64<<20)) // more than the sockets hold
			}()
			if !within(func() bool { return websocket.Writing(c) }) {
				t.Fatal("the send never began")
			}
			first := make(chan error, 1)
			go func() { first <- c.SendClose(websocket.StatusNormal, "") }()
			if !within(func() bool { return websocket.CloseClaimed(c) }) {
				t.Fatal("the close frame was never claimed")
			}
			var got error
			if end == "CloseWith" {
				got = c.CloseWith(websocket.StatusNormal, "", 200*time.Millisecond)
				if !errors.Is(got, websocket.ErrConnectionClosed) || !errors.Is(got, os.ErrDeadlineExceeded) {
					t.Errorf("CloseWith = %v, want the error of an abandoned close frame", got)
				}
			} else {
				// Abort once the second SendClose is past its own look at
				// a closed Conn: it then finds the claim, in either order.
				started := make(chan struct{})
				var once sync.Once
				defer websocket.SetBeforeCloseFrame(func() { once.Do(func() { close(started) }) })()
				second := make(chan error, 1)
				go func() { second <- c.SendClose(websocket.StatusNormal, "") }()
				<-started
				c.Abort()
				if got = <-second; !errors.Is(got, websocket.ErrConnectionClosed) {
					t.Errorf("a second SendClose ended by Abort = %v, want ErrConnectionClosed", got)
				}
			}
			if err := <-first; !errors.Is(err, websocket.ErrConnectionClosed) {
				t.Errorf("the SendClose behind the stuck send = %v, want ErrConnectionClosed", err)
			}
			<-stuck
		})
	}
}

// TestDeadlineSettersAfterCloseOverHTTP2: "On a closed Conn it returns an
// error matching ErrConnectionClosed", for a WebSocket over HTTP/2 too,
// whose stream takes any deadline.
func TestDeadlineSettersAfterCloseOverHTTP2(t *testing.T) {
	s := startH2Server(t, wstest.Echo, nil, true)
	c, err := websocket.Dial(context.Background(), s.URL+"/echo", s.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{}))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	for name, set := range map[string]func(time.Time) error{
		"SetDeadline": c.SetDeadline, "SetReadDeadline": c.SetReadDeadline, "SetWriteDeadline": c.SetWriteDeadline,
	} {
		if err := set(time.Now().Add(time.Second)); !errors.Is(err, websocket.ErrConnectionClosed) {
			t.Errorf("%s on a closed Conn = %v, want ErrConnectionClosed", name, err)
		}
	}
}
