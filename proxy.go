package websocket

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/wsclient/websocket/internal/httptoken"
	"github.com/wsclient/websocket/internal/proxy"
)

// ProxyStatusError is the cause of a *ProxyError when an HTTP proxy answered
// CONNECT with a status other than 2xx (407 when it wants credentials):
//
//	var se *websocket.ProxyStatusError
//	if errors.As(err, &se) && se.StatusCode == http.StatusProxyAuthRequired { ... }
//
// Body holds at most the first 512 bytes of the answer's body. The fields
// hold what the proxy sent; Error quotes a Status (the reason phrase) that
// has a character that is not printable, as BadStatusError does, and shows
// the start of Body unless the body repeats the proxy credentials the
// request carried (a proxy that echoes the request it refused).
type ProxyStatusError = proxy.StatusError

// ProxyFromEnvironment returns the proxy to use for target according to the
// environment, or nil for a direct connection. It is the default
// DialOptions.Proxy.
//
// wss targets use https_proxy, ws targets http_proxy, and both fall back to
// all_proxy; each is looked up in lower case, then upper case (the first
// non-empty value wins). The value is a proxy URL with scheme http, https,
// socks4, socks4a, socks5 or socks5h; without a scheme it means http://,
// without a port 80 (http), 443 (https) or 1080 (SOCKS).
//
// no_proxy (or NO_PROXY) lists the targets reached directly, comma
// separated: "*" for all; host names, matching the host and its subdomains
// on a label boundary ("example.com" and ".example.com" both match
// "a.example.com" and "example.com", never "badexample.com"); IPv4 and IPv6
// addresses; CIDR prefixes ("10.0.0.0/8", "fd00::/8"); each optionally with
// ":port" ("example.com:8080", "[::1]:8080", "*:8080") to limit it to
// that port.
// Matching ignores case and spaces around entries, and an internationalized
// name matches in its Unicode and its ASCII form alike ("bücher.example" and
// "xn--bcher-kva.example").
//
// "localhost" (and names under ".localhost") and loopback addresses
// (127.0.0.0/8, ::1) are never proxied, whatever no_proxy says, as in Go's
// net/http. In a CGI program (REQUEST_METHOD set) the upper-case HTTP_PROXY
// is ignored: there a client can set it with a "Proxy:" request header
// ("httpoxy").
//
// The environment is read at every call. A value that cannot be parsed is a
// *ProxyError (whose message never shows the password), so a typo never
// silently becomes a direct connection.
func ProxyFromEnvironment(target *url.URL) (*url.URL, error) {
	u, err := proxy.FromEnvironment(os.Getenv, target)
	if err != nil {
		return nil, toProxyError(err)
	}
	return u, nil
}

// ProxyURL returns a DialOptions.Proxy function that sends every target
// through the proxy at rawURL, except the targets matched by noProxy (each
// argument a comma-separated list, with the no_proxy rules of
// ProxyFromEnvironment). rawURL follows the same defaults: "proxy:3128" is
// http://proxy:3128, "socks5h://user:pass@proxy" uses port 1080.
//
// Unlike websocket-client 1.8 and ProxyFromEnvironment, it does not bypass
// localhost: a proxy given explicitly is used for every target not listed.
// An invalid rawURL makes every call return a *ProxyError.
func ProxyURL(rawURL string, noProxy ...string) func(*url.URL) (*url.URL, error) {
	f := proxy.Fixed(rawURL, noProxy...)
	return func(target *url.URL) (*url.URL, error) {
		u, err := f(target)
		if err != nil {
			return nil, toProxyError(err)
		}
		return u, nil
	}
}

// dialProxy opens a tunnel to addr ("host:port", an IPv6 host in brackets)
// through the proxy at proxyURL. dial reaches the proxy; tlsConf is the base
// TLS configuration for an https proxy (without RootCAs: the system roots
// plus the environment's CA bundles; its ServerName is replaced by the proxy
// host); timeout bounds reaching the proxy and the
// tunnel handshake (0: only ctx does).
//
// Every failure is a *ProxyError wrapping its cause. When timeout expires the
// cause matches os.ErrDeadlineExceeded (not context.DeadlineExceeded: the
// caller's ctx is live) and is a net.Error with Timeout true; when ctx ends
// first it wraps ctx.Err().
func dialProxy(ctx context.Context, proxyURL *url.URL, addr string,
	dial func(ctx context.Context, network, addr string) (net.Conn, error), tlsConf *tls.Config,
	timeout time.Duration) (net.Conn, error) {
	if httptoken.EqualFold(proxyURL.Scheme, proxy.SchemeHTTPS) {
		cfg, err := clientTLSConfig(tlsConf) // the environment's CA bundles
		if err != nil {
			return nil, &ProxyError{Reason: "TLS to " + redactURL(proxyURL), Err: err}
		}
		tlsConf = cfg
	}
	c, err := proxy.Dial(ctx, proxyURL, addr, dial, tlsConf, timeout)
	if err != nil {
		return nil, toProxyError(err)
	}
	return c, nil
}

// toProxyError turns internal/proxy's *proxy.Error into the public
// *ProxyError, keeping reason and cause.
func toProxyError(err error) error {
	var pe *proxy.Error
	if errors.As(err, &pe) {
		return &ProxyError{Reason: pe.Reason, Err: pe.Err}
	}
	return &ProxyError{Reason: "proxy", Err: err}
}
