package websocket_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	iwstest "github.com/wsclient/websocket/internal/wstest"
	"github.com/wsclient/websocket/wstest"
)

// TestProxyInterimAnswers: an HTTP proxy's interim 1xx answers before its
// 200 are read and skipped, as RFC 9110 has a client do; the tunnel then
// carries the WebSocket.
func TestProxyInterimAnswers(t *testing.T) {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	var tunnels atomic.Int32
	p := iwstest.NewRaw(func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		tunnels.Add(1)
		up, err := net.Dial("tcp", target)
		if err != nil {
			return
		}
		defer up.Close()
		io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 Connection established\r\n\r\n")
		go func() { io.Copy(up, br); up.Close() }()
		io.Copy(c, up)
	})
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := websocket.Dial(ctx, srv.URL, &websocket.DialOptions{Proxy: websocket.ProxyURL("http://" + p.Addr)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendText("through"); err != nil {
		t.Fatal(err)
	}
	if m, err := c.Recv(); err != nil || m.Text() != "through" {
		t.Fatalf("Recv = %q, %v", m.Data, err)
	}
	if n := tunnels.Load(); n != 1 {
		t.Errorf("%d tunnels through the proxy, want 1", n)
	}
}
