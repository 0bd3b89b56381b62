package websocket

// Read buffering, from the socket up to frames, and what lies above it:
//
//	socket ─▶ socket reader (busyReader or the net.Conn; busypoll_*.go)
//	       ─▶ connSocket (the first bytes, from netConn; then the socket reader: readProbe)
//	       ─▶ frameReader's pooled buffer, sized to the traffic (fill)
//	       ─▶ decoder (framecodec.go): headers and payload pieces
//	       ─▶ msgReader.step (msgreader.go): messages, control frames, limits
//	       ─▶ the receiving methods (read.go)
//
// Dependencies point down: the frame reader tells the socket reader
// whether it may spin (frameReader.maySpin), it never looks up.

import (
	"errors"
	"io"
	"sync"
)

const (
	// readBufferSize is the buffer a connection reads into while data
	// trickles in: all a lightly used connection needs.
	readBufferSize = 4 << 10

	// largeReadBufferSize is the buffer used while data streams in: big
	// enough that read system calls stop mattering for small messages.
	largeReadBufferSize = 64 << 10

	// directReadMin is the shortest payload read that bypasses the buffer
	// and goes straight from the socket into the caller's slice: long
	// payloads are then copied once, not twice. Shorter ones go through the
	// buffer, which also picks up the frames behind them in the same read.
	directReadMin = 16 << 10

	// probeSize is how many bytes a connection whose socket reader cannot
	// wait without a buffer (the first read, TLS, other net.Conns) reads
	// into frameReader.probe while it holds no buffer. It only has to be
	// more than nothing; 4 bytes fill what would be padding in a Conn.
	probeSize = 4
)

// The read buffers of connections, shared: a connection holds one only
// while bytes are coming in. A buffer in a pool holds nothing of value.
var (
	smallBufs = sync.Pool{New: func() any { return new([readBufferSize]byte) }}
	largeBufs = sync.Pool{New: func() any { return new([largeReadBufferSize]byte) }}
)

// connSocket is a Conn seen as the reader of its socket, which its read
// buffers read from. The first bytes come through netConn; then readProbe
// switches the frame reader to newSocketReader's reader (a busyReader where
// busy polling applies), so connections that never receive anything, idle
// or only dialled, do not pay for one.
type connSocket Conn

func (s *connSocket) Read(p []byte) (int, error) {
	if s.fr.sock != nil {
		return readSocket(s.fr.sock, p, s.fr.maySpin())
	}
	return s.netConn.Read(p)
}

// waitingReader is a socket reader that can wait for the socket to become
// readable without a buffer to read into (busyReader).
type waitingReader interface {
	// tryRead reads like Read, but returns errWouldBlock where Read
	// would wait; spin allows a busy poll first.
	tryRead(p []byte, spin bool) (int, error)
	// waitReadable waits until a read would not block.
	waitReadable() error
}

// scatterReader is a socket reader that can read into two buffers at once
// (busyReader).
type scatterReader interface {
	// readv reads into p and, once p is full, on into q.
	readv(p, q []byte, spin bool) (int, error)
}

// errWouldBlock is the answer of a read or write that would wait for the
// socket: tryRead's for an empty socket, the event loop's non-blocking
// reads and writes (conn_loop.go).
var errWouldBlock = errors.New("websocket: socket would block")

// frameReader reads frames from the socket with the decoder. It keeps all
// state between calls, so a call cut short by a read deadline resumes where
// it stopped.
//
// Its buffer adapts to the traffic and is held only while bytes are coming
// in. A connection that waits for its next frame with nothing buffered
// gives its buffer back to a pool first and takes one again when the
// socket has data (readWaiting, readProbe), so an idle connection holds no
// read buffer, whether or not it has received before. While bytes trickle
// in it reads into a small pooled buffer (readBufferSize). When a read
// fills that completely the peer is sending faster than we read, and one
// read system call per few KiB would dominate the cost of small and medium
// messages; the next read then goes into a large pooled buffer. When reads come back short
// again (the flood is over, or we are about to wait for a new frame after a
// short read), the large buffer goes back to the pool.
//
// fill is only called when the buffer is empty (the decoder keeps a header
// split across reads), so swapping buffers never moves bytes.
type frameReader struct {
	buf  []byte // the read buffer, from smallBufs or largeBufs; nil while none is held
	r, w int32  // buf[r:w] is received and not yet decoded
	// dec follows the offsets: a receive that finds a whole frame
	// buffered reads dec.hdrN beside them (Conn's TestCountersLayout).
	dec  decoder
	last int32 // bytes the last fill brought in; 0 after a direct read
	// probe receives the first bytes of a wait without a buffer through
	// a reader that cannot wait without one (readProbe).
	probe [probeSize]byte
	src   io.Reader // what the socket is read through: the Conn's connSocket
	sock  io.Reader // the socket reader once data has arrived (connSocket, readSocket)
}

// setLeftover makes b, bytes the handshake read past its response, the
// first bytes read. It copies them.
func (r *frameReader) setLeftover(b []byte) {
	if len(b) == 0 {
		return
	}
	if len(b) <= readBufferSize {
		r.take(readBufferSize)
	} else {
		r.buf = make([]byte, len(b)) // not pooled: putBuf drops it
	}
	r.r, r.w = 0, int32(copy(r.buf, b))
}

// take makes a pooled buffer of size bytes the read buffer; none is held.
func (r *frameReader) take(size int) {
	if size == largeReadBufferSize {
		r.buf = largeBufs.Get().(*[largeReadBufferSize]byte)[:]
	} else {
		r.buf = smallBufs.Get().(*[readBufferSize]byte)[:]
	}
}

// putBuf gives the read buffer back to its pool, dropping what it holds.
func (r *frameReader) putBuf() {
	switch len(r.buf) {
	case readBufferSize:
		smallBufs.Put((*[readBufferSize]byte)(r.buf))
	case largeReadBufferSize:
		largeBufs.Put((*[largeReadBufferSize]byte)(r.buf))
	}
	r.buf, r.r, r.w = nil, 0, 0
}

// buffered returns the number of bytes received and not yet decoded.
func (r *frameReader) buffered() int { return int(r.w - r.r) }

// peek returns the bytes received and not yet decoded.
func (r *frameReader) peek() []byte { return r.buf[r.r:r.w] }

// discard consumes n bytes of peek's.
func (r *frameReader) discard(n int) { r.r += int32(n) }

// fill reads more bytes into the buffer, which is empty, first choosing the
// buffer for the traffic seen so far. atBoundary says no frame or header is
// in progress: a reader whose last fill was short is then likely to wait,
// and waits without a buffer.
func (r *frameReader) fill(atBoundary bool) error {
	r.publishIn()
	r.r, r.w = 0, 0
	switch len(r.buf) {
	case readBufferSize:
		if r.last == readBufferSize {
			r.putBuf()
			r.take(largeReadBufferSize)
		} else if atBoundary {
			r.putBuf()
		}
	case largeReadBufferSize:
		if r.last < readBufferSize || atBoundary && r.last < largeReadBufferSize {
			r.putBuf()
		}
	default:
		r.buf = nil // none, or the handshake leftover's own (setLeftover)
	}
	var n int
	var err error
	for range 100 { // as bufio: a reader that makes no progress fails
		if r.buf != nil {
			n, err = r.read(r.buf)
		} else if w, ok := r.sock.(waitingReader); ok {
			n, err = r.readWaiting(w)
		} else {
			n, err = r.readProbe()
		}
		if n > 0 || err != nil {
			break
		}
	}
	r.w, r.last = int32(n), int32(n)
	if n > 0 {
		return nil // an error comes again at the next read
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// read reads the socket into p.
func (r *frameReader) read(p []byte) (int, error) {
	if r.sock != nil {
		return readSocket(r.sock, p, r.maySpin())
	}
	return r.src.Read(p)
}

// readWaiting reads into a small buffer that it holds only while the
// socket has data: a connection waiting for its next message holds none.
// Like readProbe it is out of line: the frames between a parked reader and
// the top of its goroutine must stay within the initial 2 KiB stack.
//
//go:noinline
func (r *frameReader) readWaiting(w waitingReader) (int, error) {
	spin := true
	for {
		r.take(readBufferSize)
		n, err := w.tryRead(r.buf, spin)
		if err != errWouldBlock {
			if n == 0 {
				r.putBuf() // an end, an error or a timeout: nothing to hold
			}
			return n, err
		}
		r.putBuf()
		if err := w.waitReadable(); err != nil {
			return 0, err
		}
		spin = false
	}
}

// readProbe waits for the socket's next bytes with no buffer through a
// reader that cannot wait without one: the first bytes go to r.probe, then
// into a buffer taken for them. If the socket reader is then one that can
// read without waiting (the switch to a busyReader below), what else has
// arrived comes too, so that a first message that came in one piece is
// read as one.
//
//go:noinline
func (r *frameReader) readProbe() (int, error) {
	n, err := r.src.Read(r.probe[:])
	if n == 0 {
		return 0, err
	}
	// The connection's first bytes have come: from now on it reads
	// through the socket reader they call for (connSocket). This is
	// written here, not in a function of its own or in connSocket.Read:
	// one frame less under the reader's allocation keeps readers within
	// their initial 2 KiB stack (scale's ours-conn after traffic: stacks
	// 2.11-2.13 -> 2.02-2.05 KiB per connection). A connection whose first
	// bytes came with the handshake reads through netConn until its first
	// wait.
	if s, ok := r.src.(*connSocket); ok && r.sock == nil {
		r.sock = newSocketReader(s.netConn, s.busyPoll)
	}
	r.take(readBufferSize)
	copy(r.buf, r.probe[:n])
	if w, ok := r.sock.(waitingReader); ok {
		if k, err := w.tryRead(r.buf[n:], false); err == nil {
			n += k
		}
	}
	return n, nil // an error comes again at the next read
}

// maySpin tells the socket reader whether a read that finds the socket
// empty may busy-poll before parking (busyReader): not while the large
// buffer is in use, as data is then coming faster than it is read, and
// parking, which lets the next fill gather a full buffer, costs less than
// the extra read calls of a reader that grabs each segment as it lands.
func (r *frameReader) maySpin() bool { return len(r.buf) != largeReadBufferSize }

// release gives the buffer back when the connection is done reading;
// whatever it still holds is dropped.
func (r *frameReader) release() {
	if r.buf != nil {
		r.putBuf()
	}
}

// readHeader reads the next frame header. It must be called only when the
// previous frame's payload has been read.
func (r *frameReader) readHeader() (header, error) {
	for {
		if r.r == r.w {
			if err := r.fill(r.dec.hdrN == 0); err != nil {
				return header{}, err
			}
		}
		n, ev, _, err := r.dec.feed(r.buf[r.r:r.w])
		r.r += int32(n)
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
	if r.r == r.w {
		direct := len(p) >= directReadMin
		if direct {
			// A long payload: read straight into p, and (as last = 0
			// says) keep the small buffer for the headers of such
			// frames, whose payload would otherwise be copied twice.
			r.last = 0
		} else if len(r.buf) != largeReadBufferSize && len(p) >= readBufferSize && r.last < readBufferSize {
			// As long, the socket not having kept up with us at
			// the last fill.
			direct = true
		}
		if direct {
			n, err := r.readDirect(p)
			if n > 0 {
				// The bytes go first, as after fill: they may end the
				// message (a Read may return the last bytes with EOF,
				// as crypto/tls does when close_notify follows them),
				// and the error comes again at the next read.
				r.dec.feed(p[:n]) // unmasks and counts; consumes exactly n
				return n, nil
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if err := r.fill(false); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
	}
	n := copy(p, r.buf[r.r:r.w])
	r.r += int32(n)
	r.dec.feed(p[:n])
	return n, nil
}

// readDirect reads payload straight into p. When p takes the rest of the
// frame and the socket reader can scatter, the bytes behind the frame (the
// next header, and more) go into the buffer in the same read: one system
// call per long frame instead of two.
func (r *frameReader) readDirect(p []byte) (int, error) {
	r.publishIn()
	s, ok := r.sock.(scatterReader)
	if !ok || int64(len(p)) != r.dec.remaining {
		return r.read(p)
	}
	if r.buf == nil {
		r.take(readBufferSize)
	}
	n, err := s.readv(p, r.buf, r.maySpin())
	if n > len(p) {
		r.r, r.w = 0, int32(n-len(p))
		n = len(p)
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
