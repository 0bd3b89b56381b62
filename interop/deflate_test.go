package interop

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wsclient/websocket"
)

// runDeflate dials with permessage-deflate offered as opts says, requires
// the server to accept it, and echoes JSON-like text of several sizes three
// times over, so that with context takeover later messages refer back to
// earlier ones in both directions.
func runDeflate(opts websocket.CompressionOptions) func(t *testing.T, tg *target) {
	return func(t *testing.T, tg *target) {
		o := tg.dialOptions()
		o.Compression = &opts
		c, err := dialWith(t, tg.url, o)
		if err != nil {
			t.Fatalf("dial %s: %v", tg.url, err)
		}
		defer c.Abort()
		p, ok := c.Compression()
		if !ok {
			t.Fatalf("the server declined permessage-deflate (response: %q)", c.Header().Get("Sec-WebSocket-Extensions"))
		}
		t.Logf("negotiated %+v", p)
		for round := range 3 {
			for _, n := range []int{0, 100, 1 << 10, 64 << 10, 1 << 20} {
				msg := jsonText(round, n)
				if err := c.SendText(msg); err != nil {
					t.Fatalf("round %d, %d bytes: SendText: %v", round, n, err)
				}
				expectMessage(t, c, websocket.OpText, []byte(msg))
			}
		}
		if err := c.CloseWith(websocket.StatusNormal, "", 5*time.Second); err != nil {
			t.Fatalf("CloseWith: %v", err)
		}
	}
}

// jsonText returns n bytes of text shaped like a market-data feed.
func jsonText(round, n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"seq":%d,"sym":"EUR/USD","bid":1.%04d,"ask":1.%04d,"round":%d},`, i, i%9973, (i+7)%9973, round)
	}
	return b.String()[:n]
}
