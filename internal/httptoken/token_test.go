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
