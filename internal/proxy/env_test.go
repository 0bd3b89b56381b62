package proxy

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestFromEnvironment(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		target string
		want   string // "" = direct
	}{
		{"nothing set", nil, "ws://example.com/", ""},
		{"http_proxy for ws", map[string]string{"http_proxy": "p1:3128"}, "ws://example.com/", "http://p1:3128"},
		{"http_proxy not for wss", map[string]string{"http_proxy": "p1:3128"}, "wss://example.com/", ""},
		{"https_proxy for wss", map[string]string{"https_proxy": "https://p2"}, "wss://example.com/", "https://p2:443"},
		{"https_proxy not for ws", map[string]string{"https_proxy": "p2"}, "ws://example.com/", ""},
		{"http and https targets", map[string]string{"https_proxy": "p2"}, "https://example.com/", "http://p2:80"},
		{"upper case", map[string]string{"HTTP_PROXY": "p3"}, "ws://example.com/", "http://p3:80"},
		{"upper case https", map[string]string{"HTTPS_PROXY": "socks5://p3"}, "wss://example.com/", "socks5://p3:1080"},
		{"lower wins", map[string]string{"http_proxy": "lower", "HTTP_PROXY": "upper"}, "ws://example.com/", "http://lower:80"},
		{"lower wins https", map[string]string{"https_proxy": "lower", "HTTPS_PROXY": "upper"}, "wss://example.com/", "http://lower:80"},
		{"empty lower falls back", map[string]string{"http_proxy": " ", "HTTP_PROXY": "upper"}, "ws://example.com/", "http://upper:80"},
		{"all_proxy ws", map[string]string{"all_proxy": "socks5h://a"}, "ws://example.com/", "socks5h://a:1080"},
		{"all_proxy wss", map[string]string{"ALL_PROXY": "socks5h://a"}, "wss://example.com/", "socks5h://a:1080"},
		{"specific beats all", map[string]string{"all_proxy": "a", "HTTPS_PROXY": "s"}, "wss://example.com/", "http://s:80"},
		{"all lower wins", map[string]string{"all_proxy": "a", "ALL_PROXY": "b"}, "ws://example.com/", "http://a:80"},
		{"credentials kept", map[string]string{"http_proxy": "http://u:p@p:1"}, "ws://example.com/", "http://u:p@p:1"},
		{"CGI ignores HTTP_PROXY", map[string]string{"REQUEST_METHOD": "GET", "HTTP_PROXY": "evil"}, "ws://example.com/", ""},
		{"CGI keeps http_proxy", map[string]string{"REQUEST_METHOD": "GET", "http_proxy": "good", "HTTP_PROXY": "evil"}, "ws://example.com/", "http://good:80"},
		{"CGI keeps HTTPS_PROXY", map[string]string{"REQUEST_METHOD": "GET", "HTTPS_PROXY": "good"}, "wss://example.com/", "http://good:80"},
		{"CGI falls to ALL_PROXY", map[string]string{"REQUEST_METHOD": "GET", "HTTP_PROXY": "evil", "ALL_PROXY": "all"}, "ws://example.com/", "http://all:80"},

		// loopback is never proxied from the environment
		{"localhost", map[string]string{"http_proxy": "p"}, "ws://localhost:8080/", ""},
		{"LOCALHOST.", map[string]string{"http_proxy": "p"}, "ws://LOCALHOST./", ""},
		{"sub.localhost", map[string]string{"http_proxy": "p"}, "ws://app.localhost/", ""},
		{"127.0.0.1", map[string]string{"http_proxy": "p"}, "ws://127.0.0.1:9/", ""},
		{"127.8.9.10", map[string]string{"https_proxy": "p"}, "wss://127.8.9.10/", ""},
		{"::1", map[string]string{"http_proxy": "p"}, "ws://[::1]:9/", ""},
		{"loopback even with no_proxy set", map[string]string{"http_proxy": "p", "no_proxy": "other.example"}, "ws://[::1]/", ""},
		{"not loopback", map[string]string{"http_proxy": "p"}, "ws://128.0.0.1/", "http://p:80"},

		// no_proxy
		{"no_proxy name", map[string]string{"http_proxy": "p", "no_proxy": "example.com"}, "ws://a.example.com/", ""},
		{"no_proxy other", map[string]string{"http_proxy": "p", "no_proxy": "example.com"}, "ws://badexample.com/", "http://p:80"},
		{"no_proxy port and a target's port with zeros", map[string]string{"http_proxy": "p", "no_proxy": "example.com:80"}, "ws://example.com:0080/", ""},
		{"no_proxy port with zeros", map[string]string{"http_proxy": "p", "no_proxy": "example.com:0080"}, "ws://example.com/", ""},
		{"no_proxy port with zeros, another port", map[string]string{"http_proxy": "p", "no_proxy": "example.com:0080"}, "ws://example.com:8080/", "http://p:80"},
		{"NO_PROXY", map[string]string{"http_proxy": "p", "NO_PROXY": "example.com"}, "ws://example.com/", ""},
		{"no_proxy lower wins", map[string]string{"http_proxy": "p", "no_proxy": "other.com", "NO_PROXY": "example.com"}, "ws://example.com/", "http://p:80"},
		{"no_proxy star", map[string]string{"https_proxy": "p", "no_proxy": "*"}, "wss://example.com/", ""},
		{"no_proxy default port ws", map[string]string{"http_proxy": "p", "no_proxy": "example.com:80"}, "ws://example.com/", ""},
		{"no_proxy default port wss", map[string]string{"https_proxy": "p", "no_proxy": "example.com:443"}, "wss://example.com/", ""},
		{"no_proxy port mismatch", map[string]string{"https_proxy": "p", "no_proxy": "example.com:80"}, "wss://example.com/", "http://p:80"},
		{"no_proxy explicit port", map[string]string{"http_proxy": "p", "no_proxy": "example.com:8080"}, "ws://example.com:8080/", ""},
		{"no_proxy cidr", map[string]string{"http_proxy": "p", "no_proxy": "192.168.0.0/16"}, "ws://192.168.4.5/", ""},
		{"no_proxy v6", map[string]string{"http_proxy": "p", "no_proxy": "[2001:db8::1]:8080"}, "ws://[2001:db8::1]:8080/", ""},
		{"no_proxy v6 other port", map[string]string{"http_proxy": "p", "no_proxy": "[2001:db8::1]:8080"}, "ws://[2001:db8::1]/", "http://p:80"},
		{"no_proxy v6 cidr", map[string]string{"http_proxy": "p", "no_proxy": "2001:db8::/32"}, "ws://[2001:db8::1]/", ""},
		{"no_proxy bypasses a bad proxy", map[string]string{"http_proxy": "ftp://p", "no_proxy": "*"}, "ws://example.com/", ""},
		{"upper-case target scheme", map[string]string{"https_proxy": "p"}, "WSS://example.com/", "http://p:80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			u, err := FromEnvironment(getenv, mustParseURL(t, tt.target))
			if err != nil {
				t.Fatalf("FromEnvironment: %v", err)
			}
			got := ""
			if u != nil {
				got = u.String()
			}
			if got != tt.want {
				t.Errorf("FromEnvironment(%s) = %q, want %q", tt.target, got, tt.want)
			}
		})
	}
}

func TestFromEnvironmentErrors(t *testing.T) {
	tests := []struct {
		env     map[string]string
		target  *url.URL
		wantMsg string
	}{
		{map[string]string{"http_proxy": "ftp://p"}, &url.URL{Scheme: "ws", Host: "h"}, `$http_proxy: unsupported proxy scheme "ftp"`},
		{map[string]string{"HTTPS_PROXY": "http://u:s3cret@p:x"}, &url.URL{Scheme: "wss", Host: "h"}, "$HTTPS_PROXY: invalid proxy URL"},
		{map[string]string{"all_proxy": "http://u:s3cret@[::1"}, &url.URL{Scheme: "wss", Host: "h"}, "$all_proxy: invalid proxy URL"},
		{nil, &url.URL{Scheme: "ftp", Host: "h"}, `unsupported target scheme "ftp"`},
		{nil, nil, "nil target URL"},
	}
	for _, tt := range tests {
		_, err := FromEnvironment(func(k string) string { return tt.env[k] }, tt.target)
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("FromEnvironment(%v, %v) error = %v, want *Error containing %q", tt.env, tt.target, err, tt.wantMsg)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}

func TestFixed(t *testing.T) {
	f := Fixed("socks5://u:p@proxy.local", "example.com", " 10.0.0.0/8 , [::1]:8080")
	tests := []struct {
		target, want string
	}{
		{"ws://other.com/", "socks5://u:p@proxy.local:1080"},
		{"wss://a.example.com/", ""},
		{"ws://badexample.com/", "socks5://u:p@proxy.local:1080"},
		{"ws://10.2.3.4/", ""},
		{"ws://localhost/", "socks5://u:p@proxy.local:1080"}, // loopback is proxied unless listed
		{"ws://127.0.0.1/", "socks5://u:p@proxy.local:1080"},
		{"ws://[::1]:8080/", ""},
		{"ws://[::1]:8081/", "socks5://u:p@proxy.local:1080"},
	}
	for _, tt := range tests {
		u, err := f(mustParseURL(t, tt.target))
		if err != nil {
			t.Fatalf("%s: %v", tt.target, err)
		}
		got := ""
		if u != nil {
			got = u.String()
			u.Host = "mutated" // must not affect later calls
		}
		if got != tt.want {
			t.Errorf("Fixed(...)(%s) = %q, want %q", tt.target, got, tt.want)
		}
	}

	bad := Fixed("gopher://u:s3cret@p")
	for range 2 {
		_, err := bad(mustParseURL(t, "ws://example.com/"))
		var e *Error
		if !errors.As(err, &e) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Fixed(bad) error = %v, want *Error without the password", err)
		}
	}
	if _, err := f(nil); err == nil {
		t.Error("nil target: no error")
	}
	if _, err := f(mustParseURL(t, "ftp://x/")); err == nil {
		t.Error("ftp target: no error")
	}
}
