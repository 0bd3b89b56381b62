package httptoken

import (
	"strings"
	"testing"
)

// TestIsTokenByte checks the table against RFC 9110 §5.6.2 spelt out: a
// visible ASCII byte that is not a delimiter.
func TestIsTokenByte(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := c > ' ' && c < 0x7F && !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, rune(c))
		if got := IsTokenByte(byte(c)); got != want {
			t.Errorf("IsTokenByte(%#x) = %v, want %v", c, got, want)
		}
	}
}

func TestIsToken(t *testing.T) {
	for s, want := range map[string]bool{"": false, "chat": true, "v1.chat~x": true, "a b": false, "a,b": false, "é": false} {
		if got := IsToken(s); got != want {
			t.Errorf("IsToken(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestShown: printable text stays as it is; a control character, a C1
// control, a bidi override or invalid UTF-8 quotes the whole.
func TestShown(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "",
		"Forbidden":             "Forbidden",
		"Nicht gefunden – ß":    "Nicht gefunden – ß",
		"a\tb":                  `"a\tb"`,
		"\x1b[2J":               `"\x1b[2J"`,
		"x\x7f":                 `"x\x7f"`,
		"\u009b2J":              `"\u009b2J"`,
		"\u202egnp.exe":         `"\u202egnp.exe"`,
		"\xff":                  `"\xff"`,
		`say "hi" \ back`:       `say "hi" \ back`,
		"zero\u200bwidth space": `"zero\u200bwidth space"`,
	} {
		if got := Shown(in); got != want {
			t.Errorf("Shown(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestEqualFold(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"websocket", "WebSocket", true},
		{"", "", true},
		{"chunked", "CHUNKED", true},
		{"websoc\u212aet", "websocket", false}, // the Kelvin sign
		{"\u017fip", "sip", false},             // a long s
		{"web", "websocket", false},
		{"a@", "A`", false}, // '@' and '`' are 0x20 apart, and no letters
		{"[", "{", false},
	} {
		if got := EqualFold(tc.a, tc.b); got != tc.want {
			t.Errorf("EqualFold(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
