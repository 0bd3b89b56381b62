package main

import (
	"strings"
	"testing"
)

// TestH2Smoke runs the HTTP/2 comparison once, small: its server, its open
// child (every HTTP/2 WebSocket on one TCP connection, checked), and the
// recv and echo runs over HTTP/1.1 and over HTTP/2 to both servers (the
// lean one and net/http's).
func TestH2Smoke(t *testing.T) {
	md, err := h2Benchmark([]string{"-rounds", "1", "-duration", "20ms", "-conns", "50", "-q"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md, "| HTTP/2 (lean server) |") || !strings.Contains(md, "| HTTP/2 (net/http server) |") {
		t.Errorf("no column for each HTTP/2 server in:\n%s", md)
	}
	for _, row := range []string{"| open 50: handshakes/s |", "| recv 64 KiB: MB/s |", "| echo 1 KiB: client CPU per round trip |"} {
		if !strings.Contains(md, row) {
			t.Errorf("no row %q in:\n%s", row, md)
		}
	}
}
