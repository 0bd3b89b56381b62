package mask

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// refApply is the RFC 6455 §5.3 definition, one byte at a time:
// transformed-octet-i = original-octet-i XOR masking-key-octet-(i MOD 4).
func refApply(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

const guard = 0xA5

// surround returns buf (filled with guard bytes) and the window
// buf[off:off+n] holding a copy of data, so writes outside it can be caught.
func surround(data []byte, off int) (buf, win []byte) {
	buf = bytes.Repeat([]byte{guard}, off+len(data)+64)
	win = buf[off : off+len(data)]
	copy(win, data)
	return buf, win
}

func checkGuards(t *testing.T, buf []byte, off, n int) {
	t.Helper()
	for i, c := range buf {
		if (i < off || i >= off+n) && c != guard {
			t.Fatalf("byte %d outside the %d-byte window at %d was overwritten", i, n, off)
		}
	}
}

var testKey = [4]byte{0x12, 0x9e, 0x37, 0xc4}

// TestApplyAgrees checks the assembly kernels (or, with -tags purego, the
// portable code) and the portable code against the byte-wise definition for
// every length 0..300, every key position and every alignment in a 64-byte
// window, and that nothing outside b is touched.
func TestApplyAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 300)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	impls := []struct {
		name string
		f    func([4]byte, int, []byte) int
	}{{"Apply", Apply}, {"applyGeneric", applyGeneric}}
	forEachKernel(t, func(kernel string) {
		for _, impl := range impls {
			for n := 0; n <= len(data); n++ {
				for pos := range 4 {
					want := bytes.Clone(data[:n])
					wantNext := refApply(testKey, pos, want)
					for off := range 64 {
						buf, win := surround(data[:n], off)
						if next := impl.f(testKey, pos+4*off, win); next != wantNext {
							t.Fatalf("%s/%s(n=%d pos=%d off=%d) returned %d, want %d", kernel, impl.name, n, pos, off, next, wantNext)
						}
						if !bytes.Equal(win, want) {
							t.Fatalf("%s/%s(n=%d pos=%d off=%d) = %x, want %x", kernel, impl.name, n, pos, off, win, want)
						}
						checkGuards(t, buf, off, n)
					}
				}
			}
		}
	})
}

// TestCopyAgrees does the same for Copy into a separate buffer and in place.
func TestCopyAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 300)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	forEachKernel(t, func(kernel string) {
		for n := 0; n <= len(data); n++ {
			for pos := range 4 {
				want := bytes.Clone(data[:n])
				wantNext := refApply(testKey, pos, want)
				for off := range 33 {
					srcOff := rng.IntN(32)
					_, src := surround(data[:n], srcOff)
					buf, dst := surround(make([]byte, n), off)
					if next := Copy(dst, src, testKey, pos); next != wantNext || !bytes.Equal(dst, want) {
						t.Fatalf("%s/Copy(n=%d pos=%d dstOff=%d srcOff=%d) = %x, %d; want %x, %d", kernel, n, pos, off, srcOff, dst, next, want, wantNext)
					}
					if !bytes.Equal(src, data[:n]) {
						t.Fatalf("%s/Copy(n=%d) modified src", kernel, n)
					}
					checkGuards(t, buf, off, n)

					buf, win := surround(data[:n], off)
					if next := Copy(win, win, testKey, pos); next != wantNext || !bytes.Equal(win, want) {
						t.Fatalf("%s/Copy in place (n=%d pos=%d off=%d) = %x, %d; want %x, %d", kernel, n, pos, off, win, next, want, wantNext)
					}
					checkGuards(t, buf, off, n)

					// copyGeneric is Copy's portable path; test it in every build.
					_, dst = surround(make([]byte, n), off)
					if next := copyGeneric(dst, src, testKey, pos); next != wantNext || !bytes.Equal(dst, want) {
						t.Fatalf("copyGeneric(n=%d pos=%d) = %x, %d; want %x, %d", n, pos, dst, next, want, wantNext)
					}
				}
			}
		}
	})
}

// TestApplyLarge covers sizes well past the kernels' unrolled loops at
// random alignments.
func TestApplyLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	forEachKernel(t, func(kernel string) {
		for range 200 {
			n := rng.IntN(1 << 16)
			off, pos := rng.IntN(64), rng.IntN(4)
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			want := bytes.Clone(data)
			refApply(testKey, pos, want)
			buf, win := surround(data, off)
			Apply(testKey, pos, win)
			if !bytes.Equal(win, want) {
				t.Fatalf("%s: Apply(n=%d pos=%d off=%d) differs from the definition", kernel, n, pos, off)
			}
			checkGuards(t, buf, off, n)
		}
	})
}

// TestApplyPieces checks that masking a payload in arbitrary pieces, feeding
// the returned position forward, equals masking it whole (how a frame
// payload is masked as it is streamed out).
func TestApplyPieces(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	data := make([]byte, 1000)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	want := bytes.Clone(data)
	refApply(testKey, 0, want)
	for range 100 {
		got := bytes.Clone(data)
		pos := 0
		for rest := got; len(rest) > 0; {
			k := min(rng.IntN(80), len(rest))
			pos = Apply(testKey, pos, rest[:k])
			rest = rest[k:]
		}
		if !bytes.Equal(got, want) {
			t.Fatal("masking in pieces differs from masking whole")
		}
	}
}

func TestApplyTwiceRestores(t *testing.T) {
	data := []byte("The quick brown fox jumps over the lazy dog, twice over.")
	b := bytes.Clone(data)
	Apply(testKey, 3, b)
	if bytes.Equal(b, data) {
		t.Fatal("Apply did not change the data")
	}
	Apply(testKey, 3, b)
	if !bytes.Equal(b, data) {
		t.Fatal("Apply twice did not restore the data")
	}
}

func TestCopyShortDstPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Copy with a short dst did not panic")
		}
	}()
	Copy(make([]byte, 3), make([]byte, 4), testKey, 0)
}

// TestRFCExample is the masked "Hello" of RFC 6455 §5.7.
func TestRFCExample(t *testing.T) {
	b := []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}
	Apply([4]byte{0x37, 0xfa, 0x21, 0x3d}, 0, b)
	if string(b) != "Hello" {
		t.Fatalf("got %q, want %q", b, "Hello")
	}
}

func FuzzApply(f *testing.F) {
	f.Add([]byte(""), uint32(0), 0, uint8(0))
	f.Add([]byte("Hello"), uint32(0x3d21fa37), 0, uint8(0))
	f.Add(bytes.Repeat([]byte{0xff}, 15), uint32(0xdeadbeef), 1, uint8(3))
	f.Add(bytes.Repeat([]byte("x"), 31), uint32(0x01020304), 2, uint8(17))
	f.Add(bytes.Repeat([]byte("0123456789"), 30), uint32(0xcafebabe), 3, uint8(31))
	f.Add(make([]byte, 4097), uint32(0x80808080), -1, uint8(63))
	f.Fuzz(func(t *testing.T, data []byte, k uint32, pos int, off uint8) {
		var key [4]byte
		binary.LittleEndian.PutUint32(key[:], k)
		want := bytes.Clone(data)
		wantNext := refApply(key, pos, want)
		forEachKernel(t, func(kernel string) {
			buf, win := surround(data, int(off&63))
			if next := Apply(key, pos, win); next != wantNext || !bytes.Equal(win, want) {
				t.Fatalf("%s: Apply(key=%x pos=%d) = %x, %d; want %x, %d", kernel, key, pos, win, next, want, wantNext)
			}
			checkGuards(t, buf, int(off&63), len(data))
			dst := make([]byte, len(data))
			if next := Copy(dst, data, key, pos); next != wantNext || !bytes.Equal(dst, want) {
				t.Fatalf("%s: Copy(key=%x pos=%d) = %x, %d; want %x, %d", kernel, key, pos, dst, next, want, wantNext)
			}
		})
	})
}

var benchSizes = []int{16, 1024, 65536, 1048576}

// BenchmarkApply masks in place; compare with BenchmarkCopy.
func BenchmarkApply(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			buf := make([]byte, n)
			b.SetBytes(int64(n))
			for b.Loop() {
				Apply(testKey, 1, buf)
			}
		})
	}
}

// BenchmarkApplyGeneric is the portable code, for comparison with the
// assembly in the default amd64 build.
func BenchmarkApplyGeneric(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			buf := make([]byte, n)
			b.SetBytes(int64(n))
			for b.Loop() {
				applyGeneric(testKey, 1, buf)
			}
		})
	}
}

// BenchmarkMaskCopy masks from one buffer into another.
func BenchmarkMaskCopy(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			src, dst := make([]byte, n), make([]byte, n)
			b.SetBytes(int64(n))
			for b.Loop() {
				Copy(dst, src, testKey, 1)
			}
		})
	}
}

// BenchmarkCopy is the built-in copy: the memory bandwidth ceiling.
func BenchmarkCopy(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			src, dst := make([]byte, n), make([]byte, n)
			b.SetBytes(int64(n))
			for b.Loop() {
				copy(dst, src)
			}
		})
	}
}
