package wstest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: Server.Close
// must end every handler and pipe.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
