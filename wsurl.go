package websocket

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// The URL of a dial, read by every stage: the address to dial, the Host
// and Origin headers, the origin that decides where secrets go.

// parseWSURL parses a ws or wss URL.
func parseWSURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("websocket: bad URL: %w", redactURLError(err, raw))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("websocket: bad URL %q: scheme must be ws or wss", shownURL(u, raw))
	}
	if err := normalizeHost(u); err != nil {
		return nil, fmt.Errorf("websocket: bad URL %q: %w", shownURL(u, raw), err)
	}
	return u, nil
}

// shownURL renders u, parsed from raw, for an error without its password:
// an opaque URL ("ws:user:password@host", no "//") is redacted as raw.
func shownURL(u *url.URL, raw string) string {
	if u.Opaque != "" {
		return redactRawURL(raw)
	}
	return redactURL(u)
}

// normalizeHost checks u's host and puts it in the form DNS resolves,
// certificates name and the Host header carries. A name that is not ASCII
// (an internationalized domain name such as bücher.example) takes its ASCII
// form (xn--bcher-kva.example) by IDNA's lookup rules, as browsers do. A
// name must then hold only what RFC 3986 allows in one once decoded
// (letters, digits, "-._~!$&'()*+,;="): url.Parse lets '"', '<', '>' and a
// decoded "%25" through, which no server's name has and HTTP/2 refuses in
// :authority. An IPv6 zone ("%25eth0") must be a plain interface name or
// number (letters, digits, "-._~").
func normalizeHost(u *url.URL) error {
	host := u.Hostname()
	if host == "" {
		return errors.New("no host")
	}
	if p := u.Port(); p != "" {
		// url.Parse takes any digits: a port past 65535, or 0, is no
		// address, and another attempt would only repeat the error.
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return fmt.Errorf("invalid port %q", p)
		}
		if cp := strconv.FormatUint(n, 10); cp != p {
			// "0080" is port 80: the default port, left out of Host and
			// Origin, and one origin with ":80".
			u.Host = u.Host[:len(u.Host)-len(p)] + cp
		}
	}
	if strings.HasPrefix(u.Host, "[") {
		if _, zone, ok := strings.Cut(host, "%"); ok && !allBytes(zone, "-._~") {
			return fmt.Errorf("invalid IPv6 zone %q", zone)
		}
		return nil
	}
	ascii := host
	if !isASCII(host) {
		var err error
		if ascii, err = idna.Lookup.ToASCII(host); err != nil {
			return fmt.Errorf("host is not a valid domain name: %w", err)
		}
		if ascii == "" {
			// Only characters IDNA drops, such as a soft hyphen:
			// dialing "" would reach this machine.
			return fmt.Errorf("host %q is empty as a domain name", host)
		}
	}
	if !allBytes(ascii, "-._~!$&'()*+,;=") {
		return fmt.Errorf("invalid host %q", ascii)
	}
	if ascii != host {
		if p := u.Port(); p != "" {
			u.Host = net.JoinHostPort(ascii, p)
		} else {
			u.Host = ascii
		}
	}
	return nil
}

// allBytes reports whether every byte of s is an ASCII letter or digit or
// one of extra.
func allBytes(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// isASCII reports whether s is all ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// hostPort returns u's host and port, the default port filled in.
func hostPort(u *url.URL) (host, port string) {
	host, port = u.Hostname(), u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "wss" {
			port = "443"
		}
	}
	return host, port
}

// dialAddr is net.JoinHostPort(host, port), which u.Host already is when the
// URL names the port (the common case, saving an allocation).
func dialAddr(u *url.URL, host, port string) string {
	n := len(host) + 1 + len(port)
	if strings.IndexByte(host, ':') >= 0 {
		n += 2 // [IPv6]
	}
	if u.Port() != "" && len(u.Host) == n {
		return u.Host
	}
	return net.JoinHostPort(host, port)
}

// appendHostHeader appends host[:port] for the Host and Origin headers: the
// port only when it is not the scheme's default; IPv6 in brackets, without
// a zone ("fe80::1%eth0" is sent as "[fe80::1]": it means nothing to the
// server, and RFC 6874 has clients remove it from what they send).
func appendHostHeader(b []byte, u *url.URL) []byte {
	host, port := hostPort(u)
	host = withoutZone(host)
	if strings.Contains(host, ":") {
		b = append(b, '[')
		b = append(b, host...)
		b = append(b, ']')
	} else {
		b = append(b, host...)
	}
	if (u.Scheme == "ws" && port == "80") || (u.Scheme == "wss" && port == "443") {
		return b
	}
	b = append(b, ':')
	return append(b, port...)
}

// withoutZone is host without an IPv6 zone ("fe80::1%eth0" → "fe80::1"):
// the zone names an interface of this machine, for the dial alone. (Only
// an IPv6 address has a '%': normalizeHost refuses one in a name.)
func withoutZone(host string) string {
	if i := strings.IndexByte(host, '%'); i >= 0 {
		return host[:i]
	}
	return host
}

// originOf is u's origin (scheme, lower-case host, port), which decides
// where secrets go and which HTTP/2 connections a dial may share.
func originOf(u *url.URL) string {
	h, p := hostPort(u)
	return u.Scheme + "://" + strings.ToLower(h) + ":" + p
}

// appendRequestTarget appends u's path and query as a request line carries
// them: the path with its escapes as written and the bytes a path may not
// hold escaped ("/" when empty), the query as a browser sends it. url.Parse keeps a query's bytes as written, and
// some may not stand in a request line: a raw space would split it
// ("ws://host/?a HTTP/1.0" into "GET /?a HTTP/1.0 HTTP/1.1"). So a space,
// a double or single quote, '<', '>' and every byte above 0x7E are
// percent-encoded, the set the URL Standard encodes in a ws or wss query.
// Other bytes, '%' escapes included, go as written: a query already
// encoded (a signed URL) reaches the server unchanged.
func appendRequestTarget(b []byte, u *url.URL) []byte {
	const hex = "0123456789ABCDEF"
	switch p := u.EscapedPath(); {
	case p == "":
		b = append(b, '/')
	case u.RawPath == "" || p == u.RawPath:
		b = append(b, p...)
	default:
		// The path as written has escapes of its own and a byte that
		// must be escaped ("/a%2Fb/ü"), which makes net/url escape the
		// decoded path again, a "%2F" becoming a "/" that splits a
		// segment. Keep the escapes and escape the rest.
		for i := 0; i < len(u.RawPath); i++ {
			switch c := u.RawPath[i]; {
			case c == '%', c == '/', isPathByte(c):
				b = append(b, c)
			default:
				b = append(b, '%', hex[c>>4], hex[c&15])
			}
		}
	}
	if u.RawQuery == "" && !u.ForceQuery {
		return b
	}
	b = append(b, '?')
	for i := 0; i < len(u.RawQuery); i++ {
		switch c := u.RawQuery[i]; {
		case c <= ' ', c == '"', c == '\'', c == '<', c == '>', c >= 0x7f:
			b = append(b, '%', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return b
}

// isPathByte reports whether c may stand unescaped in a path segment
// (RFC 3986 pchar: unreserved, sub-delims, ':' and '@').
func isPathByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0
}

// httpURL maps a ws(s) URL to http(s), for cookie jars.
func httpURL(u *url.URL) *url.URL {
	v := *u
	v.Scheme = "http"
	if u.Scheme == "wss" {
		v.Scheme = "https"
	}
	return &v
}

// isIPLiteral reports whether host is an IP address, which a dial reaches
// without name resolution.
func isIPLiteral(host string) bool {
	_, err := netip.ParseAddr(host)
	return err == nil
}
