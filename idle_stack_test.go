//go:build !race

// The race detector enlarges every frame, so the stack budget below only
// holds in normal builds.

package websocket_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
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
	if !ownStackStart(t) {
		return
	}
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

// ownStackStart makes the stack measurement of test t independent of the
// goroutines other tests left: by default the runtime starts new
// goroutines with the average stack size it saw at the last collection,
// which deep goroutines (a server's, an earlier test's still ending, an
// earlier run's with -count) raise, and then what a reader needs cannot be
// told from what it started with. It reports whether t runs with
// GODEBUG=adaptivestackstart=0; if not, it runs t alone in a process of
// its own with it, reports that run's log and failure, and returns false:
// the caller returns.
func ownStackStart(t *testing.T) bool {
	t.Helper()
	g := os.Getenv("GODEBUG")
	if strings.Contains(g, "adaptivestackstart=0") {
		return true
	}
	if g != "" {
		g += ","
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "GODEBUG="+g+"adaptivestackstart=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, "_test.go:") {
			t.Log(strings.TrimSpace(line))
		}
	}
	return false
}
