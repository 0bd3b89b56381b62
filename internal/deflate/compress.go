package deflate

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"
)

// tail is the end of a sync flush, an empty stored block's LEN and NLEN: the
// sender removes it from every compressed message and the receiver puts it
// back (RFC 7692 §7.2.1, §7.2.2).
var tail = [4]byte{0x00, 0x00, 0xff, 0xff}

// Writer pools: one per level at the full window, one per smaller window
// (where klauspost's custom-window encoder has no levels).
var (
	levelPools  [BestLevel - HuffmanOnly + 1]sync.Pool
	windowPools [MaxWindowBits - MinWindowBits]sync.Pool
)

// appendWriter is the io.Writer a flate writer emits into: it appends to
// buf, so compressing into a caller's slice with spare capacity allocates
// nothing.
type appendWriter struct{ buf []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// Compressor compresses the messages of one connection, one at a time. It
// is not safe for concurrent use: the Conn's write lock serializes it.
//
// With context takeover it keeps its flate writer, and so its LZ77 window,
// from message to message, until Park lets the writer go and keeps only
// the window (the last 32 KiB of what it compressed): the next message
// borrows a writer and primes it with that window. Without takeover, it
// borrows a writer from a pool for each message and returns it at the end,
// so an idle connection holds no writer.
type Compressor struct {
	level    int
	window   int // bits, 8–15
	takeover bool
	fw       *flate.Writer // nil between messages without takeover, and once parked
	// fw writes into cur, one of outs; a message split across two CPUs
	// (split.go) has its second half written into the other, whose
	// writer then becomes fw.
	outs [2]appendWriter
	cur  *appendWriter
	// Spin lets the helper that compresses half of a large message look
	// for the next one for a while before it exits (split.go): set it
	// where busy polling is allowed.
	Spin  bool
	job   *splitJob // the second half of a message being split; made at the first
	spare []byte    // the helper's output buffer, kept for the next split message
	dict  []byte    // the end of a split message's first half, the helper's dictionary
	// policy decides whether a large message splits, from how long
	// splits and whole messages took.
	policy splitPolicy
	// hist is the tail of the data compressed so far, which the peer's
	// decompressor holds as its window (takeover with 15-bit windows
	// only): up to 2× the window while a writer is held, so that it
	// slides by one copy per window of input, and exactly the window
	// once parked.
	hist []byte
}

// NewCompressor returns a Compressor at the given flate level (0 and -1
// select DefaultLevel) that uses at most 2^windowBits bytes of window (0
// selects 15) and keeps its window across messages when contextTakeover is
// set. Bad arguments are clamped: Options.Validate catches them earlier.
func NewCompressor(level, windowBits int, contextTakeover bool) *Compressor {
	if level == 0 || level == -1 || level < HuffmanOnly || level > BestLevel {
		level = DefaultLevel
	}
	if windowBits == 0 || windowBits > MaxWindowBits {
		windowBits = MaxWindowBits
	}
	windowBits = max(windowBits, MinWindowBits)
	c := &Compressor{level: level, window: windowBits, takeover: contextTakeover}
	c.cur = &c.outs[0]
	return c
}

// pool returns the pool of writers that fit c.
func (c *Compressor) pool() *sync.Pool {
	if c.window < MaxWindowBits && c.level != HuffmanOnly {
		return &windowPools[c.window-MinWindowBits]
	}
	return &levelPools[c.level-HuffmanOnly]
}

// parks says whether c keeps its window across Park: with context takeover
// at the full window, where a flate writer can be primed with it
// (flate.Writer.ResetDict; klauspost's custom-window writer cannot).
func (c *Compressor) parks() bool { return c.takeover && c.window == MaxWindowBits }

// writer returns c's flate writer, taking one from the pool if c holds none;
// a parked Compressor's writer is primed with its window.
func (c *Compressor) writer() (*flate.Writer, error) {
	if c.fw != nil {
		return c.fw, nil
	}
	if fw, ok := c.pool().Get().(*flate.Writer); ok {
		if len(c.hist) > 0 {
			fw.ResetDict(c.cur, c.hist)
		} else {
			fw.Reset(c.cur)
		}
		c.fw = fw
		return fw, nil
	}
	var (
		fw  *flate.Writer
		err error
	)
	// Huffman-only output has no back-references, so it fits any window.
	switch {
	case c.window < MaxWindowBits && c.level != HuffmanOnly:
		fw, err = flate.NewWriterWindow(c.cur, 1<<c.window)
	case len(c.hist) > 0:
		fw, err = flate.NewWriterDict(c.cur, c.level, c.hist)
	default:
		fw, err = flate.NewWriter(c.cur, c.level)
	}
	if err != nil {
		return nil, wrapError(err)
	}
	c.fw = fw
	return fw, nil
}

// remember appends p, just compressed, to the history a parked Compressor
// keeps. The history grows with the traffic up to 2× the window, then
// slides by one copy per window of input. A writer primed with a parked
// window keeps that slice as its dictionary until putWriter: it is never
// written to again, as it is full (len == cap) and the next append moves
// the history to a new array.
func (c *Compressor) remember(p []byte) {
	const w = 1 << MaxWindowBits
	if len(p) >= w {
		if cap(c.hist) < 2*w {
			c.hist = make([]byte, 0, 2*w)
		}
		c.hist = append(c.hist[:0], p[len(p)-w:]...)
		return
	}
	if len(c.hist)+len(p) > cap(c.hist) {
		keep := c.hist[len(c.hist)-min(len(c.hist), w-len(p)):] // the window's bytes before p
		if cap(c.hist) < 2*w {
			c.hist = make([]byte, 0, min(2*w, 2*(len(keep)+len(p))))
		}
		c.hist = c.hist[:copy(c.hist[:len(keep)], keep)]
	}
	c.hist = append(c.hist, p...)
}

// Park lets the flate writer go to its pool between messages when c keeps
// a window (context takeover, 15-bit windows), keeping only that window:
// the last 32 KiB of what it compressed, which is all a sliding window
// needs. The next message borrows a writer and primes it with the window,
// which costs about as much as compressing 32 KiB once. It reports whether
// a writer was let go.
func (c *Compressor) Park() bool {
	if c.fw == nil || !c.parks() {
		return false
	}
	c.putWriter()
	c.spare, c.dict = nil, nil
	h := make([]byte, min(len(c.hist), 1<<MaxWindowBits)) // exactly the window
	copy(h, c.hist[len(c.hist)-len(h):])
	c.hist = h
	return true
}

// AppendPart compresses p as the next piece of the current message and
// appends to dst whatever compressed bytes are ready; it may append nothing
// (the writer buffers up to 64 KiB). Use it to stream a message as
// fragments, and end the message with Finish. The first frame carrying
// output must have RSV1 set (RFC 7692 §6.1).
func (c *Compressor) AppendPart(dst, p []byte) ([]byte, error) {
	fw, err := c.writer()
	if err != nil {
		return dst, err
	}
	c.cur.buf = dst
	_, err = fw.Write(p)
	dst, c.cur.buf = c.cur.buf, nil
	if err != nil {
		return dst, wrapError(err)
	}
	if c.parks() {
		c.remember(p)
	}
	return dst, nil
}

// Finish ends the current message: it flushes the writer and appends the
// rest of the compressed message to dst without the final 00 00 ff ff (RFC
// 7692 §7.2.1). The result is never empty: an empty message compresses to
// the single byte 0x00 (§7.2.3.6).
func (c *Compressor) Finish(dst []byte) ([]byte, error) {
	fw, err := c.writer()
	if err != nil {
		return dst, err
	}
	c.cur.buf = dst
	err = fw.Flush()
	dst, c.cur.buf = c.cur.buf, nil
	return c.finished(dst, err)
}

// finished ends a message whose compressed form dst ends with a sync
// flush, or whose compression failed with err: it lets the writer go
// without context takeover and strips the flush's 00 00 ff ff.
func (c *Compressor) finished(dst []byte, err error) ([]byte, error) {
	if !c.takeover {
		c.putWriter()
	}
	if err != nil {
		return dst, wrapError(err)
	}
	// A sync flush always ends with an empty stored block; anything else is
	// a bug in the encoder, and sending it would corrupt the stream.
	if len(dst) < len(tail) || !bytes.Equal(dst[len(dst)-len(tail):], tail[:]) {
		return dst, errors.New("websocket: compressor: flush did not end with 00 00 ff ff")
	}
	return dst[:len(dst)-len(tail)], nil
}

// Compress appends the compressed form of the whole message msg to dst: the
// payload of a message with RSV1 set.
func (c *Compressor) Compress(dst, msg []byte) ([]byte, error) {
	if !c.splits(msg) {
		return c.compressWhole(dst, msg)
	}
	// A message that may split is timed, so that splitting stops where it
	// does not pay (splitPolicy).
	start := time.Now()
	if c.policy.next() {
		dst, err := c.compressSplit(dst, msg)
		c.policy.splitTook(perKiB(time.Since(start), len(msg)))
		return dst, err
	}
	dst, err := c.compressWhole(dst, msg)
	c.policy.wholeTook(perKiB(time.Since(start), len(msg)))
	return dst, err
}

// compressWhole is Compress on one CPU.
func (c *Compressor) compressWhole(dst, msg []byte) ([]byte, error) {
	dst, err := c.AppendPart(dst, msg)
	if err != nil {
		return dst, err
	}
	return c.Finish(dst)
}

// Abandon drops the message being compressed, none of whose output was
// sent: the writer goes back to its pool with what it took of the message,
// and the history goes too, as it holds bytes the peer never got. The next
// message refers to nothing before it, which the peer's decompressor
// accepts whatever window it keeps.
func (c *Compressor) Abandon() {
	if c.fw != nil {
		c.putWriter()
	}
	c.hist, c.dict = nil, nil
}

// Release returns the writer c holds to its pool; call it once when the
// connection closes, also after an error in the middle of a message. c must
// not be used afterwards.
func (c *Compressor) Release() {
	if c.fw != nil {
		c.putWriter()
	}
}

func (c *Compressor) putWriter() {
	c.putWriterOf(c.fw)
	c.fw = nil
}

// putWriterOf returns fw, one of c's, to its pool.
func (c *Compressor) putWriterOf(fw *flate.Writer) {
	// Reset drops the window and detaches c's output, so the pool holds no
	// reference to this connection. A writer that was primed with a
	// dictionary (a parked window, or the helper's of a split message)
	// must drop that too, or Reset would prime the next borrower's with
	// it: ResetDict(nil, nil) does, for the 15-bit writers that may have
	// been primed.
	if c.window == MaxWindowBits {
		fw.ResetDict(nil, nil)
	} else {
		fw.Reset(nil)
	}
	c.pool().Put(fw)
}

// wrapError gives an error of the flate writer the package's prefix.
func wrapError(err error) error { return fmt.Errorf("websocket: compressor: %w", err) }
