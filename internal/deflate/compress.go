package deflate

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

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
// from message to message for the life of the connection. Without, it
// borrows a writer from a pool for each message and returns it at the end,
// so an idle connection holds no writer.
type Compressor struct {
	level    int
	window   int // bits, 8–15
	takeover bool
	fw       *flate.Writer // nil between messages without takeover
	out      appendWriter
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
	return &Compressor{level: level, window: windowBits, takeover: contextTakeover}
}

// pool returns the pool of writers that fit c.
func (c *Compressor) pool() *sync.Pool {
	if c.window < MaxWindowBits && c.level != HuffmanOnly {
		return &windowPools[c.window-MinWindowBits]
	}
	return &levelPools[c.level-HuffmanOnly]
}

// writer returns c's flate writer, taking one from the pool if c holds none.
func (c *Compressor) writer() (*flate.Writer, error) {
	if c.fw != nil {
		return c.fw, nil
	}
	if fw, ok := c.pool().Get().(*flate.Writer); ok {
		fw.Reset(&c.out)
		c.fw = fw
		return fw, nil
	}
	var (
		fw  *flate.Writer
		err error
	)
	// Huffman-only output has no back-references, so it fits any window.
	if c.window < MaxWindowBits && c.level != HuffmanOnly {
		fw, err = flate.NewWriterWindow(&c.out, 1<<c.window)
	} else {
		fw, err = flate.NewWriter(&c.out, c.level)
	}
	if err != nil {
		return nil, fmt.Errorf("websocket: compressor: %w", err)
	}
	c.fw = fw
	return fw, nil
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
	c.out.buf = dst
	_, err = fw.Write(p)
	dst, c.out.buf = c.out.buf, nil
	if err != nil {
		return dst, fmt.Errorf("websocket: compressor: %w", err)
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
	c.out.buf = dst
	err = fw.Flush()
	dst, c.out.buf = c.out.buf, nil
	if !c.takeover {
		c.putWriter()
	}
	if err != nil {
		return dst, fmt.Errorf("websocket: compressor: %w", err)
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
	dst, err := c.AppendPart(dst, msg)
	if err != nil {
		return dst, err
	}
	return c.Finish(dst)
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
	// Reset drops the window and detaches c.out, so the pool holds no
	// reference to this connection.
	c.fw.Reset(nil)
	c.pool().Put(c.fw)
	c.fw = nil
}
