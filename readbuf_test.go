package websocket

import (
	"bytes"
	"io"
	"slices"
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
			count: 90, chunks: []int{1 << 30, 5, 40000, 4096, 1}},
		{name: "header split across reads", frames: []int{200, 70000}, count: 40, chunks: []int{1, 3, 2, 4096, 1 << 30}},
		{name: "first read of one byte", frames: []int{1, 126, 20000}, count: 30, chunks: []int{1, 1 << 30, 1 << 30}},
		{name: "handshake leftover first", frames: []int{16, 300}, count: 3000, chunks: []int{1 << 30},
			leftover: 10000, grow: 1},
		{name: "payload read in pieces", frames: []int{100, 20000, 9000}, count: 60, chunks: []int{1 << 30},
			readWindow: 777, grow: 1},
	}
	for _, tt := range tests {
		for _, waiting := range []bool{false, true} {
			name := tt.name + "/probe"
			if waiting {
				name = tt.name + "/waiting"
			}
			t.Run(name, func(t *testing.T) {
				wire, payloads := testStream(tt.frames, tt.count)
				leftover := wire[:min(tt.leftover, len(wire))]
				src := &chunkReader{data: wire[len(leftover):], sizes: tt.chunks}
				// As newConn sets up a connection.
				r := frameReader{src: src}
				w := &waitingChunkReader{chunkReader: src, r: &r}
				if waiting {
					r.sock = w
				}
				r.setLeftover(leftover)
				grew := false
				buf := make([]byte, 2<<20)
				for i, want := range payloads {
					h, err := r.readHeader()
					if err != nil {
						t.Fatalf("frame %d: readHeader: %v", i, err)
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
					grew = grew || len(r.buf) == largeReadBufferSize
				}
				if _, err := r.readHeader(); err != io.EOF {
					t.Errorf("after the last frame: %v, want io.EOF", err)
				}
				// Probe reads of a few bytes shift which reads the
				// cycled chunk sizes meet: only the waiting reader
				// meets them as the test means.
				if waiting && tt.grow != 0 && grew != (tt.grow > 0) {
					t.Errorf("large buffer used: %v, want %v", grew, tt.grow > 0)
				}
				// The stream ended with a short read: the buffer went
				// back to the pool before the read that found the end.
				if r.buf != nil {
					t.Errorf("a %d-byte buffer still held after the stream ended", len(r.buf))
				}
				if waiting && tt.readWindow == 0 && slices.Max(tt.frames) >= directReadMin && slices.Max(tt.chunks) >= 1<<20 && w.scattered == 0 {
					t.Error("no long payload was read together with the bytes behind it")
				}
				if waiting && (w.waits == 0 || w.held > 0) {
					t.Errorf("%d waits for the socket, %d of them holding a buffer; want some, none", w.waits, w.held)
				}
				r.release()
				if r.buf != nil {
					t.Errorf("after release: a %d-byte buffer", len(r.buf))
				}
			})
		}
	}
}

// waitingChunkReader is a chunkReader that can wait without a buffer, as a
// busyReader does: every other tryRead finds the socket empty, and it reads
// long payloads with the next frame's bytes (readv). It counts the waits,
// those of a reader (r) that held a buffer, and the bytes scattered.
type waitingChunkReader struct {
	*chunkReader
	r           *frameReader
	empty       bool
	waits, held int
	scattered   int // bytes readv put past p
}

func (w *waitingChunkReader) tryRead(p []byte, spin bool) (int, error) {
	if w.empty = !w.empty; w.empty && len(w.data) > 0 {
		return 0, errWouldBlock
	}
	return w.Read(p)
}

// readv reads one chunk into p and on into q, as a scatter read does.
func (w *waitingChunkReader) readv(p, q []byte, spin bool) (int, error) {
	if len(w.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p)+len(q), len(w.data), w.sizes[w.i%len(w.sizes)])
	w.i++
	k := copy(p, w.data[:n])
	copy(q, w.data[k:n])
	w.data = w.data[n:]
	w.scattered += max(0, n-len(p))
	return n, nil
}

func (w *waitingChunkReader) waitReadable() error {
	w.waits++
	if w.r.buf != nil {
		w.held++
	}
	return nil
}
