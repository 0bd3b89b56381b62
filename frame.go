package websocket

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wsclient/websocket/internal/mask"
	utf8v "github.com/wsclient/websocket/internal/utf8"
)

// Opcode is the frame type (RFC 6455 §5.2).
type Opcode uint8

// The opcodes defined by RFC 6455 §11.8.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// String returns the opcode's lower-case name, or "opcode(0xN)" for an
// undefined one.
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
	return "opcode(0x" + strconv.FormatUint(uint64(op), 16) + ")"
}

// IsControl reports whether op is a control opcode (close, ping, pong, or a
// reserved control opcode 0xB–0xF): RFC 6455 §5.5.
func (op Opcode) IsControl() bool { return op >= 0x8 && op <= 0xF }

// Valid reports whether op is one of the six opcodes RFC 6455 defines.
func (op Opcode) Valid() bool {
	switch op {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
		return true
	}
	return false
}

// maxControlPayload is the largest payload of a control frame (RFC 6455 §5.5).
const maxControlPayload = 125

// Frame is one RFC 6455 frame. Payload is always the unmasked application
// data: AppendTo masks a copy of it when Masked is set.
//
// The payload length is not a field: it is len(Payload). AppendTo encodes it
// in the shortest form (RFC 6455 §5.2); frames received with a length in a
// longer form than needed (5 in the 16-bit or 64-bit form) are accepted, and
// a 64-bit length with its top bit set is a *ProtocolError.
type Frame struct {
	Fin              bool
	Rsv1, Rsv2, Rsv3 bool
	Opcode           Opcode
	Masked           bool    // the mask bit; frames a client sends are masked
	MaskKey          [4]byte // the key AppendTo masks with when Masked
	Payload          []byte
}

// NewFrame returns a client frame (Masked, with a fresh unpredictable mask
// key) carrying payload. Python's ABNF.create_frame.
func NewFrame(payload []byte, op Opcode, fin bool) *Frame {
	f := &Frame{Fin: fin, Opcode: op, Masked: true, Payload: payload}
	f.MaskKey = newMaskKey()
	return f
}

// Validate checks f against the protocol rules of RFC 6455 that a single
// frame can be judged by: reserved bits (no extension is assumed), the
// opcode, control frame length and fragmentation, the close payload (code
// and UTF-8 reason), and, unless skipUTF8Validation, the UTF-8 of a text
// frame: a final text frame must be complete UTF-8, a first fragment must be
// a valid prefix. It returns a *ProtocolError or a *PayloadError.
func (f *Frame) Validate(skipUTF8Validation bool) error {
	if f.Rsv1 || f.Rsv2 || f.Rsv3 {
		return &ProtocolError{Reason: "reserved bits set without a negotiated extension"}
	}
	if !f.Opcode.Valid() {
		return &ProtocolError{Reason: "unknown " + f.Opcode.String()}
	}
	if f.Opcode.IsControl() {
		if err := checkControl(f.Fin, int64(len(f.Payload)), f.Opcode); err != nil {
			return err
		}
		if f.Opcode == OpClose {
			_, _, err := parseClosePayload(f.Payload)
			return err
		}
		return nil
	}
	if f.Opcode == OpText && !skipUTF8Validation {
		if f.Fin && !utf8v.Valid(f.Payload) {
			return &PayloadError{Reason: "invalid UTF-8 in text frame"}
		}
		if !f.Fin {
			var v utf8v.Validator
			if v.Check(f.Payload) >= 0 {
				return &PayloadError{Reason: "invalid UTF-8 in text frame"}
			}
		}
	}
	return nil
}

func checkControl(fin bool, n int64, op Opcode) error {
	if !fin {
		return &ProtocolError{Reason: "fragmented " + op.String() + " frame"}
	}
	if n > maxControlPayload {
		return &ProtocolError{Reason: op.String() + " frame payload of " + strconv.FormatInt(n, 10) + " bytes exceeds 125"}
	}
	return nil
}

// parseClosePayload decodes a close frame's payload (RFC 6455 §5.5.1). An
// empty payload gives StatusNoStatusReceived.
func parseClosePayload(p []byte) (StatusCode, string, error) {
	switch {
	case len(p) == 0:
		return StatusNoStatusReceived, "", nil
	case len(p) == 1:
		return 0, "", &ProtocolError{Reason: "close frame payload of 1 byte"}
	}
	code := StatusCode(binary.BigEndian.Uint16(p))
	if !code.sendable() {
		return 0, "", &ProtocolError{Reason: "invalid close code " + strconv.Itoa(int(code))}
	}
	if !utf8v.Valid(p[2:]) {
		return 0, "", &ProtocolError{Reason: "close reason is not valid UTF-8"}
	}
	return code, string(p[2:]), nil
}

// appendClosePayload appends the payload of a close frame for code and reason.
func appendClosePayload(dst []byte, code StatusCode, reason string) []byte {
	if code == StatusNoStatusReceived {
		return dst
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}

// AppendTo appends f's wire encoding to dst: the header, then the payload,
// masked with MaskKey when Masked. Python's ABNF.format. An opcode that is
// not one of the six RFC 6455 defines is refused with a *ProtocolError, and
// dst is returned unchanged; AppendTo checks nothing else, use Validate to
// check the other rules.
func (f *Frame) AppendTo(dst []byte) ([]byte, error) {
	if !f.Opcode.Valid() {
		return dst, &ProtocolError{Reason: "cannot encode " + f.Opcode.String()}
	}
	h := header{fin: f.Fin, rsv1: f.Rsv1, rsv2: f.Rsv2, rsv3: f.Rsv3, opcode: f.Opcode,
		masked: f.Masked, key: f.MaskKey, length: int64(len(f.Payload))}
	dst = h.appendTo(dst)
	n := len(dst)
	dst = append(dst, f.Payload...)
	if f.Masked {
		mask.Apply(f.MaskKey, 0, dst[n:])
	}
	return dst, nil
}

// String returns a one-line description for debugging, such as
// `fin=true opcode=text len=5 payload="hello"`.
func (f *Frame) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fin=%t opcode=%s", f.Fin, f.Opcode)
	if f.Rsv1 || f.Rsv2 || f.Rsv3 {
		fmt.Fprintf(&b, " rsv=%d%d%d", b2i(f.Rsv1), b2i(f.Rsv2), b2i(f.Rsv3))
	}
	if f.Masked {
		b.WriteString(" masked")
	}
	fmt.Fprintf(&b, " len=%d payload=%s", len(f.Payload), payloadPreview(f.Opcode, f.Payload))
	return b.String()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// previewLen is how much of a payload String and the trace show.
const previewLen = 64

// payloadPreview quotes text (and printable data) and shows other payloads in
// hex, cut to previewLen bytes.
func payloadPreview(op Opcode, p []byte) string {
	cut := p
	if len(cut) > previewLen {
		cut = cut[:previewLen]
	}
	var s string
	if op == OpClose && len(p) >= 2 {
		s = strconv.Itoa(int(binary.BigEndian.Uint16(p))) + " " + strconv.Quote(string(p[2:min(len(p), previewLen)]))
	} else if op == OpBinary || !utf8.Valid(cut) && len(cut) == len(p) {
		s = fmt.Sprintf("%x", cut)
	} else {
		s = strconv.Quote(string(cut))
	}
	if len(p) > previewLen {
		s += "…"
	}
	return s
}

// Mask applies the RFC 6455 §5.3 mask to b in place. Applying it twice with
// the same key restores b. Python's ABNF.mask.
func Mask(key [4]byte, b []byte) { mask.Apply(key, 0, b) }

// newMaskKey returns an unpredictable mask key for frames built outside a
// Conn (NewFrame).
func newMaskKey() (k [4]byte) {
	crand.Read(k[:])
	return k
}
