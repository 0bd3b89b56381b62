package main

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wsclient/websocket"
)

// maxInflate bounds what a received compressed payload may inflate to when
// it is shown decompressed, so a small "zip bomb" cannot exhaust memory.
const maxInflate = 16 << 20

// formatter turns received frames into the lines wsdump prints.
type formatter struct {
	verbose    int
	raw        bool
	timings    bool
	timestamps bool      // --timestamps: the wall-clock time of each line
	hex        bool      // --hex: binary messages as a hex dump
	base64     bool      // --base64: binary messages as base64
	json       bool      // --json: JSON text messages indented
	start      time.Time // the connection's opening, for --timings
	now        func() time.Time
}

// message returns the line for a received frame (without "< " or a newline)
// and its style, and false when the frame is not shown.
func (f *formatter) message(op websocket.Opcode, data []byte) (string, style, bool) {
	var body string
	st := styleRecv
	switch op {
	case websocket.OpText:
		body = f.text(data)
		if f.json {
			if pretty, ok := prettyJSON(data); ok {
				body = f.text([]byte(pretty))
			}
		}
	case websocket.OpBinary:
		body = f.binary(data)
	case websocket.OpClose:
		if f.raw && f.verbose == 0 {
			return "", st, false
		}
		return f.stamp("close: " + closeString(data)), styleControl, true
	case websocket.OpPing, websocket.OpPong:
		// Control frames are shown only when asked for: they are not
		// messages, and pings are answered by the library (RFC 6455 §5.5.2).
		if f.verbose == 0 {
			return "", st, false
		}
		body, st = f.controlPayload(data), styleControl
	default:
		body = binaryString(data)
	}
	if f.verbose > 0 {
		body = op.String() + ": " + body
	}
	return f.stamp(body), st, true
}

// binary renders a binary payload as --hex, --base64 or by default.
func (f *formatter) binary(data []byte) string {
	switch {
	case f.hex:
		return hexDump(data)
	case f.base64:
		return base64String(data)
	}
	return binaryString(data)
}

// controlPayload renders a ping or pong payload: escaped even with -r,
// whose byte-for-byte output is for text messages only.
func (f *formatter) controlPayload(data []byte) string {
	if !utf8.Valid(data) {
		return binaryString(data)
	}
	return escapeControls(string(data))
}

// stamp prefixes --timestamps' time of day and --timings' seconds since the
// connection opened.
func (f *formatter) stamp(s string) string {
	if f.timings {
		s = strconv.FormatFloat(f.now().Sub(f.start).Seconds(), 'f', 6, 64) + ": " + s
	}
	if f.timestamps {
		s = f.now().Format("15:04:05.000") + " " + s
	}
	return s
}

// text renders a text payload: byte for byte with -r, else with control
// characters other than tab and newline escaped so that a server cannot send
// escape sequences to the user's terminal.
func (f *formatter) text(data []byte) string {
	if f.raw {
		return string(data)
	}
	return escapeControls(string(data))
}

// escapeControls escapes the control characters of s (but tab and newline)
// and its bytes that are not UTF-8, which the library does not deliver in
// text but a terminal in another encoding could take for C1 controls.
func escapeControls(s string) string {
	clean := utf8.ValidString(s)
	for _, r := range s {
		if isControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	// Two passes: the first measures, so that the output is made once at
	// its size (a long message of escapes grows fourfold, and growing it
	// by appending cost five times the output).
	n := 0
	for i, r := range s {
		if v, digits := escapeOf(s, i, r); digits > 0 {
			n += 2 + digits
		} else if v == '\r' {
			n += 2
		} else {
			n += utf8.RuneLen(r)
		}
	}
	var b strings.Builder
	b.Grow(n)
	var esc [6]byte
	for i, r := range s {
		switch v, digits := escapeOf(s, i, r); {
		case digits > 0:
			b.Write(appendHexEscape(esc[:0], v, digits))
		case v == '\r':
			b.WriteString(`\r`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// escapeOf says how escapeControls shows the rune r at s[i]: as a hex
// escape of v with digits digits (\xhh for a byte that is not UTF-8 and a
// control below 0x100, \uhhhh above), as \r (v '\r', digits 0), or as it
// is (digits 0).
func escapeOf(s string, i int, r rune) (v uint32, digits int) {
	switch {
	case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
		return uint32(s[i]), 2 // one byte that is not UTF-8
	case r == '\r':
		return '\r', 0
	case isControl(r) && r < 0x100:
		return uint32(r), 2
	case isControl(r):
		return uint32(r), 4
	}
	return 0, 0
}

// appendHexEscape appends \x and v in 2 lower-case hex digits, or \u and
// v in 4: \x1b, \u202e.
func appendHexEscape(b []byte, v uint32, digits int) []byte {
	const hex = "0123456789abcdef"
	kind := byte('x')
	if digits == 4 {
		kind = 'u'
	}
	b = append(b, '\\', kind)
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b = append(b, hex[v>>uint(shift)&0xf])
	}
	return b
}

// isControl reports the C0 and C1 control characters (and DEL), except tab
// and newline, plus the bidi overrides that can disguise text.
func isControl(r rune) bool {
	switch {
	case r == '\t' || r == '\n':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// binaryString shows a binary payload as the Python tool does: the
// decompressed text of a gzip or raw-deflate payload when it is UTF-8,
// else the escaped bytes, b'...'.
func binaryString(data []byte) string {
	if s, ok := inflateText(data); ok {
		return s
	}
	return bytesRepr(data)
}

// inflateText tries gzip (by its magic number, RFC 1952 §2.3.1) and then
// raw deflate (RFC 1951, what permessage-deflate and many servers send).
// The payload must be the compressed stream and nothing else, and inflate
// to some text: many short binary payloads begin with bytes that are a
// whole deflate block ("\x03\x00" is an empty one), which says nothing of
// the bytes after it.
func inflateText(data []byte) (string, bool) {
	var (
		r      io.Reader
		prefix string
	)
	in := bytes.NewReader(data) // an io.ByteReader: flate reads no byte past its stream's end
	if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(in)
		if err != nil {
			return "", false
		}
		r, prefix = zr, "[gzip] "
	} else {
		r, prefix = flate.NewReader(in), "[zlib] "
	}
	out, err := io.ReadAll(io.LimitReader(r, maxInflate+1))
	if err != nil || len(out) == 0 || len(out) > maxInflate || in.Len() > 0 || !utf8.Valid(out) {
		return "", false
	}
	return prefix + escapeControls(string(out)), true
}

// bytesRepr renders b exactly as Python's repr of bytes does: b'...', or
// b"..." when b holds a single quote and no double quote; printable ASCII
// as is, the quote in use and the backslash escaped, \t, \n and \r, and
// \xNN for every other byte.
func bytesRepr(b []byte) string {
	quote := byte('\'')
	if bytes.IndexByte(b, '\'') >= 0 && bytes.IndexByte(b, '"') < 0 {
		quote = '"'
	}
	var s strings.Builder
	s.Grow(len(b) + 3)
	s.WriteByte('b')
	s.WriteByte(quote)
	for _, c := range b {
		switch {
		case c == quote || c == '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case c == '\t':
			s.WriteString(`\t`)
		case c == '\n':
			s.WriteString(`\n`)
		case c == '\r':
			s.WriteString(`\r`)
		case c >= 0x20 && c < 0x7f:
			s.WriteByte(c)
		default:
			fmt.Fprintf(&s, `\x%02x`, c)
		}
	}
	s.WriteByte(quote)
	return s.String()
}

// closeString renders a close frame's payload (RFC 6455 §5.5.1): the code,
// its name when it has one, and the reason.
func closeString(p []byte) string {
	code := websocket.StatusNoStatusReceived
	var reason []byte
	if len(p) >= 2 {
		code, reason = websocket.StatusCode(binary.BigEndian.Uint16(p)), p[2:]
	}
	s := strconv.Itoa(int(code))
	if name := code.String(); !strings.HasPrefix(name, "status(") {
		s += " (" + name + ")"
	}
	if len(reason) > 0 {
		s += " " + escapeControls(string(reason))
	}
	return s
}
