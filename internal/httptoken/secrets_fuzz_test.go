package httptoken

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzWithoutSecrets: whatever the text, what WithoutSecrets returns holds
// no credential of 4 bytes or more, as sent or as a URL escapes it (its
// escapes in either case), and RepeatsSecret finds the ones it replaced.
func FuzzWithoutSecrets(f *testing.F) {
	for _, seed := range [][2]string{
		{"bad auth=dXNlcjpwYXNzMQ%3d%3D", "dXNlcjpwYXNzMQ=="},
		{`GOAWAY: "you sent Bearer tok-SEC…"`, "tok-SECRET"},
		{"wrong p%40ss%2fw0rd!", "p@ss/w0rd!"},
		{"127.0.0.1:8080", "0.0.1"},
		{"%%%3%", "%3d%"},
		{"tok-tok-SECRET-SECRET", "tok-SECRET"},
		{"bad Pa%24%24w0rd!SECRET", "Pa$$w0rd!SECRET"},
		{"auth=dXNlcjpzM2NyM3Q/Pw%253D%253D", "dXNlcjpzM2NyM3Q/Pw=="},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, text, secret string) {
		out := WithoutSecrets(text, []string{secret})
		if len(secret) < MinSecret || strings.ContainsAny(secret, "[]") || strings.Contains("[redacted]…", secret) {
			return // "[redacted]" itself may hold it
		}
		norm := upperEscapes(out)
		for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
			if strings.Contains(norm, upperEscapes(form)) {
				t.Fatalf("WithoutSecrets(%q, %q) = %q: holds %q", text, secret, out, form)
			}
		}
		if dec, _ := unescaped(out); dec != nil && strings.Contains(string(dec), secret) {
			t.Fatalf("WithoutSecrets(%q, %q) = %q: holds it escaped (%q)", text, secret, out, dec)
		}
		if out != text && strings.Count(out, "[redacted]") <= strings.Count(text, "[redacted]") {
			t.Fatalf("WithoutSecrets(%q, %q) = %q: changed without a redaction", text, secret, out)
		}
		if out != text && !RepeatsSecret(text, []string{secret}, strings.Contains(text, cutMark)) && !strings.Contains(text, cutMark) {
			t.Fatalf("WithoutSecrets(%q, %q) = %q, but RepeatsSecret finds none", text, secret, out)
		}
	})
}
