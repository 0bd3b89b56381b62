//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/wsclient/websocket/internal/wstest"
)

// TestInteractiveHistory: lines typed are saved under XDG_STATE_HOME and
// come back in the next session, where Ctrl-R finds them; --no-history
// and piped input save nothing.
func TestInteractiveHistory(t *testing.T) {
	state := t.TempDir()
	env := []string{"XDG_STATE_HOME=" + state}
	file := filepath.Join(state, "wsdump", "history")
	got := make(chan received, 16)
	srv, _ := newServer(t, nil, recordingEcho(got))

	s := startTTY(t, env, srv.URL)
	s.expect("> ")
	s.typeText("alpha one\r")
	s.expect("< alpha one")
	s.typeText("beta\r")
	s.expect("< beta")
	s.typeText(" secret\r") // a leading space keeps a line out of the history
	s.expect("<  secret")
	s.typeText("\x04")
	if code := s.exitCode(); code != 0 {
		t.Fatalf("exit %d; screen:\n%q", code, s.out.String())
	}
	if data, err := os.ReadFile(file); err != nil || string(data) != "alpha one\nbeta\n" {
		t.Fatalf("history file: %q, %v", data, err)
	}

	// A new session: Ctrl-R "al" finds "alpha one"; Enter sends it. Then
	// Ctrl-R "zz" fails, and Ctrl-G restores the line typed before.
	s = startTTY(t, env, srv.URL)
	s.expect("> ")
	s.typeText("\x12al")
	// (The screen view drops cursor moves: the old line, redrawn with the
	// new prompt, shows before the match that overwrites it.)
	s.expect("(reverse-i-search)`al': ")
	s.expect("alpha one")
	s.typeText("\r")
	s.expect("< alpha one")
	s.typeText("draft\x12zz")
	s.expect("(failed reverse-i-search)`zz': ")
	s.expect("draft")
	s.typeText("\x07!\r")
	s.expect("< draft!")
	// Up recalls the saved lines too.
	s.typeText("\x1b[A\x1b[A\x1b[A\r")
	s.expect("< beta")
	s.typeText("\x04")
	if code := s.exitCode(); code != 0 {
		t.Fatalf("exit %d; screen:\n%q", code, s.out.String())
	}
	if data, _ := os.ReadFile(file); string(data) != "alpha one\nbeta\nalpha one\ndraft!\nbeta\n" {
		t.Errorf("history file: %q", data)
	}

	// --no-history neither reads nor writes it; piped input never does.
	s = startTTY(t, env, "--no-history", srv.URL)
	s.expect("> ")
	s.typeText("gamma\r\x1b[A\x1b[A\r")
	s.expect("< gamma")
	s.expect("< gamma") // Up twice stops at the only line of this session
	s.typeText("\x04")
	if code := s.exitCode(); code != 0 {
		t.Fatalf("exit %d; screen:\n%q", code, s.out.String())
	}
	cmd := exec.Command(binPath, srv.URL)
	cmd.Env = append(testEnv(), env...)
	cmd.Stdin = strings.NewReader("piped\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("piped: %v: %s", err, out)
	}
	if data, _ := os.ReadFile(file); string(data) != "alpha one\nbeta\nalpha one\ndraft!\nbeta\n" {
		t.Errorf("history file after --no-history and piped input: %q", data)
	}
	srv.Close()
	drain(got)
}

// TestInteractiveCommands: commands at the prompt, with colours: the pong
// of /ping in yellow with its round-trip time, errors in red, and /close
// ends the session with its code.
func TestInteractiveCommands(t *testing.T) {
	got := make(chan received, 16)
	srv, _ := newServer(t, nil, frameRecorder(got, false))
	s := startTTY(t, []string{"XDG_STATE_HOME=" + t.TempDir()}, srv.URL)
	s.expect("Press Ctrl-C or Ctrl-D to quit. /help lists the commands.")
	s.typeText("/ping are you there\r")
	s.expect("< pong: are you there rtt=")
	s.typeText("/nope\r")
	s.expect("unknown command /nope")
	s.typeText("/help\r")
	s.expect("/binary HEX...")
	s.typeText("/close 4001 bye now\r")
	if code := s.exitCode(); code != 0 {
		t.Fatalf("exit %d; screen:\n%q", code, s.out.String())
	}
	out := s.out.String()
	for _, want := range []string{"\x1b[33m< pong: are you there rtt=", "\x1b[31munknown command /nope"} {
		if !strings.Contains(out, want) {
			t.Errorf("screen lacks %q: %q", want, out)
		}
	}
	srv.Close()
	want := []received{{9, "are you there"}, closeFrame(4001, "bye now")}
	if sent := drain(got); !slices.Equal(sent, want) {
		t.Errorf("server received %q, want %q", sent, want)
	}
}

// TestColoursPipedToTerminal: with piped input and a terminal for output,
// messages are coloured by kind (received blue, close yellow); NO_COLOR
// turns that off.
func TestColoursPipedToTerminal(t *testing.T) {
	srv, _ := newServer(t, nil, func(c *wstest.Conn) {
		c.WriteFrame(true, 1, []byte("hi"))
		c.WriteFrame(true, 8, wstest.ClosePayload(1000, "done"))
		c.ReadFrame()
	})
	for _, noColor := range []bool{false, true} {
		cmd := exec.Command(binPath, srv.URL)
		cmd.Env = testEnv()
		if noColor {
			cmd.Env = append(cmd.Env, "NO_COLOR=1")
		}
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		cmd.Stdin = r
		// The terminal becomes the controlling one through standard
		// output (fd 1): standard input is the pipe.
		cmd.SysProcAttr = &syscall.SysProcAttr{Ctty: 1}
		s := startTTYCmd(t, cmd)
		r.Close()
		s.expect("< close: 1000 (normal closure) done")
		if code := s.exitCode(); code != 0 {
			t.Fatalf("exit %d; screen:\n%q", code, s.out.String())
		}
		out := s.out.String()
		coloured := strings.Contains(out, "\x1b[34m< hi\x1b[0m") && strings.Contains(out, "\x1b[33m< close: 1000")
		if coloured == noColor || noColor && strings.Contains(out, "\x1b[") {
			t.Errorf("NO_COLOR set: %v; output %q", noColor, out)
		}
	}
}

// TestNoColoursOnStderrWithRaw: "colours are off when the output is not a
// terminal, with -r, or when NO_COLOR is set": also on the status lines of
// a stderr that is a terminal (they were red whenever it was one).
func TestNoColoursOnStderrWithRaw(t *testing.T) {
	srv, _ := newServer(t, nil, wstest.Echo)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binPath, "-r", "--base64", srv.URL)
	cmd.Env = testEnv()
	cmd.Stdin = r
	cmd.Stdout = new(strings.Builder)               // a pipe: not a terminal
	cmd.SysProcAttr = &syscall.SysProcAttr{Ctty: 2} // stderr is the terminal
	s := startTTYCmd(t, cmd)
	r.Close()
	w.WriteString("!!!\n")
	w.Close()
	s.expect("wsdump: not sent: not base64")
	if code := s.exitCode(); code != 0 {
		t.Fatalf("exit %d; stderr %q", code, s.out.String())
	}
	if out := s.out.String(); strings.Contains(out, "\x1b[") {
		t.Errorf("-r with stdout not a terminal, yet colour on stderr: %q", out)
	}
}
