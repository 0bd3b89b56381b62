//go:build !race

package websocket_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestPongWhileSendersWait: a server that reads more slowly than the App
// sends (what the loop's send mark is for) pings while the sends are held
// back; the pong comes within a bounded amount of data, not only once the
// senders stop. On the loop the pong held back for the backlog went out
// only when the queue emptied, which senders kept between half the mark
// and the mark never let it do: it came after all 64 MiB. Not under the
// race detector, which makes the server's reading slower than the sends
// by another factor.
func TestPongWhileSendersWait(t *testing.T) {
	const (
		msgSize = 1 << 20
		total   = 64 << 20
		senders = 2
		bound   = 32 << 20 // data the server may read between its ping and our pong
	)
	for _, onLoop := range []bool{false, true} {
		t.Run(fmt.Sprintf("loop=%v", onLoop), func(t *testing.T) {
			backlogged := make(chan struct{})
			pongAt := make(chan int64, 1) // data read between the ping and the pong; -1: none
			srv := wstest.New(func(c *wstest.Conn) {
				<-backlogged
				c.WriteFrame(true, 9, []byte("p"))
				var since int64
				defer func() { // no pong came, unless the channel had it
					select {
					case pongAt <- -1:
					default:
					}
				}()
				for {
					f, err := c.ReadFrame()
					if err != nil {
						return
					}
					switch f.Opcode {
					case 8:
						c.WriteFrame(true, 8, f.Payload)
						return
					case 10:
						select {
						case pongAt <- since:
						default:
						}
					default:
						since += int64(len(f.Payload))
						// Work for each byte: the server reads more slowly than the client sends.
						s := 0
						for range 40 {
							for _, b := range f.Payload {
								s += int(b)
							}
						}
						_ = s
					}
				}
			})
			defer srv.Close()
			var stop atomic.Bool
			done := make(chan error, senders)
			a := &websocket.App{URL: srv.URL}
			a.OnOpen = func(a *websocket.App) {
				for range senders {
					go func() {
						msg := make([]byte, msgSize)
						for i := 0; i < total/msgSize/senders && !stop.Load(); i++ {
							if err := a.SendBytes(msg); err != nil {
								done <- err
								return
							}
						}
						done <- nil
					}()
				}
				go func() {
					if !within(func() bool { return a.Buffered() > 0 && (!onLoop || websocket.LoopQueued(a.Conn()) > 6<<20) }) {
						t.Error("the sends never backed up")
					}
					close(backlogged)
				}()
			}
			got := make(chan int64, 1)
			go func() {
				var n int64 = -2
				select {
				case n = <-pongAt:
				case <-time.After(time.Minute):
				}
				stop.Store(true)
				for range senders {
					<-done
				}
				a.Close()
				got <- n
			}()
			runOn(t, onLoop, a, &websocket.RunOptions{Reconnect: -1, SendQueueBytes: 8 << 20})
			switch n := <-got; {
			case n < 0:
				t.Errorf("no pong (%d)", n)
			case n > bound:
				t.Errorf("the pong came after %d bytes of data read since the ping; want %d at most", n, bound)
			}
		})
	}
}
