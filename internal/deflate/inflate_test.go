package deflate

import (
	"bytes"
	stdflate "compress/flate"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"sync"
	"testing"

	kpflate "github.com/klauspost/compress/flate"
)

// testInflaters lets the tests reuse inflaters, so that tables left by one
// stream are in place when the next is decoded.
var testInflaters = sync.Pool{New: func() any { return new(fastInflater) }}

func fastInflate(dst, hist, src []byte, limit int64) ([]byte, error) {
	f := testInflaters.Get().(*fastInflater)
	defer testInflaters.Put(f)
	return f.inflate(dst, hist, src, limit)
}

// stdInflate is the reference: the standard library's reader.
func stdInflate(src, hist []byte) ([]byte, error) {
	return io.ReadAll(stdflate.NewReaderDict(bytes.NewReader(src), hist))
}

// checkInflate decodes src with hist in several ways and compares each with
// the standard library.
func checkInflate(t *testing.T, src, hist []byte) {
	t.Helper()
	want, wantErr := stdInflate(src, hist)
	got, err := fastInflate(nil, hist, src, -1)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("src %x, hist %d bytes: error %v, compress/flate: %v", trim(src), len(hist), err, wantErr)
	}
	if err != nil {
		if !errors.Is(err, ErrInvalidData) || got != nil {
			t.Fatalf("src %x: got %d bytes and error %v, want nil and ErrInvalidData", trim(src), len(got), err)
		}
		return
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("src %x, hist %d bytes: output differs from compress/flate (%d bytes, want %d)", trim(src), len(hist), len(got), len(want))
	}

	// After a prefix, in a buffer too small, which grows: the prefix stays.
	prefix := []byte("prefix")
	got, err = fastInflate(append(make([]byte, 0, len(prefix)+3), prefix...), hist, src, -1)
	if err != nil || !bytes.Equal(got[:len(prefix)], prefix) || !bytes.Equal(got[len(prefix):], want) {
		t.Fatalf("src %x: after a prefix: %q, %v", trim(src), trim(got), err)
	}
	// Into exactly the room needed, at exactly the limit: no growth.
	buf := make([]byte, len(prefix), len(prefix)+len(want))
	got, err = fastInflate(buf, hist, src, int64(len(want)))
	if err != nil || !bytes.Equal(got[len(prefix):], want) || &got[:cap(got)][0] != &buf[:cap(buf)][0] {
		t.Fatalf("src %x: into exact room: %d bytes, %v", trim(src), len(got), err)
	}
	// One byte over the limit.
	if len(want) > 0 {
		got, err = fastInflate(prefix, hist, src, int64(len(want)-1))
		if err != ErrTooLarge || string(got) != string(prefix) {
			t.Fatalf("src %x: limit %d: %d bytes, %v", trim(src), len(want)-1, len(got), err)
		}
	}
}

func trim(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// compressWith compresses the pieces of data with a flush between them and
// a final block at the end (or, for rfc7692, a flush and endOfMessage).
func compressWith(t testing.TB, klauspost bool, level int, dict []byte, rfc7692 bool, pieces ...[]byte) []byte {
	var buf bytes.Buffer
	var w interface {
		io.WriteCloser
		Flush() error
	}
	var err error
	if klauspost {
		w, err = kpflate.NewWriterDict(&buf, level, dict)
	} else {
		w, err = stdflate.NewWriterDict(&buf, level, dict)
	}
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pieces {
		if i > 0 {
			w.Flush()
		}
		w.Write(p)
	}
	if rfc7692 {
		w.Flush() // ends with 00 00 ff ff, which endOfMessage puts back
		return append(bytes.TrimSuffix(buf.Bytes(), tail[:]), endOfMessage[:]...)
	}
	w.Close()
	return buf.Bytes()
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 3))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// bitWriter writes hand-made DEFLATE streams.
type bitWriter struct {
	buf []byte
	acc uint64
	n   uint
}

// bits writes the n low bits of v, lowest first.
func (w *bitWriter) bits(v uint64, n uint) *bitWriter {
	w.acc |= v << w.n
	w.n += n
	for w.n >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
	return w
}

// code writes a Huffman code of n bits, highest bit first.
func (w *bitWriter) code(c uint16, n uint) *bitWriter {
	return w.bits(uint64(bits.Reverse16(c)>>(16-n)), n)
}

func (w *bitWriter) bytes() []byte {
	if w.n > 0 {
		return append(w.buf, byte(w.acc))
	}
	return w.buf
}

// fixedSym writes a literal/length symbol of the fixed code.
func (w *bitWriter) fixedSym(sym int) *bitWriter {
	switch {
	case sym < 144:
		return w.code(uint16(0x30+sym), 8)
	case sym < 256:
		return w.code(uint16(0x190+sym-144), 9)
	case sym < 280:
		return w.code(uint16(sym-256), 7)
	default:
		return w.code(uint16(0xc0+sym-280), 8)
	}
}

// fixedMatch writes a match in a fixed block: length symbol lsym with extra
// bits lextra, distance symbol dsym with extra bits dextra (numbers of extra
// bits as the RFC's tables give).
func (w *bitWriter) fixedMatch(lsym int, lextra uint64, dsym int, dextra uint64) *bitWriter {
	w.fixedSym(lsym)
	if lsym >= 265 && lsym < 285 {
		w.bits(lextra, uint(lsym-261)/4)
	}
	w.code(uint16(dsym), 5)
	if dsym >= 4 {
		w.bits(dextra, uint(dsym-2)/2)
	}
	return w
}

// canonical returns the canonical Huffman codes for lens.
func canonical(lens []uint8) []uint16 {
	var count, next [16]uint16
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	code := uint16(0)
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	codes := make([]uint16, len(lens))
	for s, l := range lens {
		if l != 0 {
			codes[s] = next[l]
			next[l]++
		}
	}
	return codes
}

// flatPre is a code length code for hand-made dynamic headers: lengths 0–12
// in 4 bits, 13–18 in 5.
var flatPre = func() (lens [19]uint8) {
	for s := range lens {
		lens[s] = 4
		if s >= 13 {
			lens[s] = 5
		}
	}
	return
}()

// dynamicHeader writes the header of a dynamic block (BFINAL set) with the
// given HLIT, HDIST fields and code length code lengths, then the code
// length symbols syms (pairs of symbol and extra bits).
func (w *bitWriter) dynamicHeader(hlit, hdist int, pre [19]uint8, syms ...int) *bitWriter {
	w.bits(1, 1).bits(2, 2).bits(uint64(hlit), 5).bits(uint64(hdist), 5).bits(15, 4)
	for _, s := range preOrder {
		w.bits(uint64(pre[s]), 3)
	}
	codes := canonical(pre[:])
	for i := 0; i < len(syms); i += 2 {
		s := syms[i]
		w.code(codes[s], uint(pre[s]))
		switch s {
		case 16:
			w.bits(uint64(syms[i+1]), 2)
		case 17:
			w.bits(uint64(syms[i+1]), 3)
		case 18:
			w.bits(uint64(syms[i+1]), 7)
		}
	}
	return w
}

// lensSyms turns code lengths into code length symbols, one per length.
func lensSyms(lens []uint8) []int {
	var syms []int
	for _, l := range lens {
		syms = append(syms, int(l), 0)
	}
	return syms
}

// deepBlock is a dynamic block whose literal/length code has one code of
// each length 1–14 and two of 15 (subtables several levels below the
// primary table's width), a degenerate distance code (one code, of length
// 1), and the symbols syms.
func deepBlock(syms ...int) []byte {
	lit := make([]uint8, 258)
	for i := range 14 {
		lit['A'+i] = uint8(i + 1)
	}
	lit[256], lit[257] = 15, 15
	dist := []uint8{1}
	w := new(bitWriter).dynamicHeader(len(lit)-257, len(dist)-1, flatPre, lensSyms(append(lit, dist...))...)
	codes := canonical(lit)
	for _, s := range syms {
		if s < 0 { // a distance code
			w.code(uint16(-s-1), 1)
			continue
		}
		w.code(codes[s], uint(lit[s]))
	}
	return w.bytes()
}

type inflateCase struct {
	name      string
	src, hist []byte
}

// inflateCases are the streams of the table test and the seeds of the fuzz
// target.
func inflateCases(t testing.TB) []inflateCase {
	var cases []inflateCase
	add := func(name string, src, hist []byte) {
		cases = append(cases, inflateCase{name, src, hist})
	}
	text, random := jsonText(6000, 3), randomBytes(3000, 1)
	dict := jsonText(5000, 40)
	for _, kp := range []bool{true, false} {
		for _, level := range []int{-2, 1, 5, 9} {
			for _, data := range [][]byte{text, random} {
				for _, d := range [][]byte{nil, dict} {
					name := fmt.Sprintf("klauspost=%v/level=%d/len=%d/dict=%d", kp, level, len(data), len(d))
					add(name, compressWith(t, kp, level, d, false, data[:1000], data[1000:1001], data[1001:]), d)
				}
			}
		}
		add(fmt.Sprintf("klauspost=%v/rfc7692", kp), compressWith(t, kp, 1, nil, true, text[:2000]), nil)
		add(fmt.Sprintf("klauspost=%v/rfc7692-dict", kp), compressWith(t, kp, 1, dict, true, dict[1000:3000]), dict)
		add(fmt.Sprintf("klauspost=%v/length258", kp), compressWith(t, kp, 9, nil, false, bytes.Repeat([]byte("abcdefghij"), 400)), nil)
		add(fmt.Sprintf("klauspost=%v/distance1", kp), compressWith(t, kp, 5, nil, false, bytes.Repeat([]byte{'x'}, 5000)), nil)
		add(fmt.Sprintf("klauspost=%v/short-period", kp), compressWith(t, kp, 5, nil, false, bytes.Repeat([]byte("0123456"), 700)), nil)
		add(fmt.Sprintf("klauspost=%v/stored", kp), compressWith(t, kp, 0, nil, false, random[:100], random[:2000]), nil)
	}
	add("empty", compressWith(t, true, 1, nil, false), nil)
	add("empty-rfc7692", append([]byte{0x00}, endOfMessage[:]...), nil)

	fixed := func() *bitWriter { return new(bitWriter).bits(1, 1).bits(1, 2) }
	add("fixed/literals", fixed().fixedSym('h').fixedSym('i').fixedSym(0xff).fixedSym(256).bytes(), nil)
	add("fixed/length258", fixed().fixedSym('z').fixedMatch(285, 0, 0, 0).fixedSym(256).bytes(), nil)
	add("fixed/length258-as-284", fixed().fixedSym('z').fixedMatch(284, 31, 0, 0).fixedSym(256).bytes(), nil)
	add("fixed/distance1-run", fixed().fixedSym('a').fixedMatch(285, 0, 0, 0).fixedMatch(285, 0, 0, 0).fixedMatch(257, 0, 0, 0).fixedSym(256).bytes(), nil)
	hist := jsonText(32<<10, 7)
	add("fixed/into-hist-32768", fixed().fixedMatch(285, 0, 29, 8191).fixedMatch(270, 3, 5, 1).fixedSym(256).bytes(), hist)
	add("fixed/through-hist", fixed().fixedMatch(285, 0, 4, 0).fixedMatch(285, 0, 12, 10).fixedMatch(285, 0, 18, 5).fixedSym(256).bytes(), hist[:5])
	add("fixed/trailing-bytes", append(fixed().fixedSym('a').fixedSym(256).bytes(), 1, 2, 3), nil)
	add("stored+fixed", append([]byte{0x00, 0x03, 0x00, 0xfc, 0xff, 'a', 'b', 'c'}, fixed().fixedMatch(258, 0, 2, 0).fixedSym(256).bytes()...), nil)
	add("stored/empty-final", []byte{0x01, 0x00, 0x00, 0xff, 0xff}, nil)
	add("dynamic/deep", deepBlock('A', 'N', 'M', 257, -1, 'B', 256), nil)

	// Invalid data.
	add("bad/empty", nil, nil)
	add("bad/reserved-type", []byte{0x07}, nil)
	add("bad/stored-nlen", []byte{0x01, 0x05, 0x00, 0x00, 0x00}, nil)
	add("bad/stored-truncated", []byte{0x01, 0x05, 0x00, 0xfa, 0xff, 'a'}, nil)
	add("bad/stored-short-header", []byte{0x01, 0x05, 0x00}, nil)
	add("bad/no-final-block", []byte{0x00, 0x00, 0x00, 0xff, 0xff}, nil)
	add("bad/fixed-symbol-286", fixed().fixedSym('a').fixedSym(286).fixedSym(256).bytes(), nil)
	add("bad/fixed-symbol-287", fixed().fixedSym('a').fixedSym(287).fixedSym(256).bytes(), nil)
	add("bad/fixed-distance-30", fixed().fixedSym('a').fixedMatch(257, 0, 30, 0).fixedSym(256).bytes(), nil)
	add("bad/fixed-distance-31", fixed().fixedSym('a').fixedMatch(257, 0, 31, 0).fixedSym(256).bytes(), nil)
	add("bad/distance-before-start", fixed().fixedSym('a').fixedMatch(257, 0, 1, 0).fixedSym(256).bytes(), nil)
	add("bad/distance-before-hist", fixed().fixedSym('a').fixedMatch(257, 0, 6, 0).fixedSym(256).bytes(), []byte("1234"))
	add("bad/fixed-truncated", fixed().fixedSym('a').fixedMatch(285, 0, 0, 0).bytes(), nil)
	add("bad/fixed-no-end", fixed().fixedSym('a').fixedSym('b').bytes(), nil)
	// A dynamic block with HLIT, HDIST fields hlit, hdist and the given
	// literal/length code lengths, then a single distance code.
	dyn := func(hlit, hdist int, lens map[int]uint8) []byte {
		lit := make([]uint8, 257+hlit)
		for s, l := range lens {
			lit[s] = l
		}
		return new(bitWriter).dynamicHeader(hlit, hdist, flatPre, lensSyms(append(lit, 1))...).bytes()
	}
	ok := map[int]uint8{'a': 1, 256: 1}
	add("bad/hlit-287", dyn(30, 0, ok), nil)
	add("bad/hlit-288", dyn(31, 0, ok), nil)
	add("bad/hdist-31", dyn(0, 30, ok), nil)
	add("bad/hdist-32", dyn(0, 31, ok), nil)
	add("bad/repeat-first", new(bitWriter).dynamicHeader(0, 0, flatPre, 16, 0).bytes(), nil)
	add("bad/repeat-past-end", new(bitWriter).dynamicHeader(0, 0, flatPre, 18, 127, 18, 127, 18, 127).bytes(), nil)
	add("bad/oversubscribed", dyn(1, 0, map[int]uint8{'a': 1, 256: 1, 257: 1}), nil)
	add("bad/incomplete", dyn(0, 0, map[int]uint8{'a': 2, 256: 2}), nil)
	add("bad/no-end-code", dyn(0, 0, map[int]uint8{'a': 1, 'b': 1}), nil)
	var pre [19]uint8
	pre[1], pre[2] = 1, 2
	add("bad/pre-incomplete", new(bitWriter).dynamicHeader(0, 0, pre).bytes(), nil)
	pre[8] = 1
	add("bad/pre-oversubscribed", new(bitWriter).dynamicHeader(0, 0, pre).bytes(), nil)
	add("bad/unused-distance-code", deepBlock('A', 257, -2, 256), nil)
	return cases
}

func TestInflate(t *testing.T) {
	for _, c := range inflateCases(t) {
		t.Run(c.name, func(t *testing.T) {
			checkInflate(t, c.src, c.hist)
			_, err := fastInflate(nil, c.hist, c.src, -1)
			if bad := len(c.name) > 4 && c.name[:4] == "bad/"; bad != (err != nil) {
				t.Fatalf("error %v", err)
			}
			// Every prefix of the stream, and the stream with one bit
			// flipped, decode as compress/flate decodes them.
			if len(c.src) > 300 {
				return
			}
			for n := range c.src {
				checkInflate(t, c.src[:n], c.hist)
			}
			for i := range 8 * len(c.src) {
				mod := bytes.Clone(c.src)
				mod[i/8] ^= 1 << (i % 8)
				checkInflate(t, mod, c.hist)
			}
		})
	}
}

// TestInflateErrors checks the reasons given for some invalid data.
func TestInflateErrors(t *testing.T) {
	want := map[string]error{
		"bad/empty":                errUnexpectedEnd,
		"bad/reserved-type":        errBlockType,
		"bad/stored-nlen":          errStoredLength,
		"bad/hlit-287":             errTooManyCodes,
		"bad/hdist-32":             errTooManyCodes,
		"bad/repeat-first":         errRepeat,
		"bad/repeat-past-end":      errRepeat,
		"bad/oversubscribed":       errCodeLengths,
		"bad/incomplete":           errCodeLengths,
		"bad/no-end-code":          errNoEnd,
		"bad/fixed-symbol-286":     errBadSymbol,
		"bad/fixed-distance-31":    errBadSymbol,
		"bad/distance-before-hist": errDistance,
		"bad/fixed-truncated":      errUnexpectedEnd,
	}
	for _, c := range inflateCases(t) {
		if w, ok := want[c.name]; ok {
			if _, err := fastInflate(nil, c.hist, c.src, -1); err != w {
				t.Errorf("%s: error %v, want %v", c.name, err, w)
			}
		}
	}
}

// TestInflateLimit checks that the output stops at the limit and that dst
// never grows past it: the capacity returned does not exceed the prefix
// plus the limit, and what the call allocates is at most twice that (dst
// grows by doubling), with the allocator's rounding up to a size class or a
// page.
func TestInflateLimit(t *testing.T) {
	f := new(fastInflater)
	for _, msg := range [][]byte{jsonText(100000, 2), bytes.Repeat([]byte{'a'}, 300000), randomBytes(70000, 5)} {
		src := compressWith(t, true, 1, nil, true, msg)
		for _, limit := range []int{0, 1, 255, 1000, len(msg) / 2, len(msg) - 1, len(msg)} {
			for _, prefix := range [][]byte{nil, []byte("abc"), make([]byte, 3, 1000)} {
				before := totalAlloc()
				got, err := f.inflate(prefix, nil, src, int64(limit))
				allocated := totalAlloc() - before
				if limit == len(msg) {
					if err != nil || !bytes.Equal(got[len(prefix):], msg) {
						t.Fatalf("limit %d = output: %d bytes, %v", limit, len(got), err)
					}
				} else if err != ErrTooLarge || len(got) != len(prefix) {
					t.Fatalf("limit %d < %d: %d bytes, %v", limit, len(msg), len(got), err)
				}
				if c := cap(got); c > max(cap(prefix), len(prefix)+limit) {
					t.Fatalf("limit %d: dst grew to capacity %d", limit, c)
				}
				if bound := 2*uint64(len(prefix)+limit)*9/8 + 16<<10; allocated > bound {
					t.Fatalf("limit %d: allocated %d bytes, more than %d", limit, allocated, bound)
				}
			}
		}
	}
}

// TestInflateNoAlloc checks that decoding into a buffer with room for the
// output, or a reused one, allocates nothing.
func TestInflateNoAlloc(t *testing.T) {
	hist := jsonText(32<<10, 9)
	for _, msg := range [][]byte{jsonText(1000, 1), jsonText(70000, 2)} {
		c := NewCompressor(1, 15, true)
		c.Compress(nil, hist)
		comp, _ := c.Compress(nil, msg)
		src := append(comp, endOfMessage[:]...)
		f := new(fastInflater)
		dst := make([]byte, 0, len(msg))
		allocs := testing.AllocsPerRun(20, func() {
			out, err := f.inflate(dst, hist, src, int64(len(msg)))
			if err != nil || !bytes.Equal(out, msg) {
				t.Fatalf("%d bytes, %v", len(out), err)
			}
		})
		if allocs != 0 {
			t.Errorf("%d-byte message: %v allocations", len(msg), allocs)
		}
	}
}

// TestInflateTakeover decodes a connection's messages compressed with context
// takeover, each with the output of the ones before as its history.
func TestInflateTakeover(t *testing.T) {
	for _, level := range []int{1, 5, 9} {
		c := NewCompressor(level, 15, true)
		var hist []byte
		for i, msg := range messages() {
			comp, err := c.Compress(nil, msg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := fastInflate(nil, hist[max(0, len(hist)-32<<10):], append(comp, endOfMessage[:]...), -1)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("level %d, message %d: %d bytes, %v", level, i, len(got), err)
			}
			hist = append(hist, got...)
		}
		c.Release()
	}
}

// FuzzInflate decodes arbitrary data with arbitrary history and requires the
// result of compress/flate: the same output, or an error when it fails. No
// divergence is known. The decoder rejects a dynamic block without an
// end-of-block code at once, where compress/flate fails only at the end of
// the data, which such a block always runs into: the outcome is the same.
func FuzzInflate(f *testing.F) {
	for _, c := range inflateCases(f) {
		// A 32 KiB history makes every execution and minimization
		// slow; TestInflate decodes that case.
		if len(c.hist) <= 8<<10 {
			f.Add(c.src, c.hist)
		}
	}
	f.Fuzz(func(t *testing.T, src, hist []byte) {
		if len(hist) > 32<<10 {
			hist = hist[len(hist)-32<<10:]
		}
		checkInflate(t, src, hist)
	})
}

// BenchmarkInflate compares the decoder with klauspost's, as Decompress
// uses it (a reader reset over the message with the history as dictionary,
// and a probe to see the end when dst is full), on level 1 messages with the
// RFC 7692 tail, without and with a 32 KiB history the message refers to.
// Both decode into a reused buffer of the message's size.
func BenchmarkInflate(b *testing.B) {
	type eofReader struct{ bytes.Reader } // an empty io.ByteReader source
	for _, size := range []int{1 << 10, 64 << 10} {
		for _, takeover := range []bool{false, true} {
			msg := jsonText(size, 11)
			c := NewCompressor(1, 15, takeover)
			var hist []byte
			if takeover {
				hist = jsonText(32<<10, 5)
				c.Compress(nil, hist)
			}
			comp, _ := c.Compress(nil, msg)
			c.Release()
			src := append(comp, endOfMessage[:]...)
			dst := make([]byte, 0, size)
			name := fmt.Sprintf("%dKiB/hist=%dKiB", size>>10, len(hist)>>10)
			b.Run(name+"/fast", func(b *testing.B) {
				f := new(fastInflater)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					out, err := f.inflate(dst, hist, src, -1)
					if err != nil || len(out) != size {
						b.Fatal(len(out), err)
					}
				}
			})
			b.Run(name+"/klauspost", func(b *testing.B) {
				fr := kpflate.NewReader(new(eofReader))
				var br bytes.Reader
				var probe [512]byte
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					br.Reset(src)
					fr.(kpflate.Resetter).Reset(&br, hist)
					n := 0
					for {
						room := dst[n:cap(dst)]
						if len(room) == 0 {
							room = probe[:]
						}
						k, err := fr.Read(room)
						n += k
						if err == io.EOF {
							break
						}
						if err != nil || n > size {
							b.Fatal(n, err)
						}
					}
					if n != size {
						b.Fatal(n)
					}
				}
			})
		}
	}
}
