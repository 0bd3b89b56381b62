package deflate

import (
	"fmt"
	"runtime"
	"testing"
)

func BenchmarkCompress(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		for _, takeover := range []bool{true, false} {
			b.Run(fmt.Sprintf("%dKiB/takeover=%v", size>>10, takeover), func(b *testing.B) {
				msgs := [][]byte{jsonText(size, 0), jsonText(size, 77)}
				c := NewCompressor(1, 15, takeover)
				defer c.Release()
				dst := make([]byte, 0, 2*size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				var n int
				for i := 0; b.Loop(); i++ {
					out, err := c.Compress(dst[:0], msgs[i%2])
					if err != nil {
						b.Fatal(err)
					}
					n = len(out)
				}
				b.ReportMetric(float64(n)/float64(size), "ratio")
			})
		}
	}
}

func BenchmarkDecompress(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		for _, takeover := range []bool{true, false} {
			b.Run(fmt.Sprintf("%dKiB/takeover=%v", size>>10, takeover), func(b *testing.B) {
				// Without takeover every message is independent, so one
				// compressed message can be decoded over and over. With
				// takeover, decode a long prepared sequence.
				const n = 64
				c := NewCompressor(1, 15, takeover)
				defer c.Release()
				comp := make([][]byte, n)
				for i := range comp {
					comp[i], _ = c.Compress(nil, jsonText(size, i*13))
				}
				d := NewDecompressor(15, takeover)
				defer d.Release()
				dst := make([]byte, 0, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					if i%n == 0 && takeover {
						b.StopTimer()
						d.Release()
						d = NewDecompressor(15, takeover)
						b.StartTimer()
					}
					if _, err := d.Decompress(dst[:0], comp[i%n], -1); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkIdleMemory reports the heap bytes one connection's Compressor and
// Decompressor keep between messages, after a 4 KiB message each way
// ("parked": after Compressor.Park, as a Conn idle for compressorIdle).
func BenchmarkIdleMemory(b *testing.B) {
	msg := jsonText(4096, 0)
	for _, tc := range []struct {
		name     string
		level    int
		bits     int
		takeover bool
		park     bool
	}{
		{"takeover/level1", 1, 15, true, false},
		{"takeover/level1/parked", 1, 15, true, true},
		{"takeover/level5", 5, 15, true, false},
		{"takeover/level9", 9, 15, true, false},
		{"takeover/bits10", 1, 10, true, false},
		{"no-takeover", 1, 15, false, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const conns = 16
			comp, _ := NewCompressor(tc.level, tc.bits, false).Compress(nil, msg)
			for b.Loop() {
				cs := make([]*Compressor, conns)
				ds := make([]*Decompressor, conns)
				runtime.GC()
				runtime.GC() // empty the pools, victim caches too
				before := heapInUse()
				for i := range conns {
					cs[i] = NewCompressor(tc.level, tc.bits, tc.takeover)
					cs[i].Compress(nil, msg)
					if tc.park {
						cs[i].Park()
					}
					ds[i] = NewDecompressor(tc.bits, tc.takeover)
					ds[i].Decompress(nil, comp, -1)
				}
				// Drop what the pools keep: only the per-connection part counts.
				runtime.GC()
				runtime.GC()
				after := heapInUse()
				b.ReportMetric(float64(int64(after-before))/conns, "B/conn")
				for i := range conns {
					cs[i].Release()
					ds[i].Release()
				}
			}
		})
	}
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
