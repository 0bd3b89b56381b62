package websocket

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/wsclient/websocket/wstest"
)

// TestAppSendNoWaitOversizedMessageWhenEmpty: RunOptions.SendQueueBytes
// says "A message larger than the bound is accepted when the queue is
// empty." With SendNoWait every message goes through the queue, so an
// oversized one must be accepted (and delivered), not ErrSendQueueFull.
func TestAppSendNoWaitOversizedMessageWhenEmpty(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit, size = 1 << 10, 4 << 10
		var got []wstest.Frame
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			c.Accept(nil)
			got = readUntilClose(c, true)
			c.WriteFrame(closeFrame)
		})
		defer srv.Close()
		opened := make(chan struct{})
		a, opts := sendApp(srv, opened, limit, true)
		done := make(chan error)
		go func() { done <- a.Run(context.Background(), opts) }()
		<-opened
		if err := a.SendBytes(numbered(7, size)); err != nil {
			t.Errorf("SendBytes of %d bytes into an empty queue bounded at %d = %v, want nil", size, limit, err)
		}
		synctest.Wait()
		a.Close()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		if len(got) != 1 || number(got[0].Payload) != 7 || len(got[0].Payload) != size {
			t.Fatalf("server got %d messages, want the one oversized message", len(got))
		}
	})
}

// TestAppSendQueueDefaultIsOneMiB: "SendQueueBytes ... 0 = 1 MiB": with
// the server not reading and SendNoWait, sends are accepted until about
// 1 MiB is queued, not more.
func TestAppSendQueueDefaultIsOneMiB(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 16 << 10
		unblock := make(chan struct{})
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			c.Accept(nil)
			<-unblock
			readUntilClose(c, true)
			c.WriteFrame(closeFrame)
		})
		defer srv.Close()
		opened := make(chan struct{})
		a, opts := sendApp(srv, opened, 0, true)
		done := make(chan error)
		go func() { done <- a.Run(context.Background(), opts) }()
		<-opened
		var err error
		for i := 0; i < 1000; i++ {
			if err = a.SendBytes(numbered(i, size)); err != nil {
				break
			}
			synctest.Wait()
		}
		if !errors.Is(err, ErrSendQueueFull) {
			t.Fatalf("last send = %v, want ErrSendQueueFull", err)
		}
		if b := a.Buffered(); b > 1<<20 || b < 1<<20-size {
			t.Errorf("Buffered() = %d when full with SendQueueBytes 0, want %d…%d (1 MiB)", b, 1<<20-size, 1<<20)
		}
		a.Close()
		synctest.Wait()
		close(unblock)
		if err := <-done; err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
	})
}
