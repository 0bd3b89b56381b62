package websocket_test

import (
	"bytes"
	"compress/flate"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// FuzzAppPaths sends the same server bytes, cut into writes of the same
// size, to an App whose connection a reading goroutine serves and to one on
// an event loop that owns the socket, and requires the two to agree on
// everything the user sees: each callback with its arguments, in order, and
// how the run ended. The loop feeds its decoder whatever a read brought, so
// a frame or a message cut anywhere takes a different road through its code
// than through the goroutine's reader; a hostile server (lengths that lie,
// bad UTF-8, control frames in fragments, a stream that ends mid-frame,
// compressed data that is not deflate or inflates past the limit) must get
// the same answer from both: the same pongs and the same close code. And
// both must report what the RFCs and the contract say (ModelApp, worked out
// without the library's reader), so that a mistake they share does not
// pass either.
//
// flags: bit 0 negotiates permessage-deflate, bit 1 turns fragment
// delivery on (OnContMessage), bit 2 skips UTF-8 validation, bit 3 keeps
// the server's compression context from message to message, bit 4 runs
// both over TLS too (each write of the server a record of its own), where
// they must also agree with plain TCP; bit 5 sends the first chunk in the
// response head's write, so that the handshake reads past its end.
func FuzzAppPaths(f *testing.F) {
	skipWithoutPoller(f)
	deflated := func(p string) []byte { return wstest.Deflate([]byte(p), flate.BestSpeed) }
	closing := wstest.AppendFrame(nil, true, 8, wstest.ClosePayload(1000, "bye"))
	seed := func(flags, chunk byte, frames ...[]byte) {
		f.Add(flags, chunk, slices.Concat(frames...))
		f.Add(flags|16, chunk, slices.Concat(frames...)) // over TLS
	}
	seed(0, 0, wstest.AppendFrame(nil, true, 1, []byte("hello")), closing)
	seed(0, 1, wstest.AppendFrame(nil, false, 1, []byte("hel")), wstest.AppendFrame(nil, true, 9, []byte("p")),
		wstest.AppendFrame(nil, true, 0, []byte("lo")), wstest.AppendFrame(nil, true, 10, nil), closing)
	seed(2, 3, wstest.AppendFrame(nil, false, 2, []byte("ab")), wstest.AppendFrame(nil, false, 0, nil),
		wstest.AppendFrame(nil, true, 0, []byte("cd")), closing)
	seed(0, 2, wstest.AppendFrame(nil, false, 1, []byte{0xce}), wstest.AppendFrame(nil, true, 0, []byte{0xba}), closing)
	seed(0, 0, wstest.AppendFrame(nil, true, 1, []byte{'a', 0xff, 'b'}))
	seed(4, 0, wstest.AppendFrame(nil, true, 1, []byte{'a', 0xff, 'b'}), closing)
	seed(0, 5, wstest.AppendHeader(nil, true, 0, 2, false, [4]byte{}, 1<<40))
	seed(0, 0, wstest.AppendHeader(nil, true, 0, 2, false, [4]byte{}, 1<<63))
	seed(0, 1, wstest.AppendHeader(nil, true, 0, 2, false, [4]byte{}, 10), []byte{1, 2, 3}) // ends mid-frame
	seed(0, 0, wstest.AppendMaskedFrame(nil, true, 1, [4]byte{1, 2, 3, 4}, []byte("x")))
	seed(0, 0, wstest.AppendFrameRsv(nil, true, 2, 1, []byte("x")))
	seed(0, 0, wstest.AppendFrame(nil, true, 3, []byte("x")))
	seed(0, 0, wstest.AppendFrame(nil, false, 9, []byte("x")))
	seed(0, 0, wstest.AppendFrame(nil, true, 9, make([]byte, 126)))
	seed(0, 0, wstest.AppendFrame(nil, true, 0, []byte("x")))
	seed(0, 0, wstest.AppendFrame(nil, false, 1, []byte("a")), wstest.AppendFrame(nil, true, 1, []byte("b")))
	seed(0, 0, wstest.AppendFrame(nil, true, 8, []byte{3}))
	seed(0, 0, wstest.AppendFrame(nil, true, 8, wstest.ClosePayload(1005, "")))
	seed(0, 0, wstest.AppendFrame(nil, true, 8, append(wstest.ClosePayload(1000, ""), 0xff)))
	seed(0, 0, wstest.AppendFrame(nil, true, 8, nil))
	seed(0, 0, closing, wstest.AppendFrame(nil, true, 1, []byte("after the close")))
	seed(0, 0, wstest.AppendFrame(nil, true, 2, make([]byte, fuzzAppLimit+1)))
	seed(1, 7, wstest.AppendFrameRsv(nil, true, 4, 1, deflated("compressed hello")), closing)
	for _, flags := range []byte{1, 3} { // a ping between compressed fragments, with fragment delivery off and on
		seed(flags, 4, wstest.AppendFrameRsv(nil, false, 4, 1, deflated("fragmented, compressed")[:5]),
			wstest.AppendFrame(nil, true, 9, []byte("between")),
			wstest.AppendFrame(nil, true, 0, deflated("fragmented, compressed")[5:]), closing)
	}
	seed(1, 0, wstest.AppendFrameRsv(nil, true, 4, 2, deflated(strings.Repeat("z", 3*fuzzAppLimit))), closing) // inflates past the limit
	seed(1, 0, wstest.AppendFrameRsv(nil, true, 4, 2, []byte{0xff, 0xff, 0xff}), closing)                      // not deflate
	seed(1, 0, wstest.AppendFrameRsv(nil, true, 4, 9, []byte("x")), closing)                                   // compressed ping
	for _, flags := range []byte{1, 3} {                                                                       // an empty compressed message is no deflate stream
		seed(flags, 0, wstest.AppendFrameRsv(nil, true, 4, 1, nil), closing)
		seed(flags, 0, wstest.AppendFrameRsv(nil, false, 4, 1, nil), wstest.AppendFrame(nil, true, 0, nil), closing)
		seed(flags, 0, wstest.AppendFrameRsv(nil, false, 4, 1, deflated("x")), wstest.AppendFrame(nil, true, 0, nil), closing)
	}
	seed(0, 0, wstest.AppendFrameRsv(nil, true, 4, 1, deflated("x"))) // not negotiated
	// Two messages from a server that keeps its context: the second
	// refers back into the first; and one whose back-reference reaches
	// before anything was sent.
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.DefaultCompression)
	var msgs [][]byte
	for range 2 {
		m := "the window of the first message, carried over"
		w.Write([]byte(m))
		w.Flush()
		msgs = append(msgs, wstest.AppendFrameRsv(nil, true, 4, 1, bytes.TrimSuffix(b.Bytes(), []byte{0, 0, 0xff, 0xff})))
		b.Reset()
	}
	seed(9, 3, msgs[0], msgs[1], closing)
	seed(1, 0, msgs[0], msgs[1], closing) // the server said it would not
	seed(9, 0, msgs[1], closing)
	seed(32, 3, wstest.AppendFrame(nil, true, 1, []byte("right behind the 101")), wstest.AppendFrame(nil, true, 9, []byte("p")), closing)
	seed(33, 0, wstest.AppendFrameRsv(nil, true, 4, 1, deflated("compressed, behind the 101")), closing)

	srv, tlsSrv, ca := fuzzServers(f, serveFuzzWire)
	f.Fuzz(func(t *testing.T, flags, chunk byte, wire []byte) {
		if len(wire) > 1<<16 {
			return
		}
		// The runs: with a reading goroutine and on a loop; over TLS
		// (flags bit 4) the same over plain TCP too, which must agree.
		type run struct {
			name        string
			onLoop, tls bool
		}
		runs := []run{{"goroutine", false, false}, {"loop", true, false}}
		if flags&16 != 0 {
			runs = append(runs, run{"goroutine over TLS", false, true}, run{"loop over TLS", true, true})
		}
		got := make([][]string, len(runs))
		sent := make([]*fuzzWire, len(runs))
		for i, r := range runs {
			id := strconv.FormatUint(fuzzWireSeq.Add(1), 10)
			fw := &fuzzWire{wire: wire, chunk: int(chunk), deflate: flags&1 != 0, takeover: flags&8 != 0, withHead: flags&32 != 0, done: make(chan struct{})}
			fuzzWires.Store(id, fw)
			url := srv.URL + "/" + id
			var roots *x509.CertPool
			if r.tls {
				url, roots = "wss://"+tlsSrv.Addr+"/"+id, ca.Pool
			}
			got[i] = runRecorded(t, r.onLoop, url, roots, flags)
			fuzzWires.Delete(id)
			<-fw.done
			sent[i] = fw
		}
		// And what the RFCs and the contract say, worked out apart from
		// the library.
		if model := websocket.ModelApp(wire, fuzzAppLimit, flags&1 != 0, flags&8 != 0, flags&4 != 0, flags&2 != 0); !websocket.MatchModel(got[0], model) {
			t.Fatalf("flags %b, writes of %d, wire %x:\n %s:     %q\n the RFCs say: %q", flags, chunk, wire, runs[0].name, got[0], model)
		}
		// What the client sent back (pongs, its close frame) is compared
		// when the server could write all it had (after its close frame
		// the client reads no more, and the server's writes may stall)
		// and the run ended cleanly: the server's close frame, echoed
		// after every frame queued before it, and the server's end of the
		// stream read before the socket closed. Otherwise timing decides:
		// a stream that just ends closes the socket at once, so a pong
		// queued in a burst's last microseconds may go or not; and a
		// client that fails closes its socket with the server's bytes
		// unread, which resets the connection and may drop its close
		// frame still on its way.
		clean := slices.Contains(got[0], "result none")
		for i := 1; i < len(runs); i++ {
			if !slices.Equal(got[0], got[i]) {
				t.Fatalf("flags %b, writes of %d, wire %x:\n %s: %q\n %s: %q", flags, chunk, wire, runs[0].name, got[0], runs[i].name, got[i])
			}
			if clean && sent[0].wrote && sent[i].wrote && !slices.Equal(sent[0].got, sent[i].got) {
				t.Fatalf("flags %b, writes of %d, wire %x: the client sent\n %s: %q\n %s: %q", flags, chunk, wire, runs[0].name, sent[0].got, runs[i].name, sent[i].got)
			}
		}
	})
}

// fuzzServers starts the servers of a fuzz target, which serve every input
// (a listener each would use up the loopback's ports while fuzzing): serve
// on plain TCP and over TLS with a certificate of ca.
func fuzzServers(f *testing.F, serve func(net.Conn)) (srv, tlsSrv *wstest.Server, ca *wstest.CA) {
	ca = wstest.NewCA()
	srv = wstest.NewRaw(serve)
	f.Cleanup(srv.Close)
	tlsSrv = wstest.NewRaw(func(nc net.Conn) {
		tc := tls.Server(nc, ca.ServerConfig())
		defer tc.Close()
		if tc.Handshake() == nil {
			serve(tc)
		}
	})
	f.Cleanup(tlsSrv.Close)
	return srv, tlsSrv, ca
}

// fuzzH2Server starts the HTTP/2 server of a fuzz target, serving every
// input's WebSocket (an extended CONNECT) with handler, and returns the
// base URL and what makes an input's dial options that reach it: its
// certificate trusted, HTTP/2 required, a transport of the input's own
// (its connection shared by the input's WebSockets), so that no input
// sees the state another left on a connection. One connection for every
// input once failed a dial in CI: the frames the server sent for the
// streams of a hundred inputs a second passed the client's bound of 1000
// frames without effect a second (each stream that ends now allows 4 such
// frames: TestChurnIsNotAFlood).
func fuzzH2Server(f *testing.F, handler http.HandlerFunc) (base string, opts func(*testing.T) websocket.DialOptions) {
	h2 := httptest.NewUnstartedServer(handler)
	h2.EnableHTTP2 = true
	h2.StartTLS()
	f.Cleanup(h2.Close)
	roots := x509.NewCertPool()
	roots.AddCert(h2.Certificate())
	conf := &tls.Config{RootCAs: roots}
	return "wss://" + h2.Listener.Addr().String(), func(t *testing.T) websocket.DialOptions {
		tr := &websocket.HTTP2Transport{}
		t.Cleanup(func() { tr.Close() })
		return websocket.DialOptions{TLSConfig: conf, HTTP2: websocket.HTTP2Require, HTTP2Transport: tr}
	}
}

// fuzzAppLimit is FuzzAppPaths's ReadLimit: small, so that lengths beyond
// it cost nothing.
const fuzzAppLimit = 1 << 12

// fuzzWires holds what serveFuzzWire sends on the path of each input.
var (
	fuzzWires   sync.Map // path without its slash → *fuzzWire
	fuzzWireSeq atomic.Uint64
)

// fuzzWire is what serveFuzzWire sends on one path: wire in writes of
// chunk bytes (0 = one write), after an upgrade that accepts
// permessage-deflate when deflate.
type fuzzWire struct {
	wire     []byte
	chunk    int
	deflate  bool
	takeover bool // the server keeps its compression context
	withHead bool // the first chunk goes in the response head's write

	wrote bool          // all of wire was written
	got   []string      // the frames the client sent
	done  chan struct{} // closed when the connection is over
}

// serveFuzzWire answers the upgrade on nc (a TCP or TLS stream), writes the
// fuzzWire of the request's path, ends its side of the stream, and records
// the frames the client sends until it closes.
func serveFuzzWire(conn net.Conn) {
	defer conn.Close()
	nc := &holdConn{Conn: conn}
	v, c := wstest.UpgradeFrom(nc, &fuzzWires, func(v any) string {
		fw := v.(*fuzzWire)
		nc.hold = fw.withHead && len(fw.wire) > 0
		return fw.extension()
	})
	if v == nil {
		return
	}
	fw := v.(*fuzzWire)
	defer close(fw.done)
	if c == nil {
		return
	}
	wire := fw.wire
	for len(wire) > 0 {
		n := len(wire)
		if fw.chunk > 0 {
			n = min(n, fw.chunk)
		}
		if _, err := nc.Write(wire[:n]); err != nil {
			return
		}
		if nc.hold && nc.release(len(nc.buf)) != nil { // the head and the first chunk
			return
		}
		wire = wire[n:]
	}
	fw.wrote = true
	conn.(interface{ CloseWrite() error }).CloseWrite()
	for {
		f, err := c.ReadFrame()
		if err != nil {
			return
		}
		switch {
		case !f.Masked:
			fw.got = append(fw.got, "unmasked")
		case f.Opcode == 8 && len(f.Payload) >= 2:
			fw.got = append(fw.got, fmt.Sprintf("close %d %q", int(f.Payload[0])<<8|int(f.Payload[1]), f.Payload[2:]))
		default:
			fw.got = append(fw.got, fmt.Sprintf("%d %v %q", f.Opcode, f.Fin, f.Payload))
		}
	}
}

// extension returns the Sec-WebSocket-Extensions value serveFuzzWire
// answers with ("" for none).
func (fw *fuzzWire) extension() string {
	switch {
	case fw.deflate && fw.takeover:
		return "permessage-deflate; client_no_context_takeover"
	case fw.deflate:
		return "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	}
	return ""
}

// runRecorded runs an App against url on an event loop (onLoop) or with a
// reading goroutine, and returns its callbacks and its result as text.
func runRecorded(t *testing.T, onLoop bool, url string, roots *x509.CertPool, flags byte) []string {
	var got []string
	add := func(format string, args ...any) { got = append(got, fmt.Sprintf(format, args...)) }
	a := &websocket.App{URL: url}
	a.OnOpen = func(*websocket.App) { add("open") }
	a.OnMessage = func(_ *websocket.App, m websocket.Message) { add("message %v %q", m.Opcode, m.Data) }
	a.OnPing = func(_ *websocket.App, p []byte) { add("ping %q", p) }
	a.OnPong = func(_ *websocket.App, p []byte) { add("pong %q", p) }
	a.OnError = func(_ *websocket.App, err error) { add("error %s", errorKind(err)) }
	a.OnClose = func(_ *websocket.App, code websocket.StatusCode, reason string) { add("close %d %q", code, reason) }
	if flags&2 != 0 {
		a.OnData = func(_ *websocket.App, p []byte, op websocket.Opcode, fin bool) { add("data %v %v %q", op, fin, p) }
		a.OnContMessage = func(_ *websocket.App, p []byte, fin bool) { add("cont %v %q", fin, p) }
	}
	opts := &websocket.RunOptions{Reconnect: -1, DialOptions: websocket.DialOptions{
		ReadLimit:          fuzzAppLimit,
		SkipUTF8Validation: flags&4 != 0,
	}}
	if roots != nil {
		opts.TLSConfig = &tls.Config{RootCAs: roots}
	}
	if flags&1 != 0 {
		opts.Compression = &websocket.CompressionOptions{}
	}
	err := runOn(t, onLoop, a, opts)
	add("result %s", errorKind(err))
	return got
}

// errorKind names what a user can tell of err: its type, or the sentinel
// it wraps; the text, which names the reading code, differs between paths.
func errorKind(err error) string {
	var (
		pe *websocket.ProtocolError
		ye *websocket.PayloadError
		ce *websocket.CloseError
	)
	if err == nil {
		return "none"
	}
	if bad := websocket.PrefixNotOnce(err); bad != "" {
		return bad
	}
	switch {
	case errors.As(err, &pe):
		return "protocol"
	case errors.As(err, &ye):
		return "payload"
	case errors.As(err, &ce):
		return fmt.Sprintf("close %d", ce.Code)
	case errors.Is(err, websocket.ErrConnectionClosed):
		return "connection closed"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	return fmt.Sprintf("%T", err)
}
