package wstest

import (
	"net/http"
	"time"
)

// Echo answers the handshake, sends every data message back in one frame
// of the same opcode, answers pings, and answers the client's close frame
// with the same payload, then closes the connection.
func Echo(c *Conn) {
	for {
		op, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := c.WriteMessage(op, data); err != nil || op == OpClose {
			return
		}
	}
}

// Stall reads nothing and writes nothing until the connection is dropped
// (by Drop or Server.Close). Used first, it leaves the handshake
// unanswered, so the client waits in Dial; after Accept (see Script), the
// client's writes fill the buffers and then block, and its pings go
// unanswered.
func Stall(c *Conn) {
	<-c.dropped
}

// Drop closes the connection at once (see Conn.Drop).
func Drop(c *Conn) {
	c.Drop()
}

// Read reads one message, answering pings on the way (see
// Conn.ReadMessage), so that Received records it.
func Read(c *Conn) {
	c.ReadMessage()
}

// Accept returns a handler that answers the handshake with header added
// (see Conn.Accept), for a Script to go on with, for example
//
//	wstest.Script(wstest.Accept(http.Header{"Sec-WebSocket-Protocol": {"chat"}}), wstest.Echo)
func Accept(header http.Header) Handler {
	return func(c *Conn) { c.Accept(header) }
}

// Reject returns a handler that answers the handshake with status, header
// and body and closes the connection (see Conn.Reject).
func Reject(status int, header http.Header, body string) Handler {
	return func(c *Conn) { c.Reject(status, header, body) }
}

// Send returns a handler that sends payload as one final frame of opcode
// op.
func Send(op Opcode, payload []byte) Handler {
	return func(c *Conn) { c.WriteMessage(op, payload) }
}

// SendFrame returns a handler that sends f, which may be invalid (see
// Frame).
func SendFrame(f Frame) Handler {
	return func(c *Conn) { c.WriteFrame(f) }
}

// SendRaw returns a handler that writes b as it is (see Conn.WriteRaw).
// Before the handshake has been answered, b is the answer; put Accept
// first to send raw bytes after a normal one.
func SendRaw(b []byte) Handler {
	return func(c *Conn) { c.WriteRaw(b) }
}

// Sleep returns a handler that waits for d, or until the connection is
// dropped, delaying the steps after it; put first, it delays the
// handshake's answer. In a synctest bubble d passes on the bubble's clock.
func Sleep(d time.Duration) Handler {
	return func(c *Conn) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.dropped:
		}
	}
}

// Close returns a handler that runs the closing handshake with code and
// reason (see Conn.Close).
func Close(code uint16, reason string) Handler {
	return func(c *Conn) { c.Close(code, reason) }
}

// Script returns a handler that runs steps one after the other on the
// connection. It stops early when a read or write fails or the connection
// is closed; after the last step the connection is closed (abruptly,
// unless a step closed it). For example, a server that sends two messages,
// reads one and closes with 1001:
//
//	wstest.Script(
//		wstest.Send(wstest.OpText, []byte("hello")),
//		wstest.Send(wstest.OpBinary, []byte{1, 2, 3}),
//		wstest.Read,
//		wstest.Close(1001, "going away"),
//	)
func Script(steps ...Handler) Handler {
	return func(c *Conn) {
		for _, step := range steps {
			if c.ended() {
				return
			}
			step(c)
		}
	}
}
