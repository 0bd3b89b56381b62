package websocket

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wsclient/websocket/internal/wstest"
)

// readHeadFast runs the fast path on data as roundTrip does: ok is false when
// roundTrip would hand the bytes to http.ReadResponse.
func readHeadFast(data []byte) (status string, h http.Header, rest []byte, ok bool) {
	br := bufio.NewReaderSize(bytes.NewReader(data), 4096)
	n := upgradeHeadLen(br)
	if n == 0 {
		return "", nil, nil, false
	}
	head, _ := br.Peek(n)
	status, h, ok = parseUpgradeHead(string(head))
	if !ok {
		return "", nil, nil, false
	}
	return status, h, data[n:], true
}

const accept101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"

func TestParseUpgradeHead(t *testing.T) {
	std := http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}, "Sec-Websocket-Accept": {"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}}
	with := func(kv ...string) http.Header {
		h := std.Clone()
		for i := 0; i < len(kv); i += 2 {
			h[kv[i]] = append(h[kv[i]], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name   string
		in     string
		fast   bool   // the fast path takes it
		status string // when fast
		header http.Header
		rest   string
	}{
		{"plain", accept101 + "\r\n", true, "101 Switching Protocols", std, ""},
		{"frame after head", accept101 + "\r\n\x81\x02hi", true, "101 Switching Protocols", std, "\x81\x02hi"},
		{"LF line ends", strings.ReplaceAll(accept101, "\r\n", "\n") + "\n", true, "101 Switching Protocols", std, ""},
		{"mixed line ends", accept101 + "X-A: 1\n\r\n", true, "101 Switching Protocols", with("X-A", "1"), ""},
		{"no reason phrase", "HTTP/1.1 101\r\nUpgrade: websocket\r\n\r\n", true, "101", http.Header{"Upgrade": {"websocket"}}, ""},
		{"spaces before code", "HTTP/1.1   101 OK\r\n\r\n", true, "101 OK", http.Header{}, ""},
		{"HTTP/1.0", "HTTP/1.0 101 Switching Protocols\r\n\r\n", true, "101 Switching Protocols", http.Header{}, ""},
		{"odd whitespace", accept101 + "X-A:\t  v 1 \t\r\nX-B:\r\nX-C:x\r\n\r\n", true, "101 Switching Protocols", with("X-A", "v 1", "X-B", "", "X-C", "x"), ""},
		{"duplicate headers", accept101 + "X-A: 1\r\nx-a: 2\r\nX-A: 3\r\n\r\n", true, "101 Switching Protocols", with("X-A", "1", "X-A", "2", "X-A", "3"), ""},
		{"names any case", "HTTP/1.1 101 x\r\nUPGRADE: websocket\r\nsec-websocket-accept: a\r\nSec-WebSocket-Protocol: chat\r\nx-very-long-header-name-that-does-not-fit-in-sixty-four-bytes-at-all: y\r\n\r\n", true, "101 x",
			http.Header{"Upgrade": {"websocket"}, "Sec-Websocket-Accept": {"a"}, "Sec-Websocket-Protocol": {"chat"}, "X-Very-Long-Header-Name-That-Does-Not-Fit-In-Sixty-Four-Bytes-At-All": {"y"}}, ""},
		{"Set-Cookie", accept101 + "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n", true, "101 Switching Protocols", with("Set-Cookie", "a=1", "Set-Cookie", "b=2"), ""},
		{"Pragma no-cache", accept101 + "Pragma: no-cache\r\n\r\n", true, "101 Switching Protocols", with("Pragma", "no-cache", "Cache-Control", "no-cache"), ""},
		{"obs-text value", accept101 + "X-A: caf\xc3\xa9\r\n\r\n", true, "101 Switching Protocols", with("X-A", "caf\xc3\xa9"), ""},
		{"a and z at the edges of a name's words", accept101 + "z-zz: 1\r\nAZ-ZA: 2\r\na-Aa: 3\r\n\r\n", true, "101 Switching Protocols", with("Z-Zz", "1", "Az-Za", "2", "A-Aa", "3"), ""},

		// Everything else goes to net/http, which parses or refuses it.
		{"not 101", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, "", nil, ""},
		{"1010", "HTTP/1.1 1010 x\r\n\r\n", false, "", nil, ""},
		{"101 then tab", "HTTP/1.1 101\tx\r\n\r\n", false, "", nil, ""},
		{"bad version", "HTTP/1.x 101 Switching Protocols\r\n\r\n", false, "", nil, ""},
		{"no space", "HTTP/1.1\r\n\r\n", false, "", nil, ""},
		{"folded line", accept101 + "X-A: 1\r\n 2\r\n\r\n", false, "", nil, ""},
		{"leading space", "HTTP/1.1 101 x\r\n Upgrade: websocket\r\n\r\n", false, "", nil, ""},
		{"no colon", accept101 + "X-A\r\n\r\n", false, "", nil, ""},
		{"space in name", accept101 + "X-A : 1\r\n\r\n", false, "", nil, ""},
		{"empty name", accept101 + ": 1\r\n\r\n", false, "", nil, ""},
		{"CR in value", accept101 + "X-A: 1\r2\r\n\r\n", false, "", nil, ""},
		{"NUL in value", accept101 + "X-A: 1\x002\r\n\r\n", false, "", nil, ""},
		{"Content-Length", accept101 + "Content-Length: 0\r\n\r\n", false, "", nil, ""},
		{"Transfer-Encoding", accept101 + "Transfer-Encoding: chunked\r\n\r\n", false, "", nil, ""},
		{"Connection close", "HTTP/1.1 101 x\r\nConnection: Upgrade, close\r\n\r\n", false, "", nil, ""},
		{"missing CRLF", accept101, false, "", nil, ""},
		{"missing end of status line", "HTTP/1.1 101 Switching", false, "", nil, ""},
		{"empty", "", false, "", nil, ""},
		{"head over the buffer", accept101 + "X-A: " + strings.Repeat("a", 5000) + "\r\n\r\n", false, "", nil, ""},
	}
	// A handshake parses into the map and values its pooled state kept
	// from the one before (fillUpgradeHeader, handshakeState.reset):
	// each case parses into those of the case before it too.
	hs := handshakePool.New().(*handshakeState)
	hs.hdr = http.Header{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, rest, ok := readHeadFast([]byte(tt.in))
			if ok != tt.fast {
				t.Fatalf("fast path took it: %t, want %t", ok, tt.fast)
			}
			if !ok {
				return
			}
			if status != tt.status || !reflect.DeepEqual(h, tt.header) || string(rest) != tt.rest {
				t.Errorf("got %q %v rest %q, want %q %v rest %q", status, h, rest, tt.status, tt.header, tt.rest)
			}
			checkAgainstNetHTTP(t, []byte(tt.in))

			_, lines := cutLine(tt.in)
			lines = lines[:len(lines)-len(rest)]
			if hs.vals, ok = fillUpgradeHeader(hs.hdr, hs.vals, lines); !ok || !reflect.DeepEqual(hs.hdr, tt.header) {
				t.Errorf("parsed into a used map: %v (%t), want %v", hs.hdr, ok, tt.header)
			}
			hs.reset()
		})
	}
}

// TestHandshakeStateReset checks what a pooled handshakeState keeps of a
// response: its map and values, emptied, so that the next handshake parses
// without allocating and no header string stays reachable; none of them
// after an unusually long response.
func TestHandshakeStateReset(t *testing.T) {
	long := accept101
	for i := range maxPooledHeader {
		long += "X-" + strings.Repeat("a", i+1) + ": v\r\n"
	}
	for _, tc := range []struct {
		name string
		head string
		kept bool
	}{
		{"usual", accept101 + "Sec-WebSocket-Protocol: chat\r\n\r\n", true},
		{"long", long + "\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := handshakePool.New().(*handshakeState)
			hs.hdr = http.Header{}
			_, lines := cutLine(tc.head)
			var ok bool
			if hs.vals, ok = fillUpgradeHeader(hs.hdr, hs.vals, lines); !ok {
				t.Fatal("fast path refused the head")
			}
			hs.reset()
			if kept := hs.hdr != nil && hs.vals != nil; kept != tc.kept {
				t.Fatalf("map and values kept: %t, want %t", kept, tc.kept)
			}
			if !tc.kept {
				return
			}
			if len(hs.hdr) != 0 || slices.ContainsFunc(hs.vals[:cap(hs.vals)], func(s string) bool { return s != "" }) {
				t.Fatalf("released state keeps %v, %q", hs.hdr, hs.vals[:cap(hs.vals)])
			}
			if n := testing.AllocsPerRun(20, func() {
				hs.vals, _ = fillUpgradeHeader(hs.hdr, hs.vals, lines)
				hs.reset()
			}); n != 0 {
				t.Errorf("a parse into the kept map allocates %.0f times", n)
			}
		})
	}
}

// checkAgainstNetHTTP checks that, when the fast path takes data, net/http
// reads the same 101, header and remaining bytes.
func checkAgainstNetHTTP(t *testing.T, data []byte) {
	t.Helper()
	status, h, rest, ok := readHeadFast(data)
	if !ok {
		return
	}
	br := bufio.NewReaderSize(bytes.NewReader(data), 4096)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatalf("fast path took %q, net/http refuses it: %v", data, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Status != status {
		t.Fatalf("fast path read status %q of %q, net/http %d %q", status, data, resp.StatusCode, resp.Status)
	}
	if !reflect.DeepEqual(h, resp.Header) {
		t.Fatalf("fast path read header %v of %q, net/http %v", h, data, resp.Header)
	}
	restStd, _ := br.Peek(br.Buffered()) // data is shorter than the buffer
	if len(data) <= 4096 && !bytes.Equal(rest, restStd) {
		t.Fatalf("fast path left %q of %q, net/http %q", rest, data, restStd)
	}
}

func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		accept101 + "\r\n",
		accept101 + "\r\n\x81\x02hi",
		strings.ReplaceAll(accept101, "\r\n", "\n") + "\n",
		accept101 + "X-A:\t v \r\nx-a: 2\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
		accept101 + "X-A: 1\r\n 2\r\n\r\n",
		accept101 + "Pragma: no-cache\r\nConnection: close\r\n\r\n",
		accept101 + "Content-Length: 5\r\n\r\nhello",
		"HTTP/1.0 101\r\n\r\n",
		"HTTP/1.1  101  x\r\nA:\r\n\r\n",
		"HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgainstNetHTTP(t, data)
	})
}

// TestDialAddr checks that dialAddr is net.JoinHostPort of the URL's host
// and port, whether or not it reuses u.Host.
func TestDialAddr(t *testing.T) {
	for _, raw := range []string{
		"ws://h:80/", "ws://h/", "ws://h:/", "wss://h/", "ws://[::1]:8080/", "ws://[::1]/",
		"ws://[fe80::1%25eth0]:80/", "wss://1.2.3.4:0443/x", "ws://user:pw@h:81/",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		host, port := hostPort(u)
		if got, want := dialAddr(u, host, port), net.JoinHostPort(host, port); got != want {
			t.Errorf("%s: dialAddr = %q, want %q", raw, got, want)
		}
	}
}

// TestHostHeader: the Host (and Origin) header names the port only when it
// is not the scheme's default, and an IPv6 address in brackets, as RFC
// 6455 and RFC 7230 want.
func TestHostHeader(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"ws://h/", "h"},
		{"ws://h:80/", "h"},
		{"ws://h:443/", "h:443"},
		{"wss://h/", "h"},
		{"wss://h:443/", "h"},
		{"wss://h:80/", "h:80"},
		{"ws://H.Example:8080/x?q", "H.Example:8080"},
		{"ws://[::1]/", "[::1]"},
		{"ws://[::1]:8080/", "[::1]:8080"},
		{"wss://[2001:db8::1]:443/", "[2001:db8::1]"},
		{"ws://user:pw@h:81/", "h:81"},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(appendHostHeader(nil, u)); got != tc.want {
			t.Errorf("%s: Host %q, want %q", tc.url, got, tc.want)
		}
	}
}

// TestConnKeepsHeaderLines checks what a Conn keeps of its handshake
// response: the header lines that Header parses, in one string, and not the
// status line, which nothing reads after the dial.
func TestConnKeepsHeaderLines(t *testing.T) {
	s := wstest.New(func(c *wstest.Conn) { c.ReadFrame() })
	defer s.Close()
	c, err := Dial(context.Background(), s.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if strings.HasPrefix(c.respHead, "HTTP/") || !strings.HasSuffix(c.respHead, "\r\n\r\n") {
		t.Errorf("the Conn keeps %q; want the header lines and the empty line", c.respHead)
	}
	if h := c.Header(); h.Get("Upgrade") != "websocket" || h.Get("Sec-Websocket-Accept") == "" {
		t.Errorf("Header() = %v; want the response's header", h)
	}
}
