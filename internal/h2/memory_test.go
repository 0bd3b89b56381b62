//go:build !race

// The race detector enlarges every allocation, so the budget below only
// holds in normal builds.

package h2

import (
	"io"
	"runtime"
	"testing"

	"golang.org/x/net/http2"
)

// TestStreamMemory checks what an open stream that traffic has passed
// through holds on the heap while it waits: its Stream, the read-wakeup
// channel and the map entry; no deadline or response kept once open
// returned. A stream whose Write went straight to the connection keeps
// nothing more; one whose Write found the connection's writer busy and
// queued its chunk also keeps the chunk's completion and closing channels
// (made by the first queued chunk, reused by the next ones). Which path a
// Write takes depends on what the writer is doing at that instant, so each
// case decides it: the direct one waits until the writer has released the
// connection, the queued one holds the connection while it writes.
func TestStreamMemory(t *testing.T) {
	for _, tc := range []struct {
		name   string
		queued bool
		budget int64
	}{
		{"direct write", false, 640},
		{"queued write", true, 896},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 200
			cc, _ := rawServer(t, func(fr *http2.Framer, f http2.Frame) bool {
				switch f := f.(type) {
				case *http2.HeadersFrame:
					answer200(fr, f.StreamID)
				case *http2.DataFrame:
					fr.WriteData(f.StreamID, false, f.Data()) // echoed
				}
				return true
			}, nil)
			open := func() *Stream { return openRaw(t, cc) }
			echo := func(st *Stream) {
				msg := []byte("hello")
				cc.wmu.Lock() // the writer is done with what it was writing
				if tc.queued {
					_, err := st.Write(msg) // finds the connection taken: queues
					cc.wmu.Unlock()
					if err != nil {
						t.Fatal(err)
					}
				} else {
					cc.wmu.Unlock()
					if _, err := st.Write(msg); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := io.ReadFull(st, msg); err != nil {
					t.Fatal(err)
				}
				if queued := st.wdone != nil; queued != tc.queued {
					t.Fatalf("the Write queued its chunk: %t, want %t", queued, tc.queued)
				}
			}
			echo(open()) // the connection's own buffers grow
			var before, after runtime.MemStats
			gc()
			runtime.ReadMemStats(&before)
			streams := make([]*Stream, n)
			for i := range streams {
				streams[i] = open()
				echo(streams[i])
			}
			gc()
			runtime.ReadMemStats(&after)
			per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
			t.Logf("heap per stream: %d B", per)
			if per > tc.budget {
				t.Errorf("%d B of heap per open stream, want at most %d", per, tc.budget)
			}
			runtime.KeepAlive(streams)
		})
	}
}

// gc collects twice: the second empties the pools' victim caches, so that
// a receive block freed on one side of a measurement is not counted.
func gc() {
	runtime.GC()
	runtime.GC()
}
