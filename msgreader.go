package websocket

import (
	"math"
	"strconv"

	utf8v "github.com/wsclient/websocket/internal/utf8"
)

// msgReader is a connection's receiving state: the message, data frame and
// control frame being read, the protocol rules and read limits applied to
// them, and what a call cut short keeps for the next one.
//
// It does no I/O. It is fed what the push decoder (framecodec.go) makes of
// the bytes received — a header, then pieces of the frame's payload — one
// step at a time, and answers with what they complete: a piece of message
// data, the end of a data frame or of a message, a whole control frame, or
// the peer's violation with the close code to fail the connection with. The
// receiving methods (read.go) drive it from the connection's read buffer
// and act on its answers (a pong, the close handshake); bytes pushed
// through a decoder in pieces of any size drive it just as well
// (TestMsgReaderPushed), with no socket under it.
type msgReader struct {
	readLimit int64 // bytes per message, < 0 = unlimited
	skipUTF8  bool

	// The message, guarded by Conn.readMu like the rest.
	inData  bool   // a data frame's payload is being read (frameHdr)
	inCtrl  bool   // a control frame's payload is being read (ctrlOp, ctrlLen)
	msgZ    bool   // the message is compressed (RSV1 on its first frame)
	stashed bool   // aside.stash holds part of the message (keep)
	msgOp   Opcode // opcode of the message being received, 0 = none
	doneOp  Opcode // opcode of the last message whose final frame was read
	msgUTF8 utf8v.Validator

	// Between calls, and read by every call as it starts.
	readErr error       // sticky: the connection can no longer be read
	pending *CloseError // a close frame returned to the caller; the next call reports it

	// The control frame whose payload is being read: checkHeader let only
	// a final one of at most 125 bytes through, so its opcode and length
	// are all of its header there is to keep.
	ctrlOp   Opcode
	ctrlLen  uint8
	ctrlN    uint8      // bytes of the control frame's payload in ctrlBuf
	frames   uint32     // data frames of the message so far, the current one included
	frameHdr header     // the data frame whose payload is being read
	msgLen   int64      // payload bytes of the message in frames before frameHdr
	aside    *readAside // made when a call is cut short or tracing needs a preview

	// ctrlBuf holds a control frame's payload. It is allocated at the
	// first control frame: most connections never get one, and a smaller
	// Conn keeps idle connections small.
	ctrlBuf *[maxControlPayload]byte

	readGen uint64 // invalidates a NextReader's reader when the next message starts

	stats *connStats // the Conn's counters (stats.go); nil counts nothing

	// Data messages received since the counters were last published
	// (publishIn): plain fields of the reader's own, on the cache line
	// of the read buffer's offsets (TestCountersLayout), which the
	// reader writes at every message anyway. Elsewhere, even one line
	// away, the two adds cost 2 ns per message (9% of a 16-byte
	// message received from memory).
	inMsgs, inBytes uint64
}

// readEvent is what a msgReader.step completed.
type readEvent uint8

const (
	readMore     readEvent = iota // nothing yet: feed the decoder's next output
	readData                      // the piece is data of the current frame, which goes on
	readFrameEnd                  // the piece (perhaps none) ends a data frame; its message goes on
	readMsgEnd                    // the piece (perhaps none) ends the message: doneOp
	readControl                   // a whole control frame: ctrlOp and control()
)

// step feeds the reader one output of d: a header (evHeader, in d.h), or a
// piece of the current frame's payload (evPayload, already unmasked, with
// d.remaining bytes of the frame still to come). deflate says that
// permessage-deflate was negotiated. An error is the peer's violation:
// the connection must fail with code (RFC 6455 §7.1.7).
func (m *msgReader) step(d *decoder, ev decodeEvent, piece []byte, deflate bool) (readEvent, StatusCode, error) {
	switch {
	case ev == evHeader:
		if code, err := m.checkHeader(d.h, deflate); err != nil {
			return readMore, code, err
		}
		return m.begin(d.h)
	case ev != evPayload:
		return readMore, 0, nil
	case m.inCtrl:
		return m.controlPiece(piece, d.remaining), 0, nil
	}
	if code, err := m.checkData(piece, d.remaining); err != nil {
		return readData, code, err
	}
	if d.remaining > 0 {
		return readData, 0, nil
	}
	return m.endFrame()
}

// wireLimit is how many bytes a message may bring on the wire under the
// read limit: the limit itself, and for a compressed message an eighth
// more, what DEFLATE may add to data that does not compress (nine bits a
// byte at worst in fixed Huffman codes; stored blocks add 5 bytes per
// 64 KiB), so that a message within the limit is not refused for its
// compressed size. The inflated size is held to the limit itself.
func wireLimit(limit int64, compressed bool) int64 {
	if !compressed || limit > math.MaxInt64/2 {
		return limit
	}
	return limit + limit/8 + 64
}

// checkHeader applies RFC 6455's rules and the read limits to a frame header
// before any of its payload is read.
func (m *msgReader) checkHeader(h header, deflate bool) (StatusCode, error) {
	var reason string
	var before int64 // the message's bytes before this frame: none for a first frame
	if h.opcode == OpContinuation {
		before = m.msgLen
	}
	switch {
	case h.rsv1 && (!deflate || h.opcode.IsControl() || h.opcode == OpContinuation):
		// RFC 7692 §6.1: RSV1 marks the first frame of a compressed message.
		reason = "RSV1 set without a negotiated extension or on a " + h.opcode.String() + " frame"
	case h.rsv2 || h.rsv3:
		reason = "reserved bits set without a negotiated extension"
	case !h.opcode.Valid():
		reason = "unknown " + h.opcode.String()
	case h.masked:
		// RFC 6455 §5.1: a client must close on a masked frame.
		reason = "masked frame from the server"
	case h.opcode.IsControl():
		if err := checkControl(h.fin, h.length, h.opcode); err != nil {
			return StatusProtocolError, err
		}
		return 0, nil
	case h.opcode == OpContinuation && m.msgOp == 0:
		reason = "continuation frame without a message to continue"
	case h.opcode != OpContinuation && m.msgOp != 0:
		reason = "new " + h.opcode.String() + " frame inside a fragmented message"
	case h.opcode == OpContinuation && m.frames >= maxMessageFrames:
		return StatusMessageTooBig, &PayloadError{Reason: "message of more than " +
			strconv.Itoa(maxMessageFrames) + " frames"}
	case m.readLimit >= 0 && h.length > wireLimit(m.readLimit, h.rsv1 || h.opcode == OpContinuation && m.msgZ)-before:
		// Checked before reading the payload: no byte of an oversized
		// message is buffered. As before <= the wire limit, the
		// difference cannot overflow; the sum of two lengths below
		// 2^63 could, and would let any frame through.
		return StatusMessageTooBig, &PayloadError{Reason: "message of " + lengthString(before) +
			" + " + lengthString(h.length) + " bytes exceeds the read limit of " + lengthString(m.readLimit)}
	default:
		return 0, nil
	}
	return StatusProtocolError, &ProtocolError{Reason: reason}
}

// begin records a validated header; an empty frame ends at once.
func (m *msgReader) begin(h header) (readEvent, StatusCode, error) {
	if h.opcode.IsControl() {
		m.ctrlOp, m.ctrlLen, m.inCtrl, m.ctrlN = h.opcode, uint8(h.length), true, 0 // checkHeader: ≤ 125
		if m.ctrlBuf == nil {
			m.ctrlBuf = new([maxControlPayload]byte)
		}
		if h.length == 0 {
			return m.controlPiece(nil, 0), 0, nil
		}
		return readMore, 0, nil
	}
	if h.opcode == OpContinuation {
		m.frames++
	} else {
		m.msgOp, m.msgLen, m.msgZ, m.frames = h.opcode, 0, h.rsv1, 1
		m.msgUTF8.Reset()
		m.readGen++ // a NextReader's reader of an earlier message takes nothing of this one
	}
	m.frameHdr, m.inData = h, true
	if m.aside != nil {
		m.aside.preview = m.aside.preview[:0]
	}
	if h.length == 0 {
		return m.endFrame()
	}
	return readData, 0, nil
}

// controlPiece adds a piece of the control frame's payload; remaining is
// what the frame still brings after it.
func (m *msgReader) controlPiece(p []byte, remaining int64) readEvent {
	m.ctrlN += uint8(copy(m.ctrlBuf[m.ctrlN:m.ctrlLen], p)) // the decoder gives no more than the frame's length
	if remaining > 0 {
		return readMore
	}
	m.inCtrl = false
	if traceFrames() {
		traceFrame("recv", &header{fin: true, opcode: m.ctrlOp, length: int64(m.ctrlLen)}, m.control())
	}
	m.stats.controlReceived(m.ctrlOp, m.control())
	return readControl
}

// checkData checks a piece of the current data frame's payload as it
// arrives (UTF-8 of an uncompressed text message) and keeps the trace's
// preview; remaining is what the frame still brings after it.
func (m *msgReader) checkData(p []byte, remaining int64) (StatusCode, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if m.msgOp == OpText && !m.skipUTF8 && !m.msgZ {
		if i := m.msgUTF8.Check(p); i >= 0 {
			// The offset counts bytes received: the frame's
			// declared length may be near 2^63.
			at := m.msgLen + (m.frameHdr.length - remaining) - int64(len(p)-i)
			return StatusInvalidPayload, &PayloadError{Reason: "invalid UTF-8 in text message at byte " +
				lengthString(at)}
		}
	}
	if traceFrames() {
		m.keepPreview(p)
	}
	return 0, nil
}

// keepPreview adds the start of p to the trace's preview of the frame,
// up to tracedLen bytes.
func (m *msgReader) keepPreview(p []byte) {
	a := m.asideState()
	if a.preview == nil {
		a.preview = make([]byte, 0, tracedLen)
	}
	if b := a.preview; len(b) < tracedLen {
		a.preview = append(b, p[:min(len(p), tracedLen-len(b))]...)
	}
}

// previewBytes returns the trace's preview of the frame.
func (m *msgReader) previewBytes() []byte {
	if m.aside == nil {
		return nil
	}
	return m.aside.preview
}

// readAside is what a reader keeps only after a call was cut short, or
// while frames are traced: most readers never make it (asideState).
type readAside struct {
	stash   []byte // part of a message or frame read before a call was interrupted (keep)
	preview []byte // the trace's preview of the data frame being read
}

// asideState returns the reader's readAside, making it if need be.
func (m *msgReader) asideState() *readAside {
	if m.aside == nil {
		m.aside = new(readAside)
	}
	return m.aside
}

// endFrame closes the current data frame and, after its final frame, the
// message.
func (m *msgReader) endFrame() (readEvent, StatusCode, error) {
	h := &m.frameHdr
	m.inData = false
	m.msgLen += h.length
	m.frameReceived(h.length, m.msgZ)
	if traceFrames() {
		traceFrame("recv", h, m.previewBytes())
	}
	if !h.fin {
		return readFrameEnd, 0, nil
	}
	op := m.msgOp
	m.msgOp, m.doneOp = 0, op
	if op == OpText && !m.skipUTF8 && !m.msgZ && !m.msgUTF8.Done() {
		return readMsgEnd, StatusInvalidPayload, &PayloadError{Reason: "text message ends inside a UTF-8 sequence"}
	}
	if !m.msgZ {
		m.msgAccepted() // a compressed one once inflated and checked
	}
	return readMsgEnd, 0, nil
}

// control returns the payload of the control frame step last completed,
// valid until the next step.
func (m *msgReader) control() []byte { return m.ctrlBuf[:m.ctrlN] }

// inMessage reports whether a message is partly read.
func (m *msgReader) inMessage() bool { return m.msgOp != 0 || m.inData }

// readable returns the error that ends reading, if any: a close frame
// returned to the caller is reported once, then stays.
func (m *msgReader) readable() error {
	if m.pending != nil {
		ce := m.pending
		m.pending = nil
		m.readErr = ce
		return ce
	}
	return m.readErr
}

// keep saves a partly received message or frame when the call was cut short
// by a timeout (or returns at a control frame), so the next call completes
// it. Any other error ends the connection and drops it. A buffer the
// reader allocated itself (own) is kept as it is: a message cut by many
// timeouts then costs no copy per call, where copying would cost the
// square of its length.
func (m *msgReader) keep(part []byte, own bool, err error) {
	if err != nil && !isTimeout(err) || !m.inMessage() {
		return
	}
	if !own {
		part = append([]byte(nil), part...) // the caller's buffer is the caller's
	}
	m.asideState().stash, m.stashed = part, true
}

// takeStash hands over a kept partial message, nil if none: the caller's
// buffer for the rest of the message is then the kept one itself.
func (m *msgReader) takeStash() []byte {
	if !m.stashed {
		return nil
	}
	part := m.aside.stash // stashed: keep made it
	m.aside.stash, m.stashed = nil, false
	return part
}
