//go:build unix

package websocket_test

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/wsclient/websocket"
)

func TestEventLoopStopOnSignal(t *testing.T) {
	l := websocket.NewEventLoop()
	l.StopOnSignal(syscall.SIGUSR1)
	done := make(chan error, 1)
	go func() { done <- l.Run(context.Background()) }()
	// The signal is watched from StopOnSignal on, so it may arrive before
	// Run has started: either way Run must stop with nil.
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil after the signal", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Run did not stop on SIGUSR1")
	}
}

// TestLoopStopsOnASignalBehindABlockedCallback: StopOnSignal's signal stops
// the loop also while a callback is blocked in a send (see
// TestLoopStopsBehindABlockedCallback).
func TestLoopStopsOnASignalBehindABlockedCallback(t *testing.T) {
	loopStopBehindBlockedCallback(t, func(*websocket.EventLoop, context.CancelFunc) {
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR2); err != nil {
			t.Fatal(err)
		}
	}, func(l *websocket.EventLoop) { l.StopOnSignal(syscall.SIGUSR2) })
}

// StopOnSignal on a loop whose Run returned watches nothing: it took the
// signal for good, and Ctrl-C no longer ended the program. A child process
// sends itself SIGINT after such a call.
func TestStopOnSignalAfterRunReturned(t *testing.T) {
	if os.Getenv("WSCLIENT_SIGNAL_CHILD") == "1" {
		l := websocket.NewEventLoop()
		l.Stop()
		l.Run(context.Background()) // returns at once
		l.StopOnSignal(os.Interrupt)
		syscall.Kill(os.Getpid(), syscall.SIGINT)
		time.Sleep(5 * time.Second) // the signal's default action ends the process first
		os.Exit(3)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestStopOnSignalAfterRunReturned$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WSCLIENT_SIGNAL_CHILD=1")
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatalf("the child ended with %v, want killed by SIGINT", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Errorf("the child ended with %v, want killed by SIGINT: StopOnSignal after Run returned kept the signal", err)
	}
}
