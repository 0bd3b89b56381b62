// Package utf8 validates UTF-8 incrementally, so that a text message arriving
// in fragments is rejected at the first impossible byte (RFC 6455 §8.1).
package utf8

import "unicode/utf8"

// Validator checks a byte stream piece by piece. The zero value is ready.
type Validator struct {
	pending [4]byte
	n       int
}

// Reset prepares v for a new stream.
func (v *Validator) Reset() { v.n = 0 }

// Check validates p as the next piece of the stream. It returns -1 if every
// byte so far may still be part of valid UTF-8 (a sequence cut at the end of
// p is fine), else the index in p of the first byte that makes it invalid.
func (v *Validator) Check(p []byte) int {
	for i := 0; i < len(p); i++ {
		if v.n == 0 && p[i] < utf8.RuneSelf {
			continue
		}
		v.pending[v.n] = p[i]
		v.n++
		if utf8.FullRune(v.pending[:v.n]) {
			r, size := utf8.DecodeRune(v.pending[:v.n])
			if r == utf8.RuneError && size <= 1 {
				return i
			}
			v.n = 0
			continue
		}
		// An incomplete prefix: reject it now if no completion could be valid.
		if !validPrefix(v.pending[:v.n]) {
			return i
		}
	}
	return -1
}

// Done reports whether the stream ends on a character boundary.
func (v *Validator) Done() bool { return v.n == 0 }

// Valid reports whether p is complete, valid UTF-8.
func Valid(p []byte) bool { return utf8.Valid(p) }

func validPrefix(p []byte) bool {
	var buf [4]byte
	copy(buf[:], p)
	for c := byte(0x80); c <= 0xBF; c++ {
		for i := len(p); i < 4; i++ {
			buf[i] = c
		}
		r, size := utf8.DecodeRune(buf[:])
		if !(r == utf8.RuneError && size <= 1) && size > len(p)-1 {
			return true
		}
	}
	return false
}
