package websocket_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket"
)

// errText returns err.Error(), or the panic it raised.
func errText(err error) (s string, panicked any) {
	defer func() { panicked = recover() }()
	return err.Error(), nil
}

// A Digest credential whose uri holds a lower-case escape (%2f), echoed
// in a 101's Upgrade field, which the *HandshakeError quotes (each " as
// \"): the text's escapes were upper-cased before the search, the quoted
// form of the secret was not, and the whole credential, response hash
// included, was shown.
func TestQuotedDigestWithALowerCaseEscape(t *testing.T) {
	const hash = "6629fae49393a053"
	const digest = `Digest username="bob", nonce="n0nce", uri="/chat?room=a%2fb", response="` + hash + `"`
	addr := scriptedPeer(t, []string{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + digest + "\r\nConnection: Upgrade\r\n\r\n"})
	_, err := websocket.Dial(context.Background(), "ws://"+addr+"/chat?room=a%2fb", &websocket.DialOptions{
		Header: http.Header{"Authorization": {digest}},
	})
	if err == nil || strings.Contains(err.Error(), hash) {
		t.Errorf("Dial = %v, want an error without the Digest response", err)
	}
}

// A URL password echoed in a reason phrase as JavaScript's
// encodeURIComponent writes it ('$' escaped, '!' not): neither
// url.QueryEscape's form (%21) nor url.PathEscape's ($ kept) matched.
func TestReasonEchoingEncodeURIComponent(t *testing.T) {
	const pass = "Pa$$w0rd!SECRET"
	const echo = "Pa%24%24w0rd!SECRET" // encodeURIComponent(pass)
	u := serveOnce(t, "HTTP/1.1 401 wrong password "+echo+"\r\nContent-Length: 0\r\n\r\n")
	u = strings.Replace(u, "ws://", "ws://bob:"+url.QueryEscape(pass)+"@", 1)
	_, err := websocket.Dial(context.Background(), u, nil)
	if err == nil || strings.Contains(err.Error(), "w0rd") {
		t.Errorf("Dial = %v, want an error without the password", err)
	}
}

// A Basic credential with '/' and '=' that a Location echoes as Python's
// urllib.parse.quote writes it ('/' kept, '=' escaped): the refused
// redirect's error quoted it whole.
func TestLocationEchoingPythonQuote(t *testing.T) {
	cred := base64.StdEncoding.EncodeToString([]byte("user:s3cr3t??"))
	if !strings.Contains(cred, "/") || !strings.HasSuffix(cred, "=") {
		t.Fatalf("credential %q: want a '/' and '=' padding", cred)
	}
	echo := strings.ReplaceAll(cred, "=", "%3D") // quote(cred)
	shown := strings.TrimRight(cred, "=")
	u := serveOnce(t, "HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:bad/?auth="+echo+"\r\nContent-Length: 0\r\n\r\n")
	_, err := websocket.Dial(context.Background(), u, &websocket.DialOptions{
		Header: http.Header{"Authorization": {"Basic " + cred}},
	})
	if err == nil || strings.Contains(err.Error(), shown) {
		t.Errorf("Dial = %v, want an error without the credential %s", err, cred)
	}
}

// A cross-origin Location that carries the request's token in its host
// name: the next hop's connection error, which is no answer of a server,
// quoted the address: "websocket: dial <token>.test:80: ...".
func TestLocationHostCarryingTheCredential(t *testing.T) {
	const token = "tok-SECRET-1234567890"
	first := serveOnce(t, "HTTP/1.1 302 Found\r\nLocation: ws://"+token+".test/\r\nContent-Length: 0\r\n\r\n")
	firstAddr := strings.TrimSuffix(strings.TrimPrefix(first, "ws://"), "/")
	trace := captureTrace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := websocket.Dial(ctx, first, &websocket.DialOptions{
		Header: http.Header{"Authorization": {"Bearer " + token}},
		NetDialContext: firstHopOnly(firstAddr, func(network, addr string) error {
			return errors.New("no route to the next server")
		}),
	})
	if err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("Dial = %v, want an error without the credential", err)
	}
	noTraceLineWith(t, trace(), token, "the credential")
}

// Three hops: the first server is sent the token and redirects to another
// origin (not sent it), which redirects to a third, whose refusal echoes
// the token the first Location carried in its query.
func TestThreeHopRedirectChainCarryingTheCredential(t *testing.T) {
	const bearer = "tok-SECRET-1234567890"
	third := serveOnce(t, "HTTP/1.1 403 you came with auth="+bearer+"\r\nX-Echo: "+bearer+"\r\nContent-Length: 0\r\n\r\n")
	second := serveOnce(t, "HTTP/1.1 307 Temporary\r\nLocation: "+third+"x?from=2\r\nContent-Length: 0\r\n\r\n")
	first := serveOnce(t, "HTTP/1.1 302 Found\r\nLocation: "+second+"cb?auth="+bearer+"\r\nContent-Length: 0\r\n\r\n")
	trace := captureTrace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := websocket.Dial(ctx, first, &websocket.DialOptions{
		Header: http.Header{"Authorization": {"Bearer " + bearer}},
	})
	var bs *websocket.BadStatusError
	if !errors.As(err, &bs) || bs.StatusCode != 403 || strings.Contains(err.Error(), bearer) {
		t.Errorf("Dial = %v, want the third server's 403 without the credential", err)
	}
	if strings.Count(trace(), "handshake request") != 3 {
		t.Errorf("want 3 requests traced:\n%s", trace())
	}
	noTraceLineWith(t, trace(), bearer, "the credential")
}

// A Proxy function that picks from two proxies in turn (each with its own
// password): the handshake trace asked it again for the credentials to
// leave out, got the other proxy's, and logged the echo of the password
// the dial had sent.
func TestProxyAskedOncePerHop(t *testing.T) {
	const pass1, pass2 = "pr0xy-ONE-SECRET", "pr0xy-TWO-SECRET"
	addr := scriptedPeer(t, []string{
		"HTTP/1.1 200 Connection established\r\n\r\n",
		"HTTP/1.1 401 proxy password was " + pass1 + "\r\nContent-Length: 0\r\n\r\n",
	})
	var calls atomic.Int32
	proxyFn := func(*url.URL) (*url.URL, error) {
		pass := pass1
		if calls.Add(1)%2 == 0 {
			pass = pass2
		}
		return &url.URL{Scheme: "http", User: url.UserPassword("alice", pass), Host: addr}, nil
	}
	trace := captureTrace(t)
	_, err := websocket.Dial(context.Background(), "ws://target.test/", &websocket.DialOptions{Proxy: proxyFn})
	if err == nil {
		t.Fatal("Dial succeeded")
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("Proxy called %d times for one request, want 1", n)
	}
	if strings.Contains(err.Error(), pass1) {
		t.Errorf("Dial = %v, want an error without the proxy password", err)
	}
	noTraceLineWith(t, trace(), pass1, "the proxy password sent")
}

// A server's refusal with "Set-Cookie: \"" (a lone double quote): the
// *BadStatusError's Error panicked (the redaction took the lone quote for
// Go's quoting of an empty string).
func TestSetCookieLoneQuoteInTheError(t *testing.T) {
	u := serveOnce(t, "HTTP/1.1 403 Forbidden\r\nSet-Cookie: \"\r\nContent-Length: 0\r\n\r\n")
	_, err := websocket.Dial(context.Background(), u, nil)
	if err == nil {
		t.Fatal("Dial succeeded")
	}
	s, p := errText(err)
	if p != nil {
		t.Fatalf("err.Error() panicked: %v", p)
	}
	if !strings.Contains(s, "403") {
		t.Errorf("Dial = %q, want the 403", s)
	}
}

// The same answer with the trace on: Dial itself panicked.
func TestSetCookieLoneQuoteInTheTrace(t *testing.T) {
	u := serveOnce(t, "HTTP/1.1 403 Forbidden\r\nSet-Cookie: \"; Path=/\r\nContent-Length: 0\r\n\r\n")
	trace := captureTrace(t)
	var p any
	func() {
		defer func() { p = recover() }()
		websocket.Dial(context.Background(), u, nil)
	}()
	if p != nil {
		t.Fatalf("Dial panicked: %v", p)
	}
	if !strings.Contains(trace(), "403") {
		t.Errorf("the answer was not traced:\n%s", trace())
	}
}

// A URL password that is a lone double quote (ws://u:%22@host): the
// refusal's error panicked.
func TestPasswordLoneQuote(t *testing.T) {
	u := serveOnce(t, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
	u = strings.Replace(u, "ws://", "ws://u:%22@", 1)
	_, err := websocket.Dial(context.Background(), u, nil)
	if err == nil {
		t.Fatal("Dial succeeded")
	}
	if _, p := errText(err); p != nil {
		t.Fatalf("err.Error() panicked: %v", p)
	}
}

// Echoes are redacted "URL-escaped by any encoder or twice": a password a
// reason phrase echoes escaped twice by encoders other than Go's.
func TestReasonEchoingAPasswordEscapedTwice(t *testing.T) {
	for _, tc := range []struct{ name, pass, echo string }{
		{"encodeURIComponent twice: '$' as %2524, '!' kept", "Pa$$w0rd!SECRET", "Pa%2524%2524w0rd!SECRET"},
		{"Python's quote twice: '/' kept, '@' as %2540", "p@ss/w0rd", "p%2540ss/w0rd"},
		{".NET's lower-case escapes twice", "p@ss/w0rd!", "p%2540ss%252fw0rd%2521"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := serveOnce(t, "HTTP/1.1 401 wrong password "+tc.echo+"\r\nContent-Length: 0\r\n\r\n")
			u = strings.Replace(u, "ws://", "ws://bob:"+url.QueryEscape(tc.pass)+"@", 1)
			_, err := websocket.Dial(context.Background(), u, nil)
			if err == nil || strings.Contains(err.Error(), "w0rd") {
				t.Errorf("Dial = %v, want an error without the password", err)
			}
		})
	}
}

// doc.go: "a timeout matches os.ErrDeadlineExceeded and is a net.Error
// whose Timeout is true"; DialOptions.HandshakeTimeout: "Dial returns a
// timeout error (net.Error with Timeout true ...)". A redirect's next hop
// whose name lookup times out, the Location's host carrying the token: the
// redacted error was no net.Error.
func TestLaterHopTimeoutIsANetError(t *testing.T) {
	const token = "tok-SECRET-1234567890"
	first := serveOnce(t, "HTTP/1.1 302 Found\r\nLocation: ws://"+token+".test/\r\nContent-Length: 0\r\n\r\n")
	firstAddr := strings.TrimSuffix(strings.TrimPrefix(first, "ws://"), "/")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := websocket.Dial(ctx, first, &websocket.DialOptions{
		Header: http.Header{"Authorization": {"Bearer " + token}},
		NetDialContext: firstHopOnly(firstAddr, func(network, addr string) error {
			// What net.Dialer returns when the resolver times out.
			host, _, _ := net.SplitHostPort(addr)
			return &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "i/o timeout", Name: host, IsTimeout: true}}
		}),
	})
	if err == nil {
		t.Fatal("Dial succeeded")
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("Dial = %v: holds the token", err)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Dial = %v: does not match os.ErrDeadlineExceeded", err)
	}
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("Dial = %v (%T): not a net.Error whose Timeout is true", err, err)
	}
}

// firstHopOnly dials firstAddr over TCP and fails every other address with
// later's error: a redirect's next hop that cannot be reached.
func firstHopOnly(firstAddr string, later func(network, addr string) error) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == firstAddr {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
		return nil, later(network, addr)
	}
}
