package proxy

import (
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// NoProxy is a parsed no_proxy list: the targets that must be reached
// directly. The zero value matches nothing.
//
// Entries follow the conventions curl and Go's net/http share, made precise:
//   - "*" matches every target, and "*:8080" every target on port 8080;
//   - a host name matches itself and its subdomains on a label boundary:
//     "example.com", ".example.com" and "*.example.com" all match
//     "example.com" and "a.example.com", never "badexample.com";
//   - an IPv4 or IPv6 address matches that address (IPv4-mapped IPv6
//     addresses match their IPv4 form);
//   - a CIDR prefix ("10.0.0.0/8", "fd00::/8", "192.0.2.1/32", "::1/128")
//     matches the addresses inside it; host names are never resolved to be
//     compared with addresses or prefixes;
//   - a ":port" suffix ("example.com:8080", "10.0.0.1:443", "[::1]:8080")
//     limits the entry to that port.
//
// Matching ignores case, whitespace around entries and a trailing dot of a
// fully-qualified name; an internationalized name matches in its Unicode and
// its ASCII ("xn--") forms alike, in entries and targets. Entries that cannot be read are skipped, as other
// tools do, so one typo does not disable the whole list.
type NoProxy struct {
	all     bool
	entries []noProxyEntry
}

type noProxyEntry struct {
	any    bool         // "*:port": every host on port
	domain string       // lower-case name without leading or trailing dot; "" for an address entry
	prefix netip.Prefix // an address is stored as a full-length prefix
	port   string       // "" means any port
}

// ParseNoProxy reads no_proxy lists: each argument is itself a
// comma-separated list, so ParseNoProxy(os.Getenv("no_proxy")) and
// ParseNoProxy("a.example", "b.example") both work.
func ParseNoProxy(lists ...string) *NoProxy {
	n := new(NoProxy)
	for _, list := range lists {
		for e := range strings.SplitSeq(list, ",") {
			n.add(strings.ToLower(strings.TrimSpace(e)))
		}
	}
	return n
}

func (n *NoProxy) add(e string) {
	if e == "" {
		return
	}
	if e == "*" {
		n.all = true
		return
	}
	host, port := e, ""
	switch {
	case strings.HasPrefix(e, "["): // "[::1]" or "[::1]:8080"
		end := strings.IndexByte(e, ']')
		if end < 0 {
			return
		}
		host, port = e[1:end], e[end+1:]
		if port != "" {
			if port[0] != ':' {
				return
			}
			port = port[1:]
		}
	case strings.Count(e, ":") == 1: // "host:port"; a bare IPv6 address has two or more
		host, port, _ = strings.Cut(e, ":")
	}
	if port != "" {
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil || p == 0 {
			return
		}
		port = strconv.FormatUint(p, 10) // "0080" is port 80
	}
	if p, err := netip.ParsePrefix(host); err == nil {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p.Addr())).Masked()
		if p.IsValid() {
			n.entries = append(n.entries, noProxyEntry{prefix: p, port: port})
		}
		return
	}
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap().WithZone("")
		n.entries = append(n.entries, noProxyEntry{prefix: netip.PrefixFrom(a, a.BitLen()), port: port})
		return
	}
	if host == "*" && port != "" {
		n.entries = append(n.entries, noProxyEntry{any: true, port: port})
		return
	}
	host = strings.TrimPrefix(host, "*")
	host = strings.Trim(host, ".")
	if host == "" || strings.ContainsAny(host, "/*[]") {
		return
	}
	host, ok := asciiName(host)
	if !ok {
		return
	}
	host = strings.Trim(host, ".") // a dot the conversion made ("。", U+3002, is one)
	if host == "" {
		return
	}
	n.entries = append(n.entries, noProxyEntry{domain: host, port: port})
}

// asciiName returns the ASCII form of a host name, as a dial sends it
// ("bücher.example" is "xn--bcher-kva.example"), and false when a
// non-ASCII name is not a valid domain name.
func asciiName(host string) (string, bool) {
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			a, err := idna.Lookup.ToASCII(host)
			return strings.ToLower(a), err == nil && a != ""
		}
	}
	return host, true
}

// unmapBits is how many leading bits an IPv4-mapped IPv6 prefix loses when
// it is rewritten in its IPv4 form (::ffff:10.0.0.0/104 is 10.0.0.0/8).
func unmapBits(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}

// Match reports whether the target host (a name or an address, without
// brackets) on port must be reached directly.
func (n *NoProxy) Match(host, port string) bool {
	if n == nil {
		return false
	}
	if n.all {
		return true
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if a, ok := asciiName(host); ok {
		host = strings.TrimSuffix(a, ".")
	}
	addr, err := netip.ParseAddr(host)
	isAddr := err == nil
	addr = addr.Unmap().WithZone("")
	for _, e := range n.entries {
		if e.port != "" && e.port != port {
			continue
		}
		if e.any {
			return true
		}
		if e.domain == "" {
			if isAddr && e.prefix.Contains(addr) {
				return true
			}
			continue
		}
		if !isAddr && (host == e.domain ||
			strings.HasSuffix(host, e.domain) && host[len(host)-len(e.domain)-1] == '.') {
			return true
		}
	}
	return false
}

// IsLoopback reports whether host names this machine: "localhost", a name
// under ".localhost" (reserved for loopback by RFC 6761 §6.3), or an address
// in 127.0.0.0/8 or ::1. Such targets are never proxied from the
// environment, as in Go's net/http: a proxy cannot reach our loopback.
func IsLoopback(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
