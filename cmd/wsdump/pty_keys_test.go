//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/wsclient/websocket/internal/wstest"
)

// TestInteractiveHomeEnd: Home and End as tmux, screen and xterm send them
// move to the start and the end of the line being typed.
func TestInteractiveHomeEnd(t *testing.T) {
	keys := []struct{ home, end string }{
		{"\x1b[1~", "\x1b[4~"}, // tmux, screen
		{"\x1b[7~", "\x1b[8~"}, // rxvt
		{"\x1bOH", "\x1bOF"},   // application mode
		{"\x1b[H", "\x1b[F"},   // xterm
	}
	got := make(chan received, 16)
	srv, _ := newServer(t, nil, recordingEcho(got))
	s := startTTY(t, []string{"NO_COLOR=1"}, srv.URL)
	s.expect("> ")
	var want []received
	for _, k := range keys {
		// "bc", Home, "a", End, "d": "abcd".
		s.typeText("bc" + k.home + "a" + k.end + "d\r")
		s.expect("< abcd")
		want = append(want, received{1, "abcd"})
	}
	s.typeText("\x04")
	if code := s.exitCode(); code != 0 {
		t.Fatalf("exit %d; screen:\n%q", code, s.out.String())
	}
	srv.Close()
	want = append(want, closeFrame(1000, ""))
	if sent := drain(got); !slices.Equal(sent, want) {
		t.Errorf("server received %q, want %q", sent, want)
	}
}

// TestInteractiveTraceStderr: with -vv at a terminal and stderr elsewhere
// (wsdump -vv 2>trace.log), the handshake and frame traces go to stderr,
// not to the screen.
func TestInteractiveTraceStderr(t *testing.T) {
	srv, _ := newServer(t, nil, wstest.Echo)
	cmd := exec.Command(binPath, "-vv", srv.URL+"/trace-path")
	cmd.Env = append(testEnv(), "NO_COLOR=1")
	stderr := newNotifyBuffer()
	cmd.Stderr = stderr
	s := startTTYCmd(t, cmd)
	s.expect("> ")
	s.typeText("hello\r")
	s.expect("< text: hello")
	stderr.waitFor(t, 0, func(s string) string { return s }, `msg="websocket: frame recv" opcode=text`)
	s.typeText("\x04")
	if code := s.exitCode(); code != 0 {
		t.Fatalf("exit %d; screen:\n%q", code, s.out.String())
	}
	trace := stderr.String()
	for _, want := range []string{"websocket: handshake request", "GET /trace-path HTTP/1.1", "websocket: handshake response", `msg="websocket: frame send" opcode=text`} {
		if !strings.Contains(trace, want) {
			t.Errorf("stderr has no %q:\n%s", want, trace)
		}
	}
	if strings.Contains(s.out.String(), "level=") {
		t.Errorf("trace on the screen:\n%q", s.out.String())
	}
}
