package websocket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
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
	// HandshakeTimeout bounds dial + proxy + TLS + upgrade together: 0 =
	// 30 s, negative = none. With Timeout also set, the earlier deadline
	// wins. When it fires, Dial returns a timeout error (net.Error with
	// Timeout true, matching os.ErrDeadlineExceeded).
	HandshakeTimeout time.Duration
	// TLSConfig is used for wss and for TLS to an https proxy. When it is
	// nil or has no RootCAs, the peer is verified against the system roots
	// plus the CA bundles named by WEBSOCKET_CLIENT_CA_BUNDLE, SSL_CERT_FILE
	// and SSL_CERT_DIR (each a file or a directory), read at each Dial.
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
	// SocketOptions are set on the TCP socket (also the one to a proxy,
	// and on connections from NetDialContext that have a socket); nil =
	// DefaultSocketOptions as it is at the Dial, an empty non-nil slice =
	// none. After Dial the socket has what the options say; what they do
	// not name keeps the system's default, except TCP_NODELAY, which Go
	// turns on for every TCP connection it opens (Go's own keep-alive is
	// not used).
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
	// HTTP2 says whether the WebSocket may run over HTTP/2 (RFC 8441), as
	// a stream of a connection other WebSockets share: HTTP2Off (the
	// default), HTTP2Prefer or HTTP2Require; see HTTP2Mode.
	HTTP2 HTTP2Mode
	// HTTP2Transport holds the shared HTTP/2 connections when HTTP2 is not
	// HTTP2Off; nil = a package-wide default transport.
	HTTP2Transport *HTTP2Transport
	// BusyPoll says whether a read that finds the socket empty retries for
	// up to 5 µs before the goroutine parks: BusyPollDefault (on with more
	// than one CPU, except while the machine is contended), BusyPollOff or
	// BusyPollOn; see BusyPollMode for when to turn it off.
	BusyPoll BusyPollMode
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
// error wraps ctx.Err(); when opts.Timeout or opts.HandshakeTimeout fires
// the error is a timeout. Python's create_connection.
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
	// One deadline bounds the whole dial: the earlier of Timeout and
	// HandshakeTimeout, its cause saying which one fired.
	limit, cause := timeout, errDialTimeout
	if hs := handshakeTimeout(opts); hs > 0 && (limit <= 0 || hs < limit) {
		limit, cause = hs, errHandshakeTimeout
	}
	switch {
	case limit <= 0:
	case opts.HTTP2 == HTTP2Off:
		// Every stage enforces ctx.Deadline() through its connection's
		// deadline (see realContext for those that cannot) and watches
		// the parent's Done for cancellation, so the dial needs no timer
		// of its own. (HTTP/2 dials keep the timer: their shared
		// connection's setup waits on ctx.Done.)
		d := time.Now().Add(limit)
		if pd, ok := ctx.Deadline(); ok && pd.Before(d) {
			d, cause = pd, nil // the parent's deadline comes first
		}
		ctx = &deadlineCtx{Context: ctx, d: d, cause: cause}
	default:
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, limit, cause)
		defer cancel()
	}
	c, err := dialRedirects(ctx, u, opts)
	if err != nil {
		return nil, dialError(ctx, err)
	}
	c.SetTimeout(timeout)
	return c, nil
}

var (
	errDialTimeout      = errors.New("dial timeout")
	errHandshakeTimeout = errors.New("handshake timeout")
)

// defaultHandshakeTimeout is HandshakeTimeout's default.
const defaultHandshakeTimeout = 30 * time.Second

// handshakeTimeout returns the HandshakeTimeout in effect; 0 = none.
func handshakeTimeout(opts *DialOptions) time.Duration {
	switch {
	case opts.HandshakeTimeout < 0:
		return 0
	case opts.HandshakeTimeout == 0:
		return defaultHandshakeTimeout
	}
	return opts.HandshakeTimeout
}

// defaultDialOptions stands for a nil *DialOptions; the dial only reads it.
var defaultDialOptions DialOptions

// deadlineCtx is the context of a dial: the parent's values and
// cancellation, and the dial's deadline (the earlier of the parent's and
// ours) with what it stands for, without a timer. Each stage enforces the
// deadline on its connection (net.Dialer, the TLS and Upgrade handshakes
// through SetDeadline), and Err reports it once it has passed.
type deadlineCtx struct {
	context.Context
	d     time.Time
	cause error // errDialTimeout, errHandshakeTimeout, or nil for the parent's own deadline
}

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.d, true }

func (c *deadlineCtx) Err() error {
	if err := c.Context.Err(); err != nil {
		return err
	}
	if time.Now().Before(c.d) {
		return nil
	}
	return context.DeadlineExceeded
}

// realContext returns a context that ends at ctx's deadline for a stage
// that may watch only Done (a NetDialContext, a proxy, name resolution by
// the system resolver): ctx itself unless it is a *deadlineCtx.
func realContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if dc, ok := ctx.(*deadlineCtx); ok {
		return context.WithDeadline(dc.Context, dc.d)
	}
	return ctx, func() {}
}

// dialCause is what ended ctx: for a *deadlineCtx the cause it stands for.
func dialCause(ctx context.Context) error {
	if dc, ok := ctx.(*deadlineCtx); ok {
		if dc.Context.Err() != nil || dc.cause == nil {
			return context.Cause(dc.Context)
		}
		return dc.cause
	}
	return context.Cause(ctx)
}

// dialError makes a failure caused by the end of ctx say so: a Timeout or
// HandshakeTimeout is a timeout error, a cancelled or expired ctx wraps
// ctx.Err().
func dialError(ctx context.Context, err error) error {
	if _, own := ctx.(*deadlineCtx); own {
		// Its Err already reports the deadline the socket's fired at.
	} else if d, ok := ctx.Deadline(); ok && ctx.Err() == nil && !time.Now().Before(d) {
		// The socket's deadline (ctx's) fired a moment before ctx's own
		// timer: report it as the end of ctx.
		<-ctx.Done()
	}
	if ctx.Err() == nil {
		return err
	}
	if dialCause(ctx) == errHandshakeTimeout {
		if te, ok := err.(*timeoutError); ok {
			err = te.err // not "timeout" twice
		}
		return &timeoutError{op: "handshake", err: fmt.Errorf("not done within HandshakeTimeout: %w", err)}
	}
	var pe *ProxyError
	if errors.As(err, &pe) && errors.Is(err, ctx.Err()) {
		return err
	}
	if dialCause(ctx) == errDialTimeout {
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
		return nil, fmt.Errorf("websocket: bad URL: %w", redactURLError(err))
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
		if nc, err = dialStream(ctx, u, opts, proxy); err != nil {
			return nil, err
		}
	}
	if u.Scheme != "wss" {
		return nc, nil
	}
	host, _ := hostPort(u)
	tc, err := tlsClient(ctx, nc, host, opts.TLSConfig, alpnHTTP1)
	if err != nil {
		if opts.NetConn == nil {
			nc.Close()
		}
		return nil, err
	}
	return tc, nil
}

// dialStream opens the byte stream to u's host and port: a tunnel through
// proxy, or a direct TCP connection when proxy is nil.
func dialStream(ctx context.Context, u *url.URL, opts *DialOptions, proxy *url.URL) (net.Conn, error) {
	host, port := hostPort(u)
	addr := dialAddr(u, host, port)
	var nc net.Conn
	var err error
	if proxy != nil || opts.NetDialContext != nil || !isIPLiteral(host) {
		// The proxy code, the user's dial function and the system
		// resolver may watch only ctx.Done.
		var cancel context.CancelFunc
		ctx, cancel = realContext(ctx)
		defer cancel()
	}
	if proxy != nil {
		nc, err = dialProxy(ctx, proxy, addr, netDialer(opts), opts.TLSConfig, opts.ProxyTimeout)
	} else if d, ok := directDialer(opts); ok {
		nc, err = d.DialContext(ctx, "tcp", addr)
	} else {
		nc, err = netDialer(opts)(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, connectError(host, addr, err)
	}
	return nc, nil
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
		return nil, &ProxyError{Reason: "choosing a proxy for " + redactURL(u), Err: redactURLError(err)}
	}
	return p, nil
}

// netDialer returns the function that opens TCP connections, with the
// socket options applied: opts.NetDialContext with the options set on the
// connection it returns (when it has a socket), else a net.Dialer.
func netDialer(opts *DialOptions) func(ctx context.Context, network, addr string) (net.Conn, error) {
	sockopts := socketOptions(opts)
	if opts.NetDialContext != nil {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := opts.NetDialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if len(sockopts) > 0 {
				if err := applyToConn(c, sockopts); err != nil {
					c.Close()
					return nil, err
				}
			}
			return c, nil
		}
	}
	if d, ok := dialerFor(sockopts); ok {
		return d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialWithOptions(ctx, network, addr, sockopts)
	}
}

// directDialer returns the net.Dialer that opens opts's direct connections
// and sets their socket options itself, if there is one (see dialerFor).
func directDialer(opts *DialOptions) (net.Dialer, bool) {
	if opts.NetDialContext != nil {
		return net.Dialer{}, false
	}
	return dialerFor(socketOptions(opts))
}

// socketOptions returns the socket options in effect for opts: nil means
// DefaultSocketOptions as it is now.
func socketOptions(opts *DialOptions) []SocketOption {
	if opts.SocketOptions == nil {
		return DefaultSocketOptions
	}
	return opts.SocketOptions
}

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

// isIPLiteral reports whether host is an IP address, which a dial reaches
// without name resolution.
func isIPLiteral(host string) bool {
	_, err := netip.ParseAddr(host)
	return err == nil
}
