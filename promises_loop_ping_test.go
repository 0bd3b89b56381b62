//go:build unix

package websocket_test

import (
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// A server floods pings while reading nothing, then sends one last ping and
// its close frame, and only then reads. README: "once it is full (on an
// EventLoop: once 64 KiB wait), only the latest ping is answered … the
// pongs go out in order, the latest ping's last, when the server reads
// again". On the loop the latest ping's pong, noted while the queue was
// backed up, was dropped once the close's echo was queued (found by a
// differential audit of the loop's reader against the goroutine path's).
func TestLatestPingAnsweredBeforeTheCloseEcho(t *testing.T) {
	skipWithoutPoller(t)
	const flood = 5000
	var wire []byte
	pad := strings.Repeat("x", 100)
	for i := range flood {
		wire = append(wire, wstest.AppendFrame(nil, true, 9, fmt.Appendf(nil, "%06d%s", i, pad))...)
	}
	last := append(wstest.AppendFrame(nil, true, 9, []byte("LAST")), wstest.AppendFrame(nil, true, 8, wstest.ClosePayload(1000, "bye"))...)

	type result struct{ frames []string }
	results := make(chan result, 1)
	serve := func(nc net.Conn) {
		defer nc.Close()
		nc.(*net.TCPConn).SetReadBuffer(4096)
		c, err := wstest.Upgrade(nc, nil, nil)
		if err != nil {
			results <- result{}
			return
		}
		nc.Write(wire) // the flood, nothing read
		nc.Write(last) // the latest ping and the close, in one write
		time.Sleep(200 * time.Millisecond)
		var got []string
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			f, err := c.ReadFrame()
			if err != nil {
				break
			}
			if f.Opcode == 8 {
				got = append(got, "close")
				continue
			}
			p := string(f.Payload)
			if len(p) > 6 {
				p = p[:6]
			}
			got = append(got, fmt.Sprintf("%d:%s", f.Opcode, p))
		}
		results <- result{got}
	}
	srv := wstest.NewRaw(serve)
	defer srv.Close()

	for _, c := range []struct {
		name string
		loop bool
	}{{"goroutine", false}, {"loop", true}} {
		// Over wss the goroutine path lost its last pongs and the echo in
		// 1 of 2 runs, a server that starts reading 200 ms after its close
		// being cut off at the TLS close's 200 ms (noted, not yet mended),
		// which would make this test flaky.
		for run := 1; run <= 2; run++ {
			url := srv.URL
			opts := &websocket.RunOptions{Reconnect: -1}
			opts.SocketOptions = []websocket.SocketOption{
				{Level: syscall.IPPROTO_TCP, Name: syscall.TCP_NODELAY, Value: 1},
				{Level: syscall.SOL_SOCKET, Name: syscall.SO_SNDBUF, Value: 4096},
			}
			var pings int
			var lastPing string
			a := &websocket.App{URL: url,
				OnPing:  func(_ *websocket.App, p []byte) { pings++; lastPing = string(p) },
				OnClose: func(*websocket.App, websocket.StatusCode, string) {},
			}
			err := runOn(t, c.loop, a, opts)
			r := <-results
			n := len(r.frames)
			tail := r.frames[max(0, n-3):]
			st := a.Stats()
			t.Logf("%s run %d: err=%v OnPing calls=%d (last %q) PongsSent=%d; server got %d frames, tail %q",
				c.name, run, err, pings, lastPing, st.PongsSent, n, tail)
			if n < 2 || r.frames[n-1] != "close" || r.frames[n-2] != "10:LAST" {
				t.Errorf("%s run %d: the latest ping (\"LAST\") was not answered before the close echo: server got %d frames, tail %q", c.name, run, n, tail)
			}
		}
	}
}
