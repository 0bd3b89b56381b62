package websocket_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// A compressed message received fragment by fragment (FireContFrame) costs
// about what it costs whole, as the README's buffers row says ("a message
// of 125-byte fragments does not grow by a little per fragment"; compressed,
// about 5× at worst). Each fragment's output buffer was sized by the whole
// message inflated so far, though it holds that fragment's only: 8 MiB in
// 512 fragments allocated 2,044 MiB (3.4× whole), on a Conn and on an App
// off and on an event loop.
func TestFireContCompressedFragmentsMemory(t *testing.T) {
	const frag, n = 16 << 10, 512
	pieces := make([]string, n)
	for i := range pieces {
		pieces[i] = string(jsonText(frag, i))
	}
	wire := newStreamDeflater(t).frames(pieces...)
	check := func(t *testing.T, got int, grew uint64) {
		t.Helper()
		if got != frag*n {
			t.Fatalf("got %d bytes, want %d", got, frag*n)
		}
		t.Logf("%d MiB in %d fragments: %.1f MiB allocated (%.1f× the message)", got>>20, n, float64(grew)/(1<<20), float64(grew)/float64(got))
		if grew > 8*uint64(got) {
			t.Errorf("allocated %d MiB for a %d MiB message in %d fragments: more than 8× its size", grew>>20, got>>20, n)
		}
	}
	t.Run("Conn", func(t *testing.T) {
		c, sc := deflatePipe(t, &websocket.DialOptions{FireContFrame: true}, "permessage-deflate")
		go sc.WriteRaw(wire)
		before := totalAlloc()
		got := 0
		for {
			_, f, err := c.RecvDataFrame(false)
			if err != nil {
				t.Fatalf("after %d bytes: %v", got, err)
			}
			got += len(f.Payload)
			if f.Fin {
				break
			}
		}
		check(t, got, totalAlloc()-before)
	})
	for _, onLoop := range []bool{false, true} {
		t.Run(fmt.Sprintf("App/loop=%v", onLoop), func(t *testing.T) {
			srv := deflateRawServer(func(c *wstest.Conn) {
				c.NC.Write(wire)
				for {
					f, err := c.ReadFrame()
					if err != nil || f.Opcode == 0x8 {
						return
					}
				}
			})
			defer srv.Close()
			got := 0
			var before, grew uint64
			a := &websocket.App{URL: srv.URL,
				OnOpen: func(*websocket.App) { before = totalAlloc() },
				OnData: func(a *websocket.App, data []byte, _ websocket.Opcode, fin bool) {
					got += len(data)
					if fin {
						grew = totalAlloc() - before
						a.CloseWith(websocket.StatusNormal, "", time.Second)
					}
				},
			}
			opts := &websocket.RunOptions{Reconnect: -1, DialOptions: websocket.DialOptions{FireContFrame: true,
				Compression: &websocket.CompressionOptions{}, Timeout: testTimeout}}
			var err error
			if onLoop {
				err = runOnLoop(context.Background(), t, a, opts)
			} else {
				err = a.Run(context.Background(), opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			check(t, got, grew)
		})
	}
}

// A fragment of one byte costs about one byte, whatever came before it in
// the message: each took the rest of the read limit at once (a 17 MiB first
// fragment, then 200 of one byte each: 9,400 MiB allocated for 24 KB on the
// wire).
func TestFireContCompressedTinyFragmentsAfterALargeOne(t *testing.T) {
	pieces := []string{strings.Repeat("\x00", 17<<20)}
	for range 200 {
		pieces = append(pieces, "a")
	}
	c, sc := deflatePipe(t, &websocket.DialOptions{FireContFrame: true}, "permessage-deflate")
	go sc.WriteRaw(newStreamDeflater(t).frames(pieces...))
	var afterFirst uint64
	for frames := 1; ; frames++ {
		_, f, err := c.RecvDataFrame(false)
		if err != nil {
			t.Fatalf("fragment %d: %v", frames, err)
		}
		if frames == 1 {
			afterFirst = totalAlloc()
		}
		if f.Fin {
			break
		}
	}
	grew := totalAlloc() - afterFirst
	t.Logf("the 200 fragments of 1 byte after 17 MiB: %d KiB allocated", grew>>10)
	if grew > 16<<20 {
		t.Errorf("200 fragments of 1 byte each after a large one allocated %d MiB", grew>>20)
	}
}
