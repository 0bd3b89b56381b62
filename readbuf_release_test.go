package websocket

import (
	"bytes"
	"testing"
	"time"
)

// TestReadBufferGivenBack checks that a connection that has received and
// waits for its next message holds no read buffer: it went back to the pool
// when the read ended at a frame boundary. The wait is cut short by a
// deadline, after which the connection must still read on.
func TestReadBufferGivenBack(t *testing.T) {
	c, s := tcpPair(t)
	conn := newConn(c, nil, &DialOptions{})
	defer conn.Abort()
	for i := range 3 {
		msg := bytes.Repeat([]byte{byte('a' + i)}, 100*(i+1))
		wire := (&header{fin: true, opcode: OpBinary, length: int64(len(msg))}).appendTo(nil)
		s.Write(append(wire, msg...))
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if op, p, err := conn.RecvAppend(nil); err != nil || op != OpBinary || !bytes.Equal(p, msg) {
			t.Fatalf("message %d: RecvAppend = %v, %d bytes, %v", i, op, len(p), err)
		}
		conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, _, err := conn.RecvAppend(nil); !isTimeout(err) {
			t.Fatalf("waiting for message %d: %v, want a timeout", i+1, err)
		}
		if conn.fr.buf != nil {
			t.Fatalf("after message %d: a %d-byte read buffer held while waiting", i, len(conn.fr.buf))
		}
	}
}
