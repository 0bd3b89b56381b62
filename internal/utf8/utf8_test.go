package utf8

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// validPrefix reports whether p (1..4 bytes) is the start of, or is, one
// well-formed character. Table 3-7 constrains only the second byte beyond
// 80..BF, so trying each continuation byte c as filler for every missing byte
// is exhaustive.
func validPrefix(p []byte) bool {
	var buf [4]byte
	copy(buf[:], p)
	for c := byte(0x80); c <= 0xBF; c++ {
		for i := len(p); i < 4; i++ {
			buf[i] = c
		}
		r, size := utf8.DecodeRune(buf[:])
		if (r != utf8.RuneError || size > 1) && size >= len(p) {
			return true
		}
	}
	return false
}

// oracle is the fail-fast specification built on unicode/utf8: the index of
// the first byte after which p can no longer be a prefix of valid UTF-8 (or
// -1), and whether p ends on a character boundary.
func oracle(p []byte) (bad int, done bool) {
	for i := 0; i < len(p); {
		if utf8.FullRune(p[i:]) {
			if r, size := utf8.DecodeRune(p[i:]); r != utf8.RuneError || size > 1 {
				i += size
				continue
			}
		}
		for j := 1; i+j <= len(p); j++ {
			if !validPrefix(p[i : i+j]) {
				return i + j - 1, false
			}
		}
		return -1, false // a character cut at the end of p
	}
	return -1, true
}

// checkPieces feeds p to a Validator split at the given cut points and
// checks every result against the oracle and unicode/utf8.Valid.
func checkPieces(t *testing.T, p []byte, cuts ...int) {
	t.Helper()
	bad, done := oracle(p)
	if got := utf8.Valid(p); got != (bad < 0 && done) {
		t.Fatalf("oracle disagrees with unicode/utf8.Valid(%x) = %v", p, got)
	}
	var v Validator
	start := 0
	for k := 0; k <= len(cuts); k++ {
		end := len(p)
		if k < len(cuts) {
			end = cuts[k]
		}
		want := -1
		switch {
		case bad >= 0 && bad < start:
			want = 0 // already invalid
		case bad >= start && bad < end:
			want = bad - start
		}
		if got := v.Check(p[start:end]); got != want {
			t.Fatalf("%x split at %v: Check(piece %d = %x) = %d, want %d", p, cuts, k, p[start:end], got, want)
		}
		start = end
	}
	if got := v.Done(); got != (bad < 0 && done) {
		t.Fatalf("%x split at %v: Done() = %v, want %v", p, cuts, got, bad < 0 && done)
	}
}

// checkAllSplits checks p whole, in two pieces at every cut, and in three
// pieces at every pair of cuts.
func checkAllSplits(t *testing.T, p []byte) {
	t.Helper()
	checkPieces(t, p)
	for i := 0; i <= len(p); i++ {
		checkPieces(t, p, i)
		for j := i; j <= len(p); j++ {
			checkPieces(t, p, i, j)
		}
	}
}

var cases = []struct {
	name string
	in   string
	bad  int // index of the first bad byte, or -1
	done bool
}{
	{"empty", "", -1, true},
	{"ascii", "Hello-µ@ßöäüàá-UTF-8!!", -1, true},
	{"kosme", "κόσμε", -1, true}, // Autobahn 6.2.x
	{"U+0000", "\x00", -1, true},
	{"U+007F", "\x7f", -1, true},
	{"U+0080", "\xc2\x80", -1, true},
	{"U+07FF", "\xdf\xbf", -1, true},
	{"U+0800", "\xe0\xa0\x80", -1, true},
	{"U+D7FF", "\xed\x9f\xbf", -1, true},
	{"U+E000", "\xee\x80\x80", -1, true},
	{"U+FFFD", "\xef\xbf\xbd", -1, true},
	{"U+FFFF", "\xef\xbf\xbf", -1, true},
	{"U+10000", "\xf0\x90\x80\x80", -1, true},
	{"U+10FFFF", "\xf4\x8f\xbf\xbf", -1, true},
	{"RFC 3629 example A≢Α.", "\x41\xe2\x89\xa2\xce\x91\x2e", -1, true},
	{"RFC 3629 example 日本語", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", -1, true},
	{"RFC 3629 example BOM 𣎴", "\xef\xbb\xbf\xf0\xa3\x8e\xb4", -1, true},
	{"lone continuation 80", "\x80", 0, false},
	{"lone continuation BF", "a\xbf", 1, false},
	{"overlong C0 80", "\xc0\x80", 0, false},
	{"overlong C1 BF", "\xc1\xbf", 0, false},
	{"overlong E0 80 80", "\xe0\x80\x80", 1, false},
	{"overlong E0 9F BF", "\xe0\x9f\xbf", 1, false},
	{"overlong F0 8F BF BF", "\xf0\x8f\xbf\xbf", 1, false},
	{"surrogate ED A0 80", "\xed\xa0\x80", 1, false},
	{"surrogate ED BF BF", "\xed\xbf\xbf", 1, false},
	{"above U+10FFFF F4 90", "\xf4\x90\x80\x80", 1, false},
	{"F5", "\xf5\x80\x80\x80", 0, false},
	{"5-byte form F8", "\xf8\x88\x80\x80\x80", 0, false},
	{"FE", "\xfe", 0, false},
	{"FF", "ab\xff", 2, false},
	{"2-byte cut by ASCII", "\xc3A", 1, false},
	{"3-byte cut by ASCII", "\xe2\x82A", 2, false},
	{"4-byte cut by ASCII", "\xf0\x9f\x98A", 3, false},
	{"3-byte cut by lead byte", "\xe2\x82\xe2\x82\xac", 2, false},
	{"cut at end 2", "\xc3", -1, false},
	{"cut at end 3", "x\xe2\x82", -1, false},
	{"cut at end 4", "\xf4\x8f\xbf", -1, false},
	// Autobahn 6.3.1 / 6.4.x: valid text, then a surrogate or a code point
	// above U+10FFFF, then more text; rejected at the first impossible byte.
	{"kosme surrogate edited", "κόσμε\xed\xa0\x80edited", 11, false},
	{"kosme F4 90 edited", "κόσμε\xf4\x90\x80\x80edited", 11, false},
	{"long ascii then bad", strings.Repeat("a", 37) + "\xc0" + strings.Repeat("b", 40), 37, false},
	{"long ascii then cut", strings.Repeat("a", 31) + "\xe2\x82" + strings.Repeat("b", 40), 33, false},
	{"long greek", strings.Repeat("κόσμε", 20), -1, true},
	{"long CJK then surrogate", strings.Repeat("日本語", 12) + "\xed\xb0\x80", 109, false},
}

func TestCases(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := []byte(tc.in)
			if bad, done := oracle(p); bad != tc.bad || done != tc.done {
				t.Fatalf("oracle(%x) = %d, %v; the table says %d, %v", p, bad, done, tc.bad, tc.done)
			}
			if got, want := Valid(p), tc.bad < 0 && tc.done; got != want {
				t.Fatalf("Valid(%x) = %v, want %v", p, got, want)
			}
			checkAllSplits(t, p)
		})
	}
}

// TestShortSequences checks every 1- and 2-byte input and every 3- and 4-byte
// input built from boundary bytes, alone (the byte-at-a-time path) and
// placed across a 16-byte block boundary (the block path).
func TestShortSequences(t *testing.T) {
	edge := []byte{0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf,
		0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff}
	pad := bytes.Repeat([]byte{'.'}, 14)
	check := func(seq []byte) {
		checkPieces(t, seq)
		for _, cut := range []int{1, len(seq) - 1} {
			checkPieces(t, seq, cut)
		}
		long := append(append(append([]byte(nil), pad...), seq...), pad...)
		checkPieces(t, long)
		if got := Valid(long); got != utf8.Valid(long) {
			t.Fatalf("Valid(%x) = %v, want %v", long, got, !got)
		}
	}
	for a := range 256 {
		check([]byte{byte(a)})
		for b := range 256 {
			check([]byte{byte(a), byte(b)})
		}
		if a < 0xc0 {
			continue
		}
		for _, b := range edge {
			for _, c := range edge {
				check([]byte{byte(a), b, c})
				if a >= 0xe0 && a <= 0xf7 {
					for _, d := range edge {
						check([]byte{byte(a), b, c, d})
					}
				}
			}
		}
	}
}

// randomText returns n runes drawn from ASCII, Greek, CJK and astral planes,
// with occasional corruption when corrupt is set.
func randomText(rng *rand.Rand, n int, corrupt bool) []byte {
	var b []byte
	for range n {
		switch rng.IntN(4) {
		case 0:
			b = append(b, byte(rng.IntN(0x80)))
		case 1:
			b = utf8.AppendRune(b, rune(0x370+rng.IntN(0x90)))
		case 2:
			b = utf8.AppendRune(b, rune(0x4e00+rng.IntN(0x5000)))
		default:
			b = utf8.AppendRune(b, rune(0x10000+rng.IntN(0x100000)))
		}
	}
	if corrupt && len(b) > 0 && rng.IntN(2) == 0 {
		b[rng.IntN(len(b))] = byte(rng.Uint32())
	}
	return b
}

func TestRandomText(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		p := randomText(rng, rng.IntN(200), true)
		i := rng.IntN(len(p) + 1)
		j := i + rng.IntN(len(p)-i+1)
		checkPieces(t, p)
		checkPieces(t, p, i)
		checkPieces(t, p, i, j)
		if got := Valid(p); got != utf8.Valid(p) {
			t.Fatalf("Valid(%x) = %v, want %v", p, got, !got)
		}
	}
}

func TestErrorIsSticky(t *testing.T) {
	var v Validator
	if got := v.Check([]byte("ok\xffok")); got != 2 {
		t.Fatalf("Check = %d, want 2", got)
	}
	if got := v.Check([]byte("fine")); got != 0 {
		t.Fatalf("Check after an error = %d, want 0", got)
	}
	if v.Done() {
		t.Fatal("Done after an error")
	}
	v.Reset()
	if got := v.Check([]byte("fine")); got != -1 || !v.Done() {
		t.Fatalf("after Reset: Check = %d, Done = %v; want -1, true", got, v.Done())
	}
	v.Check([]byte("\xe2\x82"))
	v.Reset()
	if !v.Done() {
		t.Fatal("Reset mid-character did not return to a boundary")
	}
}

func TestCheckAllocs(t *testing.T) {
	p := randomText(rand.New(rand.NewPCG(3, 4)), 1000, false)
	var v Validator
	if n := testing.AllocsPerRun(100, func() { v.Reset(); v.Check(p) }); n != 0 {
		t.Fatalf("Check allocates %v times per call", n)
	}
}

func FuzzValidator(f *testing.F) {
	for _, tc := range cases {
		f.Add([]byte(tc.in), uint16(len(tc.in)/3), uint16(2*len(tc.in)/3))
	}
	f.Fuzz(func(t *testing.T, p []byte, a, b uint16) {
		i := int(a) % (len(p) + 1)
		j := i + int(b)%(len(p)-i+1)
		checkPieces(t, p, i, j)
		if got := Valid(p); got != utf8.Valid(p) {
			t.Fatalf("Valid(%x) = %v, want %v", p, got, !got)
		}
	})
}

func benchTexts() []struct {
	name string
	text []byte
} {
	unit := map[string]string{
		"ascii": "The quick brown fox jumps over the lazy dog. ",
		"greek": "Τάχιστη αλώπηξ βαφής ψημένη γη, δρασκελίζει υπέρ νωθρού κυνός. ",
		"cjk":   "我能吞下玻璃而不伤身体。私はガラスを食べられます。それは私を傷つけません。",
		"mixed": "Hello, 世界! Ünïcödé café — κόσμε 🎉 plain ASCII words in between. ",
	}
	var out []struct {
		name string
		text []byte
	}
	for _, kind := range []string{"ascii", "greek", "cjk", "mixed"} {
		for _, size := range []int{1 << 10, 64 << 10} {
			// Repeat whole characters up to size, never cutting one.
			s := strings.Repeat(unit[kind], size/len(unit[kind])+1)
			n := size
			for !utf8.RuneStart(s[n]) {
				n--
			}
			out = append(out, struct {
				name string
				text []byte
			}{fmt.Sprintf("%s-%dK", kind, size>>10), []byte(s[:n])})
		}
	}
	return out
}

func BenchmarkValidator(b *testing.B) {
	for _, tc := range benchTexts() {
		b.Run(tc.name, func(b *testing.B) {
			var v Validator
			b.SetBytes(int64(len(tc.text)))
			for b.Loop() {
				v.Reset()
				if v.Check(tc.text) >= 0 || !v.Done() {
					b.Fatal("invalid")
				}
			}
		})
	}
}

func BenchmarkValid(b *testing.B) {
	for _, tc := range benchTexts() {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.text)))
			for b.Loop() {
				if !Valid(tc.text) {
					b.Fatal("invalid")
				}
			}
		})
	}
}

// BenchmarkStdlibValid is unicode/utf8.Valid on the same texts, for comparison.
func BenchmarkStdlibValid(b *testing.B) {
	for _, tc := range benchTexts() {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.text)))
			for b.Loop() {
				if !utf8.Valid(tc.text) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
