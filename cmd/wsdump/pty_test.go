//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/wsclient/websocket/internal/testenv"
	"github.com/wsclient/websocket/internal/wstest"
)

// ttySession is wsdump running on a pseudo-terminal, as in a user's shell.
type ttySession struct {
	t    *testing.T
	tty  *os.File // the master side: what we type, what the screen shows
	out  *notifyBuffer
	pos  int // how far the screen has been checked
	done chan struct{}
	err  error
}

func startTTY(t *testing.T, env []string, args ...string) *ttySession {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(testEnv(), env...)
	return startTTYCmd(t, cmd)
}

// startTTYCmd runs cmd with the pseudo-terminal as its standard input,
// output and error, each unless cmd already has one.
func startTTYCmd(t *testing.T, cmd *exec.Cmd) *ttySession {
	t.Helper()
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 100})
	if err != nil {
		testenv.Missing(t, "no pseudo-terminal: %v", err)
	}
	s := &ttySession{t: t, tty: tty, out: newNotifyBuffer(), done: make(chan struct{})}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			s.out.Write(buf[:n])
			if err != nil { // EIO once the child has exited and closed the slave
				return
			}
		}
	}()
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			cmd.Process.Kill()
			<-s.done
		}
		tty.Close()
		<-readDone
	})
	return s
}

// expect waits until the screen (escape sequences removed) shows want after
// what was already matched.
func (s *ttySession) expect(want string) {
	s.t.Helper()
	s.pos = s.out.waitFor(s.t, s.pos, screen, want)
}

func (s *ttySession) typeText(keys string) {
	s.t.Helper()
	if _, err := s.tty.Write([]byte(keys)); err != nil {
		s.t.Fatal(err)
	}
}

func (s *ttySession) exitCode() int {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(testTimeout):
		s.t.Fatalf("wsdump did not exit; screen:\n%q", s.out.String())
	}
	if s.err != nil {
		if ee, ok := s.err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		s.t.Fatal(s.err)
	}
	return 0
}

// TestInteractive types at the prompt: lines are sent and echoed back, a
// message pushed by the server is printed above the line being typed, which
// is redrawn intact, history recalls a line, and Ctrl-D closes cleanly.
func TestInteractive(t *testing.T) {
	push := make(chan string)
	got := make(chan received, 16)
	srv, _ := newServer(t, nil, func(c *wstest.Conn) {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case m := <-push:
					c.WriteFrame(true, 1, []byte(m))
				case <-stop:
					return
				}
			}
		}()
		recordingEcho(got)(c)
	})

	s := startTTY(t, nil, srv.URL)
	s.expect("Connected to " + srv.URL + ". Press Ctrl-C or Ctrl-D to quit.")
	s.expect("> ")
	s.typeText("hello\r")
	s.expect("< hello")
	s.expect("> ")

	// A message arrives while "half a li" is being typed.
	s.typeText("half a li")
	s.expect("half a li")
	push <- "pushed"
	s.expect("< pushed")
	s.expect("> half a li") // the prompt and the line are redrawn below it
	s.typeText("ne\r")
	s.expect("< half a line")

	// Line editing: Ctrl-A moves home, Ctrl-K kills to the end.
	s.typeText("xyz\x01w\x0b\r")
	s.expect("< w")

	// History: Up twice recalls "half a line".
	s.typeText("\x1b[A\x1b[A\r")
	s.expect("< half a line")

	s.typeText("\x04") // Ctrl-D on an empty line
	if code := s.exitCode(); code != 0 {
		t.Fatalf("exit %d; screen:\n%q", code, s.out.String())
	}
	srv.Close()
	want := []received{{1, "hello"}, {1, "half a line"}, {1, "w"}, {1, "half a line"}, closeFrame(1000, "")}
	if sent := drain(got); !slices.Equal(sent, want) {
		t.Errorf("server received %q, want %q", sent, want)
	}
	if !strings.Contains(s.out.String(), "\x1b[34m< hello\x1b[0m") {
		t.Errorf("received message not shown in blue: %q", s.out.String())
	}
}

func TestInteractiveCtrlC(t *testing.T) {
	got := make(chan received, 4)
	srv, _ := newServer(t, nil, recordingEcho(got))
	// --eof-wait does not delay Ctrl-C; NO_COLOR turns colours off.
	s := startTTY(t, []string{"NO_COLOR=1"}, "--eof-wait", "60", srv.URL)
	s.expect("> ")
	s.typeText("abc\x03")
	if code := s.exitCode(); code != 0 {
		t.Fatalf("exit %d; screen:\n%q", code, s.out.String())
	}
	if strings.Contains(s.out.String(), "\x1b[34m") {
		t.Errorf("colour despite NO_COLOR: %q", s.out.String())
	}
	srv.Close()
	if sent := drain(got); !slices.Equal(sent, []received{closeFrame(1000, "")}) {
		t.Errorf("server received %q", sent)
	}
}

func TestInteractiveServerClose(t *testing.T) {
	srv, _ := newServer(t, nil, func(c *wstest.Conn) {
		if _, _, err := c.ReadMessage(); err != nil {
			return
		}
		c.WriteFrame(true, 8, wstest.ClosePayload(1001, "going"))
		c.ReadFrame()
	})
	s := startTTY(t, nil, srv.URL)
	s.expect("> ")
	s.typeText("bye\r")
	s.expect("< close: 1001 (going away) going")
	if code := s.exitCode(); code != 0 {
		t.Fatalf("exit %d; screen:\n%q", code, s.out.String())
	}
}

// TestInteractiveHangup: the terminal closed (SIGHUP) ends the session as
// SIGTERM does: a close frame, exit status 0, and the terminal restored
// from raw mode.
func TestInteractiveHangup(t *testing.T) {
	got := make(chan received, 4)
	srv, _ := newServer(t, nil, recordingEcho(got))
	cmd := exec.Command(binPath, srv.URL)
	cmd.Env = append(testEnv(), "XDG_STATE_HOME="+t.TempDir())
	s := startTTYCmd(t, cmd)
	s.expect("> ")
	s.typeText("x\r")
	s.expect("< x")
	if cooked, ok := ttyCooked(s.tty); ok && cooked {
		t.Fatal("the terminal is not in raw mode at the prompt")
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if code := s.exitCode(); code != 0 {
		t.Fatalf("exit %d (%v); screen:\n%q", code, s.err, s.out.String())
	}
	if cooked, ok := ttyCooked(s.tty); ok && !cooked {
		t.Error("the terminal was left in raw mode")
	}
	srv.Close()
	if sent := drain(got); !slices.Equal(sent, []received{{1, "x"}, closeFrame(1000, "")}) {
		t.Errorf("server received %q, want the line and a close frame", sent)
	}
}

// TestInteractiveQuitWhileDialling: Ctrl-C and Ctrl-D at the prompt end
// wsdump at once while a reconnect is dialling (a server that never
// answers the handshake), with the exit status of the lost connection and
// the lines typed meanwhile said not sent.
func TestInteractiveQuitWhileDialling(t *testing.T) {
	for _, key := range []string{"\x03", "\x04"} {
		t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
			srv, dialling := droppedThenHanging(t)
			s := startTTY(t, []string{"NO_COLOR=1", "XDG_STATE_HOME=" + t.TempDir()}, "--reconnect", "10ms", srv.URL)
			select {
			case <-dialling:
			case <-time.After(testTimeout):
				t.Fatalf("no reconnect; screen:\n%q", s.out.String())
			}
			s.typeText("x\r" + key)
			if code := s.exitCode(); code != exitAbnormal {
				t.Fatalf("exit %d, want %d; screen:\n%q", code, exitAbnormal, s.out.String())
			}
			s.expect("; 1 line not sent")
		})
	}
}
