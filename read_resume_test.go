package websocket_test

import (
	"bytes"
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
