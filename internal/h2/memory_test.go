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
// channel and the map entry; no deadline, write-completion or closing
// channel made before it is needed, no response kept once open returned.
func TestStreamMemory(t *testing.T) {
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
		if _, err := st.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(st, msg); err != nil {
			t.Fatal(err)
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
	if per > 640 {
		t.Errorf("%d B of heap per open stream, want at most 640", per)
	}
	runtime.KeepAlive(streams)
}

// gc collects twice: the second empties the pools' victim caches, so that
// a receive block freed on one side of a measurement is not counted.
func gc() {
	runtime.GC()
	runtime.GC()
}
