package websocket_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/leaktest"
	"github.com/wsclient/websocket/internal/proxy/proxytest"
	iwstest "github.com/wsclient/websocket/internal/wstest"
	"github.com/wsclient/websocket/wstest"
)

// TestRetryTransient: each class of failure → retry or stop, and the least
// wait.
func TestRetryTransient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		status := func(code int, header ...string) error {
			h := http.Header{}
			for i := 0; i+1 < len(header); i += 2 {
				h.Set(header[i], header[i+1])
			}
			return &websocket.BadStatusError{StatusCode: code, Header: h}
		}
		in30s := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
		ago := time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat)
		refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		tests := []struct {
			name  string
			err   error
			retry bool
			after time.Duration
		}{
			{"connection refused", refused, true, 0},
			{"unresolved host", &websocket.AddressError{Host: "nowhere.invalid", Err: errors.New("no such host")}, true, 0},
			{"timeout", fmt.Errorf("websocket: handshake timeout: %w", os.ErrDeadlineExceeded), true, 0},
			{"context deadline", context.DeadlineExceeded, true, 0},
			{"dropped", fmt.Errorf("websocket: connection closed: %w", net.ErrClosed), true, 0},
			{"ErrConnectionClosed", websocket.ErrConnectionClosed, true, 0},
			{"protocol error", &websocket.ProtocolError{Reason: "bad opcode"}, true, 0},
			{"proxy unreachable", &websocket.ProxyError{Reason: "dial", Err: refused}, true, 0},
			{"TLS alert", fmt.Errorf("websocket: TLS handshake: %w", tls.AlertError(40)), true, 0},
			{"500", status(500), true, 0},
			{"502", status(502), true, 0},
			{"503", status(503), true, 0},
			{"504", status(504), true, 0},
			{"503 wrapped", fmt.Errorf("redirected: %w", status(503)), true, 0},
			{"429 without Retry-After", status(429), true, 0},
			{"429 Retry-After 7", status(429, "Retry-After", "7"), true, 7 * time.Second},
			{"429 Retry-After 0", status(429, "Retry-After", "0"), true, 0},
			{"429 Retry-After date", status(429, "Retry-After", in30s), true, 30 * time.Second},
			{"429 Retry-After past date", status(429, "Retry-After", ago), true, 0},
			{"429 Retry-After huge", status(429, "Retry-After", "86400"), true, time.Hour},
			{"429 Retry-After overflow", status(429, "Retry-After", "99999999999999999999"), true, time.Hour},
			{"429 Retry-After negative", status(429, "Retry-After", "-5"), true, 0},
			{"429 Retry-After garbage", status(429, "Retry-After", "soon"), true, 0},
			{"503 Retry-After 7", status(503, "Retry-After", "7"), true, 7 * time.Second},
			{"503 Retry-After date", status(503, "Retry-After", in30s), true, 30 * time.Second},
			{"503 Retry-After garbage", status(503, "Retry-After", "soon"), true, 0},
			{"500 Retry-After ignored", status(500, "Retry-After", "7"), true, 0},
			{"403 Retry-After ignored", status(403, "Retry-After", "7"), false, 0},
			{"400", status(400), false, 0},
			{"401", status(401), false, 0},
			{"403", status(403), false, 0},
			{"404", status(404), false, 0},
			{"408", status(408), false, 0},
			{"501", status(501), false, 0},
			{"505", status(505), false, 0},
			{"200", status(200), false, 0},
			{"302 not followed", status(302), false, 0},
			{"bad upgrade", &websocket.HandshakeError{Reason: "wrong Sec-WebSocket-Accept"}, false, 0},
			{"unknown authority", fmt.Errorf("websocket: TLS: %w", x509.UnknownAuthorityError{}), false, 0},
			{"hostname", x509.HostnameError{Host: "example.com"}, false, 0},
			{"certificate invalid", x509.CertificateInvalidError{Reason: x509.Expired}, false, 0},
			{"verification", &tls.CertificateVerificationError{Err: errors.New("x")}, false, 0},
			{"https proxy certificate", &websocket.ProxyError{Reason: "TLS", Err: x509.UnknownAuthorityError{}}, false, 0},
		}
		for _, tt := range tests {
			retry, after := websocket.RetryTransient(tt.err)
			if retry != tt.retry || after != tt.after {
				t.Errorf("%s: RetryTransient(%v) = %v, %v; want %v, %v", tt.name, tt.err, retry, after, tt.retry, tt.after)
			}
		}
	})
}

// TestDefaultRetry: what an App does when RunOptions.Retry is nil. Every
// failure reconnects, as the contract says of a dropped socket, a failed
// dial, a handshake failure and a ping timeout; a 429 waits at least its
// Retry-After.
func TestDefaultRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := http.Header{"Retry-After": {"7"}}
		for _, err := range []error{
			&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)},
			&websocket.BadStatusError{StatusCode: 403}, &websocket.BadStatusError{StatusCode: 404},
			&websocket.BadStatusError{StatusCode: 501}, &websocket.BadStatusError{StatusCode: 200},
			&websocket.HandshakeError{Reason: "wrong Sec-WebSocket-Accept"}, x509.UnknownAuthorityError{},
			&websocket.ProxyError{Reason: "407"}, fmt.Errorf("websocket: ping timeout: %w", os.ErrDeadlineExceeded),
		} {
			if retry, after := websocket.DefaultRetry(err); !retry || after != 0 {
				t.Errorf("DefaultRetry(%v) = %v, %v; want true, 0", err, retry, after)
			}
		}
		for _, code := range []int{429, 503} {
			if retry, after := websocket.DefaultRetry(fmt.Errorf("x: %w", &websocket.BadStatusError{StatusCode: code, Header: h})); !retry || after != 7*time.Second {
				t.Errorf("DefaultRetry(%d, Retry-After 7) = %v, %v; want true, 7s", code, retry, after)
			}
		}
		for _, code := range []int{403, 500} {
			if retry, after := websocket.DefaultRetry(&websocket.BadStatusError{StatusCode: code, Header: h}); !retry || after != 0 {
				t.Errorf("DefaultRetry(%d, Retry-After 7) = %v, %v; want true, 0", code, retry, after)
			}
		}
	})
}

// TestAppDefaultRetryReconnectsAfterHandshakeFailures: with Retry nil and
// reconnecting on, a handshake the server rejects (403) or gets wrong (a
// bad Sec-WebSocket-Accept) goes to OnError and then to the reconnect
// schedule, and the next attempt opens.
func TestAppDefaultRetryReconnectsAfterHandshakeFailures(t *testing.T) {
	for name, first := range map[string]func(*wstest.Conn){
		"403":        func(c *wstest.Conn) { c.Reject(http.StatusForbidden, nil, "go away") },
		"bad accept": func(c *wstest.Conn) { c.Accept(http.Header{"Sec-WebSocket-Accept": {"wrong="}}) },
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var n atomic.Int32
				srv := wstest.NewPipeServer(func(c *wstest.Conn) {
					if n.Add(1) == 1 {
						first(c)
						return
					}
					c.Close(1000, "bye")
				})
				defer srv.Close()
				var e events
				a, opts := policyApp(srv, &e)
				if err := runHour(a, opts); err != nil {
					t.Fatalf("Run = %v, want nil (the reconnect closed cleanly)", err)
				}
				if got, want := e.list(), []string{"error", "open", `close 1000 "bye"`}; !slices.Equal(got, want) {
					t.Errorf("events %q, want %q", got, want)
				}
			})
		})
	}
}

// policyApp returns an App dialing srv over pipes whose callbacks record
// into e, and its options with reconnecting on (1 s).
func policyApp(srv *wstest.Server, e *events) (*websocket.App, *websocket.RunOptions) {
	a := &websocket.App{URL: srv.URL}
	record(a, e)
	return a, &websocket.RunOptions{Reconnect: time.Second,
		DialOptions: websocket.DialOptions{NetDialContext: srv.DialContext}}
}

// runHour runs a for at most an hour of the bubble's time, so that a run
// that goes on reconnecting when it should not fails its test instead of
// hanging it.
func runHour(a *websocket.App, opts *websocket.RunOptions) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	return a.Run(ctx, opts)
}

// TestAppRetryStopsOn403: with RetryTransient, a rejected handshake ends
// the run at once, with the *BadStatusError, although reconnecting is on.
func TestAppRetryStopsOn403(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := wstest.NewPipeServer(wstest.Reject(http.StatusForbidden, nil, "go away"))
		defer srv.Close()
		var e events
		a, opts := policyApp(srv, &e)
		opts.Retry = websocket.RetryTransient
		err := runHour(a, opts)
		var bs *websocket.BadStatusError
		if !errors.As(err, &bs) || bs.StatusCode != http.StatusForbidden {
			t.Fatalf("Run = %v, want the 403 *BadStatusError", err)
		}
		if n := len(srv.Conns()); n != 1 {
			t.Errorf("%d connections, want 1 (no reconnect after a 403)", n)
		}
		if got, want := e.list(), []string{"error"}; !slices.Equal(got, want) {
			t.Errorf("events %q, want %q", got, want)
		}
	})
}

// TestAppRetryOn503: a 503 is retried on the schedule.
func TestAppRetryOn503(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			if n.Add(1) == 1 {
				c.Reject(http.StatusServiceUnavailable, nil, "")
				return
			}
			c.Close(1000, "")
		})
		defer srv.Close()
		var e events
		a, opts := policyApp(srv, &e)
		start := time.Now()
		a.OnOpen = func(*websocket.App) {
			e.add("open")
			if d := time.Since(start); d != time.Second {
				t.Errorf("open after %v, want the 1s reconnect delay", d)
			}
		}
		if err := runHour(a, opts); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		if got, want := e.list(), []string{"error", "open", `close 1000 ""`}; !slices.Equal(got, want) {
			t.Errorf("events %q, want %q", got, want)
		}
	})
}

// TestAppRetryAfter429: a 429 is retried after its Retry-After, longer
// than the schedule's wait; the schedule goes on behind it.
func TestAppRetryAfter429(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			switch n.Add(1) {
			case 1:
				c.Reject(http.StatusTooManyRequests, http.Header{"Retry-After": {"7"}}, "")
			case 2:
				c.Reject(http.StatusServiceUnavailable, nil, "")
			default:
				c.Close(1000, "")
			}
		})
		defer srv.Close()
		var e events
		a, opts := policyApp(srv, &e)
		opts.Backoff = &websocket.Backoff{Jitter: -1}
		start := time.Now()
		var errAt []time.Duration
		a.OnError = func(*websocket.App, error) {
			e.add("error")
			errAt = append(errAt, time.Since(start))
		}
		a.OnOpen = func(*websocket.App) {
			e.add("open")
			// 7 s (Retry-After, not the schedule's 1 s), then the
			// schedule's second wait, 2 s.
			if d := time.Since(start); d != 9*time.Second {
				t.Errorf("open after %v, want 7s + 2s", d)
			}
		}
		if err := runHour(a, opts); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		if want := []time.Duration{0, 7 * time.Second}; !slices.Equal(errAt, want) {
			t.Errorf("errors at %v, want %v", errAt, want)
		}
		if got, want := e.list(), []string{"error", "error", "open", `close 1000 ""`}; !slices.Equal(got, want) {
			t.Errorf("events %q, want %q", got, want)
		}
	})
}

// TestAppRetryCustom: RunOptions.Retry sees each failure, after OnError;
// it can ask for a longer wait than the schedule's or stop the run, and a
// panic in it is reported and the failure retries.
func TestAppRetryCustom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			switch n.Add(1) {
			case 1:
				c.Reject(http.StatusForbidden, nil, "") // retried: the classifier says so
			case 2:
				c.Accept(nil) // then dropped: the classifier panics
			default:
				c.Reject(http.StatusServiceUnavailable, nil, "") // the classifier stops
			}
		})
		defer srv.Close()
		var e events
		a, opts := policyApp(srv, &e)
		var panicErr error
		a.OnError = func(_ *websocket.App, err error) {
			e.add("error")
			if strings.Contains(err.Error(), "panic") {
				panicErr = err
			}
		}
		start := time.Now()
		var calls []time.Duration
		var seen []error
		opts.Retry = func(err error) (bool, time.Duration) {
			calls = append(calls, time.Since(start))
			seen = append(seen, err)
			e.add("retry?")
			switch len(calls) {
			case 1:
				return true, 5 * time.Second
			case 2:
				panic("oops")
			}
			return false, time.Hour
		}
		err := runHour(a, opts)
		var bs *websocket.BadStatusError
		if !errors.As(err, &bs) || bs.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("Run = %v, want the 503 the classifier stopped on", err)
		}
		// 5 s asked for (over the schedule's 1 s); after the connection that
		// opened, the schedule started over: 1 s.
		if want := []time.Duration{0, 5 * time.Second, 6 * time.Second}; !slices.Equal(calls, want) {
			t.Errorf("classifier called at %v, want %v", calls, want)
		}
		if len(seen) == 3 && (!errors.As(seen[0], &bs) || bs.StatusCode != http.StatusForbidden ||
			!errors.Is(seen[1], websocket.ErrConnectionClosed) || seen[2] != err) {
			t.Errorf("classifier saw %v", seen)
		}
		if panicErr == nil || !strings.Contains(panicErr.Error(), "panic in Retry: oops") {
			t.Errorf("panic reported as %v", panicErr)
		}
		want := []string{"error", "retry?", "open", "error", `close 1006 ""`, "retry?", "error", "error", "retry?"}
		if got := e.list(); !slices.Equal(got, want) {
			t.Errorf("events\n got %q\nwant %q", got, want)
		}
	})
}

// TestAppRetryNotCalledWithoutReconnect: with reconnecting off the
// classifier has nothing to decide.
func TestAppRetryNotCalledWithoutReconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := wstest.NewPipeServer(wstest.Reject(http.StatusServiceUnavailable, nil, ""))
		defer srv.Close()
		var e events
		a, opts := policyApp(srv, &e)
		opts.Reconnect = -1
		opts.Retry = func(error) (bool, time.Duration) {
			t.Error("Retry called with reconnecting off")
			return true, 0
		}
		var bs *websocket.BadStatusError
		if err := runHour(a, opts); !errors.As(err, &bs) {
			t.Fatalf("Run = %v, want the 503", err)
		}
	})
}

// TestAppRetryStopsOnUnknownAuthority: with RetryTransient, a server
// certificate signed by an unknown authority ends the run at once,
// although reconnecting is on.
func TestAppRetryStopsOnUnknownAuthority(t *testing.T) {
	defer leaktest.Check(t)()
	srv := wstest.NewTLSServer(wstest.Echo)
	defer srv.Close()
	var errs atomic.Int32
	a := &websocket.App{URL: srv.URL, OnError: func(a *websocket.App, err error) {
		if errs.Add(1) > 1 {
			t.Errorf("a second attempt after %v", err)
			a.Close()
		}
	}, OnOpen: func(a *websocket.App) {
		t.Error("OnOpen with an untrusted certificate")
		a.Close()
	}}
	err := a.RunForever(&websocket.RunOptions{Reconnect: time.Millisecond, Retry: websocket.RetryTransient,
		DialOptions: websocket.DialOptions{Timeout: testTimeout}})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("RunForever = %v, want an x509.UnknownAuthorityError", err)
	}
	if n := errs.Load(); n != 1 {
		t.Errorf("%d errors, want 1", n)
	}
}

// TestAppReconnectOnServerClose: with ReconnectOnServerClose, a server's
// close with 1001, 1012 or 1013 leads to a reconnect after the reconnect
// delay, not to OnError; any other code still ends the run cleanly, as
// every code does without the option or with reconnecting off.
func TestAppReconnectOnServerClose(t *testing.T) {
	tests := []struct {
		code      uint16
		option    bool
		reconnect time.Duration
		again     bool
	}{
		{1001, true, time.Second, true},
		{1012, true, time.Second, true},
		{1013, true, time.Second, true},
		{1000, true, time.Second, false},
		{1011, true, time.Second, false},
		{4000, true, time.Second, false},
		{1012, false, time.Second, false},
		{1012, true, -1, false},
		{1012, true, 0, false}, // 0: SetReconnect's value, 0 (off) here
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%d option=%v reconnect=%v", tt.code, tt.option, tt.reconnect)
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var n atomic.Int32
				srv := wstest.NewPipeServer(func(c *wstest.Conn) {
					if n.Add(1) == 1 {
						c.Close(tt.code, "restart")
						return
					}
					c.Close(1000, "")
				})
				defer srv.Close()
				var e events
				a, opts := policyApp(srv, &e)
				opts.Reconnect, opts.ReconnectOnServerClose = tt.reconnect, tt.option
				var closed time.Time
				a.OnClose = func(_ *websocket.App, c websocket.StatusCode, r string) {
					e.add("close %d %q", c, r)
					closed = time.Now()
				}
				a.OnReconnect = func(*websocket.App) {
					e.add("reconnect")
					if d := time.Since(closed); d != time.Second {
						t.Errorf("reconnected %v after the close, want 1s", d)
					}
				}
				if err := runHour(a, opts); err != nil {
					t.Fatalf("Run = %v, want nil", err)
				}
				want := []string{"open", fmt.Sprintf("close %d %q", tt.code, "restart")}
				if tt.again {
					want = append(want, "reconnect", `close 1000 ""`)
				}
				if got := e.list(); !slices.Equal(got, want) {
					t.Errorf("events\n got %q\nwant %q", got, want)
				}
			})
		})
	}
}

// TestAppRetryProxyAnswers: a proxy's answer is judged as the server's
// would be. An HTTP proxy that refuses our credentials (407) or the target
// (403), or a SOCKS5 proxy that rejects our user name and password, ends a
// reconnecting run at once with the *ProxyError: another attempt would
// only repeat it. A proxy that cannot reach the target (502) is retried.
func TestAppRetryProxyAnswers(t *testing.T) {
	target := iwstest.New(iwstest.Echo)
	defer target.Close()
	auth := proxytest.Auth{User: "u", Password: "right"}
	httpProxy := proxytest.Start(t, "127.0.0.1", proxytest.HTTPConnect(proxytest.HTTPOptions{Auth: auth}))
	socksProxy := proxytest.Start(t, "127.0.0.1", proxytest.SOCKS5(proxytest.SOCKSOptions{Auth: auth}))
	for _, tc := range []struct {
		name, proxy, target string
		retry               bool
	}{
		{"HTTP proxy, 407", "http://u:wrong@" + httpProxy.Addr, target.URL, false},
		{"SOCKS5, credentials rejected", "socks5://u:wrong@" + socksProxy.Addr, target.URL, false},
		{"HTTP proxy, 502", "http://u:right@" + httpProxy.Addr, "ws://127.0.0.1:1/", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var errs []error
			a := &websocket.App{URL: tc.target}
			a.OnError = func(a *websocket.App, err error) {
				if errs = append(errs, err); len(errs) == 3 {
					a.Close() // retried twice: enough
				}
			}
			pu, _ := url.Parse(tc.proxy)
			err := a.RunForever(&websocket.RunOptions{Reconnect: time.Millisecond, Retry: websocket.RetryTransient, DialOptions: websocket.DialOptions{
				Timeout: testTimeout, Proxy: func(*url.URL) (*url.URL, error) { return pu, nil }}})
			var pe *websocket.ProxyError
			if len(errs) == 0 || !errors.As(errs[0], &pe) {
				t.Fatalf("errors %v, want a *ProxyError first", errs)
			}
			if retried := len(errs) > 1; retried != tc.retry {
				t.Fatalf("%d errors (%v), result %v; want retried %v", len(errs), errs, err, tc.retry)
			}
			if !tc.retry && !errors.As(err, &pe) {
				t.Fatalf("result %v, want the *ProxyError", err)
			}
		})
	}
}

// TestRetryAfterFromAProxy: a 429 or 503 from an HTTP proxy answering CONNECT
// waits its Retry-After with DefaultRetry, as one from the server does
// and as with RetryTransient (DefaultRetry retried it on the schedule).
func TestRetryAfterFromAProxy(t *testing.T) {
	for _, status := range []string{"429 Too Many Requests", "503 Service Unavailable"} {
		p := proxytest.Start(t, "127.0.0.1", func(_ *proxytest.Server, c net.Conn) {
			if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
				io.WriteString(c, "HTTP/1.1 "+status+"\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n")
			}
		})
		_, err := websocket.Dial(context.Background(), "ws://127.0.0.1:1/", &websocket.DialOptions{Timeout: testTimeout, Proxy: websocket.ProxyURL("http://" + p.Addr)})
		var pe *websocket.ProxyError
		if !errors.As(err, &pe) {
			t.Fatalf("Dial = %v, want a *ProxyError", err)
		}
		for name, f := range map[string]func(error) (bool, time.Duration){"DefaultRetry": websocket.DefaultRetry, "RetryTransient": websocket.RetryTransient} {
			if retry, after := f(err); !retry || after != 7*time.Second {
				t.Errorf("%s: %s(%v) = %v, %v; want true, 7s", status, name, err, retry, after)
			}
		}
	}
}
