package websocket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

// DialOptions configures Dial. The zero value (or a nil *DialOptions) dials
// with the defaults each field documents. Python's create_connection options.
type DialOptions struct {
	// Header holds extra handshake headers; values may not contain CR or
	// LF. Upgrade, Connection and the Sec-WebSocket-Key, -Version and
	// -Extensions headers belong to the library and are refused. A Host
	// or Origin header here replaces the default.
	Header http.Header
	// HeaderFunc, if set, is called at every connection attempt (and
	// redirect hop); its headers are added after Header's.
	HeaderFunc func() http.Header
	// Cookie is sent as the Cookie header, before the Jar's cookies.
	Cookie string
	// Jar, if set, supplies cookies for the URL and stores the response's
	// Set-Cookie headers.
	Jar http.CookieJar
	// Origin replaces the default Origin, "http://host[:port]" for ws and
	// "https://host[:port]" for wss (the port only when not the default).
	Origin string
	// SuppressOrigin sends no Origin header at all.
	SuppressOrigin bool
	// Host replaces the Host header (the URL's host and non-default port).
	Host string
	// Subprotocols are offered in Sec-WebSocket-Protocol, in this order.
	// The server may select one of them (compared case-insensitively) or none.
	Subprotocols []string
	// Timeout bounds connecting plus the handshake, and becomes the Conn's
	// per-operation I/O timeout (Conn.SetTimeout). 0 = DefaultTimeout(),
	// which is itself 0 (no timeout) unless SetDefaultTimeout changed it.
	Timeout time.Duration
	// TLSConfig is used for wss. nil verifies the server against the system
	// roots plus WEBSOCKET_CLIENT_CA_BUNDLE, SSL_CERT_FILE and SSL_CERT_DIR.
	// ServerName defaults to the URL's host.
	TLSConfig *tls.Config
	// Proxy picks the proxy for a target; a nil URL means a direct
	// connection. nil = ProxyFromEnvironment.
	Proxy func(target *url.URL) (*url.URL, error)
	// ProxyTimeout bounds the proxy handshake (CONNECT or SOCKS); 0 = bounded
	// by Timeout and ctx only.
	ProxyTimeout time.Duration
	// RedirectLimit is how many 301, 302, 303, 307 and 308 answers are
	// followed: 0 = 3, negative = none (the 3xx is a *BadStatusError).
	RedirectLimit int
	// NetConn is an already-connected stream to run the handshake over
	// (TLS is run over it for wss). No dial and no proxy are used.
	NetConn net.Conn
	// NetDialContext, if set, opens TCP connections, also to proxies.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// SocketOptions are set on the TCP socket; nil = DefaultSocketOptions,
	// an empty non-nil slice = none.
	SocketOptions []SocketOption
	// SkipUTF8Validation turns off the UTF-8 check of received text.
	SkipUTF8Validation bool
	// FireContFrame makes RecvData and RecvDataFrame return each fragment
	// of a fragmented message as it arrives.
	FireContFrame bool
	// MaskKeyFunc supplies each frame's mask key; nil = a fresh
	// unpredictable key per frame (ChaCha8 seeded from crypto/rand).
	MaskKeyFunc func() [4]byte
	// ReadLimit bounds a whole received message in bytes: 0 = 64 MiB,
	// negative = unlimited. A message over it is closed with 1009.
	ReadLimit int64
	// Compression offers permessage-deflate (RFC 7692); nil = not offered.
	Compression *CompressionOptions
}

// CompressionOptions configures permessage-deflate (RFC 7692). The zero
// value offers it with context takeover and 15-bit windows.
type CompressionOptions struct {
	Level                   int  // flate level; 0 = a fast default
	Threshold               int  // messages shorter than this go uncompressed; 0 = a sensible default
	ClientNoContextTakeover bool // client_no_context_takeover
	ServerNoContextTakeover bool // server_no_context_takeover
	ClientMaxWindowBits     int  // 8–15: offered as our largest window; 0 = offered without a value
	ServerMaxWindowBits     int  // 8–15: asked of the server; 0 = not asked (15)
}

// Dial opens a WebSocket connection to rawURL (ws:// or wss://), running the
// opening handshake of RFC 6455 §4. opts may be nil. When ctx ends first the
// error wraps ctx.Err(); when opts.Timeout fires the error is a timeout.
// Python's create_connection.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*Conn, error) {
	if opts == nil {
		opts = &defaultDialOptions
	}
	u, err := parseWSURL(rawURL)
	if err != nil {
		return nil, err
	}
	if err := checkUserHeader(opts.Header); err != nil {
		return nil, err
	}
	if err := checkCompressionOptions(opts.Compression); err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout()
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, errDialTimeout)
		defer cancel()
	}
	c, err := dialRedirects(ctx, u, opts)
	if err != nil {
		return nil, dialError(ctx, err)
	}
	c.SetTimeout(timeout)
	return c, nil
}

var errDialTimeout = errors.New("dial timeout")

// defaultDialOptions stands for a nil *DialOptions; the dial only reads it.
var defaultDialOptions DialOptions

// dialError makes a failure caused by the end of ctx say so: a Timeout is a
// timeout error, a cancelled or expired ctx wraps ctx.Err().
func dialError(ctx context.Context, err error) error {
	if d, ok := ctx.Deadline(); ok && ctx.Err() == nil && !time.Now().Before(d) {
		// The socket's deadline (ctx's) fired a moment before ctx's own
		// timer: report it as the end of ctx.
		<-ctx.Done()
	}
	if ctx.Err() == nil {
		return err
	}
	var pe *ProxyError
	if errors.As(err, &pe) && errors.Is(err, ctx.Err()) {
		return err
	}
	if context.Cause(ctx) == errDialTimeout {
		var te *timeoutError
		if errors.Is(err, errDialTimeout) || errors.As(err, &te) {
			return err // already says it timed out
		}
		return &timeoutError{op: "dial", err: fmt.Errorf("%w (%v)", os.ErrDeadlineExceeded, err)}
	}
	if errors.Is(err, ctx.Err()) {
		return err
	}
	return fmt.Errorf("websocket: dial: %w (%v)", ctx.Err(), err)
}

// parseWSURL parses a ws or wss URL.
func parseWSURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("websocket: bad URL: %w", err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("websocket: bad URL %q: scheme must be ws or wss", u.Redacted())
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("websocket: bad URL %q: no host", u.Redacted())
	}
	return u, nil
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

// hostHeader is host[:port] for the Host and Origin headers: the port only
// when it is not the scheme's default; IPv6 in brackets.
func hostHeader(u *url.URL) string {
	host, port := hostPort(u)
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if (u.Scheme == "ws" && port == "80") || (u.Scheme == "wss" && port == "443") {
		return host
	}
	return host + ":" + port
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

// connect opens the stream to u: the given NetConn, a proxy tunnel or a
// direct TCP connection, then TLS for wss.
func connect(ctx context.Context, u *url.URL, opts *DialOptions, hop int) (net.Conn, error) {
	host, port := hostPort(u)
	addr := dialAddr(u, host, port)
	var nc net.Conn
	switch {
	case opts.NetConn != nil:
		if hop > 0 {
			return nil, fmt.Errorf("websocket: cannot follow a redirect to %s over the given NetConn", u.Redacted())
		}
		nc = opts.NetConn
	default:
		proxy, err := pickProxy(u, opts)
		if err != nil {
			return nil, err
		}
		if proxy != nil {
			nc, err = dialProxy(ctx, proxy, addr, netDialer(opts), opts.TLSConfig, opts.ProxyTimeout)
		} else if opts.NetDialContext == nil && dialerSetsAll(socketOptions(opts)) {
			nc, err = plainDialer.DialContext(ctx, "tcp", addr)
		} else {
			nc, err = netDialer(opts)(ctx, "tcp", addr)
		}
		if err != nil {
			return nil, connectError(host, addr, err)
		}
	}
	if u.Scheme != "wss" {
		return nc, nil
	}
	tc, err := tlsClient(ctx, nc, host, opts.TLSConfig)
	if err != nil {
		if opts.NetConn == nil {
			nc.Close()
		}
		return nil, err
	}
	return tc, nil
}

// pickProxy asks opts.Proxy (or the environment) for u's proxy.
func pickProxy(u *url.URL, opts *DialOptions) (*url.URL, error) {
	pf := opts.Proxy
	if pf == nil {
		pf = ProxyFromEnvironment
	}
	p, err := pf(u)
	if err != nil {
		var pe *ProxyError
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, &ProxyError{Reason: "choosing a proxy for " + u.Redacted(), Err: err}
	}
	return p, nil
}

// netDialer returns the function that opens TCP connections, with the
// socket options applied.
func netDialer(opts *DialOptions) func(ctx context.Context, network, addr string) (net.Conn, error) {
	sockopts := socketOptions(opts)
	if opts.NetDialContext != nil {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := opts.NetDialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if sc, ok := c.(interface {
				SyscallConn() (syscall.RawConn, error)
			}); ok && len(sockopts) > 0 {
				if rc, err := sc.SyscallConn(); err == nil {
					if err := applySocketOptions(rc, sockopts); err != nil {
						c.Close()
						return nil, err
					}
				}
			}
			return c, nil
		}
	}
	if dialerSetsAll(sockopts) {
		return plainDialer.DialContext
	}
	d := &net.Dialer{}
	d.Control = func(network, address string, c syscall.RawConn) error {
		return applySocketOptions(c, sockopts)
	}
	return d.DialContext
}

// socketOptions returns the socket options in effect for opts.
func socketOptions(opts *DialOptions) []SocketOption {
	if opts.SocketOptions == nil {
		return DefaultSocketOptions
	}
	return opts.SocketOptions
}

// plainDialer opens TCP connections without a Control function. A
// net.Dialer is safe for concurrent use.
var plainDialer net.Dialer

// connectError classifies a failure to reach the server.
func connectError(host, addr string, err error) error {
	var pe *ProxyError
	if errors.As(err, &pe) {
		return err
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && !dnsErr.IsTimeout {
		return &AddressError{Host: host, Err: err}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, context.Canceled) {
		return &timeoutError{op: "dial", err: err}
	}
	return fmt.Errorf("websocket: dial %s: %w", addr, err)
}
