package websocket_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	kit "github.com/wsclient/websocket/wstest"
)

// On a 32-bit platform a message of about 2 GiB is a valid slice, and sums
// of its length overflowed int. This test runs there (CI runs it with
// GOARCH=386) and is skipped where int has 64 bits, where such a message
// cannot be allocated. Its one slice of 2^31-11 bytes is never written, so
// it takes address space, not memory; a second one would not fit.
func Test32BitSendsNearMaxInt(t *testing.T) {
	if math.MaxInt != math.MaxInt32 {
		t.Skip("int has 64 bits: such a message cannot be allocated")
	}
	big := make([]byte, math.MaxInt32-10)

	// Sent while another send writes, it waits its turn (and then fails:
	// the server reads nothing and the timeout ends the write in flight).
	// Its length plus the frame header wrapped negative, passed the test
	// for a frame small enough to queue, and the queue's copy panicked:
	// "slice bounds out of range [:-2147483645]".
	t.Run("Conn behind a write", func(t *testing.T) {
		c, _ := pipeConn(t, nil) // the server reads nothing
		first := make(chan error, 1)
		go func() { first <- c.SendBinary(make([]byte, 32<<20)) }() // more than the sockets hold: stays writing
		if !within(func() bool { return websocket.Writing(c) }) {
			t.Fatal("the first send never began")
		}
		c.SetTimeout(2 * time.Second)
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("SendBinary of 2^31-11 bytes behind a write panicked: %v", p)
				}
			}()
			err = c.SendBinary(big)
		}()
		if !errors.Is(err, websocket.ErrConnectionClosed) {
			t.Errorf("the large send = %v, want an error matching ErrConnectionClosed", err)
		}
		<-first
	})

	// With SendNoWait and the App's queue over its bound, it is refused
	// with ErrSendQueueFull. The queued bytes plus its length wrapped
	// negative and passed the bound; the queue's copy of 2 GiB then killed
	// the process (out of memory).
	t.Run("App queue over its bound", func(t *testing.T) {
		hold := make(chan struct{})
		srv := kit.NewServer(func(c *kit.Conn) {
			if c.Accept(nil) != nil {
				return
			}
			<-hold // reads nothing
		})
		defer srv.Close()
		defer close(hold)
		opened := make(chan struct{})
		a := &websocket.App{URL: srv.URL, OnOpen: func(*websocket.App) { close(opened) }}
		done := make(chan error, 1)
		go func() {
			done <- a.Run(context.Background(), &websocket.RunOptions{Reconnect: -1, SendNoWait: true})
		}()
		<-opened
		if err := a.SendBytes(make([]byte, 32<<20)); err != nil { // taken by the queue's writer, which stays stuck
			t.Fatal(err)
		}
		if !within(func() bool { return a.Buffered() > 0 }) {
			t.Fatal("nothing queued")
		}
		if err := a.SendBytes(big); !errors.Is(err, websocket.ErrSendQueueFull) {
			t.Errorf("SendBytes of 2^31-11 bytes with 32 MiB queued (bound 1 MiB, SendNoWait) = %v; want ErrSendQueueFull", err)
		}
		a.CloseWith(websocket.StatusNormal, "", 100*time.Millisecond)
		<-done
	})
}
