package deflate

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/flate"
)

// A large message may be compressed on two CPUs, as pigz does: the
// Compressor's writer compresses the first half while a helper goroutine
// compresses the second with a writer of its own, primed with the end of
// the first half (splitDict), and the second half's blocks follow the
// first half's sync flush in the payload. Deflate allows that: a sync flush
// ends on a byte boundary with an empty stored block, and a block may
// always refer to fewer earlier bytes than the window allows. The second
// half's writer then holds the message's end as its window, so it becomes
// the Compressor's writer for the next message (context takeover) and the
// first one goes back to its pool.
//
// It costs no more than compressing on one CPU where a second is not free:
//
//   - The helper claims the half when it starts. A writer that has
//     finished its own half while the helper has not started takes the
//     second half back and compresses it as one CPU would.
//   - Whether a message splits at all is measured (splitPolicy): splits
//     go on only while they take at most 7/8 of a whole message's time.
//   - A helper that finishes looks for the next half for up to spinFor
//     (a stream of large messages then pays no goroutine start, which
//     costs tens of microseconds on some virtual machines) and exits;
//     none stays parked. It looks only where the Conn may busy-poll.
//
// On this project's 2-CPU test machine a 64 KiB JSON message sent
// compressed took 241–250 µs before and 188–207 µs after, with a quarter
// more CPU time (bench/README.md); BenchmarkCompressSplit, on the tests'
// more repetitive JSON, 88–110 µs on one CPU and 70–77 µs on two.

// splitMin is the smallest message Compress splits: each half then takes
// tens of microseconds to compress, well above the cost of handing it over.
const splitMin = 32 << 10

// splitDict is how much of the first half the helper's writer is primed
// with, so that the second half may refer to it: repeated structure (keys,
// records) mostly repeats within a few KiB. On a 64 KiB message of the
// tests' repetitive JSON (TestCompressSplitCost) the split output is 3%
// larger than whole with it and 8% without, and on the benchmark's
// market-data JSON no larger; priming costs the helper about a tenth more
// work.
const splitDict = 4 << 10

// spinFor bounds how long a helper that finished a half looks for the next
// one, and how long a writer that finished its half spins before it blocks
// until the helper's is done; both yield their CPU between looks
// (runtime.Gosched), so they give way to any goroutine that can run. The
// next half of a stream of large messages comes within it.
const spinFor = 200 * time.Microsecond

// spinLooksMax bounds the looks too, where the clock does not move while
// goroutines run (a testing/synctest bubble).
const spinLooksMax = 1 << 14

// spinUntil calls done until it reports true, for up to spinFor, yielding
// the CPU between calls; it returns done's last answer.
func spinUntil(done func() bool) bool {
	start := time.Now()
	for i := range spinLooksMax {
		if done() {
			return true
		}
		runtime.Gosched()
		if i%16 == 15 && time.Since(start) > spinFor {
			break
		}
	}
	return done()
}

// The states of a splitJob.
const (
	jobPosted    = iota // waiting for a helper
	jobTaken            // a helper is compressing it
	jobDone             // compressed into out
	jobReclaimed        // the poster compresses it itself
)

// splitJob is the second half of a message, handed to a helper. The poster
// holds mu from the post until the job is reclaimed or done (the helper
// unlocks it then), so a poster that stops spinning waits on it.
type splitJob struct {
	state atomic.Uint32
	mu    sync.Mutex
	fw    *flate.Writer // Reset to write into out
	out   *appendWriter
	p     []byte
	dict  []byte // what precedes p, which fw is primed with
}

var (
	// mailbox holds a posted job until a helper takes it or its poster
	// takes it back.
	mailbox atomic.Pointer[splitJob]
	// helpers counts the helpers running (compressing a half or looking
	// for the next), looking those that are looking.
	helpers, looking atomic.Int32
	// spinOK is what the last post allowed: helpers look for the next
	// job for a while before they exit.
	spinOK atomic.Bool
)

// postJob is post; tests replace it to run a job at once or never.
var postJob = post

// post offers j to the helpers, starting one if none is looking and fewer
// are running than GOMAXPROCS-1. While another job waits in the mailbox j
// is not offered: its poster compresses it.
func post(j *splitJob, spin bool) {
	spinOK.Store(spin)
	if !mailbox.CompareAndSwap(nil, j) {
		return
	}
	if looking.Load() == 0 && int(helpers.Load()) < runtime.GOMAXPROCS(0)-1 {
		helpers.Add(1)
		go helper()
	}
}

// helper compresses the jobs it takes from the mailbox until it finds none.
func helper() {
	defer helpers.Add(-1)
	for {
		j := take()
		if j == nil {
			return
		}
		j.run()
	}
}

// take returns the job in the mailbox, if any, looking for one for a while
// if spinning is allowed: a new goroutine may take longer to start than a
// half takes to compress (tens of microseconds on some virtual machines),
// and while it looks, the next message's half finds it.
func take() *splitJob {
	var j *splitJob
	grab := func() bool {
		if m := mailbox.Load(); m != nil && mailbox.CompareAndSwap(m, nil) {
			j = m
		}
		return j != nil
	}
	if grab() || !spinOK.Load() {
		return j
	}
	looking.Add(1)
	spinUntil(grab)
	looking.Add(-1)
	return j
}

// run compresses the job unless its poster took it back. A job it did not
// take may be posted again already: run touches none of it then.
func (j *splitJob) run() {
	if !j.state.CompareAndSwap(jobPosted, jobTaken) {
		return
	}
	j.fw.ResetDict(j.out, j.dict)
	// appendWriter never fails, so neither does the writer.
	_, _ = j.fw.Write(j.p)
	_ = j.fw.Flush()
	j.state.Store(jobDone)
	j.mu.Unlock()
}

// wait returns once a taken job is done: if spin, spinning while the
// helper compresses (it is running, so the wait is short unless the
// machine's CPUs are busy), then blocking.
func (j *splitJob) wait(spin bool) {
	if spin && spinUntil(func() bool { return j.state.Load() == jobDone }) {
		return
	}
	j.mu.Lock()
	//lint:ignore SA2001 the helper unlocks mu when done: Lock waited for that
	j.mu.Unlock()
}

// splits says whether Compress may compress msg in two halves (its
// splitPolicy decides): a large message, at a level with back-references
// and the full window (whose writers are pooled by level), with more than
// one CPU to run on.
func (c *Compressor) splits(msg []byte) bool {
	return len(msg) >= splitMin && c.level >= 1 && c.window == MaxWindowBits && runtime.GOMAXPROCS(0) > 1
}

// splitPolicy decides whether a large message is split, by measuring: a
// split pays only where a second CPU is free, and only the clock can tell
// (a CPU-bound process on the other CPU of a 2-CPU machine made splitting
// 20% slower than compressing whole). It compresses the first large
// message whole, and then one in splitWholeEvery, for a reference; it
// judges splits in trials of splitTrial, leaving out each trial's first
// (a helper may have had to start); a trial whose splits took more than
// 7/8 of the reference's time per byte stops splitting for splitPause
// large messages, doubling on each trial that fails in a row, up to
// splitPauseMax.
type splitPolicy struct {
	whole  int64  // nanoseconds per KiB of the messages compressed whole (a moving average); 0 before the first
	trial  int64  // the sum of the current trial's splits' nanoseconds per KiB
	splits uint8  // splits in the current trial
	count  uint8  // large messages since the last one compressed whole
	skip   uint16 // large messages left to compress whole before the next trial
	pause  uint16 // the skip after the next trial that fails
}

const (
	splitWholeEvery = 16
	splitTrial      = 4
	splitPause      = 64
	splitPauseMax   = 1024
)

// alwaysSplit, set by tests, splits every message that may split.
var alwaysSplit bool

// next says whether the next large message splits.
func (p *splitPolicy) next() bool {
	switch {
	case alwaysSplit:
		return true
	case p.whole == 0 || p.count >= splitWholeEvery-1:
		return false
	case p.skip > 0:
		p.skip--
		return false
	}
	return true
}

// wholeTook records a large message compressed whole.
func (p *splitPolicy) wholeTook(nsPerKiB int64) {
	p.count = 0
	if p.whole == 0 {
		p.whole = max(nsPerKiB, 1)
		return
	}
	p.whole = max(p.whole+(nsPerKiB-p.whole)/4, 1)
}

// splitTook records a split message and judges the trial it ends.
func (p *splitPolicy) splitTook(nsPerKiB int64) {
	p.count++
	p.splits++
	if p.splits > 1 {
		p.trial += nsPerKiB
	}
	if p.splits < splitTrial {
		return
	}
	mean := p.trial / (splitTrial - 1)
	p.trial, p.splits = 0, 0
	if 8*mean <= 7*p.whole {
		p.pause = 0
		return
	}
	p.pause = min(max(2*p.pause, splitPause), splitPauseMax)
	p.skip = p.pause
}

// perKiB returns d per KiB of n bytes, in nanoseconds.
func perKiB(d time.Duration, n int) int64 { return int64(d) * 1024 / int64(max(n, 1)) }

// compressSplit is Compress for a message that splits: it appends the
// compressed msg to dst, without the final 00 00 ff ff.
func (c *Compressor) compressSplit(dst, msg []byte) ([]byte, error) {
	fw, err := c.writer()
	if err != nil {
		return dst, err
	}
	hw, ok := c.pool().Get().(*flate.Writer)
	if !ok {
		if hw, err = flate.NewWriter(nil, c.level); err != nil {
			return dst, wrapError(err)
		}
	}
	if c.job == nil {
		c.job = &splitJob{}
	}
	j := c.job
	// The helper's writer writes into the appendWriter that fw does not.
	if j.out = &c.outs[0]; j.out == c.cur {
		j.out = &c.outs[1]
	}
	j.out.buf = c.spare[:0]
	h := len(msg) / 2
	// The helper's writer is primed with the end of the first half, so
	// that the second half refers back to it: the Compressor's copy of it,
	// as a writer keeps its dictionary (putWriterOf drops it).
	c.dict = append(c.dict[:0], msg[h-min(h, splitDict):h]...)
	j.fw, j.p, j.dict = hw, msg[h:], c.dict
	j.mu.Lock()
	j.state.Store(jobPosted)
	postJob(j, c.Spin)

	c.cur.buf = dst
	_, err = fw.Write(msg[:h])
	if err == nil {
		// The encoding: up to 64 KiB the writer only buffers what it is
		// given. A helper that starts meanwhile takes the other half.
		err = fw.Flush()
	}
	if j.state.CompareAndSwap(jobPosted, jobReclaimed) {
		// No helper started: the rest is compressed here, as on one CPU.
		j.mu.Unlock()
		mailbox.CompareAndSwap(j, nil)
		c.keepSpare(j.out.buf)
		j.out.buf, j.fw, j.p, j.dict = nil, nil, nil, nil
		c.putWriterOf(hw)
		if err == nil {
			_, err = fw.Write(msg[h:])
		}
		if err == nil {
			err = fw.Flush()
		}
		dst, c.cur.buf = c.cur.buf, nil
	} else {
		j.wait(c.Spin)
		// A helper may have taken j from an earlier post of it (a stale
		// pointer it grabbed before the poster took that post back): this
		// post may still be in the mailbox, which would then keep every
		// other job out.
		mailbox.CompareAndSwap(j, nil)
		dst, c.cur.buf = append(c.cur.buf, j.out.buf...), nil
		c.keepSpare(j.out.buf)
		// The helper's writer holds the message's end as its window: it
		// is c's writer from now on.
		c.fw, c.cur = hw, j.out
		j.out.buf, j.fw, j.p, j.dict = nil, nil, nil, nil
		c.putWriterOf(fw)
	}
	if err == nil && c.parks() {
		c.remember(msg)
	}
	return c.finished(dst, err)
}

// keepSpare keeps b, the helper's output buffer, for the next split message
// unless it grew past what a 128 KiB message's half needs.
func (c *Compressor) keepSpare(b []byte) {
	if cap(b) > 64<<10 {
		b = nil
	}
	c.spare = b[:0]
}
