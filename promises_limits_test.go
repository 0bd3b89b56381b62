package websocket_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestReadLimitWholeFrameInBuffer: "ReadLimit bounds a whole received
// message in bytes … A message over it is closed with 1009", also when
// the whole frame (header and payload) has already arrived in the read
// buffer when Recv runs, not only when its payload comes after the header.
func TestReadLimitWholeFrameInBuffer(t *testing.T) {
	for _, n := range []int{101, 125, 126, 1000} { // 7-bit and 16-bit lengths
		c, sc := pipeConn(t, &websocket.DialOptions{ReadLimit: 100, Timeout: testTimeout})
		sc.WriteFrame(true, 0x2, make([]byte, n))
		m, err := c.Recv()
		var pe *websocket.PayloadError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "exceeds the read limit of 100") {
			t.Fatalf("%d bytes: Recv = %d bytes, %v; want a *PayloadError about the read limit", n, len(m.Data), err)
		}
		wantFrame(t, sc, 0x8, string(wstest.ClosePayload(1009, "")))
	}
}

// TestReadLimitHoldsAcrossCompressedFragments: "A compressed message is
// held to it [ReadLimit] as inflated", also when a server flushes at the
// end of each fragment, so that the client inflates the fragments as they
// arrive: their sum is held to the limit, not each one.
func TestReadLimitHoldsAcrossCompressedFragments(t *testing.T) {
	c, sc := deflatePipe(t, &websocket.DialOptions{ReadLimit: 1000}, "permessage-deflate")
	d := newStreamDeflater(t)
	piece := strings.Repeat("a", 800) // each fragment within the limit, the message not
	sc.WriteRaw(d.frames(piece, piece, piece, ""))
	m, err := c.Recv()
	var pe *websocket.PayloadError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "read limit") {
		t.Fatalf("Recv = %d bytes, %v; want a *PayloadError about the read limit of 1000", len(m.Data), err)
	}
	f := readFrame(t, sc)
	if f.Opcode != 0x8 || len(f.Payload) < 2 || int(f.Payload[0])<<8|int(f.Payload[1]) != 1009 {
		t.Fatalf("client sent %v, want close 1009", f)
	}
}

// TestProxyRefusalBodyWithFoldedPassword: a proxy password is never put in
// an error's message (README: "every URL password (… proxy URLs) [is] never
// … put in an error's message"), also when the proxy's refusal body echoes
// it with its white space changed (a tab or a line break for its space),
// which the one-line snippet of the body folds back into the password.
func TestProxyRefusalBodyWithFoldedPassword(t *testing.T) {
	const pass = "s3cr3t Pa55"
	err := dialRefusingProxy(t, pass, "you sent pw=s3cr3t\r\n\tPa55")
	if strings.Contains(err.Error(), pass) {
		t.Errorf("the error shows the proxy password %q: %v", pass, err)
	}
}

// TestProxyRefusalBodyCutAfterThreeBytesOfPassword: a 407 body cut by the
// 512-byte bound right after the first 3 bytes of the proxy password is
// withheld, as one cut later in the password is.
func TestProxyRefusalBodyCutAfterThreeBytesOfPassword(t *testing.T) {
	const pass = "s3cr3t-Pa55"
	err := dialRefusingProxy(t, pass, strings.Repeat(" ", 506)+"pw="+pass+strings.Repeat("x", 88))
	if strings.Contains(err.Error(), "pw="+pass[:3]) {
		t.Errorf("the error shows the start of the proxy password %q: %v", pass[:3], err)
	}
}

// dialRefusingProxy dials through an HTTP proxy, with the user alice and
// pass, that refuses the tunnel with a 407 and body, and returns the
// dial's error.
func dialRefusingProxy(t *testing.T, pass, body string) error {
	addr := scriptedPeer(t, []string{"HTTP/1.1 407 No\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body})
	pu := &url.URL{Scheme: "http", User: url.UserPassword("alice", pass), Host: addr}
	opts := &websocket.DialOptions{Proxy: func(*url.URL) (*url.URL, error) { return pu, nil }}
	_, err := websocket.Dial(context.Background(), "ws://target.test/", opts)
	if err == nil {
		t.Fatal("Dial succeeded")
	}
	return err
}

// TestRedirectToBadLocationWithAtInPassword: "every URL password (dial URL,
// Location, proxy URLs) [is] never … put in an error's message", also
// for a Location that does not parse and whose password holds an "@".
func TestRedirectToBadLocationWithAtInPassword(t *testing.T) {
	const loc = "ws://u:pa55@w0rd-SECRET@127.0.0.1:99x/"
	addr := scriptedPeer(t, []string{"HTTP/1.1 302 Found\r\nLocation: " + loc + "\r\nContent-Length: 0\r\n\r\n"})
	_, err := websocket.Dial(context.Background(), "ws://"+addr+"/", nil)
	if err == nil {
		t.Fatal("Dial succeeded")
	}
	if !strings.Contains(err.Error(), "bad Location") {
		t.Fatalf("Dial = %v, want an error about the bad Location", err)
	}
	if strings.Contains(err.Error(), "w0rd-SECRET") {
		t.Errorf("the error shows part of the Location's password: %v", err)
	}
}

// TestCompressedTextEndingInsideUTF8Sequence: a text message that ends
// inside a UTF-8 sequence fails the connection with close 1007, also when
// it is compressed and the client inflates its fragments as they arrive
// (a server that flushes at the end of each fragment).
func TestCompressedTextEndingInsideUTF8Sequence(t *testing.T) {
	c, sc := deflatePipe(t, nil, "permessage-deflate")
	d := newStreamDeflater(t)
	sc.WriteRaw(d.frames("ok \xc3", ""))
	m, err := c.Recv()
	var pe *websocket.PayloadError
	if !errors.As(err, &pe) {
		t.Fatalf("Recv = %q, %v; want a *PayloadError (the message ends inside a UTF-8 sequence)", m.Data, err)
	}
	f := readFrame(t, sc)
	if f.Opcode != 0x8 || len(f.Payload) < 2 || int(f.Payload[0])<<8|int(f.Payload[1]) != 1007 {
		t.Fatalf("client sent %v, want close 1007", f)
	}
}

// TestRetryAfterDateAtMostOneHour: DefaultRetry and RetryTransient wait
// "at least what its Retry-After header asks for (delay-seconds or an HTTP
// date, at most one hour)", an HTTP date too.
func TestRetryAfterDateAtMostOneHour(t *testing.T) {
	when := time.Now().Add(3 * time.Hour).UTC().Format(http.TimeFormat)
	for name, f := range map[string]func(error) (bool, time.Duration){"DefaultRetry": websocket.DefaultRetry, "RetryTransient": websocket.RetryTransient} {
		retry, after := f(&websocket.BadStatusError{StatusCode: 503, Header: http.Header{"Retry-After": {when}}})
		if !retry || after < 59*time.Minute || after > time.Hour {
			t.Errorf("%s(503, Retry-After: %s) = %t, %v; want true, one hour", name, when, retry, after)
		}
	}
}

// TestNewFrameMaskKeysUnpredictable: NewFrame returns "a fresh
// unpredictable mask key": every byte of the key is random.
func TestNewFrameMaskKeysUnpredictable(t *testing.T) {
	var seen [4]map[byte]bool
	for i := range seen {
		seen[i] = map[byte]bool{}
	}
	for range 64 {
		k := websocket.NewFrame([]byte("x"), websocket.OpText, true).MaskKey
		for i, b := range k {
			seen[i][b] = true
		}
	}
	for i := range seen {
		// 64 random bytes take a single value with probability 2^-504.
		if len(seen[i]) < 2 {
			t.Errorf("byte %d of 64 NewFrame mask keys always %v", i, seen[i])
		}
	}
}

// TestSecWebSocketKeyFresh: each opening handshake sends a new
// Sec-WebSocket-Key, 16 random bytes in base64 (RFC 6455 §4.1).
func TestSecWebSocketKeyFresh(t *testing.T) {
	keys := map[string]bool{}
	for range 4 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() {
			defer close(got)
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			req, err := http.ReadRequest(bufio.NewReader(c))
			if err != nil {
				return
			}
			got <- req.Header.Get("Sec-WebSocket-Key")
			c.Write([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
		}()
		websocket.Dial(context.Background(), "ws://"+ln.Addr().String()+"/", &websocket.DialOptions{Timeout: testTimeout})
		k := <-got
		ln.Close()
		if b, err := base64.StdEncoding.DecodeString(k); err != nil || len(b) != 16 {
			t.Fatalf("Sec-WebSocket-Key %q is not 16 bytes in base64", k)
		}
		keys[k] = true
	}
	if len(keys) != 4 {
		t.Errorf("4 handshakes sent %d different keys: %v", len(keys), keys)
	}
}

// TestAppBackoffJitterAboveOne: "Jitter is the fraction of each wait after
// the first that is randomized, between 0 and 1": a Jitter above 1 counts
// as 1, so a wait is shortened at most to nothing, never made negative,
// and a run whose server refuses it does not redial at once, again and
// again.
func TestAppBackoffJitterAboveOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const tries = 12
		var attempts []time.Time
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			attempts = append(attempts, time.Now())
			return nil, errors.New("refused")
		}
		a := &websocket.App{URL: "ws://backoff.test/"}
		a.RunForever(&websocket.RunOptions{Reconnect: time.Second, Backoff: &websocket.Backoff{Jitter: 5},
			Retry:       func(error) (bool, time.Duration) { return len(attempts) < tries, 0 },
			DialOptions: websocket.DialOptions{NetDialContext: dial}})
		if len(attempts) != tries {
			t.Fatalf("%d attempts, want %d", len(attempts), tries)
		}
		zero := 0
		for i := 1; i < len(attempts); i++ {
			if attempts[i].Sub(attempts[i-1]) <= 0 {
				zero++
			}
		}
		// Jitter 1 draws a wait in (0, w]: none is 0 but by a draw of 1.0,
		// which rand.Float64 never returns.
		if zero > 0 {
			t.Errorf("%d of %d waits were none: %v", zero, tries-1, attempts)
		}
	})
}

// TestSOCKS5CredentialsOverlongRefused: RFC 1929 gives the user name and
// the password one length byte each; a user name or password of 256 bytes
// or more is refused before anything is sent, never sent with its length
// wrapped to 0 (which would make the rest of it the proxy's next request).
func TestSOCKS5CredentialsOverlongRefused(t *testing.T) {
	long := strings.Repeat("a", 256)
	for _, tc := range []struct{ name, user, pass string }{
		{"password", "alice", long},
		{"user name", long, "pw"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			gotAuth := make(chan bool, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					gotAuth <- false
					return
				}
				defer c.Close()
				var hdr [2]byte
				if _, err := io.ReadFull(c, hdr[:]); err != nil {
					gotAuth <- false
					return
				}
				methods := make([]byte, hdr[1])
				io.ReadFull(c, methods)
				c.Write([]byte{5, 2}) // username/password
				// RFC 1929: VER ULEN UNAME PLEN PASSWD.
				var b [1]byte
				if _, err := io.ReadFull(c, b[:]); err != nil {
					gotAuth <- false // the client sent nothing: refused
					return
				}
				io.ReadFull(c, b[:])
				io.ReadFull(c, make([]byte, b[0]))
				io.ReadFull(c, b[:])
				io.ReadFull(c, make([]byte, b[0]))
				gotAuth <- true
				c.Write([]byte{1, 1}) // failure
			}()
			pu := &url.URL{Scheme: "socks5h", User: url.UserPassword(tc.user, tc.pass), Host: ln.Addr().String()}
			opts := &websocket.DialOptions{Timeout: testTimeout, Proxy: func(*url.URL) (*url.URL, error) { return pu, nil }}
			_, err = websocket.Dial(context.Background(), "ws://target.test/", opts)
			if err == nil || !strings.Contains(err.Error(), "255 bytes") {
				t.Errorf("Dial = %v, want an error saying the %s is over 255 bytes", err, tc.name)
			}
			if <-gotAuth {
				t.Errorf("the proxy got an authentication request with a %d-byte %s", 256, tc.name)
			}
		})
	}
}

// TestReadLimitWithRoomyRecvAppendBuffer: ReadLimit holds a compressed
// message "as inflated" whatever the capacity of the buffer given to
// RecvAppend (the documented way is to pass back a buffer grown to the
// largest message).
func TestReadLimitWithRoomyRecvAppendBuffer(t *testing.T) {
	c, sc := deflatePipe(t, &websocket.DialOptions{ReadLimit: 1000}, "permessage-deflate; server_no_context_takeover")
	z := serverDeflate(t, false)
	sc.WriteRaw(wstest.AppendFrameRsv(nil, true, 4, byte(websocket.OpBinary), z(make([]byte, 4096))))
	_, p, err := c.RecvAppend(make([]byte, 0, 1<<16))
	var pe *websocket.PayloadError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "read limit") {
		t.Fatalf("RecvAppend = %d bytes, %v; want a *PayloadError about the read limit of 1000", len(p), err)
	}
	f := readFrame(t, sc)
	if f.Opcode != 0x8 || len(f.Payload) < 2 || int(f.Payload[0])<<8|int(f.Payload[1]) != 1009 {
		t.Fatalf("client sent %v, want close 1009", f)
	}
}
