package main

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/wstest"
	"golang.org/x/term"
)

// TestControlCharacters: what is escaped before it reaches a terminal, at
// each edge of the ranges: C0 and DEL, C1, and the bidi overrides that can
// make text read in another order than it was sent.
func TestControlCharacters(t *testing.T) {
	for _, tt := range []struct {
		r    rune
		want string // escapeControls of the rune alone
	}{
		{'\t', "\t"}, {'\n', "\n"}, {'\r', `\r`},
		{0x00, `\x00`}, {0x1b, `\x1b`}, {0x1f, `\x1f`}, {0x20, " "}, {0x7e, "~"}, {0x7f, `\x7f`},
		{0x80, `\x80`}, {0x9b, `\x9b`}, {0x9f, `\x9f`}, {0xa0, "\u00a0"}, {0xff, "ÿ"}, {0x100, "Ā"},
		{0x2029, "\u2029"}, {0x202a, `\u202a`}, {0x202e, `\u202e`}, {0x202f, "\u202f"},
		{0x2065, "\u2065"}, {0x2066, `\u2066`}, {0x2069, `\u2069`}, {0x206a, "\u206a"},
	} {
		if got := escapeControls(string(tt.r)); got != tt.want {
			t.Errorf("escapeControls(%U) = %q, want %q", tt.r, got, tt.want)
		}
	}
	// Bytes that are not UTF-8 are escaped one by one; a real U+FFFD stays.
	if got, want := escapeControls("a\xff\x9bb\uFFFD\xe2\x80"), `a\xff\x9bb`+"\uFFFD"+`\xe2\x80`; got != want {
		t.Errorf("escapeControls of bytes that are not UTF-8 = %q, want %q", got, want)
	}
	if got, want := bytesRepr([]byte{0x1f, 0x20, 0x7e, 0x7f, '\'', '\\'}), `b"\x1f ~\x7f'\\"`; got != want {
		t.Errorf("bytesRepr = %s, want %s", got, want)
	}
}

// TestFirstLine: a response body is shown by its first line, cut after
// 120 bytes, and not at all when it is not printable text.
func TestFirstLine(t *testing.T) {
	l120 := strings.Repeat("a", 120)
	for _, tt := range []struct{ body, want string }{
		{"  Not allowed \nmore", "Not allowed"},
		{l120, l120},
		{l120 + "b", l120 + "..."},
		{"bell\a", ""},
		{"\xff\xfe", ""},
	} {
		if got := firstLine([]byte(tt.body)); got != tt.want {
			t.Errorf("firstLine(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func TestHostOf(t *testing.T) {
	for _, tt := range []struct{ url, want string }{
		{"wss://user:secret@example.com:8443/x?y", "example.com:8443"},
		{"ws://[::1", "the server"},
		{"ws:///path", "the server"},
	} {
		if got := hostOf(tt.url); got != tt.want {
			t.Errorf("hostOf(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

func TestIsUint(t *testing.T) {
	for s, want := range map[string]bool{"": false, "0": true, "9": true, "10": true, "/": false, ":": false, "-1": false, "1a": false} {
		if got := isUint(s); got != want {
			t.Errorf("isUint(%q) = %v", s, got)
		}
	}
}

// TestPingTrackerBound: pings the server never answers are forgotten 64 at
// a time, so a long session keeps no more.
func TestPingTrackerBound(t *testing.T) {
	var p pingTracker
	for i := range 64 {
		p.sent(strconv.Itoa(i), false)
	}
	if len(p.pending) != 64 {
		t.Fatalf("%d pings pending, want 64", len(p.pending))
	}
	p.sent("64", false)
	if _, ok := p.answered([]byte("0")); ok || len(p.pending) != 1 {
		t.Errorf("after the 65th ping: %d pending (the first one answered: %v); want only the 65th", len(p.pending), ok)
	}
}

// TestHistoryBounds: the history keeps its last 1000 lines, in memory and
// in its file; a file of 1000 lines is left as it is.
func TestHistoryBounds(t *testing.T) {
	var h history
	for _, l := range lines(1, historyMax) {
		h.Add(l)
	}
	if h.Len() != historyMax || h.At(historyMax-1) != "line 1" {
		t.Fatalf("after %d lines: %d kept, oldest %q", historyMax, h.Len(), h.At(h.Len()-1))
	}
	h.Add("one more")
	if h.Len() != historyMax || h.At(historyMax-1) != "line 2" || h.At(0) != "one more" {
		t.Errorf("after %d lines: %d kept, oldest %q", historyMax+1, h.Len(), h.At(h.Len()-1))
	}

	path := filepath.Join(t.TempDir(), "history")
	writeLines(t, path, lines(1, historyMax))
	before, _ := os.Stat(path)
	openHistory(path).close()
	if after, err := os.Stat(path); err != nil || !os.SameFile(before, after) {
		t.Errorf("a history of %d lines was rewritten", historyMax)
	}
	writeLines(t, path, lines(1, historyMax+1))
	openHistory(path).close()
	data, _ := os.ReadFile(path)
	if got := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"); !slices.Equal(got, lines(2, historyMax+1)) {
		t.Errorf("a history of %d lines compacted to %d lines from %q", historyMax+1, len(got), got[0])
	}
}

// lines returns "line from" to "line to".
func lines(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, "line "+strconv.Itoa(i))
	}
	return out
}

// writeLines writes a history file of lines, as wsdump writes it.
func writeLines(t *testing.T, path string, lines []string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestHistoryPathWithoutHome: with neither XDG_STATE_HOME nor HOME there is
// no history file (not one relative to the working directory); with HOME
// alone it is under HOME.
func TestHistoryPathWithoutHome(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "")
	if p := historyPath(); p != "" {
		t.Errorf("historyPath() = %q, want none", p)
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	if p, want := historyPath(), filepath.Join(home, ".local", "state", "wsdump", "history"); p != want {
		t.Errorf("historyPath() = %q, want %q", p, want)
	}
}

// testSearcher returns a reverse search over a history of entries, oldest
// first, on a terminal that reads nothing and writes nowhere.
func testSearcher(entries ...string) *searcher {
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{strings.NewReader(""), io.Discard}, "> ")
	return &searcher{t: t, h: &history{entries: entries}, prompt: "> "}
}

// TestSearchQuery: in a reverse search a space narrows the query like any
// printable character; DEL does not.
func TestSearchQuery(t *testing.T) {
	s := testSearcher("send a b", "ab")
	s.key("", 0, keyCtrlR)
	s.key("", 0, 'a')
	if line, _, ok := s.key("", 0, ' '); !ok || line != "send a b" || s.query != "a " {
		t.Errorf("a space in the search: %q, %v, query %q; want the line with \"a \"", line, ok, s.query)
	}
	if _, _, ok := s.key("", 0, 0x7f); ok || s.active {
		t.Errorf("DEL: handled %v, search active %v; want the search ended", ok, s.active)
	}
}

// TestSearchOlder: Ctrl-R again finds the next older match.
func TestSearchOlder(t *testing.T) {
	s := testSearcher("older a", "b", "newer a")
	s.key("", 0, keyCtrlR)
	if line, _, _ := s.key("", 0, 'a'); line != "newer a" {
		t.Errorf("'a' found %q, want the newest match", line)
	}
	if line, _, _ := s.key("newer a", 0, keyCtrlR); line != "older a" {
		t.Errorf("Ctrl-R again found %q, want the next older match", line)
	}
	if line, _, _ := s.key("older a", 0, keyCtrlR); line != "older a" {
		t.Errorf("Ctrl-R past the oldest match gave %q, want the line kept", line)
	}
}

// TestCommandLimits: /ping and /pong take up to 125 bytes, /close a reason
// of up to 123; one byte more is refused and the session goes on.
func TestCommandLimits(t *testing.T) {
	got := make(chan received, 8)
	srv, _ := newServer(t, nil, frameRecorder(got, false))
	p125, r123 := strings.Repeat("p", 125), strings.Repeat("r", 123)
	stdin := "/ping " + p125 + "p\n/pong " + p125 + "p\n/ping " + p125 + "\n/close 4000 " + r123 + "r\n/close 4000 " + r123 + "\n"
	_, stderr, code := runWith(t, stdin, "--commands", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"/ping: at most 125 bytes", "/pong: at most 125 bytes", "/close: the reason must be UTF-8 of at most 123 bytes"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q lacks %q", stderr, want)
		}
	}
	srv.Close()
	if sent := drain(got); !slices.Equal(sent, []received{{9, p125}, closeFrame(4000, r123)}) {
		t.Errorf("server received %q", sent)
	}
}

// TestPingAnswersShown: the answer to "/ping" is shown with its payload,
// one byte included, and with its round trip alone when it has none; with
// -v the command sent is shown too.
func TestPingAnswersShown(t *testing.T) {
	got := make(chan received, 8)
	srv, _ := newServer(t, nil, frameRecorder(got, false))
	stdout, stderr, code := runWith(t, "/ping\n/ping x\n", "--commands", srv.URL)
	if code != 0 || !regexp.MustCompile(`^< pong: rtt=[0-9.]+[µm]?s\n< pong: x rtt=[0-9.]+[µm]?s\n$`).MatchString(stdout) {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	stdout, stderr, code = runWith(t, "/ping x\n", "--commands", "-v", srv.URL)
	if code != 0 || !strings.HasPrefix(stdout, "> ping: x\n< pong: x rtt=") {
		t.Errorf("-v: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestCloseString: a close payload shown as its code, the code's name and
// the reason; one shorter than a code is "no status".
func TestCloseString(t *testing.T) {
	for _, tt := range []struct {
		p    []byte
		want string
	}{
		{nil, "1005 (no status received)"},
		{[]byte{3}, "1005 (no status received)"},
		{[]byte{3, 0xe8}, "1000 (normal closure)"},
		{[]byte{3, 0xe8, 'x'}, "1000 (normal closure) x"},
		{[]byte{0x0b, 0xb8, 'y', '\x1b'}, `3000 y\x1b`},
	} {
		if got := closeString(tt.p); got != tt.want {
			t.Errorf("closeString(%q) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

// TestHistoryFilePermissions: the history can hold what was typed (tokens
// in messages), so its file is the user's alone, in a directory that is
// too.
func TestHistoryFilePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "wsdump")
	path := filepath.Join(dir, "history")
	h := openHistory(path)
	h.Add("secret")
	h.close()
	for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700 | os.ModeDir} {
		if fi, err := os.Stat(p); err != nil || fi.Mode() != want {
			t.Errorf("%s: %v; want mode %v", p, modeOf(fi, err), want)
		}
	}
	// Compacting keeps the file the user's alone.
	writeLines(t, path, lines(1, historyMax+1))
	openHistory(path).close()
	if fi, err := os.Stat(path); err != nil || fi.Mode() != 0o600 {
		t.Errorf("compacted: %v; want mode 0600", modeOf(fi, err))
	}
}

// modeOf describes what os.Stat returned: the mode, or the error.
func modeOf(fi os.FileInfo, err error) any {
	if err != nil {
		return err
	}
	return fi.Mode()
}

func TestParseDuration(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration // -1: refused
	}{
		{"0", 0}, {"1.5", 1500 * time.Millisecond}, {"1e9", 1e9 * time.Second}, {"250ms", 250 * time.Millisecond}, {"0s", 0},
		{"-1", -1}, {"1.1e9", -1}, {"Inf", -1}, {"-Inf", -1}, {"NaN", -1}, {"-5s", -1}, {"5 s", -1}, {"", -1},
	} {
		d, err := parseDuration(tt.in)
		if tt.want < 0 && err == nil || tt.want >= 0 && (err != nil || d != tt.want) {
			t.Errorf("parseDuration(%q) = %v, %v; want %v (-1: an error)", tt.in, d, err, tt.want)
		}
	}
}

// TestSendableClose: the codes a close frame may carry (RFC 6455 7.4), at
// each edge of each range.
func TestSendableClose(t *testing.T) {
	for code, want := range map[int]bool{
		0: false, 999: false, 1000: true, 1003: true, 1004: false, 1005: false, 1006: false, 1007: true,
		1014: true, 1015: false, 2999: false, 3000: true, 4999: true, 5000: false,
	} {
		if got := sendableClose(code); got != want {
			t.Errorf("sendableClose(%d) = %v", code, got)
		}
	}
}

// TestTLSConfigNone: without -n, --ca or --cert there is no TLS config of
// wsdump's own: the library's verified default applies.
func TestTLSConfigNone(t *testing.T) {
	if cfg, err := (&config{}).tlsConfig(); cfg != nil || err != nil {
		t.Errorf("tlsConfig() = %v, %v; want nil, nil", cfg, err)
	}
	if cfg, err := (&config{nocert: true}).tlsConfig(); err != nil || cfg == nil || !cfg.InsecureSkipVerify {
		t.Errorf("-n: tlsConfig() = %v, %v; want one that skips verification", cfg, err)
	}
}

// TestHexDumpEdges: a dump of exactly 16 bytes is one line, and the ASCII
// column shows 0x20 to 0x7e as they are.
func TestHexDumpEdges(t *testing.T) {
	b := []byte("\x1f !~\x7fabcdefghijk")
	want := "00000000  1f 20 21 7e 7f 61 62 63  64 65 66 67 68 69 6a 6b  |. !~.abcdefghijk|"
	if got := hexDump(b); got != want {
		t.Errorf("hexDump = %q, want %q", got, want)
	}
}

// TestPrettyJSONOnlyObjects: --json indents objects and arrays; other JSON
// values and empty text are shown as they are.
func TestPrettyJSONOnlyObjects(t *testing.T) {
	for in, want := range map[string]bool{`{"a":1}`: true, ` [1] `: true, `5`: false, `"s"`: false, `null`: false, ``: false, ` `: false, `{`: false} {
		if _, ok := prettyJSON([]byte(in)); ok != want {
			t.Errorf("prettyJSON(%q): %v, want %v", in, ok, want)
		}
	}
}

// TestReconnectNotAfterClose: --reconnect is for lost connections; a
// server's close ends wsdump, input still open.
func TestReconnectNotAfterClose(t *testing.T) {
	var conns atomic.Int32
	srv, _ := newServer(t, nil, func(c *wstest.Conn) {
		conns.Add(1)
		c.ReadMessage()
		c.WriteFrame(true, 8, wstest.ClosePayload(1000, "done"))
		c.ReadFrame() // the answer
	})
	p := start(t, "--reconnect", "10ms", srv.URL)
	p.stdin.Write([]byte("a\n"))
	if code := p.wait(); code != 0 || conns.Load() != 1 {
		t.Errorf("exit %d after %d connections, want 0 after 1; stderr %q", code, conns.Load(), p.stderr)
	}
}

// TestReconnectStopsOnDenial: a reconnect refused with a failure another
// attempt would only repeat (403) ends wsdump at once.
func TestReconnectStopsOnDenial(t *testing.T) {
	var conns atomic.Int32
	srv := wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		if conns.Add(1) == 1 {
			if c, err := wstest.Upgrade(nc, nil, nil); err == nil {
				c.ReadMessage() // then drop the connection
			}
			return
		}
		forbid(nc)
	})
	t.Cleanup(srv.Close)
	p := start(t, "--reconnect", "10ms", srv.URL)
	p.stdin.Write([]byte("a\n"))
	if code := p.wait(); code != 1 || conns.Load() != 2 {
		t.Errorf("exit %d after %d connections, want 1 after 2; stderr %q", code, conns.Load(), p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "wsdump: reconnect failed: handshake failed: server answered 403 Forbidden") {
		t.Errorf("stderr %q", p.stderr)
	}
}

// TestCtrlCReader: a Ctrl-C anywhere in what the terminal gives, the first
// byte included (a key press alone), is noticed; other bytes are not.
func TestCtrlCReader(t *testing.T) {
	for in, want := range map[string]bool{"\x03": true, "ab\x03": true, "abc": false, "": false} {
		r := &ctrlCReader{r: strings.NewReader(in)}
		if n, _ := r.Read(make([]byte, 8)); n != len(in) || r.seen.Load() != want {
			t.Errorf("Read(%q): %d bytes, Ctrl-C seen %v; want %v", in, n, r.seen.Load(), want)
		}
	}
}

// TestIsEcho: which close frames answer the one wsdump sent (not shown)
// and which are the server's own (shown).
func TestIsEcho(t *testing.T) {
	s := &session{sentOur: 4000, sentReason: "bye"}
	code := []byte{0x0f, 0xa0} // 4000
	for _, tt := range []struct {
		p    []byte
		want bool
	}{
		{nil, true},
		{code, true},
		{append(code, "bye"...), true},
		{append(code, "other"...), false},
		{[]byte{0x03, 0xe8}, false},
		{code[:1], false},
	} {
		if got := s.isEcho(tt.p); got != tt.want {
			t.Errorf("isEcho(%q) = %v", tt.p, got)
		}
	}
}

// TestBackoff: --reconnect's delays double from the first, less up to 20%
// jitter, up to a minute or the first delay if that is longer.
func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		base time.Duration
		want []time.Duration // the delays before jitter
	}{
		{10 * time.Millisecond, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond}},
		{40 * time.Second, []time.Duration{40 * time.Second, time.Minute, time.Minute}},
		{2 * time.Minute, []time.Duration{2 * time.Minute, 2 * time.Minute}},
	} {
		b := &backoff{base: tt.base}
		for i, w := range tt.want {
			low := w - w/5
			if i == 0 {
				low = w // the first delay has no jitter
			}
			if d := b.wait(); d < low || d > w {
				t.Errorf("base %v: delay %d = %v, want %v to %v", tt.base, i, d, low, w)
			}
		}
	}
}

// TestHistorySkips: a line starting with a space is not recorded (as
// bash's ignorespace), nor a repeat of the line before; a space later in
// the line does not matter.
func TestHistorySkips(t *testing.T) {
	var h history
	for _, l := range []string{"a b", " secret", "a b", "", "c"} {
		h.Add(l)
	}
	if h.Len() != 2 || h.At(0) != "c" || h.At(1) != "a b" {
		t.Errorf("history: %q, want c and \"a b\"", h.entries)
	}
}
