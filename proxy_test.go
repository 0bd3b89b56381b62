package websocket

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/proxy/proxytest"
)

// proxyEnvVars are every variable ProxyFromEnvironment reads.
var proxyEnvVars = []string{
	"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
	"no_proxy", "NO_PROXY", "REQUEST_METHOD",
}

func TestProxyFromEnvironment(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		target string
		want   string // "" = direct
	}{
		{"none", nil, "wss://example.com/", ""},
		{"ws uses http_proxy", map[string]string{"http_proxy": "p:3128", "https_proxy": "s"}, "ws://example.com/", "http://p:3128"},
		{"wss uses https_proxy", map[string]string{"http_proxy": "p", "https_proxy": "https://s"}, "wss://example.com/", "https://s:443"},
		{"all_proxy", map[string]string{"ALL_PROXY": "socks5h://a"}, "wss://example.com/", "socks5h://a:1080"},
		{"lower case wins", map[string]string{"https_proxy": "lower", "HTTPS_PROXY": "upper"}, "wss://example.com/", "http://lower:80"},
		{"no_proxy domain", map[string]string{"http_proxy": "p", "no_proxy": ".example.com"}, "ws://example.com/", ""},
		{"no_proxy label boundary", map[string]string{"http_proxy": "p", "NO_PROXY": "example.com"}, "ws://badexample.com/", "http://p:80"},
		{"no_proxy port", map[string]string{"https_proxy": "p", "no_proxy": "example.com:443"}, "wss://example.com/", ""},
		{"no_proxy cidr", map[string]string{"https_proxy": "p", "no_proxy": "2001:db8::/32"}, "wss://[2001:db8::7]/", ""},
		{"localhost direct", map[string]string{"http_proxy": "p"}, "ws://localhost:8080/", ""},
		{"loopback direct", map[string]string{"http_proxy": "p"}, "ws://127.0.0.2/", ""},
		{"ipv6 loopback direct", map[string]string{"http_proxy": "p"}, "ws://[::1]/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range proxyEnvVars {
				t.Setenv(k, tt.env[k]) // also hides the machine's own settings
			}
			target, _ := url.Parse(tt.target)
			u, err := ProxyFromEnvironment(target)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if u != nil {
				got = u.String()
			}
			if got != tt.want {
				t.Errorf("ProxyFromEnvironment(%s) = %q, want %q", tt.target, got, tt.want)
			}
		})
	}
}

func TestProxyFromEnvironmentInvalid(t *testing.T) {
	for _, k := range proxyEnvVars {
		t.Setenv(k, "")
	}
	t.Setenv("https_proxy", "gopher://user:s3cret@proxy")
	_, err := ProxyFromEnvironment(&url.URL{Scheme: "wss", Host: "example.com"})
	var pe *ProxyError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v, want *ProxyError", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "websocket: proxy: $https_proxy: ") || strings.Contains(msg, "s3cret") {
		t.Errorf("message %q", msg)
	}
}

func TestProxyURL(t *testing.T) {
	f := ProxyURL("socks5://u:p@proxy.local", "example.com, 10.0.0.0/8")
	tests := []struct{ target, want string }{
		{"wss://other.org/", "socks5://u:p@proxy.local:1080"},
		{"wss://a.example.com/", ""},
		{"ws://10.9.8.7:8080/", ""},
		{"ws://localhost/", "socks5://u:p@proxy.local:1080"},
		{"ws://127.0.0.1/", "socks5://u:p@proxy.local:1080"},
	}
	for _, tt := range tests {
		target, _ := url.Parse(tt.target)
		u, err := f(target)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if u != nil {
			got = u.String()
		}
		if got != tt.want {
			t.Errorf("ProxyURL(...)(%s) = %q, want %q", tt.target, got, tt.want)
		}
	}
	if u, err := ProxyURL("proxy:3128")(&url.URL{Scheme: "ws", Host: "example.com"}); err != nil || u.String() != "http://proxy:3128" {
		t.Errorf("scheme-less proxy: %v, %v", u, err)
	}
	_, err := ProxyURL("ftp://u:s3cret@p")(&url.URL{Scheme: "ws", Host: "example.com"})
	var pe *ProxyError
	if !errors.As(err, &pe) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("invalid proxy: %v, want *ProxyError without the password", err)
	}
}

func TestDialProxy(t *testing.T) {
	echo := proxytest.Echo(t, "127.0.0.1")
	for _, scheme := range []string{"http", "socks4", "socks4a", "socks5", "socks5h"} {
		t.Run(scheme, func(t *testing.T) {
			handler := proxytest.HTTPConnect(proxytest.HTTPOptions{})
			if strings.HasPrefix(scheme, "socks4") {
				handler = proxytest.SOCKS4(proxytest.SOCKSOptions{})
			} else if strings.HasPrefix(scheme, "socks5") {
				handler = proxytest.SOCKS5(proxytest.SOCKSOptions{})
			}
			srv := proxytest.Start(t, "127.0.0.1", handler)
			p, _ := url.Parse(scheme + "://" + srv.Addr)
			conn, err := dialProxy(context.Background(), p, echo.Addr, new(net.Dialer).DialContext, nil, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, "ping"); err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 4)
			if _, err := io.ReadFull(conn, b); err != nil || string(b) != "ping" {
				t.Fatalf("read %q, %v", b, err)
			}
		})
	}
}

func TestDialProxyErrors(t *testing.T) {
	silent := proxytest.Start(t, "127.0.0.1", func(_ *proxytest.Server, c net.Conn) { io.Copy(io.Discard, c) })
	auth := proxytest.Start(t, "127.0.0.1", proxytest.HTTPConnect(proxytest.HTTPOptions{Auth: proxytest.Auth{User: "u", Password: "right"}}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name, proxy string
		timeout     time.Duration
		wantMsg     string
		timeoutErr  bool
	}{
		{"refused", "socks5://" + refused, 0, "cannot reach socks5://" + refused, false},
		{"timeout", "http://" + silent.Addr, 50 * time.Millisecond, "timed out after 50ms", true},
		{"407", "http://u:wrong-s3cret@" + auth.Addr, 0, "407 Proxy Authentication Required", false},
		{"bad scheme", "ftp://" + refused, 0, `unsupported proxy scheme "ftp"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := url.Parse(tt.proxy)
			_, err := dialProxy(context.Background(), p, "127.0.0.1:9", new(net.Dialer).DialContext, nil, tt.timeout)
			var pe *ProxyError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v, want *ProxyError", err, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "websocket: proxy: ") || !strings.Contains(msg, tt.wantMsg) || strings.Contains(msg, "s3cret") {
				t.Errorf("message %q, want it to contain %q (and no password)", msg, tt.wantMsg)
			}
			var ne net.Error
			isTimeout := errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()
			if isTimeout != tt.timeoutErr {
				t.Errorf("timeout = %v, want %v (%v)", isTimeout, tt.timeoutErr, err)
			}
			if ne, ok := err.(net.Error); !ok || ne.Timeout() != tt.timeoutErr || pe.Temporary() != tt.timeoutErr {
				t.Errorf("err.(net.Error) = %v, %v; want a net.Error with Timeout() and Temporary() = %v", ne, ok, tt.timeoutErr)
			}
			// The documented way to tell a proxy's refusal by its status.
			var se *ProxyStatusError
			if isStatus := errors.As(err, &se); isStatus != (tt.name == "407") || isStatus && (se.StatusCode != 407 || !strings.Contains(se.Header.Get("Proxy-Authenticate"), "Basic")) {
				t.Errorf("errors.As(*ProxyStatusError) = %t, %+v; want the 407 with its Proxy-Authenticate only for the 407", isStatus, se)
			}
		})
	}
}
