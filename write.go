package websocket

import (
	"errors"
	"io"
	"sync"
	"time"

	"github.com/wsclient/websocket/internal/mask"
	utf8v "github.com/wsclient/websocket/internal/utf8"
)

// Send sends payload as one message with opcode op (OpText payloads must be
// valid UTF-8). A control opcode sends a single control frame. Python's send.
func (c *Conn) Send(payload []byte, op Opcode) error {
	switch {
	case op.IsControl():
		if err := checkControl(true, len(payload), op); err != nil {
			return err
		}
		return c.writeFrame(op, true, false, payload)
	case op == OpText:
		if !utf8v.Valid(payload) {
			return &PayloadError{Reason: "text message is not valid UTF-8"}
		}
	case op != OpBinary:
		return &ProtocolError{Reason: "cannot send a message with " + op.String()}
	}
	c.msgMu.Lock()
	defer c.msgMu.Unlock()
	if c.ext != nil {
		out, compressed, err := c.deflateMessage(&c.zout, payload)
		if err != nil {
			return err
		}
		return c.writeFrame(op, true, compressed, out)
	}
	return c.writeFrame(op, true, false, payload)
}

// SendText sends text as a text message. Python's send_text.
func (c *Conn) SendText(text string) error {
	return c.Send(stringBytes(text), OpText)
}

// SendBinary sends data as a binary message. Python's send_bytes and send_binary.
func (c *Conn) SendBinary(data []byte) error { return c.Send(data, OpBinary) }

// SendFrame sends f as it is, masking its payload with a fresh key when
// f.Masked (f.MaskKey is not used) and unmasked otherwise. It checks only
// what the wire cannot carry (control frames longer than 125 bytes or
// fragmented); the caller owns fragmentation and reserved bits. Data frames
// wait for a NextWriter's message to finish. Python's send_frame.
func (c *Conn) SendFrame(f *Frame) error {
	if f.Opcode > 0xF {
		return &ProtocolError{Reason: "cannot encode " + f.Opcode.String()}
	}
	if f.Opcode.IsControl() {
		if err := checkControl(f.Fin, len(f.Payload), f.Opcode); err != nil {
			return err
		}
	} else {
		c.msgMu.Lock()
		defer c.msgMu.Unlock()
	}
	h := header{fin: f.Fin, rsv1: f.Rsv1, rsv2: f.Rsv2, rsv3: f.Rsv3, opcode: f.Opcode, masked: f.Masked}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if f.Opcode == OpClose && c.writeErr == nil && !c.closeSent {
		defer func() { c.closeSent = true }()
	}
	return c.writeLocked(h, f.Payload)
}

// Ping sends a ping with payload (at most 125 bytes).
func (c *Conn) Ping(payload []byte) error { return c.Send(payload, OpPing) }

// Pong sends an unsolicited pong with payload (at most 125 bytes); pings are
// answered automatically while receiving.
func (c *Conn) Pong(payload []byte) error { return c.Send(payload, OpPong) }

// NextWriter returns a writer that sends one message of type op (OpText or
// OpBinary) as fragments: each time its buffer fills a frame goes out, and
// Close sends the final one. Until Close, other data messages wait; control
// frames may go between the fragments. Streamed messages are sent
// uncompressed even when permessage-deflate is on (RFC 7692 lets each
// message choose). A text message's bytes are checked
// for UTF-8 as they are written.
func (c *Conn) NextWriter(op Opcode) (io.WriteCloser, error) {
	if op != OpText && op != OpBinary {
		return nil, &ProtocolError{Reason: "cannot stream a message with " + op.String()}
	}
	c.msgMu.Lock()
	c.writeMu.Lock()
	err := c.writable()
	c.writeMu.Unlock()
	if err != nil {
		c.msgMu.Unlock()
		return nil, err
	}
	return &messageWriter{c: c, op: op, buf: make([]byte, 0, fragmentSize)}, nil
}

// fragmentSize is how much a NextWriter buffers before sending a fragment.
const fragmentSize = 16 << 10

// messageWriter streams one message for NextWriter.
type messageWriter struct {
	c      *Conn
	op     Opcode // the next frame's opcode: op, then OpContinuation
	buf    []byte
	utf8   utf8v.Validator
	closed bool
	err    error
}

var errWriterClosed = errors.New("websocket: write to a closed message writer")

func (w *messageWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errWriterClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.op == OpText || w.utf8 != (utf8v.Validator{}) {
		if w.utf8.Check(p) >= 0 {
			w.err = &PayloadError{Reason: "text message is not valid UTF-8"}
			return 0, w.err
		}
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
	err := w.c.writeFrame(w.op, fin, false, w.buf)
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
	defer w.c.msgMu.Unlock()
	if w.err != nil {
		return w.err
	}
	if !w.utf8.Done() {
		return &PayloadError{Reason: "text message ends inside a UTF-8 sequence"}
	}
	return w.flush(true)
}

// writeFrame sends one frame; the caller holds msgMu for data frames.
func (c *Conn) writeFrame(op Opcode, fin, rsv1 bool, payload []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.writeLocked(header{fin: fin, rsv1: rsv1, opcode: op, masked: true}, payload)
}

// writable says why no frame can be written, if so; writeMu is held.
func (c *Conn) writable() error {
	if c.writeErr != nil {
		return c.writeErr
	}
	if c.closeSent {
		return &closedError{err: errCloseSent}
	}
	return nil
}

var errCloseSent = errors.New("close frame already sent")

// writeLocked encodes and writes one frame with a single write when it fits
// the buffer, masking while copying (the caller's payload is never touched).
// writeMu is held.
func (c *Conn) writeLocked(h header, payload []byte) error {
	if err := c.writable(); err != nil {
		return err
	}
	if h.masked {
		h.key = c.maskKey()
	}
	h.length = int64(len(payload))
	if d := c.Timeout(); d > 0 {
		c.netConn.SetWriteDeadline(time.Now().Add(d))
	}
	whole := payload
	bp := getWriteBuf(len(payload) + maxHeaderLen)
	b := h.appendTo((*bp)[:0])
	pos := 0
	for {
		k := min(len(payload), cap(b)-len(b))
		start := len(b)
		b = b[:start+k]
		if h.masked {
			pos = mask.Copy(b[start:], payload[:k], h.key, pos) // one pass: copy and mask
		} else {
			copy(b[start:], payload[:k])
		}
		payload = payload[k:]
		if _, err := c.netConn.Write(b); err != nil {
			putWriteBuf(bp)
			// RFC 6455 has no way to resume a half-written frame: a
			// failed or timed-out write ends the connection.
			c.writeErr = c.ioError("write", err)
			c.closeSocket()
			return c.writeErr
		}
		if len(payload) == 0 {
			break
		}
		b = b[:0]
	}
	putWriteBuf(bp)
	if traceOn() {
		traceFrame("send", &h, whole[:min(len(whole), previewLen)])
	}
	return nil
}

// Write buffers are pooled so an idle connection holds none; three sizes
// keep a 16-byte message from taking a 256 KiB buffer.
var writeBufPools = [...]struct {
	size int
	pool sync.Pool
}{{size: 4 << 10}, {size: 32 << 10}, {size: 256 << 10}}

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
			writeBufPools[i].pool.Put(b)
			return
		}
	}
}
