//go:build !race

// The race detector enlarges every frame and every allocation, so the
// budgets below only hold in normal builds.

package websocket_test

import (
	"bytes"
	"net/http"
	"runtime"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestHTTP2ReaderMemoryAfterTraffic is TestReaderMemoryAfterTraffic for
// WebSockets over HTTP/2: the reader goroutine of a WebSocket that
// received a message over its stream and waits for the next (parked in
// the stream's WaitReadable, holding no read buffer) keeps, in most cases,
// the 2 KiB stack it started with.
//
// It runs in a process of its own (ownStackStart).
func TestHTTP2ReaderMemoryAfterTraffic(t *testing.T) {
	if !ownStackStart(t) {
		return
	}
	const n = 200
	start, release := make(chan struct{}), make(chan struct{})
	written := make(chan struct{}, n)
	wire := wstest.AppendFrame(nil, true, 0x2, make([]byte, 1000))
	s := newH2Server(t, func(c *wstest.Conn) {
		<-start
		c.WriteRaw(wire)
		written <- struct{}{}
		<-release
	}, &http.HTTP2Config{MaxConcurrentStreams: 2 * n})
	defer close(release)
	opts := s.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{})
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = mustDialH2(t, s.URL, opts)
	}
	// The server's goroutines write first, so that their stacks have
	// grown before the measurement starts.
	close(start)
	for range n {
		<-written
	}
	before := memNow()
	got := make(chan error, n)
	done := make(chan struct{}, n)
	// The readers start one after the other: readers contending for the
	// connection's lock park in the mutex's slow path, deeper than the
	// read path itself, and that is not what this measures.
	for _, c := range conns {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; ; i++ {
				if i == 1 {
					got <- nil
				}
				if _, _, err := c.RecvAppend(nil); err != nil {
					if i < 1 {
						got <- err
					}
					return
				}
			}
		}()
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	}
	for blockedStreamReaders() < n {
		runtime.Gosched()
	}
	after := memNow()
	for _, c := range conns {
		c.Abort()
	}
	for range n {
		<-done
	}
	stack := (after.StackInuse - before.StackInuse) / n
	t.Logf("stack per WebSocket: %d B", stack)
	if stack > 3584 {
		t.Errorf("stack %d B per WebSocket, want at most 3584 (most at the initial 2048)", stack)
	}
}

// blockedStreamReaders counts goroutines parked in a Stream under
// RecvAppend, one of which may be reading the connection.
func blockedStreamReaders() int {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	k := 0
	for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("h2.(*Stream).")) && bytes.Contains(g, []byte("websocket.(*Conn).RecvAppend")) &&
			(bytes.Contains(g, []byte("[select")) || bytes.Contains(g, []byte("[chan receive")) ||
				// the one reading the connection for all (internal/h2/lead.go)
				bytes.Contains(g, []byte("[IO wait"))) {
			k++
		}
	}
	return k
}
