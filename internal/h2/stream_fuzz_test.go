package h2

import (
	"bytes"
	"context"
	"io"
	"testing"

	"golang.org/x/net/http2"
)

// FuzzStreamData checks the promise under every WebSocket over HTTP/2: the
// bytes a server sends on the stream are the bytes the client reads, in
// order, then io.EOF, however the server cuts them into DATA frames, pads
// them, and mixes in frames that carry no stream data (empty DATA, PING,
// SETTINGS, WINDOW_UPDATE, PRIORITY, a frame of an unknown type, which RFC
// 9113 §5.5 says to ignore), and whatever sizes the reader reads in. The
// stream ends with END_STREAM on the last DATA frame or on an empty one.
// And the flow-control windows come back whole once everything was read.
//
// Each byte of plan is one step: its low 6 bits the size of the next DATA
// frame (0–63 bytes; 63 takes what is left up to 16 KiB); bit 6 pads it
// with as many bytes as its size; bit 7 puts a frame without stream data
// before it (the kind from the size). reads gives the reader's sizes in
// turn (0 = 1 byte), cycling.
func FuzzStreamData(f *testing.F) {
	f.Add([]byte("hello, world"), []byte{5, 0x80 | 3, 0x40 | 7, 63}, []byte{1, 3})
	f.Add(bytes.Repeat([]byte("w"), 20000), []byte{63, 0xc0 | 63, 0x80, 1}, []byte{200})
	f.Add([]byte{}, []byte{0x80 | 4}, []byte{})
	f.Add([]byte("x"), []byte{0x40, 0x80 | 2, 0x80 | 5, 1}, []byte{0})
	f.Fuzz(func(t *testing.T, data, plan, reads []byte) {
		if len(data) > 20000 || len(plan) > 256 {
			return
		}
		cc, p := start(t, nil, extConnect)
		st := p.open(cc)
		id := st.ID()
		sent := p.async(func() {
			rest := data
			for i := 0; len(rest) > 0 || i < len(plan); i++ {
				step := byte(63)
				if i < len(plan) {
					step = plan[i]
				}
				if step&0x80 != 0 {
					switch step & 7 {
					case 0:
						p.fr.WriteData(id, false, nil)
					case 1:
						p.fr.WritePing(false, [8]byte{byte(i)})
					case 2:
						p.fr.WriteSettings()
					case 3:
						p.fr.WriteWindowUpdate(0, 1)
					case 4:
						p.fr.WriteWindowUpdate(id, 1)
					case 5:
						p.fr.WritePriority(id, http2.PriorityParam{Weight: 15})
					default:
						p.fr.WriteRawFrame(0xfa, 0, id, []byte("unknown"))
					}
				}
				n := int(step & 63)
				if n == 63 {
					n = 16384
				}
				if step&0x40 != 0 {
					n = min(n, 16384-256) // the padding counts toward the frame's size
				}
				n = min(n, len(rest))
				end := n == len(rest) && i >= len(plan)-1
				if step&0x40 != 0 {
					p.fr.WriteDataPadded(id, end, rest[:n], make([]byte, min(n, 255)))
				} else {
					p.fr.WriteData(id, end, rest[:n])
				}
				rest = rest[n:]
				if end {
					return
				}
			}
			p.fr.WriteData(id, true, nil)
		})
		var got []byte
		buf := make([]byte, 1<<16)
		for i := 0; ; i++ {
			n := 1
			if len(reads) > 0 {
				n = max(1, int(reads[i%len(reads)]))
			}
			k, err := st.Read(buf[:n])
			got = append(got, buf[:k]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("read after %d of %d bytes: %v", len(got), len(data), err)
			}
		}
		<-sent
		if !bytes.Equal(got, data) {
			t.Fatalf("read %d bytes %q, sent %d %q", len(got), got, len(data), data)
		}
		// The connection still works: the client's PING is answered (the
		// client's answers to the server's PINGs come first).
		errc := make(chan error, 1)
		go func() {
			_, err := cc.Ping(context.Background())
			errc <- err
		}()
		for {
			if f := p.next(http2.FramePing); f.flags&http2.FlagPingAck == 0 {
				p.fr.WritePing(true, f.ping)
				break
			}
		}
		if err := <-errc; err != nil {
			t.Fatalf("Ping: %v", err)
		}
		cc.mu.Lock()
		defer cc.mu.Unlock()
		if used := int64(DefaultConnWindow) - cc.recvWindow - cc.recvPending; used != 0 {
			t.Fatalf("%d bytes of connection window not returned after reading all", used)
		}
	})
}
