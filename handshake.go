package websocket

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"iter"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wsclient/websocket/internal/httptoken"
)

// maxResponseHeader bounds the handshake response's status line and headers.
const maxResponseHeader = 64 << 10

// maxErrorBody bounds the body kept in a *BadStatusError; maxErrorWire
// bounds the bytes read for it, a chunked body's framing included (six
// bytes for each byte of one-byte chunks).
const (
	maxErrorBody = 64 << 10
	maxErrorWire = 8 * maxErrorBody
)

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
	// hdr and vals take a 101 response's header lines (fillUpgradeHeader)
	// while the handshake checks them: the Conn keeps the lines, not the
	// map, so both are reused by the next handshake.
	hdr  http.Header
	vals []string
}

// maxPooledHeader is the most header lines whose map and values a pooled
// handshakeState keeps: an unusually long response's go to the GC.
const maxPooledHeader = 32

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
	hs.reset()
	handshakePool.Put(hs)
}

// reset readies hs for the next handshake, keeping nothing of this one's.
func (hs *handshakeState) reset() {
	hs.nc = nil
	hs.lr = limitedReader{}
	hs.br.Reset(&hs.lr)
	if cap(hs.req) > 4<<10 {
		hs.req = make([]byte, 0, 512) // not keep one unusually large request
	}
	hs.req = hs.req[:0]
	if len(hs.hdr) > maxPooledHeader {
		hs.hdr = nil
	}
	clear(hs.hdr) // keeps no string of this response alive
	if cap(hs.vals) > maxPooledHeader {
		hs.vals = nil
	}
	clear(hs.vals[:cap(hs.vals)])
}

// handshake runs the opening handshake over nc (RFC 6455 §4.1): it writes
// the request for u, reads the response and checks it, and returns the Conn
// that runs on nc. ctx's deadline bounds each read and write, and its end
// interrupts them. nc is left open on failure, for the caller to close.
// The trace leaves out creds.
func handshake(ctx context.Context, nc net.Conn, u *url.URL, r *requestConfig, user http.Header, creds dialCredentials, connOpts *DialOptions) (*Conn, error) {
	hs := handshakePool.Get().(*handshakeState)
	hs.nc = nc
	if d, ok := ctx.Deadline(); ok {
		nc.SetDeadline(d)
	}
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, hs.expire)
	}
	// Once expire has started it may still use hs.nc: then hs is left to
	// the GC instead of going back to the pool.
	expireStarted := false
	defer func() {
		if stop != nil && !stop() { // stop is nil once called
			expireStarted = true
		}
		if !expireStarted {
			hs.release()
		}
	}()

	var key [24]byte
	newChallengeKey(&key)
	resp, err := hs.roundTrip(u, r, user, key[:], creds)
	if err != nil {
		return nil, err
	}
	setCookies(u, r.jar, resp.header)
	if resp.code != http.StatusSwitchingProtocols {
		return nil, badStatus(ctx, resp.full, &hs.lr, nc)
	}
	proto, ext, err := checkResponse(resp.header, key[:], r, user)
	if err != nil {
		return nil, err
	}
	if stop != nil {
		stopped := stop()
		stop = nil
		if !stopped {
			expireStarted = true
			return nil, ctx.Err()
		}
	}
	nc.SetDeadline(time.Time{})
	hs.lr.n = -1
	leftover, _ := hs.br.Peek(hs.br.Buffered())
	c := newConn(nc, leftover, connOpts)
	// TLS to the server, not to a proxy: ws through an https:// proxy is
	// not secure past the proxy. A given NetConn that is a TLS stream (a
	// *tls.Conn) is TLS to the server, as Python's is_ssl says of an
	// ssl.SSLSocket.
	c.isTLS = u.Scheme == "wss" || isTLSStream(connOpts.NetConn)
	if resp.head != "" {
		// Keep the head, not the map built from it: Header parses it
		// again if it is ever called.
		c.respHead = resp.head
	} else {
		h := resp.header // only this path pays for the rare state
		c.rareState().header.Store(&h)
		c.respHead = protocolLine(proto)
	}
	c.ext = ext
	return c, nil
}

// response is a handshake response as read: by upgradeStatus and
// fillUpgradeHeader (head set: the header lines; status only when traced;
// header is the handshakeState's, valid until its release)
// or by http.ReadResponse (full set).
type response struct {
	code   int
	status string
	header http.Header
	full   *http.Response
	head   string
}

// roundTrip writes the request for u and reads the response head.
func (hs *handshakeState) roundTrip(u *url.URL, r *requestConfig, user http.Header, key []byte, creds dialCredentials) (response, error) {
	hs.req = appendRequest(hs.req[:0], u, r, user, key)
	trace := handshakeTracing()
	var secrets []string // what a trace must not show, also where a server's URL repeats it
	if trace {
		secrets = creds.list()
		traceHandshake("websocket: handshake request", slog.String("url", httptoken.WithoutSecrets(redactURL(u), secrets)),
			slog.String("head", httptoken.WithoutSecrets(redactHead(string(hs.req)), secrets)))
	}
	if _, err := hs.nc.Write(hs.req); err != nil {
		return response{}, handshakeIOError(err)
	}
	hs.lr = limitedReader{r: hs.nc, n: maxResponseHeader, keep: trace}
	br := hs.br
	br.Reset(&hs.lr)
	var resp response
	// Interim 1xx answers (100 Continue, 103 Early Hints) may come before
	// the final one, which the client reads after them (RFC 9110 §15.2); a
	// few at most, all within the head's limit. The ninth is final.
	for interim := 0; ; interim++ {
		start := len(hs.lr.kept) - br.Buffered() // where this head begins in what a trace keeps
		var err error
		if resp, err = hs.readResponse(u, trace); err != nil {
			if hs.lr.n <= 0 {
				return response{}, &HandshakeError{Reason: "response headers exceed 64 KiB"}
			}
			return response{}, handshakeIOError(err)
		}
		final := resp.code < 100 || resp.code > 199 || resp.code == http.StatusSwitchingProtocols || interim == maxInterim
		if trace {
			// The head is what the parser consumed: the bytes received
			// but for those still buffered.
			raw := hs.lr.kept[start : len(hs.lr.kept)-br.Buffered()]
			msg := "websocket: handshake interim response"
			if final {
				msg = "websocket: handshake response"
			}
			shown := append(secrets, setCookieSecrets(resp.header)...)
			traceHandshake(msg, slog.String("status", httptoken.WithoutSecrets(resp.status, shown)),
				slog.String("head", httptoken.WithoutSecrets(redactHead(string(raw)), shown)))
		}
		if final {
			break
		}
	}
	if trace {
		hs.lr.keep, hs.lr.kept = false, nil
	}
	return resp, nil
}

// handshakeIOError reports an I/O failure during the handshake. A
// connection that closed or failed before the response was whole gives a
// *HandshakeError that also unwraps to the network's error
// (netHandshakeError), which RetryTransient retries: it is a server
// restarting or a middlebox dropping the connection, not an answer.
func handshakeIOError(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &timeoutError{op: "handshake", err: err}
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &netHandshakeError{&HandshakeError{Reason: "connection closed before the response was complete"}, io.ErrUnexpectedEOF}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return &netHandshakeError{&HandshakeError{Reason: "reading the response: " + err.Error()}, err}
	}
	// Anything else comes from parsing the response (net/http, textproto).
	return &HandshakeError{Reason: "malformed response: " + redactParseError(err)}
}

// redactParseError returns the message of err, an error from parsing a
// response head, without the secrets of the header line it may quote: the
// value of a secret header (Set-Cookie above all) or a password in a
// Location, as the trace leaves them out (redactHead). A line that names
// no header (a continuation, a line without a colon) is withheld whole.
func redactParseError(err error) string {
	var pe textproto.ProtocolError
	if !errors.As(err, &pe) {
		return err.Error()
	}
	s := string(pe)
	i := strings.IndexByte(s, '"')
	if i < 0 || !strings.HasPrefix(s, "malformed MIME header") {
		return s
	}
	line, uerr := strconv.Unquote(s[i:])
	name, _, colon := strings.Cut(line, ":")
	if uerr != nil || !colon || !httptoken.IsToken(name) {
		// Not a header line whose name says what it holds (a server
		// echoing "> Authorization: …"): it may hold a secret.
		return s[:i] + "(the line withheld: it may hold a secret)"
	}
	return s[:i] + strconv.Quote(strings.TrimPrefix(redactHead("\n"+line), "\n"))
}

// netHandshakeError is a *HandshakeError whose cause is the network: it
// unwraps to the HandshakeError and to that cause (io.ErrUnexpectedEOF, a
// *net.OpError).
type netHandshakeError struct {
	he    *HandshakeError
	cause error
}

func (e *netHandshakeError) Error() string   { return e.he.Error() }
func (e *netHandshakeError) Unwrap() []error { return []error{e.he, e.cause} }

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

// appendRequest appends the opening handshake request (RFC 6455 §4.1) to b,
// with the user's headers as userHeaders merged them.
func appendRequest(b []byte, u *url.URL, r *requestConfig, user http.Header, key []byte) []byte {
	b = append(b, "GET "...)
	b = appendRequestTarget(b, u)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	switch {
	case r.host != "":
		b = append(b, r.host...)
	case user.Get("Host") != "":
		b = append(b, user.Get("Host")...)
	default:
		b = appendHostHeader(b, u)
	}
	b = append(b, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	b = append(b, key...)
	b = append(b, "\r\nSec-WebSocket-Version: 13\r\n"...)
	switch {
	case r.suppressOrigin:
	case len(user["Origin"]) > 0: // even an empty one
		// Sent with the user's headers.
	case r.origin != "":
		b = append(b, "Origin: "...)
		b = append(b, r.origin...)
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
	if len(r.protocols) > 0 {
		b = append(b, "Sec-WebSocket-Protocol: "...)
		for i, p := range r.protocols {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, p...)
		}
		b = append(b, "\r\n"...)
	}
	if r.extensions != "" {
		b = append(b, "Sec-WebSocket-Extensions: "...)
		b = append(b, r.extensions...)
		b = append(b, "\r\n"...)
	}
	if len(user) > 0 {
		for _, k := range slices.Sorted(maps.Keys(user)) {
			if k == "Host" || k == "Origin" && r.suppressOrigin {
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

// checkResponse validates a 101 response's header (RFC 6455 §4.1, the
// client's checks 1–6) and returns the selected subprotocol. user is the
// request's header fields of the caller's.
func checkResponse(h http.Header, key []byte, r *requestConfig, user http.Header) (string, *compression, error) {
	// The keys are spelt canonically (http.CanonicalHeaderKey) so that
	// looking them up does not allocate.
	if !headerIsToken(h, "Upgrade", "websocket") {
		return "", nil, &HandshakeError{Reason: "Upgrade header is " + strconv.Quote(strings.Join(h["Upgrade"], ", ")) + ", not websocket"}
	}
	if !headerHasToken(h, "Connection", "upgrade") {
		return "", nil, &HandshakeError{Reason: "Connection header is " + strconv.Quote(h.Get("Connection")) + ", not upgrade"}
	}
	var buf [28]byte
	want := appendAcceptKey(buf[:0], key)
	// Exact: one field line with the value, as a second line would make
	// the field's value "want, other" (RFC 9110 §5.3).
	if got := h["Sec-Websocket-Accept"]; len(got) != 1 || got[0] != string(want) {
		return "", nil, &HandshakeError{Reason: "Sec-WebSocket-Accept is " + strconv.Quote(strings.Join(got, ", ")) + ", want " + strconv.Quote(string(want))}
	}
	return checkNegotiation(h, r, user)
}

// checkNegotiation returns the subprotocol and extension a response
// header selects, checking them against what was offered: Subprotocols,
// and a Sec-WebSocket-Protocol of the caller's (user, from Header or
// HeaderFunc), which went out with the request too.
func checkNegotiation(h http.Header, r *requestConfig, user http.Header) (string, *compression, error) {
	proto, err := selectedProtocol(h, r.protocols, user)
	if err != nil {
		return "", nil, err
	}
	ext, err := checkExtensions(h["Sec-Websocket-Extensions"], r.compression)
	if err != nil {
		return "", nil, err
	}
	return proto, ext, nil
}

func selectedProtocol(h http.Header, offered []string, user http.Header) (string, error) {
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
		return "", &HandshakeError{Reason: "server selected several subprotocols: " + httptoken.Shown(strings.Join(slices.Collect(headerTokens(h, name)), ", "))}
	}
	for _, p := range offered {
		if httptoken.EqualFold(p, sel) {
			return sel, nil
		}
	}
	for p := range headerTokens(user, name) {
		if httptoken.EqualFold(p, sel) {
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
			if httptoken.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// headerIsToken reports whether the comma-separated header's only
// non-empty element, over all its lines, is token (ASCII case-insensitive):
// an Upgrade of "websocket, h2c" names another protocol too, which a
// client must refuse (RFC 6455 §4.1).
func headerIsToken(h http.Header, name, token string) bool {
	n := 0
	for t := range headerTokens(h, name) {
		if n++; n > 1 || !httptoken.EqualFold(t, token) {
			return false
		}
	}
	return n == 1
}

// setCookies stores a response's Set-Cookie headers in jar, if there is one.
func setCookies(u *url.URL, jar http.CookieJar, h http.Header) {
	if jar == nil {
		return
	}
	if cookies := (&http.Response{Header: h}).Cookies(); len(cookies) > 0 {
		jar.SetCookies(httpURL(u), cookies)
	}
}

// badStatus builds the error for a non-101 answer, keeping at most
// maxErrorBody of its body, read within maxErrorWire bytes and briefly (a
// server may keep the connection open).
func badStatus(ctx context.Context, resp *http.Response, lr *limitedReader, nc net.Conn) error {
	lr.n = maxErrorWire
	d := time.Now().Add(2 * time.Second)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd // never past the dial's bounds
	}
	nc.SetReadDeadline(d)
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	code := strconv.Itoa(resp.StatusCode)
	return statusError(&BadStatusError{
		StatusCode:    resp.StatusCode,
		StatusMessage: strings.TrimSpace(strings.TrimPrefix(resp.Status, code)),
		Header:        resp.Header,
		Body:          body,
	})
}

// redirectError is a handshake's redirect answer, for dialRedirects to
// follow.
type redirectError struct {
	status   *BadStatusError
	location string
}

func (e *redirectError) Error() string { return e.status.Error() }

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
	r io.Reader
	n int64
	// err is the first read error, which every later read returns: the
	// response's parsers may read again after one (upgradeHeadLen hands
	// its bytes to net/http), and a socket does not repeat every error
	// (after a reset it reads as EOF).
	err  error
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
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	l.err = err
	if l.keep {
		l.kept = append(l.kept, p[:n]...)
	}
	return n, err
}
