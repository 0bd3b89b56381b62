//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/wstest"
)

// TestBrokenStdout: when standard output's reader goes away (wsdump -r URL
// | head -n 1), the next message's write fails (EPIPE, not SIGPIPE killing
// wsdump): wsdump sends its close frame as an interrupt does, and exits 5
// with one line on standard error.
func TestBrokenStdout(t *testing.T) {
	for _, tt := range []struct {
		name  string
		args  []string
		first string // the line read before the reader goes away
	}{
		{"raw", []string{"-r"}, "one\n"},
		{"default", nil, "< one\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			next := make(chan struct{})
			got := make(chan received, 8)
			srv, _ := newServer(t, nil, func(c *wstest.Conn) {
				c.WriteFrame(true, 1, []byte("one"))
				select {
				case <-next: // the reader is gone
				case <-time.After(testTimeout):
					return
				}
				c.WriteFrame(true, 1, []byte("two"))
				frameRecorder(got, false)(c)
			})
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			cmd := exec.Command(binPath, append(tt.args, srv.URL)...)
			cmd.Env = testEnv()
			cmd.Stdout = pw
			stderr := newNotifyBuffer()
			cmd.Stderr = stderr
			stdin, err := cmd.StdinPipe() // open until the end: no end of input
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()

			pr.SetReadDeadline(time.Now().Add(testTimeout))
			if line, err := bufio.NewReader(pr).ReadString('\n'); line != tt.first {
				t.Fatalf("read %q, %v; want %q", line, err, tt.first)
			}
			pr.Close() // as head does after its line
			close(next)

			var code int
			select {
			case err = <-done:
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				}
			case <-time.After(testTimeout):
				cmd.Process.Kill()
				t.Fatalf("wsdump did not exit; stderr %q", stderr)
			}
			if code != exitOutput {
				t.Errorf("wsdump ended with %v, want exit status %d", err, exitOutput)
			}
			checkOneLine(t, stderr.String(), "wsdump: writing output: broken pipe")
			srv.Close()
			if sent := drain(got); !slices.Equal(sent, []received{closeFrame(1000, "")}) {
				t.Errorf("server received %q, want the close frame", sent)
			}
		})
	}
}

// TestHangup: SIGHUP (the terminal was closed) ends wsdump as SIGTERM
// does: a close frame, then exit status 0 once the server answered it.
func TestHangup(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			got := make(chan received, 8)
			srv, _ := newServer(t, nil, recordingEcho(got))
			p := start(t, srv.URL)
			p.stdin.Write([]byte("x\n"))
			p.stdout.waitFor(t, 0, ident, "< x\n")
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := p.wait(); code != 0 {
				t.Errorf("exit %d (%v), stderr %q; want 0", code, p.err, p.stderr)
			}
			srv.Close()
			if sent := drain(got); !slices.Equal(sent, []received{{1, "x"}, closeFrame(1000, "")}) {
				t.Errorf("server received %q, want the line and a close frame", sent)
			}
		})
	}
}

// TestSignalWhileSendBlocked: a signal ends wsdump within the close wait
// even while a send is blocked on a server that stopped reading: the close
// frame, which cannot be written behind that send, is given up after 3 s,
// the socket closed, and wsdump exits 3 with one line saying so.
func TestSignalWhileSendBlocked(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			p := startSendBlocked(t, "", false)
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := p.waitWithin(closeWait + stopSlack); code != exitAbnormal {
				t.Fatalf("exit %d, want %d; stderr %q", code, exitAbnormal, p.stderr)
			}
			checkOneLine(t, p.stderr.String(), "wsdump: the close frame could not be sent within 3s (the server is not reading)")
		})
	}
}
