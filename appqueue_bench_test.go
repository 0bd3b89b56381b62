//go:build unix

package websocket

import (
	"context"
	"io"
	"testing"

	"github.com/wsclient/websocket/wstest"
)

// BenchmarkAppEventLoopRecv: an App on an EventLoop receives b.N 16-byte
// messages a loopback server writes as fast as it can: the loop's cost per
// message (reading, decoding, the receive queue, the dispatcher's turns,
// the callback).
func BenchmarkAppEventLoopRecv(b *testing.B) {
	var batch []byte
	for range 1024 {
		batch = wstest.Frame{Fin: true, Opcode: wstest.OpBinary, Payload: make([]byte, 16)}.AppendTo(batch)
	}
	srv := wstest.NewServer(func(c *wstest.Conn) {
		if c.Accept(nil) != nil {
			return
		}
		for n := b.N; n > 0; n -= 1024 {
			if c.WriteRaw(batch[:min(n, 1024)*18]) != nil {
				return
			}
		}
		c.ReadFrame() // the client's close
	})
	defer srv.Close()
	l := runningLoop(b)
	done := make(chan struct{})
	got := 0
	a := &App{URL: srv.URL}
	a.OnMessage = func(*App, Message) {
		if got++; got == b.N {
			close(done)
		}
	}
	b.ReportAllocs()
	b.SetBytes(16)
	cpu0 := cpuTime()
	b.ResetTimer()
	if err := a.Run(context.Background(), &RunOptions{Dispatcher: l, Reconnect: -1}); err != nil {
		b.Fatal(err)
	}
	<-done
	b.StopTimer()
	reportCPU(b, cpu0)
	a.Close()
}

// BenchmarkAppEventLoopSend: an App on an EventLoop sends b.N messages
// from a goroutine of its own to a loopback server that reads as fast as
// it can: the cost per message of a send the loop writes (the send
// queue, the Conn's write path, the loop's room check and its writes).
func BenchmarkAppEventLoopSend(b *testing.B) {
	for _, size := range []int{16, 1 << 10} {
		b.Run(map[int]string{16: "16B", 1 << 10: "1KiB"}[size], func(b *testing.B) {
			srv := wstest.NewServer(func(c *wstest.Conn) {
				if c.Accept(nil) != nil {
					return
				}
				io.Copy(io.Discard, c.NetConn())
			})
			defer srv.Close()
			l := runningLoop(b)
			opened := make(chan struct{})
			a := &App{URL: srv.URL}
			a.OnOpen = func(*App) { close(opened) }
			if err := a.Run(context.Background(), &RunOptions{Dispatcher: l, Reconnect: -1}); err != nil {
				b.Fatal(err)
			}
			<-opened
			msg := make([]byte, size)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			cpu0 := cpuTime()
			b.ResetTimer()
			for range b.N {
				if err := a.SendBytes(msg); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reportCPU(b, cpu0)
			a.CloseWith(StatusNormal, "", 0)
		})
	}
}
