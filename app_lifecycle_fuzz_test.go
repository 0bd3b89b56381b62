package websocket_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// FuzzAppLifecycle runs an App, reconnecting after 1 ms, through a server's
// script of connection attempts, each one of lifeKinds: refused, answered
// 503, 404 or with a wrong accept key, or opened and then closed by the
// server (1000, 1001, 1013), dropped, reset, broken by a protocol error, or
// closed by the App. The options byte adds RunOptions.ReconnectOnServerClose
// (bit 0), App.Close from the first OnError (bit 1), an OnMessage that
// panics (bit 2), TLS (bit 3: the reconnects resume TLS sessions),
// HTTP/2 (bit 4: the reconnects open streams on one pooled connection) or
// RunOptions.Retry = RetryTransient (bit 5; else the default, which
// retries every failure).
// Each input runs with a reading goroutine, on an event loop, and on the
// smallest Dispatcher a user would write (userDispatcher), and every run
// must report what the contract says of a run, worked out from the script
// alone (lifeModel): OnOpen for the first connection that opens and
// OnReconnect for each later one; OnError for each failure, a panic in a
// callback included, which never ends the run; OnClose exactly once per
// opened connection, with the code the contract gives; a reconnect after
// every failure (with RetryTransient, each it retries) and after a
// server's restart close when asked to, none after another clean close or
// a failure not retried; and a result that describes the last connection (nil after
// App.Close).
func FuzzAppLifecycle(f *testing.F) {
	skipWithoutPoller(f)
	for _, s := range []string{"", "\x00", "\x01\x03", "\x04\x09\x05", "\x03\x03\x07", "\x06", "\x00\x08", "\x09\x01\x02", "\x03\x04\x00\x01\x09\x05", "\x0a\x07\x0a", "\x0b\x0b"} {
		for opts := range byte(32) {
			f.Add(opts, []byte(s))
		}
		f.Add(byte(32), []byte(s)) // RetryTransient
		f.Add(byte(32|8|1), []byte(s))
		f.Add(byte(32|2), []byte(s))
	}
	srv, tlsSrv, ca := fuzzServers(f, serveLifecycle)
	h2Base, h2Opts := fuzzH2Server(f, serveLifecycleH2)
	f.Fuzz(func(t *testing.T, opts byte, script []byte) {
		if len(script) > 6 {
			return
		}
		onServerClose, closeOnError := opts&1 != 0, opts&2 != 0
		panics := opts&4 != 0 && !closeOnError // a Close racing the server's own end would not be one story
		dial := websocket.DialOptions{Timeout: testTimeout}
		url := srv.URL
		switch {
		case opts&16 != 0:
			url = h2Base
			o := h2Opts(t)
			dial.TLSConfig, dial.HTTP2, dial.HTTP2Transport = o.TLSConfig, o.HTTP2, o.HTTP2Transport
		case opts&8 != 0:
			url = "wss://" + tlsSrv.Addr
			dial.TLSConfig = &tls.Config{RootCAs: ca.Pool}
		}
		transient := opts&32 != 0
		want := lifeModel(script, onServerClose, closeOnError, panics, transient)
		for _, on := range []string{"goroutine", "loop", "user dispatcher"} {
			id := strconv.FormatUint(lifeSeq.Add(1), 10)
			ls := &lifeScript{script: slices.Clone(script)} // a late attempt may read it after this input
			lifeScripts.Store(id, ls)
			got := runLifecycle(t, on, onServerClose, closeOnError, panics, transient, url+"/"+id, dial)
			lifeScripts.Delete(id)
			if !slices.Equal(got, want) {
				t.Fatalf("script %x, options %b, on a %s:\n got          %q\n the contract %q", script, opts, on, got, want)
			}
		}
	})
}

// The kinds of connection attempt a lifecycle script is made of (a
// script's byte modulo lifeKinds); once the script is over, every attempt
// is lifeClean.
const (
	lifeRefuse    = iota // the server closes the socket before answering
	life503              // 503 Service Unavailable: retried
	lifeClean            // 101, a message, the server's close 1000 "bye"
	lifeDrop             // 101, a message, the socket ends
	lifeViolation        // 101, a message, a frame with a reserved opcode
	lifeAppCloses        // 101, the message "close-me": the App closes
	life404              // 404 Not Found: retried, but not by RetryTransient
	lifeGoingAway        // 101, a message, the server's close 1001 "going away"
	lifeBadAccept        // 101 with a wrong Sec-WebSocket-Accept: retried, but not by RetryTransient
	lifePingDrop         // 101, a message, a ping, then the socket ends once the pong came
	lifeTryLater         // 101, a message, the server's close 1013 "later"
	lifeReset            // 101, a message, a ping, then once the pong came a TCP reset (over HTTP/2, RST_STREAM)
	lifeKinds
)

var (
	lifeScripts sync.Map // path without its slash → *lifeScript
	lifeSeq     atomic.Uint64
)

// lifeScript is the script of the attempts on one path.
type lifeScript struct {
	script   []byte
	attempts atomic.Int32
}

// kind is what attempt i gets.
func (ls *lifeScript) kind(i int) byte {
	if i < len(ls.script) {
		return ls.script[i] % lifeKinds
	}
	return lifeClean
}

// serveLifecycle answers one connection attempt as its path's script says.
func serveLifecycle(nc net.Conn) {
	defer nc.Close()
	req, accept, br, err := wstest.ReadRequest(nc)
	if err != nil {
		return
	}
	ls, i, kind, ok := lifeAttempt(req.URL.Path)
	if !ok {
		return
	}
	switch kind {
	case lifeRefuse:
		return
	case life503:
		io.WriteString(nc, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
		return
	case life404:
		io.WriteString(nc, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
		return
	case lifeBadAccept:
		wrong := "x"
		if accept[0] == 'x' {
			wrong = "y"
		}
		accept = wrong + accept[1:]
	}
	head := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n")
	if _, err := nc.Write(ls.frames(head, i, kind)); err != nil || kind == lifeDrop || kind == lifeBadAccept {
		return
	}

	lifeRead(&wstest.Conn{NC: nc, R: br}, kind)
	if kind == lifeReset {
		under := nc
		if tc, ok := nc.(*tls.Conn); ok {
			under = tc.NetConn()
		}
		under.(*net.TCPConn).SetLinger(0) // the close resets
	}
}

// serveLifecycleH2 is serveLifecycle for a WebSocket over HTTP/2 (an
// extended CONNECT): a refusal resets the stream; where HTTP/1.1 has a
// wrong accept key, the answer names a subprotocol the client did not
// offer (HTTP/2 has no key); a drop ends the stream.
func serveLifecycleH2(w http.ResponseWriter, r *http.Request) {
	ls, i, kind, ok := lifeAttempt(r.URL.Path)
	if r.Method != http.MethodConnect || !ok {
		http.Error(w, "no such WebSocket", http.StatusBadRequest)
		return
	}
	switch kind {
	case lifeRefuse:
		panic(http.ErrAbortHandler) // RST_STREAM
	case life503:
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	case life404:
		http.Error(w, "no such thing", http.StatusNotFound)
		return
	case lifeBadAccept:
		w.Header().Set("Sec-Websocket-Protocol", "never-offered")
	}
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush()
	bc := &bodyConn{Reader: r.Body, w: w, rc: rc}
	if _, err := bc.Write(ls.frames(nil, i, kind)); err != nil || kind == lifeDrop || kind == lifeBadAccept {
		return
	}

	lifeRead(&wstest.Conn{NC: bc, R: bufio.NewReader(bc)}, kind)
	if kind == lifeReset {
		panic(http.ErrAbortHandler) // RST_STREAM
	}
}

// lifeAttempt counts an attempt on path and returns its script, its index
// and its kind; ok is false for a path with no script.
func lifeAttempt(path string) (ls *lifeScript, i int, kind byte, ok bool) {
	v, ok := lifeScripts.Load(strings.TrimPrefix(path, "/"))
	if !ok {
		return nil, 0, 0, false
	}
	ls = v.(*lifeScript)
	i = int(ls.attempts.Add(1)) - 1
	return ls, i, ls.kind(i), true
}

// frames appends to b what attempt i of kind sends once open: its message
// and what follows it.
func (ls *lifeScript) frames(b []byte, i int, kind byte) []byte {
	msg := fmt.Sprintf("m%d", i)
	if kind == lifeAppCloses {
		msg = "close-me"
	}
	b = wstest.AppendFrame(b, true, 1, []byte(msg))
	switch kind {
	case lifeClean:
		b = wstest.AppendFrame(b, true, 8, wstest.ClosePayload(1000, "bye"))
	case lifeGoingAway:
		b = wstest.AppendFrame(b, true, 8, wstest.ClosePayload(1001, "going away"))
	case lifeTryLater:
		b = wstest.AppendFrame(b, true, 8, wstest.ClosePayload(1013, "later"))
	case lifeViolation:
		b = wstest.AppendFrame(b, true, 3, nil)
	case lifePingDrop, lifeReset:
		b = wstest.AppendFrame(b, true, 9, []byte("p"))
	}
	return b
}

// lifeRead reads what the client sends: the pong that ends lifePingDrop and lifeReset,
// the close frame lifeAppCloses echoes; until the client closes.
func lifeRead(c *wstest.Conn, kind byte) {
	for {
		fr, err := c.ReadFrame()
		if err != nil {
			return
		}
		switch {
		case (kind == lifePingDrop || kind == lifeReset) && fr.Opcode == 10:
			return
		case kind == lifeAppCloses && fr.Opcode == 8:
			c.WriteFrame(true, 8, fr.Payload)
			return
		}
	}
}

// runLifecycle runs an App against url, reconnecting after 1 ms each time,
// and returns its callbacks and its result as text.
func runLifecycle(t *testing.T, on string, onServerClose, closeOnError, panics, transient bool, url string, dial websocket.DialOptions) []string {
	var got []string
	add := func(format string, args ...any) { got = append(got, fmt.Sprintf(format, args...)) }
	a := &websocket.App{URL: url}
	a.OnOpen = func(*websocket.App) { add("open") }
	a.OnReconnect = func(*websocket.App) { add("reconnect") }
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		add("message %q", m.Data)
		if string(m.Data) == "close-me" {
			a.Close()
		}
		if panics {
			panic("boom")
		}
	}
	a.OnPing = func(_ *websocket.App, p []byte) { add("ping %q", p) }
	a.OnError = func(a *websocket.App, err error) {
		add("error %s", lifeErrorKind(err))
		if closeOnError {
			add("Close() = %v", a.Close())
		}
	}
	a.OnClose = func(_ *websocket.App, code websocket.StatusCode, reason string) { add("close %d %q", code, reason) }
	opts := &websocket.RunOptions{Reconnect: time.Millisecond, Backoff: &websocket.Backoff{Multiplier: 1, Jitter: -1},
		ReconnectOnServerClose: onServerClose, DialOptions: dial}
	if transient {
		opts.Retry = websocket.RetryTransient
	}
	var err error
	if on == "user dispatcher" {
		d := newUserDispatcher()
		opts.Dispatcher = d
		if err = a.Run(context.Background(), opts); err == nil {
			<-d.done
			err = d.s.Err()
		}
	} else if on == "loop" && dial.HTTP2 == websocket.HTTP2Require {
		err = runOnLoop(context.Background(), t, a, opts) // the loop's callbacks; HTTP/2 streams are read by goroutines
	} else {
		err = runOn(t, on == "loop", a, opts)
	}
	add("result %s", lifeErrorKind(err))
	return got
}

// lifeErrorKind is errorKind with the dial's failures told apart.
func lifeErrorKind(err error) string {
	var (
		bs *websocket.BadStatusError
		he *websocket.HandshakeError
	)
	switch {
	case errors.As(err, &bs):
		return fmt.Sprintf("status %d", bs.StatusCode)
	case errors.As(err, &he):
		if retry, _ := websocket.RetryTransient(err); retry {
			return "handshake cut" // the connection or stream ended before the answer
		}
		return "handshake"
	case err != nil && strings.HasPrefix(err.Error(), "websocket: panic in "):
		return strings.TrimPrefix(err.Error(), "websocket: ")
	}
	return errorKind(err)
}

// lifeModel is what the contract says an App run through script reports.
func lifeModel(script []byte, onServerClose, closeOnError, panics, transient bool) []string {
	var out []string
	opened := false
	open := func() {
		if opened {
			out = append(out, "reconnect")
		} else {
			out = append(out, "open")
		}
		opened = true
	}
	// fail reports a failure; open, that it ended an open connection.
	// It tells whether the run ends: App.Close from OnError ends it.
	fail := func(err string, open bool) bool {
		out = append(out, "error "+err)
		if closeOnError {
			out = append(out, "Close() = <nil>")
		}
		if open {
			out = append(out, `close 1006 ""`)
		}
		return closeOnError
	}
	ls := &lifeScript{script: script}
	for i := 0; ; i++ {
		// The message each opened connection gets first, and what
		// OnMessage's panic reports.
		msg := []string{fmt.Sprintf("message %q", fmt.Sprintf("m%d", i))}
		if ls.kind(i) == lifeAppCloses {
			msg[0] = `message "close-me"`
		}
		if panics {
			msg = append(msg, "error panic in OnMessage: boom")
		}
		switch ls.kind(i) {
		case lifeRefuse:
			if fail("handshake cut", false) {
				return append(out, "result none")
			}
		case life503:
			if fail("status 503", false) {
				return append(out, "result none")
			}
		case life404:
			// RetryTransient ends the run with the failure, whose
			// error is the result even after App.Close from OnError.
			if closed := fail("status 404", false); transient {
				return append(out, "result status 404")
			} else if closed {
				return append(out, "result none")
			}
		case lifeBadAccept:
			if closed := fail("handshake", false); transient {
				return append(out, "result handshake")
			} else if closed {
				return append(out, "result none")
			}
		case lifeClean:
			open()
			return append(append(out, msg...), `close 1000 "bye"`, "result none")
		case lifeGoingAway:
			open()
			out = append(append(out, msg...), `close 1001 "going away"`)
			if !onServerClose {
				return append(out, "result none")
			}
		case lifeTryLater:
			open()
			out = append(append(out, msg...), `close 1013 "later"`)
			if !onServerClose {
				return append(out, "result none")
			}
		case lifeAppCloses:
			open()
			return append(append(out, msg...), `close 1000 ""`, "result none")
		case lifeDrop:
			open()
			out = append(out, msg...)
			if fail("connection closed", true) {
				return append(out, "result none")
			}
		case lifeViolation:
			open()
			out = append(out, msg...)
			if fail("protocol", true) {
				return append(out, "result none")
			}
		case lifePingDrop, lifeReset:
			open()
			out = append(append(out, msg...), `ping "p"`)
			if fail("connection closed", true) {
				return append(out, "result none")
			}
		}
	}
}

// userDispatcher is the smallest Dispatcher a user might write from its
// documentation: one goroutine running the posted functions in order,
// timers from time.AfterFunc that post their function, blocking work on
// goroutines of their own. It serves one run and stops when the run
// detaches.
type userDispatcher struct {
	mu      sync.Mutex
	queue   []func()
	stopped bool
	wake    chan struct{}
	done    chan struct{} // closed when the run detached and the queue stopped
	s       *websocket.Session
}

func newUserDispatcher() *userDispatcher {
	d := &userDispatcher{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go d.run()
	return d
}

func (d *userDispatcher) run() {
	for range d.wake {
		d.mu.Lock()
		q := d.queue
		d.queue = nil
		d.mu.Unlock()
		for _, f := range q {
			f()
		}
		d.mu.Lock()
		stopped := d.stopped
		d.mu.Unlock()
		if stopped {
			close(d.done)
			return
		}
	}
}

func (d *userDispatcher) Attach(s *websocket.Session) error { d.s = s; return nil }

func (d *userDispatcher) Detach(*websocket.Session) {
	d.mu.Lock()
	d.stopped = true
	d.mu.Unlock()
	d.signal()
}

func (d *userDispatcher) Post(f func()) bool {
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return false
	}
	d.queue = append(d.queue, f)
	d.mu.Unlock()
	d.signal()
	return true
}

func (d *userDispatcher) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *userDispatcher) AfterFunc(dur time.Duration, f func()) (stop func() bool) {
	var state atomic.Int32 // 0 pending, 1 ran, 2 stopped
	t := time.AfterFunc(dur, func() {
		d.Post(func() {
			if state.CompareAndSwap(0, 1) {
				f()
			}
		})
	})
	return func() bool {
		t.Stop()
		return state.CompareAndSwap(0, 2)
	}
}

func (d *userDispatcher) Go(f func()) { go f() }
