package websocket

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/wsclient/websocket/internal/deflate"
	"github.com/wsclient/websocket/internal/httptoken"
	utf8v "github.com/wsclient/websocket/internal/utf8"
)

// CompressionParams are the permessage-deflate parameters a server accepted
// (RFC 7692 §7.1), as returned by Conn.Compression.
type CompressionParams struct {
	ClientNoContextTakeover bool // our messages do not refer to earlier ones
	ServerNoContextTakeover bool // the server's messages do not refer to earlier ones
	ClientMaxWindowBits     int  // our LZ77 window, 8–15
	ServerMaxWindowBits     int  // the server's LZ77 window, 8–15
}

// CompressionOptions configures permessage-deflate (RFC 7692). The zero
// value offers it with context takeover and 15-bit windows.
//
// A message of 32 KiB or more sent with Send (or an App's Send) may be
// compressed on two CPUs when the process has them (with 15-bit windows
// and a level other than Huffman-only): a helper goroutine compresses its
// second half, primed with the 4 KiB before it, while the sender
// compresses the first. Its output is about the size of the message
// compressed whole, and it is as valid: a peer's decoder cannot tell. The
// compressor times its messages and splits only while that is faster, so
// a machine whose CPUs are busy with other work keeps compressing on one;
// while a message is split, a second flate writer (about 0.8 MiB) is
// borrowed from a pool. DialOptions.BusyPoll set to BusyPollOff keeps the
// helper from waiting for the next message, which makes splits rarely pay.
type CompressionOptions struct {
	Level                   int  // flate level; 0 = a fast default
	Threshold               int  // messages shorter than this go uncompressed; 0 = a sensible default
	ClientNoContextTakeover bool // client_no_context_takeover
	ServerNoContextTakeover bool // server_no_context_takeover
	ClientMaxWindowBits     int  // 8–15: offered as our largest window; 0 = offered without a value
	ServerMaxWindowBits     int  // 8–15: asked of the server; 0 = not asked (15)
}

// compression is a Conn's negotiated permessage-deflate state. comp is
// guarded by the Conn's msgMu, decomp and the buffers by its readMu.
type compression struct {
	params    deflate.Params
	level     int
	threshold int
	comp      *deflate.Compressor
	decomp    *deflate.Decompressor
	in        []byte // compressed message being received, guarded by readMu
	out       []byte // compressed message being sent, guarded by msgMu

	// in comes from the buffer pools (getInBuf) for one message, so that
	// an idle connection holds none: inBuf is what the pool gave (nil
	// between messages), inSize the last message's compressed size, which
	// picks the next one's buffer. out is kept while messages are
	// sent, and dropped when the compressor parks (parkCompressor).
	inBuf  *[]byte
	inSize int

	// A text message inflated as its fragments arrive (inflatePart),
	// guarded by readMu: in then holds what is not inflated yet.
	inflated int64 // bytes of output so far
	parted   bool  // a part was inflated: the message's UTF-8 is checked piece by piece
	tried    int   // len(in) when a part last could not be inflated

	// Parking the compressor of a connection that stopped sending
	// (parkCompressor), guarded by msgMu.
	parkTimer *time.Timer
	lastUse   int64 // monoNow() at the end of the last compressed message
	parkArmed bool  // parkTimer will fire
}

func deflateOptions(o *CompressionOptions) deflate.Options {
	return deflate.Options{Level: o.Level, Threshold: o.Threshold,
		ClientNoContextTakeover: o.ClientNoContextTakeover, ServerNoContextTakeover: o.ServerNoContextTakeover,
		ClientMaxWindowBits: o.ClientMaxWindowBits, ServerMaxWindowBits: o.ServerMaxWindowBits}
}

// extensionOffer returns the Sec-WebSocket-Extensions value to offer for o
// (nil: none).
func extensionOffer(o *CompressionOptions) string {
	if o == nil {
		return ""
	}
	return deflateOptions(o).Offer()
}

// checkCompressionOptions refuses options that cannot be offered.
func checkCompressionOptions(o *CompressionOptions) error {
	if o == nil {
		return nil
	}
	if err := deflateOptions(o).Validate(); err != nil {
		return &HandshakeError{Reason: "compression options: " + detail(err)}
	}
	return nil
}

// checkExtensions validates the extensions the server accepted and returns
// the negotiated compression, nil when none; o is what was offered (nil:
// nothing).
func checkExtensions(values []string, o *CompressionOptions) (*compression, error) {
	if o == nil {
		// Empty list elements are no extension (RFC 9110 §5.6.1.2).
		for _, v := range values {
			if strings.Trim(v, ", \t") != "" {
				return nil, &HandshakeError{Reason: "server accepted extension " + httptoken.Shown(v) + ", which was not offered"}
			}
		}
		return nil, nil
	}
	do := deflateOptions(o)
	p, ok, err := deflate.Accept(do, values)
	if err != nil {
		return nil, &HandshakeError{Reason: "permessage-deflate: " + detail(err)}
	}
	if !ok {
		return nil, nil
	}
	return &compression{params: p, level: do.Level, threshold: do.EffectiveThreshold(p)}, nil
}

// Compression returns the permessage-deflate parameters in effect, and
// false when compression was not negotiated.
func (c *Conn) Compression() (CompressionParams, bool) {
	if c.ext == nil {
		return CompressionParams{}, false
	}
	p := c.ext.params
	return CompressionParams{ClientNoContextTakeover: p.ClientNoContextTakeover, ServerNoContextTakeover: p.ServerNoContextTakeover,
		ClientMaxWindowBits: p.ClientMaxWindowBits, ServerMaxWindowBits: p.ServerMaxWindowBits}, true
}

// compressor returns the message compressor; msgMu is held.
func (z *compression) compressor() *deflate.Compressor {
	if z.comp == nil {
		z.comp = z.params.NewCompressor(z.level)
	}
	return z.comp
}

// startMessage readies z for a new received message; readMu is held.
func (z *compression) startMessage() {
	if z.in == nil {
		z.inBuf = getInBuf(z.inSize + deflate.TailRoom)
		z.in = *z.inBuf
	}
	z.in = z.in[:0]
	z.inflated, z.parted, z.tried = 0, false, 0
}

// inDone gives the received message's compressed buffer back once the
// message is inflated; readMu is held.
func (z *compression) inDone() {
	z.inSize = len(z.in)
	z.in, z.inBuf = poolBack(z.in, z.inBuf)
}

// poolBack returns b, which may have outgrown the buffer bp the pool gave,
// to the pool (a buffer of a size the pools do not keep is left to the
// collector), and the nil slice and pointer its holder keeps instead.
func poolBack(b []byte, bp *[]byte) ([]byte, *[]byte) {
	if bp != nil {
		*bp = b
		putInBuf(bp)
	}
	return nil, nil
}

// largeInPools keep the buffers of received compressed messages larger
// than the write buffers' largest, in classes twice apart up to 64 MiB:
// the next message takes one of at least the last one's size, so a
// connection that receives such messages one after another allocates none
// in steady state (RecvAppend's promise), and an idle one holds none.
var largeInPools = [...]struct {
	size int
	pool sync.Pool
}{{size: 512 << 10}, {size: 1 << 20}, {size: 2 << 20}, {size: 4 << 20}, {size: 8 << 20}, {size: 16 << 20}, {size: 32 << 20}, {size: 64 << 20}}

// getInBuf returns an empty buffer for a compressed message expected to be
// about n bytes: a write buffer up to their largest size, a large one of at
// least n above it.
func getInBuf(n int) *[]byte {
	if n <= writeBufPools[len(writeBufPools)-1].size {
		return getWriteBuf(n)
	}
	for i := range largeInPools {
		if p := &largeInPools[i]; p.size >= n {
			if b, ok := p.pool.Get().(*[]byte); ok {
				return b
			}
			b := make([]byte, 0, p.size)
			return &b
		}
	}
	return getWriteBuf(n) // larger than any class: grown as it arrives
}

// putInBuf gives b back to the pool of its size, if there is one.
func putInBuf(b *[]byte) {
	for i := range largeInPools {
		if p := &largeInPools[i]; p.size == cap(*b) {
			*b = (*b)[:0]
			p.pool.Put(b)
			return
		}
	}
	putWriteBuf(b)
}

// decompressor returns the message decompressor; readMu is held.
func (z *compression) decompressor() *deflate.Decompressor {
	if z.decomp == nil {
		z.decomp = z.params.NewDecompressor()
	}
	return z.decomp
}

// inflateLimit is what the rest of the message may inflate to.
func (c *Conn) inflateLimit() int64 {
	if c.readLimit < 0 {
		return -1
	}
	return c.readLimit - c.ext.inflated
}

// inflatePart inflates what has arrived of a compressed text message at
// the end of one of its fragments, appending it to *dst, when the
// fragment ends with a sync flush (as a sender that compresses fragment by
// fragment ends each), so that invalid UTF-8 fails the connection at the
// fragment that holds it rather than at the message's end: as early as
// the bytes allow, as for a message sent uncompressed. Bytes that cannot
// be inflated yet stay for the next fragment. Bytes that do not end with
// a flush are not tried (it costs nothing to tell); after a try that
// failed (they end with one, inside a block), the next waits until they
// have doubled, so that a peer whose fragments never end between two
// blocks costs at most twice the inflating. readMu is held.
//
// With FireContFrame every message's fragments are inflated so, to be
// returned as they arrive.
func (c *Conn) inflatePart(dst *[]byte) error {
	z := c.ext
	check := c.msgOp == OpText && !c.skipUTF8
	if !check && !c.fireCont || len(z.in) < 2*z.tried || !deflate.EndsWithFlush(z.in) {
		return nil
	}
	start := len(*dst)
	out, ok := z.decompressor().DecompressPart(*dst, z.in, c.inflateLimit())
	if !ok {
		z.tried = len(z.in)
		return nil
	}
	*dst = out
	z.inflated += int64(len(out) - start)
	z.parted, z.tried = true, 0
	z.in = z.in[:0]
	if check && c.msgUTF8.Check(out[start:]) >= 0 {
		return c.fail(StatusInvalidPayload, &PayloadError{Reason: "invalid UTF-8 in text message"})
	}
	return nil
}

// readRestZ reads the rest of a compressed message that advance has begun
// and inflates it, for NextReader. advance may have read the message's
// only frame, final and empty: it is inflated at once then, not joined to
// the next frame. readMu is held.
func (c *Conn) readRestZ() (Opcode, []byte, error) {
	if c.msgOp == 0 {
		c.msgZ = false
		return c.inflate(nil, c.doneOp)
	}
	return c.readMessage(nil, 0, true, false)
}

// checkRaw takes p, a frame of a compressed message that RecvFrame returns
// as it arrived. At the message's last frame the message is inflated, held
// to the read limit and, for text, checked for UTF-8, as Recv would, and
// the output dropped: a later message that refers to its bytes (context
// takeover) then inflates too. readMu is held.
func (c *Conn) checkRaw(p []byte) error {
	z := c.ext
	z.in = append(z.in, p...)
	if c.msgOp != 0 {
		return nil // more frames of the message follow
	}
	c.msgZ = false
	out, err := z.decompressor().DecompressSpare(nil, z.in, c.readLimit)
	z.inDone()
	switch {
	case err != nil:
		return c.inflateFailed(err)
	case c.doneOp == OpText && !c.skipUTF8 && !utf8v.Valid(out):
		return c.fail(StatusInvalidPayload, &PayloadError{Reason: "invalid UTF-8 in text message"})
	}
	c.stats.inflated(int64(len(out)))
	c.msgAccepted()
	return nil
}

// inflateFailed fails the connection on err, an inflater's.
func (c *Conn) inflateFailed(err error) error {
	if errors.Is(err, deflate.ErrTooLarge) {
		return c.fail(StatusMessageTooBig, &PayloadError{Reason: "decompressed message exceeds the read limit of " + lengthString(c.readLimit)})
	}
	return c.fail(StatusInvalidPayload, &PayloadError{Reason: "permessage-deflate: " + detail(err)})
}

// readFragmentZ reads the rest of the current frame of a compressed
// message for FireContFrame and returns what can be inflated of the
// message so far: at a fragment that is not the last, what inflatePart
// gives (nothing when the bytes do not end between two blocks: they come
// with a later fragment); at the last, the rest. A timeout keeps what
// has arrived, in z.in. readMu is held.
func (c *Conn) readFragmentZ() ([]byte, error) {
	if err := c.readFrameInto(&c.ext.in, 0); err != nil {
		return nil, err
	}
	data := []byte{}
	if c.msgOp != 0 {
		return data, c.inflatePart(&data)
	}
	c.msgZ = false
	_, data, err := c.inflate(data, c.doneOp)
	return data, err
}

// inflate decompresses the received message in z.in, appending it to dst
// and bounding it by limit while inflating; readMu is held. When parts of
// the message were inflated as they arrived (inflatePart), dst ends with
// their output, and z.in holds the rest.
func (c *Conn) inflate(dst []byte, op Opcode) (Opcode, []byte, error) {
	z := c.ext
	start := len(dst)
	out, err := z.decompressor().DecompressSpare(dst, z.in, c.inflateLimit())
	z.inDone()
	if err != nil {
		return 0, dst, c.inflateFailed(err)
	}
	if op == OpText && !c.skipUTF8 {
		valid := false
		if z.parted {
			valid = c.msgUTF8.Check(out[start:]) < 0 && c.msgUTF8.Done()
		} else {
			valid = utf8v.Valid(out[start:])
		}
		if !valid {
			return 0, dst, c.fail(StatusInvalidPayload, &PayloadError{Reason: "invalid UTF-8 in text message"})
		}
	}
	c.stats.inflated(z.inflated + int64(len(out)-start))
	c.msgAccepted()
	z.inflated, z.parted = 0, false
	return op, out, nil
}

// deflateMessage compresses payload when compression is on and the message
// is long enough; msgMu is held. It reports whether it did.
func (c *Conn) deflateMessage(payload []byte) ([]byte, bool, error) {
	z := c.ext
	if z == nil || len(payload) < z.threshold {
		return payload, false, nil
	}
	comp := z.compressor()
	comp.Spin = c.helperSpins()
	out, err := comp.Compress(z.out[:0], payload)
	if err != nil {
		return nil, false, err
	}
	z.out = out
	c.compressorUsed()
	c.stats.deflated(len(payload), len(out))
	return out, true, nil
}

// helperSpins says whether the goroutine that compresses half of a large
// message (one of 32 KiB or more may be compressed on two CPUs) may wait
// for the next one by spinning a little before it exits, as a
// busy-polling reader waits for data: not with BusyPollOff. Whether a
// message splits at all is measured (the compressor splits only while
// that is faster), so a machine whose CPUs are busy stops the splits, and
// with them the helpers and their spinning.
func (c *Conn) helperSpins() bool { return c.busyPoll != BusyPollOff }

// compressorIdle is how long a connection sends no compressed message
// before its compressor is parked: the buffer of the last message's
// compressed form is dropped and, with context takeover, its flate writer
// (about 800 KiB: klauspost's level-1 encoder keeps 320 KiB of history,
// a 256 KiB token buffer, a 128 KiB hash table and a 64 KiB input window)
// goes back to the pool, and only the 32 KiB window the server's
// decompressor holds is kept (deflate.Compressor.Park). The next message
// primes a pooled writer with that window, about the cost of compressing
// 32 KiB once.
var compressorIdle = 2 * time.Second

// compressorUsed notes the end of a compressed message and arms the park
// timer; msgMu is held.
func (c *Conn) compressorUsed() {
	z := c.ext
	z.lastUse = monoNow()
	if z.parkArmed {
		return
	}
	z.parkArmed = true
	if z.parkTimer == nil {
		z.parkTimer = time.AfterFunc(compressorIdle, c.parkCompressor)
	} else {
		z.parkTimer.Reset(compressorIdle)
	}
}

// parkCompressor runs on the park timer: it parks the compressor of a
// connection that has sent no compressed message for compressorIdle (and
// drops the last message's compressed form), and looks again later
// otherwise.
func (c *Conn) parkCompressor() {
	z := c.ext
	if !c.msgMu.TryLock() {
		z.parkTimer.Reset(compressorIdle) // a message is being sent
		return
	}
	defer c.unlockMsg()
	if c.flags.has(flagClosed) {
		z.parkArmed = false
		return
	}
	if idle := time.Duration(monoNow() - z.lastUse); idle < compressorIdle {
		z.parkTimer.Reset(compressorIdle - idle)
		return
	}
	if z.comp != nil && !z.params.ClientNoContextTakeover { // without takeover the writer went back after the message
		z.comp.Park()
	}
	z.out = nil // the last message's compressed form
	z.parkArmed = false
}

// releaseCompression returns pooled flate state once the Conn is closed.
// State whose lock a sender or reader holds at that moment is returned by
// that holder as it lets the lock go (unlockMsg, unlockRead): a send that
// fails because the Conn closed under it gives back its compressor too.
func (c *Conn) releaseCompression() {
	if c.ext == nil {
		return
	}
	if c.msgMu.TryLock() {
		c.releaseCompressor()
		c.msgMu.Unlock()
		c.wakeMsgWaiters(false)
	}
	if c.readMu.TryLock() {
		c.releaseDecompressor()
		c.readMu.Unlock()
	}
}

// releaseCompressor returns the pooled compressor; msgMu is held.
func (c *Conn) releaseCompressor() {
	z := c.ext
	if z.parkTimer != nil {
		z.parkTimer.Stop()
		z.parkArmed = false
	}
	if z.comp != nil {
		z.comp.Release()
		z.comp = nil
	}
	z.out = nil
}

// releaseDecompressor returns the pooled decompressor; readMu is held.
func (c *Conn) releaseDecompressor() {
	z := c.ext
	if z.decomp != nil {
		z.decomp.Release()
		z.decomp = nil
	}
	z.in, z.inBuf = poolBack(z.in, z.inBuf)
}

// unlockMsg lets msgMu go. When the Conn closed while it was held, the
// compressor closeSocket could not take is returned here: the check comes
// after the unlock, so either this sees the close or the closer's TryLock
// comes after the unlock and succeeds.
func (c *Conn) unlockMsg() {
	c.msgMu.Unlock()
	if c.ext != nil && c.flags.has(flagClosed) && c.msgMu.TryLock() {
		c.releaseCompressor()
		c.msgMu.Unlock()
	}
	c.wakeMsgWaiters(false)
}

// unlockRead lets readMu go, returning the decompressor as unlockMsg
// returns the compressor.
func (c *Conn) unlockRead() {
	c.readMu.Unlock()
	if c.ext != nil && c.flags.has(flagClosed) && c.readMu.TryLock() {
		c.releaseDecompressor()
		c.readMu.Unlock()
	}
}
