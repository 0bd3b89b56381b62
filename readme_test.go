package websocket_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
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

// readmeConn is the README's low-level Conn example, line for line
// (TestReadmeConnExample checks the README holds it, and runs it).
func readmeConn(ctx context.Context, srv *wstest.Server) error {
	conn, err := websocket.Dial(ctx, srv.URL, &websocket.DialOptions{HandshakeTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer conn.Close() // the closing handshake, if nothing else closed it

	if err := conn.SendText("Hello, WebSocket"); err != nil {
		return err
	}
	msg, err := conn.Recv() // or, message after message: for msg, err := range conn.Messages()
	if err != nil {
		return err // a *websocket.CloseError if the server closed first
	}
	fmt.Println("echoed:", msg.Text())
	return conn.Close()
}

// TestReadmeConnExample: the README's Conn example is readmeConn's body,
// and it ends, with the closing handshake, against the hello program's
// echo server (one that never closes on its own).
func TestReadmeConnExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(string(src), "func readmeConn(ctx context.Context, srv *wstest.Server) error {\n")
	body, _, _ = strings.Cut(body, "\n}\n")
	lines := strings.Split(body, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, "\t")
	}
	if !strings.Contains(string(readme), "```go\n"+strings.Join(lines, "\n")+"\n```\n") {
		t.Fatal("README does not hold readmeConn's body as its Conn example")
	}
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := readmeConn(ctx, srv); err != nil {
		t.Fatal(err)
	}
	if cs := srv.Conns(); len(cs) != 1 {
		t.Fatalf("%d connections", len(cs))
	}
}
