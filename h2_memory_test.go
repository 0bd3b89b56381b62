package websocket

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket/internal/h2"
)

// TestHTTP2FallbackMemory checks that an origin without WebSockets over
// HTTP/2 is remembered for http1Memory, then forgotten, and that the
// memory stays bounded.
func TestHTTP2FallbackMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr HTTP2Transport
		tr.rememberHTTP1(h2.Key{Name: "a"})
		time.Sleep(http1Memory - time.Second)
		if !tr.usesHTTP1(h2.Key{Name: "a"}) || tr.usesHTTP1(h2.Key{Name: "b"}) {
			t.Fatal("a not remembered, or b remembered")
		}
		time.Sleep(time.Second)
		if tr.usesHTTP1(h2.Key{Name: "a"}) {
			t.Fatalf("a still remembered after %v", http1Memory)
		}
		for i := range 1000 {
			tr.rememberHTTP1(h2.Key{Name: fmt.Sprint(i)})
			time.Sleep(http1Memory / 500)
		}
		if n := len(tr.http1); n > 512 {
			t.Errorf("%d origins remembered", n)
		}
	})
}

// TestHTTP2TransportWindowConfig: MaxReceiveBufferPerStream 0 gives new
// connections a 1 MiB stream window that grows up to 16 MiB; a value
// fixes the window (TestHTTP2ReceiveBuffer checks what goes on the wire,
// internal/h2's TestStreamWindowGrows the growth).
func TestHTTP2TransportWindowConfig(t *testing.T) {
	for _, tc := range []struct {
		set          int
		window, grow uint32
	}{
		{0, 0, 16 << 20}, // 0: internal/h2's default of 1 MiB
		{4 << 20, 4 << 20, 0},
	} {
		tr := &HTTP2Transport{MaxReceiveBufferPerStream: tc.set}
		tr.init()
		if tr.conf.StreamWindow != tc.window || tr.conf.GrowStreamWindow != tc.grow {
			t.Errorf("MaxReceiveBufferPerStream %d: StreamWindow %d, GrowStreamWindow %d; want %d, %d",
				tc.set, tr.conf.StreamWindow, tr.conf.GrowStreamWindow, tc.window, tc.grow)
		}
	}
}
