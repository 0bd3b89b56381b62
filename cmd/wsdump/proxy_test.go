package main

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/wsclient/websocket/internal/wstest"
)

// tunnel copies both ways between a client and the target until both ends
// are done.
func tunnel(client net.Conn, clientR io.Reader, target net.Conn) {
	done := make(chan struct{})
	go func() {
		io.Copy(target, clientR)
		target.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(client, target)
	client.Close()
	<-done
}

// dialLoopback opens the tunnel's far side; the test proxies refuse any
// target off the loopback.
func dialLoopback(hostport string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, net.ErrClosed
	}
	return net.Dial("tcp", hostport)
}

// connectProxy is a minimal HTTP CONNECT proxy (RFC 9110 §9.3.6) that
// reports each target it is asked for.
func connectProxy(t *testing.T) (*wstest.Server, chan string) {
	targets := make(chan string, 4)
	s := wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		br := bufio.NewReader(nc)
		req, err := http.ReadRequest(br)
		if err != nil || req.Method != http.MethodConnect {
			io.WriteString(nc, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
			return
		}
		targets <- req.Host
		up, err := dialLoopback(req.Host)
		if err != nil {
			io.WriteString(nc, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
			return
		}
		defer up.Close()
		io.WriteString(nc, "HTTP/1.1 200 Connection established\r\n\r\n")
		tunnel(nc, br, up)
	})
	t.Cleanup(s.Close)
	return s, targets
}

// socks5Proxy is a minimal SOCKS5 proxy (RFC 1928), no authentication,
// CONNECT only, that reports each target it is asked for.
func socks5Proxy(t *testing.T) (*wstest.Server, chan string) {
	targets := make(chan string, 4)
	s := wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		br := bufio.NewReader(nc)
		var hdr [2]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil || hdr[0] != 5 {
			return
		}
		if _, err := io.ReadFull(br, make([]byte, hdr[1])); err != nil {
			return
		}
		nc.Write([]byte{5, 0}) // no authentication
		var req [4]byte
		if _, err := io.ReadFull(br, req[:]); err != nil || req[1] != 1 {
			return
		}
		var host string
		switch req[3] {
		case 1:
			ip := make([]byte, 4)
			io.ReadFull(br, ip)
			host = net.IP(ip).String()
		case 3:
			n, _ := br.ReadByte()
			name := make([]byte, n)
			io.ReadFull(br, name)
			host = string(name)
		default:
			nc.Write([]byte{5, 8, 0, 1, 0, 0, 0, 0, 0, 0})
			return
		}
		var port [2]byte
		if _, err := io.ReadFull(br, port[:]); err != nil {
			return
		}
		target := net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port[:]))))
		targets <- target
		up, err := dialLoopback(target)
		if err != nil {
			nc.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
			return
		}
		defer up.Close()
		nc.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})
		tunnel(nc, br, up)
	})
	t.Cleanup(s.Close)
	return s, targets
}

func TestProxy(t *testing.T) {
	echo, _ := newServer(t, nil, wstest.Echo)
	_, port, _ := net.SplitHostPort(echo.Addr)
	tests := []struct {
		name   string
		proxy  func(*testing.T) (*wstest.Server, chan string)
		scheme string
		url    string
	}{
		{"http", connectProxy, "http://", echo.URL},
		{"http without scheme", connectProxy, "", echo.URL},
		{"socks5", socks5Proxy, "socks5://", echo.URL},
		{"socks5h", socks5Proxy, "socks5h://", "ws://localhost:" + port},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			px, targets := tt.proxy(t)
			stdout, stderr, code := runWith(t, "via proxy\n", "-p", tt.scheme+px.Addr, tt.url)
			if code != 0 || stdout != "< via proxy\n" || stderr != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			want := echo.Addr
			if tt.name == "socks5h" {
				want = "localhost:" + port // the proxy resolves the name
			}
			if got := <-targets; got != want {
				t.Errorf("proxy asked for %q, want %q", got, want)
			}
		})
	}
}
