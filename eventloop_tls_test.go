package websocket_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/leaktest"
	"github.com/wsclient/websocket/internal/proxy/proxytest"
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

// runOnLoop is runEngine for a connection the loop may not own, with ctx.
func runOnLoop(ctx context.Context, t *testing.T, a *websocket.App, opts *websocket.RunOptions) error {
	t.Helper()
	skipWithoutPoller(t)
	l := &oneRunLoop{EventLoop: websocket.NewEventLoop()}
	opts.Dispatcher = l
	if err := a.Run(ctx, opts); err != nil {
		return err
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatalf("loop Run = %v", err)
	}
	return l.s.Err()
}

// echoOnLoop sends a text message to the echo server at url from an App on
// an event loop and describes the echo: its text, and whether the loop
// owned the connection.
func echoOnLoop(t *testing.T, url string, opts *websocket.RunOptions) string {
	t.Helper()
	var e events
	a := &websocket.App{URL: url}
	a.OnOpen = func(a *websocket.App) { a.SendText("hello") }
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		e.add("echo %q, owned by the loop %v", m.Data, websocket.LoopOwned(a.Conn()))
		a.Close()
	}
	if err := runOnLoop(context.Background(), t, a, opts); err != nil {
		t.Fatalf("Run = %v", err)
	}
	return strings.Join(e.list(), "; ")
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

// TestEventLoopEngineTLSSlowPeer: sends of far more than the socket
// buffers hold, and less than the send mark (SendQueueBytes), to a wss
// server that does not read yet return at once (the
// sealed records the socket does not take are queued on the loop and
// written when it turns writable); everything arrives, in order.
func TestEventLoopEngineTLSSlowPeer(t *testing.T) {
	defer leaktest.Check(t)()
	const msgs, size = 24, 256 << 10 // 6 MiB, as TestEventLoopEngineSlowPeer
	ca := wstest.NewCA()
	read := make(chan struct{})
	got := make(chan error, 1)
	// 64 KiB: with 16 KiB (less than loopback's segments), about one run in
	// seven stalled for 40 s, the client's socket on TCP's persist timer:
	// the server's window reopened only at the zero-window probes, whose
	// intervals double.
	small := func(nc net.Conn) net.Conn {
		nc.(*net.TCPConn).SetReadBuffer(64 << 10)
		return nc
	}
	srv := tlsServer(ca, tls.VersionTLS13, small, nil, func(c *wstest.Conn) {
		<-read
		got <- readMarked(c, msgs, size)
		wstest.Echo(c)
	})
	defer srv.Close()
	var e events
	a := &websocket.App{URL: srv.URL}
	a.OnOpen = func(a *websocket.App) {
		sendMarked(t, a, msgs, size)
		e.add("sent")
		close(read) // only reached if no send blocked the loop
		a.SendText("done")
	}
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		e.add("message %q", m.Data)
		a.Close()
	}
	o := tlsRun(ca)
	o.SendQueueBytes = msgs * size * 4 / 3 // what TLS adds included
	if err := runEngine(t, a, o); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if err := <-got; err != nil {
		t.Error(err)
	}
	want := []string{"sent", `message "done"`}
	if g := e.list(); !slices.Equal(g, want) {
		t.Errorf("events\n got %q\nwant %q", g, want)
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
	a.OnPong = func(a *websocket.App, p []byte) {
		if !websocket.LoopOwned(a.Conn()) {
			t.Error("the connection is not owned by the loop's poller")
		}
		e.add("pong %q", p)
	}
	opts := tlsRun(ca)
	opts.PingInterval, opts.PingPayload = 100*time.Millisecond, []byte("hb") // no PingTimeout: 90 ms over TLS with -race ran out on a busy machine
	if err := runEngine(t, a, opts); err != nil {
		t.Fatalf("Run = %v", err)
	}
	want := []string{"open", `pong "hb"`, `pong "hb"`, `pong "hb"`, `close 1001 "bye"`}
	if got := e.list(); !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}

// TestEventLoopEngineTLSPostHandshake: TLS 1.3 messages that come after
// the handshake, on the loop: a session ticket (crypto/tls stores it in
// the session cache) and a KeyUpdate that asks for one back (crypto/tls
// answers through the loop's writes and changes its keys both ways). Go's
// TLS server sends neither on its own once the connection is up, so the
// test writes them itself, sealed with the server's traffic secret (from
// its key log) as the next records of its stream, and everything after
// them with the updated secret.
func TestEventLoopEngineTLSPostHandshake(t *testing.T) {
	defer leaktest.Check(t)()
	ca := wstest.NewCA()
	keys := &keyLog{}
	tap := &tapConn{}
	cfg := ca.ServerConfig()
	cfg.KeyLogWriter = keys
	srv := wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		tap.Conn = nc
		tc := tls.Server(tap, cfg)
		if tc.Handshake() != nil {
			return
		}
		c, err := wstest.Upgrade(tc, nil, nil)
		if err != nil {
			return
		}
		if _, m, err := c.ReadMessage(); err != nil || string(m) != "ready" {
			t.Errorf("the client's first message: %q, %v", m, err)
			return
		}
		suite := tc.ConnectionState().CipherSuite
		out := newRecordSealer(t, suite, keys.secret("SERVER_TRAFFIC_SECRET_0"))
		out.seq = out.count(tap.written.Bytes()) // the records crypto/tls sealed with it
		// NewSessionTicket: lifetime 3600 s, age_add 1, nonce {0}, ticket "ticket", no extensions.
		ticket := []byte{4, 0, 0, 20, 0, 0, 0x0e, 0x10, 0, 0, 0, 1, 1, 0, 0, 6, 't', 'i', 'c', 'k', 'e', 't', 0, 0}
		var b []byte
		b = out.seal(b, ticket, 22)
		b = out.seal(b, []byte{24, 0, 0, 1, 1}, 22) // KeyUpdate, update_requested
		out = out.next()
		b = out.seal(b, wstest.AppendFrame(nil, true, 1, []byte("after the key update")), 23)
		if _, err := nc.Write(b); err != nil {
			return
		}
		// crypto/tls on the server side takes the client's KeyUpdate in
		// and reads the rest with the client's next key.
		if _, m, err := c.ReadMessage(); err != nil || string(m) != "after the key update" {
			t.Errorf("the client's echo: %q, %v", m, err)
			return
		}
		in := newRecordSealer(t, suite, keys.secret("CLIENT_TRAFFIC_SECRET_0")).next()
		if in.count(tap.read.Bytes()) == 0 {
			t.Error("the client sent nothing with its next key")
		}
		if op, m, err := c.ReadMessage(); err != nil || op != 8 {
			t.Errorf("the client's close: %d %q, %v", op, m, err)
			return
		}
		nc.Write(out.seal(nil, wstest.AppendFrame(nil, true, 8, wstest.ClosePayload(1000, "")), 23))
	})
	defer srv.Close()
	srv.URL = "wss" + srv.URL[len("ws"):]
	cache := &countingCache{ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	var e events
	var puts int32
	a := &websocket.App{URL: srv.URL}
	a.OnOpen = func(a *websocket.App) {
		puts = cache.puts.Load()
		a.SendText("ready")
	}
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		e.add("message %q, %d more session", m.Data, cache.puts.Load()-puts)
		a.SendText(string(m.Data))
		a.Close()
	}
	a.OnClose = func(_ *websocket.App, code websocket.StatusCode, _ string) { e.add("close %d", code) }
	opts := tlsRun(ca)
	opts.TLSConfig.ClientSessionCache = cache
	if err := runEngine(t, a, opts); err != nil {
		t.Fatalf("Run = %v", err)
	}
	want := []string{`message "after the key update", 1 more session`, "close 1000"}
	if got := e.list(); !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}

// keyLog collects the secrets of a TLS key log (tls.Config.KeyLogWriter).
type keyLog struct {
	mu      sync.Mutex
	secrets map[string][]byte
}

func (k *keyLog) Write(p []byte) (int, error) {
	f := strings.Fields(string(p)) // label, client random, secret
	if len(f) == 3 {
		s, _ := hex.DecodeString(f[2])
		k.mu.Lock()
		if k.secrets == nil {
			k.secrets = map[string][]byte{}
		}
		k.secrets[f[0]] = s
		k.mu.Unlock()
	}
	return len(p), nil
}

func (k *keyLog) secret(label string) []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.secrets[label]
}

// tapConn keeps a copy of what is written to and read from it.
type tapConn struct {
	net.Conn
	written, read bytes.Buffer
}

func (c *tapConn) Write(p []byte) (int, error) {
	c.written.Write(p)
	return c.Conn.Write(p)
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Write(p[:n])
	return n, err
}

// recordSealer seals and opens the TLS 1.3 records of one traffic secret
// (RFC 8446 §5.2, §7.3).
type recordSealer struct {
	t      *testing.T
	suite  uint16
	h      func() hash.Hash
	secret []byte
	aead   cipher.AEAD
	iv     []byte
	seq    uint64
}

func newRecordSealer(t *testing.T, suite uint16, secret []byte) *recordSealer {
	r := &recordSealer{t: t, suite: suite, secret: secret}
	keyLen := 16
	switch suite {
	case tls.TLS_AES_128_GCM_SHA256:
		r.h = sha256.New
	case tls.TLS_AES_256_GCM_SHA384:
		r.h, keyLen = sha512.New384, 32
	default:
		t.Skipf("the test seals no records of %s", tls.CipherSuiteName(suite))
	}
	block, err := aes.NewCipher(r.expandLabel(secret, "key", keyLen))
	if err != nil {
		t.Fatal(err)
	}
	if r.aead, err = cipher.NewGCM(block); err != nil {
		t.Fatal(err)
	}
	r.iv = r.expandLabel(secret, "iv", 12)
	return r
}

// next returns the sealer of the next traffic secret (a KeyUpdate's).
func (r *recordSealer) next() *recordSealer {
	return newRecordSealer(r.t, r.suite, r.expandLabel(r.secret, "traffic upd", r.h().Size()))
}

// expandLabel is HKDF-Expand-Label with an empty context.
func (r *recordSealer) expandLabel(secret []byte, label string, n int) []byte {
	info := append([]byte{byte(n >> 8), byte(n), byte(6 + len(label))}, "tls13 "+label...)
	out, err := hkdf.Expand(r.h, secret, string(append(info, 0)), n)
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

func (r *recordSealer) nonce() []byte {
	n := slices.Clone(r.iv)
	for i := range 8 {
		n[len(n)-1-i] ^= byte(r.seq >> (8 * i))
	}
	r.seq++
	return n
}

// seal appends a record of content type typ holding content.
func (r *recordSealer) seal(dst, content []byte, typ byte) []byte {
	inner := append(slices.Clone(content), typ)
	n := len(inner) + r.aead.Overhead()
	hdr := []byte{23, 3, 3, byte(n >> 8), byte(n)}
	return r.aead.Seal(append(dst, hdr...), r.nonce(), inner, hdr)
}

// count returns how many records of stream, from the start, are sealed
// with the secret; others (of other secrets) are skipped.
func (r *recordSealer) count(stream []byte) uint64 {
	n := uint64(0)
	for len(stream) >= 5 {
		l := 5 + (int(stream[3])<<8 | int(stream[4]))
		if len(stream) < l {
			break
		}
		hdr, body := stream[:5], stream[5:l]
		nonce := r.nonce()
		if _, err := r.aead.Open(nil, nonce, body, hdr); err == nil {
			n++
		} else {
			r.seq--
		}
		stream = stream[l:]
	}
	return n
}

// TestEventLoopEngineTLSAbortWhileFlowing: a wss connection that another
// goroutine aborts while the server floods it and a goroutine sends on it
// ends cleanly: the run ends, the sender gets an error, nothing is left.
func TestEventLoopEngineTLSAbortWhileFlowing(t *testing.T) {
	defer leaktest.Check(t)()
	ca := wstest.NewCA()
	for _, version := range tlsVersions {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			srv := tlsServer(ca, version, nil, nil, func(c *wstest.Conn) {
				go io.Copy(io.Discard, c.R)
				b := bytes.Repeat(wstest.AppendFrame(nil, true, 2, make([]byte, 1000)), 64)
				for c.WriteRaw(b) == nil {
				}
			})
			defer srv.Close()
			var wg sync.WaitGroup
			defer wg.Wait()
			got := 0
			a := &websocket.App{URL: srv.URL}
			a.OnOpen = func(a *websocket.App) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for a.SendBytes(make([]byte, 3000)) == nil {
					}
				}()
			}
			a.OnMessage = func(a *websocket.App, m websocket.Message) {
				if got++; got == 100 {
					wg.Add(1)
					c := a.Conn()
					go func() {
						defer wg.Done()
						c.Abort()
					}()
				}
			}
			err := runEngine(t, a, tlsRun(ca))
			if err == nil || got < 100 {
				t.Errorf("Run = %v after %d messages, want an error after 100 or more", err, got)
			}
		})
	}
}

// TestEventLoopEngineTLSCloseTimeout: Conn.CloseWith, from a goroutine,
// to a server that never answers the close frame: once the close timeout
// passes the socket is closed, and the run ends.
func TestEventLoopEngineTLSCloseTimeout(t *testing.T) {
	defer leaktest.Check(t)()
	ca := wstest.NewCA()
	srv := tlsServer(ca, tls.VersionTLS13, nil, nil, func(c *wstest.Conn) {
		c.WriteFrame(true, 1, []byte("hi"))
		io.Copy(io.Discard, c.NC)
	})
	defer srv.Close()
	var e events
	a := &websocket.App{URL: srv.URL}
	record(a, &e)
	a.OnOpen, a.OnData = nil, nil
	var wg sync.WaitGroup
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		e.add("message %q", m.Data)
		c := a.Conn()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.CloseWith(websocket.StatusNormal, "", 20*time.Millisecond); err != nil {
				t.Errorf("CloseWith = %v", err)
			}
		}()
	}
	err := runEngine(t, a, tlsRun(ca))
	wg.Wait()
	if err == nil {
		t.Error("Run = nil, want the connection's end")
	}
	want := []string{`message "hi"`, "error", `close 1006 ""`}
	if got := e.list(); !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}

// TestEventLoopEngineTLSCloseUnder: closing the socket under the TLS
// stream (tls.Conn.NetConn().Close(), as a close that runs out of time
// does) ends the connection on the loop at once: the loop stops watching
// the descriptor before it goes, rather than waiting for the pong that
// never comes.
func TestEventLoopEngineTLSCloseUnder(t *testing.T) {
	defer leaktest.Check(t)()
	ca := wstest.NewCA()
	srv := tlsServer(ca, tls.VersionTLS13, nil, nil, wstest.Echo)
	defer srv.Close()
	var wg sync.WaitGroup
	a := &websocket.App{URL: srv.URL}
	a.OnOpen = func(a *websocket.App) {
		if !websocket.LoopOwned(a.Conn()) {
			t.Error("the connection is not owned by the loop's poller")
		}
		nc := a.Conn().NetConn().(*tls.Conn).NetConn()
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc.Close()
		}()
	}
	// No pings: without the loop's notice the connection would wait for
	// the context's end (and Run return nil then).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := runOnLoop(ctx, t, a, tlsRun(ca))
	wg.Wait()
	if !errors.Is(err, websocket.ErrConnectionClosed) {
		t.Errorf("Run = %v, want %v", err, websocket.ErrConnectionClosed)
	}
}

// TestEventLoopEngineTLSPeerEnds: a server that ends its TLS stream
// (close_notify) or its TCP connection without a close frame ends the
// connection on the loop as on a read goroutine: the message before it
// arrives, then the run fails with the same error.
func TestEventLoopEngineTLSPeerEnds(t *testing.T) {
	defer leaktest.Check(t)()
	ca := wstest.NewCA()
	for _, tt := range []struct {
		name string
		end  func(tc *tls.Conn)
	}{
		{"close_notify", func(tc *tls.Conn) { tc.CloseWrite() }},
		{"TCP close", func(tc *tls.Conn) { tc.NetConn().Close() }},
		// A hostile or broken peer below TLS: a record that does not
		// decrypt, and one longer than TLS allows.
		{"corrupt record", func(tc *tls.Conn) {
			tc.NetConn().Write(append([]byte{23, 3, 3, 0, 40}, bytes.Repeat([]byte{0xA5}, 40)...))
		}},
		{"oversized record", func(tc *tls.Conn) {
			tc.NetConn().Write(append([]byte{23, 3, 3, 0xff, 0xff}, make([]byte, 64)...))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := tlsServer(ca, tls.VersionTLS13, nil, nil, func(c *wstest.Conn) {
				c.WriteFrame(true, 1, []byte("last words"))
				tt.end(c.NC.(*tls.Conn))
				io.Copy(io.Discard, c.NC) // until the client closes
			})
			defer srv.Close()
			var results [2]string
			for i, onLoop := range []bool{true, false} {
				var e events
				a := &websocket.App{URL: srv.URL}
				record(a, &e)
				a.OnOpen, a.OnData = nil, nil
				var err error
				if onLoop {
					err = runEngine(t, a, tlsRun(ca))
				} else {
					err = a.Run(context.Background(), tlsRun(ca))
				}
				results[i] = fmt.Sprintf("%q, Run = %v", e.list(), err)
			}
			if results[0] != results[1] {
				t.Errorf("on the loop: %s\nread by a goroutine: %s", results[0], results[1])
			}
			if !strings.Contains(results[0], `message text \"last words\"`) || strings.HasSuffix(results[0], "<nil>") {
				t.Errorf("%s: want the message, then an error", results[0])
			}
		})
	}
}

// TestEventLoopEngineTLSProxies: proxies run during the dial; wss through
// a CONNECT or SOCKS5 tunnel is then the loop's, while TLS inside an https
// proxy's TLS stays with a read goroutine. Each echoes.
func TestEventLoopEngineTLSProxies(t *testing.T) {
	defer leaktest.Check(t)()
	skipWithoutPoller(t)
	ca := wstest.NewCA()
	srv := tlsServer(ca, tls.VersionTLS13, nil, nil, wstest.Echo)
	defer srv.Close()
	for _, tt := range []struct {
		name  string
		proxy func() (*proxytest.Server, string)
		owned bool
	}{
		{"CONNECT", func() (*proxytest.Server, string) {
			return proxytest.Start(t, "127.0.0.1", proxytest.HTTPConnect(proxytest.HTTPOptions{})), "http"
		}, true},
		{"SOCKS5", func() (*proxytest.Server, string) {
			return proxytest.Start(t, "127.0.0.1", proxytest.SOCKS5(proxytest.SOCKSOptions{})), "socks5"
		}, true},
		{"https CONNECT", func() (*proxytest.Server, string) {
			return proxytest.StartTLS(t, "127.0.0.1", ca.Server, proxytest.HTTPConnect(proxytest.HTTPOptions{})), "https"
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, scheme := tt.proxy()
			defer p.Close()
			pu := &url.URL{Scheme: scheme, Host: p.Addr}
			opts := tlsRun(ca)
			opts.Proxy = func(*url.URL) (*url.URL, error) { return pu, nil }
			want := fmt.Sprintf(`echo "hello", owned by the loop %v`, tt.owned)
			if got := echoOnLoop(t, srv.URL, opts); got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
}

// TestEventLoopEngineTLSRenegotiation: a TLSConfig that lets a TLS 1.2
// server renegotiate (a handshake inside a read, which cannot run on the
// loop) keeps a TLS 1.2 connection on a read goroutine; TLS 1.3 has no
// renegotiation and goes to the loop.
func TestEventLoopEngineTLSRenegotiation(t *testing.T) {
	defer leaktest.Check(t)()
	skipWithoutPoller(t)
	ca := wstest.NewCA()
	for _, version := range tlsVersions {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			srv := tlsServer(ca, version, nil, nil, wstest.Echo)
			defer srv.Close()
			opts := tlsRun(ca)
			opts.TLSConfig.Renegotiation = tls.RenegotiateOnceAsClient
			want := fmt.Sprintf(`echo "hello", owned by the loop %v`, version == tls.VersionTLS13)
			if got := echoOnLoop(t, srv.URL, opts); got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
}

// engineTLSServerEnv makes TestEngineHelperTLSServer the server process of
// TestEventLoopEngineManyTLSApps.
const engineTLSServerEnv = "WSCLIENT_ENGINE_TLS_SERVER"

func TestEngineHelperTLSServer(t *testing.T) {
	if os.Getenv(engineTLSServerEnv) != "1" {
		t.Skip("the server process of TestEventLoopEngineManyTLSApps")
	}
	ca := wstest.NewCA()
	srv := wstest.NewTLS(ca.ServerConfig(), wstest.Echo)
	fmt.Println(srv.URL)
	fmt.Println(base64.StdEncoding.EncodeToString(ca.CertPEM))
	io.Copy(io.Discard, os.Stdin) // until the client's process closes it
	srv.Close()
}

// readLoopDispatcher is an EventLoop that takes no socket over: its Apps'
// connections are read by a goroutine each.
type readLoopDispatcher struct{ l *websocket.EventLoop }

func (d readLoopDispatcher) Attach(s *websocket.Session) error { return d.l.Attach(s) }
func (d readLoopDispatcher) Detach(s *websocket.Session)       { d.l.Detach(s) }
func (d readLoopDispatcher) Post(f func()) bool                { return d.l.Post(f) }
func (d readLoopDispatcher) Go(f func())                       { d.l.Go(f) }
func (d readLoopDispatcher) AfterFunc(dur time.Duration, f func()) (stop func() bool) {
	return d.l.AfterFunc(dur, f)
}

// helperProcess starts this test binary running only test, with env set
// to 1, and returns its standard output; stop (deferred) ends it by closing
// its standard input and waits for it.
func helperProcess(t *testing.T, test, env string) (out *bufio.Reader, stop func()) {
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env+"=1")
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
	return bufio.NewReader(stdout), func() {
		stdin.Close()
		cmd.Wait()
	}
}

// settleGoroutines waits (10 s at most) for the goroutines to be no more
// than max, and returns how many there are.
func settleGoroutines(max int) int {
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > max && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	return runtime.NumGoroutine()
}

// heapAndRSS returns the Go heap and stacks in use after a collection,
// and the process's resident set size once the freed memory went back to
// the system (the garbage of TLS handshakes would otherwise count).
func heapAndRSS() (heap, rss uint64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse, rssBytes()
}

// TestEventLoopEngineManyTLSApps opens many wss Apps on one loop against a
// server in another process, then as many read by a goroutine each: the
// loop's have no goroutine per connection, and the memory each costs on
// either path is logged.
func TestEventLoopEngineManyTLSApps(t *testing.T) {
	skipWithoutPoller(t)
	defer leaktest.Check(t)()
	const batch = 300
	out, stop := helperProcess(t, "TestEngineHelperTLSServer", engineTLSServerEnv)
	defer stop()
	url, err := out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	pem, err := base64.StdEncoding.DecodeString(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	url = strings.TrimSpace(url)

	base := runtime.NumGoroutine()
	l := websocket.NewEventLoop()
	done := make(chan error)
	go func() { done <- l.Run(context.Background()) }()
	opened := make(chan struct{}, batch)
	open := func(d websocket.Dispatcher, owned bool, n int) {
		for range n {
			a := &websocket.App{URL: url}
			a.OnOpen = func(a *websocket.App) {
				if websocket.LoopOwned(a.Conn()) != owned {
					t.Errorf("the connection is owned by the loop's poller: %v, want %v", !owned, owned)
				}
				opened <- struct{}{}
			}
			a.OnError = func(_ *websocket.App, err error) { t.Error(err) }
			err := a.Run(context.Background(), &websocket.RunOptions{Dispatcher: d, PingInterval: 30 * time.Second,
				DialOptions: websocket.DialOptions{TLSConfig: &tls.Config{RootCAs: pool}}})
			if err != nil {
				t.Fatal(err)
			}
		}
		for range n {
			<-opened
		}
	}
	perConn := func(h0, r0, h1, r1 uint64) string {
		return fmt.Sprintf("%.0f B of Go heap and stacks, %.0f B of RSS",
			float64(int64(h1)-int64(h0))/batch, float64(int64(r1)-int64(r0))/batch)
	}
	open(l, true, 1) // the loop's poller and its watcher now exist
	// The loop's Run and the watch of its channels, as in
	// TestEventLoopEngineManyApps; the dials' goroutines end.
	g0 := base + 2
	settleGoroutines(g0)
	h0, r0 := heapAndRSS()
	open(l, true, batch)
	g1 := settleGoroutines(g0)
	h1, r1 := heapAndRSS()
	if g1 > g0 {
		t.Errorf("goroutines: %d with 1 App, %d with %d: want no growth", g0, g1, batch+1)
	}
	t.Logf("goroutines: %d with 1 App, %d with %d", g0, g1, batch+1)
	t.Logf("per idle wss connection on the loop: %s (%d Apps)", perConn(h0, r0, h1, r1), batch)
	open(readLoopDispatcher{l}, false, batch)
	g2 := settleGoroutines(g1 + batch)
	h2, r2 := heapAndRSS()
	t.Logf("per idle wss connection read by a goroutine: %s, %.2f goroutines (%d Apps)",
		perConn(h1, r1, h2, r2), float64(g2-g1)/batch, batch)
	l.Stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestEventLoopEngineTLSRecvQueuePauses is TestEventLoopEngineRecvQueuePauses
// over wss: a full receive queue stops the reading of ciphertext too (what
// crypto/tls had not taken, and the plaintext not yet decoded, wait for the
// resume), the server is held back, and every message arrives in order.
func TestEventLoopEngineTLSRecvQueuePauses(t *testing.T) {
	defer leaktest.Check(t)()
	const (
		n, size         = 2000, 1000
		hiCount, hiSize = 8, 4 << 10
	)
	ca := wstest.NewCA()
	var written atomic.Int64
	small := func(nc net.Conn) net.Conn {
		nc.(*net.TCPConn).SetWriteBuffer(64 << 10)
		return nc
	}
	srv := tlsServer(ca, tls.VersionTLS13, small, nil, func(c *wstest.Conn) {
		for i := range n {
			if c.WriteFrame(true, 2, numberedMsg(i, size)) != nil {
				return
			}
			written.Add(int64(size))
		}
		wstest.Echo(c)
	})
	defer srv.Close()
	var got []int
	maxFrames, pauses := 0, 0
	a := &websocket.App{URL: srv.URL}
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		got = append(got, int(binary.BigEndian.Uint32(m.Data)))
		if len(got) == 1 || len(got) == n/2 {
			if !within(func() bool { _, _, paused, _ := websocket.RecvQueueState(a); return paused }) {
				t.Errorf("message %d: the reading did not pause", len(got)-1)
			} else {
				pauses++
			}
			if w := written.Load(); w >= n*size {
				t.Errorf("message %d: the server wrote all %d bytes while the reading was paused", len(got)-1, w)
			}
		}
		f, _, _, _ := websocket.RecvQueueState(a)
		maxFrames = max(maxFrames, f)
		if len(got) == n {
			a.Close()
		}
	}
	a.OnError = func(_ *websocket.App, err error) { t.Errorf("OnError(%v)", err) }
	opts := tlsRun(ca)
	opts.RecvQueueMessages, opts.RecvQueueBytes = hiCount, hiSize
	opts.RecvQueueLowMessages, opts.RecvQueueLowBytes = 2, 1<<10
	opts.NetDialContext = smallReadBuffer
	if err := runEngine(t, a, opts); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if len(got) != n || !slices.IsSorted(got) || got[0] != 0 || got[n-1] != n-1 {
		t.Errorf("%d messages, want %d in order", len(got), n)
	}
	if pauses != 2 || maxFrames > hiCount+1 {
		t.Errorf("%d pauses, queue held up to %d frames: want 2 pauses, at most %d frames", pauses, maxFrames, hiCount+1)
	}
}
