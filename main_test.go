package websocket_test

import (
	"testing"

	"github.com/wsclient/websocket/internal/leaktest"
)

// TestMain fails the run if any test leaves a goroutine behind: the library
// promises to start none that outlives its Conn.
func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}
