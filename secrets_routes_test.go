package websocket_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsclient/websocket"
)

// Credentials are never put in an error's message, also where an answer
// echoes them URL-escaped: a refusal's reason phrase that echoes the Basic
// credential with its = padding as %3D.
func TestReasonPhraseEchoingAnEscapedCredential(t *testing.T) {
	const cred = "dXNlcjpwYXNzMQ==" // user:pass1
	const shown = "dXNlcjpwYXNzMQ"
	u := serveOnce(t, "HTTP/1.1 401 bad auth="+url.QueryEscape(cred)+"\r\nContent-Length: 0\r\n\r\n")
	_, err := websocket.Dial(context.Background(), u, &websocket.DialOptions{
		Header: http.Header{"Authorization": {"Basic " + cred}},
	})
	if err == nil || strings.Contains(err.Error(), shown) {
		t.Errorf("Dial = %v, want an error without the credential", err)
	}
}

// The same with the URL's password, which a reason phrase echoes as a URL
// escapes it (p@ss/w0rd! as p%40ss%2Fw0rd%21).
func TestReasonPhraseEchoingAnEscapedPassword(t *testing.T) {
	const pass = "p@ss/w0rd!SECRET"
	u := serveOnce(t, "HTTP/1.1 401 wrong password "+url.QueryEscape(pass)+"\r\nContent-Length: 0\r\n\r\n")
	u = strings.Replace(u, "ws://", "ws://bob:"+url.QueryEscape(pass)+"@", 1)
	_, err := websocket.Dial(context.Background(), u, nil)
	if err == nil || strings.Contains(err.Error(), "w0rd") {
		t.Errorf("Dial = %v, want an error without the password", err)
	}
}

// A proxy's refusal whose body echoes the proxy password URL-escaped (as
// a proxy echoing the proxy URL it was configured with would).
func TestProxyRefusalEchoingAnEscapedPassword(t *testing.T) {
	const pass = "p@ss/w0rd!SECRET"
	err := dialRefusingProxy(t, pass, "denied for http://alice:"+url.QueryEscape(pass)+"@proxy/")
	if strings.Contains(err.Error(), "w0rd") {
		t.Errorf("Dial = %v, want an error without the proxy password", err)
	}
}

// A Location echoing the Basic credential with lower-case percent escapes
// (%3d, as RFC 3986 allows and many encoders write): the refused
// redirect's error quotes it.
func TestBadLocationEchoingALowerCaseEscapedCredential(t *testing.T) {
	const cred = "dXNlcjpwYXNzMQ=="
	const shown = "dXNlcjpwYXNzMQ"
	u := serveOnce(t, "HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:bad/?auth=dXNlcjpwYXNzMQ%3d%3d\r\nContent-Length: 0\r\n\r\n")
	_, err := websocket.Dial(context.Background(), u, &websocket.DialOptions{
		Header: http.Header{"Authorization": {"Basic " + cred}},
	})
	if err == nil || strings.Contains(err.Error(), shown) {
		t.Errorf("Dial = %v, want an error without the credential", err)
	}
}

// A Location to another origin that carries the request's credential in
// its query: the next hop's request is traced with it, and the next
// server's refusal echoing it goes into the error as it is.
func TestCrossOriginRedirectCarryingTheCredential(t *testing.T) {
	const bearer = "tok-SECRET-1234567890"
	next := serveOnce(t, "HTTP/1.1 400 bad auth="+bearer+"\r\nContent-Length: 0\r\n\r\n")
	first := serveOnce(t, "HTTP/1.1 302 Found\r\nLocation: "+next+"cb?auth="+bearer+"\r\nContent-Length: 0\r\n\r\n")
	trace := captureTrace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := websocket.Dial(ctx, first, &websocket.DialOptions{
		Header: http.Header{"Authorization": {"Bearer " + bearer}},
	})
	if err != nil && strings.Contains(err.Error(), bearer) {
		t.Errorf("Dial = %v, want an error without the credential", err)
	}
	noTraceLineWith(t, trace(), bearer, "the credential")
}

// A Location whose scheme echoes the bearer token: the refused redirect's
// error quoted the scheme lower-cased, as parsing leaves it, where the
// redaction did not find it.
func TestLocationSchemeEchoingTheCredential(t *testing.T) {
	const bearer = "tok-SECRET-1234567890"
	u := serveOnce(t, "HTTP/1.1 302 Found\r\nLocation: "+bearer+"://x/\r\nContent-Length: 0\r\n\r\n")
	_, err := websocket.Dial(context.Background(), u, &websocket.DialOptions{
		Header: http.Header{"Authorization": {"Bearer " + bearer}},
	})
	if err == nil || strings.Contains(strings.ToLower(err.Error()), strings.ToLower(bearer)) {
		t.Errorf("Dial = %v, want an error without the credential (in any case)", err)
	}
}

// Set-Cookie values are never logged or put in an error's message, also
// where the answer's reason phrase repeats the cookie it sets.
func TestSetCookieValueEchoedInTheReasonPhrase(t *testing.T) {
	const sid = "sess-SECRET-1234567890"
	u := serveOnce(t, "HTTP/1.1 401 new session "+sid+"\r\nSet-Cookie: sid="+sid+"\r\nContent-Length: 0\r\n\r\n")
	trace := captureTrace(t)
	_, err := websocket.Dial(context.Background(), u, nil)
	if err == nil || strings.Contains(err.Error(), sid) {
		t.Errorf("Dial = %v, want an error without the Set-Cookie value", err)
	}
	noTraceLineWith(t, trace(), sid, "the Set-Cookie value")
}

// A proxy that forges the target's answer behind its tunnel (a ws://
// target: the proxy sees the handshake in clear) and echoes the
// Proxy-Authorization token it was sent: the error left it out, the
// handshake trace logged it.
func TestProxyForgedAnswerEchoLeftOutOfTheTrace(t *testing.T) {
	const pass = "pr0xy-SECRET-pass"
	token := base64.StdEncoding.EncodeToString([]byte("alice:" + pass))
	addr := scriptedPeer(t, []string{
		"HTTP/1.1 200 Connection established\r\n\r\n",
		"HTTP/1.1 401 you sent " + token + " and " + pass + "\r\nX-Echo: " + pass + "\r\nContent-Length: 0\r\n\r\n",
	})
	pu := &url.URL{Scheme: "http", User: url.UserPassword("alice", pass), Host: addr}
	trace := captureTrace(t)
	_, err := websocket.Dial(context.Background(), "ws://target.test/", &websocket.DialOptions{
		Proxy: func(*url.URL) (*url.URL, error) { return pu, nil },
	})
	if err == nil {
		t.Fatal("Dial succeeded")
	}
	if strings.Contains(err.Error(), pass) || strings.Contains(err.Error(), token) {
		t.Errorf("Dial = %v, want an error without the proxy credentials", err)
	}
	if !strings.Contains(trace(), "handshake response") {
		t.Fatalf("no response traced:\n%s", trace())
	}
	noTraceLineWith(t, trace(), pass, "the proxy password")
	noTraceLineWith(t, trace(), token, "the proxy token")
}

// A credential of a few digits (the URL password "1", "Bearer 0") next to
// a '.' or ':' is part of an address: a reset's error read
// "127.0.0.[redacted]:53096".
func TestShortDigitCredentialLeavesAddressesAlone(t *testing.T) {
	for _, tc := range []struct {
		name string
		user string
		hdr  http.Header
	}{
		{"URL password 1", "bob:1@", nil},
		{"Authorization Bearer 0", "", http.Header{"Authorization": {"Bearer 0"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := serveOnce(t, "")
			u = strings.Replace(u, "ws://", "ws://"+tc.user, 1)
			_, err := websocket.Dial(context.Background(), u, &websocket.DialOptions{Header: tc.hdr})
			if err == nil || strings.Contains(err.Error(), "[redacted]") {
				t.Errorf("Dial = %v: the addresses redacted for a one-character credential", err)
			}
		})
	}
}

// A URL whose user name is the credential ("wss://token@host", or
// "https://key:@api" with an empty password) has it withheld as a
// password is: from the handshake trace's URL, and from a refusal that
// echoes it. Only the Basic token made of it was protected.
func TestURLUserNameAsTheCredential(t *testing.T) {
	const key = "key-SECRET-1234567890"
	for _, userinfo := range []string{key + "@", key + ":@"} {
		t.Run(userinfo, func(t *testing.T) {
			u := serveOnce(t, "HTTP/1.1 401 unknown key "+key+"\r\nContent-Length: 0\r\n\r\n")
			u = strings.Replace(u, "ws://", "ws://"+userinfo, 1)
			trace := captureTrace(t)
			_, err := websocket.Dial(context.Background(), u, nil)
			var bs *websocket.BadStatusError
			if !errors.As(err, &bs) || bs.StatusCode != 401 || strings.Contains(err.Error(), key) {
				t.Errorf("Dial = %v, want a 401 without the key", err)
			}
			if !strings.Contains(trace(), "xxxxx@") {
				t.Errorf("the trace does not show the URL with its user info withheld:\n%s", trace())
			}
			noTraceLineWith(t, trace(), key, "the key")
		})
	}
}

// A proxy URL whose user name is the credential ("http://token@proxy"):
// a refusal that echoes it leaves it out of the error.
func TestProxyUserNameAsTheCredential(t *testing.T) {
	const token = "tok-SECRET-1234567890"
	body := "no tunnel for " + token
	addr := scriptedPeer(t, []string{"HTTP/1.1 407 No\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body})
	pu := &url.URL{Scheme: "http", User: url.User(token), Host: addr}
	_, err := websocket.Dial(context.Background(), "ws://target.test/", &websocket.DialOptions{
		Proxy: func(*url.URL) (*url.URL, error) { return pu, nil },
	})
	if err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("Dial = %v, want an error without the token", err)
	}
}

// noTraceLineWith fails t for each line of trace that holds s, what it is.
func noTraceLineWith(t *testing.T, trace, s, what string) {
	t.Helper()
	for _, l := range strings.Split(trace, "\n") {
		if strings.Contains(l, s) {
			t.Errorf("the trace shows %s: %s", what, l)
		}
	}
}
