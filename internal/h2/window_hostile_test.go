package h2

import (
	"fmt"
	"io"
	"testing"
	"testing/synctest"

	"golang.org/x/net/http2"
)

// A server that pads its DATA frames to a stream nobody reads does not grow
// that stream's window: padding is returned at once, but only reads count
// toward growth. Before, the padding counted as a fast read, the window
// grew to 16 MiB and the server could make the stream buffer 8.4 MiB.
func TestPaddingDoesNotGrowAnUnreadStreamsWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const win, limit = DefaultStreamWindow, 16 << 20
		cc, p := start(t, &Config{StreamWindow: win, GrowStreamWindow: limit}, extConnect)
		busy := p.open(cc) // a WebSocket waiting for its next message
		idle := p.open(cc) // a WebSocket whose application reads nothing
		go busy.Read(make([]byte, 1))
		synctest.Wait()

		avail := int64(win) // the server's view of idle's window
		var tag byte
		sync := func() {
			tag++
			p.fr.WritePing(false, [8]byte{tag})
			for f := range p.frames {
				switch {
				case f.typ == http2.FrameWindowUpdate && f.stream == idle.ID():
					avail += int64(f.incr)
				case f.typ == http2.FrameRSTStream:
					t.Fatalf("RST_STREAM %d %v", f.stream, f.code)
				case f.typ == http2.FramePing && f.flags.Has(http2.FlagPingAck) && f.ping[0] == tag:
					return
				}
			}
			t.Fatal("connection ended")
		}
		pad := make([]byte, 255)
		for range 16 {
			frames := (avail - 1024) / 257
			for range frames {
				p.fr.WriteDataPadded(idle.ID(), false, []byte{'x'}, pad)
			}
			avail -= frames * 257
			sync()
		}
		for avail > chunkSize {
			p.fr.WriteData(idle.ID(), false, make([]byte, chunkSize))
			avail -= chunkSize
		}
		sync()
		p.conn.Close()
		n, _ := io.Copy(io.Discard, idle)
		if n > win {
			t.Fatalf("a stream never read buffered %d bytes, more than its window of %d (padding grew it)", n, win)
		}
	})
}

// RFC 9113 §6.5.2: a client treats SETTINGS_ENABLE_PUSH = 1 from the
// server as a connection error of type PROTOCOL_ERROR.
func TestServerEnablingPushIsAProtocolError(t *testing.T) {
	cc, p := start(t, nil, extConnect)
	p.settings(http2.Setting{ID: http2.SettingEnablePush, Val: 1})
	p.fr.WritePing(false, [8]byte{9})
	for f := range p.frames {
		if f.typ == http2.FrameGoAway {
			if f.code != http2.ErrCodeProtocol {
				t.Fatalf("GOAWAY %v, want PROTOCOL_ERROR", f.code)
			}
			return
		}
		if f.typ == http2.FramePing && f.flags.Has(http2.FlagPingAck) && f.ping[0] == 9 {
			break
		}
	}
	t.Fatalf("SETTINGS_ENABLE_PUSH = 1 from the server accepted: connection live (Err() = %v, CanTakeNewStream = %v)", cc.Err(), cc.CanTakeNewStream())
}

// "A stream's window starts at 1 MiB and doubles, up to 16 MiB, each time
// half of it is read within 10 ms, so a fast bulk reader is not held back":
// also when the server sets PADDED on its DATA frames, with little or no
// padding. Padding was kept from growing the window of a stream nobody
// reads (TestPaddingDoesNotGrowAnUnreadStreamsWindow), and that change
// had stopped it for every padded stream (found by a review of it).
func TestFastReaderOfPaddedFramesGrowsTheWindow(t *testing.T) {
	for _, padLen := range []int{0, 16, 255} {
		t.Run(fmt.Sprintf("pad=%d", padLen), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const win, limit = 64 << 10, 256 << 10
				cc, p := start(t, &Config{StreamWindow: win, GrowStreamWindow: limit}, extConnect)
				fast := p.open(cc)
				pad := make([]byte, padLen)
				per := chunkSize - 1 - padLen // data per frame: each frame takes chunkSize of window
				// Send half a window and a bit, read it all at once (no time passes).
				sent, data := 0, 0
				for sent < win/2+chunkSize {
					p.fr.WriteDataPadded(fast.ID(), false, make([]byte, per), pad)
					sent += chunkSize
					data += per
				}
				if _, err := io.ReadFull(fast, make([]byte, data)); err != nil {
					t.Fatal(err)
				}
				p.fr.WritePing(false, [8]byte{7})
				got := 0
				for f := range p.frames {
					if f.typ == http2.FrameWindowUpdate && f.stream == fast.ID() {
						got += int(f.incr)
					}
					if f.typ == http2.FramePing && f.flags.Has(http2.FlagPingAck) && f.ping[0] == 7 {
						break
					}
				}
				if got <= sent {
					t.Fatalf("read %d bytes (%d of window) at once: credit %d, the window did not grow", data, sent, got)
				}
				t.Logf("credit %d for %d consumed", got, sent)
			})
		})
	}
}

// A bulk transfer of 32 MiB, read as fast as it arrives in 64 KiB reads,
// from a server that pads every 16 KiB DATA frame: the window (1 MiB,
// growing to 16 MiB) should grow as for unpadded frames.
func TestPaddedBulkTransferGrowsTheWindow(t *testing.T) {
	for _, padLen := range []int{-1, 0, 255} {
		t.Run(fmt.Sprintf("pad=%d", padLen), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const win, limit = DefaultStreamWindow, 16 << 20
				cc, p := start(t, &Config{StreamWindow: win, GrowStreamWindow: limit}, extConnect)
				st := p.open(cc)
				avail, total, maxWin := int64(win), int64(0), int64(win)
				granted := int64(win)
				done := make(chan struct{})
				go func() {
					defer close(done)
					b := make([]byte, 64<<10)
					for {
						if _, err := st.Read(b); err != nil {
							return
						}
					}
				}()
				var tag byte
				for total < 32<<20 {
					for avail >= chunkSize {
						if padLen < 0 {
							p.fr.WriteData(st.ID(), false, make([]byte, chunkSize))
						} else {
							p.fr.WriteDataPadded(st.ID(), false, make([]byte, chunkSize-1-padLen), make([]byte, padLen))
						}
						avail -= chunkSize
						total += chunkSize
					}
					synctest.Wait()
					tag++
					p.fr.WritePing(false, [8]byte{tag})
					for f := range p.frames {
						if f.typ == http2.FrameWindowUpdate && f.stream == st.ID() {
							avail += int64(f.incr)
							granted += int64(f.incr)
						}
						if f.typ == http2.FramePing && f.flags.Has(http2.FlagPingAck) && f.ping[0] == tag {
							break
						}
					}
					maxWin = max(maxWin, granted-total)
				}
				t.Logf("window after %d MiB: %d (largest %d)", total>>20, granted-total, maxWin)
				if maxWin <= win {
					t.Errorf("pad=%d: window never grew past %d over %d MiB read at once", padLen, win, total>>20)
				}
				p.conn.Close()
				<-done
			})
		})
	}
}
