//go:build !race

// Under the race detector allocations are not counted reliably.

package websocket_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestRecvAllocations checks that the receiving methods that hand the
// caller a payload of its own allocate that payload and nothing else.
func TestRecvAllocations(t *testing.T) {
	const runs = 200
	for _, size := range []int{16, 1 << 10, 16 << 10} {
		frame := wstest.AppendFrame(nil, true, 0x2, bytes.Repeat([]byte{'p'}, size))
		wire := bytes.Repeat(frame, 4*(runs+1))
		for _, tc := range payloadReceivers {
			t.Run(tc.name+"/"+sizeName(size), func(t *testing.T) {
				release := make(chan struct{})
				s := wstest.NewRaw(func(nc net.Conn) {
					defer nc.Close()
					_, accept, _, err := wstest.ReadRequest(nc)
					if err != nil {
						return
					}
					nc.Write(append([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+accept+"\r\n\r\n"), wire...))
					<-release
				})
				defer s.Close()
				defer close(release)
				c, err := websocket.Dial(context.Background(), s.URL, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Abort()
				var got []byte
				allocs := testing.AllocsPerRun(runs, func() {
					if got, err = tc.recv(c); err == nil && len(got) != size {
						t.Fatalf("got %d bytes, want %d", len(got), size)
					}
				})
				if err != nil {
					t.Fatal(err)
				}
				want := 1.0
				if tc.name == "RecvDataFrame" {
					want = 2 // and the *Frame
				}
				if allocs > want {
					t.Errorf("%v allocations per message, want %v", allocs, want)
				}
			})
		}
	}
}

// TestRecvAppendCompressedAllocations: "once the buffer has grown to the
// largest message, no call allocates" holds for large compressed
// messages too, with and without context takeover: the compressed bytes
// are inflated where they were read (no copy with the stream's tail), and
// a buffer larger than the write buffers' largest goes back to a pool of
// its size for the next message. (A 300 KiB message, 66 KB compressed,
// cost an allocation of its compressed copy each; a 2 MiB one, 455 KB
// compressed, four.)
func TestRecvAppendCompressedAllocations(t *testing.T) {
	for _, size := range []int{300 << 10, 2 << 20} {
		for _, takeover := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/takeover=%v", sizeName(size), takeover), func(t *testing.T) {
				resp := "permessage-deflate"
				if !takeover {
					resp += "; server_no_context_takeover"
				}
				c, sc := deflatePipe(t, nil, resp)
				var text []byte
				for i := 0; len(text) < size; i++ {
					text = fmt.Appendf(text, "%d,", uint32(i)*2654435761%100003)
				}
				text = text[:size]
				compress := serverDeflate(t, takeover)
				const messages = 20
				var wire []byte // made before counting: the server's work is not the client's
				for range messages {
					wire = wstest.AppendFrameRsv(wire, true, 4, byte(websocket.OpText), compress(text))
				}
				go sc.WriteRaw(wire)
				var buf []byte
				var err error
				recv := func() {
					if _, buf, err = c.RecvAppend(buf[:0]); err == nil && !bytes.Equal(buf, text) {
						t.Fatalf("message of %d bytes, want the %d sent", len(buf), len(text))
					}
				}
				for range 3 {
					recv()
				}
				if allocs := testing.AllocsPerRun(messages-4, recv); err != nil || allocs != 0 {
					t.Errorf("%v allocations per message (%v), want 0", allocs, err)
				}
			})
		}
	}
}
