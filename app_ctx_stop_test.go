package websocket_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/wsclient/websocket"
	kit "github.com/wsclient/websocket/wstest"
)

// The README's "cancelling ctx closes …; from the call on no message
// callback starts (what is queued or still arrives is dropped)" holds for a
// context cancelled inside OnMessage: the context's watch stops the run on
// a goroutine of its own, which had not run yet while the dispatcher went
// on through the queue (1,014 more OnMessage calls, most often: the default
// queue of 1,024 less the 10 delivered).
func TestCtxCancelledInOnMessageStopsMessages(t *testing.T) {
	flood := func(c *kit.Conn) {
		if c.Accept(nil) != nil {
			return
		}
		go func() {
			for i := 0; i < 100000; i++ {
				if c.WriteMessage(kit.OpText, fmt.Appendf(nil, "m%d", i)) != nil {
					return
				}
			}
		}()
		for {
			f, err := c.ReadFrame()
			if err != nil {
				return
			}
			if f.Opcode == kit.OpClose {
				c.WriteFrame(kit.Frame{Fin: true, Opcode: kit.OpClose, Payload: f.Payload})
				c.Drop()
				return
			}
		}
	}
	for _, onLoop := range []bool{false, true} {
		t.Run(fmt.Sprintf("loop=%v", onLoop), func(t *testing.T) {
			srv := kit.NewServer(flood)
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var n, after int
			cancelled, closed := false, false
			a := &websocket.App{URL: srv.URL,
				OnMessage: func(*websocket.App, websocket.Message) {
					if cancelled {
						after++
						return
					}
					if n++; n == 10 {
						cancel()
						cancelled = true
					}
				},
				OnClose: func(*websocket.App, websocket.StatusCode, string) { closed = true },
			}
			opts := &websocket.RunOptions{}
			var err error
			if onLoop {
				err = runOnLoop(ctx, t, a, opts)
			} else {
				err = a.Run(ctx, opts)
			}
			if err != nil || !closed {
				t.Errorf("Run = %v, closed %v; want nil, true", err, closed)
			}
			if after > 0 {
				t.Errorf("%d OnMessage calls started after ctx was cancelled inside OnMessage", after)
			}
		})
	}
}
