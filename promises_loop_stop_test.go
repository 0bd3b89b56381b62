//go:build unix

package websocket

// Promises of the event loop's stop, signals and queues, an App run's end,
// reconnects and EventLoopGroup that no test held (a mutation audit: each
// test fails with the code changed to break its promise).

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/wstest"
)

const loopTestTimeout = 15 * time.Second

// TestSignalBeforeRunStops: "The signals are watched from this call
// until Run returns" (StopOnSignal), and begin "takes a signal of
// StopOnSignal that came before Run as a Stop": a signal delivered between
// StopOnSignal and Run makes Run stop at once and return nil.
func TestSignalBeforeRunStops(t *testing.T) {
	l := NewEventLoop()
	l.StopOnSignal(syscall.SIGUSR1)
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(loopTestTimeout)
	for len(l.sigCh) == 0 { // delivered to the loop, before Run
		if time.Now().After(deadline) {
			t.Fatal("SIGUSR1 never reached the loop")
		}
		runtime.Gosched()
	}
	ctx, cancel := context.WithTimeout(context.Background(), loopTestTimeout)
	defer cancel()
	if err := l.Run(ctx); err != nil {
		t.Errorf("Run = %v, want nil: the signal that came before Run is a Stop", err)
	}
}

// childRun runs this test binary's test name in a child process with
// WSCLIENT_LOOP_CHILD=1 and returns how it ended.
func childRun(t *testing.T, name string) error {
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WSCLIENT_LOOP_CHILD=1")
	return cmd.Run()
}

func childKilledBy(t *testing.T, err error, sig syscall.Signal, why string) {
	t.Helper()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("the child ended with %v, want killed by %v", err, sig)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != sig {
		t.Errorf("the child ended with %v, want killed by %v: %s", err, sig, why)
	}
}

// TestSignalsReleasedWhenRunReturns: the signals of StopOnSignal are
// watched "from this call until Run returns": once Run returned, SIGINT
// has its default action again (the program ends on Ctrl-C).
func TestSignalsReleasedWhenRunReturns(t *testing.T) {
	if os.Getenv("WSCLIENT_LOOP_CHILD") == "1" {
		l := NewEventLoop()
		l.StopOnSignal(os.Interrupt)
		l.Stop()
		if err := l.Run(context.Background()); err != nil {
			os.Exit(4)
		}
		syscall.Kill(os.Getpid(), syscall.SIGINT)
		time.Sleep(5 * time.Second) // the signal's default action ends the process first
		os.Exit(3)
	}
	childKilledBy(t, childRun(t, "TestSignalsReleasedWhenRunReturns"), syscall.SIGINT,
		"the loop kept SIGINT after its Run returned")
}

// TestStopOnSignalDefaultsToInterrupt: StopOnSignal with no signal
// watches os.Interrupt: SIGINT stops the loop (Run returns nil) rather
// than ending the program.
func TestStopOnSignalDefaultsToInterrupt(t *testing.T) {
	if os.Getenv("WSCLIENT_LOOP_CHILD") == "1" {
		l := NewEventLoop()
		l.StopOnSignal()
		running := make(chan struct{})
		l.Post(func() { close(running) })
		done := make(chan error, 1)
		go func() { done <- l.Run(context.Background()) }()
		<-running
		syscall.Kill(os.Getpid(), syscall.SIGINT)
		select {
		case err := <-done:
			if err != nil {
				os.Exit(4)
			}
			os.Exit(0)
		case <-time.After(loopTestTimeout):
			os.Exit(5)
		}
	}
	if err := childRun(t, "TestStopOnSignalDefaultsToInterrupt"); err != nil {
		t.Errorf("the child ended with %v, want exit 0: StopOnSignal() did not take SIGINT as a Stop", err)
	}
}

// silentServer upgrades and reads until the client goes.
func silentServer() *wstest.Server {
	return wstest.New(func(c *wstest.Conn) {
		for {
			if _, err := c.ReadFrame(); err != nil {
				return
			}
		}
	})
}

// TestFailReportsOnce: a connection that fails is failed once: "fail
// ends connection c because of err, which is reported once" (session_end.go).
// A second failure of the same connection before its end is reported
// (reaching OnError, e.g. a ping that was in flight when the pong check
// failed it) is neither given to OnError nor made the run's result.
func TestFailReportsOnce(t *testing.T) {
	srv := silentServer()
	defer srv.Close()
	first, second := errors.New("first failure"), errors.New("second failure")
	var reported []error
	a := &App{URL: srv.URL}
	a.OnError = func(_ *App, err error) { reported = append(reported, err) }
	a.OnOpen = func(a *App) {
		a.mu.Lock()
		s := a.sess
		a.mu.Unlock()
		c := s.conn // on the dispatcher's goroutine: OnOpen is a callback
		s.fail(c, first)
		s.fail(c, second)
	}
	err := a.RunForever(&RunOptions{Reconnect: -1})
	if err != first {
		t.Errorf("RunForever = %v, want the first failure", err)
	}
	if len(reported) != 1 || reported[0] != first {
		t.Errorf("OnError got %v, want only the first failure", reported)
	}
}

// startedLoop starts l.Run(ctx) on a goroutine and returns once the loop
// runs, with the channel of its result.
func startedLoop(ctx context.Context, l *EventLoop) <-chan error {
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	running := make(chan struct{})
	l.Post(func() { close(running) })
	<-running
	return done
}

// TestGroupRunReturnsALoopsError: EventLoopGroup.Run "returns
// ctx.Err() when ctx ended, else the first error of a loop, else nil": a
// loop of the group that cannot run (it runs already) makes the group's
// Run return its error, also when it is not the first loop.
func TestGroupRunReturnsALoopsError(t *testing.T) {
	g := NewEventLoopGroup(2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := startedLoop(ctx, g.loops[1])
	g.loops[0].Stop() // Run stops at once
	if err := g.Run(context.Background()); !errors.Is(err, errLoopRunning) {
		t.Errorf("group Run = %v, want the second loop's error %v", err, errLoopRunning)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("the loop's own Run = %v, want context.Canceled", err)
	}
}

// TestGroupRunCtxErrFirst: with ctx ended, the group's Run returns
// ctx.Err(), not the error of a loop that could not run.
func TestGroupRunCtxErrFirst(t *testing.T) {
	g := NewEventLoopGroup(2)
	lctx, lcancel := context.WithCancel(context.Background())
	defer lcancel()
	done := startedLoop(lctx, g.loops[0])
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("group Run = %v, want context.Canceled: its ctx had ended", err)
	}
	lcancel()
	<-done
}

// reconnectLog is a slog.Handler that keeps the "attempt" of each
// "websocket: reconnecting" record.
type reconnectLog struct {
	mu       *sync.Mutex
	attempts *[]int64
}

func (h reconnectLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h reconnectLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "websocket: reconnecting" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "attempt" {
			h.mu.Lock()
			*h.attempts = append(*h.attempts, a.Value.Int64())
			h.mu.Unlock()
		}
		return true
	})
	return nil
}
func (h reconnectLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h reconnectLog) WithGroup(string) slog.Handler      { return h }

// TestReconnectAttemptCountResets: the reconnect trace's attempt is
// the count of attempts "since the last healthy connection" (backoff.tries;
// a healthy connection "resets the schedule to d", Backoff): after a
// connection that opened, the count starts over at 1.
func TestReconnectAttemptCountResets(t *testing.T) {
	var mu sync.Mutex
	var attempts []int64
	EnableTrace(true, reconnectLog{mu: &mu, attempts: &attempts})
	defer EnableTrace(false, slog.DiscardHandler)
	var conns atomic.Int32
	srv := wstest.New(func(c *wstest.Conn) {
		if conns.Add(1) == 1 {
			c.NC.Close() // the first connection drops: a failure, reconnect
			return
		}
		c.WriteFrame(true, 0x8, wstest.ClosePayload(1000, ""))
		c.ReadFrame()
	})
	defer srv.Close()
	n := 0
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if n++; n%2 == 1 {
			return nil, errors.New("refused")
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	// Dials: 1 refused, 2 opens and drops, 3 refused, 4 opens and is closed.
	a := &App{URL: srv.URL}
	if err := a.RunForever(&RunOptions{Reconnect: time.Millisecond, Backoff: &Backoff{Jitter: -1},
		DialOptions: DialOptions{NetDialContext: dial}}); err != nil {
		t.Fatalf("RunForever = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []int64{1, 1, 2}; !slices.Equal(attempts, want) {
		t.Errorf("reconnect attempts traced %v, want %v: the count starts over after a connection opened", attempts, want)
	}
}

// TestRetryAfterWithSpaces: DefaultRetry and RetryTransient wait "at
// least what its Retry-After header asks for (delay-seconds or an HTTP
// date)"; the whitespace around a field value (RFC 9110 §5.5) is not part
// of it, in a header that a classifier is given as is.
func TestRetryAfterWithSpaces(t *testing.T) {
	for _, v := range []string{" 120", "120 ", "\t120\t"} {
		err := &BadStatusError{StatusCode: 429, Header: http.Header{"Retry-After": {v}}}
		for name, f := range map[string]func(error) (bool, time.Duration){"DefaultRetry": DefaultRetry, "RetryTransient": RetryTransient} {
			if retry, after := f(err); !retry || after != 120*time.Second {
				t.Errorf("%s(429, Retry-After %q) = %v, %v; want true, 2m0s", name, v, retry, after)
			}
		}
	}
}
