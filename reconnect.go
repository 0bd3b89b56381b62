package websocket

import (
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// defaultReconnect is the process-wide reconnect delay (SetReconnect).
var defaultReconnect atomic.Int64

// SetReconnect sets the delay before reconnecting used by App runs whose
// RunOptions.Reconnect is 0. The initial value is 0: no reconnecting. A
// negative d also means no reconnecting. Python's setReconnect.
func SetReconnect(d time.Duration) { defaultReconnect.Store(int64(d)) }

// Backoff shapes the reconnect schedule of an App (RunOptions.Backoff). The
// zero value (or a nil *Backoff) is the default schedule.
//
// After a connection is lost (or the first dial fails), the first attempt
// is made after exactly the reconnect delay d (RunOptions.Reconnect, else
// the SetReconnect value), as websocket-client does. Each further failed
// attempt multiplies the wait by Multiplier, up to Max; these later waits
// are jittered: each is drawn uniformly from [w·(1−Jitter), w], so clients
// cut off by the same outage do not all come back at once, and no wait
// exceeds Max. With the defaults and d = 1 s the waits are 1 s, then about
// 2, 4, 8, 16, 32, 60, 60, … s. A connection that opens and stays open for
// ResetAfter resets the schedule to d.
//
// Which failures are retried at all is up to RunOptions.Retry (by default
// every one: DefaultRetry; RetryTransient stops on those another attempt
// would repeat); it may also ask for a longer wait than the schedule's.
//
// Python's websockets library (its reconnecting connect) waits a random
// 0–5 s first, then 3.1 s growing ×1.618 up to 90 s, with no jitter. The
// same curve, without the random first wait, is d = 3.1 s with
// Backoff{Multiplier: 1.618, Max: 90 * time.Second, Jitter: -1}:
//
//	attempt   websockets   default, d = 1 s   d = 3.1 s, ×1.618, max 90 s
//	1         0–5 s        1 s                3.1 s
//	2         3.1 s        1.6–2 s            5.0 s
//	3         5.0 s        3.2–4 s            8.1 s
//	4         8.1 s        6.4–8 s            13.1 s
//	5         13.1 s       12.8–16 s          21.2 s
//	6         21.2 s       25.6–32 s          34.4 s
//	7         34.4 s       48–60 s            55.6 s
//	8         55.6 s       48–60 s            90 s
//	9 and on  90 s         48–60 s            90 s
type Backoff struct {
	// Max caps the wait between attempts; 0 = one minute (or d if that is
	// longer). A Max below d is taken as d: the first wait is d.
	Max time.Duration
	// Multiplier is the growth per failed attempt; 0 = 2, and values below
	// 1 mean 1 (a constant delay, websocket-client's behaviour).
	Multiplier float64
	// Jitter is the fraction of each wait after the first that is
	// randomized, between 0 and 1; 0 = 0.2, negative = none.
	Jitter float64
	// ResetAfter is how long a connection must stay open to count as
	// healthy and reset the schedule; 0 = as soon as it opens.
	ResetAfter time.Duration
}

// defaultBackoffMax is Backoff.Max's default.
const defaultBackoffMax = time.Minute

// backoff is the state of one run's reconnect schedule.
type backoff struct {
	cfg   Backoff
	base  time.Duration
	next  time.Duration // the un-jittered wait of the next attempt; 0 = base
	tries int           // attempts since the last healthy connection
	rand  func() float64
}

func newBackoff(cfg *Backoff, base time.Duration) *backoff {
	b := &backoff{base: base, rand: rand.Float64}
	if cfg != nil {
		b.cfg = *cfg
	}
	if b.cfg.Max <= 0 {
		b.cfg.Max = defaultBackoffMax
	}
	b.cfg.Max = max(b.cfg.Max, base)
	if b.cfg.Multiplier == 0 {
		b.cfg.Multiplier = 2
	}
	b.cfg.Multiplier = max(b.cfg.Multiplier, 1)
	switch {
	case b.cfg.Jitter == 0:
		b.cfg.Jitter = 0.2
	case b.cfg.Jitter < 0:
		b.cfg.Jitter = 0
	}
	b.cfg.Jitter = min(b.cfg.Jitter, 1)
	return b
}

// wait returns how long to wait before the next attempt and advances the
// schedule.
func (b *backoff) wait() time.Duration {
	b.tries++
	if b.next == 0 {
		b.next = b.base
		return b.base
	}
	w := time.Duration(float64(b.next) * b.cfg.Multiplier)
	if w > b.cfg.Max || w <= 0 { // w <= 0: overflow
		w = b.cfg.Max
	}
	b.next = w
	if b.cfg.Jitter > 0 {
		w -= time.Duration(b.cfg.Jitter * b.rand() * float64(w))
	}
	return w
}

// reset starts the schedule over after a healthy connection.
func (b *backoff) reset() {
	b.next = 0
	b.tries = 0
}
