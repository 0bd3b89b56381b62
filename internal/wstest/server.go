// Package wstest is a small WebSocket server for the library's tests,
// examples and tools: an echo server, scripted handlers that read and write
// frames, and raw TCP scripts that answer with exact bytes. It has its own
// frame codec, written independently of the client's, so that the client is
// not only checked against itself.
package wstest

import (
	"bufio"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
)

// Server listens on a loopback port and runs a handler per connection.
type Server struct {
	URL      string // ws://127.0.0.1:port (wss:// with TLS)
	Addr     string // 127.0.0.1:port
	ln       net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	closed   bool
	handler  func(net.Conn)
	Requests chan *http.Request // handshake requests (NewWithRequests); read-only once serving
}

// NewRaw starts a server that hands each accepted TCP connection to handle,
// which must close it. Use it for exact-bytes scripts.
func NewRaw(handle func(net.Conn)) *Server {
	s := listen()
	s.start(handle)
	return s
}

// listen opens the listener; start serves it. They are apart so that the
// constructors finish the Server before any handler can see it.
func listen() *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("wstest: listen: " + err.Error())
	}
	s := &Server{ln: ln, conns: map[net.Conn]struct{}{}, Addr: ln.Addr().String()}
	s.URL = "ws://" + s.Addr
	return s
}

func (s *Server) start(handle func(net.Conn)) {
	s.handler = handle
	s.wg.Add(1)
	go s.serve()
}

// New starts a WebSocket server running handle for each upgraded
// connection; the connection is closed when handle returns.
func New(handle func(*Conn)) *Server {
	return NewWithRequests(nil, handle)
}

// NewWithRequests is New that sends a copy of each handshake request to reqs
// (dropped when reqs is full).
func NewWithRequests(reqs chan *http.Request, handle func(*Conn)) *Server {
	s := listen()
	s.Requests = reqs
	s.start(func(nc net.Conn) {
		defer nc.Close()
		c, err := Upgrade(nc, s.Requests, nil)
		if err != nil {
			return
		}
		handle(c)
	})
	return s
}

// NewTLS is New over TLS with cfg (which must hold a certificate).
func NewTLS(cfg *tls.Config, handle func(*Conn)) *Server {
	s := listen()
	s.URL = "wss://" + s.Addr
	s.start(func(nc net.Conn) {
		tc := tls.Server(nc, cfg)
		defer tc.Close()
		if err := tc.Handshake(); err != nil {
			return
		}
		c, err := Upgrade(tc, s.Requests, nil)
		if err != nil {
			return
		}
		handle(c)
	})
	return s
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[nc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, nc)
				s.mu.Unlock()
			}()
			s.handler(nc)
		}()
	}
}

// Close stops the listener, closes every open connection and waits for the
// handlers to return.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

// Upgrade reads a handshake request from nc and answers 101. respHeader
// adds response headers (e.g. a subprotocol). A copy of the request goes to
// reqs when non-nil.
func Upgrade(nc net.Conn, reqs chan *http.Request, respHeader http.Header) (*Conn, error) {
	br := bufio.NewReader(nc)
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	if reqs != nil {
		select {
		case reqs <- req:
		default:
		}
	}
	key := req.Header.Get("Sec-WebSocket-Key")
	if key == "" {
		io.WriteString(nc, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
		return nil, errors.New("wstest: no Sec-WebSocket-Key")
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
	b.WriteString("Sec-WebSocket-Accept: " + AcceptKey(key) + "\r\n")
	for k, vs := range respHeader {
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(nc, b.String()); err != nil {
		return nil, err
	}
	return &Conn{NC: nc, R: br, Request: req}, nil
}

// AcceptKey computes Sec-WebSocket-Accept for a key (RFC 6455 §4.2.2).
func AcceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// Frame is a frame as the server sees it; Payload is unmasked.
type Frame struct {
	Fin        bool
	Rsv        byte // the three RSV bits, RSV1 = 4
	Opcode     byte
	Masked     bool
	Payload    []byte
	DeclaredLn uint64
}

// Conn is the server side of a connection.
type Conn struct {
	NC      net.Conn
	R       *bufio.Reader
	Request *http.Request
	wmu     sync.Mutex
}

// ReadFrame reads one frame from the client.
func (c *Conn) ReadFrame() (*Frame, error) {
	f, _, err := c.ReadFrameWithKey()
	return f, err
}

// ReadMessage reads a whole data message, answering pings; a close frame
// is returned as (8, payload).
func (c *Conn) ReadMessage() (op byte, data []byte, err error) {
	for {
		f, err := c.ReadFrame()
		if err != nil {
			return 0, nil, err
		}
		switch f.Opcode {
		case 0x9:
			c.WriteFrame(true, 0xA, f.Payload)
			continue
		case 0xA:
			continue
		case 0x8:
			return 8, f.Payload, nil
		case 0x0:
			data = append(data, f.Payload...)
		default:
			op, data = f.Opcode, append(data[:0], f.Payload...)
		}
		if f.Fin {
			return op, data, nil
		}
	}
}

// AppendFrame appends an unmasked server frame.
func AppendFrame(dst []byte, fin bool, op byte, payload []byte) []byte {
	b0 := op & 0xF
	if fin {
		b0 |= 0x80
	}
	n := len(payload)
	switch {
	case n <= 125:
		dst = append(dst, b0, byte(n))
	case n <= 0xFFFF:
		dst = append(dst, b0, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, payload...)
}

// WriteFrame writes one unmasked frame.
func (c *Conn) WriteFrame(fin bool, op byte, payload []byte) error {
	return c.WriteRaw(AppendFrame(nil, fin, op, payload))
}

// WriteRaw writes bytes as they are.
func (c *Conn) WriteRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.NC.Write(b)
	return err
}

// ClosePayload builds a close frame payload.
func ClosePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// Echo sends every data message back as it came and answers a close frame
// with the same payload, then returns.
func Echo(c *Conn) {
	for {
		op, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		if op == 8 {
			c.WriteFrame(true, 8, data)
			return
		}
		if err := c.WriteFrame(true, op, data); err != nil {
			return
		}
	}
}
