package deflate

import (
	"bytes"
	"testing"
)

// TestParkKeepsTheStream compresses a stream with context takeover,
// parking the Compressor between messages: the messages still inflate in
// order with one Decompressor, a parked Compressor holds no writer and
// exactly its window, and a message repeated across a park still refers
// back to its first copy (the primed writer has the window). A Compressor
// that takes a writer from the pool afterwards starts from an empty window.
func TestParkKeepsTheStream(t *testing.T) {
	for _, level := range []int{1, 5, 9, HuffmanOnly, 0} {
		c := NewCompressor(level, 15, true)
		d := NewDecompressor(15, true)
		for i, m := range messages() {
			comp, err := c.Compress(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.Decompress(nil, comp, int64(len(m)))
			if err != nil || !bytes.Equal(got, m) {
				t.Fatalf("level %d, message %d (%d bytes): got %d bytes, %v", level, i, len(m), len(got), err)
			}
			if i%2 == 0 {
				if !c.Park() {
					t.Fatalf("level %d, message %d: Park let no writer go", level, i)
				}
				if c.fw != nil || len(c.hist) > 1<<15 || cap(c.hist) != len(c.hist) {
					t.Fatalf("parked: writer %v, history %d bytes (cap %d); want none, at most 32 KiB, exact", c.fw != nil, len(c.hist), cap(c.hist))
				}
				if c.Park() {
					t.Fatal("a parked Compressor parked again")
				}
			}
		}
		// The same 1000 bytes twice, parked between: the second copy is a
		// back-reference.
		msg := jsonText(1000, 77)
		first, _ := c.Compress(nil, msg)
		firstLen := len(first)
		c.Park()
		second, _ := c.Compress(nil, msg)
		for _, z := range [][]byte{first, second} {
			if got, err := d.Decompress(nil, z, 1000); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("level %d: the repeated message does not inflate: %v", level, err)
			}
		}
		if level != HuffmanOnly && level != 0 && len(second) > firstLen/4 {
			t.Errorf("level %d: repeated message after a park is %d bytes (first %d): the window was lost", level, len(second), firstLen)
		}
		// Many short messages fill more than the window: a park keeps
		// exactly the last 32 KiB of them.
		var stream []byte
		for i := range 40 {
			m := jsonText(1000, 100+i)
			stream = append(stream, m...)
			z, err := c.Compress(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := d.Decompress(nil, z, 1000); err != nil || !bytes.Equal(got, m) {
				t.Fatalf("level %d: short message %d does not inflate: %v", level, i, err)
			}
		}
		c.Park() // its writer, primed before, goes back to the pool
		if !bytes.Equal(c.hist, stream[len(stream)-1<<15:]) {
			t.Fatalf("level %d: parked history is %d bytes, not the last 32 KiB of the stream", level, len(c.hist))
		}
		c.Release()
		d.Release()

		// A fresh Compressor borrows that writer: its stream must inflate
		// with a fresh Decompressor.
		fresh := NewCompressor(level, 15, true)
		fd := NewDecompressor(15, true)
		z, err := fresh.Compress(nil, msg)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := fd.Decompress(nil, z, 1000); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("level %d: a fresh Compressor's message does not inflate alone: %v", level, err)
		}
		fresh.Release()
		fd.Release()
	}
}

// TestParkOnlyWithTakeover: without context takeover there is no window to
// keep (the writer goes back after every message), and with a window under
// 15 bits the writer cannot be primed, so it is kept.
func TestParkOnlyWithTakeover(t *testing.T) {
	for _, c := range []*Compressor{NewCompressor(1, 15, false), NewCompressor(1, 12, true)} {
		if _, err := c.Compress(nil, jsonText(2000, 1)); err != nil {
			t.Fatal(err)
		}
		if c.Park() || c.hist != nil {
			t.Errorf("takeover %v, window %d: Park let a writer go or kept a history", c.takeover, c.window)
		}
		c.Release()
	}
}
