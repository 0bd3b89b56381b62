package websocket_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/wsclient/websocket"
)

// A no_proxy entry written as the dial URL spells an internationalized host
// reaches that host directly: the dial matched the host's ASCII form
// ("xn--bcher-kva.example") against the entry's Unicode one and went
// through the proxy, though ProxyFromEnvironment said "direct". And the
// other way round: ProxyURL's list with the ASCII form and a Unicode URL.
func TestNoProxyInternationalizedName(t *testing.T) {
	for _, tc := range []struct{ noProxy, target string }{
		{"bücher.example", "ws://bücher.example/"},
		{".bücher.example", "ws://www.bücher.example/"},
		{"bücher.example:8080", "ws://bücher.example:8080/"},
		{"xn--bcher-kva.example", "ws://bücher.example/"},
		{"bücher.example\u3002", "ws://bücher.example\u3002/"}, // an ideographic full stop, a dot once converted
	} {
		t.Run(tc.noProxy, func(t *testing.T) {
			for _, v := range []string{"HTTP_PROXY", "all_proxy", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD"} {
				t.Setenv(v, "")
			}
			t.Setenv("http_proxy", "http://proxy.invalid:3128")
			t.Setenv("no_proxy", tc.noProxy)
			u, _ := url.Parse(tc.target)
			if p, err := websocket.ProxyFromEnvironment(u); err != nil || p != nil {
				t.Fatalf("ProxyFromEnvironment(%s) = %v, %v; want nil (direct)", tc.target, p, err)
			}
			if p, err := websocket.ProxyURL("http://proxy.invalid:3128", tc.noProxy)(u); err != nil || p != nil {
				t.Fatalf("ProxyURL(..., %q)(%s) = %v, %v; want nil (direct)", tc.noProxy, tc.target, p, err)
			}
			var mu sync.Mutex
			var dialed []string
			opts := &websocket.DialOptions{ // Proxy nil: ProxyFromEnvironment
				Timeout: time.Second,
				NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					mu.Lock()
					dialed = append(dialed, addr)
					mu.Unlock()
					return nil, errors.New("test: no network")
				},
			}
			_, err := websocket.Dial(context.Background(), tc.target, opts)
			var pe *websocket.ProxyError
			mu.Lock()
			defer mu.Unlock()
			if errors.As(err, &pe) || len(dialed) != 1 || dialed[0] == "proxy.invalid:3128" {
				t.Errorf("Dial(%s): dialed %q, err %v; want a direct dial of the target", tc.target, dialed, err)
			}
		})
	}
}
