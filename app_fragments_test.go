package websocket_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestAppFireContFrameWithoutAFragmentCallback: RunOptions.FireContFrame
// with neither OnData nor OnContMessage set leaves OnMessage each whole
// message, on both paths. The App turned fragment delivery on and gave the
// fragments to no one: fragmented messages vanished without an error.
// With OnData set, the fragments go there, and OnMessage gets only the
// unfragmented messages, as documented.
func TestAppFireContFrameWithoutAFragmentCallback(t *testing.T) {
	for _, onLoop := range []bool{false, true} {
		for _, withData := range []bool{false, true} {
			t.Run(fmt.Sprintf("loop=%v/OnData=%v", onLoop, withData), func(t *testing.T) {
				srv := wstest.New(func(c *wstest.Conn) {
					c.WriteFrame(true, 1, []byte("one"))
					c.WriteFrame(false, 1, []byte("tw"))
					c.WriteFrame(true, 9, []byte("p")) // a ping between the fragments
					c.WriteFrame(true, 0, []byte("o"))
					c.WriteFrame(true, 1, []byte("three"))
					c.WriteFrame(true, 8, wstest.ClosePayload(1000, ""))
					readToClose(c, new(atomic.Int64))
				})
				defer srv.Close()
				var msgs, data []string
				a := &websocket.App{URL: srv.URL}
				a.OnMessage = func(_ *websocket.App, m websocket.Message) { msgs = append(msgs, string(m.Data)) }
				if withData {
					a.OnData = func(_ *websocket.App, d []byte, _ websocket.Opcode, fin bool) {
						data = append(data, fmt.Sprintf("%s/%v", d, fin))
					}
				}
				opts := &websocket.RunOptions{Reconnect: -1}
				opts.FireContFrame = true
				if err := runOn(t, onLoop, a, opts); err != nil {
					t.Errorf("run = %v", err)
				}
				wantMsgs, wantData := "[one two three]", "[]"
				if withData {
					wantMsgs, wantData = "[one three]", "[one/true tw/false o/true three/true]"
				}
				if fmt.Sprint(msgs) != wantMsgs || fmt.Sprint(data) != wantData {
					t.Errorf("OnMessage got %v, OnData %v; want %s and %s", msgs, data, wantMsgs, wantData)
				}
			})
		}
	}
}
