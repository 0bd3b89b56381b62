package websocket_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wsclient/websocket"
)

// TestEchoedCredentialsStayOutOfErrors: "values of Authorization,
// Proxy-Authorization, Cookie … are never put in an error's message",
// whatever a proxy or server echoes of them, and wherever: in a refusal's
// reason phrase, in a malformed line the error quotes, in a body the bound
// cuts amid the password, or in the answer a proxy forges for the target
// behind its tunnel. Each of these showed the credential, or its start.
func TestEchoedCredentialsStayOutOfErrors(t *testing.T) {
	const user, pass, bearer, cookie = "alice", "s3cr3t-Pa55", "tok-SECRET-123", "c00kie-VALUE-9"
	// A Digest credential, full of quotes, which an error quoting it escapes.
	const digest = `Digest username="bob", nonce="n0nce", response="6629fae49393a053"`
	token := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	const connect = "HTTP/1.1 200 Connection established\r\n\r\n"
	for _, tt := range []struct {
		name    string
		proxied bool     // through an HTTP proxy with the credentials
		answers []string // one per request head the peer reads
	}{
		{"407 reason", true, []string{"HTTP/1.1 407 Proxy-Authorization: Basic " + token + "\r\n\r\n"}},
		{"proxy status line", true, []string{"Proxy-Authorization: Basic " + token + "\r\n\r\n"}},
		{"proxy header line", true, []string{"HTTP/1.1 407 No\r\n> Proxy-Authorization: Basic " + token + "\r\n\r\n"}},
		{"407 body cut amid the password", true, []string{"HTTP/1.1 407 No\r\nContent-Length: 600\r\n\r\n" +
			strings.Repeat(" ", 503) + "pw=" + pass + strings.Repeat("x", 600-506-len(pass))}},
		{"forged target reason", true, []string{connect, "HTTP/1.1 403 Basic " + token + "\r\n\r\n"}},
		{"forged target header line", true, []string{connect, "HTTP/1.1 400 No\r\n> Proxy-Authorization: Basic " + token + "\r\n\r\n"}},
		{"server reason", false, []string{"HTTP/1.1 403 " + bearer + "\r\n\r\n"}},
		{"server header line", false, []string{"HTTP/1.1 400 No\r\n> Authorization: Bearer " + bearer + "\r\n\r\n"}},
		// A redirect not followed (RedirectLimit -1 below) was never
		// given the request's secrets.
		{"redirect reason", false, []string{"HTTP/1.1 302 Bearer " + bearer + "\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n"}},
		// One cookie of the Cookie field (DialOptions.Cookie below), or
		// its value alone.
		{"one cookie", false, []string{"HTTP/1.1 403 session=" + cookie + "\r\n\r\n"}},
		{"one cookie's value", false, []string{"HTTP/1.1 403 you are " + cookie + "\r\n\r\n"}},
		// A malformed line whose name is a token, and fields of a 101
		// that the *HandshakeError quotes.
		{"malformed line of another field", false, []string{"HTTP/1.1 400 No\r\nX-Echo: Bearer " + bearer + "\x01\r\n\r\n"}},
		{"101 Upgrade", false, []string{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: Bearer " + bearer + "\r\nConnection: Upgrade\r\n\r\n"}},
		{"101 Upgrade echoing a quoted credential", false, []string{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + digest + "\r\nConnection: Upgrade\r\n\r\n"}},
		{"101 Sec-WebSocket-Accept", false, []string{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: Bearer " + bearer + "\r\n\r\n"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := scriptedPeer(t, tt.answers)
			opts := &websocket.DialOptions{
				Header:        http.Header{"Authorization": {"Bearer " + bearer, digest}},
				Cookie:        "theme=dark; session=" + cookie + "; lang=en",
				RedirectLimit: -1,
			}
			target := "ws://" + addr + "/"
			if tt.proxied {
				target = "ws://target.test/"
				pu := &url.URL{Scheme: "http", User: url.UserPassword(user, pass), Host: addr}
				opts.Proxy = func(*url.URL) (*url.URL, error) { return pu, nil }
			}
			_, err := websocket.Dial(context.Background(), target, opts)
			if err == nil {
				t.Fatal("Dial succeeded")
			}
			for _, secret := range []string{token, pass[:3], bearer, cookie, "6629fae49393a053"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows %q: %v", secret, err)
				}
			}
			t.Log(err)
		})
	}
}

// TestShortCredentialsWithholdNothingHarmless: a credential of a character
// or three counts only where it stands alone. The URL password "a"
// withheld every reason phrase with an "a" in it ("Bad Request").
func TestShortCredentialsWithholdNothingHarmless(t *testing.T) {
	addr := scriptedPeer(t, []string{"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"})
	_, err := websocket.Dial(context.Background(), "ws://u:a@"+addr+"/", nil)
	if err == nil || !strings.Contains(err.Error(), "Bad Request") {
		t.Errorf("Dial = %v, want the reason Bad Request shown", err)
	}
	addr = scriptedPeer(t, []string{"HTTP/1.1 400 pw=a\r\nContent-Length: 0\r\n\r\n"})
	_, err = websocket.Dial(context.Background(), "ws://u:a@"+addr+"/", nil)
	if err == nil || strings.Contains(err.Error(), "pw=a") {
		t.Errorf("Dial = %v, want the reason pw=a withheld", err)
	}
}

// scriptedPeer serves one connection: for each answer, it reads a request
// head and writes the answer; then it ends its side and reads until the
// client closes.
func scriptedPeer(t *testing.T, answers []string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for _, a := range answers {
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if line == "\r\n" {
					break
				}
			}
			if _, err := c.Write([]byte(a)); err != nil {
				return
			}
		}
		c.(*net.TCPConn).CloseWrite() // an answer's body ends here
		br.WriteTo(discard{})
	}()
	return ln.Addr().String()
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
