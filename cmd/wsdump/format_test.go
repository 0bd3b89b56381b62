package main

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"strings"
	"testing"
	"time"

	"github.com/wsclient/websocket"
)

func compressed(t *testing.T, gz bool, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	if gz {
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
	} else {
		w, _ := flate.NewWriter(&b, flate.BestSpeed)
		w.Write([]byte(s))
		w.Close()
	}
	return b.Bytes()
}

func TestFormatMessage(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return start.Add(1500 * time.Millisecond) }
	tests := []struct {
		name    string
		f       formatter
		op      websocket.Opcode
		data    []byte
		want    string
		visible bool
	}{
		{"text", formatter{}, websocket.OpText, []byte("hello"), "hello", true},
		{"text verbose", formatter{verbose: 1}, websocket.OpText, []byte("hello"), "text: hello", true},
		{"text escapes", formatter{}, websocket.OpText, []byte("a\x1b[31mb\rc\td\ne\u202ef\u0085"), `a\x1b[31mb\rc` + "\td\ne" + `\u202ef\x85`, true},
		{"text raw", formatter{raw: true}, websocket.OpText, []byte("a\x1bb"), "a\x1bb", true},
		{"binary", formatter{}, websocket.OpBinary, []byte{0, 'a', '\\', '\'', '\n', 0xff}, `b"\x00a\\'\n\xff"`, true},
		{"binary empty", formatter{verbose: 1}, websocket.OpBinary, nil, "binary: b''", true},
		{"gzip", formatter{}, websocket.OpBinary, compressed(t, true, "zipped"), "[gzip] zipped", true},
		{"deflate", formatter{}, websocket.OpBinary, compressed(t, false, "deflated"), "[zlib] deflated", true},
		{"gzip not utf-8", formatter{}, websocket.OpBinary, compressed(t, true, "\xff"), `b'\x1f\x8b`, true},
		// Bytes that begin with a whole deflate block and go on are not
		// deflate: "\x03\x00" is an empty block, "\x0b\x00" one that
		// inflates to "P" (they were shown as "[zlib] " and "[zlib] P").
		{"not deflate: an int32", formatter{}, websocket.OpBinary, []byte{3, 0, 0, 0}, `b'\x03\x00\x00\x00'`, true},
		{"not deflate: a length prefix", formatter{}, websocket.OpBinary, []byte("\x03\x00abc"), `b'\x03\x00abc'`, true},
		{"not deflate: a block and more", formatter{}, websocket.OpBinary, []byte{0x0b, 0, 0, 0}, `b'\x0b\x00\x00\x00'`, true},
		{"not deflate: an empty block", formatter{}, websocket.OpBinary, []byte{3, 0}, `b'\x03\x00'`, true},
		{"deflate and more", formatter{}, websocket.OpBinary, append(compressed(t, false, "deflated"), 'x'), `b'`, true},
		{"ping hidden", formatter{}, websocket.OpPing, []byte("p"), "", false},
		{"ping verbose", formatter{verbose: 1}, websocket.OpPing, []byte("p"), "ping: p", true},
		{"pong binary", formatter{verbose: 1}, websocket.OpPong, []byte{0xff}, `pong: b'\xff'`, true},
		// -r prints text messages byte for byte, not control frames.
		{"ping raw verbose escapes", formatter{raw: true, verbose: 1}, websocket.OpPing, []byte("\x1b]0;t\x07\x1b[2J"), `ping: \x1b]0;t\x07\x1b[2J`, true},
		{"pong raw verbose escapes", formatter{raw: true, verbose: 1}, websocket.OpPong, []byte("\x1b[31mred\u202e"), `pong: \x1b[31mred\u202e`, true},
		{"close", formatter{}, websocket.OpClose, []byte{0x03, 0xe8, 'b', 'y', 'e'}, "close: 1000 (normal closure) bye", true},
		{"close app code", formatter{}, websocket.OpClose, []byte{0x0f, 0xa0}, "close: 4000", true},
		{"close empty", formatter{verbose: 2}, websocket.OpClose, nil, "close: 1005 (no status received)", true},
		{"close raw hidden", formatter{raw: true}, websocket.OpClose, []byte{0x03, 0xe8}, "", false},
		{"close raw verbose", formatter{raw: true, verbose: 1}, websocket.OpClose, []byte{0x03, 0xe8}, "close: 1000 (normal closure)", true},
		{"timings", formatter{timings: true, start: start, now: now}, websocket.OpText, []byte("x"), "1.500000: x", true},
		{"timings verbose", formatter{timings: true, verbose: 1, start: start, now: now}, websocket.OpText, []byte("x"), "1.500000: text: x", true},
		{"timestamps", formatter{timestamps: true, now: now}, websocket.OpText, []byte("x"), now().Format("15:04:05.000") + " x", true},
		{"hex", formatter{hex: true}, websocket.OpBinary, []byte("hello, world\x00\x01\xff!!"),
			"00000000  68 65 6c 6c 6f 2c 20 77  6f 72 6c 64 00 01 ff 21  |hello, world...!|\n  00000010  21                                                |!|", true},
		{"hex empty", formatter{hex: true}, websocket.OpBinary, nil, "(empty binary message)", true},
		{"base64", formatter{base64: true}, websocket.OpBinary, []byte{0, 1, 0xff}, "AAH/", true},
		{"json", formatter{json: true}, websocket.OpText, []byte(`{"a":[1,"\u202e"]}`), "{\n    \"a\": [\n      1,\n      \"\\u202e\"\n    ]\n  }", true},
		{"json escaped", formatter{json: true}, websocket.OpText, []byte("[\"\u202e\"]"), "[\n    \"\\u202e\"\n  ]", true},
		{"json not json", formatter{json: true}, websocket.OpText, []byte(`{oops`), "{oops", true},
	}
	for _, tt := range tests {
		got, _, ok := tt.f.message(tt.op, tt.data)
		if ok != tt.visible || !strings.HasPrefix(got, tt.want) || (tt.name != "gzip not utf-8" && tt.name != "deflate and more" && got != tt.want) {
			t.Errorf("%s: message = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.visible)
		}
	}
}

// TestInflateBomb: a compressed binary message is shown decompressed up to
// 16 MiB of text; one byte more is shown as the bytes received.
func TestInflateBomb(t *testing.T) {
	if s, ok := inflateText(compressed(t, false, strings.Repeat("a", maxInflate))); !ok || len(s) != len("[zlib] ")+maxInflate {
		t.Errorf("16 MiB inflated: %v, %d bytes", ok, len(s))
	}
	big := compressed(t, true, strings.Repeat("a", maxInflate+1))
	if s, ok := inflateText(big); ok {
		t.Errorf("inflated %d bytes past the limit", len(s))
	}
}

func TestDescribeDialError(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&websocket.BadStatusError{StatusCode: 404, StatusMessage: "Not Found", Body: []byte("no such page\nmore")}, "handshake failed: server answered 404 Not Found: no such page"},
		{&websocket.BadStatusError{StatusCode: 500, Body: []byte{0xff, 0xfe}}, "handshake failed: server answered 500"},
		{&websocket.HandshakeError{Reason: "bad accept"}, "handshake failed: bad handshake: bad accept"},
		// A hostile reason: the terminal gets no escape sequence.
		{&websocket.BadStatusError{StatusCode: 403, StatusMessage: "\x1b]0;owned\x07 \u202eexe"}, `handshake failed: server answered 403 \x1b]0;owned\x07 \u202eexe`},
		{&websocket.ProxyError{Reason: "CONNECT", Err: errString("403 \x1b[2J\u009b")}, `proxy: CONNECT: 403 \x1b[2J\x9b`},
		{&websocket.ProxyError{Reason: "CONNECT", Err: errString("407 Proxy Authentication Required")}, "proxy: CONNECT: 407 Proxy Authentication Required"},
	}
	for _, tt := range tests {
		if got := describeDialError("ws://u:p@h:1/x", tt.err); got != tt.want {
			t.Errorf("describeDialError(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	if got := hostOf("ws://user:secret@h:1/x?q"); got != "h:1" {
		t.Errorf("hostOf = %q", got)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestBytesRepr: binary messages are shown as Python 3 shows bytes, repr(b),
// each want below printed by python3: single quotes, or double quotes when
// the bytes hold a single quote and no double quote; the quote in use and
// the backslash escaped; \t, \n, \r; \xNN (lower case) for the other bytes
// below 0x20 and from 0x7f.
func TestBytesRepr(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, tt := range []struct {
		in   []byte
		want string
	}{
		{nil, `b''`},
		{[]byte("it's"), `b"it's"`},
		{[]byte(`a"b`), `b'a"b'`},
		{[]byte(`a"b'c`), `b'a"b\'c'`},
		{[]byte(`'`), `b"'"`},
		{[]byte(`"`), `b'"'`},
		{[]byte(`''`), `b"''"`},
		{[]byte(`"'"`), `b'"\'"'`},
		{[]byte(`\`), `b'\\'`},
		{[]byte(`\'`), `b"\\'"`},
		{[]byte(`\"`), `b'\\"'`},
		{[]byte("a\tb\nc\rd"), `b'a\tb\nc\rd'`},
		{[]byte("it's \x00\n"), `b"it's \x00\n"`},
		{[]byte("\x00\x01ok"), `b'\x00\x01ok'`},
		{[]byte("\x07\x08\x0b\x0c\x1b\x1f"), `b'\x07\x08\x0b\x0c\x1b\x1f'`},
		{[]byte(" ~\x7f"), `b' ~\x7f'`},
		{[]byte("\x80\x9f\xa0\xff"), `b'\x80\x9f\xa0\xff'`},
		{all, `b'\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f` +
			` !"#$%&\'()*+,-./0123456789:;<=>?` +
			`@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_` +
			"`" + `abcdefghijklmnopqrstuvwxyz{|}~\x7f` +
			`\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90\x91\x92\x93\x94\x95\x96\x97\x98\x99\x9a\x9b\x9c\x9d\x9e\x9f` +
			`\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xab\xac\xad\xae\xaf\xb0\xb1\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xbb\xbc\xbd\xbe\xbf` +
			`\xc0\xc1\xc2\xc3\xc4\xc5\xc6\xc7\xc8\xc9\xca\xcb\xcc\xcd\xce\xcf\xd0\xd1\xd2\xd3\xd4\xd5\xd6\xd7\xd8\xd9\xda\xdb\xdc\xdd\xde\xdf` +
			`\xe0\xe1\xe2\xe3\xe4\xe5\xe6\xe7\xe8\xe9\xea\xeb\xec\xed\xee\xef\xf0\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9\xfa\xfb\xfc\xfd\xfe\xff'`},
	} {
		if got := bytesRepr(tt.in); got != tt.want {
			t.Errorf("bytesRepr(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
