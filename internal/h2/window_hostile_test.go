package h2

import (
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
