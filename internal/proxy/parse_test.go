package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestReadHeaderBlock(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{"crlf", "HTTP/1.1 200 OK\r\n\r\ntunnel", "HTTP/1.1 200 OK\r\n\r\n", ""},
		{"bare lf", "HTTP/1.1 200 OK\n\ntunnel", "HTTP/1.1 200 OK\n\n", ""},
		{"headers", "HTTP/1.1 200 OK\r\nA: b\r\n\r\n", "HTTP/1.1 200 OK\r\nA: b\r\n\r\n", ""},
		{"nothing", "", "", "without replying"},
		{"no blank line", "HTTP/1.1 200 OK\r\nA: b\r\n", "", "within its reply"},
		{"half a status line", "HTTP/1.1 20", "", "within its reply"},
		{"blank first line", "\r\nHTTP/1.1 200 OK\r\n\r\n", "\r\nHTTP/1.1 200 OK\r\n\r\n", ""},
		{"huge header", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 1<<20) + "\r\n\r\n", "", "larger than"},
		{"many lines", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X: y\r\n", 20000) + "\r\n", "", "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readHeaderBlock(bufio.NewReaderSize(strings.NewReader(tt.in), 4096))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("= %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	_, err := readHeaderBlock(bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\n")))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated reply: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestParseReply(t *testing.T) {
	tests := []struct {
		in         string
		code       int
		status     string
		header     http.Header
		wantErrMsg string
	}{
		{in: "HTTP/1.1 200 Connection established\r\n\r\n", code: 200, status: "Connection established", header: http.Header{}},
		{in: "HTTP/1.0 200\r\n\r\n", code: 200, header: http.Header{}},
		{in: "HTTP/1.1 200 \r\n\r\n", code: 200, header: http.Header{}},
		{in: "HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm=\"x\"\r\nContent-Length:  5 \r\n\r\n",
			code: 407, status: "Proxy Authentication Required",
			header: http.Header{"Proxy-Authenticate": {`Basic realm="x"`}, "Content-Length": {"5"}}},
		{in: "HTTP/1.1 200 OK\nA: 1\nA: 2\n\n", code: 200, status: "OK", header: http.Header{"A": {"1", "2"}}},
		{in: "HTTP/1.1 200 OK\r\nA: 1\r\n  more\r\n\r\n", code: 200, status: "OK", header: http.Header{"A": {"1 more"}}},
		{in: "HTTP/1.1 200 OK\r\nEmpty:\r\n\r\n", code: 200, status: "OK", header: http.Header{"Empty": {""}}},
		{in: "HTTP/1.1 299", code: 299, header: http.Header{}},
		{in: "HTTP/1.1 20\r\n\r\n", wantErrMsg: "malformed status line"},
		{in: "HTTP/1.1\r\n\r\n", wantErrMsg: "malformed status line"},
		{in: "HTTP/1./ 200\r\n\r\n", wantErrMsg: "malformed status line"},
		{in: "HTTP/1.: 200\r\n\r\n", wantErrMsg: "malformed status line"},
		{in: "HTTP/1.1 200X\r\n\r\n", wantErrMsg: "malformed status line"},
		{in: "HTTP/1.1_200\r\n\r\n", wantErrMsg: "malformed status line"},
		{in: strings.Repeat("x", 65) + "\r\n\r\n", wantErrMsg: `malformed status line "` + strings.Repeat("x", 64) + `"…`},
		{in: "HTTP/2 200\r\n\r\n", wantErrMsg: "malformed status line"},
		{in: "HTTP/1.1 2000 OK\r\n\r\n", wantErrMsg: "malformed status line"},
		{in: "HTTP/1.1 20x OK\r\n\r\n", wantErrMsg: "malformed status code"},
		{in: "HTTP/1.1 +20 OK\r\n\r\n", wantErrMsg: "malformed status code"},
		{in: "HTTP/1.1 099 OK\r\n\r\n", wantErrMsg: "malformed status code"},
		{in: "SSH-2.0-OpenSSH_9.6\r\n\r\n", wantErrMsg: "malformed status line"},
		{in: "\r\n\r\n", wantErrMsg: "malformed status line"},
		{in: "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", wantErrMsg: "malformed header line"},
		{in: "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", wantErrMsg: "malformed header line"},
		{in: "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", wantErrMsg: "malformed header line"},
		{in: "HTTP/1.1 200 OK\r\n folded first\r\n\r\n", wantErrMsg: "malformed header line"},
	}
	for _, tt := range tests {
		code, status, header, err := parseReply([]byte(tt.in))
		if tt.wantErrMsg != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErrMsg) {
				t.Errorf("parseReply(%q) err = %v, want %q", tt.in, err, tt.wantErrMsg)
			}
			continue
		}
		if err != nil || code != tt.code || status != tt.status || !reflect.DeepEqual(header, tt.header) {
			t.Errorf("parseReply(%q) = %d, %q, %v, %v; want %d, %q, %v", tt.in, code, status, header, err, tt.code, tt.status, tt.header)
		}
	}
}

func TestBufferedBody(t *testing.T) {
	tests := []struct {
		name, rest, cl, te, want string
	}{
		{"no length", "hello", "", "", "hello"},
		{"length cuts", "hello world", "5", "", "hello"},
		{"length above buffered", "hel", "5", "", "hel"},
		{"zero length", "next", "0", "", ""},
		{"bad length", "hello", "x", "", "hello"},
		{"bounded", strings.Repeat("b", 2000), "", "", strings.Repeat("b", maxBodyInError)},
		{"nothing buffered", "", "10", "", ""},
		// A chunked body is decoded (RFC 9112 §7.1), as far as it has arrived.
		{"chunked", "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n", "", "chunked", "hello world"},
		{"chunked, cut", "5\r\nhel", "", "chunked", "hel"},
		{"chunked, bad size", "zz\r\nhello\r\n", "", "chunked", ""},
		{"chunked, bounded", "800\r\n" + strings.Repeat("c", 2048) + "\r\n0\r\n\r\n", "", "chunked", strings.Repeat("c", maxBodyInError)},
		{"chunked, Content-Length ignored", "5\r\nhello\r\n0\r\n\r\n", "2", "chunked", "hello"},
		{"another coding", "\x1f\x8b", "", "gzip", ""},
	}
	for _, tt := range tests {
		br := bufio.NewReader(strings.NewReader("HTTP/1.1 502 Bad Gateway\r\n\r\n" + tt.rest))
		if _, err := readHeaderBlock(br); err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		if tt.cl != "" {
			h.Set("Content-Length", tt.cl)
		}
		if tt.te != "" {
			h.Set("Transfer-Encoding", tt.te)
		}
		if got := bufferedBody(br, h); string(got) != tt.want {
			t.Errorf("%s: body = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestQuoteGarbage: a reply shown in an error is cut, with a mark, only
// past 64 bytes.
func TestQuoteGarbage(t *testing.T) {
	for _, tt := range []struct{ n, shown int }{{0, 0}, {64, 64}, {65, 64}} {
		want := `"` + strings.Repeat("x", tt.shown) + `"`
		if tt.n > tt.shown {
			want += "…"
		}
		if got := quoteGarbage(bytes.Repeat([]byte("x"), tt.n)); got != want {
			t.Errorf("%d bytes: %s, want %s", tt.n, got, want)
		}
	}
}

// TestSOCKSErrorMessage: every SOCKS5 reply code has a message, the last
// one RFC 1928 names and the first it does not included.
func TestSOCKSErrorMessage(t *testing.T) {
	last := uint8(len(socks5Replies) - 1)
	for code, want := range map[uint8]string{1: "general SOCKS server failure (SOCKS5 reply code 0x01)",
		last: socks5Replies[last], last + 1: fmt.Sprintf("unknown error (SOCKS5 reply code 0x%02x)", last+1), 0xff: "unknown error"} {
		if got := (&SOCKSError{Version: 5, Code: code}).Error(); !strings.Contains(got, want) {
			t.Errorf("code %d: %q, want %q in it", code, got, want)
		}
	}
}

func TestStatusErrorMessage(t *testing.T) {
	tests := []struct {
		e    StatusError
		want string
	}{
		{StatusError{StatusCode: 407, Status: "Proxy Authentication Required"}, "407 Proxy Authentication Required"},
		{StatusError{StatusCode: 502}, "502 Bad Gateway"},
		{StatusError{StatusCode: 599}, "599"},
		{StatusError{StatusCode: 403, Status: "Forbidden", Body: []byte("<h1>\n  Denied\n</h1>")}, `403 Forbidden: "<h1> Denied </h1>"`},
		{StatusError{StatusCode: 403, Body: []byte("\xff")}, "403 Forbidden: \"\uFFFD\""},
		{StatusError{StatusCode: 403, Body: []byte(strings.Repeat("é", 200))}, `403 Forbidden: "` + strings.Repeat("é", 120) + `…"`},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestParseSOCKS4Reply(t *testing.T) {
	tests := []struct {
		reply   [8]byte
		wantErr string
	}{
		{[8]byte{0, 0x5a}, ""},
		{[8]byte{0, 0x5a, 1, 2, 3, 4, 5, 6}, ""},
		{[8]byte{4, 0x5a}, "not a SOCKS4 reply (version byte 0x04"},
		{[8]byte{5, 0}, "not a SOCKS4 reply"},
		{[8]byte{0, 0x5b}, "request rejected or failed (SOCKS4 reply code 0x5b)"},
		{[8]byte{0, 0x5c}, "identd"},
		{[8]byte{0, 0x5d}, "different user id"},
		{[8]byte{0, 0x00}, "unknown error (SOCKS4 reply code 0x00)"},
	}
	for _, tt := range tests {
		err := parseSOCKS4Reply(tt.reply)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("% x: %v", tt.reply, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("% x: err = %v, want %q", tt.reply, err, tt.wantErr)
		}
	}
}

func TestReadSOCKS5Reply(t *testing.T) {
	tests := []struct {
		name    string
		reply   []byte
		wantErr string
	}{
		{"ipv4", []byte{5, 0, 0, 1, 1, 2, 3, 4, 0, 80}, ""},
		{"ipv6", append([]byte{5, 0, 0, 4}, make([]byte, 18)...), ""},
		{"name", []byte{5, 0, 0, 3, 3, 'a', 'b', 'c', 0, 80}, ""},
		{"empty name", []byte{5, 0, 0, 3, 0, 0, 80}, ""},
		{"rsv ignored", []byte{5, 0, 9, 1, 1, 2, 3, 4, 0, 80}, ""},
		{"wrong version", []byte{4, 0, 0, 1, 1, 2, 3, 4, 0, 80}, "not a SOCKS5 reply (version byte 0x04"},
		{"http answer", []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), "not a SOCKS5 reply (version byte 0x48"},
		{"refused", []byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}, "connection refused (SOCKS5 reply code 0x05)"},
		{"general failure", []byte{5, 1, 0, 1, 0, 0, 0, 0, 0, 0}, "general SOCKS server failure"},
		{"not allowed", []byte{5, 2, 0, 1, 0, 0, 0, 0, 0, 0}, "not allowed by ruleset"},
		{"address type", []byte{5, 8, 0, 1, 0, 0, 0, 0, 0, 0}, "address type not supported"},
		{"unknown code", []byte{5, 0x42, 0, 1, 0, 0, 0, 0, 0, 0}, "unknown error (SOCKS5 reply code 0x42)"},
		{"unknown atyp", []byte{5, 0, 0, 2, 0, 0, 0, 0, 0, 0}, "unknown address type 0x02"},
		{"empty", nil, "proxy closed the connection"},
		{"half", []byte{5, 0}, "proxy closed the connection"},
		{"short address", []byte{5, 0, 0, 4, 0, 0, 0}, "proxy closed the connection"},
		{"short name", []byte{5, 0, 0, 3}, "proxy closed the connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bytes.NewReader(append(tt.reply, "tunnel"...))
			err := readSOCKS5Reply(r)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if rest, _ := io.ReadAll(r); string(rest) != "tunnel" {
					t.Errorf("reply not consumed exactly: rest %q", rest)
				}
				return
			}
			if tt.name == "empty" || tt.name == "half" || strings.HasPrefix(tt.name, "short") {
				err = readSOCKS5Reply(bytes.NewReader(tt.reply)) // without the trailing bytes
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("err = %v, want io.ErrUnexpectedEOF", err)
				}
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestConnectStatusRange: every 2xx answer to CONNECT opens the tunnel (RFC
// 9110 §15.3), the edges included; 1xx and 3xx refuse it.
func TestConnectStatusRange(t *testing.T) {
	for code, ok := range map[int]bool{199: false, 200: true, 299: true, 300: false} {
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			br := bufio.NewReader(server)
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			fmt.Fprintf(server, "HTTP/1.1 %d X\r\n\r\n", code)
		}()
		conn, err := connectHTTP(client, &url.URL{Scheme: "http", Host: "proxy.test:8080"}, "target.test:443")
		var se *StatusError
		switch {
		case code < 200: // an interim answer, then the connection closed: no final answer
			if err == nil || conn != nil {
				t.Errorf("%d: connectHTTP = %v, %v", code, conn, err)
			}
		case ok && (err != nil || conn == nil) || !ok && (!errors.As(err, &se) || se.StatusCode != code):
			t.Errorf("%d: connectHTTP = %v, %v", code, conn, err)
		}
		client.Close()
	}
}
