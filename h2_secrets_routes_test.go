package websocket_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/wsclient/websocket"
)

// A server's trailers after the open, whose malformed field name echoes
// the request's Authorization value: the stream reset that follows ended
// Recv with an error quoting it.
func TestHTTP2TrailerNameEchoingTheCredential(t *testing.T) {
	const bearer = "tok-SECRET-1234567890"
	synctest.Test(t, func(t *testing.T) {
		s := &h2PipeServer{t: t, answer: func(w *h2Answer) bool {
			w.headers(200, false)
			w.hb.Reset()
			w.enc.WriteField(hpack.HeaderField{Name: "Bearer " + bearer, Value: "x"})
			w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: w.id, BlockFragment: w.hb.Bytes(), EndHeaders: true, EndStream: true})
			return true
		}}
		opts := s.opts()
		opts.Header = http.Header{"Authorization": {"Bearer " + bearer}}
		c, err := websocket.Dial(context.Background(), "ws://h2.test/", opts)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		defer c.Abort()
		_, err = c.Recv()
		if err == nil || strings.Contains(err.Error(), bearer) {
			t.Errorf("Recv = %v, want an error without the credential", err)
		}
	})
}

// A GOAWAY's debug data echoing the Basic credential with lower-case
// percent escapes (%3d): it was redacted only in upper case.
func TestHTTP2GoAwayEchoingALowerCaseEscapedCredential(t *testing.T) {
	const cred = "dXNlcjpwYXNzMQ=="
	const shown = "dXNlcjpwYXNzMQ"
	synctest.Test(t, func(t *testing.T) {
		s := &h2PipeServer{t: t, answer: func(w *h2Answer) bool {
			w.headers(200, false)
			w.fr.WriteGoAway(w.id, http2.ErrCodeInternal, []byte("see /login?auth=dXNlcjpwYXNzMQ%3d%3d"))
			w.c.Close()
			return false
		}}
		opts := s.opts()
		opts.Header = http.Header{"Authorization": {"Basic " + cred}}
		c, err := websocket.Dial(context.Background(), "ws://h2.test/", opts)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		defer c.Abort()
		_, err = c.Recv()
		if err == nil || strings.Contains(err.Error(), shown) {
			t.Errorf("Recv = %v, want an error without the credential", err)
		}
	})
}

// h2ProxyServer is an HTTP proxy in front of an h2PipeServer, as the proxy
// sees it: it answers the CONNECT and then speaks for the target (an h2c
// target, ws://, is in clear inside the tunnel).
type h2ProxyServer struct{ *h2PipeServer }

func (p h2ProxyServer) dial(context.Context, string, string) (net.Conn, error) {
	c, sc := net.Pipe()
	done := make(chan struct{})
	p.t.Cleanup(func() {
		sc.Close()
		<-done
	})
	go func() {
		defer close(done)
		br := bufio.NewReader(sc)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		if _, err := sc.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
			return
		}
		p.serve(sc)
	}()
	return c, nil
}

// A proxy on an h2c connection's path sends a GOAWAY whose debug data
// echoes the Proxy-Authorization token and password it was sent: the
// WebSocket's error after the open showed them.
func TestHTTP2GoAwayFromAProxyEchoingItsCredentials(t *testing.T) {
	const pass = "pr0xy-SECRET-pass"
	token := base64.StdEncoding.EncodeToString([]byte("alice:" + pass))
	synctest.Test(t, func(t *testing.T) {
		s := &h2PipeServer{t: t, answer: func(w *h2Answer) bool {
			w.headers(200, false)
			w.fr.WriteGoAway(w.id, http2.ErrCodeInternal, []byte("proxy saw "+token+" "+pass))
			w.c.Close()
			return false
		}}
		p := h2ProxyServer{s}
		opts := s.opts()
		opts.NetDialContext = p.dial
		pu := &url.URL{Scheme: "http", User: url.UserPassword("alice", pass), Host: "proxy.test:8080"}
		opts.Proxy = func(*url.URL) (*url.URL, error) { return pu, nil }
		c, err := websocket.Dial(context.Background(), "ws://h2.test/", opts)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		defer c.Abort()
		_, err = c.Recv()
		if err == nil || strings.Contains(err.Error(), pass) || strings.Contains(err.Error(), token) {
			t.Errorf("Recv = %v, want an error without the proxy credentials", err)
		}
	})
}

// A GOAWAY's debug data echoing a Digest credential whose uri holds a
// lower-case escape, quoted (" as \"): the response hash was shown.
func TestHTTP2GoAwayQuotedDigestWithALowerCaseEscape(t *testing.T) {
	const hash = "6629fae49393a053"
	const digest = `Digest username="bob", uri="/chat?room=a%2fb", response="` + hash + `"`
	synctest.Test(t, func(t *testing.T) {
		s := &h2PipeServer{t: t, answer: func(w *h2Answer) bool {
			w.fr.WriteGoAway(w.id, http2.ErrCodeInternal, []byte("you sent "+digest))
			w.c.Close()
			return false
		}}
		opts := s.opts()
		opts.Header = http.Header{"Authorization": {digest}}
		_, err := websocket.Dial(context.Background(), "ws://h2.test/", opts)
		if err == nil || strings.Contains(err.Error(), hash) {
			t.Errorf("Dial = %v, want the debug data without the Digest response", err)
		}
	})
}

// Two dials share one HTTP/2 connection, A with a bearer token, B with
// none. The server's answer to B echoes A's token in the subprotocol it
// selects and in another field: B's *HandshakeError and B's response
// trace, redacted with B's credentials only, showed A's token (a stream
// reset or a GOAWAY was redacted with every stream's).
func TestHTTP2SharedConnectionEchoOfAnotherDialsToken(t *testing.T) {
	const bearerA = "tok-SECRET-AAAAAAAAAA"
	trace := captureTrace(t)
	synctest.Test(t, func(t *testing.T) {
		s := &h2PipeServer{t: t, answer: func(w *h2Answer) bool {
			if w.seen == 2 {
				w.headers(200, false, "sec-websocket-protocol", bearerA, "x-last-token", "Bearer "+bearerA)
				return true
			}
			w.headers(200, false)
			return true
		}}
		shared := s.opts()
		optsA := *shared
		optsA.Header = http.Header{"Authorization": {"Bearer " + bearerA}}
		a, err := websocket.Dial(context.Background(), "ws://h2.test/", &optsA)
		if err != nil {
			t.Fatalf("Dial A: %v", err)
		}
		defer a.Abort()
		optsB := *shared
		_, err = websocket.Dial(context.Background(), "ws://h2.test/", &optsB)
		if n := s.conns.Load(); n != 1 {
			t.Fatalf("%d connections, want 1 shared", n)
		}
		if err == nil || strings.Contains(err.Error(), bearerA) {
			t.Errorf("Dial B = %v, want an error without A's credential", err)
		}
		noTraceLineWith(t, trace(), bearerA, "A's credential")
	})
}
