package proxy

import "testing"

func TestNoProxyMatch(t *testing.T) {
	tests := []struct {
		list       string
		host, port string
		want       bool
	}{
		// empty lists and wildcards
		{"", "example.com", "80", false},
		{" , ,", "example.com", "80", false},
		{"*", "example.com", "80", true},
		{"*", "10.0.0.1", "443", true},
		{"*:8080", "example.com", "8080", true}, // every host, on that port only
		{"*:8080", "10.0.0.1", "8080", true},
		{"*:8080", "example.com", "80", false},
		{"*:0", "example.com", "80", false}, // no such port: skipped
		{" * ", "::1", "443", true},
		{"a.example,*", "example.com", "80", true},
		{"*.", "example.com", "80", false}, // not the wildcard
		// host names: label boundary
		{"example.com", "example.com", "80", true},
		{"example.com", "a.example.com", "80", true},
		{"example.com", "a.b.example.com", "443", true},
		{"example.com", "badexample.com", "80", false},
		{"example.com", "example.com.evil", "80", false},
		{"example.com", "com", "80", false},
		{".example.com", "example.com", "80", true},
		{".example.com", "a.example.com", "80", true},
		{".example.com", "badexample.com", "80", false},
		{"*.example.com", "a.example.com", "80", true},
		{"*.example.com", "example.com", "80", true},
		{"*.example.com", "badexample.com", "80", false},
		{"example.com.", "a.example.com", "80", true},
		{"example.com", "a.example.com.", "80", true},
		{"a.example.com", "example.com", "80", false},
		// case and whitespace
		{"  EXAMPLE.com  ", "a.Example.COM", "80", true},
		{"foo.test,\texample.com\t,bar.test", "example.com", "80", true},
		// ports
		{"example.com:8080", "example.com", "8080", true},
		{"example.com:8080", "a.example.com", "8080", true},
		{"example.com:8080", "example.com", "80", false},
		{".example.com:443", "a.example.com", "443", true},
		{"example.com:0", "example.com", "80", false},   // invalid entry, skipped
		{"example.com:abc", "example.com", "80", false}, // invalid entry, skipped
		// IPv4
		{"10.1.2.3", "10.1.2.3", "80", true},
		{"10.1.2.3", "10.1.2.4", "80", false},
		{"10.1.2.3:443", "10.1.2.3", "443", true},
		{"10.1.2.3:443", "10.1.2.3", "80", false},
		{"10.1.2.3", "::ffff:10.1.2.3", "80", true},
		{"::ffff:10.1.2.3", "10.1.2.3", "80", true},
		{"10.1.2.3", "10.1.2.3.example.com", "80", false},
		{"1.2.3", "1.2.3.4", "80", false},
		// IPv6
		{"::1", "::1", "80", true},
		{"2001:db8::1", "2001:DB8:0:0::1", "80", true},
		{"2001:db8::1", "2001:db8::2", "80", false},
		{"[2001:db8::1]", "2001:db8::1", "80", true},
		{"[2001:db8::1]:8080", "2001:db8::1", "8080", true},
		{"[2001:db8::1]:8080", "2001:db8::1", "80", false},
		{"[2001:db8::1]x", "2001:db8::1", "80", false}, // malformed, skipped
		{"[2001:db8::1", "2001:db8::1", "80", false},   // malformed, skipped
		{"fe80::1", "fe80::1%eth0", "80", true},
		// CIDR
		{"10.0.0.0/8", "10.200.3.4", "80", true},
		{"10.0.0.0/8", "11.0.0.1", "80", false},
		{"10.1.2.3/8", "10.9.9.9", "80", true}, // host bits ignored
		{"192.168.1.1/32", "192.168.1.1", "80", true},
		{"192.168.1.1/32", "192.168.1.2", "80", false},
		{"0.0.0.0/0", "8.8.8.8", "80", true},
		{"0.0.0.0/0", "2001:db8::1", "80", false},
		{"10.0.0.0/8:443", "10.1.1.1", "443", true},
		{"10.0.0.0/8:443", "10.1.1.1", "80", false},
		{"2001:db8::/32", "2001:db8:ffff::1", "80", true},
		{"2001:db8::/32", "2001:db9::1", "80", false},
		{"2001:db8::1/128", "2001:db8::1", "80", true},
		{"2001:db8::1/128", "2001:db8::2", "80", false},
		{"[2001:db8::/32]:443", "2001:db8::5", "443", true},
		{"[2001:db8::/32]:443", "2001:db8::5", "80", false},
		{"::ffff:10.0.0.0/104", "10.1.1.1", "80", true},
		{"10.0.0.0/33", "10.0.0.1", "80", false}, // invalid, skipped
		{"10.0.0.0/8", "example.com", "80", false},
		// internationalized names: the Unicode and the ASCII form alike
		{"bücher.example", "xn--bcher-kva.example", "80", true},
		{"xn--bcher-kva.example", "bücher.example", "80", true},
		{".BÜCHER.example", "www.xn--bcher-kva.example", "80", true},
		{"bücher.example:8080", "xn--bcher-kva.example", "8080", true},
		{"bücher.example:8080", "xn--bcher-kva.example", "80", false},
		{"bücher.example", "xn--bcher-kva.example.evil", "80", false},
		{"bücher.example", "bcher.example", "80", false},
		{"bücher.example\u3002", "xn--bcher-kva.example.", "80", true}, // an ideographic full stop ends it
		{"\u3002bücher.example", "www.xn--bcher-kva.example", "80", true},
		{"bücher.example", "bücher.example\u3002", "80", true},
		// names never match addresses and vice versa (no DNS)
		{"localhost", "127.0.0.1", "80", false},
		{"127.0.0.1", "localhost", "80", false},
	}
	for _, tt := range tests {
		if got := ParseNoProxy(tt.list).Match(tt.host, tt.port); got != tt.want {
			t.Errorf("ParseNoProxy(%q).Match(%q, %q) = %v, want %v", tt.list, tt.host, tt.port, got, tt.want)
		}
	}
}

func TestNoProxySeveralLists(t *testing.T) {
	np := ParseNoProxy("a.example", "b.example, 10.0.0.0/8", "")
	for _, host := range []string{"a.example", "x.b.example", "10.1.1.1"} {
		if !np.Match(host, "80") {
			t.Errorf("Match(%q) = false", host)
		}
	}
	if np.Match("c.example", "80") {
		t.Error("Match(c.example) = true")
	}
	var nilNP *NoProxy
	if nilNP.Match("a.example", "80") || new(NoProxy).Match("a.example", "80") {
		t.Error("empty NoProxy matched")
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LOCALHOST", true},
		{"localhost.", true},
		{"app.localhost", true},
		{"localhost.example.com", false},
		{"notlocalhost", false},
		{"127.0.0.1", true},
		{"127.255.0.9", true},
		{"::1", true},
		{"::ffff:127.0.0.1", true},
		{"128.0.0.1", false},
		{"::2", false},
		{"0.0.0.0", false},
		{"example.com", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsLoopback(tt.host); got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}
