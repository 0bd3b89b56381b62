package h2

import (
	"bytes"
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
		p.ping(cc) // the connection still works
		cc.mu.Lock()
		defer cc.mu.Unlock()
		if used := int64(DefaultConnWindow) - cc.recvWindow - cc.recvPending; used != 0 {
			t.Fatalf("%d bytes of connection window not returned after reading all", used)
		}
	})
}

// FuzzStreamWrite checks what the client sends on a WebSocket's stream: the
// bytes written, whole and in order, then END_STREAM, in DATA frames that
// never exceed the server's frame size nor the flow-control windows it
// granted, however small (down to 1 byte), however it grants more
// (WINDOW_UPDATE on the connection and on the stream, in any increments),
// and when it lowers SETTINGS_INITIAL_WINDOW_SIZE mid-stream, which can
// leave the stream's window negative (RFC 9113 §6.9.2): the client must
// then wait until WINDOW_UPDATEs take it above zero again.
//
// window is the server's initial stream window (at least 1). Each byte of
// plan is the server's answer to one DATA frame: bit 7 lowers the initial
// window by its low 7 bits × 64 (a SETTINGS frame) and grants the stream
// what it then needs to move again; otherwise its low 4 bits × 1021 + 1 go
// to the connection's window and its high 3 bits × 4093 + 1 to the
// stream's. Once plan is used up, the server grants 1 MiB more to each,
// once (more than the data: a window above 2^31−1 is an error).
// writes gives the sizes of the client's writes in turn, × 64 bytes (at
// least a sixty-fourth of the data, and 1 byte).
func FuzzStreamWrite(f *testing.F) {
	f.Add([]byte("hello, world"), uint16(5), []byte{0x13, 0x80 | 1}, []byte{3})
	f.Add(bytes.Repeat([]byte("w"), 40000), uint16(65535), []byte{0xff, 0x80 | 127, 0x01}, []byte{255, 0})
	f.Add(bytes.Repeat([]byte("z"), 3000), uint16(1), []byte{0, 0, 0}, []byte{})
	f.Add(bytes.Repeat([]byte("n"), 5000), uint16(1000), []byte{0x80 | 15, 0, 0, 0, 0, 0, 0}, []byte{15}) // a negative window
	f.Fuzz(func(t *testing.T, data []byte, window uint16, plan, writes []byte) {
		if len(data) > 40000 || len(plan) > 64 || window == 0 {
			return
		}
		const maxFrame = 16384
		cc, p := start(t, nil, extConnect, http2.Setting{ID: http2.SettingInitialWindowSize, Val: uint32(window)})
		for f := p.next(http2.FrameSettings); f.flags&http2.FlagSettingsAck == 0; f = p.next(http2.FrameSettings) {
		}
		st := p.open(cc)
		id := st.ID()
		wrote := make(chan error, 1)
		go func() {
			rest := data
			for i := 0; len(rest) > 0; i++ {
				n := 1 + len(data)/64 // at least a sixty-fourth of the data
				if len(writes) > 0 {
					n = max(n, int(writes[i%len(writes)])*64)
				}
				n = min(n, len(rest))
				if _, err := st.Write(rest[:n]); err != nil {
					wrote <- err
					return
				}
				rest = rest[n:]
			}
			wrote <- st.CloseWrite()
		}()
		// The server's view of the windows. A lowered initial window
		// counts once the client acknowledged the SETTINGS: the frames
		// before the acknowledgement were sent under the old one.
		initial, connW, streamW := int64(window), int64(65535), int64(window)
		var pending []int64 // lowered initial windows not yet acknowledged
		var got []byte
		step, grantedAll := 0, false
		for {
			f, ok := <-p.frames
			if !ok {
				t.Fatalf("connection ended after %d of %d bytes", len(got), len(data))
			}
			if f.typ == http2.FrameSettings && f.flags&http2.FlagSettingsAck != 0 && len(pending) > 0 {
				streamW += pending[0] - initial
				initial, pending = pending[0], pending[1:]
				if streamW <= 0 {
					// Frames sent before the client applied the
					// lowering took the window below what the
					// grant sent with it made up for: the client
					// waits, and only a grant moves it.
					g := 1 - streamW
					p.fr.WriteWindowUpdate(id, uint32(g))
					streamW += g
				}
				continue
			}
			if f.typ != http2.FrameData || f.stream != id {
				continue
			}
			n := int64(len(f.data))
			if n > maxFrame || n > connW || n > streamW {
				t.Fatalf("DATA frame of %d bytes with windows %d (connection) and %d (stream), frame size %d", n, connW, streamW, maxFrame)
			}
			connW, streamW = connW-n, streamW-n
			got = append(got, f.data...)
			if f.flags&http2.FlagDataEndStream != 0 {
				break
			}
			if n == 0 {
				continue
			}
			planned := step < len(plan)
			var s byte
			if planned {
				s = plan[step]
				step++
			}
			switch {
			case !planned && !grantedAll: // the rest goes at once
				const all = 1 << 20
				p.fr.WriteWindowUpdate(0, all)
				p.fr.WriteWindowUpdate(id, all)
				connW, streamW = connW+all, streamW+all
				grantedAll = true
			case !planned:
			case s&0x80 != 0:
				lower := min(initial, max(1, initial-int64(s&0x7f)*64))
				last := initial
				if len(pending) > 0 {
					last = pending[len(pending)-1]
				}
				lower = min(lower, last)
				p.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: uint32(lower)})
				pending = append(pending, lower)
				// What the client's window will be once it applied
				// every lowering: grant it back above zero, and
				// the connection what this frame took.
				after := streamW + lower - initial
				grant := n
				if after <= 0 {
					grant += 1 - after
				}
				p.fr.WriteWindowUpdate(id, uint32(grant))
				p.fr.WriteWindowUpdate(0, uint32(n))
				connW, streamW = connW+n, streamW+grant
			default:
				c, s2 := int64(s&15)*1021+1, int64(s>>4)*4093+1
				p.fr.WriteWindowUpdate(0, uint32(c))
				p.fr.WriteWindowUpdate(id, uint32(s2))
				connW, streamW = connW+c, streamW+s2
			}
		}
		if err := <-wrote; err != nil {
			t.Fatalf("Write or CloseWrite: %v", err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("the server got %d bytes, the client wrote %d", len(got), len(data))
		}
	})
}
