package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// TestMissing: outside CI a missing component skips the test; in CI it
// fails it, saying what is missing.
func TestMissing(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		r := &recorder{TB: t}
		func() {
			defer func() { recover() }() // Skip and Fatal end the goroutine; the recorder panics instead
			Missing(r, "no %s here", "python3")
		}()
		want := "skip: no python3 here"
		if ci == "true" {
			want = "fatal: missing in CI, where it must be installed: no python3 here"
		}
		if r.got != want {
			t.Errorf("CI=%q: %q, want %q", ci, r.got, want)
		}
		if InCI() != (ci == "true") {
			t.Errorf("CI=%q: InCI() = %t", ci, InCI())
		}
	}
}

// recorder is a testing.TB that records how Missing stopped it.
type recorder struct {
	testing.TB
	got string
}

func (r *recorder) Helper() {}

func (r *recorder) Skip(args ...any) {
	r.got = "skip: " + strings.TrimSuffix(fmt.Sprint(args...), "\n")
	panic("stopped")
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.got = "fatal: " + fmt.Sprintf(format, args...)
	panic("stopped")
}
