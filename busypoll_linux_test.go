package websocket

import (
	"testing"
	"time"
)

func TestParseRunnable(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		isOK bool
	}{
		{"0.52 0.58 0.59 3/467 12345\n", 3, true},
		{"13.21 14.13 12.74 15/211 12123", 15, true},
		{"0.00 0.00 0.00 1/1 1", 1, true},
		{"0.00 0.00 0.00 9/90 1", 9, true},
		{"0.00 0.00 0.00 10/90 1", 10, true},
		{"0.00 0.00 0.00 0/90 1", 0, true},
		{"0.00 0.00 0.00 3:90 1", 0, false},
		{"0.52 0.58 0.59 /467 12345", 0, false},
		{"0.52 0.58 0.59 3", 0, false},
		{"garbage", 0, false},
		{"", 0, false},
	} {
		if n, ok := parseRunnable([]byte(tt.in)); n != tt.n || ok != tt.isOK {
			t.Errorf("parseRunnable(%q) = %d, %v; want %d, %v", tt.in, n, ok, tt.n, tt.isOK)
		}
	}
	if n, ok := readRunnable(); !ok || n < 1 {
		t.Errorf("readRunnable() = %d, %v; want at least this thread", n, ok)
	}
}

// setContended fixes what machineContended reports for the rest of the
// test (no look at the machine), restoring the real look afterwards.
func setContended(t *testing.T, busy bool) {
	t.Helper()
	next, was := contention.next.Load(), contention.busy.Load()
	contention.next.Store(1 << 62)
	contention.busy.Store(busy)
	t.Cleanup(func() {
		contention.busy.Store(was)
		contention.next.Store(next)
	})
}

// TestBusyReaderNoSpinWhenContended: on a contended machine a wait parks
// at once, leaving the backoff alone, unless the Conn asked for BusyPollOn.
func TestBusyReaderNoSpinWhenContended(t *testing.T) {
	if !busyPollCPUs {
		t.Skip("one CPU: busy polling is off")
	}
	setContended(t, true)
	for _, mode := range []BusyPollMode{BusyPollDefault, BusyPollOn} {
		c, _ := tcpPair(t)
		b := newSocketReader(c, mode).(*busyReader)
		rc, _ := c.SyscallConn()
		r := &busyRead{b: b, p: make([]byte, 10), spin: true}
		start := time.Now()
		var done bool
		rc.Control(func(fd uintptr) { done = r.readSocket(fd) })
		spun := b.policy != (busyPolicy{}) // an unrewarded spin backs off
		if done || !r.parked || spun != (mode == BusyPollOn) {
			t.Fatalf("%v: readSocket = %v, parked %v, spun %v (%v); want a park, a spin only with BusyPollOn", mode, done, r.parked, spun, time.Since(start))
		}
	}
}
