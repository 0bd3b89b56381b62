package deflate

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// This file is a raw DEFLATE (RFC 1951) decoder for whole messages held in
// memory. It accepts and rejects exactly what the standard library's
// compress/flate reader does, and produces the same output, but it decodes a
// message in one call with no reader state machine, no window copy and no
// allocation when the output fits in dst.
//
// Bit input. The decoder keeps a 64-bit little-endian bit buffer bb holding
// left valid bits (the next bit of the stream is bit 0). While 8 or more input
// bytes remain it refills with one unaligned 8-byte load: it ORs the word in
// above the valid bits and advances the input by as many whole bytes as
// fitted, which leaves 56 to 63 valid bits. The bits of bb above left are
// then the true next bits of the stream (a part of the next byte), never
// garbage, so ORing the same bytes in again at the next refill is harmless.
// Near the end of the input it refills one byte at a time and, past the end,
// with zero bytes that it counts in pad. A code is looked up with those zeros
// in place of missing bits, exactly as compress/flate does with the bits it
// has; the stream is truncated iff the bits consumed include padding (left <
// 8*pad), which is checked before anything so decoded is used.
//
// Huffman tables. Each code is decoded with one lookup in a primary table
// indexed by the next rootBits bits (codes are stored bit-reversed, as they
// arrive LSB first), and, for codes longer than rootBits, a second lookup in a
// subtable the primary entry links to. Each uint32 entry carries everything
// needed for the symbol (see the ent* constants): the bits to consume (code
// length plus the symbol's extra bits, consumed at once), the code length
// (where the extra bits start), a kind and a value, which is the literal byte,
// the match length base or the distance base. A length or distance is thus
// base + the extra bits, with no second table.
//
// Output. Decoding appends to dst in place. A fast loop runs while at least 8
// input bytes remain and there is room for the next symbol: it refills once
// per symbol or pair of literals (a 64-bit buffer holds a whole
// length/distance pair, 48 bits at most) and copies matches in 8 or 16-byte
// words, writing up to 15 bytes past the match end. Otherwise a slow step
// decodes one symbol with byte refills and exact copies, growing dst if
// needed. So when dst has room for exactly the whole output, the decoder
// neither allocates nor writes past it, and only its last matches take the
// slow step. With RFC 7692's 9-byte tail after a message, the fast loop
// decodes all of its Huffman data.

// Table geometry. The primary tables use 9 and 8 bits: enough for most of
// the codes of text, while small enough to build quickly, which matters for
// short messages, where building the tables of a dynamic block costs as much
// as decoding it (on JSON text, 9 bits beat 10 at 1 KiB by 6% and at 64 KiB
// by 4%, and 8 bits lose at 64 KiB).
const (
	litRootBits  = 9
	distRootBits = 8
	preRootBits  = 7 // code length codes are at most 7 bits: no subtables

	// The arrays hold the primary table and then the subtables. A subtable
	// of b bits exists for a complete subtree below a primary entry, which
	// takes at least b+1 codes, and b ≤ 15-rootBits; so 288 literal/length
	// codes need at most 2^9 + 41·2^6 = 3136 entries and 32 distance codes
	// at most 2^8 + 4·2^7 = 768. Powers of two let an index be masked
	// instead of bounds-checked.
	litTableSize  = 1 << 12
	distTableSize = 1 << 10
	preTableSize  = 1 << preRootBits

	maxLitCodes  = 286 // HLIT + 257 must not exceed this (as compress/flate)
	maxDistCodes = 30  // HDIST + 1 must not exceed this
	numPreCodes  = 19

	// fastInMargin is the input the fast loop needs to refill with one
	// 8-byte load.
	fastInMargin = 8
	// fastOutMargin is the room the fast loop needs for an iteration's
	// literals; a match needs its length plus copySlack.
	fastOutMargin = 2
	// copySlack is how far copying a match 16 bytes at a time may write
	// beyond its end.
	copySlack = 15
)

// A table entry, as a uint32.
const (
	entBitsMask     = 0x1f    // bits 0-4: bits to consume: code length + extra bits
	entLit          = 1 << 5  // a literal byte, the value
	entLink         = 1 << 6  // a link: value is the subtable's index, bits 12-14 its size
	entEnd          = 1 << 7  // end of block
	entCodeLenShift = 8       // bits 8-11: the code length, where the extra bits start
	entSubBitsShift = 12      // bits 12-14: a link's subtable index bits
	entBad          = 1 << 15 // no symbol: an unused code, or symbol 286, 287 (lengths), 30, 31 (distances)
	entValueShift   = 16      // bits 16-31: literal, length base, distance base, subtable index
)

type (
	litTable  [litTableSize]uint32
	distTable [distTableSize]uint32
)

// Per symbol, the entry less its code length: kind, value, and the number of
// extra bits in the bits-to-consume field, to which the code length is
// added (RFC 1951 §3.2.5 for the lengths and distances).
var litInfo, distInfo, preInfo = func() (lit [288]uint32, dist [32]uint32, pre [numPreCodes]uint32) {
	for sym := range 256 {
		lit[sym] = entLit | uint32(sym)<<entValueShift
	}
	lit[256] = entEnd
	base := uint32(3)
	for sym := 257; sym < 285; sym++ {
		extra := uint32(0)
		if sym >= 265 {
			extra = uint32(sym-261) / 4
		}
		lit[sym] = base<<entValueShift | extra
		base += 1 << extra
	}
	lit[285] = 258 << entValueShift
	lit[286], lit[287] = entBad, entBad
	for sym := range 30 {
		base, extra := uint32(sym+1), uint32(0)
		if sym >= 4 {
			extra = uint32(sym-2) / 2
			base = (2+uint32(sym&1))<<extra + 1
		}
		dist[sym] = base<<entValueShift | extra
	}
	dist[30], dist[31] = entBad, entBad
	for sym := range numPreCodes {
		pre[sym] = uint32(sym) << entValueShift
	}
	pre[16] |= 2 // repeat the previous length 3–6 times
	pre[17] |= 3 // 3–10 zeros
	pre[18] |= 7 // 11–138 zeros
	return
}()

// The tables of fixed Huffman blocks (RFC 1951 §3.2.6), built once.
var fixedLit, fixedDist = func() (*litTable, *distTable) {
	var c codeLengths
	c.add(0, 144, 8)
	c.add(144, 112, 9)
	c.add(256, 24, 7)
	c.add(280, 8, 8)
	lt, dt := new(litTable), new(distTable)
	buildTable(lt[:], litRootBits, &c, litInfo[:])
	c.reset()
	c.add(0, 32, 5)
	buildTable(dt[:], distRootBits, &c, distInfo[:])
	return lt, dt
}()

// The code length code lengths come in this order (RFC 1951 §3.2.7).
var preOrder = [numPreCodes]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// The errors of invalid data; they are made once so that failing is cheap
// too.
var (
	errUnexpectedEnd = fmt.Errorf("%w: unexpected end of data", ErrInvalidData)
	errBlockType     = fmt.Errorf("%w: reserved block type", ErrInvalidData)
	errFinalInPrefix = fmt.Errorf("%w: final block before the end of the message", ErrInvalidData)
	errStoredLength  = fmt.Errorf("%w: stored block length does not match its complement", ErrInvalidData)
	errTooManyCodes  = fmt.Errorf("%w: too many length or distance codes", ErrInvalidData)
	errCodeLengths   = fmt.Errorf("%w: invalid Huffman code lengths", ErrInvalidData)
	errRepeat        = fmt.Errorf("%w: invalid code length repeat", ErrInvalidData)
	errNoEnd         = fmt.Errorf("%w: no end-of-block code", ErrInvalidData)
	errBadSymbol     = fmt.Errorf("%w: invalid Huffman code", ErrInvalidData)
	errDistance      = fmt.Errorf("%w: distance too far back", ErrInvalidData)
)

// codeLengths describes a Huffman code by its code lengths (RFC 1951
// §3.2.2): the number of codes of each length, and the runs of symbols that
// have the same length, other than 0, in symbol order. Runs are what the
// code length codes give, and building a table from them (rather than from
// one length per symbol, mostly 0) saves a pass over all the symbols.
type codeLengths struct {
	count [16]uint16
	runs  [288]uint32 // first symbol<<16 | number of symbols<<4 | length
	nruns int

	sorted [288]uint16 // buildTable's scratch space
}

func (c *codeLengths) reset() {
	c.count = [16]uint16{}
	c.nruns = 0
}

// add gives the n symbols from sym on the length l, 1–15.
func (c *codeLengths) add(sym, n int, l uint8) {
	c.count[l&15] += uint16(n)
	c.runs[c.nruns] = uint32(sym)<<16 | uint32(n)<<4 | uint32(l&15)
	c.nruns++
}

// buildTable fills t, a primary table of 1<<root entries followed by room
// for subtables, for the canonical Huffman code c, with entries info[sym]
// plus the code length. It reports false if the code is over-subscribed or
// incomplete, except as compress/flate accepts: no code at all (every entry
// is then entBad, so using the table fails) and a single code of length 1
// (the other one-bit code is entBad).
//
// The primary table is built from short to long codes: at length l it holds
// the entries for 2^l indexes; doubling it copies the first half into the
// second (a shorter code's entries repeat every 2^l), after which the codes
// of length l+1, each present once, are stored. This writes each entry about
// once, mostly with copy, which is the fast part of building a table. A
// complete code leaves no entry unwritten, so t need not be cleared first.
func buildTable(t []uint32, root uint, c *codeLengths, info []uint32) bool {
	minLen, maxLen := uint(1), uint(15)
	for maxLen > 0 && c.count[maxLen] == 0 {
		maxLen--
	}
	if maxLen == 0 {
		for i := range t[:1<<root] {
			t[i] = entBad
		}
		return true
	}
	for c.count[minLen] == 0 {
		minLen++
	}
	// Kraft sum scaled by 2^maxLen, as compress/flate checks it.
	sum := 0
	for l := minLen; l <= maxLen; l++ {
		sum = sum<<1 + int(c.count[l])
	}
	if sum != 1<<maxLen && (sum != 1 || maxLen != 1) {
		return false
	}

	// Symbols sorted by code length, then by value: canonical code order.
	var next [16]int
	for l, k := 1, 0; l < 16; l++ {
		next[l] = k
		k += int(c.count[l])
	}
	sorted := &c.sorted
	for _, r := range c.runs[:c.nruns] {
		l, sym, n := r&15, uint16(r>>16), int(r>>4&0xfff)
		k := next[l]
		next[l] = k + n
		if n == 1 { // most runs, a literal's length
			sorted[k] = sym
			continue
		}
		for i := range n {
			sorted[k+i] = sym + uint16(i)
		}
	}

	first := min(minLen, root)
	size := 1 << first
	if sum == 1 {
		t[1] = entBad // the single code is 0
	}
	code, k := 0, 0 // the next canonical code (MSB first) and its symbol's index in sorted
	for l := first; l <= root; l++ {
		if l > first {
			copy(t[size:2*size], t[:size])
			size *= 2
		}
		lbits := uint32(l) + uint32(l)<<entCodeLenShift
		for range c.count[l] {
			rev := bits.Reverse16(uint16(code)) >> (16 - l)
			t[rev] = info[sorted[k]] + lbits
			code++
			k++
		}
		code <<= 1
	}

	// Longer codes, in canonical order, share a primary entry with the
	// codes of the same first root bits, which follow each other. A
	// subtable is as deep as the longest code below its entry: the codes
	// left of each length tell how deep that is, as in zlib.
	left := c.count
	prefix, sub, subBits := -1, 1<<root, uint(0)
	free := sub // the first free entry after the subtables so far
	for l := root + 1; l <= maxLen; l++ {
		lbits := uint32(l) + uint32(l)<<entCodeLenShift
		for range c.count[l] {
			rev := int(bits.Reverse16(uint16(code)) >> (16 - l))
			if p := rev & (1<<root - 1); p != prefix {
				subBits = l - root
				room := 1 << subBits
				for subBits+root < maxLen {
					room -= int(left[subBits+root])
					if room <= 0 {
						break
					}
					subBits++
					room <<= 1
				}
				prefix, sub = p, free
				free += 1 << subBits
				t[p] = entLink | uint32(sub)<<entValueShift | uint32(subBits)<<entSubBitsShift
			}
			e := info[sorted[k]] + lbits
			for j := rev >> root; j < 1<<subBits; j += 1 << (l - root) {
				t[sub+j] = e
			}
			left[l]--
			code++
			k++
		}
		code <<= 1
	}
	return true
}

// fastInflater decodes raw DEFLATE data. Its zero value is ready; it holds
// the Huffman tables of dynamic blocks so that decoding allocates nothing.
// Not safe for concurrent use; the caller pools it.
type fastInflater struct {
	lit  litTable
	dist distTable
	pre  [preTableSize]uint32

	litLens, distLens, preLens codeLengths

	// in is the Decompressor's copy of the message it inflates: it stays
	// with the pooled inflater, not with an idle connection.
	in []byte
}

// decoder is the state of one inflate call.
type decoder struct {
	in   []byte
	ip   int    // next byte of in to load into bb
	bb   uint64 // bit buffer, next bit lowest
	left uint   // valid bits in bb, padding included
	pad  int    // zero bytes loaded past the end of in

	out    []byte // dst, as long as it may be written: min(its capacity, maxEnd)
	op     int    // output position
	start  int    // len(dst) at entry
	maxEnd int    // start + limit: out may not grow past it
	prior  int    // output of the message before start (inflateMsg)
	hist   []byte
}

// inflate decodes src, a complete raw DEFLATE stream, and appends the output
// to dst.
//
// hist is the output that logically precedes dst's new bytes (the sliding
// window of earlier messages, newest byte last; may be empty; it must not
// overlap dst's spare capacity): a match may copy from hist and from the
// bytes already produced by this call; a distance further back than
// len(hist)+produced is invalid data.
//
// Decoding stops at the end of the first block with BFINAL set; bytes after
// it are ignored. If src ends before that, it is invalid data.
//
// limit < 0: no limit. Otherwise it fails with ErrTooLarge as soon as the
// output of this call would exceed limit bytes, and it never grows dst to a
// capacity beyond len(dst)+limit: a peer must not make us allocate on a
// length it chose.
//
// dst grows by amortised doubling when full; when it has room for the whole
// output it is neither grown nor written beyond that room (but its spare
// capacity may be written even when the call fails).
//
// On error it returns dst[:len(dst)] and ErrTooLarge or an error wrapping
// ErrInvalidData.
func (f *fastInflater) inflate(dst, hist, src []byte, limit int64) ([]byte, error) {
	return f.inflateMsg(dst, hist, src, limit, false, 0)
}

// inflateMsg is inflate for a message that may come in parts. With
// prefix, src is the start of a stream rather than a whole one: decoding
// ends, with no error, exactly where src ends between two blocks (after a
// sync flush); src ending within a block, or a final block in it, is an
// error. prior is how much output of the same message dst holds before
// its end (parts inflated earlier): dst grows by doubling the message, not
// this call's share of it.
func (f *fastInflater) inflateMsg(dst, hist, src []byte, limit int64, prefix bool, prior int) ([]byte, error) {
	start := len(dst)
	d := decoder{in: src, op: start, start: start, maxEnd: math.MaxInt, hist: hist, prior: prior}
	if limit >= 0 && limit < int64(math.MaxInt-start) {
		d.maxEnd = start + int(limit)
	}
	d.out = dst[:min(cap(dst), d.maxEnd)]
	for {
		if prefix && 8*(d.ip+d.pad)-int(d.left) == 8*len(src) {
			return d.out[:d.op], nil // src ends between two blocks
		}
		d.refill()
		hdr := d.bb & 7
		d.bb >>= 3
		d.left -= 3
		if d.truncated() {
			return dst[:start], errUnexpectedEnd
		}
		var err error
		switch hdr >> 1 {
		case 0:
			err = d.storedBlock()
		case 1:
			err = d.huffmanBlock(fixedLit, fixedDist)
		case 2:
			if err = f.readTables(&d); err == nil {
				err = d.huffmanBlock(&f.lit, &f.dist)
			}
		default:
			err = errBlockType
		}
		if err != nil {
			return dst[:start], err
		}
		if hdr&1 != 0 {
			if prefix {
				// The stream ends here, and what follows src would
				// not be part of it: src is not a prefix to go on from.
				return dst[:start], errFinalInPrefix
			}
			return d.out[:d.op], nil
		}
	}
}

// refill tops bb up to at least 56 bits, loading zero bytes past the end of
// the input (see truncated).
func (d *decoder) refill() {
	if d.ip <= len(d.in)-8 {
		d.bb |= binary.LittleEndian.Uint64(d.in[d.ip:]) << (d.left & 63)
		d.ip += int((63 - d.left) >> 3)
		d.left |= 56
		return
	}
	for d.left < 56 {
		if d.ip < len(d.in) {
			d.bb |= uint64(d.in[d.ip]) << d.left
			d.ip++
		} else {
			d.pad++
		}
		d.left += 8
	}
}

// truncated reports whether the bits consumed include padding: the data
// ended in the middle of what was decoded.
func (d *decoder) truncated() bool {
	return d.left < uint(d.pad)*8
}

// room makes room for n more bytes of output, growing out if it must. It
// fails with ErrTooLarge if that would pass the limit.
func (d *decoder) room(n int) error {
	if n <= len(d.out)-d.op {
		return nil
	}
	if n > d.maxEnd-d.op {
		return ErrTooLarge
	}
	// Double the message's output so far, or start with twice the
	// input; but past half the limit, take all of it at once. The buffers
	// allocated then add up to twice the limit at most, not three times.
	// The message's output includes what earlier parts of it inflated
	// (prior): doubling only this call's share would copy the message at
	// every part, quadratic in its fragments.
	so := d.op - d.start + d.prior
	grow := max(so, 2*len(d.in), 512, n)
	size := d.maxEnd
	if so+grow <= (d.maxEnd-d.start)/2+d.prior/2 {
		size = d.op + grow
	}
	out := make([]byte, size)
	copy(out, d.out[:d.op])
	d.out = out
	return nil
}

// storedBlock copies a stored block (RFC 1951 §3.2.4) to the output.
func (d *decoder) storedBlock() error {
	// Skip to the byte boundary: the input position of the next bit,
	// rounded up. (The block header was not truncated, so it is within in.)
	p := (8*(d.ip+d.pad) - int(d.left) + 7) / 8
	d.bb, d.left, d.pad = 0, 0, 0
	if len(d.in)-p < 4 {
		return errUnexpectedEnd
	}
	n := int(binary.LittleEndian.Uint16(d.in[p:]))
	if uint16(n) != ^binary.LittleEndian.Uint16(d.in[p+2:]) {
		return errStoredLength
	}
	p += 4
	if len(d.in)-p < n {
		return errUnexpectedEnd
	}
	if err := d.room(n); err != nil {
		return err
	}
	d.op += copy(d.out[d.op:], d.in[p:p+n])
	d.ip = p + n
	return nil
}

// readTables reads the code lengths of a dynamic block (RFC 1951 §3.2.7) and
// builds f.lit and f.dist, with the checks of compress/flate.
func (f *fastInflater) readTables(d *decoder) error {
	d.refill()
	nlit := int(d.bb&31) + 257
	ndist := int(d.bb>>5&31) + 1
	npre := int(d.bb>>10&15) + 4
	d.bb >>= 14
	d.left -= 14
	if d.truncated() {
		return errUnexpectedEnd
	}
	if nlit > maxLitCodes || ndist > maxDistCodes {
		return errTooManyCodes
	}
	var preLens [numPreCodes]uint8
	for _, sym := range preOrder[:npre] {
		if d.left < 3 {
			d.refill()
		}
		preLens[sym] = uint8(d.bb & 7)
		d.bb >>= 3
		d.left -= 3
	}
	if d.truncated() {
		return errUnexpectedEnd
	}
	f.preLens.reset()
	for sym, l := range preLens {
		if l != 0 {
			f.preLens.add(sym, 1, l)
		}
	}
	if !buildTable(f.pre[:], preRootBits, &f.preLens, preInfo[:]) {
		return errCodeLengths
	}

	// Code lengths: a code length code (7 bits at most) and its extra bits
	// (7 at most) are consumed at once. A run may cross from the
	// literal/length lengths into the distance ones. The bit reader is in
	// locals, which the stores into f do not force back to memory; it is
	// checked for truncation at the end.
	f.litLens.reset()
	f.distLens.reset()
	in, ip, bb, left := d.in, d.ip, d.bb, d.left
	total := nlit + ndist
	prev := uint8(0) // the length before
	hasEnd := false
	for i := 0; i < total; {
		if left < 14 {
			if ip <= len(in)-8 {
				bb |= binary.LittleEndian.Uint64(in[ip:]) << (left & 63)
				ip += int((63 - left) >> 3)
				left |= 56
			} else {
				d.ip, d.bb, d.left = ip, bb, left
				d.refill()
				ip, bb, left = d.ip, d.bb, d.left
			}
		}
		e := f.pre[bb&(preTableSize-1)]
		if e&entBad != 0 {
			return errCodeLengths
		}
		n := uint(e & entBitsMask)
		extra := int(bb&(1<<n-1)) >> (e >> entCodeLenShift & 15)
		bb >>= n
		left -= n
		l, rep := uint8(e>>entValueShift), 1
		if l >= 16 {
			switch l {
			case 16:
				if i == 0 {
					return errRepeat
				}
				l, rep = prev, 3+extra
			case 17:
				l, rep = 0, 3+extra
			default:
				l, rep = 0, 11+extra
			}
			if rep > total-i {
				return errRepeat
			}
		}
		prev = l
		if l != 0 {
			if i < nlit {
				n := min(rep, nlit-i)
				f.litLens.add(i, n, l)
				hasEnd = hasEnd || i <= 256 && 256 < i+n
				i += n
				rep -= n
			}
			if rep > 0 {
				f.distLens.add(i-nlit, rep, l)
			}
		}
		i += rep
	}
	d.ip, d.bb, d.left = ip, bb, left
	if d.truncated() {
		return errUnexpectedEnd
	}
	if !buildTable(f.lit[:], litRootBits, &f.litLens, litInfo[:]) ||
		!buildTable(f.dist[:], distRootBits, &f.distLens, distInfo[:]) {
		return errCodeLengths
	}
	// A block without an end-of-block code can only run into the end of
	// the input, where compress/flate fails too: fail now.
	if !hasEnd {
		return errNoEnd
	}
	return nil
}

// huffmanBlock decodes the symbols of a Huffman block up to its end-of-block
// code, running the fast loop whenever there is input and room enough, and
// a slow step for the symbol it stops at.
func (d *decoder) huffmanBlock(lt *litTable, dt *distTable) error {
	for {
		if d.ip <= len(d.in)-fastInMargin && d.op <= len(d.out)-fastOutMargin {
			if end, err := d.fastLoop(lt, dt); end || err != nil {
				return err
			}
		}
		if end, err := d.slowStep(lt, dt); end || err != nil {
			return err
		}
	}
}

// fastLoop decodes symbols while fastInMargin bytes of input and
// fastOutMargin bytes of room remain, and each match fits with copySlack
// bytes to spare, with the state in locals. It reports whether it decoded
// the end of the block; otherwise it stops before a symbol.
//
// Each iteration starts with at least 56 bits in bb (a length and a distance
// take 48 at most) and the entry of the next symbol looked up. It refills
// once, and looks up the next entry before refilling and before copying a
// match, so that neither the refill's load nor the copy delays it. Every
// refill follows a check that 8 bytes of input remain, with no other refill
// in between.
func (d *decoder) fastLoop(lt *litTable, dt *distTable) (end bool, err error) {
	in, ip, bb, left := d.in, d.ip, d.bb, d.left
	out, op, start, hist := d.out, d.op, d.start, d.hist
	inEnd, outEnd, matchEnd := len(in)-fastInMargin, len(out)-fastOutMargin, len(out)-copySlack
	bb |= binary.LittleEndian.Uint64(in[ip:]) << (left & 63)
	ip += int((63 - left) >> 3)
	left |= 56
	e := lt[bb&(1<<litRootBits-1)]
	for ip <= inEnd {
		if e&entLit != 0 {
			// A literal. Literals take 15 bits at most: a second
			// one and the entry after it fit in what is left without
			// refilling.
			n := uint(e & entBitsMask)
			bb >>= n
			left -= n
			out[op] = byte(e >> entValueShift)
			op++
			e = lt[bb&(1<<litRootBits-1)]
			if e&entLit != 0 {
				n = uint(e & entBitsMask)
				bb >>= n
				left -= n
				out[op] = byte(e >> entValueShift)
				op++
				e = lt[bb&(1<<litRootBits-1)]
			}
			bb |= binary.LittleEndian.Uint64(in[ip:]) << (left & 63)
			ip += int((63 - left) >> 3)
			left |= 56
			if op > outEnd {
				break
			}
			continue
		}
		if e&(entLink|entEnd|entBad) != 0 {
			if e&entLink != 0 {
				e = lt[(e>>entValueShift+uint32(bb>>litRootBits)&(1<<(e>>entSubBitsShift&7)-1))&(litTableSize-1)]
				if e&entLit != 0 {
					// The literal step again, written out: the loop's
					// state lives in locals, which a helper would spill.
					n := uint(e & entBitsMask)
					bb >>= n
					left -= n
					out[op] = byte(e >> entValueShift)
					op++
					e = lt[bb&(1<<litRootBits-1)]
					bb |= binary.LittleEndian.Uint64(in[ip:]) << (left & 63)
					ip += int((63 - left) >> 3)
					left |= 56
					if op > outEnd {
						break
					}
					continue
				}
			}
			if e&entBad != 0 {
				err = errBadSymbol
				break
			}
			if e&entEnd != 0 {
				n := uint(e & entBitsMask)
				bb >>= n
				left -= n
				end = true
				break
			}
		}
		// A match: length, then distance.
		n := uint(e & entBitsMask)
		length := int(e>>entValueShift) + int((bb&(1<<n-1))>>(e>>entCodeLenShift&15))
		if op+length > matchEnd {
			break
		}
		bb >>= n
		left -= n
		e = dt[bb&(1<<distRootBits-1)]
		if e&entLink != 0 {
			e = dt[(e>>entValueShift+uint32(bb>>distRootBits)&(1<<(e>>entSubBitsShift&7)-1))&(distTableSize-1)]
		}
		if e&entBad != 0 {
			err = errBadSymbol
			break
		}
		n = uint(e & entBitsMask)
		dist := int(e>>entValueShift) + int((bb&(1<<n-1))>>(e>>entCodeLenShift&15))
		bb >>= n
		left -= n
		// The next entry: at most 48 bits were consumed since
		// the refill, which loaded 64, so 16 are still there,
		// enough for any code.
		e = lt[bb&(1<<litRootBits-1)]
		bb |= binary.LittleEndian.Uint64(in[ip:]) << (left & 63)
		ip += int((63 - left) >> 3)
		left |= 56

		if dist <= op-start {
			src := op - dist
			switch {
			case dist >= 16:
				// Copy 16 bytes at a time, both words read
				// before either is written: they lie wholly
				// before the first written byte.
				for i := 0; i < length; i += 16 {
					w := out[op+i : op+i+16]
					r := out[src+i : src+i+16]
					w0, w1 := binary.LittleEndian.Uint64(r), binary.LittleEndian.Uint64(r[8:])
					binary.LittleEndian.PutUint64(w, w0)
					binary.LittleEndian.PutUint64(w[8:], w1)
				}
			case dist >= 8:
				// Each word read lies wholly before the
				// one written.
				for i := 0; i < length; i += 8 {
					binary.LittleEndian.PutUint64(out[op+i:], binary.LittleEndian.Uint64(out[src+i:]))
				}
			case dist == 1:
				v := uint64(out[src]) * 0x0101010101010101
				for i := 0; i < length; i += 8 {
					binary.LittleEndian.PutUint64(out[op+i:], v)
				}
			default:
				for i := range length {
					out[op+i] = out[src+i]
				}
			}
			op += length
		} else {
			// The match starts in hist: copy that part,
			// then the rest from the start of the output.
			back := dist - (op - start)
			if back > len(hist) {
				err = errDistance
				break
			}
			c := copy(out[op:op+length], hist[len(hist)-back:])
			for i := op + c; i < op+length; i++ {
				out[i] = out[i-dist]
			}
			op += length
		}
		if op > outEnd {
			break
		}
	}
	d.ip, d.bb, d.left, d.op = ip, bb, left, op
	return end, err
}

// slowStep decodes one symbol near the end of the input or of the room in
// out: it refills byte by byte, checks for truncation, and copies exactly,
// growing out when needed. It reports whether it decoded the end of the
// block.
func (d *decoder) slowStep(lt *litTable, dt *distTable) (end bool, err error) {
	d.refill()
	e := lt[d.bb&(1<<litRootBits-1)]
	if e&entLink != 0 {
		e = lt[(e>>entValueShift+uint32(d.bb>>litRootBits)&(1<<(e>>entSubBitsShift&7)-1))&(litTableSize-1)]
	}
	if e&entBad != 0 {
		return false, errBadSymbol
	}
	n := uint(e & entBitsMask)
	length := int(e>>entValueShift) + int((d.bb&(1<<n-1))>>(e>>entCodeLenShift&15))
	d.bb >>= n
	d.left -= n
	if d.truncated() {
		return false, errUnexpectedEnd
	}
	switch {
	case e&entLit != 0:
		if err := d.room(1); err != nil {
			return false, err
		}
		d.out[d.op] = byte(e >> entValueShift)
		d.op++
		return false, nil
	case e&entEnd != 0:
		return true, nil
	}

	// At least 56-20 bits are left for the distance, 28 at most.
	e = dt[d.bb&(1<<distRootBits-1)]
	if e&entLink != 0 {
		e = dt[(e>>entValueShift+uint32(d.bb>>distRootBits)&(1<<(e>>entSubBitsShift&7)-1))&(distTableSize-1)]
	}
	if e&entBad != 0 {
		return false, errBadSymbol
	}
	n = uint(e & entBitsMask)
	dist := int(e>>entValueShift) + int((d.bb&(1<<n-1))>>(e>>entCodeLenShift&15))
	d.bb >>= n
	d.left -= n
	if d.truncated() {
		return false, errUnexpectedEnd
	}
	if dist > d.op-d.start+len(d.hist) {
		return false, errDistance
	}
	if err := d.room(length); err != nil {
		return false, err
	}
	out := d.out[:d.op+length]
	if back := dist - (d.op - d.start); back > 0 {
		c := copy(out[d.op:], d.hist[len(d.hist)-back:])
		d.op += c
	}
	for i := d.op; i < len(out); i++ {
		out[i] = out[i-dist]
	}
	d.op = len(out)
	return false, nil
}
