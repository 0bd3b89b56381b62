package websocket_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/wsclient/websocket"
)

// AppendTo and SendFrame encode only the six opcodes RFC 6455 defines: any
// other is a *ProtocolError, and nothing is appended or sent.
func TestUnknownOpcodeRefused(t *testing.T) {
	for op := range websocket.Opcode(0x12) {
		t.Run(op.String(), func(t *testing.T) {
			f := &websocket.Frame{Fin: true, Opcode: op, Payload: []byte("x")}
			dst := make([]byte, 3, 64)
			copy(dst, "pre")
			out, err := f.AppendTo(dst)
			if op.Valid() {
				if err != nil || len(out) != 3+2+1 || string(out[:3]) != "pre" {
					t.Fatalf("AppendTo = % x, %v", out, err)
				}
				return
			}
			var pe *websocket.ProtocolError
			if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "websocket: ") {
				t.Fatalf("AppendTo error = %v (%T), want a *ProtocolError", err, err)
			}
			if len(out) != 3 || &out[0] != &dst[0] || !bytes.Equal(dst[:cap(dst)], append([]byte("pre"), make([]byte, 61)...)) {
				t.Fatalf("AppendTo returned % x and wrote % x, want dst unchanged", out, dst[:cap(dst)])
			}
		})
	}
}

func TestSendFrameUnknownOpcode(t *testing.T) {
	c, sc := pipeConn(t, &websocket.DialOptions{Timeout: testTimeout})
	for _, op := range []websocket.Opcode{3, 7, 0xB, 0xF, 0x10} {
		err := c.SendFrame(websocket.NewFrame([]byte("bad"), op, true))
		var pe *websocket.ProtocolError
		if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "websocket: ") {
			t.Fatalf("SendFrame(%v) = %v (%T), want a *ProtocolError", op, err, err)
		}
	}
	// Nothing went out: the next frame the server reads is this one.
	if err := c.SendFrame(websocket.NewFrame([]byte("good"), websocket.OpText, true)); err != nil {
		t.Fatal(err)
	}
	wantFrame(t, sc, 0x1, "good")
}
