package websocket

import (
	"bufio"
	"encoding/binary"
	"io"
	"math"
	"strconv"
	"sync"

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
// input, unmasked in place. An event loop feeding non-blocking sockets uses it
// directly; frameReader drives it from a bufio.Reader.
type decoder struct {
	hdr       [maxHeaderLen]byte // a header split across feeds
	hdrN      int
	h         header // the current frame's header, valid while inFrame
	inFrame   bool
	frames    uint32 // data frames of the current message so far, this one included (start)
	remaining int64  // payload bytes of the current frame not yet delivered
	maskPos   int
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
// the frame's payload follows on later calls; d.frameDone reports its end.
func (d *decoder) feed(p []byte) (n int, ev decodeEvent, payload []byte, err error) {
	if d.inFrame && d.remaining > 0 {
		k := len(p)
		if int64(k) > d.remaining {
			k = int(d.remaining)
		}
		if k == 0 {
			return 0, evNone, nil, nil
		}
		payload = p[:k]
		if d.h.masked {
			d.maskPos = mask.Apply(d.h.key, d.maskPos, payload)
		}
		d.remaining -= int64(k)
		return k, evPayload, payload, nil
	}
	d.inFrame = false
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
		if d.hdrN >= 2 && d.hdrN == headerLen(d.hdr[0], d.hdr[1]) {
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

// start begins a frame. It counts the data frames of a message: a text or
// binary frame starts the count at 1, a continuation frame adds 1, a control
// frame leaves it alone. The Conn bounds the count (maxMessageFrames), so it
// never wraps.
func (d *decoder) start(h header) {
	switch {
	case h.opcode == OpContinuation:
		d.frames++
	case !h.opcode.IsControl():
		d.frames = 1
	}
	d.h = h
	d.inFrame = true
	d.remaining = h.length
	d.maskPos = 0
}

// frameDone reports whether the current frame's payload has been delivered.
func (d *decoder) frameDone() bool { return d.remaining == 0 }

// frameReader reads frames from a buffered stream with the decoder. It keeps
// all state between calls, so a call cut short by a read deadline resumes
// where it stopped.
//
// Its buffer adapts to the traffic. A new connection waits for its first
// bytes with a minimal reader, so an idle connection holds no buffer. Then
// it gets its own small reader (readBufferSize), which is all a lightly
// used connection needs.
// When a read fills it completely the peer is sending faster than we read,
// and one read system call per few KiB would dominate the cost of small and
// medium messages; the next read then goes through a large pooled reader
// stacked on the small one. When reads come back short again (the flood is
// over, or we are about to wait for a new frame after a short read), the
// large reader goes back to the pool, so a connection only holds it while
// data is streaming in. Stacking keeps the byte order without copying: a
// reader is swapped only when the top one is empty, and a large reader
// reads through the small one, which hands over what it still holds and
// otherwise reads the socket straight into the large buffer.
type frameReader struct {
	br    *bufio.Reader // the top reader: frames are read from it
	small *bufio.Reader // the connection's own reader while br is a pooled large one
	last  int           // bytes the last fill of br brought in; 0 after a direct read
	sock  io.Reader     // what reads the socket once data has arrived (connSocket)
	dec   decoder
}

const (
	// largeReadBufferSize is the pooled reader used while data streams in:
	// big enough that read system calls stop mattering for small messages.
	largeReadBufferSize = 64 << 10

	// directReadMin is the shortest payload read that bypasses the large
	// buffer and goes straight from the socket into the caller's slice: long
	// payloads are then copied once, not twice. Shorter ones go through the
	// buffer, which also picks up the frames behind them in the same read.
	directReadMin = 16 << 10
)

// largeReaders holds the large readers of connections that are not
// streaming. A reader in the pool reads from nothing.
var largeReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, largeReadBufferSize) }}

// fill reads more bytes into r.br, which is empty, first choosing the
// reader for the traffic seen so far. atBoundary says no frame or header is
// in progress: a reader whose last fill was short is then likely to wait.
func (r *frameReader) fill(atBoundary bool) error {
	if r.small == nil {
		if r.last == r.br.Size() && r.last < largeReadBufferSize && r.last >= readBufferSize {
			r.grow()
		}
	} else if r.last < r.small.Size() || atBoundary && r.last < r.br.Size() {
		r.shrink()
	}
	if _, err := r.br.Peek(1); err != nil {
		r.last = 0
		return err
	}
	if r.br.Size() < readBufferSize {
		r.own()
	}
	r.last = r.br.Buffered()
	return nil
}

// own gives a connection whose first bytes have arrived its own reader of
// readBufferSize, stacked on the minimal one it waited with
// (newReadBuffer), and moves those bytes up into it, which takes no read.
// It is out of line like grow.
//
//go:noinline
func (r *frameReader) own() {
	r.br = bufio.NewReaderSize(r.br, readBufferSize)
	r.br.Peek(1)
}

// grow stacks a pooled large reader on the empty small one. It is out of
// line to keep fill's frame, which is on the stack of every blocked reader,
// small.
//
//go:noinline
func (r *frameReader) grow() {
	large := largeReaders.Get().(*bufio.Reader)
	large.Reset(r.br)
	r.small, r.br = r.br, large
}

// shrink returns the empty large reader to the pool.
//
//go:noinline
func (r *frameReader) shrink() {
	large := r.br
	r.br, r.small = r.small, nil
	large.Reset(nil)
	largeReaders.Put(large)
}

// release returns a large reader to the pool when the connection is done
// reading; whatever it still buffers is dropped.
func (r *frameReader) release() {
	if r.small != nil {
		r.br.Discard(r.br.Buffered())
		r.shrink()
	}
}

// readHeader reads the next frame header. It must be called only when the
// previous frame's payload has been read.
func (r *frameReader) readHeader() (header, error) {
	for {
		if r.br.Buffered() == 0 {
			if err := r.fill(r.dec.hdrN == 0); err != nil {
				return header{}, err
			}
		}
		b, _ := r.br.Peek(r.br.Buffered())
		n, ev, _, err := r.dec.feed(b)
		r.br.Discard(n)
		if err != nil {
			return header{}, err
		}
		if ev == evHeader {
			return r.dec.h, nil
		}
	}
}

// readPayload reads up to len(p) bytes of the current frame's payload,
// unmasking them. It returns io.EOF when the payload is complete. Long
// reads go straight from the socket into p.
func (r *frameReader) readPayload(p []byte) (int, error) {
	if r.dec.remaining == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.dec.remaining {
		p = p[:r.dec.remaining]
	}
	br := r.br
	if br.Buffered() == 0 {
		switch {
		case len(p) >= directReadMin:
			// A long payload: read straight into p, and (as last = 0
			// says) keep the small buffer for the headers of such frames,
			// whose payload would otherwise be copied twice.
			if r.small != nil {
				// The small reader hands over what it holds, else
				// (being shorter than p) reads the socket into p.
				br = r.small
			}
			r.last = 0
		case r.small == nil && len(p) >= br.Size() && r.last < br.Size():
			// bufio reads straight into p, the socket not having kept up
			// with us at the last fill.
		default:
			if err := r.fill(false); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return 0, err
			}
			br = r.br
		}
	}
	n, err := br.Read(p)
	if n > 0 {
		r.dec.feed(p[:n]) // unmasks and counts; consumes exactly n
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// readFullPayload reads the rest of the current frame's payload into p,
// which must have room for it.
func (r *frameReader) readFullPayload(p []byte) (int, error) {
	total := 0
	for r.dec.remaining > 0 {
		n, err := r.readPayload(p[total:])
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// discardPayload skips the rest of the current frame's payload.
func (r *frameReader) discardPayload() error {
	for r.dec.remaining > 0 {
		n, err := r.br.Discard(int(min(r.dec.remaining, 1<<20)))
		r.dec.remaining -= int64(n)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// lengthString formats a frame length for errors.
func lengthString(n int64) string { return strconv.FormatInt(n, 10) }
