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
	mu     sync.Mutex
	timer  *time.Timer
	gen    uint64        // counts set calls; a timer of an older one does nothing
	ch     chan struct{} // closed when the deadline passes; made by wait
	// wake, if not nil, is called (under mu) when the deadline passes,
	// for a waiter that does not use wait's channel.
	wake func()
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
			if d.gen == gen {
				d.expireLocked()
			}
			d.mu.Unlock()
		})
	}
	d.mu.Unlock()
}

// expireLocked marks the deadline passed and wakes its waiters.
func (d *deadline) expireLocked() {
	if d.passed.Load() {
		return
	}
	d.passed.Store(true)
	if d.ch != nil {
		close(d.ch)
	}
	if d.wake != nil {
		d.wake()
	}
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
