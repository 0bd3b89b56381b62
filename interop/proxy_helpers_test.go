package interop

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wsclient/websocket/interop/harness"
)

// serveLoopback6 also serves h on [::1] at the port of addr
// ("127.0.0.1:port"), so a proxy that resolves "localhost" to ::1 first
// (glibc sorts ::1 before 127.0.0.1 when /etc/hosts lists both) still
// reaches the echo server. It does nothing when the machine has no IPv6
// loopback or the port is taken there: the IPv4 server is the one the
// tests need.
func serveLoopback6(t *testing.T, addr string, h http.Handler, tlsConfig *tls.Config) {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("::1", port))
	if err != nil {
		t.Logf("no IPv6 loopback echo server on port %s: %v", port, err)
		return
	}
	if tlsConfig != nil {
		l = tls.NewListener(l, tlsConfig)
	}
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	t.Cleanup(func() {
		// Close also ends the hijacked WebSocket connections' listener;
		// the connections themselves end with the test's clients.
		srv.Close()
		<-done
	})
}

// waitFor polls cond every 50 ms until it returns nil or timeout passes, and
// returns cond's last error. It waits for another process (a log line, an
// exit), which no channel of ours can signal.
func waitFor(timeout time.Duration, cond func() error) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-tick.C:
		}
	}
}

// proc is one process of the machine, from /proc.
type proc struct {
	pid, pgid int
	state     string // "R", "S", "Z"...
	cmdline   string // arguments joined by spaces; the title a process set for itself
}

// processes lists the machine's processes; ones that exit while it reads
// are left out.
func processes() ([]proc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var ps []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// "pid (comm) state ppid pgrp ...": comm may hold spaces and
		// parentheses, so the fields start after the last ')'.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 3 {
			continue
		}
		pgid, err := strconv.Atoi(f[2])
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		ps = append(ps, proc{
			pid:     pid,
			pgid:    pgid,
			state:   f[0],
			cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " ")),
		})
	}
	return ps, nil
}

// procGuard checks that a program the harness started leaves no process
// behind: not the program, not its helpers (squid's basic_ncsa_auth), not
// the children that renamed themselves (danted's "danted: io-child").
type procGuard struct {
	marker string       // a string in the program's command line, unique to this test
	pgids  map[int]bool // the process groups of the program, found by record
}

// guardProcesses returns a guard for the program whose command line contains
// marker. Call it before harness.Start: cleanups run last-registered first,
// so its check then runs after the harness has stopped the program.
func guardProcesses(t *testing.T, marker string) *procGuard {
	t.Helper()
	g := &procGuard{marker: marker, pgids: map[int]bool{}}
	t.Cleanup(func() { g.check(t) })
	return g
}

// record notes the process groups of the running program (the harness runs
// each program in a group of its own, which its children inherit).
func (g *procGuard) record(t *testing.T) {
	t.Helper()
	if err := g.find(); err != nil {
		t.Fatal(err)
	}
}

// find adds the process groups of the processes with the marker in their
// command line.
func (g *procGuard) find() error {
	ps, err := processes()
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	for _, p := range ps {
		if strings.Contains(p.cmdline, g.marker) {
			g.pgids[p.pgid] = true
		}
	}
	if len(g.pgids) == 0 {
		return fmt.Errorf("no running process has %q in its command line", g.marker)
	}
	return nil
}

// check fails the test when a process of the program is still alive (see
// leftovers).
func (g *procGuard) check(t *testing.T) {
	t.Helper()
	if left := g.leftovers(5 * time.Second); len(left) > 0 {
		t.Errorf("processes left after the test:\n\t%s", strings.Join(left, "\n\t"))
	}
}

// leftovers describes the processes of the program that are alive: in one
// of its process groups, or with the marker in their command line. A
// zombie has exited and only waits for its parent to reap it, so it does
// not count. Processes killed a moment ago may still be on their way out:
// leftovers waits up to wait for them to go.
func (g *procGuard) leftovers(wait time.Duration) []string {
	var left []string
	err := waitFor(wait, func() error {
		ps, err := processes()
		if err != nil {
			left = []string{"cannot list processes: " + err.Error()}
			return err
		}
		left = left[:0]
		for _, p := range ps {
			if p.state != "Z" && (g.pgids[p.pgid] || strings.Contains(p.cmdline, g.marker)) {
				left = append(left, fmt.Sprintf("pid %d (group %d): %s", p.pid, p.pgid, p.cmdline))
			}
		}
		if len(left) > 0 {
			return errors.New("processes left")
		}
		return nil
	})
	if err == nil {
		return nil
	}
	return left
}

// debVersion returns the installed version of the first of the Debian
// packages that is installed, as "package version", or "" when none is.
func debVersion(packages ...string) string {
	for _, pkg := range packages {
		out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", pkg).Output()
		if err == nil && len(out) > 0 {
			return pkg + " " + strings.TrimSpace(string(out)) + " (Debian)"
		}
	}
	return ""
}

// logMatcher returns a function that reports whether the text read by logs
// has a line matching every one of patterns, for waitFor.
func logMatcher(logs func() string, patterns ...*regexp.Regexp) func() error {
	return func() error {
		text := logs()
		for _, re := range patterns {
			if !re.MatchString(text) {
				return fmt.Errorf("no line matching %q in the proxy's log", re)
			}
		}
		return nil
	}
}

// readFile returns the contents of path, or "" when it cannot be read (a log
// not written yet).
func readFile(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(data)
}

// tailLines returns the last n lines of s, for failure messages.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\t" + strings.Join(lines, "\n\t")
}

// freePorts returns n distinct free loopback ports.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	seen := map[int]bool{}
	var ports []int
	for len(ports) < n {
		p := harness.FreePort(t)
		if !seen[p] {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	return ports
}

// proxyGuardRuns numbers the runs of TestProxyGuard.
var proxyGuardRuns atomic.Int32

// TestProxyGuard checks that the leftover check of the proxy tests sees the
// processes of a running program, also its children whose command line does
// not show the marker (danted's children rename themselves), and none once
// the group is gone.
func TestProxyGuard(t *testing.T) {
	sh := harness.Need(t, "sh")
	// A marker of its own per run: with -count, a run must not see the
	// processes of the one before on their way out.
	marker := fmt.Sprintf("wsclient-proxy-guard-%d-%d", os.Getpid(), proxyGuardRuns.Add(1))
	// The shell keeps the marker in its command line; its two sleeps do
	// not have it, so only the process group gives them away.
	cmd := exec.Command(sh, "-c", "sleep 30 & sleep 30; : "+marker)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			syscall.Kill(-pgid, syscall.SIGKILL)
			cmd.Wait()
		}
	}
	defer stop()
	g := &procGuard{marker: marker, pgids: map[int]bool{}}
	var left []string
	// Wait until the shell has started both sleeps: until then a child is a
	// fork of the shell, with its command line, that has not run sleep yet.
	err := waitFor(5*time.Second, func() error {
		if err := g.find(); err != nil {
			return err
		}
		left = g.leftovers(0)
		unmarked := 0
		for _, s := range left {
			if !strings.Contains(s, marker) {
				unmarked++
			}
		}
		if len(left) != 3 || unmarked != 2 {
			return fmt.Errorf("%d processes, %d without the marker", len(left), unmarked)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("leftovers while running = %q (%v), want the shell and its two sleeps", left, err)
	}
	stop()
	if left := g.leftovers(5 * time.Second); len(left) > 0 {
		t.Errorf("leftovers after the kill = %q, want none", left)
	}
}
