// Package proxy reaches a WebSocket server through an HTTP(S) CONNECT or SOCKS
// proxy, and picks the proxy for a target from the environment.
//
// Only the standard library is used. golang.org/x/net/proxy speaks SOCKS5
// alone, while websocket-client users also expect SOCKS4 and SOCKS4a, so the
// package carries its own small SOCKS client (RFC 1928 and RFC 1929 for
// SOCKS5, the de-facto SOCKS4 and SOCKS4A protocol documents for the others);
// every reply parser is table tested and fuzzed.
//
// Every failure is an *Error; the root package turns it into a
// *websocket.ProxyError. Messages name the proxy by scheme, host and port
// only: user names and passwords never appear in them.
package proxy

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Schemes a proxy URL may use.
const (
	SchemeHTTP    = "http"    // CONNECT over plain TCP
	SchemeHTTPS   = "https"   // CONNECT inside TLS to the proxy
	SchemeSOCKS4  = "socks4"  // SOCKS4, the client resolves the target name
	SchemeSOCKS4A = "socks4a" // SOCKS4A, the proxy resolves the target name
	SchemeSOCKS5  = "socks5"  // SOCKS5, the client resolves the target name
	SchemeSOCKS5H = "socks5h" // SOCKS5, the proxy resolves the target name
)

// DefaultPort returns the port a proxy URL of the given scheme uses when it
// names none, and false for an unknown scheme. The SOCKS port 1080 is the one
// IANA assigned to SOCKS (RFC 1928 §3).
func DefaultPort(scheme string) (string, bool) {
	switch scheme {
	case SchemeHTTP:
		return "80", true
	case SchemeHTTPS:
		return "443", true
	case SchemeSOCKS4, SchemeSOCKS4A, SchemeSOCKS5, SchemeSOCKS5H:
		return "1080", true
	}
	return "", false
}

// Parse reads a proxy URL as a user or the environment writes it and returns
// it normalized: a lower-case scheme ("http" when none is given), the user
// info if any, and a host with an explicit port. Path, query and fragment are
// dropped: a proxy is an address, not a resource.
//
// The error never quotes raw, which may hold a password.
func Parse(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, &Error{Reason: "empty proxy URL"}
	}
	// "proxy.local:3128" would parse as scheme "proxy.local" with an opaque
	// part, so a missing "://" means a scheme-less address (curl and Go's
	// net/http read it the same way).
	if !strings.Contains(raw, "://") {
		raw = SchemeHTTP + "://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // url.Error quotes the whole URL, password included
		}
		if strings.Contains(raw, "@") && strings.Contains(err.Error(), `"`) {
			// The cause quotes a piece of the URL (a bad port, host or
			// escape), which may lie in a password the parser could
			// not tell apart: "http://user:pa/ss@host" reads as host
			// "user" with port "pa".
			err = errors.New("malformed URL (details withheld: it may hold a password)")
		}
		return nil, &Error{Reason: "invalid proxy URL", Err: err}
	}
	return Normalize(u)
}

// Normalize checks a proxy URL and returns a normalized copy (see Parse). It
// accepts the forms a user's proxy function may return: no scheme ("http"),
// no port (the scheme's default), or "host:port" parsed as scheme and opaque
// part.
func Normalize(u *url.URL) (*url.URL, error) {
	if u == nil {
		return nil, &Error{Reason: "nil proxy URL"}
	}
	if u.Host == "" && u.Opaque != "" && u.User == nil {
		// url.Parse("proxy.local:3128") gives Scheme "proxy.local" and
		// Opaque "3128": reread it as an address without a scheme.
		return Parse(u.Scheme + ":" + u.Opaque)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme == "" {
		scheme = SchemeHTTP
	}
	port, ok := DefaultPort(scheme)
	if !ok {
		return nil, &Error{Reason: "unsupported proxy scheme " + strconv.Quote(scheme) +
			" (want http, https, socks4, socks4a, socks5 or socks5h)"}
	}
	host := u.Host
	if h, p, err := net.SplitHostPort(u.Host); err == nil {
		host = h
		if p != "" { // "host:" means the default port, as in net/url
			if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
				return nil, &Error{Reason: "invalid proxy port " + strconv.Quote(p)}
			}
			port = p
		}
	} else if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	} else if strings.Contains(host, ":") {
		return nil, &Error{Reason: "invalid proxy host (an IPv6 address needs brackets)", Err: err}
	}
	if host == "" {
		return nil, &Error{Reason: "proxy URL " + strconv.Quote(scheme+"://…") + " has no host"}
	}
	return &url.URL{
		Scheme: scheme,
		User:   u.User,
		Host:   net.JoinHostPort(host, port),
	}, nil
}

// display names a proxy in messages: scheme, host and port, never the user
// info (the password must not leak into logs).
func display(u *url.URL) string {
	return u.Scheme + "://" + u.Host
}
