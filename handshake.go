package websocket

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxResponseHeader bounds the handshake response's status line and headers.
const maxResponseHeader = 64 << 10

// maxErrorBody bounds the body kept in a *BadStatusError.
const maxErrorBody = 64 << 10

// reservedHeaders are set by the library alone (RFC 6455 §4.1).
var reservedHeaders = []string{"Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions"}

// checkUserHeader refuses headers the library owns and values that would
// split the request (CR or LF).
func checkUserHeader(h http.Header) error {
	for k, vs := range h {
		ck := http.CanonicalHeaderKey(k)
		if slices.Contains(reservedHeaders, ck) {
			return fmt.Errorf("websocket: header %s is set by the library and may not be given", k)
		}
		if !isToken(k) {
			return fmt.Errorf("websocket: invalid header name %q", k)
		}
		for _, v := range vs {
			if err := checkHeaderValue(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkHeaderValue refuses a value for header k that would split the
// request or end it early: one holding CR, LF or NUL.
func checkHeaderValue(k, v string) error {
	if strings.ContainsAny(v, "\r\n\x00") {
		return fmt.Errorf("websocket: header %s: value contains CR, LF or NUL", k)
	}
	return nil
}

// checkRequestFields refuses the DialOptions fields that go into the request
// as they are (Host, Origin, Cookie, Subprotocols) when they would inject
// bytes into it, before anything is dialled. A subprotocol must be a token
// (RFC 6455 §4.1, RFC 7230 §3.2.6).
func checkRequestFields(opts *DialOptions) error {
	if err := checkHeaderValue("Host", opts.Host); err != nil {
		return err
	}
	if err := checkHeaderValue("Origin", opts.Origin); err != nil {
		return err
	}
	if err := checkHeaderValue("Cookie", opts.Cookie); err != nil {
		return err
	}
	for _, p := range opts.Subprotocols {
		if !isToken(p) {
			return fmt.Errorf("websocket: subprotocol %q is not a token (RFC 7230 §3.2.6)", p)
		}
	}
	return nil
}

// isToken reports whether k is a token (RFC 7230 §3.2.6): a header name, a
// subprotocol.
func isToken(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7F || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// redirectError carries a redirect answer through dialOnce.
type redirectError struct {
	status   *BadStatusError
	location string
}

func (e *redirectError) Error() string { return e.status.Error() }

// dialRedirects dials u, following redirects as RFC 6455 §4.1 allows and
// DialOptions.RedirectLimit bounds.
func dialRedirects(ctx context.Context, u *url.URL, opts *DialOptions) (*Conn, error) {
	if err := checkRequestFields(opts); err != nil {
		return nil, err
	}
	limit := opts.RedirectLimit
	if limit == 0 {
		limit = 3
	}
	first := u
	var seen map[string]bool // URLs dialled so far, made at the first redirect
	for hop := 0; ; hop++ {
		// Secrets (Authorization, Cookie, URL credentials) go only to the
		// origin the caller named, or to credentials a Location carries.
		sameOrigin := hop == 0 || originOf(u) == originOf(first)
		c, err := dialOnce(ctx, u, opts, hop, sameOrigin)
		if err == nil {
			return c, nil
		}
		var re *redirectError
		if !errors.As(err, &re) {
			return c, err
		}
		if limit < 0 || hop >= limit {
			return nil, re.status
		}
		next, err := u.Parse(re.location)
		if err != nil {
			return nil, fmt.Errorf("websocket: redirect to bad Location %q: %w", redactRawURL(re.location), redactURLError(err))
		}
		switch strings.ToLower(next.Scheme) {
		case "http", "ws":
			next.Scheme = "ws"
		case "https", "wss":
			next.Scheme = "wss"
		default:
			return nil, fmt.Errorf("websocket: redirect to unsupported scheme %q", next.Scheme)
		}
		if u.Scheme == "wss" && next.Scheme == "ws" {
			// Following it would send the request, and then every
			// message, in clear text.
			return nil, fmt.Errorf("websocket: refusing redirect from wss to ws (%s): %w", redactURL(next), re.status)
		}
		if next.User == nil && originOf(next) == originOf(first) {
			next.User = first.User
		}
		if seen == nil {
			seen = map[string]bool{first.String(): true}
		}
		if seen[next.String()] {
			return nil, fmt.Errorf("websocket: redirect loop at %s", redactURL(next))
		}
		seen[next.String()] = true
		if handshakeTracing() {
			traceHandshake("websocket: redirect", slog.Int("status", re.status.StatusCode), slog.String("location", redactURL(next)))
		}
		u = next
	}
}

func originOf(u *url.URL) string {
	h, p := hostPort(u)
	return u.Scheme + "://" + strings.ToLower(h) + ":" + p
}

// handshakeState is the scratch space of one handshake, pooled: the request
// buffer and the buffered reader of the response. The Conn gets a fresh read
// buffer of its own (newConn copies the bytes read past the 101), so these
// are reused by the next handshake.
type handshakeState struct {
	lr  limitedReader
	br  *bufio.Reader
	req []byte
	// nc and expire are what context.AfterFunc runs when ctx ends
	// mid-handshake; expire is bound once, so registering it does not
	// allocate.
	nc     net.Conn
	expire func()
}

var handshakePool = sync.Pool{New: func() any {
	hs := &handshakeState{req: make([]byte, 0, 512)}
	hs.br = bufio.NewReaderSize(&hs.lr, 4096)
	hs.expire = hs.interrupt
	return hs
}}

// interrupt makes the pending handshake read or write fail at once.
func (hs *handshakeState) interrupt() { hs.nc.SetDeadline(time.Unix(1, 0)) }

// release returns hs to the pool, keeping no reference to the connection.
func (hs *handshakeState) release() {
	hs.nc = nil
	hs.lr = limitedReader{}
	hs.br.Reset(&hs.lr)
	if cap(hs.req) > 4<<10 {
		hs.req = make([]byte, 0, 512) // not keep one unusually large request
	}
	hs.req = hs.req[:0]
	handshakePool.Put(hs)
}

// dialOnce connects to u and runs one handshake.
func dialOnce(ctx context.Context, u *url.URL, opts *DialOptions, hop int, secrets bool) (c *Conn, err error) {
	// The user's headers (and the secrets that go with the URL) need a map;
	// the common dial sets none and skips it. They are checked before
	// anything is dialled.
	var user http.Header
	if len(opts.Header) > 0 || opts.HeaderFunc != nil || u.User != nil || opts.Cookie != "" || opts.Jar != nil {
		if user, err = userHeaders(u, opts, secrets); err != nil {
			return nil, err
		}
	}
	var nc net.Conn
	if opts.HTTP2 != HTTP2Off {
		if c, nc, err = dialH2(ctx, u, opts, user); c != nil || err != nil {
			return c, err
		}
	}
	if nc == nil {
		if nc, err = connect(ctx, u, opts, hop); err != nil {
			return nil, err
		}
	}
	defer func() {
		if err != nil && nc != opts.NetConn {
			nc.Close()
		}
	}()
	hs := handshakePool.Get().(*handshakeState)
	hs.nc = nc
	// The handshake obeys ctx: its deadline bounds every read and write,
	// and cancelling it interrupts them.
	if d, ok := ctx.Deadline(); ok {
		nc.SetDeadline(d)
	}
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, hs.expire)
	}
	// Once expire has started it may still use hs.nc: then hs is left to
	// the GC instead of going back to the pool.
	const (
		pending = iota
		stopped
		started
	)
	expireState := pending
	defer func() {
		if stop != nil && expireState == pending && !stop() {
			expireState = started
		}
		if expireState != started {
			hs.release()
		}
	}()

	var key [24]byte
	newChallengeKey(&key)
	hs.req = appendRequest(hs.req[:0], u, opts, user, key[:])
	trace := handshakeTracing()
	if trace {
		traceHandshake("websocket: handshake request", slog.String("url", redactURL(u)),
			slog.String("head", redactHead(string(hs.req))))
	}
	if _, err := nc.Write(hs.req); err != nil {
		return nil, handshakeIOError(err)
	}
	hs.lr = limitedReader{r: nc, n: maxResponseHeader, keep: trace}
	br := hs.br
	br.Reset(&hs.lr)

	var (
		statusCode int
		status     string
		header     http.Header
		full       *http.Response // when http.ReadResponse read it
		head       string         // the head, when parseUpgradeHead read it
	)
	if n := upgradeHeadLen(br); n > 0 {
		b, _ := br.Peek(n)
		s := string(b)
		var ok bool
		if status, header, ok = parseUpgradeHead(s); ok {
			statusCode = http.StatusSwitchingProtocols
			head = s
			br.Discard(n)
		}
	}
	if header == nil {
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet, URL: u})
		if err != nil {
			if hs.lr.n <= 0 {
				return nil, &HandshakeError{Reason: "response headers exceed 64 KiB"}
			}
			return nil, handshakeIOError(err)
		}
		statusCode, status, header = resp.StatusCode, resp.Status, resp.Header
		full = resp
	}
	if trace {
		// The head is what the parser consumed: the bytes received but
		// for those still buffered.
		raw := hs.lr.kept[:len(hs.lr.kept)-br.Buffered()]
		hs.lr.keep, hs.lr.kept = false, nil
		traceHandshake("websocket: handshake response", slog.String("status", status),
			slog.String("head", redactHead(string(raw))))
	}
	setCookies(u, opts, header)
	if statusCode != http.StatusSwitchingProtocols {
		return nil, badStatus(full, &hs.lr, nc)
	}
	proto, ext, err := checkResponse(header, key[:], opts)
	if err != nil {
		return nil, err
	}
	if stop != nil {
		if !stop() {
			expireState = started
			return nil, ctx.Err()
		}
		expireState = stopped
	}
	nc.SetDeadline(time.Time{})
	hs.lr.n = -1
	leftover, _ := br.Peek(br.Buffered())
	c = newConn(nc, leftover, opts)
	// TLS to the server, not to a proxy: ws through an https:// proxy is
	// not secure past the proxy.
	c.isTLS = u.Scheme == "wss"
	if head != "" {
		// Keep the head, not the map built from it: Header parses it
		// again if it is ever called.
		c.respHead = head
	} else {
		c.respHeader.Store(&header)
	}
	c.subprotocol = proto
	c.ext = ext
	return c, nil
}

// handshakeIOError reports an I/O failure during the handshake.
func handshakeIOError(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &timeoutError{op: "handshake", err: err}
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &HandshakeError{Reason: "connection closed before the response was complete"}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return &HandshakeError{Reason: "reading the response: " + err.Error()}
	}
	// Anything else comes from parsing the response (net/http, textproto).
	return &HandshakeError{Reason: "malformed response: " + err.Error()}
}

// newChallengeKey fills key with a fresh Sec-WebSocket-Key (RFC 6455 §4.1:
// 16 random bytes, base64).
func newChallengeKey(key *[24]byte) {
	var b [16]byte
	rand.Read(b[:])
	base64.StdEncoding.Encode(key[:], b[:])
}

// websocketGUID is appended to the key to compute Sec-WebSocket-Accept
// (RFC 6455 §1.3).
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// appendAcceptKey appends Sec-WebSocket-Accept for key (RFC 6455 §4.2.2).
func appendAcceptKey(dst, key []byte) []byte {
	var in [64 + len(websocketGUID)]byte
	b := append(append(in[:0], key...), websocketGUID...)
	h := sha1.Sum(b)
	return base64.StdEncoding.AppendEncode(dst, h[:])
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

// appendRequest appends the opening handshake request (RFC 6455 §4.1) to b,
// with the user's headers as userHeaders merged them.
func appendRequest(b []byte, u *url.URL, opts *DialOptions, user http.Header, key []byte) []byte {
	b = append(b, "GET "...)
	b = append(b, u.RequestURI()...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	switch {
	case opts.Host != "":
		b = append(b, opts.Host...)
	case user.Get("Host") != "":
		b = append(b, user.Get("Host")...)
	default:
		b = appendHostHeader(b, u)
	}
	b = append(b, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	b = append(b, key...)
	b = append(b, "\r\nSec-WebSocket-Version: 13\r\n"...)
	switch {
	case opts.SuppressOrigin:
	case user.Get("Origin") != "":
		// Sent with the user's headers.
	case opts.Origin != "":
		b = append(b, "Origin: "...)
		b = append(b, opts.Origin...)
		b = append(b, "\r\n"...)
	default:
		b = append(b, "Origin: http"...)
		if u.Scheme == "wss" {
			b = append(b, 's')
		}
		b = append(b, "://"...)
		b = appendHostHeader(b, u)
		b = append(b, "\r\n"...)
	}
	if len(opts.Subprotocols) > 0 {
		b = append(b, "Sec-WebSocket-Protocol: "...)
		for i, p := range opts.Subprotocols {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, p...)
		}
		b = append(b, "\r\n"...)
	}
	if ext := extensionOffer(opts); ext != "" {
		b = append(b, "Sec-WebSocket-Extensions: "...)
		b = append(b, ext...)
		b = append(b, "\r\n"...)
	}
	if len(user) > 0 {
		for _, k := range slices.Sorted(maps.Keys(user)) {
			if k == "Host" || k == "Origin" && opts.SuppressOrigin {
				continue
			}
			for _, v := range user[k] {
				b = append(b, k...)
				b = append(b, ": "...)
				b = append(b, v...)
				b = append(b, "\r\n"...)
			}
		}
	}
	return append(b, "\r\n"...)
}

// userHeaders merges Header, HeaderFunc's headers, URL credentials, Cookie
// and the Jar's cookies into the user's part of the request, with canonical
// keys. Authorization and Cookie are kept only when secrets is true (the
// origin the caller named); the Jar decides for its own cookies. What
// HeaderFunc, the Jar and the URL give is refused as Header's values are.
func userHeaders(u *url.URL, opts *DialOptions, secrets bool) (http.Header, error) {
	var extra http.Header
	if opts.HeaderFunc != nil {
		extra = opts.HeaderFunc()
		if err := checkUserHeader(extra); err != nil {
			return nil, err
		}
	}
	user := http.Header{}
	for k, vs := range opts.Header {
		user[http.CanonicalHeaderKey(k)] = append(user[http.CanonicalHeaderKey(k)], vs...)
	}
	for k, vs := range extra {
		user[http.CanonicalHeaderKey(k)] = append(user[http.CanonicalHeaderKey(k)], vs...)
	}
	if !secrets {
		delete(user, "Authorization")
		delete(user, "Cookie")
	}
	if u.User != nil && user.Get("Authorization") == "" {
		pass, _ := u.User.Password()
		if strings.ContainsAny(u.User.Username(), "\r\n\x00") || strings.ContainsAny(pass, "\r\n\x00") {
			return nil, errors.New("websocket: URL user info contains CR, LF or NUL")
		}
		cred := base64.StdEncoding.EncodeToString([]byte(u.User.Username() + ":" + pass))
		user.Set("Authorization", "Basic "+cred)
	}
	cookies := user.Values("Cookie")
	delete(user, "Cookie")
	if opts.Cookie != "" && secrets {
		cookies = append(cookies, opts.Cookie)
	}
	if opts.Jar != nil {
		for _, ck := range opts.Jar.Cookies(httpURL(u)) {
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

// appendHostHeader appends host[:port] for the Host and Origin headers: the
// port only when it is not the scheme's default; IPv6 in brackets.
func appendHostHeader(b []byte, u *url.URL) []byte {
	host, port := hostPort(u)
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

// checkResponse validates a 101 response's header (RFC 6455 §4.1, the
// client's checks 1–6) and returns the selected subprotocol.
func checkResponse(h http.Header, key []byte, opts *DialOptions) (string, *compression, error) {
	// The keys are spelt canonically (http.CanonicalHeaderKey) so that
	// looking them up does not allocate.
	if !headerHasToken(h, "Upgrade", "websocket") {
		return "", nil, &HandshakeError{Reason: "Upgrade header is " + strconv.Quote(h.Get("Upgrade")) + ", not websocket"}
	}
	if !headerHasToken(h, "Connection", "upgrade") {
		return "", nil, &HandshakeError{Reason: "Connection header is " + strconv.Quote(h.Get("Connection")) + ", not upgrade"}
	}
	var buf [28]byte
	want := appendAcceptKey(buf[:0], key)
	if got := h.Get("Sec-Websocket-Accept"); got != string(want) {
		return "", nil, &HandshakeError{Reason: "Sec-WebSocket-Accept is " + strconv.Quote(got) + ", want " + strconv.Quote(string(want))}
	}
	return checkNegotiation(h, opts)
}

// checkNegotiation returns the subprotocol and extension a response
// header selects, checking them against what was offered.
func checkNegotiation(h http.Header, opts *DialOptions) (string, *compression, error) {
	proto, err := selectedProtocol(h, opts.Subprotocols)
	if err != nil {
		return "", nil, err
	}
	ext, err := checkExtensions(h["Sec-Websocket-Extensions"], opts)
	if err != nil {
		return "", nil, err
	}
	return proto, ext, nil
}

func selectedProtocol(h http.Header, offered []string) (string, error) {
	const name = "Sec-Websocket-Protocol"
	var sel string
	n := 0
	for _, v := range h[name] {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if t = strings.TrimSpace(t); t != "" {
				sel = t
				n++
			}
		}
	}
	switch {
	case n == 0:
		return "", nil
	case n > 1:
		return "", &HandshakeError{Reason: "server selected several subprotocols: " + strings.Join(slices.Collect(headerTokens(h, name)), ", ")}
	}
	for _, p := range offered {
		if strings.EqualFold(p, sel) {
			return sel, nil
		}
	}
	return "", &HandshakeError{Reason: "server selected subprotocol " + strconv.Quote(sel) + ", which was not offered"}
}

// headerTokens yields the trimmed, non-empty tokens of a comma-separated
// header.
func headerTokens(h http.Header, name string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, v := range h.Values(name) {
			for v != "" {
				var t string
				t, v, _ = strings.Cut(v, ",")
				if t = strings.TrimSpace(t); t != "" && !yield(t) {
					return
				}
			}
		}
	}
}

// headerHasToken reports whether the header (name in canonical form) lists
// token, compared case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h[name] {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// badStatus builds the error for a non-101 answer, reading at most
// maxErrorBody of its body (briefly: a server may keep the connection open).
func badStatus(resp *http.Response, lr *limitedReader, nc net.Conn) error {
	lr.n = maxErrorBody + 1
	nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	code := strconv.Itoa(resp.StatusCode)
	return statusError(&BadStatusError{
		StatusCode:    resp.StatusCode,
		StatusMessage: strings.TrimSpace(strings.TrimPrefix(resp.Status, code)),
		Header:        resp.Header,
		Body:          body,
	})
}

// statusError is the error of a handshake answered with e's status: a
// redirect to follow when it is one with a Location, else e.
func statusError(e *BadStatusError) error {
	switch e.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		if loc := e.Header.Get("Location"); loc != "" {
			return &redirectError{status: e, location: loc}
		}
	}
	return e
}

// limitedReader reads from r while n > 0 (n < 0: without limit), so a
// server cannot make the handshake buffer unbounded headers.
type limitedReader struct {
	r    io.Reader
	n    int64
	keep bool // append what is read to kept (for the handshake trace)
	kept []byte
}

var errHeaderTooLarge = errors.New("response too large")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return l.r.Read(p)
	}
	if l.n == 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.keep {
		l.kept = append(l.kept, p[:n]...)
	}
	return n, err
}
