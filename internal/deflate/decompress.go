package deflate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
)

// ErrTooLarge is returned when a message inflates to more than the limit.
// The Conn answers it with close code 1009 (RFC 6455 §7.4.1).
var ErrTooLarge = errors.New("websocket: decompressed message exceeds the read limit")

// ErrInvalidData is wrapped by the error for a payload that is not valid
// DEFLATE data. The Conn fails the connection (RFC 7692 §8, code 1007).
var ErrInvalidData = errors.New("websocket: invalid compressed data")

// endOfMessage is what the receiver appends to a message: the sync flush
// tail the sender removed (RFC 7692 §7.2.2), then an empty final stored
// block so that the flate reader ends the message with io.EOF.
var endOfMessage = [...]byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// streamBufSize is the read buffer for a source that is not an io.ByteReader:
// the flate reader reads bit by bit.
const streamBufSize = 4 << 10

// inflater is the pooled, per-message part of decompression.
type inflater struct {
	fr    io.ReadCloser // a flate reader, also a flate.Resetter
	buf   [streamBufSize]byte
	probe [512]byte // Decompress reads here when dst is full, to see whether it must grow

}

var inflaterPool = sync.Pool{New: func() any {
	return &inflater{fr: flate.NewReader(eofReader{})}
}}

// eofReader is an empty source. Being an io.ByteReader it keeps the flate
// reader from allocating a bufio.Reader around it, as it would around nil.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
func (eofReader) ReadByte() (byte, error)  { return 0, io.EOF }

// Decompressor inflates the compressed messages of one connection, one at a
// time; it is not safe for concurrent use. The Conn must read every
// compressed message to its end (discarding it if nobody wants it): with
// context takeover the next message may refer to its bytes.
type Decompressor struct {
	size     int  // window in bytes
	takeover bool // keep history between messages
	// hist is the output so far, the newest byte last; the window is
	// its last size bytes. It is kept contiguous so that begin hands it
	// to the inflater as it is, and it has room for size/2 more bytes, so
	// that the window moves back to its start once per size/2 bytes of
	// output rather than being copied at every message (a ring buffer
	// costs a copy of the whole window per message, 11% of the time of a
	// 1 KiB one).
	hist   []byte
	inf    *inflater
	mem    bytes.Reader // Decompress's input: msg and endOfMessage
	in     []byte       // a copy of Decompress's msg and endOfMessage
	stream streamSource
	reader msgReader
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

// begin takes an inflater and resets it to read src with the history as
// its dictionary.
func (d *Decompressor) begin(src io.Reader) {
	if d.inf == nil {
		d.inf = inflaterPool.Get().(*inflater)
	}
	var dict []byte
	if d.takeover {
		dict = d.hist[max(0, len(d.hist)-d.size):]
	}
	// Reset never fails for a flate reader; it copies dict.
	_ = d.inf.fr.(flate.Resetter).Reset(src, dict)
}

// end returns the inflater to the pool.
func (d *Decompressor) end() {
	if d.inf == nil {
		return
	}
	// Drop the references to the message and its source.
	_ = d.inf.fr.(flate.Resetter).Reset(eofReader{}, nil)
	d.mem.Reset(nil)
	d.stream = streamSource{}
	inflaterPool.Put(d.inf)
	d.inf = nil
}

// remember adds p, output of the current message, to the history.
func (d *Decompressor) remember(p []byte) {
	if !d.takeover || len(p) == 0 {
		return
	}
	if d.hist == nil {
		d.hist = make([]byte, 0, d.size+d.size/2)
	}
	if len(p) >= d.size {
		d.hist = append(d.hist[:0], p[len(p)-d.size:]...)
		return
	}
	if len(d.hist)+len(p) > cap(d.hist) {
		// Move what stays in the window to the start.
		keep := min(d.size-len(p), len(d.hist))
		d.hist = d.hist[:copy(d.hist, d.hist[len(d.hist)-keep:])]
	}
	d.hist = append(d.hist, p...)
}

// Decompress inflates msg, the whole payload of one compressed message (the
// concatenated payloads of its frames), and appends the result to dst. It
// fails with ErrTooLarge as soon as the output would pass limit bytes
// (limit < 0: no limit), having allocated at most about limit bytes plus
// what dst held: dst grows by doubling, capped at the limit.
//
// The input is copied, with endOfMessage (the tail RFC 7692 §7.2.2
// removes, and an empty final block) behind it, into a buffer the
// Decompressor keeps: a *bytes.Reader over one contiguous input is what
// klauspost's inflater decodes fastest (it has a specialised loop for it;
// any other io.ByteReader costs an interface call per byte, about 15% at
// 64 KiB), and the copy costs a few hundred nanoseconds at most.
func (d *Decompressor) Decompress(dst, msg []byte, limit int64) ([]byte, error) {
	d.in = append(append(d.in[:0], msg...), endOfMessage[:]...)
	d.mem.Reset(d.in)
	d.begin(&d.mem)
	defer d.dropInput()
	fr := d.inf.fr
	start := len(dst)
	for {
		out := int64(len(dst) - start)
		room := dst[len(dst):cap(dst)]
		if len(room) == 0 {
			// dst may hold the whole message already (a caller reusing a
			// buffer): probe before growing it.
			room = d.inf.probe[:]
		}
		if limit >= 0 && int64(len(room)) > limit-out+1 {
			room = room[:limit-out+1]
		}
		n, err := fr.Read(room)
		if len(dst) == cap(dst) && n > 0 {
			grow := max(2*(len(dst)-start), 2*len(msg), 512)
			if limit >= 0 {
				grow = int(min(int64(grow), limit-out+1))
			}
			grown := make([]byte, len(dst), len(dst)+max(grow, n))
			copy(grown, dst)
			dst = append(grown, room[:n]...)
		} else {
			dst = dst[:len(dst)+n]
		}
		if limit >= 0 && int64(len(dst)-start) > limit {
			d.end()
			return dst[:start], ErrTooLarge
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			d.end()
			return dst[:start], fmt.Errorf("%w: %w", ErrInvalidData, err)
		}
	}
	d.remember(dst[start:])
	d.end()
	return dst, nil
}

// Reader returns a reader of the inflated message whose compressed payload
// src yields (src returns io.EOF at the end of the message's last frame).
// It fails with ErrTooLarge once the output passes limit bytes (limit < 0:
// no limit). The reader is valid until it returns an error (io.EOF at the
// end) or until the next call of Reader, Decompress or Release; it must be
// read to io.EOF for the history to be right for the next message.
func (d *Decompressor) Reader(src io.Reader, limit int64) io.Reader {
	d.stream = streamSource{src: src}
	if br, ok := src.(io.ByteReader); ok {
		d.stream.br = br
	}
	d.begin(&d.stream)
	if d.stream.br == nil {
		d.stream.buf = d.inf.buf[:]
	}
	d.reader = msgReader{d: d, limit: limit}
	return &d.reader
}

// Release returns pooled state; call it once when the connection closes.
// d must not be used afterwards.
func (d *Decompressor) Release() {
	d.end()
	d.hist = nil
	d.reader = msgReader{}
}

// msgReader is the io.Reader Reader returns.
type msgReader struct {
	d     *Decompressor
	limit int64
	n     int64
	err   error
}

func (r *msgReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.d == nil || r.d.inf == nil {
		return 0, errors.New("websocket: read from a finished compressed message")
	}
	if len(p) == 0 {
		return 0, nil
	}
	if r.limit >= 0 && int64(len(p)) > r.limit-r.n+1 {
		p = p[:r.limit-r.n+1]
	}
	n, err := r.d.inf.fr.Read(p)
	r.n += int64(n)
	if r.limit >= 0 && r.n > r.limit {
		n -= int(r.n - r.limit)
		r.err = ErrTooLarge
		r.d.end()
		return n, r.err
	}
	r.d.remember(p[:n])
	switch {
	case err == io.EOF:
		// A peer may end its data with a final block and more bytes
		// (§7.2.3.4 allows BFINAL blocks): consume the message to its end.
		err = r.d.stream.drain()
		if err == nil {
			err = io.EOF
		}
		r.err = err
		r.d.end()
	case err != nil:
		if !errors.Is(err, errSourceFailed) {
			err = fmt.Errorf("%w: %w", ErrInvalidData, err)
		}
		r.err = err
		r.d.end()
	}
	return n, err
}

// dropInput forgets Decompress's input copy (end has already reset the
// reader over it); a large one is not kept.
func (d *Decompressor) dropInput() {
	if cap(d.in) > 64<<10 {
		d.in = nil
	} else {
		d.in = d.in[:0]
	}
}

// errSourceFailed marks an error from the Conn's reader, passed on as it is
// rather than reported as invalid data.
var errSourceFailed = errors.New("websocket: reading compressed message")

// streamSource reads the Conn's message reader and then endOfMessage,
// buffering through buf unless the source is an io.ByteReader itself.
type streamSource struct {
	src    io.Reader
	br     io.ByteReader
	buf    []byte
	r, w   int // unread bytes are buf[r:w]
	srcEOF bool
	tail   int
}

func (s *streamSource) fill() error {
	if s.br != nil {
		return nil
	}
	n, err := s.src.Read(s.buf)
	s.r, s.w = 0, n
	if err == io.EOF {
		s.srcEOF = true
	} else if err != nil {
		return fmt.Errorf("%w: %w", errSourceFailed, err)
	}
	return nil
}

func (s *streamSource) Read(p []byte) (int, error) {
	for !s.srcEOF {
		if s.br != nil {
			n, err := s.src.Read(p)
			if err == io.EOF {
				s.srcEOF = true
			} else if err != nil {
				return n, fmt.Errorf("%w: %w", errSourceFailed, err)
			}
			if n > 0 {
				return n, nil
			}
			continue
		}
		if s.r < s.w {
			n := copy(p, s.buf[s.r:s.w])
			s.r += n
			return n, nil
		}
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	if s.tail == len(endOfMessage) {
		return 0, io.EOF
	}
	n := copy(p, endOfMessage[s.tail:])
	s.tail += n
	return n, nil
}

func (s *streamSource) ReadByte() (byte, error) {
	for !s.srcEOF {
		if s.br != nil {
			c, err := s.br.ReadByte()
			if err == io.EOF {
				s.srcEOF = true
				continue
			}
			if err != nil {
				return 0, fmt.Errorf("%w: %w", errSourceFailed, err)
			}
			return c, nil
		}
		if s.r < s.w {
			c := s.buf[s.r]
			s.r++
			return c, nil
		}
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	if s.tail == len(endOfMessage) {
		return 0, io.EOF
	}
	s.tail++
	return endOfMessage[s.tail-1], nil
}

// drain consumes what is left of the source after the deflate data ended.
func (s *streamSource) drain() error {
	for !s.srcEOF {
		if s.br != nil {
			if _, err := s.br.ReadByte(); err == io.EOF {
				s.srcEOF = true
			} else if err != nil {
				return fmt.Errorf("%w: %w", errSourceFailed, err)
			}
			continue
		}
		s.r = s.w
		if err := s.fill(); err != nil {
			return err
		}
	}
	return nil
}
