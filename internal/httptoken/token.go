// Package httptoken holds the one table of token characters (RFC 9110
// §5.6.2) the module uses: header names, subprotocols, extension names and
// parameters; and how an error message shows text a peer sent: Shown, and
// RepeatsSecret and WithoutSecrets, which keep the credentials a request
// carried out of it when the peer echoes them.
package httptoken

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Shown returns s, text from a peer (a status line's reason, a header
// value), as an error message may show it: as it is when every character
// is printable or a space, else quoted with Go's escapes, so that no control
// sequence, C1 control or bidi override reaches the terminal or log that
// prints the message.
func Shown(s string) string {
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if r != ' ' && !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// IsTokenByte reports whether c is a tchar: "!#$%&'*+-.^_`|~", a digit or
// a letter.
func IsTokenByte(c byte) bool {
	const mask = 0 |
		(1<<(10)-1)<<'0' |
		(1<<(26)-1)<<'a' |
		(1<<(26)-1)<<'A' |
		1<<'!' |
		1<<'#' |
		1<<'$' |
		1<<'%' |
		1<<'&' |
		1<<'\'' |
		1<<'*' |
		1<<'+' |
		1<<'-' |
		1<<'.' |
		1<<'^' |
		1<<'_' |
		1<<'`' |
		1<<'|' |
		1<<'~'
	return ((uint64(1)<<c)&(mask&(1<<64-1)) |
		(uint64(1)<<(c-64))&(mask>>64)) != 0
}

// IsToken reports whether s is a token: one or more token bytes.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !IsTokenByte(s[i]) {
			return false
		}
	}
	return true
}

// EqualFold reports whether a and b are equal under ASCII case folding,
// as HTTP compares its tokens and RFC 6455 its header values. Unlike
// strings.EqualFold it folds no other letters: "K" (the Kelvin sign)
// is not "k", nor "ſ" (a long s) "s".
func EqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// ShownError is err with its message as Shown shows text: quoted with Go's
// escapes when it has a character that is not printable (a certificate's
// names and subject are the peer's, and the x509 errors quote them as they
// are). It wraps err, so errors.Is and errors.As see it; err when its
// message is printable already.
func ShownError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if shown := Shown(msg); shown != msg {
		return &shownError{msg: shown, err: err}
	}
	return err
}

type shownError struct {
	msg string
	err error
}

func (e *shownError) Error() string { return e.msg }
func (e *shownError) Unwrap() error { return e.err }
