package websocket

// The engine's I/O goroutine (see conn_loop.go): it waits in the poller,
// reads and decodes the sockets of its loop's connections, answers pings,
// and hands the frames to the sessions' receive queues; the dispatcher's
// goroutine runs the callbacks.

import (
	"io"
	"net"
	"time"

	"github.com/wsclient/websocket/internal/netpoll"
)

// run is the I/O goroutine: it serves the descriptors that are ready and
// the tasks posted to it until the loop shuts down.
func (e *engine) run() {
	defer close(e.done)
	for {
		e.p.Wait(e.untilCheck(), e.ready)
		e.checkClosed()
		e.wakeLoop()
		e.mu.Lock()
		fs, quit := e.tasks, e.quit
		e.tasks = e.spare[:0]
		e.mu.Unlock()
		for i, f := range fs {
			f()
			fs[i] = nil
		}
		e.wakeLoop()
		e.spare = fs[:0]
		if quit {
			return
		}
	}
}

// closeCheckEvery is how often the I/O goroutine looks whether the
// net.Conn of an exposed connection was closed (engine.exposed).
const closeCheckEvery = 100 * time.Millisecond

// expose makes the I/O goroutine look, from now on, whether the net.Conn
// lc's socket runs on was closed by its holder (checkClosed).
func (lc *loopConn) expose() {
	e := lc.l.eng
	if len(e.exposed) == 0 {
		e.nextCheck = monoNow() + int64(closeCheckEvery)
	}
	e.exposed = append(e.exposed, lc)
}

// untilCheck returns how long the poller may wait before checkClosed is
// due; -1, for ever, when no connection is exposed.
func (e *engine) untilCheck() time.Duration {
	if len(e.exposed) == 0 {
		return -1
	}
	return time.Duration(max(0, e.nextCheck-monoNow()))
}

// checkClosed ends each exposed connection whose net.Conn was closed, as a
// read of it would have, when the time has come; connections that ended
// leave the list.
func (e *engine) checkClosed() {
	if len(e.exposed) == 0 || monoNow() < e.nextCheck {
		return
	}
	e.nextCheck = monoNow() + int64(closeCheckEvery)
	kept := e.exposed[:0]
	for _, lc := range e.exposed {
		if lc.ended || lc.closed.Load() {
			continue
		}
		if err := lc.rc.Control(func(uintptr) {}); err != nil {
			lc.end(lc.c.ioError("read", err))
			continue
		}
		kept = append(kept, lc)
	}
	clear(e.exposed[len(kept):])
	e.exposed = kept
}

// post queues f to run on the I/O goroutine, and wakes it; false once the
// loop has shut down.
func (e *engine) post(f func()) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.quit {
		return false
	}
	e.tasks = append(e.tasks, f)
	e.p.Wake() // mu is held: the poller is not closed under it
	return true
}

// stop ends the I/O goroutine, once the loop's last session is done, and
// closes the poller.
func (e *engine) stop() {
	e.mu.Lock()
	e.quit = true
	e.p.Wake()
	e.mu.Unlock()
	<-e.done
	e.p.Close()
}

// serve handles the readiness of one descriptor.
func (e *engine) serve(fd int, ev netpoll.Event) {
	lc := e.conns.get(fd)
	if lc == nil || lc.closed.Load() {
		return
	}
	if ev&netpoll.Writable != 0 {
		lc.flush()
	}
	switch {
	case ev&netpoll.Readable == 0 || lc.ended:
	case !lc.paused:
		lc.readReady(e)
	case ev&netpoll.Hangup != 0:
		// Reported although the reading is paused, and again and again
		// (level-triggered): resume will read how the stream ended.
		lc.mu.Lock()
		lc.detached = true
		lc.withFd(e.p.Remove)
		lc.mu.Unlock()
	}
}

// start begins the reading of a connection takeConn took: the bytes that
// came with the handshake's response first, then the socket. The I/O
// goroutine only, as every method below.
func (lc *loopConn) start() {
	lc.l.eng.conns.set(lc.fd, lc)
	if lc.c.flags.has(flagClosed) {
		// Closed before takeConn set c.lc: closeSocket may have missed it.
		lc.end(lc.c.closedCause())
		return
	}
	lc.feedHeld()
	lc.feedTLS(nil) // what crypto/tls read past the handshake
}

// hold keeps b, bytes read and not fed, for feedHeld; none when b is
// empty.
func (lc *loopConn) hold(b []byte) {
	if len(b) == 0 {
		lc.held = nil
		return
	}
	lc.held = &b
}

// feedHeld feeds the bytes held back; those a full queue leaves are kept.
func (lc *loopConn) feedHeld() {
	var held []byte
	if lc.held != nil {
		held, lc.held = *lc.held, nil
	}
	lc.hold(lc.feed(held))
}

// readReady reads what the socket has into the engine's buffer and feeds
// it to the connection's decoder; what a full queue leaves unfed is kept.
func (lc *loopConn) readReady(e *engine) {
	n, err := lc.rawRead(e)
	switch {
	case err == errWouldBlock:
	case err != nil:
		lc.end(lc.c.ioError("read", err))
	case n == 0:
		lc.end(lc.c.ioError("read", io.EOF))
	case lc.tls != nil:
		lc.feedTLS(e.buf[:n])
	default:
		if rest := lc.feed(e.buf[:n]); len(rest) > 0 {
			lc.hold(append([]byte(nil), rest...)) // the buffer is the next read's
		}
	}
}

// rawRead reads once from the socket into the engine's buffer without
// waiting: errWouldBlock when it has nothing.
func (lc *loopConn) rawRead(e *engine) (int, error) {
	e.rbuf = e.buf
	if err := lc.rc.Read(e.rfn); err != nil {
		return 0, err
	}
	e.rbuf = nil
	return e.rn, lc.sysError("read", e.rerr)
}

// feed pushes bytes from the socket through the decoder and the message
// reader, queueing each whole message, fragment (FireContFrame) and
// control frame for the session as it completes. What a read cut short —
// part of a header, of a control frame, of a message — stays in the
// decoder, the message reader and lc.msg for the next read. When the
// queue fills up, feed stops and returns the bytes it did not take.
func (lc *loopConn) feed(p []byte) (rest []byte) {
	c := lc.c
	defer c.msgReader.publishIn()
	d, m := &c.fr.dec, &c.msgReader
	for len(p) > 0 && !lc.ended && !lc.paused && !lc.closed.Load() {
		n, ev, piece, err := d.feed(p)
		p = p[n:]
		if err != nil {
			lc.end(c.fail(StatusProtocolError, err))
			return nil
		}
		if ev == evNone {
			continue
		}
		re, code, err := m.step(d, ev, piece, c.ext != nil)
		if err != nil {
			lc.end(c.fail(code, err))
			return nil
		}
		switch {
		case ev == evHeader:
			if c.ext != nil && (d.h.opcode == OpText || d.h.opcode == OpBinary) {
				c.ext.startMessage()
			}
		case ev == evPayload && (m.inData || re == readFrameEnd || re == readMsgEnd):
			if c.msgZ {
				c.ext.in = lc.appendPayload(c.ext.in, piece)
			} else {
				lc.msg = lc.appendPayload(lc.msg, piece)
			}
		}
		switch re {
		case readControl:
			lc.control()
		case readFrameEnd:
			if c.msgZ {
				if err := c.inflatePart(&lc.msg); err != nil {
					lc.end(err)
					return nil
				}
			}
			if c.fireCont {
				lc.data(m.frameHdr.opcode, false)
			}
		case readMsgEnd:
			lc.messageEnd()
		}
	}
	lc.l.eng.flush()
	if lc.paused && !lc.ended {
		return p
	}
	return nil
}

// appendPayload appends piece, a part of the current frame's payload, to b,
// the message's. When b has no room for it, b grows as a message read by
// a goroutine does (Conn.growth): by what has arrived of the frame, or by
// doubling from 32 KiB if that is more, never by a length the peer merely
// declared, and never past the read limit. append's growth would copy a
// 1 MiB message about ten times over.
func (lc *loopConn) appendPayload(b, piece []byte) []byte {
	if len(piece) <= cap(b)-len(b) {
		return append(b, piece...)
	}
	c := lc.c
	room := len(piece) + c.growth(len(b)+len(piece), c.frameHdr.fin)
	return append(grow(b, room), piece...)
}

// messageEnd queues the message (or, with FireContFrame, the last
// fragment) the last step ended.
func (lc *loopConn) messageEnd() {
	c, m := lc.c, &lc.c.msgReader
	if !c.msgZ {
		op := m.doneOp
		if c.fireCont {
			op = m.frameHdr.opcode // the first fragment's opcode, then OpContinuation
		}
		lc.data(op, true)
		return
	}
	c.msgZ = false
	op, data, err := c.inflate(lc.msg, m.doneOp) // lc.msg: the parts inflated on arrival
	if err != nil {
		lc.end(err)
		return
	}
	if c.fireCont {
		op = m.frameHdr.opcode
	}
	lc.msg = data
	lc.data(op, true)
}

// data queues the data in lc.msg as a frame (fin false: a fragment) and
// lets the buffer go with it.
func (lc *loopConn) data(op Opcode, fin bool) {
	data := lc.msg
	lc.msg = nil
	if data == nil && lc.c.fireCont {
		data = []byte{}
	}
	lc.push(recvItem{op: op, fin: fin, data: data})
}

// control acts on a whole control frame as the receiving methods do
// (read.go's advance) and queues it: a ping is answered at once, the close
// frame is echoed and ends the connection.
func (lc *loopConn) control() {
	c, m := lc.c, &lc.c.msgReader
	p, op := m.control(), m.ctrlOp
	var end error
	switch op {
	case OpPing:
		lc.answerPing(p)
	case OpClose:
		code, reason, err := parseClosePayload(p)
		if err != nil {
			lc.end(c.fail(StatusProtocolError, err))
			return
		}
		lc.answerDuePing() // the latest ping's pong goes before the echo, not never
		end = c.answerPeerClose(code, reason)
	}
	lc.push(recvItem{op: op, fin: true, data: append([]byte(nil), p...)})
	if end != nil && !lc.endWhenSent(end) {
		lc.end(end)
	}
}

// loopPongBacklog is how many bytes may wait for the socket before a ping
// is no longer answered at once: then only the latest one is, when the
// queue has drained (flush), as a Conn with a reader answers (answerPing;
// RFC 6455 §5.5.3 allows it). A peer that sends pings and reads nothing
// cannot make the queue grow, nor fail the connection by filling it.
const loopPongBacklog = 64 << 10

// answerPing answers a ping with payload p, or notes it as the latest
// unanswered one when the queue is backed up. The I/O goroutine only.
func (lc *loopConn) answerPing(p []byte) {
	c := lc.c
	lc.mu.Lock()
	backlog := lc.queued() > loopPongBacklog
	lc.mu.Unlock()
	if !backlog {
		if w := c.writeWaits(); w != nil {
			// A pong still due for an older ping would go out after
			// this one: this ping is the latest, and only it is answered.
			c.writeMu.Lock()
			w.pongDue = false
			c.writeMu.Unlock()
		}
		c.writeFrame(OpPong, true, false, p, 0) // never blocks here
		return
	}
	c.writeMu.Lock()
	w := c.writeWaitsMade()
	w.pong, w.pongDue = append(w.pong[:0], p...), true
	c.writeMu.Unlock()
}

// answerDuePing sends the pong of the latest ping that came while the
// queue was backed up, once it has drained. The I/O goroutine only.
func (lc *loopConn) answerDuePing() {
	c := lc.c
	w := c.writeWaits()
	if w == nil {
		return
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if !w.pongDue || c.writeBlocked() {
		return
	}
	w.pongDue = false
	c.writeLocked(header{fin: true, opcode: OpPong, masked: true}, w.pong, nil, 0)
}

// push queues a frame, or the end of the connection (err set), for the
// session, posting its consumer when the queue was idle. A full queue
// pauses the reading: the poller stops watching the socket for
// readability until a pop takes the queue down to its low water mark.
func (lc *loopConn) push(it recvItem) {
	e := lc.l.eng
	if e.batchConn != lc {
		e.flush()
		e.batchConn = lc
	}
	e.batch = append(e.batch, it)
	e.batchSize += it.size()
	if it.last() || len(e.batch) == maxBatch || lc.q.mayFill(len(e.batch), e.batchSize) {
		e.flush()
	}
}

// maxBatch bounds the frames a read queues under one lock of the queue.
const maxBatch = 64

// flush queues the frames the batch holds for their connection, posting
// its consumer when the queue was idle; a full queue pauses the reading.
func (e *engine) flush() {
	lc := e.batchConn
	if len(e.batch) == 0 {
		return
	}
	wake, full := lc.q.pushMany(e.batch)
	clear(e.batch) // the queue has the payloads now
	e.batch, e.batchSize = e.batch[:0], 0
	if wake && lc.l.postQuiet(lc.deliver) {
		// The loop is woken once the descriptors of this poll are
		// served (wakeLoop), not for each: a wake-up is a hand-off
		// between threads, dearer than a few frames.
		e.woken = lc.l
	}
	if full && !lc.paused {
		lc.mu.Lock()
		lc.paused = true
		lc.watch()
		lc.mu.Unlock()
	}
}

// wakeLoop wakes the loop that flush posted to.
func (e *engine) wakeLoop() {
	if l := e.woken; l != nil {
		e.woken = nil
		l.signal()
	}
}

// resumeReading implements the queue's waker: a pop on the dispatcher's
// goroutine took the queue down to its low water mark.
func (lc *loopConn) resumeReading() { lc.l.eng.post(lc.resume) }

// resume reads on after a pause: the bytes held back, then, unless the
// queue filled up again, the socket, which the poller watches again.
func (lc *loopConn) resume() {
	if lc.ended || !lc.paused || lc.l.eng.drains.has(lc) {
		return // a connection whose end waits for its queue reads no more
	}
	lc.mu.Lock()
	lc.paused = false
	lc.mu.Unlock()
	if lc.feedHeld(); lc.ended || lc.paused {
		return
	}
	if lc.tls != nil {
		// The ciphertext crypto/tls had not taken when the reading
		// paused, and the records it holds.
		if lc.feedTLS(lc.tls.held); lc.ended || lc.paused {
			return
		}
	}
	lc.mu.Lock()
	var err error
	if lc.detached {
		if err = lc.withFd(lc.l.eng.p.Add); err == nil {
			lc.detached = false
		}
	}
	if err == nil {
		err = lc.watch()
	}
	lc.mu.Unlock()
	if err != nil {
		lc.end(lc.c.ioError("read", err))
	}
}

// end ends the connection with err, which the session gets as the end of
// the stream: the socket is closed, the loop forgets it.
func (lc *loopConn) end(err error) {
	if lc.ended {
		return
	}
	lc.ended = true
	c := lc.c
	if w, ok := lc.l.eng.drains.take(lc); ok { // ended before its queue went out
		w.report(nil) // as off the loop, where a close whose frame met the end returns nil
	}
	lc.unwatch()
	if e := lc.l.eng; e.conns.get(lc.fd) == lc {
		e.conns.set(lc.fd, nil)
	}
	c.closeSocket()
	lc.mu.Lock()
	lc.release()
	if lc.werr == nil {
		lc.werr = net.ErrClosed
	}
	lc.l.eng.rooms.wake(lc)
	lc.mu.Unlock()
	lc.msg, lc.held = nil, nil
	// The counts go out while readMu is held: once it is not, Stats
	// reads them, and feed's deferred publish finds nothing to write.
	c.msgReader.publishIn()
	c.unlockRead()
	lc.push(recvItem{err: err})
}

// endClosed ends the connection once its socket was closed.
func (lc *loopConn) endClosed() { lc.end(lc.c.closedCause()) }
