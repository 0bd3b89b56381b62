package websocket

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// chunkReader returns its data in reads of at most the next size of sizes
// (cycling), modelling how much a socket has ready at each read.
type chunkReader struct {
	data  []byte
	sizes []int
	i     int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(r.data), r.sizes[r.i%len(r.sizes)])
	r.i++
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// testStream encodes count frames whose payload sizes cycle through sizes,
// each payload filled with its frame's index so reordering shows.
func testStream(sizes []int, count int) (wire []byte, payloads [][]byte) {
	for i := range count {
		p := bytes.Repeat([]byte{byte(i)}, sizes[i%len(sizes)])
		h := header{fin: true, opcode: OpBinary, length: int64(len(p))}
		wire = append(h.appendTo(wire), p...)
		payloads = append(payloads, p)
	}
	return wire, payloads
}

// TestFrameReaderAdaptiveBuffer reads frame streams through the adaptive
// buffer with sockets of different speeds: every payload must come out
// intact and in order, and the large reader must be taken only while reads
// fill the small one and given back once they come back short.
func TestFrameReaderAdaptiveBuffer(t *testing.T) {
	tests := []struct {
		name       string
		frames     []int // payload sizes, cycled
		count      int
		chunks     []int // read sizes, cycled
		leftover   int   // bytes of the stream handed over as handshake leftover
		grow       int   // 1: the large reader must be used at some point, -1: never, 0: either
		readWindow int   // read payloads in pieces of at most this (0 = whole)
	}{
		{name: "small frames, fast socket", frames: []int{16, 125, 1000}, count: 2000, chunks: []int{1 << 30},
			grow: 1},
		{name: "small frames, slow socket", frames: []int{16, 125, 1000}, count: 500, chunks: []int{700},
			grow: -1},
		{name: "burst then trickle", frames: []int{20}, count: 8000, chunks: []int{1 << 30, 1 << 30, 1 << 30, 1 << 30, 9, 300, 1, 2000},
			grow: 1},
		{name: "large frames stay on the small buffer", frames: []int{64 << 10, 1 << 20}, count: 6, chunks: []int{1 << 30},
			grow: -1},
		{name: "mixed sizes", frames: []int{3, 70000, 126, 17 << 10, 5000, 0, 65535, 65536, 100},
			count: 90, chunks: []int{1 << 30, 5, 40000, 4096, 1}, grow: 1},
		{name: "header split across reads", frames: []int{200, 70000}, count: 40, chunks: []int{1, 3, 2, 4096, 1 << 30}},
		{name: "first read of one byte", frames: []int{1, 126, 20000}, count: 30, chunks: []int{1, 1 << 30, 1 << 30}},
		{name: "handshake leftover first", frames: []int{16, 300}, count: 3000, chunks: []int{1 << 30},
			leftover: 10000, grow: 1},
		{name: "payload read in pieces", frames: []int{100, 20000, 9000}, count: 60, chunks: []int{1 << 30},
			readWindow: 777, grow: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire, payloads := testStream(tt.frames, tt.count)
			leftover := wire[:min(tt.leftover, len(wire))]
			src := &chunkReader{data: wire[len(leftover):], sizes: tt.chunks}
			// As newReadBuffer sets up a connection: a minimal reader
			// until the first bytes arrive.
			var r frameReader
			if len(leftover) > 0 {
				r.br = bufio.NewReaderSize(&prefixReader{rest: leftover, r: src}, initialReadBufferSize)
			} else {
				r.br = bufio.NewReaderSize(src, initialReadBufferSize)
			}
			grew := false
			buf := make([]byte, 2<<20)
			for i, want := range payloads {
				h, err := r.readHeader()
				if err != nil {
					t.Fatalf("frame %d: readHeader: %v", i, err)
				}
				if r.br.Size() < readBufferSize {
					t.Fatalf("frame %d: still on the initial %d-byte reader", i, r.br.Size())
				}
				if h.length != int64(len(want)) {
					t.Fatalf("frame %d: length %d, want %d", i, h.length, len(want))
				}
				got := buf[:0]
				for r.dec.remaining > 0 {
					room := buf[len(got):]
					if tt.readWindow > 0 {
						room = room[:min(len(room), tt.readWindow)]
					}
					n, err := r.readPayload(room)
					got = buf[:len(got)+n]
					if err != nil {
						t.Fatalf("frame %d: readPayload: %v", i, err)
					}
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("frame %d: payload differs", i)
				}
				grew = grew || r.small != nil
			}
			if r.small != nil && r.br.Size() != largeReadBufferSize {
				t.Errorf("stacked reader size %d", r.br.Size())
			}
			if _, err := r.readHeader(); err != io.EOF {
				t.Errorf("after the last frame: %v, want io.EOF", err)
			}
			if tt.grow != 0 && grew != (tt.grow > 0) {
				t.Errorf("large reader used: %v, want %v", grew, tt.grow > 0)
			}
			// The stream ended with a short read: the large reader went
			// back to the pool before the read that found the end.
			if r.small != nil {
				t.Error("large reader still held after the stream ended")
			}
			r.release()
			if r.small != nil || r.br.Size() != readBufferSize {
				t.Errorf("after release: small %v, size %d", r.small != nil, r.br.Size())
			}
		})
	}
}

// TestFrameReaderShrinkKeepsOrder swaps readers while the small one still
// holds bytes: they must come out before anything read later.
func TestFrameReaderShrinkKeepsOrder(t *testing.T) {
	wire, payloads := testStream([]int{10, 5000, 10}, 30)
	src := &chunkReader{data: wire, sizes: []int{1 << 30}}
	r := frameReader{br: bufio.NewReaderSize(src, readBufferSize)}
	// Buffer part of the stream in the small reader, then stack a large
	// reader on it by hand, as if it had grown with bytes left behind.
	if _, err := r.br.Peek(100); err != nil {
		t.Fatal(err)
	}
	r.grow()
	for i, want := range payloads {
		if _, err := r.readHeader(); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		got := make([]byte, len(want))
		if _, err := r.readFullPayload(got); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("frame %d: payload differs", i)
		}
		if r.small != nil && r.br.Buffered() == 0 {
			r.shrink() // back to the small reader, wherever it stands
		}
	}
}
