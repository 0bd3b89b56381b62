// Package netpoll is a minimal readiness poller for the event loop: epoll
// on Linux, kqueue on macOS and the BSDs. A Poller watches file
// descriptors for readability (always) and writability (while asked for),
// level-triggered, and can be woken from any goroutine. Elsewhere New
// returns ErrUnsupported and callers keep a goroutine per connection.
package netpoll

import (
	"errors"
	"time"
)

// ErrUnsupported is returned by New where no poller exists.
var ErrUnsupported = errors.New("netpoll: not supported on this platform")

// Event is what Wait reports for a descriptor.
type Event uint8

const (
	Readable Event = 1 << iota // data, or the end of the stream, can be read
	Writable                   // a write would not block
	Hangup                     // the peer hung up or the descriptor failed: a read reports how
)

// timeoutMillis converts a Wait timeout to the milliseconds the system
// calls take, rounding up so a timer is never woken for too early; d < 0
// waits without limit.
func timeoutMillis(d time.Duration) int {
	if d < 0 {
		return -1
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	return int(min(ms, 1<<30))
}
