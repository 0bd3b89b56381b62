// Package proxytest runs small HTTP CONNECT and SOCKS proxies, echo servers
// and scripted fakes on loopback for tests. The proxies check what clients
// send, record the handshake bytes they receive, and tunnel to the requested
// address; they are strict, not general-purpose.
package proxytest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsclient/websocket/wstest"
)

// Server accepts connections on a loopback listener and runs a handler for
// each. Close stops it and waits for every handler and tunnel to return.
type Server struct {
	// Addr is the listening address, "127.0.0.1:port" or "[::1]:port".
	Addr string

	ln     net.Listener
	handle func(s *Server, c net.Conn)
	wg     sync.WaitGroup

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	received [][]byte
	closed   bool
}

// Start listens on host ("127.0.0.1" or "::1") and runs handle for each
// connection until the test ends. It skips the test if host is "::1" and
// the machine has no IPv6 loopback.
func Start(tb testing.TB, host string, handle func(s *Server, c net.Conn)) *Server {
	tb.Helper()
	return start(tb, host, nil, handle)
}

// StartTLS is Start with TLS on the listener, presenting cert.
func StartTLS(tb testing.TB, host string, cert tls.Certificate, handle func(s *Server, c net.Conn)) *Server {
	tb.Helper()
	return start(tb, host, &tls.Config{Certificates: []tls.Certificate{cert}}, handle)
}

func start(tb testing.TB, host string, cfg *tls.Config, handle func(s *Server, c net.Conn)) *Server {
	tb.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		if host == "::1" {
			tb.Skipf("no IPv6 loopback: %v", err)
		}
		tb.Fatal(err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	s := &Server{Addr: ln.Addr().String(), ln: ln, handle: handle, conns: make(map[net.Conn]struct{})}
	s.wg.Add(1)
	go s.serve()
	tb.Cleanup(s.Close)
	return s
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !s.Track(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			s.handle(s, c)
		}()
	}
}

// Track registers a connection a handler opened (a tunnel's upstream side)
// so Close can unblock it; it reports false, after closing nothing, when the
// server is already closed.
func (s *Server) Track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Record stores the bytes a handler received before it started tunneling.
func (s *Server) Record(b []byte) {
	s.mu.Lock()
	s.received = append(s.received, bytes.Clone(b))
	s.mu.Unlock()
}

// Received returns what Record stored, one entry per connection, in order.
func (s *Server) Received() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.received...)
}

// Close stops accepting, closes every open connection and waits for the
// handlers and tunnels to finish. It is safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Echo starts a server on host that writes back everything it reads.
func Echo(tb testing.TB, host string) *Server {
	tb.Helper()
	return Start(tb, host, func(_ *Server, c net.Conn) { io.Copy(c, c) })
}

// recorder keeps a copy of everything read through it.
type recorder struct {
	r   io.Reader
	buf bytes.Buffer
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.buf.Write(p[:n])
	return n, err
}

// dial opens the upstream side of a tunnel, tracked so Close unblocks it.
func (s *Server) dial(target string) (net.Conn, bool) {
	up, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return nil, false
	}
	if !s.Track(up) {
		up.Close()
		return nil, false
	}
	return up, true
}

// splice sends pending (bytes of c already read) to up, then copies both
// ways until either side ends.
func (s *Server) splice(c, up net.Conn, pending []byte) {
	defer s.untrack(up)
	if len(pending) > 0 {
		if _, err := up.Write(pending); err != nil {
			return
		}
	}
	done := make(chan struct{})
	go func() {
		io.Copy(c, up)
		c.Close()
		close(done)
	}()
	io.Copy(up, c)
	up.Close()
	<-done
}

// Auth is the credentials a proxy demands; the zero value demands none.
type Auth struct{ User, Password string }

// HTTPOptions configures HTTPConnect.
type HTTPOptions struct {
	Auth Auth // when User is set, CONNECT needs matching Basic Proxy-Authorization
	// Early is written right after the 200 reply, before any tunneled byte,
	// as if the target had spoken first; it tests that no byte is lost.
	Early []byte
}

// HTTPConnect returns a handler for an HTTP proxy that serves one CONNECT
// per connection (RFC 9110 §9.3.6), answering 407 without the right
// credentials, 400 for anything but CONNECT and 502 when the target is down.
func HTTPConnect(opts HTTPOptions) func(*Server, net.Conn) {
	return func(s *Server, c net.Conn) {
		rec := &recorder{r: c}
		br := bufio.NewReader(rec)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		head := rec.buf.Bytes()[:rec.buf.Len()-br.Buffered()]
		s.Record(head)
		if req.Method != http.MethodConnect {
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
			return
		}
		if opts.Auth.User != "" {
			want := "Basic " + base64.StdEncoding.EncodeToString([]byte(opts.Auth.User+":"+opts.Auth.Password))
			if req.Header.Get("Proxy-Authorization") != want {
				io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\n"+
					"Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 13\r\n\r\naccess denied")
				return
			}
		}
		up, ok := s.dial(req.RequestURI)
		if !ok {
			io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
			return
		}
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		if len(opts.Early) > 0 {
			c.Write(opts.Early)
		}
		pending, _ := br.Peek(br.Buffered())
		s.splice(c, up, pending)
	}
}

// SOCKSOptions configures SOCKS4 and SOCKS5.
type SOCKSOptions struct {
	Auth Auth // SOCKS5: when User is set, RFC 1929 auth is required; SOCKS4: User must match USERID
	// Hosts resolves the names clients send (SOCKS4A, SOCKS5 ATYP 3); a
	// name not in it is unreachable. No real DNS is used.
	Hosts map[string]string
}

func (o SOCKSOptions) resolve(name string, port uint16) (string, bool) {
	ip, ok := o.Hosts[name]
	return net.JoinHostPort(ip, strconv.Itoa(int(port))), ok
}

// SOCKS4 returns a handler for a SOCKS4/SOCKS4A proxy.
func SOCKS4(opts SOCKSOptions) func(*Server, net.Conn) {
	return func(s *Server, c net.Conn) {
		rec := &recorder{r: c}
		br := bufio.NewReader(rec)
		var head [8]byte
		if _, err := io.ReadFull(br, head[:]); err != nil {
			return
		}
		user, err := br.ReadString(0)
		if err != nil {
			return
		}
		user = strings.TrimSuffix(user, "\x00")
		port := binary.BigEndian.Uint16(head[2:4])
		target := net.JoinHostPort(netip.AddrFrom4([4]byte(head[4:8])).String(), strconv.Itoa(int(port)))
		ok := head[0] == 4 && head[1] == 1
		if head[4] == 0 && head[5] == 0 && head[6] == 0 && head[7] != 0 { // SOCKS4A
			name, err := br.ReadString(0)
			if err != nil {
				return
			}
			target, ok = opts.resolve(strings.TrimSuffix(name, "\x00"), port)
			ok = ok && head[0] == 4 && head[1] == 1
		}
		s.Record(rec.buf.Bytes())
		if opts.Auth.User != "" && user != opts.Auth.User {
			c.Write([]byte{0, 0x5d, 0, 0, 0, 0, 0, 0})
			return
		}
		var up net.Conn
		if ok {
			up, ok = s.dial(target)
		}
		if !ok {
			c.Write([]byte{0, 0x5b, 0, 0, 0, 0, 0, 0})
			return
		}
		c.Write([]byte{0, 0x5a, 0, 0, 0, 0, 0, 0})
		pending, _ := br.Peek(br.Buffered())
		s.splice(c, up, pending)
	}
}

// SOCKS5 returns a handler for a SOCKS5 proxy (RFC 1928, RFC 1929 auth).
func SOCKS5(opts SOCKSOptions) func(*Server, net.Conn) {
	return func(s *Server, c net.Conn) {
		rec := &recorder{r: c}
		br := bufio.NewReader(rec)
		var hdr [2]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil || hdr[0] != 5 {
			return
		}
		methods := make([]byte, hdr[1])
		if _, err := io.ReadFull(br, methods); err != nil {
			return
		}
		want := byte(0)
		if opts.Auth.User != "" {
			want = 2
		}
		if bytes.IndexByte(methods, want) < 0 {
			s.Record(rec.buf.Bytes())
			c.Write([]byte{5, 0xff})
			return
		}
		c.Write([]byte{5, want})
		if want == 2 {
			var v [2]byte
			if _, err := io.ReadFull(br, v[:]); err != nil {
				return
			}
			user := make([]byte, v[1])
			io.ReadFull(br, user)
			var pl [1]byte
			io.ReadFull(br, pl[:])
			pass := make([]byte, pl[0])
			if _, err := io.ReadFull(br, pass); err != nil {
				return
			}
			if v[0] != 1 || string(user) != opts.Auth.User || string(pass) != opts.Auth.Password {
				s.Record(rec.buf.Bytes())
				c.Write([]byte{1, 1})
				return
			}
			c.Write([]byte{1, 0})
		}
		var req [4]byte
		if _, err := io.ReadFull(br, req[:]); err != nil {
			return
		}
		var host string
		ok := req[0] == 5 && req[1] == 1
		switch req[3] {
		case 1, 4:
			a := make([]byte, 4*(1+3*(req[3]/4)))
			io.ReadFull(br, a)
			ip, _ := netip.AddrFromSlice(a)
			host = ip.String()
		case 3:
			var l [1]byte
			io.ReadFull(br, l[:])
			name := make([]byte, l[0])
			io.ReadFull(br, name)
			host = "name:" + string(name)
		default:
			return
		}
		var pb [2]byte
		if _, err := io.ReadFull(br, pb[:]); err != nil {
			return
		}
		port := binary.BigEndian.Uint16(pb[:])
		s.Record(rec.buf.Bytes())
		target := net.JoinHostPort(host, strconv.Itoa(int(port)))
		if name, isName := strings.CutPrefix(host, "name:"); isName {
			var found bool
			target, found = opts.resolve(name, port)
			if !found {
				c.Write([]byte{5, 4, 0, 1, 0, 0, 0, 0, 0, 0}) // host unreachable
				return
			}
		}
		if !ok {
			c.Write([]byte{5, 7, 0, 1, 0, 0, 0, 0, 0, 0}) // command not supported
			return
		}
		up, ok := s.dial(target)
		if !ok {
			c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}) // connection refused
			return
		}
		// The bound address is IPv6 here on purpose: clients must read a
		// reply whose length depends on ATYP.
		c.Write([]byte{5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x04, 0x38})
		pending, _ := br.Peek(br.Buffered())
		s.splice(c, up, pending)
	}
}

// SelfSigned makes a certificate for hosts (names or IP addresses) and a
// pool that trusts it, from a throwaway CA (wstest.CA).
func SelfSigned(tb testing.TB, hosts ...string) (tls.Certificate, *x509.CertPool) {
	tb.Helper()
	ca := wstest.NewCA("proxytest CA")
	return ca.Issue("proxytest", x509.ExtKeyUsageServerAuth, hosts...), ca.Pool()
}
