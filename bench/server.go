package main

import (
	"bytes"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
)

// The benchmark server runs in its own process so that its CPU time, heap and
// garbage collector never show up in the client's numbers. It is hand-written
// for speed: a handshake parser that does the minimum RFC 6455 §4.2 asks, and
// a frame loop that reads with one large buffer and writes pre-encoded frames.
//
// The scenario is chosen per connection by the request path:
//
//	/flood?size=S&count=N  after the client's first data frame, send N unmasked binary frames of S bytes
//	/sink?count=N          discard masked frames; after N whole messages send one "done" message
//	/echo                  send every data frame back unmasked, same opcode and FIN bit
//	/close                 answer the handshake, then close the TCP connection
//	/idle                  answer the handshake, then wait for the client to go away
//	/zflood?size=S&count=N&id=K  like /flood, with permessage-deflate: N compressed text messages of S bytes of JSON
//	/zsink?count=N&id=K          like /sink, also checking that each message is compressed (zserver.go)
//	/zidle                       like /idle, with permessage-deflate, after one compressed message each way
//
// The same paths are served over TLS on a second port (the wss scenarios).
//
// Every mode answers a ping with a pong and a close frame with a close frame
// (RFC 6455 §5.5.1), so the clients' orderly Close returns at once.

const (
	// srvBigBuf is the read buffer of the data-heavy modes: large enough that
	// the sink reads many small frames per system call.
	srvBigBuf = 512 << 10
	// srvSmallBuf serves the handshake and idle connections, of which there
	// are thousands at a time in the idle-memory scenario.
	srvSmallBuf = 4 << 10
	// floodBatchBytes is the size of one pre-encoded write of the flood mode.
	floodBatchBytes = 256 << 10
	// maxFrame bounds the length a client may declare; our clients send 1 MiB at most.
	maxFrame = 64 << 20
)

// doneMessage is what the sink sends once it has seen every message.
var doneMessage = []byte("done")

// errPeerClosed ends a frame loop after the close handshake.
var errPeerClosed = errors.New("websocket: peer sent a close frame")

// runServer listens on two loopback ports, one for ws and one for wss (TLS
// 1.3, the certificate from its environment, see tlsca.go), prints both
// addresses as the first line of standard output and serves until standard
// input reaches EOF, which is how the parent process (or the parent's death)
// stops it.
func runServer() error {
	tlsConf, err := serverTLSConfig()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	tln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String(), tln.Addr().String())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	errc := make(chan error, 2)
	go func() { errc <- accept(ln) }()
	go func() { errc <- accept(tls.NewListener(tln, tlsConf)) }()
	return <-errc
}

// accept serves every connection of ln. On the TLS listener the TLS
// handshake runs in the connection's goroutine, on its first read.
func accept(ln net.Listener) error {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return err
		}
		go serveConn(nc)
	}
}

// srvConn is the server side of one connection: a read buffer holding
// buf[r:w] unconsumed bytes and an output buffer flushed once per read.
type srvConn struct {
	nc   net.Conn
	buf  []byte
	r, w int
	out  []byte
	z    deflateParams // what the compressed modes negotiated
}

func serveConn(nc net.Conn) {
	defer nc.Close()
	s := &srvConn{nc: nc, buf: make([]byte, srvSmallBuf)}
	u, err := s.handshake()
	if err != nil {
		return
	}
	q := u.Query()
	switch u.Path {
	case "/flood":
		size, _ := strconv.Atoi(q.Get("size"))
		count, _ := strconv.Atoi(q.Get("count"))
		s.grow(srvBigBuf)
		_ = s.flood(size, count)
	case "/sink":
		count, _ := strconv.Atoi(q.Get("count"))
		s.grow(srvBigBuf)
		_ = s.sink(count)
	case "/echo":
		s.grow(srvBigBuf)
		_ = s.echo()
	case "/idle":
		_ = s.frames(false, func(header, []byte) error { return nil })
	case "/zflood":
		size, _ := strconv.Atoi(q.Get("size"))
		count, _ := strconv.Atoi(q.Get("count"))
		s.grow(srvBigBuf)
		_ = s.zflood(size, count, q.Get("id"))
	case "/zsink":
		count, _ := strconv.Atoi(q.Get("count"))
		s.grow(srvBigBuf)
		_ = s.zsink(count, q.Get("id"))
	case "/zidle":
		_ = s.zidle()
	}
	// "/close" and unknown paths: the deferred Close is the whole answer.
}

// handshake reads the opening request and answers 101 (RFC 6455 §4.2.2). It
// checks nothing but what it needs: the clients under test are well behaved.
// Only the compressed modes (paths starting with /z) negotiate
// permessage-deflate; they refuse a client that did not offer it by
// answering 400. It returns the parsed request target; bytes after the request stay
// in s.buf.
func (s *srvConn) handshake() (*url.URL, error) {
	var req []byte
	for {
		n, err := s.nc.Read(s.buf[s.w:])
		s.w += n
		if i := bytes.Index(s.buf[:s.w], []byte("\r\n\r\n")); i >= 0 {
			req = s.buf[:i]
			s.r = i + 4
			break
		}
		if err != nil {
			return nil, err
		}
		if s.w == len(s.buf) {
			return nil, errors.New("websocket: handshake request too large")
		}
	}
	line, rest, _ := bytes.Cut(req, []byte("\r\n"))
	fields := bytes.Fields(line)
	if len(fields) != 3 {
		return nil, errors.New("websocket: bad request line")
	}
	u, err := url.ParseRequestURI(string(fields[1]))
	if err != nil {
		return nil, err
	}
	compressed := strings.HasPrefix(u.Path, "/z")
	var key []byte
	var exts []string
	for len(rest) > 0 {
		var h []byte
		h, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, _ := bytes.Cut(h, []byte(":"))
		name = bytes.TrimSpace(name)
		switch {
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Key")):
			key = bytes.TrimSpace(value)
		case compressed && bytes.EqualFold(name, []byte("Sec-WebSocket-Extensions")):
			exts = append(exts, string(value))
		}
	}
	if key == nil {
		return nil, errors.New("websocket: no Sec-WebSocket-Key")
	}
	var extResp string
	if compressed {
		var ok bool
		if s.z, extResp, ok = negotiateDeflate(exts); !ok {
			_, _ = s.nc.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
			return nil, errors.New("websocket: the client did not offer permessage-deflate")
		}
	}
	resp := make([]byte, 0, 256)
	resp = append(resp, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	resp = append(resp, acceptKey(key)...)
	if extResp != "" {
		resp = append(resp, "\r\nSec-WebSocket-Extensions: "...)
		resp = append(resp, extResp...)
	}
	resp = append(resp, "\r\n\r\n"...)
	if _, err := s.nc.Write(resp); err != nil {
		return nil, err
	}
	return u, nil
}

// acceptKey computes Sec-WebSocket-Accept (RFC 6455 §4.2.2, item 5.4).
func acceptKey(key []byte) string {
	h := sha1.New()
	h.Write(key)
	h.Write([]byte("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// grow makes the read buffer at least n bytes long, keeping unread bytes.
func (s *srvConn) grow(n int) {
	if len(s.buf) >= n {
		return
	}
	b := make([]byte, n)
	s.w = copy(b, s.buf[s.r:s.w])
	s.r = 0
	s.buf = b
}

// flood waits for the client's first data frame (its "start" signal, so the
// client's clock runs before the first byte is sent) and then writes count
// frames of size bytes in pre-encoded batches.
func (s *srvConn) flood(size, count int) error {
	batch, perBatch := floodBatch(size)
	frameLen := len(batch) / perBatch
	started := false
	return s.frames(false, func(h header, _ []byte) error {
		if started {
			return nil
		}
		started = true
		for sent := 0; sent < count; {
			k := min(perBatch, count-sent)
			if _, err := s.nc.Write(batch[:k*frameLen]); err != nil {
				return err
			}
			sent += k
		}
		return nil
	})
}

var floodBatches sync.Map // payload size → []byte of whole frames

// floodBatch returns about floodBatchBytes of identical unmasked binary frames
// carrying size bytes each (at least one frame) and how many frames it holds.
func floodBatch(size int) ([]byte, int) {
	if b, ok := floodBatches.Load(size); ok {
		buf := b.([]byte)
		return buf, len(buf) / frameSize(size, false)
	}
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	frame := appendFrame(nil, true, opBinary, payload)
	k := max(1, floodBatchBytes/len(frame))
	buf := bytes.Repeat(frame, k)
	floodBatches.Store(size, buf)
	return buf, k
}

// sink counts whole messages (data frames with FIN set) without looking at
// their payload and sends doneMessage after the count-th.
func (s *srvConn) sink(count int) error {
	seen := 0
	return s.frames(false, func(h header, _ []byte) error {
		if h.fin {
			seen++
			if seen == count {
				s.out = appendFrame(s.out, true, opBinary, doneMessage)
			}
		}
		return nil
	})
}

// echo sends every data frame back unmasked. Echoing frame by frame keeps the
// message structure (fragments and opcodes) the client sent.
func (s *srvConn) echo() error {
	return s.frames(true, func(h header, p []byte) error {
		s.out = appendFrame(s.out, h.fin, h.op, p)
		return nil
	})
}

// frames is the read loop of every mode. It calls onFrame for each data frame
// once the frame's payload has been consumed; payload is the unmasked payload
// when wantPayload is set and nil otherwise (the payload is skipped unread, so
// a 1 MiB frame never has to fit in the buffer). Control frames are handled
// here. Bytes appended to s.out are written before the next read.
func (s *srvConn) frames(wantPayload bool, onFrame func(h header, payload []byte) error) error {
	var (
		cur  header // the frame whose payload is being skipped
		skip = -1   // bytes of cur's payload still to skip; -1 = none
	)
	for {
		for {
			if skip >= 0 {
				k := min(skip, s.w-s.r)
				s.r += k
				skip -= k
				if skip > 0 {
					break
				}
				skip = -1
				if err := onFrame(cur, nil); err != nil {
					return err
				}
				continue
			}
			h, ok, err := parseHeader(s.buf[s.r:s.w])
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			control := h.op >= opClose
			if !wantPayload && !control {
				s.r += h.size
				cur, skip = h, h.n
				continue
			}
			total := h.size + h.n
			if s.w-s.r < total {
				s.grow(total)
				break
			}
			p := s.buf[s.r+h.size : s.r+total]
			if h.masked {
				maskBytes(h.key, p)
			}
			s.r += total
			if control {
				if err := s.control(h, p); err != nil {
					return err
				}
				continue
			}
			if err := onFrame(h, p); err != nil {
				return err
			}
		}
		if len(s.out) > 0 {
			if _, err := s.nc.Write(s.out); err != nil {
				return err
			}
			s.out = s.out[:0]
		}
		if s.r == s.w {
			s.r, s.w = 0, 0
		} else if s.r > 0 {
			s.w = copy(s.buf, s.buf[s.r:s.w])
			s.r = 0
		}
		n, err := s.nc.Read(s.buf[s.w:])
		s.w += n
		if err != nil {
			return err
		}
	}
}

// control answers a ping with a pong and a close with a close carrying the
// same status code (RFC 6455 §5.5.1), in which case the loop ends.
func (s *srvConn) control(h header, p []byte) error {
	switch h.op {
	case opPing:
		s.out = appendFrame(s.out, true, opPong, p)
	case opClose:
		code := p
		if len(code) > 2 {
			code = code[:2]
		}
		s.out = appendFrame(s.out, true, opClose, code)
		_, _ = s.nc.Write(s.out)
		s.out = s.out[:0]
		return errPeerClosed
	}
	return nil
}

// Opcodes (RFC 6455 §5.2).
const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

// header is a parsed frame header (RFC 6455 §5.2); size is its length on the
// wire and n the payload length.
type header struct {
	fin    bool
	rsv1   bool // "per-message compressed" under permessage-deflate (RFC 7692 §6)
	op     byte
	masked bool
	key    [4]byte
	size   int
	n      int
}

// parseHeader parses the frame header at the start of b; ok is false when b
// does not hold all of it yet.
func parseHeader(b []byte) (h header, ok bool, err error) {
	if len(b) < 2 {
		return h, false, nil
	}
	h.fin = b[0]&0x80 != 0
	h.rsv1 = b[0]&0x40 != 0
	h.op = b[0] & 0x0f
	h.masked = b[1]&0x80 != 0
	h.size = 2
	n := uint64(b[1] & 0x7f)
	switch n {
	case 126:
		if len(b) < 4 {
			return h, false, nil
		}
		n = uint64(binary.BigEndian.Uint16(b[2:]))
		h.size = 4
	case 127:
		if len(b) < 10 {
			return h, false, nil
		}
		n = binary.BigEndian.Uint64(b[2:])
		h.size = 10
	}
	if n > maxFrame {
		return h, false, fmt.Errorf("websocket: frame of %d bytes", n)
	}
	h.n = int(n)
	if h.masked {
		if len(b) < h.size+4 {
			return h, false, nil
		}
		copy(h.key[:], b[h.size:])
		h.size += 4
	}
	return h, true, nil
}

// frameSize is the wire length of a frame carrying n payload bytes.
func frameSize(n int, masked bool) int {
	size := 2 + n
	switch {
	case n > 0xffff:
		size += 8
	case n > 125:
		size += 2
	}
	if masked {
		size += 4
	}
	return size
}

// appendFrame appends an unmasked frame (the server's kind, RFC 6455 §5.1).
func appendFrame(dst []byte, fin bool, op byte, payload []byte) []byte {
	return append(appendHeader(dst, fin, op, len(payload), nil), payload...)
}

// appendHeader appends a frame header; key is the masking key or nil.
func appendHeader(dst []byte, fin bool, op byte, n int, key []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	var m byte
	if key != nil {
		m = 0x80
	}
	switch {
	case n > 0xffff:
		dst = append(dst, b0, m|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	case n > 125:
		dst = append(dst, b0, m|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, b0, m|byte(n))
	}
	return append(dst, key...)
}

// maskBytes applies the masking key to p in place (RFC 6455 §5.3), eight
// bytes at a time.
func maskBytes(key [4]byte, p []byte) {
	k32 := binary.LittleEndian.Uint32(key[:])
	k64 := uint64(k32) | uint64(k32)<<32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k64)
	}
	for ; i < len(p); i++ {
		p[i] ^= key[i&3]
	}
}
