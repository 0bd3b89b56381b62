package websocket_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"golang.org/x/net/http2"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/proxy/proxytest"
	"github.com/wsclient/websocket/internal/wstest"
)

// h2Server is net/http's HTTP/2 server on loopback, taking WebSockets by
// extended CONNECT: each runs handle on a wstest.Conn over the request body
// and the ResponseWriter. It selects the subprotocol "chat" and
// permessage-deflate when offered; /hypercorn answers as hypercorn does
// ("Server: hypercorn-h2"); /deny answers 403, /moved redirects to
// /echo, /stall never answers, /sink answers and then reads nothing.
type h2Server struct {
	srv   *httptest.Server
	URL   string      // wss://127.0.0.1:port, ws:// for h2c
	TLS   *tls.Config // trusts the server; one pointer, so dials share connections
	conns atomic.Int32
	gone  chan struct{} // a value for each TCP connection closed
	reqs  chan *http.Request
}

func newH2Server(t *testing.T, handle func(*wstest.Conn), cfg *http.HTTP2Config) *h2Server {
	return startH2Server(t, handle, cfg, false)
}

func startH2Server(t *testing.T, handle func(*wstest.Conn), cfg *http.HTTP2Config, h2c bool) *h2Server {
	t.Helper()
	s := &h2Server{gone: make(chan struct{}, 1000), reqs: make(chan *http.Request, 1000)}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect || r.Header.Get(":protocol") != "websocket" {
			http.Error(w, "not an extended CONNECT", http.StatusBadRequest)
			return
		}
		s.reqs <- r
		switch r.URL.Path {
		case "/deny":
			http.Error(w, "denied", http.StatusForbidden)
			return
		case "/sink":
			w.WriteHeader(http.StatusOK)
			http.NewResponseController(w).Flush()
			<-r.Context().Done() // reads nothing: the client's window runs out
			return
		case "/stall":
			<-r.Context().Done() // the client's reset
			return
		case "/moved":
			w.Header().Set("Location", "/echo")
			w.WriteHeader(http.StatusFound)
			return
		}
		if strings.Contains(r.Header.Get("Sec-Websocket-Protocol"), "chat") {
			w.Header().Set("Sec-Websocket-Protocol", "chat")
		}
		if strings.Contains(r.Header.Get("Sec-Websocket-Extensions"), "permessage-deflate") {
			w.Header().Set("Sec-Websocket-Extensions", "permessage-deflate")
		}
		w.Header().Set("Set-Cookie", "session=h2")
		if r.URL.Path == "/hypercorn" {
			w.Header().Set("Server", "hypercorn-h2") // see TestHTTP2CloseResetsForHypercorn
		}
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		// A flush error is not the end of the test's handler: a client
		// that got the response and reset the stream at once can make
		// this flush fail (the stream is gone by the time the server's
		// loop answers it), and handle must still see that reset on its
		// reads (TestHTTP2AbortResetsOnlyItsStream hung waiting for it).
		rc.Flush()
		bc := &bodyConn{Reader: r.Body, w: w, rc: rc}
		handle(&wstest.Conn{NC: bc, R: bufio.NewReader(bc), Request: r})
	}))
	s.srv.Config.HTTP2 = cfg
	s.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.gone <- struct{}{}
		}
	}
	if h2c {
		s.srv.Config.Protocols = new(http.Protocols)
		s.srv.Config.Protocols.SetHTTP1(true)
		s.srv.Config.Protocols.SetUnencryptedHTTP2(true)
		s.srv.Start()
		s.URL = "ws://" + s.srv.Listener.Addr().String()
	} else {
		s.srv.EnableHTTP2 = true
		s.srv.StartTLS()
		roots := x509.NewCertPool()
		roots.AddCert(s.srv.Certificate())
		s.TLS = &tls.Config{RootCAs: roots}
		s.URL = "wss://" + s.srv.Listener.Addr().String()
	}
	t.Cleanup(s.srv.Close)
	return s
}

// opts returns dial options for the server with mode and transport tr
// (closed when the test ends).
// wantConns checks that the server has accepted want TCP connections.
func (s *h2Server) wantConns(t *testing.T, want int32) {
	t.Helper()
	if n := s.conns.Load(); n != want {
		t.Errorf("%d TCP connections, want %d", n, want)
	}
}

func (s *h2Server) opts(t *testing.T, mode websocket.HTTP2Mode, tr *websocket.HTTP2Transport) *websocket.DialOptions {
	t.Cleanup(func() { tr.Close() })
	return &websocket.DialOptions{TLSConfig: s.TLS, HTTP2: mode, HTTP2Transport: tr}
}

// bodyConn is the server's side of a WebSocket on an HTTP/2 stream: it
// reads the request body and writes (and flushes) the response.
type bodyConn struct {
	io.Reader
	w  io.Writer
	rc *http.ResponseController
}

func (b *bodyConn) Write(p []byte) (int, error) {
	n, err := b.w.Write(p)
	if err == nil {
		err = b.rc.Flush()
	}
	return n, err
}
func (b *bodyConn) Close() error                { return nil }
func (b *bodyConn) LocalAddr() net.Addr         { return &net.TCPAddr{} }
func (b *bodyConn) RemoteAddr() net.Addr        { return &net.TCPAddr{} }
func (b *bodyConn) SetDeadline(time.Time) error { return nil }

// SetReadDeadline sets the stream's read deadline (ReadFrameWithin).
func (b *bodyConn) SetReadDeadline(t time.Time) error { return b.rc.SetReadDeadline(t) }
func (b *bodyConn) SetWriteDeadline(time.Time) error  { return nil }

// frameEcho sends every frame back as it came, RSV bits included, so that
// permessage-deflate works with the client's own compression (both
// directions see the same messages, so their contexts agree); it answers
// pings and echoes the close frame, then returns.
func frameEcho(c *wstest.Conn) {
	for {
		f, err := c.ReadFrame()
		if err != nil {
			return
		}
		switch f.Opcode {
		case 0x9:
			c.WriteFrame(true, 0xA, f.Payload)
		case 0xA:
		case 0x8:
			c.WriteFrame(true, 0x8, f.Payload)
			return
		default:
			if c.WriteRaw(wstest.AppendFrameRsv(nil, f.Fin, f.Rsv, f.Opcode, f.Payload)) != nil {
				return
			}
		}
	}
}

func mustDialH2(t *testing.T, url string, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	c, err := websocket.Dial(context.Background(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Abort() })
	return c
}

func echoMessage(c *websocket.Conn, op websocket.Opcode, data []byte) error {
	if err := c.Send(data, op); err != nil {
		return err
	}
	m, err := c.Recv()
	if err != nil {
		return err
	}
	if m.Opcode != op || !bytes.Equal(m.Data, data) {
		return fmt.Errorf("echo of %d bytes (%v): got %d bytes (%v)", len(data), op, len(m.Data), m.Opcode)
	}
	return nil
}

func TestHTTP2Echo(t *testing.T) {
	s := newH2Server(t, frameEcho, nil)
	jar, _ := cookiejar.New(nil)
	opts := s.opts(t, websocket.HTTP2Prefer, &websocket.HTTP2Transport{})
	opts.Subprotocols = []string{"chat"}
	opts.Header = http.Header{"X-Custom": {"yes"}}
	opts.Cookie = "a=1"
	opts.Jar = jar
	c := mustDialH2(t, s.URL+"/echo?q=1", opts)
	r := <-s.reqs
	if r.URL.RequestURI() != "/echo?q=1" || r.Host != s.srv.Listener.Addr().String() || r.ProtoMajor != 2 {
		t.Errorf("request %s %q host %q proto %s", r.Method, r.URL.RequestURI(), r.Host, r.Proto)
	}
	for k, want := range map[string]string{
		"Sec-Websocket-Version": "13", "Sec-Websocket-Protocol": "chat", "X-Custom": "yes", "Cookie": "a=1",
		"Origin": "https://" + s.srv.Listener.Addr().String(), "Sec-Websocket-Key": "", "Upgrade": "", "Connection": "",
	} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("server got %s %q, want %q", k, got, want)
		}
	}
	if c.Status() != 200 || c.Subprotocol() != "chat" || !c.IsSSL() || c.Header().Get("Set-Cookie") != "session=h2" {
		t.Errorf("status %d, subprotocol %q, IsSSL %v, header %v", c.Status(), c.Subprotocol(), c.IsSSL(), c.Header())
	}
	if u, _ := url.Parse("https://" + s.srv.Listener.Addr().String()); len(jar.Cookies(u)) != 1 {
		t.Errorf("jar holds %v", jar.Cookies(u))
	}
	if got := c.NetConn().RemoteAddr().String(); got != s.srv.Listener.Addr().String() {
		t.Errorf("NetConn().RemoteAddr() = %s", got)
	}
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, 1 << 20} {
		data := bytes.Repeat([]byte{'x'}, n)
		if err := echoMessage(c, websocket.OpText, data); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			data[0] = 7 // not UTF-8
		}
		if err := echoMessage(c, websocket.OpBinary, data); err != nil {
			t.Fatal(err)
		}
	}
	// A fragmented message, and a ping.
	w, err := c.NextWriter(websocket.OpText)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"frag", "men", "ted"} {
		io.WriteString(w, part)
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if m, err := c.Recv(); err != nil || m.Text() != "fragmented" {
		t.Fatalf("fragmented echo: %q, %v", m.Text(), err)
	}
	if err := c.Ping([]byte("p")); err != nil {
		t.Fatal(err)
	}
	if f, err := c.RecvFrame(); err != nil || f.Opcode != websocket.OpPong || string(f.Payload) != "p" {
		t.Fatalf("pong: %v, %v", f, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	s.wantConns(t, 1)
}

// TestHTTP2CloseKeepsConnection closes WebSockets both ways and checks
// that each ends its stream in order (the server reads EOF, not a reset)
// while the TCP connection stays for the next WebSocket.
func TestHTTP2CloseKeepsConnection(t *testing.T) {
	bodyEnd := make(chan error, 4)
	s := newH2Server(t, func(c *wstest.Conn) {
		if c.Request.URL.Path == "/server-closes" {
			c.WriteFrame(true, 0x8, wstest.ClosePayload(4000, "bye"))
		}
		frameEcho(c)
		_, err := io.Copy(io.Discard, c.NC)
		bodyEnd <- err
	}, nil)
	opts := s.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{})

	c := mustDialH2(t, s.URL+"/client-closes", opts)
	if err := echoMessage(c, websocket.OpText, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-bodyEnd; err != nil {
		t.Fatalf("client close: the server's body ended with %v, want EOF", err)
	}

	c = mustDialH2(t, s.URL+"/server-closes", opts)
	_, err := c.Recv()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "bye" {
		t.Fatalf("Recv = %v, want the server's close 4000", err)
	}
	if err := <-bodyEnd; err != nil {
		t.Fatalf("server close: the server's body ended with %v, want EOF", err)
	}

	c = mustDialH2(t, s.URL+"/again", opts)
	if err := echoMessage(c, websocket.OpBinary, []byte("three")); err != nil {
		t.Fatal(err)
	}
	s.wantConns(t, 1)
}

func TestHTTP2Compression(t *testing.T) {
	var rsv1 atomic.Int32
	s := newH2Server(t, func(c *wstest.Conn) {
		for {
			f, err := c.ReadFrame()
			if err != nil || f.Opcode == 0x8 {
				c.WriteFrame(true, 0x8, nil)
				return
			}
			if f.Rsv&4 != 0 {
				rsv1.Add(1)
			}
			c.WriteRaw(wstest.AppendFrameRsv(nil, f.Fin, f.Rsv, f.Opcode, f.Payload))
		}
	}, nil)
	opts := s.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{})
	opts.Compression = &websocket.CompressionOptions{}
	c := mustDialH2(t, s.URL, opts)
	if _, ok := c.Compression(); !ok {
		t.Fatal("permessage-deflate not negotiated")
	}
	for i := range 5 {
		data := bytes.Repeat([]byte(fmt.Sprintf("message %d, compressible. ", i)), 200)
		if err := echoMessage(c, websocket.OpText, data); err != nil {
			t.Fatal(err)
		}
	}
	if rsv1.Load() != 5 {
		t.Errorf("%d compressed frames, want 5", rsv1.Load())
	}
	c.Close()
}

// TestHTTP2Sharing opens 100 WebSockets at once: they share one TCP
// connection. With a server limit of 10 streams, 15 take two.
func TestHTTP2Sharing(t *testing.T) {
	for _, tc := range []struct {
		n, limit uint32
		conns    int32
	}{{100, 0, 1}, {15, 10, 2}} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			var cfg *http.HTTP2Config
			if tc.limit > 0 {
				cfg = &http.HTTP2Config{MaxConcurrentStreams: int(tc.limit)}
			}
			s := newH2Server(t, frameEcho, cfg)
			opts := s.opts(t, websocket.HTTP2Prefer, &websocket.HTTP2Transport{})
			var wg sync.WaitGroup
			conns := make(chan *websocket.Conn, tc.n)
			errs := make(chan error, tc.n)
			for i := range tc.n {
				wg.Go(func() {
					c, err := websocket.Dial(context.Background(), s.URL, opts)
					if err != nil {
						errs <- err
						return
					}
					conns <- c
					errs <- echoMessage(c, websocket.OpBinary, bytes.Repeat([]byte{byte(i)}, 10<<10))
				})
			}
			wg.Wait()
			close(errs)
			close(conns)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			s.wantConns(t, tc.conns)
			for c := range conns {
				c.Close()
			}
		})
	}
}

func TestHTTP2IdleTimeout(t *testing.T) {
	s := newH2Server(t, frameEcho, nil)
	opts := s.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{IdleTimeout: 50 * time.Millisecond})
	c := mustDialH2(t, s.URL, opts)
	if err := echoMessage(c, websocket.OpText, []byte("x")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case <-s.gone:
	case <-time.After(10 * time.Second):
		t.Fatal("idle connection not closed")
	}
}

// TestHTTP2AbortResetsOnlyItsStream aborts one of two WebSockets sharing a
// connection: its stream is reset, the other goes on.
func TestHTTP2AbortResetsOnlyItsStream(t *testing.T) {
	bodyEnd := make(chan error, 2)
	s := newH2Server(t, func(c *wstest.Conn) {
		frameEcho(c)
		_, err := io.Copy(io.Discard, c.NC)
		bodyEnd <- err
	}, nil)
	opts := s.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{})
	a := mustDialH2(t, s.URL+"/a", opts)
	b := mustDialH2(t, s.URL+"/b", opts)
	a.Abort()
	if err := <-bodyEnd; err == nil {
		t.Fatal("the aborted stream ended in order, want a reset")
	}
	if _, err := a.Recv(); !errors.Is(err, websocket.ErrConnectionClosed) {
		t.Errorf("Recv after Abort: %v", err)
	}
	if err := echoMessage(b, websocket.OpText, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	s.wantConns(t, 1)
}

func TestHTTP2StatusAndRedirect(t *testing.T) {
	s := newH2Server(t, frameEcho, nil)
	opts := s.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{})
	_, err := websocket.Dial(context.Background(), s.URL+"/deny", opts)
	var bs *websocket.BadStatusError
	if !errors.As(err, &bs) || bs.StatusCode != 403 || !strings.Contains(string(bs.Body), "denied") {
		t.Fatalf("Dial /deny = %v, want a 403 BadStatusError", err)
	}
	c := mustDialH2(t, s.URL+"/moved", opts)
	var paths []string
	for range 3 {
		paths = append(paths, (<-s.reqs).URL.Path)
	}
	if strings.Join(paths, " ") != "/deny /moved /echo" {
		t.Errorf("requests %q, want /deny /moved /echo", paths)
	}
	if err := echoMessage(c, websocket.OpText, []byte("redirected")); err != nil {
		t.Fatal(err)
	}
	opts.RedirectLimit = -1
	if _, err := websocket.Dial(context.Background(), s.URL+"/moved", opts); !errors.As(err, &bs) || bs.StatusCode != 302 {
		t.Fatalf("Dial /moved without redirects = %v, want a 302 BadStatusError", err)
	}
}

func TestHTTP2H2C(t *testing.T) {
	s := startH2Server(t, frameEcho, nil, true)
	tr := &websocket.HTTP2Transport{}
	c := mustDialH2(t, s.URL, s.opts(t, websocket.HTTP2Require, tr))
	if c.IsSSL() {
		t.Error("IsSSL over h2c")
	}
	if r := <-s.reqs; r.ProtoMajor != 2 {
		t.Errorf("request over %s", r.Proto)
	}
	if err := echoMessage(c, websocket.OpText, []byte("h2c")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	// HTTP2Prefer with ws:// is HTTP/1.1, which this server refuses (it
	// wants extended CONNECT).
	_, err := websocket.Dial(context.Background(), s.URL, s.opts(t, websocket.HTTP2Prefer, tr))
	var bs *websocket.BadStatusError
	if !errors.As(err, &bs) || bs.StatusCode != http.StatusBadRequest {
		t.Fatalf("prefer over ws:// = %v, want the HTTP/1.1 upgrade's 400", err)
	}
	// Require with ws:// against a server that speaks only HTTP/1.1.
	h1 := wstest.New(frameEcho)
	defer h1.Close()
	_, err = websocket.Dial(context.Background(), h1.URL, s.opts(t, websocket.HTTP2Require, tr))
	if err == nil || !strings.HasPrefix(err.Error(), "websocket: HTTP/2 required: HTTP/2 with prior knowledge (h2c) to ") {
		t.Fatalf("require over ws:// to an HTTP/1.1 server = %v", err)
	}
}

// TestHTTP2ReceiveBuffer: HTTP2Transport.MaxReceiveBufferPerStream is the
// stream window the client announces (SETTINGS_INITIAL_WINDOW_SIZE), 1 MiB
// when zero, kept within the protocol's bounds.
func TestHTTP2ReceiveBuffer(t *testing.T) {
	for _, tc := range []struct {
		set  int
		want uint32
	}{
		{0, 1 << 20},
		{4 << 20, 4 << 20},
		{1000, 65535},
		{-1, 65535},
	} {
		got := make(chan uint32, 1)
		s := wstest.NewRaw(func(nc net.Conn) {
			defer nc.Close()
			preface := make([]byte, len(http2.ClientPreface))
			if _, err := io.ReadFull(nc, preface); err != nil {
				return
			}
			f, err := http2.NewFramer(io.Discard, nc).ReadFrame()
			if err != nil {
				return
			}
			if sf, ok := f.(*http2.SettingsFrame); ok {
				v, _ := sf.Value(http2.SettingInitialWindowSize)
				got <- v
			}
		})
		tr := &websocket.HTTP2Transport{MaxReceiveBufferPerStream: tc.set}
		_, err := websocket.Dial(context.Background(), "ws://"+s.Addr, &websocket.DialOptions{HTTP2: websocket.HTTP2Require, HTTP2Transport: tr})
		if err == nil {
			t.Fatal("dial to a server that closes after the SETTINGS succeeded")
		}
		select {
		case v := <-got:
			if v != tc.want {
				t.Errorf("MaxReceiveBufferPerStream %d: the client announced a stream window of %d, want %d", tc.set, v, tc.want)
			}
		default:
			t.Errorf("MaxReceiveBufferPerStream %d: no SETTINGS with the window", tc.set)
		}
		tr.Close()
		s.Close()
	}
}

// alpnServer is a TLS server offering protos by ALPN. On "h2" it speaks
// just enough HTTP/2 to send SETTINGS without extended CONNECT; otherwise
// it takes the HTTP/1.1 Upgrade and echoes.
type alpnServer struct {
	*wstest.Server
	TLS   *tls.Config
	conns atomic.Int32
	h2    atomic.Int32 // connections that chose h2
}

func newALPNServer(t *testing.T, protos ...string) *alpnServer {
	ca := wstest.NewCA()
	cfg := ca.ServerConfig()
	cfg.NextProtos = protos
	s := &alpnServer{TLS: &tls.Config{RootCAs: ca.Pool}}
	s.Server = wstest.NewRaw(func(nc net.Conn) {
		s.conns.Add(1)
		tc := tls.Server(nc, cfg)
		defer tc.Close()
		if tc.Handshake() != nil {
			return
		}
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			s.h2.Add(1)
			preface := make([]byte, len(http2.ClientPreface))
			if _, err := io.ReadFull(tc, preface); err != nil {
				return
			}
			http2.NewFramer(tc, tc).WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100})
			io.Copy(io.Discard, tc)
			return
		}
		c, err := wstest.Upgrade(tc, nil, nil)
		if err != nil {
			return
		}
		frameEcho(c)
	})
	s.URL = "wss://" + s.Addr
	t.Cleanup(s.Close)
	return s
}

func TestHTTP2PreferFallback(t *testing.T) {
	for _, tc := range []struct {
		name        string
		protos      []string
		conns, h2   int32 // TCP connections and h2 ones after the first dial
		conns2, h22 int32 // after the second
	}{
		{"no extended CONNECT", []string{"h2", "http/1.1"}, 2, 1, 3, 1},
		{"HTTP/1.1 only", []string{"http/1.1"}, 1, 0, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newALPNServer(t, tc.protos...)
			tr := &websocket.HTTP2Transport{}
			t.Cleanup(func() { tr.Close() })
			opts := &websocket.DialOptions{TLSConfig: s.TLS, HTTP2: websocket.HTTP2Prefer, HTTP2Transport: tr}
			for i, want := range [][2]int32{{tc.conns, tc.h2}, {tc.conns2, tc.h22}} {
				c, err := websocket.Dial(context.Background(), s.URL, opts)
				if err != nil {
					t.Fatal(err)
				}
				if c.Status() != 101 {
					t.Errorf("status %d, want 101", c.Status())
				}
				if err := echoMessage(c, websocket.OpText, []byte("over HTTP/1.1")); err != nil {
					t.Fatal(err)
				}
				c.Close()
				if n, h := s.conns.Load(), s.h2.Load(); n != want[0] || h != want[1] {
					t.Errorf("dial %d: %d TCP connections (%d h2), want %d (%d)", i+1, n, h, want[0], want[1])
				}
			}
			opts.HTTP2 = websocket.HTTP2Require
			_, err := websocket.Dial(context.Background(), s.URL, opts)
			if err == nil || !strings.HasPrefix(err.Error(), "websocket: HTTP/2 required") {
				t.Fatalf("require: %v", err)
			}
			if retry, _ := websocket.RetryTransient(err); retry {
				t.Errorf("RetryTransient(%v) retries: another attempt would get the same answer", err)
			}
		})
	}
}

// TestHTTP2ProxyTunnel runs the HTTP/2 connection inside an HTTP CONNECT
// tunnel and inside a SOCKS5 one: two WebSockets, one tunnel, one
// connection at the server.
func TestHTTP2ProxyTunnel(t *testing.T) {
	for _, scheme := range []string{"http", "socks5"} {
		t.Run(scheme, func(t *testing.T) {
			s := newH2Server(t, frameEcho, nil)
			var tunnels atomic.Int32
			var proxyAddr string
			if scheme == "http" {
				proxy := wstest.NewRaw(func(nc net.Conn) {
					defer nc.Close()
					br := bufio.NewReader(nc)
					req, err := http.ReadRequest(br)
					if err != nil || req.Method != http.MethodConnect {
						return
					}
					up, err := net.Dial("tcp", req.Host)
					if err != nil {
						return
					}
					defer up.Close()
					tunnels.Add(1)
					io.WriteString(nc, "HTTP/1.1 200 Connection established\r\n\r\n")
					go func() {
						io.Copy(up, br)
						up.Close()
					}()
					io.Copy(nc, up)
				})
				t.Cleanup(proxy.Close)
				proxyAddr = proxy.Addr
			} else {
				socks := proxytest.SOCKS5(proxytest.SOCKSOptions{})
				proxy := proxytest.Start(t, "127.0.0.1", func(ps *proxytest.Server, c net.Conn) {
					tunnels.Add(1)
					socks(ps, c)
				})
				proxyAddr = proxy.Addr
			}
			opts := s.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{})
			opts.Proxy = websocket.ProxyURL(scheme + "://" + proxyAddr)
			for range 2 {
				c := mustDialH2(t, s.URL, opts)
				if err := echoMessage(c, websocket.OpText, []byte("tunnelled")); err != nil {
					t.Fatal(err)
				}
				c.Close()
			}
			if tunnels.Load() != 1 || s.conns.Load() != 1 {
				t.Errorf("%d tunnels, %d server connections; want 1 and 1", tunnels.Load(), s.conns.Load())
			}
		})
	}
}

// TestHTTP2AppReconnect runs an App whose first WebSocket the server
// drops: it reconnects on the same HTTP/2 connection.
func TestHTTP2AppReconnect(t *testing.T) {
	var n atomic.Int32
	s := newH2Server(t, func(c *wstest.Conn) {
		if n.Add(1) == 1 {
			return // dropped: the stream ends without a close frame
		}
		c.WriteFrame(true, 0x1, []byte("welcome back"))
		c.WriteFrame(true, 0x8, wstest.ClosePayload(1000, ""))
		c.ReadFrame()
	}, nil)
	var got []string
	a := &websocket.App{URL: s.URL}
	a.OnMessage = func(_ *websocket.App, m websocket.Message) { got = append(got, m.Text()) }
	tr := &websocket.HTTP2Transport{}
	t.Cleanup(func() { tr.Close() })
	err := a.RunForever(&websocket.RunOptions{Reconnect: time.Millisecond, DialOptions: websocket.DialOptions{
		TLSConfig: s.TLS, HTTP2: websocket.HTTP2Require, HTTP2Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "welcome back" || n.Load() != 2 || s.conns.Load() != 1 {
		t.Errorf("messages %q, %d WebSockets, %d TCP connections; want 1, 2, 1", got, n.Load(), s.conns.Load())
	}
}

// TestHTTP2Trace checks the HEADERS sent and received are traced at debug
// level, with the secrets redacted.
func TestHTTP2Trace(t *testing.T) {
	trace := captureTrace(t)
	s := newH2Server(t, frameEcho, nil)
	opts := s.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{})
	opts.Header = http.Header{"Authorization": {"Bearer SECRET-1"}}
	opts.Cookie = "c=SECRET-2"
	c := mustDialH2(t, s.URL+"/traced", opts)
	c.Close()
	out := trace()
	for _, want := range []string{"CONNECT /traced HTTP/2", ":protocol: websocket", "authorization: [redacted]",
		"cookie: [redacted]", "HTTP/2 200", "set-cookie: [redacted]", "sec-websocket-version: 13"} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "SECRET") || strings.Contains(out, "session=h2") {
		t.Errorf("trace shows a secret:\n%s", out)
	}
}

// TestHTTP2Timeouts checks HandshakeTimeout against a server that never
// answers the extended CONNECT, and a read deadline that times out one
// WebSocket and leaves it and the connection usable.
func TestHTTP2Timeouts(t *testing.T) {
	s := newH2Server(t, frameEcho, nil)
	opts := s.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{})
	// The connection first, with the usual bound: 100 ms for its TCP,
	// TLS and SETTINGS too could run out on a busy machine, and a second
	// dial would open a second connection.
	c := mustDialH2(t, s.URL, opts)
	stall := *opts
	stall.HandshakeTimeout = 100 * time.Millisecond
	_, err := websocket.Dial(context.Background(), s.URL+"/stall", &stall)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Dial /stall = %v, want a handshake timeout", err)
	}
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := c.Recv(); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Recv past the deadline = %v, want a timeout", err)
	}
	c.SetReadDeadline(time.Time{})
	if err := echoMessage(c, websocket.OpText, []byte("after the timeout")); err != nil {
		t.Fatal(err)
	}
	s.wantConns(t, 1)
}

func TestHTTP2Options(t *testing.T) {
	ctx := context.Background()
	nc, peer := net.Pipe()
	defer nc.Close()
	defer peer.Close()
	if _, err := websocket.Dial(ctx, "wss://127.0.0.1:1/", &websocket.DialOptions{HTTP2: websocket.HTTP2Require, NetConn: nc}); err == nil ||
		!strings.Contains(err.Error(), "NetConn") {
		t.Errorf("HTTP2Require with NetConn: %v", err)
	}
	if _, err := websocket.Dial(ctx, "wss://127.0.0.1:1/", &websocket.DialOptions{HTTP2: 7}); err == nil ||
		!strings.Contains(err.Error(), "HTTP2Mode(7)") {
		t.Errorf("HTTP2 = 7: %v", err)
	}
	if got := fmt.Sprint(websocket.HTTP2Off, websocket.HTTP2Prefer, websocket.HTTP2Require); got != "HTTP2Off HTTP2Prefer HTTP2Require" {
		t.Errorf("String: %s", got)
	}
}

// TestHTTP2CloseWithStuckPeer closes a WebSocket whose server stopped
// reading while a send is blocked on the stream's flow-control window:
// CloseWith returns in time, the send fails, the connection goes on.
func TestHTTP2CloseWithStuckPeer(t *testing.T) {
	s := newH2Server(t, frameEcho, nil)
	opts := s.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{})
	c := mustDialH2(t, s.URL+"/sink", opts)
	sendErr := make(chan error, 1)
	go func() {
		msg := make([]byte, 256<<10)
		for {
			if err := c.SendBinary(msg); err != nil {
				sendErr <- err
				return
			}
		}
	}()
	start := time.Now()
	c.CloseWith(websocket.StatusNormal, "", 200*time.Millisecond)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("CloseWith took %v", d)
	}
	select {
	case err := <-sendErr:
		if !errors.Is(err, websocket.ErrConnectionClosed) {
			t.Errorf("blocked send: %v, want ErrConnectionClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("send still blocked after CloseWith")
	}
	c = mustDialH2(t, s.URL, opts)
	if err := echoMessage(c, websocket.OpText, []byte("next")); err != nil {
		t.Fatal(err)
	}
}

// TestHTTP2MaxConnsPerOrigin: with MaxConnsPerOrigin connections all at the
// server's stream limit, a dial waits for a WebSocket to end instead of
// opening another connection, and fails when its timeout ends first.
func TestHTTP2MaxConnsPerOrigin(t *testing.T) {
	s := newH2Server(t, frameEcho, &http.HTTP2Config{MaxConcurrentStreams: 1})
	opts := s.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{MaxConnsPerOrigin: 1})
	c := mustDialH2(t, s.URL+"/first", opts)
	short := *opts
	short.Timeout = 50 * time.Millisecond
	if _, err := websocket.Dial(context.Background(), s.URL+"/second", &short); err == nil || !strings.Contains(err.Error(), "waiting for a stream slot") {
		t.Fatalf("second dial at the cap: %v, want a timeout waiting for a stream slot", err)
	}
	dialed := make(chan error, 1)
	go func() {
		c2, err := websocket.Dial(context.Background(), s.URL+"/third", opts)
		if err == nil {
			err = echoMessage(c2, websocket.OpText, []byte("slot"))
			c2.Close()
		}
		dialed <- err
	}()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-dialed; err != nil {
		t.Fatal(err)
	}
	s.wantConns(t, 1)
}

// TestHTTP2CloseResetsForHypercorn: hypercorn forgets a stream after a
// closing handshake the client started and drops the whole connection on
// the client's END_STREAM there, so a server that says it is hypercorn
// gets RST_STREAM(CANCEL) instead (the server's body read fails, where
// others read EOF), and the connection stays.
func TestHTTP2CloseResetsForHypercorn(t *testing.T) {
	bodyEnd := make(chan error, 1)
	s := newH2Server(t, func(c *wstest.Conn) {
		frameEcho(c)
		_, err := io.Copy(io.Discard, c.NC)
		bodyEnd <- err
	}, nil)
	opts := s.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{})
	c := mustDialH2(t, s.URL+"/hypercorn", opts)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	err := <-bodyEnd
	var se http2.StreamError
	if !errors.As(err, &se) || se.Code != http2.ErrCodeCancel {
		t.Fatalf("the server's body ended with %v, want RST_STREAM(CANCEL)", err)
	}
	c = mustDialH2(t, s.URL+"/again", opts)
	if err := echoMessage(c, websocket.OpText, []byte("same connection")); err != nil {
		t.Fatal(err)
	}
	s.wantConns(t, 1)
}

// TestHTTP2DialContextEnds: nothing of a dial outlives it: when the dial's
// context ends after Dial returned (cancelled, or past its deadline), the
// WebSocket and its shared connection go on, for the dial that opened the
// connection and for one that reused it.
func TestHTTP2DialContextEnds(t *testing.T) {
	s := newH2Server(t, frameEcho, nil)
	opts := s.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{})
	for _, name := range []string{"new connection", "shared connection"} {
		for _, end := range []string{"cancel", "deadline"} {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			c, err := websocket.Dial(ctx, s.URL+"/ctx", opts)
			if err != nil {
				t.Fatal(err)
			}
			if end == "cancel" {
				cancel()
			}
			<-ctx.Done()
			cancel()
			if err := echoMessage(c, websocket.OpText, []byte(name+" "+end)); err != nil {
				t.Errorf("%s, %s after the dial: %v", name, end, err)
			}
			if name == "new connection" {
				defer c.Close() // keeps the connection for the next ones
			} else {
				c.Close()
			}
		}
	}
	s.wantConns(t, 1)
}

// TestHTTP2ReadLimitAndNextReader: the message limits hold on a stream as
// on a connection of its own (a header over ReadLimit gets close 1009
// before any payload), that WebSocket's failure leaves the HTTP/2
// connection to the next, and NextReader streams a message.
func TestHTTP2ReadLimitAndNextReader(t *testing.T) {
	closeFrame := make(chan []byte, 1)
	s := newH2Server(t, func(c *wstest.Conn) {
		if c.Request.URL.Path == "/big" {
			c.WriteRaw(wstest.AppendHeader(nil, true, 0, 0x2, false, [4]byte{}, 101))
			f, err := c.ReadFrame()
			if err != nil || f.Opcode != 0x8 {
				closeFrame <- nil
				return
			}
			closeFrame <- f.Payload
			return
		}
		frameEcho(c)
	}, nil)
	opts := s.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{})
	opts.ReadLimit = 100
	c := mustDialH2(t, s.URL+"/big", opts)
	c.SetReadDeadline(time.Now().Add(10 * time.Second)) // a limit not applied waits for the payload
	_, err := c.Recv()
	var pe *websocket.PayloadError
	if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "websocket: ") {
		t.Fatalf("Recv of a message over the limit = %v, want a *PayloadError", err)
	}
	if got := <-closeFrame; !bytes.Equal(got, wstest.ClosePayload(1009, "")) {
		t.Fatalf("close frame %q, want 1009", got)
	}

	c2 := mustDialH2(t, s.URL, opts)
	if err := c2.SendText("read in pieces"); err != nil {
		t.Fatal(err)
	}
	op, r, err := c2.NextReader()
	if err != nil || op != websocket.OpText {
		t.Fatalf("NextReader = %v, %v", op, err)
	}
	if b, err := io.ReadAll(r); err != nil || string(b) != "read in pieces" {
		t.Fatalf("NextReader read %q, %v", b, err)
	}
	s.wantConns(t, 1)
}

// TestHTTP2SharingKey: WebSockets share a connection only with the same
// origin, TLS settings and proxy; the same options share again.
func TestHTTP2SharingKey(t *testing.T) {
	s := newH2Server(t, frameEcho, nil)
	opts := s.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{})
	otherTLS := *opts
	otherTLS.TLSConfig = s.TLS.Clone()
	proxy := proxytest.Start(t, "127.0.0.1", proxytest.SOCKS5(proxytest.SOCKSOptions{}))
	viaProxy := *opts
	viaProxy.Proxy = websocket.ProxyURL("socks5://" + proxy.Addr)
	for i, step := range []struct {
		opts  *websocket.DialOptions
		conns int32
	}{{opts, 1}, {&otherTLS, 2}, {opts, 2}, {&viaProxy, 3}, {&viaProxy, 3}, {&otherTLS, 3}} {
		c := mustDialH2(t, s.URL, step.opts)
		if err := echoMessage(c, websocket.OpText, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if n := s.conns.Load(); n != step.conns {
			t.Fatalf("dial %d: %d TCP connections, want %d", i+1, n, step.conns)
		}
	}
}

// TestHTTP2AppKeepAlive runs the App's keep-alive on HTTP/2 streams: its
// pings are answered and counted, and a server that stops answering them
// is found out within PingTimeout. That WebSocket's stream ends; the TCP
// connection stays. The two Apps, with the same TLSConfig, share one
// connection: their runs dial with a copy of it (holding the TLS session
// cache), which the pool keys by the configuration copied.
func TestHTTP2AppKeepAlive(t *testing.T) {
	var pings atomic.Int32
	s := newH2Server(t, func(c *wstest.Conn) {
		for {
			f, err := c.ReadFrame()
			if err != nil || f.Opcode == 0x8 {
				return
			}
			if f.Opcode != 0x9 || c.Request.URL.Path == "/mute" {
				continue
			}
			c.WriteFrame(true, 0xA, f.Payload)
			if pings.Add(1) == 3 {
				// Closed after the third: a ping the App sent before it
				// read the close is neither counted nor answered.
				c.WriteFrame(true, 0x8, wstest.ClosePayload(1000, ""))
				for f, err := c.ReadFrame(); err == nil && f.Opcode != 0x8; f, err = c.ReadFrame() {
				}
				return
			}
		}
	}, nil)
	tr := &websocket.HTTP2Transport{}
	t.Cleanup(func() { tr.Close() })
	dial := websocket.DialOptions{TLSConfig: s.TLS, HTTP2: websocket.HTTP2Require, HTTP2Transport: tr}

	a := &websocket.App{URL: s.URL}
	pongs := 0
	a.OnPong = func(*websocket.App, []byte) { pongs++ }
	if err := a.RunForever(&websocket.RunOptions{PingInterval: 10 * time.Millisecond, Reconnect: -1, DialOptions: dial}); err != nil {
		t.Fatalf("Run = %v, want nil after the server's close", err)
	}
	if pings.Load() != 3 || pongs != 3 {
		t.Fatalf("%d pings at the server, %d pongs at the App; want 3 and 3", pings.Load(), pongs)
	}

	b := &websocket.App{URL: s.URL + "/mute"}
	err := b.RunForever(&websocket.RunOptions{PingInterval: 20 * time.Millisecond, PingTimeout: 10 * time.Millisecond,
		Reconnect: -1, DialOptions: dial})
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !strings.Contains(err.Error(), "no pong") {
		t.Fatalf("Run against a server that does not answer pings = %v, want a ping timeout", err)
	}
	s.wantConns(t, 1)
}

// silentConn is a client connection that can go silent, as one whose
// server vanished without a FIN or a reset: once muted, what the client
// writes is dropped and what the server sends is never read.
type silentConn struct {
	net.Conn
	muted atomic.Bool
}

func (c *silentConn) Read(p []byte) (int, error) {
	for {
		n, err := c.Conn.Read(p)
		if err != nil || !c.muted.Load() {
			return n, err
		}
	}
}

func (c *silentConn) Write(p []byte) (int, error) {
	if c.muted.Load() {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// silentDialer dials TCP, sending each connection, wrapped to be silenced
// at will, to conns.
func silentDialer(conns chan<- *silentConn) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		sc := &silentConn{Conn: nc}
		conns <- sc
		return sc, nil
	}
}

// TestHTTP2DeadConnection: a shared connection that goes silent is found
// out by the transport's PING (ReadIdleTimeout, PingTimeout): its
// WebSocket fails with an error matching ErrConnectionClosed, and the
// next dial opens a new connection.
func TestHTTP2DeadConnection(t *testing.T) {
	s := newH2Server(t, frameEcho, nil)
	opts := s.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{ReadIdleTimeout: 50 * time.Millisecond, PingTimeout: 500 * time.Millisecond})
	conns := make(chan *silentConn, 2)
	opts.NetDialContext = silentDialer(conns)
	c := mustDialH2(t, s.URL, opts)
	if err := echoMessage(c, websocket.OpText, []byte("before")); err != nil {
		t.Fatal(err)
	}
	(<-conns).muted.Store(true)
	_, err := c.Recv()
	if !errors.Is(err, websocket.ErrConnectionClosed) || !strings.Contains(err.Error(), "no PING acknowledgement") {
		t.Fatalf("Recv on a silent connection = %v, want the PING's failure, matching ErrConnectionClosed", err)
	}
	c2 := mustDialH2(t, s.URL, opts)
	if err := echoMessage(c2, websocket.OpText, []byte("after")); err != nil {
		t.Fatal(err)
	}
	s.wantConns(t, 2)
}

// An App over HTTP/2 whose shared connection goes silent (no FIN: a NAT
// or host gone) reconnects about PingTimeout after its ping goes
// unanswered, as over HTTP/1.1, not when the transport's own liveness check
// (ReadIdleTimeout 30 s + PingTimeout 15 s by default) fails the
// connection: its pong deadline probes the connection with an HTTP/2 PING,
// whose silence fails it, so the reconnect opens a new one. Each reconnect
// had opened a stream on the dead connection and waited out its
// HandshakeTimeout, for 50 s (found by an audit of the App over HTTP/2).
func TestHTTP2AppPingTimeoutLeavesASilentConnection(t *testing.T) {
	s := newH2Server(t, frameEcho, nil)
	opts := s.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{}) // the default liveness: 30 s, 15 s
	opts.HandshakeTimeout = 5 * time.Second
	conns := make(chan *silentConn, 10)
	opts.NetDialContext = silentDialer(conns)
	opened := make(chan struct{})
	reconnected := make(chan struct{})
	var errs []error
	a := &websocket.App{URL: s.URL,
		OnOpen:      func(*websocket.App) { close(opened) },
		OnReconnect: func(a *websocket.App) { close(reconnected); a.Close() },
		OnError:     func(_ *websocket.App, err error) { errs = append(errs, err) },
	}
	done := make(chan error, 1)
	go func() {
		done <- a.Run(context.Background(), &websocket.RunOptions{DialOptions: *opts, Reconnect: 10 * time.Millisecond,
			PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond})
	}()
	select {
	case <-opened:
	case err := <-done:
		t.Fatalf("Run = %v before the open; errors %v", err, errs)
	case <-time.After(testTimeout):
		t.Fatalf("no open; errors %v", errs)
	}
	(<-conns).muted.Store(true)
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		a.Close()
		<-done
		t.Fatalf("no reconnect within 10 s of the shared connection going silent (PingTimeout 200 ms); errors %v", errs)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if len(errs) == 0 || !strings.Contains(errs[0].Error(), "no pong within PingTimeout") {
		t.Errorf("errors %v, want the ping timeout first", errs)
	}
	s.wantConns(t, 2)
}

// TestHTTP2VerifiesTLS: an HTTP/2 dial verifies the server's certificate
// as an HTTP/1.1 one does: without the server's CA neither mode connects,
// and HTTP2Prefer does not fall back around the failure.
func TestHTTP2VerifiesTLS(t *testing.T) {
	s := newH2Server(t, frameEcho, nil)
	for _, mode := range []websocket.HTTP2Mode{websocket.HTTP2Require, websocket.HTTP2Prefer} {
		opts := s.opts(t, mode, &websocket.HTTP2Transport{})
		opts.TLSConfig = &tls.Config{} // the system's roots, which lack the test server's CA
		c, err := websocket.Dial(context.Background(), s.URL, opts)
		var ve *tls.CertificateVerificationError
		if err == nil {
			c.Abort()
		}
		if !errors.As(err, &ve) || !strings.HasPrefix(err.Error(), "websocket: ") {
			t.Errorf("%v: Dial = %v, want a certificate verification error", mode, err)
		}
	}
	if n := s.conns.Load(); n > 2 {
		t.Errorf("%d TCP connections, want at most one per dial", n)
	}
}

// TestHTTP2PoolHoldsItsTLSConfig: connections are shared by the same
// TLSConfig pointer, so a pooled connection must keep the configuration it
// was verified under alive. When the pool kept only the pointer's printed
// address, a configuration that skipped verification could be collected,
// a verifying one made at the same address, and its dial handed the
// connection no one had verified.
func TestHTTP2PoolHoldsItsTLSConfig(t *testing.T) {
	s := newH2Server(t, frameEcho, nil)
	tr := &websocket.HTTP2Transport{}
	t.Cleanup(func() { tr.Close() })
	insecure := &tls.Config{InsecureSkipVerify: true}
	held := weak.Make(insecure)
	c, err := websocket.Dial(context.Background(), s.URL, &websocket.DialOptions{TLSConfig: insecure, HTTP2: websocket.HTTP2Require, HTTP2Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	if err := echoMessage(c, websocket.OpText, []byte("x")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	insecure = nil
	runtime.GC()
	runtime.GC()
	if held.Value() == nil {
		t.Fatal("the TLSConfig of a pooled HTTP/2 connection was collected: a configuration made at its address would share the connection")
	}
	if n := s.conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
	tr.Close() // the pooled connection ends, and with it the hold
}

// TestHTTP2RequireOverWSToAnHTTP1Server: with HTTP2Require a ws:// dial
// speaks HTTP/2 from its first byte; a server that does not expect it (an
// HTTP/1.1 server, which answers the preface with a 400) fails the dial
// with an error saying so, which RetryTransient does not retry ("with
// HTTP2Require a server that does not take WebSockets over HTTP/2"). It
// was a FRAME_SIZE_ERROR (the answer's "HTTP/1.1 4" read as a frame
// header) that RetryTransient retried, an App reconnecting for good.
func TestHTTP2RequireOverWSToAnHTTP1Server(t *testing.T) {
	ws := wstest.New(wstest.Echo)
	defer ws.Close()
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	for name, u := range map[string]string{"websocket server": ws.URL, "net/http server": "ws" + strings.TrimPrefix(plain.URL, "http")} {
		t.Run(name, func(t *testing.T) {
			tr := &websocket.HTTP2Transport{}
			defer tr.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTP2: websocket.HTTP2Require, HTTP2Transport: tr})
			if err == nil || !strings.Contains(err.Error(), "the server's first bytes are not HTTP/2") {
				t.Fatalf("Dial = %v, want an error saying the server does not speak HTTP/2", err)
			}
			if retry, _ := websocket.RetryTransient(err); retry {
				t.Errorf("RetryTransient(%v) = true, want false", err)
			}
			var attempts atomic.Int32
			a := &websocket.App{URL: u, OnError: func(*websocket.App, error) { attempts.Add(1) }}
			err = a.Run(ctx, &websocket.RunOptions{Reconnect: 10 * time.Millisecond, Retry: websocket.RetryTransient,
				DialOptions: websocket.DialOptions{HTTP2: websocket.HTTP2Require, HTTP2Transport: tr}})
			if err == nil || ctx.Err() != nil || attempts.Load() != 1 {
				t.Errorf("the App's run = %v after %d attempts, want it to end with the first (ctx: %v)", err, attempts.Load(), ctx.Err())
			}
		})
	}
}

// TestHTTP2PoolFollowsTheCABundle: the environment's CA bundle is read at
// each dial, over HTTP/2 too: a pooled connection verified under a bundle
// the environment no longer names takes no new WebSocket (the next dial
// makes its own connection, verified under the new bundle). It carried
// the dial to a server the new bundle does not trust.
func TestHTTP2PoolFollowsTheCABundle(t *testing.T) {
	s := newH2Server(t, wstest.Echo, nil)
	pemFile := filepath.Join(t.TempDir(), "server.pem")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WEBSOCKET_CLIENT_CA_BUNDLE", pemFile)
	tr := &websocket.HTTP2Transport{}
	t.Cleanup(func() { tr.Close() })
	opts := &websocket.DialOptions{HTTP2: websocket.HTTP2Require, HTTP2Transport: tr, Timeout: testTimeout}
	c, err := websocket.Dial(context.Background(), s.URL, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("WEBSOCKET_CLIENT_CA_BUNDLE", writeCA(t, wstest.NewCA())) // the server is no longer trusted
	if c2, err := websocket.Dial(context.Background(), s.URL, opts); err == nil {
		c2.Close()
		t.Errorf("a dial after the CA bundle stopped trusting the server succeeded (%d TCP connections)", s.conns.Load())
	}
	t.Setenv("WEBSOCKET_CLIENT_CA_BUNDLE", pemFile) // trusted again
	c3, err := websocket.Dial(context.Background(), s.URL, opts)
	if err != nil {
		t.Fatal(err)
	}
	c3.Close()
}
