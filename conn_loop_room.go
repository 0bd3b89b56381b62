// Backpressure on the event loop: a data message's sender waits while the
// loop holds more than the send mark for the socket.

package websocket

import (
	"errors"
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
// up to maxLoopQueue and failing the connection. The wait ends as a
// blocked write would: at the Conn's timeout (SetTimeout,
// DialOptions.Timeout), or without one at the write deadline set through
// the Conn (SetWriteDeadline, SetDeadline; it wakes the wait), after which
// the connection fails as after a write that timed out, and the caller
// gets the timeout. It returns nil when the message may go, also when the
// connection ended (the send reports that). Never called on the I/O
// goroutine, nor with writeMu held (the I/O goroutine takes it to answer
// pings).
func (lc *loopConn) waitRoom() error {
	var t *time.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	var end int64 // monoNow() when the Conn's timeout runs out; 0: none
	if d := lc.c.Timeout(); d > 0 {
		end = monoAfter(monoNow(), d)
	}
	for {
		lc.mu.Lock()
		if !lc.c.flags.has(flagLoopBacklog) || lc.werr != nil || lc.closed.Load() {
			lc.mu.Unlock()
			return nil
		}
		room := lc.l.eng.rooms.wait(lc)
		lc.mu.Unlock()
		// Read after the wait is registered: a deadline set since then
		// wakes this one (roomChanged).
		var timeout <-chan time.Time
		if d, ok := lc.sendWait(end); ok {
			if t == nil {
				t = time.NewTimer(d)
			} else {
				t.Stop()
				t.Reset(d)
			}
			timeout = t.C
		}
		select {
		case <-room:
		case <-timeout:
			return lc.sendTimedOut()
		}
	}
}

// sendWait returns how long a send may wait for room: until end when the
// Conn has a timeout, else until the write deadline of the loop's socket
// (a socket of the user's keeps its deadline where the wait cannot read
// it); ok is false when nothing bounds the wait.
func (lc *loopConn) sendWait(end int64) (d time.Duration, ok bool) {
	if end != 0 {
		return monoUntil(monoNow(), end), true
	}
	if wd := lc.writeDeadline(); wd != 0 {
		return time.Until(time.Unix(0, wd)), true
	}
	return 0, false
}

// roomChanged wakes the senders waiting for room to look again: the
// caller moved the write deadline that bounds their wait.
func (lc *loopConn) roomChanged() {
	if lc.l.eng.rooms.n.Load() == 0 {
		return
	}
	lc.mu.Lock()
	lc.l.eng.rooms.wake(lc)
	lc.mu.Unlock()
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

// writeDeadlineMoved has the sends waiting for room on the event loop that
// owns the socket, if one does, look at the write deadline the caller just
// set (waitRoom).
func (c *Conn) writeDeadlineMoved() {
	if lc := c.lc.Load(); lc != nil {
		lc.roomChanged()
	}
}

// closeAfterWrites closes the socket (as Abort does when abort is set)
// once the bytes an event loop holds for it, if one owns it, are written,
// or after wait (closeWhenSent); at once off a loop, where the writes that
// returned are in the socket.
func (c *Conn) closeAfterWrites(abort bool, wait time.Duration) {
	if lc := c.lc.Load(); lc != nil && lc.closeWhenSent(abort, wait, nil) {
		return
	}
	if abort {
		c.Abort()
	} else {
		c.closeSocket()
	}
}

// sendTimedOut fails the connection when a send waited out its time for
// room, as a write that timed out does: the caller gets the timeout (a
// *net.OpError with the socket's addresses, as a net.Conn's write gives),
// later sends that the connection is closed.
func (lc *loopConn) sendTimedOut() error {
	c := lc.c
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.writable(); err != nil {
		return err
	}
	return c.writeFailed(lc.sysError("write", os.ErrDeadlineExceeded))
}

// writeFailed ends the connection when a write of what the loop queued
// failed (a reset, a passed write deadline), as the goroutine path's
// flusher does: err is the Conn's failure, which the end reports, and a
// timeout goes to the next send. The I/O goroutine only.
func (lc *loopConn) writeFailed(err error) {
	c := lc.c
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.writeError() != nil || c.flags.has(flagClosed) {
		c.closeSocket() // already failed, or closed by us
		return
	}
	if werr := c.writeFailed(err); isTimeout(werr) {
		c.rareState().writeErr = werr
	}
}

// loopDrains are the ends put off until a connection's queue has gone out
// (endWhenSent), each with the timer that ends it at the close timeout
// instead. Few connections are ever in it, so the engine keeps them.
type loopDrains struct {
	n  atomic.Int32 // len(m): a look without the lock
	mu sync.Mutex
	m  map[*loopConn]loopDrain
}

type loopDrain struct {
	end   error
	t     *time.Timer
	at    time.Time      // when t gives the end
	dones []chan<- error // told whether the queue went out: nil, or why not (closeWhenSent's callers that wait)
}

// report tells the waiters of the drain err; each done has room for it.
func (w *loopDrain) report(err error) {
	for _, done := range w.dones {
		done <- err
	}
}

// endWhenSent puts off the end of a connection whose peer sent its close
// while the loop holds bytes for the socket (sends that went before the
// echo, and the echo), as the goroutine path's reader writes the echo,
// behind them, before it closes the socket: the socket is read no more,
// and the end comes once the queue has gone out (flush), or at the close
// timeout. It reports whether it put the end off. The I/O goroutine only.
func (lc *loopConn) endWhenSent(end error) bool {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.queued() == 0 || lc.werr != nil || lc.closed.Load() {
		return false
	}
	lc.paused = true // what follows the close frame is not read
	if lc.watch() != nil {
		return false
	}
	lc.l.eng.drains.put(lc, end, closeTimeout, nil)
	return true
}

// closeWhenSent closes the socket once the bytes the loop holds for it
// are written, or after wait, as a close off the loop comes after the
// writes that returned: a close frame just queued is not dropped. abort
// closes it as Abort does, else as Close (over TLS, with close_notify).
// It reports false, doing nothing, when nothing waits; else done, if not
// nil, is told (it must have room) nil once the bytes went out, or why not.
// Any goroutine but the I/O one.
func (lc *loopConn) closeWhenSent(abort bool, wait time.Duration, done chan<- error) bool {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.queued() == 0 || lc.werr != nil || lc.closed.Load() {
		return false
	}
	end := errCloseWhenSent
	if abort {
		end = errAbortWhenSent
	}
	lc.l.eng.drains.put(lc, end, wait, done)
	return true
}

// The put-off ends of closeWhenSent.
var (
	errAbortWhenSent = errors.New("websocket: abort once written")
	errCloseWhenSent = errors.New("websocket: close once written")
)

// endSent ends the connection whose queue went out, or whose wait ran
// out, with what endWhenSent or closeWhenSent put off. The I/O goroutine
// only.
func (lc *loopConn) endSent(end error) {
	switch end {
	case errAbortWhenSent:
		lc.c.Abort()
	case errCloseWhenSent:
		lc.c.closeSocket()
	default:
		lc.end(end)
	}
}

// put registers lc's put-off end, with a timer that gives it after wait;
// lc.mu is held (flush takes it after releasing mu).
func (d *loopDrains) put(lc *loopConn, end error, wait time.Duration, done chan<- error) {
	e := lc.l.eng
	t := time.AfterFunc(wait, func() {
		e.post(func() {
			if w, ok := d.take(lc); ok {
				lc.mu.Lock()
				left := lc.queued()
				lc.mu.Unlock()
				if left > 0 {
					w.report(&closedError{err: errCloseAbandoned})
				} else {
					w.report(nil)
				}
				lc.endSent(w.end)
			}
		})
	})
	at := time.Now().Add(wait)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = make(map[*loopConn]loopDrain)
	}
	w := loopDrain{end: end, t: t, at: at}
	if done != nil {
		w.dones = []chan<- error{done}
	}
	old, ok := d.m[lc]
	switch {
	case !ok:
		d.n.Add(1)
	case old.at.Before(at):
		// The peer's close and ours crossed: the first end stands, and
		// the earlier time (a close of ours that gives its frame 100 ms,
		// then the peer's, whose echo would get the close timeout).
		t.Stop()
		w.t, w.at = old.t, old.at
		w.end = old.end
	default:
		old.t.Stop()
		w.end = old.end // the first end stands
	}
	if ok {
		w.dones = append(old.dones, w.dones...)
	}
	d.m[lc] = w
}

// has reports whether lc's end waits for its queue.
func (d *loopDrains) has(lc *loopConn) bool {
	if d.n.Load() == 0 {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.m[lc]
	return ok
}

// take removes lc's put-off end, stopping its timer, and returns it; nil
// when there is none.
func (d *loopDrains) take(lc *loopConn) (loopDrain, bool) {
	if d.n.Load() == 0 {
		return loopDrain{}, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	w, ok := d.m[lc]
	if !ok {
		return loopDrain{}, false
	}
	delete(d.m, lc)
	d.n.Add(-1)
	w.t.Stop()
	return w, true
}
