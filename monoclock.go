// The monotonic clock in 8 bytes, for timestamps kept per connection.

package websocket

import (
	"math"
	"time"
)

// monoEpoch anchors monotonic timestamps (monoNow).
var monoEpoch = time.Now()

// monoNow returns the monotonic clock's nanoseconds since monoEpoch: a
// timestamp in 8 bytes where a time.Time takes 24.
func monoNow() int64 { return int64(time.Since(monoEpoch)) }

// monoAfter returns now+d, saturated at the ends of int64: a duration as
// long as a time.Duration allows stays in the future.
func monoAfter(now int64, d time.Duration) int64 {
	switch {
	case d > 0 && now > math.MaxInt64-int64(d):
		return math.MaxInt64
	case d < 0 && now < math.MinInt64-int64(d):
		return math.MinInt64
	}
	return now + int64(d)
}

// monoUntil returns the time from now to when, saturated likewise.
func monoUntil(now, when int64) time.Duration {
	switch {
	case now < 0 && when > math.MaxInt64+now:
		return math.MaxInt64
	case now > 0 && when < math.MinInt64+now:
		return math.MinInt64
	}
	return time.Duration(when - now)
}
