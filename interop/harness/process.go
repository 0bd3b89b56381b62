// Package harness starts and stops the external programs that the interop
// tests talk to: servers and proxies run as child processes on free
// loopback ports, with their output collected so a failing test can show
// it. It also finds programs (a missing one is a failure under CI=true and a
// skip otherwise), picks free ports and makes throwaway TLS certificates.
//
// A typical use:
//
//	bin := harness.Need(t, "node")
//	port := harness.FreePort(t)
//	p := harness.Start(t, harness.Spec{
//		Name:  "node-ws",
//		Path:  bin,
//		Args:  []string{"echo-server.js", strconv.Itoa(port)},
//		Ready: harness.TCPReady(harness.Addr(port)),
//	})
//	// p is stopped by t.Cleanup; p.Restart(t) stops and starts it again.
package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DefaultReadyTimeout bounds how long Start waits for a program to become
// ready when Spec.ReadyTimeout is zero.
const DefaultReadyTimeout = 20 * time.Second

// DefaultStopGrace is how long Stop waits after SIGTERM before it sends
// SIGKILL, when Spec.StopGrace is zero.
const DefaultStopGrace = 5 * time.Second

// Spec describes a program to run.
type Spec struct {
	Name string   // short name for logs and errors, e.g. "nginx"
	Path string   // the executable, e.g. from Need
	Args []string // arguments after the program name
	Dir  string   // working directory; "" = the test's
	Env  []string // extra KEY=VALUE entries added to the test's environment

	// Ready reports when the program is ready for use; it is polled after
	// the start until it returns nil or ReadyTimeout passes. nil means
	// ready at once.
	Ready        ReadyFunc
	ReadyTimeout time.Duration // 0 = DefaultReadyTimeout

	// StopGrace is how long Stop waits for the program to exit after
	// SIGTERM before it kills it; 0 = DefaultStopGrace.
	StopGrace time.Duration
}

// ReadyFunc says whether p is ready: nil when it is, else why not yet. It is
// called repeatedly with a short pause between calls, and must not block for
// long.
type ReadyFunc func(ctx context.Context, p *Process) error

// Process is a running program started by Start.
type Process struct {
	spec Spec
	tb   testing.TB

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	err  error         // cmd.Wait's result, valid after done
	logs syncBuffer    // stdout and stderr of every run, interleaved
	runs int
}

// Start runs spec's program, waits until it is ready and registers a
// t.Cleanup that stops it and, when the test failed, logs its output. A
// program that cannot start, exits early or is not ready in time fails the
// test.
func Start(tb testing.TB, spec Spec) *Process {
	tb.Helper()
	p := &Process{spec: spec, tb: tb}
	tb.Cleanup(func() {
		p.Stop()
		if tb.Failed() {
			tb.Logf("harness: output of %s:\n%s", spec.Name, indent(p.Logs()))
		}
	})
	if err := p.start(); err != nil {
		tb.Fatalf("harness: %v\noutput:\n%s", err, indent(p.Logs()))
	}
	return p
}

// Restart stops the program (see Stop) and starts it again with the same
// Spec, waiting until it is ready; a failure fails the test.
func (p *Process) Restart(tb testing.TB) {
	tb.Helper()
	p.Stop()
	if err := p.start(); err != nil {
		tb.Fatalf("harness: restart: %v\noutput:\n%s", err, indent(p.Logs()))
	}
}

// Start starts the program again after Stop, with the same Spec, and waits
// until it is ready; a failure fails the test. It must not be called while
// the program runs.
func (p *Process) Start(tb testing.TB) {
	tb.Helper()
	if p.Running() {
		tb.Fatalf("harness: %s is already running", p.spec.Name)
	}
	if err := p.start(); err != nil {
		tb.Fatalf("harness: start: %v\noutput:\n%s", err, indent(p.Logs()))
	}
}

func (p *Process) start() error {
	p.mu.Lock()
	p.runs++
	fmt.Fprintf(&p.logs, "--- harness: start #%d: %s %s\n", p.runs, p.spec.Path, strings.Join(p.spec.Args, " "))
	p.logs.mark()
	cmd := exec.Command(p.spec.Path, p.spec.Args...)
	cmd.Dir = p.spec.Dir
	cmd.Env = append(os.Environ(), p.spec.Env...)
	cmd.Stdout = &p.logs
	cmd.Stderr = &p.logs
	// Its own process group, so Stop also reaches the program's children
	// (websocketd's command, nginx's workers).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A grandchild that keeps the output pipe open must not keep Wait
	// from returning once the program itself has exited.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("%s: %w", p.spec.Name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return p.waitReady(done)
}

// waitReady polls the ReadyFunc until it succeeds, the program exits or the
// timeout passes.
func (p *Process) waitReady(done <-chan struct{}) error {
	if p.spec.Ready == nil {
		return nil
	}
	timeout := p.spec.ReadyTimeout
	if timeout == 0 {
		timeout = DefaultReadyTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = p.spec.Ready(ctx, p); last == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("%s exited before it was ready: %v", p.spec.Name, p.exitErr())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %v: %v", p.spec.Name, timeout, last)
		case <-tick.C:
		}
	}
}

func (p *Process) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		return errors.New("exit status 0")
	}
	return p.err
}

// Stop ends the program: SIGTERM to its process group, then SIGKILL if it
// is still running after a grace period. It waits for the exit and is a
// no-op when the program is not running.
func (p *Process) Stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	grace := p.spec.StopGrace
	if grace == 0 {
		grace = DefaultStopGrace
	}
	pgid := cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	// Children that ignored SIGTERM (or outlived their parent) go too.
	syscall.Kill(-pgid, syscall.SIGKILL)
	fmt.Fprintf(&p.logs, "--- harness: stopped: %v\n", p.exitErr())
}

// Kill ends the program at once with SIGKILL to its process group, as a
// crash would: no clean shutdown, so a server sends no close frames. It
// waits for the exit and is a no-op when the program is not running.
func (p *Process) Kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
	fmt.Fprintf(&p.logs, "--- harness: killed: %v\n", p.exitErr())
}

// Running reports whether the program is running.
func (p *Process) Running() bool {
	p.mu.Lock()
	done := p.done
	running := p.cmd != nil
	p.mu.Unlock()
	if !running {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// Logs returns everything the program wrote to stdout and stderr so far,
// over all its runs, with a line from the harness before each start and
// after each stop.
func (p *Process) Logs() string { return p.logs.String() }

// RunLogs returns what the program wrote to stdout and stderr since its
// latest start.
func (p *Process) RunLogs() string { return p.logs.sinceMark() }

// TCPReady is ready when a TCP connection to addr succeeds.
func TCPReady(addr string) ReadyFunc {
	return func(ctx context.Context, _ *Process) error {
		d := net.Dialer{Timeout: time.Second}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// OutputReady is ready once the program's output since its latest start
// contains s.
func OutputReady(s string) ReadyFunc {
	return func(_ context.Context, p *Process) error {
		if !strings.Contains(p.RunLogs(), s) {
			return fmt.Errorf("no %q in its output yet", s)
		}
		return nil
	}
}

// AllReady is ready when every one of fs is, checked in order.
func AllReady(fs ...ReadyFunc) ReadyFunc {
	return func(ctx context.Context, p *Process) error {
		for _, f := range fs {
			if err := f(ctx, p); err != nil {
				return err
			}
		}
		return nil
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes (the child's
// stdout and stderr copiers) and reads (Logs).
type syncBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	from int // where the latest run's output starts
}

func (b *syncBuffer) mark() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.from = b.buf.Len()
}

func (b *syncBuffer) sinceMark() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf.Bytes()[b.from:])
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func indent(s string) string {
	if s == "" {
		return "\t(none)"
	}
	return "\t" + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n\t")
}
