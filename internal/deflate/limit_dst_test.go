package deflate

import (
	"errors"
	"testing"
)

// TestLimitHoldsWhatEverDstsCapacity: Decompress "fails with ErrTooLarge as
// soon as the output would pass limit bytes", also when dst has room for
// more than the limit (a buffer reused from a larger message): its spare
// capacity does not raise the limit.
func TestLimitHoldsWhatEverDstsCapacity(t *testing.T) {
	c := NewCompressor(1, 15, false)
	defer c.Release()
	msg, err := c.Compress(nil, make([]byte, 4096))
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []bool{false, true} {
		d := NewDecompressor(15, false)
		dst := make([]byte, 10, 1<<16)
		if part {
			out, ok := d.DecompressPart(dst, append(msg, 0, 0, 0xff, 0xff), 1000)
			if ok && len(out)-len(dst) > 1000 {
				t.Errorf("DecompressPart with limit 1000 gave %d bytes", len(out)-len(dst))
			}
			continue
		}
		out, err := d.Decompress(dst, msg, 1000)
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("Decompress of 4096 bytes with limit 1000 into a roomy dst = %d bytes, %v; want ErrTooLarge", len(out)-len(dst), err)
		}
	}
}
