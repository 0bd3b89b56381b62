package websocket_test

import (
	"context"
	"math"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/proxy/proxytest"
	"github.com/wsclient/websocket/internal/testenv"
	"github.com/wsclient/websocket/internal/wstest"
)

// sockoptNames are the options the socket-option tests read back.
var sockoptNames = []struct {
	name       string
	level, opt int
}{
	{"TCP_NODELAY", syscall.IPPROTO_TCP, syscall.TCP_NODELAY},
	{"SO_KEEPALIVE", syscall.SOL_SOCKET, syscall.SO_KEEPALIVE},
	{"TCP_KEEPIDLE", syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE},
	{"TCP_KEEPINTVL", syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL},
	{"TCP_KEEPCNT", syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT},
}

// customSockopts differ from every default: Go's dialer (TCP_NODELAY on,
// keep-alive 15 s, 15 s, 9) and DefaultSocketOptions.
var customSockopts = []websocket.SocketOption{
	{Level: syscall.IPPROTO_TCP, Name: syscall.TCP_NODELAY, Value: 0},
	{Level: syscall.SOL_SOCKET, Name: syscall.SO_KEEPALIVE, Value: 1},
	{Level: syscall.IPPROTO_TCP, Name: syscall.TCP_KEEPINTVL, Value: 17},
	{Level: syscall.IPPROTO_TCP, Name: syscall.TCP_KEEPIDLE, Value: 33},
	{Level: syscall.IPPROTO_TCP, Name: syscall.TCP_KEEPCNT, Value: 4},
}

// readSockopts returns the sockoptNames values of c's socket by name.
func readSockopts(t *testing.T, c net.Conn) map[string]int {
	t.Helper()
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	var gerr error
	err = rc.Control(func(fd uintptr) {
		for _, o := range sockoptNames {
			v, err := syscall.GetsockoptInt(int(fd), o.level, o.opt)
			if err != nil {
				gerr = err
				return
			}
			got[o.name] = v
		}
	})
	if err == nil {
		err = gerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// dialSockopts dials a loopback echo server with opts and returns the
// socket's option values.
func dialSockopts(t *testing.T, opts *websocket.DialOptions) map[string]int {
	t.Helper()
	s := wstest.New(wstest.Echo)
	defer s.Close()
	c, err := websocket.Dial(context.Background(), s.URL, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return readSockopts(t, c.NetConn())
}

func checkSockopts(t *testing.T, got map[string]int, want map[string]int) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}

// wantCustom is what customSockopts must leave on the socket.
var wantCustom = map[string]int{"TCP_NODELAY": 0, "SO_KEEPALIVE": 1, "TCP_KEEPINTVL": 17, "TCP_KEEPIDLE": 33, "TCP_KEEPCNT": 4}

// TestSocketOptionsAfterDial: what SocketOptions say is what the socket has
// after Dial, also where Go's dialer sets its own TCP_NODELAY and keep-alive,
// through NetDialContext and on the socket to a proxy.
func TestSocketOptionsAfterDial(t *testing.T) {
	t.Run("direct", func(t *testing.T) {
		checkSockopts(t, dialSockopts(t, &websocket.DialOptions{Timeout: testTimeout, SocketOptions: customSockopts}), wantCustom)
	})
	t.Run("NetDialContext", func(t *testing.T) {
		var d net.Dialer
		checkSockopts(t, dialSockopts(t, &websocket.DialOptions{Timeout: testTimeout, SocketOptions: customSockopts, NetDialContext: d.DialContext}), wantCustom)
	})
	t.Run("proxy", func(t *testing.T) {
		p := proxytest.Start(t, "127.0.0.1", proxytest.HTTPConnect(proxytest.HTTPOptions{}))
		defer p.Close()
		pu := &url.URL{Scheme: "http", Host: p.Addr}
		checkSockopts(t, dialSockopts(t, &websocket.DialOptions{Timeout: testTimeout, SocketOptions: customSockopts, Proxy: func(*url.URL) (*url.URL, error) { return pu, nil }}), wantCustom)
	})
	t.Run("defaults", func(t *testing.T) {
		checkSockopts(t, dialSockopts(t, &websocket.DialOptions{Timeout: testTimeout}),
			map[string]int{"TCP_NODELAY": 1, "SO_KEEPALIVE": 1, "TCP_KEEPIDLE": 30, "TCP_KEEPINTVL": 10, "TCP_KEEPCNT": 3})
	})
	t.Run("keep-alive tuned in part", func(t *testing.T) {
		// Options the dialer itself can set; the idle time not given is
		// the system's, not Go's 15 s.
		sys := systemKeepAlive(t)
		got := dialSockopts(t, &websocket.DialOptions{Timeout: testTimeout, SocketOptions: []websocket.SocketOption{
			{Level: syscall.SOL_SOCKET, Name: syscall.SO_KEEPALIVE, Value: 1},
			{Level: syscall.IPPROTO_TCP, Name: syscall.TCP_KEEPINTVL, Value: 17},
			{Level: syscall.IPPROTO_TCP, Name: syscall.TCP_KEEPCNT, Value: 4},
		}})
		checkSockopts(t, got, map[string]int{"TCP_NODELAY": 1, "SO_KEEPALIVE": 1, "TCP_KEEPIDLE": sys["TCP_KEEPIDLE"], "TCP_KEEPINTVL": 17, "TCP_KEEPCNT": 4})
	})
}

// systemKeepAlive returns the kernel's keep-alive defaults.
func systemKeepAlive(t *testing.T) map[string]int {
	t.Helper()
	m := map[string]int{}
	for name, file := range map[string]string{"TCP_KEEPIDLE": "tcp_keepalive_time", "TCP_KEEPINTVL": "tcp_keepalive_intvl", "TCP_KEEPCNT": "tcp_keepalive_probes"} {
		b, err := os.ReadFile("/proc/sys/net/ipv4/" + file)
		if err != nil {
			testenv.Missing(t, "the kernel's keep-alive defaults: %v", err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		m[name] = n
	}
	return m
}

// setDefaultSocketOptions replaces DefaultSocketOptions for the test.
func setDefaultSocketOptions(t *testing.T, opts []websocket.SocketOption) {
	old := websocket.DefaultSocketOptions
	websocket.DefaultSocketOptions = opts
	t.Cleanup(func() { websocket.DefaultSocketOptions = old })
}

// TestDefaultSocketOptionsReadAtDial: DefaultSocketOptions changed at run
// time applies to the next Dial with nil SocketOptions.
func TestDefaultSocketOptionsReadAtDial(t *testing.T) {
	setDefaultSocketOptions(t, customSockopts)
	checkSockopts(t, dialSockopts(t, &websocket.DialOptions{Timeout: testTimeout}), wantCustom)
	checkSockopts(t, dialSockopts(t, nil), wantCustom)
}

// TestEmptySocketOptions: an empty non-nil SocketOptions sets nothing, not
// DefaultSocketOptions, and Go's dialer turns on no keep-alive of its own:
// the socket has the system's defaults but for TCP_NODELAY, which Go sets
// on every TCP connection.
func TestEmptySocketOptions(t *testing.T) {
	setDefaultSocketOptions(t, customSockopts)
	got := dialSockopts(t, &websocket.DialOptions{Timeout: testTimeout, SocketOptions: []websocket.SocketOption{}})
	want := systemKeepAlive(t)
	want["TCP_NODELAY"] = 1
	want["SO_KEEPALIVE"] = 0
	checkSockopts(t, got, want)
}

// TestSocketOptionValuesTheSystemRefuses: a value the kernel refuses (a
// keep-alive idle time over 32767 s, a count over 127) or one that does not
// fit a C int fails the Dial; it is neither dropped (Go's dialer ignores
// the kernel's refusal of its keep-alive settings) nor cut to 32 bits.
func TestSocketOptionValuesTheSystemRefuses(t *testing.T) {
	s := wstest.New(wstest.Echo)
	defer s.Close()
	ka := websocket.SocketOption{Level: syscall.SOL_SOCKET, Name: syscall.SO_KEEPALIVE, Value: 1}
	reuse := websocket.SocketOption{Level: syscall.SOL_SOCKET, Name: syscall.SO_REUSEADDR, Value: 1}
	tcp := func(name, v int) websocket.SocketOption {
		return websocket.SocketOption{Level: syscall.IPPROTO_TCP, Name: name, Value: v}
	}
	type tc struct {
		name string
		opts []websocket.SocketOption
	}
	cases := []tc{
		{"TCP_KEEPIDLE 40000", []websocket.SocketOption{ka, tcp(syscall.TCP_KEEPIDLE, 40000)}},
		{"TCP_KEEPINTVL 40000", []websocket.SocketOption{ka, tcp(syscall.TCP_KEEPINTVL, 40000)}},
		{"TCP_KEEPCNT 200", []websocket.SocketOption{ka, tcp(syscall.TCP_KEEPCNT, 200)}},
		{"TCP_KEEPIDLE MaxInt", []websocket.SocketOption{ka, tcp(syscall.TCP_KEEPIDLE, math.MaxInt)}},
	}
	if strconv.IntSize == 64 { // values past a C int
		var five int64 = 5
		wide := int(1<<32 + five) // not a constant: on 32 bits it would not compile
		cases = append(cases,
			tc{"TCP_KEEPIDLE 2^32+5", []websocket.SocketOption{ka, tcp(syscall.TCP_KEEPIDLE, wide)}},
			tc{"TCP_KEEPIDLE 2^32+5 beside SO_REUSEADDR", []websocket.SocketOption{reuse, ka, tcp(syscall.TCP_KEEPIDLE, wide)}},
			tc{"SO_RCVBUF 2^32+5", []websocket.SocketOption{{Level: syscall.SOL_SOCKET, Name: syscall.SO_RCVBUF, Value: wide}}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := websocket.Dial(context.Background(), s.URL, &websocket.DialOptions{Timeout: testTimeout, SocketOptions: c.opts})
			if err == nil {
				got := readSockopts(t, conn.NetConn())
				conn.Abort()
				t.Fatalf("Dial succeeded; the socket has %v", got)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "websocket: ") || !strings.Contains(msg, "setsockopt") {
				t.Errorf("error %q, want a websocket: error naming setsockopt", msg)
			}
		})
	}
	// The largest values the kernel takes are set through the dialer.
	checkSockopts(t, dialSockopts(t, &websocket.DialOptions{Timeout: testTimeout, SocketOptions: []websocket.SocketOption{
		ka, tcp(syscall.TCP_KEEPIDLE, 32767), tcp(syscall.TCP_KEEPINTVL, 32767), tcp(syscall.TCP_KEEPCNT, 127),
	}}), map[string]int{"SO_KEEPALIVE": 1, "TCP_KEEPIDLE": 32767, "TCP_KEEPINTVL": 32767, "TCP_KEEPCNT": 127})
}

// TestSocketOptionsOnAnEventLoop: an App on an EventLoop keeps what
// SocketOptions (or DefaultSocketOptions) set, also once NetConn made a
// net.Conn over the loop's bare socket: net.FileConn turned Go's own
// keep-alive (15 s, 15 s, 9) and TCP_NODELAY on over them.
func TestSocketOptionsOnAnEventLoop(t *testing.T) {
	l := websocket.NewEventLoop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Run(ctx)
	s := wstest.New(wstest.Echo)
	defer s.Close()
	for _, c := range []struct {
		name string
		opts []websocket.SocketOption
		want map[string]int
	}{
		{"custom", customSockopts, wantCustom},
		{"defaults", nil, map[string]int{"TCP_NODELAY": 1, "SO_KEEPALIVE": 1, "TCP_KEEPIDLE": 30, "TCP_KEEPINTVL": 10, "TCP_KEEPCNT": 3}},
		{"none", []websocket.SocketOption{}, map[string]int{"SO_KEEPALIVE": 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			opened := make(chan net.Conn, 1)
			closed := make(chan struct{})
			a := &websocket.App{URL: s.URL,
				OnOpen:  func(a *websocket.App) { opened <- a.Conn().NetConn() },
				OnClose: func(*websocket.App, websocket.StatusCode, string) { close(closed) },
				OnError: func(_ *websocket.App, err error) { t.Error(err) },
			}
			// With a Dispatcher, Run registers the App and returns.
			if err := a.Run(ctx, &websocket.RunOptions{Dispatcher: l, DialOptions: websocket.DialOptions{Timeout: testTimeout, SocketOptions: c.opts}}); err != nil {
				t.Fatal(err)
			}
			checkSockopts(t, readSockopts(t, <-opened), c.want)
			a.Close()
			<-closed
		})
	}
}
