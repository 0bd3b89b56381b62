package deflate

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// jsonText returns n bytes of JSON-like text, the typical WebSocket payload.
func jsonText(n int, seed int) []byte {
	var b bytes.Buffer
	for i := seed; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"user":"user%d","event":"price_update","symbol":"SYM%d","bid":%d.%02d,"ask":%d.%02d},`,
			i, i%97, i%13, 100+i%50, i%100, 101+i%50, (i*7)%100)
	}
	return b.Bytes()[:n]
}

// messages returns a deterministic mix: empty, tiny, repetitive, random
// (incompressible) and large messages.
func messages() [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 70000)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	return [][]byte{
		{},
		[]byte("Hello"),
		[]byte("Hello"),
		jsonText(1000, 0),
		jsonText(1000, 0), // the same again: with takeover it refers back
		random[:300],
		jsonText(70000, 5), // crosses the 64 KiB block size
		bytes.Repeat([]byte{'a'}, 200000),
		random,
		jsonText(5000, 9),
	}
}

func TestRFC7692Examples(t *testing.T) {
	hello := []byte("Hello")
	tests := []struct {
		name     string
		takeover bool
		msgs     [][]byte // compressed payloads, decoded in order
		want     [][]byte
	}{
		{"7.2.3.1 one block", false, [][]byte{{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}}, [][]byte{hello}},
		{"7.2.3.2 shared window", true, [][]byte{{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, {0xf2, 0x00, 0x11, 0x00, 0x00}}, [][]byte{hello, hello}},
		{"7.2.3.2 no takeover", false, [][]byte{{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}}, [][]byte{hello, hello}},
		{"7.2.3.3 stored block", false, [][]byte{{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}}, [][]byte{hello}},
		{"7.2.3.4 BFINAL block", false, [][]byte{{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}}, [][]byte{hello}},
		{"7.2.3.5 two blocks", false, [][]byte{{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}}, [][]byte{hello}},
		{"7.2.3.6 empty", false, [][]byte{{0x00}}, [][]byte{{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecompressor(15, tt.takeover)
			defer d.Release()
			for i, m := range tt.msgs {
				got, err := d.Decompress(nil, m, 100)
				if err != nil || !bytes.Equal(got, tt.want[i]) {
					t.Fatalf("Decompress #%d = %q, %v; want %q", i, got, err, tt.want[i])
				}
			}
		})
	}
}

func TestCompressEmptyAndHello(t *testing.T) {
	c := NewCompressor(0, 15, false)
	defer c.Release()
	got, err := c.Compress(nil, nil)
	if err != nil || !bytes.Equal(got, []byte{0x00}) {
		t.Fatalf("Compress(empty) = %x, %v; want 00 (RFC 7692 §7.2.3.6)", got, err)
	}
	got, err = c.Compress(nil, []byte("Hello"))
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecompressor(15, false)
	defer d.Release()
	if out, err := d.Decompress(nil, got, -1); err != nil || string(out) != "Hello" {
		t.Fatalf("round trip of Hello (%x) = %q, %v", got, out, err)
	}
}

// roundTrip compresses msgs with one Compressor and inflates them with one
// Decompressor; with stream the messages are compressed piece by piece, as
// NextWriter does.
func roundTrip(t *testing.T, level, bits int, takeover bool, stream bool) {
	t.Helper()
	c := NewCompressor(level, bits, takeover)
	defer c.Release()
	d := NewDecompressor(bits, takeover)
	defer d.Release()
	var total int
	for i, m := range messages() {
		var comp []byte
		var err error
		if stream {
			// As NextWriter would: pieces of 777 bytes, a mid-message
			// Flush-free stream, then Finish.
			for p := m; len(p) > 0; {
				n := min(len(p), 777)
				if comp, err = c.AppendPart(comp, p[:n]); err != nil {
					t.Fatal(err)
				}
				p = p[n:]
			}
			comp, err = c.Finish(comp)
		} else {
			comp, err = c.Compress(nil, m)
		}
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		total += len(comp)
		got, err := d.Decompress(nil, comp, int64(len(m)))
		if err != nil || !bytes.Equal(got, m) {
			t.Fatalf("message %d (%d bytes, %d compressed): got %d bytes, %v", i, len(m), len(comp), len(got), err)
		}
	}
	if takeover != (c.fw != nil) {
		t.Errorf("after the messages the compressor holds a writer: %v, want %v", c.fw != nil, takeover)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, level := range []int{0, -2, 1, 5, 9} {
		for _, bits := range []int{8, 9, 12, 15} {
			for _, takeover := range []bool{true, false} {
				for _, stream := range []bool{false, true} {
					name := fmt.Sprintf("level=%d/bits=%d/takeover=%v/stream=%v", level, bits, takeover, stream)
					t.Run(name, func(t *testing.T) { roundTrip(t, level, bits, takeover, stream) })
				}
			}
		}
	}
}

// Takeover must make repeated messages smaller: the second identical
// message is mostly one back-reference.
func TestTakeoverShrinks(t *testing.T) {
	msg := jsonText(2000, 3)
	for _, takeover := range []bool{true, false} {
		c := NewCompressor(1, 15, takeover)
		first, _ := c.Compress(nil, msg)
		second, _ := c.Compress(nil, msg)
		c.Release()
		if takeover && len(second) > 64 {
			t.Errorf("with takeover the repeat compressed to %d bytes, want ≤ 64", len(second))
		}
		if !takeover && len(second) != len(first) {
			t.Errorf("without takeover the repeat compressed to %d bytes, first %d", len(second), len(first))
		}
	}
}

// A flush in the middle of a message leaves 00 00 ff ff inside the payload;
// Finish right after must still produce a valid end (a lone 0x00 byte).
func TestFinishAfterFlushBoundary(t *testing.T) {
	c := NewCompressor(1, 15, true)
	defer c.Release()
	d := NewDecompressor(15, true)
	defer d.Release()
	for range 3 {
		comp, _ := c.AppendPart(nil, jsonText(100000, 0)) // emits a block
		comp, err := c.Finish(comp)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.Decompress(nil, comp, -1)
		if err != nil || !bytes.Equal(got, jsonText(100000, 0)) {
			t.Fatalf("got %d bytes, %v", len(got), err)
		}
	}
}

func TestDecompressErrors(t *testing.T) {
	d := NewDecompressor(15, true)
	defer d.Release()
	for _, bad := range [][]byte{
		{0xff, 0xff, 0xff},             // reserved block type 11
		{0x00, 0x05, 0x00, 0x00, 0x00}, // stored LEN/NLEN mismatch
		{0xf2, 0x48, 0xcd},             // truncated in the middle of a block
		{0x02, 0x02, 0x00},             // fixed block: length 3 at distance 1 before any output
	} {
		if _, err := d.Decompress(nil, bad, -1); !errors.Is(err, ErrInvalidData) {
			t.Errorf("Decompress(%x) error = %v, want ErrInvalidData", bad, err)
		}
	}
}

// Bytes after a BFINAL block are ignored (§7.2.3.4 allows such blocks; the
// Conn has read the whole message already).
func TestBytesAfterFinalBlock(t *testing.T) {
	d := NewDecompressor(15, false)
	defer d.Release()
	got, err := d.Decompress(nil, []byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 1, 2, 3, 4, 5}, -1)
	if err != nil || string(got) != "Hello" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestLimitExact(t *testing.T) {
	msg := jsonText(10000, 0)
	c := NewCompressor(1, 15, false)
	comp, _ := c.Compress(nil, msg)
	d := NewDecompressor(15, false)
	if got, err := d.Decompress(nil, comp, int64(len(msg))); err != nil || len(got) != len(msg) {
		t.Fatalf("at the limit: %d bytes, %v", len(got), err)
	}
	if got, err := d.Decompress([]byte("keep"), comp, int64(len(msg)-1)); err != ErrTooLarge || string(got) != "keep" {
		t.Fatalf("one over the limit: %q, %v", got, err)
	}
	if got, err := d.Decompress(nil, comp, 0); err != ErrTooLarge || len(got) != 0 {
		t.Fatalf("limit 0: %d bytes, %v", len(got), err)
	}
}

// Connections share the pools: parallel round trips must not mix state.
func TestParallelConnections(t *testing.T) {
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			roundTrip(t, 1, 15, i%2 == 0, i >= 2)
		})
	}
}

// TestTakeoverManyMessages runs hundreds of short and a few long messages
// through one context: the history moves back to the start of its buffer
// many times, and the compressor refers back up to a whole window (phrases
// repeat across messages), so a history that lost or misplaced a byte shows
// up as a wrong message.
func TestTakeoverManyMessages(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	phrases := make([][]byte, 64)
	for i := range phrases {
		phrases[i] = make([]byte, 8+r.IntN(56))
		for j := range phrases[i] {
			phrases[i][j] = byte('a' + r.IntN(26))
		}
	}
	var msgs [][]byte
	for i := range 600 {
		n := 1 + r.IntN(3000)
		if i%97 == 0 {
			n = 40000 + r.IntN(40000) // longer than the window
		}
		var m []byte
		for len(m) < n {
			m = append(m, phrases[r.IntN(len(phrases))]...)
		}
		msgs = append(msgs, m[:n])
	}
	for _, bits := range []int{9, 15} {
		t.Run(fmt.Sprintf("bits=%d", bits), func(t *testing.T) {
			c := NewCompressor(9, bits, true)
			defer c.Release()
			d := NewDecompressor(bits, true)
			defer d.Release()
			for i, m := range msgs {
				comp, err := c.Compress(nil, m)
				if err != nil {
					t.Fatal(err)
				}
				got, err := d.Decompress(nil, comp, -1)
				if err != nil || !bytes.Equal(got, m) {
					t.Fatalf("message %d (%d bytes): got %d bytes, %v", i, len(m), len(got), err)
				}
			}
		})
	}
}

// TestArgumentsClamped: NewCompressor and NewDecompressor take 0 (and -1
// for the level) as the default and clamp what is out of range.
func TestArgumentsClamped(t *testing.T) {
	for _, tt := range []struct{ in, want int }{
		{0, DefaultLevel}, {-1, DefaultLevel}, {HuffmanOnly, HuffmanOnly}, {HuffmanOnly - 1, DefaultLevel},
		{1, 1}, {5, 5}, {BestLevel, BestLevel}, {BestLevel + 1, DefaultLevel},
	} {
		if c := NewCompressor(tt.in, 15, false); c.level != tt.want {
			t.Errorf("NewCompressor level %d: %d, want %d", tt.in, c.level, tt.want)
		}
	}
	for _, tt := range []struct{ in, want int }{
		{0, MaxWindowBits}, {MaxWindowBits + 1, MaxWindowBits}, {MaxWindowBits, MaxWindowBits},
		{MinWindowBits, MinWindowBits}, {MinWindowBits - 1, MinWindowBits}, {-3, MinWindowBits}, {12, 12},
	} {
		if c := NewCompressor(1, tt.in, false); c.window != tt.want {
			t.Errorf("NewCompressor window bits %d: %d, want %d", tt.in, c.window, tt.want)
		}
		if d := NewDecompressor(tt.in, false); d.size != 1<<tt.want {
			t.Errorf("NewDecompressor window bits %d: %d bytes, want %d", tt.in, d.size, 1<<tt.want)
		}
	}
}

// TestDecompressLeavesSpareCapacity: Decompress never writes past msg's
// length (a message read out of a larger buffer has the next one there);
// DecompressSpare inflates the same where the spare capacity takes the
// tail, and copies where it does not.
func TestDecompressLeavesSpareCapacity(t *testing.T) {
	c := NewCompressor(1, MaxWindowBits, false)
	defer c.Release()
	want := bytes.Repeat([]byte("spare capacity "), 100)
	comp, err := c.Compress(nil, want)
	if err != nil {
		t.Fatal(err)
	}
	next := bytes.Repeat([]byte{0xAB}, 64)
	buf := append(bytes.Clone(comp), next...)
	msg := buf[:len(comp)]
	d := NewDecompressor(MaxWindowBits, false)
	defer d.Release()
	if got, err := d.Decompress(nil, msg, -1); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Decompress = %d bytes, %v", len(got), err)
	}
	if !bytes.Equal(buf[len(comp):], next) {
		t.Fatal("Decompress wrote into msg's spare capacity")
	}
	for _, room := range []int{0, TailRoom - 1, TailRoom} {
		m := append(make([]byte, 0, len(comp)+room), comp...)
		if got, err := d.DecompressSpare(nil, m, -1); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("DecompressSpare with %d spare bytes = %d bytes, %v", room, len(got), err)
		}
	}
}
