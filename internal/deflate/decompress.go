package deflate

import (
	"bytes"
	"errors"
	"sync"
)

// ErrTooLarge is returned when a message inflates to more than the limit.
// The Conn answers it with close code 1009 (RFC 6455 §7.4.1).
var ErrTooLarge = errors.New("websocket: decompressed message exceeds the read limit")

// ErrInvalidData is wrapped by the error for a payload that is not valid
// DEFLATE data. The Conn fails the connection (RFC 7692 §8, code 1007).
var ErrInvalidData = errors.New("websocket: invalid compressed data")

// endOfMessage is what the receiver appends to a message: the sync flush
// tail the sender removed (RFC 7692 §7.2.2), then an empty final stored
// block, at whose end the decoder stops.
var endOfMessage = [...]byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// TailRoom is the spare capacity past a message's bytes that lets
// DecompressSpare put the end of the stream there rather than in a copy.
const TailRoom = len(endOfMessage)

// syncFlush is what a sync flush ends with: an empty stored block, byte
// aligned. A sender that flushes at the end of each fragment of a message
// (as streaming compressors do) ends every fragment but the last with it.
var syncFlush = [...]byte{0x00, 0x00, 0xff, 0xff}

// inflaters holds the decoders, whose Huffman tables (about 26 KB) a
// connection needs only while it decodes a message.
var inflaters = sync.Pool{New: func() any { return new(fastInflater) }}

// Decompressor inflates the compressed messages of one connection, one at a
// time; it is not safe for concurrent use. The Conn must pass it every
// compressed message (even one nobody reads): with context takeover the
// next message may refer to its bytes.
type Decompressor struct {
	size     int  // window in bytes
	takeover bool // keep history between messages
	// hist is the output so far, the newest byte last; the window is
	// its last size bytes. It is kept contiguous so that the decoder
	// copies matches straight out of it, and it has room for size/2 more
	// bytes, so that the window moves back to its start once per size/2
	// bytes of output rather than being copied at every message (a ring
	// buffer would have to be made contiguous for the decoder at every
	// message, or split every match that wraps).
	// It grows with the output, by doubling from minHist, up to that
	// size, so that a connection that received little holds little.
	hist []byte
	// parted: DecompressPart inflated part of the current message, whose
	// output is then in hist even without context takeover (a message may
	// refer to its own earlier bytes), until Decompress ends the message;
	// partOut bytes of it.
	parted  bool
	partOut int
}

// NewDecompressor returns a Decompressor for messages compressed with a
// window of at most 2^windowBits bytes (0 selects 15). With contextTakeover
// it keeps the last 2^windowBits bytes of output for the next message.
func NewDecompressor(windowBits int, contextTakeover bool) *Decompressor {
	if windowBits == 0 || windowBits > MaxWindowBits {
		windowBits = MaxWindowBits
	}
	windowBits = max(windowBits, MinWindowBits)
	return &Decompressor{size: 1 << windowBits, takeover: contextTakeover}
}

// minHist is the smallest history: 8 KiB, one object per 8 KiB span, so
// that an idle connection's window shares no page with freed garbage. With
// 2 KiB windows, 500 idle connections (bench's zidle, a 1 KiB message each
// way) took 6.2 KiB of heap and 21.1 KiB resident each, with 8 KiB 12.2
// and 17.6 (48 KiB at the first message: 52.6 and 18.2).
const minHist = 8 << 10

// remember adds p, output of the current message, to the history.
func (d *Decompressor) remember(p []byte) {
	if len(p) == 0 {
		return
	}
	full := d.size + d.size/2
	if len(p) >= d.size {
		if cap(d.hist) < full {
			d.hist = make([]byte, 0, full)
		}
		d.hist = append(d.hist[:0], p[len(p)-d.size:]...)
		return
	}
	if len(d.hist)+len(p) > cap(d.hist) {
		// Keep what stays in the window, at the start of a larger
		// history while it grows, else of this one.
		keep := d.hist[len(d.hist)-min(d.size-len(p), len(d.hist)):]
		if cap(d.hist) < full {
			d.hist = make([]byte, 0, min(full, max(minHist, 2*(len(keep)+len(p)))))
		}
		d.hist = d.hist[:copy(d.hist[:len(keep)], keep)]
	}
	d.hist = append(d.hist, p...)
}

// Decompress inflates msg, the whole payload of one compressed message (the
// concatenated payloads of its frames), and appends the result to dst. It
// fails with ErrTooLarge as soon as the output would pass limit bytes
// (limit < 0: no limit), having allocated at most about twice limit bytes
// plus what dst held: dst grows by doubling, capped at the limit. On error
// it returns dst with its length unchanged; its spare capacity may have
// been written.
//
// The decoder reads one contiguous stream with 8-byte loads to its end:
// msg with the tail RFC 7692 §7.2.2 removes (and an empty final block)
// behind it. msg is copied, with the tail, into a buffer that goes back to
// a pool with the decoder (a copy of more than 64 KiB is not kept);
// DecompressSpare saves the copy.
func (d *Decompressor) Decompress(dst, msg []byte, limit int64) ([]byte, error) {
	return d.decompress(dst, msg, limit, false)
}

// DecompressSpare is Decompress for a msg whose spare capacity is the
// caller's own: when it has TailRoom bytes, the tail is written there and
// msg is inflated where it is, without a copy.
func (d *Decompressor) DecompressSpare(dst, msg []byte, limit int64) ([]byte, error) {
	return d.decompress(dst, msg, limit, true)
}

func (d *Decompressor) decompress(dst, msg []byte, limit int64, spare bool) ([]byte, error) {
	start := len(dst)
	out, err := d.run(dst, msg, endOfMessage[:], limit, spare)
	if !d.takeover && d.parted {
		d.hist = nil // the message's own history, which no later one may use
	}
	d.parted, d.partOut = false, 0
	if err == nil && d.takeover {
		d.remember(out[start:])
	}
	return out, err
}

// DecompressPart inflates part, compressed bytes of the current message
// that have arrived and that no call has inflated yet, if they end with
// a sync flush (00 00 ff ff) and are a whole number of blocks: it appends their output to
// dst, which is then the message's next bytes, and reports true. Otherwise
// (part ends within a block, or is not valid without what follows) it
// returns dst unchanged and false, and the bytes are to be passed again,
// with those that follow, to the next DecompressPart or to Decompress,
// which decides whether the message is valid. limit bounds the output as
// for Decompress.
//
// A receiver calls it at the end of each fragment of a message, to check
// the output (a text message's UTF-8) as early as the bytes allow, and
// Decompress with the rest at the message's end, each time with dst ending
// with the output of the parts before: dst grows by doubling the message
// so far, so a message costs about what it would whole, however many parts.
func (d *Decompressor) DecompressPart(dst, part []byte, limit int64) ([]byte, bool) {
	if !EndsWithFlush(part) {
		return dst, false
	}
	start := len(dst)
	out, err := d.run(dst, part, nil, limit, false)
	if err != nil {
		// A block of part ends past its end, or one in it is final:
		// the bytes are not a whole number of blocks at the start of
		// a stream (or they are not valid; Decompress will tell).
		return dst[:start], false
	}
	d.parted = true
	d.partOut += len(out) - start
	d.remember(out[start:])
	return out, true
}

// EndsWithFlush reports whether b ends as a sync flush does (00 00 ff ff):
// whether DecompressPart may inflate it.
func EndsWithFlush(b []byte) bool { return bytes.HasSuffix(b, syncFlush[:]) }

// run inflates msg with end behind it (end nil: msg is a prefix of a
// stream, which may stop between two blocks), taking the window from hist
// when there is context takeover or the message has a part inflated, and
// returns the output appended to dst. With spare, msg's spare capacity may
// take end.
func (d *Decompressor) run(dst, msg, end []byte, limit int64, spare bool) ([]byte, error) {
	f := inflaters.Get().(*fastInflater)
	src := msg
	switch {
	case len(end) == 0:
	case spare && cap(msg)-len(msg) >= len(end):
		src = append(msg, end...) // in msg's spare capacity, the caller's
	default:
		if n := len(msg) + len(end); cap(f.in) < n {
			f.in = make([]byte, 0, n) // one exact allocation, not append's two
		}
		f.in = append(append(f.in[:0], msg...), end...)
		src = f.in
	}
	var hist []byte
	if d.takeover || d.parted {
		hist = d.hist[max(0, len(d.hist)-d.size):]
	}
	// dst holds the output of the message's earlier parts when the
	// caller appends the message to one buffer; a caller that takes each
	// part's output apart (a fragment returned as it arrives) passes a
	// dst without them, and its growth must not count them.
	out, err := f.inflateMsg(dst, hist, src, limit, end == nil, min(d.partOut, len(dst)))
	if cap(f.in) > 64<<10 {
		f.in = nil // a large message's copy is not kept
	}
	inflaters.Put(f)
	return out, err
}

// Release drops the history; call it once when the connection closes. d
// must not be used afterwards.
func (d *Decompressor) Release() {
	d.hist = nil
}
