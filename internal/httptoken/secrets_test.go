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
		// URL-escaped, in either case.
		{"bad auth=dXNlcjpwYXNzMQ%3D%3D", []string{"dXNlcjpwYXNzMQ=="}, false, true},
		{"bad auth=dXNlcjpwYXNzMQ%3d%3D", []string{"dXNlcjpwYXNzMQ=="}, false, true},
		{"wrong p%40ss%2fw0rd", []string{"p@ss/w0rd"}, false, true},
		// A secret of digits next to '.' or ':' is part of an address.
		{"read tcp 127.0.0.1:53096", []string{"1"}, false, false},
		{"127.0.0.1", []string{"0"}, false, false},
		{"pin 12 refused", []string{"12"}, false, true},
		{"wrong password abc.", []string{"abc"}, false, true}, // letters count next to a full stop
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
		// Quoted as Go quotes it: each " of a Digest credential became \".
		{`Upgrade header is "Digest response=\"6629fae4\"", not websocket`, []string{`Digest response="6629fae4"`}, `Upgrade header is "[redacted]", not websocket`},
		// Cut by QuoteCut amid the credential.
		{`GOAWAY: "you sent Bearer tok-SEC…", before the response`, []string{"tok-SECRET-1234"}, `GOAWAY: "you sent Bearer [redacted]…", before the response`},
		{`"ab…"`, []string{"abcdef"}, `"ab…"`}, // two bytes say nothing
		// Escapes in lower case: the text comes back with them in upper case.
		{"see /login?auth=dXNlcjpwYXNzMQ%3d%3d&x=%2f", []string{"dXNlcjpwYXNzMQ=="}, "see /login?auth=[redacted]&x=%2F"},
		{"no secret here %2f", []string{"tok-1234"}, "no secret here %2f"}, // unchanged without one
		// Escaped by other encoders than Go's: encodeURIComponent keeps
		// "!", Python's quote "/"; and escaped twice.
		{"bad Pa%24%24w0rd!SECRET", []string{"Pa$$w0rd!SECRET"}, "bad [redacted]"},
		{"auth=dXNlcjpzM2NyM3Q/Pw%3D%3D&x=1", []string{"dXNlcjpzM2NyM3Q/Pw=="}, "auth=[redacted]&x=1"},
		{"auth=dXNlcjpwYXNzMQ%253D%253D", []string{"dXNlcjpwYXNzMQ=="}, "auth=[redacted]"},
		{"wrong password Pa%2524%2524w0rd!SECRET", []string{"Pa$$w0rd!SECRET"}, "wrong password [redacted]"},
		{"p%2540ss%252fw0rd%2521 refused", []string{"p@ss/w0rd!"}, "[redacted] refused"},
		{"p%252540ss%25252fw0rd", []string{"p@ss/w0rd"}, "[redacted]"}, // three times
		// Quoted by Go, with an escape in lower case inside.
		{`Upgrade header is "Digest uri=\"/c?r=a%2fb\", response=\"6629fae4\""`, []string{`Digest uri="/c?r=a%2fb", response="6629fae4"`}, `Upgrade header is "[redacted]"`},
		// Credentials that start with a quote (a cookie's quoted value).
		{`a " b`, []string{`"`}, `a [redacted] b`},
		{`sid="abcd" refused`, []string{`"abcd"`}, `sid=[redacted] refused`},
		{"read tcp 127.0.0.1:53096->127.0.0.1:8080: reset", []string{"1"}, "read tcp 127.0.0.1:53096->127.0.0.1:8080: reset"},
	} {
		if got := WithoutSecrets(tc.text, tc.secrets); got != tc.want {
			t.Errorf("WithoutSecrets(%q, %q) = %q, want %q", tc.text, tc.secrets, got, tc.want)
		}
	}
}

func TestQuoteCut(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"abc", 3, `"abc"`},
		{"abcd", 3, `"abc…"`},
		{"a\"b", 5, `"a\"b"`},
	} {
		if got := QuoteCut([]byte(tc.in), tc.max); got != tc.want {
			t.Errorf("QuoteCut(%q, %d) = %s, want %s", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestUpperEscapes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"%3d%3D%2f", "%3D%3D%2F"},
		{"100%", "100%"},
		{"%zz%a", "%zz%a"}, // not escapes
		{"%%3d", "%%3D"},
		{"%e2%80%a6", "%E2%80%A6"},
	} {
		if got := upperEscapes(tc.in); got != tc.want {
			t.Errorf("upperEscapes(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
