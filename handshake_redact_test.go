package websocket

import (
	"net/url"
	"strings"
	"testing"
)

func TestRedactRawURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ws://host/p?q=1", "ws://host/p?q=1"},
		{"/relative/path@x", "/relative/path@x"},
		{"ws://user@host/", "ws://xxxxx@host/"}, // a user name alone is the credential
		{"ws://key:@host/", "ws://xxxxx@host/"}, // so is one with an empty password
		{"ws://user:secret@host/p", "ws://user:xxxxx@host/p"},
		{"https://user:secret@host:8443/p?q=a@b", "https://user:xxxxx@host:8443/p?q=a@b"},
		{"//user:secret@host/p", "//user:xxxxx@host/p"},
		// Not parseable, or not as a URL with user info: nothing of the
		// user info shows.
		{"ws://user:sec/ret@host/", "ws://xxxxx@host/"},
		{"ws://user:sec#ret@host/", "ws://xxxxx@host/"},
		{"ws://user:secret@host:bad/", "ws://xxxxx@host:bad/"},
		{"ws://user:secret@ho st/", "ws://xxxxx@ho st/"},
		{"ws:user:secret@host", "ws:xxxxx@host"},
		{"user:secret@host", "user:xxxxx@host"},
		{"//user:secret@host%zz/", "//xxxxx@host%zz/"}, // "//" at the start: the user name goes too
		{"ws://@host%zz/", "ws://xxxxx@host%zz/"},
	}
	for _, tc := range tests {
		if got := redactRawURL(tc.in); got != tc.want {
			t.Errorf("redactRawURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestRedactURLError: a URL that does not parse shows no part of its
// password in the error, also when the password holds a "#" (url.Parse then
// quotes "ws://u:sec" and a bad port ":sec"); without user info the error
// is kept. A cause from where the URL is not known (a Proxy function's) is
// withheld whenever it quotes anything.
func TestRedactURLError(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		kept bool // the error is kept as it is
	}{
		{"ws://u:secret@h:bad/", false},
		{"ws://u:sec/ret@h/", false},
		{"ws://u:se%zzret@h/", false},
		{"ws://u:secret@h%zz/", false},
		{"ws://h:bad/", true},
		// url.Parse quotes the URL up to a "#" only: "ws://u:sec".
		{"ws://u:sec#ret@h/", false},
		{"wss://u:sec#ret@example.com/", false},
	} {
		_, err := url.Parse(tc.raw)
		if err == nil {
			t.Fatalf("url.Parse(%q) succeeded", tc.raw)
		}
		msg := redactURLError(err, tc.raw).Error()
		if tc.kept && msg != err.Error() {
			t.Errorf("an error without user info became %q, want %q", msg, err)
		}
		if !tc.kept && (strings.Contains(msg, "sec") || strings.Contains(msg, "ret")) {
			t.Errorf("redactURLError(%v) = %q", err, msg)
		}
	}
	_, err := url.Parse(strings.Join([]string{"http://u:sec", "#ret@proxy/"}, "")) // joined: staticcheck checks literals
	if msg := redactURLError(err, "").Error(); strings.Contains(msg, "sec") {
		t.Errorf("redactURLError(%v, \"\") = %q", err, msg)
	}
}

func TestRedactHead(t *testing.T) {
	head := "HTTP/1.1 302 Found\r\n" +
		"location: ws://bob:secret@host/x\r\n" +
		"Content-Location: /plain\r\n" +
		"Set-Cookie: a=secret\r\n" +
		"X-Folded: a\r\n" +
		"  b\r\n" +
		"Set-Cookie: b=1;\r\n" +
		"\tsecret=2\r\n" +
		"Location: ws://bob:sec\r\n" +
		" ret@host/\r\n" +
		"Authorization : secret\r\n" +
		"Location: ws://alice@host/\r\n" +
		"Content-Location: ws://bob:secret@host/\r\n" +
		"  more\r\n" +
		"\r\n" +
		"body secret"
	want := "HTTP/1.1 302 Found\n" +
		"location: ws://bob:xxxxx@host/x\n" +
		"Content-Location: /plain\n" +
		"Set-Cookie: [redacted]\n" +
		"X-Folded: a\n" +
		"  b\n" +
		"Set-Cookie: [redacted]\n" +
		" [redacted]\n" +
		"Location: [redacted]\n" +
		" [redacted]\n" +
		"Authorization: [redacted]\n" +
		"Location: ws://xxxxx@host/\n" +
		"Content-Location: [redacted]\n" +
		" [redacted]"
	if got := redactHead(head); got != want {
		t.Errorf("redactHead =\n%s\nwant\n%s", got, want)
	}
}
