package deflate

import (
	"errors"
	"runtime"
	"testing"
)

// bombUnit returns deflate data that inflates to 1 MiB of zeros and ends on
// a byte boundary after a sync flush, so that units can be concatenated
// into one message inflating to any multiple of 1 MiB.
func bombUnit(t testing.TB) []byte {
	c := NewCompressor(1, 15, false)
	defer c.Release()
	u, err := c.Compress(nil, make([]byte, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return append(u, tail[:]...)
}

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

func TestBombSmall(t *testing.T) {
	unit := bombUnit(t)
	t.Logf("1 MiB of zeros deflates to %d bytes", len(unit))
	if len(unit) > 2048 {
		t.Fatalf("unit is %d bytes, want a ~1 KiB bomb", len(unit))
	}
	d := NewDecompressor(15, true)
	defer d.Release()
	const limit = 64 << 10
	// The race detector makes sync.Pool drop items at random, so a single
	// run may pay for a fresh inflater: the bound is on the best of five.
	allocated := uint64(1 << 62)
	for range 5 {
		d.Decompress(nil, []byte{0x00}, limit) // warm the pool
		before := totalAlloc()
		got, err := d.Decompress(nil, unit, limit)
		allocated = min(allocated, totalAlloc()-before)
		if !errors.Is(err, ErrTooLarge) || len(got) != 0 {
			t.Fatalf("Decompress = %d bytes, %v; want ErrTooLarge", len(got), err)
		}
	}
	if allocated > 3*limit {
		t.Errorf("allocated %d bytes for a %d-byte limit", allocated, limit)
	}
}

// A 10 GiB bomb fails after about limit bytes of work and memory.
func TestBombTenGiB(t *testing.T) {
	unit := bombUnit(t)
	const units = 10 << 10 // 10 GiB of output
	const limit = 16 << 20
	d := NewDecompressor(15, true)
	defer d.Release()
	msg := make([]byte, 0, units*len(unit))
	for range units {
		msg = append(msg, unit...)
	}
	before := totalAlloc()
	got, err := d.Decompress(nil, msg, limit)
	allocated := totalAlloc() - before
	if !errors.Is(err, ErrTooLarge) || len(got) != 0 {
		t.Fatalf("Decompress = %d bytes, %v; want ErrTooLarge", len(got), err)
	}
	// Doubling up to the limit allocates < 2×limit in all.
	if allocated > 2*limit+1<<20 {
		t.Errorf("allocated %d bytes for a %d-byte limit", allocated, limit)
	}
	t.Logf("compressed %d MiB, allocated %.1f MiB", len(msg)>>20, float64(allocated)/(1<<20))
}
