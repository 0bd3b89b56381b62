//go:build unix

package websocket

import (
	"context"
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
