package websocket_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/proxy/proxytest"
	"github.com/wsclient/websocket/internal/wstest"
)

// wireRecorder is a plain TCP listener that answers nothing: it accepts one
// connection at a time, keeps what the connection sent up to the end of a
// request head (or EOF) and closes it. probe tells what arrived since the
// last probe.
type wireRecorder struct {
	addr  string
	ln    net.Listener
	done  chan struct{}
	mu    sync.Mutex
	conns [][]byte // one entry per accepted connection, probes included
}

const probeLine = "PROBE\r\n\r\n"

func newWireRecorder(t *testing.T) *wireRecorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &wireRecorder{addr: ln.Addr().String(), ln: ln, done: make(chan struct{})}
	go r.serve()
	t.Cleanup(func() {
		ln.Close()
		<-r.done
	})
	return r
}

func (r *wireRecorder) serve() {
	defer close(r.done)
	for {
		nc, err := r.ln.Accept()
		if err != nil {
			return
		}
		var got []byte
		br := bufio.NewReader(nc)
		for !bytes.HasSuffix(got, []byte("\r\n\r\n")) {
			line, err := br.ReadBytes('\n')
			got = append(got, line...)
			if err != nil {
				break
			}
		}
		r.mu.Lock()
		r.conns = append(r.conns, got)
		r.mu.Unlock()
		nc.Close() // after recording: probe reads the record once it sees EOF
	}
}

// probe connects and sends probeLine. The listener accepts in order, so once
// the probe is answered (closed), every connection made before it has been
// recorded. It returns those made since the last probe.
func (r *wireRecorder) probe(t *testing.T) [][]byte {
	t.Helper()
	nc, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := io.WriteString(nc, probeLine); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, nc) // until the recorder closes it
	r.mu.Lock()
	defer r.mu.Unlock()
	var since [][]byte
	for i := len(r.conns) - 1; i >= 0; i-- {
		if string(r.conns[i]) == probeLine {
			if i == len(r.conns)-1 {
				continue // this probe
			}
			break // the previous one
		}
		since = append(since, r.conns[i])
	}
	return since
}

// staticJar is a cookie jar that always returns its cookies, unchecked, as a
// custom http.CookieJar may.
type staticJar []*http.Cookie

func (staticJar) SetCookies(*url.URL, []*http.Cookie) {}
func (j staticJar) Cookies(*url.URL) []*http.Cookie   { return j }

func TestDialRefusesInjectionBeforeSending(t *testing.T) {
	rec := newWireRecorder(t)
	base := "ws://" + rec.addr + "/"
	type dialCase struct {
		name string
		url  string
		opts websocket.DialOptions
		want string // in the error
	}
	var tests []dialCase
	for _, c := range []struct{ name, char, escaped string }{{"CR", "\r", "%0D"}, {"LF", "\n", "%0A"}, {"NUL", "\x00", "%00"}} {
		bad := "a" + c.char + "X-Injected: 1"
		const crlf = "CR, LF or NUL"
		tests = append(tests,
			dialCase{"Host " + c.name, base, websocket.DialOptions{Host: bad}, crlf},
			dialCase{"Origin " + c.name, base, websocket.DialOptions{Origin: bad}, crlf},
			dialCase{"Cookie " + c.name, base, websocket.DialOptions{Cookie: "a=" + bad}, crlf},
			dialCase{"Subprotocols " + c.name, base, websocket.DialOptions{Subprotocols: []string{"chat", bad}}, "not a token"},
			dialCase{"Header " + c.name, base, websocket.DialOptions{Header: http.Header{"X-Evil": {bad}}}, crlf},
			dialCase{"HeaderFunc " + c.name, base, websocket.DialOptions{HeaderFunc: func() http.Header {
				return http.Header{"X-Evil": {bad}}
			}}, crlf},
			dialCase{"Jar " + c.name, base, websocket.DialOptions{Jar: staticJar{{Name: "a", Value: bad}}}, crlf},
			dialCase{"user name " + c.name, "ws://us" + c.escaped + "er:pw@" + rec.addr + "/", websocket.DialOptions{}, crlf},
			dialCase{"password " + c.name, "ws://user:p" + c.escaped + "w@" + rec.addr + "/", websocket.DialOptions{}, crlf},
			// Refused even when an Authorization header of the caller's means they are not sent.
			dialCase{"user name with Authorization " + c.name, "ws://us" + c.escaped + "er:pw@" + rec.addr + "/",
				websocket.DialOptions{Header: http.Header{"Authorization": {"Bearer t"}}}, crlf},
		)
	}
	for _, c := range []string{"%01", "%1B", "%7F"} { // other control characters in URL credentials
		const ctl = "control character"
		tests = append(tests,
			dialCase{"user name " + c, "ws://us" + c + "er:pw@" + rec.addr + "/", websocket.DialOptions{}, ctl},
			dialCase{"password " + c, "ws://user:p" + c + "w@" + rec.addr + "/", websocket.DialOptions{}, ctl},
			dialCase{"password with Authorization " + c, "ws://user:p" + c + "w@" + rec.addr + "/",
				websocket.DialOptions{Header: http.Header{"Authorization": {"Bearer t"}}}, ctl})
	}
	for _, c := range []string{"\x01", "\x1f", "\x7f"} { // control characters HTTP does not allow in a field
		const ctl = "control character"
		tests = append(tests,
			dialCase{fmt.Sprintf("Header %q", c), base, websocket.DialOptions{Header: http.Header{"X-A": {"a" + c}}}, ctl},
			dialCase{fmt.Sprintf("Origin %q", c), base, websocket.DialOptions{Origin: "o" + c}, ctl},
			dialCase{fmt.Sprintf("Cookie %q", c), base, websocket.DialOptions{Cookie: "a=" + c}, ctl},
		)
	}
	for _, h := range []string{"a b", "a/b", "a\tb"} {
		tests = append(tests, dialCase{fmt.Sprintf("Host %q", h), base, websocket.DialOptions{Host: h}, "is not a host"},
			dialCase{fmt.Sprintf("Host header %q", h), base, websocket.DialOptions{Header: http.Header{"host": {h}}}, "is not a host"})
	}
	for _, h := range []string{"\u00fc b", "\u00ad", "\u00fc\x01", "\u00fc.example:x"} { // not ASCII, and no host in IDNA form
		tests = append(tests, dialCase{fmt.Sprintf("Host %q", h), base, websocket.DialOptions{Host: h}, "header Host"})
	}
	for _, p := range []string{"", "a b", "a,b", "a/b", "a;b", "\"a\"", "ü", "a\tb"} {
		tests = append(tests, dialCase{fmt.Sprintf("subprotocol %q", p), base, websocket.DialOptions{Subprotocols: []string{p}}, "not a token"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Timeout = testTimeout
			c, err := websocket.Dial(context.Background(), tc.url, &opts)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded, want an error")
			}
			checkPrefix(t, err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if got := rec.probe(t); len(got) > 0 {
				t.Errorf("the server was connected to %d times, receiving %q", len(got), got)
			}
		})
	}
	t.Run("valid tokens pass", func(t *testing.T) {
		s, reqs := scriptServer(t, func(_ *http.Request, a string) string { return upgrade(a) })
		opts := dialOpts()
		opts.Subprotocols = []string{"chat.v2", "x-!#$%&'*+-.^_`|~1"}
		c, err := websocket.Dial(context.Background(), s.URL, opts)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if got := (<-reqs).Header.Get("Sec-WebSocket-Protocol"); got != "chat.v2, x-!#$%&'*+-.^_`|~1" {
			t.Errorf("offered %q", got)
		}
	})
}

// TestDialRequestTarget checks the request line a URL makes on the wire:
// one target, with no raw space that would split the line, whatever the
// URL's query holds, and the query's meaning kept (its %-escapes, and
// bytes a server reads raw, go as written).
func TestDialRequestTarget(t *testing.T) {
	rec := newWireRecorder(t)
	for _, tc := range []struct{ url, target string }{
		{"", "/"},
		{"/", "/"},
		{"/?", "/?"},
		{"/chat?room=1&x=%20", "/chat?room=1&x=%20"},
		{"/?a b", "/?a%20b"},
		{"/?a HTTP/1.0", "/?a%20HTTP/1.0"},
		{"/p?q=\"<x>'", "/p?q=%22%3Cx%3E%27"},
		{"/\u00e9?\u00e9=\u00e9", "/%C3%A9?%C3%A9=%C3%A9"},
		{"/?x=%zz&[]={}|^`\\;:@/?!$&()*+,=~", "/?x=%zz&[]={}|^`\\;:@/?!$&()*+,=~"},
		{"/a b/c#frag x", "/a%20b/c"},
		{"/?a#b c", "/?a"},
		{"/a%2Fb/x", "/a%2Fb/x"},
		{"/a%2Fb/\u00fc", "/a%2Fb/%C3%BC"}, // an escaped slash beside a byte to escape stays escaped
		{"/a%2fb c", "/a%2fb%20c"},
		{"/%7e%2F\u00e9\"<>^`{|}[]!$&'()*+,;=:@-._~", "/%7e%2F%C3%A9%22%3C%3E%5E%60%7B%7C%7D%5B%5D!$&'()*+,;=:@-._~"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			c, err := websocket.Dial(context.Background(), "ws://"+rec.addr+tc.url, &websocket.DialOptions{Timeout: testTimeout})
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded against a server that answers nothing")
			}
			got := rec.probe(t)
			if len(got) != 1 {
				t.Fatalf("%d connections, want 1", len(got))
			}
			line, _, _ := strings.Cut(string(got[0]), "\r\n")
			if want := "GET " + tc.target + " HTTP/1.1"; line != want {
				t.Errorf("request line %q, want %q", line, want)
			}
		})
	}
}

// TestDialHostForms checks the name a dial resolves and the Host and Origin
// it sends for hosts that are not plain ASCII names: an internationalized
// name goes everywhere in its ASCII form, as browsers send it, and an IPv6
// zone is dialed but not sent. A name IDNA refuses, a name with bytes no
// host name has (which url.Parse lets through), and a zone that is not an
// interface name are errors before anything is dialed.
func TestDialHostForms(t *testing.T) {
	rec := newWireRecorder(t)
	for _, tc := range []struct{ url, dialed, host, origin string }{
		{"ws://b\u00fccher.example/", "xn--bcher-kva.example:80", "xn--bcher-kva.example", "http://xn--bcher-kva.example"},
		{"wss://B\u00dcCHER.example:8443/", "xn--bcher-kva.example:8443", "xn--bcher-kva.example:8443", "https://xn--bcher-kva.example:8443"},
		{"ws://%E4%BE%8B%E3%81%88.jp/", "xn--r8jz45g.jp:80", "xn--r8jz45g.jp", "http://xn--r8jz45g.jp"},
		{"ws://[fe80::1%25lo]:8080/", "[fe80::1%lo]:8080", "[fe80::1]:8080", "http://[fe80::1]:8080"},
		{"ws://my_service:80/", "my_service:80", "my_service", "http://my_service"},
		{"ws://my_service:0080/", "my_service:80", "my_service", "http://my_service"}, // the default port, written with zeros
		{"wss://h.test:0443/", "h.test:443", "h.test", "https://h.test"},
		{"ws://[::1]:08080/", "[::1]:8080", "[::1]:8080", "http://[::1]:8080"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			var dialed []string
			opts := &websocket.DialOptions{Timeout: testTimeout,
				Proxy: func(*url.URL) (*url.URL, error) { return nil, nil },
				NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					dialed = append(dialed, addr)
					return new(net.Dialer).DialContext(ctx, network, rec.addr)
				},
			}
			var sni string
			if strings.HasPrefix(tc.url, "wss:") {
				// A TLS server that stops at the ClientHello, whose
				// server name is what is checked.
				opts.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
					dialed = append(dialed, addr)
					a, b := net.Pipe()
					go func() {
						defer b.Close()
						srv := tls.Server(b, &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
							sni = h.ServerName
							return nil, errors.New("stop")
						}})
						srv.Handshake()
					}()
					return a, nil
				}
			}
			c, err := websocket.Dial(context.Background(), tc.url, opts)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded against a server that answers nothing")
			}
			if len(dialed) != 1 || dialed[0] != tc.dialed {
				t.Fatalf("dialed %q, want %q", dialed, tc.dialed)
			}
			if strings.HasPrefix(tc.url, "wss:") {
				if want, _, _ := strings.Cut(tc.host, ":"); sni != want {
					t.Errorf("TLS server name %q, want %q", sni, want)
				}
				return
			}
			got := rec.probe(t)
			if len(got) != 1 {
				t.Fatalf("%d connections, want 1", len(got))
			}
			req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(got[0])))
			if err != nil {
				t.Fatal(err)
			}
			if req.Host != tc.host || req.Header.Get("Origin") != tc.origin {
				t.Errorf("Host %q, Origin %q; want %q, %q", req.Host, req.Header.Get("Origin"), tc.host, tc.origin)
			}
		})
	}
	t.Run("redirect", func(t *testing.T) {
		target, treqs := scriptServer(t, func(_ *http.Request, a string) string { return upgrade(a) })
		_, port, _ := net.SplitHostPort(target.Addr)
		r, _ := redirector(t, 302, func(*http.Request) string { return "http://b\u00fccher.example:" + port + "/x" })
		var dialed []string
		opts := dialOpts()
		opts.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialed = append(dialed, addr)
			if strings.HasPrefix(addr, "xn--") {
				addr = target.Addr
			}
			return new(net.Dialer).DialContext(ctx, network, addr)
		}
		c, err := websocket.Dial(context.Background(), r.URL, opts)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if want := "xn--bcher-kva.example:" + port; len(dialed) != 2 || dialed[1] != want {
			t.Errorf("dialed %q, want %q second", dialed, want)
		}
		if req := <-treqs; req.Host != "xn--bcher-kva.example:"+port {
			t.Errorf("Host %q after the redirect", req.Host)
		}
	})
	t.Run("wss to an IPv6 address with a zone", func(t *testing.T) {
		// The certificate names ::1; the zone is this machine's, so
		// the name verified is the address without it. (The dial goes
		// to the IPv4 test server whatever the URL says.)
		ca := wstest.NewCA()
		s := wstest.NewRaw(func(nc net.Conn) {
			tc := tls.Server(nc, ca.ServerConfig())
			defer tc.Close()
			if tc.Handshake() != nil {
				return
			}
			_, accept, _, err := wstest.ReadRequest(tc)
			if err == nil {
				io.WriteString(tc, upgrade(accept))
			}
		})
		defer s.Close()
		_, port, _ := net.SplitHostPort(s.Addr)
		opts := dialOpts()
		opts.TLSConfig = &tls.Config{RootCAs: ca.Pool}
		opts.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr != "[::1%lo]:"+port {
				t.Errorf("dialed %q", addr)
			}
			return new(net.Dialer).DialContext(ctx, network, s.Addr)
		}
		c, err := websocket.Dial(context.Background(), "wss://[::1%25lo]:"+port+"/", opts)
		if err != nil {
			t.Fatal(err)
		}
		c.Abort()
	})
	t.Run("an https proxy at an IPv6 address with a zone", func(t *testing.T) {
		ca := wstest.NewCA()
		target := wstest.New(wstest.Echo)
		defer target.Close()
		p := proxytest.StartTLS(t, "127.0.0.1", ca.Server, proxytest.HTTPConnect(proxytest.HTTPOptions{}))
		_, port, _ := net.SplitHostPort(p.Addr)
		pu := &url.URL{Scheme: "https", Host: "[::1%lo]:" + port}
		opts := dialOpts()
		opts.TLSConfig = &tls.Config{RootCAs: ca.Pool}
		opts.Proxy = func(*url.URL) (*url.URL, error) { return pu, nil }
		opts.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return new(net.Dialer).DialContext(ctx, network, p.Addr) // the proxy, whatever the address
		}
		c, err := websocket.Dial(context.Background(), target.URL, opts)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	})
	t.Run("Host option not ASCII", func(t *testing.T) {
		for host, want := range map[string]string{
			"b\u00fccher.example":      "xn--bcher-kva.example",
			"B\u00dcCHER.example:8080": "xn--bcher-kva.example:8080",
			"[::1]:8080":               "[::1]:8080",
			"plain.example:81":         "plain.example:81",
			"\u4f8b\u3048.jp":          "xn--r8jz45g.jp",
		} {
			s, reqs := scriptServer(t, func(_ *http.Request, a string) string { return upgrade(a) })
			opts := dialOpts()
			opts.Host = host
			c, err := websocket.Dial(context.Background(), s.URL, opts)
			if err != nil {
				t.Fatalf("Host %q: %v", host, err)
			}
			c.Abort()
			if req := <-reqs; req.Host != want {
				t.Errorf("Host option %q sent as %q, want %q", host, req.Host, want)
			}
		}
	})
	t.Run("redirect without a host", func(t *testing.T) {
		r, _ := redirector(t, 302, func(*http.Request) string { return "http:///x" })
		_, err := websocket.Dial(context.Background(), r.URL, dialOpts())
		if err == nil || !strings.Contains(err.Error(), "websocket: redirect to bad Location") || !strings.Contains(err.Error(), "no host") {
			t.Errorf("error %v, want a bad Location with no host", err)
		}
	})
	for _, bad := range []string{"ws://\u00fc-.example/", "ws://\u0301a.example/", "ws://\u00fc_x.example/",
		"ws://a\"b/", "ws://a<b>/", "ws://a%25b/", "ws://[fe80::1%25a%20b]/",
		// Names IDNA maps to nothing: a soft hyphen, a zero-width
		// space, with and without a port.
		"ws://\u00ad/", "ws://\u200b:81/", "ws://%C2%AD/"} {
		t.Run(bad, func(t *testing.T) {
			opts := &websocket.DialOptions{Timeout: testTimeout, NetDialContext: func(context.Context, string, string) (net.Conn, error) {
				t.Error("dialed")
				return nil, errors.New("no")
			}}
			_, err := websocket.Dial(context.Background(), bad, opts)
			if err == nil || !strings.HasPrefix(err.Error(), "websocket: bad URL") {
				t.Errorf("error %v, want a bad URL", err)
			}
		})
	}
}

func TestDialSuppressOriginWins(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts websocket.DialOptions
	}{
		{"Origin set", websocket.DialOptions{Origin: "https://app.example"}},
		{"Origin header", websocket.DialOptions{Header: http.Header{"Origin": {"https://app.example"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, reqs := scriptServer(t, func(_ *http.Request, a string) string { return upgrade(a) })
			opts := tc.opts
			opts.Timeout = testTimeout
			opts.SuppressOrigin = true
			c, err := websocket.Dial(context.Background(), s.URL, &opts)
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			if v, ok := (<-reqs).Header["Origin"]; ok {
				t.Errorf("Origin sent with SuppressOrigin: %q", v)
			}
		})
	}
}

// tlsScriptServer is scriptServer over TLS, with the certificate of ca.
func tlsScriptServer(t *testing.T, ca *wstest.CA, respond func(req *http.Request, accept string) string) *wstest.Server {
	t.Helper()
	cfg := ca.ServerConfig()
	s := wstest.NewRaw(func(nc net.Conn) {
		tc := tls.Server(nc, cfg)
		defer tc.Close()
		req, accept, br, err := wstest.ReadRequest(tc)
		if err != nil {
			return
		}
		resp := respond(req, accept)
		if _, err := io.WriteString(tc, resp); err != nil {
			return
		}
		if strings.HasPrefix(resp, "HTTP/1.1 101") {
			wstest.Echo(&wstest.Conn{NC: tc, R: br, Request: req})
			return
		}
		io.Copy(io.Discard, br)
	})
	s.URL = "wss://" + s.Addr
	t.Cleanup(s.Close)
	return s
}

func TestDialRefusesDowngradeRedirect(t *testing.T) {
	ca := wstest.NewCA()
	plain := newWireRecorder(t)
	for _, tc := range []struct {
		status int
		loc    string
	}{
		{302, "ws://" + plain.addr + "/x"},
		{301, "http://" + plain.addr + "/x"},
		{307, "HTTP://" + plain.addr + "/x?y=1"},
		{308, "ws://user:pw@" + plain.addr + "/"},
	} {
		t.Run(fmt.Sprint(tc.status, " ", tc.loc), func(t *testing.T) {
			s := tlsScriptServer(t, ca, func(*http.Request, string) string {
				return fmt.Sprintf("HTTP/1.1 %d Moved\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n", tc.status, tc.loc)
			})
			opts := dialOpts()
			opts.TLSConfig = &tls.Config{RootCAs: ca.Pool}
			c, err := websocket.Dial(context.Background(), s.URL, opts)
			if err == nil {
				c.Close()
				t.Fatal("a redirect from wss to ws was followed")
			}
			var bs *websocket.BadStatusError
			if !errors.As(err, &bs) || bs.StatusCode != tc.status {
				t.Errorf("err = %v, want a *BadStatusError %d", err, tc.status)
			}
			checkPrefix(t, err)
			if !strings.Contains(err.Error(), "refusing redirect from wss to ws") {
				t.Errorf("error %q does not say the redirect is refused", err)
			}
			if n := strings.Count(err.Error(), "websocket: "); n != 1 {
				t.Errorf("error %q says \"websocket: \" %d times", err, n)
			}
			if got := plain.probe(t); len(got) > 0 {
				t.Errorf("the downgraded location was connected to %d times, receiving %q", len(got), got)
			}
		})
	}
	t.Run("https location is followed", func(t *testing.T) {
		s := tlsScriptServer(t, ca, func(req *http.Request, a string) string {
			if req.URL.Path == "/final" {
				return upgrade(a)
			}
			return "HTTP/1.1 302 Found\r\nLocation: https://" + req.Host + "/final\r\nContent-Length: 0\r\n\r\n"
		})
		opts := dialOpts()
		opts.TLSConfig = &tls.Config{RootCAs: ca.Pool}
		c, err := websocket.Dial(context.Background(), s.URL, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !c.IsSSL() {
			t.Error("IsSSL() = false after a wss to wss redirect")
		}
		c.Close()
	})
}

// TestNoPasswordInReconnectTrace: an App's reconnect trace names its URL
// without the password.
func TestNoPasswordInReconnectTrace(t *testing.T) {
	const pw = "PW-7f3a"
	trace := captureTrace(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := 0
	a := &websocket.App{URL: "ws://u:" + pw + "@" + refused + "/"}
	a.OnError = func(*websocket.App, error) {
		if errs++; errs == 2 {
			cancel() // after a reconnect
		}
	}
	opts := &websocket.RunOptions{Reconnect: time.Millisecond, DialOptions: websocket.DialOptions{Timeout: testTimeout}}
	if err := a.Run(ctx, opts); err != nil && !errors.Is(err, context.Canceled) {
		t.Logf("Run: %v", err)
	}
	log := trace()
	if !strings.Contains(log, "websocket: reconnecting") || !strings.Contains(log, refused) {
		t.Fatalf("no reconnect to %s in the trace:\n%s", refused, log)
	}
	if strings.Contains(log, pw) {
		t.Errorf("the trace shows the password:\n%s", log)
	}
}

// captureTrace turns tracing on into a buffer for the rest of the test.
func captureTrace(t *testing.T) func() string {
	var buf bytes.Buffer
	var mu sync.Mutex
	websocket.EnableTrace(true, slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: websocket.LevelTrace}))
	t.Cleanup(func() { websocket.EnableTrace(false, slog.DiscardHandler) })
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
}

func TestNoPasswordInTracesOrErrors(t *testing.T) {
	const pw = "PW-7f3a"
	secrets := []string{pw, base64.StdEncoding.EncodeToString([]byte("bob:" + pw)), base64.StdEncoding.EncodeToString([]byte("u:" + pw))}
	trace := captureTrace(t)
	ca := wstest.NewCA()
	target, _ := scriptServer(t, func(_ *http.Request, a string) string { return upgrade(a) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	auth := proxytest.HTTPConnect(proxytest.HTTPOptions{Auth: proxytest.Auth{User: "u", Password: "right"}})
	proxy407 := proxytest.Start(t, "127.0.0.1", auth)
	socks := proxytest.Start(t, "127.0.0.1", proxytest.SOCKS5(proxytest.SOCKSOptions{Auth: proxytest.Auth{User: "u", Password: "right"}}))
	cert, _ := proxytest.SelfSigned(t, "127.0.0.1")
	untrusted := proxytest.StartTLS(t, "127.0.0.1", cert, auth)

	redirect := func(loc string) string {
		s, _ := redirector(t, 302, func(*http.Request) string { return loc })
		return s.URL + "/start"
	}
	loop, _ := redirector(t, 302, func(req *http.Request) string { return "ws://bob:" + pw + "@" + req.Host + "/loop" })
	viaProxy := func(p string) *websocket.DialOptions {
		o := dialOpts()
		o.Proxy = websocket.ProxyURL(p)
		return o
	}
	tests := []struct {
		name    string
		url     string
		opts    *websocket.DialOptions
		wantErr bool
	}{
		{"redirect Location with a password", redirect("ws://bob:" + pw + "@" + target.Addr + "/"), dialOpts(), false},
		{"redirect Location with a password and a bad port", redirect("ws://bob:" + pw + "@127.0.0.1:bad/"), dialOpts(), true},
		{"redirect Location with a password holding a slash", redirect("ws://bob:" + pw + "/x@127.0.0.1/"), dialOpts(), true},
		{"redirect Location with a password, redirect loop", loop.URL + "/start", dialOpts(), true},
		{"redirect Location with a password, downgrade", tlsScriptServer(t, ca, func(*http.Request, string) string {
			return "HTTP/1.1 302 Found\r\nLocation: ws://bob:" + pw + "@" + target.Addr + "/\r\nContent-Length: 0\r\n\r\n"
		}).URL, &websocket.DialOptions{Timeout: testTimeout, TLSConfig: &tls.Config{RootCAs: ca.Pool}}, true},
		{"dial URL with a password and a bad port", "ws://u:" + pw + "@127.0.0.1:bad/", dialOpts(), true},
		{"dial URL with a password holding a slash", "ws://u:" + pw + "/x@127.0.0.1/", dialOpts(), true},
		// url.Parse quotes a URL only up to a "#", here in the password:
		// its error quoted "ws://u:PW-7f3a" and the bad port ":PW-7f3a".
		{"dial URL with a password holding a #", "ws://u:" + pw + "#x@127.0.0.1/", dialOpts(), true},
		{"wss URL with a password holding a #", "wss://u:" + pw + "#x@example.com/", dialOpts(), true},
		{"redirect Location with a password holding a #", redirect("ws://bob:" + pw + "#x@127.0.0.1/"), dialOpts(), true},
		// No "//": url.Parse takes it as opaque, and URL.Redacted keeps it.
		{"dial URL without // holding a password", "ws:u:" + pw + "@127.0.0.1/", dialOpts(), true},
		{"dial URL of another scheme without // holding a password", "ftp:u:" + pw + "@127.0.0.1/", dialOpts(), true},
		{"dial URL with a password, refused", "ws://u:" + pw + "@" + refused + "/", dialOpts(), true},
		{"proxy with a password, refused", target.URL, viaProxy("http://u:" + pw + "@" + refused), true},
		{"proxy with a password, 407", target.URL, viaProxy("http://u:" + pw + "@" + proxy407.Addr), true},
		{"https proxy with a password, untrusted", target.URL, viaProxy("https://u:" + pw + "@" + untrusted.Addr), true},
		{"socks5 proxy with a password, refused credentials", target.URL, viaProxy("socks5://u:" + pw + "@" + socks.Addr), true},
		{"proxy URL with a password and a bad port", target.URL, viaProxy("http://u:" + pw + "@127.0.0.1:bad"), true},
		{"proxy URL with a password holding a slash", target.URL, viaProxy("http://u:" + pw + "/x@127.0.0.1"), true},
		{"proxy function failing to parse a URL with a password holding a #", target.URL, &websocket.DialOptions{Timeout: testTimeout, Proxy: func(*url.URL) (*url.URL, error) {
			return url.Parse(strings.Join([]string{"http://u:", pw, "#x@127.0.0.1"}, ""))
		}}, true},
		{"proxy function failing to parse a URL with a password", target.URL, &websocket.DialOptions{Timeout: testTimeout, Proxy: func(*url.URL) (*url.URL, error) {
			return url.Parse(strings.Join([]string{"http://u:", pw, "@127.0.0.1:bad"}, ""))
		}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := websocket.Dial(context.Background(), tc.url, tc.opts)
			if tc.wantErr != (err != nil) {
				t.Fatalf("Dial: %v, want an error: %t", err, tc.wantErr)
			}
			if err != nil {
				checkPrefix(t, err)
				for _, s := range secrets {
					if strings.Contains(err.Error(), s) {
						t.Errorf("error shows the password: %v", err)
					}
				}
				return
			}
			c.Close()
		})
	}
	t.Run("environment proxy with a password, refused", func(t *testing.T) {
		t.Setenv("http_proxy", "http://u:"+pw+"@"+refused)
		t.Setenv("no_proxy", "")
		_, err := websocket.Dial(context.Background(), "ws://example.invalid/", dialOpts())
		var pe *websocket.ProxyError
		if !errors.As(err, &pe) {
			t.Fatalf("err = %v, want a *ProxyError", err)
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("error shows the password: %v", err)
		}
	})
	out := trace()
	if !strings.Contains(out, "handshake response") || !strings.Contains(out, "Location") {
		t.Errorf("the trace lacks the redirects:\n%s", out)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the trace shows the password (%s):\n%s", s, out)
		}
	}
}

// traceRecords is a slog.Handler that keeps every record.
type traceRecords struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *traceRecords) Enabled(context.Context, slog.Level) bool { return true }
func (h *traceRecords) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *traceRecords) WithGroup(string) slog.Handler            { return h }
func (h *traceRecords) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

// head returns the lines of the "head" attribute of the records with
// message msg, at the level of the last of them.
func (h *traceRecords) head(msg string) (heads [][]string, level slog.Level) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.recs {
		if r.Message != msg {
			continue
		}
		level = r.Level
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "head" {
				heads = append(heads, strings.Split(a.Value.String(), "\n"))
			}
			return true
		})
	}
	return heads, level
}

// wireLines splits a message head as sent into its lines, without the empty
// line that ends it, with the values of the named headers redacted as the
// trace shows them.
func wireLines(head string, secret ...string) []string {
	lines := strings.Split(strings.TrimSuffix(head, "\r\n\r\n"), "\r\n")
	for i, l := range lines {
		name, _, ok := strings.Cut(l, ":")
		for _, s := range secret {
			if ok && i > 0 && strings.EqualFold(name, s) {
				lines[i] = name + ": [redacted]"
			}
		}
	}
	return lines
}

func TestHandshakeTraceMatchesWire(t *testing.T) {
	responses := []struct {
		name    string
		head    string // ACCEPT: the accept key
		body    string
		ok      bool
		interim []string // interim answers before head, each traced on its own
	}{
		{"101", "HTTP/1.1 101 Switching Protocols\r\nserver: raw\r\nSet-Cookie: sid=SECRET-1\r\nUpgrade: websocket\r\nX-Zeta: 1\r\n" +
			"connection: Upgrade\r\nSec-WebSocket-Accept: ACCEPT\r\nX-Alpha: 2\r\nset-cookie: b=SECRET-2\r\nX-Zeta:  3\r\n\r\n", "", true, nil},
		{"101 parsed by net/http", "HTTP/1.1 101 Switching Protocols\r\nX-Zeta: 1\r\nUpgrade: websocket\r\nContent-Length: 0\r\n" +
			"Connection: Upgrade\r\nSec-WebSocket-Accept: ACCEPT\r\nSet-Cookie: sid=SECRET-3\r\nX-Alpha: 2\r\n\r\n", "", true, nil},
		{"403 with a body", "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nSet-Cookie: a=SECRET-4\r\nContent-Length: 5\r\n\r\n", "nope!", false, nil},
		{"101 after interim answers", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ACCEPT\r\n\r\n", "", true,
			[]string{"HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\nSet-Cookie: e=SECRET-9\r\n\r\n"}},
		{"101 parsed by net/http after an interim answer", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n" +
			"Sec-WebSocket-Accept: ACCEPT\r\nContent-Length: 0\r\n\r\n", "", true, []string{"HTTP/1.1 100 Continue\r\n\r\n"}},
	}
	for _, resp := range responses {
		t.Run(resp.name, func(t *testing.T) {
			type exchange struct{ req, resp string }
			got := make(chan exchange, 1)
			s := wstest.NewRaw(func(nc net.Conn) {
				defer nc.Close()
				var req []byte
				br := bufio.NewReader(nc)
				for !bytes.HasSuffix(req, []byte("\r\n\r\n")) {
					line, err := br.ReadBytes('\n')
					if err != nil {
						return
					}
					req = append(req, line...)
				}
				_, after, _ := bytes.Cut(req, []byte("\r\nSec-WebSocket-Key: "))
				key, _, _ := bytes.Cut(after, []byte("\r\n"))
				head := strings.Replace(resp.head, "ACCEPT", wstest.AcceptKey(string(key)), 1)
				got <- exchange{string(req), head}
				io.WriteString(nc, strings.Join(resp.interim, "")+head+resp.body)
				io.Copy(io.Discard, br)
			})
			t.Cleanup(s.Close)
			h := &traceRecords{}
			websocket.EnableTrace(true, h)
			t.Cleanup(func() { websocket.EnableTrace(false, slog.DiscardHandler) })

			jar := staticJar{{Name: "jarred", Value: "SECRET-5"}}
			opts := &websocket.DialOptions{
				Timeout:      testTimeout,
				Header:       http.Header{"X-Zed": {"z"}, "Authorization": {"Bearer SECRET-6"}, "X-Multi": {"1", "2"}, "Proxy-Authorization": {"SECRET-7"}},
				HeaderFunc:   func() http.Header { return http.Header{"X-Func": {"f"}} },
				Cookie:       "c=SECRET-8",
				Jar:          jar,
				Origin:       "https://o.example",
				Subprotocols: []string{"chat", "superchat"},
				Compression:  &websocket.CompressionOptions{},
			}
			c, err := websocket.Dial(context.Background(), s.URL+"/p/a?q=1&r=%20", opts)
			if resp.ok != (err == nil) {
				t.Fatalf("Dial: %v", err)
			}
			if c != nil {
				c.Abort()
			}
			ex := <-got
			reqs, level := h.head("websocket: handshake request")
			if len(reqs) != 1 || level != slog.LevelDebug {
				t.Fatalf("%d request traces at level %v, want 1 at %v", len(reqs), level, slog.LevelDebug)
			}
			want := wireLines(ex.req, "Authorization", "Proxy-Authorization", "Cookie")
			if strings.Join(reqs[0], "\n") != strings.Join(want, "\n") {
				t.Errorf("request trace:\n%s\nsent:\n%s", strings.Join(reqs[0], "\n"), strings.Join(want, "\n"))
			}
			if want[0] != "GET /p/a?q=1&r=%20 HTTP/1.1" {
				t.Errorf("request line %q", want[0])
			}
			interims, _ := h.head("websocket: handshake interim response")
			if len(interims) != len(resp.interim) {
				t.Fatalf("%d interim response traces, want %d", len(interims), len(resp.interim))
			}
			for i, head := range resp.interim {
				if got, want := strings.Join(interims[i], "\n"), strings.Join(wireLines(head, "Set-Cookie"), "\n"); got != want {
					t.Errorf("interim response trace:\n%s\nreceived:\n%s", got, want)
				}
			}
			resps, level := h.head("websocket: handshake response")
			if len(resps) != 1 || level != slog.LevelDebug {
				t.Fatalf("%d response traces at level %v, want 1 at %v", len(resps), level, slog.LevelDebug)
			}
			want = wireLines(ex.resp, "Set-Cookie")
			if strings.Join(resps[0], "\n") != strings.Join(want, "\n") {
				t.Errorf("response trace:\n%s\nreceived:\n%s", strings.Join(resps[0], "\n"), strings.Join(want, "\n"))
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			for _, r := range h.recs {
				r.Attrs(func(a slog.Attr) bool {
					if strings.Contains(a.Value.String(), "SECRET") {
						t.Errorf("trace %q shows a secret: %s=%s", r.Message, a.Key, a.Value)
					}
					return true
				})
			}
		})
	}
}

// TestErrorsShowNoControlCharacters: what a hostile server or proxy writes
// into its answer (a status line's reason, header values the parser lets
// through as obs-text) reaches an error message only escaped, never as
// terminal control sequences or bidi overrides that a log or a terminal
// would act on.
func TestErrorsShowNoControlCharacters(t *testing.T) {
	const (
		c0   = "\x1b]0;owned\x07\x1b[2J\x7f"
		c1   = "\u009b2J\u0085"
		bidi = "\u202egnp.exe"
	)
	dirty := c0 + " " + c1 + " " + bidi
	for _, tc := range []struct {
		name     string
		answer   func(req *http.Request, accept string) string
		compress bool
		proxy    bool
	}{
		{"status reason", func(*http.Request, string) string {
			return "HTTP/1.1 403 " + dirty + "\r\nContent-Length: 0\r\n\r\n"
		}, false, false},
		{"redirect status reason", func(req *http.Request, _ string) string {
			// Deeper and deeper until the redirect limit is passed.
			return "HTTP/1.1 302 " + dirty + "\r\nLocation: " + req.URL.Path + "x\r\nContent-Length: 0\r\n\r\n"
		}, false, false},
		{"extension not offered", func(_ *http.Request, a string) string {
			return upgrade(a, "Sec-WebSocket-Extensions: x-"+c1+bidi+"\r\n")
		}, false, false},
		{"extension parameter", func(_ *http.Request, a string) string {
			return upgrade(a, "Sec-WebSocket-Extensions: permessage-deflate; x"+c1+bidi+"=1\r\n")
		}, true, false},
		{"subprotocols", func(_ *http.Request, a string) string {
			return upgrade(a, "Sec-WebSocket-Protocol: chat, "+c1+bidi+"\r\n")
		}, false, false},
		{"upgrade header", func(_ *http.Request, a string) string {
			return strings.Replace(upgrade(a), "Upgrade: websocket", "Upgrade: "+c1+bidi, 1)
		}, false, false},
		{"proxy status reason", func(*http.Request, string) string {
			return "HTTP/1.1 403 " + dirty + "\r\nContent-Length: 0\r\n\r\n"
		}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := scriptServer(t, tc.answer)
			opts := dialOpts()
			opts.Subprotocols = []string{"chat"}
			if tc.compress {
				opts.Compression = &websocket.CompressionOptions{}
			}
			if tc.proxy {
				p := wstest.NewRaw(func(nc net.Conn) {
					defer nc.Close()
					if _, err := http.ReadRequest(bufio.NewReader(nc)); err == nil {
						io.WriteString(nc, tc.answer(nil, ""))
					}
				})
				defer p.Close()
				opts.Proxy = websocket.ProxyURL("http://" + p.Addr)
			}
			_, err := websocket.Dial(context.Background(), s.URL, opts)
			if err == nil {
				t.Fatal("dial succeeded")
			}
			msg := err.Error()
			for _, r := range msg {
				if !unicode.IsPrint(r) && r != ' ' {
					t.Fatalf("error %q holds %U", msg, r)
				}
			}
			checkPrefix(t, err)
			if n := strings.Count(msg, "websocket: "); n != 1 {
				t.Errorf("error %q says \"websocket: \" %d times", msg, n)
			}
		})
	}
}

// TestCertificateNamesShownEscaped: a certificate's names are the peer's,
// and the x509 errors quote them as they are: a server's or an https
// proxy's certificate naming "\x1b[2J..." reaches the dial's error message
// only escaped, the x509 error still there for errors.As.
func TestCertificateNamesShownEscaped(t *testing.T) {
	const name = "\x1b]0;owned\x07\x1b[2Jevil.example"
	cert, _ := proxytest.SelfSigned(t, name)
	for _, through := range []string{"server", "https proxy"} {
		t.Run(through, func(t *testing.T) {
			var srv *wstest.Server
			opts := &websocket.DialOptions{}
			url := "wss://localhost:1/"
			if through == "server" {
				srv = wstest.NewRaw(func(nc net.Conn) {
					defer nc.Close()
					tls.Server(nc, &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
				})
				defer srv.Close()
				_, port, _ := net.SplitHostPort(srv.Addr)
				url = "wss://localhost:" + port + "/"
			} else {
				p := proxytest.StartTLS(t, "127.0.0.1", cert, proxytest.HTTPConnect(proxytest.HTTPOptions{}))
				_, port, _ := net.SplitHostPort(p.Addr)
				opts.Proxy = websocket.ProxyURL("https://localhost:" + port)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := websocket.Dial(ctx, url, opts)
			if err == nil {
				t.Fatal("dial succeeded")
			}
			msg := err.Error()
			for _, r := range msg {
				if !unicode.IsPrint(r) && r != ' ' {
					t.Fatalf("error %q holds %U", msg, r)
				}
			}
			var he x509.HostnameError
			if !errors.As(err, &he) {
				t.Errorf("error %v: no x509.HostnameError to errors.As", err)
			}
			checkPrefix(t, err)
		})
	}
}

// TestHandshakeTokensMatchASCIIOnly: the answer's tokens are compared with
// ASCII case folding only (RFC 6455 §4.1: "an ASCII case-insensitive
// match"). Unicode folding took "\u212a" (the Kelvin sign) for "k" and
// "\u017f" (a long s) for "s": an Upgrade that is not "websocket", or a
// subprotocol that was not offered, was accepted. ASCII case differences
// are still accepted.
func TestHandshakeTokensMatchASCIIOnly(t *testing.T) {
	for _, tc := range []struct {
		name, from, to, offered string
		ok                      bool
	}{
		{"Upgrade with a Kelvin sign", "Upgrade: websocket", "Upgrade: websoc\u212aet", "", false},
		{"Upgrade with a long s", "Upgrade: websocket", "Upgrade: web\u017focket", "", false},
		{"Upgrade in capitals", "Upgrade: websocket", "Upgrade: WEBSOCKET", "", true},
		{"Connection in capitals", "Connection: Upgrade", "Connection: UPGRADE", "", true},
		{"subprotocol with a long s", "", "Sec-WebSocket-Protocol: \u017fip\r\n", "sip", false},
		{"subprotocol with a Kelvin sign", "", "Sec-WebSocket-Protocol: \u212aey\r\n", "key", false},
		{"subprotocol in capitals", "", "Sec-WebSocket-Protocol: SIP\r\n", "sip", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := scriptServer(t, func(_ *http.Request, accept string) string {
				if tc.from == "" {
					return upgrade(accept, tc.to)
				}
				return strings.Replace(upgrade(accept), tc.from, tc.to, 1)
			})
			opts := dialOpts()
			if tc.offered != "" {
				opts.Subprotocols = []string{tc.offered}
			}
			c, err := websocket.Dial(context.Background(), s.URL, opts)
			if c != nil {
				c.Close()
			}
			var he *websocket.HandshakeError
			switch {
			case tc.ok && err != nil:
				t.Fatalf("Dial = %v, want a connection", err)
			case !tc.ok && !errors.As(err, &he):
				t.Fatalf("Dial = %v, want a *HandshakeError", err)
			}
		})
	}
}

// TestSubprotocolOfferedThroughHeader: a Sec-WebSocket-Protocol given in
// Header or by HeaderFunc goes out with the request, and the server may
// pick what it names, over HTTP/1.1 and HTTP/2; one it names neither there
// nor in Subprotocols is still refused. Such a pick was refused as "not
// offered" though the offer had been sent.
func TestSubprotocolOfferedThroughHeader(t *testing.T) {
	for _, via := range []string{"Header", "HeaderFunc"} {
		set := func(o *websocket.DialOptions, v string) {
			h := http.Header{"Sec-WebSocket-Protocol": {v}}
			if via == "Header" {
				o.Header = h
			} else {
				o.HeaderFunc = func() http.Header { return h.Clone() }
			}
		}
		t.Run(via, func(t *testing.T) {
			for _, tc := range []struct{ offer, pick string }{{"chat", "chat"}, {"a, chat", "CHAT"}, {"chat", "other"}} {
				s, reqs := scriptServer(t, func(_ *http.Request, accept string) string {
					return upgrade(accept, "Sec-WebSocket-Protocol: "+tc.pick+"\r\n")
				})
				opts := dialOpts()
				set(opts, tc.offer)
				c, err := websocket.Dial(context.Background(), s.URL, opts)
				if got := (<-reqs).Header.Values("Sec-Websocket-Protocol"); len(got) != 1 || got[0] != tc.offer {
					t.Errorf("offer sent %q, want %q", got, tc.offer)
				}
				var he *websocket.HandshakeError
				switch {
				case tc.pick == "other" && !errors.As(err, &he):
					t.Errorf("offer %q, pick %q: Dial = %v, want a *HandshakeError", tc.offer, tc.pick, err)
				case tc.pick != "other" && err != nil:
					t.Errorf("offer %q, pick %q: Dial = %v", tc.offer, tc.pick, err)
				case err == nil && c.Subprotocol() != tc.pick:
					t.Errorf("Subprotocol() = %q, want %q", c.Subprotocol(), tc.pick)
				}
				if c != nil {
					c.Close()
				}
			}
			h2 := newH2Server(t, frameEcho, nil) // picks "chat" when it is offered
			opts := h2.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{})
			set(opts, "chat")
			c, err := websocket.Dial(context.Background(), h2.URL, opts)
			if err != nil {
				t.Fatalf("HTTP/2: %v", err)
			}
			if c.Subprotocol() != "chat" {
				t.Errorf("HTTP/2: Subprotocol() = %q, want chat", c.Subprotocol())
			}
			c.Close()
		})
	}
}
