package proxy

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzConnectReply feeds arbitrary proxy replies to the CONNECT reply reader
// and parser: they must never panic, never accept more than maxReplyHeader
// bytes, and return a status code of three digits on success.
func FuzzConnectReply(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 Connection established\r\n\r\n",
		"HTTP/1.0 200 OK\r\nProxy-Agent: x\r\n\r\ntunnel bytes",
		"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 4\r\n\r\nnope",
		"HTTP/1.1 502 Bad Gateway\n\n",
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
			return
		}
		if len(block) > maxReplyHeader {
			t.Fatalf("accepted a %d-byte header", len(block))
		}
		code, _, header, err := parseReply(block)
		if err != nil {
			return
		}
		if code < 100 || code > 999 || header == nil {
			t.Fatalf("code %d, header %v", code, header)
		}
		bufferedBody(br, header)
	})
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
