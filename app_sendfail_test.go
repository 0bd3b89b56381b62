package websocket_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// TestAppSendTimeoutIsTheRunsFailure: when a send times out (DialOptions'
// Timeout bounds each send) against a server that reads nothing, the
// write timeout is what closed the connection, and OnError, the run's
// result and App.Stats say so: an error that matches
// os.ErrDeadlineExceeded and ErrConnectionClosed, not a bare "connection
// closed" that hides why.
func TestAppSendTimeoutIsTheRunsFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := wstest.NewPipeServer(func(c *wstest.Conn) { c.Accept(nil); wstest.Stall(c) })
		defer srv.Close()
		opened := make(chan struct{})
		var onErr []error
		a := &websocket.App{URL: "ws://example.test/",
			OnOpen:  func(*websocket.App) { close(opened) },
			OnError: func(_ *websocket.App, err error) { onErr = append(onErr, err) }}
		done := make(chan error, 1)
		go func() {
			done <- a.Run(context.Background(), &websocket.RunOptions{
				DialOptions: websocket.DialOptions{Timeout: 2 * time.Second, NetDialContext: srv.DialContext}})
		}()
		<-opened
		var sendErr error
		for i := 0; i < 10000 && sendErr == nil; i++ { // 10 MB to a server that reads nothing
			sendErr = a.SendBytes(make([]byte, 1024))
		}
		runErr := <-done
		if !errors.Is(sendErr, os.ErrDeadlineExceeded) {
			t.Fatalf("send error %v is not a timeout", sendErr)
		}
		if len(onErr) != 1 {
			t.Fatalf("OnError got %v, want the one failure", onErr)
		}
		for what, err := range map[string]error{"Run": runErr, "OnError": onErr[0], "Stats().LastError": a.Stats().LastError} {
			if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, websocket.ErrConnectionClosed) {
				t.Errorf("%s = %v, want the send timeout that closed the connection", what, err)
			}
			checkPrefix(t, err)
		}
	})
}
