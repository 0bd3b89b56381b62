package main

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/wstest"
)

// hugeLine is a line longer than the sockets' buffers hold between wsdump
// and a server that does not read: its send cannot complete.
var hugeLine = strings.Repeat("x", 16<<20)

// stopSlack is what the bounds of the tests below add to the times wsdump
// promises (closeWait, --ping-timeout): room for a loaded machine and the
// race detector, far less than forever.
const stopSlack = 10 * time.Second

// stopsReading starts a server that answers pings until wsdump begins to
// send a message, then reads nothing more, as a server that hangs does.
// begun is closed when the message's first byte arrived.
func stopsReading(t *testing.T) (srv *wstest.Server, begun <-chan struct{}) {
	t.Helper()
	started := make(chan struct{})
	var once sync.Once
	hold := make(chan struct{})
	srv = wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		c, err := wstest.Upgrade(nc, nil, nil)
		if err != nil {
			return
		}
		for {
			h, err := c.R.Peek(1)
			if err != nil {
				return
			}
			if h[0]&0x0f != 9 {
				break // not a ping: stop reading
			}
			f, err := c.ReadFrame()
			if err != nil {
				return
			}
			c.WriteFrame(true, 10, f.Payload)
		}
		once.Do(func() { close(started) })
		<-hold
	})
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hold) }) // before srv.Close, which waits for the handler
	return srv, started
}

// startSendBlocked starts wsdump with args (the URL of a stopsReading
// server last) and gives it hugeLine, then input (ended by closing stdin
// when endInput), and returns once the line's send has begun: it can never
// complete.
func startSendBlocked(t *testing.T, input string, endInput bool, args ...string) *proc {
	t.Helper()
	srv, begun := stopsReading(t)
	p := start(t, append(args, srv.URL)...)
	go func() {
		io.WriteString(p.stdin, hugeLine+"\n"+input)
		if endInput {
			p.stdin.Close()
		}
	}()
	select {
	case <-begun:
	case <-p.done:
		t.Fatalf("wsdump exited before sending; stderr %q", p.stderr)
	case <-time.After(testTimeout):
		t.Fatalf("wsdump did not begin to send the line; stderr %q", p.stderr)
	}
	return p
}

// waitWithin is wait bounded by d: the exit status, or -1 (and an error)
// when wsdump is still running after d, which then kills it.
func (p *proc) waitWithin(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.wait()
	case <-time.After(d):
		p.t.Errorf("wsdump still running after %v; stderr %q", d, p.stderr)
		p.cmd.Process.Kill()
		<-p.done
		return -1
	}
}

// TestPingTimeoutWhileSendBlocked: --ping-timeout ends the session (exit
// status 4) when the server stops reading in the middle of a message: the
// ping that cannot even be written behind it gets no pong either.
func TestPingTimeoutWhileSendBlocked(t *testing.T) {
	p := startSendBlocked(t, "", false, "--ping-interval", "100ms", "--ping-timeout", "300ms")
	if code := p.waitWithin(300*time.Millisecond + stopSlack); code != exitPingTimeout {
		t.Fatalf("exit %d, want %d; stderr %q", code, exitPingTimeout, p.stderr)
	}
	checkOneLine(t, p.stderr.String(), "wsdump: no pong within --ping-timeout 300ms")
}

// TestPipedInputToDeafServer: with piped input, wsdump exits after the end
// of input even when the server stopped reading: a send that does not
// complete within the close wait (3 s) after the end of input is given up,
// with exit status 3 and one line saying how many lines were not sent.
func TestPipedInputToDeafServer(t *testing.T) {
	p := startSendBlocked(t, "one\ntwo\n", true)
	if code := p.waitWithin(closeWait + stopSlack); code != exitAbnormal {
		t.Fatalf("exit %d, want %d; stderr %q", code, exitAbnormal, p.stderr)
	}
	checkOneLine(t, p.stderr.String(), "wsdump: the server took no data for 3s after the end of input: 3 lines not sent")
}
