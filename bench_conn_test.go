package websocket_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

var benchSizes = []int{16, 1 << 10, 64 << 10}

func sizeName(n int) string {
	if n >= 1<<10 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// benchServer upgrades each connection and runs serve on it. Unlike
// wstest.Echo, the servers below allocate nothing per message, so the
// benchmarks' allocs/op are the client's.
func benchServer(b *testing.B, serve func(nc net.Conn, br *bufio.Reader)) *wstest.Server {
	s := wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		_, accept, br, err := wstest.ReadRequest(nc)
		if err != nil {
			return
		}
		io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+accept+"\r\n\r\n")
		serve(nc, br)
	})
	b.Cleanup(s.Close)
	return s
}

// echoNoAlloc echoes client frames unmasked, reusing one buffer.
func echoNoAlloc(nc net.Conn, br *bufio.Reader) {
	buf := make([]byte, 0, 128<<10)
	var hdr [14]byte
	for {
		if _, err := io.ReadFull(br, hdr[:2]); err != nil {
			return
		}
		n := uint64(hdr[1] & 0x7F)
		switch n {
		case 126:
			if _, err := io.ReadFull(br, hdr[2:4]); err != nil {
				return
			}
			n = uint64(binary.BigEndian.Uint16(hdr[2:4]))
		case 127:
			if _, err := io.ReadFull(br, hdr[2:10]); err != nil {
				return
			}
			n = binary.BigEndian.Uint64(hdr[2:10])
		}
		key := hdr[10:14] // a local array would escape through io.ReadFull
		if _, err := io.ReadFull(br, key); err != nil {
			return
		}
		if n > uint64(cap(buf)) {
			return
		}
		out := wstest.AppendHeader(buf[:0], hdr[0]&0x80 != 0, 0, hdr[0]&0xF, false, [4]byte{}, n)
		h := len(out)
		out = out[:h+int(n)]
		if _, err := io.ReadFull(br, out[h:]); err != nil {
			return
		}
		for i := range out[h:] {
			out[h+i] ^= key[i&3]
		}
		if _, err := nc.Write(out); err != nil || hdr[0]&0xF == 0x8 {
			return
		}
	}
}

func benchDial(b *testing.B, url string) *websocket.Conn {
	c, err := websocket.Dial(context.Background(), url, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkRoundTrip sends a message and receives its echo over loopback.
func BenchmarkRoundTrip(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(sizeName(n), func(b *testing.B) {
			c := benchDial(b, benchServer(b, echoNoAlloc).URL)
			msg := bytes.Repeat([]byte{'x'}, n)
			buf := make([]byte, 0, n)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			b.ResetTimer()
			for b.Loop() {
				if err := c.Send(msg, websocket.OpBinary); err != nil {
					b.Fatal(err)
				}
				_, got, err := c.RecvAppend(buf[:0])
				if err != nil || len(got) != n {
					b.Fatal(err)
				}
				buf = got
			}
		})
	}
}

// BenchmarkRecv receives frames a server floods pre-encoded, with
// RecvAppend into a reused buffer.
func BenchmarkRecv(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(sizeName(n), func(b *testing.B) {
			frame := wstest.AppendFrame(nil, true, 0x2, bytes.Repeat([]byte{'y'}, n))
			batch := bytes.Repeat(frame, max(1, (256<<10)/len(frame)))
			s := benchServer(b, func(nc net.Conn, br *bufio.Reader) {
				go io.Copy(io.Discard, br) // drain (the client's close frame); ends with the socket
				for {
					if _, err := nc.Write(batch); err != nil {
						return
					}
				}
			})
			c := benchDial(b, s.URL)
			buf := make([]byte, 0, n)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			b.ResetTimer()
			for b.Loop() {
				_, got, err := c.RecvAppend(buf[:0])
				if err != nil || len(got) != n {
					b.Fatal(err)
				}
				buf = got
			}
			b.StopTimer()
			c.Abort()
		})
	}
}

// BenchmarkSend sends messages to a server that discards them.
func BenchmarkSend(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(sizeName(n), func(b *testing.B) {
			s := benchServer(b, func(nc net.Conn, br *bufio.Reader) { io.Copy(io.Discard, br) })
			c := benchDial(b, s.URL)
			msg := bytes.Repeat([]byte{'z'}, n)
			b.ReportAllocs()
			b.SetBytes(int64(n))
			b.ResetTimer()
			for b.Loop() {
				if err := c.Send(msg, websocket.OpBinary); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			c.Abort()
		})
	}
}
