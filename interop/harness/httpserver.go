package harness

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
)

// HTTPServer is an in-process HTTP server on a fixed loopback port that can
// be stopped and started again on the same port, to simulate a server
// restart. Unlike http.Server.Close, Stop also closes hijacked connections
// (WebSocket connections), as a dying server process would.
type HTTPServer struct {
	// Addr is "127.0.0.1:port"; it stays the same across restarts.
	Addr string

	handler http.Handler
	tls     *tls.Config

	mu    sync.Mutex
	srv   *http.Server
	ln    *trackingListener
	serve chan struct{} // closed when the Serve goroutine has returned
}

// ServeHTTP serves h on a free loopback port (over TLS when tlsConfig is
// not nil) until the test ends.
func ServeHTTP(tb testing.TB, h http.Handler, tlsConfig *tls.Config) *HTTPServer {
	tb.Helper()
	s := &HTTPServer{Addr: Addr(FreePort(tb)), handler: h, tls: tlsConfig}
	if err := s.start(); err != nil {
		tb.Fatalf("harness: serve %s: %v", s.Addr, err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Restart stops the server and serves again on the same address.
func (s *HTTPServer) Restart(tb testing.TB) {
	tb.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		tb.Fatalf("harness: restart %s: %v", s.Addr, err)
	}
}

// Start serves again after Stop; it fails the test when the port has been
// taken in between.
func (s *HTTPServer) Start(tb testing.TB) {
	tb.Helper()
	if err := s.start(); err != nil {
		tb.Fatalf("harness: start %s: %v", s.Addr, err)
	}
}

func (s *HTTPServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("already serving")
	}
	l, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	tl := &trackingListener{Listener: l, conns: map[net.Conn]struct{}{}}
	var ln net.Listener = tl
	if s.tls != nil {
		ln = tls.NewListener(tl, s.tls)
	}
	srv := &http.Server{Handler: s.handler}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	s.srv, s.ln, s.serve = srv, tl, done
	return nil
}

// Stop closes the listener and every connection, hijacked or not, and
// waits for the accept loop to end. It is a no-op when not serving.
func (s *HTTPServer) Stop() {
	s.mu.Lock()
	srv, ln, done := s.srv, s.ln, s.serve
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	srv.Close()
	ln.closeAll()
	<-done
}

// trackingListener remembers the connections it accepted so that Stop can
// close them all.
type trackingListener struct {
	net.Listener
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: c, l: l}
	l.conns[tc] = struct{}{}
	return tc, nil
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	l.closed = true
	conns := l.conns
	l.conns = map[net.Conn]struct{}{}
	l.mu.Unlock()
	for c := range conns {
		c.(*trackedConn).Conn.Close()
	}
}

// trackedConn forgets itself when closed, so long runs do not pile up
// closed connections.
type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
