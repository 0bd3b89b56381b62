package deflate

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
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

// FuzzDecompress feeds arbitrary payloads to both decoding paths, which must
// agree, stay within the limit and never panic.
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
		d1 := NewDecompressor(15, takeover)
		defer d1.Release()
		d2 := NewDecompressor(15, takeover)
		defer d2.Release()
		// Twice, so that takeover history is exercised.
		for range 2 {
			got1, err1 := d1.Decompress(nil, msg, limit)
			got2, err2 := io.ReadAll(d2.Reader(iotest.HalfReader(bytes.NewReader(msg)), limit))
			if len(got1) > limit || len(got2) > limit {
				t.Fatalf("output over the limit: %d, %d", len(got1), len(got2))
			}
			if (err1 == nil) != (err2 == nil) || errors.Is(err1, ErrTooLarge) != errors.Is(err2, ErrTooLarge) {
				t.Fatalf("Decompress error %v, Reader error %v", err1, err2)
			}
			if err1 != nil {
				return
			}
			if !bytes.Equal(got1, got2) {
				t.Fatalf("Decompress and Reader disagree: %d vs %d bytes", len(got1), len(got2))
			}
		}
	})
}

// FuzzRoundTrip compresses arbitrary messages at any window and level.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("Hello"), []byte("Hello"), uint8(15), int8(1), true)
	f.Add(jsonText(2000, 0), jsonText(2000, 1), uint8(8), int8(9), false)
	f.Fuzz(func(t *testing.T, a, b []byte, bits uint8, level int8, takeover bool) {
		w := int(bits%8) + MinWindowBits
		c := NewCompressor(int(level)%12-2, w, takeover)
		defer c.Release()
		d := NewDecompressor(w, takeover)
		defer d.Release()
		for _, m := range [][]byte{a, b, a} {
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
