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

// A waitTimer is what is left of a Wait's timeout. A signal can end the
// system call early (EINTR: the runtime's own preemption signals do); the
// poller then waits out the rest, so a Wait never returns before its
// timeout without an event or a wake-up.
type waitTimer struct {
	left time.Duration // < 0: without limit
	end  time.Time     // when left > 0
}

func newWaitTimer(timeout time.Duration) waitTimer {
	w := waitTimer{left: timeout}
	if timeout > 0 {
		w.end = time.Now().Add(timeout)
	}
	return w
}

// millis is the timeout the system calls take: milliseconds, rounded up so
// a timer is never woken for too early; -1 waits without limit.
func (w *waitTimer) millis() int {
	if w.left < 0 {
		return -1
	}
	ms := (w.left + time.Millisecond - 1) / time.Millisecond
	return int(min(ms, 1<<30))
}

// interrupted is called when a signal ended the system call: it reports
// whether time is left to wait again.
func (w *waitTimer) interrupted() bool {
	if w.left <= 0 {
		return w.left < 0
	}
	w.left = max(time.Until(w.end), 0)
	return w.left > 0
}
