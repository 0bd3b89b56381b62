package wstest

import (
	"encoding/binary"
	"fmt"
)

// Opcode is a frame's opcode (RFC 6455 §5.2). The package has its own type
// so that it does not import the client library: the library's own tests
// can use it too. Convert with wstest.Opcode(websocket.OpText) and
// websocket.Opcode(op) where both are in play.
type Opcode byte

// The opcodes RFC 6455 defines; any other value from 0 to 15 can be sent
// and is reported as received.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// String returns "text", "binary" and so on, or "opcode(0xN)".
func (op Opcode) String() string {
	switch op {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return fmt.Sprintf("opcode(0x%x)", byte(op))
}

// Frame is one frame, as the server read it or is to write it.
//
// For writing, nothing is checked: any opcode, RSV bits, a mask (which a
// server must not send) and a declared length that differs from the
// payload can be sent, to see how a client copes.
type Frame struct {
	Fin              bool
	Rsv1, Rsv2, Rsv3 bool
	Opcode           Opcode
	Masked           bool
	MaskKey          [4]byte // the key read, or the key to mask with when Masked
	Payload          []byte  // always unmasked
	// Length is the payload length the header declares. ReadFrame sets it.
	// For writing, 0 declares len(Payload); any other value is declared
	// as it is while Payload is still written whole, so a header can
	// promise more (or fewer) bytes than follow.
	Length uint64
}

// AppendTo appends the frame's wire bytes to dst and returns the result.
func (f Frame) AppendTo(dst []byte) []byte {
	b0 := byte(f.Opcode)&0xF | bit(f.Fin, 0x80) | bit(f.Rsv1, 0x40) | bit(f.Rsv2, 0x20) | bit(f.Rsv3, 0x10)
	b1 := bit(f.Masked, 0x80)
	n := f.Length
	if n == 0 {
		n = uint64(len(f.Payload))
	}
	switch {
	case n <= 125:
		dst = append(dst, b0, b1|byte(n))
	case n <= 0xFFFF:
		dst = append(dst, b0, b1|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, n)
	}
	if !f.Masked {
		return append(dst, f.Payload...)
	}
	dst = append(dst, f.MaskKey[:]...)
	start := len(dst)
	dst = append(dst, f.Payload...)
	for i := range f.Payload {
		dst[start+i] ^= f.MaskKey[i%4]
	}
	return dst
}

func bit(set bool, b byte) byte {
	if set {
		return b
	}
	return 0
}

// CloseStatus decodes a close frame's payload: the status code and the
// reason, or 0 and "" when the payload is shorter than two bytes.
func (f Frame) CloseStatus() (code uint16, reason string) {
	if len(f.Payload) < 2 {
		return 0, ""
	}
	return binary.BigEndian.Uint16(f.Payload), string(f.Payload[2:])
}

// closePayload returns a close frame's payload: code, then reason; code 0
// gives an empty payload (a close frame without a status).
func closePayload(code uint16, reason string) []byte {
	if code == 0 {
		return nil
	}
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}
