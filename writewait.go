package websocket

import (
	"errors"
	"sync"
	"time"
)

// writeWaits is what goroutines waiting to write use, made by the first
// that waits (a sender behind a full queue or a NextWriter, or Flush): a
// connection whose sends never wait keeps none.
type writeWaits struct {
	// cond, on writeMu, signals writing ending and the queue being
	// taken (writeCond).
	cond sync.Cond

	// Senders waiting for msgMu, which a NextWriter holds until its Close
	// (lockMsg), on msgCond, guarded by msgWakeMu. While there are any,
	// the Conn's flagMsgWait is set: what an unlock checks, on the line of
	// the Conn it touches anyway, not on this one, which the flusher
	// writes.
	msgWakeMu  sync.Mutex
	msgCond    sync.Cond
	msgWaiters int

	// Flush's count of the queue's batches (flushQueue), guarded by
	// writeMu: counted from when this is made.
	batchesTaken, batchesDone uint64
	flushWaiting              int // Flush calls waiting for a batch

	// The payload of the latest ping, not answered yet because the queue
	// was full (answerPing); the flusher queues its pong when it takes
	// the queue. Guarded by writeMu.
	pong    []byte
	pongDue bool
}

// writeWaits returns c's writeWaits, nil when no goroutine has waited.
func (c *Conn) writeWaits() *writeWaits {
	if r := c.rare.Load(); r != nil {
		return r.waits.Load()
	}
	return nil
}

// writeWaitsMade returns c's writeWaits, making them if need be; writeMu
// is held.
func (c *Conn) writeWaitsMade() *writeWaits {
	r := c.rareState()
	if w := r.waits.Load(); w != nil {
		return w
	}
	w := new(writeWaits)
	w.cond.L = &c.writeMu
	w.msgCond.L = &w.msgWakeMu
	r.waits.Store(w)
	return w
}

// writeCond returns the condition variable that waits on writing and the
// queue; writeMu is held.
func (c *Conn) writeCond() *sync.Cond { return &c.writeWaitsMade().cond }

// wakeWriters wakes the goroutines waiting on writeCond; writeMu is held.
func (c *Conn) wakeWriters() {
	if w := c.writeWaits(); w != nil {
		w.cond.Broadcast()
	}
}

// lockMsg takes msgMu, which a data message holds from its first frame to
// its last. A NextWriter holds it for as long as its caller streams, so a
// sender waiting behind one must not outlive the Conn: when the Conn
// closes (Abort, Close, a failed write, the peer), lockMsg returns the
// error a send gets then rather than waiting for the NextWriter's Close.
// Waiting allocates nothing once the Conn's writeWaits are made.
func (c *Conn) lockMsg() error {
	if c.msgMu.TryLock() {
		return nil
	}
	return c.waitMsg()
}

// waitMsg is lockMsg when msgMu is held. While it holds msgWakeMu it
// takes no other lock: an unlock that wakes it may hold writeMu.
func (c *Conn) waitMsg() error {
	c.writeMu.Lock()
	w := c.writeWaitsMade()
	c.writeMu.Unlock()
	w.msgWakeMu.Lock()
	// Counted before the TryLock: an unlock after it sees the flag and
	// signals (wakeMsgWaiters), which it can do only once this waits.
	if w.msgWaiters++; w.msgWaiters == 1 {
		c.flags.set(flagMsgWait)
	}
	locked := c.msgMu.TryLock()
	for !locked && !c.flags.has(flagClosed) {
		w.msgCond.Wait()
		locked = c.msgMu.TryLock()
	}
	if w.msgWaiters--; w.msgWaiters == 0 {
		c.flags.clear(flagMsgWait)
	}
	w.msgWakeMu.Unlock()
	if locked {
		return nil
	}
	c.writeMu.Lock()
	err := c.writable()
	c.writeMu.Unlock()
	if err == nil {
		err = &closedError{}
	}
	return err
}

// wakeMsgWaiters wakes a sender waiting in lockMsg after msgMu was let go,
// or all of them (all) when the Conn closed. Without waiters it costs an
// atomic load of the Conn's flags.
func (c *Conn) wakeMsgWaiters(all bool) {
	if c.flags.has(flagMsgWait) {
		c.wakeMsgWaitersNow(all)
	}
}

// wakeMsgWaitersNow is wakeMsgWaiters when a sender waits.
func (c *Conn) wakeMsgWaitersNow(all bool) {
	w := c.writeWaits()
	w.msgWakeMu.Lock()
	if all {
		w.msgCond.Broadcast()
	} else {
		w.msgCond.Signal()
	}
	w.msgWakeMu.Unlock()
}

// Flush waits until every frame queued by earlier sends has been written to
// the socket. It returns nil when they were, and otherwise the error that
// ended the connection; on a Conn already closed, an error matching
// ErrConnectionClosed, also when everything was written before the close
// (Abort and Shutdown drop what is queued, and Flush does not tell the
// cases apart). Sends return once their frame is written or queued
// (see the package documentation on write coalescing); Flush is for callers
// that must know the bytes reached the socket.
//
// Flush waits for the frames queued when it is called, not for those other
// goroutines send after it: under a steady stream of sends it returns
// once the batches in flight and queued at its call are written.
func (c *Conn) Flush() error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if !c.writing {
		if err := c.takeWriteError(); err != nil || !c.flags.has(flagClosed) {
			return err
		}
		return c.closedCause()
	}
	// The write in flight may be a batch of the queue or a frame written
	// directly, and a batch taken before the Conn counted batches is not
	// counted: waiting for one batch more than the counted ones in flight,
	// and for the queued one, waits for every frame queued before this
	// call, and for one batch more at most.
	w := c.writeWaitsMade()
	target := w.batchesTaken + 1
	if c.wq != nil {
		target++
	}
	w.flushWaiting++
	c.boundWait()
	for c.writing && w.batchesDone < target {
		w.cond.Wait()
	}
	w.flushWaiting--
	return c.takeWriteError()
}

// takeWriteError returns the error that ended writing, nil while frames
// can be written, to a sender or Flush: a queued batch's timeout, which
// no caller got, the first time, then the error every later call gets
// (afterWriteError); writeMu is held.
func (c *Conn) takeWriteError() error {
	r := c.rare.Load()
	if r == nil || r.writeErr == nil {
		return nil
	}
	err := r.writeErr
	if isTimeout(err) {
		r.writeErr = afterWriteError(err)
	}
	return err
}

// afterWriteError is what the calls after the one told of werr, a failed
// write's error, get: werr, or for a timeout an error with its message
// that matches ErrConnectionClosed but not the timeout.
func afterWriteError(werr error) error {
	if te := (*timeoutError)(nil); errors.As(werr, &te) {
		return &closedError{err: errors.New(te.err.Error())}
	}
	return werr
}

// writeBlocked reports whether no frame can be written, for the library's
// own frames (pongs): it leaves a queued batch's timeout to the next
// sender; writeMu is held.
func (c *Conn) writeBlocked() bool {
	return c.writeError() != nil || c.closeSent || c.flags.has(flagClosed)
}

// boundWait bounds a wait for another goroutine's socket write (a send
// behind a write in flight or a full queue, Flush) by the per-operation
// timeout, which a write that began before SetTimeout does not have: the
// write deadline it sets ends that write by then, and the Conn with it, as
// a write that times out does, and the waiter wakes. A deadline the
// timeout set already (flagTimeoutWrite: the write's own, or an earlier
// waiter's) is earlier and stays: waiters arriving one after another must
// not push it back. A close bounded by its own timer keeps its deadline
// (beginWriteDeadline). writeMu is held.
func (c *Conn) boundWait() {
	d := c.Timeout()
	if d <= 0 || c.lc.Load() != nil || c.flags.has(flagTimeoutWrite) || !c.beginWriteDeadline() {
		return
	}
	c.flags.set(flagTimeoutWrite)
	c.netConn.SetWriteDeadline(time.Now().Add(d))
	c.flags.clear(flagSettingDeadline)
}
