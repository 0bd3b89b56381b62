package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/wstest"
	"github.com/wsclient/websocket/internal/xconnect"
)

// binPath is the wsdump binary built once by TestMain; the tests drive it
// as a user would.
var binPath string

// testTimeout bounds every wait of these tests: a wait that fails is a bug,
// not slowness, so it is generous.
const testTimeout = 20 * time.Second

func TestMain(m *testing.M) {
	xconnect.Reexec() // net/http's HTTP/2 server takes extended CONNECT only so
	dir, err := os.MkdirTemp("", "wsdump-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "wsdump")
	args := []string{"build", "-o", binPath}
	if raceEnabled {
		args = append(args, "-race") // so -race also checks the binary's goroutines
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building wsdump:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// notifyBuffer is a bytes.Buffer safe for concurrent use whose readers can
// wait for content without polling.
type notifyBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced at every write
}

func newNotifyBuffer() *notifyBuffer { return &notifyBuffer{changed: make(chan struct{})} }

func (b *notifyBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	close(b.changed)
	b.changed = make(chan struct{})
	return len(p), nil
}

func (b *notifyBuffer) snapshot() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String(), b.changed
}

func (b *notifyBuffer) String() string { s, _ := b.snapshot(); return s }

// waitFor waits until match finds something in the buffer (seen through
// view) at or after offset from, and returns the offset just past it.
func (b *notifyBuffer) waitFor(t *testing.T, from int, view func(string) string, want string) int {
	t.Helper()
	deadline := time.NewTimer(testTimeout)
	defer deadline.Stop()
	for {
		s, changed := b.snapshot()
		s = view(s)
		if from <= len(s) {
			if i := strings.Index(s[from:], want); i >= 0 {
				return from + i + len(want)
			}
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("no %q after offset %d in output:\n%q", want, from, s)
		}
	}
}

// proc is a running wsdump with its stdin as a pipe.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *notifyBuffer
	stderr *notifyBuffer
	done   chan struct{}
	err    error
}

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = testEnv()
	p := &proc{t: t, cmd: cmd, stdout: newNotifyBuffer(), stderr: newNotifyBuffer(), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stdin.Close()
		select {
		case <-p.done:
		case <-time.After(testTimeout):
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the exit and returns the status.
func (p *proc) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(testTimeout):
		p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("wsdump did not exit; stdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatal(p.err)
	}
	return 0
}

// testEnv is the environment without proxy settings or colours.
func testEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToLower(k) {
		case "http_proxy", "https_proxy", "all_proxy", "no_proxy", "no_color", "term", "gorace":
			continue
		}
		env = append(env, kv)
	}
	// A -race binary sleeps a second at exit by default; races it finds
	// still fail the test (exit status 66 and a report on stderr).
	return append(env, "GORACE=atexit_sleep_ms=0")
}

// runWith runs wsdump to completion with stdin from a string.
func runWith(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = testEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ctx.Err() == nil:
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("wsdump %q: %v\nstdout:\n%s\nstderr:\n%s", args, err, out.String(), errb.String())
	}
	return out.String(), errb.String(), code
}

// received is a frame the test server got from wsdump.
type received struct {
	op   byte
	data string
}

// newServer starts a WebSocket server that answers with respHeader, sends
// handshake requests to the returned channel and runs handle.
func newServer(t *testing.T, respHeader http.Header, handle func(c *wstest.Conn)) (*wstest.Server, chan *http.Request) {
	t.Helper()
	reqs := make(chan *http.Request, 8)
	s := wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		c, err := wstest.Upgrade(nc, reqs, respHeader)
		if err != nil {
			return
		}
		handle(c)
	})
	t.Cleanup(s.Close)
	return s, reqs
}

// newTLSServer is newServer over TLS with cfg. (wstest.New and NewTLS
// assign the server to a variable their handlers read, which the race
// detector reports; NewRaw has no such write.)
func newTLSServer(t *testing.T, cfg *tls.Config, handle func(c *wstest.Conn)) *wstest.Server {
	t.Helper()
	s := wstest.NewRaw(func(nc net.Conn) {
		tc := tls.Server(nc, cfg)
		defer tc.Close()
		if err := tc.Handshake(); err != nil {
			return
		}
		c, err := wstest.Upgrade(tc, nil, nil)
		if err != nil {
			return
		}
		handle(c)
	})
	s.URL = "wss://" + s.Addr
	t.Cleanup(s.Close)
	return s
}

// recordingEcho is wstest.Echo that also reports every message and the
// close frame it receives.
func recordingEcho(got chan<- received) func(c *wstest.Conn) {
	return func(c *wstest.Conn) {
		for {
			op, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			got <- received{op, string(data)}
			if err := c.WriteFrame(true, op, data); err != nil || op == 8 {
				return
			}
		}
	}
}

// drain returns what is in ch now.
func drain(ch <-chan received) []received {
	var out []received
	for {
		select {
		case r := <-ch:
			out = append(out, r)
		default:
			return out
		}
	}
}

func closeFrame(code uint16, reason string) received {
	return received{8, string(wstest.ClosePayload(code, reason))}
}

// forbid reads a handshake request from nc and answers 403 Forbidden, a
// refusal another attempt would only repeat.
func forbid(nc net.Conn) {
	if _, err := http.ReadRequest(bufio.NewReader(nc)); err == nil {
		io.WriteString(nc, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|\r`)

// screen drops escape sequences and carriage returns from terminal output.
func screen(s string) string { return ansi.ReplaceAllString(s, "") }
