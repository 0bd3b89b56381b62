// NextWriter: a message sent as a stream of fragments.

package websocket

import (
	"errors"
	"io"
	"time"

	utf8v "github.com/wsclient/websocket/internal/utf8"
)

// NextWriter returns a writer that sends one message of type op (OpText or
// OpBinary) as fragments: each time its buffer fills a frame goes out, and
// Close sends the final one. Until Close, other data messages wait; control
// frames may go between the fragments. With permessage-deflate the message
// is compressed as it streams (RSV1 on its first frame, RFC 7692 §6.1),
// unless it closes before the first fragment with fewer bytes than the
// threshold. A text message's bytes are checked for UTF-8 as they are
// written.
func (c *Conn) NextWriter(op Opcode) (io.WriteCloser, error) {
	if op != OpText && op != OpBinary {
		return nil, &ProtocolError{Reason: "cannot stream a message with " + op.String()}
	}
	if err := c.lockMsg(); err != nil {
		return nil, err
	}
	c.writeMu.Lock()
	err := c.writable()
	c.writeMu.Unlock()
	if err == nil && c.flags.has(flagClosed) { // closed by Abort or Shutdown, with nothing written since
		err = c.closedCause()
	}
	if err != nil {
		c.unlockMsg()
		return nil, err
	}
	return &messageWriter{c: c, op: op, text: op == OpText, buf: make([]byte, 0, fragmentSize)}, nil
}

// fragmentSize is how much a NextWriter buffers before sending a fragment.
const fragmentSize = 16 << 10

// messageWriter streams one message for NextWriter.
type messageWriter struct {
	c       *Conn
	op      Opcode // the next frame's opcode: op, then OpContinuation
	text    bool   // a text message: every byte written is UTF-8-checked
	buf     []byte
	utf8    utf8v.Validator
	deflate bool // the message is being compressed
	zIn     int  // bytes compressed that no frame sent has carried yet (Stats counts them with the frame)
	closed  bool
	err     error
}

var errWriterClosed = errors.New("websocket: write to a closed message writer")

func (w *messageWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errWriterClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.text && w.utf8.Check(p) >= 0 {
		return 0, w.refuse("text message is not valid UTF-8")
	}
	n := 0
	for len(p) > 0 {
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(false); err != nil {
				return n, err
			}
		}
		k := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+k]
		p = p[k:]
		n += k
	}
	return n, nil
}

func (w *messageWriter) flush(fin bool) error {
	c := w.c
	first := w.op != OpContinuation
	if first && c.ext != nil && !(fin && len(w.buf) < c.ext.threshold) {
		w.deflate = true
	}
	payload := w.buf
	if w.deflate {
		// Compressed output lags its input (the flate writer buffers), so
		// a fragment may have nothing to carry yet; it then waits, and the
		// first frame sent is the one with RSV1.
		out, err := c.ext.compressor().AppendPart(c.ext.out[:0], w.buf)
		if err == nil && fin {
			out, err = c.ext.compressor().Finish(out)
		}
		if err != nil {
			// The compressor's stream is broken, and with context
			// takeover so is every later message: end the connection.
			w.err = err
			c.Abort()
			return err
		}
		c.ext.out = out
		w.zIn += len(w.buf)
		w.buf = w.buf[:0]
		if fin {
			c.compressorUsed()
		}
		if len(out) == 0 && !fin {
			return nil
		}
		c.stats.deflated(w.zIn, len(out))
		w.zIn = 0
		payload = out
	}
	err := c.waitSendRoom()
	if err == nil {
		err = c.writeFrame(w.op, fin, w.deflate && first, payload, 0)
	}
	w.op = OpContinuation
	w.buf = w.buf[:0]
	if err != nil {
		w.err = err
	}
	return err
}

// Close sends the final fragment and lets other messages go.
func (w *messageWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	defer w.c.unlockMsg()
	if w.err != nil {
		return w.err
	}
	if !w.utf8.Done() {
		return w.refuse("text message ends inside a UTF-8 sequence")
	}
	return w.flush(true)
}

// refuse ends the message on invalid text: nothing of it is sent when no
// fragment went out yet, and the compressor forgets what it took of it. When fragments are on the wire already, the
// message can no longer end validly, so the connection ends with 1011 (a
// condition that prevented us from fulfilling the exchange, RFC 6455
// §7.4.1) rather than leave the server inside a message that never ends.
func (w *messageWriter) refuse(reason string) error {
	w.err = &PayloadError{Reason: reason}
	switch {
	case w.op == OpContinuation:
		w.c.sendCloseFrame(StatusInternalError, "", 100*time.Millisecond)
		w.c.closeSocket()
	case w.deflate:
		// The compressor took the message's start but sent none of
		// it: it must not come out at the start of the next message.
		w.c.ext.compressor().Abandon()
	}
	return w.err
}
