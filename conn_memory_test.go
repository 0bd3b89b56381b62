//go:build !race

// The race detector enlarges every frame and every allocation, so the
// budgets below only hold in normal builds.

package websocket_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// connMemory measures what n connections' readers hold once traffic has
// passed: the server serves each connection (serve) once every
// connection is open, each reader goroutine runs send (if any), receives want
// messages and parks in the next RecvAppend. It returns the growth of the
// goroutine stacks per connection from before the readers started.
func connMemory(t *testing.T, n int, serve func(*wstest.Conn), want int, send func(*websocket.Conn)) (stack int64) {

	start, release := make(chan struct{}), make(chan struct{})
	s := wstest.New(func(c *wstest.Conn) {
		<-start // after the handshake: the client reads the frames from its socket
		serve(c)
		<-release
	})
	defer s.Close()
	defer close(release)

	conns := make([]*websocket.Conn, n)
	for i := range conns {
		c, err := websocket.Dial(context.Background(), s.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Abort()
		conns[i] = c
	}
	before := memNow()
	close(start)
	got := make(chan error, n)
	done := make(chan struct{}, n)
	for _, c := range conns {
		go func() {
			defer func() { done <- struct{}{} }()
			if send != nil {
				send(c)
			}
			for i := 0; ; i++ {
				if i == want {
					got <- nil
				}
				if _, _, err := c.RecvAppend(nil); err != nil {
					if i < want {
						got <- err
					}
					return
				}
			}
		}()
	}
	for range n {
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	}
	for blockedReaders() < n {
		runtime.Gosched()
	}
	after := memNow()
	for _, c := range conns {
		c.Abort()
	}
	for range n {
		<-done
	}
	return (after.StackInuse - before.StackInuse) / int64(n)
}

type memStats struct{ StackInuse int64 }

// memNow collects garbage and reads the stack in use.
func memNow() memStats {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memStats{int64(ms.StackInuse)}
}

// TestReaderMemoryAfterTraffic checks that a connection's reader goroutine
// that received a message and waits for the next keeps its initial 2 KiB
// stack, not a doubled one (TestReadBufferGivenBack checks the buffer).
// Pings (answered on the reader's goroutine) and a send from it are logged
// only: the write path alone is about 1 KiB deep (FD.Write's frame is 232
// bytes), more than a 2 KiB stack leaves once the reader's frames are on it.
// It runs in a process of its own (ownStackStart).
func TestReaderMemoryAfterTraffic(t *testing.T) {
	if !ownStackStart(t) {
		return
	}
	msg := make([]byte, 1000)
	ping := wstest.AppendFrame(nil, true, 0x9, []byte("keep-alive"))
	data := wstest.AppendFrame(nil, true, 0x2, msg)
	write := func(wire []byte) func(*wstest.Conn) {
		return func(c *wstest.Conn) { c.WriteRaw(wire) }
	}
	tests := []struct {
		name     string
		serve    func(*wstest.Conn)
		send     func(*websocket.Conn)
		maxStack int64 // bytes per connection, 0 = logged only
	}{
		// Most stay at 2 KiB; a few, whose reads the scheduler cut
		// differently, grow.
		{name: "a message", serve: write(data), maxStack: 3584},
		{name: "a ping, its pong, a message", serve: func(c *wstest.Conn) {
			c.WriteRaw(ping)
			c.ReadFrame() // the pong
			c.WriteRaw(data)
		}},
		{name: "a ping and a message at once", serve: write(append(ping, data...))},
		{name: "a send and a message", serve: write(data), send: func(c *websocket.Conn) { c.SendBinary(msg[:16]) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stack := connMemory(t, 200, tc.serve, 1, tc.send)
			t.Logf("stack per connection: %d B", stack)
			if tc.maxStack > 0 && stack > tc.maxStack {
				t.Errorf("stack %d B per connection, want at most %d", stack, tc.maxStack)
			}
		})
	}
}
