package websocket

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

// TestHTTP2FallbackMemory checks that an origin without WebSockets over
// HTTP/2 is remembered for http1Memory, then forgotten, and that the
// memory stays bounded.
func TestHTTP2FallbackMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr HTTP2Transport
		tr.rememberHTTP1("a")
		time.Sleep(http1Memory - time.Second)
		if !tr.usesHTTP1("a") || tr.usesHTTP1("b") {
			t.Fatal("a not remembered, or b remembered")
		}
		time.Sleep(time.Second)
		if tr.usesHTTP1("a") {
			t.Fatalf("a still remembered after %v", http1Memory)
		}
		for i := range 1000 {
			tr.rememberHTTP1(fmt.Sprint(i))
			time.Sleep(http1Memory / 500)
		}
		if n := len(tr.http1); n > 512 {
			t.Errorf("%d origins remembered", n)
		}
	})
}
