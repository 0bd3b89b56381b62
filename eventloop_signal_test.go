//go:build unix

package websocket_test

import (
	"context"
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
