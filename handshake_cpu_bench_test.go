//go:build !race

package websocket

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

// cannedConn is a net.Conn that answers each handshake request written to
// it with a 101 carrying the right Sec-WebSocket-Accept (and extra, when
// set), in memory and on the caller's goroutine: a handshake over it costs
// only the client's CPU, so it can be timed on a busy machine.
type cannedConn struct {
	resp  []byte
	extra string
	off   int
}

func (c *cannedConn) Write(p []byte) (int, error) {
	c.resp = append(c.resp[:0], "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	c.resp = appendServerAccept(c.resp, p)
	c.resp = append(c.resp, "\r\n"...)
	c.resp = append(c.resp, c.extra...)
	c.resp = append(c.resp, "\r\n"...)
	c.off = 0
	return len(p), nil
}

func (c *cannedConn) Read(p []byte) (int, error) {
	n := copy(p, c.resp[c.off:])
	c.off += n
	return n, nil
}

func (c *cannedConn) Close() error                     { return nil }
func (c *cannedConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *cannedConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *cannedConn) SetDeadline(time.Time) error      { return nil }
func (c *cannedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *cannedConn) SetWriteDeadline(time.Time) error { return nil }

// BenchmarkHandshakeNetConn is the client's side of a Dial without the
// network: the options resolved, the request written, the 101 parsed and
// checked, the Conn made. "options" adds a header, a subprotocol and
// permessage-deflate, which the server accepts.
func BenchmarkHandshakeNetConn(b *testing.B) {
	for _, bc := range []struct {
		name  string
		extra string
		opts  DialOptions
	}{
		{"defaults", "", DialOptions{}},
		{"options", "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n", DialOptions{
			Header:       http.Header{"X-Token": {"abc"}},
			Subprotocols: []string{"chat", "superchat"},
			Compression:  &CompressionOptions{},
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			nc := &cannedConn{extra: bc.extra}
			opts := bc.opts
			opts.NetConn = nc
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				c, err := Dial(ctx, "ws://example.com/feed", &opts)
				if err != nil {
					b.Fatal(err)
				}
				c.Abort()
			}
		})
	}
}
