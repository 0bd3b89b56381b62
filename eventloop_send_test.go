package websocket_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestAppSendWaitsForASlowPeer: a server that reads slowly slows the App's
// sends on both paths: the send queue fills (App.Buffered), and every
// message arrives once the server reads. On the event loop the sends went
// into the loop's write queue as fast as they were made, Buffered stayed
// 0, and at 16 MiB queued the connection failed although its peer was
// alive and about to read.
func TestAppSendWaitsForASlowPeer(t *testing.T) {
	const (
		msgSize = 1 << 10
		total   = 24 << 20 // more than the loop's 16 MiB hard bound
		limit   = 64 << 10
		senders = 4
	)
	for _, onLoop := range []bool{false, true} {
		t.Run(fmt.Sprintf("loop=%v", onLoop), func(t *testing.T) {
			read := make(chan struct{})
			var got atomic.Int64
			srv := wstest.New(func(c *wstest.Conn) {
				<-read
				for {
					f, err := c.ReadFrame()
					if err != nil {
						return
					}
					if f.Opcode == 8 {
						c.WriteFrame(true, 8, f.Payload)
						return
					}
					got.Add(int64(len(f.Payload)))
				}
			})
			defer srv.Close()
			var failure atomic.Pointer[error]
			sent := make(chan error, senders)
			a := &websocket.App{URL: srv.URL}
			a.OnOpen = func(a *websocket.App) {
				// Several senders: one writes, the others queue behind it.
				for range senders {
					go func() {
						msg := make([]byte, msgSize)
						for range total / msgSize / senders {
							if err := a.SendBytes(msg); err != nil {
								sent <- err
								return
							}
						}
						sent <- nil
					}()
				}
				go func() {
					defer close(read)
					// The send queue fills while the server reads nothing,
					// and on the loop the socket's queue holds the send
					// mark (SendQueueBytes); then the server reads.
					c := a.Conn()
					full := func() bool {
						return a.Buffered() >= limit/2 && (!onLoop || websocket.LoopQueued(c) >= limit/2)
					}
					if !within(func() bool { return full() || failure.Load() != nil }) {
						t.Error("the send queue never filled")
						return
					}
					// The mark, a batch of the Conn's write queue (64 KiB
					// at most) and a message a sender.
					if q, most := websocket.LoopQueued(c), limit+64<<10+senders*msgSize; q > most {
						t.Errorf("the loop holds %d bytes for the socket; want %d at most", q, most)
					}
				}()
			}
			a.OnError = func(_ *websocket.App, err error) { failure.CompareAndSwap(nil, &err) }
			go func() {
				for range senders {
					if err := <-sent; err != nil {
						t.Errorf("send = %v", err)
					}
				}
				a.Close()
			}()
			if err := runOn(t, onLoop, a, &websocket.RunOptions{Reconnect: -1, SendQueueBytes: limit}); err != nil {
				t.Errorf("run = %v", err)
			}
			if p := failure.Load(); p != nil {
				t.Errorf("failure %v", *p)
			}
			if n := got.Load(); n != total {
				t.Errorf("the server got %d bytes, want %d", n, total)
			}
		})
	}
}
