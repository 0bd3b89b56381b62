package main

import (
	"bufio"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/wstest"
)

// newH2Server starts net/http's HTTP/2 server over TLS (ALPN h2, extended
// CONNECT by GODEBUG=http2xconnect=1, which TestMain sets) whose WebSockets
// run handle. Each request goes to reqs. It returns the server's URL and a
// PEM file of its certificate for --ca.
func newH2Server(t *testing.T, reqs chan<- *http.Request, handle func(*wstest.Conn)) (url, caFile string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs <- r
		if r.Method != http.MethodConnect || r.Header.Get(":protocol") != "websocket" {
			http.Error(w, "not an extended CONNECT", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		if rc.Flush() != nil {
			return
		}
		bc := &bodyConn{Reader: r.Body, w: w, rc: rc}
		handle(&wstest.Conn{NC: bc, R: bufio.NewReader(bc), Request: r})
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return "wss://" + srv.Listener.Addr().String() + "/", caFile
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
func (b *bodyConn) Close() error                     { return nil }
func (b *bodyConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (b *bodyConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (b *bodyConn) SetDeadline(time.Time) error      { return nil }
func (b *bodyConn) SetReadDeadline(time.Time) error  { return nil }
func (b *bodyConn) SetWriteDeadline(time.Time) error { return nil }

// TestHTTP2: --http2 opens the WebSocket as an HTTP/2 stream where the
// server takes it (the banner says so) and falls back to HTTP/1.1 where it
// does not; --http2=require fails there instead.
func TestHTTP2(t *testing.T) {
	reqs := make(chan *http.Request, 8)
	got := make(chan received, 8)
	h2URL, caFile := newH2Server(t, reqs, recordingEcho(got))
	for _, flag := range []string{"--http2", "--http2=require"} {
		t.Run(flag, func(t *testing.T) {
			stdout, stderr, code := runWith(t, "", flag, "-v", "--ca", caFile, "-t", "hi", "--max-messages", "1", h2URL)
			if code != 0 || stdout != "< text: hi\n" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and the echo", code, stdout, stderr)
			}
			if want := "connected to " + h2URL + " over HTTP/2\n"; !strings.Contains(stderr, want) {
				t.Errorf("stderr %q does not say %q", stderr, want)
			}
			r := <-reqs
			if r.ProtoMajor != 2 || r.Method != http.MethodConnect {
				t.Errorf("the server got %s %s, want an HTTP/2 CONNECT", r.Proto, r.Method)
			}
			if sent := drain(got); len(sent) != 2 || sent[0] != (received{1, "hi"}) || sent[1].op != 8 {
				t.Errorf("the server received %q, want \"hi\" and a close frame", sent)
			}
		})
	}

	// An HTTP/1.1-only server: prefer falls back, require fails.
	ca := wstest.NewCA()
	h1 := newTLSServer(t, ca.ServerConfig(), wstest.Echo)
	h1CA := filepath.Join(t.TempDir(), "h1ca.pem")
	if err := os.WriteFile(h1CA, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runWith(t, "", "--http2", "-v", "--ca", h1CA, "-t", "hi", "--max-messages", "1", h1.URL)
	if code != 0 || stdout != "< text: hi\n" || strings.Contains(stderr, "HTTP/2") {
		t.Errorf("--http2 to an HTTP/1.1 server: exit %d, stdout %q, stderr %q; want the echo over HTTP/1.1", code, stdout, stderr)
	}
	_, stderr, code = runWith(t, "", "--http2=require", "--ca", h1CA, "-t", "hi", h1.URL)
	if code != 1 {
		t.Errorf("--http2=require to an HTTP/1.1 server: exit %d, want 1", code)
	}
	checkOneLine(t, stderr, "wsdump: HTTP/2 required, but ")

	_, stderr, code = runWith(t, "", "--http2=maybe", h2URL)
	if code != 2 || !strings.Contains(stderr, "--http2 wants prefer") {
		t.Errorf("--http2=maybe: exit %d, stderr %q; want 2 and a usage error", code, stderr)
	}
}
