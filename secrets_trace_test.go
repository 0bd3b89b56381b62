package websocket_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// serveOnce answers the first request of a loopback listener with
// answer (after reading the request head), or resets the connection when
// answer is "".
func serveOnce(t *testing.T, answer string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		if answer == "" {
			c.(*net.TCPConn).SetLinger(0) // a reset
			return
		}
		c.Write([]byte(answer))
	}()
	return "ws://" + ln.Addr().String() + "/"
}

// A cookie value of a character or two (_gat=1) is no credential to find
// in an error's text by itself: "1" withheld parts of the addresses in a
// reset's message (127.0.0.[redacted]:37046).
func TestShortCookieValueLeavesAddressesAlone(t *testing.T) {
	url := serveOnce(t, "")
	_, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{Cookie: "_gat=1"})
	var he *websocket.HandshakeError
	if !errors.As(err, &he) {
		t.Fatalf("Dial = %v, want a *HandshakeError", err)
	}
	if strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("Dial = %q: the addresses redacted for the cookie value 1", err)
	}
}

// The trace of a handshake response leaves out what it repeats of the
// request's credentials, in its status line and any field: it logged a
// bearer token a refusal echoed, which the error withheld.
func TestTraceLeavesOutEchoedCredentials(t *testing.T) {
	const bearer = "tok-SECRET-1234567890"
	url := serveOnce(t, "HTTP/1.1 401 you sent Bearer "+bearer+"\r\nX-Echo: Bearer "+bearer+"\r\nContent-Length: 0\r\n\r\n")
	var mu sync.Mutex
	var buf bytes.Buffer
	websocket.EnableTrace(true, slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: websocket.LevelTrace}))
	defer websocket.EnableTrace(false, nil)
	_, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{
		Header: http.Header{"Authorization": {"Bearer " + bearer}},
	})
	if err == nil || strings.Contains(err.Error(), bearer) {
		t.Errorf("Dial = %v, want an error without the credential", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), "handshake response") {
		t.Fatalf("no response traced:\n%s", buf.String())
	}
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.Contains(l, bearer) {
			t.Errorf("the trace shows the credential: %s", l)
		}
	}
}

// A password of a few characters counts where it stands alone, also at
// the end of a sentence: "wrong password abc." showed it when its full
// stop was taken for part of an address.
func TestShortPasswordBeforeAFullStop(t *testing.T) {
	url := serveOnce(t, "HTTP/1.1 401 wrong password abc.\r\nContent-Length: 0\r\n\r\n")
	url = strings.Replace(url, "ws://", "ws://bob:abc@", 1)
	_, err := websocket.Dial(context.Background(), url, nil)
	if err == nil || strings.Contains(err.Error(), "abc") {
		t.Errorf("Dial = %v, want an error without the password", err)
	}
}

// A redirect whose Location echoes a credential is refused without it: a
// Location that does not parse, and a wss-to-ws downgrade, quoted it.
func TestRefusedRedirectsLeaveOutEchoedCredentials(t *testing.T) {
	const bearer = "tok-SECRET-1234567890"
	auth := http.Header{"Authorization": {"Bearer " + bearer}}
	t.Run("bad Location", func(t *testing.T) {
		url := serveOnce(t, "HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:bad/?auth="+bearer+"\r\nContent-Length: 0\r\n\r\n")
		_, err := websocket.Dial(context.Background(), url, &websocket.DialOptions{Header: auth})
		if err == nil || strings.Contains(err.Error(), bearer) {
			t.Errorf("Dial = %v, want an error without the credential", err)
		}
	})
	t.Run("wss to ws", func(t *testing.T) {
		ca := wstest.NewCA()
		s := tlsScriptServer(t, ca, func(*http.Request, string) string {
			return "HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:1/?auth=" + bearer + "\r\nContent-Length: 0\r\n\r\n"
		})
		opts := dialOpts()
		opts.TLSConfig = &tls.Config{RootCAs: ca.Pool}
		opts.Header = auth
		_, err := websocket.Dial(context.Background(), s.URL, opts)
		var bse *websocket.BadStatusError
		if !errors.As(err, &bse) || bse.StatusCode != 302 || strings.Contains(err.Error(), bearer) {
			t.Errorf("Dial = %v, want a *BadStatusError 302 without the credential", err)
		}
	})
}

// A Location echoing a Basic credential as a URL carries it (its = padding
// as %3D): the refused redirect's error and a followed redirect's traces
// showed it.
func TestRedirectEchoingAnEncodedCredential(t *testing.T) {
	const cred = "dXNlcjpwYXNzMQ==" // user:pass1
	const shown = "dXNlcjpwYXNzMQ"  // all of it but the padding
	auth := http.Header{"Authorization": {"Basic " + cred}}
	t.Run("bad Location", func(t *testing.T) {
		u := serveOnce(t, "HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:bad/?auth="+url.QueryEscape(cred)+"\r\nContent-Length: 0\r\n\r\n")
		_, err := websocket.Dial(context.Background(), u, &websocket.DialOptions{Header: auth})
		if err == nil || strings.Contains(err.Error(), shown) {
			t.Errorf("Dial = %v, want an error without the credential", err)
		}
	})
	t.Run("trace of a followed redirect", func(t *testing.T) {
		u := serveOnce(t, "HTTP/1.1 302 Found\r\nLocation: /next?auth="+url.QueryEscape(cred)+"\r\nContent-Length: 0\r\n\r\n")
		var mu sync.Mutex
		var buf bytes.Buffer
		websocket.EnableTrace(true, slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: websocket.LevelTrace}))
		defer websocket.EnableTrace(false, nil)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second) // the next hop is not answered
		defer cancel()
		_, err := websocket.Dial(ctx, u, &websocket.DialOptions{Header: auth})
		if err != nil && strings.Contains(err.Error(), shown) {
			t.Errorf("Dial = %v, want an error without the credential", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if !strings.Contains(buf.String(), "websocket: redirect") {
			t.Fatalf("no redirect traced:\n%s", buf.String())
		}
		for _, l := range strings.Split(buf.String(), "\n") {
			if strings.Contains(l, shown) {
				t.Errorf("the trace shows the credential: %s", l)
			}
		}
	})
}
