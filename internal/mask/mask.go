// Package mask applies the RFC 6455 §5.3 masking transform.
//
// Every client-to-server frame is XORed with a 4-byte key (RFC 6455 §5.3),
// so masking touches every payload byte a client sends: it runs a word (or,
// on amd64, a SIMD vector) at a time rather than a byte at a time.
package mask

import (
	"encoding/binary"
	"math/bits"
)

// Apply XORs b in place with key, starting at key byte pos&3, and returns the
// key position after b ((pos+len(b))&3), so a payload can be masked in pieces.
// Applying it twice with the same key and pos restores b.
func Apply(key [4]byte, pos int, b []byte) int {
	return apply(key, pos, b)
}

// Copy writes src XORed with key, starting at key byte pos&3, into
// dst[:len(src)] and returns the key position after src ((pos+len(src))&3).
// It masks while copying, so a sender can mask a payload straight into its
// write buffer without a separate copy pass. dst and src must either be the
// same slice (then Copy is Apply) or not overlap at all; Copy panics if
// len(dst) < len(src).
func Copy(dst, src []byte, key [4]byte, pos int) int {
	if len(dst) < len(src) {
		panic("websocket: mask.Copy: dst shorter than src")
	}
	return maskCopy(dst[:len(src)], src, key, pos)
}

// keyWord returns the key as a little-endian word rotated so that its low
// byte is key[pos&3]: byte i of the word masks the i-th byte of the data.
func keyWord(key [4]byte, pos int) uint32 {
	return bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*(pos&3))
}

// applyGeneric is the portable word-at-a-time version of Apply. It is also
// the reference the assembly is tested against.
func applyGeneric(key [4]byte, pos int, b []byte) int {
	next := (pos + len(b)) & 3
	k := keyWord(key, pos)
	k64 := uint64(k) | uint64(k)<<32
	// Unaligned 8-byte loads compile to single instructions on every 64-bit
	// port that matters (amd64, arm64, ppc64le, riscv64 with Zicclsm, …).
	// Four words per iteration hide the load-to-use latency.
	i := 0
	for ; len(b)-i >= 32; i += 32 {
		w := b[i : i+32 : i+32]
		binary.LittleEndian.PutUint64(w[0:8], binary.LittleEndian.Uint64(w[0:8])^k64)
		binary.LittleEndian.PutUint64(w[8:16], binary.LittleEndian.Uint64(w[8:16])^k64)
		binary.LittleEndian.PutUint64(w[16:24], binary.LittleEndian.Uint64(w[16:24])^k64)
		binary.LittleEndian.PutUint64(w[24:32], binary.LittleEndian.Uint64(w[24:32])^k64)
	}
	b = b[i:]
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b[0:8], binary.LittleEndian.Uint64(b[0:8])^k64)
		b = b[8:]
	}
	// Whole words keep the key phase, so k still lines up with b[0].
	if len(b) >= 4 {
		binary.LittleEndian.PutUint32(b[0:4], binary.LittleEndian.Uint32(b[0:4])^k)
		b = b[4:]
	}
	for i := range b {
		b[i] ^= byte(k >> (8 * i))
	}
	return next
}

// copyGeneric is the portable word-at-a-time version of Copy; len(dst) must
// equal len(src).
func copyGeneric(dst, src []byte, key [4]byte, pos int) int {
	next := (pos + len(src)) & 3
	k := keyWord(key, pos)
	k64 := uint64(k) | uint64(k)<<32
	dst = dst[:len(src)]
	i := 0
	for ; len(src)-i >= 32; i += 32 {
		s, d := src[i:i+32:i+32], dst[i:i+32:i+32]
		binary.LittleEndian.PutUint64(d[0:8], binary.LittleEndian.Uint64(s[0:8])^k64)
		binary.LittleEndian.PutUint64(d[8:16], binary.LittleEndian.Uint64(s[8:16])^k64)
		binary.LittleEndian.PutUint64(d[16:24], binary.LittleEndian.Uint64(s[16:24])^k64)
		binary.LittleEndian.PutUint64(d[24:32], binary.LittleEndian.Uint64(s[24:32])^k64)
	}
	dst, src = dst[i:], src[i:]
	for len(src) >= 8 && len(dst) >= 8 {
		binary.LittleEndian.PutUint64(dst[0:8], binary.LittleEndian.Uint64(src[0:8])^k64)
		dst, src = dst[8:], src[8:]
	}
	if len(src) >= 4 && len(dst) >= 4 {
		binary.LittleEndian.PutUint32(dst[0:4], binary.LittleEndian.Uint32(src[0:4])^k)
		dst, src = dst[4:], src[4:]
	}
	for i := range src {
		dst[i] = src[i] ^ byte(k>>(8*i))
	}
	return next
}
