package websocket

import (
	"bytes"
	"errors"
	"io"
	"time"

	utf8v "github.com/wsclient/websocket/internal/utf8"
)

// maxMessageFrames bounds the frames of one message, however it is read
// (whole, streamed by NextReader, or frame by frame with RecvFrame or
// FireContFrame) and whatever the ReadLimit, unlimited included. A peer that
// sends more, even empty ones, gets close 1009 and the read a *PayloadError:
// without it an endless run of empty continuation frames would keep a read
// from ever returning. Frame-by-frame readers would not hang without it
// (each call returns a frame), but one rule for every way of reading is
// simpler to rely on, and no sensible sender cuts a message that finely.
const maxMessageFrames = 131072

// Message is a whole text or binary message.
type Message struct {
	Opcode Opcode
	Data   []byte
}

// Text returns the message's payload as a string.
func (m Message) Text() string { return string(m.Data) }

// Recv returns the next whole text or binary message. Pings are answered
// and a close frame is echoed; the close is then reported as *CloseError.
// The returned Data belongs to the caller. Python's recv.
func (c *Conn) Recv() (Message, error) {
	op, data, err := c.RecvAppend(nil)
	return Message{Opcode: op, Data: data}, err
}

// RecvAppend receives the next whole text or binary message and appends its
// payload to dst, returning the extended slice. It is the zero-allocation way
// to receive: pass the previous result's buf[:0] and, once the buffer has
// grown to the largest message, no call allocates. Control frames are handled
// as by Recv. On error the returned slice is dst; a message cut short by a
// read timeout is kept and completed by the next call.
func (c *Conn) RecvAppend(dst []byte) (Opcode, []byte, error) {
	c.readMu.Lock()
	// A data frame already whole in the buffer, most messages of a
	// stream, is taken without the general path's call and the deferred
	// unlock: at a frame boundary with nothing pending, recvBuffered
	// cannot panic, but for a trace handler's panic, so not while frames
	// are traced. (The condition is written out at each method: as an
	// inlined function returning a bool, it compiles to taken branches.
	// Its results are the general path's variables: of their own, they
	// would add 24 bytes to the frame of every parked reader.)
	var op Opcode
	var out []byte
	if c.atFrameStart() && c.readErr == nil && c.pending == nil && !traceFrames() {
		var ok bool
		if op, out, ok = c.recvBuffered(dst); ok {
			c.unlockRead()
			return op, out, nil
		}
	}
	defer c.unlockRead()
	op, out, err := c.recvWhole(dst, false)
	for err == errWaitMessage { // recvNext, one frame less deep
		if err = c.waitMessage(); err == nil {
			op, out, err = c.recvWhole(dst, false)
		}
	}
	if err != nil {
		return 0, dst, err
	}
	return op, out, nil
}

// RecvData returns the next message as its opcode and payload. With
// controlFrames, ping, pong and close frames are returned too (the replies
// are still sent): a close frame comes back as (OpClose, payload, nil) and the
// next call returns *CloseError. With DialOptions.FireContFrame each fragment
// is returned as it arrives, the first with its opcode and the rest with
// OpContinuation. Python's recv_data.
func (c *Conn) RecvData(controlFrames bool) (Opcode, []byte, error) {
	c.readMu.Lock()
	var op Opcode
	var data []byte
	if !c.fireCont && c.atFrameStart() && c.readErr == nil && c.pending == nil && !traceFrames() { // as RecvAppend
		var ok bool
		if op, data, ok = c.recvBuffered(nil); ok {
			c.unlockRead()
			return op, data, nil
		}
	}
	defer c.unlockRead()
	if c.fireCont {
		op, f, err := c.recvFragment(controlFrames)
		if err != nil {
			return 0, nil, err
		}
		return op, f.Payload, nil
	}
	// No Frame: the payload is the call's only allocation.
	op, data, err := c.recvWhole(nil, controlFrames)
	for err == errWaitMessage { // recvNext, one frame less deep
		if err = c.waitMessage(); err == nil {
			op, data, err = c.recvWhole(nil, controlFrames)
		}
	}
	if err != nil {
		return 0, nil, err
	}
	return op, data, nil
}

// RecvDataFrame is RecvData returning a *Frame: for a whole message its Fin
// is set and Payload holds the message. With FireContFrame the returned
// opcode is the frame's own: the first fragment's opcode, then
// OpContinuation.
func (c *Conn) RecvDataFrame(controlFrames bool) (Opcode, *Frame, error) {
	c.readMu.Lock()
	defer c.unlockRead()
	if c.fireCont {
		return c.recvFragment(controlFrames)
	}
	op, data, err := c.recvNext(nil, controlFrames)
	if err != nil {
		return 0, nil, err
	}
	return op, &Frame{Fin: true, Opcode: op, Payload: data}, nil
}

// recvItem is RecvDataFrame(true) for an App's reader: the frame held by
// value in the item its receive queue keeps, so that a message costs one
// allocation (its payload).
func (c *Conn) recvItem() recvItem {
	if !c.fireCont { // set by the dial, never changed
		op, data, err := c.RecvData(true)
		return recvItem{op: op, fin: true, data: data, err: err}
	}
	c.readMu.Lock()
	defer c.unlockRead()
	op, f, err := c.recvFragment(true)
	if err != nil {
		return recvItem{err: err}
	}
	return recvItem{op: op, fin: f.Fin, data: f.Payload}
}

// RecvFrame returns the next frame as it arrived, validated against the
// protocol rules of RFC 6455 and the read limits but not acted on: pings are
// not answered and close frames not echoed (Python's recv_frame). Use it to
// handle control frames yourself; mixing it with the message-level methods
// is allowed between messages (after a NextReader, it drops what that
// reader left of its message, as every receiving method does). A
// compressed message's frames come as they arrived (Rsv1 set on the
// first); at its last frame the message is inflated, held to the read
// limit and checked for UTF-8 as by Recv, and the output dropped, so that
// later messages that refer to it inflate. After the server's close frame
// the next receive returns *CloseError: nothing the server sends after its
// close is delivered.
func (c *Conn) RecvFrame() (*Frame, error) {
	c.readMu.Lock()
	defer c.unlockRead()
	start := c.startRead
	if c.flags.has(flagStreamMsg) {
		start = c.startMessage // a NextReader's message: its rest is dropped
	}
	if err := start(); err != nil {
		return nil, err
	}
	return c.recvFrame()
}

// startRead is the start-up every receiving call shares: the error that
// ends reading, if any, then the per-operation read deadline, except during
// a close bounded by its own timer, whose deadline it would cut short (the
// timer closes the socket when the close's time is up). readMu is held.
func (c *Conn) startRead() error {
	if err := c.readable(); err != nil {
		return err
	}
	if d := c.Timeout(); d > 0 && !c.flags.has(flagCloseTimed) {
		if !c.flags.has(flagTimeoutRead) {
			c.flags.set(flagTimeoutRead)
		}
		c.netConn.SetReadDeadline(time.Now().Add(d))
	}
	return nil
}

// startMessage prepares to read a new message: it drops the rest of a
// message a NextReader left unread. readMu is held.
func (c *Conn) startMessage() error {
	if err := c.startRead(); err != nil {
		return err
	}
	c.stashed = false
	if c.flags.has(flagStreamMsg) {
		c.flags.clear(flagStreamMsg)
	}
	if !c.inMessage() {
		return nil
	}
	c.readGen++ // the rest is dropped: a NextReader's reader of it fails from now on
	var scratch []byte
	for c.inMessage() {
		if !c.inData {
			if _, _, err := c.advance(false); err != nil {
				return err
			}
			continue
		}
		// Read and dropped, the rest is checked as if it were read: a
		// text message that is not UTF-8 fails the connection (1007).
		if scratch == nil {
			scratch = make([]byte, 4<<10)
		}
		if _, err := c.readData(scratch); err != nil {
			return err
		}
	}
	return nil
}

// errWaitMessage is recvWhole's answer when no byte of the next message
// has arrived: its caller waits (waitMessage) and calls it again.
var errWaitMessage = errors.New("websocket: no message buffered")

// waitMessage waits for bytes when none are buffered. Callers wait with it
// near the top of their stack, so that an idle connection's goroutine fits
// in its initial 2 KiB stack. readMu is held.
func (c *Conn) waitMessage() error {
	if c.fr.buffered() == 0 {
		if err := c.fr.fill(!c.inCtrl && c.fr.dec.hdrN == 0); err != nil {
			return c.readFailed(err)
		}
	}
	return nil
}

// recvNext is recvWhole that waits for the message's first bytes itself,
// near the top of the stack: a connection's goroutine waiting for its next
// message then fits in its initial 2 KiB stack. RecvAppend and RecvData
// have its loop written out, which saves them its frame. readMu is held.
func (c *Conn) recvNext(dst []byte, wantControl bool) (Opcode, []byte, error) {
	op, out, err := c.recvWhole(dst, wantControl)
	for err == errWaitMessage {
		if err = c.waitMessage(); err == nil {
			op, out, err = c.recvWhole(dst, wantControl)
		}
	}
	return op, out, err
}

// recvWhole reads a whole message, appending it to dst. With wantControl it
// returns at a control frame (a partly read message is kept for the next
// call). It returns errWaitMessage, having read nothing, when it would have
// to wait for the message's first bytes. readMu is held.
func (c *Conn) recvWhole(dst []byte, wantControl bool) (Opcode, []byte, error) {
	// The fast path does no I/O, so it needs neither the deadline nor the
	// general state machine: only a clean frame boundary.
	atFrame := c.atFrameStart()
	if atFrame && c.readErr == nil && c.pending == nil {
		if op, out, ok := c.recvBuffered(dst); ok {
			return op, out, nil
		}
	}
	start := len(dst)
	own := cap(dst) == 0 // the buffer is the reader's to allocate (keep)
	if c.stashed {
		if err := c.startRead(); err != nil {
			return 0, dst, err
		}
		// The message goes on in the reader's own buffer and reaches a
		// caller's buffer once, whole: copied to it at each call, a
		// message cut by many timeouts would cost the square of its length.
		op, msg, err := c.readMessage(c.takeStash(), 0, true, wantControl)
		switch {
		case err != nil:
			return 0, dst, err
		case own || op.IsControl():
			return op, msg, nil
		}
		return op, append(dst, msg...), nil
	} else if err := c.startMessage(); err != nil {
		return 0, dst, err
	} else if atFrame {
		if c.fr.buffered() == 0 {
			return 0, dst, errWaitMessage
		}
		// Data came in while the caller waited: it may be a whole frame.
		if op, out, ok := c.recvBuffered(dst); ok {
			return op, out, nil
		}
	}
	return c.readMessage(dst, start, own, wantControl)
}

// atFrameStart reports whether the next byte in the buffer starts a frame:
// no message, frame, control frame or header is partly read.
func (c *Conn) atFrameStart() bool {
	return !c.stashed && !c.inMessage() && !c.inCtrl && c.fr.dec.hdrN == 0
}

// recvBuffered is the fast path for the common case: a whole unfragmented,
// uncompressed text or binary frame already in the read buffer is appended
// to dst in one step, without the general state machine. It reports false
// (having consumed nothing) for anything else. readMu is held and the
// buffer is at a frame boundary (atFrameStart).
func (c *Conn) recvBuffered(dst []byte) (Opcode, []byte, bool) {
	b := c.fr.peek()
	n := len(b)
	if n < 2 {
		return 0, dst, false
	}
	// FIN set, RSV clear, opcode text or binary; mask clear.
	op := Opcode(b[0] & 0x0F)
	if b[0]&0xF0 != 0x80 || (op != OpText && op != OpBinary) || b[1]&0x80 != 0 {
		return 0, dst, false
	}
	hn, length := 2, int(b[1]&0x7F)
	switch length {
	case 126:
		if n < 4 {
			return 0, dst, false
		}
		hn, length = 4, int(b[2])<<8|int(b[3])
	case 127:
		return 0, dst, false
	}
	if hn+length > n || c.readLimit >= 0 && int64(length) > c.readLimit {
		return 0, dst, false
	}
	payload := b[hn : hn+length]
	if op == OpText && !c.skipUTF8 && !utf8v.Valid(payload) {
		return 0, dst, false // the general path reports it at the exact byte
	}
	dst = append(dst, payload...)
	c.fr.discard(hn + length)
	c.msgReceived(int64(length))
	if traceFrames() {
		traceFrame("recv", &header{fin: true, opcode: op, length: int64(length)}, tracedPart(payload))
	}
	return op, dst, true
}

// readMessage reads the rest of the current message (or a whole next one),
// appending it to dst, of which dst[start:] is already part of it. own
// says dst is the reader's own allocation, not the caller's.
func (c *Conn) readMessage(dst []byte, start int, own, wantControl bool) (Opcode, []byte, error) {
	for {
		if !c.inData {
			op, p, err := c.advance(wantControl)
			if err != nil {
				c.keep(dst[start:], own, err)
				return 0, dst, err
			}
			if op != 0 {
				c.keep(dst[start:], own, nil)
				return op, bytes.Clone(p), nil
			}
		}
		into, from := &dst, start
		if c.msgZ {
			into, from = &c.ext.in, 0 // inflated whole at the end
		}
		if err := c.readFrameInto(into, from); err != nil {
			c.keep(dst[start:], own, err)
			return 0, dst[:start], err
		}
		if c.msgZ && c.msgOp != 0 {
			// A fragment of a compressed message ended.
			if err := c.inflatePart(&dst); err != nil {
				return 0, dst[:start], err
			}
		}
		if c.msgOp == 0 {
			if c.msgZ {
				c.msgZ = false
				return c.inflate(dst, c.doneOp)
			}
			return c.doneOp, dst, nil
		}
	}
}

// readFrameInto appends the rest of the current data frame's payload to
// *b, of which the bytes from from on are the message's so far (the
// growth counts them). readMu is held.
func (c *Conn) readFrameInto(b *[]byte, from int) error {
	for c.inData {
		if cap(*b) == len(*b) {
			*b = grow(*b, c.growth(len(*b)-from, c.frameHdr.fin))
		}
		n, err := c.readData((*b)[len(*b):cap(*b)])
		*b = (*b)[:len(*b)+n]
		if err != nil {
			return err
		}
	}
	return nil
}

// recvFrame is RecvFrame once the receive has started. readMu is held.
func (c *Conn) recvFrame() (*Frame, error) {
	if !c.inData {
		ev, err := c.nextFrame()
		if err != nil {
			return nil, err
		}
		if ev == readControl {
			p := c.control()
			f := &Frame{Fin: true, Opcode: c.ctrlOp, Payload: bytes.Clone(p)}
			if f.Opcode == OpClose {
				code, reason, err := parseClosePayload(p)
				if err != nil {
					return nil, c.fail(StatusProtocolError, err)
				}
				// The caller answers the close; reading is over, as
				// the server may send nothing after it.
				c.stats.peerClosed(code)
				c.markPeerClosed()
				c.pending = &CloseError{Code: code, Reason: reason}
			}
			return f, nil
		}
	}
	h := c.frameHdr
	data, err := c.readFrameData(c.takeStash())
	if err != nil {
		return nil, err
	}
	if c.msgZ {
		if err := c.checkRaw(data); err != nil {
			return nil, err
		}
	}
	return &Frame{Fin: h.fin, Rsv1: h.rsv1, Rsv2: h.rsv2, Rsv3: h.rsv3, Opcode: h.opcode, Payload: data}, nil
}

// readFrameData reads the rest of the current data frame's payload,
// appending to dst, the reader's own buffer (a timeout keeps it as it is).
// readMu is held.
func (c *Conn) readFrameData(dst []byte) ([]byte, error) {
	if dst == nil {
		dst = []byte{}
	}
	for c.inData {
		if cap(dst) == len(dst) {
			dst = grow(dst, c.growth(len(dst), true))
		}
		n, err := c.readData(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err != nil {
			c.keep(dst, true, err)
			return nil, err
		}
	}
	return dst, nil
}

// advance reads frames until a data frame's payload is ready (c.inData),
// handling control frames on the way: pings are answered, a close frame is
// echoed and reported as *CloseError. With wantControl it returns each
// control frame's opcode and payload (valid until the next read). readMu is
// held.
func (c *Conn) advance(wantControl bool) (Opcode, []byte, error) {
	for !c.inData {
		ev, err := c.nextFrame()
		if err != nil {
			return 0, nil, err
		}
		if ev != readControl {
			break // a data frame began, or an empty one ended
		}
		p, op := c.control(), c.ctrlOp
		switch op {
		case OpPing:
			c.answerPing(p) // RFC 6455 §5.5.2: the same payload
		case OpClose:
			code, reason, err := parseClosePayload(p)
			if err != nil {
				return 0, nil, c.fail(StatusProtocolError, err)
			}
			ce := c.peerClose(code, reason)
			if wantControl {
				c.pending = ce
				return op, p, nil
			}
			c.readErr = ce
			return 0, nil, ce
		}
		if wantControl {
			return op, p, nil
		}
	}
	return 0, nil, nil
}

// nextFrame reads the next frame's header and, for a control frame, its
// payload, resuming either where a timeout cut it short. It returns
// readControl for a whole control frame (c.ctrlOp, c.control()); anything
// else means a data frame began (c.inData) or, being empty, ended. readMu
// is held.
func (c *Conn) nextFrame() (readEvent, error) {
	if !c.inCtrl {
		h, err := c.fr.readHeader()
		if err != nil {
			return readMore, c.readFailed(err)
		}
		ev, code, err := c.step(&c.fr.dec, evHeader, nil, c.ext != nil)
		if err != nil {
			return ev, c.fail(code, err)
		}
		if c.ext != nil && (h.opcode == OpText || h.opcode == OpBinary) {
			c.ext.startMessage()
		}
		if !c.inCtrl {
			return ev, nil
		}
	}
	m := &c.msgReader
	rest := m.ctrlBuf[m.ctrlN:m.ctrlLen]
	n, err := c.fr.readFullPayload(rest)
	ev, _, _ := m.step(&c.fr.dec, evPayload, rest[:n], false) // a control piece cannot fail
	if err != nil {
		return ev, c.readFailed(err)
	}
	return ev, nil
}

// readData reads payload of the current data frame into p and steps the
// message reader with it, which checks it and ends the frame (and message)
// when its payload is done.
func (c *Conn) readData(p []byte) (int, error) {
	n, err := c.fr.readPayload(p)
	if _, code, verr := c.step(&c.fr.dec, evPayload, p[:n], false); verr != nil {
		return n, c.fail(code, verr)
	}
	if err != nil && err != io.EOF {
		return n, c.readFailed(err)
	}
	return n, nil
}

// readFailed handles an error from the socket: a timeout leaves the Conn
// usable; anything else ends it.
func (c *Conn) readFailed(err error) error {
	var perr *ProtocolError
	if errors.As(err, &perr) {
		return c.fail(StatusProtocolError, err)
	}
	err = c.ioError("read", err)
	if isTimeout(err) {
		return err
	}
	c.readErr = err
	c.stats.failed(err)
	c.fr.release()
	c.closeSocket()
	return err
}

// fail ends the connection after a protocol violation by the peer: it sends
// a close frame with code (RFC 6455 §7.1.7), closes the socket, and makes
// err the answer to every later read.
func (c *Conn) fail(code StatusCode, err error) error {
	c.readErr = err
	c.stats.failed(err)
	c.sendCloseFrame(code, "", 100*time.Millisecond)
	c.markPeerClosed()
	c.fr.release()
	c.closeSocket()
	return err
}
