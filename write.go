package websocket

import (
	crand "crypto/rand"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsclient/websocket/internal/mask"
	utf8v "github.com/wsclient/websocket/internal/utf8"
)

// Send sends payload as one message with opcode op (OpText payloads must be
// valid UTF-8). A control opcode sends a single control frame. Python's send.
//
// Send returns once the frame is written, or queued behind a write in
// progress (see "Sending and write coalescing" in the package
// documentation, and Flush); payload may be reused as soon as it returns.
func (c *Conn) Send(payload []byte, op Opcode) error {
	if err := checkSend(payload, op); err != nil {
		return err
	}
	return c.sendChecked(payload, op)
}

// checkSend returns Send's error for a payload or opcode it cannot send.
func checkSend(payload []byte, op Opcode) error {
	switch {
	case !op.Valid():
		// Not reserved opcodes, nor bits above the 4 the frame has
		// (0x19 would go out as a ping).
		return &ProtocolError{Reason: "cannot send a message with " + op.String()}
	case op == OpClose:
		if err := checkControl(true, int64(len(payload)), op); err != nil {
			return err
		}
		_, _, err := parseClosePayload(payload) // empty, or a code that may be sent and a UTF-8 reason
		return err
	case op.IsControl():
		return checkControl(true, int64(len(payload)), op)
	case op == OpText:
		if !utf8v.Valid(payload) {
			return &PayloadError{Reason: "text message is not valid UTF-8"}
		}
	case op != OpBinary:
		return &ProtocolError{Reason: "cannot send a message with " + op.String()}
	}
	return nil
}

// sendChecked is Send once checkSend has passed.
func (c *Conn) sendChecked(payload []byte, op Opcode) error {
	if op.IsControl() {
		return c.writeFrame(op, true, false, payload, 0)
	}
	if err := c.waitSendRoom(); err != nil {
		return err
	}
	if err := c.lockMsg(); err != nil {
		return err
	}
	if c.ext != nil {
		defer c.unlockMsg() // c.ext.out and the compressor are the message's until sent
		// A burst is timed from the send's start: compressing takes
		// longer than burstWindow, and back-to-back compressed sends
		// should queue, so that the socket write of one runs beside the
		// compression of the next.
		began := monoNow()
		out, compressed, err := c.deflateMessage(payload)
		if err != nil {
			return err
		}
		err = c.writeFrame(op, true, compressed, out, began)
		if err != nil && compressed {
			c.stats.undeflated(len(payload), len(out)) // not sent: as its data counts
		}
		return err
	}
	// Hand over hand: writeLocked lets msgMu go as soon as the frame's
	// place on the wire is fixed, so the next message queues behind this
	// one's write instead of waiting for it.
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.writeLocked(header{fin: true, opcode: op, masked: true}, payload, &c.msgMu, 0)
}

// SendText sends text as a text message. Python's send_text.
func (c *Conn) SendText(text string) error {
	return c.Send(stringBytes(text), OpText)
}

// SendBinary sends data as a binary message. Python's send_bytes and send_binary.
func (c *Conn) SendBinary(data []byte) error { return c.Send(data, OpBinary) }

// SendFrame sends f as it is, masking its payload with a fresh key when
// f.Masked (f.MaskKey is not used) and unmasked otherwise. It checks only
// the opcode (one RFC 6455 defines, as AppendTo) and what the wire cannot
// carry (control frames longer than 125 bytes or fragmented), returning a
// *ProtocolError; the caller owns fragmentation and reserved bits. Data frames
// wait for a NextWriter's message to finish, but nothing waits for a
// message whose fragments are sent with SendFrame: another goroutine's
// message may come between them, which the peer fails as a protocol error.
// Send them from one goroutine that sends nothing else meanwhile, or use
// NextWriter. Python's send_frame.
func (c *Conn) SendFrame(f *Frame) error {
	if !f.Opcode.Valid() {
		return &ProtocolError{Reason: "cannot encode " + f.Opcode.String()}
	}
	if f.Opcode.IsControl() {
		if err := checkControl(f.Fin, int64(len(f.Payload)), f.Opcode); err != nil {
			return err
		}
	}
	h := header{fin: f.Fin, rsv1: f.Rsv1, rsv2: f.Rsv2, rsv3: f.Rsv3, opcode: f.Opcode, masked: f.Masked}
	var msg *sync.Mutex
	if !f.Opcode.IsControl() {
		if err := c.waitSendRoom(); err != nil {
			return err
		}
		if err := c.lockMsg(); err != nil { // wait for a NextWriter's message to finish
			return err
		}
		msg = &c.msgMu
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.writeLocked(h, f.Payload, msg, 0)
}

// Ping sends a ping with payload (at most 125 bytes).
func (c *Conn) Ping(payload []byte) error { return c.Send(payload, OpPing) }

// Pong sends an unsolicited pong with payload (at most 125 bytes); pings are
// answered automatically while receiving.
func (c *Conn) Pong(payload []byte) error { return c.Send(payload, OpPong) }

// writeFrame sends one frame; the caller holds msgMu for data frames.
// began is as for writeLocked.
func (c *Conn) writeFrame(op Opcode, fin, rsv1 bool, payload []byte, began int64) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.writeLocked(header{fin: fin, rsv1: rsv1, opcode: op, masked: true}, payload, nil, began)
}

// answerPing sends the pong that answers a ping the reader received
// without making the reader wait for the socket, so a peer that sends pings
// and reads nothing cannot hold a receive past its read deadline: the pong
// is queued for the flusher. When the queue is full, only the latest ping
// is answered, once the queue has room again (RFC 6455 §5.5.3 lets an
// endpoint answer only the most recent of the pings it has not answered),
// so the memory a flood takes stays bounded. A pong that cannot be sent is
// not a read error; the write side reports it.
func (c *Conn) answerPing(p []byte) {
	if c.lc.Load() != nil {
		c.writeFrame(OpPong, true, false, p, 0) // the loop's writes never block
		return
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.writeBlocked() {
		return
	}
	if c.wq != nil && cap(*c.wq)-len(*c.wq) < len(p)+maxHeaderLen {
		w := c.writeWaitsMade()
		w.pong, w.pongDue = append(w.pong[:0], p...), true
		return
	}
	c.queuePong(p)
}

// queuePong queues a pong with payload p; writeMu is held and the queue
// has room for it.
func (c *Conn) queuePong(p []byte) {
	h := header{fin: true, opcode: OpPong, masked: true, key: c.maskKey(), length: int64(len(p))}
	c.frameSent(OpPong, true, p)
	c.enqueue(h, p, len(p)+maxHeaderLen)
}

// writable says why no frame can be written, if so; writeMu is held. Its
// caller is a sender: a queued batch's timeout that no caller got yet is
// its error (takeWriteError).
func (c *Conn) writable() error {
	if err := c.takeWriteError(); err != nil {
		return err
	}
	if c.closeSent {
		return &closedError{err: errCloseSent}
	}
	if c.flags.has(flagClosed) {
		return c.closedCause() // refused before it is counted as sent
	}
	return nil
}

var errCloseSent = errors.New("close frame already sent")

// Write coalescing
//
// A lone frame is written at once by the goroutine sending it, so it gets
// no added latency and its write error is that call's. Frames sent while a
// write is in progress, or right on the heels of the last one (a burst from
// one goroutine, within burstWindow), are appended to a queue instead and
// the call returns; one flusher goroutine, started when the queue fills
// from empty and gone when it drains, writes everything queued with one
// system call. On loopback a small message costs about one write(2), so a
// burst of N queued frames costs one instead of N.
//
//	sender ──encode+mask──▶ queue (pooled, ≤ 256 KiB) ──one write──▶ socket
//	                          ▲ backpressure: a full queue waits for the flusher
//
// Only the goroutine that set writing writes to the socket, so frames never
// interleave. A queued frame's write error closes the Conn and is returned
// by the next send or Flush; Flush waits for the queue to drain. A
// close frame waits for the queue and is written synchronously, so it
// always follows the data sent before it and is on the wire before the
// socket closes.

// burstWindow: a frame sent within this long of the previous write's end is
// part of a burst and queued. An echo round trip on loopback takes several
// times longer, so request/response traffic stays on the direct path.
const burstWindow = int64(2 * time.Microsecond)

// queueBufSize is the queue's usual buffer; a frame up to the largest write
// buffer may be queued (it then gets a buffer of its own size).
const queueBufSize = 64 << 10

// writeLocked sends one frame: queued behind a write in progress or during
// a burst, written directly otherwise. It masks while copying, so the
// caller's payload is never touched. writeMu is held (and released while
// waiting, and while a direct write is in the system call). When msg is not
// nil the caller holds it to keep messages whole; writeLocked unlocks it as
// soon as the frame's place on the wire is fixed (queued, or about to be
// written with writing set), so that the next message can queue behind it.
// began is when the send began (monoNow) for the burst test, 0 for now.
func (c *Conn) writeLocked(h header, payload []byte, msg *sync.Mutex, began int64) error {
	if err := c.writable(); err != nil {
		c.unlockMsgMu(msg)
		return err
	}
	if h.opcode == OpClose {
		// Claim the close now: later frames are refused even while this
		// one waits for the queue.
		c.closeSent = true
	}
	if h.masked {
		h.key = c.maskKey()
	}
	h.length = int64(len(payload))
	c.frameSent(h.opcode, h.fin, payload)
	// Compared before the header is added: a payload near MaxInt would
	// wrap the sum (32-bit platforms).
	if h.opcode != OpClose && len(payload) <= maxQueuedFrame-maxHeaderLen && (c.writing || c.inBurst(began)) {
		err := c.enqueue(h, payload, len(payload)+maxHeaderLen)
		c.unlockMsgMu(msg)
		return err
	}
	if c.writing {
		c.boundWait()
		for c.writing {
			c.writeCond().Wait()
		}
	}
	if err := c.takeWriteError(); err != nil {
		c.unlockMsgMu(msg)
		return err
	}
	if h.opcode != OpClose && c.closeSent { // a close went out while we waited
		c.unlockMsgMu(msg)
		return c.writable()
	}
	c.writing = true
	c.unlockMsgMu(msg)
	return c.writeDirect(h, payload)
}

// inBurst reports whether a frame whose send began at began (0: now) is
// part of a burst: within burstWindow of the last socket write's end.
// writeMu is held.
func (c *Conn) inBurst(began int64) bool {
	if c.lastWrite == 0 {
		return false
	}
	if began == 0 {
		began = monoNow()
	}
	return began-c.lastWrite < burstWindow
}

// unlockMsgMu lets msg, msgMu or nil, go.
func (c *Conn) unlockMsgMu(msg *sync.Mutex) {
	if msg != nil {
		msg.Unlock()
		c.wakeMsgWaiters(false)
	}
}

// maxQueuedFrame is the largest frame (header included) that is queued
// rather than written directly.
var maxQueuedFrame = writeBufPools[len(writeBufPools)-1].size

// enqueue appends the encoded frame (n bytes at most) to the write queue,
// starting a flusher if none is running; writeMu is held.
func (c *Conn) enqueue(h header, payload []byte, n int) error {
	if c.wq != nil && cap(*c.wq)-len(*c.wq) < n {
		c.boundWait()
	}
	for c.wq != nil && cap(*c.wq)-len(*c.wq) < n {
		c.writeCond().Wait() // backpressure: the flusher takes the full queue
		if err := c.writable(); err != nil {
			return err
		}
	}
	if c.wq == nil {
		c.wq = getWriteBuf(max(n, queueBufSize))
	}
	b := h.appendTo(*c.wq)
	start := len(b)
	b = b[:start+len(payload)]
	if h.masked {
		mask.Copy(b[start:], payload, h.key, 0)
	} else {
		copy(b[start:], payload)
	}
	*c.wq = b
	if !c.writing {
		c.writing = true
		c.startFlusher()
	}
	if traceFrames() {
		traceFrame("send", &h, tracedPart(payload))
	}
	return nil
}

// startFlusher starts flushQueue on its own goroutine; writeMu is held.
// The method value is made once per Conn: `go c.flushQueue()` would
// allocate a closure at every start, and a burst can start many.
func (c *Conn) startFlusher() {
	r := c.rareState()
	if r.flushFn == nil {
		r.flushFn = c.flushQueue
	}
	go r.flushFn()
}

// flushQueue writes the queue until it is empty; it runs on its own
// goroutine with writing set, and ends when the queue drains or a write
// fails.
func (c *Conn) flushQueue() {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	for c.wq != nil && c.writeError() == nil {
		bp := c.wq
		c.wq = nil
		w := c.writeWaits() // counting batches for Flush, once one has waited
		if w != nil {
			w.batchesTaken++
			if w.pongDue { // the latest ping, unanswered while the queue was full
				w.pongDue = false
				c.queuePong(w.pong)
			}
		}
		c.wakeWriters() // senders waiting for room start a new queue
		pm, pb := c.publishOut()
		c.writeMu.Unlock()
		err := c.socketWrite(*bp, true)
		putWriteBuf(bp)
		c.writeMu.Lock()
		c.lastWrite = monoNow()
		if err != nil {
			c.unpublishOut(pm, pb)
			if werr := c.writeFailed(err); isTimeout(werr) {
				// No caller got it: the next send or Flush does
				// (takeWriteError).
				c.rareState().writeErr = werr
			}
		}
		if w != nil {
			w.batchesDone++
			if w.flushWaiting > 0 {
				c.wakeWriters()
			}
		}
	}
	if c.wq != nil { // a write failed: what is left can never be sent
		putWriteBuf(c.wq)
		c.wq = nil
	}
	c.writing = false
	c.wakeWriters()
}

// writeDirect encodes and writes one frame on the calling goroutine, with a
// single write when it fits the buffer. writeMu is held and writing is set;
// the lock is released during the system calls so that other senders can
// queue, and anything they queued is handed to a flusher at the end.
func (c *Conn) writeDirect(h header, payload []byte) error {
	whole := payload
	bp := getWriteBuf(min(len(payload), maxQueuedFrame) + maxHeaderLen) // the sum stays far from MaxInt
	b := h.appendTo((*bp)[:0])
	pos := 0
	var err error
	var pm, pb uint64 // the counts published for this frame
	for first := true; ; first = false {
		k := min(len(payload), cap(b)-len(b))
		start := len(b)
		b = b[:start+k]
		if h.masked {
			pos = mask.Copy(b[start:], payload[:k], h.key, pos) // one pass: copy and mask
		} else {
			copy(b[start:], payload[:k])
		}
		payload = payload[k:]
		m, n := c.publishOut()
		pm, pb = pm+m, pb+n
		c.writeMu.Unlock()
		err = c.socketWrite(b, first && h.opcode != OpClose)
		c.writeMu.Lock()
		if err != nil || len(payload) == 0 {
			break
		}
		b = b[:0]
	}
	putWriteBuf(bp)
	c.lastWrite = monoNow()
	if err != nil {
		c.unpublishOut(pm, pb)
		c.stats.controlUnsent(h.opcode)
		err = c.writeFailed(err)
	}
	if h.opcode == OpClose {
		if err == nil {
			c.flags.set(flagCloseWritten)
		} // else writeFailed closed the Conn (flagClosed)
		defer c.wakeWriters() // also when the flusher takes over below
	}
	if traceFrames() {
		traceFrame("send", &h, tracedPart(whole))
	}
	if c.wq != nil && err == nil {
		c.startFlusher() // writing stays set: the flusher owns the socket now
		return nil
	}
	if c.wq != nil {
		putWriteBuf(c.wq)
		c.wq = nil
	}
	c.writing = false
	c.wakeWriters()
	return err
}

// testHookCloseTimedWrite, set by tests only, runs in a write of a close
// bounded by its own timer, after the write deadline is cleared.
var testHookCloseTimedWrite atomic.Pointer[func()]

// socketWrite writes b, with the per-operation timeout when one is set.
// Once a close bounded by its own timer has begun (flagCloseTimed), the
// caller's deadlines and timeout no longer apply: a deadline set to cancel
// a call must not stop the close frame. bounded: b begins a frame other
// than the close frame, or a batch of the write queue: on an event loop,
// only such a write is held to the loop's bound.
func (c *Conn) socketWrite(b []byte, bounded bool) error {
	if lc := c.lc.Load(); lc != nil {
		return lc.write(b, bounded) // never blocks: what the socket does not take is queued
	}
	if c.flags.has(flagCloseTimed) {
		for c.flags.has(flagSettingDeadline) {
			runtime.Gosched() // a setter that began before the close: its deadline is cleared next
		}
		c.netConn.SetWriteDeadline(time.Time{})
		if hook := testHookCloseTimedWrite.Load(); hook != nil {
			(*hook)()
		}
	} else if d := c.Timeout(); d > 0 {
		if !c.flags.has(flagTimeoutWrite) {
			c.flags.set(flagTimeoutWrite)
		}
		c.netConn.SetWriteDeadline(time.Now().Add(d))
	}
	return writeStream(c.netConn, b)
}

// writeFailed records a failed write and returns the error for the
// caller whose write it was; writeMu is held. RFC 6455 has no way to resume
// a half-written frame: a failed or timed-out write closes the connection.
// A timeout is reported as one to that caller only (or, a queued batch's,
// to the next send or Flush: takeWriteError); every later send and Flush is
// told that the connection is closed, with the timeout's message but not
// matching it, so that a caller retrying after timeouts stops.
func (c *Conn) writeFailed(err error) error {
	werr := c.ioError("write", err)
	if r := c.rareState(); r.writeErr == nil {
		c.stats.failed(werr)
		r.writeErr = afterWriteError(werr)
	}
	c.closeSocket()
	return werr
}

// writeError returns the error that ended writing, nil while frames can
// be written; writeMu is held.
func (c *Conn) writeError() error {
	if r := c.rare.Load(); r != nil {
		return r.writeErr
	}
	return nil
}

// Write buffers are pooled so an idle connection holds none; three sizes
// keep a 16-byte message from taking a 256 KiB buffer.
var writeBufPools = [...]struct {
	size int
	pool sync.Pool
}{{size: 4 << 10}, {size: 64 << 10}, {size: 256 << 10}}

func getWriteBuf(n int) *[]byte {
	i := 0
	for i < len(writeBufPools)-1 && writeBufPools[i].size < n {
		i++
	}
	p := &writeBufPools[i]
	if b, ok := p.pool.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, p.size)
	return &b
}

func putWriteBuf(b *[]byte) {
	for i := range writeBufPools {
		if writeBufPools[i].size == cap(*b) {
			*b = (*b)[:0]
			writeBufPools[i].pool.Put(b)
			return
		}
	}
}

// userMaskKey returns f's key. A panic in f fails the connection, with the
// panic as the cause its operations and an App's OnError report, instead
// of the program: f runs on whichever goroutine writes a frame (a reader
// answering a ping, the event loop, an App's keep-alive). The frame gets a
// zero key and goes nowhere: the socket is closed. writeMu is held.
func (c *Conn) userMaskKey(f func() [4]byte) (key [4]byte) {
	defer func() {
		if r := recover(); r != nil {
			err := panicError("MaskKeyFunc", r)
			if rs := c.rareState(); rs.writeErr == nil {
				c.stats.failed(err)
				rs.writeErr = &closedError{err: err}
			}
			c.closeSocket()
		}
	}()
	return f()
}

// maskKey returns the key for the next frame; writeMu is held.
func (c *Conn) maskKey() [4]byte {
	if r := c.rare.Load(); r != nil && r.maskKeyFunc != nil {
		return c.userMaskKey(r.maskKeyFunc)
	}
	// RFC 6455 §10.3: keys must not be predictable from earlier frames. A
	// connection takes them maskKeyBatch at a time from one of the shared
	// generators (maskRands), so it holds 32 bytes of keys, made at its
	// first frame, instead of a generator of its own.
	if c.maskKeys == nil {
		c.maskKeys, c.maskN = new([maskKeyBatch][4]byte), maskKeyBatch
	}
	if c.maskN == maskKeyBatch {
		g := maskRands.Get().(*rand.ChaCha8)
		for i := 0; i < maskKeyBatch; i += 2 {
			u := g.Uint64()
			c.maskKeys[i] = [4]byte{byte(u), byte(u >> 8), byte(u >> 16), byte(u >> 24)}
			c.maskKeys[i+1] = [4]byte{byte(u >> 32), byte(u >> 40), byte(u >> 48), byte(u >> 56)}
		}
		maskRands.Put(g)
		c.maskN = 0
	}
	k := c.maskKeys[c.maskN]
	c.maskN++
	return k
}

// maskKeyBatch is how many mask keys a connection takes at once.
const maskKeyBatch = 8

// maskRands are ChaCha8 streams, each seeded from crypto/rand, shared by the
// connections for their mask keys: a stream is used by one connection at a
// time, and what one connection sees of it tells nothing about the keys it
// gives any other (ChaCha8 is a cryptographic generator).
var maskRands = sync.Pool{New: func() any {
	var seed [32]byte
	crand.Read(seed[:])
	return rand.NewChaCha8(seed)
}}
