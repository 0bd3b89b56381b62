package h2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Request is an extended CONNECT request for a WebSocket (RFC 8441 §4).
type Request struct {
	// Scheme is "https" (over TLS) or "http" (h2c).
	Scheme string
	// Authority is the target's host[:port], sent as :authority.
	Authority string
	// Path is the target's path and query, sent as :path; "" means "/".
	Path string
	// Header holds the regular header fields: sec-websocket-version,
	// sec-websocket-protocol, sec-websocket-extensions, origin, cookie,
	// authorization and the caller's own. Names are sent lower-cased.
	// Fields specific to an HTTP/1.1 connection or upgrade (Connection,
	// Upgrade, Keep-Alive, Proxy-Connection, Transfer-Encoding, TE, Host,
	// HTTP2-Settings, Sec-WebSocket-Key) are not sent.
	Header http.Header
	// Secrets are the credentials the request carries (the values of
	// Authorization, Cookie and the like): the error a peer's GOAWAY gives
	// the connection's streams leaves those of every stream the connection
	// carried out of its debug data, which may echo them.
	Secrets []string
}

// Response is the server's answer to an extended CONNECT.
type Response struct {
	StatusCode int         // the :status
	Header     http.Header // the header fields, with canonical keys
	// Secrets are the credentials of the requests of every stream the
	// connection carried (Request.Secrets, at most 64 distinct), which
	// the response may echo.
	Secrets []string
}

// Stream is a WebSocket's HTTP/2 stream: a byte pipe in both directions
// that implements net.Conn. Reads and writes are flow-controlled per
// stream; a Stream whose reader does not keep up stalls only itself.
type Stream struct {
	cc *ClientConn
	id uint32
	// win is the stream's receive window: cc.stream, grown up to cc.growTo
	// (streamCreditLocked); under cc.mu.
	win uint32
	// respCh is closed when the response header arrived or the stream
	// failed; open drops it then.
	respCh  chan struct{}
	readSig chan struct{} // a send wakes a reader; capacity 1
	rdl     deadline      // wakes the reader (signal) when it passes
	wdl     deadline

	wmu      sync.Mutex // serializes Write
	wreq     writeReq   // the chunk in flight, reused
	wdone    chan error // its completion, capacity 1; made by the first queued chunk
	inflight bool       // under wmu
	// held: wreq is queued for the connection's writer or in the batch
	// it is writing (ClientConn.stuckLocked); under cc.mu.
	held bool
	// closing is closed by Close, Finish and Reset, so that a Write
	// waiting for its chunk on a connection whose writes are stuck
	// returns. The first queued chunk makes it, under wmu and cc.mu.
	closing chan struct{}

	// Under cc.mu.
	resp          *Response
	gotResponse   bool // respCh is closed
	informational int32
	waiters       int32 // goroutines in WaitReadable (lead.go)
	// freePending is the part of recvPending that no read returned: DATA
	// padding and data dropped for a closed reader. The window grows only
	// when reads returned at least as much (streamCreditLocked). At most
	// the window, so 32 bits; it fills the word after waiters.
	freePending   uint32
	creditAt      int64     // monoNow of the last WINDOW_UPDATE, or of the opening, while win may grow
	recv          []*[]byte // received data in pooled blocks; recv[0][roff:] is read next
	roff          int
	buffered      int         // bytes in recv not yet read
	connDebt      int64       // buffered bytes whose connection credit is not returned
	recvWindow    int64       // what the peer may still send
	recvPending   int64       // read, not yet returned by WINDOW_UPDATE
	sendWindow    int64       // the peer's window for this stream
	localEnded    bool        // END_STREAM queued
	remoteEnded   bool        // END_STREAM received
	readClosed    bool        // Close was called
	rstSent       bool        // RST_STREAM queued
	dropData      bool        // DATA not yet taken by the writer is dropped
	removed       bool        // no longer in cc.streams
	closingClosed bool        // closing is closed
	linger        *time.Timer // resets a stream Finish left waiting for the server's END_STREAM
	err           error       // why the stream failed; nil while it has not
	// A consumer waiting in WaitReadable (lead.go).
	queued       bool    // in the connection's queue for the reader token
	wprev, wnext *Stream // the queue's links
}

var _ net.Conn = (*Stream)(nil)

// signal wakes a reader, also one reading the connection itself.
func (st *Stream) signal() {
	select {
	case st.readSig <- struct{}{}:
	default:
	}
	st.cc.interrupt(st)
}

// OpenWebSocket opens a stream with an extended CONNECT (RFC 8441 §4):
// :method CONNECT, :protocol websocket and req's scheme, authority, path
// and header fields. It returns when the server has answered or ctx is
// done. On a 2xx status it returns the response and the open Stream. On
// another status it returns a *StatusError holding the status, header and
// the start of the body (what arrived within 2 s, at most MaxErrorBody
// bytes), and resets the stream unless the server ended it. If the server
// does not support extended CONNECT it returns
// ErrExtendedConnectUnsupported without opening a stream; errors wrapping
// ErrRefused mean the server did not process the stream.
func (cc *ClientConn) OpenWebSocket(ctx context.Context, req *Request) (*Response, *Stream, error) {
	return cc.open(ctx, req, false)
}

func (cc *ClientConn) open(ctx context.Context, req *Request, reserved bool) (*Response, *Stream, error) {
	fields, size, ferr := requestFields(req)
	cc.mu.Lock()
	if reserved {
		cc.reserved--
	}
	var err error
	switch {
	case ferr != nil:
		err = ferr
	case ctx.Err() != nil:
		err = fmt.Errorf("websocket: http2: stream not opened: %w", ctxErr(ctx))
	case cc.err != nil:
		err = wrap("websocket: http2: stream not opened: "+strings.TrimPrefix(cc.err.Error(), "websocket: http2: "), ErrRefused, cc.err)
	case !cc.extConnect:
		err = ErrExtendedConnectUnsupported
	case !cc.canTakeLocked():
		err = wrap(fmt.Sprintf("websocket: http2: stream not opened: the connection is going away or at its limit of %d streams", cc.maxStreams), ErrRefused)
	case size > int64(cc.maxHeaderList):
		err = fmt.Errorf("websocket: http2: request header list of %d bytes exceeds the server's limit of %d", size, cc.maxHeaderList)
	}
	if err != nil {
		cc.checkIdleLocked()
		if reserved {
			cc.slotLocked()
		}
		cc.mu.Unlock()
		return nil, nil, err
	}
	cc.hencBuf.b = cc.hencBuf.b[:0]
	for _, f := range fields {
		cc.henc.WriteField(f)
	}
	st := &Stream{
		cc:         cc,
		id:         cc.nextID,
		respCh:     make(chan struct{}),
		readSig:    make(chan struct{}, 1),
		recvWindow: int64(cc.stream),
		sendWindow: cc.initialWindow,
		win:        cc.stream,
	}
	if cc.growTo > cc.stream {
		st.creditAt = monoNow()
	}
	cc.keepSecretsLocked(req.Secrets)
	st.rdl.st = st
	st.wdl.st, st.wdl.write = st, true
	cc.nextID += 2
	cc.streams[st.id] = st
	cc.active++
	cc.stopIdleLocked()
	cc.queueLocked(&writeReq{st: st, typ: http2.FrameHeaders, data: bytes.Clone(cc.hencBuf.b)})
	cc.needLocked()
	cc.mu.Unlock()

	select {
	case <-st.respCh:
	case <-ctx.Done():
		cc.unneed()
		st.Reset()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			cc.Probe(cc.pingTimeout) // no answer in time: is the connection still there?
		}
		return nil, nil, fmt.Errorf("websocket: http2: waiting for the response: %w", ctxErr(ctx))
	}
	cc.unneed()
	cc.mu.Lock()
	resp, serr := st.resp, st.err
	st.respCh, st.resp = nil, nil // not needed any more
	if resp != nil {
		resp.Secrets = slices.Clone(cc.secrets)
	}
	cc.mu.Unlock()
	if resp == nil {
		return nil, nil, serr
	}
	if resp.StatusCode < 300 {
		return resp, st, nil
	}
	body := st.errorBody(ctx)
	st.Close()
	return resp, nil, &StatusError{StatusCode: resp.StatusCode, Header: resp.Header, Body: body}
}

// errorBodyTime bounds the wait for the body of a failed response, as an
// HTTP/1.1 handshake bounds its read of one: a server may leave the
// stream open.
const errorBodyTime = 2 * time.Second

// errorBody waits for the start of the body of a failed response: until
// MaxErrorBody bytes, the end of the stream or its failure, errorBodyTime
// or the end of ctx, whichever comes first.
func (st *Stream) errorBody(ctx context.Context) []byte {
	cc := st.cc
	timer := time.NewTimer(errorBodyTime)
	defer timer.Stop()
	for {
		cc.mu.Lock()
		done := st.buffered >= MaxErrorBody || st.remoteEnded || st.err != nil
		cc.mu.Unlock()
		if !done {
			cc.mu.Lock()
			cc.needLocked()
			cc.mu.Unlock()
			select {
			case <-st.readSig:
				cc.unneed()
				continue
			case <-ctx.Done():
				cc.unneed()
			case <-timer.C:
				cc.unneed()
			}
		}
		cc.mu.Lock()
		b := make([]byte, min(st.buffered, MaxErrorBody))
		st.peekLocked(b)
		cc.mu.Unlock()
		return b
	}
}

// requestFields lists the header fields of req's extended CONNECT and
// their size (RFC 9113 §6.5.2).
func requestFields(req *Request) ([]hpack.HeaderField, int64, error) {
	if req.Scheme != "https" && req.Scheme != "http" {
		return nil, 0, fmt.Errorf("websocket: http2: scheme %q is neither https nor http", req.Scheme)
	}
	if req.Authority == "" || !httpguts.ValidHostHeader(req.Authority) {
		return nil, 0, fmt.Errorf("websocket: http2: invalid authority %q", req.Authority)
	}
	path := req.Path
	if path == "" {
		path = "/"
	}
	if !validPath(path) {
		return nil, 0, fmt.Errorf("websocket: http2: invalid path %q", path)
	}
	fields := []hpack.HeaderField{
		{Name: ":method", Value: "CONNECT"},
		{Name: ":protocol", Value: "websocket"},
		{Name: ":scheme", Value: req.Scheme},
		{Name: ":authority", Value: req.Authority},
		{Name: ":path", Value: path},
	}
	keys := make([]string, 0, len(req.Header))
	for k := range req.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := strings.ToLower(k)
		if !httpguts.ValidHeaderFieldName(name) {
			return nil, 0, fmt.Errorf("websocket: http2: invalid header field name %q", k)
		}
		switch name {
		case "connection", "upgrade", "keep-alive", "proxy-connection", "transfer-encoding",
			"te", "host", "http2-settings", "sec-websocket-key":
			continue
		}
		for _, v := range req.Header[k] {
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, 0, fmt.Errorf("websocket: http2: invalid value of header field %q", k)
			}
			fields = append(fields, hpack.HeaderField{Name: name, Value: v, Sensitive: name == "authorization" || name == "cookie"})
		}
	}
	var size int64
	for _, f := range fields {
		size += int64(f.Size())
	}
	return fields, size, nil
}

// validPath reports whether p is an origin-form target without controls
// or spaces.
func validPath(p string) bool {
	if p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] <= ' ' || p[i] == 0x7f {
			return false
		}
	}
	return true
}

// ID returns the stream's HTTP/2 stream identifier.
func (st *Stream) ID() uint32 { return st.id }

// Read reads data the server sent on the stream. It returns io.EOF after
// the server ended the stream (END_STREAM) and all its data was read; if
// the stream was reset or the connection failed it returns the buffered
// data first, then an error wrapping the cause. As data is read, the
// stream and connection windows are returned to the server.
func (st *Stream) Read(p []byte) (int, error) {
	for {
		n, ok, err := st.TryRead(p)
		if ok {
			return n, err
		}
		if n := st.wait(p); n > 0 {
			return n, nil
		}
	}
}

// TryRead is Read that does not wait: with nothing to return yet (no
// data, no end, no failure, no deadline passed) it returns ok false.
func (st *Stream) TryRead(p []byte) (n int, ok bool, err error) {
	if len(p) == 0 {
		return 0, true, nil
	}
	cc := st.cc
	cc.mu.Lock()
	if st.buffered == 0 || st.rdl.passed.Load() || st.readClosed {
		if !st.readableLocked() {
			cc.mu.Unlock()
			return 0, false, nil
		}
		n, err := st.readEndLocked()
		return n, true, err
	}
	n = st.popLocked(p)
	if st.buffered > 0 {
		st.signal() // for another reader
	}
	st.creditLocked(int64(n))
	cc.mu.Unlock()
	return n, true, nil
}

// WaitReadable waits until Read would not block: data arrived, the
// stream ended or failed, or the read deadline passed.
//
// While it waits, it reads the connection itself when nobody else does,
// dispatching the frames of every stream, and stops as soon as the
// stream is readable (lead.go). Otherwise it is shallow (one channel
// receive), so that a goroutine parked in it fits in its initial stack;
// at most one per connection reads, with a deeper stack.
func (st *Stream) WaitReadable() { st.wait(nil) }

// wait is WaitReadable. When its consumer reads the connection itself,
// the stream's data goes straight into p while the stream has nothing
// buffered (cc.dst), and wait returns how much did.
func (st *Stream) wait(p []byte) (n int) {
	cc := st.cc
	cc.mu.Lock()
	if st.readableLocked() {
		cc.mu.Unlock()
		return 0
	}
	if !cc.lead {
		for !st.readableLocked() {
			ch := st.readSig
			cc.mu.Unlock()
			<-ch
			cc.mu.Lock()
		}
		cc.mu.Unlock()
		return 0
	}
	st.waiters++
	reader := false
	for {
		if st.readableLocked() {
			// A token handed to st goes on to the next.
			reader = reader || cc.tok == tokHanded && cc.handTo == st
			break
		}
		if !reader && cc.claimLocked(st) {
			reader = true
			cc.unqueueLocked(st)
		}
		if reader {
			if len(p) > 0 {
				cc.dst, cc.dstSt, cc.dstN = p, st, 0
			}
			cc.mu.Unlock()
			cc.readSome(st)
			cc.mu.Lock()
			if cc.dstSt != nil {
				n = cc.dstN
				cc.dst, cc.dstSt, cc.dstN = nil, nil, 0
				if n > 0 {
					break
				}
			}
			continue
		}
		cc.enqueueLocked(st)
		ch := st.readSig
		cc.mu.Unlock()
		<-ch
		cc.mu.Lock()
	}
	if reader {
		cc.releaseLocked()
	}
	if st.waiters--; st.waiters == 0 {
		cc.unqueueLocked(st)
	}
	cc.mu.Unlock()
	return n
}

// readableLocked reports whether Read would return without waiting.
func (st *Stream) readableLocked() bool {
	return st.buffered > 0 || st.rdl.passed.Load() || st.readClosed || st.remoteEnded || st.err != nil
}

// readEndLocked is Read's result when it returns no data; it unlocks
// cc.mu.
func (st *Stream) readEndLocked() (int, error) {
	var err error
	switch {
	case st.readClosed:
		// Before the deadline: a closed stream says so, as a closed
		// socket does, whatever its deadline.
		err = wrap("websocket: http2: read on a closed stream", ErrClosed)
	case st.rdl.passed.Load():
		err = os.ErrDeadlineExceeded
	case st.remoteEnded:
		err = io.EOF
	default:
		err = st.err
	}
	st.cc.mu.Unlock()
	return 0, err
}

// creditLocked returns the windows of n bytes read to the server, in
// WINDOW_UPDATE frames of at least half a window.
func (st *Stream) creditLocked(n int64) {
	cc := st.cc
	k := min(n, st.connDebt)
	st.connDebt -= k
	cc.recvPending += k
	if !st.removed && !st.remoteEnded {
		st.recvPending += n
	}
	if cc.recvPending >= int64(cc.connW)/2 || st.recvPending >= int64(st.win)/2 {
		cc.connCreditLocked(0)
		cc.streamCreditLocked(st, 0, false)
	}
}

// Write sends p on the stream in DATA frames, within the server's stream
// and connection windows; it blocks while they are exhausted. When nothing
// is queued for the connection, nobody else is writing to it and the
// stream has no write deadline, Write writes the frames to the connection
// itself and returns once they are flushed. Otherwise each chunk is copied
// and queued for the connection's writer, so p may be reused when Write
// returns, and one chunk per stream may still be on its way to the
// connection then: an error writing it is returned by the next Write.
func (st *Stream) Write(p []byte) (int, error) {
	st.wmu.Lock()
	defer st.wmu.Unlock()
	cc := st.cc
	n := 0
	for n < len(p) {
		if st.inflight {
			select {
			case err := <-st.wdone:
				st.inflight = false
				if err != nil {
					return n, st.writeErr(err)
				}
			case <-st.wdl.wait():
				return n, os.ErrDeadlineExceeded
			case <-st.closing:
				return n, wrap("websocket: http2: write on a closed stream", ErrClosed)
			}
		}
		cc.mu.Lock()
		if err := st.writableLocked(); err != nil {
			cc.mu.Unlock()
			return n, err
		}
		if st.wdl.passed.Load() {
			// After the closed stream: a closed stream says so, as a
			// closed socket does, whatever its deadline.
			cc.mu.Unlock()
			return n, os.ErrDeadlineExceeded
		}
		k := min(int64(len(p)-n), st.sendWindow, cc.sendWindow, maxDirect)
		if k <= 0 {
			wait := cc.sendCond
			cc.needLocked() // the credit comes in WINDOW_UPDATE frames
			cc.mu.Unlock()
			select {
			case <-wait:
				cc.unneed()
			case <-st.wdl.wait():
				cc.unneed()
				return n, os.ErrDeadlineExceeded
			}
			continue
		}
		if len(cc.ctrl) == 0 && len(cc.ordered) == 0 && !st.wdl.isSet() && cc.wmu.TryLock() {
			// Nothing queued and nobody writing: this goroutine writes
			// the frames itself, from p, without waking the writer.
			st.sendWindow -= k
			cc.sendWindow -= k
			if err := cc.writeDirect(st, p[n:n+int(k)]); err != nil {
				return n, st.writeErr(err)
			}
			n += int(k)
			continue
		}
		k = min(k, chunkSize)
		st.sendWindow -= k
		cc.sendWindow -= k
		if st.wdone == nil {
			st.wdone = make(chan error, 1)
			st.closing = make(chan struct{})
		}
		st.wreq = writeReq{st: st, typ: http2.FrameData, data: append(st.wreq.data[:0], p[n:n+int(k)]...), done: st.wdone}
		st.inflight = true
		st.held = true
		cc.queueLocked(&st.wreq)
		cc.mu.Unlock()
		n += int(k)
	}
	return n, nil
}

// Pending reports whether data a Write returned from has not reached the
// connection yet: its chunk waits for the connection's writer, or is being
// written.
func (st *Stream) Pending() bool {
	st.cc.mu.Lock()
	defer st.cc.mu.Unlock()
	return st.held
}

// writableLocked returns why no more data may be written, if so.
func (st *Stream) writableLocked() error {
	switch {
	case st.readClosed:
		return wrap("websocket: http2: write on a closed stream", ErrClosed)
	case st.err != nil:
		return st.err
	case st.localEnded:
		return wrap("websocket: http2: write after CloseWrite", ErrClosed)
	}
	return nil
}

// writeErr is the error of a Write whose chunk failed. A chunk stuck in
// the socket past the stream's own write deadline is that Write's
// timeout, as a net.Conn's write past its deadline is, although the
// connection (and so the stream) failed with an error that is not one
// (writeFailedLocked).
func (st *Stream) writeErr(err error) error {
	if st.wdl.passed.Load() && isTimeout(err) {
		return fmt.Errorf("websocket: http2: write: %w", err)
	}
	st.cc.mu.Lock()
	defer st.cc.mu.Unlock()
	if st.err != nil {
		return st.err
	}
	if st.cc.err != nil {
		return st.cc.err
	}
	return err
}

// CloseWrite ends this end's side of the stream (END_STREAM): the server
// reads EOF, and the stream stays readable.
func (st *Stream) CloseWrite() error {
	cc := st.cc
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if err := st.writableLocked(); err != nil {
		return err
	}
	st.localEnded = true
	cc.queueLocked(&writeReq{st: st, typ: http2.FrameData, end: true})
	if st.remoteEnded {
		cc.forgetLocked(st)
	}
	cc.broadcastLocked() // a concurrent Write waiting for credit stops
	return nil
}

// Close ends the stream. Data already written is sent first. If the
// server has ended its side, Close sends END_STREAM (unless CloseWrite
// did); otherwise it resets the stream with CANCEL, as a client does that
// stops reading a response. Unread data is dropped. Read and Write then
// fail with errors wrapping ErrClosed; Close is idempotent. For an orderly
// end (RFC 8441 §5: END_STREAM in both directions), read until io.EOF
// before Close, or CloseWrite and then read until io.EOF.
func (st *Stream) Close() error {
	cc := st.cc
	cc.mu.Lock()
	if st.readClosed {
		cc.mu.Unlock()
		return nil
	}
	st.readClosed = true
	st.closeLocked()
	st.dropLocked()
	if !st.removed {
		if st.remoteEnded {
			st.endLocalLocked()
			cc.forgetLocked(st)
		} else {
			st.rstSent = true
			cc.queueLocked(&writeReq{st: st, typ: http2.FrameRSTStream, code: http2.ErrCodeCancel})
			cc.endStreamLocked(st, wrap("websocket: http2: stream closed", ErrClosed))
		}
	}
	cc.broadcastLocked()
	cc.mu.Unlock()
	st.rdl.stop()
	st.wdl.stop()
	return nil
}

// Finish ends the stream in an orderly way (RFC 8441 §5: END_STREAM in
// both directions) without waiting for the server: it sends END_STREAM
// unless CloseWrite did, drops unread data and data still to come, and
// makes Read and Write fail with errors wrapping ErrClosed, as Close does.
// The stream keeps its slot until the server ends its side, which frees it;
// if the server has not done so within linger, the stream is reset with
// CANCEL. Finish and Close are idempotent, and only the first of them acts.
func (st *Stream) Finish(linger time.Duration) error {
	cc := st.cc
	cc.mu.Lock()
	if st.readClosed {
		cc.mu.Unlock()
		return nil
	}
	st.readClosed = true
	st.closeLocked()
	st.dropLocked()
	if !st.removed {
		st.endLocalLocked()
		if st.remoteEnded {
			cc.forgetLocked(st)
		} else {
			st.signal() // a concurrent Read returns
			st.linger = time.AfterFunc(linger, func() {
				cc.mu.Lock()
				if !st.removed {
					cc.resetLocked(st, http2.ErrCodeCancel, wrap("websocket: http2: stream closed", ErrClosed))
				}
				cc.mu.Unlock()
			})
		}
	}
	cc.broadcastLocked()
	cc.mu.Unlock()
	st.rdl.stop()
	st.wdl.stop()
	return nil
}

// endLocalLocked queues END_STREAM unless it went already.
func (st *Stream) endLocalLocked() {
	if !st.localEnded {
		st.localEnded = true
		st.cc.queueLocked(&writeReq{st: st, typ: http2.FrameData, end: true})
	}
}

// remoteEndLocked records the server's END_STREAM: a stream ended in both
// directions is done.
func (st *Stream) remoteEndLocked() {
	st.remoteEnded = true
	if st.localEnded {
		st.cc.forgetLocked(st)
	}
}

// Reset aborts the stream with RST_STREAM(CANCEL), like a TCP reset:
// data not yet sent and unread data are dropped, and Read and Write fail.
// Other streams of the connection are not affected.
func (st *Stream) Reset() {
	cc := st.cc
	cc.mu.Lock()
	st.closeLocked()
	st.dropLocked()
	if !st.removed {
		st.rstSent, st.dropData = true, true
		cc.queueLocked(&writeReq{st: st, typ: http2.FrameRSTStream, code: http2.ErrCodeCancel})
		cc.endStreamLocked(st, &CodeError{Code: http2.ErrCodeCancel, Stream: true, Reason: "reset by this end"})
	}
	cc.broadcastLocked()
	cc.mu.Unlock()
}

// closeLocked wakes a Write waiting for its chunk: the stream is being
// closed or reset.
func (st *Stream) closeLocked() {
	st.cc.stuckLocked(st, time.Time{})
	if !st.closingClosed {
		st.closingClosed = true
		if st.closing != nil {
			close(st.closing)
		}
	}
}

// dropLocked discards unread data, returning its connection credit.
func (st *Stream) dropLocked() {
	for i, b := range st.recv {
		recvPool.Put(b)
		st.recv[i] = nil
	}
	st.recv, st.roff, st.buffered = nil, 0, 0
	if st.connDebt > 0 {
		st.cc.connCreditLocked(st.connDebt)
		st.connDebt = 0
	}
}

// LocalAddr returns the local address of the connection.
func (st *Stream) LocalAddr() net.Addr { return st.cc.conn.LocalAddr() }

// RemoteAddr returns the remote address of the connection.
func (st *Stream) RemoteAddr() net.Addr { return st.cc.conn.RemoteAddr() }

// SetDeadline sets the stream's read and write deadlines.
func (st *Stream) SetDeadline(t time.Time) error {
	st.rdl.set(t)
	return st.SetWriteDeadline(t)
}

// SetReadDeadline sets the deadline of Read on this stream only; a Read
// past it fails with an error wrapping os.ErrDeadlineExceeded.
func (st *Stream) SetReadDeadline(t time.Time) error {
	st.rdl.set(t)
	return nil
}

// SetWriteDeadline sets the deadline of Write on this stream only. A
// Write that is writing to the connection's socket itself when the
// deadline passes returns once the socket takes its frames; a Write
// whose chunk the connection's writer holds returns at the deadline.
// Either way the socket has until a second past the deadline to take
// those frames and the frames queued before them, and a second more
// after each write of them it takes; if it does not, the connection
// fails.
func (st *Stream) SetWriteDeadline(t time.Time) error {
	st.wdl.set(t)
	if !t.IsZero() {
		st.cc.mu.Lock()
		st.cc.stuckLocked(st, t)
		st.cc.mu.Unlock()
	}
	return nil
}

// writeTimedOut is called when the write deadline passes: data of the
// stream that the socket has not taken yet makes the connection's socket
// writes time out a second later (stuckLocked).
func (st *Stream) writeTimedOut() {
	cc := st.cc
	cc.mu.Lock()
	if st.wdl.passed.Load() {
		cc.stuckLocked(st, time.Time{})
	}
	cc.mu.Unlock()
}

// recvBlock is the size of the blocks received data waits in: the largest
// DATA frame this end accepts, so a frame fills at most two.
const recvBlock = chunkSize

// recvPool holds free blocks. Data waits in blocks taken as frames arrive
// and given back as they are read, so a stream that keeps up holds one or
// two, an idle one none, and no buffer grows and is copied as a backlog
// builds up.
var recvPool = sync.Pool{New: func() any {
	b := make([]byte, 0, recvBlock)
	return &b
}}

// pushLocked appends received data. When data is the start of the
// receive block spare, fills at least half of it, and the last block has
// no room for it, the stream keeps spare instead of copying data, and
// pushLocked returns true. A block kept so and the one before it then
// hold more than a block's worth together, so a backlog takes at most
// about twice its size in blocks (copied data fills them).
func (st *Stream) pushLocked(data []byte, spare *[]byte) bool {
	if n := len(st.recv); spare != nil && 2*len(data) >= recvBlock && len(data) <= cap(*spare) && &data[0] == &(*spare)[:1][0] &&
		(n == 0 || cap(*st.recv[n-1])-len(*st.recv[n-1]) < len(data)) {
		*spare = (*spare)[:len(data)]
		st.recv = append(st.recv, spare)
		st.buffered += len(data)
		return true
	}
	for len(data) > 0 {
		var b *[]byte
		if n := len(st.recv); n > 0 && len(*st.recv[n-1]) < cap(*st.recv[n-1]) {
			b = st.recv[n-1]
		} else {
			b = recvPool.Get().(*[]byte)
			*b = (*b)[:0]
			st.recv = append(st.recv, b)
		}
		k := min(len(data), cap(*b)-len(*b))
		*b = append(*b, data[:k]...)
		data = data[k:]
		st.buffered += k
	}
	return false
}

// popLocked moves received data to p and returns how much.
func (st *Stream) popLocked(p []byte) int {
	n := 0
	for n < len(p) && len(st.recv) > 0 {
		b := st.recv[0]
		k := copy(p[n:], (*b)[st.roff:])
		n += k
		st.roff += k
		if st.roff == len(*b) { // drained
			recvPool.Put(b)
			copy(st.recv, st.recv[1:])
			st.recv[len(st.recv)-1] = nil
			st.recv = st.recv[:len(st.recv)-1]
			st.roff = 0
		}
	}
	st.buffered -= n
	return n
}

// peekLocked copies the start of the received data to p without reading it.
func (st *Stream) peekLocked(p []byte) {
	n, off := 0, st.roff
	for _, b := range st.recv {
		if n == len(p) {
			return
		}
		n += copy(p[n:], (*b)[off:])
		off = 0
	}
}
