package interop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"embed"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	websocket "github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/h2"
	iwstest "github.com/wsclient/websocket/internal/wstest"
	"github.com/wsclient/websocket/interop/harness"
	"github.com/wsclient/websocket/interop/internal/goservers"
	"github.com/wsclient/websocket/interop/internal/matrix"
)

// The HTTP/2 tests check WebSockets over HTTP/2 (RFC 8441) against real
// servers from Debian's packages (interop/install-h2.sh installs them),
// each started on a loopback port with TLS and ALPN h2: haproxy, Apache
// httpd (mod_http2 with H2WebSockets) and nghttpx in front of an HTTP/1.1
// WebSocket echo backend (the in-process gorilla/websocket server), and
// hypercorn serving a small ASGI echo app (h2conf/asgi_echo.py) itself.
//
// Each server gets the main matrix's checks through the public Dial with
// HTTP2Require (one HTTP2Transport per server, so its WebSockets share
// connections), then two of its own: many WebSockets on one connection,
// counted in the server's log, and the fallback to HTTP/1.1 of
// HTTP2Prefer against the server set up without WebSockets over HTTP/2.
// Two checks drive the HTTP/2 transport (internal/h2) by hand to show
// server behaviour the client works around: Apache's limit of open
// streams on a new connection, and hypercorn's missing END_STREAM.

//go:embed h2conf/*.tmpl
var h2ConfFS embed.FS

var h2Conf = template.Must(template.ParseFS(h2ConfFS, "h2conf/*.tmpl"))

// h2IOTimeout bounds every dial, stream open, read and write of the HTTP/2
// checks.
const h2IOTimeout = 20 * time.Second

// h2EndTimeout bounds the wait for the server's END_STREAM after the close
// handshake.
const h2EndTimeout = 5 * time.Second

// h2Streams is how many WebSockets the many-streams check opens on one
// connection, all open at once where the server allows it: the servers'
// default SETTINGS_MAX_CONCURRENT_STREAMS.
const h2Streams = 100

// h2Server is one HTTP/2 server program.
type h2Server struct {
	name string
	// start starts it; with off, without WebSockets over HTTP/2: the
	// server's setting that turns extended CONNECT off (RFC 8441 §3), or
	// where it has none, ALPN offering http/1.1 only.
	start func(t *testing.T, off bool) *h2Target
	// off says how start(t, true) turns WebSockets over HTTP/2 off.
	off string
	// maxOpen, when not 0, is how many WebSockets the server serves at
	// once on a new connection; the many-streams check opens the streams
	// in groups of that size, and the server's limit check shows it.
	maxOpen int
	// noEnd, when not "", is why the server neither ends nor resets a
	// stream after a close handshake the client started; the server's end
	// check shows what it does.
	noEnd string
}

func h2Servers() []h2Server {
	return []h2Server{
		{name: "haproxy", start: startH2HAProxy, off: "extended CONNECT off (h2-workaround-bogus-websocket-clients): a new connection for HTTP/1.1"},
		{name: "apache", start: startH2Apache, off: "extended CONNECT off (H2WebSockets off): a new connection for HTTP/1.1", maxOpen: apacheMaxOpen},
		{name: "nghttpx", start: startH2Nghttpx, off: "nghttpx cannot turn extended CONNECT off: ALPN offers http/1.1 only (--npn-list), the Upgrade runs on the same TLS connection"},
		{
			name:  "hypercorn",
			start: startH2Hypercorn,
			off:   "hypercorn cannot turn extended CONNECT off: ALPN offers http/1.1 only (alpn_protocols), the Upgrade runs on the same TLS connection",
			noEnd: "hypercorn 0.13.2 answers the client's close frame but then forgets the stream without END_STREAM or RST_STREAM, and drops the whole connection on the client's END_STREAM there: " +
				"the client, which knows hypercorn by its Server header, resets the stream (RST_STREAM CANCEL) after the close handshake instead (checked)",
		},
	}
}

// h2Target is a started HTTP/2 server.
type h2Target struct {
	addr    string // "127.0.0.1:port"
	ca      *harness.CA
	version string
	// logs returns the server's output so far, where it writes one line
	// per WebSocket stream: "stream 127.0.0.1:PORT METHOD PATH ..." (PORT
	// is the client's: the TCP connection).
	logs func() string
	// proc is the server's process, for the App restart check.
	proc *harness.Process
	// maxOpen and noEnd are h2Server's.
	maxOpen int
	noEnd   bool
}

// target returns tg as a target of the main matrix's checks: Dial with
// HTTP2Require and one HTTP2Transport (closed when the test ends), and the
// server's process killed and started again for the App restart check.
func (tg *h2Target) target(t *testing.T) *target {
	tr := &websocket.HTTP2Transport{}
	t.Cleanup(func() { tr.Close() })
	return &target{
		url:     "wss://" + tg.addr + "/",
		version: tg.version,
		status:  http.StatusOK, // RFC 8441 §5: a 2xx answers the extended CONNECT
		options: func() *websocket.DialOptions {
			return &websocket.DialOptions{TLSConfig: tg.tlsConfig(), HTTP2: websocket.HTTP2Require, HTTP2Transport: tr}
		},
		stop:   func(*testing.T) { tg.proc.Kill() },
		resume: func(t *testing.T) { tg.proc.Start(t) },
	}
}

// tlsConfig trusts the server's CA. One per target: HTTP2Transport shares
// connections between dials with the same TLSConfig pointer.
func (tg *h2Target) tlsConfig() *tls.Config {
	return &tls.Config{RootCAs: tg.ca.Pool()}
}

// The columns of the HTTP/2 matrix after the main matrix's checks.
const (
	h2ColStreams  = "100 streams"
	h2ColFallback = "fallback"
)

var h2Results = func() *matrix.Matrix {
	var cols []string
	for _, c := range checks() {
		cols = append(cols, c.name)
	}
	return matrix.New(append(cols, h2ColStreams, h2ColFallback)...)
}()

// h2MatrixFile is where a run of every HTTP/2 check writes the HTTP/2
// matrix.
const h2MatrixFile = "H2.md"

// TestH2Servers runs the main matrix's checks against each server through
// Dial over HTTP/2, then opens 100 WebSockets on one TCP connection (the
// server's own log shows their port) and checks the fallback of
// HTTP2Prefer against the server without WebSockets over HTTP/2. The
// results form a matrix of their own, printed at the end and written to
// h2MatrixFile.
func TestH2Servers(t *testing.T) {
	for _, srv := range h2Servers() {
		t.Run(srv.name, func(t *testing.T) {
			h2Results.AddRow(srv.name, "")
			start := time.Now()
			var tg *h2Target
			defer func() {
				if tg != nil {
					return
				}
				c := matrix.Cell{Status: matrix.Fail, Note: "the server did not start (details in the test log)"}
				if t.Skipped() {
					c = matrix.Cell{Status: matrix.Skipped, Note: "a program is missing: run interop/install.sh as root"}
				}
				h2Results.SetRow(srv.name, c)
			}()
			tg = srv.start(t, false)
			tg.maxOpen, tg.noEnd = srv.maxOpen, srv.noEnd != ""
			h2Results.AddRow(srv.name, tg.version)
			t.Logf("%s: %s, started in %v", srv.name, tg.version, time.Since(start).Round(time.Millisecond))
			wt := tg.target(t)
			for _, ck := range checks() {
				runCheck(t, h2Results, srv.name, ck, wt)
			}
			check := func(col, name, note string, f func(t *testing.T)) {
				h2Check(t, srv.name, col, name, note, f)
			}
			if srv.noEnd != "" {
				check(checkClientClose, "no end after the client's close", srv.noEnd, func(t *testing.T) { h2NoEnd(t, tg) })
			}
			var streamsNote string
			if srv.maxOpen != 0 {
				streamsNote = fmt.Sprintf("at most %d open at once: on a new connection mod_http2 holds back the stream after %d open WebSockets until one ends (checked); "+
					"no directive raises it (H2MaxSessionStreams only bounds what SETTINGS announce), and resetting streams lowered it further in our runs (mod_http2 counts client resets against a connection), so the client ends streams with END_STREAM", srv.maxOpen, srv.maxOpen)
			}
			check(h2ColStreams, "100 streams", streamsNote, func(t *testing.T) { h2ManyStreams(t, tg) })
			if srv.maxOpen != 0 {
				check(h2ColStreams, "open streams limit", streamsNote, func(t *testing.T) { h2OpenLimit(t, tg) })
			}
			check(h2ColFallback, "fallback", srv.off, func(t *testing.T) { h2Fallback(t, srv.start(t, true)) })
			t.Logf("%s: all checks in %v", srv.name, time.Since(start).Round(time.Millisecond))
		})
	}
	if h2Results.Complete() {
		md := renderH2Matrix()
		fmt.Printf("\n%s\n", md)
		if *update || flag.Lookup("test.run").Value.String() == "" {
			if err := os.WriteFile(h2MatrixFile, []byte(md), 0o644); err != nil {
				t.Errorf("write %s: %v", h2MatrixFile, err)
			}
			// The README shows the matrix once it has markers for it.
			if strings.Contains(readFile(readmeFile), "<!-- BEGIN h2-matrix -->") {
				if err := spliceReadme("h2-matrix", md); err != nil {
					t.Error(err)
				}
			}
		}
	}
}

// h2Check runs one check of a server as a subtest and records it in column
// col of the server's row, with note when it passes. A column that has
// failed already stays failed.
func h2Check(t *testing.T, row, col, name, note string, f func(t *testing.T)) {
	t.Helper()
	var skipped bool
	ok := t.Run(name, func(t *testing.T) {
		defer func() { skipped = t.Skipped() && !t.Failed() }()
		f(t)
	})
	if h2Results.Get(row, col).Status == matrix.Fail {
		return
	}
	c := matrix.Cell{Status: matrix.OK, Note: note}
	switch {
	case !ok:
		c = matrix.Cell{Status: matrix.Fail, Note: "failed: " + name + " (details in the test log)"}
	case skipped:
		c = matrix.Cell{Status: matrix.Skipped, Note: "a program is missing: run interop/install.sh as root"}
	}
	h2Results.Set(row, col, c)
}

// renderH2Matrix returns H2.md's contents.
func renderH2Matrix() string {
	var b strings.Builder
	b.WriteString("# WebSockets over HTTP/2 (RFC 8441) matrix\n\n")
	b.WriteString("Generated by `go test -run H2` in `interop/` (`-update` rewrites it); do not edit by hand.\n")
	fmt.Fprintf(&b, "Client: github.com/wsclient/websocket at the working tree, %s %s/%s.\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	b.WriteString("Each row is a real server on loopback with TLS and ALPN h2; the proxies pass the WebSockets to an HTTP/1.1 ")
	b.WriteString("echo backend (gorilla/websocket, whose permessage-deflate is without context takeover). ")
	b.WriteString("The client is `websocket.Dial` with `HTTP2Require` and one `HTTP2Transport` per row, so each WebSocket is a stream ")
	b.WriteString("of a shared connection, and the columns up to **deflate, no takeover** are the checks of [MATRIX.md](MATRIX.md) ")
	b.WriteString("(App restart kills the server's process and starts it again). ")
	b.WriteString("**100 streams**: 100 WebSockets dialled on a fresh transport echo a message each and close, and all 100 are in ")
	b.WriteString("the server's own log with the port of one TCP connection, on which one more WebSocket then runs; ")
	b.WriteString("**fallback**: against the server set up without WebSockets over HTTP/2, `HTTP2Prefer` opens the WebSocket over ")
	b.WriteString("HTTP/1.1 (status 101) and echoes, and `HTTP2Require` fails saying why.\n\n")
	b.WriteString(h2Results.Markdown())
	return b.String()
}

// h2Fallback checks a server without WebSockets over HTTP/2: HTTP2Prefer
// falls back to the HTTP/1.1 Upgrade, HTTP2Require fails.
func h2Fallback(t *testing.T, tg *h2Target) {
	tr := &websocket.HTTP2Transport{}
	defer tr.Close()
	url := "wss://" + tg.addr + "/fallback"
	opts := &websocket.DialOptions{TLSConfig: tg.tlsConfig(), HTTP2: websocket.HTTP2Prefer, HTTP2Transport: tr}
	c, err := dialWith(t, url, opts)
	if err != nil {
		t.Fatalf("HTTP2Prefer: %v", err)
	}
	defer c.Abort()
	if c.Status() != http.StatusSwitchingProtocols {
		t.Errorf("HTTP2Prefer: status %d, want 101 (HTTP/1.1)", c.Status())
	}
	if err := c.SendText("over HTTP/1.1"); err != nil {
		t.Fatal(err)
	}
	expectMessage(t, c, websocket.OpText, []byte("over HTTP/1.1"))
	if err := c.Close(); err != nil {
		t.Error(err)
	}
	opts = &websocket.DialOptions{TLSConfig: tg.tlsConfig(), HTTP2: websocket.HTTP2Require, HTTP2Transport: &websocket.HTTP2Transport{}}
	defer opts.HTTP2Transport.Close()
	c, err = dialWith(t, url, opts)
	if err == nil {
		c.Abort()
		t.Fatal("HTTP2Require succeeded against a server without WebSockets over HTTP/2")
	}
	if !strings.Contains(err.Error(), "HTTP/2 required, but") {
		t.Errorf("HTTP2Require: %v, want an error saying what was missing", err)
	}
	t.Logf("HTTP2Require: %v", err)
}

// h2ManyStreams dials h2Streams WebSockets on a fresh transport, all open
// at once (in groups of maxOpen where the server limits it), echoes a
// message on each, closes them, and then checks in the server's log that
// every one of them came from one connection's port.
func h2ManyStreams(t *testing.T, tg *h2Target) {
	tr := &websocket.HTTP2Transport{}
	defer tr.Close()
	opts := &websocket.DialOptions{TLSConfig: tg.tlsConfig(), HTTP2: websocket.HTTP2Require, HTTP2Transport: tr}
	group := h2Streams
	if tg.maxOpen != 0 {
		group = tg.maxOpen
	}
	ports := map[string]bool{}
	logStart := len(tg.logs()) // the earlier checks' lines
	for first := 0; first < h2Streams; first += group {
		conns := make([]*websocket.Conn, min(group, h2Streams-first))
		var wg sync.WaitGroup
		for i := range conns {
			wg.Go(func() {
				c, err := dialWith(t, fmt.Sprintf("wss://%s/streams/%d", tg.addr, first+i), opts)
				if err != nil {
					t.Errorf("stream %d: %v", first+i, err)
					return
				}
				conns[i] = c
				msg := fmt.Appendf(nil, "stream %d of %d", first+i, h2Streams)
				if err := c.SendText(string(msg)); err != nil {
					t.Errorf("stream %d: %v", first+i, err)
					return
				}
				if m, err := c.Recv(); err != nil || !bytes.Equal(m.Data, msg) {
					t.Errorf("stream %d: got %q, %v; want %q", first+i, m.Data, err, msg)
				}
			})
		}
		wg.Wait()
		for _, c := range conns {
			if c == nil {
				continue
			}
			_, port, _ := net.SplitHostPort(c.NetConn().LocalAddr().String())
			ports[port] = true
			if err := c.Close(); err != nil {
				t.Error(err)
			}
		}
		if t.Failed() {
			return
		}
	}
	if len(ports) != 1 {
		t.Fatalf("the WebSockets ran on %d TCP connections (client ports %v), want 1", len(ports), ports)
	}
	var port string
	for p := range ports {
		port = p
	}
	// The connection outlived the 100 closes: one more WebSocket uses it.
	// Dialled before the log is read: a server may log a stream that
	// ended only at the connection's next event (Apache once logged 99 of
	// the 100 in 15 s on a busy machine, the last one missing).
	c, err := dialWith(t, "wss://"+tg.addr+"/streams/after", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, p, _ := net.SplitHostPort(c.NetConn().LocalAddr().String()); p != port {
		t.Errorf("a WebSocket after the 100 closes ran on port %s, want the same connection (%s)", p, port)
	}
	// The server logs a stream when it ends (hypercorn: when it accepts
	// it), maybe a moment after the client saw the end. The connection's
	// port tells its streams apart from the others in what the server
	// logged since this check began; not in the whole log, as the kernel
	// may have given the connection the port of an earlier check's closed
	// one. (hypercorn puts the time and its pid before "stream".) The
	// WebSocket still open is logged too by a server that logs a stream
	// when it accepts it (hypercorn, which by then had logged the 100).
	line := regexp.MustCompile(`(?m)\bstream 127\.0\.0\.1:` + port + ` `)
	err = waitFor(15*time.Second, func() error {
		if n := len(line.FindAllString(tg.logs()[logStart:], -1)); n < h2Streams || n > h2Streams+1 {
			return fmt.Errorf("%d streams from the connection's port %s in the server's log, want %d", n, port, h2Streams)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%v; its log ends with:\n%s", err, tailLines(tg.logs(), 10))
	}
}

// apacheMaxOpen is how many streams Apache's mod_http2 processes at once on
// a new connection: it starts each connection at 6 (the HTTP/1.1 habit of
// six parallel connections) and raises the limit only as streams finish,
// and a WebSocket does not finish while it is open.
const apacheMaxOpen = 6

// h2OpenLimit shows a server's limit of open WebSockets on a new
// connection (h2Server.maxOpen): with that many open, the next one gets no
// answer until one of them ends; then it does.
func h2OpenLimit(t *testing.T, tg *h2Target) {
	cc := h2Connect(t, tg)
	wss := make([]*h2WS, tg.maxOpen)
	for i := range wss {
		wss[i] = h2Open(t, cc, tg, fmt.Sprintf("/limit/%d", i))
	}
	type result struct {
		st  *h2.Stream
		err error
	}
	res := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), h2IOTimeout)
		defer cancel()
		_, st, err := cc.OpenWebSocket(ctx, h2Request(tg, "/limit/next"))
		res <- result{st, err}
	}()
	// There is no event that says the server has decided to hold the
	// stream back: give it a second to answer, which it would on loopback.
	select {
	case r := <-res:
		if r.st != nil {
			r.st.Close()
		}
		t.Fatalf("stream %d of a new connection with %d open: answered (err %v), want it held back", tg.maxOpen+1, tg.maxOpen, r.err)
	case <-time.After(time.Second):
	}
	wss[0].closeHandshake(t, 1000, "")
	r := <-res
	if r.err != nil {
		t.Fatalf("stream %d after one of the %d open ones ended: %v", tg.maxOpen+1, tg.maxOpen, r.err)
	}
	r.st.Close()
}

// h2NoEnd shows what a server with h2Server.noEnd does after a close
// handshake that the client started: no END_STREAM, and the client's
// END_STREAM costs the connection.
func h2NoEnd(t *testing.T, tg *h2Target) {
	cc := h2Connect(t, tg)
	ws := h2Open(t, cc, tg, "/no-end")
	op, payload := ws.exchange(t, opClose, iwstest.ClosePayload(1000, ""))
	if op != opClose {
		t.Fatalf("after the client's close: got opcode %d %q, want a close frame", op, payload)
	}
	ws.st.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := io.Copy(io.Discard, ws.st); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("after the close handshake: %d more bytes and %v, want nothing for a second (no END_STREAM): the server's behaviour changed, update h2Server.noEnd", n, err)
	}
	if err := ws.st.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cc.Done():
		t.Logf("the server dropped the connection after the client's END_STREAM: %v", cc.Err())
	case <-time.After(h2EndTimeout):
		t.Errorf("the connection outlived the client's END_STREAM: the server's behaviour changed, update h2Server.noEnd")
	}
}

// --- connecting ---

// h2Connect dials tg over TLS with ALPN h2 and starts an HTTP/2 connection,
// closed when the test ends.
func h2Connect(t *testing.T, tg *h2Target) *h2.ClientConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), h2IOTimeout)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{
		RootCAs:    tg.ca.Pool(),
		ServerName: "localhost",
		NextProtos: []string{"h2"},
	}}
	nc, err := d.DialContext(ctx, "tcp", tg.addr)
	if err != nil {
		t.Fatalf("dial %s: %v", tg.addr, err)
	}
	if p := nc.(*tls.Conn).ConnectionState().NegotiatedProtocol; p != "h2" {
		nc.Close()
		t.Fatalf("ALPN: the server chose %q, want h2", p)
	}
	cc, err := h2.NewClientConn(ctx, nc, nil)
	if err != nil {
		t.Fatalf("HTTP/2 connection: %v", err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// h2Request is the extended CONNECT request for path on tg.
func h2Request(tg *h2Target, path string) *h2.Request {
	_, port, _ := net.SplitHostPort(tg.addr)
	return &h2.Request{
		Scheme:    "https",
		Authority: "localhost:" + port,
		Path:      path,
		Header:    http.Header{"Sec-Websocket-Version": {"13"}},
	}
}

// h2Open opens a WebSocket on a new stream of cc and checks the answer
// (RFC 8441 §5: a 2xx status, no Sec-WebSocket-Accept).
func h2Open(t *testing.T, cc *h2.ClientConn, tg *h2Target, path string) *h2WS {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), h2IOTimeout)
	defer cancel()
	resp, st, err := cc.OpenWebSocket(ctx, h2Request(tg, path))
	if err != nil {
		t.Fatalf("extended CONNECT %s: %v", path, err)
	}
	t.Cleanup(func() { st.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Errorf("extended CONNECT %s: status %d, want 200", path, resp.StatusCode)
	}
	return &h2WS{st: st, c: &iwstest.Conn{NC: st, R: bufio.NewReader(st)}, noEnd: tg.noEnd}
}

// --- WebSocket frames on a stream ---

// The opcodes of RFC 6455 §5.2.
const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

// h2WS is the client end of a WebSocket on an HTTP/2 stream, framed by
// hand: masked frames out, unmasked frames in (RFC 6455 §5.1).
type h2WS struct {
	st *h2.Stream
	c  *iwstest.Conn // its ReadFrame reads frames of either direction
	// noEnd: the server does not end the stream after a close handshake
	// the client started (h2Server.noEnd).
	noEnd bool
}

// tryWrite sends one masked frame.
func (ws *h2WS) tryWrite(op byte, payload []byte) error {
	var key [4]byte
	rand.Read(key[:])
	ws.st.SetWriteDeadline(time.Now().Add(h2IOTimeout))
	_, err := ws.st.Write(iwstest.AppendMaskedFrame(nil, true, op, key, payload))
	return err
}

// tryRead returns the next message or control frame; the frames of a
// fragmented message are joined.
func (ws *h2WS) tryRead() (op byte, payload []byte, err error) {
	ws.st.SetReadDeadline(time.Now().Add(h2IOTimeout))
	for {
		f, err := ws.c.ReadFrame()
		if err != nil {
			return 0, nil, err
		}
		switch {
		case f.Masked:
			return 0, nil, fmt.Errorf("the server sent a masked frame (opcode %d), which RFC 6455 §5.1 forbids", f.Opcode)
		case f.Rsv != 0:
			return 0, nil, fmt.Errorf("frame with RSV bits %03b, no extension negotiated", f.Rsv)
		case f.Opcode == opPing && op != 0:
			// Between the fragments of a message (RFC 6455 §5.4): answer
			// it and read on.
			if err := ws.tryWrite(opPong, f.Payload); err != nil {
				return 0, nil, err
			}
			continue
		case f.Opcode == opPong && op != 0:
			continue
		case f.Opcode == opClose && op != 0:
			return opClose, f.Payload, nil
		case f.Opcode == opCont && op == 0:
			return 0, nil, errors.New("continuation frame without a message to continue")
		case f.Opcode != opCont && op != 0:
			return 0, nil, fmt.Errorf("opcode %d inside a fragmented message", f.Opcode)
		}
		if f.Opcode != opCont {
			op = f.Opcode
		}
		payload = append(payload, f.Payload...)
		if f.Fin {
			return op, payload, nil
		}
	}
}

// tryExchange sends a frame while it reads the answer, so that a large
// echo cannot stall on flow control in either direction.
func (ws *h2WS) tryExchange(op byte, payload []byte) (byte, []byte, error) {
	werr := make(chan error, 1)
	go func() { werr <- ws.tryWrite(op, payload) }()
	gotOp, got, rerr := ws.tryRead()
	if err := <-werr; err != nil {
		return 0, nil, fmt.Errorf("write opcode %d, %d bytes: %w", op, len(payload), err)
	}
	if rerr != nil {
		return 0, nil, fmt.Errorf("read the answer to opcode %d, %d bytes: %w", op, len(payload), rerr)
	}
	return gotOp, got, nil
}

func (ws *h2WS) exchange(t *testing.T, op byte, payload []byte) (byte, []byte) {
	t.Helper()
	gotOp, got, err := ws.tryExchange(op, payload)
	if err != nil {
		t.Fatal(err)
	}
	return gotOp, got
}

// closeHandshake sends a close frame with code and reason, expects the
// server's close frame with the same code (RFC 6455 §5.5.1: servers echo
// the code) and then the end of the stream.
func (ws *h2WS) closeHandshake(t *testing.T, code uint16, reason string) {
	t.Helper()
	op, payload := ws.exchange(t, opClose, iwstest.ClosePayload(code, reason))
	if op != opClose {
		t.Fatalf("after the client's close: got opcode %d %q, want a close frame", op, payload)
	}
	if got, _ := closeStatus(payload); got != code {
		t.Errorf("server's answer to close %d: close %d %q", code, got, payload)
	}
	if ws.noEnd {
		// The server will not end the stream (h2Server.noEnd).
		ws.st.Reset()
		return
	}
	ws.wantEnd(t)
}

// wantEnd ends the client's side of the stream after the close handshake
// and expects the server to end its side (RFC 8441 §5: END_STREAM stands
// for the TCP FIN; RFC 6455 §7.1.1).
func (ws *h2WS) wantEnd(t *testing.T) {
	t.Helper()
	// A server that has ended its side already may reset the stream
	// (haproxy: CANCEL) before the client's END_STREAM goes out: then
	// CloseWrite fails, and the read below still sees the end.
	cwErr := ws.st.CloseWrite()
	ws.st.SetReadDeadline(time.Now().Add(h2EndTimeout))
	n, err := io.Copy(io.Discard, ws.st)
	if err != nil || n != 0 {
		t.Errorf("after the close handshake and the client's END_STREAM (%v): %d more bytes and %v, want the end of the stream (END_STREAM)", cwErr, n, err)
	}
}

func closeStatus(payload []byte) (code uint16, reason string) {
	if len(payload) < 2 {
		return 1005, "" // no status code (RFC 6455 §7.1.5)
	}
	return binary.BigEndian.Uint16(payload), string(payload[2:])
}

// --- the servers ---

// h2Files are the certificate files and the echo backend of a server.
type h2Files struct {
	Dir        string // the server's own directory, removed after the test
	Port       int
	Backend    string // "127.0.0.1:port" of the HTTP/1.1 WebSocket echo server
	Cert, Key  string // PEM files of the server's certificate and key
	CertKey    string // both in one file (haproxy)
	ExtConnect bool
	User       string // Apache's User and Group when it starts as root
	ca         *harness.CA
}

// h2Setup makes the server's certificate and directory, picks its port
// and, when backend, starts an echo backend.
func h2Setup(t *testing.T, extConnect, backend bool) *h2Files {
	t.Helper()
	ca := harness.NewCA(t, "wsclient h2 interop CA")
	leaf := ca.Server(t, "h2server", "localhost", "127.0.0.1")
	f := &h2Files{
		Dir:        t.TempDir(),
		Port:       harness.FreePort(t),
		Cert:       leaf.CertFile,
		Key:        leaf.KeyFile,
		ExtConnect: extConnect,
		ca:         ca,
	}
	f.CertKey = filepath.Join(f.Dir, "server.pem")
	if err := os.WriteFile(f.CertKey, []byte(readFile(leaf.CertFile)+readFile(leaf.KeyFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	if backend {
		f.Backend = harness.ServeHTTP(t, goservers.Gorilla(), nil).Addr
	}
	return f
}

// conf writes the template h2conf/name.tmpl, filled from f, to the
// server's directory and returns the file's path.
func (f *h2Files) conf(t *testing.T, name string) string {
	t.Helper()
	var b bytes.Buffer
	if err := h2Conf.ExecuteTemplate(&b, name+".tmpl", f); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.Dir, name)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func (f *h2Files) target(p *harness.Process, version string) *h2Target {
	return &h2Target{addr: harness.Addr(f.Port), ca: f.ca, version: version, logs: p.Logs, proc: p}
}

// programVersion runs path with args and returns the first line of its
// output with prefix removed, or "" when it fails.
func programVersion(path, prefix string, args ...string) string {
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(firstLine(strings.TrimSpace(string(out))), prefix)
}

func startH2HAProxy(t *testing.T, off bool) *h2Target {
	bin := harness.Need(t, "haproxy", "/usr/sbin/haproxy")
	f := h2Setup(t, !off, true)
	conf := f.conf(t, "haproxy.cfg")
	p := harness.Start(t, harness.Spec{
		Name:  "haproxy",
		Path:  bin,
		Args:  []string{"-db", "-f", conf}, // -db: in the foreground
		Ready: harness.TCPReady(harness.Addr(f.Port)),
	})
	// "HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/"
	v := strings.Fields(programVersion(bin, "", "-v"))
	version := strings.Join(v[:min(3, len(v))], " ")
	return f.target(p, version+", backend gorilla/websocket over HTTP/1.1")
}

func startH2Apache(t *testing.T, off bool) *h2Target {
	bin := harness.Need(t, "apache2", "/usr/sbin/apache2")
	f := h2Setup(t, !off, true)
	if os.Geteuid() == 0 {
		// httpd refuses to serve as root; its children switch to this
		// user, after the parent has read the certificate and key.
		f.User = "www-data"
		if err := os.Chmod(f.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := f.conf(t, "apache2.conf")
	p := harness.Start(t, harness.Spec{
		Name: "apache2",
		Path: bin,
		Args: []string{"-DFOREGROUND", "-f", conf},
		// Debian's apache2 reads its variables from envvars, which this
		// configuration does not use; APACHE_RUN_DIR must still be set.
		Env:   []string{"APACHE_RUN_DIR=" + f.Dir, "APACHE_LOCK_DIR=" + f.Dir, "APACHE_LOG_DIR=" + f.Dir},
		Ready: harness.TCPReady(harness.Addr(f.Port)),
	})
	return f.target(p, programVersion(bin, "Server version: ", "-v")+", mod_proxy_http to gorilla/websocket over HTTP/1.1")
}

func startH2Nghttpx(t *testing.T, off bool) *h2Target {
	bin := harness.Need(t, "nghttpx", "/usr/sbin/nghttpx")
	f := h2Setup(t, true, true)
	host, port, _ := net.SplitHostPort(f.Backend)
	var alpn []string
	if off {
		alpn = []string{"--npn-list=http/1.1"} // ALPN, despite the name
	}
	p := harness.Start(t, harness.Spec{
		Name: "nghttpx",
		Path: bin,
		Args: append(alpn,
			"--conf=/dev/null",
			"--frontend=127.0.0.1,"+strconv.Itoa(f.Port),
			"--backend="+host+","+port,
			"--workers=1",
			"--no-ocsp",
			"--pid-file="+filepath.Join(f.Dir, "nghttpx.pid"),
			"--errorlog-file=/dev/stderr",
			"--accesslog-file=/dev/stdout",
			// One line per stream when it ends, like the other servers'.
			"--accesslog-format=stream $remote_addr:$remote_port $method $path $status",
			f.Key, f.Cert,
		),
		Ready: harness.TCPReady(harness.Addr(f.Port)),
	})
	return f.target(p, programVersion(bin, "", "--version")+", backend gorilla/websocket over HTTP/1.1")
}

func startH2Hypercorn(t *testing.T, off bool) *h2Target {
	py := harness.Need(t, debianPython)
	if out, err := exec.Command(py, "-c", "import hypercorn").CombinedOutput(); err != nil {
		harness.Missing(t, fmt.Sprintf("%s cannot import hypercorn (install python3-hypercorn): %v: %s", py, err, out))
	}
	f := h2Setup(t, true, false)
	var config []string
	if off {
		// ALPN offers http/1.1 only: hypercorn has no switch for
		// extended CONNECT.
		path := filepath.Join(f.Dir, "hypercorn.toml")
		if err := os.WriteFile(path, []byte("alpn_protocols = [\"http/1.1\"]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		config = []string{"--config", path}
	}
	p := harness.Start(t, harness.Spec{
		Name: "hypercorn",
		Path: py,
		Args: append([]string{
			"-m", "hypercorn",
			"--bind", harness.Addr(f.Port),
			"--certfile", f.Cert, "--keyfile", f.Key,
			"--workers", "1",
			"--access-logfile", "-",
			// One line per WebSocket when it is accepted.
			"--access-logformat", "stream %(h)s %(m)s %(U)s %(H)s %(s)s",
			"asgi_echo:app",
		}, config...),
		Dir:   filepath.Join(interopDir(t), "h2conf"),
		Env:   []string{"PYTHONUNBUFFERED=1"}, // the access log, line by line
		Ready: harness.TCPReady(harness.Addr(f.Port)),
	})
	version := "hypercorn"
	if v := debVersion("python3-hypercorn"); v != "" {
		version = v
	}
	return f.target(p, version+", serving h2conf/asgi_echo.py")
}
