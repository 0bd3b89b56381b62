package websocket

// Read buffering, from the socket up to frames, and what lies above it:
//
//	socket ─▶ socket reader (busyReader or the net.Conn; busypoll_*.go)
//	       ─▶ connSocket (first bytes from netConn, then the socket reader)
//	       ─▶ bufio readers sized to the traffic (frameReader.fill)
//	       ─▶ decoder (framecodec.go): headers and payload pieces
//	       ─▶ msgReader.step (msgreader.go): messages, control frames, limits
//	       ─▶ the receiving methods (read.go)
//
// Dependencies point down: the frame reader tells the socket reader
// whether it may spin (frameReader.maySpin), it never looks up.

import (
	"bufio"
	"bytes"
	"io"
	"sync"
)

// readBufferSize is the connection's own read buffer. A connection starts
// with a minimal reader (initialReadBufferSize) and gets this one when its
// first bytes arrive (frameReader.fill), so an idle connection that never
// received anything holds no read buffer at all; the one extra read system
// call is paid once per connection.
const readBufferSize = 4 << 10

// initialReadBufferSize is the reader a connection waits for its first bytes
// with: bufio's minimum.
const initialReadBufferSize = 16

// newReadBuffer returns the connection's initial buffered reader of sock,
// which first yields a copy of leftover.
func newReadBuffer(sock io.Reader, leftover []byte) *bufio.Reader {
	if len(leftover) == 0 {
		return bufio.NewReaderSize(sock, initialReadBufferSize)
	}
	return bufio.NewReaderSize(&prefixReader{rest: bytes.Clone(leftover), r: sock}, initialReadBufferSize)
}

// connSocket is a Conn seen as the reader of its socket, which its read
// buffers read from. The first bytes come through netConn; then the
// connection switches to newSocketReader's reader (a busyReader where busy
// polling applies), so connections that never receive anything, idle or
// only dialled, do not pay for one.
type connSocket Conn

func (s *connSocket) Read(p []byte) (int, error) {
	if s.fr.sock != nil {
		return readSocket(s.fr.sock, p, s.fr.maySpin())
	}
	n, err := s.netConn.Read(p)
	if n > 0 {
		s.fr.sock = newSocketReader(s.netConn, s.busyPoll)
	}
	return n, err
}

// prefixReader yields rest, then reads r.
type prefixReader struct {
	rest []byte
	r    io.Reader
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.rest) > 0 {
		n := copy(b, p.rest)
		p.rest = p.rest[n:]
		return n, nil
	}
	return p.r.Read(b)
}

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
	sock  io.Reader     // what reads the socket once data has arrived (connSocket, readSocket)
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

// maySpin tells the socket reader whether a read that finds the socket
// empty may busy-poll before parking (busyReader): not while a large reader
// is stacked, as data is then coming faster than it is read, and parking,
// which lets the next fill gather a full buffer, costs less than the extra
// read calls of a reader that grabs each segment as it lands.
func (r *frameReader) maySpin() bool { return r.small == nil }

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
