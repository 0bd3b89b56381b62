package harness

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where a missing
// program is a failure rather than a skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Need returns the path of program, looked up like exec.LookPath (an
// absolute path is checked as it is), or else the first of alternatives
// that exists (for programs outside a non-root PATH, such as
// /usr/sbin/nginx). When none is found the test fails under CI=true,
// because CI must have installed it (see install.sh), and is skipped
// otherwise with a message that says what to install.
func Need(tb testing.TB, program string, alternatives ...string) string {
	tb.Helper()
	path, err := exec.LookPath(program)
	if err == nil {
		return path
	}
	for _, alt := range alternatives {
		if p, altErr := exec.LookPath(alt); altErr == nil {
			return p
		}
	}
	Missing(tb, fmt.Sprintf("%s not found (%v); run interop/install.sh as root", program, err))
	return ""
}

// Missing ends the test because something it needs is not installed: a
// failure under CI=true, a skip otherwise.
func Missing(tb testing.TB, why string) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("harness: missing under CI=true: %s", why)
	}
	tb.Skipf("harness: skipped: %s", why)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago: the
// kernel picks it for a listener that is closed at once. Another process
// could take it before the caller does; on a test machine that is rare
// enough not to matter.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("harness: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Addr returns "127.0.0.1:port".
func Addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
