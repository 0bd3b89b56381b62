package websocket_test

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"
	"testing/synctest"
	"time"

	websocket "github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestPingFloodKeepsReadDeadline: a server floods pings and reads nothing,
// so no pong can reach it. Answering must not hold the reader: Recv
// returns at its read deadline, resumable, and once the server reads again
// it gets the pongs in order, the last one answering its last ping (RFC
// 6455 lets a client answer only the most recent of the pings it has not
// answered yet), and the message sent since.
func TestPingFloodKeepsReadDeadline(t *testing.T) {
	const pings = 3000 // 390 KB of pongs: more than the write queue holds
	synctest.Test(t, func(t *testing.T) {
		reading := make(chan struct{})
		got := make(chan []*wstest.Frame, 1)
		c := dialPipeServer(t, websocket.DialOptions{}, func(sc *wstest.Conn) {
			p := make([]byte, 125)
			for i := range pings {
				binary.BigEndian.PutUint32(p, uint32(i))
				if err := sc.WriteFrame(true, 0x9, p); err != nil {
					t.Errorf("ping %d: %v", i, err)
					return
				}
			}
			<-reading
			var frames []*wstest.Frame
			for text, lastPong := false, false; !text || !lastPong; {
				f, err := sc.ReadFrame()
				if err != nil {
					t.Errorf("server read: %v", err)
					break
				}
				frames = append(frames, f)
				text = text || f.Opcode == 0x1
				lastPong = lastPong || f.Opcode == 0xA && binary.BigEndian.Uint32(f.Payload) == pings-1
			}
			got <- frames
			sc.WriteFrame(true, 0x1, []byte("after"))
			sc.ReadFrame() // the close
		})
		defer c.Abort()

		start := time.Now()
		c.SetReadDeadline(start.Add(time.Second))
		_, err := c.Recv()
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Recv = %v, want its read deadline's error", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("Recv returned after %v, want the deadline's 1s", d)
		}

		close(reading)
		if err := c.SendText("sent"); err != nil {
			t.Fatalf("SendText after the flood: %v", err)
		}
		frames := <-got
		last, texts := -1, 0
		for i, f := range frames {
			if f.Opcode == 0x1 && string(f.Payload) == "sent" {
				texts++
				continue
			}
			if f.Opcode != 0xA || len(f.Payload) != 125 {
				t.Fatalf("frame %d: opcode %v, %d bytes; want a pong of 125", i, f.Opcode, len(f.Payload))
			}
			n := int(binary.BigEndian.Uint32(f.Payload))
			if n <= last {
				t.Fatalf("pong %d answers ping %d after ping %d: out of order", i, n, last)
			}
			last = n
		}
		if last != pings-1 || texts != 1 {
			t.Errorf("the last pong answers ping %d, want the last ping, %d; %d texts, want 1", last, pings-1, texts)
		}
		c.SetReadDeadline(time.Time{})
		if m, err := c.Recv(); err != nil || string(m.Data) != "after" {
			t.Errorf("Recv after the flood = %q, %v; want \"after\"", m.Data, err)
		}
		c.Close()
	})
}
