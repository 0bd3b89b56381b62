package websocket_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wsclient/websocket"
)

// TestBadStatusBodyWithinTheDialsBounds: the body of a non-101 answer is
// read for at most 2 s, and never past HandshakeTimeout or Timeout: a 403
// whose declared body never came held Dial for 2 s whatever its bounds.
func TestBadStatusBodyWithinTheDialsBounds(t *testing.T) {
	for _, answer := range []string{
		"HTTP/1.1 403 Forbidden\r\nContent-Length: 10000000000\r\n\r\nx",
		"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n",
	} {
		for name, opts := range map[string]*websocket.DialOptions{
			"HandshakeTimeout": {HandshakeTimeout: 100 * time.Millisecond},
			"Timeout":          {Timeout: 100 * time.Millisecond},
		} {
			t.Run(name, func(t *testing.T) {
				s, _ := scriptServer(t, func(*http.Request, string) string { return answer })
				start := time.Now()
				_, err := websocket.Dial(context.Background(), s.URL, opts)
				if took := time.Since(start); took > 1800*time.Millisecond {
					t.Errorf("Dial returned after %v, past its 100 ms bound (the body's own 2 s ran instead)", took)
				}
				var bs *websocket.BadStatusError
				if !errors.As(err, &bs) || bs.StatusCode != 403 {
					t.Errorf("Dial = %v, want the 403", err)
				}
			})
		}
	}
}

// TestMalformedResponseHidesSecrets: a response head net/textproto
// refuses quotes the bad header line in its error; a Set-Cookie's value
// or a Location's password in that line stays out of the error's message,
// as out of traces. They were in it, and so in every log of dial errors.
func TestMalformedResponseHidesSecrets(t *testing.T) {
	for _, line := range []string{"Set-Cookie: sid=TOPSECRET\x01; Path=/", "Location: ws://u:TOPSECRET@h\x7f/", "Set-Cookie: sid=x\r\n TOPSECRET\x01"} {
		for _, status := range []string{"101 Switching Protocols", "403 Forbidden", "302 Found"} {
			t.Run(fmt.Sprintf("%.12s/%.3s", line, status), func(t *testing.T) {
				s, _ := scriptServer(t, func(_ *http.Request, accept string) string {
					return "HTTP/1.1 " + status + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n" + line + "\r\nContent-Length: 0\r\n\r\n"
				})
				_, err := websocket.Dial(context.Background(), s.URL, nil)
				if err == nil || strings.Contains(err.Error(), "TOPSECRET") {
					t.Fatalf("Dial = %v; want an error without the secret", err)
				}
				var he *websocket.HandshakeError
				if !errors.As(err, &he) {
					t.Errorf("Dial = %v (%T), want a *HandshakeError", err, err)
				}
			})
		}
	}
}
