package websocket_test

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeProgram: the README opens with its two commands, then the
// go get line, then the whole program of examples/hello (which its
// Example runs) — the file itself, character for character.
func TestReadmeProgram(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := os.ReadFile("examples/hello/main.go")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	commands := strings.Index(s, "```sh\ngo run ./examples/roundtrip ")
	goGet := strings.Index(s, "```sh\ngo get github.com/wsclient/websocket\n```")
	program := strings.Index(s, "```go\n"+string(prog)+"```\n")
	firstGo := strings.Index(s, "```go\n")
	switch {
	case commands < 0 || strings.Contains(s[:commands], "```"):
		t.Error("README does not start with its commands block")
	case goGet < commands:
		t.Error("README has no `go get github.com/wsclient/websocket` block after its commands")
	case program < 0:
		t.Error("README does not hold examples/hello/main.go as it is")
	case program != firstGo || program < goGet:
		t.Error("examples/hello/main.go is not the README's first Go block, after go get")
	}
}
