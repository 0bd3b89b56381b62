package deflate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	kpflate "github.com/klauspost/compress/flate"
)

func FuzzAccept(f *testing.F) {
	for _, s := range []string{
		"", "permessage-deflate", "permessage-deflate; client_max_window_bits=8",
		"permessage-deflate; server_max_window_bits=10; server_no_context_takeover",
		`permessage-deflate; server_max_window_bits="12"; client_no_context_takeover`,
		"permessage-deflate, permessage-deflate", "foo; bar=baz", "permessage-deflate; x=\"\\\"\"",
	} {
		f.Add(s, 0, 0)
		f.Add(s, 10, 9)
	}
	f.Fuzz(func(t *testing.T, header string, clientBits, serverBits int) {
		o := Options{ClientMaxWindowBits: clientBits, ServerMaxWindowBits: serverBits}
		if o.Validate() != nil {
			return
		}
		p, ok, err := Accept(o, strings.Split(header, "\n"))
		if err != nil {
			if ok || !strings.HasPrefix(err.Error(), "websocket: ") {
				t.Fatalf("error %q with ok=%v", err, ok)
			}
			return
		}
		if !ok {
			return
		}
		for _, b := range []int{p.ClientMaxWindowBits, p.ServerMaxWindowBits} {
			if b < MinWindowBits || b > MaxWindowBits {
				t.Fatalf("accepted %+v with a window outside 8–15", p)
			}
		}
		// Our compressor never exceeds what we offered. (A server that
		// ignores server_max_window_bits is taken to use 15.)
		if clientBits != 0 && p.ClientMaxWindowBits > clientBits {
			t.Fatalf("accepted %+v, larger than offered %+v", p, o)
		}
	})
}

// FuzzDecompress feeds arbitrary payloads to Decompress, which must agree
// with klauspost's inflater, stay within the limit and never panic. (Both
// fail on invalid data, but which error comes first when data is both
// invalid and over the limit may differ: the decoder rejects a block without
// an end-of-block code when it reads the block's tables.)
func FuzzDecompress(f *testing.F) {
	c := NewCompressor(1, 15, false)
	seed, _ := c.Compress(nil, jsonText(3000, 1))
	for _, s := range [][]byte{
		{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00},
		{0xf2, 0x00, 0x11, 0x00, 0x00},
		{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00},
		{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00},
		{0x00}, {}, {0xff}, seed,
	} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, msg []byte, takeover bool) {
		const limit = 1 << 20
		d := NewDecompressor(15, takeover)
		defer d.Release()
		// The oracle: klauspost's reader over the message and the RFC 7692
		// tail, with the window of the earlier output as its dictionary.
		var hist []byte
		// Twice, so that takeover history is exercised.
		for range 2 {
			got, err := d.Decompress(nil, msg, limit)
			fr := kpflate.NewReaderDict(io.MultiReader(bytes.NewReader(msg), bytes.NewReader(endOfMessage[:])), hist)
			want, werr := io.ReadAll(io.LimitReader(fr, limit+1))
			if werr == nil && len(want) > limit {
				werr = ErrTooLarge
			}
			if len(got) > limit {
				t.Fatalf("output over the limit: %d", len(got))
			}
			if err != nil && err != ErrTooLarge && !errors.Is(err, ErrInvalidData) {
				t.Fatalf("Decompress error %v is neither ErrTooLarge nor ErrInvalidData", err)
			}
			if (err == nil) != (werr == nil) {
				t.Fatalf("Decompress error %v, klauspost's reader error %v", err, werr)
			}
			if err != nil {
				return
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Decompress and klauspost's reader disagree: %d vs %d bytes", len(got), len(want))
			}
			if takeover {
				hist = append(hist, got...)
				hist = hist[max(0, len(hist)-32<<10):]
			}
		}
	})
}

// FuzzRoundTrip compresses arbitrary messages at any window and level, and
// a large message made of them, which splits (split.go) at the full window.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("Hello"), []byte("Hello"), uint8(15), int8(1), true)
	f.Add(jsonText(2000, 0), jsonText(2000, 1), uint8(8), int8(9), false)
	f.Add(jsonText(3000, 2), []byte{0, 1, 2, 255}, uint8(7), int8(3), true)
	alwaysSplit = true
	defer func() { alwaysSplit = false }()
	f.Fuzz(func(t *testing.T, a, b []byte, bits uint8, level int8, takeover bool) {
		w := int(bits%8) + MinWindowBits
		c := NewCompressor(int(level)%12-2, w, takeover)
		defer c.Release()
		d := NewDecompressor(w, takeover)
		defer d.Release()
		ab := append(append([]byte(nil), a...), b...)
		big := bytes.Repeat(ab, min(splitMin/max(len(ab), 1)+1, 2*splitMin))
		for _, m := range [][]byte{a, b, big, a, big} {
			comp, err := c.Compress(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.Decompress(nil, comp, int64(len(m)))
			if err != nil || !bytes.Equal(got, m) {
				t.Fatalf("round trip: %d bytes, %v; want %d", len(got), err, len(m))
			}
		}
	})
}

// flushedParts compresses pieces as a streaming sender does with a message
// it sends in fragments: a sync flush after each piece, and the last
// flush's tail removed (RFC 7692 §7.2.1). It returns each piece's bytes.
func flushedParts(t testing.TB, hist []byte, pieces ...[]byte) [][]byte {
	var buf bytes.Buffer
	w, err := kpflate.NewWriterDict(&buf, 1, hist)
	if err != nil {
		t.Fatal(err)
	}
	var parts [][]byte
	for _, p := range pieces {
		w.Write(p)
		w.Flush()
		parts = append(parts, bytes.Clone(buf.Bytes()))
		buf.Reset()
	}
	last := parts[len(parts)-1]
	parts[len(parts)-1] = bytes.TrimSuffix(last, syncFlush[:])
	return parts
}

// decompressParts inflates a message given in fragments as the Conn does:
// DecompressPart at the end of each fragment but the last, with the bytes
// it could not inflate carried on, and Decompress with the rest. It
// returns the output and how many fragments DecompressPart inflated.
func decompressParts(d *Decompressor, frags [][]byte, limit int64) ([]byte, int, error) {
	var out, pending []byte
	n := 0
	for i, f := range frags {
		pending = append(pending, f...)
		if i == len(frags)-1 {
			break
		}
		left := limit
		if limit >= 0 {
			left -= int64(len(out))
		}
		var ok bool
		if out, ok = d.DecompressPart(out, pending, left); ok {
			pending, n = pending[:0], n+1
		}
	}
	left := limit
	if limit >= 0 {
		left -= int64(len(out))
	}
	out, err := d.Decompress(out, pending, left)
	return out, n, err
}

func TestDecompressPart(t *testing.T) {
	a, b, c := jsonText(3000, 1), jsonText(500, 2), jsonText(70000, 3)
	for _, takeover := range []bool{true, false} {
		t.Run(fmt.Sprint("takeover=", takeover), func(t *testing.T) {
			d := NewDecompressor(15, takeover)
			defer d.Release()
			var hist []byte
			for round := range 3 {
				parts := flushedParts(t, hist, a, b, c, b)
				got, n, err := decompressParts(d, parts, -1)
				want := slices.Concat(a, b, c, b)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("round %d: %d bytes, %v; want %d", round, len(got), err, len(want))
				}
				if n != 3 {
					t.Errorf("round %d: %d fragments inflated on arrival, want 3 (each ends with a sync flush)", round, n)
				}
				if takeover {
					hist = want[len(want)-32<<10:]
				}
			}
		})
	}
	t.Run("cut within a block", func(t *testing.T) {
		d := NewDecompressor(15, true)
		defer d.Release()
		whole := slices.Concat(flushedParts(t, nil, a)...)
		dst := []byte("kept")
		for _, cut := range []int{1, len(whole) / 2, len(whole) - 1} {
			if out, ok := d.DecompressPart(dst, whole[:cut], -1); ok || string(out) != "kept" {
				t.Fatalf("cut at %d of %d: ok %v, dst %q", cut, len(whole), ok, out)
			}
		}
		if got, err := d.Decompress(nil, whole, -1); err != nil || !bytes.Equal(got, a) {
			t.Fatalf("after refused parts: %d bytes, %v", len(got), err)
		}
	})
	t.Run("a sync flush's bytes within a block", func(t *testing.T) {
		d := NewDecompressor(15, false)
		defer d.Release()
		// A stored block of 6 bytes whose first 5 are those a sync flush
		// ends with: cut after them, the part ends like a flush, within
		// the block.
		block := []byte{0x00, 0x06, 0x00, 0xf9, 0xff, 'x', 0x00, 0x00, 0xff, 0xff, 'y'}
		if out, ok := d.DecompressPart(nil, block[:len(block)-1], -1); ok || len(out) != 0 {
			t.Fatalf("a part cut within a stored block: ok %v, %q", ok, out)
		}
		// The message: the block, then a sync flush without its last four
		// bytes (a header byte of its own after a byte-aligned block).
		if got, err := d.Decompress(nil, append(block, 0x00), -1); err != nil || string(got) != "x\x00\x00\xff\xffy" {
			t.Fatalf("the whole: %q, %v", got, err)
		}
	})
	t.Run("a final block is no prefix", func(t *testing.T) {
		d := NewDecompressor(15, false)
		defer d.Release()
		// "Hello" in a fixed block, then an empty final stored block, which
		// ends with the same four bytes as a sync flush.
		final := []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x01, 0x00, 0x00, 0xff, 0xff}
		if _, ok := d.DecompressPart(nil, final, -1); ok {
			t.Fatal("a part ending with a final block was inflated as a prefix")
		}
	})
	t.Run("limit", func(t *testing.T) {
		d := NewDecompressor(15, true)
		defer d.Release()
		parts := flushedParts(t, nil, a, b)
		if _, ok := d.DecompressPart(nil, parts[0], int64(len(a)-1)); ok {
			t.Fatal("a part over the limit was inflated")
		}
		if _, _, err := decompressParts(d, parts, int64(len(a)+len(b)-1)); err != ErrTooLarge {
			t.Fatalf("err %v, want ErrTooLarge", err)
		}
	})
}

// TestDecompressPartsGrowByMessage: a message inflated in many parts grows
// its buffer by doubling the whole message, not each part's share: 64
// flushed parts of 64 KiB (4 MiB of output from a few KiB of input)
// allocate a few times the message, where doubling each part's share
// copied the message at every part (256 times its size).
func TestDecompressPartsGrowByMessage(t *testing.T) {
	const parts, size = 64, 64 << 10
	pieces := make([][]byte, parts)
	for i := range pieces {
		pieces[i] = bytes.Repeat([]byte{'a'}, size)
	}
	frags := flushedParts(t, nil, pieces...)
	d := NewDecompressor(15, true)
	defer d.Release()
	for _, limit := range []int64{-1, 64 << 20} {
		before := totalAlloc()
		out, n, err := decompressParts(d, frags, limit)
		allocated := totalAlloc() - before
		if err != nil || len(out) != parts*size || n != parts-1 {
			t.Fatalf("limit %d: %d bytes in %d parts, %v", limit, len(out), n, err)
		}
		// decompressParts's own copy of the input is small; the output
		// buffers add up to about twice the message.
		if ratio := float64(allocated) / float64(len(out)); ratio > 4 {
			t.Errorf("limit %d: allocated %.1f times the message's %d bytes, want at most 4", limit, ratio, len(out))
		}
	}
	// Over a limit of 1 MiB, a bomb of flushed parts: refused, having
	// allocated a few times the limit, not the message.
	const limit = 1 << 20
	before := totalAlloc()
	_, _, err := decompressParts(d, frags, limit)
	allocated := totalAlloc() - before
	if err != ErrTooLarge {
		t.Fatalf("over the limit: %v, want ErrTooLarge", err)
	}
	if ratio := float64(allocated) / limit; ratio > 6 {
		t.Errorf("over the limit: allocated %.1f times the limit", ratio)
	}
}

// FuzzDecompressParts cuts arbitrary payloads into fragments and checks
// that inflating them as they arrive (DecompressPart) gives what
// inflating the whole message gives, output and failure alike, over two
// messages (history carried with takeover, and within a message without).
func FuzzDecompressParts(f *testing.F) {
	parts := flushedParts(f, nil, jsonText(300, 1), []byte("hé"), jsonText(2000, 2))
	whole := slices.Concat(parts...)
	f.Add(whole, uint16(len(parts[0])), uint16(len(parts[1])), true)
	f.Add(whole, uint16(len(parts[0])), uint16(len(parts[1])), false)
	f.Add(whole, uint16(7), uint16(100), true)
	f.Add([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0x00}, uint16(12), uint16(0), false)
	f.Add([]byte{0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0xff, 0xff}, uint16(4), uint16(0), true)
	f.Fuzz(func(t *testing.T, msg []byte, cut1, cut2 uint16, takeover bool) {
		const limit = 1 << 20
		i := min(int(cut1), len(msg))
		j := min(i+int(cut2), len(msg))
		frags := [][]byte{msg[:i], msg[i:j], msg[j:]}
		dw, dp := NewDecompressor(15, takeover), NewDecompressor(15, takeover)
		defer dw.Release()
		defer dp.Release()
		for range 2 {
			want, werr := dw.Decompress(nil, msg, limit)
			got, _, err := decompressParts(dp, frags, limit)
			if (err == nil) != (werr == nil) {
				t.Fatalf("in parts: %v; whole: %v", err, werr)
			}
			if err != nil {
				return
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("in parts %d bytes, whole %d: they differ", len(got), len(want))
			}
		}
	})
}
