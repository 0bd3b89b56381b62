package websocket_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/testenv"
)

// TestExamplesRun: every program in examples/ — the README's first command,
// go run ./examples/roundtrip, among them — runs to its end with no outside
// server, exits 0 and prints the steps it promises.
func TestExamplesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs each example")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		testenv.Missing(t, "the go command: %v", err)
	}
	for _, tc := range []struct {
		dir  string
		want []string // in the output, in this order
	}{
		{"roundtrip", []string{"connected to ws://127.0.0.1:", `sent text, echoed back: "Hello, WebSocket"`, "sent binary, echoed back: de ad be ef", "sent ping, got pong", "closed cleanly"}},
		{"app-echo", []string{"open: ws://127.0.0.1:", `echo: "Hello"`, `echo: "WebSocket"`, `echo: "world"`, "closed: 1000"}},
		{"app-eventloop", []string{"app 0 round 2", "closed: 1001 (going away)", "loop stopped"}},
		{"app-keepalive", []string{"open", "closed: 1006", "reconnected", "ping timeout", "reconnected", `pong "hb"`, `closed: 1000 (normal closure) "bye"`, "run ended cleanly"}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, goBin, "run", "./examples/"+tc.dir).CombinedOutput()
			if err != nil {
				t.Fatalf("go run ./examples/%s: %v\n%s", tc.dir, err, out)
			}
			rest := string(out)
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("go run ./examples/%s printed no %q after the lines before it:\n%s", tc.dir, w, out)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}
