package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/wstest"
)

// frameRecorder is an echo server that reports every frame it receives,
// control frames included: it echoes data frames, answers pings (unless
// silent) and echoes the close frame.
func frameRecorder(got chan<- received, silent bool) func(c *wstest.Conn) {
	return func(c *wstest.Conn) {
		for {
			f, err := c.ReadFrame()
			if err != nil {
				return
			}
			got <- received{f.Opcode, string(f.Payload)}
			switch f.Opcode {
			case 1, 2:
				c.WriteFrame(true, f.Opcode, f.Payload)
			case 9:
				if !silent {
					c.WriteFrame(true, 10, f.Payload)
				}
			case 8:
				c.WriteFrame(true, 8, f.Payload)
				return
			}
		}
	}
}

// TestCommandsPiped runs every command from a pipe: what the server gets,
// what is printed, and that a command's mistake does not end the session.
func TestCommandsPiped(t *testing.T) {
	got := make(chan received, 32)
	srv, _ := newServer(t, nil, frameRecorder(got, false))
	stdin := "/ping hello\n//etc\n/binary 01 02 ff\n/pong x\n/help\n/bogus\n/x\x1b]0;title\a\x1b[2J\n/binary zz\n/close 99\nplain\n/close 4000 all done\nnot sent\n"
	stdout, stderr, code := runWith(t, stdin, "--commands", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !regexp.MustCompile(`^< pong: hello rtt=[0-9.]+[µm]?s\n< /etc\n< b'\\x01\\x02\\xff'\n< plain\n$`).MatchString(stdout) {
		t.Errorf("stdout = %q", stdout)
	}
	if strings.ContainsAny(stderr, "\x1b\a") {
		t.Errorf("stderr %q holds the input's control characters", stderr)
	}
	for _, want := range []string{"wsdump: Commands", "/close [code [reason]]", "wsdump: unknown command /bogus",
		`wsdump: unknown command /x\x1b]0;title\x07\x1b[2J`,
		"wsdump: /binary: not hexadecimal", `wsdump: /close: "99" is not a close code`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q lacks %q", stderr, want)
		}
	}
	srv.Close()
	want := []received{{9, "hello"}, {1, "/etc"}, {2, "\x01\x02\xff"}, {10, "x"}, {1, "plain"}, closeFrame(4000, "all done")}
	if sent := drain(got); !slices.Equal(sent, want) {
		t.Errorf("server received %q, want %q", sent, want)
	}

	// Without --commands, piped lines go as they are, "/quit" too;
	// --no-commands wins over --commands; --base64 decodes /binary.
	srv, _ = newServer(t, nil, frameRecorder(got, false))
	stdout, _, code = runWith(t, "/api/v1\n/quit\nlast\n", srv.URL)
	if code != 0 || stdout != "< /api/v1\n< /quit\n< last\n" {
		t.Errorf("piped: exit %d, stdout %q", code, stdout)
	}
	stdout, _, code = runWith(t, "/ping x\n", "--commands", "--no-commands", srv.URL)
	if code != 0 || stdout != "< /ping x\n" {
		t.Errorf("--no-commands: exit %d, stdout %q", code, stdout)
	}
	stdout, _, code = runWith(t, "/binary AAH/\n", "--commands", "--base64", srv.URL)
	if code != 0 || stdout != "< AAH/\n" {
		t.Errorf("--base64 /binary: exit %d, stdout %q", code, stdout)
	}
	srv.Close()
	want = []received{{1, "/api/v1"}, {1, "/quit"}, {1, "last"}, closeFrame(1000, ""), {1, "/ping x"}, closeFrame(1000, ""), {2, "\x00\x01\xff"}, closeFrame(1000, "")}
	if sent := drain(got); !slices.Equal(sent, want) {
		t.Errorf("server received %q, want %q", sent, want)
	}
}

// TestPingInterval: automatic pings, their round-trip times with
// --print-rtt or -v, and --ping-timeout against a server that never
// answers (exit status 4).
func TestPingInterval(t *testing.T) {
	for _, flag := range []string{"--print-rtt", "-v"} {
		srv, _ := newServer(t, nil, wstest.Echo)
		p := start(t, "--ping-interval", "10ms", flag, srv.URL)
		at := p.stdout.waitFor(t, 0, ident, "< pong: wsdump 1 rtt=")
		p.stdout.waitFor(t, at, ident, "< pong: wsdump 2 rtt=")
		p.stdin.Close()
		if code := p.wait(); code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", flag, code, p.stderr)
		}
	}

	got := make(chan received, 64)
	srv, _ := newServer(t, nil, frameRecorder(got, true))
	p := start(t, "--ping-interval", "10ms", "--ping-timeout", "0.03", srv.URL)
	if code := p.wait(); code != exitPingTimeout {
		t.Fatalf("exit %d, want %d; stderr %q", code, exitPingTimeout, p.stderr)
	}
	checkOneLine(t, p.stderr.String(), "wsdump: no pong within --ping-timeout 30ms")
	srv.Close()
	if sent := drain(got); len(sent) != 1 || sent[0] != (received{9, "wsdump 1"}) {
		t.Errorf("server received %q, want one ping (none while it is unanswered)", sent)
	}
}

func ident(s string) string { return s }

// dropFirstThenEcho returns a server that drops its first connection after
// one message and echoes on the later ones, recording what they receive.
func dropFirstThenEcho(t *testing.T) (*wstest.Server, chan received) {
	t.Helper()
	var conns atomic.Int32
	got := make(chan received, 16)
	srv, _ := newServer(t, nil, func(c *wstest.Conn) {
		if conns.Add(1) == 1 {
			c.ReadMessage() // then drop the connection
			return
		}
		recordingEcho(got)(c)
	})
	return srv, got
}

// TestReconnect: the server drops the first connection; wsdump says so,
// connects again and goes on with the same input, the line that was being
// sent included.
func TestReconnect(t *testing.T) {
	srv, got := dropFirstThenEcho(t)
	p := start(t, "--reconnect", "10ms", srv.URL)
	p.stdin.Write([]byte("a\n"))
	at := p.stderr.waitFor(t, 0, ident, "wsdump: connection lost without a close frame: ")
	at = p.stderr.waitFor(t, at, ident, "; reconnecting in 10ms\n")
	p.stdin.Write([]byte("b\n")) // typed while reconnecting: waits for the connection
	p.stderr.waitFor(t, at, ident, "wsdump: reconnected to "+srv.URL+"\n")
	p.stdout.waitFor(t, 0, ident, "< b\n")
	p.stdin.Close()
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, p.stderr)
	}
	srv.Close()
	if sent := drain(got); !slices.Equal(sent, []received{{1, "b"}, closeFrame(1000, "")}) {
		t.Errorf("second connection received %q", sent)
	}
}

// TestReconnectFirstDial: with --reconnect, a first dial that fails is
// tried again on the same schedule; the first connection is announced as
// such and gets the -t text. A failure another attempt would only repeat
// (403) exits at once.
func TestReconnectFirstDial(t *testing.T) {
	var conns atomic.Int32
	got := make(chan received, 16)
	srv := wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		if conns.Add(1) <= 2 { // a failure worth trying again after
			if _, err := http.ReadRequest(bufio.NewReader(nc)); err == nil {
				io.WriteString(nc, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
			}
			return
		}
		if c, err := wstest.Upgrade(nc, nil, nil); err == nil {
			recordingEcho(got)(c)
		}
	})
	t.Cleanup(srv.Close)
	p := start(t, "--reconnect", "10ms", "-t", "first", srv.URL)
	at := p.stderr.waitFor(t, 0, ident, "wsdump: handshake failed: server answered 503 Service Unavailable; reconnecting in 10ms\n")
	at = p.stderr.waitFor(t, at, ident, "wsdump: reconnect failed: handshake failed: server answered 503")
	at = p.stderr.waitFor(t, at, ident, "; reconnecting in ") // 16-20 ms: jitter
	p.stderr.waitFor(t, at, ident, "wsdump: connected to "+srv.URL+"\n")
	p.stdout.waitFor(t, 0, ident, "< first\n")
	p.stdin.Write([]byte("then\n"))
	p.stdout.waitFor(t, 0, ident, "< then\n")
	p.stdin.Close()
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, p.stderr)
	}
	srv.Close()
	if sent := drain(got); !slices.Equal(sent, []received{{1, "first"}, {1, "then"}, closeFrame(1000, "")}) {
		t.Errorf("the connection received %q", sent)
	}

	deny := wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		forbid(nc)
	})
	t.Cleanup(deny.Close)
	_, stderr, code := runWith(t, "", "--reconnect", "10ms", deny.URL)
	if code != 1 || strings.Contains(stderr, "reconnecting") {
		t.Errorf("--reconnect against a 403: exit %d, stderr %q; want 1 at once", code, stderr)
	}
	checkOneLine(t, stderr, "wsdump: handshake failed: server answered 403 Forbidden")
}

// TestBinaryAndOutputFlags: -b, --base64, --hex, --json, --timestamps.
func TestBinaryAndOutputFlags(t *testing.T) {
	got := make(chan received, 16)
	srv, _ := newServer(t, nil, recordingEcho(got))
	tests := []struct {
		args  []string
		stdin string
		want  string // stdout, a regular expression
		sent  received
	}{
		{[]string{"-b"}, "hi\n", `^< b'hi'\n$`, received{2, "hi"}},
		{[]string{"--binary", "--hex"}, "hi\n", `^< 00000000  68 69 {45}\|hi\|\n$`, received{2, "hi"}},
		{[]string{"--base64"}, "AAH/\n", `^< AAH/\n$`, received{2, "\x00\x01\xff"}},
		{[]string{"--json"}, `{"a":[1]}` + "\n", `^< \{\n    "a": \[\n      1\n    \]\n  \}\n$`, received{1, `{"a":[1]}`}},
		{[]string{"--timestamps"}, "hi\n", `^< \d\d:\d\d:\d\d\.\d{3} hi\n$`, received{1, "hi"}},
	}
	for _, tt := range tests {
		stdout, stderr, code := runWith(t, tt.stdin, append(tt.args, srv.URL)...)
		if code != 0 || !regexp.MustCompile(tt.want).MatchString(stdout) {
			t.Errorf("%q: exit %d, stdout %q, want %s; stderr %q", tt.args, code, stdout, tt.want, stderr)
		}
		if sent := drainUntilClose(t, got); len(sent) != 1 || sent[0] != tt.sent {
			t.Errorf("%q: server received %q, want %q", tt.args, sent, tt.sent)
		}
	}
}

// drainUntilClose returns the messages of one connection, up to its close.
func drainUntilClose(t *testing.T, got <-chan received) []received {
	t.Helper()
	var out []received
	for {
		select {
		case r := <-got:
			if r.op == 8 {
				return out
			}
			out = append(out, r)
		case <-time.After(testTimeout):
			t.Errorf("no close frame after %q", out)
			return out
		}
	}
}

// TestScripting: --once and --max-messages exit after that many messages
// (control frames not counted) with the input still open, sending
// --close-status and --close-reason.
func TestScripting(t *testing.T) {
	got := make(chan received, 16)
	srv, _ := newServer(t, nil, func(c *wstest.Conn) {
		// Control frames are not messages: they count for neither.
		c.WriteFrame(true, 9, []byte("ping"))
		c.WriteFrame(true, 10, []byte("pong"))
		for _, m := range []string{"m1", "m2", "m3"} {
			c.WriteFrame(true, 1, []byte(m))
		}
		recordingEcho(got)(c)
	})
	tests := []struct {
		args []string
		want string
		sent received
	}{
		{[]string{"-1"}, "< m1\n", closeFrame(1000, "")},
		{[]string{"--once", "-r"}, "m1\n", closeFrame(1000, "")},
		{[]string{"--max-messages", "2", "--close-status", "4000", "--close-reason", "enough"}, "< m1\n< m2\n", closeFrame(4000, "enough")},
	}
	for _, tt := range tests {
		p := start(t, append(tt.args, srv.URL)...) // stdin stays open
		if code := p.wait(); code != 0 || p.stdout.String() != tt.want {
			t.Errorf("%q: exit %d, stdout %q, want %q; stderr %q", tt.args, code, p.stdout, tt.want, p.stderr)
		}
		select {
		case sent := <-got:
			if sent != tt.sent {
				t.Errorf("%q: server received %q, want %q", tt.args, sent, tt.sent)
			}
		case <-time.After(testTimeout):
			t.Errorf("%q: the server received nothing", tt.args)
		}
	}
	for _, args := range [][]string{{"--close-status", "1006"}, {"--once", "--max-messages", "3"}, {"--ping-timeout", "1s"},
		{"--ping-interval", "soon"}, {"--cert", "c.pem"}, {"--auth", "nopassword"}, {"--hex", "--base64"}, {"-L", "-1"}} {
		if _, stderr, code := runWith(t, "", append(args, srv.URL)...); code != exitUsage {
			t.Errorf("%q: exit %d, stderr %q; want %d", args, code, stderr, exitUsage)
		}
	}
}

// TestTLSAndAuthFlags: --ca trusts a private CA, --cert/--key present a
// client certificate, --auth sends Basic credentials, -L bounds redirects.
func TestTLSAndAuthFlags(t *testing.T) {
	dir := t.TempDir()
	ca := wstest.NewCA()
	caFile := filepath.Join(dir, "ca.pem")
	certFile, keyFile := filepath.Join(dir, "me.pem"), filepath.Join(dir, "me.key")
	keyDER, err := x509.MarshalPKCS8PrivateKey(ca.Server.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		caFile:   ca.CertPEM,
		certFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Server.Certificate[0]}),
		keyFile:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := ca.ServerConfig()
	cfg.ClientAuth = tls.RequireAnyClientCert
	srv := newTLSServer(t, cfg, wstest.Echo)
	if _, stderr, code := runWith(t, "hi\n", "--ca", caFile, srv.URL); code != exitConnect {
		t.Errorf("no client certificate: exit %d, stderr %q", code, stderr)
	}
	stdout, stderr, code := runWith(t, "hi\n", "--ca", caFile, "--cert", certFile, "--key", keyFile, srv.URL)
	if code != 0 || stdout != "< hi\n" {
		t.Errorf("mutual TLS: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	srv2, reqs := newServer(t, nil, wstest.Echo)
	stdout, stderr, code = runWith(t, "hi\n", "--auth", "alice:s3cret", srv2.URL)
	if code != 0 || stdout != "< hi\n" {
		t.Errorf("--auth: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	select {
	case req := <-reqs:
		if req.Header.Get("Authorization") != "Basic YWxpY2U6czNjcmV0" {
			t.Errorf("Authorization = %q", req.Header.Get("Authorization"))
		}
	default:
		t.Error("--auth: no handshake request")
	}

	redirect := wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		if _, _, _, err := wstest.ReadRequest(nc); err == nil {
			nc.Write([]byte("HTTP/1.1 302 Found\r\nLocation: " + srv2.URL + "\r\nContent-Length: 0\r\n\r\n"))
		}
	})
	defer redirect.Close()
	if stdout, stderr, code := runWith(t, "hi\n", redirect.URL); code != 0 || stdout != "< hi\n" {
		t.Errorf("redirect followed: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	_, stderr, code = runWith(t, "hi\n", "-L", "0", redirect.URL)
	if code != exitConnect || !strings.Contains(stderr, "302") {
		t.Errorf("-L 0: exit %d, stderr %q", code, stderr)
	}
	drainRequests(reqs)
}

func drainRequests(ch chan *http.Request) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// TestHelpDocumentsEveryFlag: -h names every flag, each with an example.
func TestHelpDocumentsEveryFlag(t *testing.T) {
	for name := range longKinds {
		i := strings.Index(usageText, "--"+name)
		if i < 0 {
			t.Errorf("-h does not document --%s", name)
			continue
		}
		block := usageText[i:]
		if end := strings.Index(block, "\n    -"); end >= 0 {
			block = block[:end]
		}
		if !strings.Contains(block, "Example: wsdump") && !strings.Contains(block, "| wsdump") {
			t.Errorf("-h has no example for --%s:\n%s", name, block)
		}
	}
}
