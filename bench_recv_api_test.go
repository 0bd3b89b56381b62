package websocket_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// recvAPISizes are the message sizes of the default receive API's
// benchmarks: small, medium and the largest that still fits the read
// buffer's fast path.
var recvAPISizes = []int{16, 1 << 10, 16 << 10, 64 << 10}

// floodServer sends pre-encoded binary frames of size bytes for as long as
// the client reads.
func floodServer(b *testing.B, size int) *wstest.Server {
	frame := wstest.AppendFrame(nil, true, 0x2, bytes.Repeat([]byte{'y'}, size))
	batch := bytes.Repeat(frame, max(1, (256<<10)/len(frame)))
	return benchServer(b, func(nc net.Conn, br *bufio.Reader) {
		go io.Copy(io.Discard, br) // drain (the client's close frame); ends with the socket
		for {
			if _, err := nc.Write(batch); err != nil {
				return
			}
		}
	})
}

// BenchmarkRecvAPI receives flooded messages through the receiving methods
// that hand the caller a payload of its own: one allocation per message,
// that payload, and nothing else.
func BenchmarkRecvAPI(b *testing.B) {
	recvs := []struct {
		name string
		recv func(c *websocket.Conn) (int, error)
	}{
		{"Recv", func(c *websocket.Conn) (int, error) {
			m, err := c.Recv()
			return len(m.Data), err
		}},
		{"RecvData", func(c *websocket.Conn) (int, error) {
			_, p, err := c.RecvData(false)
			return len(p), err
		}},
	}
	for _, r := range recvs {
		b.Run(r.name, func(b *testing.B) {
			for _, n := range recvAPISizes {
				b.Run(sizeName(n), func(b *testing.B) {
					c := benchDial(b, floodServer(b, n).URL)
					b.ReportAllocs()
					b.SetBytes(int64(n))
					for b.Loop() {
						if got, err := r.recv(c); err != nil || got != n {
							b.Fatal(got, err)
						}
					}
					b.StopTimer()
					c.Abort()
				})
			}
		})
	}
	b.Run("Messages", func(b *testing.B) {
		for _, n := range recvAPISizes {
			b.Run(sizeName(n), func(b *testing.B) {
				c := benchDial(b, floodServer(b, n).URL)
				b.ReportAllocs()
				b.SetBytes(int64(n))
				b.ResetTimer()
				i := 0
				for m, err := range c.Messages() {
					if err != nil || len(m.Data) != n {
						b.Fatal(len(m.Data), err)
					}
					if i++; i == b.N {
						break
					}
				}
				b.StopTimer()
				c.Abort()
			})
		}
	})
}
