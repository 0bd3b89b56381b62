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
// (credentials the request carried), or, when text was cut by a bound,
// ends with the first bytes (at least 3) of one.
func RepeatsSecret(text string, secrets []string, cut bool) bool {
	for _, s := range secrets {
		if s == "" {
			continue
		}
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

// WithoutSecrets returns text with each of secrets in it replaced by
// "[redacted]", the longest first: as it is, as Go quotes it (text often
// quotes what a peer sent, turning each " of a Digest credential into
// \"), as a URL's query or path escapes it (a Location echoing a Basic
// credential has its = as %3D), and the first bytes (at least 3) of one
// that end where QuoteCut cut a peer's text.
func WithoutSecrets(text string, secrets []string) string {
	var forms []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		forms = append(forms, s)
		for _, f := range [...]string{strconv.Quote(s), url.QueryEscape(s), url.PathEscape(s)} {
			if f[0] == '"' {
				f = f[1 : len(f)-1]
			}
			if f != s && !slices.Contains(forms, f) {
				forms = append(forms, f)
			}
		}
	}
	if !RepeatsSecret(text, forms, false) && !strings.Contains(text, cutMark) {
		return text
	}
	// Longest first: a header's value before the credential after its
	// scheme, which it holds.
	slices.SortStableFunc(forms, func(a, b string) int { return len(b) - len(a) })
	for _, s := range forms { // none empty
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
	return withoutCutSecrets(text, forms)
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
// when none; a short s counts only where it stands alone.
func secretAt(text, s string, from int) int {
	for from <= len(text) {
		i := strings.Index(text[from:], s)
		if i < 0 {
			return -1
		}
		i += from
		if len(s) >= MinSecret || (!isAlnumAt(text, i-1) && !isAlnumAt(text, i+len(s))) {
			return i
		}
		from = i + 1
	}
	return -1
}

// isAlnumAt reports whether text has an ASCII letter or digit at i.
func isAlnumAt(text string, i int) bool {
	if i < 0 || i >= len(text) {
		return false
	}
	c := text[i]
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
