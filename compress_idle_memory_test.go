//go:build !race

package websocket_test

import (
	"context"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// allParked reports whether every Conn of conns has no compressor park
// pending.
func allParked(conns []*websocket.Conn) bool {
	for _, c := range conns {
		if !websocket.CompressorParked(c) {
			return false
		}
	}
	return true
}

// idleHeap returns the heap per connection held by n connections, dialed
// with opts to a server answering ext, that each sent a JSON message of
// sent bytes, received one of received bytes and then idled for idle, a
// reader waiting for the next message; with idle > 0, the compressors
// parked first.
func idleHeap(t *testing.T, n int, opts *websocket.DialOptions, ext string, sent, received int, idle time.Duration) float64 {
	t.Helper()
	out := jsonText(sent, 1)
	msg := jsonText(received, 1)
	hdr := http.Header{}
	if ext != "" {
		hdr.Set("Sec-WebSocket-Extensions", ext)
	}
	p := wstest.NewPipe(hdr)
	defer p.Close()
	runtime.GC()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		c, err := websocket.Dial(context.Background(), p.URL, opts)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := p.Next(testTimeout)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SendText(string(out)); err != nil {
			t.Fatal(err)
		}
		if _, err := sc.ReadFrame(); err != nil {
			t.Fatal(err)
		}
		frame := wstest.AppendFrame(nil, true, 1, msg)
		if ext != "" {
			frame = wstest.AppendFrameRsv(nil, true, 4, 1, wstest.Deflate(msg, 1))
		}
		sc.WriteRaw(frame)
		if _, err := c.Recv(); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
		go c.Recv() // an idle connection's reader waits (and holds no read buffer); Abort ends it
	}
	if idle > 0 {
		// Polling until every compressor parked (a park timer may run
		// late on a busy machine), then the idle time under test.
		for deadline := time.Now().Add(30 * time.Second); !allParked(conns); {
			if time.Now().After(deadline) {
				t.Fatal("compressors not parked after 30 s")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	time.Sleep(idle)
	runtime.GC()
	runtime.GC() // pooled objects survive one collection (sync.Pool's victim cache)
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(conns)
	for _, c := range conns {
		c.Abort()
	}
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// idlePark is the compressor's park delay in the idle memory tests, which
// run in processes of their own: 2 s in production.
const idlePark = 200 * time.Millisecond

// idleAfterPark is the idle time of the idle memory tests once the
// compressors parked.
const idleAfterPark = 300 * time.Millisecond

// warmUp runs n plain connections once, so that what a process makes once
// and keeps (the goroutines' descriptors, which the runtime reuses and never
// frees; pools) is not counted in the first measurement.
func warmUp(t *testing.T, n int) {
	idleHeap(t, n, &websocket.DialOptions{}, "", 1<<10, 1<<10, 0)
}

// TestCompressedIdleMemoryWithoutTakeover holds the README's figure: a
// connection with both no-context-takeover options that sent and received
// a 1 KiB compressed message costs, once idle, about 800 bytes more than
// one without compression (its negotiated state, a Compressor and a
// Decompressor without windows, the park timer; writers, decoders and
// buffers come from pools per message). Measured 677-795 B; 1,040-1,075 B
// while the decoder kept its last input. It runs in a process of its own
// (ownStackStart): the heap of a process that ran other tests moves too
// much to measure this.
func TestCompressedIdleMemoryWithoutTakeover(t *testing.T) {
	if !ownStackStart(t) {
		return
	}
	const n = 200
	websocket.SetCompressorIdle(idlePark)
	zo := &websocket.DialOptions{Compression: &websocket.CompressionOptions{ClientNoContextTakeover: true, ServerNoContextTakeover: true}}
	const ext = "permessage-deflate; client_no_context_takeover; server_no_context_takeover"
	warmUp(t, n)
	plain := idleHeap(t, n, &websocket.DialOptions{}, "", 1<<10, 1<<10, idleAfterPark)
	z := idleHeap(t, n, zo, ext, 1<<10, 1<<10, idleAfterPark)
	t.Logf("heap per idle connection: %.0f B plain, %.0f B compressed: %.0f B for compression", plain, z, z-plain)
	if z-plain > 1024 {
		t.Errorf("compression without context takeover costs %.0f B per idle connection, want about 800 (at most 1 KiB)", z-plain)
	}
}

// TestCompressedIdleMemoryWithTakeover holds the README's figures for
// context takeover both ways (the zero CompressionOptions), per connection
// more than one without compression that sent and received the same: once
// idle past the compressor's park, about 10 KiB after 1 KiB messages (each
// window holds what went through it, the decoder's at least 8 KiB, not 32
// and 48 KiB), 41 KiB once 32 KiB were sent and 50 KiB once 32 KiB were
// received; while it sends, before the park, about 800 KiB (a flate
// writer). Measured 9.7, 40.7, 49.6 and 811 KiB; before the decoder's
// window grew with the traffic (48 KiB at the first message) and gave its
// input copy back to the pool, 49.9, 81.0, 56.1 and 852 KiB.
func TestCompressedIdleMemoryWithTakeover(t *testing.T) {
	if !ownStackStart(t) {
		return
	}
	const n = 200
	websocket.SetCompressorIdle(idlePark)
	opts := &websocket.DialOptions{Compression: &websocket.CompressionOptions{}}
	const ext = "permessage-deflate"
	warmUp(t, n)
	for _, c := range []struct {
		name           string
		sent, received int
		idle           time.Duration
		readme, lo, hi float64 // KiB
	}{
		{"idle after 1 KiB messages", 1 << 10, 1 << 10, idleAfterPark, 10, 7, 13},
		{"idle once 32 KiB were sent", 32 << 10, 1 << 10, idleAfterPark, 41, 33, 50},
		{"idle once 32 KiB were received", 1 << 10, 32 << 10, idleAfterPark, 50, 40, 60},
		{"sending", 1 << 10, 1 << 10, 0, 800, 640, 1000},
	} {
		if c.idle == 0 {
			websocket.SetCompressorIdle(time.Minute) // none parks while the connections open
		}
		plain := idleHeap(t, n, &websocket.DialOptions{}, "", c.sent, c.received, c.idle)
		z := idleHeap(t, n, opts, ext, c.sent, c.received, c.idle)
		kib := (z - plain) / 1024
		t.Logf("%s: %.1f KiB per connection for compression (README: about %g)", c.name, kib, c.readme)
		if kib < c.lo || kib > c.hi {
			t.Errorf("%s: compression costs %.1f KiB per connection, the README says about %g", c.name, kib, c.readme)
		}
	}
}
