package websocket

import (
	"runtime"
	"testing"
)

// TestBusyPolicy checks the spin backoff: each unrewarded spin doubles the
// parks skipped after it (1, 3, 7 … busyPollMaxSkip), and a rewarded one
// starts over.
func TestBusyPolicy(t *testing.T) {
	var p busyPolicy
	want := []int{1, 3, 7, 15, 31, 63, 127, 255, 255, 255}
	for i, skip := range want {
		if !p.spin() {
			t.Fatalf("spin %d: skipped, want a spin", i)
		}
		p.unrewarded()
		for j := range skip {
			if p.spin() {
				t.Fatalf("after unrewarded spin %d: wait %d spun, want %d skipped", i, j, skip)
			}
		}
	}
	if !p.spin() {
		t.Fatal("skips ended: want a spin")
	}
	p.rewarded()
	if !p.spin() {
		t.Fatal("after a rewarded spin: want a spin")
	}
	p.unrewarded()
	if p.spin() || !p.spin() {
		t.Fatal("after reward then one unrewarded spin: want 1 skip, then a spin")
	}
}

// TestBusyPollModeSpins: BusyPollOff never spins, BusyPollOn always, and
// the default not when the process runs on one CPU at a time.
func TestBusyPollModeSpins(t *testing.T) {
	if BusyPollOff.spins() || !BusyPollOn.spins() {
		t.Fatal("BusyPollOff spins or BusyPollOn does not")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if BusyPollDefault.spins() {
		t.Error("BusyPollDefault spins with GOMAXPROCS 1")
	}
	runtime.GOMAXPROCS(2)
	if BusyPollDefault.spins() != busyPollCPUs {
		t.Errorf("BusyPollDefault with GOMAXPROCS 2: spins %v, want %v (NumCPU > 1)", !busyPollCPUs, busyPollCPUs)
	}
	if got := BusyPollMode(7).String(); got != "BusyPollMode(7)" {
		t.Errorf("String() = %q", got)
	}
}
