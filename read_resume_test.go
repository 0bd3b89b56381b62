package websocket_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestRecvAppendResumesInsideHeaderOrControlFrame cuts the stream where
// what follows the cut looks like a whole frame of its own: the rest of a
// header whose length bytes read as a header, or the rest of a ping whose
// payload does. After the read timeout the next RecvAppend must carry on
// with the frame it was in, not take the bytes for a new frame.
func TestRecvAppendResumesInsideHeaderOrControlFrame(t *testing.T) {
	big := bytes.Repeat([]byte{'b'}, 0x8200) // length bytes 0x82 0x00: a binary frame header
	bigFrame := wstest.AppendFrame(nil, true, 0x2, big)
	ping := wstest.AppendFrame(nil, true, 0x9, []byte{0x82, 0x01, 'x', 'y'})
	tests := []struct {
		name     string
		wire     []byte
		cut      int
		want     []byte
		wantPong []byte
	}{
		{name: "inside the extended length", wire: bigFrame, cut: 2, want: big},
		{name: "inside a ping's payload", wire: append(ping, wstest.AppendFrame(nil, true, 0x2, []byte("after"))...),
			cut: 2, want: []byte("after"), wantPong: []byte{0x82, 0x01, 'x', 'y'}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, sc := pipeConn(t, nil)
			sc.WriteRaw(tc.wire[:tc.cut])
			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if _, _, err := c.RecvAppend(nil); !isTimeout(err) {
				t.Fatalf("first RecvAppend err = %v, want a timeout", err)
			}
			sc.WriteRaw(tc.wire[tc.cut:])
			c.SetReadDeadline(time.Now().Add(testTimeout))
			op, got, err := c.RecvAppend(nil)
			if err != nil || op != websocket.OpBinary || !bytes.Equal(got, tc.want) {
				t.Fatalf("RecvAppend after the timeout = %v, %d bytes, %v; want binary %d bytes", op, len(got), err, len(tc.want))
			}
			if tc.wantPong != nil {
				wantFrame(t, sc, 0xA, string(tc.wantPong))
			}
		})
	}
}

// TestNextReaderResumesAfterTimeout: NextReader inflates a compressed
// message whole before returning it, and Recv reads a message whole; when a
// read timeout cuts either short, the next NextReader goes on with that
// message and returns all of it, rather than dropping what was read.
func TestNextReaderResumesAfterTimeout(t *testing.T) {
	msg := jsonText(5000, 9)
	for _, tc := range []struct {
		name       string
		compressed bool
		first      func(c *websocket.Conn) error
	}{
		{"compressed, NextReader then NextReader", true, func(c *websocket.Conn) error { _, _, err := c.NextReader(); return err }},
		{"Recv then NextReader", false, func(c *websocket.Conn) error { _, err := c.Recv(); return err }},
		{"compressed, Recv then NextReader", true, func(c *websocket.Conn) error { _, err := c.Recv(); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c *websocket.Conn
			var sc *wstest.Conn
			wire := wstest.AppendFrame(nil, true, 0x1, msg)
			if tc.compressed {
				// Not deflatePipe: its Timeout would replace the deadline.
				c, sc = pipeConnHeader(t, &websocket.DialOptions{Compression: &websocket.CompressionOptions{}},
					http.Header{"Sec-Websocket-Extensions": {"permessage-deflate; server_no_context_takeover"}})
				wire = wstest.AppendFrameRsv(nil, true, 4, 0x1, serverDeflate(t, false)(msg))
			} else {
				c, sc = pipeConn(t, nil)
			}
			cut := len(wire) / 2
			sc.WriteRaw(wire[:cut])
			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if err := tc.first(c); !isTimeout(err) {
				t.Fatalf("first call err = %v, want a timeout", err)
			}
			sc.WriteRaw(wire[cut:])
			c.SetReadDeadline(time.Now().Add(testTimeout))
			op, r, err := c.NextReader()
			if err != nil || op != websocket.OpText {
				t.Fatalf("NextReader after the timeout = %v, %v; want text", op, err)
			}
			if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("the message read after the timeout: %d bytes, %v; want %d bytes", len(got), err, len(msg))
			}
		})
	}
}
