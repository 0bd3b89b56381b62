package websocket_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestAppMaskKeyFuncPanicIsAFailure: an App's MaskKeyFunc that panics when
// the library answers a server's ping (on its reader, or on the event
// loop) fails that connection and is reported to OnError, as a callback's
// panic is; the run ends as a failed connection does. It crashed the
// program.
func TestAppMaskKeyFuncPanicIsAFailure(t *testing.T) {
	for _, onLoop := range []bool{false, true} {
		t.Run(fmt.Sprintf("loop=%v", onLoop), func(t *testing.T) {
			srv := newServer(func(c *wstest.Conn) {
				c.WriteFrame(true, 0x9, []byte("p"))
				for {
					if _, err := c.ReadFrame(); err != nil {
						return
					}
				}
			})
			defer srv.Close()
			var errs []error
			a := &websocket.App{URL: srv.URL, MaskKeyFunc: func() [4]byte { panic("no keys today") }}
			a.OnError = func(_ *websocket.App, err error) { errs = append(errs, err) }
			err := runOn(t, onLoop, a, &websocket.RunOptions{Reconnect: -1})
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), "panic in MaskKeyFunc: no keys today") || !errors.Is(err, websocket.ErrConnectionClosed) {
				t.Fatalf("OnError got %v, Run = %v; want the MaskKeyFunc panic once", errs, err)
			}
		})
	}
}
