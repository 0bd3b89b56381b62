package proxy

import (
	"bufio"
	"bytes"
	"testing"
	"unicode"
)

// FuzzConnectReply feeds arbitrary proxy replies to the CONNECT reply reader
// and parser: they must never panic, never accept more than maxReplyHeader
// bytes, and return a status code of three digits on success; the errors
// and the StatusError built from a reply show nothing unprintable.
func FuzzConnectReply(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 Connection established\r\n\r\n",
		"HTTP/1.0 200 OK\r\nProxy-Agent: x\r\n\r\ntunnel bytes",
		"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 4\r\n\r\nnope",
		"HTTP/1.1 502 Bad Gateway\n\n",
		"HTTP/1.1 403 \x1b]0;owned\x07\u202e\r\nContent-Length: 3\r\n\r\n\x1b[J",
		"HTTP/1.1 4\x1b3 x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: 1\r\n\tfolded\r\n\r\n",
		"HTTP/1.1 200 OK\r\n",
		"HTTP/1.1 20",
		"\x05\x00",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 4096)
		block, err := readHeaderBlock(br)
		if err != nil {
			checkPrintable(t, err)
			return
		}
		if len(block) > maxReplyHeader {
			t.Fatalf("accepted a %d-byte header", len(block))
		}
		code, status, header, err := parseReply(block)
		if err != nil {
			checkPrintable(t, err)
			return
		}
		if code < 100 || code > 999 || header == nil {
			t.Fatalf("code %d, header %v", code, header)
		}
		body := bufferedBody(br, header)
		checkPrintable(t, &StatusError{StatusCode: code, Status: status, Header: header, Body: body})
	})
}

// checkPrintable fails t when err's message shows a character a terminal or
// log could act on: whatever the proxy sent, it shows escaped.
func checkPrintable(t *testing.T, err error) {
	t.Helper()
	for _, r := range err.Error() {
		if r != ' ' && !unicode.IsPrint(r) {
			t.Fatalf("error %q shows %U", err, r)
		}
	}
}

// FuzzSOCKSReply feeds arbitrary bytes to the SOCKS4 and SOCKS5 reply
// parsers: no panic, and a SOCKS5 reply accepted is consumed exactly.
func FuzzSOCKSReply(f *testing.F) {
	for _, s := range [][]byte{
		{0, 0x5a, 0, 0, 0, 0, 0, 0},
		{0, 0x5b, 0, 0, 0, 0, 0, 0},
		{5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90},
		{5, 0, 0, 3, 3, 'a', 'b', 'c', 0, 80},
		{5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80},
		{5, 5, 0, 1, 0, 0, 0, 0, 0, 0},
		{5, 0, 0, 9},
		{4},
		{},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) >= 8 {
			parseSOCKS4Reply([8]byte(data))
		}
		r := bytes.NewReader(data)
		if err := readSOCKS5Reply(r); err == nil {
			used := len(data) - r.Len()
			want := 4 + 2
			switch data[3] {
			case 1:
				want += 4
			case 4:
				want += 16
			case 3:
				want += 1 + int(data[4])
			}
			if used != want {
				t.Fatalf("consumed %d bytes of % x, want %d", used, data, want)
			}
		}
	})
}

// FuzzNoProxy checks that no no_proxy list or host makes matching panic,
// and that "*" anywhere in a list matches everything.
func FuzzNoProxy(f *testing.F) {
	f.Add("example.com, .b.example:8080, 10.0.0.0/8, [::1]:80, ::1, *.c.example", "a.example.com", "80")
	f.Add("[", "::1", "1")
	f.Add("[::1]x, 1.2.3.4/99, ::ffff:0:0/80", "::ffff:1.2.3.4", "443")
	f.Fuzz(func(t *testing.T, list, host, port string) {
		ParseNoProxy(list).Match(host, port)
		if !ParseNoProxy(list, "*").Match(host, port) {
			t.Fatal("* did not match")
		}
		IsLoopback(host)
	})
}
