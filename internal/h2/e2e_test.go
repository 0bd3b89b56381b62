package h2

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/leaktest"
	"github.com/wsclient/websocket/internal/xconnect"
)

// TestMain runs the tests with GODEBUG=http2xconnect=1, which net/http's
// HTTP/2 server needs to accept extended CONNECT.
func TestMain(m *testing.M) {
	xconnect.Reexec()
	leaktest.VerifyTestMain(m)
}

// echoHandler answers an extended CONNECT for "websocket" with 200 and
// echoes the stream's bytes; other paths:
//
//	/flood   writes until the client stops reading, reads nothing
//	/sink    reads nothing, writes nothing until the request ends
//	/deny    answers 403 with a body
func echoHandler(reqs chan<- *http.Request) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if reqs != nil {
			reqs <- r
		}
		if r.Method != http.MethodConnect || r.Header.Get(":protocol") != "websocket" {
			http.Error(w, "not an extended CONNECT", http.StatusBadRequest)
			return
		}
		rc := http.NewResponseController(w)
		switch r.URL.Path {
		case "/deny":
			w.Header().Set("X-Why", "denied")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, "go away")
			return
		case "/flood":
			w.WriteHeader(http.StatusOK)
			rc.Flush()
			chunk := bytes.Repeat([]byte("f"), 16<<10)
			for {
				if _, err := w.Write(chunk); err != nil {
					return
				}
				if rc.Flush() != nil {
					return
				}
			}
		case "/sink":
			w.WriteHeader(http.StatusOK)
			rc.Flush()
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusOK)
		rc.Flush()
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
				if rc.Flush() != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
}

// newTLSServer starts net/http's HTTP/2 server over TLS on loopback.
func newTLSServer(t *testing.T, h http.Handler, cfg *http.HTTP2Config) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.Config.HTTP2 = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// dialTLS dials srv with ALPN "h2" and starts a ClientConn.
func dialTLS(ctx context.Context, srv *httptest.Server, cfg *Config) (*ClientConn, error) {
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	d := tls.Dialer{Config: &tls.Config{RootCAs: roots, NextProtos: []string{"h2", "http/1.1"}}}
	nc, err := d.DialContext(ctx, "tcp", srv.Listener.Addr().String())
	if err != nil {
		return nil, err
	}
	if p := nc.(*tls.Conn).ConnectionState().NegotiatedProtocol; p != "h2" {
		nc.Close()
		return nil, fmt.Errorf("negotiated %q", p)
	}
	return NewClientConn(ctx, nc, cfg)
}

func mustDial(t *testing.T, srv *httptest.Server, cfg *Config) *ClientConn {
	t.Helper()
	cc, err := dialTLS(context.Background(), srv, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func wsRequest(srv *httptest.Server, path string) *Request {
	h := http.Header{}
	h.Set("Sec-WebSocket-Version", "13")
	h.Set("Sec-WebSocket-Protocol", "chat")
	h.Set("Origin", "https://example.com")
	h.Set("X-Custom", "yes")
	h.Set("Connection", "Upgrade")
	h.Set("Upgrade", "websocket")
	h.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	return &Request{Scheme: "https", Authority: srv.Listener.Addr().String(), Path: path, Header: h}
}

func mustOpen(t *testing.T, cc *ClientConn, req *Request) *Stream {
	t.Helper()
	resp, st, err := cc.OpenWebSocket(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// echoCheck writes data on st and reads it back.
func echoCheck(st *Stream, data []byte) error {
	errc := make(chan error, 1)
	go func() {
		_, err := st.Write(data)
		errc <- err
	}()
	got := make([]byte, len(data))
	if _, err := io.ReadFull(st, got); err != nil {
		return fmt.Errorf("stream %d: read: %w", st.ID(), err)
	}
	if err := <-errc; err != nil {
		return fmt.Errorf("stream %d: write: %w", st.ID(), err)
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("stream %d: echo differs", st.ID())
	}
	return nil
}

func pattern(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + seed)
	}
	return b
}

func TestExtendedConnectEcho(t *testing.T) {
	reqs := make(chan *http.Request, 1)
	srv := newTLSServer(t, echoHandler(reqs), nil)
	cc := mustDial(t, srv, nil)
	if !cc.SupportsExtendedConnect() {
		t.Fatal("server does not announce extended CONNECT")
	}
	st := mustOpen(t, cc, wsRequest(srv, "/chat?x=1"))
	r := <-reqs
	if r.URL.RequestURI() != "/chat?x=1" || r.Host != srv.Listener.Addr().String() || r.Header.Get(":protocol") != "websocket" {
		t.Errorf("request %s %q host %q protocol %q", r.Method, r.URL.RequestURI(), r.Host, r.Header.Get(":protocol"))
	}
	for k, want := range map[string]string{"Sec-Websocket-Version": "13", "Sec-Websocket-Protocol": "chat", "Origin": "https://example.com", "X-Custom": "yes", "Sec-Websocket-Key": "", "Upgrade": "", "Connection": ""} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("server got %s %q, want %q", k, got, want)
		}
	}
	if err := echoCheck(st, pattern(300<<10, 1)); err != nil {
		t.Fatal(err)
	}
	if st.LocalAddr() == nil || st.RemoteAddr().String() != srv.Listener.Addr().String() {
		t.Errorf("addresses %v %v", st.LocalAddr(), st.RemoteAddr())
	}
	if err := st.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if n, err := st.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("after CloseWrite: %d, %v; want EOF", n, err)
	}
	if rtt, err := cc.Ping(context.Background()); err != nil || rtt <= 0 {
		t.Fatalf("Ping: %v, %v", rtt, err)
	}
}

func TestExtendedConnectH2C(t *testing.T) {
	srv := httptest.NewUnstartedServer(echoHandler(nil))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	defer srv.Close()
	nc, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cc, err := NewClientConn(context.Background(), nc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	req := wsRequest(srv, "/")
	req.Scheme = "http"
	st := mustOpen(t, cc, req)
	if err := echoCheck(st, []byte("over h2c")); err != nil {
		t.Fatal(err)
	}
}

func TestHundredStreams(t *testing.T) {
	srv := newTLSServer(t, echoHandler(nil), nil)
	cc := mustDial(t, srv, &Config{StreamWindow: 65535})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			_, st, err := cc.OpenWebSocket(context.Background(), wsRequest(srv, "/"))
			if err != nil {
				errs <- err
				return
			}
			defer st.Close()
			errs <- echoCheck(st, pattern(100<<10, i))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	cc.mu.Lock()
	next := cc.nextID
	cc.mu.Unlock()
	if next != 201 {
		t.Errorf("next stream id %d, want 201: streams not all on one connection", next)
	}
}

func TestSlowReaderDoesNotBlockOtherStreams(t *testing.T) {
	srv := newTLSServer(t, echoHandler(nil), nil)
	cc := mustDial(t, srv, &Config{StreamWindow: 65535, ConnWindow: 1 << 20})
	slow := mustOpen(t, cc, wsRequest(srv, "/flood"))
	// Wait until the flood has filled the slow stream's window.
	cc.mu.Lock()
	for slow.recvWindow > 0 {
		ch := slow.readSig
		cc.mu.Unlock()
		<-ch
		cc.mu.Lock()
	}
	cc.mu.Unlock()
	other := mustOpen(t, cc, wsRequest(srv, "/"))
	// More than the connection window: the connection keeps flowing.
	if err := echoCheck(other, pattern(3<<20, 2)); err != nil {
		t.Fatal(err)
	}
	// The slow stream still delivers its data in order.
	buf := make([]byte, 200<<10)
	if _, err := io.ReadFull(slow, buf); err != nil {
		t.Fatal(err)
	}
	if bytes.Count(buf, []byte("f")) != len(buf) {
		t.Fatal("flood data corrupted")
	}
}

func TestStreamDeadlines(t *testing.T) {
	srv := newTLSServer(t, echoHandler(nil), nil)
	cc := mustDial(t, srv, nil)
	st := mustOpen(t, cc, wsRequest(srv, "/sink"))
	other := mustOpen(t, cc, wsRequest(srv, "/"))

	st.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := st.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline: %v", err)
	}
	// Only that stream is affected.
	if err := echoCheck(other, pattern(64<<10, 3)); err != nil {
		t.Fatal(err)
	}
	// A deadline in the past fails at once; clearing it restores the stream.
	other.SetDeadline(time.Now().Add(-time.Second))
	if _, err := other.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read with a past deadline: %v", err)
	}
	other.SetDeadline(time.Time{})
	if err := echoCheck(other, []byte("again")); err != nil {
		t.Fatal(err)
	}
}

func TestStreamCloseAndReset(t *testing.T) {
	reqs := make(chan *http.Request, 3)
	srv := newTLSServer(t, echoHandler(reqs), nil)
	cc := mustDial(t, srv, nil)
	a := mustOpen(t, cc, wsRequest(srv, "/sink"))
	ra := <-reqs
	b := mustOpen(t, cc, wsRequest(srv, "/"))
	<-reqs

	a.Reset()
	<-ra.Context().Done() // the server saw the reset
	if _, err := a.Read(make([]byte, 1)); err == nil {
		t.Fatal("Read after Reset succeeded")
	}
	if _, err := a.Write([]byte("x")); err == nil {
		t.Fatal("Write after Reset succeeded")
	}
	if err := echoCheck(b, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := b.Read(make([]byte, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	if _, err := b.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Both slots are free again.
	cc.mu.Lock()
	active := cc.active
	cc.mu.Unlock()
	if active != 0 {
		t.Fatalf("%d streams still hold a slot", active)
	}
	c := mustOpen(t, cc, wsRequest(srv, "/"))
	if err := echoCheck(c, []byte("new")); err != nil {
		t.Fatal(err)
	}
}

func TestNon2xxStatus(t *testing.T) {
	srv := newTLSServer(t, echoHandler(nil), nil)
	cc := mustDial(t, srv, nil)
	_, st, err := cc.OpenWebSocket(context.Background(), wsRequest(srv, "/deny"))
	var se *StatusError
	if !errors.As(err, &se) || st != nil {
		t.Fatalf("got %v, %v; want a StatusError", st, err)
	}
	if se.StatusCode != 403 || se.Header.Get("X-Why") != "denied" || string(se.Body) != "go away" {
		t.Fatalf("StatusError %d %v %q", se.StatusCode, se.Header, se.Body)
	}
	if !strings.HasPrefix(err.Error(), "websocket: http2: ") {
		t.Fatalf("error %q", err)
	}
}

func TestMaxConcurrentStreams(t *testing.T) {
	srv := newTLSServer(t, echoHandler(nil), &http.HTTP2Config{MaxConcurrentStreams: 2})
	cc := mustDial(t, srv, nil)
	a := mustOpen(t, cc, wsRequest(srv, "/"))
	mustOpen(t, cc, wsRequest(srv, "/"))
	if cc.CanTakeNewStream() {
		t.Fatal("CanTakeNewStream at the server's limit")
	}
	if _, _, err := cc.OpenWebSocket(context.Background(), wsRequest(srv, "/")); !errors.Is(err, ErrRefused) {
		t.Fatalf("open past the limit: %v", err)
	}
	a.Reset()
	if !cc.CanTakeNewStream() {
		t.Fatal("CanTakeNewStream false after a reset")
	}
	mustOpen(t, cc, wsRequest(srv, "/"))
}

// TestServerShutdownDrains: net/http's graceful shutdown sends GOAWAY;
// the open stream goes on, no new one opens, and the connection ends when
// the stream does.
func TestServerShutdownDrains(t *testing.T) {
	srv := newTLSServer(t, echoHandler(nil), nil)
	cc := mustDial(t, srv, nil)
	st := mustOpen(t, cc, wsRequest(srv, "/"))
	shut := make(chan error, 1)
	go func() { shut <- srv.Config.Shutdown(context.Background()) }()
	for cc.CanTakeNewStream() { // a round trip per check, until the GOAWAY is in
		if _, err := cc.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := cc.OpenWebSocket(context.Background(), wsRequest(srv, "/")); !errors.Is(err, ErrRefused) {
		t.Fatalf("open after GOAWAY: %v", err)
	}
	if err := echoCheck(st, pattern(200<<10, 9)); err != nil {
		t.Fatal(err)
	}
	st.CloseWrite()
	if _, err := io.ReadAll(st); err != nil {
		t.Fatal(err)
	}
	<-cc.Done()
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
}

// TestFinishEndsOrderly checks that Finish ends the stream with END_STREAM
// (the server reads EOF, not a reset) without waiting for the server, and
// that the stream's slot is freed when the server ends its side.
func TestFinishEndsOrderly(t *testing.T) {
	bodyErr := make(chan error, 1)
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		_, err := io.Copy(io.Discard, r.Body)
		if err == nil {
			err = io.EOF
		}
		bodyErr <- err
	}), nil)
	cc := mustDial(t, srv, nil)
	st := mustOpen(t, cc, wsRequest(srv, "/"))
	if _, err := st.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	if err := st.Finish(time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := <-bodyErr; err != io.EOF {
		t.Fatalf("server read %v, want EOF (END_STREAM, not a reset)", err)
	}
	if _, err := st.Read(make([]byte, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Finish: %v, want ErrClosed", err)
	}
	for {
		cc.mu.Lock()
		active, removed := cc.active, st.removed
		cc.mu.Unlock()
		if removed && active == 0 {
			break
		}
		select {
		case <-st.readSig:
		case <-time.After(5 * time.Second):
			t.Fatalf("stream not freed after the server ended it (active %d)", active)
		}
	}
}

// TestCloseEndsWriteOnStuckConnection checks that Close and Reset wake a
// Write waiting for its chunk while the connection's writes are stuck (the
// server reads nothing), as closing a socket ends a blocked write.
func TestCloseEndsWriteOnStuckConnection(t *testing.T) {
	for _, name := range []string{"Close", "Reset", "Finish"} {
		t.Run(name, func(t *testing.T) {
			c, p := newPeer(t, false) // never reads: the preface write blocks
			sent := p.async(func() { p.settings(extConnect) })
			cc, err := NewClientConn(context.Background(), c, nil)
			<-sent
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			type result struct {
				st  *Stream
				err error
			}
			res := make(chan result, 1)
			go func() {
				_, st, err := cc.OpenWebSocket(context.Background(), &Request{Scheme: "https", Authority: "example.com", Path: "/"})
				res <- result{st, err}
			}()
			for {
				cc.mu.Lock()
				opened := cc.nextID == 3
				cc.mu.Unlock()
				if opened {
					break
				}
				select {
				case r := <-res: // it ended before its HEADERS went out
					t.Fatalf("OpenWebSocket returned early: %v", r.err)
				default:
				}
				runtime.Gosched()
			}
			p.headers(1, false, ":status", "200")
			r := <-res
			if r.err != nil {
				t.Fatal(r.err)
			}
			if _, err := r.st.Write([]byte("queued")); err != nil { // its chunk stays in flight
				t.Fatal(err)
			}
			werr := make(chan error, 1)
			go func() {
				_, err := r.st.Write([]byte("waits for the first"))
				werr <- err
			}()
			switch name {
			case "Close":
				r.st.Close()
			case "Reset":
				r.st.Reset()
			case "Finish":
				r.st.Finish(time.Minute)
			}
			select {
			case err := <-werr:
				if err == nil {
					t.Fatalf("Write after %s succeeded", name)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("Write still blocked after %s", name)
			}
		})
	}
}
