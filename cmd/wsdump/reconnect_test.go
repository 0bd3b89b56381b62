package main

import (
	"io"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/wstest"
)

// droppedThenHanging starts a server whose first connection is upgraded
// and dropped at once; every later one is a dial that never completes (the
// handshake request is read, never answered): dialling is sent a value
// when one begins.
func droppedThenHanging(t *testing.T) (srv *wstest.Server, dialling <-chan struct{}) {
	t.Helper()
	var conns atomic.Int32
	ch := make(chan struct{}, 16)
	srv = wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		if conns.Add(1) == 1 {
			wstest.Upgrade(nc, nil, nil)
			return
		}
		select {
		case ch <- struct{}{}:
		default:
		}
		io.Copy(io.Discard, nc) // until wsdump or the server closes it
	})
	t.Cleanup(srv.Close)
	return srv, ch
}

// TestMaxMessagesNoReconnect: with --reconnect, reaching --once or
// --max-messages is wsdump's own close: a server that drops the connection
// instead of answering the close frame gets exit status 3 (no closing
// handshake), not a reconnect.
func TestMaxMessagesNoReconnect(t *testing.T) {
	for _, args := range [][]string{{"-1"}, {"--max-messages", "2"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var conns atomic.Int32
			again := make(chan struct{}, 1)
			srv, _ := newServer(t, nil, func(c *wstest.Conn) {
				if conns.Add(1) > 1 {
					again <- struct{}{}
					return
				}
				for _, m := range []string{"m1", "m2", "m3"} {
					c.WriteFrame(true, 1, []byte(m))
				}
				for { // up to wsdump's close frame, then drop the connection
					if f, err := c.ReadFrame(); err != nil || f.Opcode == 8 {
						return
					}
				}
			})
			p := start(t, append(args, "--reconnect", "10ms", srv.URL)...) // stdin stays open
			select {
			case <-p.done:
			case <-again:
				t.Fatalf("wsdump reconnected after its own close; stderr %q", p.stderr)
			case <-time.After(testTimeout):
				t.Fatalf("wsdump did not exit; stderr %q", p.stderr)
			}
			if code := p.wait(); code != exitAbnormal {
				t.Errorf("exit %d, want %d; stderr %q", code, exitAbnormal, p.stderr)
			}
			checkOneLine(t, p.stderr.String(), "wsdump: the server closed the connection without answering our close frame")
		})
	}
}

// TestReconnectAfterEndOfInput: piped input that ends while wsdump waits
// to reconnect still has its lines sent once connected again, then ends as
// usual (a close frame, exit status 0).
func TestReconnectAfterEndOfInput(t *testing.T) {
	srv, got := dropFirstThenEcho(t)
	// A wait long enough for the end of input to come during it (were the
	// test slower, it would come later, which passes too).
	p := start(t, "--reconnect", "1s", srv.URL)
	p.stdin.Write([]byte("a\n"))
	p.stderr.waitFor(t, 0, ident, "; reconnecting in 1s\n")
	p.stdin.Write([]byte("b\nc\n"))
	p.stdin.Close()
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, p.stderr)
	}
	srv.Close()
	if sent := drain(got); !slices.Equal(sent, []received{{1, "b"}, {1, "c"}, closeFrame(1000, "")}) {
		t.Errorf("second connection received %q", sent)
	}
}

// TestReconnectAfterEndOfInputGivesUp: after the end of input, the lines
// not sent get the next attempt, and later ones within 3 s (the close
// wait); then wsdump gives up and says how many lines were not sent.
func TestReconnectAfterEndOfInputGivesUp(t *testing.T) {
	refused := closedPort(t)
	_, stderr, code := runWith(t, "hi\n", "--reconnect", "100ms", "ws://"+refused+"/")
	if code != exitConnect {
		t.Errorf("exit %d, want %d", code, exitConnect)
	}
	// "reconnect failed": an attempt was made after the end of input.
	want := "\nwsdump: reconnect failed: cannot connect to " + refused + ": connection refused; no connection within 3s after the end of input: 1 line not sent\n"
	if !strings.HasSuffix(stderr, want) {
		t.Errorf("stderr %q, want attempts then %q", stderr, want)
	}
}

// TestQuitWhileReconnecting: /quit ends wsdump at once while it waits to
// reconnect or dials (nothing to close), saying which lines were not sent;
// /help is answered then too.
func TestQuitWhileReconnecting(t *testing.T) {
	t.Run("waiting", func(t *testing.T) {
		srv, _ := droppedThenHanging(t)
		p := start(t, "--commands", "--reconnect", "1h", srv.URL)
		at := p.stderr.waitFor(t, 0, ident, "; reconnecting in 1h0m0s\n")
		p.stdin.Write([]byte("/help\nx\n/quit\n"))
		if code := p.wait(); code != exitAbnormal {
			t.Errorf("exit %d, want %d (the connection was lost); stderr %q", code, exitAbnormal, p.stderr)
		}
		at = p.stderr.waitFor(t, at, ident, "/quit                      close normally and exit\n")
		p.stderr.waitFor(t, at, ident, "wsdump: connection lost without a close frame: ")
		if !strings.HasSuffix(p.stderr.String(), "; 1 line not sent\n") {
			t.Errorf("stderr %q does not end with the line not sent", p.stderr)
		}
	})
	t.Run("dialling", func(t *testing.T) {
		srv, dialling := droppedThenHanging(t)
		p := start(t, "--commands", "--reconnect", "10ms", srv.URL)
		select {
		case <-dialling:
		case <-time.After(testTimeout):
			t.Fatalf("no reconnect; stderr %q", p.stderr)
		}
		p.stdin.Write([]byte("/quit\n"))
		if code := p.wait(); code != exitAbnormal {
			t.Errorf("exit %d, want %d; stderr %q", code, exitAbnormal, p.stderr)
		}
		if strings.Contains(p.stderr.String(), "not sent") {
			t.Errorf("stderr %q: nothing was left to send", p.stderr)
		}
	})
}
