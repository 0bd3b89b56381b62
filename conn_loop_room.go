// Backpressure on the event loop: a data message's sender waits while the
// loop holds more than the send mark for the socket.

package websocket

import (
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// loopRooms are the senders of an engine's connections that wait for
// their write queue to drain (waitRoom): a channel per connection with
// waiters, closed when its queue is down to half the mark, or the
// connection closes. Few connections ever wait, so the channels are kept
// here, not in each loopConn.
type loopRooms struct {
	n  atomic.Int32 // len(m): wake's look without the lock
	mu sync.Mutex
	m  map[*loopConn]chan struct{}
}

// wait returns the channel that wake closes for lc; lc.mu is held.
func (r *loopRooms) wait(lc *loopConn) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := r.m[lc]
	if ch == nil {
		if r.m == nil {
			r.m = make(map[*loopConn]chan struct{})
		}
		ch = make(chan struct{})
		r.m[lc] = ch
		r.n.Add(1)
	}
	return ch
}

// wake releases lc's waiters; lc.mu is held.
func (r *loopRooms) wake(lc *loopConn) {
	if r.n.Load() == 0 {
		return
	}
	r.mu.Lock()
	if ch, ok := r.m[lc]; ok {
		close(ch)
		delete(r.m, lc)
		r.n.Add(-1)
	}
	r.mu.Unlock()
}

// sendMark is how many bytes may wait for lc's socket before a data send
// waits: the App's RunOptions.SendQueueBytes, and half of maxLoopQueue at
// most.
func (lc *loopConn) sendMark() int {
	return min(lc.q.o.SendQueueBytes, maxLoopQueue/2)
}

// waitRoom makes the sender of a data message wait once more than the
// send mark waits for the socket, until half of it does (flagLoopBacklog),
// as a send off the loop waits for the socket: a peer that reads slowly
// slows its senders (the App's send queue fills, which App.Buffered and
// SendNoWait's ErrSendQueueFull tell) rather than the loop queueing for it
// up to maxLoopQueue and failing the connection. The wait lasts the Conn's timeout at most (SetTimeout,
// DialOptions.Timeout), after which the connection fails as after a write
// that timed out, and the caller gets the timeout. It returns nil when the
// message may go, also when the connection ended (the send reports that).
// Never called on the I/O goroutine, nor with writeMu held (the I/O
// goroutine takes it to answer pings).
func (lc *loopConn) waitRoom() error {
	var t *time.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		lc.mu.Lock()
		if !lc.c.flags.has(flagLoopBacklog) || lc.werr != nil || lc.closed.Load() {
			lc.mu.Unlock()
			return nil
		}
		room := lc.l.eng.rooms.wait(lc)
		lc.mu.Unlock()
		if t == nil {
			if d := lc.c.Timeout(); d > 0 {
				t = time.NewTimer(d)
			}
		}
		var timeout <-chan time.Time
		if t != nil {
			timeout = t.C
		}
		select {
		case <-room:
		case <-timeout:
			return lc.c.sendTimedOut()
		}
	}
}

// queuedMore marks the queue as over the send mark when it is; mu is
// held, and the queue has grown.
func (lc *loopConn) queuedMore() {
	if lc.queued() > lc.sendMark() && !lc.c.flags.has(flagLoopBacklog) {
		lc.c.flags.set(flagLoopBacklog)
	}
}

// wakeRoom releases the senders waiting for room when the queue is down
// to half the send mark, and reports whether it did; mu is held.
func (lc *loopConn) wakeRoom() bool {
	if lc.c.flags.has(flagLoopBacklog) && lc.queued() <= lc.sendMark()/2 {
		lc.c.flags.clear(flagLoopBacklog)
		lc.l.eng.rooms.wake(lc)
		return true
	}
	return false
}

// waitSendRoom waits, before a data frame is sent, for the event loop
// that owns the socket to have room for it (waitRoom); off a loop the
// socket's write does the waiting. A send finds the flag clear, without a
// lock, unless the loop is behind.
func (c *Conn) waitSendRoom() error {
	if c.flags.has(flagLoopBacklog) {
		if lc := c.lc.Load(); lc != nil {
			return lc.waitRoom()
		}
	}
	return nil
}

// sendTimedOut fails the connection when a send waited its timeout for
// room, as a write that timed out does: the caller gets the timeout, later
// sends that the connection is closed.
func (c *Conn) sendTimedOut() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.writable(); err != nil {
		return err
	}
	return c.writeFailed(os.ErrDeadlineExceeded)
}
