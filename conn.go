package websocket

import (
	"bufio"
	"bytes"
	crand "crypto/rand"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	utf8v "github.com/wsclient/websocket/internal/utf8"
)

// Conn is a client WebSocket connection: Python's WebSocket.
//
// Sending methods (Send*, Ping, Pong, SendClose, NextWriter) are safe for
// concurrent use with each other, with a reader and with Close: each frame is
// written whole, and a message's fragments are never interleaved with another
// message. Receiving methods serve one reader at a time; concurrent calls are
// serialized. Pings are answered and close frames echoed while receiving.
//
// An idle Conn is a large part of an idle connection's memory, so its fields
// are ordered to leave little padding and what most connections never use
// (the response header map, the write queue's condition variable, the
// channel a closer waits on) is made on first use.
type Conn struct {
	netConn     net.Conn
	status      int
	subprotocol string
	// The handshake response's head, parsed into respHeader when Header
	// is first called: the map would add about as much as the rest of an
	// idle Conn.
	respHead   string
	respHeader atomic.Pointer[http.Header]

	timeout   atomic.Int64 // time.Duration: per-operation I/O timeout, 0 = none
	readLimit int64        // bytes per message, < 0 = unlimited
	ext       *compression // permessage-deflate, nil when not negotiated
	isTLS     bool
	skipUTF8  bool
	fireCont  bool

	// Reading, guarded by readMu.
	inData   bool
	msgOp    Opcode // opcode of the message being received, 0 = none
	doneOp   Opcode // opcode of the last message whose final frame was read
	msgUTF8  utf8v.Validator
	msgZ     bool // the message is compressed (RSV1 on its first frame)
	readMu   sync.Mutex
	inCtrl   bool
	stashed  bool
	fr       frameReader
	frameHdr header // the data frame whose payload is being read
	msgLen   int64  // payload bytes of that message in frames before frameHdr
	ctrlHdr  header // a control frame whose payload is being read
	ctrlN    int
	stash    []byte      // part of a message or frame read before a call was interrupted
	readErr  error       // sticky: the connection can no longer be read
	pending  *CloseError // a close frame returned to the caller; the next call reports it
	readGen  uint64      // invalidates a NextReader's reader when the next message starts
	preview  []byte      // trace preview of the data frame being read

	// ctrlBuf holds a control frame's payload. It is allocated at the
	// first control frame: most connections never get one, and a smaller
	// Conn keeps idle connections small.
	ctrlBuf *[maxControlPayload]byte

	// Writing: msgMu is held for a whole data message (NextWriter holds it
	// until Close), writeMu for one frame, so control frames fit between
	// the fragments of a message.
	msgMu       sync.Mutex
	writeMu     sync.Mutex
	maskRand    *rand.ChaCha8
	maskKeyFunc func() [4]byte
	writeErr    error
	// Write coalescing (write.go), guarded by writeMu.
	wq        *[]byte    // frames waiting for the socket, nil when none
	wcond     *sync.Cond // signals writing ending and the queue being taken; nil until waited on
	lastWrite int64      // monoNow() when the last socket write returned
	flushFn   func()     // c.flushQueue, made once (startFlusher)
	writing   bool       // a goroutine is writing to the socket; only it may
	closeSent bool

	// Closing.
	closed       atomic.Bool // the socket is closed
	peerClosed   atomic.Bool // the peer's close frame was read
	closeSocketO sync.Once
	peerMu       sync.Mutex    // guards peerClosedC
	peerClosedC  chan struct{} // made by a closer that waits; closed with peerClosed
}

// newConn wraps an upgraded connection. leftover holds bytes the handshake
// read past the response (a server may send frames right behind its 101);
// newConn copies them and does not keep the slice, so the handshake's
// buffer can go back to its pool.
func newConn(nc net.Conn, leftover []byte, opts *DialOptions) *Conn {
	c := &Conn{
		netConn:     nc,
		readLimit:   opts.ReadLimit,
		skipUTF8:    opts.SkipUTF8Validation,
		fireCont:    opts.FireContFrame,
		maskKeyFunc: opts.MaskKeyFunc,
	}
	if c.readLimit == 0 {
		c.readLimit = defaultReadLimit
	}
	c.fr.br = newReadBuffer((*connSocket)(c), leftover)
	return c
}

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
		return s.fr.sock.Read(p)
	}
	n, err := s.netConn.Read(p)
	if n > 0 {
		s.fr.sock = newSocketReader(s.netConn, &s.fr)
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

// defaultReadLimit bounds a message when DialOptions.ReadLimit is 0.
const defaultReadLimit = 64 << 20

// newMaskKey returns an unpredictable mask key for frames built outside a
// Conn (NewFrame).
func newMaskKey() (k [4]byte) {
	crand.Read(k[:])
	return k
}

// maskKey returns the key for the next frame; writeMu is held.
func (c *Conn) maskKey() [4]byte {
	if c.maskKeyFunc != nil {
		return c.maskKeyFunc()
	}
	// RFC 6455 §10.3: keys must not be predictable from earlier frames; a
	// ChaCha8 stream seeded from crypto/rand is, at a few ns per key.
	if c.maskRand == nil {
		// Seeded at the first frame, not at the dial: a connection that
		// only listens never pays for the generator's 300 bytes.
		var seed [32]byte
		crand.Read(seed[:])
		c.maskRand = rand.NewChaCha8(seed)
	}
	u := c.maskRand.Uint64()
	return [4]byte{byte(u), byte(u >> 8), byte(u >> 16), byte(u >> 24)}
}

// Connected reports whether the connection is open: the socket is up and no
// close frame has been received.
func (c *Conn) Connected() bool {
	return !c.closed.Load() && !c.peerClosed.Load()
}

// Subprotocol returns the subprotocol the server selected, in its spelling,
// or "" when it selected none.
func (c *Conn) Subprotocol() string { return c.subprotocol }

// Status returns the status code of the handshake response (101).
func (c *Conn) Status() int { return c.status }

// Header returns the handshake response headers. Every call returns the
// same map.
func (c *Conn) Header() http.Header {
	if h := c.respHeader.Load(); h != nil {
		return *h
	}
	// The head parsed at the dial, so it parses again.
	_, h, _ := parseUpgradeHead(c.respHead)
	if h == nil {
		h = http.Header{}
	}
	c.respHeader.CompareAndSwap(nil, &h)
	return *c.respHeader.Load()
}

// IsSSL reports whether the connection runs over TLS.
func (c *Conn) IsSSL() bool { return c.isTLS }

// NetConn returns the stream the Conn runs on: the *net.TCPConn for ws, the
// *tls.Conn for wss, or DialOptions.NetConn. Reading or writing it directly
// corrupts the WebSocket stream; it is meant for addresses and socket options.
func (c *Conn) NetConn() net.Conn { return c.netConn }

// Timeout returns the per-operation I/O timeout (0 = none).
func (c *Conn) Timeout() time.Duration { return time.Duration(c.timeout.Load()) }

// SetTimeout sets the per-operation I/O timeout: with d > 0 each read and each
// write gets a deadline of now+d, overriding SetDeadline; with 0 deadlines are
// left to SetDeadline. A read that times out leaves the Conn usable; a write
// that times out closes it (a frame may be half written): that send gets the
// timeout, every later send and Flush an error matching ErrConnectionClosed.
// Neither the timeout nor the deadlines lengthen a Close (see CloseWith).
func (c *Conn) SetTimeout(d time.Duration) { c.timeout.Store(int64(max(d, 0))) }

// SetDeadline sets the read and write deadlines of the underlying stream.
func (c *Conn) SetDeadline(t time.Time) error { return c.netConn.SetDeadline(t) }

// SetReadDeadline sets the read deadline of the underlying stream.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.netConn.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline of the underlying stream.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.netConn.SetWriteDeadline(t) }

// SetMaskKeyFunc makes f supply the mask key of every frame sent from now on;
// nil restores fresh unpredictable keys. Python's set_mask_key.
func (c *Conn) SetMaskKeyFunc(f func() [4]byte) {
	c.writeMu.Lock()
	c.maskKeyFunc = f
	c.writeMu.Unlock()
}

// closeSocket closes the socket once.
func (c *Conn) closeSocket() error {
	var err error
	c.closeSocketO.Do(func() {
		c.closed.Store(true)
		err = c.netConn.Close()
		c.releaseCompression()
	})
	return err
}

// markPeerClosed records that the peer's close frame has arrived.
func (c *Conn) markPeerClosed() {
	c.peerMu.Lock()
	if !c.peerClosed.Swap(true) && c.peerClosedC != nil {
		close(c.peerClosedC)
	}
	c.peerMu.Unlock()
}

// peerClosedChan returns a channel that is closed once the peer's close
// frame has arrived.
func (c *Conn) peerClosedChan() <-chan struct{} {
	c.peerMu.Lock()
	defer c.peerMu.Unlock()
	if c.peerClosedC == nil {
		c.peerClosedC = make(chan struct{})
		if c.peerClosed.Load() {
			close(c.peerClosedC)
		}
	}
	return c.peerClosedC
}

// ioError turns an error from the socket into the library's error: a
// deadline is a timeout error, anything else means the connection ended.
func (c *Conn) ioError(op string, err error) error {
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return &timeoutError{op: op, err: err}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if c.closed.Load() && errors.Is(err, net.ErrClosed) {
		return ErrConnectionClosed
	}
	return &closedError{err: err}
}

// isTimeout reports whether err is a timeout that leaves the Conn usable.
func isTimeout(err error) bool {
	var te *timeoutError
	return errors.As(err, &te)
}
