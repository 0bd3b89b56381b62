package websocket_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// fragment is one fragment as a receiving method returns it.
type fragment struct {
	op   websocket.Opcode
	data string
	fin  bool
}

// TestFireContFrameCompressed: with FireContFrame, a compressed message
// comes fragment by fragment as an uncompressed one does: each fragment
// as it arrives, inflated (when its bytes end with a sync flush, as
// senders that compress fragment by fragment end each), the first with the
// message's opcode, the rest with OpContinuation. A fragment whose bytes
// cannot be inflated yet comes empty, and its text with a later one. The
// client does not wait for the message's end, which a stalling server
// never sends.
func TestFireContFrameCompressed(t *testing.T) {
	const ext = "permessage-deflate"
	recvs := map[string]func(c *websocket.Conn) (fragment, error){
		"RecvData": func(c *websocket.Conn) (fragment, error) {
			op, p, err := c.RecvData(false)
			return fragment{op: op, data: string(p)}, err
		},
		"RecvDataFrame": func(c *websocket.Conn) (fragment, error) {
			op, f, err := c.RecvDataFrame(false)
			if err != nil {
				return fragment{}, err
			}
			return fragment{op: op, data: string(f.Payload), fin: f.Fin}, nil
		},
	}
	for name, recv := range recvs {
		t.Run(name, func(t *testing.T) {
			c, sc := deflatePipe(t, &websocket.DialOptions{FireContFrame: true}, ext)
			d := newStreamDeflater(t)
			check := func(want ...fragment) {
				t.Helper()
				for i, w := range want {
					got, err := recv(c)
					if name == "RecvData" {
						got.fin = w.fin // RecvData does not say
					}
					if err != nil || got != w {
						t.Fatalf("fragment %d: %+v, %v; want %+v", i, got, err, w)
					}
				}
			}
			// Flushed fragments, each inflated as it arrives; the
			// message's last one is never sent, and not waited for.
			wire := d.frames("héllo ", "wörld", "never sent")
			sc.WriteRaw(wire[:bytes.LastIndex(wire, []byte{0x80})])
			check(fragment{websocket.OpText, "héllo ", false}, fragment{websocket.OpContinuation, "wörld", false})
			sc.WriteRaw(wire[bytes.LastIndex(wire, []byte{0x80}):])
			check(fragment{websocket.OpContinuation, "never sent", true})

			// A one-frame message, after the history of the one before.
			sc.WriteRaw(d.frames(strings.Repeat("héllo wörld ", 20)))
			check(fragment{websocket.OpText, strings.Repeat("héllo wörld ", 20), true})

			// Fragments cut inside the compressed stream: their text
			// comes with the last one.
			wire = d.frames("cut anywhere " + strings.Repeat("abc", 100))
			payload := wire[2:] // a final text frame, RSV1, length < 126... or 126
			if wire[1] == 126 {
				payload = wire[4:]
			}
			third := len(payload) / 3
			var cut []byte
			cut = wstest.AppendFrameRsv(cut, false, 4, byte(websocket.OpText), payload[:third])
			cut = wstest.AppendFrameRsv(cut, false, 0, 0, payload[third:2*third])
			cut = wstest.AppendFrameRsv(cut, true, 0, 0, payload[2*third:])
			sc.WriteRaw(cut)
			var text string
			for i := 0; ; i++ {
				got, err := recv(c)
				if err != nil {
					t.Fatal(err)
				}
				if want := websocket.OpContinuation; i == 0 && got.op != websocket.OpText || i > 0 && got.op != want {
					t.Fatalf("fragment %d's opcode %v", i, got.op)
				}
				text += got.data
				if i == 2 {
					break
				}
			}
			if want := "cut anywhere " + strings.Repeat("abc", 100); text != want {
				t.Fatalf("the fragments' text %.40q, want %.40q", text, want)
			}
		})
	}
	// An App's OnContMessage gets the same fragments, read by a goroutine
	// and on an event loop.
	for _, onLoop := range []bool{false, true} {
		t.Run(fmt.Sprintf("App, loop=%v", onLoop), func(t *testing.T) {
			srv := deflateServerSending(t, func(func([]byte) []byte) []byte {
				return newStreamDeflater(t).frames("first ", "second ", "third")
			})
			defer srv.Close()
			var mu sync.Mutex
			var got []fragment
			a := &websocket.App{URL: srv.URL}
			a.OnContMessage = func(a *websocket.App, data []byte, fin bool) {
				mu.Lock()
				got = append(got, fragment{data: string(data), fin: fin})
				mu.Unlock()
				if fin {
					a.Close()
				}
			}
			opts := &websocket.RunOptions{DialOptions: websocket.DialOptions{Compression: &websocket.CompressionOptions{}, Timeout: testTimeout}}
			if err := runOn(t, onLoop, a, opts); err != nil {
				t.Fatal(err)
			}
			want := []fragment{{data: "first "}, {data: "second "}, {data: "third", fin: true}}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("OnContMessage got %+v, want %+v", got, want)
			}
		})
	}
}

// TestCompressedFlushAfterACut: a fragment whose bytes end with a flush
// is inflated at once, also after a fragment cut inside the compressed
// stream: with FireContFrame its text comes with it, and invalid UTF-8 in
// it fails the connection there, while the server holds the message's end
// back. (After a cut, the next try waited until the bytes held had doubled,
// so the text and the 1007 waited for the message's end.)
func TestCompressedFlushAfterACut(t *testing.T) {
	var text strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&text, "%d ", i*7919%10007)
	}
	cutFrames := func(d *streamDeflater, s string) []byte {
		d.w.Write([]byte(s))
		d.w.Flush()
		chunk := bytes.Clone(d.buf.Bytes())
		d.buf.Reset()
		cut := len(chunk) - 100
		wire := wstest.AppendFrameRsv(nil, false, 4, byte(websocket.OpText), chunk[:cut])
		return wstest.AppendFrameRsv(wire, false, 0, 0, chunk[cut:]) // ends with the flush; the message goes on
	}
	t.Run("FireContFrame", func(t *testing.T) {
		c, sc := deflatePipe(t, &websocket.DialOptions{FireContFrame: true}, "permessage-deflate")
		sc.WriteRaw(cutFrames(newStreamDeflater(t), text.String()))
		var got []fragment
		for range 2 {
			op, f, err := c.RecvDataFrame(false)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, fragment{op: op, data: string(f.Payload), fin: f.Fin})
		}
		want := []fragment{{op: websocket.OpText}, {op: websocket.OpContinuation, data: text.String()}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("fragments %.80v, want %.80v", got, want)
		}
	})
	t.Run("UTF-8", func(t *testing.T) {
		c, sc := deflatePipe(t, nil, "permessage-deflate")
		sc.WriteRaw(cutFrames(newStreamDeflater(t), text.String()+"\xff\xfe"))
		_, err := c.Recv()
		var pe *websocket.PayloadError
		if !errors.As(err, &pe) {
			t.Fatalf("Recv = %v, want a *PayloadError at the flushed fragment", err)
		}
		if f := readFrame(t, sc); f.Opcode != byte(websocket.OpClose) || len(f.Payload) < 2 || int(f.Payload[0])<<8|int(f.Payload[1]) != int(websocket.StatusInvalidPayload) {
			t.Fatalf("client sent %v, want close 1007", f)
		}
	})
}
