package websocket_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestLastBytesWithEOF: a stream whose Read returns the last bytes of a
// message together with io.EOF (which io.Reader allows, and crypto/tls
// does when a TLS 1.2 close_notify follows the last record) gives the
// message, then the end. A message long enough to be read straight into
// the caller's buffer was dropped for the error.
func TestLastBytesWithEOF(t *testing.T) {
	big := strings.Repeat("z", 70000)
	stream := wstest.AppendFrame(wstest.AppendFrame(nil, true, 1, []byte("first")), true, 1, []byte(big))
	for _, tc := range []struct {
		name string
		recv func(c *websocket.Conn) (string, error)
	}{
		{"Recv", func(c *websocket.Conn) (string, error) { m, err := c.Recv(); return string(m.Data), err }},
		{"RecvData", func(c *websocket.Conn) (string, error) { _, d, err := c.RecvData(false); return string(d), err }},
		{"RecvAppend", func(c *websocket.Conn) (string, error) { _, d, err := c.RecvAppend(nil); return string(d), err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := newEOFConn(stream)
			c, err := websocket.Dial(context.Background(), "ws://eof.test/", &websocket.DialOptions{NetConn: nc})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Abort()
			for _, want := range []string{"first", big} {
				got, err := tc.recv(c)
				if err != nil || got != want {
					t.Fatalf("got %d bytes, %v; want the %d-byte message", len(got), err, len(want))
				}
			}
			if _, err := tc.recv(c); err == nil {
				t.Error("a message after the end")
			}
		})
	}
}

// eofConn is a net.Conn that answers the opening handshake, then returns
// stream, its last bytes together with io.EOF.
type eofConn struct {
	net.Conn // nil: only the methods below are used
	mu       sync.Mutex
	req      []byte
	out      []byte
	stream   []byte
}

func newEOFConn(stream []byte) *eofConn { return &eofConn{stream: stream} }

func (c *eofConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.out == nil {
		c.req = append(c.req, p...)
		if bytes.Contains(c.req, []byte("\r\n\r\n")) {
			req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(c.req)))
			if err != nil {
				return 0, err
			}
			c.out = []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
				wstest.AcceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n")
		}
	}
	return len(p), nil
}

func (c *eofConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.out) > 0 {
		n := copy(p, c.out)
		c.out = c.out[n:]
		if len(c.out) == 0 {
			c.out = c.out[:0:0] // answered; not nil
		}
		return n, nil
	}
	n := copy(p, c.stream)
	c.stream = c.stream[n:]
	if len(c.stream) == 0 {
		return n, io.EOF
	}
	return n, nil
}

func (c *eofConn) Close() error                     { return nil }
func (c *eofConn) SetDeadline(time.Time) error      { return nil }
func (c *eofConn) SetReadDeadline(time.Time) error  { return nil }
func (c *eofConn) SetWriteDeadline(time.Time) error { return nil }
func (c *eofConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *eofConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
