package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// style is what a printed line is about, which picks its prefix and colour.
type style int

const (
	styleRecv    style = iota // a received message: "< ", blue
	styleControl              // a received ping, pong or close: "< ", yellow
	styleSent                 // what a command sent (with -v): "> ", green
	styleError                // a failure that does not end the session: red
	styleInfo                 // a notice: plain
)

// colours are the SGR sequences of each style.
var colours = [...]string{
	styleRecv:    "\x1b[34m",
	styleControl: "\x1b[33m",
	styleSent:    "\x1b[32m",
	styleError:   "\x1b[31m",
	styleInfo:    "",
}

const colourReset = "\x1b[0m"

// prefixFor returns the "< " or "> " a line of style st starts with.
func prefixFor(st style) string {
	switch st {
	case styleRecv, styleControl:
		return "< "
	case styleSent:
		return "> "
	}
	return ""
}

// paint wraps line in st's colour when colour is on.
func paint(on bool, st style, line string) string {
	if !on || colours[st] == "" {
		return line
	}
	return colours[st] + line + colourReset
}

// colourWanted reports whether output to a terminal may use colours: not
// when NO_COLOR is set to a non-empty value (https://no-color.org).
func colourWanted() bool { return os.Getenv("NO_COLOR") == "" }

// hexDump renders b as hexdump -C does, 16 bytes a line with the offset
// and the printable ASCII; lines after the first are indented to line up
// under the "< " prefix.
func hexDump(b []byte) string {
	if len(b) == 0 {
		return "(empty binary message)"
	}
	var s strings.Builder
	for off := 0; off < len(b); off += 16 {
		if off > 0 {
			s.WriteString("\n  ")
		}
		row := b[off:min(off+16, len(b))]
		fmt.Fprintf(&s, "%08x ", off)
		for i := range 16 {
			if i == 8 {
				s.WriteByte(' ')
			}
			if i < len(row) {
				fmt.Fprintf(&s, " %02x", row[i])
			} else {
				s.WriteString("   ")
			}
		}
		s.WriteString("  |")
		for _, c := range row {
			if c < 0x20 || c >= 0x7f {
				c = '.'
			}
			s.WriteByte(c)
		}
		s.WriteByte('|')
	}
	return s.String()
}

// base64String renders a binary payload for --base64.
func base64String(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// prettyJSON indents a JSON object or array for --json, lines after the
// first indented to line up under the "< " prefix; ok is false for any
// other text.
func prettyJSON(data []byte) (string, bool) {
	t := bytes.TrimSpace(data)
	if len(t) == 0 || t[0] != '{' && t[0] != '[' || !json.Valid(t) {
		return "", false
	}
	var b bytes.Buffer
	if err := json.Indent(&b, t, "  ", "  "); err != nil {
		return "", false
	}
	return b.String(), true
}
