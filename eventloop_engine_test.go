package websocket_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/leaktest"
	"github.com/wsclient/websocket/internal/netpoll"
	"github.com/wsclient/websocket/internal/wstest"
)

// skipWithoutPoller skips a test of the engine where none exists.
func skipWithoutPoller(t testing.TB) {
	t.Helper()
	p, err := netpoll.New()
	if err != nil {
		t.Skip("no poller on this platform")
	}
	p.Close()
}

// runEngine runs a on an event loop of its own until the run ends, as
// App.Run without a Dispatcher does (whose private loop takes no socket
// over), and returns the run's result, checking that the connections that
// deliver messages are owned by the loop's poller.
func runEngine(t *testing.T, a *websocket.App, opts *websocket.RunOptions) error {
	t.Helper()
	skipWithoutPoller(t)
	checkOwned(t, a)
	var o websocket.RunOptions
	if opts != nil {
		o = *opts
	}
	l := &oneRunLoop{EventLoop: websocket.NewEventLoop()}
	o.Dispatcher = l
	if err := a.Run(context.Background(), &o); err != nil {
		return err
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatalf("loop Run = %v", err)
	}
	return l.s.Err()
}

// runOn runs a on an event loop (runEngine) or, without onLoop, with a
// read goroutine (RunForever), and returns how the run ended.
func runOn(t *testing.T, onLoop bool, a *websocket.App, opts *websocket.RunOptions) error {
	t.Helper()
	if onLoop {
		return runEngine(t, a, opts)
	}
	return a.RunForever(opts)
}

// oneRunLoop is an EventLoop that stops once its one run is detached.
type oneRunLoop struct {
	*websocket.EventLoop
	s *websocket.Session
}

func (l *oneRunLoop) Attach(s *websocket.Session) error {
	l.s = s
	return l.EventLoop.Attach(s)
}

func (l *oneRunLoop) Detach(s *websocket.Session) {
	l.EventLoop.Detach(s)
	l.Stop()
}

// checkOwned makes a's OnMessage check that the loop's poller owns the
// connection.
func checkOwned(t *testing.T, a *websocket.App) {
	msg := a.OnMessage
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		if !websocket.LoopOwned(a.Conn()) {
			t.Error("the connection is not owned by the loop's poller")
		}
		if msg != nil {
			msg(a, m)
		}
	}
}

func TestEventLoopEngineEcho(t *testing.T) {
	defer leaktest.Check(t)()
	srv := newServer(wstest.Echo)
	defer srv.Close()
	var e events
	a := &websocket.App{URL: srv.URL}
	record(a, &e)
	a.OnOpen = func(a *websocket.App) {
		e.add("open")
		a.SendText("hello")
		a.SendBytes([]byte{1, 2})
	}
	n := 0
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		e.add("message %s %q", m.Opcode, m.Data)
		if n++; n == 2 {
			a.Close()
		}
	}
	if err := runEngine(t, a, nil); err != nil {
		t.Fatalf("Run = %v", err)
	}
	want := []string{"open", `data text "hello" true`, `message text "hello"`,
		`data binary "\x01\x02" true`, `message binary "\x01\x02"`, `close 1000 ""`}
	if got := e.list(); !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}

// rawServer answers the handshake itself and then writes script's bytes;
// with sameWrite they go out in the same write as the 101 response, so the
// client's handshake reads them with it.
func rawServer(t *testing.T, sameWrite bool, script func(nc net.Conn, c *wstest.Conn)) *wstest.Server {
	return wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		req, accept, br, err := wstest.ReadRequest(nc)
		if err != nil {
			return
		}
		_ = req
		resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + accept + "\r\n\r\n"
		c := &wstest.Conn{NC: nc, R: br}
		if sameWrite {
			var buf bytes.Buffer
			buf.WriteString(resp)
			script(&bufWriter{Conn: nc, buf: &buf}, c)
			nc.Write(buf.Bytes())
		} else {
			nc.Write([]byte(resp))
			script(nc, c)
		}
		// Answer the client's close.
		for {
			f, err := c.ReadFrame()
			if err != nil {
				return
			}
			if f.Opcode == 8 {
				c.WriteFrame(true, 8, f.Payload)
				return
			}
		}
	})
}

// bufWriter collects the writes of a script.
type bufWriter struct {
	net.Conn
	buf *bytes.Buffer
}

func (b *bufWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }

func TestEventLoopEngineLeftover(t *testing.T) {
	defer leaktest.Check(t)()
	srv := rawServer(t, true, func(nc net.Conn, _ *wstest.Conn) {
		b := wstest.AppendFrame(nil, true, 1, []byte("behind the 101"))
		b = wstest.AppendFrame(b, false, 2, []byte{1})
		b = wstest.AppendFrame(b, true, 0, []byte{2})
		nc.Write(b)
	})
	defer srv.Close()
	var e events
	a := &websocket.App{URL: srv.URL}
	record(a, &e)
	a.OnData = nil
	n := 0
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		e.add("message %s %q", m.Opcode, m.Data)
		if n++; n == 2 {
			a.Close()
		}
	}
	if err := runEngine(t, a, nil); err != nil {
		t.Fatalf("Run = %v", err)
	}
	want := []string{"open", `message text "behind the 101"`, `message binary "\x01\x02"`, `close 1000 ""`}
	if got := e.list(); !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}

func TestEventLoopEngineCutFrames(t *testing.T) {
	defer leaktest.Check(t)()
	big := bytes.Repeat([]byte("0123456789abcdef"), 300<<10/16) // cut by the 64 KiB reads
	srv := rawServer(t, false, func(nc net.Conn, c *wstest.Conn) {
		nc.Write(wstest.AppendFrame(nil, true, 2, big))
		// One byte per write: headers and payloads cut anywhere.
		b := wstest.AppendFrame(nil, true, 1, []byte("chopped"))
		b = wstest.AppendFrame(b, true, 9, []byte("ping"))
		b = wstest.AppendFrame(b, false, 1, []byte("frag"))
		b = wstest.AppendFrame(b, true, 9, nil) // between the fragments
		b = wstest.AppendFrame(b, true, 0, []byte("ments"))
		b = wstest.AppendFrame(b, true, 2, make([]byte, 70000)) // a 16-bit length
		c.WriteChopped(b, 1)
	})
	defer srv.Close()
	var e events
	a := &websocket.App{URL: srv.URL}
	a.OnOpen = func(*websocket.App) { e.add("open") }
	a.OnPing = func(_ *websocket.App, p []byte) { e.add("ping %q", p) }
	a.OnClose = func(_ *websocket.App, code websocket.StatusCode, _ string) { e.add("close %d", code) }
	n := 0
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		switch n++; n {
		case 1:
			if !bytes.Equal(m.Data, big) {
				t.Errorf("big message: %d bytes, not the %d sent", len(m.Data), len(big))
			}
			e.add("big")
		case 4:
			e.add("message %d bytes", len(m.Data))
			a.Close()
		default:
			e.add("message %q", m.Data)
		}
	}
	if err := runEngine(t, a, nil); err != nil {
		t.Fatalf("Run = %v", err)
	}
	want := []string{"open", "big", `message "chopped"`, `ping "ping"`, `ping ""`, `message "fragments"`,
		"message 70000 bytes", "close 1000"}
	if got := e.list(); !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}

func TestEventLoopEngineFragmentsDelivered(t *testing.T) {
	defer leaktest.Check(t)()
	srv := rawServer(t, false, func(nc net.Conn, c *wstest.Conn) {
		b := wstest.AppendFrame(nil, false, 1, []byte("a"))
		b = wstest.AppendFrame(b, false, 0, []byte("b"))
		b = wstest.AppendFrame(b, true, 0, nil)
		b = wstest.AppendFrame(b, true, 2, []byte("c"))
		nc.Write(b)
	})
	defer srv.Close()
	var e events
	a := &websocket.App{URL: srv.URL}
	record(a, &e)
	a.OnContMessage = func(a *websocket.App, data []byte, fin bool) {
		e.add("cont %q %v", data, fin)
	}
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		e.add("message %s %q", m.Opcode, m.Data)
		a.Close()
	}
	if err := runEngine(t, a, nil); err != nil {
		t.Fatalf("Run = %v", err)
	}
	want := []string{"open", `data text "a" false`, `cont "a" false`, `data continuation "b" false`,
		`cont "b" false`, `data continuation "" true`, `cont "" true`, `data binary "c" true`,
		`message binary "c"`, `close 1000 ""`}
	if got := e.list(); !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}

// TestEventLoopEngineSlowPeer sends far more than the socket buffers hold,
// and less than the send mark (SendQueueBytes), to a server that does not
// read yet: the sends return at once (the rest is queued and written when
// the socket turns writable), so the loop goes on to let the server read;
// everything arrives, in order. Also when
// NetConn, called while the bytes wait, moves the loop from its bare
// socket to a net.Conn made over it: the watch for writability moves too.
func TestEventLoopEngineSlowPeer(t *testing.T) {
	defer leaktest.Check(t)()
	// 6 MiB: more than the client's send buffer (at most 4 MiB) and the
	// server's small receive buffer hold.
	const msgs, size = 24, 256 << 10
	for _, netConn := range []bool{false, true} {
		t.Run(map[bool]string{false: "sends", true: "NetConn while they wait"}[netConn], func(t *testing.T) {
			read := make(chan struct{})
			got := make(chan error, 1)
			srv := rawServer(t, false, func(nc net.Conn, c *wstest.Conn) {
				nc.(*net.TCPConn).SetReadBuffer(16 << 10)
				<-read
				got <- readMarked(c, msgs, size)
				c.WriteFrame(true, 1, []byte("all read"))
			})
			defer srv.Close()
			var e events
			a := &websocket.App{URL: srv.URL}
			a.OnOpen = func(a *websocket.App) {
				sendMarked(t, a, msgs, size)
				e.add("sent")
				if netConn {
					e.add("bare %v, NetConn %T", websocket.LoopBareSocket(a.Conn()), a.Conn().NetConn())
				}
				close(read) // only reached if no send blocked the loop
			}
			a.OnMessage = func(a *websocket.App, m websocket.Message) {
				e.add("message %q", m.Data)
				a.Close()
			}
			a.OnClose = func(_ *websocket.App, code websocket.StatusCode, _ string) { e.add("close %d", code) }
			if err := runEngine(t, a, &websocket.RunOptions{SendQueueBytes: msgs * size * 4 / 3}); err != nil {
				t.Fatalf("Run = %v", err)
			}
			if err := <-got; err != nil {
				t.Error(err)
			}
			want := []string{"sent", `message "all read"`, "close 1000"}
			if netConn {
				want = slices.Insert(want, 1, "bare true, NetConn *net.TCPConn")
			}
			if g := e.list(); !slices.Equal(g, want) {
				t.Errorf("events\n got %q\nwant %q", g, want)
			}
		})
	}
}

// sendMarked sends msgs binary messages of size bytes, each with its
// number in its first and last byte.
func sendMarked(t *testing.T, a *websocket.App, msgs, size int) {
	t.Helper()
	msg := make([]byte, size)
	for i := range msgs {
		msg[0], msg[size-1] = byte(i), byte(i)
		if err := a.SendBytes(msg); err != nil {
			t.Errorf("send %d: %v", i, err)
		}
	}
}

// readMarked reads what sendMarked sent and reports the first message that
// did not arrive whole and in order.
func readMarked(c *wstest.Conn, msgs, size int) error {
	for i := range msgs {
		op, data, err := c.ReadMessage()
		if err != nil {
			return err
		}
		if op != 2 || len(data) != size || data[0] != byte(i) || data[size-1] != byte(i) {
			return errors.New("a message arrived out of order or damaged")
		}
	}
	return nil
}

// deflateServer accepts permessage-deflate without context takeover, sends
// one compressed text message and echoes what it gets back, inflated.
func deflateServer(t *testing.T) *wstest.Server {
	return deflateServerSending(t, func(deflate func([]byte) []byte) []byte {
		return wstest.AppendFrameRsv(nil, true, 4, 1, deflate([]byte(strings.Repeat("compressed ", 100))))
	})
}

// deflateServerSending is deflateServer sending first what first returns,
// given the server's compressor.
func deflateServerSending(t *testing.T, first func(deflate func([]byte) []byte) []byte) *wstest.Server {
	return wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		_, accept, br, err := wstest.ReadRequest(nc)
		if err != nil {
			return
		}
		nc.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + accept + "\r\n" +
			"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n\r\n"))
		c := &wstest.Conn{NC: nc, R: br}
		deflate := func(p []byte) []byte { return wstest.Deflate(p, flate.BestSpeed) }
		c.WriteRaw(first(deflate))
		for {
			f, err := c.ReadFrame()
			if err != nil {
				return
			}
			if f.Opcode == 8 {
				c.WriteFrame(true, 8, f.Payload)
				return
			}
			data := f.Payload
			if f.Rsv&4 != 0 {
				data, _ = io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(data),
					bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}))))
			}
			c.WriteFrame(true, f.Opcode, data) // back uncompressed
		}
	})
}

func TestEventLoopEngineCompression(t *testing.T) {
	defer leaktest.Check(t)()
	srv := deflateServer(t)
	defer srv.Close()
	var e events
	a := &websocket.App{URL: srv.URL}
	long := strings.Repeat("echo ", 200)
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		if _, ok := a.Conn().Compression(); !ok {
			t.Error("compression not negotiated")
		}
		if len(e.list()) == 0 {
			e.add("message %d %q", len(m.Data), m.Data[:11])
			a.SendText(long)
			return
		}
		e.add("echo equal %v", string(m.Data) == long)
		a.Close()
	}
	opts := &websocket.RunOptions{DialOptions: websocket.DialOptions{Compression: &websocket.CompressionOptions{}}}
	if err := runEngine(t, a, opts); err != nil {
		t.Fatalf("Run = %v", err)
	}
	want := []string{`message 1100 "compressed "`, "echo equal true"}
	if got := e.list(); !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}

func TestEventLoopEngineKeepAliveAndReconnect(t *testing.T) {
	defer leaktest.Check(t)()
	var conns atomic.Int32
	srv := newServer(func(c *wstest.Conn) {
		if conns.Add(1) == 1 {
			return // the first connection drops at once
		}
		wstest.Echo(c) // answers pings
	})
	defer srv.Close()
	var e events
	a := &websocket.App{URL: srv.URL}
	a.OnOpen = func(*websocket.App) { e.add("open") }
	a.OnReconnect = func(a *websocket.App) {
		if !websocket.LoopOwned(a.Conn()) {
			t.Error("the reconnected connection is not owned by the loop's poller")
		}
		e.add("reconnect")
	}
	a.OnClose = func(_ *websocket.App, code websocket.StatusCode, _ string) { e.add("close %d", code) }
	pongs := 0
	a.OnPong = func(a *websocket.App, p []byte) {
		if pongs++; pongs == 3 {
			e.add("3 pongs %q", p)
			a.Close()
		}
	}
	// No PingTimeout: 15 ms for a pong failed this on a busy machine;
	// the reconnect comes from the server's drop.
	err := runEngine(t, a, &websocket.RunOptions{Reconnect: time.Millisecond, PingInterval: 20 * time.Millisecond,
		PingPayload: []byte("hb")})
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	want := []string{"open", "close 1006", "reconnect", `3 pongs "hb"`, "close 1000"}
	if got := e.list(); !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}

// TestEventLoopEngineHostile: the limits and rules hold on the loop as on
// a read goroutine: the connection fails with the right close code, the
// run reports why, nothing is left behind.
func TestEventLoopEngineHostile(t *testing.T) {
	for _, tt := range []struct {
		name string
		send []byte
		code uint16 // the close code the server gets; 0 = none expected
		want func(error) bool
	}{
		{"length beyond the read limit", wstest.AppendHeader(nil, true, 0, 2, false, [4]byte{}, 1<<40), 1009,
			func(err error) bool { var pe *websocket.PayloadError; return errors.As(err, &pe) }},
		{"length with the top bit set", wstest.AppendHeader(nil, true, 0, 2, false, [4]byte{}, 1<<63), 1002,
			func(err error) bool { var pe *websocket.ProtocolError; return errors.As(err, &pe) }},
		{"masked frame", wstest.AppendMaskedFrame(nil, true, 1, [4]byte{1, 2, 3, 4}, []byte("x")), 1002,
			func(err error) bool { var pe *websocket.ProtocolError; return errors.As(err, &pe) }},
		{"invalid UTF-8", wstest.AppendFrame(nil, true, 1, []byte{0xff}), 1007,
			func(err error) bool { var pe *websocket.PayloadError; return errors.As(err, &pe) }},
		{"RSV bit without an extension", wstest.AppendFrameRsv(nil, true, 2, 1, []byte("x")), 1002, isProtocolError},
		{"reserved opcode", wstest.AppendFrame(nil, true, 3, []byte("x")), 1002, isProtocolError},
		{"fragmented ping", wstest.AppendFrame(nil, false, 9, []byte("x")), 1002, isProtocolError},
		{"ping of 126 bytes", wstest.AppendFrame(nil, true, 9, make([]byte, 126)), 1002, isProtocolError},
		{"continuation without a start", wstest.AppendFrame(nil, true, 0, []byte("x")), 1002, isProtocolError},
		{"new message inside a fragmented one", append(wstest.AppendFrame(nil, false, 1, []byte("a")), wstest.AppendFrame(nil, true, 1, []byte("b"))...), 1002, isProtocolError},
		{"close payload of one byte", wstest.AppendFrame(nil, true, 8, []byte{3}), 1002, isProtocolError},
		{"close code that may not be sent", wstest.AppendFrame(nil, true, 8, wstest.ClosePayload(1005, "")), 1002, isProtocolError},
		{"stall inside a frame", append(wstest.AppendHeader(nil, true, 0, 2, false, [4]byte{}, 10), 1, 2, 3), 0,
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "pong") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer leaktest.Check(t)()
			closeCode := make(chan uint16, 1)
			srv := rawServer(t, false, func(nc net.Conn, c *wstest.Conn) {
				nc.Write(tt.send)
				for {
					f, err := c.ReadFrame()
					if err != nil {
						closeCode <- 0
						return
					}
					if f.Opcode == 8 && len(f.Payload) >= 2 {
						closeCode <- uint16(f.Payload[0])<<8 | uint16(f.Payload[1])
						return
					}
				}
			})
			defer srv.Close()
			var errs []error
			a := &websocket.App{URL: srv.URL}
			a.OnError = func(_ *websocket.App, err error) { errs = append(errs, err) }
			opts := &websocket.RunOptions{DialOptions: websocket.DialOptions{ReadLimit: 1 << 20}}
			if tt.code == 0 { // the stall: only the keep-alive ends it
				opts.PingInterval, opts.PingTimeout = 30*time.Millisecond, 20*time.Millisecond
			}
			err := runEngine(t, a, opts)
			if !tt.want(err) || len(errs) != 1 || errs[0] != err {
				t.Errorf("Run = %v, OnError got %v", err, errs)
			}
			if got := <-closeCode; got != tt.code {
				t.Errorf("server got close code %d, want %d", got, tt.code)
			}
		})
	}
}

// isProtocolError reports whether err is a *ProtocolError.
func isProtocolError(err error) bool {
	var pe *websocket.ProtocolError
	return errors.As(err, &pe)
}

// TestEventLoopEngineFlood: a server that sends without end does not keep
// the loop from its other work, and the App still closes.
func TestEventLoopEngineFlood(t *testing.T) {
	defer leaktest.Check(t)()
	srv := rawServer(t, false, func(nc net.Conn, c *wstest.Conn) {
		b := wstest.AppendFrame(nil, true, 2, make([]byte, 1000))
		for {
			if _, err := nc.Write(bytes.Repeat(b, 64)); err != nil {
				return
			}
		}
	})
	defer srv.Close()
	l := websocket.NewEventLoop()
	got, ticks := 0, 0
	a := &websocket.App{URL: srv.URL}
	checkOwned(t, a)
	a.OnMessage = func(a *websocket.App, m websocket.Message) { got++ }
	a.OnClose = func(*websocket.App, websocket.StatusCode, string) { l.Stop() }
	var tick func()
	tick = func() {
		// Timers keep firing while the flood goes on.
		if ticks++; ticks == 5 {
			a.CloseWith(websocket.StatusNormal, "", 50*time.Millisecond)
			return
		}
		l.AfterFunc(5*time.Millisecond, tick)
	}
	a.OnOpen = func(*websocket.App) { l.AfterFunc(5*time.Millisecond, tick) }
	skipWithoutPoller(t)
	if err := a.Run(context.Background(), &websocket.RunOptions{Dispatcher: l}); err != nil {
		t.Fatal(err)
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ticks != 5 || got == 0 {
		t.Errorf("%d ticks and %d messages, want 5 ticks during the flood", ticks, got)
	}
}

// engineServerEnv makes TestEngineHelperServer the server process of
// TestEventLoopEngineManyApps, so that its goroutines and memory are not
// counted with the client's.
const engineServerEnv = "WSCLIENT_ENGINE_SERVER"

func TestEngineHelperServer(t *testing.T) {
	if os.Getenv(engineServerEnv) != "1" {
		t.Skip("the server process of TestEventLoopEngineManyApps")
	}
	srv := newServer(wstest.Echo)
	fmt.Println(srv.URL)
	io.Copy(io.Discard, os.Stdin) // until the client's process closes it
	srv.Close()
}

// TestEventLoopEngineManyApps opens many Apps on one loop against a server
// in another process: once they are open, the client has no goroutine per
// connection, and the memory each costs is logged.
func TestEventLoopEngineManyApps(t *testing.T) {
	skipWithoutPoller(t)
	defer leaktest.Check(t)()
	const batch = 300
	cmd := exec.Command(os.Args[0], "-test.run=^TestEngineHelperServer$")
	cmd.Env = append(os.Environ(), engineServerEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url = strings.TrimSpace(url)

	base := runtime.NumGoroutine()
	l := websocket.NewEventLoop()
	done := make(chan error)
	go func() { done <- l.Run(context.Background()) }()
	opened := make(chan struct{}, batch)
	open := func(n int) {
		for range n {
			a := &websocket.App{URL: url}
			a.OnOpen = func(a *websocket.App) {
				if !websocket.LoopOwned(a.Conn()) {
					t.Error("the connection is not owned by the loop's poller")
				}
				opened <- struct{}{}
			}
			a.OnError = func(_ *websocket.App, err error) { t.Error(err) }
			if err := a.Run(context.Background(), &websocket.RunOptions{Dispatcher: l, PingInterval: 30 * time.Second}); err != nil {
				t.Fatal(err)
			}
		}
		for range n {
			<-opened
		}
	}
	// settled waits for the goroutines of the dials (which end after
	// handing their connection to the loop) to be gone.
	settled := func(max int) int {
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > max && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		return runtime.NumGoroutine()
	}
	measure := func() (heap, rss uint64) {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc + ms.StackInuse, rssBytes()
	}
	open(1) // the loop's poller and its I/O goroutine now exist
	// The loop's Run and its I/O goroutine; then nothing more.
	g0 := base + 2
	settled(g0)
	h0, r0 := measure()
	open(batch)
	g1 := settled(g0)
	h1, r1 := measure()
	open(batch)
	g2 := settled(g0)
	if g1 > g0 || g2 > g0 {
		t.Errorf("goroutines: %d with 1 App, %d with %d, %d with %d: want no growth", g0, g1, batch+1, g2, 2*batch+1)
	}
	t.Logf("goroutines: %d with 1 App, %d with %d, %d with %d", g0, g1, batch+1, g2, 2*batch+1)
	t.Logf("per idle connection: %.0f B of Go heap and stacks, %.0f B of RSS (first %d Apps after the first)",
		float64(int64(h1)-int64(h0))/batch, float64(int64(r1)-int64(r0))/batch, batch)
	l.Stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// rssBytes returns the process's resident set size, 0 where /proc is
// missing.
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// TestAppNoMessageAfterClose: an App delivers nothing a server sends after
// its close frame, even in the same read (or the same write as the 101
// response), with a read goroutine and on the loop.
func TestAppNoMessageAfterClose(t *testing.T) {
	for _, onLoop := range []bool{false, true} {
		for _, sameWrite := range []bool{false, true} {
			t.Run(fmt.Sprintf("loop=%v/with101=%v", onLoop, sameWrite), func(t *testing.T) {
				srv := rawServer(t, sameWrite, func(nc net.Conn, _ *wstest.Conn) {
					wire := wstest.AppendFrame(nil, true, 1, []byte("first"))
					wire = wstest.AppendFrame(wire, true, 8, wstest.ClosePayload(1000, "bye"))
					wire = wstest.AppendFrame(wire, true, 1, []byte("late"))
					nc.Write(wstest.AppendFrame(wire, true, 2, []byte("later")))
				})
				defer srv.Close()
				var got []string
				a := &websocket.App{URL: srv.URL}
				a.OnMessage = func(_ *websocket.App, m websocket.Message) { got = append(got, m.Text()) }
				a.OnClose = func(_ *websocket.App, code websocket.StatusCode, reason string) {
					got = append(got, fmt.Sprintf("close %d %s", code, reason))
				}
				err := runOn(t, onLoop, a, nil)
				if want := []string{"first", "close 1000 bye"}; err != nil || !slices.Equal(got, want) {
					t.Errorf("Run = %v, events %q, want %q", err, got, want)
				}
			})
		}
	}
}

// TestAppReadLimitPerMessage: the read limit bounds each message, on the
// loop as with a read goroutine: messages of exactly the limit, one after
// another, all arrive.
func TestAppReadLimitPerMessage(t *testing.T) {
	for _, onLoop := range []bool{false, true} {
		t.Run(fmt.Sprintf("loop=%v", onLoop), func(t *testing.T) {
			srv := rawServer(t, false, func(nc net.Conn, _ *wstest.Conn) {
				nc.Write(append(limitMessages(3), wstest.AppendFrame(nil, true, 8, wstest.ClosePayload(1000, ""))...))
			})
			defer srv.Close()
			var sizes []int
			var errs []error
			a := &websocket.App{URL: srv.URL}
			a.OnMessage = func(_ *websocket.App, m websocket.Message) { sizes = append(sizes, len(m.Data)) }
			a.OnError = func(_ *websocket.App, err error) { errs = append(errs, err) }
			opts := &websocket.RunOptions{DialOptions: websocket.DialOptions{ReadLimit: 100}}
			err := runOn(t, onLoop, a, opts)
			if err != nil || len(errs) != 0 || !slices.Equal(sizes, []int{100, 100, 100}) {
				t.Errorf("Run = %v, errors %v, messages of %v bytes; want 3 of 100", err, errs, sizes)
			}
		})
	}
}

// TestAppCompressedFragments: a compressed message in three fragments, with
// a ping between two of them, arrives whole, on the loop as with a read
// goroutine (the ping's frame does not touch the message's compressed
// bytes).
func TestAppCompressedFragments(t *testing.T) {
	text := strings.Repeat("fragmented and compressed ", 60)
	for _, onLoop := range []bool{false, true} {
		t.Run(fmt.Sprintf("loop=%v", onLoop), func(t *testing.T) {
			srv := deflateServerSending(t, func(deflate func([]byte) []byte) []byte {
				z := deflate([]byte(text))
				third := len(z) / 3
				wire := wstest.AppendFrameRsv(nil, false, 4, 1, z[:third])
				wire = wstest.AppendFrame(wire, true, 9, []byte("between"))
				wire = wstest.AppendFrame(wire, false, 0, z[third:2*third])
				return wstest.AppendFrame(wire, true, 0, z[2*third:])
			})
			defer srv.Close()
			var got []string
			a := &websocket.App{URL: srv.URL}
			a.OnPing = func(_ *websocket.App, p []byte) { got = append(got, "ping "+string(p)) }
			a.OnMessage = func(a *websocket.App, m websocket.Message) {
				got = append(got, fmt.Sprintf("message equal %v", m.Text() == text))
				a.Close()
			}
			opts := &websocket.RunOptions{DialOptions: websocket.DialOptions{Compression: &websocket.CompressionOptions{}}}
			err := runOn(t, onLoop, a, opts)
			if want := []string{"ping between", "message equal true"}; err != nil || !slices.Equal(got, want) {
				t.Errorf("Run = %v, events %q, want %q", err, got, want)
			}
		})
	}
}

// TestStuckPeerIsATimeoutOnBothPaths: a peer that stops reading fails the
// connection with a timeout on both paths: off the loop the write's
// deadline (DialOptions.Timeout), on the loop the send's wait for room,
// "as a send that times out does": errors.Is os.ErrDeadlineExceeded and a
// net.Error whose Timeout is true (the loop's error was a plain one).
func TestStuckPeerIsATimeoutOnBothPaths(t *testing.T) {
	for _, onLoop := range []bool{false, true} {
		t.Run(fmt.Sprintf("loop=%v", onLoop), func(t *testing.T) {
			quit := make(chan struct{})
			srv := wstest.New(func(c *wstest.Conn) { <-quit }) // reads nothing
			defer srv.Close()
			defer close(quit)
			var failure atomic.Pointer[error]
			a := &websocket.App{URL: srv.URL}
			a.OnOpen = func(a *websocket.App) {
				go func() {
					msg := make([]byte, 1<<20)
					for a.SendBytes(msg) == nil {
					}
				}()
			}
			a.OnError = func(_ *websocket.App, err error) { failure.CompareAndSwap(nil, &err) }
			opts := &websocket.RunOptions{DialOptions: websocket.DialOptions{Timeout: time.Second}}
			runOn(t, onLoop, a, opts)
			p := failure.Load()
			if p == nil {
				t.Fatal("no failure reported")
			}
			var ne net.Error
			if err := *p; !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("failure %v (%T), want a timeout", err, err)
			}
		})
	}
}

// TestPanicInOnError: "a panic in a callback is recovered and reported to
// OnError (one in OnError itself is only traced); the run goes on": the
// connection still gets its OnClose and the run ends as it would, on both
// paths.
func TestPanicInOnError(t *testing.T) {
	for _, onLoop := range []bool{false, true} {
		t.Run(fmt.Sprintf("loop=%v", onLoop), func(t *testing.T) {
			srv := wstest.New(func(c *wstest.Conn) {
				c.WriteFrame(true, 0x3, nil) // a reserved opcode: a protocol error
				c.ReadFrame()
			})
			defer srv.Close()
			var errs, closes atomic.Int32
			a := &websocket.App{URL: srv.URL}
			a.OnError = func(*websocket.App, error) {
				errs.Add(1)
				panic("in OnError")
			}
			a.OnClose = func(*websocket.App, websocket.StatusCode, string) { closes.Add(1) }
			err := runOn(t, onLoop, a, &websocket.RunOptions{DialOptions: websocket.DialOptions{Timeout: testTimeout}})
			var pe *websocket.ProtocolError
			if !errors.As(err, &pe) || errs.Load() != 1 || closes.Load() != 1 {
				t.Errorf("run = %v, OnError %d times, OnClose %d times; want the protocol error, 1, 1", err, errs.Load(), closes.Load())
			}
		})
	}
}
