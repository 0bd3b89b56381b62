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
		// The environment variables and no_proxy rules in detail.
		{"ws ignores https_proxy", map[string]string{"https_proxy": "s:1"}, "ws://example.com/", ""},
		{"wss ignores http_proxy", map[string]string{"http_proxy": "p:1"}, "wss://example.com/", ""},
		{"all_proxy for ws", map[string]string{"all_proxy": "a:1"}, "ws://example.com/", "http://a:1"},
		{"all_proxy for wss", map[string]string{"all_proxy": "a:1"}, "wss://example.com/", "http://a:1"},
		{"upper-case HTTP_PROXY", map[string]string{"HTTP_PROXY": "up:1"}, "ws://example.com/", "http://up:1"},
		{"upper-case HTTPS_PROXY", map[string]string{"HTTPS_PROXY": "up:1"}, "wss://example.com/", "http://up:1"},
		{"lower-case http_proxy wins", map[string]string{"http_proxy": "low:1", "HTTP_PROXY": "up:1"}, "ws://example.com/", "http://low:1"},
		{"lower-case all_proxy wins", map[string]string{"all_proxy": "low:1", "ALL_PROXY": "up:1"}, "ws://example.com/", "http://low:1"},
		{"lower-case no_proxy wins", map[string]string{"http_proxy": "p:1", "no_proxy": "other.org", "NO_PROXY": "example.com"}, "ws://example.com/", "http://p:1"},
		{"upper-case NO_PROXY alone", map[string]string{"http_proxy": "p:1", "NO_PROXY": "example.com"}, "ws://example.com/", ""},
		{"no_proxy *", map[string]string{"http_proxy": "p:1", "no_proxy": "*"}, "ws://example.com/", ""},
		{"no_proxy name matches itself", map[string]string{"http_proxy": "p:1", "no_proxy": "example.com"}, "ws://example.com/", ""},
		{"no_proxy name matches a subdomain", map[string]string{"http_proxy": "p:1", "no_proxy": "example.com"}, "ws://a.example.com/", ""},
		{"no_proxy .name matches a subdomain", map[string]string{"http_proxy": "p:1", "no_proxy": ".example.com"}, "ws://a.b.example.com/", ""},
		{"no_proxy .name matches the name", map[string]string{"http_proxy": "p:1", "no_proxy": ".example.com"}, "ws://example.com/", ""},
		{"no_proxy never badexample.com", map[string]string{"http_proxy": "p:1", "no_proxy": "example.com"}, "ws://badexample.com/", "http://p:1"},
		{"no_proxy .name never badexample.com", map[string]string{"http_proxy": "p:1", "no_proxy": ".example.com"}, "ws://badexample.com/", "http://p:1"},
		{"no_proxy list with spaces", map[string]string{"http_proxy": "p:1", "no_proxy": "a.org, example.com ,b.org"}, "ws://example.com/", ""},
		{"no_proxy IPv4", map[string]string{"http_proxy": "p:1", "no_proxy": "10.1.2.3"}, "ws://10.1.2.3/", ""},
		{"no_proxy IPv4 other address", map[string]string{"http_proxy": "p:1", "no_proxy": "10.1.2.3"}, "ws://10.1.2.4/", "http://p:1"},
		{"no_proxy IPv6", map[string]string{"http_proxy": "p:1", "no_proxy": "2001:db8::1"}, "ws://[2001:db8::1]/", ""},
		{"no_proxy IPv6 bracketed", map[string]string{"http_proxy": "p:1", "no_proxy": "[2001:db8::1]"}, "ws://[2001:db8::1]/", ""},
		{"no_proxy IPv4 CIDR", map[string]string{"http_proxy": "p:1", "no_proxy": "10.0.0.0/8"}, "ws://10.200.3.4/", ""},
		{"no_proxy IPv4 CIDR outside", map[string]string{"http_proxy": "p:1", "no_proxy": "10.0.0.0/8"}, "ws://11.0.0.1/", "http://p:1"},
		{"no_proxy IPv4 /32", map[string]string{"http_proxy": "p:1", "no_proxy": "192.0.2.7/32"}, "ws://192.0.2.7/", ""},
		{"no_proxy IPv4 /32 other", map[string]string{"http_proxy": "p:1", "no_proxy": "192.0.2.7/32"}, "ws://192.0.2.8/", "http://p:1"},
		{"no_proxy IPv6 /128", map[string]string{"http_proxy": "p:1", "no_proxy": "2001:db8::5/128"}, "ws://[2001:db8::5]/", ""},
		{"no_proxy IPv6 /128 other", map[string]string{"http_proxy": "p:1", "no_proxy": "2001:db8::5/128"}, "ws://[2001:db8::6]/", "http://p:1"},
		{"no_proxy port matches", map[string]string{"http_proxy": "p:1", "no_proxy": "example.com:8080"}, "ws://example.com:8080/", ""},
		{"no_proxy port limits", map[string]string{"http_proxy": "p:1", "no_proxy": "example.com:8080"}, "ws://example.com/", "http://p:1"},
		{"no_proxy port default ws", map[string]string{"http_proxy": "p:1", "no_proxy": "example.com:80"}, "ws://example.com/", ""},
		{"no_proxy IP with port limits", map[string]string{"http_proxy": "p:1", "no_proxy": "10.1.2.3:9000"}, "ws://10.1.2.3:9001/", "http://p:1"},
		{"no_proxy IP with port matches", map[string]string{"http_proxy": "p:1", "no_proxy": "10.1.2.3:9000"}, "ws://10.1.2.3:9000/", ""},
		{"no_proxy IPv6 with port matches", map[string]string{"http_proxy": "p:1", "no_proxy": "[2001:db8::1]:8080"}, "ws://[2001:db8::1]:8080/", ""},
		{"no_proxy IPv6 with port limits", map[string]string{"http_proxy": "p:1", "no_proxy": "[2001:db8::1]:8080"}, "ws://[2001:db8::1]:9090/", "http://p:1"},
		{"no_proxy .name with port matches", map[string]string{"http_proxy": "p:1", "no_proxy": ".example.com:8080"}, "ws://a.example.com:8080/", ""},
		{"no_proxy .name with port limits", map[string]string{"http_proxy": "p:1", "no_proxy": ".example.com:8080"}, "ws://a.example.com:8081/", "http://p:1"},
		{"no_proxy port default wss", map[string]string{"https_proxy": "p:1", "no_proxy": "example.com:443"}, "wss://example.com/", ""},
		{"no_proxy case-insensitive", map[string]string{"http_proxy": "p:1", "no_proxy": "EXAMPLE.com"}, "ws://a.Example.COM/", ""},
		{"localhost despite empty no_proxy", map[string]string{"http_proxy": "p:1", "no_proxy": "other.org"}, "ws://localhost/", ""},
		{"LOCALHOST upper case", map[string]string{"http_proxy": "p:1"}, "ws://LOCALHOST:9/", ""},
		{"127.0.0.1", map[string]string{"https_proxy": "p:1"}, "wss://127.0.0.1:8443/", ""},
		{"127.255.255.254", map[string]string{"http_proxy": "p:1"}, "ws://127.255.255.254/", ""},
		{"::1 with all_proxy", map[string]string{"all_proxy": "p:1"}, "wss://[::1]:9/", ""},
		{"no scheme, no port: http and 80", map[string]string{"http_proxy": "p"}, "ws://example.com/", "http://p:80"},
		{"http scheme, no port: 80", map[string]string{"http_proxy": "http://p"}, "ws://example.com/", "http://p:80"},
		{"socks5, no port: 1080", map[string]string{"http_proxy": "socks5://p"}, "ws://example.com/", "socks5://p:1080"},
		{"socks4, no port: 1080", map[string]string{"http_proxy": "socks4://p"}, "ws://example.com/", "socks4://p:1080"},
		{"socks4a, no port: 1080", map[string]string{"http_proxy": "socks4a://p"}, "ws://example.com/", "socks4a://p:1080"},
		{"https, no port: 443", map[string]string{"https_proxy": "https://p"}, "wss://example.com/", "https://p:443"},
		{"credentials kept", map[string]string{"http_proxy": "http://u:pw@p:3128"}, "ws://example.com/", "http://u:pw@p:3128"},
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
