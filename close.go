package websocket

import (
	"time"

	utf8v "github.com/wsclient/websocket/internal/utf8"
)

// closeTimeout is how long Close waits for the server's close frame.
const closeTimeout = 3 * time.Second

// Close performs the closing handshake with StatusNormal: it sends a close
// frame, waits up to 3 s for the server's, then closes the socket. It
// returns nil once the close frame was sent, and nil on later calls.
//
// If another goroutine is receiving, that reader sees the server's close
// frame (and every message before it). If not, Close reads until the close
// frame itself and drops the data messages it passes, as Python's close
// does: to keep them, send the close with SendClose and go on receiving
// until the *CloseError.
func (c *Conn) Close() error { return c.CloseWith(StatusNormal, "", closeTimeout) }

// CloseWith is Close with a status code, a reason (at most 123 bytes of
// UTF-8) and the time to wait for the server's close frame. A code that may
// not be sent (1005, 1006, 1015, or outside 1000–1003, 1007–1014 and
// 3000–4999) is an error: nothing is sent and the Conn stays open.
func (c *Conn) CloseWith(code StatusCode, reason string, timeout time.Duration) error {
	if err := checkClose(code, reason); err != nil {
		return err
	}
	if c.closed.Load() {
		return nil
	}
	if err := c.sendCloseFrame(code, reason, 0); err != nil {
		c.closeSocket()
		if c.closed.Load() {
			return nil
		}
		return err
	}
	c.awaitPeerClose(timeout)
	c.closeSocket()
	return nil
}

// SendClose sends a close frame and returns without waiting for the answer
// or closing the socket. Python's send_close.
func (c *Conn) SendClose(code StatusCode, reason string) error {
	if err := checkClose(code, reason); err != nil {
		return err
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

// sendCloseFrame sends our close frame once. With wait > 0 (failing a
// connection) the write gets at most that long.
func (c *Conn) sendCloseFrame(code StatusCode, reason string, wait time.Duration) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.closeSent {
		return nil
	}
	if err := c.writable(); err != nil {
		return err
	}
	if wait > 0 {
		c.netConn.SetWriteDeadline(time.Now().Add(wait))
	}
	var buf [maxControlPayload]byte
	// writeLocked marks the close as sent, also when the write fails.
	return c.writeLocked(header{fin: true, opcode: OpClose, masked: true}, appendClosePayload(buf[:0], code, reason), nil)
}

// awaitPeerClose waits up to timeout for the server's close frame. When no
// one is reading, it reads (and drops) frames itself; otherwise the active
// reader will see the close frame and signal it.
func (c *Conn) awaitPeerClose(timeout time.Duration) {
	if timeout <= 0 {
		return
	}
	deadline := time.Now().Add(timeout)
	if c.readMu.TryLock() {
		defer c.readMu.Unlock()
		c.netConn.SetReadDeadline(deadline)
		for c.readErr == nil && c.pending == nil {
			if _, _, err := c.recvWhole(nil, false); err != nil {
				return
			}
		}
		return
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.peerClosedChan():
	case <-t.C:
	}
}

// peerClose handles the peer's close frame: it echoes the code (RFC 6455
// §5.5.1) unless we already sent ours, then closes the socket.
func (c *Conn) peerClose(code StatusCode, reason string) *CloseError {
	c.sendCloseFrame(code, "", 0)
	c.markPeerClosed()
	c.closeSocket()
	return &CloseError{Code: code, Reason: reason}
}

// Abort unblocks every reader and writer at once by closing the socket; no
// close frame is sent. Python's abort.
func (c *Conn) Abort() {
	c.closeSocket()
}

// Shutdown closes the socket without a close frame. Python's shutdown.
func (c *Conn) Shutdown() error {
	if c.closed.Load() {
		return nil
	}
	if err := c.closeSocket(); err != nil {
		return &closedError{err: err}
	}
	return nil
}
