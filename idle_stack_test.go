//go:build !race

// The race detector enlarges every frame, so the stack budget below only
// holds in normal builds.

package websocket_test

import (
	"bytes"
	"context"
	"runtime"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestIdleReaderFitsInitialStack checks that a goroutine blocked in
// RecvAppend waiting for the next message fits in the 2 KiB stack every
// goroutine starts with: an idle connection then costs one small stack, not
// a doubled one (issue #8). A frame added anywhere on the chain from
// RecvAppend down to the socket read can push it over.
func TestIdleReaderFitsInitialStack(t *testing.T) {
	const n = 100
	release := make(chan struct{})
	s := wstest.New(func(c *wstest.Conn) { <-release })
	defer s.Close()
	defer close(release)

	conns := make([]*websocket.Conn, n)
	for i := range conns {
		c, err := websocket.Dial(context.Background(), s.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Abort()
		conns[i] = c
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan struct{}, n)
	for _, c := range conns {
		go func() {
			c.RecvAppend(nil)
			done <- struct{}{}
		}()
	}
	// Wait until every reader is parked in its socket read.
	for blockedReaders() < n {
		runtime.Gosched()
	}
	runtime.ReadMemStats(&after)
	perConn := (int64(after.StackInuse) - int64(before.StackInuse)) / n
	if perConn > 3<<10 {
		t.Errorf("a blocked reader uses %d bytes of stack, want the initial 2048", perConn)
	}
	for _, c := range conns {
		c.Abort()
	}
	for range n {
		<-done
	}
}

// blockedReaders counts goroutines parked in a socket read under RecvAppend.
func blockedReaders() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	k := 0
	for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("[IO wait")) && bytes.Contains(g, []byte("websocket.(*Conn).RecvAppend")) {
			k++
		}
	}
	return k
}
