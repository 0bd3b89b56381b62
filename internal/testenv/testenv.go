// Package testenv tells tests about the machine they run on: whether it is
// CI, where every component a test needs has been installed (.ci/run sets
// CI=true), so that a missing one fails the test instead of skipping it.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// InCI reports whether the tests run in CI (the environment has CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing stops tb because a component it needs is missing on this machine,
// described by format and args: it skips tb, except in CI, where it fails
// tb, since CI installs everything the tests need.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		tb.Fatalf("missing in CI, where it must be installed: %s", msg)
	}
	tb.Skip(msg)
}
