package harness

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/wsclient/websocket/internal/testenv"
)

// InCI reports whether the tests run under CI (CI=true), where a missing
// program is a failure rather than a skip.
func InCI() bool { return testenv.InCI() }

// Need returns the path of program, looked up like exec.LookPath (an
// absolute path is checked as it is), or else the first of alternatives
// that exists (for programs outside a non-root PATH, such as
// /usr/sbin/nginx). When none is found the test fails under CI=true,
// because CI must have installed it (see install.sh and install-proxies.sh), and is skipped
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
	Missing(tb, fmt.Sprintf("%s not found (%v); run interop/%s as root", program, err, installer(program)))
	return ""
}

// installer names the script of interop/ that installs program: the
// proxies have their own.
func installer(program string) string {
	switch program {
	case "squid", "danted", "microsocks", "htpasswd":
		return "install-proxies.sh"
	}
	return "install.sh"
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

// FreePort returns a TCP port on 127.0.0.1 that is free now, for a server
// the caller starts next. It is taken from below the kernel's ephemeral
// range (ip_local_port_range), so no outgoing connection of this or another
// test can take it as its source port before the server binds it (a port
// the kernel picked for a listener on port 0 was such a port, and a dial
// in a parallel test took one once); each port is handed out once per
// process.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ports.Lock()
	defer ports.Unlock()
	if ports.given == nil {
		ports.given = map[int]bool{}
		ports.low, ports.high = 10000, ephemeralLow()
		ports.next = ports.low + rand.IntN(ports.high-ports.low)
	}
	for range ports.high - ports.low {
		p := ports.next
		ports.next++
		if ports.next >= ports.high {
			ports.next = ports.low
		}
		if ports.given[p] {
			continue
		}
		l, err := net.Listen("tcp", Addr(p))
		if err != nil {
			continue // in use
		}
		l.Close()
		ports.given[p] = true
		return p
	}
	tb.Fatalf("harness: no free port in %d–%d", ports.low, ports.high-1)
	return 0
}

// ports is FreePort's state.
var ports struct {
	sync.Mutex
	given           map[int]bool
	low, high, next int
}

// ephemeralLow returns the first port of the kernel's ephemeral range
// (32768 where it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 11000 {
				return n
			}
		}
	}
	return 32768
}

// Addr returns "127.0.0.1:port".
func Addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
