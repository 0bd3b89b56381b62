package websocket

// The event loop's engine: an EventLoop on Linux (epoll), macOS and the
// BSDs (kqueue) takes over the socket of each ws and wss connection it
// opens (wss: conn_loop_tls.go), so an open connection costs no goroutine:
//
//	dial + handshake (on a goroutine of Go, off the loop)
//	  ─▶ Session.dialed (on the loop) ─▶ EventLoop.takeConn
//	socket readable ─▶ one read into the loop's shared buffer
//	  ─▶ decoder.feed (framecodec.go) ─▶ msgReader.step (msgreader.go)
//	  ─▶ Session.frame, on the loop, one frame at a time
//	send (any goroutine) ─▶ write.go's coalescing ─▶ loopConn.write:
//	  a non-blocking write; the rest is queued and written when the
//	  socket turns writable
//
// The descriptor is read and written through the *net.TCPConn's
// syscall.RawConn rather than a dup of it (os.File) with the original
// closed. The net.Conn stays what the rest of the library and the user see
// (NetConn, addresses, Close, socket options), and the RawConn holds a
// reference on the descriptor during each read and write, so a Close from
// another goroutine can never make the loop touch a reused descriptor
// number. The price is the runtime poller's registration, which Go keeps:
// about 250 bytes outside the garbage-collected heap, reused from a cache,
// and one extra edge-triggered wake-up of Go's own poller per burst of
// data. A dup would save those and lose the safety and the net.Conn; the
// per-connection figure is measured in TestEventLoopEngineManyApps.
//
// Writes never block the loop, so automatic pings, pong replies, close
// frames and the aborts of failed or timed-out connections run on the loop
// itself (Session.goConn) instead of on a goroutine each.

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/wsclient/websocket/internal/netpoll"
)

// connTaker is what a Dispatcher implements to take over the socket of an
// App's connection instead of a goroutine reading it (Session.readLoop).
type connTaker interface {
	// takeConn is called on the dispatcher's goroutine right after the
	// open, before OnOpen; false leaves the connection to a read loop.
	// Nothing of the connection may be delivered before OnOpen has run.
	takeConn(s *Session, c *Conn) bool
}

// goConn runs f, an operation on c that may block on its socket, off the
// dispatcher's goroutine; on an event loop that owns c's socket, whose
// writes never block, it runs inline.
func (s *Session) goConn(c *Conn, f func()) {
	if c.lc.Load() != nil {
		f()
		return
	}
	s.d.Go(f)
}

// maxLoopQueue bounds the bytes queued for a peer that does not read:
// a send that finds more than this waiting fails, and the connection
// with it, as a write that times out does. One message of any size is
// queued when less is waiting.
const maxLoopQueue = 16 << 20

var errLoopQueueFull = errors.New("more than 16 MiB queued for a peer that does not read")

// loopReadBufferSize is the read buffer an engine shares between its
// connections: one read takes at most this much from one socket before the
// loop serves the next.
const loopReadBufferSize = 64 << 10

// engine is the poller side of an EventLoop, made when the loop takes over
// its first connection. Its fields belong to the loop's goroutine.
type engine struct {
	p     *netpoll.Poller
	conns map[int]*loopConn
	buf   []byte // the shared read buffer
	ready func(fd int, ev netpoll.Event)
}

// loopConn is a connection whose socket its event loop owns.
type loopConn struct {
	l  *EventLoop
	s  *Session
	c  *Conn
	rc syscall.RawConn
	fd int
	// tls is the TLS stream of a wss connection (conn_loop_tls.go): the
	// loop reads its records from the socket and crypto/tls opens them.
	tls *loopTLS

	// The loop's goroutine only.
	msg   []byte // the data of a message (or fragment) cut at the end of a read
	ended bool
	rbuf  []byte // the read in progress (rawRead)
	rn    int
	rerr  error
	rfn   func(fd uintptr) bool // lc.readFd, made once

	closed atomic.Bool // the socket is closing: the poller no longer watches it

	// Writing, guarded by mu.
	mu        sync.Mutex
	pending   *[]byte // bytes the socket did not take yet, from off
	off       int
	wantWrite bool // the poller watches for writability
	werr      error
	wbuf      []byte // the write in progress (rawWrite)
	wn        int
	wres      error
	wfn       func(fd uintptr) bool // lc.writeFd, made once
}

// takeConn implements connTaker: a ws or wss connection on a TCP or Unix
// socket is read by the loop's poller from now on. A platform without a
// poller, TLS over another stream (an https proxy's), an HTTP/2 stream or a
// stream of the user's stays with a read loop.
func (l *EventLoop) takeConn(s *Session, c *Conn) bool {
	var sc syscall.Conn
	var tc *tls.Conn
	switch nc := c.netConn.(type) {
	case *net.TCPConn:
		sc = nc
	case *net.UnixConn:
		sc = nc
	case *tls.Conn:
		if sc = loopTLSSocket(nc); sc == nil {
			return false
		}
		tc = nc
	default:
		return false
	}
	e := l.engine()
	if e == nil {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	fd := -1
	if rc.Control(func(f uintptr) { fd = int(f) }) != nil || fd < 0 {
		return false
	}
	leftover, err := c.takeBuffered()
	if err != nil {
		return false
	}
	lc := &loopConn{l: l, s: s, c: c, rc: rc, fd: fd}
	lc.rfn, lc.wfn = lc.readFd, lc.writeFd
	c.readMu.Lock() // the loop is the only reader from now on
	if err := e.p.Add(fd); err != nil {
		c.readMu.Unlock()
		return false
	}
	e.conns[fd] = lc
	if tc != nil {
		lc.startTLS(tc)
	}
	c.lc.Store(lc)
	if c.closed.Load() || len(leftover) > 0 || tc != nil {
		// After OnOpen, and before the loop reads the socket: a close
		// that came before lc was set (closeSocket may have missed it),
		// or the frames the server sent right behind its 101 (with TLS,
		// crypto/tls may hold more of them).
		l.Post(func() {
			if c.closed.Load() {
				lc.end(ErrConnectionClosed)
				return
			}
			lc.feed(leftover)
			lc.feedTLS(nil)
		})
	}
	return true
}

// engine returns the loop's engine, making it at the first call; nil where
// no poller exists. The loop's goroutine only.
func (l *EventLoop) engine() *engine {
	if l.eng == nil && !l.noPoll {
		p, err := netpoll.New()
		if err != nil {
			l.noPoll = true
			return nil
		}
		e := &engine{p: p, conns: map[int]*loopConn{}, buf: make([]byte, loopReadBufferSize)}
		e.ready = e.serve
		l.eng = e
		l.poller.Store(p) // from now on, Post and AfterFunc wake the poller
	}
	return l.eng
}

// serve handles the readiness of one descriptor.
func (e *engine) serve(fd int, ev netpoll.Event) {
	lc := e.conns[fd]
	if lc == nil || lc.closed.Load() {
		return
	}
	if ev&netpoll.Writable != 0 {
		lc.flush()
	}
	if ev&netpoll.Readable != 0 && !lc.ended {
		lc.readReady(e.buf)
	}
}

// takeBuffered returns what the handshake read past the response (the
// read buffer's undecoded bytes, setLeftover) and gives the buffer back;
// it does not read the socket.
func (c *Conn) takeBuffered() ([]byte, error) {
	fr := &c.fr
	var out []byte
	if fr.buffered() > 0 {
		out = append(out, fr.peek()...)
	}
	fr.release()
	return out, nil
}

// readReady reads what the socket has into buf and feeds it to the
// connection's decoder.
func (lc *loopConn) readReady(buf []byte) {
	n, err := lc.rawRead(buf)
	switch {
	case err == errWouldBlock:
	case err != nil:
		lc.end(lc.c.ioError("read", err))
	case n == 0:
		lc.end(lc.c.ioError("read", io.EOF))
	case lc.tls != nil:
		lc.feedTLS(buf[:n])
	default:
		lc.feed(buf[:n])
	}
}

// feed pushes bytes from the socket through the decoder and the message
// reader, delivering each whole message, fragment (FireContFrame) and
// control frame to the session as it completes. What a read cut short —
// part of a header, of a control frame, of a message — stays in the
// decoder, the message reader and lc.msg for the next read.
func (lc *loopConn) feed(p []byte) {
	c := lc.c
	d, m := &c.fr.dec, &c.msgReader
	for len(p) > 0 && !lc.ended && !lc.closed.Load() {
		n, ev, piece, err := d.feed(p)
		p = p[n:]
		if err != nil {
			lc.end(c.fail(StatusProtocolError, err))
			return
		}
		if ev == evNone {
			continue
		}
		re, code, err := m.step(d, ev, piece, c.ext != nil)
		if err != nil {
			lc.end(c.fail(code, err))
			return
		}
		switch {
		case ev == evHeader:
			if c.ext != nil && (d.h.opcode == OpText || d.h.opcode == OpBinary) {
				c.ext.in = c.ext.in[:0] // a new message: its compressed bytes
			}
		case ev == evPayload && (m.inData || re == readFrameEnd || re == readMsgEnd):
			if c.msgZ {
				c.ext.in = append(c.ext.in, piece...)
			} else {
				lc.msg = append(lc.msg, piece...)
			}
		}
		switch re {
		case readControl:
			lc.control()
		case readFrameEnd:
			if c.fireCont && !c.msgZ {
				lc.deliver(m.frameHdr.opcode, false)
			}
		case readMsgEnd:
			lc.messageEnd()
		}
	}
}

// messageEnd delivers the message (or, with FireContFrame, the last
// fragment) the last step ended.
func (lc *loopConn) messageEnd() {
	c, m := lc.c, &lc.c.msgReader
	if !c.msgZ {
		op := m.doneOp
		if c.fireCont {
			op = m.frameHdr.opcode // the first fragment's opcode, then OpContinuation
		}
		lc.deliver(op, true)
		return
	}
	c.msgZ = false
	op, data, err := c.inflate(nil, m.doneOp)
	if err != nil {
		lc.end(err)
		return
	}
	lc.msg = data
	lc.deliver(op, true)
}

// deliver hands the data in lc.msg to the session as a frame (fin false: a
// fragment) and lets the buffer go with it.
func (lc *loopConn) deliver(op Opcode, fin bool) {
	data := lc.msg
	lc.msg = nil
	if data == nil && lc.c.fireCont {
		data = []byte{}
	}
	lc.s.frame(lc.c, op, &Frame{Fin: fin, Opcode: op, Payload: data}, nil)
}

// control acts on a whole control frame as the receiving methods do
// (read.go's advance) and delivers it: a ping is answered, the close frame
// is echoed and ends the connection.
func (lc *loopConn) control() {
	c, m := lc.c, &lc.c.msgReader
	p, op := m.control(), m.ctrlHdr.opcode
	var end error
	switch op {
	case OpPing:
		c.writeFrame(OpPong, true, false, p) // never blocks here
	case OpClose:
		code, reason, err := parseClosePayload(p)
		if err != nil {
			lc.end(c.fail(StatusProtocolError, err))
			return
		}
		end = c.peerClose(code, reason)
	}
	f := &Frame{Fin: true, Opcode: op, Payload: append([]byte(nil), p...)}
	lc.s.frame(c, op, f, nil)
	if end != nil {
		lc.end(end)
	}
}

// end ends the connection with err, which the session gets as the end of
// the stream: the socket is closed, the loop forgets it. The loop's
// goroutine only.
func (lc *loopConn) end(err error) {
	if lc.ended {
		return
	}
	lc.ended = true
	c := lc.c
	lc.unwatch()
	if e := lc.l.eng; e.conns[lc.fd] == lc {
		delete(e.conns, lc.fd)
	}
	c.closeSocket()
	lc.mu.Lock()
	lc.release()
	if lc.werr == nil {
		lc.werr = net.ErrClosed
	}
	lc.mu.Unlock()
	lc.msg = nil
	c.unlockRead()
	lc.s.frame(c, 0, nil, err)
}

// closing is called by closeSocket, from any goroutine, before the
// descriptor is closed: the poller stops watching it and the loop is told.
func (lc *loopConn) closing() {
	if lc.unwatch() {
		lc.l.Post(func() { lc.end(ErrConnectionClosed) })
	}
}

// unwatch removes the descriptor from the poller once; it reports whether
// this call did.
func (lc *loopConn) unwatch() bool {
	if !lc.closed.CompareAndSwap(false, true) {
		return false
	}
	lc.l.eng.p.Remove(lc.fd)
	return true
}

// write writes b, the Conn's bytes, without blocking: over TLS as
// records, which crypto/tls writes with writeSocket. Called by socketWrite
// with writing set (one writer at a time), from any goroutine.
func (lc *loopConn) write(b []byte) error {
	if lc.tls != nil {
		return writeStream(lc.tls.tc, b)
	}
	return lc.writeSocket(b)
}

// writeSocket writes b without blocking; what the socket does not take is
// queued, in order, for the loop to write when it turns writable. One
// writer at a time: write's caller, or a tlsSocket under its write lock.
func (lc *loopConn) writeSocket(b []byte) error {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.werr != nil {
		return lc.werr
	}
	queued := lc.queued()
	if queued == 0 {
		n, err := lc.rawWrite(b)
		if err != nil && err != errWouldBlock {
			lc.werr = err
			return err
		}
		b = b[n:]
		if len(b) == 0 {
			return nil
		}
	} else if queued > maxLoopQueue {
		lc.werr = errLoopQueueFull
		return lc.werr
	}
	if lc.pending == nil {
		lc.pending = getWriteBuf(len(b))
	}
	*lc.pending = append(*lc.pending, b...)
	if !lc.wantWrite {
		lc.wantWrite = true
		if err := lc.l.eng.p.SetWrite(lc.fd, true); err != nil {
			lc.werr = err
			return err
		}
	}
	return nil
}

// queued returns the bytes waiting for the socket; mu is held.
func (lc *loopConn) queued() int {
	if lc.pending == nil {
		return 0
	}
	return len(*lc.pending) - lc.off
}

// flush writes what is queued, on the loop when the socket is writable.
func (lc *loopConn) flush() {
	lc.mu.Lock()
	var err error
	for lc.queued() > 0 {
		var n int
		n, err = lc.rawWrite((*lc.pending)[lc.off:])
		lc.off += n
		if err != nil {
			break
		}
	}
	if err == errWouldBlock {
		lc.mu.Unlock()
		return
	}
	if err != nil && lc.werr == nil {
		lc.werr = err
	}
	lc.release()
	if lc.wantWrite && !lc.closed.Load() {
		lc.wantWrite = false
		lc.l.eng.p.SetWrite(lc.fd, false)
	}
	lc.mu.Unlock()
	if err != nil {
		lc.c.closeSocket() // the read side reports the end
	}
}

// release gives the queue's buffer back; mu is held.
func (lc *loopConn) release() {
	if lc.pending != nil {
		putWriteBuf(lc.pending)
		lc.pending, lc.off = nil, 0
	}
}

// rawRead reads once from the socket without waiting: errWouldBlock when
// it has nothing.
func (lc *loopConn) rawRead(b []byte) (int, error) {
	lc.rbuf = b
	if err := lc.rc.Read(lc.rfn); err != nil {
		return 0, err
	}
	lc.rbuf = nil
	return lc.rn, lc.rerr
}

// rawWrite writes b without waiting, as much as the socket takes:
// errWouldBlock when it took less. mu is held.
func (lc *loopConn) rawWrite(b []byte) (int, error) {
	lc.wbuf, lc.wn = b, 0
	if err := lc.rc.Write(lc.wfn); err != nil {
		return lc.wn, err
	}
	lc.wbuf = nil
	return lc.wn, lc.wres
}
