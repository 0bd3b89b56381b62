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
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
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
		if !validHeaderName(k) {
			return fmt.Errorf("websocket: invalid header name %q", k)
		}
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n\x00") {
				return fmt.Errorf("websocket: header %s: value contains CR, LF or NUL", k)
			}
		}
	}
	return nil
}

func validHeaderName(k string) bool {
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
	limit := opts.RedirectLimit
	if limit == 0 {
		limit = 3
	}
	first := u
	seen := map[string]bool{u.String(): true}
	for hop := 0; ; hop++ {
		// Secrets (Authorization, Cookie, URL credentials) go only to the
		// origin the caller named, or to credentials a Location carries.
		sameOrigin := originOf(u) == originOf(first)
		c, err := dialOnce(ctx, u, opts, hop, sameOrigin)
		var re *redirectError
		if !errors.As(err, &re) {
			return c, err
		}
		if limit < 0 || hop >= limit {
			return nil, re.status
		}
		next, err := u.Parse(re.location)
		if err != nil {
			return nil, fmt.Errorf("websocket: redirect to bad Location %q: %w", re.location, err)
		}
		switch strings.ToLower(next.Scheme) {
		case "http", "ws":
			next.Scheme = "ws"
		case "https", "wss":
			next.Scheme = "wss"
		default:
			return nil, fmt.Errorf("websocket: redirect to unsupported scheme %q", next.Scheme)
		}
		if next.User == nil && originOf(next) == originOf(first) {
			next.User = first.User
		}
		if seen[next.String()] {
			return nil, fmt.Errorf("websocket: redirect loop at %s", next.Redacted())
		}
		seen[next.String()] = true
		traceHandshake("websocket: redirect", slog.Int("status", re.status.StatusCode), slog.String("location", next.Redacted()))
		u = next
	}
}

func originOf(u *url.URL) string {
	h, p := hostPort(u)
	return u.Scheme + "://" + strings.ToLower(h) + ":" + p
}

// dialOnce connects to u and runs one handshake.
func dialOnce(ctx context.Context, u *url.URL, opts *DialOptions, hop int, secrets bool) (c *Conn, err error) {
	var extra http.Header
	if opts.HeaderFunc != nil {
		extra = opts.HeaderFunc()
		if err := checkUserHeader(extra); err != nil {
			return nil, err
		}
	}
	nc, err := connect(ctx, u, opts, hop)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && nc != opts.NetConn {
			nc.Close()
		}
	}()
	// The handshake obeys ctx: its deadline bounds every read and write,
	// and cancelling it interrupts them.
	if d, ok := ctx.Deadline(); ok {
		nc.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	key := newChallengeKey()
	req := buildRequest(u, opts, extra, key, secrets)
	if _, err := nc.Write(req); err != nil {
		return nil, handshakeIOError(err)
	}
	lr := &limitedReader{r: nc, n: maxResponseHeader}
	br := bufio.NewReaderSize(lr, 4096)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet, URL: u})
	if err != nil {
		if lr.n <= 0 {
			return nil, &HandshakeError{Reason: "response headers exceed 64 KiB"}
		}
		return nil, handshakeIOError(err)
	}
	traceHandshake("websocket: handshake response", slog.String("status", resp.Status),
		slog.String("header", redactHeader(resp.Header)))
	if opts.Jar != nil {
		if cookies := resp.Cookies(); len(cookies) > 0 {
			opts.Jar.SetCookies(httpURL(u), cookies)
		}
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, badStatus(resp, lr, nc)
	}
	proto, ext, err := checkResponse(resp, key, opts)
	if err != nil {
		return nil, err
	}
	if !stop() {
		return nil, ctx.Err()
	}
	nc.SetDeadline(time.Time{})
	lr.n = -1
	leftover, _ := br.Peek(br.Buffered())
	c = newConn(nc, leftover, opts)
	// TLS to the server, not to a proxy: ws through an https:// proxy is
	// not secure past the proxy.
	c.isTLS = u.Scheme == "wss"
	c.status = resp.StatusCode
	c.respHeader = resp.Header
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

// newChallengeKey returns a fresh Sec-WebSocket-Key (RFC 6455 §4.1: 16
// random bytes, base64).
func newChallengeKey() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// acceptKey computes Sec-WebSocket-Accept for key (RFC 6455 §4.2.2).
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
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

// buildRequest writes the opening handshake request.
func buildRequest(u *url.URL, opts *DialOptions, extra http.Header, key string, secrets bool) []byte {
	user := http.Header{}
	for k, vs := range opts.Header {
		user[http.CanonicalHeaderKey(k)] = append(user[http.CanonicalHeaderKey(k)], vs...)
	}
	for k, vs := range extra {
		user[http.CanonicalHeaderKey(k)] = append(user[http.CanonicalHeaderKey(k)], vs...)
	}
	host := hostHeader(u)
	if v := user.Get("Host"); v != "" {
		host = v
	}
	if opts.Host != "" {
		host = opts.Host
	}
	delete(user, "Host")

	var b strings.Builder
	b.WriteString("GET " + u.RequestURI() + " HTTP/1.1\r\n")
	b.WriteString("Host: " + host + "\r\n")
	b.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\n")
	b.WriteString("Sec-WebSocket-Key: " + key + "\r\n")
	b.WriteString("Sec-WebSocket-Version: 13\r\n")
	switch {
	case user.Get("Origin") != "":
	case opts.Origin != "":
		b.WriteString("Origin: " + opts.Origin + "\r\n")
	case !opts.SuppressOrigin:
		scheme := "http://"
		if u.Scheme == "wss" {
			scheme = "https://"
		}
		b.WriteString("Origin: " + scheme + hostHeader(u) + "\r\n")
	}
	if len(opts.Subprotocols) > 0 {
		b.WriteString("Sec-WebSocket-Protocol: " + strings.Join(opts.Subprotocols, ", ") + "\r\n")
	}
	if ext := extensionOffer(opts); ext != "" {
		b.WriteString("Sec-WebSocket-Extensions: " + ext + "\r\n")
	}
	if !secrets {
		delete(user, "Authorization")
		delete(user, "Cookie")
	}
	if u.User != nil && user.Get("Authorization") == "" {
		pass, _ := u.User.Password()
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
		user.Set("Cookie", strings.Join(cookies, "; "))
	}
	for _, k := range slices.Sorted(mapKeys(user)) {
		for _, v := range user[k] {
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	if tracing() && IsEnabledForDebug() {
		hdr := user.Clone()
		hdr.Set("Host", host)
		traceHandshake("websocket: handshake request", slog.String("url", redactURL(u)),
			slog.String("header", redactHeader(hdr)))
	}
	return []byte(b.String())
}

func mapKeys(h http.Header) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	}
}

// checkResponse validates a 101 response (RFC 6455 §4.1, the client's
// checks 1–6) and returns the selected subprotocol.
func checkResponse(resp *http.Response, key string, opts *DialOptions) (string, *compression, error) {
	if !headerHasToken(resp.Header, "Upgrade", "websocket") {
		return "", nil, &HandshakeError{Reason: "Upgrade header is " + strconv.Quote(resp.Header.Get("Upgrade")) + ", not websocket"}
	}
	if !headerHasToken(resp.Header, "Connection", "upgrade") {
		return "", nil, &HandshakeError{Reason: "Connection header is " + strconv.Quote(resp.Header.Get("Connection")) + ", not upgrade"}
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), acceptKey(key); got != want {
		return "", nil, &HandshakeError{Reason: "Sec-WebSocket-Accept is " + strconv.Quote(got) + ", want " + strconv.Quote(want)}
	}
	proto, err := selectedProtocol(resp.Header, opts.Subprotocols)
	if err != nil {
		return "", nil, err
	}
	ext, err := checkExtensions(resp.Header.Values("Sec-WebSocket-Extensions"), opts)
	if err != nil {
		return "", nil, err
	}
	return proto, ext, nil
}

func selectedProtocol(h http.Header, offered []string) (string, error) {
	vals := headerTokens(h, "Sec-WebSocket-Protocol")
	switch {
	case len(vals) == 0:
		return "", nil
	case len(vals) > 1:
		return "", &HandshakeError{Reason: "server selected several subprotocols: " + strings.Join(vals, ", ")}
	}
	for _, p := range offered {
		if strings.EqualFold(p, vals[0]) {
			return vals[0], nil
		}
	}
	return "", &HandshakeError{Reason: "server selected subprotocol " + strconv.Quote(vals[0]) + ", which was not offered"}
}

// headerTokens splits a comma-separated header into trimmed, non-empty tokens.
func headerTokens(h http.Header, name string) []string {
	var out []string
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, t := range headerTokens(h, name) {
		if strings.EqualFold(t, token) {
			return true
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
	e := &BadStatusError{
		StatusCode:    resp.StatusCode,
		StatusMessage: strings.TrimSpace(strings.TrimPrefix(resp.Status, code)),
		Header:        resp.Header,
		Body:          body,
	}
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		if loc := resp.Header.Get("Location"); loc != "" {
			return &redirectError{status: e, location: loc}
		}
	}
	return e
}

// limitedReader reads from r while n > 0 (n < 0: without limit), so a
// server cannot make the handshake buffer unbounded headers.
type limitedReader struct {
	r io.Reader
	n int64
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
	return n, err
}
