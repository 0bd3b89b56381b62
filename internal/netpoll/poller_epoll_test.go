//go:build linux

package netpoll

import (
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// waitUnderSignals runs p.Wait(timeout) on a thread of its own and
// interrupts that thread's system call with a signal every millisecond; at
// the wakeAt-th tick (0: never) it wakes the poller instead. It returns how
// long the Wait took and whether the wake-up came before it returned.
func waitUnderSignals(p *Poller, timeout time.Duration, wakeAt int) (took time.Duration, woken bool) {
	tid := make(chan int, 1)
	done := make(chan time.Duration, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid <- syscall.Gettid()
		start := time.Now()
		p.Wait(timeout, nil)
		done <- time.Since(start)
	}()
	id := <-tid
	tick := time.NewTicker(time.Millisecond) // pacing for the signals, not synchronization
	defer tick.Stop()
	for ticks := 1; ; ticks++ {
		select {
		case d := <-done:
			return d, woken
		case <-tick.C:
		}
		if ticks == wakeAt {
			woken = true
			p.Wake()
			continue
		}
		// The runtime's preemption signal: harmless to Go, and it ends an
		// epoll_wait in progress with EINTR.
		syscall.Tgkill(os.Getpid(), id, syscall.SIGURG)
	}
}

func TestWaitOutlastsSignals(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if d, _ := waitUnderSignals(p, 30*time.Millisecond, 0); d < 30*time.Millisecond {
		t.Errorf("Wait(30ms) under signals returned after %v", d)
	}
	// Without limit, only the wake-up ends it.
	if _, woken := waitUnderSignals(p, -1, 30); !woken {
		t.Error("Wait(-1) under signals returned before the wake-up")
	}
}
