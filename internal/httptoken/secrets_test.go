package httptoken

import "testing"

func TestRepeatsSecret(t *testing.T) {
	for _, tc := range []struct {
		text    string
		secrets []string
		cut     bool
		want    bool
	}{
		{"Bad Request", []string{"a"}, false, false},        // a short secret inside a word
		{"pw=a", []string{"a"}, false, true},                // standing alone
		{"a", []string{"a"}, false, true},                   // the whole text
		{"Forbidden", []string{"tok-SECRET"}, false, false}, // none
		{"you sent tok-SECRET-123", []string{"tok-SECRET-123"}, false, true},
		{"xtok-SECRET-123x", []string{"tok-SECRET-123"}, false, true}, // long secrets anywhere
		{"pw=s3cr", []string{"s3cr3t"}, true, true},                   // cut amid it
		{"pw=s3cr", []string{"s3cr3t"}, false, false},                 // not cut: only a start
		{"", []string{""}, false, false},
	} {
		if got := RepeatsSecret(tc.text, tc.secrets, tc.cut); got != tc.want {
			t.Errorf("RepeatsSecret(%q, %q, %v) = %v, want %v", tc.text, tc.secrets, tc.cut, got, tc.want)
		}
	}
}

func TestWithoutSecrets(t *testing.T) {
	for _, tc := range []struct {
		text    string
		secrets []string
		want    string
	}{
		{`Upgrade header is "Bearer tok-1234", not websocket`, []string{"tok-1234", "Bearer tok-1234"}, `Upgrade header is "[redacted]", not websocket`},
		{"a tok-1234 and tok-1234", []string{"tok-1234"}, "a [redacted] and [redacted]"},
		{"Bad Request", []string{"a"}, "Bad Request"},
		{"pw=a;", []string{"a"}, "pw=[redacted];"},
		{"nothing", nil, "nothing"},
	} {
		if got := WithoutSecrets(tc.text, tc.secrets); got != tc.want {
			t.Errorf("WithoutSecrets(%q, %q) = %q, want %q", tc.text, tc.secrets, got, tc.want)
		}
	}
}
