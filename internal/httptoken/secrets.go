package httptoken

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// MinSecret is the length under which a secret counts only where it
// stands alone (between characters that are not letters or digits): the
// password "a" must not withhold every message with an "a" in it.
const MinSecret = 4

// RepeatsSecret reports whether text, from a peer, holds one of secrets
// (credentials the request carried) in one of the forms WithoutSecrets
// finds, or, when text was cut by a bound, ends with the first bytes (at
// least 3) of one.
func RepeatsSecret(text string, secrets []string, cut bool) bool {
	forms := secretForms(secrets)
	if repeats(upperEscapes(text), forms, cut) {
		return true
	}
	for _, v := range decodedViews(text) {
		if repeats(v.text, forms, cut) {
			return true
		}
	}
	return false
}

// repeats is RepeatsSecret over the forms of the secrets.
func repeats(text string, forms []string, cut bool) bool {
	for _, s := range forms {
		if secretAt(text, s, 0) >= 0 {
			return true
		}
		for k := min(len(s)-1, len(text)); cut && k >= 3; k-- {
			if strings.HasSuffix(text, s[:k]) {
				return true
			}
		}
	}
	return false
}

// secretForms returns the forms in which text may repeat secrets: each as
// it is, as Go quotes it (text often quotes what a peer sent, turning each
// " of a Digest credential into \"), and as a URL's query or path escapes
// it (a Location echoing a Basic credential has its = as %3D), each with
// its escapes in upper case (upperEscapes), as the text is matched; none
// empty. Escapes other encoders write are found in the text decoded
// (unescaped).
func secretForms(secrets []string) []string {
	var forms []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		quoted := strconv.Quote(s)
		for _, f := range [...]string{s, quoted[1 : len(quoted)-1], url.QueryEscape(s), url.PathEscape(s)} {
			if f = upperEscapes(f); !slices.Contains(forms, f) {
				forms = append(forms, f)
			}
		}
	}
	return forms
}

// upperEscapes returns text with the hex digits of its percent escapes in
// upper case, as url.QueryEscape writes them: %3d and %3D are the same
// byte, and a peer may write either.
func upperEscapes(text string) string {
	i := strings.IndexByte(text, '%')
	if i < 0 {
		return text
	}
	var b []byte
	for ; i >= 0 && i+2 < len(text); i = indexFrom(text, '%', i+1) {
		for _, j := range [...]int{i + 1, i + 2} {
			if c := text[j]; c >= 'a' && c <= 'f' && isHex(text[i+1]) && isHex(text[i+2]) {
				if b == nil {
					b = []byte(text)
				}
				b[j] = c - 'a' + 'A'
			}
		}
	}
	if b == nil {
		return text
	}
	return string(b)
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// indexFrom is the index of c in text at or after from, -1 when none.
func indexFrom(text string, c byte, from int) int {
	if i := strings.IndexByte(text[from:], c); i >= 0 {
		return from + i
	}
	return -1
}

// WithoutSecrets returns text with each of secrets in it replaced by
// "[redacted]", the longest first, in each of the forms RepeatsSecret
// finds (a text with one has its percent escapes in upper case), and the
// first bytes (at least 3) of one that end where QuoteCut cut a peer's
// text.
func WithoutSecrets(text string, secrets []string) string {
	forms := secretForms(secrets)
	orig, norm := text, upperEscapes(text)
	if !repeats(norm, forms, false) && !strings.Contains(text, cutMark) && !slices.ContainsFunc(decodedViews(norm),
		func(v decodedView) bool { return repeats(v.text, forms, false) }) {
		return text
	}
	text = norm
	// Longest first: a header's value before the credential after its
	// scheme, which it holds.
	slices.SortStableFunc(forms, func(a, b string) int { return len(b) - len(a) })
	for _, s := range forms {
		var b strings.Builder
		from := 0
		for i := secretAt(text, s, 0); i >= 0; i = secretAt(text, s, from) {
			b.WriteString(text[from:i])
			b.WriteString("[redacted]")
			from = i + len(s)
		}
		b.WriteString(text[from:])
		text = b.String()
	}
	if text = withoutCutSecrets(withoutEscaped(text, forms), forms); text == norm {
		return orig // nothing replaced: the escapes as they were
	}
	return text
}

// withoutEscaped replaces each of forms that text holds escaped as none of
// the forms is (JavaScript's encodeURIComponent leaves "!" as it is,
// Python's quote "/"; a URL escaped twice or three times): found in a view
// of the text with its escapes decoded (decodedViews), the escapes it was
// made of are replaced.
func withoutEscaped(text string, forms []string) string {
	type span struct{ from, to int }
	var spans []span
	for _, v := range decodedViews(text) {
		for _, s := range forms {
			for i := secretAt(v.text, s, 0); i >= 0; i = secretAt(v.text, s, i+len(s)) {
				spans = append(spans, span{v.at[i], v.at[i+len(s)]})
			}
		}
	}
	if spans == nil {
		return text
	}
	slices.SortFunc(spans, func(a, b span) int { return a.from - b.from })
	var b strings.Builder
	end := 0 // text before it is written
	for _, sp := range spans {
		if sp.from < end { // overlaps the one before
			if sp.to > end {
				end = sp.to
			}
			continue
		}
		b.WriteString(text[end:sp.from])
		b.WriteString("[redacted]")
		end = sp.to
	}
	b.WriteString(text[end:])
	return b.String()
}

// maxDecodes bounds how many times decodedViews decodes a text's escapes.
const maxDecodes = 3

// decodedView is a text with its percent escapes decoded (their hex
// digits in upper case again, as the forms are), and for each of its bytes
// where in the original text it begins (and len(text) after the last).
type decodedView struct {
	text string
	at   []int
}

// decodedViews returns text decoded once, twice and three times, as long
// as each holds an escape: an echo escaped twice by any encoder is found
// in the second.
func decodedViews(text string) []decodedView {
	var views []decodedView
	cur, at := text, []int(nil)
	for range maxDecodes {
		dec, next := unescaped(cur)
		if dec == nil {
			break
		}
		if at != nil { // back to the original text's offsets
			for i, j := range next {
				next[i] = at[j]
			}
		}
		cur, at = upperEscapes(string(dec)), next
		views = append(views, decodedView{cur, at})
	}
	return views
}

// unescaped returns text with its percent escapes decoded and, for each
// byte of that, where in text it begins (and len(text) after the last);
// nil when text has no escape.
func unescaped(text string) (dec []byte, at []int) {
	if !strings.Contains(text, "%") {
		return nil, nil
	}
	for i := 0; i < len(text); {
		at = append(at, i)
		if text[i] == '%' && i+2 < len(text) && isHex(text[i+1]) && isHex(text[i+2]) {
			dec = append(dec, unhex(text[i+1])<<4|unhex(text[i+2]))
			i += 3
			continue
		}
		dec = append(dec, text[i])
		i++
	}
	if len(dec) == len(text) {
		return nil, nil
	}
	return dec, append(at, len(text))
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// cutMark ends the part of a peer's text that QuoteCut kept.
const cutMark = "…"

// QuoteCut returns b quoted as strconv.Quote does, with at most max of its
// bytes: the cut is marked with "…" inside the quotes, where
// WithoutSecrets looks for the start of a credential cut short.
func QuoteCut(b []byte, max int) string {
	if len(b) <= max {
		return strconv.Quote(string(b))
	}
	q := strconv.Quote(string(b[:max]))
	return q[:len(q)-1] + cutMark + `"`
}

// withoutCutSecrets replaces the first bytes (at least 3) of one of forms
// that end at a cut mark.
func withoutCutSecrets(text string, forms []string) string {
	for i := strings.Index(text, cutMark); i >= 0; {
		for _, s := range forms {
			for k := min(len(s)-1, i); k >= 3; k-- {
				if strings.HasSuffix(text[:i], s[:k]) {
					text = text[:i-k] + "[redacted]" + text[i:]
					i += len("[redacted]") - k
					break
				}
			}
		}
		j := strings.Index(text[i+len(cutMark):], cutMark)
		if j < 0 {
			break
		}
		i += len(cutMark) + j
	}
	return text
}

// secretAt returns the index of the first s in text at or after from, -1
// when none. A short s counts only where it stands alone, and a short s
// of digits not next to a '.' or ':' either: the password "1" must not
// withhold parts of the addresses in a socket's error (127.0.0.1:8080).
func secretAt(text, s string, from int) int {
	for from <= len(text) {
		i := strings.Index(text[from:], s)
		if i < 0 {
			return -1
		}
		i += from
		j := i + len(s)
		if len(s) >= MinSecret || (!isAlnumAt(text, i-1) && !isAlnumAt(text, j) &&
			!(isDigits(s) && (isAddrSepAt(text, i-1) || isAddrSepAt(text, j)))) {
			return i
		}
		from = i + 1
	}
	return -1
}

// isDigits reports whether s is all ASCII digits.
func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isAddrSepAt reports whether text has a '.' or ':' at i: what separates
// the numbers of an address.
func isAddrSepAt(text string, i int) bool {
	return i >= 0 && i < len(text) && (text[i] == '.' || text[i] == ':')
}

// isAlnumAt reports whether text has an ASCII letter or digit at i.
func isAlnumAt(text string, i int) bool {
	if i < 0 || i >= len(text) {
		return false
	}
	c := text[i]
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
