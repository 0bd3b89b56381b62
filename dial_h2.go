package websocket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsclient/websocket/internal/h2"
	"github.com/wsclient/websocket/internal/httptoken"
)

// HTTP2Mode says whether Dial may carry the WebSocket over HTTP/2, as a
// stream of a shared connection opened by an extended CONNECT (RFC 8441).
type HTTP2Mode int

const (
	// HTTP2Off dials HTTP/1.1 only: the Upgrade handshake of RFC 6455 on a
	// connection of the WebSocket's own. It is the zero value.
	HTTP2Off HTTP2Mode = iota
	// HTTP2Prefer uses HTTP/2 for wss when the server supports WebSockets
	// over it, and HTTP/1.1 otherwise. TLS offers "h2" and "http/1.1" by
	// ALPN; when the server picks h2 and its SETTINGS announce extended
	// CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL = 1), the WebSocket is a
	// stream of an HTTP/2 connection shared through the HTTP2Transport.
	// When the server picks http/1.1, the Upgrade runs on that same TLS
	// connection; when it picks h2 without extended CONNECT, the HTTP/2
	// connection is closed and the Upgrade runs on a new one. Either way
	// the transport remembers the origin for 10 minutes, and dials to it
	// go straight to HTTP/1.1 meanwhile. ws URLs, and dials over a given
	// DialOptions.NetConn, use HTTP/1.1.
	HTTP2Prefer
	// HTTP2Require uses HTTP/2 or fails with an error saying what was
	// missing: for wss the server must pick "h2" by ALPN and announce
	// extended CONNECT; for ws the connection speaks HTTP/2 from its first
	// byte (h2c with prior knowledge), so the server must expect it there.
	// It cannot be used with DialOptions.NetConn.
	HTTP2Require
)

// String returns "HTTP2Off", "HTTP2Prefer" or "HTTP2Require".
func (m HTTP2Mode) String() string {
	switch m {
	case HTTP2Off:
		return "HTTP2Off"
	case HTTP2Prefer:
		return "HTTP2Prefer"
	case HTTP2Require:
		return "HTTP2Require"
	}
	return "HTTP2Mode(" + strconv.Itoa(int(m)) + ")"
}

// maxGrownStreamWindow is the most a WebSocket's HTTP/2 receive window
// grows to when HTTP2Transport.MaxReceiveBufferPerStream is 0.
const maxGrownStreamWindow = 16 << 20

// http1Memory is how long an HTTP2Transport remembers that an origin did
// not take WebSockets over HTTP/2, so that HTTP2Prefer dials there go
// straight to HTTP/1.1.
const http1Memory = 10 * time.Minute

// HTTP2Transport holds the HTTP/2 connections that WebSockets dialled with
// HTTP2Prefer or HTTP2Require share, like an http.Transport: WebSockets to
// the same origin (scheme, host and port) with the same
// DialOptions.TLSConfig (the same pointer; the copy an App dials with to
// keep its TLS sessions counts as the TLSConfig it copies, so Apps share
// too), the same proxy and, when that TLSConfig has no RootCAs, the same CA
// bundle named by the environment (read at each dial) share one connection,
// up to the server's SETTINGS_MAX_CONCURRENT_STREAMS, then another is
// opened, up to
// MaxConnsPerOrigin. The other dial settings
// (NetDialContext, SocketOptions, ProxyTimeout) are those of the dial that
// opened the connection. A connection is closed when it has carried no
// WebSocket for IdleTimeout; each runs two goroutines, which end when it
// closes.
//
// The zero value is ready to use; it is safe for concurrent use and must
// not be copied after first use. DialOptions.HTTP2Transport nil means a
// package-wide default one.
type HTTP2Transport struct {
	// IdleTimeout is how long a connection without WebSockets is kept
	// open; 0 means 90 s. Set it before the transport's first dial.
	IdleTimeout time.Duration
	// MaxConnsPerOrigin bounds the connections to one origin (with one
	// TLSConfig and proxy) that can still take WebSockets; 0 means 16,
	// negative means no bound. When all of them are at the server's
	// SETTINGS_MAX_CONCURRENT_STREAMS, a dial waits for one of their
	// WebSockets to end, until its context or timeout ends. Set it before
	// the transport's first dial.
	MaxConnsPerOrigin int
	// MaxReceiveBufferPerStream is each WebSocket's receive window: how
	// far the server may send ahead of what the WebSocket has read, and so
	// the most its stream buffers for a WebSocket that stops reading. 0
	// means 1 MiB, growing while the WebSocket reads fast: it doubles, up
	// to 16 MiB, each time half of it is read within 10 ms (from about
	// 50 MB/s), so that a bulk receiver is not held back by the credit's
	// round trip. Other values are fixed windows, kept within 65,535 and
	// 2^31-1. Set it before the transport's first dial.
	MaxReceiveBufferPerStream int
	// ReadIdleTimeout is how long a connection may receive nothing before
	// it is checked with an HTTP/2 PING; 0 means 30 s, negative means
	// never. PingTimeout is how long that PING may go unacknowledged; 0
	// means 15 s. A connection that fails the check is closed: its
	// WebSockets fail as when it drops (errors matching
	// ErrConnectionClosed), and later dials open a new one. This finds a
	// connection whose server vanished without a word (a NAT or a load
	// balancer that forgot it, a host gone), which would otherwise keep
	// its WebSockets waiting and take new ones. A connection is also
	// checked at once, with PingTimeout, when an extended CONNECT on it
	// goes unanswered until its dial's timeout, and with the App's
	// RunOptions.PingTimeout when an App's WebSocket on it misses a pong:
	// the App's reconnect then opens a new connection. Set them before the
	// transport's first dial.
	ReadIdleTimeout time.Duration
	PingTimeout     time.Duration

	once  sync.Once
	conf  h2.Config // for new connections, made by init
	pool  h2.Pool
	mu    sync.Mutex
	http1 map[h2.Key]time.Time // origins without WebSockets over HTTP/2, until when
}

// defaultReadIdleTimeout is HTTP2Transport.ReadIdleTimeout's default.
const defaultReadIdleTimeout = 30 * time.Second

// defaultHTTP2Transport serves dials whose HTTP2Transport is nil.
var defaultHTTP2Transport HTTP2Transport

// Close closes the transport's connections. The WebSockets still running
// on them end as when a connection drops (their reads and writes fail with
// errors matching ErrConnectionClosed). The transport stays usable: later
// dials open new connections.
func (t *HTTP2Transport) Close() error {
	t.init()
	t.pool.Close()
	return nil
}

func (t *HTTP2Transport) init() {
	t.once.Do(func() {
		t.pool.IdleTimeout = t.IdleTimeout
		t.pool.MaxConnsPerKey = t.MaxConnsPerOrigin
		if w := t.MaxReceiveBufferPerStream; w != 0 {
			t.conf.StreamWindow = uint32(min(max(w, 65535), 1<<31-1))
		} else {
			t.conf.GrowStreamWindow = maxGrownStreamWindow
		}
		switch {
		case t.ReadIdleTimeout == 0:
			t.conf.ReadIdleTimeout = defaultReadIdleTimeout
		case t.ReadIdleTimeout > 0:
			t.conf.ReadIdleTimeout = t.ReadIdleTimeout
		}
		t.conf.PingTimeout = t.PingTimeout
	})
}

// usesHTTP1 reports whether key's origin is remembered as lacking
// WebSockets over HTTP/2.
func (t *HTTP2Transport) usesHTTP1(key h2.Key) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	until, ok := t.http1[key]
	if ok && !time.Now().Before(until) {
		delete(t.http1, key)
		ok = false
	}
	return ok
}

// rememberHTTP1 records that key's origin lacks WebSockets over HTTP/2.
func (t *HTTP2Transport) rememberHTTP1(key h2.Key) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if t.http1 == nil {
		t.http1 = make(map[h2.Key]time.Time)
	}
	if len(t.http1) >= 256 {
		maps.DeleteFunc(t.http1, func(_ h2.Key, until time.Time) bool { return !now.Before(until) })
	}
	t.http1[key] = now.Add(http1Memory)
}

// h2Key is the pool key of u's connections: what makes two of them
// interchangeable. Over TLS that is the configuration itself, held by the
// key (its printed address could name a later configuration made where a
// collected one was, and hand it a connection verified under the other),
// and the roots the environment adds to a configuration without its own,
// read at each dial: a connection verified under a CA bundle the
// environment no longer names takes no new WebSocket.
func h2Key(u *url.URL, tlsConf *tls.Config, proxy *url.URL) h2.Key {
	k := h2.Key{Name: originOf(u)}
	if u.Scheme == "wss" {
		k.TLS = tlsConf
		k.Roots, _ = baseRoots(tlsConf) // an unreadable bundle fails the connection's own TLS set-up
	}
	if proxy != nil {
		k.Name += " proxy=" + proxy.String()
	}
	return k
}

// alpnError is a dial's result when the server chose another protocol than
// h2 by ALPN: the TLS connection, which the first to take it uses for the
// HTTP/1.1 Upgrade (the pool hands the same error to concurrent dials).
type alpnError struct {
	proto string
	conn  atomic.Pointer[net.Conn]
}

func (e *alpnError) Error() string {
	return fmt.Sprintf("websocket: the server did not pick h2 by ALPN (it picked %q)", e.proto)
}

// take returns the connection once, then nil.
func (e *alpnError) take() net.Conn {
	if p := e.conn.Swap(nil); p != nil {
		return *p
	}
	return nil
}

// dialH2 opens the WebSocket over HTTP/2 when cfg.http2 asks for it. It
// returns the Conn, or an error, or neither when the dial goes on over
// HTTP/1.1: then nc, if not nil, is a TLS connection to u that negotiated
// http/1.1, for the Upgrade.
func dialH2(ctx context.Context, u *url.URL, cfg *dialConfig, user http.Header, proxy *url.URL, creds *dialCredentials) (c *Conn, nc net.Conn, err error) {
	// checkOptions refused the other modes, and HTTP2Require with a NetConn.
	mode := cfg.http2
	if mode == HTTP2Prefer && (u.Scheme != "wss" || cfg.net.netConn != nil) {
		return nil, nil, nil
	}
	t := cfg.h2t
	t.init()
	key := h2Key(u, cfg.h2tls, proxy)
	if mode == HTTP2Prefer && t.usesHTTP1(key) {
		return nil, nil, nil
	}
	req := h2Request(u, &cfg.req, user)
	req.Secrets = creds.list()
	traceH2Request(u, req)
	resp, st, err := t.pool.OpenWebSocket(ctx, key, h2Dialer(u, cfg.net, proxy, &t.conf), req)
	if resp != nil {
		creds.others = resp.Secrets
	}
	var ae *alpnError
	switch {
	case errors.As(err, &ae):
		nc := ae.take()
		if mode == HTTP2Require {
			if nc != nil {
				nc.Close()
			}
			return nil, nil, &http2RequiredError{fmt.Errorf("websocket: HTTP/2 required, but %s did not pick h2 by ALPN (it picked %q)", u.Host, ae.proto)}
		}
		t.rememberHTTP1(key)
		return nil, nc, nil
	case errors.Is(err, h2.ErrNotHTTP2) && u.Scheme == "ws" && mode == HTTP2Require:
		return nil, nil, &http2RequiredError{h2.Wrap("websocket: HTTP/2 required", err)}
	case errors.Is(err, h2.ErrExtendedConnectUnsupported):
		if mode == HTTP2Require {
			return nil, nil, &http2RequiredError{h2.Wrap("websocket: HTTP/2 required, but "+u.Host+" does not take WebSockets over HTTP/2", err)}
		}
		t.rememberHTTP1(key)
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, h2OpenError(u, cfg.req.jar, creds.list(), err)
	}
	h := resp.Header
	traceH2Response(resp.StatusCode, h, creds.list())
	setCookies(u, cfg.req.jar, h)
	proto, ext, err := checkNegotiation(h, &cfg.req, user)
	if err != nil {
		st.Reset()
		st.Close()
		return nil, nil, err
	}
	s := &h2Stream{Stream: st, resetAfterClose: forgetsClosedStreams(h), status: uint16(resp.StatusCode)}
	c = newConn(s, nil, cfg.conn)
	s.c = c
	c.isTLS = u.Scheme == "wss"
	c.rareState().header.Store(&h)
	c.respHead = protocolLine(proto)
	c.ext = ext
	return c, nil, nil
}

// http2RequiredError is the failure of an HTTP2Require dial to a server
// that does not take WebSockets over HTTP/2: the server's answer, which
// RetryTransient does not retry. It is its error, unchanged.
type http2RequiredError struct{ error }

func (e *http2RequiredError) Unwrap() error { return e.error }

// h2OpenError is the error of an extended CONNECT that opened no
// WebSocket: a status other than 2xx is a *BadStatusError (the response's
// cookies stored, as after an HTTP/1.1 upgrade's); a stream or connection
// that ended before the response is a *HandshakeError that RetryTransient
// retries, as a connection closed before the 101 over HTTP/1.1 (the
// connection's setup has errors of its own, which say what failed);
// anything else is err.
func h2OpenError(u *url.URL, jar http.CookieJar, secrets []string, err error) error {
	var se *h2.StatusError
	if errors.As(err, &se) {
		traceH2Response(se.StatusCode, se.Header, secrets)
		setCookies(u, jar, se.Header)
		return statusError(&BadStatusError{
			StatusCode:    se.StatusCode,
			StatusMessage: http.StatusText(se.StatusCode),
			Header:        se.Header,
			Body:          se.Body,
		})
	}
	if _, ok := err.(*h2.CodeError); ok {
		reason := strings.TrimPrefix(err.Error(), "websocket: http2: ") + ", before the response"
		return &netHandshakeError{&HandshakeError{Reason: reason}, err}
	}
	if errors.Is(err, h2.ErrConnLost) {
		reason := strings.TrimPrefix(err.Error(), "websocket: http2: ") + ", before the response"
		cause := err
		if errors.Is(err, io.EOF) { // the answer was cut short, as over HTTP/1.1
			cause = errors.Join(err, io.ErrUnexpectedEOF)
		}
		return &netHandshakeError{&HandshakeError{Reason: reason}, cause}
	}
	return err
}

// h2Dialer returns the function that opens an HTTP/2 connection to u
// (through proxy, if not nil) for the pool: TLS offering h2 for wss, prior
// knowledge for ws, with the connection settings conf. It may outlive the
// dial: it holds its own copy of tr.
func h2Dialer(u *url.URL, tr transportConfig, proxy *url.URL, conf *h2.Config) func(ctx context.Context) (*h2.ClientConn, error) {
	return func(ctx context.Context) (*h2.ClientConn, error) {
		tr := tr // the closure holds tr by value, in its one allocation
		nc, err := dialStream(ctx, u, &tr, proxy)
		if err != nil {
			return nil, err
		}
		if u.Scheme == "wss" {
			host, _ := hostPort(u)
			tc, err := tlsClient(ctx, nc, host, tr.tls, alpnH2)
			if err != nil {
				nc.Close()
				if own := ownTimeout(ctx); own != nil && errors.Is(err, context.DeadlineExceeded) {
					// crypto/tls reports the end of ctx as ctx.Err(): say
					// that Timeout or HandshakeTimeout ended it, not the
					// caller's deadline.
					err = tlsError(withoutZone(host), own)
				}
				return nil, err
			}
			if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
				ae := &alpnError{proto: p}
				var c net.Conn = tc
				ae.conn.Store(&c)
				return nil, ae
			}
			nc = tc
		}
		cc, err := h2.NewClientConn(ctx, nc, conf)
		if err != nil && u.Scheme == "ws" {
			return nil, h2.Wrap("websocket: HTTP/2 with prior knowledge (h2c) to "+u.Host, err)
		}
		return cc, err
	}
}

// h2Request is the extended CONNECT for u: the HTTP/1.1 Upgrade request
// appendRequest writes, translated. Its Host is the :authority; Upgrade,
// Connection and Sec-WebSocket-Key have no place on HTTP/2 (RFC 8441 §5).
func h2Request(u *url.URL, r *requestConfig, user http.Header) *h2.Request {
	var key [24]byte // not sent
	head := string(appendRequest(nil, u, r, user, key[:]))
	req := &h2.Request{Scheme: "https", Path: string(appendRequestTarget(nil, u)), Header: http.Header{}}
	if u.Scheme == "ws" {
		req.Scheme = "http"
	}
	_, head, _ = strings.Cut(head, "\r\n") // the request line
	for head != "" {
		var line string
		line, head, _ = strings.Cut(head, "\r\n")
		name, value, _ := strings.Cut(line, ": ")
		switch http.CanonicalHeaderKey(name) {
		case "":
		case "Host":
			req.Authority = value
		case "Upgrade", "Connection", "Sec-Websocket-Key":
		default:
			req.Header[name] = append(req.Header[name], value)
		}
	}
	return req
}

// headText renders an HTTP/2 header for the trace as redactHead reads it:
// a first line, then the fields of each header in turn, sorted by name.
func headText(first string, hs ...http.Header) string {
	var b strings.Builder
	b.WriteString(first)
	for _, h := range hs {
		for _, k := range slices.Sorted(maps.Keys(h)) {
			for _, v := range h[k] {
				b.WriteString("\r\n" + strings.ToLower(k) + ": " + v)
			}
		}
	}
	return b.String()
}

// traceH2Request traces an extended CONNECT as it goes out.
func traceH2Request(u *url.URL, req *h2.Request) {
	if handshakeTracing() {
		head := redactHead(headText("CONNECT "+req.Path+" HTTP/2", http.Header{
			":protocol": {"websocket"}, ":scheme": {req.Scheme}, ":authority": {req.Authority},
		}, req.Header))
		traceHandshake("websocket: handshake request", slog.String("url", httptoken.WithoutSecrets(redactURL(u), req.Secrets)),
			slog.String("head", httptoken.WithoutSecrets(head, req.Secrets)))
	}
}

// traceH2Response traces the response header of an extended CONNECT,
// leaving out what it repeats of the request's credentials, secrets.
func traceH2Response(status int, h http.Header, secrets []string) {
	if handshakeTracing() {
		s := strconv.Itoa(status)
		head := redactHead(headText("HTTP/2 "+s, h))
		traceHandshake("websocket: handshake response", slog.String("status", s),
			slog.String("head", httptoken.WithoutSecrets(head, append(secrets, setCookieSecrets(h)...))))
	}
}

// probeH2 has the HTTP/2 connection under c, if c is a WebSocket over
// HTTP/2, check within d that its server still answers, and fail it (and
// its other WebSockets, and take it out of the pool) if not: c's pong did
// not come, and a reconnect must not open its next stream on a connection
// that died without a FIN (h2.ClientConn.Probe).
func probeH2(c *Conn, d time.Duration) {
	if s, ok := c.netConn.(*h2Stream); ok {
		s.ProbeConn(d)
	}
}

// h2Stream is a WebSocket's HTTP/2 stream as its Conn's socket.
type h2Stream struct {
	*h2.Stream
	c *Conn
	// resetAfterClose: the server forgets the stream after a closing
	// handshake without ending it (forgetsClosedStreams).
	resetAfterClose bool
	// status is the response's 2xx :status (Conn.Status); it fits in the
	// struct's padding.
	status uint16
}

// Close ends the stream as closing a TCP connection would (RFC 8441 §5):
// after the closing handshake (the server's close frame was read) with
// END_STREAM, without waiting for the server's (reset 3 s later if the
// server never ends its side); otherwise (Abort, a failure, a close the
// server did not answer) with RST_STREAM, unless the server has ended its
// side already. The HTTP/2 connection stays for its other streams.
//
// END_STREAM cannot wait for the server's: some servers end their side
// only after ours (Apache httpd 2.4's mod_http2 in front of a WebSocket
// backend), and when the client reset such streams instead, mod_http2
// served fewer of them at once on the connection (seen in the interop
// tests, whose 100-stream check then timed out). A server that forgets the
// stream gets RST_STREAM(CANCEL) instead (resetAfterClose).
func (s *h2Stream) Close() error {
	if s.c.flags.has(flagPeerClosed) && !s.resetAfterClose {
		return s.Stream.Finish(closeTimeout)
	}
	return s.Stream.Close()
}

// tryRead reads what the stream has buffered, or returns errWouldBlock
// (waitingReader: a WebSocket waiting for its next message then holds no
// read buffer, and its reader parks in waitReadable, a shallow stack).
func (s *h2Stream) tryRead(p []byte, _ bool) (int, error) {
	n, ok, err := s.Stream.TryRead(p)
	if !ok {
		return 0, errWouldBlock
	}
	return n, err
}

// waitReadable waits until tryRead would not return errWouldBlock; a
// passed deadline is tryRead's error.
func (s *h2Stream) waitReadable() error {
	s.Stream.WaitReadable()
	return nil
}

// forgetsClosedStreams reports whether the response header h comes from a
// server known to forget a WebSocket's stream after a closing handshake the
// client started, neither ending nor resetting it, and to drop the whole
// connection when the client's END_STREAM arrives on it: hypercorn
// (0.13.2, "Server: hypercorn-h2"), which takes a reset of the stream in
// stride. After its own close it ends the stream, and Close then sends
// END_STREAM if that has arrived.
func forgetsClosedStreams(h http.Header) bool {
	return strings.HasPrefix(h.Get("Server"), "hypercorn")
}
