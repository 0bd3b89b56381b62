package websocket

import (
	"sync"
	"sync/atomic"
	"time"
)

// Receive queue defaults (RunOptions.RecvQueue*): reading pauses at 1024
// frames or 4 MiB queued, and resumes once the queue is down to a quarter
// of both (256 frames and 1 MiB).
const (
	defaultRecvQueueMessages = 1024
	defaultRecvQueueBytes    = 4 << 20
)

// recvItem is one entry of a recvQueue: a frame as RecvDataFrame returns
// it (its opcode, Fin and payload; held by value, so that queueing a
// message allocates nothing besides its payload), or (err set) the end of
// the connection.
type recvItem struct {
	op   Opcode
	fin  bool
	data []byte
	err  error
}

// last reports whether the item ends what the connection will read: the
// end itself, or the peer's close frame (the read after it returns the end
// without touching the socket).
func (it *recvItem) last() bool { return it.err != nil || it.op == OpClose }

// isData reports whether the item is a data frame (a message or a
// fragment of one).
func (it *recvItem) isData() bool {
	return it.err == nil && (it.op == OpText || it.op == OpBinary || it.op == OpContinuation)
}

// size is what the item counts against the queue's byte limit.
func (it *recvItem) size() int { return len(it.data) }

// recvQueue is the bounded queue of received frames between the reader of
// one connection (the producer, which reads the socket, answers pings and
// pushes every frame) and the goroutine that runs the callbacks (the
// consumer, which pops them in order). It decouples the two, so a slow
// callback does not stop the reading, and bounds what waits by frames and
// by payload bytes, with high and low water marks:
//
//   - push never refuses: the producer has read the frame already. It
//     reports full once the queue holds hiCount frames or hiBytes bytes
//     (or more); the producer must then stop reading (waitRoom blocks a
//     goroutine producer; a poller stops polling the socket) and the
//     kernel's buffers fill, which slows the sender (TCP backpressure). The
//     queue thus holds at most the high water marks plus the one frame
//     that crossed them.
//   - pop reports resumed when it takes the queue down to loCount frames
//     and loBytes bytes (both) while the producer is paused: reading may go
//     on. The gap between the marks keeps a consumer near the limit from
//     pausing and resuming the reader at every frame.
//   - push reports wake when the consumer must be scheduled (the queue was
//     idle: nothing popped since it last ran empty); pop reports more while
//     items are left, so one scheduled consumer, popping and rescheduling
//     itself while more, serves the queue in order.
//   - The end of the connection is pushed as an item with err set; it
//     counts against no byte limit and never reports full, nor does the
//     peer's close frame (the read after it returns the end at once).
//
// The queue also keeps the clock of the pauses (pausedTotal, paused),
// counts the pongs pushed (pongs) and tells whether the end was pushed
// (ended), for a keep-alive whose pong deadline must not run while the
// producer is paused (a pong the producer has not read because it paused
// is late because of us, not of the peer) and that stops once the
// connection is over although frames read before its end still wait.
//
// All methods are safe for concurrent use; push and waitRoom are meant
// for one producer, pop for one consumer at a time.
type recvQueue struct {
	// The water marks: hiCount is o.RecvQueueMessages, hiBytes
	// o.RecvQueueBytes, loCount and loBytes their Low twins, in the run's
	// options (shared by the runs that use equal ones, never changed).
	o *RunOptions

	pongCount atomic.Uint64

	// The counts at the producer's last push, for mayFill: the producer's
	// own (written under mu by pushMany, read by the producer alone).
	seenN, seenBytes int

	mu        sync.Mutex
	items     ring[recvItem]
	bytes     int           // payload bytes queued
	scheduled bool          // wake was reported and the queue has not run empty since
	end       bool          // the end, or the peer's close frame, was pushed
	stopped   bool          // the producer is paused (full was reported)
	dropping  bool          // data frames are dropped, not queued (dropData)
	resume    chan struct{} // closed when a pause ends; made when one starts
	pausedAt  int64         // monoNow() when the current pause began
	pausedFor time.Duration // the length of the pauses that ended

	// waker, when set, is told when a pop ends a pause: a producer that
	// does not wait in waitRoom (an event loop's I/O goroutine). Set
	// before the first push.
	waker *loopConn
}

// newRecvQueue returns a queue with the water marks of o, whose defaults
// are filled in: the low marks are below the high ones.
func newRecvQueue(o *RunOptions) *recvQueue {
	return &recvQueue{o: o}
}

// push appends it. wake reports that the consumer must be scheduled to pop
// it (the queue was idle); full that the producer must pause reading until
// a pop reports resumed (for a goroutine, until waitRoom returns).
func (q *recvQueue) push(it recvItem) (wake, full bool) {
	return q.pushMany([]recvItem{it})
}

// pushMany pushes items, in order, under one lock: a producer that has
// several frames at once (the event loop, from one socket read) takes the
// lock once, not once a frame. It must not push past full: each item but
// the last must leave the queue below its high water marks, which the
// producer can tell from its own count (mayFill).
func (q *recvQueue) pushMany(items []recvItem) (wake, full bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	last := false
	for _, it := range items {
		if it.err == nil && it.op == OpPong {
			q.pongCount.Add(1)
		}
		if q.dropping && it.isData() {
			continue
		}
		q.items.push(it)
		q.bytes += it.size()
		last = it.last()
		q.end = q.end || last
		if !last && !q.stopped && (q.items.n >= q.o.RecvQueueMessages || q.bytes >= q.o.RecvQueueBytes) {
			q.stopped, q.pausedAt, q.resume = true, monoNow(), make(chan struct{})
		}
	}
	wake, q.scheduled = !q.scheduled, true
	q.seenN, q.seenBytes = q.items.n, q.bytes
	return wake, q.stopped && !last
}

// mayFill reports whether pushing n more items of size bytes could take
// the queue to a high water mark, judged from the counts the producer saw
// at its last push (pops only lowered them since): then the producer must
// push them now, the last of them maybe crossing the mark. The producer
// only.
func (q *recvQueue) mayFill(n, size int) bool {
	return q.seenN+n >= q.o.RecvQueueMessages || q.seenBytes+size >= q.o.RecvQueueBytes
}

// dropData drops the data frames queued, and those pushed from now on: the
// run is closing, and no callback will get them (App.CloseWith). The
// reader, which must read through what the server sent before its close
// frame, then reads on at the socket's pace rather than the consumer's,
// never pausing for frames no one will see. Control frames and the end
// still queue. A pause that the dropped frames caused ends.
func (q *recvQueue) dropData() {
	q.mu.Lock()
	q.dropping = true
	var kept ring[recvItem]
	q.bytes = 0
	for it, ok := q.items.pop(); ok; it, ok = q.items.pop() {
		if !it.isData() {
			kept.push(it)
			q.bytes += it.size()
		}
	}
	q.items = kept
	resumed := q.endPause()
	q.mu.Unlock()
	if resumed && q.waker != nil {
		q.waker.resumeReading()
	}
}

// endPause ends a pause when the queue is down to its low water marks,
// reporting whether it did; q.mu is held.
func (q *recvQueue) endPause() bool {
	if !q.stopped || q.items.n > q.o.RecvQueueLowMessages || q.bytes > q.o.RecvQueueLowBytes {
		return false
	}
	q.stopped = false
	q.pausedFor += time.Duration(monoNow() - q.pausedAt)
	close(q.resume)
	return true
}

// pop removes the oldest item. ok is false when the queue was empty; more
// reports that items are left (the consumer must run again; when false,
// the next push reports wake); resumed that this pop ended a pause: the
// producer may read again (a goroutine in waitRoom has been released, a
// waker has been told).
func (q *recvQueue) pop() (it recvItem, ok, more, resumed bool) {
	q.mu.Lock()
	if it, ok = q.items.pop(); ok {
		q.bytes -= it.size()
	}
	resumed = q.endPause()
	more = q.items.n > 0
	q.scheduled = more
	q.mu.Unlock()
	if resumed && q.waker != nil {
		q.waker.resumeReading()
	}
	return it, ok, more, resumed
}

// waitRoom blocks the producer while the queue is paused (full was
// reported and no pop has reported resumed yet).
func (q *recvQueue) waitRoom() {
	q.mu.Lock()
	stopped, resume := q.stopped, q.resume
	q.mu.Unlock()
	if stopped {
		<-resume
	}
}

// paused reports whether the producer is paused.
func (q *recvQueue) paused() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stopped
}

// pausedTotal returns how long the producer has been paused in all, the
// current pause included.
func (q *recvQueue) pausedTotal() time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	d := q.pausedFor
	if q.stopped {
		d += time.Duration(monoNow() - q.pausedAt)
	}
	return d
}

// ended reports whether the end of the connection, or the peer's close
// frame, has been pushed: nothing more will be read.
func (q *recvQueue) ended() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.end
}

// pongs returns how many pong frames have been pushed.
func (q *recvQueue) pongs() uint64 { return q.pongCount.Load() }

// trim gives back the ring of an empty queue that a burst grew; the
// keep-alive calls it at each ping, so that an idle connection keeps none
// of a burst's ring beyond a ping interval. The smallest ring stays: the
// ping's pong would make it again at once.
func (q *recvQueue) trim() {
	q.mu.Lock()
	if q.items.n == 0 && len(q.items.buf) > minRing {
		q.items = ring[recvItem]{}
	}
	q.mu.Unlock()
}

// queued returns the frames and payload bytes queued.
func (q *recvQueue) queued() (frames, bytes int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.items.n, q.bytes
}

// ring is a FIFO of T in a circular buffer that grows by doubling as
// needed (from 2: most connections hold a frame or two at a time, a pong
// or a message on its way to the callback) and does not shrink: a queue that fills and drains again
// and again allocates nothing after its first fill. Its owner drops it
// when idle (trim).
type ring[T any] struct {
	buf     []T // buf[head], buf[head+1], … (mod len), n of them
	head, n int
}

// minRing is the length of a ring's first buffer.
const minRing = 2

// push appends v.
func (r *ring[T]) push(v T) {
	if r.n == len(r.buf) {
		buf := make([]T, max(minRing, 2*len(r.buf)))
		for i := range r.n {
			buf[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = buf, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = v
	r.n++
}

// pop removes and returns the oldest value; ok is false when r is empty.
func (r *ring[T]) pop() (v T, ok bool) {
	if r.n == 0 {
		return v, false
	}
	var zero T
	v, r.buf[r.head] = r.buf[r.head], zero
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	return v, true
}
