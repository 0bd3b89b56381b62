package websocket_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket"
)

// TestProxyStallIsATimeout: a proxy that takes the request and never
// answers, bounded by Timeout or HandshakeTimeout, gives a timeout as
// every timeout is: a net.Error whose Timeout is true, matching
// os.ErrDeadlineExceeded, and still a *ProxyError. Bounded by Timeout it
// wrapped context.DeadlineExceeded and matched neither.
func TestProxyStallIsATimeout(t *testing.T) {
	for _, proxy := range []string{"http://proxy.test:3128", "socks5h://proxy.test:1080"} {
		for _, bound := range []string{"Timeout", "HandshakeTimeout"} {
			t.Run(proxy+"/"+bound, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					opts := &websocket.DialOptions{
						Proxy: websocket.ProxyURL(proxy),
						NetDialContext: func(context.Context, string, string) (net.Conn, error) {
							c, s := net.Pipe()
							go io.Copy(io.Discard, s) // reads the request, never answers
							return c, nil
						},
					}
					if bound == "Timeout" {
						opts.Timeout = 300 * time.Millisecond
					} else {
						opts.HandshakeTimeout = 300 * time.Millisecond
					}
					start := time.Now()
					_, err := websocket.Dial(context.Background(), "ws://target.test/", opts)
					var ne net.Error
					var pe *websocket.ProxyError
					if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &pe) {
						t.Errorf("Dial = %v; want a timeout matching os.ErrDeadlineExceeded that is a *ProxyError", err)
					}
					if d := time.Since(start); d != 300*time.Millisecond {
						t.Errorf("Dial returned after %v, want 300ms", d)
					}
				})
			})
		}
	}
}
