package websocket

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wsclient/websocket/internal/httptoken"
	"golang.org/x/net/http/httpguts"
)

// FuzzRequestHead builds the opening request from any URL and any values of
// the options that reach the wire (a header, Cookie, Host, Origin, a
// subprotocol, the URL's user info) and checks the promise that none of
// them can change the request's shape: either the dial is refused with a
// "websocket:" error before anything is sent, or the head is one request
// line of three parts, then header lines of a token, ": " and a value with
// no control character but tabs, then an empty line; the library's own headers appear
// once each; the user's header and cookie arrive with the values given;
// the target means what the URL's path and query mean; and the HTTP/2
// request carries the same target.
func FuzzRequestHead(f *testing.F) {
	f.Add("ws://h/chat?room=1", "X-Token", "abc", "a=1", "", "", "chat")
	f.Add("ws://h/?a HTTP/1.0", "X-A", "v", "", "", "", "")
	f.Add("wss://u:p@h:8443/p?q=\"<x>'#f", "Authorization", "Bearer x", "", "example.com", "https://o", "")
	f.Add("ws://h/\u00e9?\u00e9=%zz", "Cookie", "b=2", "c=3", "", "", "")
	f.Add("ws://h/a%2Fb/\u00fc c?q", "X-A", "v", "", "", "", "") // an escaped "/" beside bytes to escape
	f.Add("ws://h/?x", "X-Evil", "a\r\nX-Injected: 1", "", "", "", "")
	f.Add("ws://h/", "Host", "other", "", "h\nX: 1", "", "")
	f.Add("ws://h/", "", "", "", "b\u00fccher.example:81", "", "")
	f.Add("ws://[::1]:80/", "Origin", "o", "", "", "", "a b")
	f.Add("ws://h/", "Origin", "", "", "", "", "")                       // an empty Origin header replaces the default too
	f.Add("ws://h/", "Origin", "https://hdr", "", "", "https://opt", "") // the header's Origin is sent instead of the option's
	f.Add("ws://[fe80::1%25en0]:8080/", "X", "", "", "", "", "")
	f.Add("wss://b\u00fccher.example/", "X", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, rawURL, name, value, cookie, host, origin, proto string) {
		opts := &DialOptions{Header: http.Header{name: {value}}, Cookie: cookie, Host: host, Origin: origin}
		if proto != "" {
			opts.Subprotocols = []string{proto}
		}
		cfg, err := resolveDial(rawURL, opts)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		u := cfg.url
		user, err := userHeaders(u, &cfg.req, true)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		var key [24]byte
		newChallengeKey(&key)
		head := string(appendRequest(nil, u, &cfg.req, user, key[:]))

		body, ok := strings.CutSuffix(head, "\r\n\r\n")
		if !ok {
			t.Fatalf("head does not end with an empty line: %q", head)
		}
		lines := strings.Split(body, "\r\n")
		for _, l := range lines {
			if strings.ContainsAny(l, "\r\n\x00") {
				t.Fatalf("line %q holds CR, LF or NUL", l)
			}
		}
		method, rest, _ := strings.Cut(lines[0], " ")
		target, proto11, _ := strings.Cut(rest, " ")
		if method != "GET" || proto11 != "HTTP/1.1" || target == "" || target[0] != '/' {
			t.Fatalf("request line %q", lines[0])
		}
		for i := 0; i < len(target); i++ {
			if c := target[i]; c <= ' ' || c >= 0x7f {
				t.Fatalf("request target %q holds byte %#x", target, c)
			}
		}
		checkTargetMeaning(t, u, target)
		if p := h2Request(u, &cfg.req, user).Path; p != target {
			t.Fatalf("HTTP/2 :path %q, HTTP/1.1 target %q", p, target)
		}

		got := http.Header{}
		for _, l := range lines[1:] {
			k, v, ok := strings.Cut(l, ": ")
			if !ok || !httptoken.IsToken(k) {
				t.Fatalf("header line %q", l)
			}
			if !httpguts.ValidHeaderFieldValue(v) {
				t.Fatalf("header line %q holds a control character", l)
			}
			got[http.CanonicalHeaderKey(k)] = append(got[http.CanonicalHeaderKey(k)], v)
		}
		if !httpguts.ValidHostHeader(got.Get("Host")) { // as HTTP/2's :authority must be
			t.Fatalf("Host %q", got.Get("Host"))
		}
		for _, k := range []string{"Host", "Origin", "Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version"} {
			if len(got[k]) != 1 {
				t.Fatalf("%s sent %d times: %q", k, len(got[k]), head)
			}
		}
		if got.Get("Sec-Websocket-Key") != string(key[:]) {
			t.Fatalf("key %q, want %q", got.Get("Sec-Websocket-Key"), key[:])
		}
		ck := http.CanonicalHeaderKey(name)
		switch {
		case host != "":
			want, err := hostOption(host) // a name not ASCII goes in IDNA form
			if err != nil || got.Get("Host") != want {
				t.Fatalf("Host %q, want the option's %q (%q, %v)", got.Get("Host"), host, want, err)
			}
		case ck == "Host" && value != "":
			if got.Get("Host") != value {
				t.Fatalf("Host %q, want the header's %q", got.Get("Host"), value)
			}
		default: // from the URL: an ASCII name, no zone
			h := got.Get("Host")
			for i := 0; i < len(h); i++ {
				if c := h[i]; c <= ' ' || c >= 0x7f || c == '%' {
					t.Fatalf("Host %q from the URL holds byte %#x", h, c)
				}
			}
		}
		switch ck {
		case "Host", "Authorization":
		case "Cookie":
			want := value
			if cookie != "" {
				want = strings.Join([]string{value, cookie}, "; ")
			}
			if got.Get("Cookie") != want {
				t.Fatalf("Cookie %q, want %q", got.Get("Cookie"), want)
			}
		default:
			if vs := got[ck]; len(vs) == 0 || vs[len(vs)-1] != value {
				t.Fatalf("%s %q, want %q last", ck, vs, value)
			}
		}
		if ck != "Cookie" && cookie != "" && got.Get("Cookie") != cookie {
			t.Fatalf("Cookie %q, want %q", got.Get("Cookie"), cookie)
		}
		if ck != "Origin" && origin != "" && got.Get("Origin") != origin {
			t.Fatalf("Origin %q, want the option's %q", got.Get("Origin"), origin)
		}
		if proto != "" && got.Get("Sec-Websocket-Protocol") != proto {
			t.Fatalf("Sec-WebSocket-Protocol %q, want %q", got.Get("Sec-Websocket-Protocol"), proto)
		}
	})
}

// checkRefusal checks that a refused dial says so with the package's prefix.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	if !strings.HasPrefix(err.Error(), "websocket: ") {
		t.Fatalf("error %q lacks the \"websocket: \" prefix", err)
	}
}

// checkTargetMeaning checks that target, as a server parses it, names u's
// path and query: the same path segments (an escaped "/" is no separator),
// and the same query once unescaped.
func checkTargetMeaning(t *testing.T, u *url.URL, target string) {
	t.Helper()
	v, err := url.ParseRequestURI(target)
	if err != nil {
		t.Fatalf("target %q does not parse: %v", target, err)
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	if v.Path != path {
		t.Fatalf("target %q has path %q, the URL %q", target, v.Path, path)
	}
	if u.RawPath != "" && !slices.Equal(pathSegments(v.EscapedPath()), pathSegments(u.RawPath)) {
		t.Fatalf("target %q has path segments %q, the URL %q", target, pathSegments(v.EscapedPath()), pathSegments(u.RawPath))
	}
	want, err1 := url.QueryUnescape(u.RawQuery)
	have, err2 := url.QueryUnescape(v.RawQuery)
	if (err1 == nil) != (err2 == nil) || want != have {
		t.Fatalf("target %q has query %q (%v), the URL %q (%v)", target, have, err2, want, err1)
	}
}

// pathSegments is an escaped path's segments, each unescaped.
func pathSegments(p string) []string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if d, err := url.PathUnescape(s); err == nil {
			segs[i] = d
		}
	}
	return segs
}

// showsWithout reports whether s, a secret that location holds once,
// shows in the quoted form of location without it, which errors may show:
// a NUL is quoted as \x00, so "//000000@\x000000" and "\x000000//000000@"
// show "000000" without showing their user info.
func showsWithout(location, s string) bool {
	return strings.Contains(strconv.Quote(strings.Replace(location, s, "", 1)), s)
}

// FuzzRedirectTarget follows any Location from a ws or wss URL with
// credentials and checks the promises of a redirect: the next URL is ws or
// wss, never ws after wss; its host is one a dial accepts as it is; it
// carries the first URL's credentials only to the first URL's origin, and
// the Location's own otherwise; and no error shows a password, the first
// URL's or the Location's.
func FuzzRedirectTarget(f *testing.F) {
	for _, loc := range []string{"/x", "../y?q=1", "//other:82/z", "ws://h1:81/ok", "http://u2:LOCPASS1@h2/", "https://h1:81/", "wss://h1:81/",
		"ftp://h/", "ws:///nohost", "ws://u:LOCPASS1@h%zz/", "http://b\u00fccher.example/", "ws://a\"b/", "ws://[fe80::1%25eth0]/", "\x00", "http://\u00ad/", "//%C2%AD:82/"} {
		f.Add(false, loc)
		f.Add(true, loc)
	}
	f.Fuzz(func(t *testing.T, secure bool, location string) {
		raw := "ws://user:FIRSTPASS@h1:81/a/b"
		if secure {
			raw = "wss://user:FIRSTPASS@h1:81/a/b"
		}
		first, err := parseWSURL(raw)
		if err != nil {
			t.Fatal(err)
		}
		re := &redirectError{status: &BadStatusError{StatusCode: 302}, location: location}
		next, err := redirectTarget(first, first, re)
		if err != nil {
			checkRefusal(t, err)
			msg := err.Error()
			if strings.Contains(msg, "FIRSTPASS") {
				t.Fatalf("error %q shows the first URL's password", msg)
			}
			if lu, perr := url.Parse(location); perr == nil {
				if p, ok := lu.User.Password(); ok && len(p) >= 6 && strings.Count(location, p) == 1 && strings.Contains(msg, p) && !showsWithout(location, p) {
					t.Fatalf("error %q shows the Location's password %q", msg, p)
				}
			} else if i := strings.LastIndexByte(location, '@'); i >= 0 {
				// What could be user info of a Location that does
				// not parse: nothing of it may show.
				if _, info, ok := strings.Cut(location[:i], "//"); ok && len(info) >= 6 && strings.Count(location, info) == 1 && strings.Contains(msg, info) && !showsWithout(location, info) {
					t.Fatalf("error %q shows %q, maybe user info, of a Location that does not parse", msg, info)
				}
			}
			return
		}
		if next.Scheme != "ws" && next.Scheme != "wss" {
			t.Fatalf("next scheme %q", next.Scheme)
		}
		if secure && next.Scheme != "wss" {
			t.Fatalf("wss redirected to %q", next.Redacted())
		}
		again := *next
		if err := normalizeHost(&again); err != nil || again.Host != next.Host {
			t.Fatalf("next host %q: %v (%q)", next.Host, err, again.Host)
		}
		lu, _ := url.Parse(location)
		switch {
		case lu != nil && lu.User != nil:
			if next.User.String() != lu.User.String() {
				t.Fatalf("credentials %q, the Location's %q", next.User, lu.User)
			}
		case originOf(next) == originOf(first):
			if next.User != first.User {
				t.Fatalf("same origin lost the credentials: %q", next.Redacted())
			}
		default:
			if next.User != nil {
				t.Fatalf("credentials sent to another origin: %q", next.Redacted())
			}
		}
	})
}
