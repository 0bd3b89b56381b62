//go:build !race

// Under the race detector sync.Pool drops items at random, so a reader
// taken from the pool may be a fresh allocation.

package websocket

import "testing"

// TestFrameReaderNoAllocs checks that a stream that keeps growing and
// shrinking the buffer allocates nothing once the pool holds a reader.
func TestFrameReaderNoAllocs(t *testing.T) {
	wire, _ := testStream([]int{16, 1000}, 400)
	payload := make([]byte, 1000)
	src := &chunkReader{}
	sizes := []int{1 << 30, 1 << 30, 10, 10, 10}
	r := frameReader{src: src}
	run := func() {
		src.data, src.sizes, src.i = wire, sizes, 0
		for {
			h, err := r.readHeader()
			if err != nil {
				return
			}
			if _, err := r.readFullPayload(payload[:h.length]); err != nil {
				t.Fatal(err)
			}
		}
	}
	run()
	if a := testing.AllocsPerRun(20, run); a != 0 {
		t.Errorf("%v allocations per stream", a)
	}
}
