package wstest

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// maxFrame bounds the payload a frame read by ReadFrameFrom may declare.
const maxFrame = 64 << 20

var errAnswered = errors.New("wstest: the handshake was already answered")

// Conn is the server's side of one connection, handed to a Handler once
// the client's handshake request has been read.
//
// The handshake is answered 101 Switching Protocols by the first of
// Accept, ReadFrame, ReadMessage, WriteFrame, WriteMessage and Close, or
// answered otherwise by Reject, or by WriteRaw with bytes of the handler's
// own. Until then the client waits in its handshake: a handler that
// returns (or calls Drop) before answering hangs up during the handshake.
//
// Reads are for one goroutine at a time; writes may come from several.
// Every frame read is recorded (see Received). The connection is closed
// when the handler returns (see Done).
type Conn struct {
	raw  net.Conn // the socket; closing it is a drop, even under TLS
	nc   net.Conn // raw, or TLS over it
	head *headLimit
	br   *bufio.Reader // reads nc through head
	req  *http.Request

	// wmu serializes writes and the handshake answer: a lock made of a
	// channel, as a writer waiting for it behind one stuck in a full pipe
	// must be durably blocked in a testing/synctest bubble, which a
	// goroutine waiting for a sync.Mutex is not.
	wmu      chan struct{}
	answered atomic.Bool

	dropOnce sync.Once
	dropped  chan struct{} // closed by Drop
	done     chan struct{} // closed when the handler has returned

	mu       sync.Mutex
	received []Frame
	failed   bool // a read or write failed
}

func newConn(raw, nc net.Conn) *Conn {
	head := &headLimit{r: nc, n: maxRequestHead}
	return &Conn{raw: raw, nc: nc, head: head, br: bufio.NewReader(head), wmu: make(chan struct{}, 1),
		dropped: make(chan struct{}), done: make(chan struct{})}
}

// maxRequestHead bounds the bytes read for the handshake request's head: a
// client that sends an endless header gets its connection dropped, not
// the test's memory filled.
const maxRequestHead = 1 << 20

// headLimit reads r, at most n more bytes while n >= 0 (then an error);
// n < 0 is no bound, once the request's head has been read.
type headLimit struct {
	r io.Reader
	n int64
}

var errHeadTooLarge = errors.New("wstest: handshake request head larger than 1 MiB")

func (h *headLimit) Read(p []byte) (int, error) {
	if h.n < 0 {
		return h.r.Read(p)
	}
	if h.n == 0 {
		return 0, errHeadTooLarge
	}
	if int64(len(p)) > h.n {
		p = p[:h.n]
	}
	n, err := h.r.Read(p)
	h.n -= int64(n)
	return n, err
}

// lockWrite takes wmu.
func (c *Conn) lockWrite() { c.wmu <- struct{}{} }

// unlockWrite lets wmu go.
func (c *Conn) unlockWrite() {
	<-c.wmu
}

// Request returns the client's handshake request. Its Body is empty.
func (c *Conn) Request() *http.Request { return c.req }

// NetConn returns the underlying stream (a *tls.Conn with TLS), for tests
// that need to go below frames. Reads from it bypass ReadFrame's buffer.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Done returns a channel that is closed when the handler has returned
// and the connection is closed: from then on Received is complete.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Received returns a copy of the list of frames read so far, in order,
// control frames included, payloads unmasked: the frames and their
// payloads are the caller's to change.
func (c *Conn) Received() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := append([]Frame(nil), c.received...)
	for i := range out {
		out[i].Payload = bytes.Clone(out[i].Payload)
	}
	return out
}

// Accept answers the handshake 101 Switching Protocols with Upgrade,
// Connection and the right Sec-WebSocket-Accept, plus header: a
// subprotocol (Sec-WebSocket-Protocol), an extension, anything else. A
// key of header replaces the default of the same name (compared without
// regard to case) and a key with no values removes it, so a test can send
// a wrong Sec-WebSocket-Accept or none. No extension is agreed unless
// header names one, so by default compression is off whatever the client
// offers. Accept fails once the handshake has been answered.
func (c *Conn) Accept(header http.Header) error {
	c.lockWrite()
	defer c.unlockWrite()
	if c.answered.Load() {
		return errAnswered
	}
	return c.accept(header)
}

// accept writes the 101 answer; c.wmu is held and the handshake is not
// answered yet.
func (c *Conn) accept(header http.Header) error {
	return c.answer(101, merge(http.Header{
		"Upgrade":              {"websocket"},
		"Connection":           {"Upgrade"},
		"Sec-WebSocket-Accept": {acceptKey(c.req.Header.Get("Sec-WebSocket-Key"))},
	}, header), "")
}

// merge returns h with header merged in: each key of header replaces the
// one of h with the same name regardless of case, and a key with no values
// removes it.
func merge(h, header http.Header) http.Header {
	for k, vs := range header {
		for dk := range h {
			if strings.EqualFold(dk, k) {
				delete(h, dk)
			}
		}
		if len(vs) > 0 {
			h[k] = vs
		}
	}
	return h
}

// answer writes a handshake answer; c.wmu is held.
func (c *Conn) answer(status int, h http.Header, body string) error {
	c.answered.Store(true)
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %03d %s\r\n", status, http.StatusText(status))
	h.Write(&b)
	b.WriteString("\r\n")
	b.WriteString(body)
	return c.write(b.Bytes())
}

// Reject answers the handshake with status (say 403, or 302 with a
// Location header), header and body, then closes the connection. The
// answer has a Content-Length, which header can replace or, with a key
// of no values, remove.
func (c *Conn) Reject(status int, header http.Header, body string) error {
	c.lockWrite()
	if c.answered.Load() {
		c.unlockWrite()
		return errAnswered
	}
	h := merge(http.Header{"Content-Length": {strconv.Itoa(len(body))}}, header)
	err := c.answer(status, h, body)
	c.unlockWrite()
	c.Drop()
	return err
}

// acceptKey computes Sec-WebSocket-Accept for a key (RFC 6455 §4.2.2).
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// ensureAccepted answers the handshake 101 unless it has been answered.
// Once it has, it takes no lock: a reader does not wait for a writer.
func (c *Conn) ensureAccepted() error {
	if c.answered.Load() {
		return nil
	}
	c.lockWrite()
	defer c.unlockWrite()
	if c.answered.Load() {
		return nil
	}
	return c.accept(nil)
}

// ReadFrame reads the next frame from the client and records it. It
// checks nothing but the length: frames declaring more than 64 MiB are an
// error.
func (c *Conn) ReadFrame() (Frame, error) {
	if err := c.ensureAccepted(); err != nil {
		return Frame{}, err
	}
	f, err := ReadFrameFrom(c.br)
	if err != nil {
		return Frame{}, c.fail(err)
	}
	rec := f // the record keeps its own payload: the handler may change f's
	rec.Payload = bytes.Clone(f.Payload)
	c.mu.Lock()
	c.received = append(c.received, rec)
	c.mu.Unlock()
	return f, nil
}

// ReadFrameFrom reads one frame from r as a server reads it: any opcode,
// RSV bits and mask are taken as they come, and the payload is returned
// unmasked. Only the length is checked: a frame declaring more than 64 MiB
// is an error, and memory grows with the payload bytes that come, not
// with the length declared. Conn.ReadFrame reads with it; a raw script can
// too.
func ReadFrameFrom(r io.Reader) (Frame, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return Frame{}, err
	}
	f := Frame{
		Fin: h[0]&0x80 != 0, Rsv1: h[0]&0x40 != 0, Rsv2: h[0]&0x20 != 0, Rsv3: h[0]&0x10 != 0,
		Opcode: Opcode(h[0] & 0xF), Masked: h[1]&0x80 != 0, Length: uint64(h[1] & 0x7F),
	}
	switch f.Length {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return Frame{}, err
		}
		f.Length = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return Frame{}, err
		}
		f.Length = binary.BigEndian.Uint64(b[:])
	}
	if f.Length > maxFrame {
		return Frame{}, fmt.Errorf("wstest: a frame declares %d bytes, more than the %d this server reads", f.Length, maxFrame)
	}
	if f.Masked {
		if _, err := io.ReadFull(r, f.MaskKey[:]); err != nil {
			return Frame{}, err
		}
	}
	// A client that declares 64 MiB and sends ten bytes costs 64 KiB, not
	// 64 MiB. A short payload ends as io.ReadFull reports it.
	buf := bytes.NewBuffer(make([]byte, 0, min(f.Length, 64<<10)))
	if n, err := io.CopyN(buf, r, int64(f.Length)); err != nil {
		if err == io.EOF && n > 0 {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	f.Payload = buf.Bytes()
	if f.Masked {
		for i := range f.Payload {
			f.Payload[i] ^= f.MaskKey[i%4]
		}
	}
	return f, nil
}

// ReadMessage reads the next whole data message, joining fragments. It
// answers pings with pongs and skips pongs on the way. A close frame ends
// it: the result is then OpClose and the close payload (see
// Frame.CloseStatus), and the close is not answered.
func (c *Conn) ReadMessage() (Opcode, []byte, error) {
	var op Opcode
	var data []byte
	for {
		f, err := c.ReadFrame()
		if err != nil {
			return 0, nil, err
		}
		switch f.Opcode {
		case OpPing:
			if err := c.WriteMessage(OpPong, f.Payload); err != nil {
				return 0, nil, err
			}
			continue
		case OpPong:
			continue
		case OpClose:
			return OpClose, f.Payload, nil
		case OpContinuation:
			data = append(data, f.Payload...)
		default:
			op, data = f.Opcode, f.Payload
		}
		if f.Fin {
			return op, data, nil
		}
	}
}

// WriteFrame writes f (see Frame for what can be sent).
func (c *Conn) WriteFrame(f Frame) error {
	if err := c.ensureAccepted(); err != nil {
		return err
	}
	return c.WriteRaw(f.AppendTo(nil))
}

// WriteMessage writes payload as one final, unmasked frame of opcode op.
func (c *Conn) WriteMessage(op Opcode, payload []byte) error {
	return c.WriteFrame(Frame{Fin: true, Opcode: op, Payload: payload})
}

// WriteRaw writes b as it is: bytes no frame can describe, a frame split
// across writes, or, before the handshake has been answered, the answer
// itself.
func (c *Conn) WriteRaw(b []byte) error {
	c.lockWrite()
	defer c.unlockWrite()
	c.answered.Store(true)
	return c.write(b)
}

// write writes b; c.wmu is held.
func (c *Conn) write(b []byte) error {
	if _, err := c.nc.Write(b); err != nil {
		return c.fail(err)
	}
	return nil
}

// Close runs the server's side of the closing handshake: it sends a close
// frame with code and reason (code 0 sends one without a payload), reads
// and records frames until the client's close frame, then closes the
// connection. Any code and reason are sent as given, valid or not.
func (c *Conn) Close(code uint16, reason string) error {
	defer c.Drop()
	if err := c.WriteMessage(OpClose, closePayload(code, reason)); err != nil {
		return err
	}
	for {
		f, err := c.ReadFrame()
		if err != nil || f.Opcode == OpClose {
			return err
		}
	}
}

// Drop closes the connection at once: no close frame, no TLS close_notify,
// and no handshake answer if none was sent. The client sees the stream
// end (an abnormal closure).
func (c *Conn) Drop() {
	c.dropOnce.Do(func() {
		close(c.dropped)
		c.raw.Close()
	})
}

// fail notes that a read or write failed with err, and returns err.
func (c *Conn) fail(err error) error {
	c.mu.Lock()
	c.failed = true
	c.mu.Unlock()
	return err
}

// ended reports whether the connection failed or was closed.
func (c *Conn) ended() bool {
	select {
	case <-c.dropped:
		return true
	default:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed
}
