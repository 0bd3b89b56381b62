package websocket_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/leaktest"
	"github.com/wsclient/websocket/internal/wstest"
)

// tlsVersions are the versions the wss tests of the engine run with.
var tlsVersions = []uint16{tls.VersionTLS12, tls.VersionTLS13}

// tlsServer is a wss server with cfg (the CA's certificate, TLS version at
// most version) whose TLS runs over wrap(the TCP connection) when wrap is
// not nil; it answers the handshake with respHeader and runs handle.
func tlsServer(ca *wstest.CA, version uint16, wrap func(net.Conn) net.Conn, respHeader http.Header,
	handle func(*wstest.Conn)) *wstest.Server {
	cfg := ca.ServerConfig()
	cfg.MaxVersion = version
	s := wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		if wrap != nil {
			nc = wrap(nc)
		}
		tc := tls.Server(nc, cfg)
		defer tc.Close()
		if err := tc.Handshake(); err != nil {
			return
		}
		if c, err := wstest.Upgrade(tc, nil, respHeader); err == nil {
			handle(c)
		}
	})
	s.URL = "wss" + s.URL[len("ws"):]
	return s
}

// tlsRun is RunOptions trusting ca.
func tlsRun(ca *wstest.CA) *websocket.RunOptions {
	return &websocket.RunOptions{DialOptions: websocket.DialOptions{TLSConfig: &tls.Config{RootCAs: ca.Pool}}}
}

// TestEventLoopEngineTLSEcho: a wss connection is owned by the loop's
// poller (TLS 1.2 and 1.3); small messages, large ones (many records, cut
// by the loop's 64 KiB reads), fragments and pings arrive whole and in
// order, sends reach the server, and the closing handshake completes.
func TestEventLoopEngineTLSEcho(t *testing.T) {
	defer leaktest.Check(t)()
	ca := wstest.NewCA()
	big := bytes.Repeat([]byte("0123456789abcdef"), 300<<10/16)
	for _, version := range tlsVersions {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			srv := tlsServer(ca, version, nil, nil, func(c *wstest.Conn) {
				b := wstest.AppendFrame(nil, false, 1, []byte("frag"))
				b = wstest.AppendFrame(b, true, 9, []byte("ping"))
				b = wstest.AppendFrame(b, true, 0, []byte("ments"))
				c.WriteRaw(b)
				wstest.Echo(c)
			})
			defer srv.Close()
			var e events
			a := &websocket.App{URL: srv.URL}
			record(a, &e)
			a.OnData = nil
			a.OnOpen = func(a *websocket.App) {
				if tc, ok := a.Conn().NetConn().(*tls.Conn); !ok || tc.ConnectionState().Version != version {
					t.Errorf("NetConn is %T, not %s", a.Conn().NetConn(), tls.VersionName(version))
				}
				e.add("open")
				a.SendText("hello")
				a.SendBytes(big)
			}
			n := 0
			a.OnMessage = func(a *websocket.App, m websocket.Message) {
				if len(m.Data) > 100 {
					e.add("big equal %v", bytes.Equal(m.Data, big))
				} else {
					e.add("message %s %q", m.Opcode, m.Data)
				}
				if n++; n == 3 {
					a.Close()
				}
			}
			if err := runEngine(t, a, tlsRun(ca)); err != nil {
				t.Fatalf("Run = %v", err)
			}
			want := []string{"open", `ping "ping"`, `message text "fragments"`, `message text "hello"`,
				"big equal true", `close 1000 ""`}
			if got := e.list(); !slices.Equal(got, want) {
				t.Errorf("events\n got %q\nwant %q", got, want)
			}
		})
	}
}

// holdConn keeps what is written to it while hold is set, noting where
// each write (a TLS record) ends, until release writes it.
type holdConn struct {
	net.Conn
	hold bool
	buf  []byte
	ends []int
}

func (c *holdConn) Write(p []byte) (int, error) {
	if !c.hold {
		return c.Conn.Write(p)
	}
	c.buf = append(c.buf, p...)
	c.ends = append(c.ends, len(c.buf))
	return len(p), nil
}

// release writes the bytes kept up to n and stops keeping any; rest
// writes the others.
func (c *holdConn) release(n int) error {
	_, err := c.Conn.Write(c.buf[:n])
	c.hold = false
	return err
}

func (c *holdConn) rest(n int) error {
	_, err := c.Conn.Write(c.buf[n:])
	c.buf, c.ends = c.buf[:0], nil
	return err
}

// TestEventLoopEngineTLSCutRecords: a record that arrives in two pieces,
// cut in its header, in its payload or before its last byte, is put
// together across two of the loop's reads. The server writes a whole
// record and the first piece of the next in one write, waits until the
// client has answered the first record's message (so it has read both),
// and then writes the rest. The first pieces come right behind the 101
// response, so the dial's TLS reads usually take them in, and the loop
// starts with a cut record that crypto/tls holds.
func TestEventLoopEngineTLSCutRecords(t *testing.T) {
	defer leaktest.Check(t)()
	ca := wstest.NewCA()
	for _, version := range tlsVersions {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			cuts := []int{3, 12, -1, 3} // into the second record; -1: all of it but its last byte
			hc := &holdConn{}
			srv := tlsServer(ca, version, func(nc net.Conn) net.Conn { hc.Conn = nc; return hc }, nil,
				func(c *wstest.Conn) {
					for i, cut := range cuts {
						hc.hold = true
						c.WriteFrame(true, 1, fmt.Appendf(nil, "first %d", i))
						c.WriteFrame(true, 2, bytes.Repeat([]byte{byte(i)}, 1000*(i+1)))
						if cut < 0 {
							cut = hc.ends[1] - hc.ends[0] - 1
						}
						cut += hc.ends[0]
						if hc.release(cut) != nil {
							return
						}
						if _, ack, err := c.ReadMessage(); err != nil || string(ack) != "ack" {
							t.Errorf("the client's answer: %q, %v", ack, err)
							return
						}
						if hc.rest(cut) != nil {
							return
						}
					}
					wstest.Echo(c)
				})
			defer srv.Close()
			var e events
			a := &websocket.App{URL: srv.URL}
			a.OnMessage = func(a *websocket.App, m websocket.Message) {
				if m.Opcode == websocket.OpText {
					e.add("message %q", m.Data)
					a.SendText("ack")
					return
				}
				i := int(m.Data[0])
				e.add("second %d equal %v", i, bytes.Equal(m.Data, bytes.Repeat([]byte{byte(i)}, 1000*(i+1))))
				if i == len(cuts)-1 {
					a.Close()
				}
			}
			if err := runEngine(t, a, tlsRun(ca)); err != nil {
				t.Fatalf("Run = %v", err)
			}
			want := []string{`message "first 0"`, "second 0 equal true", `message "first 1"`, "second 1 equal true",
				`message "first 2"`, "second 2 equal true", `message "first 3"`, "second 3 equal true"}
			if got := e.list(); !slices.Equal(got, want) {
				t.Errorf("events\n got %q\nwant %q", got, want)
			}
		})
	}
}

// TestEventLoopEngineTLSCompression: permessage-deflate over wss on the
// loop; the server sends each compressed message back as it came.
func TestEventLoopEngineTLSCompression(t *testing.T) {
	defer leaktest.Check(t)()
	ca := wstest.NewCA()
	compressed := make(chan bool, 1)
	srv := tlsServer(ca, tls.VersionTLS13, nil,
		http.Header{"Sec-Websocket-Extensions": {"permessage-deflate; server_no_context_takeover; client_no_context_takeover"}},
		func(c *wstest.Conn) {
			for {
				f, err := c.ReadFrame()
				if err != nil {
					return
				}
				if f.Opcode == 8 {
					c.WriteFrame(true, 8, f.Payload)
					return
				}
				compressed <- f.Rsv&4 != 0
				c.WriteRaw(wstest.AppendFrameRsv(nil, f.Fin, f.Rsv, f.Opcode, f.Payload))
			}
		})
	defer srv.Close()
	long := bytes.Repeat([]byte("compress me "), 10000)
	var e events
	a := &websocket.App{URL: srv.URL}
	a.OnOpen = func(a *websocket.App) { a.SendBytes(long) }
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		e.add("echo equal %v, compressed %v", bytes.Equal(m.Data, long), <-compressed)
		a.Close()
	}
	opts := tlsRun(ca)
	opts.Compression = &websocket.CompressionOptions{}
	if err := runEngine(t, a, opts); err != nil {
		t.Fatalf("Run = %v", err)
	}
	want := []string{"echo equal true, compressed true"}
	if got := e.list(); !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}

// TestEventLoopEngineTLSKeepAliveAndServerClose: automatic pings go out
// and their pongs come back over wss on the loop; then the server closes.
func TestEventLoopEngineTLSKeepAliveAndServerClose(t *testing.T) {
	defer leaktest.Check(t)()
	ca := wstest.NewCA()
	srv := tlsServer(ca, tls.VersionTLS13, nil, nil, func(c *wstest.Conn) {
		pings := 0
		for pings < 3 {
			f, err := c.ReadFrame()
			if err != nil {
				return
			}
			if f.Opcode == 9 {
				pings++
				c.WriteFrame(true, 10, f.Payload)
			}
		}
		c.WriteFrame(true, 8, wstest.ClosePayload(1001, "bye"))
		for {
			if f, err := c.ReadFrame(); err != nil || f.Opcode == 8 {
				return
			}
		}
	})
	defer srv.Close()
	var e events
	a := &websocket.App{URL: srv.URL}
	record(a, &e)
	opts := tlsRun(ca)
	opts.PingInterval, opts.PingTimeout, opts.PingPayload = 50*time.Millisecond, 45*time.Millisecond, []byte("hb")
	if err := runEngine(t, a, opts); err != nil {
		t.Fatalf("Run = %v", err)
	}
	want := []string{"open", `pong "hb"`, `pong "hb"`, `pong "hb"`, `close 1001 "bye"`}
	if got := e.list(); !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}
