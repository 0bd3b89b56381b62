package websocket

import "testing"

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
