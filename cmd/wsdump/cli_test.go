package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/wstest"
)

// TestPiped sends piped lines to an echo server and checks the output and
// what the server received, for the flags that shape input and output.
func TestPiped(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string     // stdout
		sent  []received // by wsdump, the close frame included
	}{
		{"lines", nil, "hello\nworld\n", "< hello\n< world\n",
			[]received{{1, "hello"}, {1, "world"}, closeFrame(1000, "")}},
		{"raw", []string{"-r"}, "hello\nworld\n", "hello\nworld\n", nil},
		{"raw long", []string{"--raw"}, "hello\n", "hello\n", nil},
		{"verbose opcodes", []string{"-v"}, "hi\n", "< text: hi\n", nil},
		{"raw verbose", []string{"-r", "-v"}, "hi\n", "text: hi\n", nil},
		{"text first", []string{"-t", "first"}, "second\n", "< first\n< second\n",
			[]received{{1, "first"}, {1, "second"}, closeFrame(1000, "")}},
		{"text only", []string{"--text=only"}, "", "< only\n", nil},
		{"last line without newline", nil, "a\nb", "< a\n< b\n", nil},
		{"crlf", nil, "a\r\nb\r\n", "< a\n< b\n", nil},
		{"empty line", nil, "\n", "< \n", []received{{1, ""}, closeFrame(1000, "")}},
		{"no input", nil, "", "", []received{closeFrame(1000, "")}},
		{"not utf-8 goes binary", nil, "\xff\x00\n", "< b'\\xff\\x00'\n",
			[]received{{2, "\xff\x00"}, closeFrame(1000, "")}},
		{"escape sequences escaped", nil, "a\x1b[2Jb\n", "< a\\x1b[2Jb\n", nil},
		{"raw is verbatim", []string{"-r"}, "a\x1b[2Jb\n", "a\x1b[2Jb\n", nil},
		{"flags after url", []string{"URL", "-r", "-v"}, "x\n", "text: x\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan received, 16)
			srv, _ := newServer(t, nil, recordingEcho(got))
			args := withURL(tt.args, srv.URL)
			stdout, stderr, code := runWith(t, tt.stdin, args...)
			if code != 0 || !isConnectedNote(stderr) {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if stdout != tt.want {
				t.Errorf("stdout = %q, want %q", stdout, tt.want)
			}
			srv.Close() // the handler has returned: every frame is in got
			if sent := drain(got); tt.sent != nil && !slices.Equal(sent, tt.sent) {
				t.Errorf("server received %q, want %q", sent, tt.sent)
			}
		})
	}
}

// isConnectedNote reports whether stderr is empty or holds only the line
// -v prints on connecting.
func isConnectedNote(stderr string) bool {
	return stderr == "" || strings.HasPrefix(stderr, "connected to ws") && strings.Count(stderr, "\n") == 1
}

// withURL puts url in place of "URL" in args, or at the end.
func withURL(args []string, url string) []string {
	out := slices.Clone(args)
	if i := slices.Index(out, "URL"); i >= 0 {
		out[i] = url
		return out
	}
	return append(out, url)
}

// TestServerFrames checks how received frames are shown: text, binary,
// compressed binary, pings, and the server's close, with which wsdump exits
// 0 although its input is still open.
func TestServerFrames(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, "zipped")
	zw.Close()
	script := func(c *wstest.Conn) {
		c.WriteFrame(true, 1, []byte("t"))
		c.WriteFrame(true, 2, []byte{0, 1, 'h', '\''})
		c.WriteFrame(true, 2, gz.Bytes())
		c.WriteFrame(true, 9, []byte("p"))
		c.WriteFrame(true, 8, wstest.ClosePayload(4000, "bye"))
		for { // the pong and the echoed close
			f, err := c.ReadFrame()
			if err != nil || f.Opcode == 8 {
				return
			}
		}
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"default", nil, "< t\n< b\"\\x00\\x01h'\"\n< [gzip] zipped\n< close: 4000 bye\n"},
		{"verbose", []string{"-v"}, "< text: t\n< binary: b\"\\x00\\x01h'\"\n< binary: [gzip] zipped\n< ping: p\n< close: 4000 bye\n"},
		{"raw", []string{"-r"}, "t\nb\"\\x00\\x01h'\"\n[gzip] zipped\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := newServer(t, nil, script)
			p := start(t, withURL(tt.args, srv.URL)...)
			if code := p.wait(); code != 0 {
				t.Fatalf("exit %d, stderr %q", code, p.stderr)
			}
			if got := p.stdout.String(); got != tt.want {
				t.Errorf("stdout = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestServerCloseCodes(t *testing.T) {
	tests := []struct {
		payload []byte
		want    string
	}{
		{wstest.ClosePayload(1000, ""), "< close: 1000 (normal closure)\n"},
		{wstest.ClosePayload(1001, "restart"), "< close: 1001 (going away) restart\n"},
		{nil, "< close: 1005 (no status received)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			srv, _ := newServer(t, nil, func(c *wstest.Conn) {
				c.WriteFrame(true, 8, tt.payload)
				c.ReadFrame()
			})
			p := start(t, srv.URL)
			if code := p.wait(); code != 0 {
				t.Fatalf("exit %d, stderr %q", code, p.stderr)
			}
			if got := p.stdout.String(); got != tt.want {
				t.Errorf("stdout = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestServerCloseCrossing: the server closes (with a reason) right after
// the last line, while wsdump closes at the end of its input; the server's
// close frame is shown whichever side went first.
func TestServerCloseCrossing(t *testing.T) {
	srv, _ := newServer(t, nil, func(c *wstest.Conn) {
		if _, _, err := c.ReadMessage(); err != nil {
			return
		}
		c.WriteFrame(true, 8, wstest.ClosePayload(1000, "bye"))
		c.ReadFrame()
	})
	stdout, stderr, code := runWith(t, "quit\n", srv.URL)
	if code != 0 || stdout != "< close: 1000 (normal closure) bye\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestCloseUnanswered: exit status 0 needs a whole closing handshake, the
// server's close frame answering wsdump's (its echo or a close of its own);
// when the server drops the connection instead, or does not answer within
// the close wait (3 s), the connection was not closed cleanly: exit status
// 3 and one line saying so.
func TestCloseUnanswered(t *testing.T) {
	tests := []struct {
		name   string
		answer func(c *wstest.Conn) // once wsdump's close frame is read
		code   int
		stdout string
		stderr string // the one line
	}{
		{"echo", func(c *wstest.Conn) { c.WriteFrame(true, 8, wstest.ClosePayload(1000, "")) }, 0, "", ""},
		{"its own close", func(c *wstest.Conn) { c.WriteFrame(true, 8, wstest.ClosePayload(4001, "mine")) }, 0, "< close: 4001 mine\n", ""},
		{"dropped", func(c *wstest.Conn) {}, exitAbnormal, "",
			"wsdump: the server closed the connection without answering our close frame\n"},
		{"no answer", func(c *wstest.Conn) { c.ReadFrame() }, exitAbnormal, "", // returns when wsdump gives up
			"wsdump: no close frame from the server within 3s\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan received, 4)
			srv, _ := newServer(t, nil, func(c *wstest.Conn) {
				for {
					f, err := c.ReadFrame()
					if err != nil {
						return
					}
					got <- received{f.Opcode, string(f.Payload)}
					if f.Opcode == 8 {
						tt.answer(c)
						return
					}
				}
			})
			stdout, stderr, code := runWith(t, "hello\n", srv.URL)
			if code != tt.code || stdout != tt.stdout || stderr != tt.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			}
			srv.Close()
			if sent := drain(got); !slices.Equal(sent, []received{{1, "hello"}, closeFrame(1000, "")}) {
				t.Errorf("server received %q", sent)
			}
		})
	}
}

func TestConnectionLost(t *testing.T) {
	srv, _ := newServer(t, nil, func(c *wstest.Conn) {}) // drops the TCP connection
	p := start(t, srv.URL)
	if code := p.wait(); code != exitAbnormal {
		t.Fatalf("exit %d, want %d", code, exitAbnormal)
	}
	checkOneLine(t, p.stderr.String(), "wsdump: connection lost without a close frame: ")
}

func TestProtocolErrorFromServer(t *testing.T) {
	srv, _ := newServer(t, nil, func(c *wstest.Conn) {
		c.WriteFrame(true, 3, nil) // a reserved opcode
		c.ReadFrame()
	})
	p := start(t, srv.URL)
	if code := p.wait(); code != exitAbnormal {
		t.Fatalf("exit %d, want %d", code, exitAbnormal)
	}
	checkOneLine(t, p.stderr.String(), "wsdump: protocol error: ")
}

// checkOneLine checks that stderr is exactly one line starting with prefix.
func checkOneLine(t *testing.T, stderr, prefix string) {
	t.Helper()
	if !strings.HasPrefix(stderr, prefix) || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("stderr = %q, want one line starting with %q", stderr, prefix)
	}
}

func TestHandshakeFlags(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		header http.Header // wanted in the request
		stderr string      // wanted in stderr with -v
		choose string      // the server's subprotocol
	}{
		{"subprotocols before url", []string{"-s", "chat", "super", "URL", "-v"},
			http.Header{"Sec-Websocket-Protocol": {"chat, super"}}, `subprotocol "chat"`, "chat"},
		{"subprotocols after url", []string{"URL", "--subprotocols", "chat", "super", "-v"},
			http.Header{"Sec-Websocket-Protocol": {"chat, super"}}, `subprotocol "chat"`, "chat"},
		{"subprotocols then flag", []string{"-s", "chat", "-v", "URL"},
			http.Header{"Sec-Websocket-Protocol": {"chat"}}, `subprotocol "chat"`, "chat"},
		{"subprotocols repeated", []string{"-s", "chat", "-s=super", "-v", "URL"},
			http.Header{"Sec-Websocket-Protocol": {"chat, super"}}, `subprotocol "chat"`, "chat"},
		{"origin", []string{"-o", "http://o.test"}, http.Header{"Origin": {"http://o.test"}}, "", ""},
		{"origin long", []string{"--origin=http://o.test"}, http.Header{"Origin": {"http://o.test"}}, "", ""},
		{"headers", []string{"--headers", "X-A: 1, X-B: two words", "--headers=X-C:3"},
			http.Header{"X-A": {"1"}, "X-B": {"two words"}, "X-C": {"3"}}, "", ""},
		{"server picks none", []string{"-v", "-s", "a", "b", "URL"},
			http.Header{"Sec-Websocket-Protocol": {"a, b"}}, "the server chose none of the 2 subprotocols offered", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp http.Header
			if tt.choose != "" {
				resp = http.Header{"Sec-WebSocket-Protocol": {tt.choose}}
			}
			srv, reqs := newServer(t, resp, wstest.Echo)
			_, stderr, code := runWith(t, "", withURL(tt.args, srv.URL)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			req := <-reqs
			for k, v := range tt.header {
				if got := req.Header.Values(k); strings.Join(got, ", ") != strings.Join(v, ", ") {
					t.Errorf("request %s = %q, want %q", k, got, v)
				}
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q does not mention %q", stderr, tt.stderr)
			}
		})
	}
}

// TestVerbose checks the -v spellings: level 1 shows opcodes, level 2 adds
// the library's trace on stderr.
func TestVerbose(t *testing.T) {
	tests := []struct {
		args  []string
		trace bool
	}{
		{[]string{"-v"}, false},
		{[]string{"--verbose"}, false},
		{[]string{"--verbose", "1"}, false},
		{[]string{"-vv"}, true},
		{[]string{"-v", "-v"}, true},
		{[]string{"-v", "2"}, true},
		{[]string{"-v2"}, true},
		{[]string{"--verbose=2"}, true},
		{[]string{"--verbose", "2"}, true},
		{[]string{"URL", "-vv"}, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			srv, _ := newServer(t, nil, wstest.Echo)
			stdout, stderr, code := runWith(t, "hi\n", withURL(tt.args, srv.URL)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if stdout != "< text: hi\n" {
				t.Errorf("stdout = %q", stdout)
			}
			traced := strings.Contains(stderr, "level=TRACE") && strings.Contains(stderr, "level=DEBUG")
			if traced != tt.trace {
				t.Errorf("trace on stderr = %v, want %v:\n%s", traced, tt.trace, stderr)
			}
		})
	}
}

func TestTimings(t *testing.T) {
	srv, _ := newServer(t, nil, wstest.Echo)
	for _, args := range [][]string{{"--timings"}, {"--timings", "-r"}, {"--timings", "-v"}} {
		stdout, stderr, code := runWith(t, "a\nb\n", withURL(args, srv.URL)...)
		if code != 0 {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		re := regexp.MustCompile(`^(< )?\d+\.\d{6}: (text: )?a\n(< )?\d+\.\d{6}: (text: )?b\n$`)
		if !re.MatchString(stdout) {
			t.Errorf("%q: stdout = %q", args, stdout)
		}
	}
}

// TestEOFWait checks that wsdump keeps the connection open for --eof-wait
// after the end of its input, and ends the wait when the server closes.
func TestEOFWait(t *testing.T) {
	t.Run("server speaks during the wait", func(t *testing.T) {
		early := make(chan *wstest.Frame, 1)
		srv, _ := newServer(t, nil, func(c *wstest.Conn) {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
			// With --eof-wait 60 no close frame may come now. This deadline
			// is an assertion, not a synchronization: it passes at once
			// whatever the timing when wsdump behaves.
			c.NC.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			if f, err := c.ReadFrame(); err == nil {
				early <- f
				return
			}
			c.NC.SetReadDeadline(time.Time{})
			c.WriteFrame(true, 1, []byte("later"))
			c.WriteFrame(true, 8, wstest.ClosePayload(1000, "done"))
			c.ReadFrame()
		})
		start := time.Now()
		stdout, stderr, code := runWith(t, "hello\n", "--eof-wait", "60", srv.URL)
		if code != 0 {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		select {
		case f := <-early:
			t.Fatalf("wsdump sent opcode %d right after EOF", f.Opcode)
		default:
		}
		if want := "< later\n< close: 1000 (normal closure) done\n"; stdout != want {
			t.Errorf("stdout = %q, want %q", stdout, want)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("took %v: the server's close did not end the wait", d)
		}
	})
	t.Run("wait expires", func(t *testing.T) {
		got := make(chan received, 4)
		srv, _ := newServer(t, nil, recordingEcho(got))
		start := time.Now()
		stdout, stderr, code := runWith(t, "hello\n", srv.URL, "--eof-wait", "0.3")
		if code != 0 || stdout != "< hello\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("exited after %v, before --eof-wait", d)
		}
		srv.Close()
		if sent := drain(got); !slices.Equal(sent, []received{{1, "hello"}, closeFrame(1000, "")}) {
			t.Errorf("server received %q", sent)
		}
	})
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // prefix
		stderr string // prefix of the one line
	}{
		{"help", []string{"-h"}, 0, "NAME\n    wsdump", ""},
		{"help long", []string{"--help", "ws://x"}, 0, "NAME\n    wsdump", ""},
		{"version", []string{"--version"}, 0, "wsdump ", ""},
		{"missing url", nil, 2, "", "wsdump: missing ws_url (see wsdump -h)"},
		{"two urls", []string{"ws://a", "ws://b"}, 2, "", `wsdump: unexpected argument "ws://b"`},
		{"unknown flag", []string{"--bogus", "ws://a"}, 2, "", "wsdump: unknown flag: --bogus"},
		{"bad eof-wait", []string{"--eof-wait", "soon", "ws://a"}, 2, "", `wsdump: --eof-wait wants a number of seconds, not "soon"`},
		{"bad headers", []string{"--headers", "novalue", "ws://a"}, 2, "", `wsdump: --headers: an item starting "novalue" is not`},
		// Credentials are not echoed in usage errors.
		{"two urls, a password", []string{"ws://u:PW-7f3a@a/", "ws://b"}, 2, "", `wsdump: unexpected argument "ws://b" after ws_url "ws://u:xxxxx@a/"`},
		{"two urls, a password with a #", []string{"ws://a", "ws://u:PW#7f3a@b/"}, 2, "", `wsdump: unexpected argument "ws://xxxxx@b/"`},
		{"two urls, a token as the user name", []string{"ws://TOK-7f3a@a/", "ws://b"}, 2, "", `wsdump: unexpected argument "ws://b" after ws_url "ws://xxxxx@a/"`},
		{"bad headers, a credential", []string{"--headers", "Authorization Bearer PW-7f3a", "ws://a"}, 2, "", `wsdump: --headers: an item starting "Authorization" is not "Name: value"`},
		{"header value control, a credential", []string{"--headers", "Authorization: Bearer PW-7f3a\x01", "ws://127.0.0.1:1/"}, 2, "", `wsdump: --headers: Authorization: the value contains a control character`},
		{"text without value", []string{"ws://a", "-t"}, 2, "", "wsdump: flag needs an argument"},
		// What the library refuses before dialing is a bad command line
		// too (a loopback URL nothing listens on: a dial would exit 1).
		{"header value control", []string{"--headers", "X-A: 1\x01", "ws://127.0.0.1:1/"}, 2, "", `wsdump: --headers: X-A: "1\x01" contains a control character`},
		{"header value CR", []string{"--headers", "X-A: 1\r2", "ws://127.0.0.1:1/"}, 2, "", `wsdump: --headers: X-A: "1\r2" contains CR, LF or NUL`},
		{"header name CRLF", []string{"--headers", "X-A\r\nX-Injected: 1", "ws://127.0.0.1:1/"}, 2, "", `wsdump: --headers: "X-A\r\nX-Injected" is not a valid header name`},
		{"header reserved", []string{"--headers", "Upgrade: h2c", "ws://127.0.0.1:1/"}, 2, "", "wsdump: --headers: Upgrade is set by wsdump itself"},
		{"header reserved lower case", []string{"--headers", "sec-websocket-key: x", "ws://127.0.0.1:1/"}, 2, "", "wsdump: --headers: Sec-Websocket-Key is set by wsdump itself"},
		{"header host", []string{"--headers", "Host: a b", "ws://127.0.0.1:1/"}, 2, "", `wsdump: --headers: Host: "a b" is not a host`},
		{"origin CRLF", []string{"-o", "http://a\r\nX-Injected: 1", "ws://127.0.0.1:1/"}, 2, "", `wsdump: --origin: "http://a\r\nX-Injected: 1" contains CR, LF or NUL`},
		{"subprotocol not a token", []string{"-s", "a b", "ws://127.0.0.1:1/"}, 2, "", `wsdump: --subprotocols: "a b" is not a token`},
		{"subprotocol not ASCII", []string{"-s", "café", "ws://127.0.0.1:1/"}, 2, "", `wsdump: --subprotocols: "café" is not a token`},
		{"bad scheme", []string{"http://127.0.0.1/"}, 1, "", `wsdump: bad URL "http://127.0.0.1/": scheme must be ws or wss`},
		{"no host", []string{"ws:///path"}, 1, "", `wsdump: bad URL "ws:///path": no host`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runWith(t, "", tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if !strings.HasPrefix(stdout, tt.stdout) {
				t.Errorf("stdout = %q, want prefix %q", stdout, tt.stdout)
			}
			if tt.stderr == "" {
				if stderr != "" {
					t.Errorf("stderr = %q", stderr)
				}
				return
			}
			checkOneLine(t, stderr, tt.stderr)
		})
	}
}

func TestDialErrors(t *testing.T) {
	forbidden := wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		if _, err := http.ReadRequest(bufio.NewReader(nc)); err == nil {
			io.WriteString(nc, "HTTP/1.1 403 Forbidden\r\nContent-Length: 11\r\n\r\nnot allowed")
		}
	})
	defer forbidden.Close()
	hostile := wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		if _, err := http.ReadRequest(bufio.NewReader(nc)); err == nil {
			io.WriteString(nc, "HTTP/1.1 403 \x1b]0;owned\x07\x1b[2J\u202e\r\nContent-Length: 0\r\n\r\n")
		}
	})
	defer hostile.Close()
	notWS := wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		if _, err := http.ReadRequest(bufio.NewReader(nc)); err == nil {
			io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		}
	})
	defer notWS.Close()
	plainWS, _ := newServer(t, nil, wstest.Echo)
	plainHTTP := wstest.NewRaw(func(nc net.Conn) { // answers a ClientHello in plain HTTP
		defer nc.Close()
		io.WriteString(nc, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
	})
	defer plainHTTP.Close()
	refused := closedPort(t)
	// A redirect to the refused port: the message names the host dialled.
	redirect := wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		if _, err := http.ReadRequest(bufio.NewReader(nc)); err == nil {
			io.WriteString(nc, "HTTP/1.1 302 Found\r\nLocation: ws://"+refused+"/\r\nContent-Length: 0\r\n\r\n")
		}
	})
	defer redirect.Close()

	tests := []struct {
		name   string
		args   []string
		stderr string
		also   string
	}{
		{"refused", []string{"ws://" + refused + "/"}, "wsdump: cannot connect to " + refused + ": connection refused", ""},
		{"refused after a redirect", []string{redirect.URL}, "wsdump: cannot connect to " + refused + ": connection refused", ""},
		{"403", []string{forbidden.URL}, "wsdump: handshake failed: server answered 403 Forbidden: not allowed", ""},
		{"403 with escape sequences", []string{hostile.URL}, `wsdump: handshake failed: server answered 403 \x1b]0;owned\x07\x1b[2J\u202e`, ""},
		{"200", []string{notWS.URL}, "wsdump: handshake failed: server answered 200 OK", ""},
		{"tls to plain server", []string{"wss://" + plainHTTP.Addr + "/"}, "wsdump: TLS", "try ws://"},
		{"proxy refused", []string{"-p", "http://" + refused, plainWS.URL}, "wsdump: proxy", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runWith(t, "", tt.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			checkOneLine(t, stderr, tt.stderr)
			if !strings.Contains(stderr, tt.also) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.also)
			}
		})
	}
}

func TestTLS(t *testing.T) {
	ca := wstest.NewCA()
	srv := newTLSServer(t, ca.ServerConfig(), wstest.Echo)

	_, stderr, code := runWith(t, "hello\n", srv.URL)
	if code != 1 {
		t.Errorf("without -n: exit %d, want 1", code)
	}
	checkOneLine(t, stderr, "wsdump: TLS: certificate of 127.0.0.1 is signed by an unknown authority")
	if !strings.Contains(stderr, "(use -n/--nocert to skip certificate verification)") {
		t.Errorf("no -n suggestion in %q", stderr)
	}

	for _, flag := range []string{"-n", "--nocert"} {
		stdout, stderr, code := runWith(t, "hello\n", flag, srv.URL)
		if code != 0 || stdout != "< hello\n" || stderr != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", flag, code, stdout, stderr)
		}
	}
}

// TestCompress: --compress offers permessage-deflate; once the server
// accepts, wsdump's messages arrive compressed (RSV1 set, RFC 7692 §6).
func TestCompress(t *testing.T) {
	got := make(chan *wstest.Frame, 1)
	srv, reqs := newServer(t, http.Header{"Sec-WebSocket-Extensions": {"permessage-deflate"}}, func(c *wstest.Conn) {
		f, err := c.ReadFrame()
		if err != nil {
			return
		}
		got <- f
		c.WriteFrame(true, 1, []byte("ok")) // uncompressed: allowed (RSV1 clear)
		for {
			if f, err := c.ReadFrame(); err != nil || f.Opcode == 8 {
				c.WriteFrame(true, 8, wstest.ClosePayload(1000, ""))
				return
			}
		}
	})
	p := start(t, "--compress", "-v", srv.URL)
	p.stdin.Write([]byte(strings.Repeat("squeeze ", 20) + "\n"))
	p.stdout.waitFor(t, 0, func(s string) string { return s }, "< text: ok\n")
	p.stdin.Close()
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, p.stderr)
	}
	if ext := (<-reqs).Header.Get("Sec-WebSocket-Extensions"); !strings.HasPrefix(ext, "permessage-deflate") {
		t.Errorf("offer = %q", ext)
	}
	f := <-got
	text, err := io.ReadAll(flate.NewReader(bytes.NewReader(append(f.Payload, 0, 0, 0xff, 0xff))))
	if f.Rsv != 4 || !strings.HasPrefix(string(text), "squeeze squeeze") {
		t.Errorf("frame rsv %d, inflated %q (%v)", f.Rsv, text, err)
	}
	if !strings.Contains(p.stderr.String(), ", permessage-deflate") {
		t.Errorf("stderr %q does not tell the extension", p.stderr)
	}
}
