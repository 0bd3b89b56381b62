package websocket_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
	pubwstest "github.com/wsclient/websocket/wstest"
)

// testTimeout bounds each dial and wait in these tests: a failure must be
// an error within it, never a hang. It is generous: with the race detector
// on a machine whose CPUs fuzzers and other jobs kept busy, a TLS dial that
// builds its root pool took more than 5 s (TestDialTLS, once in about 130
// runs), and a wait that ends in time is not slowed by a longer bound.
const testTimeout = 15 * time.Second

// scriptServer answers every handshake with the bytes respond returns
// (given the request and the correct accept key). When the answer is a
// 101, the connection then runs wstest.Echo; after an answer without the
// blank line that ends the headers, the server hangs up. Requests are sent to the
// returned channel.
func scriptServer(t *testing.T, respond func(req *http.Request, accept string) string) (*wstest.Server, chan *http.Request) {
	t.Helper()
	reqs := make(chan *http.Request, 16)
	s := wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		req, accept, br, err := wstest.ReadRequest(nc)
		if err != nil {
			return
		}
		select {
		case reqs <- req:
		default:
		}
		resp := respond(req, accept)
		if _, err := io.WriteString(nc, resp); err != nil {
			return
		}
		if !strings.Contains(resp, "\r\n\r\n") {
			return // an incomplete answer: hang up
		}
		if strings.HasPrefix(resp, "HTTP/1.1 101") || strings.Contains(resp, "\r\n\r\nHTTP/1.1 101") { // after interim answers
			wstest.Echo(&wstest.Conn{NC: nc, R: br, Request: req})
			return
		}
		io.Copy(io.Discard, nc) // until the client hangs up
	})
	t.Cleanup(s.Close)
	return s, reqs
}

// TestDialAcceptsWhatTheRFCAllows dials servers whose 101 a client must
// accept though it is not the usual one, each on both parsers (a
// Content-Length sends a head to net/http), and checks that the
// connection works.
func TestDialAcceptsWhatTheRFCAllows(t *testing.T) {
	for _, tc := range []struct {
		name    string
		respond func(accept string, extra string) string
	}{
		// A client must read interim answers before the final one (RFC
		// 9110 §15.2), up to eight here.
		{"100 Continue first", func(a, x string) string { return "HTTP/1.1 100 Continue\r\n\r\n" + upgrade(a, x) }},
		{"103 Early Hints first", func(a, x string) string {
			return "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" + upgrade(a, x)
		}},
		{"eight interim answers", func(a, x string) string {
			return strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 8) + upgrade(a, x)
		}},
		// Connection holds upgrade; close beside it changes nothing (a
		// WebSocket never reuses the connection). net/http removes such
		// a header from what it parses.
		{"Connection: Upgrade, close", func(a, x string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\nSec-WebSocket-Accept: " + a + "\r\n" + x + "\r\n"
		}},
		{"Connection: close and Connection: Upgrade", func(a, x string) string {
			return upgrade(a, x+"Connection: close\r\n")
		}},
		// Empty list elements are nothing (RFC 9110 §5.6.1.2).
		{"an empty extension list", func(a, x string) string { return upgrade(a, x+"Sec-WebSocket-Extensions: , ,\r\n") }},
		{"Upgrade with an empty element", func(a, x string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket,\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + a + "\r\n" + x + "\r\n"
		}},
	} {
		for _, parser := range []struct{ name, extra string }{{"fast path", ""}, {"net/http", "Content-Length: 0\r\n"}} {
			t.Run(tc.name+"/"+parser.name, func(t *testing.T) {
				s, _ := scriptServer(t, func(_ *http.Request, a string) string { return tc.respond(a, parser.extra) })
				c, err := websocket.Dial(context.Background(), s.URL, dialOpts())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if err := c.SendText("hi"); err != nil {
					t.Fatal(err)
				}
				if m, err := c.Recv(); err != nil || m.Text() != "hi" {
					t.Fatalf("Recv = %v, %v; want the echo", m, err)
				}
				if got := c.Header().Get("Connection"); !strings.Contains(strings.ToLower(got), "upgrade") && !strings.Contains(tc.name, "close and") {
					t.Errorf("Header's Connection = %q", got)
				}
			})
		}
	}
}

func upgrade(accept string, extra ...string) string {
	return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		accept + "\r\n" + strings.Join(extra, "") + "\r\n"
}

func dialOpts() *websocket.DialOptions { return &websocket.DialOptions{Timeout: testTimeout} }

func checkPrefix(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if bad := websocket.PrefixNotOnce(err); bad != "" {
		t.Error(bad)
	}
}

// wantDropped checks that err is a handshake cut by the connection's end:
// a *HandshakeError matching io.ErrUnexpectedEOF, which RetryTransient
// retries.
func wantDropped(t *testing.T, err error) {
	t.Helper()
	var he *websocket.HandshakeError
	retry, _ := websocket.RetryTransient(err)
	if !errors.As(err, &he) || !errors.Is(err, io.ErrUnexpectedEOF) || !retry {
		t.Errorf("err = %v; want a *HandshakeError matching io.ErrUnexpectedEOF that RetryTransient retries (%v)", err, retry)
	}
}

func TestDialHandshakeValidation(t *testing.T) {
	bigBody := strings.Repeat("b", 1<<20)
	tests := []struct {
		name    string
		respond func(req *http.Request, accept string) string
		check   func(t *testing.T, err error)
	}{
		{"wrong accept", func(_ *http.Request, _ string) string { return upgrade("dGhlIHNhbXBsZSBub25jZQ==") }, wantHandshakeError},
		{"accept with different case", func(_ *http.Request, a string) string { return upgrade(strings.ToLower(a)) }, wantHandshakeError},
		// Two field lines make the value "a, b": the right key first does
		// not make it exact, nor does a second right one.
		{"accept, then a wrong one", func(_ *http.Request, a string) string {
			return upgrade(a, "Sec-WebSocket-Accept: AAAA\r\n")
		}, wantHandshakeError},
		{"a wrong accept, then the right one", func(_ *http.Request, a string) string {
			return upgrade("AAAA", "Sec-WebSocket-Accept: "+a+"\r\n")
		}, wantHandshakeError},
		{"accept twice", func(_ *http.Request, a string) string {
			return upgrade(a, "sec-websocket-accept: "+a+"\r\n")
		}, wantHandshakeError},
		{"missing Upgrade", func(_ *http.Request, a string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + a + "\r\n\r\n"
		}, wantHandshakeError},
		{"Upgrade not websocket", func(_ *http.Request, a string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + a + "\r\n\r\n"
		}, wantHandshakeError},
		// Upgrade must be websocket alone (RFC 6455 §4.1): a list, or a
		// second field line, names another protocol too.
		{"Upgrade lists another protocol", func(_ *http.Request, a string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket, h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + a + "\r\n\r\n"
		}, wantHandshakeError},
		{"Upgrade on two lines", func(_ *http.Request, a string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + a + "\r\n\r\n"
		}, func(t *testing.T, err error) {
			wantHandshakeError(t, err)
			if want := `Upgrade header is "websocket, h2c", not websocket`; !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v; want it to say %s", err, want)
			}
		}},
		{"nine interim answers", func(_ *http.Request, a string) string {
			return strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 9) + upgrade(a)
		}, func(t *testing.T, err error) {
			var bs *websocket.BadStatusError
			if !errors.As(err, &bs) || bs.StatusCode != 100 {
				t.Fatalf("err = %v, want a *BadStatusError for the ninth interim answer", err)
			}
		}},
		{"interim answer, then 403", func(_ *http.Request, _ string) string {
			return "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!"
		}, func(t *testing.T, err error) {
			var bs *websocket.BadStatusError
			if !errors.As(err, &bs) || bs.StatusCode != 403 || string(bs.Body) != "nope!" {
				t.Fatalf("err = %v, want the 403's *BadStatusError with its body", err)
			}
		}},
		{"missing Connection", func(_ *http.Request, a string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " + a + "\r\n\r\n"
		}, wantHandshakeError},
		{"unrequested subprotocol", func(_ *http.Request, a string) string {
			return upgrade(a, "Sec-WebSocket-Protocol: chat\r\n")
		}, wantHandshakeError},
		{"unrequested extension", func(_ *http.Request, a string) string {
			return upgrade(a, "Sec-WebSocket-Extensions: permessage-deflate\r\n")
		}, wantHandshakeError},
		{"403 with body", func(_ *http.Request, _ string) string {
			return "HTTP/1.1 403 Forbidden\r\nX-Why: no\r\nContent-Length: 6\r\n\r\nnope!\n"
		}, func(t *testing.T, err error) {
			var bs *websocket.BadStatusError
			if !errors.As(err, &bs) {
				t.Fatalf("err = %v (%T), want *BadStatusError", err, err)
			}
			if bs.StatusCode != 403 || bs.StatusMessage != "Forbidden" || bs.Header.Get("X-Why") != "no" || string(bs.Body) != "nope!\n" {
				t.Errorf("BadStatusError = %+v", bs)
			}
			if !strings.Contains(err.Error(), "403") {
				t.Errorf("error %q does not carry the status", err)
			}
		}},
		{"403 with a reason phrase of its own", func(_ *http.Request, _ string) string {
			return "HTTP/1.1 403 Go Away\r\nContent-Length: 0\r\n\r\n"
		}, func(t *testing.T, err error) {
			if want := "websocket: handshake failed: status 403 Go Away"; err == nil || err.Error() != want {
				t.Errorf("err = %v, want %q", err, want)
			}
		}},
		{"403 without a reason phrase", func(_ *http.Request, _ string) string {
			return "HTTP/1.1 403 \r\nContent-Length: 0\r\n\r\n"
		}, func(t *testing.T, err error) {
			if want := "websocket: handshake failed: status 403 Forbidden"; err == nil || err.Error() != want {
				t.Errorf("err = %v, want %q", err, want)
			}
		}},
		{"500 with 1 MiB body", func(_ *http.Request, _ string) string {
			return fmt.Sprintf("HTTP/1.1 500 Internal Server Error\r\nContent-Length: %d\r\n\r\n%s", len(bigBody), bigBody)
		}, func(t *testing.T, err error) {
			var bs *websocket.BadStatusError
			if !errors.As(err, &bs) || bs.StatusCode != 500 {
				t.Fatalf("err = %v, want *BadStatusError 500", err)
			}
			if len(bs.Body) == 0 || len(bs.Body) > 64<<10 {
				t.Errorf("Body holds %d bytes, want 1..64 KiB", len(bs.Body))
			}
		}},
		// The body is bounded by what is kept, not by its chunks' framing
		// (six bytes on the wire for each byte here): 20,000 bytes were
		// cut to 11,596 when the wire's bytes were counted against 64 KiB.
		{"403 with a chunked body", func(_ *http.Request, _ string) string {
			return "HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n" + strings.Repeat("1\r\nx\r\n", 20000) + "0\r\n\r\n"
		}, func(t *testing.T, err error) {
			var bs *websocket.BadStatusError
			if !errors.As(err, &bs) || len(bs.Body) != 20000 {
				t.Fatalf("err = %v, want a *BadStatusError with the 20000 bytes of the body", err)
			}
		}},
		{"403 with a chunked body over 64 KiB", func(_ *http.Request, _ string) string {
			return "HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n" + strings.Repeat("1\r\nx\r\n", 70000) + "0\r\n\r\n"
		}, func(t *testing.T, err error) {
			var bs *websocket.BadStatusError
			if !errors.As(err, &bs) || len(bs.Body) != 64<<10 {
				t.Fatalf("err = %v, want a *BadStatusError with the body's first 64 KiB", err)
			}
		}},
		{"200 without body length", func(_ *http.Request, _ string) string {
			return "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>"
		}, func(t *testing.T, err error) {
			var bs *websocket.BadStatusError
			if !errors.As(err, &bs) || bs.StatusCode != 200 {
				t.Fatalf("err = %v, want *BadStatusError 200", err)
			}
		}},
		{"malformed status line", func(_ *http.Request, _ string) string { return "HTTP/1.1 abc Nope\r\n\r\n" }, wantError},
		{"not HTTP", func(_ *http.Request, _ string) string { return "SSH-2.0-OpenSSH_9.6\r\n\r\n" }, wantError},
		{"header without colon", func(_ *http.Request, a string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade websocket\r\n\r\n"
		}, wantError},
		{"headers over 64 KiB", func(_ *http.Request, a string) string {
			return "HTTP/1.1 101 Switching Protocols\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 1000)+"\r\n", 70) + "\r\n"
		}, func(t *testing.T, err error) {
			wantError(t, err)
			if err != nil && !strings.Contains(err.Error(), "64 KiB") {
				t.Errorf("error %q does not say the headers are too large", err)
			}
		}},
		{"one endless header line", func(_ *http.Request, a string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nX-Pad: " + strings.Repeat("p", 200<<10)
		}, wantError},
		{"closed before the response ends", func(_ *http.Request, a string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		}, wantError},
		// A head cut inside a line is a dropped connection too, not a
		// malformed answer: the parser took the cut line for a whole one.
		{"closed inside a header name", func(_ *http.Request, a string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgr"
		}, wantDropped},
		{"closed after a lone CR", func(_ *http.Request, a string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r"
		}, wantDropped},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := scriptServer(t, tc.respond)
			start := time.Now()
			c, err := websocket.Dial(context.Background(), s.URL, dialOpts())
			if c != nil {
				c.Close()
			}
			tc.check(t, err)
			checkPrefix(t, err)
			if d := time.Since(start); d > testTimeout-time.Second {
				t.Errorf("Dial took %v: the error must come at once", d)
			}
		})
	}
}

func wantError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("Dial succeeded, want an error")
	}
}

func wantHandshakeError(t *testing.T, err error) {
	t.Helper()
	var he *websocket.HandshakeError
	if !errors.As(err, &he) {
		t.Fatalf("err = %v (%T), want *HandshakeError", err, err)
	}
}

// TestDialSubprotocol checks Subprotocol, which reads the kept response
// header: the server's spelling, trimmed, after either parser (a folded
// line sends the response to net/http), and "" when none was selected.
func TestDialSubprotocol(t *testing.T) {
	for _, tc := range []struct {
		name, extra, want string
	}{
		{"hand-parsed", "Sec-WebSocket-Protocol: Chat.V2\r\n", "Chat.V2"},
		{"lower-case name, spaces, empty tokens", "sec-websocket-protocol:  , Chat.V2 ,\r\n", "Chat.V2"},
		{"net/http", "X-Folded: a\r\n b\r\nSec-WebSocket-Protocol: Chat.V2\r\n", "Chat.V2"},
		{"none", "X-Other: Chat.V2\r\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, reqs := scriptServer(t, func(_ *http.Request, a string) string {
				return upgrade(a, tc.extra)
			})
			opts := dialOpts()
			opts.Subprotocols = []string{"other", "chat.v2"}
			c, err := websocket.Dial(context.Background(), s.URL, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := c.Subprotocol(); got != tc.want {
				t.Errorf("Subprotocol() = %q, want the server's spelling %q", got, tc.want)
			}
			req := <-reqs
			if got := req.Header.Get("Sec-WebSocket-Protocol"); got != "other, chat.v2" {
				t.Errorf("offered %q", got)
			}
			c.Header().Set("Sec-Websocket-Protocol", "changed") // the map is the caller's
			if c.Status() != 101 || c.Subprotocol() != tc.want {
				t.Errorf("Status() = %d, Subprotocol() after a change to Header() = %q", c.Status(), c.Subprotocol())
			}
		})
	}
}

// TestDialSeveralSubprotocols: a server may select one subprotocol only;
// one that selects several, in one header line or in several, fails the
// handshake with a HandshakeError that names them.
func TestDialSeveralSubprotocols(t *testing.T) {
	for _, extra := range []string{
		"Sec-WebSocket-Protocol: chat, other\r\n",
		"Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol:  other \r\n",
	} {
		s, _ := scriptServer(t, func(_ *http.Request, a string) string { return upgrade(a, extra) })
		opts := dialOpts()
		opts.Subprotocols = []string{"other", "chat"}
		c, err := websocket.Dial(context.Background(), s.URL, opts)
		var he *websocket.HandshakeError
		if !errors.As(err, &he) || !strings.Contains(err.Error(), "several subprotocols: chat, other") {
			t.Errorf("%q: Dial = %v, want a HandshakeError naming chat and other", extra, err)
		}
		checkPrefix(t, err)
		if c != nil {
			c.Close()
		}
	}
}

func TestDialRequestHeaders(t *testing.T) {
	tests := []struct {
		name  string
		url   func(base string) string
		opts  func(o *websocket.DialOptions)
		check func(t *testing.T, req *http.Request, host string)
	}{
		{"defaults", nil, nil, func(t *testing.T, req *http.Request, host string) {
			h := req.Header
			if req.Method != "GET" || req.Host != host || h.Get("Upgrade") != "websocket" ||
				!strings.EqualFold(h.Get("Connection"), "upgrade") || h.Get("Sec-WebSocket-Version") != "13" {
				t.Errorf("request %s %s Host %q headers %v", req.Method, req.RequestURI, req.Host, h)
			}
			if k, err := base64.StdEncoding.DecodeString(h.Get("Sec-WebSocket-Key")); err != nil || len(k) != 16 {
				t.Errorf("Sec-WebSocket-Key %q is not 16 base64 bytes", h.Get("Sec-WebSocket-Key"))
			}
			if got, want := h.Get("Origin"), "http://"+host; got != want {
				t.Errorf("Origin = %q, want %q", got, want)
			}
			for _, k := range []string{"Authorization", "Cookie", "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions"} {
				if v := h.Values(k); v != nil {
					t.Errorf("unexpected %s: %q", k, v)
				}
			}
		}},
		{"path and query", func(b string) string { return b + "/chat/room?x=1&y=%20" }, nil, func(t *testing.T, req *http.Request, _ string) {
			if req.RequestURI != "/chat/room?x=1&y=%20" {
				t.Errorf("RequestURI = %q", req.RequestURI)
			}
		}},
		{"origin override", nil, func(o *websocket.DialOptions) { o.Origin = "https://app.example" }, func(t *testing.T, req *http.Request, _ string) {
			if got := req.Header.Values("Origin"); len(got) != 1 || got[0] != "https://app.example" {
				t.Errorf("Origin = %q", got)
			}
		}},
		{"origin suppressed", nil, func(o *websocket.DialOptions) { o.SuppressOrigin = true }, func(t *testing.T, req *http.Request, _ string) {
			if _, ok := req.Header["Origin"]; ok {
				t.Errorf("Origin sent: %q", req.Header["Origin"])
			}
		}},
		{"host override", nil, func(o *websocket.DialOptions) { o.Host = "virtual.example:8443" }, func(t *testing.T, req *http.Request, _ string) {
			if req.Host != "virtual.example:8443" {
				t.Errorf("Host = %q", req.Host)
			}
		}},
		{"host from Header", nil, func(o *websocket.DialOptions) { o.Header = http.Header{"Host": {"virtual.example"}} }, func(t *testing.T, req *http.Request, _ string) {
			if req.Host != "virtual.example" {
				t.Errorf("Host = %q, want Header's", req.Host)
			}
		}},
		{"Host option wins over Header's", nil, func(o *websocket.DialOptions) {
			o.Host, o.Header = "option.example", http.Header{"Host": {"header.example"}}
		}, func(t *testing.T, req *http.Request, _ string) {
			if req.Host != "option.example" {
				t.Errorf("Host = %q, want the option's", req.Host)
			}
		}},
		{"origin from Header", nil, func(o *websocket.DialOptions) { o.Header = http.Header{"Origin": {"https://h.example"}} }, func(t *testing.T, req *http.Request, _ string) {
			if got := req.Header.Values("Origin"); len(got) != 1 || got[0] != "https://h.example" {
				t.Errorf("Origin = %q, want Header's alone", got)
			}
		}},
		{"basic auth from userinfo", func(b string) string { return strings.Replace(b, "ws://", "ws://alice:s%3Acret@", 1) }, nil,
			func(t *testing.T, req *http.Request, _ string) {
				want := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s:cret"))
				if got := req.Header.Get("Authorization"); got != want {
					t.Errorf("Authorization = %q, want %q", got, want)
				}
			}},
		{"user Authorization wins over userinfo", func(b string) string { return strings.Replace(b, "ws://", "ws://alice:x@", 1) },
			func(o *websocket.DialOptions) { o.Header = http.Header{"Authorization": {"Bearer tok"}} },
			func(t *testing.T, req *http.Request, _ string) {
				if got := req.Header.Values("Authorization"); len(got) != 1 || got[0] != "Bearer tok" {
					t.Errorf("Authorization = %q", got)
				}
			}},
		{"header and header func, multi-valued", nil, func(o *websocket.DialOptions) {
			o.Header = http.Header{"X-Multi": {"a", "b"}}
			o.HeaderFunc = func() http.Header { return http.Header{"X-Multi": {"c"}, "X-Func": {"f"}} }
		}, func(t *testing.T, req *http.Request, _ string) {
			if got := req.Header.Values("X-Multi"); strings.Join(got, ",") != "a,b,c" {
				t.Errorf("X-Multi = %q, want a, b, then c", got)
			}
			if req.Header.Get("X-Func") != "f" {
				t.Error("HeaderFunc's header missing")
			}
		}},
		{"cookie and jar", nil, func(o *websocket.DialOptions) {
			o.Cookie = "session=abc"
			jar, _ := cookiejar.New(nil)
			u, _ := url.Parse("http://127.0.0.1/")
			jar.SetCookies(u, []*http.Cookie{{Name: "jarred", Value: "1"}})
			o.Jar = jar
		}, func(t *testing.T, req *http.Request, _ string) {
			if c, err := req.Cookie("session"); err != nil || c.Value != "abc" {
				t.Errorf("Cookie header %q lacks session=abc", req.Header.Get("Cookie"))
			}
			if c, err := req.Cookie("jarred"); err != nil || c.Value != "1" {
				t.Errorf("Cookie header %q lacks the jar's cookie", req.Header.Get("Cookie"))
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, reqs := scriptServer(t, func(_ *http.Request, a string) string { return upgrade(a) })
			u := s.URL
			if tc.url != nil {
				u = tc.url(u)
			}
			opts := dialOpts()
			if tc.opts != nil {
				tc.opts(opts)
			}
			c, err := websocket.Dial(context.Background(), u, opts)
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			tc.check(t, <-reqs, s.Addr)
		})
	}
}

func TestDialJarStoresSetCookie(t *testing.T) {
	s, _ := scriptServer(t, func(_ *http.Request, a string) string {
		return upgrade(a, "Set-Cookie: token=xyz; Path=/\r\n")
	})
	jar, _ := cookiejar.New(nil)
	opts := dialOpts()
	opts.Jar = jar
	c, err := websocket.Dial(context.Background(), s.URL, opts)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	u, _ := url.Parse("http://" + s.Addr + "/")
	cs := jar.Cookies(u)
	if len(cs) != 1 || cs[0].Name != "token" || cs[0].Value != "xyz" {
		t.Errorf("jar holds %v, want token=xyz", cs)
	}
}

func TestDialRefusesHeaders(t *testing.T) {
	s, reqs := scriptServer(t, func(_ *http.Request, a string) string { return upgrade(a) })
	tests := []struct {
		name string
		opts websocket.DialOptions
	}{
		{"Upgrade", websocket.DialOptions{Header: http.Header{"Upgrade": {"x"}}}},
		{"Connection", websocket.DialOptions{Header: http.Header{"Connection": {"close"}}}},
		{"Sec-WebSocket-Key", websocket.DialOptions{Header: http.Header{"Sec-WebSocket-Key": {"x"}}}},
		{"Sec-WebSocket-Version", websocket.DialOptions{Header: http.Header{"Sec-WebSocket-Version": {"8"}}}},
		{"Sec-WebSocket-Extensions", websocket.DialOptions{Header: http.Header{"Sec-WebSocket-Extensions": {"x"}}}},
		{"lower-case reserved name", websocket.DialOptions{Header: http.Header{"sec-websocket-key": {"x"}}}},
		{"reserved name from HeaderFunc", websocket.DialOptions{HeaderFunc: func() http.Header { return http.Header{"Upgrade": {"x"}} }}},
		{"LF in value", websocket.DialOptions{Header: http.Header{"X-Evil": {"a\nInjected: 1"}}}},
		{"CR in value", websocket.DialOptions{Header: http.Header{"X-Evil": {"a\rb"}}}},
		{"CRLF from HeaderFunc", websocket.DialOptions{HeaderFunc: func() http.Header { return http.Header{"X-Evil": {"a\r\nb: c"}} }}},
		{"CRLF in a name", websocket.DialOptions{Header: http.Header{"X-Evil\r\nInjected": {"1"}}}},
		{"space in a name", websocket.DialOptions{Header: http.Header{"X Evil": {"1"}}}},
		{"colon in a name", websocket.DialOptions{Header: http.Header{"X-Evil:": {"1"}}}},
		{"empty name", websocket.DialOptions{Header: http.Header{"": {"1"}}}},
		{"CRLF in Host", websocket.DialOptions{Host: "h\r\nInjected: 1"}},
		{"CRLF in Origin", websocket.DialOptions{Origin: "http://o\r\nInjected: 1"}},
		{"CRLF in Cookie", websocket.DialOptions{Cookie: "a=1\r\nInjected: 1"}},
		{"CRLF in a subprotocol", websocket.DialOptions{Subprotocols: []string{"chat\r\nInjected: 1"}}},
		{"CRLF in a Host header", websocket.DialOptions{Header: http.Header{"Host": {"h\r\nInjected: 1"}}}},
		{"NUL in Host", websocket.DialOptions{Host: "h\x00"}},
		{"NUL in Origin", websocket.DialOptions{Origin: "http://o\x00"}},
		{"NUL in Cookie", websocket.DialOptions{Cookie: "a=\x00"}},
		{"NUL in a subprotocol", websocket.DialOptions{Subprotocols: []string{"chat\x00"}}},
		{"NUL in a header value", websocket.DialOptions{Header: http.Header{"X-Evil": {"a\x00b"}}}},
		{"a subprotocol that is no token", websocket.DialOptions{Subprotocols: []string{"chat v2"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Timeout = testTimeout
			c, err := websocket.Dial(context.Background(), s.URL, &opts)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded, want an error")
			}
			checkPrefix(t, err)
		})
	}
	select {
	case req := <-reqs:
		if req.Header.Get("Injected") != "" || req.Header.Get("X-Evil") != "" {
			t.Errorf("a request with an injected header reached the server: %v", req.Header)
		}
	default:
	}
}

func TestDialBadURL(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1/", "ftp://x/", "ws://", "ws:///path", "127.0.0.1:80", "::bad"} {
		c, err := websocket.Dial(context.Background(), u, nil)
		if err == nil {
			c.Close()
			t.Errorf("Dial(%q) succeeded", u)
			continue
		}
		checkPrefix(t, err)
	}
}

// redirector answers every handshake with status and Location loc(req).
func redirector(t *testing.T, status int, loc func(req *http.Request) string) (*wstest.Server, chan *http.Request) {
	return scriptServer(t, func(req *http.Request, _ string) string {
		return fmt.Sprintf("HTTP/1.1 %d Moved\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n", status, loc(req))
	})
}

func TestDialRedirects(t *testing.T) {
	for _, status := range []int{301, 302, 303, 307, 308} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			target, treqs := scriptServer(t, func(_ *http.Request, a string) string { return upgrade(a) })
			// http:// maps to ws://.
			r, _ := redirector(t, status, func(*http.Request) string { return "http://" + target.Addr + "/there?q=1" })
			c, err := websocket.Dial(context.Background(), r.URL+"/here", dialOpts())
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			if req := <-treqs; req.RequestURI != "/there?q=1" {
				t.Errorf("target got %q", req.RequestURI)
			}
		})
	}
	t.Run("relative location on the same origin keeps credentials", func(t *testing.T) {
		var hops atomic.Int32
		s, reqs := scriptServer(t, func(req *http.Request, a string) string {
			if req.URL.Path == "/final" {
				return upgrade(a)
			}
			return "HTTP/1.1 302 Found\r\nLocation: ../final\r\nContent-Length: 0\r\n\r\n"
		})
		opts := dialOpts()
		opts.Cookie = "c=1"
		opts.HeaderFunc = func() http.Header {
			hops.Add(1)
			return http.Header{"X-Hop": {fmt.Sprint(hops.Load())}}
		}
		c, err := websocket.Dial(context.Background(), strings.Replace(s.URL, "ws://", "ws://u:p@", 1)+"/a/start", opts)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		first, second := <-reqs, <-reqs
		if second.URL.Path != "/final" {
			t.Errorf("second request for %q", second.URL.Path)
		}
		if hops.Load() != 2 || first.Header.Get("X-Hop") != "1" || second.Header.Get("X-Hop") != "2" {
			t.Errorf("HeaderFunc called %d times (X-Hop %q, %q), want once per hop", hops.Load(), first.Header.Get("X-Hop"), second.Header.Get("X-Hop"))
		}
		if second.Header.Get("Authorization") == "" || second.Header.Get("Cookie") != "c=1" {
			t.Errorf("same-origin hop lost credentials: %v", second.Header)
		}
	})
	t.Run("cross-origin drops credentials and cookies", func(t *testing.T) {
		target, treqs := scriptServer(t, func(_ *http.Request, a string) string { return upgrade(a) })
		r, rreqs := redirector(t, 307, func(*http.Request) string { return target.URL + "/x" })
		opts := dialOpts()
		opts.Cookie = "secret=1"
		opts.Header = http.Header{"Authorization": {"Bearer static"}, "X-Keep": {"k"}}
		opts.HeaderFunc = func() http.Header { return http.Header{"Authorization": {"Bearer func"}} }
		c, err := websocket.Dial(context.Background(), strings.Replace(r.URL, "ws://", "ws://u:p@", 1), opts)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if first := <-rreqs; first.Header.Get("Authorization") == "" || first.Header.Get("Cookie") == "" {
			t.Errorf("first hop lacks credentials: %v", first.Header)
		}
		req := <-treqs
		for _, k := range []string{"Authorization", "Cookie"} {
			if v := req.Header.Values(k); len(v) > 0 {
				t.Errorf("cross-origin hop sent %s: %q", k, v)
			}
		}
		if req.Header.Get("X-Keep") != "k" {
			t.Error("cross-origin hop dropped an ordinary header")
		}
	})
	t.Run("credentials in Location are used", func(t *testing.T) {
		target, treqs := scriptServer(t, func(_ *http.Request, a string) string { return upgrade(a) })
		r, _ := redirector(t, 302, func(*http.Request) string { return "ws://bob:pw@" + target.Addr + "/" })
		c, err := websocket.Dial(context.Background(), r.URL, dialOpts())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte("bob:pw"))
		if got := (<-treqs).Header.Get("Authorization"); got != want {
			t.Errorf("Authorization = %q, want %q", got, want)
		}
	})
	limitTests := []struct {
		name  string
		limit int
		hops  int // redirects before the 101
		ok    bool
	}{
		{"default limit 3 followed", 0, 3, true},
		{"default limit 3 exceeded", 0, 4, false},
		{"limit 1", 1, 1, true},
		{"limit 1 exceeded", 1, 2, false},
		{"negative limit", -1, 1, false},
	}
	for _, tc := range limitTests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := scriptServer(t, func(req *http.Request, a string) string {
				var n int
				fmt.Sscanf(req.URL.Path, "/%d", &n)
				if n >= tc.hops {
					return upgrade(a)
				}
				return fmt.Sprintf("HTTP/1.1 302 Found\r\nLocation: /%d\r\nContent-Length: 0\r\n\r\n", n+1)
			})
			opts := dialOpts()
			opts.RedirectLimit = tc.limit
			c, err := websocket.Dial(context.Background(), s.URL+"/0", opts)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				c.Close()
				return
			}
			var bs *websocket.BadStatusError
			if !errors.As(err, &bs) || bs.StatusCode != 302 {
				if c != nil {
					c.Close()
				}
				t.Fatalf("err = %v, want *BadStatusError 302", err)
			}
		})
	}
	for _, loc := range []string{"ftp://127.0.0.1/x", "file:///etc/passwd", "http://%zz/", ""} {
		t.Run("Location "+strconv.Quote(loc), func(t *testing.T) {
			r, _ := redirector(t, 302, func(*http.Request) string { return loc })
			c, err := websocket.Dial(context.Background(), r.URL, dialOpts())
			if err == nil {
				c.Close()
				t.Fatal("Dial followed it")
			}
			checkPrefix(t, err)
		})
	}
	t.Run("loop", func(t *testing.T) {
		s, reqs := scriptServer(t, func(req *http.Request, a string) string {
			next := "/a"
			if req.URL.Path == "/a" {
				next = "/b"
			}
			return "HTTP/1.1 302 Found\r\nLocation: " + next + "\r\nContent-Length: 0\r\n\r\n"
		})
		opts := dialOpts()
		opts.RedirectLimit = 10
		c, err := websocket.Dial(context.Background(), s.URL+"/b", opts)
		if err == nil {
			c.Close()
			t.Fatal("a redirect loop succeeded")
		}
		checkPrefix(t, err)
		// RedirectLimit is what ends a loop: the 11th answer is the error.
		var bs *websocket.BadStatusError
		if !errors.As(err, &bs) || bs.StatusCode != 302 {
			t.Errorf("err = %v (%T), want a *BadStatusError with 302", err, err)
		}
		if n := len(reqs); n != 11 {
			t.Errorf("%d requests, want 11 (the first and 10 redirects)", n)
		}
	})
	t.Run("back to the same URL with a cookie", func(t *testing.T) {
		// A common way to hand out a cookie: 302 with Set-Cookie and a
		// Location naming the URL just asked for. It is a redirect like
		// any other, within RedirectLimit.
		s, reqs := scriptServer(t, func(req *http.Request, a string) string {
			if _, err := req.Cookie("seen"); err != nil {
				return "HTTP/1.1 302 Found\r\nSet-Cookie: seen=1; Path=/\r\nLocation: /here\r\nContent-Length: 0\r\n\r\n"
			}
			return upgrade(a)
		})
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		opts := dialOpts()
		opts.Jar = jar
		c, err := websocket.Dial(context.Background(), s.URL+"/here", opts)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if n := len(reqs); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
}

// silentServer accepts connections and never answers.
func silentServer(t *testing.T) *wstest.Server {
	s := wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		io.Copy(io.Discard, nc)
	})
	t.Cleanup(s.Close)
	return s
}

func TestDialTimeoutAndCancel(t *testing.T) {
	s := silentServer(t)
	t.Run("Timeout", func(t *testing.T) {
		start := time.Now()
		_, err := websocket.Dial(context.Background(), s.URL, &websocket.DialOptions{Timeout: 100 * time.Millisecond})
		var ne net.Error
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("err = %v (%T), want a timeout (os.ErrDeadlineExceeded, net.Error)", err, err)
		}
		checkPrefix(t, err)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("SetDefaultTimeout", func(t *testing.T) {
		websocket.SetDefaultTimeout(100 * time.Millisecond)
		defer websocket.SetDefaultTimeout(0)
		if websocket.DefaultTimeout() != 100*time.Millisecond {
			t.Errorf("DefaultTimeout() = %v", websocket.DefaultTimeout())
		}
		_, err := websocket.Dial(context.Background(), s.URL, nil)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("err = %v, want a timeout", err)
		}
	})
	t.Run("ctx cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		// Cancel while the handshake waits for an answer.
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := websocket.Dial(ctx, s.URL, nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want it to wrap context.Canceled", err)
		}
		checkPrefix(t, err)
	})
	t.Run("ctx deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := websocket.Dial(ctx, s.URL, &websocket.DialOptions{Timeout: time.Minute})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want it to wrap context.DeadlineExceeded", err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		_, err := websocket.Dial(context.Background(), "ws://"+addr, dialOpts())
		if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("err = %v, want a connection error", err)
		}
		checkPrefix(t, err)
	})
}

func TestDialTLS(t *testing.T) {
	ca := wstest.NewCA()
	s := wstest.NewTLS(ca.ServerConfig(), wstest.Echo)
	t.Cleanup(s.Close)
	roundTrip := func(t *testing.T, c *websocket.Conn) {
		t.Helper()
		defer c.Close()
		if !c.IsSSL() {
			t.Error("IsSSL() = false for wss")
		}
		if _, ok := c.NetConn().(*tls.Conn); !ok {
			t.Errorf("NetConn() is %T, want *tls.Conn", c.NetConn())
		}
		if err := c.SendText("over tls"); err != nil {
			t.Fatal(err)
		}
		if m, err := c.Recv(); err != nil || m.Text() != "over tls" {
			t.Fatalf("Recv = %q, %v", m.Text(), err)
		}
	}
	t.Run("RootCAs", func(t *testing.T) {
		c, err := websocket.Dial(context.Background(), s.URL, &websocket.DialOptions{Timeout: testTimeout, TLSConfig: &tls.Config{RootCAs: ca.Pool}})
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, c)
	})
	t.Run("localhost name", func(t *testing.T) {
		u := strings.Replace(s.URL, "127.0.0.1", "localhost", 1)
		c, err := websocket.Dial(context.Background(), u, &websocket.DialOptions{Timeout: testTimeout, TLSConfig: &tls.Config{RootCAs: ca.Pool}})
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, c)
	})
	for _, dir := range []bool{false, true} {
		t.Run(fmt.Sprintf("WEBSOCKET_CLIENT_CA_BUNDLE dir=%t", dir), func(t *testing.T) {
			tmp := t.TempDir()
			file := filepath.Join(tmp, "ca.pem")
			if err := os.WriteFile(file, ca.CertPEM, 0o600); err != nil {
				t.Fatal(err)
			}
			if dir {
				t.Setenv("WEBSOCKET_CLIENT_CA_BUNDLE", tmp)
			} else {
				t.Setenv("WEBSOCKET_CLIENT_CA_BUNDLE", file)
			}
			c, err := websocket.Dial(context.Background(), s.URL, dialOpts())
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, c)
		})
	}
	t.Run("unknown authority", func(t *testing.T) {
		_, err := websocket.Dial(context.Background(), s.URL, dialOpts())
		if err == nil {
			t.Fatal("Dial trusted an unknown CA")
		}
		checkPrefix(t, err)
		if !strings.Contains(err.Error(), "unknown authority") {
			t.Errorf("error %q does not say the authority is unknown", err)
		}
	})
	t.Run("wrong host", func(t *testing.T) {
		// The connection goes to the server; the URL names another host,
		// which the server's certificate does not cover.
		u := strings.Replace(s.URL, "127.0.0.1", "wrong.example", 1)
		toServer := func(ctx context.Context, network, _ string) (net.Conn, error) {
			return new(net.Dialer).DialContext(ctx, network, s.Addr)
		}
		_, err := websocket.Dial(context.Background(), u, &websocket.DialOptions{Timeout: testTimeout, NetDialContext: toServer, TLSConfig: &tls.Config{RootCAs: ca.Pool}})
		var he x509.HostnameError
		if !errors.As(err, &he) || !strings.Contains(err.Error(), "certificate is not valid for wrong.example") {
			t.Errorf("Dial = %v, want an x509.HostnameError saying the certificate is not valid for wrong.example", err)
		}
		checkPrefix(t, err)
	})
	t.Run("certificate not for servers", func(t *testing.T) {
		pca := pubwstest.NewCA("test CA")
		cert := pca.Issue("client only", x509.ExtKeyUsageClientAuth, "127.0.0.1")
		cs := wstest.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}}, wstest.Echo)
		defer cs.Close()
		_, err := websocket.Dial(context.Background(), cs.URL, &websocket.DialOptions{Timeout: testTimeout, TLSConfig: &tls.Config{RootCAs: pca.Pool()}})
		var ie x509.CertificateInvalidError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "certificate of 127.0.0.1 is invalid") {
			t.Errorf("Dial = %v, want an x509.CertificateInvalidError saying the certificate of 127.0.0.1 is invalid", err)
		}
		checkPrefix(t, err)
	})
	t.Run("TLS over NetConn", func(t *testing.T) {
		nc, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		c, err := websocket.Dial(context.Background(), s.URL, &websocket.DialOptions{Timeout: testTimeout, NetConn: nc, TLSConfig: &tls.Config{RootCAs: ca.Pool}})
		if err != nil {
			nc.Close()
			t.Fatal(err)
		}
		roundTrip(t, c)
	})
}

func TestDialNetConnPlain(t *testing.T) {
	s := wstest.New(wstest.Echo)
	t.Cleanup(s.Close)
	nc, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := websocket.Dial(context.Background(), s.URL, &websocket.DialOptions{Timeout: testTimeout, NetConn: nc})
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	defer c.Close()
	if c.NetConn() != nc || c.IsSSL() {
		t.Errorf("NetConn() = %v, IsSSL() = %t; want the given conn, false", c.NetConn(), c.IsSSL())
	}
}

// TestDialNetConnRedirect: a redirect is not followed over a given
// NetConn, and the 3xx is the *BadStatusError with its Location (it was an
// error of its own that hid the answer).
func TestDialNetConnRedirect(t *testing.T) {
	s, _ := scriptServer(t, func(*http.Request, string) string {
		return "HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n"
	})
	nc, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_, err = websocket.Dial(context.Background(), s.URL, &websocket.DialOptions{Timeout: testTimeout, NetConn: nc})
	var bs *websocket.BadStatusError
	if !errors.As(err, &bs) || bs.StatusCode != 302 || bs.Header.Get("Location") != "/b" {
		t.Fatalf("Dial = %v, want a *BadStatusError 302 with its Location", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "websocket: ") || !strings.Contains(msg, "NetConn") || !strings.Contains(msg, "302") {
		t.Errorf("message %q, want it to say why the redirect was not followed, and the status", msg)
	}
}

// A server may send frames in the same segment as its 101: the bytes read
// past the response must reach the first Recv.
func TestDialFramesBehindResponse(t *testing.T) {
	frames := string(wstest.AppendFrame(nil, true, byte(websocket.OpText), []byte("early"))) +
		string(wstest.AppendFrame(nil, true, byte(websocket.OpBinary), bytes.Repeat([]byte{7}, 5000)))
	s, _ := scriptServer(t, func(_ *http.Request, accept string) string { return upgrade(accept) + frames })
	c, err := websocket.Dial(context.Background(), s.URL, dialOpts())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, want := range []websocket.Message{
		{Opcode: websocket.OpText, Data: []byte("early")},
		{Opcode: websocket.OpBinary, Data: bytes.Repeat([]byte{7}, 5000)},
	} {
		got, err := c.Recv()
		if err != nil || got.Opcode != want.Opcode || !bytes.Equal(got.Data, want.Data) {
			t.Fatalf("Recv = %v %d bytes, %v; want %v %d bytes", got.Opcode, len(got.Data), err, want.Opcode, len(want.Data))
		}
	}
}

// TestDialResponseHeader checks Conn.Header after both ways of reading the
// response: the hand parser (whose map is built again on the first Header
// call) and http.ReadResponse (a folded line sends it there). Concurrent
// first calls must agree on one map.
func TestDialResponseHeader(t *testing.T) {
	for _, tc := range []struct {
		name, extra, want string
	}{
		{"hand-parsed", "x-served-by: a\r\nX-Served-By: b\r\n", "a,b"},
		{"net/http", "X-Served-By: a\r\n b\r\n", "a b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := scriptServer(t, func(_ *http.Request, a string) string { return upgrade(a, tc.extra) })
			c, err := websocket.Dial(context.Background(), s.URL, dialOpts())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			headers := make(chan http.Header, 2)
			for range 2 {
				go func() { headers <- c.Header() }()
			}
			h1, h2 := <-headers, <-headers
			if got := strings.Join(h1.Values("X-Served-By"), ","); got != tc.want {
				t.Errorf("X-Served-By = %q, want %q (header %v)", got, tc.want, h1)
			}
			if h1.Get("Sec-Websocket-Accept") == "" || h1.Get("Upgrade") != "websocket" {
				t.Errorf("header %v lacks the handshake's fields", h1)
			}
			h1.Set("X-Mine", "1")
			if h2.Get("X-Mine") != "1" || c.Header().Get("X-Mine") != "1" {
				t.Error("Header returned different maps")
			}
		})
	}
}

// TestDialJarSecureCookies: the jar is asked for the cookies of the URL's
// HTTP twin (ws: http, wss: https), so a Secure cookie goes out over wss
// and never over ws. The host is a name, not a loopback address, which a
// jar trusts like https; the dialer takes it to the test's server.
func TestDialJarSecureCookies(t *testing.T) {
	ca := wstest.NewCA()
	got := make(chan string, 1)
	handle := func(c *wstest.Conn) {
		got <- c.Request.Header.Get("Cookie")
		c.ReadFrame()
	}
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse("https://cookies.example/")
	jar.SetCookies(u, []*http.Cookie{{Name: "secret", Value: "s", Secure: true}, {Name: "plain", Value: "p"}})
	for _, tc := range []struct {
		srv  *wstest.Server
		want string
	}{
		{wstest.New(handle), "plain=p"},
		{wstest.NewTLS(ca.ServerConfig(), handle), "secret=s; plain=p"},
	} {
		defer tc.srv.Close()
		scheme, _, _ := strings.Cut(tc.srv.URL, ":")
		opts := &websocket.DialOptions{Timeout: testTimeout, Jar: jar,
			TLSConfig: &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"},
			NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, tc.srv.Addr)
			}}
		c, err := websocket.Dial(context.Background(), scheme+"://cookies.example/", opts)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if cookie := <-got; cookie != tc.want {
			t.Errorf("%s: Cookie %q, want %q", scheme, cookie, tc.want)
		}
	}
}

// TestDialNetConnTLS: a given NetConn that is a TLS stream makes IsSSL true
// ("whether the connection runs over TLS") also with a ws:// URL, as
// Python's is_ssl says of an ssl.SSLSocket; it said false.
func TestDialNetConnTLS(t *testing.T) {
	ca := wstest.NewCA()
	s := wstest.NewTLS(ca.ServerConfig(), wstest.Echo)
	t.Cleanup(s.Close)
	raw, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(raw, &tls.Config{RootCAs: ca.Pool, ServerName: "localhost"})
	c, err := websocket.Dial(context.Background(), "ws://localhost/", &websocket.DialOptions{Timeout: testTimeout, NetConn: tc})
	if err != nil {
		raw.Close()
		t.Fatal(err)
	}
	defer c.Close()
	if c.NetConn() != tc || !c.IsSSL() {
		t.Errorf("NetConn() = %T (the given one: %t), IsSSL() = %t; want the given *tls.Conn, true", c.NetConn(), c.NetConn() == tc, c.IsSSL())
	}
}
