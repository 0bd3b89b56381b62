package h2

import (
	"sync"
	"sync/atomic"
	"time"
)

// deadline is a settable point in time, for the per-stream read and write
// deadlines. It costs nothing until it is set: its timer and channel are
// made when needed.
type deadline struct {
	passed atomic.Bool // the deadline has passed
	// write: st's write deadline, whose timer, when it passes, tells the
	// connection that st gave up on its data (Stream.writeTimedOut);
	// otherwise st's read deadline, whose passing wakes its reader
	// (Stream.signal, under mu), a waiter that does not use wait's
	// channel. Set when the stream is made.
	write bool
	mu    sync.Mutex
	timer *time.Timer
	gen   uint64        // counts set calls; a timer of an older one does nothing
	ch    chan struct{} // closed when the deadline passes; made by wait
	st    *Stream
}

// closedChan is the channel wait returns once the deadline has passed.
var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// set moves the deadline to t; the zero t means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.gen++
	if !t.IsZero() && !time.Now().Before(t) {
		d.expireLocked()
		d.mu.Unlock()
		return
	}
	if d.passed.Load() {
		d.passed.Store(false)
		d.ch = nil // it is closed; wait makes another
	}
	if !t.IsZero() {
		gen := d.gen
		d.timer = time.AfterFunc(time.Until(t), func() {
			d.mu.Lock()
			passed := d.gen == gen && d.expireLocked()
			d.mu.Unlock()
			if passed && d.write {
				// Without mu, which a Write holds under the
				// connection's lock (isSet). A deadline set in the
				// past is SetWriteDeadline's to report.
				d.st.writeTimedOut()
			}
		})
	}
	d.mu.Unlock()
}

// expireLocked marks the deadline passed and wakes its waiters; it
// reports whether the deadline was not passed before.
func (d *deadline) expireLocked() bool {
	if d.passed.Load() {
		return false
	}
	d.passed.Store(true)
	if d.ch != nil {
		close(d.ch)
	}
	if !d.write && d.st != nil {
		d.st.signal()
	}
	return true
}

// wait returns a channel closed once the deadline has passed, for a
// waiter that blocks (one that only checks uses passed).
func (d *deadline) wait() <-chan struct{} {
	if d.passed.Load() {
		return closedChan
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.passed.Load() {
		return closedChan
	}
	if d.ch == nil {
		d.ch = make(chan struct{})
	}
	return d.ch
}

// isSet reports whether a deadline is set, passed or not.
func (d *deadline) isSet() bool {
	if d.passed.Load() {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.timer != nil
}

// stop releases the timer.
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
