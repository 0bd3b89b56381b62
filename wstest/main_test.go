package wstest_test

import (
	"testing"

	"github.com/wsclient/websocket/internal/leaktest"
)

// TestMain fails the run if a test leaves a goroutine behind: Server.Close
// must end every handler and pipe.
func TestMain(m *testing.M) {
	leaktest.VerifyTestMain(m)
}
