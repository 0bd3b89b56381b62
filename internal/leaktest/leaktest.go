// Package leaktest fails a test, or a whole test binary, that leaves
// goroutines running. It reads every goroutine's stack (runtime.Stack) and,
// since a goroutine that is on its way out may still be listed for a moment,
// looks again with a growing pause until none is left over or a bounded time
// has passed. Goroutines of the testing package and of os/signal are never
// counted as leaks.
package leaktest

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// timeout bounds how long a check waits for leftover goroutines to end.
var timeout = 5 * time.Second

// Check records the goroutines running now and returns a function that
// fails t if any other goroutine is still running when it is called, after
// waiting up to a few seconds for them to end:
//
//	defer leaktest.Check(t)()
func Check(t testing.TB) func() {
	before := make(map[int]bool)
	for _, g := range goroutines() {
		before[g.id] = true
	}
	return func() {
		t.Helper()
		if left := leftOver(before); len(left) > 0 {
			t.Errorf("leaktest: %d goroutine(s) left running:\n\n%s", len(left), join(left))
		}
	}
}

// VerifyTestMain runs m's tests and exits with their status; a run whose
// tests passed fails if goroutines other than the test framework's are still
// running after them. Call it from TestMain.
func VerifyTestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if left := leftOver(nil); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "leaktest: the tests passed but left %d goroutine(s) running:\n\n%s\n", len(left), join(left))
			code = 1
		}
	}
	os.Exit(code)
}

// leftOver returns the goroutines running that are not in ignore, not the
// caller and not the runtime's or the test framework's own, looking again
// with a growing pause until there are none or timeout has passed.
func leftOver(ignore map[int]bool) []goroutine {
	self := current()
	deadline := time.Now().Add(timeout)
	pause := 10 * time.Microsecond
	for {
		var left []goroutine
		for _, g := range goroutines() {
			if g.id != self && !ignore[g.id] && !g.expected() {
				left = append(left, g)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		// Nothing signals a goroutine's end, so this polls.
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// goroutine is one goroutine's entry in a runtime.Stack dump.
type goroutine struct {
	id    int
	state string // "chan receive", "select", "IO wait", ...
	funcs []string
	trace string // the whole entry
}

// goroutines returns every goroutine's stack.
func goroutines() []goroutine { return parse(stacks(true)) }

// current returns the calling goroutine's id.
func current() int { return parse(stacks(false))[0].id }

// stacks returns runtime.Stack's dump, the calling goroutine's first.
func stacks(all bool) string {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, all)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// parse splits a runtime.Stack dump into its goroutines. An entry is a
// header line, "goroutine 7 [chan receive, 2 minutes]:", then a function
// line and a tab-indented file line for each frame, the innermost first,
// and perhaps "created by f in goroutine 1"; entries are separated by an
// empty line.
func parse(dump string) []goroutine {
	var gs []goroutine
	for entry := range strings.SplitSeq(strings.TrimSpace(dump), "\n\n") {
		header, frames, _ := strings.Cut(entry, "\n")
		idText, rest, _ := strings.Cut(strings.TrimPrefix(header, "goroutine "), " ")
		id, err := strconv.Atoi(idText)
		if err != nil {
			continue // not a goroutine's entry
		}
		_, state, _ := strings.Cut(rest, "[")
		state, _, _ = strings.Cut(state, "]")
		state, _, _ = strings.Cut(state, ",")
		g := goroutine{id: id, state: state, trace: entry}
		for line := range strings.SplitSeq(frames, "\n") {
			if line == "" || line[0] == '\t' || strings.HasPrefix(line, "created by ") {
				continue
			}
			if i := strings.LastIndexByte(line, '('); i > 0 {
				line = line[:i] // the arguments
			}
			g.funcs = append(g.funcs, line)
		}
		gs = append(gs, g)
	}
	return gs
}

// expected reports whether g belongs to the runtime or the test framework
// rather than to the code under test.
func (g goroutine) expected() bool {
	switch g.first() {
	case "testing.RunTests", "testing.(*T).Run", "testing.(*T).Parallel", "testing.runFuzzing", "testing.runFuzzTests":
		// The framework waiting for tests to end.
		return strings.HasPrefix(g.state, "chan receive")
	case "os/signal.signal_recv", "os/signal.loop":
		return true // started by os/signal's first Notify
	}
	return g.calls("runtime.ensureSigM") || g.calls("runtime.ReadTrace")
}

// first returns the innermost function on g's stack.
func (g goroutine) first() string {
	if len(g.funcs) == 0 {
		return ""
	}
	return g.funcs[0]
}

// calls reports whether f, or a closure inside it, is on g's stack.
func (g goroutine) calls(f string) bool {
	for _, fn := range g.funcs {
		if fn == f || strings.HasPrefix(fn, f+".func") {
			return true
		}
	}
	return false
}

// join formats gs for a failure message.
func join(gs []goroutine) string {
	traces := make([]string, len(gs))
	for i, g := range gs {
		traces[i] = g.trace
	}
	return strings.Join(traces, "\n\n")
}
