package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wsclient/websocket/internal/httptoken"
)

// DialFunc opens a stream connection, as net.Dialer.DialContext does.
type DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// Dialer opens tunnels through proxies. The zero value is ready to use.
type Dialer struct {
	// Dial reaches the proxy; nil means a plain net.Dialer.
	Dial DialFunc

	// TLSConfig is the base configuration for https:// proxies; nil means
	// verification against the system roots. Its ServerName is replaced by
	// the proxy's host and its NextProtos are dropped (the proxy speaks
	// HTTP/1.1 CONNECT, never h2).
	TLSConfig *tls.Config

	// Timeout bounds the whole proxy setup: reaching the proxy, TLS to it
	// and the tunnel handshake. Zero means only ctx bounds it.
	Timeout time.Duration

	// LookupNetIP resolves target names for socks4 and socks5, which leave
	// name resolution to the client; nil means net.DefaultResolver.
	LookupNetIP func(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Dial opens a tunnel to addr ("host:port", an IPv6 host in brackets)
// through proxy. dial reaches the proxy (nil: a net.Dialer), tlsConf is the
// base TLS configuration for an https proxy and timeout bounds the proxy
// setup (0: only ctx does). See Dialer.
func Dial(ctx context.Context, proxy *url.URL, addr string, dial DialFunc, tlsConf *tls.Config, timeout time.Duration) (net.Conn, error) {
	d := Dialer{Dial: dial, TLSConfig: tlsConf, Timeout: timeout}
	return d.DialContext(ctx, proxy, addr)
}

// aLongTimeAgo is a deadline in the past: setting it makes blocked I/O on a
// connection return at once (the trick net/http uses to cancel).
var aLongTimeAgo = time.Unix(1, 0)

// DialContext opens a tunnel to addr ("host:port", an IPv6 host in
// brackets) through proxy and returns the stream to the target. Every error
// is an *Error. When the Timeout expires the cause is a *TimeoutError; when
// ctx ends first, the cause is ctx.Err(), or context.Cause(ctx) when that is
// a timeout (a net.Error whose Timeout is true) the caller gave ctx.
func (d *Dialer) DialContext(ctx context.Context, proxy *url.URL, addr string) (net.Conn, error) {
	p, err := Normalize(proxy)
	if err != nil {
		return nil, err
	}
	host, port, err := splitTarget(addr)
	if err != nil {
		return nil, &Error{Reason: display(p) + ": invalid target address", Err: err}
	}
	if d.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d.Timeout, &TimeoutError{After: d.Timeout})
		defer cancel()
	}
	dial := d.Dial
	if dial == nil {
		dial = new(net.Dialer).DialContext
	}
	if ctx.Err() != nil {
		return nil, &Error{Reason: "cannot reach " + display(p), Err: ctxCause(ctx)}
	}
	conn, err := dial(ctx, "tcp", p.Host)
	if err != nil {
		if ctx.Err() != nil {
			err = ctxCause(ctx)
		}
		return nil, &Error{Reason: "cannot reach " + display(p), Err: err}
	}
	if conn == nil { // a broken DialFunc must not become a nil-pointer panic later
		return nil, &Error{Reason: "cannot reach " + display(p), Err: errors.New("dial function returned no connection")}
	}

	// Blocked reads and writes of the handshake end when ctx does: the
	// deadline is poisoned rather than the connection closed, so the
	// handshake code sees an ordinary I/O error and reports where it was.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(aLongTimeAgo) })
	tunnel, err := d.handshake(ctx, conn, p, host, port)
	if !stop() && err == nil {
		// ctx ended just as the handshake finished: the deadline is (or is
		// about to be) poisoned, so the tunnel is unusable.
		err = &Error{Reason: display(p) + ": tunnel to " + addr}
	}
	if err != nil {
		if tunnel != nil {
			tunnel.Close()
		}
		conn.Close()
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Reason: display(p), Err: err}
		}
		if ctx.Err() != nil {
			e.Err = ctxCause(ctx)
		}
		return nil, e
	}
	return tunnel, nil
}

// ctxCause is the cause to report for an ended ctx: context.Cause(ctx) when
// it is a timeout (a net.Error whose Timeout is true) other than ctx.Err():
// our *TimeoutError when the proxy timeout expired, or the caller's own
// timeout when it gave ctx one (a dial's Timeout, which is no expiry of its
// caller's context); else ctx.Err() (the caller's cancellation or
// deadline), which callers compare with errors.Is.
func ctxCause(ctx context.Context) error {
	err := ctx.Err()
	var ne net.Error
	if cause := context.Cause(ctx); cause != err && errors.As(cause, &ne) && ne.Timeout() {
		return cause
	}
	return err
}

// connectTarget is the authority a CONNECT names: host and port, without
// an IPv6 zone (RFC 6874 has clients leave it out of what they send).
func connectTarget(host, port string) string {
	return net.JoinHostPort(withoutZone(host), port)
}

// withoutZone is host without an IPv6 zone ("fe80::1%eth0" → "fe80::1"):
// the zone names an interface of this machine, for the dial alone, and
// means nothing to a proxy or in a certificate.
func withoutZone(host string) string {
	if i := strings.IndexByte(host, '%'); i >= 0 {
		return host[:i]
	}
	return host
}

// handshake runs the scheme's protocol on conn and returns the stream to the
// target (conn itself, or a wrapper of it).
func (d *Dialer) handshake(ctx context.Context, conn net.Conn, p *url.URL, host, port string) (net.Conn, error) {
	switch p.Scheme {
	case SchemeHTTP:
		return connectHTTP(conn, p, connectTarget(host, port))
	case SchemeHTTPS:
		cfg := new(tls.Config)
		if d.TLSConfig != nil {
			cfg = d.TLSConfig.Clone()
		}
		cfg.ServerName = withoutZone(p.Hostname())
		cfg.NextProtos = nil
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			// The certificate's names are the proxy's: quoted when not printable.
			return nil, &Error{Reason: display(p) + ": TLS handshake", Err: httptoken.ShownError(err)}
		}
		t, err := connectHTTP(tc, p, connectTarget(host, port))
		if err != nil {
			return tc, err // closed by the caller
		}
		return t, nil
	case SchemeSOCKS4, SchemeSOCKS4A:
		return conn, d.socks4(ctx, conn, p, host, port)
	case SchemeSOCKS5, SchemeSOCKS5H:
		return conn, d.socks5(ctx, conn, p, host, port)
	}
	return nil, &Error{Reason: "unsupported proxy scheme " + strconv.Quote(p.Scheme)}
}

// splitTarget splits and checks a "host:port" target. The host ends up in
// request bytes, so anything that could smuggle a second line or field into
// a CONNECT request is refused here.
func splitTarget(addr string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(addr)
	if err != nil {
		return "", "", err
	}
	if host == "" {
		return "", "", errors.New("missing host in " + strconv.Quote(addr))
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", "", errors.New("invalid port in " + strconv.Quote(addr))
	}
	if strings.ContainsFunc(host, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", "", errors.New("invalid character in host " + strconv.Quote(host))
	}
	return host, port, nil
}

// lookup resolves a target name for the SOCKS variants that need a local
// address; network is "ip4" or "ip".
func (d *Dialer) lookup(ctx context.Context, network, host string) (netip.Addr, error) {
	lookup := d.LookupNetIP
	if lookup == nil {
		lookup = net.DefaultResolver.LookupNetIP
	}
	addrs, err := lookup(ctx, network, host)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		if a = a.Unmap(); network != "ip4" || a.Is4() {
			return a.WithZone(""), nil
		}
	}
	if network == "ip4" {
		return netip.Addr{}, errors.New("no IPv4 address found")
	}
	return netip.Addr{}, errors.New("no address found")
}
