package websocket

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/wsclient/websocket/internal/mask"
)

// header is a decoded frame header (RFC 6455 §5.2).
type header struct {
	fin, rsv1, rsv2, rsv3 bool
	opcode                Opcode
	masked                bool
	key                   [4]byte
	length                int64
}

// maxHeaderLen is the longest frame header: 2 bytes, an 8-byte length, a key.
const maxHeaderLen = 14

// appendTo appends the encoded header to dst.
func (h *header) appendTo(dst []byte) []byte {
	b0 := byte(h.opcode & 0xF)
	if h.fin {
		b0 |= 0x80
	}
	if h.rsv1 {
		b0 |= 0x40
	}
	if h.rsv2 {
		b0 |= 0x20
	}
	if h.rsv3 {
		b0 |= 0x10
	}
	var b1 byte
	if h.masked {
		b1 = 0x80
	}
	switch {
	case h.length <= 125:
		dst = append(dst, b0, b1|byte(h.length))
	case h.length <= math.MaxUint16:
		dst = append(dst, b0, b1|126, byte(h.length>>8), byte(h.length))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(h.length))
	}
	if h.masked {
		dst = append(dst, h.key[:]...)
	}
	return dst
}

// headerLen returns the full header length announced by its first two bytes.
func headerLen(b0, b1 byte) int {
	n := 2
	switch b1 & 0x7F {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// parseHeader decodes the header at the start of b. It returns n == 0 and a
// nil error when b does not yet hold the whole header.
//
// A length in a longer encoding than it needs (5 in the 16-bit or the 64-bit
// form) is accepted: RFC 6455 §5.2 asks the sender for the minimal encoding,
// and the length it gives is no less exact for being long. A 64-bit length
// with its most significant bit set, which RFC 6455 §5.2 forbids, is a
// *ProtocolError: every length decoded fits in an int64 and is not negative.
func parseHeader(b []byte) (h header, n int, err error) {
	if len(b) < 2 {
		return h, 0, nil
	}
	n = headerLen(b[0], b[1])
	if len(b) < n {
		return h, 0, nil
	}
	h.fin = b[0]&0x80 != 0
	h.rsv1 = b[0]&0x40 != 0
	h.rsv2 = b[0]&0x20 != 0
	h.rsv3 = b[0]&0x10 != 0
	h.opcode = Opcode(b[0] & 0xF)
	h.masked = b[1]&0x80 != 0
	p := 2
	switch l := b[1] & 0x7F; l {
	case 126:
		h.length = int64(binary.BigEndian.Uint16(b[2:]))
		p = 4
	case 127:
		u := binary.BigEndian.Uint64(b[2:])
		if u>>63 != 0 {
			// RFC 6455 §5.2: the most significant bit MUST be 0.
			return h, 0, &ProtocolError{Reason: "64-bit payload length with the top bit set"}
		}
		h.length = int64(u)
		p = 10
	default:
		h.length = int64(l)
	}
	if h.masked {
		copy(h.key[:], b[p:p+4])
	}
	return h, n, nil
}

// decoder is a push-style frame decoder: bytes are fed as they arrive, in
// pieces of any size, and it reports headers and payload pieces. It never
// allocates and never buffers payload: payload pieces are sub-slices of the
// input, unmasked in place. frameReader (readbuf.go) drives it from the
// connection's read buffer.
type decoder struct {
	hdrN      uint8              // bytes of hdr used, first: a frame starts when it is 0
	maskPos   uint8              // position in the mask key, 0-3
	hdr       [maxHeaderLen]byte // a header split across feeds
	h         header             // the current frame's header
	remaining int64              // payload bytes of the current frame not yet delivered; > 0 only after a header
}

// decodeEvent says what decoder.feed produced.
type decodeEvent uint8

const (
	evNone    decodeEvent = iota // all input consumed, nothing complete
	evHeader                     // a header was decoded: d.h, d.remaining
	evPayload                    // a piece of payload (may be the frame's last)
)

// feed consumes bytes from p and returns how many it used, what it found,
// and for evPayload the piece of payload (a sub-slice of p). After evHeader
// the frame's payload follows on later calls, until d.remaining is 0.
func (d *decoder) feed(p []byte) (n int, ev decodeEvent, payload []byte, err error) {
	if d.remaining > 0 {
		k := len(p)
		if int64(k) > d.remaining {
			k = int(d.remaining)
		}
		if k == 0 {
			return 0, evNone, nil, nil
		}
		payload = p[:k]
		if d.h.masked {
			d.maskPos = uint8(mask.Apply(d.h.key, int(d.maskPos), payload))
		}
		d.remaining -= int64(k)
		return k, evPayload, payload, nil
	}
	if d.hdrN == 0 {
		// Fast path: the whole header is in p.
		h, hn, err := parseHeader(p)
		if err != nil {
			return 0, evNone, nil, err
		}
		if hn > 0 {
			d.start(h)
			return hn, evHeader, nil, nil
		}
	}
	// Slow path: collect the header byte by byte across feeds.
	for n < len(p) {
		d.hdr[d.hdrN] = p[n]
		d.hdrN++
		n++
		if d.hdrN >= 2 && int(d.hdrN) == headerLen(d.hdr[0], d.hdr[1]) {
			h, _, err := parseHeader(d.hdr[:d.hdrN])
			d.hdrN = 0
			if err != nil {
				return n, evNone, nil, err
			}
			d.start(h)
			return n, evHeader, nil, nil
		}
	}
	return n, evNone, nil, nil
}

// start begins a frame.
func (d *decoder) start(h header) {
	d.h = h
	d.remaining = h.length
	d.maskPos = 0
}

// lengthString formats a frame length for errors.
func lengthString(n int64) string { return strconv.FormatInt(n, 10) }
