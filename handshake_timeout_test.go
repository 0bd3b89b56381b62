package websocket_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// silentPipe is a DialOptions.NetDialContext for synctest bubbles: the
// server end reads everything (the handshake request, a TLS ClientHello, a
// proxy CONNECT) and never answers.
func silentPipe(ctx context.Context, network, addr string) (net.Conn, error) {
	cli, srv := net.Pipe()
	go func() {
		defer srv.Close()
		io.Copy(io.Discard, srv)
	}()
	return cli, nil
}

// wantTimeout checks that err is a timeout error as the library makes them.
func wantTimeout(t *testing.T, err error) {
	t.Helper()
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v (%T), want a timeout (os.ErrDeadlineExceeded, net.Error)", err, err)
	}
	checkPrefix(t, err)
}

func TestDialHandshakeTimeout(t *testing.T) {
	silentProxy := func(*url.URL) (*url.URL, error) { return url.Parse("http://127.0.0.1:2") }
	tests := []struct {
		name        string
		url         string
		opts        websocket.DialOptions
		want        time.Duration
		byHandshake bool // HandshakeTimeout fired, not Timeout: the message says so
	}{
		{"default", pipeURL, websocket.DialOptions{}, 30 * time.Second, true},
		{"default TLS", "wss://127.0.0.1:1/", websocket.DialOptions{}, 30 * time.Second, true},
		{"default proxy", pipeURL, websocket.DialOptions{Proxy: silentProxy}, 30 * time.Second, true},
		{"set", pipeURL, websocket.DialOptions{HandshakeTimeout: 200 * time.Millisecond}, 200 * time.Millisecond, true},
		{"Timeout earlier", pipeURL, websocket.DialOptions{Timeout: time.Second}, time.Second, false},
		{"Timeout earlier than set", pipeURL, websocket.DialOptions{Timeout: time.Second, HandshakeTimeout: 5 * time.Second}, time.Second, false},
		{"set earlier than Timeout", pipeURL, websocket.DialOptions{Timeout: 5 * time.Second, HandshakeTimeout: 2 * time.Second}, 2 * time.Second, true},
		{"default earlier than Timeout", pipeURL, websocket.DialOptions{Timeout: time.Minute}, 30 * time.Second, true},
		{"none, Timeout", pipeURL, websocket.DialOptions{Timeout: time.Minute, HandshakeTimeout: -1}, time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := tt.opts
				opts.NetDialContext = silentPipe
				start := time.Now()
				_, err := websocket.Dial(context.Background(), tt.url, &opts)
				if d := time.Since(start); d != tt.want {
					t.Errorf("Dial failed after %v, want %v", d, tt.want)
				}
				wantTimeout(t, err)
				if tt.byHandshake && !strings.Contains(err.Error(), "handshake timeout: not done within HandshakeTimeout") {
					t.Errorf("err = %q, want it to say that the handshake timed out", err)
				}
			})
		})
	}
}

func TestDialHandshakeTimeoutContext(t *testing.T) {
	t.Run("none, cancel", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(time.Hour, cancel)
			start := time.Now()
			_, err := websocket.Dial(ctx, pipeURL, &websocket.DialOptions{HandshakeTimeout: -1, NetDialContext: silentPipe})
			if d := time.Since(start); d != time.Hour {
				t.Errorf("Dial failed after %v, want the 1h cancel", d)
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want it to wrap context.Canceled", err)
			}
			checkPrefix(t, err)
		})
	})
	t.Run("default, cancel", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(5*time.Second, cancel)
			_, err := websocket.Dial(ctx, pipeURL, &websocket.DialOptions{NetDialContext: silentPipe})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want it to wrap context.Canceled", err)
			}
		})
	})
	t.Run("default, ctx deadline earlier", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			_, err := websocket.Dial(ctx, pipeURL, &websocket.DialOptions{NetDialContext: silentPipe})
			if d := time.Since(start); d != 10*time.Second {
				t.Errorf("Dial failed after %v, want ctx's 10s", d)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want it to wrap context.DeadlineExceeded", err)
			}
		})
	})
}

// TestDialHandshakeTimeoutSocket runs the bound over a real TCP socket,
// with a nil *DialOptions's path otherwise.
func TestDialHandshakeTimeoutSocket(t *testing.T) {
	s := silentServer(t)
	// ctx only keeps a missing bound from hanging the test: its end is no
	// timeout error.
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, err := websocket.Dial(ctx, s.URL, &websocket.DialOptions{HandshakeTimeout: 200 * time.Millisecond})
	wantTimeout(t, err)
}

// TestDialHandshakeTimeoutOnlyHandshake checks that the bound ends with the
// handshake: an open connection may stay idle for longer.
func TestDialHandshakeTimeoutOnlyHandshake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &pipeServer{handle: func(i int, c *wstest.Conn) { wstest.Echo(c) }}
		c, err := websocket.Dial(context.Background(), pipeURL, &websocket.DialOptions{NetDialContext: p.dial})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if c.Timeout() != 0 {
			t.Errorf("Timeout() = %v, want 0: HandshakeTimeout is no I/O timeout", c.Timeout())
		}
		time.Sleep(time.Minute) // idle past the handshake's bound
		if err := c.SendText("still open"); err != nil {
			t.Fatal(err)
		}
		if m, err := c.Recv(); err != nil || string(m.Data) != "still open" {
			t.Fatalf("Recv = %q, %v", m.Data, err)
		}
	})
}

// TestAppHandshakeTimeoutReconnects: an App whose server accepts and never
// answers the handshake hears of it (a timeout to OnError) after the default
// HandshakeTimeout, and goes on to reconnect.
func TestAppHandshakeTimeoutReconnects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &pipeServer{handle: func(i int, c *wstest.Conn) {
			c.WriteFrame(true, 0x8, wstest.ClosePayload(1000, ""))
			c.ReadFrame()
		}}
		var dials atomic.Int32
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials.Add(1) == 1 {
				return silentPipe(ctx, network, addr)
			}
			return p.dial(ctx, network, addr)
		}
		var e events
		a := &websocket.App{URL: pipeURL}
		record(a, &e)
		start := time.Now()
		a.OnError = func(_ *websocket.App, err error) {
			e.add("error")
			if d := time.Since(start); d != 30*time.Second {
				t.Errorf("OnError after %v, want the default 30s HandshakeTimeout", d)
			}
			wantTimeout(t, err)
		}
		a.OnOpen = func(*websocket.App) {
			e.add("open")
			if d := time.Since(start); d != 31*time.Second {
				t.Errorf("open after %v, want 30s + the 1s reconnect delay", d)
			}
		}
		err := a.RunForever(&websocket.RunOptions{Reconnect: time.Second,
			PingInterval: 10 * time.Second, PingTimeout: 5 * time.Second,
			DialOptions: websocket.DialOptions{NetDialContext: dial}})
		if err != nil {
			t.Fatalf("RunForever = %v, want nil after the server's close", err)
		}
		want := []string{"error", "open", `close 1000 ""`}
		if got := e.list(); !slices.Equal(got, want) {
			t.Errorf("events\n got %q\nwant %q", got, want)
		}
	})
}

// TestHandshakeIOErrors: a server that fails while the client reads its
// response gets a *HandshakeError that says how: the connection closed
// before the response was whole, reset, or a response that is no HTTP. The
// first two also match the network's error, and RetryTransient retries them
// (a server restarting drops connections so; an App must come back); an
// answer that is not HTTP it does not.
func TestHandshakeIOErrors(t *testing.T) {
	var opErr *net.OpError
	for _, tc := range []struct {
		name   string
		answer func(nc *net.TCPConn)
		want   string
		cause  func(error) bool
		retry  bool
	}{
		{"closed", func(nc *net.TCPConn) { nc.Write([]byte("HTTP/1.1 101 Switching")) }, "connection closed before the response was complete",
			func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }, true},
		{"closed at once", func(*net.TCPConn) {}, "connection closed before the response was complete",
			func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }, true},
		{"reset", func(nc *net.TCPConn) { nc.SetLinger(0) }, "reading the response: ",
			func(err error) bool { return errors.As(err, &opErr) }, true},
		{"not HTTP", func(nc *net.TCPConn) { nc.Write([]byte("SSH-2.0-OpenSSH\r\n\r\n")) }, "malformed response: ",
			func(error) bool { return true }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := wstest.NewRaw(func(nc net.Conn) {
				defer nc.Close()
				if _, _, _, err := wstest.ReadRequest(nc); err != nil {
					return
				}
				tc.answer(nc.(*net.TCPConn))
			})
			defer srv.Close()
			_, err := websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{Timeout: testTimeout})
			var he *websocket.HandshakeError
			if !errors.As(err, &he) || !strings.Contains(he.Reason, tc.want) {
				t.Fatalf("Dial = %v, want a *HandshakeError saying %q", err, tc.want)
			}
			if !tc.cause(err) {
				t.Errorf("Dial = %v does not match the network's error", err)
			}
			if retry, _ := websocket.RetryTransient(err); retry != tc.retry {
				t.Errorf("RetryTransient(%v) = %v, want %v", err, retry, tc.retry)
			}
		})
	}
}
