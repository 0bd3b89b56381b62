package websocket

// The event loop's engine: an EventLoop on Linux (epoll), macOS and the
// BSDs (kqueue) takes over the socket of each ws and wss connection it opens (wss:
// conn_loop_tls.go), so an open connection costs no goroutine. A loop with an engine runs two
// goroutines: the dispatcher's (Run's: posted functions, timers, every
// callback) and the engine's I/O goroutine (conn_loop_io.go), which waits
// in the poller, reads, decodes, answers pings, echoes the close frame and
// flushes what the sockets did not take:
//
//	dial + handshake (on a goroutine of the dial pool)
//	  ─▶ Session.dialed (dispatcher) ─▶ EventLoop.takeConn
//	socket readable (I/O goroutine) ─▶ one read into the shared buffer
//	  ─▶ decoder.feed (framecodec.go) ─▶ msgReader.step (msgreader.go)
//	  ─▶ the session's receive queue (recvqueue.go); the first frame of
//	  an idle queue posts Session.deliver to the dispatcher, which runs
//	  the callbacks, one frame per turn
//	queue full ─▶ the socket is not read (the poller stops watching it
//	  for readability; TCP holds the peer back) until a pop takes the
//	  queue down to its low water mark and asks the I/O goroutine to
//	  resume
//	send (any goroutine) ─▶ write.go's coalescing ─▶ loopConn.write:
//	  a non-blocking write; the rest is queued and written by the I/O
//	  goroutine when the socket turns writable
//
// A slow callback thus holds up the callbacks and timers of every App of
// its loop, but not the reading of their connections, nor the answers to
// their servers' pings, while their queues have room.
//
// A socket the library dialed is held as a bare descriptor
// (loopSocket, conn_loop_socket.go): takeConn duplicates the descriptor of
// the dial's *net.TCPConn and closes that net.Conn, so the runtime keeps
// nothing for the connection (its poller's descriptor with two deadline
// timers, about 0.6 KiB outside the garbage-collected heap, and the
// net.Conn with its addresses, about 0.3 KiB). The loopSocket's lock
// keeps a Close on another goroutine from handing the number to another
// file while the loop reads, writes or watches it. NetConn and addresses
// need a net.Conn: the first of them makes one over the same socket, and
// the loop moves to it (loopConn.adopt), so the user's net.Conn is the
// stream the Conn runs on, as it is off the loop. The same holds for the
// socket under a wss connection's TLS.
//
// A net.Conn the user gave (DialOptions.NetConn, NetDialContext) is read
// and written through its syscall.RawConn, which holds a reference on the
// descriptor during each read, write and change of the poller's watch. On
// Linux the runtime's epoll set stops watching such a socket
// (Poller.TakeFromRuntime), since the loop never waits on the net.Conn;
// elsewhere Go's own poller is woken too at each burst of data (on Linux
// that cost a fifth of the client's CPU with 10,000 connections receiving
// small messages). The per-connection figure is measured in
// TestEventLoopEngineManyApps.
//
// Writes never block, so automatic pings, close frames and the aborts of
// failed or timed-out connections run on the dispatcher itself
// (Session.goConn) instead of on a goroutine each; closing the socket
// tells the I/O goroutine, which reports the end.

import (
	"crypto/tls"
	"net"
	"os"
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
	// The frames read go to q, as the read loop's do; deliver is posted
	// whenever push reports wake. Nothing of the connection may be
	// delivered before OnOpen has run.
	takeConn(c *Conn, q *recvQueue, deliver func()) bool
}

// goConn runs f(s, c), an operation on c that may block on its socket, off
// the dispatcher's goroutine; on an event loop that owns c's socket, whose
// writes never block, it runs inline, and a static f (the keep-alive's
// ping) costs no allocation.
func (s *Session) goConn(c *Conn, f func(*Session, *Conn)) {
	if c.lc.Load() != nil {
		f(s, c)
		return
	}
	s.d.Go(func() { f(s, c) })
}

// abortConn is goConn's Conn.Abort.
func abortConn(_ *Session, c *Conn) { c.Abort() }

// maxLoopQueue bounds the bytes queued for a peer that does not read:
// a frame (or a batch of the Conn's write queue) that finds more than
// this waiting fails, and the connection with it, as a write that times
// out does. One frame of any size is queued when less is waiting, and the
// close frame always is (one per connection, after what was sent before
// it). Data sends wait long before (waitRoom): what reaches the bound is
// pings, or as many messages as goroutines send at once.
const maxLoopQueue = 16 << 20

// errNoSocket: the net.Conn is no socket whose descriptor the loop can hold.
var errNoSocket = &net.OpError{Op: "take", Err: syscall.EINVAL}

// errLoopQueueFull fails a connection whose peer left more than
// maxLoopQueue bytes unread. It is a timeout, as the write that times out
// off the loop is: it matches os.ErrDeadlineExceeded, and it is a
// net.Error whose Timeout is true.
var errLoopQueueFull error = loopQueueFull{}

type loopQueueFull struct{}

func (loopQueueFull) Error() string {
	return "more than 16 MiB queued for a peer that does not read"
}
func (loopQueueFull) Timeout() bool        { return true }
func (loopQueueFull) Temporary() bool      { return true }
func (loopQueueFull) Is(target error) bool { return target == os.ErrDeadlineExceeded }

// loopReadBufferSize is the read buffer an engine shares between its
// connections: one read takes at most this much from one socket before the
// loop serves the next.
const loopReadBufferSize = 64 << 10

// fdTable finds an engine's connection by its descriptor: a slice indexed
// by the descriptor, which the kernel gives out lowest number first, so
// that it costs 8 bytes per descriptor where a map costs about 30 per
// connection.
type fdTable []*loopConn

// get returns fd's connection, nil when there is none.
func (t fdTable) get(fd int) *loopConn {
	if uint(fd) < uint(len(t)) {
		return t[fd]
	}
	return nil
}

// set makes lc fd's connection; nil forgets it.
func (t *fdTable) set(fd int, lc *loopConn) {
	if fd < 0 {
		return
	}
	if fd >= len(*t) {
		if lc == nil {
			return
		}
		grown := make(fdTable, max(fd+1, 2*len(*t), 64))
		copy(grown, *t)
		*t = grown
	}
	(*t)[fd] = lc
}

// engine is the poller side of an EventLoop, made when the loop takes over
// its first connection, with the I/O goroutine that serves it.
type engine struct {
	p     *netpoll.Poller
	ready func(fd int, ev netpoll.Event) // e.serve, made once
	done  chan struct{}                  // closed when the I/O goroutine returns

	// The I/O goroutine only.
	conns fdTable
	buf   []byte   // the shared read buffer
	spare []func() // the task list run last, for reuse
	rbuf  []byte   // the read in progress (rawRead)
	rn    int
	rerr  error
	rfn   func(fd uintptr) bool // e.readFd, made once
	// Frames decoded from a read, queued for their connection's session
	// at once (flush) when the read is done, or before they could fill
	// its receive queue.
	batch     []recvItem
	batchConn *loopConn
	batchSize int
	woken     *EventLoop // posted to since the poll, and not woken yet
	// Connections whose socket a net.Conn runs (the user's, or the one
	// NetConn made): a Close of it is not the loop's to see (the socket
	// just leaves the poller), so the loop looks for one every
	// closeCheckEvery while there are any (checkClosed).
	exposed   []*loopConn
	nextCheck int64 // monoNow's time of the next look

	rooms  loopRooms  // senders waiting for their queue to drain (waitRoom)
	drains loopDrains // ends waiting for their queue to go out (endWhenSent)

	// Tasks for the I/O goroutine (post).
	mu    sync.Mutex
	tasks []func()
	quit  bool // the loop is shutting down: no more tasks
}

// loopConn is a connection whose socket its event loop owns.
type loopConn struct {
	l       *EventLoop
	c       *Conn
	q       *recvQueue // the session's receive queue for c
	deliver func()     // the session's consumer of q: posted when push wakes it
	rc      syscall.RawConn
	fd      int
	// tls is the TLS stream of a wss connection (conn_loop_tls.go): the
	// I/O goroutine reads its records from the socket and crypto/tls
	// opens them.
	tls *loopTLS

	// The I/O goroutine only.
	msg   []byte  // the data of a message (or fragment) cut at the end of a read
	held  *[]byte // bytes read and not fed yet (the reading paused amid them); a pointer: few have any
	ended bool

	// Written by the I/O goroutine with mu held; writers read them with mu.
	paused   bool // the queue is full: the socket is not read
	detached bool // the poller does not watch the socket (it hung up while paused)

	// Writing, guarded by mu; wantWrite and closed fill the word of the
	// flags above, which keeps loopConn in the 144-byte size class.
	wantWrite bool        // the poller watches for writability
	closed    atomic.Bool // the socket is closing: the poller no longer watches it (atomic, not mu)
	mu        sync.Mutex
	pending   *[]byte // bytes the socket did not take yet, from off
	off       int
	werr      error
}

// takeConn implements connTaker: a ws or wss connection on a TCP or Unix
// socket is read by the loop's I/O goroutine from now on. A platform
// without a poller, TLS over another stream (an https proxy's), an HTTP/2
// stream or a stream of the user's stays with a read loop.
func (l *EventLoop) takeConn(c *Conn, q *recvQueue, deliver func()) bool {
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
	var rc syscall.RawConn
	ls := holdSocket(c, tc)
	if ls != nil {
		rc = ls.raw()
	} else {
		var err error
		if rc, err = sc.SyscallConn(); err != nil {
			return false
		}
	}
	lc := &loopConn{l: l, c: c, q: q, deliver: deliver, rc: rc, fd: -1}
	// Watched from now on, but read only once start has run on the I/O
	// goroutine: the poller's events for a descriptor it does not know
	// yet are dropped (the watch is level-triggered: they come again).
	// Go's own poller stops watching a net.Conn's socket (Linux), as
	// nothing of the loop ever waits on the net.Conn.
	err := lc.withFd(func(fd int) error {
		if err := e.p.Add(fd); err != nil {
			return err
		}
		if ls == nil {
			e.p.TakeFromRuntime(fd)
		}
		lc.fd = fd
		return nil
	})
	if err != nil || lc.fd < 0 {
		if ls != nil { // a net.Conn again, for a read loop
			setSocket(c, tc, ls.conn())
		}
		return false
	}
	if ls != nil {
		ls.lc = lc
	}
	held, _ := c.takeBuffered()
	lc.hold(held)
	q.waker = lc
	if tc != nil {
		lc.startTLS(tc)
	}
	c.readMu.Lock() // the I/O goroutine is the only reader from now on
	c.lc.Store(lc)
	e.post(lc.start)
	if ls == nil {
		e.post(lc.expose)
	}
	return true
}

// holdSocket replaces the net.Conn of a socket the library dialed (under
// tc's TLS, when tc is not nil) by a loopSocket, which it returns; nil for
// a user's net.Conn, which keeps its own, or when the socket cannot be
// held.
func holdSocket(c *Conn, tc *tls.Conn) *loopSocket {
	if !c.ownSocket {
		return nil
	}
	under := c.netConn
	if tc != nil {
		under = tlsSocketConn(tc)
	}
	ls, err := takeSocket(under)
	if err != nil {
		return nil
	}
	setSocket(c, tc, ls)
	return ls
}

// setSocket makes nc the Conn's socket: its netConn, or the socket under
// tc's TLS. takeConn only, before anything else can use c.
func setSocket(c *Conn, tc *tls.Conn, nc net.Conn) {
	if tc != nil {
		setTLSSocket(tc, nc)
	} else {
		c.netConn = nc
	}
}

// engine returns the loop's engine, making it and starting its I/O
// goroutine at the first call; nil where no poller exists. The
// dispatcher's goroutine only.
func (l *EventLoop) engine() *engine {
	if l.eng == nil && !l.noPoll {
		p, err := netpoll.New()
		if err != nil {
			l.noPoll = true
			return nil
		}
		e := &engine{p: p, buf: make([]byte, loopReadBufferSize), done: make(chan struct{})}
		e.ready, e.rfn = e.serve, e.readFd
		l.eng = e
		go e.run()
	}
	return l.eng
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

// withFd runs f on the descriptor, which is held open meanwhile, so that
// a close on another goroutine cannot hand its number to another file
// under f. Once the socket is closing (the poller has dropped it) f does
// not run and withFd returns nil.
func (lc *loopConn) withFd(f func(fd int) error) error {
	var err error
	cerr := lc.rc.Control(func(fd uintptr) {
		if !lc.closed.Load() {
			err = f(int(fd))
		}
	})
	if cerr != nil || lc.closed.Load() {
		return nil
	}
	return err
}

// watch tells the poller what to watch the socket for: readability unless
// the reading is paused, writability while bytes wait. mu is held.
func (lc *loopConn) watch() error {
	if lc.detached {
		return nil // resume attaches it again
	}
	return lc.withFd(func(fd int) error { return lc.l.eng.p.Modify(fd, !lc.paused, lc.wantWrite) })
}

// closing is called by closeSocket, from any goroutine, before the
// descriptor is closed: the poller stops watching it and the I/O goroutine
// is told.
func (lc *loopConn) closing() {
	if lc.unwatch() {
		lc.mu.Lock() // a sender that saw the socket open has its wait in rooms (waitRoom)
		lc.l.eng.rooms.wake(lc)
		lc.mu.Unlock()
		lc.l.eng.post(lc.endClosed)
	}
}

// unwatch removes the descriptor from the poller once; it reports whether
// this call did.
func (lc *loopConn) unwatch() bool {
	if !lc.closed.CompareAndSwap(false, true) {
		return false
	}
	// A descriptor closed meanwhile has left the poller with it.
	lc.rc.Control(func(fd uintptr) { lc.l.eng.p.Remove(int(fd)) })
	return true
}

// write writes b, the Conn's bytes, without blocking: over TLS as
// records, which crypto/tls writes with writeSocket. Called by socketWrite
// with writing set (one writer at a time), from any goroutine. A bounded
// write (one that begins a frame or a batch, see socketWrite) fails when
// more than maxLoopQueue waits; the later pieces of a large frame do not.
func (lc *loopConn) write(b []byte, bounded bool) error {
	if bounded && lc.c.flags.has(flagLoopBacklog) { // else less than the send mark waits
		lc.mu.Lock()
		if lc.werr == nil && lc.queued() > maxLoopQueue {
			lc.werr = lc.sysError("write", errLoopQueueFull) // a *net.OpError, as a write that timed out
		}
		err := lc.werr
		lc.mu.Unlock()
		if err != nil {
			return err
		}
	}
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
	}
	if lc.pending == nil {
		lc.pending = getWriteBuf(len(b))
	}
	*lc.pending = append(*lc.pending, b...)
	lc.queuedMore()
	if !lc.wantWrite {
		lc.wantWrite = true
		if err := lc.watch(); err != nil {
			lc.werr = err
			return err
		}
	}
	return nil
}

// closeFrameOut reports whether our close frame went to the socket: on an
// event loop, not still in the bytes the loop holds for it; over HTTP/2,
// not still in the chunk waiting for the connection's writer.
func (c *Conn) closeFrameOut() bool {
	if !c.flags.has(flagCloseWritten) {
		return false
	}
	lc := c.lc.Load()
	if lc == nil {
		s, ok := c.netConn.(*h2Stream)
		return !ok || !s.Pending()
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.queued() == 0
}

// queued returns the bytes waiting for the socket; mu is held.
func (lc *loopConn) queued() int {
	if lc.pending == nil {
		return 0
	}
	return len(*lc.pending) - lc.off
}

// flush writes what is queued, on the I/O goroutine when the socket is
// writable.
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
		woke := lc.wakeRoom()
		lc.mu.Unlock()
		if woke {
			// Senders that keep the queue between half the send mark
			// and the mark never let it drain: the pong held back for
			// the backlog (answerPing) goes now, once a drain.
			lc.answerDuePing()
		}
		return
	}
	if err != nil && lc.werr == nil {
		lc.werr = err
	}
	lc.release()
	lc.wakeRoom()
	if lc.wantWrite {
		lc.wantWrite = false
		lc.watch()
	}
	lc.mu.Unlock()
	if err != nil {
		lc.writeFailed(err) // the read side reports the end, with err
	}
	if w, ok := lc.l.eng.drains.take(lc); ok {
		// The queue went out, or its write failed: the connection ended
		// before the close frame could go out, no abandoned close.
		w.report(nil)
		lc.endSent(w.end)
		return
	}
	if err == nil {
		lc.answerDuePing()
	}
}

// release gives the queue's buffer back; mu is held.
func (lc *loopConn) release() {
	if lc.pending != nil {
		putWriteBuf(lc.pending)
		lc.pending, lc.off = nil, 0
	}
}

// rawWrite writes b without waiting, as much as the socket takes:
// errWouldBlock when it took less. mu is held.
func (lc *loopConn) rawWrite(b []byte) (int, error) {
	if n, done, err := lc.writeBare(b); done {
		return n, lc.sysError("write", err)
	}
	w := loopWrites.Get().(*loopWrite)
	w.b = b
	err := lc.rc.Write(w.fn)
	n, werr := w.n, w.err
	*w = loopWrite{fn: w.fn}
	loopWrites.Put(w)
	if err != nil {
		return n, err
	}
	return n, lc.sysError("write", werr)
}

// loopWrite is the state of one rawWrite through a RawConn (a socket of
// the user's, or one whose net.Conn was made), shared with its callback
// (writeFd). It is pooled rather than kept in the loopConn: a connection
// that is not writing holds none of it (TestIdleRunSizes).
type loopWrite struct {
	b   []byte // what to write
	n   int    // bytes of it written
	err error
	fn  func(fd uintptr) bool // w.writeFd, bound once per pooled loopWrite
}

var loopWrites = sync.Pool{New: func() any {
	w := new(loopWrite)
	w.fn = w.writeFd
	return w
}}
