package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/proxy/proxytest"
)

// checkGoroutines fails the test if goroutines started during it are still
// running once its cleanups (servers' Close, registered later, run first)
// are done. Exiting goroutines need a moment to be reaped, hence the poll.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
				return
			}
			runtime.Gosched()
			time.Sleep(time.Millisecond) // polling the reaper, not synchronizing with the code under test
		}
	})
}

// echoRoundTrip checks that conn reaches the echo server, skipping early
// (bytes the proxy pushed before the tunnel carried any of ours).
func echoRoundTrip(t *testing.T, conn net.Conn, early string) {
	t.Helper()
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second)) // a hang fails the test instead of stalling it
	msg := "hello through the tunnel\n"
	if _, err := io.WriteString(conn, msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(early)+len(msg))
	if _, err := io.ReadFull(conn, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != early+msg {
		t.Fatalf("read %q, want %q", got, early+msg)
	}
}

func portBytes(t *testing.T, addr string) []byte {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return binary.BigEndian.AppendUint16(nil, uint16(n))
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func proxyURL(t *testing.T, scheme, userinfo string, s *proxytest.Server) *url.URL {
	t.Helper()
	if userinfo != "" {
		userinfo += "@"
	}
	return mustParseURL(t, scheme+"://"+userinfo+s.Addr)
}

// staticLookup resolves every name to addr, so local-DNS SOCKS tests do not
// depend on the machine's resolver.
func staticLookup(addr string) func(context.Context, string, string) ([]netip.Addr, error) {
	return func(_ context.Context, network, host string) ([]netip.Addr, error) {
		if host != "echo.test" {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		return []netip.Addr{netip.MustParseAddr(addr)}, nil
	}
}

func TestDialThroughProxies(t *testing.T) {
	for _, loop := range []string{"127.0.0.1", "::1"} {
		t.Run(loop, func(t *testing.T) {
			checkGoroutines(t)
			echo := proxytest.Echo(t, loop)
			ip := netip.MustParseAddr(loop)
			pb := portBytes(t, echo.Addr)
			cert, pool := proxytest.SelfSigned(t, loop)
			hosts := map[string]string{"echo.test": loop}
			user, pass := "alice", "p@ss:wörd"
			basic := "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)) + "\r\n"
			userinfo := url.UserPassword(user, pass).String()
			connect := "CONNECT " + echo.Addr + " HTTP/1.1\r\nHost: " + echo.Addr + "\r\n"

			atyp := byte(1)
			if ip.Is6() {
				atyp = 4
			}
			socks5Req := cat([]byte{5, 1, 0, atyp}, ip.AsSlice(), pb)
			socks5NameReq := cat([]byte{5, 1, 0, 3, 9}, []byte("echo.test"), pb)
			authBytes := cat([]byte{1, byte(len(user))}, []byte(user), []byte{byte(len(pass))}, []byte(pass))

			tests := []struct {
				name     string
				scheme   string
				userinfo string
				handler  func(*proxytest.Server, net.Conn)
				tls      bool
				target   string
				early    string
				want     []byte
				ipv4Only bool
			}{
				{name: "http", scheme: "http", handler: proxytest.HTTPConnect(proxytest.HTTPOptions{}),
					want: []byte(connect + "\r\n")},
				{name: "http auth", scheme: "http", userinfo: userinfo,
					handler: proxytest.HTTPConnect(proxytest.HTTPOptions{Auth: proxytest.Auth{User: user, Password: pass}}),
					want:    []byte(connect + basic + "\r\n")},
				{name: "http user without password", scheme: "http", userinfo: "bob",
					handler: proxytest.HTTPConnect(proxytest.HTTPOptions{Auth: proxytest.Auth{User: "bob"}}),
					want:    []byte(connect + "Proxy-Authorization: Basic Ym9iOg==\r\n\r\n")},
				{name: "http early bytes replayed", scheme: "http", early: "EARLY",
					handler: proxytest.HTTPConnect(proxytest.HTTPOptions{Early: []byte("EARLY")}),
					want:    []byte(connect + "\r\n")},
				{name: "https", scheme: "https", tls: true, handler: proxytest.HTTPConnect(proxytest.HTTPOptions{}),
					want: []byte(connect + "\r\n")},
				{name: "https auth early", scheme: "https", tls: true, userinfo: userinfo, early: "E",
					handler: proxytest.HTTPConnect(proxytest.HTTPOptions{Auth: proxytest.Auth{User: user, Password: pass}, Early: []byte("E")}),
					want:    []byte(connect + basic + "\r\n")},
				{name: "socks4", scheme: "socks4", ipv4Only: true, handler: proxytest.SOCKS4(proxytest.SOCKSOptions{}),
					want: cat([]byte{4, 1}, pb, ip.AsSlice(), []byte{0})},
				{name: "socks4 user id", scheme: "socks4", userinfo: "carol:ignored", ipv4Only: true,
					handler: proxytest.SOCKS4(proxytest.SOCKSOptions{Auth: proxytest.Auth{User: "carol"}}),
					want:    cat([]byte{4, 1}, pb, ip.AsSlice(), []byte("carol\x00"))},
				{name: "socks4 local dns", scheme: "socks4", ipv4Only: true, target: "echo.test",
					handler: proxytest.SOCKS4(proxytest.SOCKSOptions{}),
					want:    cat([]byte{4, 1}, pb, ip.AsSlice(), []byte{0})},
				{name: "socks4a", scheme: "socks4a", userinfo: "carol", ipv4Only: true, target: "echo.test",
					handler: proxytest.SOCKS4(proxytest.SOCKSOptions{Hosts: hosts}),
					want:    cat([]byte{4, 1}, pb, []byte{0, 0, 0, 1}, []byte("carol\x00echo.test\x00"))},
				{name: "socks4a address", scheme: "socks4a", ipv4Only: true,
					handler: proxytest.SOCKS4(proxytest.SOCKSOptions{}),
					want:    cat([]byte{4, 1}, pb, ip.AsSlice(), []byte{0})},
				{name: "socks5", scheme: "socks5", handler: proxytest.SOCKS5(proxytest.SOCKSOptions{}),
					want: cat([]byte{5, 1, 0}, socks5Req)},
				{name: "socks5 auth", scheme: "socks5", userinfo: userinfo,
					handler: proxytest.SOCKS5(proxytest.SOCKSOptions{Auth: proxytest.Auth{User: user, Password: pass}}),
					want:    cat([]byte{5, 2, 0, 2}, authBytes, socks5Req)},
				{name: "socks5 auth offered, not needed", scheme: "socks5", userinfo: userinfo,
					handler: proxytest.SOCKS5(proxytest.SOCKSOptions{}),
					want:    cat([]byte{5, 2, 0, 2}, socks5Req)},
				{name: "socks5 local dns", scheme: "socks5", target: "echo.test",
					handler: proxytest.SOCKS5(proxytest.SOCKSOptions{}),
					want:    cat([]byte{5, 1, 0}, socks5Req)},
				{name: "socks5h", scheme: "socks5h", target: "echo.test",
					handler: proxytest.SOCKS5(proxytest.SOCKSOptions{Hosts: hosts}),
					want:    cat([]byte{5, 1, 0}, socks5NameReq)},
				{name: "socks5h auth", scheme: "socks5h", userinfo: userinfo, target: "echo.test",
					handler: proxytest.SOCKS5(proxytest.SOCKSOptions{Hosts: hosts, Auth: proxytest.Auth{User: user, Password: pass}}),
					want:    cat([]byte{5, 2, 0, 2}, authBytes, socks5NameReq)},
				{name: "socks5h address", scheme: "socks5h", handler: proxytest.SOCKS5(proxytest.SOCKSOptions{}),
					want: cat([]byte{5, 1, 0}, socks5Req)},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					if tt.ipv4Only && ip.Is6() {
						t.Skip("SOCKS4 carries IPv4 only")
					}
					var srv *proxytest.Server
					if tt.tls {
						srv = proxytest.StartTLS(t, loop, cert, tt.handler)
					} else {
						srv = proxytest.Start(t, loop, tt.handler)
					}
					target := echo.Addr
					if tt.target != "" {
						target = net.JoinHostPort(tt.target, strconv.Itoa(int(binary.BigEndian.Uint16(pb))))
					}
					d := Dialer{TLSConfig: &tls.Config{RootCAs: pool, ServerName: "wrong.example"}, LookupNetIP: staticLookup(loop)}
					conn, err := d.DialContext(context.Background(), proxyURL(t, tt.scheme, tt.userinfo, srv), target)
					if err != nil {
						t.Fatal(err)
					}
					echoRoundTrip(t, conn, tt.early)
					srv.Close() // wait for the proxy, so Received is complete
					if got := srv.Received(); len(got) != 1 || !bytes.Equal(got[0], tt.want) {
						t.Errorf("proxy received\n%q\nwant\n%q", got, tt.want)
					}
				})
			}
		})
	}
}

// scripted is a fake proxy: for each step it reads exactly read bytes (or,
// with read < 0, up to a blank line) and writes write; then it closes the
// connection, or with hold waits for the client to close it.
type step struct {
	read  int
	write []byte
}

func scripted(hold bool, steps ...step) func(*proxytest.Server, net.Conn) {
	return func(s *proxytest.Server, c net.Conn) {
		br := bufio.NewReader(c)
		for _, st := range steps {
			if st.read < 0 {
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						break
					}
				}
			} else if _, err := io.ReadFull(br, make([]byte, st.read)); err != nil {
				return
			}
			if _, err := c.Write(st.write); err != nil {
				return
			}
		}
		if hold {
			io.Copy(io.Discard, br)
		}
	}
}

func TestDialFailures(t *testing.T) {
	checkGoroutines(t)
	const secret = "s3cr3t-pw"
	noop := func(*proxytest.Server, net.Conn) {}
	huge := append([]byte("HTTP/1.1 200 OK\r\nX-Big: "), bytes.Repeat([]byte("a"), 1<<20)...)
	tests := []struct {
		name    string
		scheme  string
		user    string // user info for the proxy URL
		target  string
		lookup  string // what echo.test resolves to; 127.0.0.1 if empty
		handler func(*proxytest.Server, net.Conn)
		timeout time.Duration
		wantMsg string                  // in the message
		check   func(*testing.T, error) // more checks on the error
	}{
		{name: "407", scheme: "http", user: "alice:" + secret,
			handler: proxytest.HTTPConnect(proxytest.HTTPOptions{Auth: proxytest.Auth{User: "alice", Password: "other"}}),
			wantMsg: `: 407 Proxy Authentication Required: "access denied"`,
			check: func(t *testing.T, err error) {
				var se *StatusError
				if !errors.As(err, &se) || se.StatusCode != 407 || se.Header.Get("Proxy-Authenticate") != `Basic realm="test"` ||
					string(se.Body) != "access denied" {
					t.Errorf("StatusError = %+v", se)
				}
			}},
		{name: "407 echoing the request", scheme: "http", user: "alice:" + secret,
			handler: scripted(true, step{-1, []byte("HTTP/1.1 407 Proxy Authentication Required\r\n\r\nProxy-Authorization: Basic " +
				base64.StdEncoding.EncodeToString([]byte("alice:"+secret)))}),
			wantMsg: ": 407 Proxy Authentication Required: (body not shown: it repeats the credentials sent)",
			check: func(t *testing.T, err error) {
				if token := base64.StdEncoding.EncodeToString([]byte("alice:" + secret)); strings.Contains(err.Error(), token) {
					t.Errorf("the message shows the credentials: %q", err)
				}
			}},
		{name: "407 naming the password", scheme: "http", user: "alice:" + secret,
			handler: scripted(true, step{-1, []byte("HTTP/1.1 407 Proxy Authentication Required\r\n\r\nno user alice with password\n  " + secret)}),
			wantMsg: ": 407 Proxy Authentication Required: (body not shown: it repeats the credentials sent)"},
		{name: "407 without credentials shows its body", scheme: "http",
			handler: scripted(true, step{-1, []byte("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 12\r\n\r\nlog in first")}),
			wantMsg: `: 407 Proxy Authentication Required: "log in first"`},
		{name: "502", scheme: "http", target: "127.0.0.1:1",
			handler: proxytest.HTTPConnect(proxytest.HTTPOptions{}),
			wantMsg: "CONNECT 127.0.0.1:1: 502 Bad Gateway"},
		{name: "connect 403 with html body", scheme: "http",
			handler: scripted(true, step{-1, []byte("HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\n\r\n<h1>\r\nno\r\n</h1>")}),
			wantMsg: `403 Forbidden: "<h1> no </h1>"`},
		{name: "connect 101", scheme: "http",
			handler: scripted(true, step{-1, []byte("HTTP/1.1 101 Switching Protocols\r\n\r\n")}),
			wantMsg: "101 Switching Protocols"},
		{name: "connect interim answers, then 403", scheme: "http",
			handler: scripted(true, step{-1, []byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno")}),
			wantMsg: `403 Forbidden: "no"`},
		{name: "connect too many interim answers", scheme: "http",
			handler: scripted(true, step{-1, bytes.Repeat([]byte("HTTP/1.1 100 Continue\r\n\r\n"), maxInterim+1)}),
			wantMsg: "100 Continue"},
		{name: "connect half reply", scheme: "http",
			handler: scripted(false, step{-1, []byte("HTTP/1.1 20")}),
			wantMsg: "reading reply: proxy closed the connection within its reply",
			check:   isErr(io.ErrUnexpectedEOF)},
		{name: "connect no blank line, then EOF", scheme: "http",
			handler: scripted(false, step{-1, []byte("HTTP/1.1 200 OK\r\nVia: x\r\n")}),
			wantMsg: "proxy closed the connection within its reply"},
		{name: "connect no reply", scheme: "http",
			handler: scripted(false, step{-1, nil}),
			wantMsg: "proxy closed the connection without replying"},
		{name: "connect no blank line, held open", scheme: "http", timeout: 100 * time.Millisecond,
			handler: scripted(true, step{-1, []byte("HTTP/1.1 200 OK\r\n")}),
			wantMsg: "reading reply: proxy handshake timed out after 100ms", check: wantTimeout},
		{name: "connect 1 MiB header", scheme: "http",
			handler: scripted(true, step{-1, huge}),
			wantMsg: "reply header larger than 65536 bytes"},
		{name: "connect garbage", scheme: "http",
			handler: scripted(true, step{-1, []byte("SSH-2.0-OpenSSH_9.6\r\n\r\n")}),
			wantMsg: `malformed status line "SSH-2.0-OpenSSH_9.6"`},
		{name: "slow http proxy", scheme: "http", user: "u:" + secret, timeout: 50 * time.Millisecond,
			handler: scripted(true),
			wantMsg: "proxy handshake timed out after 50ms", check: wantTimeout},
		{name: "slow socks5 proxy", scheme: "socks5", timeout: 50 * time.Millisecond,
			handler: scripted(true, step{3, []byte{5}}),
			wantMsg: "reading method choice: proxy handshake timed out after 50ms", check: wantTimeout},
		{name: "https proxy with untrusted certificate", scheme: "https",
			wantMsg: "TLS handshake: tls: failed to verify certificate"},
		{name: "socks4 unknown version", scheme: "socks4",
			handler: scripted(true, step{9, []byte{4, 0x5a, 0, 0, 0, 0, 0, 0}}),
			wantMsg: "not a SOCKS4 reply (version byte 0x04, want 0x00)"},
		{name: "socks4 rejected", scheme: "socks4",
			handler: scripted(true, step{9, []byte{0, 0x5b, 0, 0, 0, 0, 0, 0}}),
			wantMsg: "request rejected or failed (SOCKS4 reply code 0x5b)",
			check: func(t *testing.T, err error) {
				var se *SOCKSError
				if !errors.As(err, &se) || *se != (SOCKSError{Version: 4, Code: 0x5b}) {
					t.Errorf("SOCKSError = %+v", se)
				}
			}},
		{name: "socks4 half reply", scheme: "socks4",
			handler: scripted(false, step{9, []byte{0, 0x5a, 0}}),
			wantMsg: "reading reply: proxy closed the connection during the handshake", check: isErr(io.ErrUnexpectedEOF)},
		{name: "socks4 ipv6 target", scheme: "socks4", target: "[::1]:80", handler: noop,
			wantMsg: "SOCKS4 cannot carry an IPv6 address"},
		{name: "socks4 user id with a NUL", scheme: "socks4", user: "ab%00cd", handler: noop,
			wantMsg: "SOCKS4 user id contains a NUL byte"},
		{name: "socks4 user id starting with a NUL", scheme: "socks4", user: "%00cd", handler: noop,
			wantMsg: "SOCKS4 user id contains a NUL byte"},
		{name: "socks4 unresolvable", scheme: "socks4", target: "nowhere.test:80", handler: noop,
			wantMsg: `cannot resolve "nowhere.test": lookup nowhere.test: no such host`},
		{name: "socks5 unknown version", scheme: "socks5",
			handler: scripted(true, step{3, []byte{4, 0}}),
			wantMsg: "not a SOCKS5 reply (version byte 0x04, want 0x05)"},
		{name: "socks5 reply unknown version", scheme: "socks5",
			handler: scripted(true, step{3, []byte{5, 0}}, step{10, []byte{6, 0, 0, 1, 0, 0, 0, 0, 0, 0}}),
			wantMsg: "not a SOCKS5 reply (version byte 0x06, want 0x05)"},
		{name: "socks5 error code", scheme: "socks5",
			handler: scripted(true, step{3, []byte{5, 0}}, step{10, []byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}}),
			wantMsg: "connection refused (SOCKS5 reply code 0x05)",
			check: func(t *testing.T, err error) {
				var se *SOCKSError
				if !errors.As(err, &se) || *se != (SOCKSError{Version: 5, Code: 5}) {
					t.Errorf("SOCKSError = %+v", se)
				}
			}},
		{name: "socks5 half reply", scheme: "socks5",
			handler: scripted(false, step{3, []byte{5, 0}}, step{10, []byte{5, 0, 0, 1, 127}}),
			wantMsg: "proxy closed the connection during the handshake", check: isErr(io.ErrUnexpectedEOF)},
		{name: "socks5 needs auth", scheme: "socks5",
			handler: proxytest.SOCKS5(proxytest.SOCKSOptions{Auth: proxytest.Auth{User: "u", Password: "p"}}),
			wantMsg: "accepts none of our authentication methods (does it need a user name and password?)"},
		{name: "socks5 wrong password", scheme: "socks5", user: "u:" + secret,
			handler: proxytest.SOCKS5(proxytest.SOCKSOptions{Auth: proxytest.Auth{User: "u", Password: "p"}}),
			wantMsg: "authentication: user name or password rejected (status 0x01)"},
		{name: "socks5 method not offered", scheme: "socks5",
			handler: scripted(true, step{3, []byte{5, 2}}),
			wantMsg: "chose authentication method 0x02, which we did not offer"},
		{name: "socks5h unknown host", scheme: "socks5h", target: "nowhere.test:80",
			handler: proxytest.SOCKS5(proxytest.SOCKSOptions{}),
			wantMsg: "host unreachable (SOCKS5 reply code 0x04)"},
		{name: "socks5h name too long", scheme: "socks5h", target: strings.Repeat("a", 256) + ":80", handler: noop,
			wantMsg: "host name longer than 255 bytes"},
		{name: "bad target", scheme: "http", target: "no-port", handler: noop,
			wantMsg: "invalid target address"},
		{name: "target with CRLF", scheme: "http", target: "a\r\nX-Evil:80", handler: noop,
			wantMsg: "invalid character in host"},
		{name: "target with a space", scheme: "http", target: "a b:80", handler: noop,
			wantMsg: "invalid character in host"},
		{name: "target port 0", scheme: "http", target: "a:0", handler: noop,
			wantMsg: "invalid port"},
		{name: "target port 65536", scheme: "http", target: "a:65536", handler: noop,
			wantMsg: "invalid port"},
		{name: "socks4 target without IPv4", scheme: "socks4", target: "echo.test:80", lookup: "::1", handler: noop,
			wantMsg: "no IPv4 address found"},
	}
	cert, _ := proxytest.SelfSigned(t, "127.0.0.1")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *proxytest.Server
			if tt.handler == nil {
				srv = proxytest.StartTLS(t, "127.0.0.1", cert, proxytest.HTTPConnect(proxytest.HTTPOptions{}))
			} else {
				srv = proxytest.Start(t, "127.0.0.1", tt.handler)
			}
			target := tt.target
			if target == "" {
				target = "127.0.0.1:9"
			}
			lookup := tt.lookup
			if lookup == "" {
				lookup = "127.0.0.1"
			}
			d := Dialer{Timeout: tt.timeout, LookupNetIP: staticLookup(lookup)}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a hang fails, not stalls
			defer cancel()
			conn, err := d.DialContext(ctx, proxyURL(t, tt.scheme, tt.user, srv), target)
			if err == nil {
				conn.Close()
				t.Fatal("no error")
			}
			checkError(t, err, tt.wantMsg)
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error leaks the password: %v", err)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func checkError(t *testing.T, err error, wantMsg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v, want *Error", err, err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "websocket: proxy: ") || !strings.Contains(msg, wantMsg) {
		t.Errorf("error %q, want it to contain %q", msg, wantMsg)
	}
}

func isErr(target error) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(%v, %v) = false", err, target)
		}
	}
}

// wantTimeout fails the test unless err is a timeout that matches
// os.ErrDeadlineExceeded and not context.DeadlineExceeded (the caller's
// context did not expire).
func wantTimeout(t *testing.T, err error) {
	t.Helper()
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("%v is not a timeout", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v matches context.DeadlineExceeded", err)
	}
}

func TestDialRefused(t *testing.T) {
	checkGoroutines(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	for _, scheme := range []string{"http", "https", "socks4", "socks5h"} {
		_, err := Dial(context.Background(), mustParseURL(t, scheme+"://u:s3cret@"+addr), "example.com:80", nil, nil, 0)
		checkError(t, err, "cannot reach "+scheme+"://"+addr+": ")
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%s: %v does not wrap ECONNREFUSED", scheme, err)
		}
		if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "u:") {
			t.Errorf("error shows user info: %v", err)
		}
	}
}

func TestDialBadProxyURL(t *testing.T) {
	_, err := Dial(context.Background(), &url.URL{Scheme: "ftp", Host: "p"}, "example.com:80", nil, nil, 0)
	checkError(t, err, `unsupported proxy scheme "ftp"`)
	_, err = Dial(context.Background(), nil, "example.com:80", nil, nil, 0)
	checkError(t, err, "nil proxy URL")
}

func TestDialUsesDialFunc(t *testing.T) {
	checkGoroutines(t)
	echo := proxytest.Echo(t, "127.0.0.1")
	srv := proxytest.Start(t, "127.0.0.1", proxytest.HTTPConnect(proxytest.HTTPOptions{}))
	var dialed []string
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialed = append(dialed, network+" "+addr)
		return new(net.Dialer).DialContext(ctx, network, srv.Addr)
	}
	conn, err := Dial(context.Background(), mustParseURL(t, "http://proxy.invalid:3128"), echo.Addr, dial, nil, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	echoRoundTrip(t, conn, "")
	if len(dialed) != 1 || dialed[0] != "tcp proxy.invalid:3128" {
		t.Errorf("dialed %q", dialed)
	}

	broken := func(context.Context, string, string) (net.Conn, error) { return nil, nil }
	_, err = Dial(context.Background(), mustParseURL(t, "http://p"), echo.Addr, broken, nil, 0)
	checkError(t, err, "dial function returned no connection")
}

func TestDialCancel(t *testing.T) {
	checkGoroutines(t)
	arrived := make(chan struct{})
	srv := proxytest.Start(t, "127.0.0.1", func(_ *proxytest.Server, c net.Conn) {
		io.ReadFull(c, make([]byte, 3))
		close(arrived)
		io.Copy(io.Discard, c)
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	_, err := Dial(ctx, mustParseURL(t, "socks5://"+srv.Addr), "127.0.0.1:9", nil, nil, time.Minute)
	checkError(t, err, "reading method choice: context canceled")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%v does not wrap context.Canceled", err)
	}

	_, err = Dial(ctx, mustParseURL(t, "socks5://"+srv.Addr), "127.0.0.1:9", nil, nil, 0)
	checkError(t, err, "cannot reach socks5://"+srv.Addr+": context canceled")
}

// TestConnectLeavesOutTheZone: a CONNECT to an IPv6 address with a zone
// names the address alone; the zone is an interface of this machine (it
// went to the proxy as "[fe80::1%lo]:8080").
func TestConnectLeavesOutTheZone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			got <- err.Error()
			return
		}
		got <- req.RequestURI + " " + req.Host
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
	}()
	p, _ := url.Parse("http://" + ln.Addr().String())
	_, err = Dial(context.Background(), p, "[fe80::1%lo]:8080", nil, nil, 5*time.Second)
	if err == nil {
		t.Fatal("Dial succeeded through a proxy that answered 502")
	}
	if s := <-got; s != "[fe80::1]:8080 [fe80::1]:8080" {
		t.Errorf("CONNECT target and Host %q, want [fe80::1]:8080 for both", s)
	}
	if got := connectTarget("example.com", "443"); got != "example.com:443" {
		t.Errorf("connectTarget(example.com, 443) = %q", got)
	}
}
