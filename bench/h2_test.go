package main

import (
	"strings"
	"testing"
)

// TestH2Smoke runs the HTTP/2 comparison once, small: its server, its open
// child (every HTTP/2 WebSocket on one TCP connection, checked), and the
// recv and echo runs over both protocols.
func TestH2Smoke(t *testing.T) {
	md, err := h2Benchmark([]string{"-rounds", "1", "-duration", "20ms", "-conns", "50", "-q"})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{"| open 50: handshakes/s |", "| recv 64 KiB: MB/s |", "| echo 1 KiB: client CPU per round trip |"} {
		if !strings.Contains(md, row) {
			t.Errorf("no row %q in:\n%s", row, md)
		}
	}
}
