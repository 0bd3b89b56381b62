package main

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/url"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The lean HTTP/2 server of -h2: as lean as the HTTP/1.1 side's hijacked
// connection, so that the comparison measures the client, not net/http's
// HTTP/2 server (which hands every read and every flushed write to another
// goroutine and sends a TLS record per DATA frame). Per connection one
// goroutine reads frames (golang.org/x/net/http2's Framer and hpack) and
// answers an extended CONNECT with :status 200; each WebSocket's stream
// then runs the main server's frame code (srvConn) in a goroutine of its
// own, whose writes go out as DATA frames, buffered and flushed once per
// Write. An echo stream is the exception: the connection's goroutine
// echoes its frames as they arrive, as the HTTP/1.1 side's frame code
// echoes on the goroutine that reads, and its answers go out with the next
// flush. It announces SETTINGS_ENABLE_CONNECT_PROTOCOL=1, keeps the
// client's flow-control windows, and returns its own receive windows as
// data arrives. It is a benchmark's peer, not a general server: no
// priorities, no trailers, no CONTINUATION, no limits against a hostile
// client.

// leanWindow is the lean server's receive window, per stream and for the
// connection; it returns credit in WINDOW_UPDATE frames of half of it.
const leanWindow = 1 << 20

// leanFrame is the largest DATA payload it sends: the client's
// SETTINGS_MAX_FRAME_SIZE, the protocol's default.
const leanFrame = 16384

// serveLeanH2 serves HTTP/2 connections from ln until it fails.
func serveLeanH2(ln net.Listener, tlsConf *tls.Config) error {
	conf := tlsConf.Clone()
	conf.NextProtos = []string{"h2"}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go newLeanConn(tls.Server(c, conf)).serve()
	}
}

// leanConn is one HTTP/2 connection of the lean server.
type leanConn struct {
	nc  net.Conn
	br  *bufio.Reader
	fr  *http2.Framer
	bw  *bufio.Writer
	mu  sync.Mutex // the Framer's writing side, bw, and what follows
	win *sync.Cond // signalled when a send window grows
	// Flow control, under mu.
	sendWin     int64 // the client's connection window
	initWin     int64 // the client's SETTINGS_INITIAL_WINDOW_SIZE
	streams     map[uint32]*leanStream
	henc        *hpack.Encoder
	hbuf        []byte
	hdec        *hpack.Decoder // the client's header blocks; reader only
	recvPending int64          // received since the last connection WINDOW_UPDATE
	err         error          // the connection failed
}

func newLeanConn(nc net.Conn) *leanConn {
	c := &leanConn{nc: nc, br: bufio.NewReaderSize(nc, 16<<10), bw: bufio.NewWriterSize(nc, 64<<10),
		sendWin: 65535, initWin: 65535, streams: map[uint32]*leanStream{}}
	c.fr = http2.NewFramer(c.bw, c.br)
	c.fr.SetReuseFrames()
	c.win = sync.NewCond(&c.mu)
	c.henc = hpack.NewEncoder((*leanEnc)(c))
	c.hdec = hpack.NewDecoder(4096, nil)
	return c
}

type leanEnc leanConn

func (e *leanEnc) Write(p []byte) (int, error) { e.hbuf = append(e.hbuf, p...); return len(p), nil }

// serve reads the preface and frames until the connection ends.
func (c *leanConn) serve() {
	defer c.close(io.EOF)
	pre := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c.br, pre); err != nil || string(pre) != http2.ClientPreface {
		return
	}
	c.mu.Lock()
	err := c.fr.WriteSettings(
		http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1},
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 4 * h2Open},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: leanWindow},
	)
	if err == nil {
		err = c.fr.WriteWindowUpdate(0, leanWindow-65535)
	}
	if err == nil {
		err = c.bw.Flush()
	}
	c.mu.Unlock()
	for err == nil {
		var f http2.Frame
		if f, err = c.fr.ReadFrame(); err == nil {
			err = c.handle(f)
		}
		if err == nil && c.br.Buffered() == 0 {
			// All that arrived is handled: what it caused goes out
			// before this goroutine waits for more.
			c.mu.Lock()
			err = c.bw.Flush()
			c.mu.Unlock()
		}
	}
}

// close fails the connection and its streams.
func (c *leanConn) close(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		c.nc.Close()
	}
	for _, st := range c.streams {
		st.end(err)
	}
	c.win.Broadcast()
}

func (c *leanConn) handle(f http2.Frame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch f := f.(type) {
	case *http2.HeadersFrame:
		return c.open(f)
	case *http2.DataFrame:
		st := c.streams[f.StreamID]
		n := int64(f.Length)
		if c.recvPending += n; c.recvPending >= leanWindow/2 {
			if err := c.fr.WriteWindowUpdate(0, uint32(c.recvPending)); err != nil {
				return err
			}
			c.recvPending = 0
		}
		if st == nil {
			return nil
		}
		if st.recvPending += n; st.recvPending >= leanWindow/2 && !f.StreamEnded() {
			if err := c.fr.WriteWindowUpdate(st.id, uint32(st.recvPending)); err != nil {
				return err
			}
			st.recvPending = 0
		}
		st.in = append(st.in, f.Data()...)
		if f.StreamEnded() {
			st.eof = true
		}
		if st.inline {
			return c.echoInline(st)
		}
		st.cond.Signal()
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		if v, ok := f.Value(http2.SettingInitialWindowSize); ok {
			for _, st := range c.streams {
				st.sendWin += int64(v) - c.initWin
			}
			c.initWin = int64(v)
			c.win.Broadcast()
		}
		if err := c.fr.WriteSettingsAck(); err != nil {
			return err
		}
		return c.sendPending()
	case *http2.WindowUpdateFrame:
		if f.StreamID == 0 {
			c.sendWin += int64(f.Increment)
		} else if st := c.streams[f.StreamID]; st != nil {
			st.sendWin += int64(f.Increment)
		}
		c.win.Broadcast()
		return c.sendPending()
	case *http2.PingFrame:
		if !f.IsAck() {
			return c.fr.WritePing(true, f.Data)
		}
	case *http2.RSTStreamFrame:
		if st := c.streams[f.StreamID]; st != nil {
			st.reset = true
			st.end(io.ErrUnexpectedEOF)
			c.win.Broadcast()
		}
	}
	return nil
}

// open answers an extended CONNECT and starts its WebSocket; mu is held.
func (c *leanConn) open(f *http2.HeadersFrame) error {
	fields, err := c.hdec.DecodeFull(f.HeaderBlockFragment())
	if err != nil {
		return err
	}
	var path, protocol string
	for _, hf := range fields {
		switch hf.Name {
		case ":path":
			path = hf.Value
		case ":protocol":
			protocol = hf.Value
		}
	}
	u, err := url.ParseRequestURI(path)
	status := "200"
	if err != nil || protocol != "websocket" {
		status = "400"
	}
	c.hbuf = c.hbuf[:0]
	_ = c.henc.WriteField(hpack.HeaderField{Name: ":status", Value: status})
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: f.StreamID, BlockFragment: c.hbuf, EndHeaders: true, EndStream: status != "200"}); err != nil {
		return err
	}
	if status != "200" {
		return nil
	}
	st := &leanStream{c: c, id: f.StreamID, sendWin: c.initWin}
	st.cond = sync.NewCond(&c.mu)
	c.streams[st.id] = st
	if u.Path == "/echo" {
		// Echoed here, on the connection's goroutine, as the HTTP/1.1
		// side's frame code echoes on the goroutine that reads.
		st.inline = true
		return nil
	}
	go st.run(u)
	return nil
}

// echoInline echoes the whole frames in st.in (the frame code's echo: every
// data frame back unmasked, a pong for a ping, a close for a close, then
// END_STREAM) and sends what the client's windows allow; c.mu is held.
func (c *leanConn) echoInline(st *leanStream) error {
	for !st.closed {
		h, ok, err := parseHeader(st.in[st.off:])
		if err != nil {
			return err
		}
		if !ok || len(st.in)-st.off < h.size+h.n {
			break
		}
		p := st.in[st.off+h.size : st.off+h.size+h.n]
		if h.masked {
			maskBytes(h.key, p)
		}
		st.off += h.size + h.n
		switch h.op {
		case opPing:
			st.out = appendFrame(st.out, true, opPong, p)
		case opPong:
		case opClose:
			st.out = appendFrame(st.out, true, opClose, p[:min(len(p), 2)])
			st.closed = true
		default:
			st.out = appendFrame(st.out, h.fin, h.op, p)
		}
	}
	if st.off == len(st.in) {
		st.in, st.off = st.in[:0], 0
	}
	if st.eof {
		st.closed = true
	}
	return c.sendOut(st)
}

// sendOut writes as much of st.out as the client's windows allow, and
// END_STREAM after the last of it once the WebSocket is closed; c.mu is
// held. The connection's goroutine flushes.
func (c *leanConn) sendOut(st *leanStream) error {
	n := 0
	for n < len(st.out) {
		k := min(int64(len(st.out)-n), leanFrame, st.sendWin, c.sendWin)
		if k <= 0 {
			break
		}
		if err := c.writeData(st.id, false, st.out[n:n+int(k)]); err != nil {
			return err
		}
		st.sendWin -= k
		c.sendWin -= k
		n += int(k)
	}
	st.out = st.out[:copy(st.out, st.out[n:])]
	if st.closed && len(st.out) == 0 && st.err == nil {
		if err := c.writeData(st.id, true, nil); err != nil {
			return err
		}
		st.end(io.EOF)
	}
	return nil
}

// sendPending sends what inline streams hold back for want of window; c.mu
// is held.
func (c *leanConn) sendPending() error {
	for _, st := range c.streams {
		if st.inline && len(st.out) > 0 {
			if err := c.sendOut(st); err != nil {
				return err
			}
		}
	}
	return nil
}

// leanStream is a WebSocket's stream on the lean server, as the net.Conn
// its srvConn reads and writes.
type leanStream struct {
	c  *leanConn
	id uint32
	// Under c.mu.
	cond        *sync.Cond // signalled when in, eof or err change
	in          []byte     // received, in[off:] not yet read
	off         int
	eof         bool  // the client's END_STREAM
	reset       bool  // the client's RST_STREAM
	err         error // the stream ended
	sendWin     int64
	recvPending int64 // received since the last stream WINDOW_UPDATE
	// An echo stream is served by the connection's goroutine (echoInline):
	// out holds what waits for window, closed that the WebSocket is done.
	inline bool
	closed bool
	out    []byte
}

// end fails the stream's Read and Write; c.mu is held.
func (st *leanStream) end(err error) {
	if st.err == nil {
		st.err = err
	}
	delete(st.c.streams, st.id)
	st.cond.Broadcast()
}

// run serves the WebSocket at u, then ends the stream.
func (st *leanStream) run(u *url.URL) {
	serveH2Mode(st, nil, u)
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.err == nil && c.err == nil {
		if c.writeData(st.id, true, nil) == nil {
			_ = c.bw.Flush()
		}
	}
	st.end(io.EOF)
}

func (st *leanStream) Read(p []byte) (int, error) {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for st.off == len(st.in) {
		switch {
		case st.eof:
			return 0, io.EOF
		case st.err != nil:
			return 0, st.err
		}
		st.cond.Wait()
	}
	n := copy(p, st.in[st.off:])
	if st.off += n; st.off == len(st.in) {
		st.in, st.off = st.in[:0], 0
	}
	return n, nil
}

// Write sends p in DATA frames within the client's windows and flushes
// them.
func (st *leanStream) Write(p []byte) (int, error) {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for n < len(p) {
		if st.err != nil || c.err != nil {
			return n, io.ErrClosedPipe
		}
		k := min(int64(len(p)-n), leanFrame, st.sendWin, c.sendWin)
		if k <= 0 {
			if err := c.bw.Flush(); err != nil {
				return n, err
			}
			c.win.Wait()
			continue
		}
		if err := c.writeData(st.id, false, p[n:n+int(k)]); err != nil {
			return n, err
		}
		st.sendWin -= k
		c.sendWin -= k
		n += int(k)
	}
	return n, c.bw.Flush()
}

// writeData writes a DATA frame to bw (the Framer would copy data first);
// c.mu is held.
func (c *leanConn) writeData(id uint32, end bool, data []byte) error {
	var flags byte
	if end {
		flags = byte(http2.FlagDataEndStream)
	}
	h := [9]byte{byte(len(data) >> 16), byte(len(data) >> 8), byte(len(data)), byte(http2.FrameData), flags,
		byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}
	if _, err := c.bw.Write(h[:]); err != nil {
		return err
	}
	_, err := c.bw.Write(data)
	return err
}

func (st *leanStream) Close() error                       { return nil }
func (st *leanStream) LocalAddr() net.Addr                { return st.c.nc.LocalAddr() }
func (st *leanStream) RemoteAddr() net.Addr               { return st.c.nc.RemoteAddr() }
func (st *leanStream) SetDeadline(t time.Time) error      { return nil }
func (st *leanStream) SetReadDeadline(t time.Time) error  { return nil }
func (st *leanStream) SetWriteDeadline(t time.Time) error { return nil }
