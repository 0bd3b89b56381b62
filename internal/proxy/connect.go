package proxy

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	"github.com/wsclient/websocket/internal/httptoken"
)

// maxReplyHeader bounds the CONNECT reply header. A proxy that sends more
// (or never sends the blank line) gets an error, never unbounded memory.
// 64 KiB is far above what real proxies send and below Go's 1 MiB server
// default, which is meant for requests from browsers.
const maxReplyHeader = 64 << 10

// errHeaderTooLarge is the cause when a CONNECT reply header runs past
// maxReplyHeader.
var errHeaderTooLarge = fmt.Errorf("reply header larger than %d bytes", maxReplyHeader)

// connectHTTP asks an HTTP proxy on conn for a tunnel to addr with CONNECT
// (RFC 9110 §9.3.6) and returns the tunnel. Bytes the proxy sent after its
// reply already belong to the target and are replayed by the returned conn.
func connectHTTP(conn net.Conn, p *url.URL, addr string) (net.Conn, error) {
	where := display(p) + ": CONNECT " + addr
	// The request-target is the authority form "host:port" (RFC 9112 §3.2.3),
	// with an IPv6 host in brackets; Host repeats it.
	req := make([]byte, 0, 128)
	req = append(req, "CONNECT "...)
	req = append(req, addr...)
	req = append(req, " HTTP/1.1\r\nHost: "...)
	req = append(req, addr...)
	req = append(req, "\r\n"...)
	secrets := Credentials(p) // what a refusal's message must not repeat
	if secrets != nil {
		req = append(req, "Proxy-Authorization: Basic "...)
		req = append(req, secrets[0]...)
		req = append(req, "\r\n"...)
	}
	req = append(req, "\r\n"...)
	if _, err := conn.Write(req); err != nil {
		return nil, &Error{Reason: where + ": sending request", Err: err}
	}

	br := bufio.NewReaderSize(conn, 4096)
	var (
		code   int
		status string
		header http.Header
	)
	// Interim 1xx answers come before the final one, which the client
	// reads after them (RFC 9110 §15.2); a few at most.
	for interim := 0; ; interim++ {
		block, err := readHeaderBlock(br)
		if err != nil {
			return nil, &Error{Reason: where + ": reading reply", Err: err}
		}
		if code, status, header, err = parseReply(block); err != nil {
			if httptoken.RepeatsSecret(string(block), secrets, false) {
				// The malformed line quoted may hold them (a proxy that
				// echoes the request).
				err = errors.New("malformed reply (not shown: it repeats the credentials sent)")
			}
			return nil, &Error{Reason: where, Err: err}
		}
		if code < 100 || code > 199 || code == 101 || interim == maxInterim {
			break
		}
	}
	if code < 200 || code > 299 {
		return nil, &Error{Reason: where, Err: &StatusError{
			StatusCode: code,
			Status:     status,
			Header:     header,
			Body:       bufferedBody(br, header),
			secrets:    secrets,
		}}
	}
	// A 2xx reply to CONNECT has no body (RFC 9110 §9.3.6: the client
	// ignores Content-Length and Transfer-Encoding); what follows is tunnel.
	if n := br.Buffered(); n > 0 {
		rest, _ := br.Peek(n)
		return &replayConn{Conn: conn, buf: bytes.Clone(rest)}, nil
	}
	return conn, nil
}

// maxInterim is how many interim (1xx) answers a CONNECT's final answer
// may follow; one more is the answer, a refusal.
const maxInterim = 8

// readHeaderBlock reads the status line and header fields up to and
// including the blank line that ends them, at most maxReplyHeader bytes.
func readHeaderBlock(br *bufio.Reader) ([]byte, error) {
	var block []byte
	lineStart := 0
	for {
		chunk, err := br.ReadSlice('\n')
		block = append(block, chunk...)
		if len(block) > maxReplyHeader {
			return nil, errHeaderTooLarge
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue // a line longer than the buffer: keep reading it
		case err == io.EOF && len(block) == 0:
			return nil, errors.New("proxy closed the connection without replying")
		case err == io.EOF:
			return nil, fmt.Errorf("proxy closed the connection within its reply: %w", io.ErrUnexpectedEOF)
		case err != nil:
			return nil, err
		}
		if line := block[lineStart:]; lineStart > 0 && (len(line) == 1 || len(line) == 2 && line[0] == '\r') {
			return block, nil
		}
		lineStart = len(block)
	}
}

// parseReply parses a header block read by readHeaderBlock: the status line
// "HTTP/1.x NNN reason" (RFC 9112 §4) and the header fields (§5), tolerating
// bare LF line ends and obsolete line folding as RFC 9112 §2.2 and §5.2 let
// a recipient do.
func parseReply(block []byte) (code int, status string, header http.Header, err error) {
	lines := bytes.Split(block, []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimSuffix(l, []byte("\r"))
	}
	sl := lines[0]
	if len(sl) < 12 || !bytes.HasPrefix(sl, []byte("HTTP/1.")) || sl[7] < '0' || sl[7] > '9' ||
		sl[8] != ' ' || (len(sl) > 12 && sl[12] != ' ') {
		return 0, "", nil, fmt.Errorf("malformed status line %s", quoteGarbage(sl))
	}
	for _, c := range sl[9:12] {
		if c < '0' || c > '9' {
			return 0, "", nil, fmt.Errorf("malformed status code in %s", quoteGarbage(sl))
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return 0, "", nil, fmt.Errorf("malformed status code in %s", quoteGarbage(sl))
	}
	if len(sl) > 13 {
		status = string(sl[13:])
	}
	header = make(http.Header)
	last := ""
	for _, l := range lines[1:] {
		if len(l) == 0 {
			break // the blank line ending the block
		}
		if l[0] == ' ' || l[0] == '\t' {
			if last == "" {
				return 0, "", nil, fmt.Errorf("malformed header line %s", quoteGarbage(l))
			}
			vs := header[last]
			vs[len(vs)-1] += " " + string(bytes.TrimSpace(l))
			continue
		}
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			return 0, "", nil, fmt.Errorf("malformed header line %s", quoteGarbage(l))
		}
		last = textproto.CanonicalMIMEHeaderKey(string(name))
		header[last] = append(header[last], string(bytes.TrimSpace(value)))
	}
	return code, status, header, nil
}

// quoteGarbage quotes at most 64 bytes of an unexpected reply for a message.
func quoteGarbage(b []byte) string {
	if len(b) > 64 {
		return strconv.Quote(string(b[:64])) + "…"
	}
	return strconv.Quote(string(b))
}

// bufferedBody returns the part of a refusal's body that has already
// arrived with the header, at most maxBodyInError bytes and never past
// Content-Length. It does not wait for more: a proxy that announces a body
// and never sends it must not stall the error.
func bufferedBody(br *bufio.Reader, header http.Header) []byte {
	if te := header.Values("Transfer-Encoding"); len(te) > 0 {
		if !httptoken.EqualFold(strings.TrimSpace(te[len(te)-1]), "chunked") {
			return nil // another coding: the bytes are not the body's
		}
		b, _ := br.Peek(br.Buffered())
		return dechunk(b, maxBodyInError)
	}
	n := min(br.Buffered(), maxBodyInError)
	if cl, err := strconv.ParseInt(header.Get("Content-Length"), 10, 64); err == nil && cl >= 0 {
		n = int(min(int64(n), cl))
	}
	if n == 0 {
		return nil
	}
	b, _ := br.Peek(n)
	return bytes.Clone(b)
}

// dechunk returns the data of the chunked body that starts b (RFC 9112
// §7.1), at most max bytes: the chunks b holds whole or in part, up to the
// last chunk or the first line it cannot read.
func dechunk(b []byte, max int) []byte {
	var out []byte
	for len(out) < max {
		line, rest, ok := bytes.Cut(b, []byte("\n"))
		if !ok {
			break
		}
		hexSize, _, _ := bytes.Cut(bytes.TrimSuffix(line, []byte("\r")), []byte(";")) // chunk extensions
		size, err := strconv.ParseUint(string(bytes.TrimSpace(hexSize)), 16, 31)
		if err != nil || size == 0 {
			break
		}
		n := min(int(size), len(rest), max-len(out))
		out = append(out, rest[:n]...)
		if n < int(size) {
			break
		}
		b = bytes.TrimPrefix(bytes.TrimPrefix(rest[n:], []byte("\r")), []byte("\n"))
	}
	return out
}

// replayConn is a tunnel whose first bytes were read together with the
// proxy's reply: Read returns them before reading the connection again.
// Like the Conn that owns it, it expects one reader at a time.
type replayConn struct {
	net.Conn
	buf []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.buf) == 0 {
		return c.Conn.Read(p)
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

// NetConn returns the connection to the proxy (the convention of
// crypto/tls.Conn.NetConn), for callers that need the socket itself.
func (c *replayConn) NetConn() net.Conn { return c.Conn }

// Credentials returns what proxy URL p sends the proxy of its user info,
// the Basic token (RFC 7617: "user:password", even with an empty password)
// and then the password (the user name when the password is empty);
// nil without user info. A message about the proxy's answer must repeat
// neither.
func Credentials(p *url.URL) []string {
	if p.User == nil {
		return nil
	}
	pass, _ := p.User.Password()
	cred := pass
	if cred == "" { // the user name is the credential ("http://token@proxy")
		cred = p.User.Username()
	}
	return []string{base64.StdEncoding.EncodeToString([]byte(p.User.Username() + ":" + pass)), cred}
}
