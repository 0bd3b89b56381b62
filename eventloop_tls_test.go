package websocket_test

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/http"
	"slices"
	"testing"

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
