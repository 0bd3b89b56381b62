// Package utf8 validates UTF-8 incrementally, so that a text message arriving
// in fragments is rejected at the first impossible byte (RFC 6455 §8.1: an
// endpoint "MUST _Fail the WebSocket Connection_" as soon as it sees invalid
// UTF-8, and Autobahn case 6.x checks that it does so early, mid-fragment).
//
// The validator is a deterministic finite automaton over the well-formed byte
// sequences of the Unicode Standard, Table 3-7 (the same set as RFC 3629 §4),
// in the "shift DFA" encoding: the table entry for a byte packs the next state
// for every current state into one uint64, so each byte costs one table load
// (independent of the state) and one shift (dependent on it). Runs of ASCII
// are skipped 16 bytes at a time.
package utf8

import "encoding/binary"

// Validator checks a byte stream piece by piece. The zero value is ready; it
// holds one byte of state and never allocates.
type Validator struct {
	state uint8 // a DFA state: a bit offset into the dfa table entries
}

// Reset prepares v for a new stream.
func (v *Validator) Reset() { v.state = sAccept }

// Check validates p as the next piece of the stream. It returns -1 if every
// byte so far may still be part of valid UTF-8 (a sequence cut at the end of
// p is fine), else the index in p of the first byte that makes the stream
// invalid: a byte that can start no character (C0, C1, F5..FF), a
// continuation byte out of place or out of range (overlongs such as E0 80,
// surrogates ED A0..BF, code points above U+10FFFF such as F4 90), or a
// character cut short by the next lead byte. Once Check has reported an
// error the stream stays invalid: later calls return 0 until Reset.
func (v *Validator) Check(p []byte) int {
	if v.state == sError {
		return 0
	}
	s, i := run(uint64(v.state), p)
	v.state = uint8(s)
	return i
}

// Done reports whether the stream ends on a character boundary: together
// with Check returning -1 for every piece, whether the whole stream is valid.
func (v *Validator) Done() bool { return v.state == sAccept }

// Valid reports whether p is complete, valid UTF-8.
func Valid(p []byte) bool {
	s, _ := run(sAccept, p)
	return s == sAccept
}

const hiBits = 0x8080808080808080 // the top bit of each byte: set for non-ASCII

// run advances the DFA from state s over p. It returns the final state and
// -1, or sError and the index of the first byte that led to it.
func run(s uint64, p []byte) (uint64, int) {
	i := 0
	for len(p)-i >= 16 {
		if s == sAccept {
			// Between characters: skip ASCII, 32 then 16 bytes at a time.
			for len(p)-i >= 32 {
				q := p[i : i+32 : i+32]
				if (binary.LittleEndian.Uint64(q[0:8])|binary.LittleEndian.Uint64(q[8:16])|
					binary.LittleEndian.Uint64(q[16:24])|binary.LittleEndian.Uint64(q[24:32]))&hiBits != 0 {
					break
				}
				i += 32
			}
			if len(p)-i < 16 {
				break
			}
			q := p[i : i+16 : i+16]
			if (binary.LittleEndian.Uint64(q[0:8])|binary.LittleEndian.Uint64(q[8:16]))&hiBits == 0 {
				i += 16
				continue
			}
		}
		q := p[i : i+16 : i+16]
		// The error state is absorbing, so one test per block suffices; the
		// block is rescanned only to find the exact byte.
		t := s
		t = dfa[q[0]] >> (t & 63)
		t = dfa[q[1]] >> (t & 63)
		t = dfa[q[2]] >> (t & 63)
		t = dfa[q[3]] >> (t & 63)
		t = dfa[q[4]] >> (t & 63)
		t = dfa[q[5]] >> (t & 63)
		t = dfa[q[6]] >> (t & 63)
		t = dfa[q[7]] >> (t & 63)
		t = dfa[q[8]] >> (t & 63)
		t = dfa[q[9]] >> (t & 63)
		t = dfa[q[10]] >> (t & 63)
		t = dfa[q[11]] >> (t & 63)
		t = dfa[q[12]] >> (t & 63)
		t = dfa[q[13]] >> (t & 63)
		t = dfa[q[14]] >> (t & 63)
		t = dfa[q[15]] >> (t & 63)
		if t&63 == sError {
			_, j := runBytes(s, q)
			return sError, i + j
		}
		s = t & 63
		i += 16
	}
	s, j := runBytes(s, p[i:])
	if j >= 0 {
		j += i
	}
	return s, j
}

// runBytes is run one byte at a time, for short inputs and tails.
func runBytes(s uint64, p []byte) (uint64, int) {
	for i, c := range p {
		s = dfa[c] >> (s & 63)
		if s&63 == sError {
			return sError, i
		}
	}
	return s & 63, -1
}

// DFA states, as bit offsets of 6-bit fields in a dfa entry. sAccept is 0 so
// that the zero Validator starts at a character boundary.
const (
	sAccept = 6 * iota // between characters
	sTail1             // one continuation byte (80..BF) left
	sTail2             // two left, the next in 80..BF
	sE0                // after E0: two left, the next in A0..BF (no overlongs)
	sED                // after ED: two left, the next in 80..9F (no surrogates)
	sTail3             // three left, the next in 80..BF (after F1..F3)
	sF0                // after F0: three left, the next in 90..BF (no overlongs)
	sF4                // after F4: three left, the next in 80..8F (≤ U+10FFFF)
	sError             // invalid; absorbing
)

// dfa[c] holds, in the 6-bit field at offset s, the state after byte c in
// state s. Fields are 6 bits wide so that every offset fits the field.
var dfa = buildDFA()

func buildDFA() (t [256]uint64) {
	in := func(c, lo, hi int) bool { return lo <= c && c <= hi }
	for c := range 256 {
		next := func(s int) int {
			switch s {
			case sAccept: // Table 3-7, first byte
				switch {
				case c <= 0x7F:
					return sAccept
				case in(c, 0xC2, 0xDF):
					return sTail1
				case c == 0xE0:
					return sE0
				case in(c, 0xE1, 0xEC), in(c, 0xEE, 0xEF):
					return sTail2
				case c == 0xED:
					return sED
				case c == 0xF0:
					return sF0
				case in(c, 0xF1, 0xF3):
					return sTail3
				case c == 0xF4:
					return sF4
				}
			case sTail1:
				if in(c, 0x80, 0xBF) {
					return sAccept
				}
			case sTail2:
				if in(c, 0x80, 0xBF) {
					return sTail1
				}
			case sE0:
				if in(c, 0xA0, 0xBF) {
					return sTail1
				}
			case sED:
				if in(c, 0x80, 0x9F) {
					return sTail1
				}
			case sTail3:
				if in(c, 0x80, 0xBF) {
					return sTail2
				}
			case sF0:
				if in(c, 0x90, 0xBF) {
					return sTail2
				}
			case sF4:
				if in(c, 0x80, 0x8F) {
					return sTail2
				}
			}
			return sError
		}
		for s := sAccept; s <= sError; s += 6 {
			t[c] |= uint64(next(s)) << s
		}
	}
	return t
}
