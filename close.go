package websocket

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	utf8v "github.com/wsclient/websocket/internal/utf8"
)

// closeTimeout is how long Close waits for the server's close frame.
const closeTimeout = 3 * time.Second

// minCloseWrite is how long CloseWith with a timeout ≤ 0, which does not
// wait for the server's answer, gives its own close frame to be written:
// as long as a connection failed after a protocol error gives its own.
const minCloseWrite = 100 * time.Millisecond

// testHookBeforeCloseFrame, set by tests only, runs before our close frame
// is written, as a writer slow to run would.
var testHookBeforeCloseFrame atomic.Pointer[func()]

// errCloseAbandoned is the cause of the error Close returns when its close
// frame could not be written in time.
var errCloseAbandoned = fmt.Errorf("close frame not written in time: %w", os.ErrDeadlineExceeded)

// Close performs the closing handshake with StatusNormal: it sends a close
// frame, waits up to 3 s for the server's, then closes the socket. It
// returns nil once the close frame was sent, and nil on later calls.
//
// If another goroutine is inside a receiving call, that reader sees the
// server's close frame (and every message before it). If not, Close reads
// until the close frame itself and drops the data messages it passes (a
// receive loop between two calls, or a NextReader's reader between two
// reads, then gets the close: the reader an error matching
// ErrConnectionClosed), as Python's close does: to keep them, send the
// close with SendClose and go on receiving until the *CloseError.
func (c *Conn) Close() error { return c.CloseWith(StatusNormal, "", closeTimeout) }

// CloseWith is Close with a status code, a reason (at most 123 bytes of
// UTF-8) and the time to wait for the server's close frame. A code that may
// not be sent (1005, 1006, 1015, or outside 1000–1003, 1007–1014 and
// 3000–4999) is an error: nothing is sent and the Conn stays open.
//
// CloseWith returns within timeout (plus scheduling) whatever else is
// blocked, and whatever SetTimeout or the deadlines say: the whole close,
// sending the close frame included, gets timeout, and when it runs out the
// socket is closed. A close frame that cannot be written in time (because
// a send, the write queue or a pong is stuck on a peer that stopped
// reading) is abandoned: the blocked calls return errors matching
// ErrConnectionClosed, and CloseWith returns an error matching both
// ErrConnectionClosed and os.ErrDeadlineExceeded. It returns nil once the
// close frame was sent, whether or not the server answered, and nil when
// the connection ended before its close frame could go out (a failed
// write, Abort). With timeout ≤ 0 it does not wait for the server's close
// frame and gives its own at most 100 ms. A close frame that the socket has
// room for is never abandoned: when the time runs out before it went out,
// its writer was only slow to run (a busy machine), and CloseWith waits
// for it, up to 3 s more.
func (c *Conn) CloseWith(code StatusCode, reason string, timeout time.Duration) error {
	if err := checkClose(code, reason); err != nil {
		return err
	}
	if c.flags.has(flagClosed) {
		return nil
	}
	// A timer, not a deadline, bounds the close: a deadline on the socket
	// would be overwritten by the per-operation timeout of a concurrent
	// send or read, or by the caller's own deadlines. Closing the socket
	// ends every blocked read and write at once.
	start := time.Now()
	ct := c.closeSocketAfter(max(timeout, minCloseWrite))
	defer ct.stop()
	c.flags.set(flagCloseTimed)
	err := c.sendCloseFrame(code, reason, 0)
	ct.frameSent()
	if err != nil {
		c.closeSocket()
		if ct.fired.Load() {
			return &closedError{err: errCloseAbandoned}
		}
		return nil // the connection ended before the close: nothing to close
	}
	if timeout <= 0 {
		return c.closeOnceWritten(ct)
	}
	c.awaitPeerClose(start.Add(timeout))
	c.closeSocket()
	return nil
}

// closeTimer closes the socket when a close runs out of time. Until our
// close frame's write is over, that time is the peer's to use up only if
// the frame is stuck: time running out closes the socket when it has no
// room for the frame (the peer stopped reading, and the frame, or a write
// it waits behind, cannot go out). While the socket has room the frame is
// on its way, its writer only slow to run (a machine busy enough to keep a
// runnable goroutine waiting that long), and closing would lose the frame
// that tells the server how the connection ends: the timer looks again
// every minCloseWrite, up to closeTimeout past the time. Where the socket
// cannot be asked (sendHasRoom), time running out closes it.
type closeTimer struct {
	t     atomic.Pointer[time.Timer]
	sent  atomic.Bool // the close frame's write is over (sent, or failed)
	fired atomic.Bool // the socket was closed because time ran out
}

// closeSocketAfter closes the socket after d, as closeTimer says, unless
// stopped first.
func (c *Conn) closeSocketAfter(d time.Duration) *closeTimer {
	ct := &closeTimer{}
	end := time.Now().Add(d + closeTimeout)
	ct.t.Store(time.AfterFunc(d, func() {
		if !ct.sent.Load() && time.Now().Before(end) && c.sendHasRoom() {
			for ct.t.Load() == nil { // stored a moment after AfterFunc returned
				runtime.Gosched()
			}
			ct.t.Load().Reset(minCloseWrite)
			return
		}
		ct.fired.Store(true)
		c.closeSocketNow()
	}))
	return ct
}

// frameSent tells the timer that the close frame's write is over: from now
// on time running out closes the socket.
func (ct *closeTimer) frameSent() { ct.sent.Store(true) }

// stop stops the timer. A look already under way may still close the
// socket, which its caller is about to do.
func (ct *closeTimer) stop() {
	ct.sent.Store(true)
	for ct.t.Load() == nil {
		runtime.Gosched()
	}
	ct.t.Load().Stop()
}

// closeSocketNow closes the socket for a close that ran out of time, and
// for Abort: over TLS without the close_notify alert.
func (c *Conn) closeSocketNow() {
	if tc, ok := c.netConn.(*tls.Conn); ok {
		// Closing a TLS stream first sends an alert, which crypto/tls
		// gives 5 s: with a peer that stopped reading, the stream under
		// it must go first. This also ends an alert already being
		// written by a close in progress.
		c.flags.set(flagClosed)
		tc.NetConn().Close()
	}
	c.closeSocket()
}

// tlsAlertTime is how long closing a TLS stream gives its close_notify
// alert (crypto/tls gives it 5 s).
const tlsAlertTime = 200 * time.Millisecond

// closeTLS closes a TLS stream: it sends a close_notify alert, given
// tlsAlertTime, then closes the socket. A send stuck on a peer that stopped
// reading holds the alert behind it (our socket writes a large message's
// records after tls.Conn.Write returned, so crypto/tls does not see the
// write in flight and skip the alert): then the socket is closed under
// both. An alert lost that way, or to a close of the socket under it
// (closeSocketNow), is no error: the stream is closed as asked.
func closeTLS(tc *tls.Conn) error {
	t := time.AfterFunc(tlsAlertTime, func() { tc.NetConn().Close() })
	err := tc.Close()
	t.Stop()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// sendHasRoom reports whether a write to the socket would not block now
// (it would be taken, or fail at once); false when it cannot tell: a
// stream that is not a socket, or a system not asked (socketWritable). A
// Conn on an event loop always has room: the loop queues what the socket
// does not take.
func (c *Conn) sendHasRoom() bool {
	if c.lc.Load() != nil {
		return true
	}
	nc := c.netConn
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	room := false
	if rc.Control(func(fd uintptr) { room = socketWritable(fd) }) != nil {
		return false
	}
	return room
}

// SendClose sends a close frame and returns without waiting for the answer
// or closing the socket; once one was sent, it sends nothing and returns
// nil, unless the connection is over (the socket closed, or both close
// frames exchanged): then it returns an error matching
// ErrConnectionClosed. Python's send_close.
func (c *Conn) SendClose(code StatusCode, reason string) error {
	if err := checkClose(code, reason); err != nil {
		return err
	}
	if c.flags.has(flagClosed) {
		return c.closedCause()
	}
	c.writeMu.Lock()
	over := c.closeSent && c.flags.has(flagPeerClosed)
	c.writeMu.Unlock()
	if over {
		return c.closedCause()
	}
	return c.sendCloseFrame(code, reason, 0)
}

func checkClose(code StatusCode, reason string) error {
	if !code.sendable() {
		return &ProtocolError{Reason: "close code " + lengthString(int64(code)) + " may not be sent"}
	}
	if len(reason) > maxControlPayload-2 {
		return &ProtocolError{Reason: "close reason longer than 123 bytes"}
	}
	if !utf8v.Valid(stringBytes(reason)) {
		return &PayloadError{Reason: "close reason is not valid UTF-8"}
	}
	return nil
}

// closeOnceWritten closes the socket once our close frame is written, for
// a close with timeout ≤ 0: at once off an event loop, where the write
// returned with the frame in the socket; on a loop, once the loop has
// written what it holds for the socket, within minCloseWrite, returning
// the abandoned close's error when the frame could not go out in time
// (the loop's own bound replaces the close's timer ct, which would race it).
func (c *Conn) closeOnceWritten(ct *closeTimer) error {
	if lc := c.lc.Load(); lc != nil {
		done := make(chan error, 1)
		if lc.closeWhenSent(false, minCloseWrite, done) {
			ct.stop()
			t := time.NewTimer(minCloseWrite + closeTimeout) // a loop that never runs the drain's timer
			defer t.Stop()
			select {
			case err := <-done:
				return err
			case <-t.C:
				c.closeSocketNow()
				return &closedError{err: errCloseAbandoned}
			}
		}
	}
	c.closeSocket()
	return nil
}

// sendCloseFrame sends our close frame once. With wait > 0 (failing a
// connection) the frame gets that long if the peer stopped reading
// (closeTimer), and the socket is then closed.
func (c *Conn) sendCloseFrame(code StatusCode, reason string, wait time.Duration) (err error) {
	if wait > 0 {
		defer c.closeSocketAfter(wait).stop()
		c.flags.set(flagCloseTimed)
	}
	if hook := testHookBeforeCloseFrame.Load(); hook != nil {
		(*hook)()
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if wait > 0 {
		// The library's own close frame (an echo, a failure's): a write
		// timeout it is told of is no caller's yet, and stays for the
		// next send or Flush (takeWriteError).
		defer func() {
			if isTimeout(err) {
				c.rareState().writeErr = err
			}
		}()
	}
	if c.closeSent {
		// Claimed by another goroutine, maybe still waiting to be
		// written (a close of ours that crossed the server's): the
		// socket's close after we return must not cut it off. Sent, or
		// not and never to be (the Conn closed before it went out).
		for !c.flags.has(flagCloseWritten | flagClosed) {
			c.writeCond().Wait()
		}
		if c.flags.has(flagCloseWritten) {
			return nil
		}
		return c.closedCause()
	}
	if err := c.writable(); err != nil {
		return err
	}
	var buf [maxControlPayload]byte
	// writeLocked marks the close as sent, also when the write fails.
	return c.writeLocked(header{fin: true, opcode: OpClose, masked: true}, appendClosePayload(buf[:0], code, reason), nil, 0)
}

// awaitPeerClose waits until deadline for the server's close frame. When no
// one is reading, it reads (and drops) frames itself; otherwise the active
// reader will see the close frame and signal it. The closer's timer closes
// the socket at the deadline, which ends a read whose deadline a
// per-operation timeout moved later.
func (c *Conn) awaitPeerClose(deadline time.Time) {
	// Stats takes readMu for a moment under peekMu; taking peekMu first
	// keeps that moment from passing for an active reader.
	peekMu := c.peekMu()
	peekMu.Lock()
	locked := c.readMu.TryLock()
	peekMu.Unlock()
	if locked {
		defer c.unlockRead()
		c.netConn.SetReadDeadline(deadline)
		for c.readErr == nil && c.pending == nil {
			if _, _, err := c.recvNext(nil, false); err != nil {
				return
			}
		}
		return
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-c.peerClosedChan():
	case <-t.C:
	}
}

// peerClose handles the peer's close frame: it echoes the code (RFC 6455
// §5.5.1) unless we already sent ours, then closes the socket. The echo
// gets the close timeout: a send stuck on a peer that stopped reading
// would otherwise hold it, and this reader, for good.
func (c *Conn) peerClose(code StatusCode, reason string) *CloseError {
	ce := c.answerPeerClose(code, reason)
	c.closeSocket()
	return ce
}

// answerPeerClose is peerClose without the socket's close: an event loop
// closes it once the echo, and what went before it, is written
// (endWhenSent).
func (c *Conn) answerPeerClose(code StatusCode, reason string) *CloseError {
	c.stats.peerClosed(code)
	c.sendCloseFrame(code, "", closeTimeout)
	c.markPeerClosed()
	return &CloseError{Code: code, Reason: reason}
}

// Abort unblocks every reader and writer at once by closing the socket; no
// close frame is sent (over wss, no TLS close_notify alert either: it
// could wait behind a send). Python's abort.
func (c *Conn) Abort() {
	if c.flags.has(flagClosing) {
		return
	}
	c.closeSocketNow()
}

// Shutdown closes the socket without a close frame. Python's shutdown.
func (c *Conn) Shutdown() error {
	if c.flags.has(flagClosed) {
		return nil
	}
	if err := c.closeSocket(); err != nil {
		return &closedError{err: err}
	}
	return nil
}
