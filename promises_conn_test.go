package websocket_test

// Black-box tests of promises of the frames, status codes, errors, dialing
// and the Conn that no other test checked, each named for its promise.

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// promiseDial dials rawURL with opts (nil allowed) and aborts the Conn at cleanup.
func promiseDial(t *testing.T, rawURL string, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := websocket.Dial(ctx, rawURL, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(c.Abort)
	return c
}

// promiseServer starts a wstest server running h and closes it at cleanup.
func promiseServer(t *testing.T, h wstest.Handler) *wstest.Server {
	t.Helper()
	srv := wstest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// promiseConn returns the one server-side connection of srv, waiting for it.
func promiseConn(t *testing.T, srv *wstest.Server) *wstest.Conn {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cs := srv.Conns(); len(cs) > 0 {
			return cs[0]
		}
	}
	t.Fatal("no server connection")
	return nil
}

// promiseWait waits for the server connection's handler to end.
func promiseWait(t *testing.T, sc *wstest.Conn) {
	t.Helper()
	select {
	case <-sc.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("server handler did not end")
	}
}

// promiseRecord accepts, then records frames until the client's close frame,
// and hangs up without answering it.
func promiseRecord(c *wstest.Conn) {
	c.Accept(nil)
	for {
		f, err := c.ReadFrame()
		if err != nil || f.Opcode == wstest.OpClose {
			return
		}
	}
}

// promiseFinish closes c (the server records its close frame) and returns the
// frames the server received before the close frame.
func promiseFinish(t *testing.T, c *websocket.Conn, srv *wstest.Server) []wstest.Frame {
	t.Helper()
	if err := c.CloseWith(websocket.StatusNormal, "", 2*time.Second); err != nil {
		t.Fatalf("CloseWith: %v", err)
	}
	sc := promiseConn(t, srv)
	promiseWait(t, sc)
	got := sc.Received()
	if len(got) == 0 || got[len(got)-1].Opcode != wstest.OpClose {
		t.Fatalf("server received %+v, want a close frame last", got)
	}
	return got[:len(got)-1]
}

// promiseReadAll reads frames until the stream ends.
func promiseReadAll(c *wstest.Conn) {
	for {
		if _, err := c.ReadFrame(); err != nil {
			return
		}
	}
}

// Frame.String: "one-line debug form: fin, opcode, length, a short
// payload preview", also when the payload holds CR and LF.
func TestFrameStringIsOneShortLine(t *testing.T) {
	f := websocket.NewFrame([]byte("line one\nline two\r\n"+strings.Repeat("x", 5000)), websocket.OpText, true)
	s := f.String()
	if strings.ContainsAny(s, "\r\n") {
		t.Errorf("String() spans lines: %q", s)
	}
	if len(s) > 400 {
		t.Errorf("String() is %d bytes long: the payload preview is not short", len(s))
	}
	if !strings.Contains(s, "text") || !strings.Contains(s, "5019") || !strings.Contains(s, "line one") {
		t.Errorf("String() = %q: want the opcode, the length 5019 and a preview", s)
	}
	if !strings.Contains(strings.ToLower(s), "fin") {
		t.Errorf("String() = %q: want fin", s)
	}
}

// "every constant is typed StatusCode" (an untyped constant would
// compile everywhere the repository uses them), with its value and a name.
func TestStatusConstantsTypedAndNamed(t *testing.T) {
	want := reflect.TypeOf(websocket.StatusCode(0))
	all := []any{websocket.StatusNormal, websocket.StatusGoingAway, websocket.StatusProtocolError,
		websocket.StatusUnsupportedData, websocket.StatusNoStatusReceived, websocket.StatusAbnormalClosure,
		websocket.StatusInvalidPayload, websocket.StatusPolicyViolation, websocket.StatusMessageTooBig,
		websocket.StatusMandatoryExtension, websocket.StatusInternalError, websocket.StatusServiceRestart,
		websocket.StatusTryAgainLater, websocket.StatusBadGateway, websocket.StatusTLSHandshake}
	vals := []uint16{1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 1015}
	seen := map[string]bool{}
	for i, c := range all {
		if reflect.TypeOf(c) != want {
			t.Errorf("constant %d has type %T", i, c)
			continue
		}
		sc := c.(websocket.StatusCode)
		if uint16(sc) != vals[i] {
			t.Errorf("constant %d = %d, want %d", i, sc, vals[i])
		}
		s := sc.String()
		if s == "" || seen[s] {
			t.Errorf("%d.String() = %q (empty or repeated)", vals[i], s)
		}
		seen[s] = true
	}
	if s := websocket.StatusCode(4321).String(); !strings.Contains(s, "4321") {
		t.Errorf("StatusCode(4321).String() = %q", s)
	}
}

// each error type is a pointer whose Error() carries its detail and
// starts with "websocket: "; those with Err unwrap to it; a *CloseError
// matches ErrConnectionClosed.
func TestErrorMessagesPrefixedAndDetailed(t *testing.T) {
	cause := errors.New("boom")
	cases := []struct {
		err    error
		detail string
	}{
		{websocket.ErrConnectionClosed, ""},
		{&websocket.CloseError{Code: 1001, Reason: "bye"}, "1001"},
		{&websocket.ProtocolError{Reason: "r-proto"}, "r-proto"},
		{&websocket.PayloadError{Reason: "r-payload"}, "r-payload"},
		{&websocket.HandshakeError{Reason: "r-hs"}, "r-hs"},
		{&websocket.BadStatusError{StatusCode: 418}, "418"},
		{&websocket.ProxyError{Reason: "r-proxy", Err: cause}, "r-proxy"},
		{&websocket.ProxyError{Reason: "r-proxy2"}, "r-proxy2"},
		{&websocket.AddressError{Host: "h.invalid", Err: cause}, "h.invalid"},
	}
	for _, c := range cases {
		msg := c.err.Error()
		if !strings.HasPrefix(msg, "websocket: ") {
			t.Errorf("%T: %q does not start with \"websocket: \"", c.err, msg)
		}
		if !strings.Contains(msg, c.detail) {
			t.Errorf("%T: %q lacks %q", c.err, msg, c.detail)
		}
	}
	if !errors.Is(&websocket.ProxyError{Reason: "x", Err: cause}, cause) {
		t.Error("ProxyError does not unwrap to Err")
	}
	if !errors.Is(&websocket.AddressError{Host: "x", Err: cause}, cause) {
		t.Error("AddressError does not unwrap to Err")
	}
	if !errors.Is(&websocket.CloseError{Code: 1000}, websocket.ErrConnectionClosed) {
		t.Error("CloseError is not ErrConnectionClosed")
	}
}

// "each has Error() string carrying its detail (reason, host, status
// code)": an AddressError built without a cause.
func TestAddressErrorWithoutCauseHasMessage(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("(&AddressError{Host: \"h\"}).Error() panicked: %v", r)
		}
	}()
	if msg := (&websocket.AddressError{Host: "h.invalid"}).Error(); !strings.HasPrefix(msg, "websocket: ") || !strings.Contains(msg, "h.invalid") {
		t.Fatalf("message %q", msg)
	}
}

// "A write timeout closes the Conn", reached through SetWriteDeadline
// (the repository checks it through SetTimeout only).
func TestWriteDeadlineTimeoutClosesConn(t *testing.T) {
	srv := promiseServer(t, wstest.Script(wstest.Accept(nil), wstest.Stall))
	c := promiseDial(t, srv.URL, nil)
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	chunk := make([]byte, 1<<20)
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = c.SendBinary(chunk)
	}
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("send past the write deadline: %v, want a timeout", err)
	}
	if c.Connected() {
		t.Error("Conn still Connected after a write timeout")
	}
	c.SetWriteDeadline(time.Time{})
	if err := c.SendText("x"); !errors.Is(err, websocket.ErrConnectionClosed) {
		t.Errorf("send after a write timeout: %v, want ErrConnectionClosed", err)
	}
}

// "SetTimeout(d > 0) sets a deadline of now+d before each operation,
// overriding SetDeadline": a read deadline already passed does not fail
// the read.
func TestSetTimeoutOverridesSetDeadline(t *testing.T) {
	srv := promiseServer(t, func(c *wstest.Conn) {
		c.Accept(nil)
		time.Sleep(150 * time.Millisecond)
		c.WriteMessage(wstest.OpText, []byte("late"))
		c.ReadFrame()
	})
	c := promiseDial(t, srv.URL, nil)
	c.SetReadDeadline(time.Now().Add(-time.Second)) // already passed
	c.SetTimeout(2 * time.Second)
	if c.Timeout() != 2*time.Second {
		t.Errorf("Timeout() = %v", c.Timeout())
	}
	msg, err := c.Recv()
	if err != nil || msg.Text() != "late" {
		t.Fatalf("Recv with SetTimeout(2s) over a passed deadline: %q, %v", msg.Data, err)
	}
}

// with FireContFrame "UTF-8 is still checked incrementally": invalid
// UTF-8 in a fragment that is not the last fails at that fragment, before
// the message ends.
func TestFireContFrameChecksUTF8Incrementally(t *testing.T) {
	hold := make(chan struct{})
	srv := promiseServer(t, func(c *wstest.Conn) {
		c.WriteFrame(wstest.Frame{Opcode: wstest.OpText, Payload: []byte("ok")})
		c.WriteFrame(wstest.Frame{Opcode: wstest.OpContinuation, Payload: []byte{'a', 0xff, 'b'}})
		<-hold
		promiseReadAll(c)
	})
	defer close(hold)
	c := promiseDial(t, srv.URL, &websocket.DialOptions{FireContFrame: true})
	if op, data, err := c.RecvData(false); err != nil || op != websocket.OpText || string(data) != "ok" {
		t.Fatalf("first fragment = %v %q %v", op, data, err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, _, err := c.RecvData(false)
	var pe *websocket.PayloadError
	if !errors.As(err, &pe) {
		t.Fatalf("invalid fragment (message not finished) = %v (%T), want *PayloadError", err, err)
	}
}

// SendFrame: "masks with a fresh key when f.Masked": not f.MaskKey, a
// new key per frame, and the caller's payload is left as it was.
func TestSendFrameMasksWithFreshKey(t *testing.T) {
	srv := promiseServer(t, promiseRecord)
	c := promiseDial(t, srv.URL, nil)
	f := &websocket.Frame{Fin: true, Opcode: websocket.OpBinary, Masked: true, MaskKey: [4]byte{0, 0, 0, 0}, Payload: []byte("secret")}
	for i := 0; i < 3; i++ {
		if err := c.SendFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if string(f.Payload) != "secret" {
		t.Errorf("SendFrame changed f.Payload to %q", f.Payload)
	}
	got := promiseFinish(t, c, srv)
	if len(got) != 3 {
		t.Fatalf("server received %d frames", len(got))
	}
	keys := map[[4]byte]bool{}
	for _, g := range got {
		if !g.Masked || string(g.Payload) != "secret" {
			t.Errorf("frame %+v", g)
		}
		keys[g.MaskKey] = true
	}
	if keys[[4]byte{}] || len(keys) != 3 {
		t.Errorf("mask keys %v: want three fresh keys, not f.MaskKey", keys)
	}
}

// promiseReq dials rawURL through srv (whatever the URL's host) with opts and
// returns the handshake request the server read.
func promiseReq(t *testing.T, srv *wstest.Server, rawURL string, opts *websocket.DialOptions) *http.Request {
	t.Helper()
	if opts == nil {
		opts = &websocket.DialOptions{}
	}
	if opts.NetDialContext == nil {
		opts.NetDialContext = srv.DialContext
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := websocket.Dial(ctx, rawURL, opts)
	if err != nil {
		t.Fatalf("Dial %s: %v", rawURL, err)
	}
	c.Abort()
	cs := srv.Conns()
	return cs[len(cs)-1].Request()
}

// Compression nil is not offered; the zero CompressionOptions offers
// permessage-deflate with context takeover, client_max_window_bits
// without a value and no server_max_window_bits; set fields are offered.
func TestCompressionOffer(t *testing.T) {
	srv := promiseServer(t, wstest.Echo)
	r := promiseReq(t, srv, srv.URL, nil)
	if got := r.Header.Values("Sec-WebSocket-Extensions"); len(got) != 0 {
		t.Errorf("nil Compression offered %q", got)
	}
	r = promiseReq(t, srv, srv.URL, &websocket.DialOptions{Compression: &websocket.CompressionOptions{}})
	got := strings.Join(r.Header.Values("Sec-WebSocket-Extensions"), ",")
	params := map[string]string{}
	for i, p := range strings.Split(got, ";") {
		p = strings.TrimSpace(p)
		if i == 0 {
			if p != "permessage-deflate" {
				t.Fatalf("offer %q", got)
			}
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		params[k] = v
	}
	if v, ok := params["client_max_window_bits"]; !ok || v != "" {
		t.Errorf("offer %q: want client_max_window_bits without a value", got)
	}
	for _, k := range []string{"server_max_window_bits", "client_no_context_takeover", "server_no_context_takeover"} {
		if _, ok := params[k]; ok {
			t.Errorf("zero CompressionOptions offered %s: %q", k, got)
		}
	}
	r = promiseReq(t, srv, srv.URL, &websocket.DialOptions{Compression: &websocket.CompressionOptions{
		ClientNoContextTakeover: true, ServerNoContextTakeover: true, ClientMaxWindowBits: 10, ServerMaxWindowBits: 9}})
	got = strings.ReplaceAll(strings.Join(r.Header.Values("Sec-WebSocket-Extensions"), ","), " ", "")
	for _, want := range []string{"client_no_context_takeover", "server_no_context_takeover", "client_max_window_bits=10", "server_max_window_bits=9"} {
		if !strings.Contains(got, want) {
			t.Errorf("offer %q lacks %s", got, want)
		}
	}
}

// "An unreachable or failing proxy is a *ProxyError wrapping the
// cause", through Dial.
func TestUnreachableProxyIsProxyErrorWrappingCause(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = websocket.Dial(context.Background(), "ws://target.test/", &websocket.DialOptions{Proxy: websocket.ProxyURL("http://" + addr)})
	var pe *websocket.ProxyError
	var oe *net.OpError
	if !errors.As(err, &pe) || !errors.As(err, &oe) {
		t.Fatalf("Dial through a closed proxy port: %v (%T), want *ProxyError wrapping the *net.OpError", err, err)
	}
	if pe.Unwrap() == nil {
		t.Error("ProxyError.Unwrap() = nil")
	}
	// a failing proxy: answers CONNECT with 403
	proxy := promiseServer(t, func(c *wstest.Conn) { c.Reject(403, nil, "no") })
	pu, _ := url.Parse(proxy.URL)
	_, err = websocket.Dial(context.Background(), "ws://target.test/", &websocket.DialOptions{Proxy: websocket.ProxyURL("http://" + pu.Host)})
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "403") {
		t.Fatalf("Dial through a refusing proxy: %v (%T), want *ProxyError naming 403", err, err)
	}
}

// ProxyTimeout: "bounds the proxy handshake", through Dial: a proxy
// that takes the CONNECT and never answers.
func TestProxyTimeoutBoundsProxyHandshake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() { // takes the CONNECT, never answers
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(io.Discard, c)
		c.Close()
	}()
	start := time.Now()
	_, err = websocket.Dial(context.Background(), "ws://target.test/", &websocket.DialOptions{
		Proxy: websocket.ProxyURL("http://" + ln.Addr().String()), ProxyTimeout: 100 * time.Millisecond})
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("Dial took %v with ProxyTimeout 100ms", d)
	}
	var pe *websocket.ProxyError
	var ne net.Error
	if !errors.As(err, &pe) || !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Dial = %v, want a *ProxyError that is a timeout", err)
	}
	ln.Close()
}

// "receiving: one reader at a time; concurrent calls are serialized":
// four goroutines calling Recv each get whole fragmented messages.
func TestConcurrentReceiversGetWholeMessages(t *testing.T) {
	const n = 40
	srv := promiseServer(t, func(c *wstest.Conn) {
		c.Accept(nil)
		for i := 0; i < n; i++ {
			p := bytes.Repeat([]byte{byte('A' + i%26)}, 3000)
			c.WriteFrame(wstest.Frame{Opcode: wstest.OpBinary, Payload: p[:1000]})
			c.WriteFrame(wstest.Frame{Opcode: wstest.OpContinuation, Payload: p[1000:2000]})
			c.WriteFrame(wstest.Frame{Fin: true, Opcode: wstest.OpContinuation, Payload: p[2000:]})
		}
		promiseReadAll(c)
	})
	c := promiseDial(t, srv.URL, nil)
	var mu sync.Mutex
	count := 0
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if count >= n {
					mu.Unlock()
					return
				}
				count++
				mu.Unlock()
				msg, err := c.Recv()
				if err != nil {
					t.Error(err)
					return
				}
				if len(msg.Data) != 3000 || len(bytes.Trim(msg.Data, string(msg.Data[:1]))) != 0 {
					t.Errorf("message of %d bytes, not one whole message", len(msg.Data))
					return
				}
			}
		}()
	}
	wg.Wait()
}

// AddressError (name resolution) through Dial. The host has a 64-byte
// label, which Go's resolver refuses without asking any DNS server, so the
// test needs no network.
func TestAddressErrorOnNameResolution(t *testing.T) {
	host := strings.Repeat("a", 64) + ".test"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := websocket.Dial(ctx, "ws://"+host+"/", &websocket.DialOptions{Proxy: func(*url.URL) (*url.URL, error) { return nil, nil }})
	var ae *websocket.AddressError
	if !errors.As(err, &ae) || ae.Host != host || ae.Err == nil {
		t.Fatalf("Dial to an unresolvable host = %v (%T), want *AddressError for %s", err, err, host)
	}
	var de *net.DNSError
	if !errors.As(err, &de) {
		t.Errorf("AddressError does not unwrap to the *net.DNSError: %v", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "websocket: ") || !strings.Contains(msg, host) {
		t.Errorf("message %q, want the prefix and the host", msg)
	}
}

// Timeout: "is the Conn's I/O timeout; 0 = DefaultTimeout()": the Conn
// gets DefaultTimeout() as its Timeout().
func TestDefaultTimeoutUsedWhenTimeoutZero(t *testing.T) {
	old := websocket.DefaultTimeout()
	websocket.SetDefaultTimeout(1234 * time.Millisecond)
	defer websocket.SetDefaultTimeout(old)
	srv := promiseServer(t, wstest.Echo)
	c := promiseDial(t, srv.URL, nil)
	if c.Timeout() != 1234*time.Millisecond {
		t.Errorf("Timeout() = %v, want DefaultTimeout()", c.Timeout())
	}
	c2 := promiseDial(t, srv.URL, &websocket.DialOptions{Timeout: time.Second})
	if c2.Timeout() != time.Second {
		t.Errorf("Timeout() = %v, want 1s", c2.Timeout())
	}
}

// Redirects: Authorization (also HeaderFunc's), Proxy-Authorization, Cookie
// and URL credentials "are dropped when the origin (scheme, host or port)
// changes": the scheme alone (ws to https on the same host and port) and
// the host alone (same scheme and port).
func TestRedirectSchemeOrHostChangeDropsCredentials(t *testing.T) {
	plain := promiseServer(t, func(c *wstest.Conn) {
		c.Reject(302, http.Header{"Location": {"https://first.test:9000/next"}}, "")
	})
	tsrv := wstest.NewTLSServer(wstest.Echo)
	defer tsrv.Close()
	calls := 0
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		calls++
		if calls == 1 {
			return plain.DialContext(ctx, network, addr)
		}
		return tsrv.DialContext(ctx, network, addr)
	}
	promiseDial(t, "ws://u:p@first.test:9000/start", &websocket.DialOptions{
		NetDialContext: dial, TLSConfig: &tls.Config{InsecureSkipVerify: true}, Cookie: "a=1",
		HeaderFunc: func() http.Header { return http.Header{"Authorization": {"Bearer f"}} }})
	if r0 := promiseConn(t, plain).Request(); r0.Header.Get("Authorization") == "" || r0.Header.Get("Cookie") == "" {
		t.Fatalf("first hop lacks the credentials: %v", r0.Header)
	}
	r := promiseConn(t, tsrv).Request()
	if v := r.Header.Values("Authorization"); len(v) != 0 {
		t.Errorf("ws→wss on the same host and port kept Authorization %q", v)
	}
	if v := r.Header.Values("Cookie"); len(v) != 0 {
		t.Errorf("ws→wss on the same host and port kept Cookie %q", v)
	}
	// host change, same scheme and port
	srv := promiseServer(t, func(c *wstest.Conn) {
		if c.Request().Host == "first.test:9000" {
			c.Reject(302, http.Header{"Location": {"http://second.test:9000/"}}, "")
			return
		}
		wstest.Echo(c)
	})
	promiseDial(t, "ws://u:p@first.test:9000/", &websocket.DialOptions{NetDialContext: srv.DialContext, Cookie: "a=1",
		Header:     http.Header{"Proxy-Authorization": {"Basic cDpx"}},
		HeaderFunc: func() http.Header { return http.Header{"Authorization": {"Bearer f"}} }})
	cs := srv.Conns()
	if len(cs) != 2 {
		t.Fatalf("%d handshakes", len(cs))
	}
	if r0 := cs[0].Request(); r0.Header.Get("Authorization") == "" || r0.Header.Get("Cookie") == "" || r0.Header.Get("Proxy-Authorization") == "" {
		t.Fatalf("first hop lacks the credentials: %v", r0.Header)
	}
	r = cs[1].Request()
	if r.Host != "second.test:9000" || len(r.Header.Values("Authorization")) != 0 || len(r.Header.Values("Cookie")) != 0 {
		t.Errorf("host change: Host %q, Authorization %q, Cookie %q", r.Host, r.Header.Values("Authorization"), r.Header.Values("Cookie"))
	}
	// A Proxy-Authorization of the caller's is a credential too (net/http
	// drops it on such a redirect as well).
	if v := r.Header.Values("Proxy-Authorization"); len(v) != 0 {
		t.Errorf("host change kept Proxy-Authorization %q", v)
	}
}

// TestRedirectHostOption: the Host option, or a Host in Header, goes with
// a redirect that stays at the URL's origin; a redirect to another origin
// sends that origin's own Host, as net/http does (the first server's name
// was sent to the second).
func TestRedirectHostOption(t *testing.T) {
	for name, opts := range map[string]websocket.DialOptions{
		"option": {Host: "virtual.test"},
		"header": {Header: http.Header{"Host": {"virtual.test"}}},
	} {
		t.Run(name, func(t *testing.T) {
			srv := promiseServer(t, func(c *wstest.Conn) {
				switch c.Request().URL.Path {
				case "/":
					c.Reject(302, http.Header{"Location": {"/same"}}, "")
				case "/same":
					c.Reject(302, http.Header{"Location": {"ws://second.test:9000/other"}}, "")
				default:
					wstest.Echo(c)
				}
			})
			opts.NetDialContext = srv.DialContext
			promiseDial(t, "ws://first.test:9000/", &opts)
			cs := srv.Conns()
			if len(cs) != 3 {
				t.Fatalf("%d handshakes, want 3", len(cs))
			}
			for i, want := range []string{"virtual.test", "virtual.test", "second.test:9000"} {
				if got := cs[i].Request().Host; got != want {
					t.Errorf("hop %d: Host %q, want %q", i, got, want)
				}
			}
		})
	}
}

// "ErrConnectionClosed ... use of a closed Conn" and "Every message
// starts with `websocket: `": the deadline setters of a closed Conn.
func TestDeadlineSettersOnClosedConnReportErrConnectionClosed(t *testing.T) {
	srv := promiseServer(t, wstest.Echo)
	c := promiseDial(t, srv.URL, nil)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for name, set := range map[string]func(time.Time) error{
		"SetDeadline": c.SetDeadline, "SetReadDeadline": c.SetReadDeadline, "SetWriteDeadline": c.SetWriteDeadline,
	} {
		err := set(time.Now().Add(time.Second))
		if err == nil || !strings.HasPrefix(err.Error(), "websocket: ") || !errors.Is(err, websocket.ErrConnectionClosed) {
			t.Errorf("%s on a closed Conn = %q, want an error matching ErrConnectionClosed starting with \"websocket: \"", name, err)
		}
	}
}

// "ErrConnectionClosed ... use of a closed Conn": NextWriter on a Conn
// that Abort or Shutdown closed.
func TestNextWriterOnClosedConnReturnsErrConnectionClosed(t *testing.T) {
	for name, end := range map[string]func(*websocket.Conn){
		"Abort":    func(c *websocket.Conn) { c.Abort() },
		"Shutdown": func(c *websocket.Conn) { c.Shutdown() },
	} {
		t.Run(name, func(t *testing.T) {
			srv := promiseServer(t, wstest.Echo)
			c := promiseDial(t, srv.URL, nil)
			end(c)
			// The first use of the Conn after it closed, as the first
			// send would be (a send first records a write error that
			// NextWriter then reports).
			w, err := c.NextWriter(websocket.OpBinary)
			if !errors.Is(err, websocket.ErrConnectionClosed) {
				if w != nil {
					w.Close()
				}
				t.Errorf("NextWriter right after %s = %v, want an error matching ErrConnectionClosed", name, err)
			}
			if err := c.SendText("x"); !errors.Is(err, websocket.ErrConnectionClosed) {
				t.Errorf("SendText after %s = %v, want an error matching ErrConnectionClosed", name, err)
			}
		})
	}
}

// "Timeouts are errors for which errors.Is(err, os.ErrDeadlineExceeded)
// is true and that implement net.Error with Timeout() == true; a Conn stays
// usable after a read timeout." together with "A write timeout closes the
// Conn": once a write timeout has closed the Conn, what Recv returns must
// not be a timeout by that definition, or a caller that retries reads on a
// timeout (as the error docs invite) retries forever on a dead Conn.
func TestReaderErrorAfterWriteTimeoutIsNotAReadTimeout(t *testing.T) {
	srv := promiseServer(t, wstest.Script(wstest.Accept(nil), wstest.Stall))
	c := promiseDial(t, srv.URL, nil)
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = c.SendBinary(make([]byte, 1<<20))
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("send to a stalled server = %v, want a write timeout", err)
	}
	if c.Connected() {
		t.Fatal("Connected() after a write timeout")
	}
	_, rerr := c.Recv()
	var ne net.Error
	if errors.Is(rerr, os.ErrDeadlineExceeded) && errors.As(rerr, &ne) && ne.Timeout() {
		t.Errorf("Recv on the Conn a write timeout closed = %q: a timeout by the error docs' definition, "+
			"yet the Conn is closed (Connected() = false) and every later Recv returns it again", rerr)
	}
	if !errors.Is(rerr, websocket.ErrConnectionClosed) {
		t.Errorf("Recv = %v, want an error matching ErrConnectionClosed", rerr)
	}
}

// A NetDialContext that returns neither a connection nor an error fails the
// dial with an error, as net/http's transport does; it panicked.
func TestNetDialContextReturningNothing(t *testing.T) {
	_, err := websocket.Dial(context.Background(), "ws://example.test/", &websocket.DialOptions{
		NetDialContext: func(context.Context, string, string) (net.Conn, error) { return nil, nil }})
	if err == nil || !strings.HasPrefix(err.Error(), "websocket: ") {
		t.Fatalf("Dial = %v, want an error", err)
	}
	if strings.Count(err.Error(), "websocket: ") != 1 {
		t.Errorf("Dial = %q: the prefix once", err)
	}
}

// "Neither the timeout nor the deadlines lengthen a Close" — nor do they
// shorten it: Close waits for the server's close frame (up to 3 s) also
// when SetTimeout or DialOptions.Timeout is shorter. The per-operation
// timeout of the close's own read cut it short, and the socket was closed
// before the server's answer came.
func TestCloseWaitsPastThePerOperationTimeout(t *testing.T) {
	for _, how := range []string{"SetTimeout", "DialOptions.Timeout"} {
		t.Run(how, func(t *testing.T) {
			srv := promiseServer(t, func(c *wstest.Conn) {
				c.Accept(nil)
				for {
					f, err := c.ReadFrame()
					if err != nil {
						return
					}
					if f.Opcode == wstest.OpClose {
						time.Sleep(400 * time.Millisecond) // a server slow to answer, by design
						c.WriteMessage(wstest.OpClose, f.Payload)
						c.ReadFrame() // until the client hangs up
						return
					}
				}
			})
			var c *websocket.Conn
			if how == "DialOptions.Timeout" {
				// 50 ms bounds the dial too, which a busy machine can
				// take longer than: a dial that timed out is tried again.
				for try := 1; ; try++ {
					var err error
					c, err = websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{Timeout: 50 * time.Millisecond})
					if err == nil {
						t.Cleanup(c.Abort)
						break
					}
					if try == 5 || !isTimeout(err) {
						t.Fatalf("Dial: %v", err)
					}
				}
			} else {
				c = promiseDial(t, srv.URL, nil)
			}
			if how == "SetTimeout" {
				c.SetTimeout(50 * time.Millisecond)
			}
			start := time.Now()
			if err := c.Close(); err != nil {
				t.Fatalf("Close = %v", err)
			}
			if d := time.Since(start); d < 400*time.Millisecond {
				t.Errorf("Close returned after %v, before the server's close frame (written at 400 ms, within Close's 3 s)", d)
			}
			if code := c.Stats().LastCloseCode; code != websocket.StatusNormal {
				t.Errorf("LastCloseCode = %d, want the server's 1000", code)
			}
		})
	}
}

// "ErrConnectionClosed … use of a closed Conn": a NextReader's reader
// whose message Close read past (no other goroutine was receiving) fails
// with an error matching ErrConnectionClosed, not as if the caller had
// asked for the next message.
func TestNextReaderAfterCloseReportsClosed(t *testing.T) {
	srv := promiseServer(t, func(c *wstest.Conn) {
		c.Accept(nil)
		c.WriteFrame(wstest.Frame{Opcode: wstest.OpText, Payload: []byte("abc")})
		c.WriteFrame(wstest.Frame{Fin: true, Opcode: wstest.OpContinuation, Payload: []byte("def")})
		for {
			f, err := c.ReadFrame()
			if err != nil {
				return
			}
			if f.Opcode == wstest.OpClose {
				c.WriteMessage(wstest.OpClose, f.Payload)
				return
			}
		}
	})
	c := promiseDial(t, srv.URL, nil)
	_, r, err := c.NextReader()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 2)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(b); !errors.Is(err, websocket.ErrConnectionClosed) || !strings.HasPrefix(err.Error(), "websocket: ") {
		t.Errorf("Read after Close = %v, want an error matching ErrConnectionClosed", err)
	}
}

// "ErrConnectionClosed … use of a closed Conn": SendClose on a Conn that
// Close closed, or whose closing handshake is complete, sends nothing and
// says so; a second SendClose on an open Conn still returns nil.
func TestSendCloseOnClosedConn(t *testing.T) {
	srv := promiseServer(t, wstest.Echo)
	c := promiseDial(t, srv.URL, nil)
	if err := c.SendClose(websocket.StatusNormal, ""); err != nil {
		t.Fatal(err)
	}
	if err := c.SendClose(websocket.StatusNormal, ""); err != nil {
		t.Errorf("a second SendClose on an open Conn = %v, want nil", err)
	}
	if _, err := c.Recv(); !errors.As(err, new(*websocket.CloseError)) {
		t.Fatalf("Recv = %v, want the server's close", err)
	}
	if err := c.SendClose(websocket.StatusNormal, ""); !errors.Is(err, websocket.ErrConnectionClosed) {
		t.Errorf("SendClose after the closing handshake = %v, want ErrConnectionClosed", err)
	}
	c2 := promiseDial(t, srv.URL, nil)
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c2.SendClose(websocket.StatusNormal, ""); !errors.Is(err, websocket.ErrConnectionClosed) {
		t.Errorf("SendClose after Close = %v, want ErrConnectionClosed", err)
	}
}
