// Package wstest is a WebSocket server to test clients against: a
// Handler plays the server's part on each connection, one frame or one
// scripted step at a time, and everything the client sent (its handshake
// request and each frame) is recorded for the test to check.
//
// A server listens on a loopback port (NewServer, or NewTLSServer for
// wss), or on nothing at all (NewPipeServer): its connections are
// in-memory pipes made by Server.DialContext, with no socket, so that a
// test can run inside a testing/synctest bubble, where a client's
// timeouts, ping intervals and reconnect delays take no real time.
//
//	srv := wstest.NewServer(wstest.Echo)
//	defer srv.Close()
//	conn, err := websocket.Dial(ctx, srv.URL, nil)
//
// Ready handlers cover the usual cases: Echo, Stall, Reject, and Script,
// which runs steps such as Accept, Send, SendRaw, Read, Sleep, Close and
// Drop in order. A handler of one's own gets a *Conn to read and write
// frames with, valid or not. The server checks nothing the client sends
// (beyond a 1 MiB bound on the handshake request's head, past which it
// drops the connection, and a 64 MiB bound on a frame): the test checks it, through
// Conn.Request and Conn.Received. It never agrees to an extension unless
// a handler answers with one, so compression is off.
//
// The package has its own frame codec, written apart from the client
// library's and not importing it, so it can check the library rather than
// agree with it, and the library's own tests can use it.
package wstest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"sync"
)

// A Handler plays the server's part on one connection; the connection is
// closed when it returns. It runs on a goroutine of its own: report
// failures with t.Error (not t.Fatal), or check Conn.Received and
// Conn.Request after the exchange.
type Handler func(c *Conn)

// Server is a WebSocket server running a Handler on each connection.
type Server struct {
	// URL is the server's address: ws://127.0.0.1:port, wss://127.0.0.1:port
	// with TLS, or ws://127.0.0.1:1 for a pipe server, where nothing
	// listens, so that a client dialing it without DialContext fails at
	// once.
	URL string

	h       Handler
	ln      net.Listener // nil for a pipe server
	tlsConf *tls.Config  // server side; nil without TLS
	client  *tls.Config  // client side, trusting the server's certificate

	mu     sync.Mutex
	closed bool
	open   map[*Conn]struct{}
	conns  []*Conn
	wg     sync.WaitGroup
}

// NewServer starts a server on a loopback TCP port that runs h on each
// connection. Close it when done.
func NewServer(h Handler) *Server {
	return listen(h, nil)
}

// NewTLSServer is NewServer over TLS, with a certificate for 127.0.0.1,
// ::1 and localhost from a throwaway certificate authority; clients trust
// it with TLSConfig.
func NewTLSServer(h Handler) *Server {
	ca := NewCA("wstest CA")
	cert := ca.Issue("localhost", x509.ExtKeyUsageServerAuth, "localhost", "127.0.0.1", "::1")
	s := listen(h, &tls.Config{Certificates: []tls.Certificate{cert}})
	s.client = &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
	return s
}

// NewPipeServer starts a server that listens nowhere: clients reach it
// only through DialContext, over in-memory pipes. It starts no goroutine
// until a client dials, so it can be made and used inside a
// testing/synctest bubble (whose goroutines may not wait on real sockets).
// Close it within the bubble.
func NewPipeServer(h Handler) *Server {
	return &Server{URL: "ws://127.0.0.1:1", h: h, open: map[*Conn]struct{}{}}
}

func listen(h Handler, conf *tls.Config) *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("wstest: listen on a loopback port: " + err.Error())
	}
	s := &Server{URL: "ws://" + ln.Addr().String(), h: h, ln: ln, tlsConf: conf, open: map[*Conn]struct{}{}}
	if conf != nil {
		s.URL = "wss://" + ln.Addr().String()
	}
	s.wg.Add(1)
	go s.acceptLoop()
	return s
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !s.serve(nc) {
			return
		}
	}
}

// serve runs the handler for the connection nc on a new goroutine; it
// reports false (and closes nc) once the server is closed.
func (s *Server) serve(raw net.Conn) bool {
	nc := raw
	if s.tlsConf != nil {
		nc = tls.Server(raw, s.tlsConf)
	}
	c := newConn(raw, nc)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		raw.Close()
		return false
	}
	s.open[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer func() {
			c.Drop()
			close(c.done)
			s.mu.Lock()
			delete(s.open, c)
			s.mu.Unlock()
		}()
		req, err := http.ReadRequest(c.br)
		if err != nil {
			return
		}
		c.head.n = -1 // the frames are bounded by the codec
		// A body would be the frames' bytes: the library never sends
		// one, and a client that does must not have its frames read
		// as a body.
		req.Body = http.NoBody
		c.req = req
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.h(c)
	}()
	return true
}

// DialContext connects to the server whatever network and addr say, for
// the client's DialOptions.NetDialContext. For a pipe server it returns
// one end of a new in-memory pipe (buffered like a socket, with
// deadlines); otherwise it dials the server's loopback port, so a client
// configured with any URL can be pointed at the server.
func (s *Server) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if s.ln != nil {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", s.ln.Addr().String())
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cli, srv := newPipe()
	if !s.serve(srv) {
		return nil, errors.New("wstest: dial: the server is closed")
	}
	return cli, nil
}

// TLSConfig returns a new client TLS configuration that trusts the
// server's certificate, for the client's DialOptions.TLSConfig, or nil for
// a server without TLS. Its ServerName is "localhost", which the
// certificate names, so that it verifies the server whatever host the
// client's URL has (DialContext points any URL at the server).
func (s *Server) TLSConfig() *tls.Config {
	if s.client == nil {
		return nil
	}
	return s.client.Clone()
}

// Conns returns the server's connections so far, in the order their
// handshake requests were read, open or not.
func (s *Server) Conns() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Conn(nil), s.conns...)
}

// Close stops the server: it stops listening, drops every open connection
// (see Conn.Drop) and waits for the handlers to return (a handler waiting
// on something other than its connection keeps it waiting). Conns and
// their recordings stay readable.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.open {
		c.Drop()
	}
	s.mu.Unlock()
	if s.ln != nil {
		s.ln.Close()
	}
	s.wg.Wait()
}
