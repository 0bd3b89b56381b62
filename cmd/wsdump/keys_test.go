package main

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestKeyReader: the Home and End keys of tmux and screen reach the
// Terminal as the sequences it knows, also when a read cuts them.
func TestKeyReader(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a\x1b[1~b\x1b[4~c", "a\x1b[Hb\x1b[Fc"},
		{"\x1b[7~\x1b[8~", "\x1b[H\x1b[F"},
		{"\x1bOH\x1bOF", "\x1b[H\x1b[F"},
		{"\x1b[H\x1b[F\x1b[A\x1b[3~", "\x1b[H\x1b[F\x1b[A\x1b[3~"}, // known ones pass
		{"\x1b[2~x\x1bOAy\x1b", "\x1b[2~x\x1bOAy\x1b"},             // others too, and an ESC at the end
		{"\x1b[1", "\x1b[1"},                                       // a cut sequence at the end of input
		{"é\x1b\x1b[1~", "é\x1b\x1b[H"},
	}
	for _, tt := range tests {
		for name, r := range map[string]io.Reader{
			"whole":       strings.NewReader(tt.in),
			"byte a time": iotest.OneByteReader(strings.NewReader(tt.in)),
		} {
			got, err := io.ReadAll(&keyReader{r: r})
			if err != nil || string(got) != tt.want {
				t.Errorf("%s %q: got %q, %v; want %q", name, tt.in, got, err, tt.want)
			}
		}
	}
}
