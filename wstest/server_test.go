package wstest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// dial connects to srv (through srv.DialContext, so that pipe servers
// work), failing the test on an error.
func dial(t *testing.T, srv *wstest.Server, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	c, err := dialErr(srv, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	return c
}

func dialErr(srv *wstest.Server, opts *websocket.DialOptions) (*websocket.Conn, error) {
	if opts == nil {
		opts = &websocket.DialOptions{}
	}
	opts.NetDialContext = srv.DialContext
	return websocket.Dial(context.Background(), srv.URL, opts)
}

// servers runs f against a TCP server and a pipe server running h.
func servers(t *testing.T, h wstest.Handler, f func(t *testing.T, srv *wstest.Server)) {
	t.Run("tcp", func(t *testing.T) {
		srv := wstest.NewServer(h)
		defer srv.Close()
		f(t, srv)
	})
	t.Run("pipe", func(t *testing.T) {
		srv := wstest.NewPipeServer(h)
		defer srv.Close()
		f(t, srv)
	})
}

// received waits for the server's only connection to end and returns
// what it read.
func received(t *testing.T, srv *wstest.Server) []wstest.Frame {
	t.Helper()
	conns := srv.Conns()
	if len(conns) != 1 {
		t.Fatalf("%d connections, want 1", len(conns))
	}
	<-conns[0].Done()
	return conns[0].Received()
}

// ops lists the opcodes of frames.
func ops(frames []wstest.Frame) []wstest.Opcode {
	var out []wstest.Opcode
	for _, f := range frames {
		out = append(out, f.Opcode)
	}
	return out
}

func TestEcho(t *testing.T) {
	servers(t, wstest.Echo, func(t *testing.T, srv *wstest.Server) {
		c := dial(t, srv, nil)
		if err := c.SendText("hello"); err != nil {
			t.Fatal(err)
		}
		// a fragmented message
		if err := c.SendFrame(websocket.NewFrame([]byte("frag"), websocket.OpBinary, false)); err != nil {
			t.Fatal(err)
		}
		if err := c.SendFrame(websocket.NewFrame([]byte("ments"), websocket.OpContinuation, true)); err != nil {
			t.Fatal(err)
		}
		if err := c.Ping([]byte("p")); err != nil {
			t.Fatal(err)
		}
		for _, want := range []websocket.Message{{Opcode: websocket.OpText, Data: []byte("hello")}, {Opcode: websocket.OpBinary, Data: []byte("fragments")}} {
			m, err := c.Recv()
			if err != nil || m.Opcode != want.Opcode || !bytes.Equal(m.Data, want.Data) {
				t.Fatalf("Recv = %s %q, %v; want %s %q", m.Opcode, m.Data, err, want.Opcode, want.Data)
			}
		}
		if op, p, err := c.RecvData(true); err != nil || op != websocket.OpPong || string(p) != "p" {
			t.Fatalf("RecvData = %s %q, %v; want the pong", op, p, err)
		}
		if err := c.CloseWith(websocket.StatusGoingAway, "done", time.Minute); err != nil {
			t.Fatal(err)
		}
		got := received(t, srv)
		if want := []wstest.Opcode{wstest.OpText, wstest.OpBinary, wstest.OpContinuation, wstest.OpPing, wstest.OpClose}; !slices.Equal(ops(got), want) {
			t.Fatalf("server read %v, want %v", ops(got), want)
		}
		for _, f := range got {
			if !f.Masked || f.Length != uint64(len(f.Payload)) {
				t.Errorf("frame %s: masked %v, length %d of %d bytes", f.Opcode, f.Masked, f.Length, len(f.Payload))
			}
		}
		if code, reason := got[4].CloseStatus(); code != 1001 || reason != "done" {
			t.Errorf("client's close: %d %q, want 1001 \"done\"", code, reason)
		}
	})
}

// TestReceivedIsWhatTheClientSent: the recording keeps the payloads as
// the client sent them, whatever the handler does with what it read, and
// Received's copy is the caller's to change. Both shared the payload
// bytes: a handler that changed a message in place, or a test that changed
// Received's result, rewrote the recording.
func TestReceivedIsWhatTheClientSent(t *testing.T) {
	srv := wstest.NewServer(func(c *wstest.Conn) {
		op, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		copy(data, "XYZ") // the handler changes what it read
		c.WriteMessage(op, data)
		wstest.Echo(c)
	})
	defer srv.Close()
	c := dial(t, srv, nil)
	if err := c.SendText("abc"); err != nil {
		t.Fatal(err)
	}
	if m, err := c.Recv(); err != nil || string(m.Data) != "XYZ" {
		t.Fatalf("Recv = %q, %v", m.Data, err)
	}
	c.Close()
	got := received(t, srv)
	if string(got[0].Payload) != "abc" {
		t.Errorf("recorded %q, want what the client sent: abc", got[0].Payload)
	}
	got[0].Payload[0] = 'Q'
	if again := received(t, srv); string(again[0].Payload) != "abc" {
		t.Errorf("after changing Received's copy, recorded %q", again[0].Payload)
	}
}

// TestSendInvalid sends frames a client must refuse and checks both what
// the client returns and the close code it answered with.
func TestSendInvalid(t *testing.T) {
	for _, tt := range []struct {
		name string
		step wstest.Handler
		code uint16
	}{
		{"rsv1 unnegotiated", wstest.SendFrame(wstest.Frame{Fin: true, Rsv1: true, Opcode: wstest.OpText, Payload: []byte("x")}), 1002},
		{"masked", wstest.SendFrame(wstest.Frame{Fin: true, Opcode: wstest.OpText, Masked: true, MaskKey: [4]byte{1, 2, 3, 4}, Payload: []byte("x")}), 1002},
		{"unknown opcode", wstest.Send(0x3, nil), 1002},
		{"bad utf-8", wstest.Send(wstest.OpText, []byte{0xff}), 1007},
		{"declared too long", wstest.SendFrame(wstest.Frame{Fin: true, Opcode: wstest.OpBinary, Length: 1 << 40}), 1009},
		{"raw bytes", wstest.Script(wstest.Accept(nil), wstest.SendRaw([]byte{0x09, 0x00})), 1002}, // a fragmented ping
	} {
		t.Run(tt.name, func(t *testing.T) {
			servers(t, wstest.Script(tt.step, wstest.Read), func(t *testing.T, srv *wstest.Server) {
				c := dial(t, srv, nil)
				defer c.Close()
				if m, err := c.Recv(); err == nil {
					t.Fatalf("Recv = %s %q, want an error", m.Opcode, m.Data)
				}
				got := received(t, srv)
				if len(got) != 1 || got[0].Opcode != wstest.OpClose {
					t.Fatalf("server read %v, want one close", ops(got))
				}
				if code, _ := got[0].CloseStatus(); code != tt.code {
					t.Errorf("client closed with %d, want %d", code, tt.code)
				}
			})
		})
	}
}

func TestHandshakeAnswers(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    wstest.Handler
		want string
	}{
		{"wrong accept", wstest.Accept(http.Header{"Sec-WebSocket-Accept": {"wrong"}}), "Sec-WebSocket-Accept"},
		{"no accept", wstest.Accept(http.Header{"sec-websocket-accept": nil}), "Sec-WebSocket-Accept"},
		{"unoffered subprotocol", wstest.Accept(http.Header{"Sec-WebSocket-Protocol": {"x"}}), "subprotocol"},
		{"raw 200", wstest.SendRaw([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")), "status 200"},
		{"hang up", func(*wstest.Conn) {}, "connection closed"},
		{"drop", wstest.Drop, "connection closed"},
		{"reject", wstest.Reject(http.StatusServiceUnavailable, http.Header{"Retry-After": {"7"}}, "busy"), "status 503"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			servers(t, tt.h, func(t *testing.T, srv *wstest.Server) {
				_, err := dialErr(srv, nil)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Dial = %v, want an error mentioning %q", err, tt.want)
				}
				var bse *websocket.BadStatusError
				if errors.As(err, &bse) && bse.StatusCode == 503 && (bse.Header.Get("Retry-After") != "7" || string(bse.Body) != "busy") {
					t.Errorf("503: header %v, body %q", bse.Header, bse.Body)
				}
			})
		})
	}
}

// TestAcceptSubprotocolAndNoCompression: the server picks a subprotocol
// and, agreeing no extension, leaves compression off though the client
// offered it; the request records the offers.
func TestAcceptSubprotocolAndNoCompression(t *testing.T) {
	h := wstest.Script(wstest.Accept(http.Header{"Sec-WebSocket-Protocol": {"b"}}), wstest.Echo)
	servers(t, h, func(t *testing.T, srv *wstest.Server) {
		c := dial(t, srv, &websocket.DialOptions{Subprotocols: []string{"a", "b"}, Compression: &websocket.CompressionOptions{Threshold: 1}})
		if c.Subprotocol() != "b" {
			t.Errorf("Subprotocol = %q, want b", c.Subprotocol())
		}
		msg := strings.Repeat("compressible ", 20)
		if err := c.SendText(msg); err != nil {
			t.Fatal(err)
		}
		if m, err := c.Recv(); err != nil || m.Text() != msg {
			t.Fatalf("Recv = %q, %v", m.Data, err)
		}
		c.Close()
		got := received(t, srv)
		if got[0].Rsv1 || string(got[0].Payload) != msg {
			t.Errorf("first frame: rsv1 %v, payload %q; want it uncompressed", got[0].Rsv1, got[0].Payload)
		}
		req := srv.Conns()[0].Request()
		if p := req.Header.Get("Sec-WebSocket-Protocol"); p != "a, b" {
			t.Errorf("offered subprotocols %q", p)
		}
		if e := req.Header.Get("Sec-WebSocket-Extensions"); !strings.HasPrefix(e, "permessage-deflate") {
			t.Errorf("offered extensions %q", e)
		}
	})
}

// TestRedirectRecorded: the first request is redirected, the second
// served; both requests are recorded in order.
func TestRedirectRecorded(t *testing.T) {
	h := func(c *wstest.Conn) {
		if c.Request().URL.Path == "/old" {
			c.Reject(http.StatusFound, http.Header{"Location": {"/new"}}, "")
			return
		}
		wstest.Close(1000, "")(c)
	}
	servers(t, h, func(t *testing.T, srv *wstest.Server) {
		c, err := websocket.Dial(context.Background(), srv.URL+"/old", &websocket.DialOptions{NetDialContext: srv.DialContext})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Recv(); !errors.As(err, new(*websocket.CloseError)) {
			t.Errorf("Recv = %v, want a close", err)
		}
		var paths []string
		for _, sc := range srv.Conns() {
			<-sc.Done()
			paths = append(paths, sc.Request().URL.Path)
		}
		if !slices.Equal(paths, []string{"/old", "/new"}) {
			t.Errorf("requests for %q", paths)
		}
	})
}

// TestDropAfterMessage: a dropped connection is an abnormal end, not a
// close from the server.
func TestDropAfterMessage(t *testing.T) {
	servers(t, wstest.Script(wstest.Send(wstest.OpText, []byte("last")), wstest.Drop), func(t *testing.T, srv *wstest.Server) {
		c := dial(t, srv, nil)
		defer c.Close()
		if m, err := c.Recv(); err != nil || m.Text() != "last" {
			t.Fatalf("Recv = %q, %v", m.Data, err)
		}
		_, err := c.Recv()
		if !errors.Is(err, websocket.ErrConnectionClosed) || errors.As(err, new(*websocket.CloseError)) {
			t.Fatalf("Recv = %v, want ErrConnectionClosed without a close frame", err)
		}
	})
}

// TestScriptStopsWhenClosed: steps after Close or after a failed read do
// not run.
func TestScriptStopsWhenClosed(t *testing.T) {
	ran := make(chan string, 2)
	step := func(name string) wstest.Handler { return func(*wstest.Conn) { ran <- name } }
	h := wstest.Script(step("before"), wstest.Close(1000, ""), step("after"))
	servers(t, h, func(t *testing.T, srv *wstest.Server) {
		c := dial(t, srv, nil)
		c.Recv()
		<-srv.Conns()[0].Done()
		if got := <-ran; got != "before" {
			t.Errorf("ran %q", got)
		}
		select {
		case got := <-ran:
			t.Errorf("ran %q after the close", got)
		default:
		}
	})
}

func TestTLSServer(t *testing.T) {
	srv := wstest.NewTLSServer(wstest.Echo)
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "wss://127.0.0.1:") {
		t.Errorf("URL = %q", srv.URL)
	}
	if _, err := websocket.Dial(context.Background(), srv.URL, nil); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Dial without the server's TLSConfig = %v, want a certificate error", err)
	}
	c, err := websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{TLSConfig: srv.TLSConfig()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendText("secret"); err != nil {
		t.Fatal(err)
	}
	if m, err := c.Recv(); err != nil || m.Text() != "secret" {
		t.Fatalf("Recv = %q, %v", m.Data, err)
	}
	c.Close()
	plain := wstest.NewServer(wstest.Echo)
	defer plain.Close()
	if plain.TLSConfig() != nil {
		t.Error("a server without TLS has a TLSConfig")
	}
}

// TestDialContextRedirectsAnyHost: a client configured for another host
// reaches the server through DialContext, and the request says so; over
// TLS too, where the server's TLSConfig verifies the server whatever the
// URL's host.
func TestDialContextRedirectsAnyHost(t *testing.T) {
	for _, tc := range []struct {
		url string
		srv *wstest.Server
	}{
		{"ws://api.example.com/feed", wstest.NewServer(wstest.Close(1000, ""))},
		{"wss://api.example.com/feed", wstest.NewTLSServer(wstest.Close(1000, ""))},
	} {
		srv := tc.srv
		defer srv.Close()
		c, err := websocket.Dial(context.Background(), tc.url, &websocket.DialOptions{NetDialContext: srv.DialContext, TLSConfig: srv.TLSConfig()})
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		c.Recv()
		c.Close()
		if r := srv.Conns()[0].Request(); r.Host != "api.example.com" || r.URL.Path != "/feed" {
			t.Errorf("request for %s%s", r.Host, r.URL.Path)
		}
	}
}

// TestRequestBodyIsEmpty: a client that declares a body in its handshake
// does not have its frames read as that body: Request's Body is empty, and
// the frame arrives.
func TestRequestBodyIsEmpty(t *testing.T) {
	body := make(chan string, 1)
	srv := wstest.NewServer(func(c *wstest.Conn) {
		b, _ := io.ReadAll(io.LimitReader(c.Request().Body, 64))
		body <- string(b)
		c.Accept(nil)
		c.ReadFrame()
	})
	defer srv.Close()
	nc, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "ws://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nContent-Length: 5\r\n\r\n" +
		"\x81\x85abcd" // the start of a masked text frame
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	if b := <-body; b != "" {
		t.Errorf("Request().Body read %q, want it empty", b)
	}
}

// TestServerCloseEndsWaits: Close drops connections whose handlers stall
// or sleep, and returns; later dials fail.
func TestServerCloseEndsWaits(t *testing.T) {
	for _, wait := range []wstest.Handler{wstest.Stall, wstest.Sleep(time.Hour)} {
		arrived := make(chan struct{})
		h := func(c *wstest.Conn) {
			arrived <- struct{}{}
			wait(c)
		}
		for _, srv := range []*wstest.Server{wstest.NewServer(h), wstest.NewPipeServer(h)} {
			errc := make(chan error)
			go func() {
				_, err := dialErr(srv, nil)
				errc <- err
			}()
			<-arrived // the request is read; the handshake waits
			srv.Close()
			if err := <-errc; err == nil {
				t.Error("Dial to a waiting server succeeded")
			}
			if _, err := dialErr(srv, nil); err == nil {
				t.Error("Dial after Close succeeded")
			}
		}
	}
}

// The remaining tests run in synctest bubbles on pipe servers: time is the
// bubble's, so each delay is exact.

func TestSynctestHandshakeTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := wstest.NewPipeServer(wstest.Stall)
		defer srv.Close()
		start := time.Now()
		_, err := dialErr(srv, &websocket.DialOptions{Timeout: 5 * time.Second})
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Dial = %v, want a timeout", err)
		}
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("Dial gave up after %v, want 5s", d)
		}
	})
}

func TestSynctestSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := wstest.NewPipeServer(wstest.Script(wstest.Sleep(3*time.Second), wstest.Send(wstest.OpText, []byte("late")), wstest.Close(1000, "")))
		defer srv.Close()
		start := time.Now()
		c := dial(t, srv, nil)
		if m, err := c.Recv(); err != nil || m.Text() != "late" {
			t.Fatalf("Recv = %q, %v", m.Data, err)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("message after %v, want 3s", d)
		}
		c.Recv()
	})
}

// TestSynctestPingTimeout: a server that accepts and then stalls never
// answers the App's pings; the App notices one PingInterval + PingTimeout
// after opening.
func TestSynctestPingTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := wstest.NewPipeServer(wstest.Script(wstest.Accept(nil), wstest.Stall))
		defer srv.Close()
		var opened, failed time.Time
		a := &websocket.App{
			URL:     srv.URL,
			OnOpen:  func(*websocket.App) { opened = time.Now() },
			OnError: func(*websocket.App, error) { failed = time.Now() },
		}
		err := a.RunForever(&websocket.RunOptions{
			PingInterval: 10 * time.Second, PingTimeout: 2 * time.Second, Reconnect: -1,
			DialOptions: websocket.DialOptions{NetDialContext: srv.DialContext},
		})
		if err == nil {
			t.Fatal("RunForever = nil, want the ping timeout")
		}
		if d := failed.Sub(opened); d != 12*time.Second {
			t.Errorf("ping timeout noticed after %v, want 12s", d)
		}
	})
}

// TestSynctestWriteBackpressure: a stalled server stops reading, so the
// pipe fills like a socket and the client's write times out.
func TestSynctestWriteBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := wstest.NewPipeServer(wstest.Script(wstest.Accept(nil), wstest.Stall))
		defer srv.Close()
		c := dial(t, srv, &websocket.DialOptions{Timeout: time.Second})
		start := time.Now()
		err := c.SendBinary(make([]byte, 4<<20))
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("SendBinary = %v, want a timeout", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("write timed out after %v, want 1s", d)
		}
	})
}

// TestSynctestBothWriteAtOnce: server and client each send a message
// before reading the other's. The pipe buffers both, as sockets do; over
// an unbuffered net.Pipe both writers would wait for a reader forever.
func TestSynctestBothWriteAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		big := bytes.Repeat([]byte("s"), 100<<10)
		srv := wstest.NewPipeServer(wstest.Script(wstest.Send(wstest.OpBinary, big), wstest.Read, wstest.Close(1000, "")))
		defer srv.Close()
		c := dial(t, srv, nil)
		if err := c.SendBinary(bytes.ToUpper(big)); err != nil {
			t.Fatal(err)
		}
		if m, err := c.Recv(); err != nil || !bytes.Equal(m.Data, big) {
			t.Fatalf("Recv = %d bytes, %v", len(m.Data), err)
		}
		c.Recv() // the close
		if got := received(t, srv); len(got) != 2 || !bytes.Equal(got[0].Payload, bytes.ToUpper(big)) {
			t.Errorf("server read %v", ops(got))
		}
	})
}

// TestNetConn: a handler can go below frames through NetConn, whose
// addresses are the client's, reversed (also on a pipe server).
func TestNetConn(t *testing.T) {
	servers(t, func(c *wstest.Conn) {
		c.Accept(nil)
		c.NetConn().Write(wstest.Frame{Fin: true, Opcode: wstest.OpText, Payload: []byte("raw")}.AppendTo(nil))
		c.ReadFrame() // until the client closes
	}, func(t *testing.T, srv *wstest.Server) {
		c := dial(t, srv, nil)
		defer c.Close()
		m, err := c.Recv()
		if err != nil || m.Text() != "raw" {
			t.Fatalf("Recv = %q, %v; want the frame written to NetConn", m.Data, err)
		}
		nc := srv.Conns()[0].NetConn()
		local, remote := c.NetConn().LocalAddr(), c.NetConn().RemoteAddr()
		if nc.LocalAddr().String() != remote.String() || nc.RemoteAddr().String() != local.String() || nc.LocalAddr().Network() != remote.Network() {
			t.Errorf("server side %s %s -> %s, client side %s %s -> %s", nc.LocalAddr().Network(), nc.RemoteAddr(), nc.LocalAddr(), remote.Network(), local, remote)
		}
	})
}

// TestOpcodeString names each opcode as the library does.
func TestOpcodeString(t *testing.T) {
	for op := wstest.Opcode(0); op < 16; op++ {
		if got, want := op.String(), websocket.Opcode(op).String(); got != want {
			t.Errorf("Opcode(%#x).String() = %q, want %q", byte(op), got, want)
		}
	}
}

// TestCloseReadsUntilClientClose: Conn.Close records the frames the client
// sent before its close frame, then that close frame, and reports no error
// once the client has answered.
func TestCloseReadsUntilClientClose(t *testing.T) {
	closed := make(chan error, 1)
	h := func(c *wstest.Conn) {
		if _, _, err := c.ReadMessage(); err != nil {
			closed <- err
			return
		}
		closed <- c.Close(1000, "bye")
	}
	servers(t, h, func(t *testing.T, srv *wstest.Server) {
		c := dial(t, srv, nil)
		defer c.Close()
		c.SendText("first")
		c.SendText("in flight")
		var ce *websocket.CloseError
		if _, err := c.Recv(); !errors.As(err, &ce) || ce.Code != 1000 || ce.Reason != "bye" {
			t.Fatalf("Recv = %v, want the server's close 1000 bye", err)
		}
		if err := <-closed; err != nil {
			t.Errorf("Close = %v, want nil after the client's close", err)
		}
		if got := ops(received(t, srv)); !slices.Equal(got, []wstest.Opcode{wstest.OpText, wstest.OpText, wstest.OpClose}) {
			t.Errorf("received %v, want text, text, close", got)
		}
	})
}

// TestCloseWithoutStatus: Close(0, "") sends a close frame with no payload,
// which the client reports as 1005 (no status received).
func TestCloseWithoutStatus(t *testing.T) {
	servers(t, wstest.Close(0, ""), func(t *testing.T, srv *wstest.Server) {
		c := dial(t, srv, nil)
		defer c.Close()
		var ce *websocket.CloseError
		if _, err := c.Recv(); !errors.As(err, &ce) || ce.Code != websocket.StatusNoStatusReceived {
			t.Fatalf("Recv = %v, want a close without status (1005)", err)
		}
	})
}

// TestPipeServerReaderBesideBlockedWriter: a handler that writes on one
// goroutine while another reads (and answers pings, which writes too)
// keeps a synctest bubble's clock running when the client stops reading:
// the writer waits in the full pipe, the reader's next read and its pong
// wait for the writer, and each wait is one the bubble counts as durable.
// A reader waiting on the writer's sync.Mutex hung the bubble for good.
func TestPipeServerReaderBesideBlockedWriter(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		pipeServerReaderBesideBlockedWriter(t)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute): // real time: a hung bubble never ends
		t.Fatal("the bubble hung: a wait that synctest does not count as durable")
	}
}

func pipeServerReaderBesideBlockedWriter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const msgs, size = 4, 1 << 20 // more than the pipe holds
		got := make(chan string, 1)
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			c.Accept(nil)
			go func() {
				_, p, err := c.ReadMessage() // answers the client's ping on the way
				if err != nil {
					p = []byte(err.Error())
				}
				got <- string(p)
			}()
			for range msgs {
				if c.WriteMessage(wstest.OpBinary, make([]byte, size)) != nil {
					return
				}
			}
		})
		defer srv.Close()
		conn, err := websocket.Dial(t.Context(), srv.URL, &websocket.DialOptions{NetDialContext: srv.DialContext})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Abort()
		time.Sleep(time.Second) // the server's writer now waits in the full pipe
		conn.Ping([]byte("p"))
		conn.SendText("x")
		time.Sleep(time.Second) // hung: the reader waited on a mutex
		for i := range msgs {
			if m, err := conn.Recv(); err != nil || len(m.Data) != size {
				t.Fatalf("message %d: %d bytes, %v", i, len(m.Data), err)
			}
		}
		if s := <-got; s != "x" {
			t.Errorf("the server read %q, want the client's text", s)
		}
	})
}

// TestEndlessRequestHead: a client that sends a header without end gets
// its connection dropped once the head passes 1 MiB; the server does not
// buffer what it sends, and no handler runs.
func TestEndlessRequestHead(t *testing.T) {
	ran := make(chan struct{}, 1)
	srv := wstest.NewServer(func(*wstest.Conn) { ran <- struct{}{} })
	defer srv.Close()
	nc, err := srv.DialContext(context.Background(), "tcp", "")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	go func() {
		io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\nX-Endless: ")
		chunk := bytes.Repeat([]byte("a"), 64<<10)
		for range 64 { // 4 MiB
			if _, err := nc.Write(chunk); err != nil {
				return
			}
		}
	}()
	if n, err := io.Copy(io.Discard, nc); err != nil && !errors.Is(err, syscall.ECONNRESET) || n != 0 {
		t.Fatalf("read %d bytes, %v; want the connection dropped", n, err)
	}
	select {
	case <-ran:
		t.Error("the handler ran")
	default:
	}
}
