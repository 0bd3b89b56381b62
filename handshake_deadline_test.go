package websocket_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket"
)

// An uncancellable ctx (context.Background) makes the dial bound itself by
// connection deadlines alone, without a timer: each stage must still end at
// HandshakeTimeout.

// TestDialHandshakeTimeoutBackgroundSocket: over real TCP sockets, a wss
// server that accepts and never speaks TLS, an HTTP proxy that never
// answers CONNECT and an https proxy that never speaks TLS all end at
// HandshakeTimeout.
func TestDialHandshakeTimeoutBackgroundSocket(t *testing.T) {
	s := silentServer(t)
	addr := strings.TrimPrefix(s.URL, "ws://")
	proxyAt := func(raw string) func(*url.URL) (*url.URL, error) {
		return func(*url.URL) (*url.URL, error) { return url.Parse(raw) }
	}
	tests := []struct {
		name string
		url  string
		opts websocket.DialOptions
	}{
		{"TLS", "wss://" + addr, websocket.DialOptions{}},
		{"HTTP proxy", "ws://127.0.0.1:9/", websocket.DialOptions{Proxy: proxyAt("http://" + addr)}},
		{"https proxy", "ws://127.0.0.1:9/", websocket.DialOptions{Proxy: proxyAt("https://" + addr)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.HandshakeTimeout = 200 * time.Millisecond
			done := make(chan error, 1)
			go func() {
				_, err := websocket.Dial(context.Background(), tt.url, &opts)
				done <- err
			}()
			select {
			case err := <-done:
				wantTimeout(t, err)
				if !strings.Contains(err.Error(), "handshake timeout: not done within HandshakeTimeout") {
					t.Errorf("err = %q, want it to say that the handshake timed out", err)
				}
			case <-time.After(testTimeout):
				t.Fatal("Dial still running: HandshakeTimeout not enforced")
			}
		})
	}
}

// TestDialHandshakeTimeoutNetConnTLS: the TLS handshake over a given
// NetConn whose peer never speaks ends at HandshakeTimeout.
func TestDialHandshakeTimeoutNetConnTLS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cli, srv := net.Pipe()
		defer cli.Close()
		go func() {
			defer srv.Close()
			io.Copy(io.Discard, srv)
		}()
		start := time.Now()
		_, err := websocket.Dial(context.Background(), "wss://127.0.0.1:1/", &websocket.DialOptions{NetConn: cli})
		if d := time.Since(start); d != 30*time.Second {
			t.Errorf("Dial failed after %v, want the default 30s HandshakeTimeout", d)
		}
		wantTimeout(t, err)
		if !strings.Contains(err.Error(), "handshake timeout: not done within HandshakeTimeout") {
			t.Errorf("err = %q, want it to say that the handshake timed out", err)
		}
	})
}
