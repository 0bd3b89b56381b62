package deflate

import (
	"bytes"
	"errors"
	"io"
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
