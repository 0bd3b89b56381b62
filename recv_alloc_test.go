//go:build !race

// Under the race detector allocations are not counted reliably.

package websocket_test

import (
	"bytes"
	"context"
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
