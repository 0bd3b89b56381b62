package main

import (
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wsclient/websocket"
)

// FuzzFormat shows any payload of any opcode in every display mode but -r,
// and checks the promise that a server cannot send escape sequences to the
// user's terminal: a line is valid UTF-8 and holds no control character (C0,
// DEL, C1) nor bidi override but tabs and newlines, whatever the bytes, even
// those the library would have refused (text that is not UTF-8).
//
// flags: bits 0-1 the verbosity (0-2), bit 2 --hex, bit 3 --base64, bit 4
// --json, bit 5 --timestamps.
func FuzzFormat(f *testing.F) {
	for _, s := range []string{"hello", "\x1b[2J", "\u009b31m", "\u202eexe", "\xff\x9b", "{\"a\":\"\\u001b\"}",
		"\x03\xe8bye\x1b", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", "\xf2H\xcd\xc9\xc9\a\x00", ""} {
		for _, op := range []byte{1, 2, 8, 9, 10, 3} {
			f.Add(op, byte(1), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, op, flags byte, data []byte) {
		fm := &formatter{verbose: int(flags & 3 % 3), hex: flags&4 != 0, base64: flags&8 != 0, json: flags&16 != 0,
			timestamps: flags&32 != 0, now: func() time.Time { return time.Unix(0, 0) }}
		line, _, shown := fm.message(websocket.Opcode(op&0xf), data)
		if !shown {
			return
		}
		if !utf8.ValidString(line) {
			t.Fatalf("line %q is not UTF-8", line)
		}
		for _, r := range line {
			if r != '\t' && r != '\n' && isControl(r) {
				t.Fatalf("line %q holds %U", line, r)
			}
		}
	})
}
