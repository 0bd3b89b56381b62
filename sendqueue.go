// The App's send queue: bounded by bytes, blocking or failing fast when full.

package websocket

import "sync"

// sendQueue is the bounded queue of one App connection's outgoing
// messages (see App.Send): the goroutine that owns writing to the Conn (a
// sender writing its own message directly, or the queue's writer goroutine,
// which runs while messages are queued) is marked by writing; bytes counts
// what is queued or being written.
type sendQueue struct {
	c      *Conn
	limit  int
	noWait bool

	// Guarded by mu (the flags beside noWait: the queue stays in the
	// 80-byte size class).
	writing bool
	dead    bool // set: what is queued is dropped, not sent
	mu      sync.Mutex
	cond    *sync.Cond // room, or writing ending; made by the first to wait (waitLocked)
	b       *sendBufs  // the queue's buffers, made when a message is first queued; nil again after a trim
	bytes   int        // queued or being written
	err     error      // set: sends are refused with it
	run     func()     // q.write, made at the first start (goWrite)
}

// sendBufs holds what a send queue has queued: most sends are written at
// once and queue nothing, and an idle queue gives its buffers back at the
// keep-alive (trim), so they are apart from the queue (TestIdleRunSizes).
type sendBufs struct {
	items ring[sendItem] // the queued messages, those the writer took included
	buf   []byte         // the queued messages not taken by the writer, back to back
	spare []byte         // the writer's last batch, for buf to reuse
}

// queued returns the number of queued messages, those the writer took
// included; q.mu is held.
func (q *sendQueue) queued() int {
	if q.b == nil {
		return 0
	}
	return q.b.items.n
}

// sendItem is a queued message: its opcode and length in its batch.
type sendItem struct {
	op Opcode
	n  int
}

func newSendQueue(c *Conn, limit int, noWait bool) *sendQueue {
	return &sendQueue{c: c, limit: limit, noWait: noWait}
}

// goWrite starts write on its own goroutine, writing being set; q.mu is
// held. The method value is made at the first start, not per queue (most
// never start one) nor per start (`go q.write()` would allocate each time).
func (q *sendQueue) goWrite() {
	if q.run == nil {
		q.run = q.write
	}
	go q.run()
}

// send is App.Send.
func (q *sendQueue) send(data []byte, op Opcode) error {
	if err := checkSend(data, op); err != nil {
		return err
	}
	n := len(data)
	q.mu.Lock()
	for {
		if q.err != nil {
			err := q.err
			q.mu.Unlock()
			return err
		}
		if !q.writing && !q.noWait {
			// Nothing queued and nobody writing: write it here.
			q.writing, q.bytes = true, q.bytes+n
			q.mu.Unlock()
			err := q.c.sendChecked(data, op)
			q.mu.Lock()
			q.bytes -= n
			q.failed(err)
			if q.queued() > 0 && !q.dead {
				q.goWrite() // writing stays set: the writer owns the Conn now
			} else {
				q.idle()
			}
			q.mu.Unlock()
			return err
		}
		if q.bytes == 0 || n <= q.limit-q.bytes { // not q.bytes+n: it wraps near MaxInt
			break
		}
		if q.noWait {
			q.mu.Unlock()
			return ErrSendQueueFull
		}
		q.waitLocked()
	}
	if q.b == nil {
		q.b = new(sendBufs)
	}
	q.b.buf = append(q.b.buf, data...)
	q.b.items.push(sendItem{op: op, n: n})
	q.bytes += n
	if !q.writing {
		q.writing = true
		q.goWrite()
	}
	q.mu.Unlock()
	return nil
}

// write sends the queued messages in order until the queue is empty or
// the connection failed; it runs on its own goroutine with writing set.
// It takes what is queued as a batch, so that senders append to the other
// of two buffers meanwhile: the queue's memory is two buffers of about
// the limit, reused, and a steady stream of sends allocates nothing.
func (q *sendQueue) write() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for !q.dead && q.queued() > 0 {
		b := q.b // trim leaves it while the writer writes
		batch, k := b.buf, b.items.n
		b.buf, b.spare = b.spare[:0], nil
		for off := 0; k > 0 && !q.dead; k-- {
			it, _ := b.items.pop()
			q.mu.Unlock()
			err := q.c.sendChecked(batch[off:off+it.n], it.op)
			off += it.n
			q.mu.Lock()
			q.bytes -= it.n
			q.failed(err)
			q.broadcast()
		}
		if cap(batch)/2 <= q.limit { // one huge message is not kept (2*limit wraps near MaxInt)
			b.spare = batch[:0]
		}
	}
	q.idle()
}

// waitLocked waits for room or for writing to end; q.mu is held. Most
// queues never wait, so the condition variable is made on first use.
func (q *sendQueue) waitLocked() {
	if q.cond == nil {
		q.cond = sync.NewCond(&q.mu)
	}
	q.cond.Wait()
}

// broadcast wakes the senders waiting in waitLocked; q.mu is held.
func (q *sendQueue) broadcast() {
	if q.cond != nil {
		q.cond.Broadcast()
	}
}

// failed records a failed write, after which nothing more is sent; q.mu is
// held. Later sends get the error the Conn gives the calls after a failed
// write: for a timeout, one that matches ErrConnectionClosed, not the
// timeout, which only the send whose write it was gets.
func (q *sendQueue) failed(err error) {
	if err != nil {
		if q.err == nil {
			q.err = afterWriteError(err)
		}
		q.dead = true
	}
}

// idle ends a turn of writing, dropping what is left when the queue is
// dead; q.mu is held.
func (q *sendQueue) idle() {
	for q.dead && q.b != nil {
		it, ok := q.b.items.pop()
		if !ok {
			q.b = nil
			break
		}
		q.bytes -= it.n
	}
	q.writing = false
	q.broadcast()
}

// stop refuses further sends with err; what is queued is still sent.
func (q *sendQueue) stop(err error) {
	q.mu.Lock()
	if q.err == nil {
		q.err = err
	}
	q.broadcast()
	q.mu.Unlock()
}

// close refuses further sends with err and drops what is queued (as soon
// as a write in progress returns).
func (q *sendQueue) close(err error) {
	q.mu.Lock()
	if q.err == nil {
		q.err = err
	}
	q.dead = true
	if !q.writing {
		q.idle()
	}
	q.broadcast()
	q.mu.Unlock()
}

// busy reports whether a send or the writer is writing.
func (q *sendQueue) busy() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.writing
}

// wait waits until no send and no writer is writing.
func (q *sendQueue) wait() {
	q.mu.Lock()
	for q.writing {
		q.waitLocked()
	}
	q.mu.Unlock()
}

// trim gives back what an idle queue holds from its bursts: the ring of
// messages and the batch buffers (up to twice the limit). The keep-alive
// calls it at each ping, so that an idle connection keeps none of it
// beyond a ping interval.
func (q *sendQueue) trim() {
	q.mu.Lock()
	if !q.writing && q.queued() == 0 {
		q.b = nil
	}
	q.mu.Unlock()
}

// buffered is App.Buffered.
func (q *sendQueue) buffered() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bytes
}
