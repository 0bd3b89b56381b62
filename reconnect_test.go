package websocket

import (
	"slices"
	"testing"
	"time"
)

func TestBackoffSchedule(t *testing.T) {
	s := time.Second
	tests := []struct {
		name string
		cfg  *Backoff
		base time.Duration
		rand float64 // what the jitter source returns
		want []time.Duration
	}{
		{"defaults, no jitter drawn", nil, s, 0, []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 60 * s, 60 * s}},
		{"defaults, full jitter drawn", nil, s, 1, []time.Duration{s, 1600 * time.Millisecond, 3200 * time.Millisecond, 6400 * time.Millisecond}},
		{"constant", &Backoff{Multiplier: 1}, 5 * s, 0.5, []time.Duration{5 * s, 4500 * time.Millisecond, 4500 * time.Millisecond}},
		{"multiplier below 1", &Backoff{Multiplier: 0.5, Jitter: -1}, s, 0, []time.Duration{s, s, s}},
		{"cap below base", &Backoff{Max: s, Jitter: -1}, 2 * s, 0, []time.Duration{2 * s, 2 * s, 2 * s}},
		{"triple, cap 10s", &Backoff{Multiplier: 3, Max: 10 * s, Jitter: -1}, s, 0, []time.Duration{s, 3 * s, 9 * s, 10 * s}},
		{"huge does not overflow", &Backoff{Max: 1 << 62, Jitter: -1}, 1 << 61, 0, []time.Duration{1 << 61, 1 << 62, 1 << 62}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackoff(tt.cfg, tt.base)
			b.rand = func() float64 { return tt.rand }
			var got []time.Duration
			for range tt.want {
				got = append(got, b.wait())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("waits %v, want %v", got, tt.want)
			}
			b.reset()
			if w := b.wait(); w != tt.base {
				t.Errorf("after reset: %v, want %v", w, tt.base)
			}
		})
	}
}

// TestBackoffLikeWebsockets: the curve of Python websockets' reconnect
// schedule, as the Backoff documentation shows it.
func TestBackoffLikeWebsockets(t *testing.T) {
	b := newBackoff(&Backoff{Multiplier: 1.618, Max: 90 * time.Second, Jitter: -1}, 3100*time.Millisecond)
	want := []time.Duration{3100, 5000, 8100, 13100, 21200, 34400, 55600, 90000, 90000}
	for i, w := range want {
		if got := b.wait().Round(100 * time.Millisecond); got != w*time.Millisecond {
			t.Errorf("wait %d = %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
}
