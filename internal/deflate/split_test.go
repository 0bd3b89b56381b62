package deflate

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/wsclient/websocket/internal/leaktest"
)

// The ways a split message's second half can go: to a helper goroutine
// (whichever finishes first), compressed by the helper before the first
// half starts, or taken back because no helper started.
var splitPaths = []struct {
	name string
	post func(*splitJob, bool)
}{
	{"helper", post},
	{"done-first", func(j *splitJob, _ bool) { j.run() }},
	{"reclaimed", func(*splitJob, bool) {}},
}

// splitMessages returns a stream that splits and does not, with messages
// at and around splitMin, JSON and random bytes.
func splitMessages() [][]byte {
	r := rand.New(rand.NewPCG(3, 4))
	random := make([]byte, 100<<10)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	return [][]byte{
		jsonText(splitMin, 1),
		jsonText(1000, 2),
		jsonText(64<<10, 3),
		jsonText(64<<10, 3), // the same again: with takeover its second half refers back
		random,
		jsonText(splitMin-1, 4),
		jsonText(300<<10, 5),
		append(jsonText(20<<10, 6), random[:20<<10]...),
		jsonText(5000, 7),
	}
}

// TestCompressSplit compresses a stream of large and small messages along
// each path, at several levels, with and without context takeover and with
// a park in the middle: our decoder and the standard library's inflate
// every message, in order, and the large ones were split (or, taken back,
// compressed whole).
func TestCompressSplit(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	msgs := splitMessages()
	for _, path := range splitPaths {
		for _, level := range []int{1, 5, 9} {
			for _, takeover := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/level=%d/takeover=%v", path.name, level, takeover), func(t *testing.T) {
					defer leaktest.Check(t)()
					posts := 0
					postJob = func(j *splitJob, spin bool) { posts++; path.post(j, spin) }
					alwaysSplit = true
					defer func() { postJob, alwaysSplit = post, false }()

					c := NewCompressor(level, 15, takeover)
					c.Spin = true
					defer c.Release()
					d := NewDecompressor(15, takeover)
					defer d.Release()
					var stream bytes.Buffer // what a standard inflater reads with takeover
					want := 0
					for i, m := range msgs {
						comp, err := c.Compress(nil, m)
						if err != nil {
							t.Fatal(err)
						}
						if len(m) >= splitMin {
							want++
						}
						if posts != want {
							t.Fatalf("message %d (%d bytes): %d splits so far, want %d", i, len(m), posts, want)
						}
						got, err := d.Decompress(nil, comp, -1)
						if err != nil || !bytes.Equal(got, m) {
							t.Fatalf("message %d (%d bytes): got %d bytes, %v", i, len(m), len(got), err)
						}
						if takeover {
							stream.Write(comp)
							stream.Write(tail[:])
						} else {
							std := flate.NewReader(io.MultiReader(bytes.NewReader(comp), bytes.NewReader(tail[:])))
							if got, err := io.ReadAll(std); !bytes.Equal(got, m) && err != io.ErrUnexpectedEOF {
								t.Fatalf("message %d: compress/flate read %d bytes, %v", i, len(got), err)
							}
						}
						if i == 4 && takeover {
							c.Park()
						}
					}
					if takeover {
						std := flate.NewReader(&stream)
						for i, m := range msgs {
							got := make([]byte, len(m))
							if _, err := io.ReadFull(std, got); err != nil || !bytes.Equal(got, m) {
								t.Fatalf("compress/flate, message %d: %v", i, err)
							}
						}
					}
				})
			}
		}
	}
}

// TestCompressSplitCost: a 64 KiB JSON message compressed in two halves is
// at most 5% larger than compressed whole, split or taken back, and the
// next message refers back to the end of a split one as well as to that of
// a whole one (the helper's writer kept its window).
func TestCompressSplitCost(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	alwaysSplit = true
	defer func() { postJob, alwaysSplit = post, false }()
	msg := jsonText(64<<10, 11)
	compress := func(c *Compressor, m []byte) []byte {
		out, err := c.Compress(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	whole := func(c *Compressor, m []byte) []byte { // Compress without the split
		out, err := c.AppendPart(nil, m)
		if err == nil {
			out, err = c.Finish(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	c := NewCompressor(1, 15, true)
	whole(c, jsonText(64<<10, 10))
	wantLen := len(whole(c, msg))
	wantAgain := len(compress(c, msg[len(msg)-1000:]))
	c.Release()
	for _, path := range splitPaths[1:] {
		postJob = path.post
		c := NewCompressor(1, 15, true)
		whole(c, jsonText(64<<10, 10))
		n := len(compress(c, msg))
		again := len(compress(c, msg[len(msg)-1000:]))
		c.Release()
		t.Logf("%s: %d bytes, whole %d; the end again: %d bytes, after a whole one %d", path.name, n, wantLen, again, wantAgain)
		if float64(n) > 1.05*float64(wantLen) {
			t.Errorf("%s: %d bytes; whole: %d", path.name, n, wantLen)
		}
		if again > wantAgain+8 {
			t.Errorf("%s: the end of the message again is %d bytes, after a whole one %d: the window was lost", path.name, again, wantAgain)
		}
	}
}

// TestCompressSplitOneCPU: with one CPU to run on nothing is split.
func TestCompressSplitOneCPU(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	posts := 0
	postJob = func(j *splitJob, spin bool) { posts++; post(j, spin) }
	defer func() { postJob = post }()
	c := NewCompressor(1, 15, true)
	defer c.Release()
	if _, err := c.Compress(nil, jsonText(64<<10, 1)); err != nil || posts != 0 {
		t.Fatalf("GOMAXPROCS=1: %d splits, %v", posts, err)
	}
}

// TestCompressSplitManyConnections compresses large messages on several
// connections at once, so that helpers take jobs of other connections
// from the mailbox (run with -race).
func TestCompressSplitManyConnections(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	defer leaktest.Check(t)()
	msgs := [][]byte{jsonText(40<<10, 1), jsonText(80<<10, 2), jsonText(1000, 3)}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			c := NewCompressor(1, 15, g%2 == 0)
			c.Spin = true
			defer c.Release()
			d := NewDecompressor(15, g%2 == 0)
			defer d.Release()
			for i := range 30 {
				m := msgs[(g+i)%len(msgs)]
				comp, err := c.Compress(nil, m)
				if err == nil {
					var got []byte
					got, err = d.Decompress(nil, comp, -1)
					if err == nil && !bytes.Equal(got, m) {
						err = fmt.Errorf("message %d does not round-trip", i)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkCompressSplit compresses 64 KiB of JSON with context takeover,
// split across two CPUs, and with the second half taken back (one CPU).
func BenchmarkCompressSplit(b *testing.B) {
	msgs := [][]byte{jsonText(64<<10, 1), jsonText(64<<10, 2), jsonText(64<<10, 3)}
	for _, bc := range []struct {
		name string
		post func(*splitJob, bool)
	}{{"split", post}, {"taken-back", func(*splitJob, bool) {}}} {
		b.Run(bc.name, func(b *testing.B) {
			postJob, alwaysSplit = bc.post, true
			defer func() { postJob, alwaysSplit = post, false }()
			c := NewCompressor(1, 15, true)
			c.Spin = true
			defer c.Release()
			var dst []byte
			b.SetBytes(64 << 10)
			for i := 0; b.Loop(); i++ {
				var err error
				if dst, err = c.Compress(dst[:0], msgs[i%len(msgs)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSplitPolicy walks the policy through measured times (nanoseconds per
// KiB): the first large message is compressed whole, then messages split
// while splits take at most 7/8 of the whole one's time, one in 16 whole;
// a trial of four splits (its first left out) that is slower stops the
// splits for 64 large messages, then 128, …, at most 1024, and a trial
// that pays again starts over.
func TestSplitPolicy(t *testing.T) {
	var p splitPolicy
	// run takes n large messages whose splits take splitNs and returns
	// the decisions, 's' for a split and 'w' for whole.
	run := func(n int, splitNs int64) string {
		var b strings.Builder
		for range n {
			if p.next() {
				p.splitTook(splitNs)
				b.WriteByte('s')
			} else {
				p.wholeTook(100)
				b.WriteByte('w')
			}
		}
		return b.String()
	}
	if got, want := run(33, 50), "w"+strings.Repeat("s", 15)+"w"+strings.Repeat("s", 15)+"w"; got != want {
		t.Fatalf("while splits pay:\n got %s\nwant %s", got, want)
	}
	// Splits that take as long as whole messages: each trial fails, and
	// the pauses (runs of whole messages) double up to 1024.
	var pauses []int
	for _, w := range strings.Split(run(4000, 100), "s") {
		if len(w) > 1 {
			pauses = append(pauses, len(w))
		}
	}
	want := []int{64, 128, 256, 512, 1024}
	if len(pauses) < len(want)+1 {
		t.Fatalf("pauses %v, want %v and then 1024s", pauses, want)
	}
	for i, n := range pauses[:len(want)+1] { // the last may be cut short
		w := splitPauseMax
		if i < len(want) {
			w = want[i]
		}
		if n != w && n != w+1 { // +1: the periodic whole message may come first
			t.Fatalf("pauses %v, want %v and then 1024s", pauses, want)
		}
	}
	// Once splits pay again, the first trial after the pause resets it.
	got := run(1100, 10)
	if i := strings.Index(got, "ssss"); i < 0 || p.pause != 0 {
		t.Fatalf("splits that pay again: pause %d, decisions %s…", p.pause, got[:80])
	}
	if got := run(40, 100); strings.Count(got, "w") < 30 {
		t.Fatalf("a failed trial after a paying one: %s; want a pause of 64", got)
	}
}

// TestCompressSplitMailboxCleared: a helper that grabbed a job from the
// mailbox just before its poster took it back may run the job's next post
// (the Compressor reuses its job), which is then still in the mailbox; the
// poster clears it, or it would keep every other job out for good.
func TestCompressSplitMailboxCleared(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	alwaysSplit = true
	defer func() { postJob, alwaysSplit = post, false }()
	c := NewCompressor(1, 15, true)
	defer c.Release()
	d := NewDecompressor(15, true)
	defer d.Release()
	var grabbed *splitJob
	// Posted: a helper takes it from the mailbox and stalls.
	postJob = func(j *splitJob, _ bool) { grabbed = j }
	msgs := [][]byte{jsonText(40<<10, 1), jsonText(40<<10, 2)}
	send := func(m []byte) {
		t.Helper()
		comp, err := c.Compress(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := d.Decompress(nil, comp, -1); err != nil || !bytes.Equal(got, m) {
			t.Fatalf("got %d bytes, %v", len(got), err)
		}
	}
	send(msgs[0]) // taken back, while the helper stalls
	// Posted again: the stalled helper runs it, and this post stays in the
	// mailbox.
	postJob = func(j *splitJob, _ bool) {
		mailbox.Store(j)
		grabbed.run()
	}
	send(msgs[1])
	if j := mailbox.Load(); j != nil {
		mailbox.Store(nil)
		t.Fatal("the job a stale helper ran is still in the mailbox")
	}
}
