//go:build !wsclient_nostats

package websocket

// frameSent counts a frame given to the socket or its write queue;
// writeMu is held.
func (c *Conn) frameSent(op Opcode, fin bool, payload []byte) {
	s := c.stats
	switch op {
	case OpText, OpBinary, OpContinuation:
		if fin {
			c.outMsgs++
		}
		c.outBytes += uint64(len(payload))
	case OpPing:
		s.pingsOut.Add(1)
		s.pingSent(payload)
	case OpPong:
		s.pongsOut.Add(1)
	}
}

// controlUnsent takes back a ping or pong that frameSent counted and whose
// own write failed.
func (s *connStats) controlUnsent(op Opcode) {
	switch op {
	case OpPing:
		s.pingsOut.Add(^uint64(0))
	case OpPong:
		s.pongsOut.Add(^uint64(0))
	}
}

// publishOut makes the data sent since the last publish visible to Stats
// without writeMu: the writer calls it before each socket write. writeMu
// is held.
func (c *Conn) publishOut() (msgs, bytes uint64) {
	if c.outMsgs|c.outBytes != 0 {
		msgs, bytes = c.outMsgs, c.outBytes
		c.stats.out.add(msgs, bytes)
		c.outMsgs, c.outBytes = 0, 0
	}
	return msgs, bytes
}

// unpublishOut takes back what publishOut published for a socket write
// that failed, and what was counted since: those messages did not go out,
// and none will now (the failure closes the Conn). writeMu is held.
func (c *Conn) unpublishOut(msgs, bytes uint64) {
	if msgs|bytes != 0 {
		c.stats.out.sub(msgs, bytes)
	}
	c.outMsgs, c.outBytes = 0, 0
}

// msgReceived counts a data message of one frame, with n payload bytes on
// the wire, that arrived whole and was accepted.
func (m *msgReader) msgReceived(n int64) {
	m.inMsgs++
	m.inBytes += uint64(n)
}

// frameReceived counts a data frame that arrived whole, with n payload
// bytes on the wire, of a compressed message when z: its bytes count as
// it ends, its message once accepted (msgAccepted).
func (m *msgReader) frameReceived(n int64, z bool) {
	m.inBytes += uint64(n)
	if z && m.stats != nil {
		m.stats.more.get().zWireIn.Add(uint64(n))
	}
}

// msgAccepted counts a data message whose final frame arrived (and, when
// compressed, that inflated within the limits and, for text, to UTF-8).
func (m *msgReader) msgAccepted() { m.inMsgs++ }

// publishIn makes the data received since the last publish visible to
// Stats without readMu: the reader calls it before it waits for the
// socket, and the event loop after each read it decoded. readMu is held.
func (m *msgReader) publishIn() {
	if m.inMsgs|m.inBytes != 0 && m.stats != nil {
		m.stats.in.add(m.inMsgs, m.inBytes)
		m.inMsgs, m.inBytes = 0, 0
	}
}

// controlReceived counts a whole control frame that arrived.
func (s *connStats) controlReceived(op Opcode, payload []byte) {
	if s == nil {
		return
	}
	switch op {
	case OpPing:
		s.pingsIn.Add(1)
	case OpPong:
		s.pongsIn.Add(1)
		s.pongReceived(payload)
	}
}

// deflated counts a piece of a message compressed for sending: in bytes
// of payload became out bytes for the wire.
func (s *connStats) deflated(in, out int) {
	m := s.more.get()
	m.zPayloadOut.Add(uint64(in))
	m.zWireOut.Add(uint64(out))
}

// undeflated takes back what deflated counted for a message whose write
// failed.
func (s *connStats) undeflated(in, out int) {
	m := s.more.get()
	m.zPayloadOut.Add(-uint64(in))
	m.zWireOut.Add(-uint64(out))
}

// inflated counts what a compressed message received inflated to (its
// frames' wire bytes were counted as they arrived: frameReceived).
func (s *connStats) inflated(out int64) {
	s.more.get().zPayloadIn.Add(uint64(out))
}

// publishIn publishes the received counts of the Conn whose socket r
// reads, before r reads it.
func (r *frameReader) publishIn() {
	if s, ok := r.src.(*connSocket); ok {
		s.msgReader.publishIn()
	}
}
