package websocket_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: the library
// promises to start none that outlives its Conn.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
