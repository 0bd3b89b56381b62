package websocket

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wsclient/websocket/internal/httptoken"
	"golang.org/x/net/http/httpguts"
)

// A dial, from a user's DialOptions to the wire. Each file is entered once
// and none calls back into one before it:
//
//	Dial (dial.go): resolveDial checks the options and resolves them into a
//	    dialConfig; dialRedirects follows redirects; dialOnce is one attempt
//	→ dialH2 (dial_h2.go) for HTTP2Prefer and HTTP2Require, which either
//	    returns the Conn or hands back to the HTTP/1.1 path;
//	  connect (transport.go): the NetConn, or dialStream → dialProxy
//	    (proxy.go) or a net.Dialer with the socket options (sockopt.go);
//	    then tlsClient (tls.go) for wss
//	→ handshake (handshake.go): appendRequest, write; read the head
//	    (handshake_parse.go); checkResponse
//	→ newConn (conn.go) → wire
//
// Leaves any stage may use: wsurl.go (the URL's address, Host header and
// origin), dialtimeout.go (the dial's deadline and how its end reads),
// compress.go (the offer, made at the start, and the server's answer to
// it) and trace.go. TestDialFlowForward keeps the order true.

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
	// An Origin in Header or from HeaderFunc is sent instead of it.
	Origin string
	// SuppressOrigin sends no Origin header at all.
	SuppressOrigin bool
	// Host replaces the Host header (the URL's host and non-default port).
	// A name that is not ASCII is sent in its ASCII (IDNA) form, as the
	// URL's host is: "bücher.example:8080" goes as
	// "xn--bcher-kva.example:8080". It is sent instead of a Host in
	// Header. A redirect to another origin sends that origin's own Host,
	// as net/http does, whichever gave it.
	Host string
	// Subprotocols are offered in Sec-WebSocket-Protocol, in this order.
	// The server may select one of them (compared case-insensitively) or none.
	// A Sec-WebSocket-Protocol given in Header or by HeaderFunc is sent too,
	// and what it names is offered as well.
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
	// A redirect to another origin (scheme, host or port) does not carry
	// the credentials on: the URL's user info, Cookie, Authorization and
	// Proxy-Authorization (those of Header and HeaderFunc too). A redirect
	// from wss to ws is an error.
	RedirectLimit int
	// NetConn is an already-connected stream to run the handshake over
	// (TLS is run over it for wss). No dial and no proxy are used, and no
	// redirect is followed: the 3xx answer is a *BadStatusError.
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
	// SkipUTF8Validation turns off the UTF-8 check of received text
	// messages. The reason of a close frame is checked either way.
	SkipUTF8Validation bool
	// FireContFrame makes RecvData and RecvDataFrame return each fragment
	// of a fragmented message as it arrives. A fragment of a compressed
	// message (permessage-deflate) comes inflated when its bytes end with
	// a flush, as streaming compressors end each; bytes cut inside the
	// compressed stream come inflated with a later fragment (a fragment
	// may then be empty), the rest with the last.
	FireContFrame bool
	// MaskKeyFunc supplies each frame's mask key; nil = a fresh
	// unpredictable key per frame (ChaCha8 seeded from crypto/rand). It
	// runs on whichever goroutine writes a frame; a panic in it fails the
	// connection, with the panic as the cause that operations (and an
	// App's OnError) report.
	MaskKeyFunc func() [4]byte
	// ReadLimit bounds a whole received message in bytes: 0 = 64 MiB,
	// negative = unlimited. A message over it is closed with 1009. A
	// compressed message is held to it as inflated; on the wire it may be
	// an eighth larger (what DEFLATE adds to data that does not compress).
	// A 32-bit program has 4 GiB of address space in all: there a limit
	// of a gigabyte or more (or none) lets a server exhaust it.
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

	// sharedTLS is set when TLSConfig is an App's copy of the user's
	// configuration (App.sessionTLSConfig): HTTP/2 connections are shared
	// by TLS settings, and the copies of one configuration have the same
	// settings. userTLS is the configuration copied, nil for none.
	sharedTLS bool
	userTLS   *tls.Config
}

// Dial opens a WebSocket connection to rawURL (ws:// or wss://), running the
// opening handshake of RFC 6455 §4. opts may be nil. When ctx ends first the
// error wraps ctx.Err(); when opts.Timeout or opts.HandshakeTimeout fires
// the error is a timeout. Python's create_connection.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*Conn, error) {
	return dialFrom(ctx, rawURL, opts, time.Now())
}

// dialFrom is Dial for an attempt that began at start: Timeout and
// HandshakeTimeout count from then. An App's dial on an EventLoop may wait
// for one of the loop's dialers, and that wait is part of its attempt.
func dialFrom(ctx context.Context, rawURL string, opts *DialOptions, start time.Time) (*Conn, error) {
	cfg, err := resolveDial(rawURL, opts)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.limit <= 0:
	case cfg.http2 == HTTP2Off:
		// Every stage enforces ctx.Deadline() through its connection's
		// deadline (see realContext for those that cannot) and watches
		// the parent's Done for cancellation, so the dial needs no timer
		// of its own. (HTTP/2 dials keep the timer: their shared
		// connection's setup waits on ctx.Done.)
		d, cause := start.Add(cfg.limit), cfg.cause
		if pd, ok := ctx.Deadline(); ok && pd.Before(d) {
			d, cause = pd, nil // the parent's deadline comes first
		}
		ctx = &deadlineCtx{Context: ctx, d: d, cause: cause}
	default:
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadlineCause(ctx, start.Add(cfg.limit), cfg.cause)
		defer cancel()
	}
	c, err := dialRedirects(ctx, &cfg)
	if err != nil {
		return nil, dialError(ctx, err)
	}
	c.SetTimeout(cfg.timeout)
	return c, nil
}

// defaultTimeout is the process-wide timeout (SetDefaultTimeout).
var defaultTimeout atomic.Int64

// SetDefaultTimeout sets the timeout used when DialOptions.Timeout is 0
// (0 = none, the initial value). Python's setdefaulttimeout.
func SetDefaultTimeout(d time.Duration) { defaultTimeout.Store(int64(max(d, 0))) }

// DefaultTimeout returns the value set by SetDefaultTimeout. Python's
// getdefaulttimeout.
func DefaultTimeout() time.Duration { return time.Duration(defaultTimeout.Load()) }

// defaultDialOptions stands for a nil *DialOptions; the dial only reads it.
var defaultDialOptions DialOptions

// dialConfig is a Dial's options resolved once, at its start: the defaults
// applied, the URL parsed, what goes into the request checked. The stages
// after it each take their part: the transport its transportConfig, the
// handshake its requestConfig and the Conn's settings.
type dialConfig struct {
	url       *url.URL
	timeout   time.Duration // Timeout or DefaultTimeout(): the Conn's I/O timeout
	limit     time.Duration // bound of the whole dial, 0 = none
	cause     error         // which bound limit is: errDialTimeout or errHandshakeTimeout
	redirects int           // redirects followed at most, < 0 = none
	http2     HTTP2Mode
	h2t       *HTTP2Transport // the shared HTTP/2 connections, when http2 is not HTTP2Off
	h2tls     *tls.Config     // the TLS settings HTTP/2 connections are shared by: net.tls, or the user's behind an App's copy
	net       transportConfig
	req       requestConfig
	// conn is the user's options as newConn reads them (ReadLimit,
	// SkipUTF8Validation, FireContFrame, MaskKeyFunc).
	conn *DialOptions
}

// requestConfig is what the handshake request carries besides the URL, each
// value checked not to split the request.
type requestConfig struct {
	header         http.Header
	headerFunc     func() http.Header
	cookie         string
	jar            http.CookieJar
	host           string
	origin         string
	suppressOrigin bool
	protocols      []string
	compression    *CompressionOptions
	extensions     string // the Sec-WebSocket-Extensions offer; "" = none
}

// resolveDial checks opts (nil: the defaults) and resolves them for a dial
// of rawURL, before anything is dialled.
func resolveDial(rawURL string, opts *DialOptions) (dialConfig, error) {
	if opts == nil {
		opts = &defaultDialOptions
	}
	u, err := parseWSURL(rawURL)
	if err != nil {
		return dialConfig{}, err
	}
	if err := checkOptions(opts); err != nil {
		return dialConfig{}, err
	}
	host, err := hostOption(opts.Host)
	if err != nil {
		return dialConfig{}, err
	}
	cfg := dialConfig{
		url: u, timeout: opts.Timeout, redirects: opts.RedirectLimit, http2: opts.HTTP2, conn: opts, h2tls: opts.TLSConfig,
		net: transportConfig{netConn: opts.NetConn, dialContext: opts.NetDialContext, sockopts: opts.SocketOptions,
			tls: opts.TLSConfig, proxy: opts.Proxy, proxyTimeout: opts.ProxyTimeout},
		req: requestConfig{header: opts.Header, headerFunc: opts.HeaderFunc, cookie: opts.Cookie, jar: opts.Jar,
			host: host, origin: opts.Origin, suppressOrigin: opts.SuppressOrigin,
			protocols: opts.Subprotocols, compression: opts.Compression, extensions: extensionOffer(opts.Compression)},
	}
	if opts.sharedTLS {
		cfg.h2tls = opts.userTLS
	}
	if cfg.timeout == 0 {
		cfg.timeout = DefaultTimeout()
	}
	// One deadline bounds the whole dial: the earlier of Timeout and
	// HandshakeTimeout, its cause saying which one fired.
	cfg.limit, cfg.cause = cfg.timeout, errDialTimeout
	hs := opts.HandshakeTimeout
	if hs == 0 {
		hs = defaultHandshakeTimeout
	}
	if hs > 0 && (cfg.limit <= 0 || hs < cfg.limit) {
		cfg.limit, cfg.cause = hs, errHandshakeTimeout
	}
	if cfg.redirects == 0 {
		cfg.redirects = 3
	}
	if cfg.http2 != HTTP2Off {
		if cfg.h2t = opts.HTTP2Transport; cfg.h2t == nil {
			cfg.h2t = &defaultHTTP2Transport
		}
	}
	if cfg.net.sockopts == nil {
		cfg.net.sockopts = DefaultSocketOptions
	}
	if cfg.net.proxy == nil {
		cfg.net.proxy = ProxyFromEnvironment
	}
	return cfg, nil
}

// dialRedirects dials cfg.url, following redirects as RFC 6455 §4.1 allows
// and DialOptions.RedirectLimit bounds.
func dialRedirects(ctx context.Context, cfg *dialConfig) (*Conn, error) {
	// A Location naming a URL already dialled is followed too: "302,
	// Set-Cookie, Location: the same URL" is how some servers hand out a
	// cookie, and RedirectLimit bounds a true loop.
	first, u := cfg.url, cfg.url
	var earlier []string // the credentials the requests so far carried
	for hop := 0; ; hop++ {
		// Secrets (Authorization, Cookie, URL credentials) go only to the
		// origin the caller named, or to credentials a Location carries.
		sameOrigin := hop == 0 || originOf(u) == originOf(first)
		hc := cfg
		if !sameOrigin && cfg.req.host != "" {
			// The Host option names the first URL's server; another
			// origin gets its own, as net/http does.
			other := *cfg
			other.req.host = ""
			hc = &other
		}
		c, err := dialOnce(ctx, hc, u, hop, sameOrigin, earlier)
		if err == nil {
			return c, nil
		}
		var re *redirectError
		if !errors.As(err, &re) {
			if hop > 0 {
				// The Location may have carried a credential to
				// where this error quotes it (a host name).
				err = errorWithout(err, earlier)
			}
			return c, err
		}
		if cfg.redirects < 0 || hop >= cfg.redirects {
			return nil, re.status
		}
		next, err := redirectTarget(u, first, re)
		if err != nil {
			// The Location may echo a credential, which the error quotes.
			return nil, errorWithout(err, re.status.secrets)
		}
		earlier = re.status.secrets
		location := httptoken.WithoutSecrets(redactURL(next), earlier)
		if cfg.net.netConn != nil {
			// The given stream reaches one server: the answer is the
			// caller's to act on.
			return nil, wrapError("websocket: cannot follow a redirect to "+location+" over the given NetConn", re.status)
		}
		if handshakeTracing() {
			traceHandshake("websocket: redirect", slog.Int("status", re.status.StatusCode), slog.String("location", location))
		}
		u = next
	}
}

// redirectTarget returns the URL a redirect from u sends the dial to, as a
// ws or wss URL, with first's credentials when it stays at first's origin.
func redirectTarget(u, first *url.URL, re *redirectError) (*url.URL, error) {
	next, err := u.Parse(re.location)
	if err != nil {
		return nil, fmt.Errorf("websocket: redirect to bad Location %q: %w", redactRawURL(re.location), redactURLError(err, re.location))
	}
	switch strings.ToLower(next.Scheme) {
	case "http", "ws":
		next.Scheme = "ws"
	case "https", "wss":
		next.Scheme = "wss"
	default:
		// As the Location wrote it: Parse lowered its case, which would
		// hide a credential it echoes from the redaction.
		scheme, _, _ := strings.Cut(re.location, ":")
		return nil, fmt.Errorf("websocket: redirect to unsupported scheme %q", scheme)
	}
	if err := normalizeHost(next); err != nil {
		return nil, fmt.Errorf("websocket: redirect to bad Location %q: %w", redactRawURL(re.location), err)
	}
	if u.Scheme == "wss" && next.Scheme == "ws" {
		// Following it would send the request, and then every
		// message, in clear text. errors.As finds re.status.
		return nil, wrapError("websocket: refusing redirect from wss to ws ("+redactURL(next)+")", re.status)
	}
	if next.User == nil && originOf(next) == originOf(first) {
		next.User = first.User
	}
	return next, nil
}

// dialOnce is one attempt: the user's headers for u, the transport (HTTP/2,
// or a stream of its own), then the handshake over it. earlier are the
// credentials the requests of the hops before it carried.
func dialOnce(ctx context.Context, cfg *dialConfig, u *url.URL, hop int, secrets bool, earlier []string) (*Conn, error) {
	// The user's headers (and the secrets that go with the URL) need a map;
	// the common dial sets none and skips it. They are checked before
	// anything is dialled.
	var user http.Header
	if r := &cfg.req; len(r.header) > 0 || r.headerFunc != nil || u.User != nil || r.cookie != "" || r.jar != nil {
		var err error
		if user, err = userHeaders(u, r, secrets); err != nil {
			return nil, err
		}
	}
	// The proxy is asked for once: its credentials are what the
	// traces and the error leave out.
	var proxy *url.URL
	if cfg.net.netConn == nil {
		var err error
		if proxy, err = pickProxy(u, &cfg.net); err != nil {
			return nil, err
		}
	}
	creds := dialCredentials{u: u, user: user, proxy: proxy, earlier: earlier}
	var nc net.Conn
	if cfg.http2 != HTTP2Off {
		c, h1, err := dialH2(ctx, u, cfg, user, proxy, &creds)
		if err != nil {
			return nil, withoutSecrets(err, creds)
		}
		if c != nil {
			return c, nil
		}
		nc = h1
	}
	if nc == nil {
		var err error
		if nc, err = connect(ctx, u, &cfg.net, hop, proxy); err != nil {
			return nil, err
		}
	}
	c, err := handshake(ctx, nc, u, &cfg.req, user, creds, cfg.conn)
	if err != nil && nc != cfg.net.netConn {
		nc.Close()
	}
	if err != nil {
		return nil, withoutSecrets(err, creds)
	}
	return c, nil
}

// redirectSecrets are the caller's header fields that do not follow a
// redirect to another origin: the credentials net/http drops then too.
var redirectSecrets = [...]string{"Authorization", "Www-Authenticate", "Cookie", "Cookie2", "Proxy-Authorization", "Proxy-Authenticate"}

// userHeaders merges Header, HeaderFunc's headers, URL credentials, Cookie
// and the Jar's cookies into the user's part of the request, with canonical
// keys. Authorization and Cookie are kept only when secrets is true (the
// origin the caller named); the Jar decides for its own cookies. What
// HeaderFunc, the Jar and the URL give is refused as Header's values are.
func userHeaders(u *url.URL, r *requestConfig, secrets bool) (http.Header, error) {
	var extra http.Header
	if r.headerFunc != nil {
		extra = r.headerFunc()
		if err := checkUserHeader(extra); err != nil {
			return nil, err
		}
	}
	user := http.Header{}
	for k, vs := range r.header {
		user[http.CanonicalHeaderKey(k)] = append(user[http.CanonicalHeaderKey(k)], vs...)
	}
	for k, vs := range extra {
		user[http.CanonicalHeaderKey(k)] = append(user[http.CanonicalHeaderKey(k)], vs...)
	}
	if !secrets {
		for _, k := range redirectSecrets {
			delete(user, k)
		}
		delete(user, "Host") // it names the first URL's server
	}
	if u.User != nil {
		// Refused as a header value would be, whether or not they are
		// sent (an Authorization header of the caller's wins), and
		// never quoted: the password is a secret.
		name := u.User.Username()
		pass, _ := u.User.Password()
		switch {
		case strings.ContainsAny(name, "\r\n\x00") || strings.ContainsAny(pass, "\r\n\x00"):
			return nil, errors.New("websocket: URL user info contains CR, LF or NUL")
		case !httpguts.ValidHeaderFieldValue(name) || !httpguts.ValidHeaderFieldValue(pass):
			return nil, errors.New("websocket: URL user info contains a control character")
		}
		if user.Get("Authorization") == "" {
			user.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(name+":"+pass)))
		}
	}
	cookies := user.Values("Cookie")
	delete(user, "Cookie")
	if r.cookie != "" && secrets {
		cookies = append(cookies, r.cookie)
	}
	if r.jar != nil {
		for _, ck := range r.jar.Cookies(httpURL(u)) {
			cookies = append(cookies, ck.Name+"="+ck.Value)
		}
	}
	if len(cookies) > 0 {
		v := strings.Join(cookies, "; ")
		if err := checkHeaderValue("Cookie", v); err != nil {
			return nil, err
		}
		user.Set("Cookie", v)
	}
	return user, nil
}
