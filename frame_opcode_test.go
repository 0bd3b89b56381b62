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

// Send, and an App's Send, take the opcodes of a message or a control
// frame only: a reserved opcode, or one with bits above the frame's four
// (0x19 would go out as a ping, 0x88 as a close), is a *ProtocolError, as
// is a close payload that may not be sent (1 byte, a code such as 1005 or
// 999, a reason that is not UTF-8); nothing goes out, and the Conn stays
// open.
func TestSendUnknownOpcode(t *testing.T) {
	c, sc := pipeConn(t, &websocket.DialOptions{Timeout: testTimeout})
	bad := []struct {
		op      websocket.Opcode
		payload string
	}{
		{0, "x"}, {3, "x"}, {7, "x"}, {0xB, "x"}, {0xF, "x"}, {0x10, "x"}, {0x19, "x"}, {0x81, "x"}, {0x88, "\x03\xe8"},
		{websocket.OpClose, "x"}, {websocket.OpClose, "\x03\xed"}, {websocket.OpClose, "\x03\xe7"}, {websocket.OpClose, "\x03\xe8\xff"},
	}
	for _, tc := range bad {
		err := c.Send([]byte(tc.payload), tc.op)
		var pe *websocket.ProtocolError
		if !errors.As(err, &pe) {
			t.Fatalf("Send(%q, %v) = %v (%T), want a *ProtocolError", tc.payload, tc.op, err, err)
		}
		checkPrefix(t, err)
	}
	if err := c.Send([]byte("\x03\xe8bye"), websocket.OpPing); err != nil {
		t.Fatal(err)
	}
	// Nothing else went out: the next frame the server reads is the ping.
	wantFrame(t, sc, 0x9, "\x03\xe8bye")
	if !c.Connected() {
		t.Fatal("a refused Send closed the Conn")
	}
	if err := c.Send([]byte("\x0f\xa0done"), websocket.OpClose); err != nil {
		t.Fatalf("Send of a valid close payload: %v", err)
	}
	wantFrame(t, sc, 0x8, "\x0f\xa0done")
}
