package websocket_test

import (
	"testing"

	"github.com/wsclient/websocket/internal/leaktest"
	"github.com/wsclient/websocket/internal/xconnect"
)

// TestMain fails the run if any test leaves a goroutine behind: the library
// promises to start none that outlives its Conn. It first runs the tests
// again in a process where net/http's HTTP/2 server takes extended CONNECT
// (net/http reads GODEBUG=http2xconnect=1 at init only).
func TestMain(m *testing.M) {
	xconnect.Reexec()
	leaktest.VerifyTestMain(m)
}
