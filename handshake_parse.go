package websocket

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/wsclient/websocket/internal/httptoken"
)

// The opening handshake's answer is almost always a short 101 (RFC 6455
// §4.2.2) that fits in the first read. Parsing it with http.ReadResponse costs
// a textproto.Reader, an http.Response, a string per header value and a
// canonicalized key per header, about twenty allocations. The fast path here
// parses a 101 head that is wholly buffered into an http.Header with three or
// four allocations: the head as one string (keys and values are substrings of
// it), one []string cut into the values, and the map.
//
// The fast path only accepts what net/http accepts, and gives the same result
// (FuzzParseResponse checks it): anything else — another status (which needs
// a body, redirects and *BadStatusError), folded lines, malformed lines, a
// Content-Length, Transfer-Encoding or Trailer header, "Connection: close",
// which net/http removes (readResponse puts it back), or a head that does not
// fit in the buffer — goes to http.ReadResponse on the same, unconsumed bytes.

// maxInterim is how many interim (1xx) answers may come before the
// handshake's final one.
const maxInterim = 8

// readResponse reads one response head from hs.br: a wholly buffered 101
// on the fast path (below), anything else with http.ReadResponse. Its
// errors are the reader's and the parser's, as they come.
func (hs *handshakeState) readResponse(u *url.URL, trace bool) (response, error) {
	br := hs.br
	var resp response
	if n := upgradeHeadLen(br); n > 0 {
		b, _ := br.Peek(n)
		k := bytes.IndexByte(b, '\n') + 1
		// One string for the header lines, which the Conn keeps
		// (Conn.Header): the status line is not kept, nor copied
		// unless traced.
		if status, ok := upgradeStatus(trimEOL(b[:k])); ok {
			s := string(b[k:])
			if hs.hdr == nil {
				hs.hdr = make(http.Header, 8)
			}
			if hs.vals, ok = fillUpgradeHeader(hs.hdr, hs.vals, s); ok {
				resp.header = hs.hdr // the handshake's until release
				resp.code = http.StatusSwitchingProtocols
				resp.head = s
				if trace {
					resp.status = string(status)
				}
				br.Discard(n)
				return resp, nil
			}
			clear(hs.hdr) // net/http parses it below
		}
	}
	// net/http drops a Connection header that asks to close, which a 101
	// may carry beside upgrade: the head's bytes are kept while it is
	// parsed, to read that header again (connectionField).
	keeping := hs.lr.keep
	if !keeping {
		b, _ := br.Peek(br.Buffered())
		hs.lr.keep, hs.lr.kept = true, append(hs.lr.kept[:0], b...)
	}
	start := len(hs.lr.kept) - br.Buffered()
	full, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet, URL: u})
	head := hs.lr.kept[start : len(hs.lr.kept)-br.Buffered()]
	if !keeping {
		hs.lr.keep = false
	}
	if err != nil {
		if hs.lr.err == io.EOF {
			// The stream ended inside the head (the parser reads
			// past what it has only before the head's end): the
			// parser took the cut line for a whole one.
			err = io.ErrUnexpectedEOF
		}
		return response{}, err
	}
	if full.StatusCode == http.StatusSwitchingProtocols && full.Close && full.Header["Connection"] == nil {
		if v := connectionField(head); v != nil {
			full.Header["Connection"] = v
		}
	}
	if !keeping {
		hs.lr.kept = hs.lr.kept[:0]
	}
	return response{code: full.StatusCode, status: full.Status, header: full.Header, full: full}, nil
}

// connectionField returns the Connection field lines of a response head,
// as net/textproto reads them.
func connectionField(head []byte) []string {
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(head)))
	if _, err := tp.ReadLine(); err != nil {
		return nil
	}
	h, _ := tp.ReadMIMEHeader()
	return h["Connection"]
}

// upgradeHeadLen reports the length of a response head (status line, header
// lines and the empty line) buffered in br whose status line is a 101. It
// reads from br until the head is complete but consumes nothing. It returns
// 0 when the answer is not a 101, when the head does not fit in br's buffer,
// or when reading fails: the caller then lets http.ReadResponse read the same
// bytes and report what it finds (read errors from a net.Conn, a deadline or
// the header limit, repeat).
func upgradeHeadLen(br *bufio.Reader) int {
	scanned := 0 // bytes of complete lines already looked at
	for {
		b, _ := br.Peek(br.Buffered())
		for {
			i := bytes.IndexByte(b[scanned:], '\n')
			if i < 0 {
				break
			}
			line := trimEOL(b[scanned : scanned+i+1])
			if scanned == 0 {
				if !is101(line) {
					return 0
				}
			} else if len(line) == 0 {
				return scanned + i + 1
			}
			scanned += i + 1
		}
		if br.Buffered() >= br.Size() {
			return 0
		}
		if _, err := br.Peek(br.Buffered() + 1); err != nil {
			return 0
		}
	}
}

// trimEOL drops the line's "\n" or "\r\n", as bufio.Reader.ReadLine does.
func trimEOL[T string | []byte](line T) T {
	line = line[:len(line)-1]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line
}

// is101 reports whether the status line's code is 101, splitting it as
// http.ReadResponse does: the protocol up to the first space, then the code
// after any further spaces.
func is101(line []byte) bool {
	_, rest, ok := bytes.Cut(line, []byte(" "))
	rest = bytes.TrimLeft(rest, " ")
	return ok && len(rest) >= 3 && string(rest[:3]) == "101" && (len(rest) == 3 || rest[3] == ' ')
}

// parseUpgradeHead parses head, a whole response head as measured by
// upgradeHeadLen, into the status ("101 Switching Protocols", as
// http.Response.Status) and the header. ok is false when net/http has to
// parse it instead (see above); then nothing is returned.
func parseUpgradeHead(head string) (status string, h http.Header, ok bool) {
	line, rest := cutLine(head)
	st, ok := upgradeStatus([]byte(line))
	if !ok {
		return "", nil, false
	}
	if h, ok = parseUpgradeHeader(rest); !ok {
		return "", nil, false
	}
	return string(st), h, true
}

// upgradeStatus checks a 101 status line (without its line end) as
// parseUpgradeHead does and returns its status ("101 Switching
// Protocols"). It works on the bytes, allocating nothing: a Conn keeps its
// response head without the status line (parseUpgradeHeader).
func upgradeStatus(line []byte) (status []byte, ok bool) {
	proto, status, found := bytes.Cut(line, []byte(" "))
	if !found {
		return nil, false
	}
	status = bytes.TrimLeft(status, " ")
	if code, _, _ := bytes.Cut(status, []byte(" ")); string(code) != "101" {
		return nil, false
	}
	if _, _, ok := http.ParseHTTPVersion(string(proto)); !ok {
		return nil, false
	}
	return status, true
}

// parseUpgradeHeader parses the header lines of a 101 head, what follows
// its status line up to and with the empty line, into a new header (see
// fillUpgradeHeader). ok is false when net/http has to parse the head
// instead.
func parseUpgradeHeader(rest string) (h http.Header, ok bool) {
	h = make(http.Header, headerLines(rest))
	if _, ok = fillUpgradeHeader(h, nil, rest); !ok {
		return nil, false
	}
	return h, true
}

// headerLines counts the header lines of rest, without the empty one.
func headerLines(rest string) int { return max(strings.Count(rest, "\n")-1, 0) }

// fillUpgradeHeader parses the header lines of a 101 head, what follows its
// status line up to and with the empty line, into h, which is empty. The
// keys and values are substrings of rest; each value slice is cut from
// vals, grown to the lines' count if need be and returned, so that a
// handshake reusing h and vals parses without allocating. ok is false when
// net/http has to parse the head instead; h may then hold some lines.
func fillUpgradeHeader(h http.Header, vals []string, rest string) (_ []string, ok bool) {
	// A line starting with a space or tab continues the previous one
	// (obsolete line folding, RFC 9112 §5.2): net/http joins them, or
	// refuses one in first position.
	if len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
		return vals, false
	}
	if n := headerLines(rest); cap(vals) < n {
		vals = make([]string, n)
	}
	strs := vals[:cap(vals)]
	for {
		var line string
		line, rest = cutLine(rest)
		if line == "" {
			break
		}
		if len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
			return vals, false
		}
		k, v, found := strings.Cut(trimSpaceTab(line), ":")
		if !found {
			return vals, false
		}
		key, ok := canonicalKey(k)
		if !ok {
			return vals, false
		}
		for i := 0; i < len(v); i++ {
			if !validHeaderValueByte(v[i]) {
				return vals, false
			}
		}
		switch key {
		case "Content-Length", "Transfer-Encoding", "Trailer":
			// http.ReadResponse validates and rewrites these.
			return vals, false
		}
		v = strings.TrimLeft(v, " \t")
		if vv := h[key]; vv != nil {
			h[key] = append(vv, v)
		} else {
			// One value per key is the rule: each gets a one-element,
			// full-capacity slice of strs, as net/textproto does.
			vv, strs = strs[:1:1], strs[1:]
			vv[0] = v
			h[key] = vv
		}
	}
	for _, v := range h["Connection"] {
		if containsFold(v, "close") {
			// http.ReadResponse deletes a Connection header that asks
			// to close.
			return vals, false
		}
	}
	// As http.ReadResponse does (RFC 7234 §5.4).
	if p := h["Pragma"]; len(p) > 0 && p[0] == "no-cache" && h["Cache-Control"] == nil {
		h["Cache-Control"] = []string{"no-cache"}
	}
	return vals, true
}

// cutLine splits s after its first "\n", the line without its line end.
func cutLine(s string) (line, rest string) {
	i := strings.IndexByte(s, '\n')
	if i < 0 {
		return s, ""
	}
	return trimEOL(s[:i+1]), s[i+1:]
}

// trimSpaceTab trims spaces and tabs at both ends, as net/textproto does with
// each header line.
func trimSpaceTab(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// containsFold reports whether s contains the lower-case ASCII substr,
// ignoring case.
func containsFold(s, substr string) bool {
	for i := 0; i+len(substr) <= len(s); i++ {
		if httptoken.EqualFold(s[i:i+len(substr)], substr) {
			return true
		}
	}
	return false
}

// commonKeys interns the canonical form of header names that WebSocket
// servers commonly send in another case (Sec-WebSocket-Accept), so that
// canonicalizing them does not allocate.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"Upgrade", "Connection", "Sec-Websocket-Accept", "Sec-Websocket-Protocol",
		"Sec-Websocket-Extensions", "Sec-Websocket-Version", "Server", "Date", "Set-Cookie",
		"Content-Type", "Cache-Control", "Pragma", "Via", "Vary", "X-Powered-By",
		"Strict-Transport-Security", "Access-Control-Allow-Origin",
		"Access-Control-Allow-Credentials", "X-Request-Id",
	} {
		m[k] = k
	}
	return m
}()

// canonicalKey returns k in canonical form (http.CanonicalHeaderKey); ok is
// false when k is empty or holds a byte that is not a token byte (RFC 9110
// §5.6.2). net/textproto keeps a name with a space as it is; such names go
// to net/http too.
func canonicalKey(k string) (string, bool) {
	if k == "" {
		return "", false
	}
	canonical := true
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !httptoken.IsTokenByte(c) {
			return "", false
		}
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			canonical = false
		}
		upper = c == '-'
	}
	if canonical {
		return k, true
	}
	var buf [64]byte
	b := buf[:0]
	if len(k) > len(buf) {
		b = make([]byte, 0, len(k))
	}
	upper = true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
		upper = c == '-'
	}
	if v, ok := commonKeys[string(b)]; ok {
		return v, true
	}
	return string(b), true
}

// validHeaderValueByte reports whether c may appear in a field value: VCHAR,
// obs-text, space or tab (RFC 9110 §5.5), as in net/textproto.
func validHeaderValueByte(c byte) bool {
	return c >= 0x20 && c != 0x7F || c == '\t'
}

// headToken returns the first non-empty comma-separated token, trimmed,
// of the values of header key in rest, header lines that
// parseUpgradeHeader accepted; "" when there is none.
func headToken(rest, key string) string {
	for rest != "" {
		var line string
		line, rest = cutLine(rest)
		k, v, found := strings.Cut(trimSpaceTab(line), ":")
		if !found || !httptoken.EqualFold(k, key) {
			continue
		}
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if t = strings.TrimSpace(t); t != "" {
				return t
			}
		}
	}
	return ""
}

// protocolLine returns what a Conn whose response was parsed into a map
// keeps of its header lines: the selected subprotocol's (Conn.respHead).
func protocolLine(proto string) string {
	if proto == "" {
		return ""
	}
	return "Sec-Websocket-Protocol: " + proto + "\r\n\r\n"
}
