package websocket

import (
	"math"
	"net/url"
	"testing"
	"time"
)

// TestHTTP2TransportConfig: the transport's fields become the settings of
// its connections as their docs say: ReadIdleTimeout 0 is 30 s and
// negative is never; MaxReceiveBufferPerStream 0 grows up to 16 MiB, other
// values are fixed windows kept within 65,535 and 2^31-1.
func TestHTTP2TransportConfig(t *testing.T) {
	tests := []struct {
		idle, wantIdle time.Duration
		buf            int
		wantWin, grow  uint32
	}{
		{0, 30 * time.Second, 0, 0, 16 << 20},
		{5 * time.Second, 5 * time.Second, 1 << 20, 1 << 20, 0},
		{-1, 0, 1, 65535, 0},
		{time.Nanosecond, time.Nanosecond, math.MaxInt, 1<<31 - 1, 0},
	}
	for _, tt := range tests {
		tr := &HTTP2Transport{ReadIdleTimeout: tt.idle, MaxReceiveBufferPerStream: tt.buf, PingTimeout: 7 * time.Second}
		tr.init()
		c := tr.conf
		if c.ReadIdleTimeout != tt.wantIdle || c.StreamWindow != tt.wantWin || c.GrowStreamWindow != tt.grow || c.PingTimeout != 7*time.Second {
			t.Errorf("ReadIdleTimeout %v, MaxReceiveBufferPerStream %d: config %+v", tt.idle, tt.buf, c)
		}
	}
}

// TestH2RequestScheme: the extended CONNECT of a ws URL says :scheme http,
// of a wss URL https (RFC 8441 §5), and carries the URL's host and path.
func TestH2RequestScheme(t *testing.T) {
	for _, tt := range []struct{ url, scheme string }{
		{"ws://example.com:8080/chat?x=1", "http"},
		{"wss://example.com/chat?x=1", "https"},
	} {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		req := h2Request(u, &requestConfig{}, nil)
		if req.Scheme != tt.scheme || req.Authority != u.Host || req.Path != "/chat?x=1" {
			t.Errorf("%s: %+v", tt.url, req)
		}
	}
}
