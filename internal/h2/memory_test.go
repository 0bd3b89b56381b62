//go:build !race

// The race detector enlarges every allocation, so the budget below only
// holds in normal builds.

package h2

import (
	"bytes"
	"context"
	"io"
	"net"
	"runtime"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestStreamMemory checks what an open stream that traffic has passed
// through holds on the heap while it waits: its Stream, the read-wakeup
// channel and the map entry; no deadline, write-completion or closing
// channel made before it is needed, no response kept once open returned.
func TestStreamMemory(t *testing.T) {
	const n = 200
	c, s := net.Pipe()
	defer s.Close()
	var hb bytes.Buffer
	hpack.NewEncoder(&hb).WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	go func() {
		fr := http2.NewFramer(s, s)
		io.ReadFull(s, make([]byte, len(http2.ClientPreface)))
		fr.WriteSettings(extConnect, http2.Setting{ID: http2.SettingInitialWindowSize, Val: maxWindow})
		fr.WriteWindowUpdate(0, maxWindow-65535)
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			switch f := f.(type) {
			case *http2.HeadersFrame:
				fr.WriteHeaders(http2.HeadersFrameParam{StreamID: f.StreamID, BlockFragment: hb.Bytes(), EndHeaders: true})
			case *http2.DataFrame:
				fr.WriteData(f.StreamID, false, f.Data()) // echoed
			}
		}
	}()
	cc, err := NewClientConn(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	open := func() *Stream {
		_, st, err := cc.OpenWebSocket(context.Background(), &Request{Scheme: "https", Authority: "a"})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
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
	runtime.GC()
	runtime.ReadMemStats(&before)
	streams := make([]*Stream, n)
	for i := range streams {
		streams[i] = open()
		echo(streams[i])
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("heap per stream: %d B", per)
	if per > 640 {
		t.Errorf("%d B of heap per open stream, want at most 640", per)
	}
	runtime.KeepAlive(streams)
}
