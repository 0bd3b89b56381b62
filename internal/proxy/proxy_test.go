package proxy

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"proxy.local:3128", "http://proxy.local:3128"},
		{"proxy.local", "http://proxy.local:80"},
		{"  http://proxy.local  ", "http://proxy.local:80"},
		{"HTTP://Proxy.Local:8080", "http://Proxy.Local:8080"},
		{"https://proxy.local", "https://proxy.local:443"},
		{"https://proxy.local:8443/ignored/path?q=1#f", "https://proxy.local:8443"},
		{"socks4://p", "socks4://p:1080"},
		{"socks4a://p:1", "socks4a://p:1"},
		{"socks5://p", "socks5://p:1080"},
		{"SOCKS5H://p", "socks5h://p:1080"},
		{"user:pa%3Ass@p:3128", "http://user:pa%3Ass@p:3128"},
		{"socks5://u:p@[::1]", "socks5://u:p@[::1]:1080"},
		{"[::1]:3128", "http://[::1]:3128"},
		{"[2001:db8::1]", "http://[2001:db8::1]:80"},
		{"10.0.0.1:3128", "http://10.0.0.1:3128"},
	}
	for _, tt := range tests {
		u, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := u.String(); got != tt.want {
			t.Errorf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in, wantMsg string
	}{
		{"", "empty proxy URL"},
		{"   ", "empty proxy URL"},
		{"ftp://p", `unsupported proxy scheme "ftp"`},
		{"socks6://p", `unsupported proxy scheme "socks6"`},
		{"http://", "has no host"},
		{"http://:8080", "has no host"},
		{"http://p:0", `invalid proxy port "0"`},
		{"http://p:65536", `invalid proxy port "65536"`},
		{"http://p:abc", "invalid proxy URL"},
		{"http://user:s3cret@p:abc", "invalid proxy URL"},
		{"http://user:s3cret word@p", "invalid proxy URL"},
		{"http://user:s3cret%zz@p", "invalid proxy URL"},
		{"http://[::1", "invalid proxy URL"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q) error = %v, want *Error", tt.in, err)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "websocket: proxy: ") || !strings.Contains(msg, tt.wantMsg) {
			t.Errorf("Parse(%q) error = %q, want it to contain %q", tt.in, msg, tt.wantMsg)
		}
		if strings.Contains(msg, "s3cret") {
			t.Errorf("Parse(%q) error leaks the password: %q", tt.in, msg)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in   *url.URL
		want string
	}{
		{&url.URL{Host: "p"}, "http://p:80"},
		{&url.URL{Host: "p:3128"}, "http://p:3128"},
		{&url.URL{Scheme: "SOCKS5", Host: "p"}, "socks5://p:1080"},
		{&url.URL{Scheme: "https", Host: "[::1]", User: url.UserPassword("u", "p")}, "https://u:p@[::1]:443"},
		{mustParseURL(t, "proxy.local:3128"), "http://proxy.local:3128"}, // scheme "proxy.local", opaque "3128"
	}
	for _, tt := range tests {
		u, err := Normalize(tt.in)
		if err != nil {
			t.Errorf("Normalize(%#v): %v", tt.in, err)
			continue
		}
		if got := u.String(); got != tt.want {
			t.Errorf("Normalize(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, in := range []*url.URL{nil, {}, {Scheme: "gopher", Host: "p"}, {Scheme: "http", Host: "p:x"}} {
		if _, err := Normalize(in); err == nil {
			t.Errorf("Normalize(%#v) = nil error", in)
		}
	}
}

func mustParseURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestNormalizeHostForms(t *testing.T) {
	tests := []struct {
		host, want string
	}{
		{"p:", "http://p:80"},
		{"[::1]", "http://[::1]:80"},
		{"[::1]:1", "http://[::1]:1"},
		{"::1", ""},
		{"p:x", ""},
		{"[::1]:", "http://[::1]:80"},
	}
	for _, tt := range tests {
		u, err := Normalize(&url.URL{Scheme: "http", Host: tt.host})
		got := ""
		if err == nil {
			got = u.String()
		}
		if got != tt.want {
			t.Errorf("Normalize(Host %q) = %q, %v; want %q", tt.host, got, err, tt.want)
		}
	}
}
