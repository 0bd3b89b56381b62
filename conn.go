package websocket

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsclient/websocket/internal/h2"
)

// Conn is a client WebSocket connection: Python's WebSocket.
//
// Sending methods (Send*, Ping, Pong, SendClose, NextWriter) are safe for
// concurrent use with each other, with a reader and with Close: each frame is
// written whole, and a message's fragments are never interleaved with another
// message. SendFrame is the exception it says it is: it writes the frame it
// is given, so the fragments of a message sent frame by frame with it are
// the caller's to keep together (NextWriter holds other messages back).
// Receiving methods serve one reader at a time; concurrent calls are
// serialized. Pings are answered and close frames echoed while receiving.
//
// An idle Conn is a large part of an idle connection's memory, so its fields
// are ordered to leave little padding and what most connections never use
// (the response header map, the write queue's condition variable, the
// channel a closer waits on) is made on first use.
type Conn struct {
	// A Conn is six cache lines, allocated at a multiple of its 384-byte
	// size class, and laid out by who touches what (TestCountersLayout):
	// the first line holds what every receive reads (the lock, the
	// reader's flags and sticky errors, ext for unlockRead), the third
	// the read buffer's offsets with the received counters, the last the
	// writers' state with the sent counters. A line more per message
	// costs about 1 ns when reading a flood evicts the Conn from the L1
	// cache, and the counters on another line cost 2.

	ext *compression // permessage-deflate, nil when not negotiated
	// isTLS is TLS to the server (wss). It is stored, not derived from
	// netConn: ws through an https proxy runs over a *tls.Conn too.
	isTLS    bool
	fireCont bool
	busyPoll BusyPollMode // DialOptions.BusyPoll, applied at the first bytes (connSocket)
	// ownSocket: the library dialed the socket itself (neither
	// DialOptions.NetConn nor NetDialContext gave it), so an EventLoop may
	// replace its net.Conn (takeSocket): no reference to it is the user's.
	ownSocket bool

	// Reading: the message reader's state (msgreader.go) and the frame
	// reader below it (readbuf.go), guarded by readMu.
	readMu sync.Mutex
	msgReader
	fr frameReader

	rare onDemand[connRare] // what few connections use, made on first use
	// The handshake response's header lines (the head without its status
	// line), parsed into the rare state's header when Header is first
	// called: the map would add about as much as the rest of an idle Conn.
	// Subprotocol reads them too. A response parsed into the map at the
	// dial (by net/http, or over HTTP/2) leaves only the line of the
	// selected subprotocol here (protocolLine): the map is the caller's
	// to change.
	respHead string

	// The stream, which the frame reader reads through connSocket and the
	// writers write, and the loop that owns it, if any.
	netConn net.Conn
	lc      atomic.Pointer[loopConn] // set while an EventLoop owns the socket (conn_loop.go)

	// Writing: msgMu is held for a whole data message (NextWriter holds it
	// until Close), writeMu for one frame, so control frames fit between
	// the fragments of a message.
	msgMu    sync.Mutex
	writeMu  sync.Mutex
	maskKeys *[maskKeyBatch][4]byte // keys taken from a shared generator, maskN of them used
	// Write coalescing (write.go), guarded by writeMu.
	wq        *[]byte // frames waiting for the socket, nil when none
	lastWrite int64   // monoNow() when the last socket write returned
	writing   bool    // a goroutine is writing to the socket; only it may
	closeSent bool
	maskN     uint8 // maskKeys used, guarded by writeMu

	// Closing.
	flags connFlags // closed, peerClosed, closing

	// Data messages given to the socket or the write queue since the
	// counters were last published (publishOut, before each socket
	// write), guarded by writeMu: plain fields on the line of the write
	// queue's state, which every send writes.
	outMsgs, outBytes uint64
}

// connRare is the state of a Conn that few connections use: a Conn makes
// it the first time it needs one of its fields (Conn.rareState), and an
// idle Conn without it stays in the 384-byte size class
// (TestConnSizeClass). Each field keeps the guard it had in the Conn.
type connRare struct {
	timeout     atomic.Int64                // time.Duration: per-operation I/O timeout (SetTimeout), 0 = none
	header      atomic.Pointer[http.Header] // the response header, parsed by the first Header call
	peerClosed  lazyClose                   // closed with flagPeerClosed or flagClosed; made by a closer that waits
	maskKeyFunc func() [4]byte              // the user's mask keys (SetMaskKeyFunc); guarded by writeMu
	waits       atomic.Pointer[writeWaits]  // what goroutines waiting to write use; made by the first to wait (writeWaitsMade)
	flushFn     func()                      // c.flushQueue, made once (startFlusher); writeMu
	writeErr    error                       // sticky: no more frames can be written (writeFailed); writeMu
}

// rareState returns the Conn's rare state, making it if need be; safe
// from any goroutine.
func (c *Conn) rareState() *connRare { return c.rare.get() }

// onDemand points to a T made the first time get is called: state that most
// owners never need costs them one word. Load returns nil until then. It
// is safe for concurrent use; every caller of get gets the same T.
type onDemand[T any] struct{ atomic.Pointer[T] }

// get returns the T, making it if need be.
func (o *onDemand[T]) get() *T {
	if p := o.Load(); p != nil {
		return p
	}
	o.CompareAndSwap(nil, new(T))
	return o.Load()
}

// connFlags holds a Conn's closing flags in one atomic word (three
// atomic.Bool would take 12 bytes, and the Conn is at its size class).
type connFlags struct{ v atomic.Uint32 }

const (
	flagClosed     uint32 = 1 << iota // the socket is closed
	flagPeerClosed                    // the peer's close frame was read
	flagClosing                       // closeSocket has begun
	flagMsgWait                       // a sender waits in lockMsg (writeWaits.msgWaiters > 0)
	flagCloseTimed                    // a close bounded by its own timer writes: no caller's deadline applies (socketWrite)
	flagStreamMsg                     // the message being read is a NextReader's: the next receiving call drops its rest (readMu)
	// The timeout set the stream's read (write) deadline, and no
	// SetDeadline, SetReadDeadline (SetWriteDeadline) came since: turning
	// the timeout off clears that deadline, and only that one.
	flagTimeoutRead
	flagTimeoutWrite
	// The event loop holds more than the send mark for the socket, and
	// has not drained to half of it since: data sends wait (waitRoom).
	// Set and cleared with the loopConn's mu held.
	flagLoopBacklog
	// Our close frame was written (when its write fails, flagClosed is
	// set): a close that found the frame claimed by another goroutine
	// waits for one of the two (sendCloseFrame).
	flagCloseWritten
	// A caller's deadline setter is setting the stream's write deadline
	// (beginWriteDeadline): a write of a close bounded by its own timer
	// waits for it to end before it clears that deadline (socketWrite).
	flagSettingDeadline
)

// has reports whether flag f is set.
func (fl *connFlags) has(f uint32) bool { return fl.v.Load()&f != 0 }

// set sets flag f and reports whether it was clear.
func (fl *connFlags) set(f uint32) bool { return fl.v.Or(f)&f == 0 }

// clear clears flag f.
func (fl *connFlags) clear(f uint32) { fl.v.And(^f) }

// take clears flag f and reports whether it was set.
func (fl *connFlags) take(f uint32) bool { return fl.v.And(^f)&f != 0 }

// newConn wraps an upgraded connection. leftover holds bytes the handshake
// read past the response (a server may send frames right behind its 101);
// newConn copies them and does not keep the slice, so the handshake's
// buffer can go back to its pool.
func newConn(nc net.Conn, leftover []byte, opts *DialOptions) *Conn {
	c := &Conn{
		netConn:   nc,
		msgReader: msgReader{readLimit: opts.ReadLimit, skipUTF8: opts.SkipUTF8Validation, stats: new(connStats)},
		fireCont:  opts.FireContFrame,
		busyPoll:  opts.BusyPoll,
		ownSocket: opts.NetConn == nil && opts.NetDialContext == nil,
	}
	if opts.MaskKeyFunc != nil {
		c.rareState().maskKeyFunc = opts.MaskKeyFunc
	}
	if c.readLimit == 0 {
		c.readLimit = defaultReadLimit
	}
	c.fr.src = (*connSocket)(c)
	c.fr.setLeftover(leftover)
	return c
}

// defaultReadLimit bounds a message when DialOptions.ReadLimit is 0.
const defaultReadLimit = 64 << 20

// Connected reports whether the connection is open: the socket is up and no
// close frame has been received.
func (c *Conn) Connected() bool {
	return !c.flags.has(flagClosed | flagPeerClosed)
}

// Subprotocol returns the subprotocol the server selected, in its spelling,
// or "" when it selected none.
func (c *Conn) Subprotocol() string {
	// The dial checked that there is at most one: the first token of the
	// header is it. It is not kept apart, which would cost every Conn 16
	// bytes.
	return headToken(c.respHead, "Sec-Websocket-Protocol")
}

// Status returns the status code of the handshake response: 101 Switching
// Protocols, or a 2xx (200 as a rule) for a WebSocket over HTTP/2 (an
// extended CONNECT), as Dial returns a Conn only for those.
func (c *Conn) Status() int {
	if s, ok := c.netConn.(*h2Stream); ok {
		return int(s.status)
	}
	return http.StatusSwitchingProtocols
}

// Header returns the handshake response headers. Every call returns the
// same map.
func (c *Conn) Header() http.Header {
	r := c.rareState()
	if h := r.header.Load(); h != nil {
		return *h
	}
	// The head parsed at the dial, so it parses again.
	h, _ := parseUpgradeHeader(c.respHead)
	if h == nil {
		h = http.Header{}
	}
	r.header.CompareAndSwap(nil, &h)
	return *r.header.Load()
}

// IsSSL reports whether the connection runs over TLS to the server: a
// wss URL, or a DialOptions.NetConn that is a TLS stream (one with a
// ConnectionState method, as *tls.Conn). A ws connection through an
// https:// proxy runs over TLS to the proxy only: false.
func (c *Conn) IsSSL() bool { return c.isTLS }

// isTLSStream reports whether nc, a stream given to Dial, is a TLS stream.
func isTLSStream(nc net.Conn) bool {
	_, ok := nc.(interface{ ConnectionState() tls.ConnectionState })
	return ok
}

// NetConn returns the stream the Conn runs on: the *net.TCPConn for ws
// (the proxy's *tls.Conn through an https:// proxy), the
// *tls.Conn for wss, DialOptions.NetConn, or the HTTP/2 stream of a
// WebSocket over HTTP/2. Reading or writing it directly
// corrupts the WebSocket stream; it is meant for addresses and socket options.
// (When an EventLoop owns the socket, on Linux Go's own poller no longer
// watches it: a read or write of it that would wait ends only at its
// deadline. An EventLoop holds a socket it dialed without a net.Conn until
// one is asked for: the first call makes it, with a few system calls. A
// socket never asked for while it was open gives, once closed, a closed
// net.Conn without addresses, and once the server reset it, a net.Conn
// without the server's address: an App that logs where its connections
// went asks for NetConn in OnOpen.)
func (c *Conn) NetConn() net.Conn {
	if s, ok := c.netConn.(*loopSocket); ok {
		return s.conn()
	}
	return c.netConn
}

// Timeout returns the per-operation I/O timeout (0 = none).
func (c *Conn) Timeout() time.Duration {
	if r := c.rare.Load(); r != nil {
		return time.Duration(r.timeout.Load())
	}
	return 0
}

// SetTimeout sets the per-operation I/O timeout: with d > 0 each read and each
// write gets a deadline of now+d, overriding SetDeadline; with 0 deadlines are
// left to SetDeadline (turning the timeout off clears the deadlines it set).
// A read that times out leaves the Conn usable; a write that times out
// closes it (a frame may be half written): that send gets the timeout,
// every later send and Flush an error matching ErrConnectionClosed. A send
// or Flush that waits for another goroutine's write (one begun before the
// timeout was set has no deadline) sets its own on the stream, which ends
// that write by then.
// Neither the timeout nor the deadlines lengthen a Close (see CloseWith).
func (c *Conn) SetTimeout(d time.Duration) {
	if d <= 0 && c.rare.Load() == nil {
		return // none, and none to clear
	}
	c.rareState().timeout.Store(int64(max(d, 0)))
	if d <= 0 { // the timeout's last deadlines would outlive it; the caller's stay
		if c.flags.take(flagTimeoutRead) {
			c.netConn.SetReadDeadline(time.Time{})
		}
		if c.flags.take(flagTimeoutWrite) {
			c.netConn.SetWriteDeadline(time.Time{})
		}
	}
}

// SetDeadline sets the read and write deadlines of the underlying stream.
// On a closed Conn it returns an error matching ErrConnectionClosed. Once a
// close has begun, the write deadline is left alone: the close bounds its
// close frame's write with its own timeout (see CloseWith).
func (c *Conn) SetDeadline(t time.Time) error {
	c.callerDeadline(true, true)
	defer c.writeDeadlineMoved()
	if !c.beginWriteDeadline() {
		return c.deadlineError(c.netConn.SetReadDeadline(t))
	}
	defer c.flags.clear(flagSettingDeadline)
	return c.deadlineError(c.netConn.SetDeadline(t))
}

// SetReadDeadline sets the read deadline of the underlying stream.
// On a closed Conn it returns an error matching ErrConnectionClosed.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.callerDeadline(true, false)
	return c.deadlineError(c.netConn.SetReadDeadline(t))
}

// SetWriteDeadline sets the write deadline of the underlying stream.
// On a closed Conn it returns an error matching ErrConnectionClosed. Once a
// close has begun, it does nothing: the close bounds its close frame's
// write with its own timeout (see CloseWith).
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.callerDeadline(false, true)
	defer c.writeDeadlineMoved()
	if !c.beginWriteDeadline() {
		return c.deadlineError(nil)
	}
	defer c.flags.clear(flagSettingDeadline)
	return c.deadlineError(c.netConn.SetWriteDeadline(t))
}

// beginWriteDeadline reports whether a caller's deadline setter may set
// the stream's write deadline, marking it as setting it (the caller clears
// flagSettingDeadline once set): not once a close bounded by its own timer
// has begun, whose writes clear that deadline (socketWrite). Without the
// mark, a deadline set between that clear and the close frame's write
// would fail the write: SetDeadline(time.Now()) to end a blocked Recv,
// racing a CloseWith, lost the close frame.
func (c *Conn) beginWriteDeadline() bool {
	for {
		v := c.flags.v.Load()
		switch {
		case v&flagCloseTimed != 0:
			return false
		case v&flagSettingDeadline != 0:
			runtime.Gosched() // another setter: a call that never blocks
		case c.flags.v.CompareAndSwap(v, v|flagSettingDeadline):
			return true
		}
	}
}

// callerDeadline notes that the caller set the read or write deadline:
// it is no longer the timeout's to clear.
func (c *Conn) callerDeadline(read, write bool) {
	if read && c.flags.has(flagTimeoutRead) {
		c.flags.clear(flagTimeoutRead)
	}
	if write && c.flags.has(flagTimeoutWrite) {
		c.flags.clear(flagTimeoutWrite)
	}
}

// deadlineError is what a deadline setter returns for err, the stream's:
// the Conn's close when the Conn is closed, else err with the library's
// prefix.
func (c *Conn) deadlineError(err error) error {
	switch {
	case c.flags.has(flagClosed):
		// Also when the stream took the deadline (an HTTP/2 stream's
		// setters never fail).
		return c.closedCause()
	case err == nil:
		return nil
	}
	return &wrappedError{msg: "websocket: setting a deadline: " + detail(err), err: err}
}

// SetMaskKeyFunc makes f supply the mask key of every frame sent from now on;
// nil restores fresh unpredictable keys. Python's set_mask_key.
func (c *Conn) SetMaskKeyFunc(f func() [4]byte) {
	c.writeMu.Lock()
	if f != nil || c.rare.Load() != nil {
		c.rareState().maskKeyFunc = f
	}
	c.writeMu.Unlock()
}

// closeSocket closes the socket once; a call after the first returns nil
// at once.
func (c *Conn) closeSocket() error {
	// Both flags at once: a goroutine waiting for flagClosed (a close
	// whose frame another goroutine claimed, sendCloseFrame) is woken by
	// a writer whose own closeSocket found flagClosing set, and must then
	// see flagClosed too.
	if c.flags.v.Or(flagClosing|flagClosed)&flagClosing != 0 {
		return nil
	}
	// No close frame can arrive now: a closer waiting for one while
	// another goroutine reads (awaitPeerClose) stops waiting, also when
	// the close is Abort's or a failed read's.
	if r := c.rare.Load(); r != nil {
		r.peerClosed.close()
	}
	if lc := c.lc.Load(); lc != nil {
		lc.closing() // before the descriptor goes
	}
	c.wakeMsgWaiters(true) // senders waiting behind a NextWriter
	var err error
	if tc, ok := c.netConn.(*tls.Conn); ok {
		err = closeTLS(tc)
	} else {
		err = c.netConn.Close()
	}
	c.releaseCompression()
	return err
}

// markPeerClosed records that the peer's close frame has arrived.
func (c *Conn) markPeerClosed() {
	if c.flags.set(flagPeerClosed) {
		// A closer that makes the rare state after this load sees the
		// flag (peerClosedChan).
		if r := c.rare.Load(); r != nil {
			r.peerClosed.close()
		}
	}
}

// peerClosedChan returns a channel that is closed once the peer's close
// frame has arrived or the socket closed (then none will).
func (c *Conn) peerClosedChan() <-chan struct{} {
	r := c.rareState()
	ch := r.peerClosed.wait()
	// If a flag was set before the rare state was there, markPeerClosed or
	// closeSocket found no channel to close and will not look again: the
	// closer closes it.
	if c.flags.has(flagPeerClosed | flagClosed) {
		r.peerClosed.close()
	}
	return ch
}

// lazyClose is a channel closed once, made only when it is first waited
// on: most are never waited on, and a channel is 96 bytes. It is safe for
// concurrent use.
type lazyClose struct{ p atomic.Pointer[chan struct{}] }

// closedChan is a closed channel: what a closed lazyClose holds.
var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// wait returns the channel, closed once close is called.
func (l *lazyClose) wait() <-chan struct{} {
	if ch := l.p.Load(); ch != nil {
		return *ch
	}
	ch := make(chan struct{})
	if l.p.CompareAndSwap(nil, &ch) {
		return ch
	}
	return *l.p.Load() // another waiter's, or closedChan
}

// close closes the channel handed out, if any, and makes every later wait
// return a closed one. Each channel is closed once: Swap hands it to one
// caller.
func (l *lazyClose) close() {
	if ch := l.p.Swap(&closedChan); ch != nil && ch != &closedChan {
		close(*ch)
	}
}

// ioError turns an error from the socket into the library's error: a
// deadline is a timeout error, anything else means the connection ended.
func (c *Conn) ioError(op string, err error) error {
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		if c.flags.has(flagClosed) {
			// The Conn is closed (its socket a moment from closed, by
			// another goroutine): a retry has nothing to read.
			return c.closedCause()
		}
		return &timeoutError{op: op, err: err}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if c.flags.has(flagClosed) && (errors.Is(err, net.ErrClosed) || errors.Is(err, h2.ErrClosed)) {
		// Our own close (a socket's, or an HTTP/2 stream's): no failure.
		return c.closedCause()
	}
	return &closedError{err: err}
}

// closedCause is what an operation ended by the Conn's own close returns:
// ErrConnectionClosed, with the failure that closed it when one did (a
// write that timed out or failed, which a reader or an App would otherwise
// report as a bare close). A write timeout's message is kept, but the
// error matches neither os.ErrDeadlineExceeded nor a net.Error's Timeout:
// to the operations after it the Conn is closed, and a caller that retries
// a read after a timeout must not retry this one forever.
func (c *Conn) closedCause() error {
	err := c.stats.failure()
	if err == nil {
		return ErrConnectionClosed
	}
	if te := (*timeoutError)(nil); errors.As(err, &te) {
		return &closedError{err: errors.New(te.Error())}
	}
	if errors.Is(err, ErrConnectionClosed) {
		return err
	}
	return &closedError{err: err}
}

// endCause is err, the error that ended c's receiving, as the App reports
// the end of c: when c's own close after a write timeout ended it, an error
// that also matches the timeout (os.ErrDeadlineExceeded), which the
// operations on c after it do not (closedCause).
func (c *Conn) endCause(err error) error {
	if !errors.Is(err, ErrConnectionClosed) {
		return err
	}
	if te := (*timeoutError)(nil); errors.As(c.stats.failure(), &te) {
		return &closedError{err: &wrappedError{msg: te.Error(), err: te.err}}
	}
	return err
}

// isTimeout reports whether err is a timeout that leaves the Conn usable.
func isTimeout(err error) bool {
	var te *timeoutError
	return errors.As(err, &te)
}
