package websocket

import "testing"

func TestParseRunnable(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		isOK bool
	}{
		{"0.52 0.58 0.59 3/467 12345\n", 3, true},
		{"13.21 14.13 12.74 15/211 12123", 15, true},
		{"0.00 0.00 0.00 1/1 1", 1, true},
		{"0.52 0.58 0.59 /467 12345", 0, false},
		{"0.52 0.58 0.59 3", 0, false},
		{"garbage", 0, false},
		{"", 0, false},
	} {
		if n, ok := parseRunnable([]byte(tt.in)); n != tt.n || ok != tt.isOK {
			t.Errorf("parseRunnable(%q) = %d, %v; want %d, %v", tt.in, n, ok, tt.n, tt.isOK)
		}
	}
	if n, ok := readRunnable(); !ok || n < 1 {
		t.Errorf("readRunnable() = %d, %v; want at least this thread", n, ok)
	}
}
