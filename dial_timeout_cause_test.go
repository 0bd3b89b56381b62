package websocket_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// stallListener accepts TCP connections on 127.0.0.1 and hands each to
// serve, which stalls somewhere; the connections are closed at cleanup.
func stallListener(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// TestDialTimeoutIsNotTheCallersDeadline: when the dial's own Timeout,
// HandshakeTimeout or (through a proxy) ProxyTimeout fires while the
// caller's ctx is live, the error is a
// timeout (os.ErrDeadlineExceeded, a net.Error whose Timeout is true) and
// matches neither context.DeadlineExceeded nor context.Canceled, whatever
// stage stalled: a proxy's handshake, or an HTTP/2 connection's setup.
// When the caller's ctx ends first (cancelled, or its own earlier
// deadline), the error wraps ctx.Err().
func TestDialTimeoutIsNotTheCallersDeadline(t *testing.T) {
	silent := func(c net.Conn) { io.Copy(io.Discard, c) } // reads, never answers
	ca := wstest.NewCA()
	h2Silent := func(c net.Conn) { // negotiates h2, never sends SETTINGS
		cfg := ca.ServerConfig()
		cfg.NextProtos = []string{"h2"}
		tc := tls.Server(c, cfg)
		if tc.Handshake() != nil {
			return
		}
		io.Copy(io.Discard, tc)
	}
	type stage struct {
		name  string
		url   string
		opts  func() *websocket.DialOptions
		proxy bool // through a proxy: a *ProxyError
	}
	proxied := func(scheme string) func() *websocket.DialOptions {
		addr := stallListener(t, silent)
		return func() *websocket.DialOptions {
			return &websocket.DialOptions{Proxy: websocket.ProxyURL(scheme + "://" + addr)}
		}
	}
	h2 := func(serve func(net.Conn), scheme string) (string, func() *websocket.DialOptions) {
		addr := stallListener(t, serve)
		return scheme + "://" + addr + "/", func() *websocket.DialOptions {
			return &websocket.DialOptions{
				HTTP2:          websocket.HTTP2Require,
				HTTP2Transport: &websocket.HTTP2Transport{}, // a connection of its own each time
				TLSConfig:      &tls.Config{RootCAs: ca.Pool},
				Proxy:          func(*url.URL) (*url.URL, error) { return nil, nil },
			}
		}
	}
	// The target of the proxied dials is never reached.
	const target = "ws://127.0.0.1:9/"
	stages := []stage{
		{"HTTP CONNECT proxy", target, proxied("http"), true},
		{"https proxy (TLS stalls)", target, proxied("https"), true},
		{"SOCKS4 proxy", target, proxied("socks4a"), true},
		{"SOCKS5 proxy", target, proxied("socks5h"), true},
		// A NetDialContext that reports the end of its ctx as ctx.Err().
		{"NetDialContext", target, func() *websocket.DialOptions {
			return &websocket.DialOptions{
				Proxy: func(*url.URL) (*url.URL, error) { return nil, nil },
				NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
					<-ctx.Done()
					return nil, ctx.Err()
				},
			}
		}, false},
	}
	u, o := h2(h2Silent, "wss")
	stages = append(stages, stage{"HTTP/2 SETTINGS", u, o, false})
	u, o = h2(silent, "ws")
	stages = append(stages, stage{"h2c SETTINGS", u, o, false})
	u, o = h2(silent, "wss")
	stages = append(stages, stage{"HTTP/2 TLS stalls", u, o, false})

	const bound = 300 * time.Millisecond
	for _, s := range stages {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			bounds := []string{"HandshakeTimeout", "Timeout"}
			if s.proxy {
				bounds = append(bounds, "ProxyTimeout")
			}
			for _, b := range bounds {
				for _, parent := range []string{"WithCancel", "10s deadline"} {
					t.Run(b+"/"+parent, func(t *testing.T) {
						var ctx context.Context
						var cancel context.CancelFunc
						if parent == "WithCancel" {
							ctx, cancel = context.WithCancel(context.Background())
						} else {
							ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
						}
						defer cancel()
						opts := s.opts()
						switch b {
						case "Timeout":
							opts.Timeout = bound
						case "ProxyTimeout":
							opts.ProxyTimeout = bound
						default:
							opts.HandshakeTimeout = bound
						}
						start := time.Now()
						c, err := websocket.Dial(ctx, s.url, opts)
						elapsed := time.Since(start)
						if c != nil {
							c.Close()
							t.Fatal("Dial succeeded")
						}
						if ctx.Err() != nil {
							t.Fatalf("the caller's ctx ended (%v): the bound did not fire", ctx.Err())
						}
						if elapsed < bound || elapsed > 5*time.Second {
							t.Errorf("Dial failed after %v, want about %v", elapsed, bound)
						}
						var ne net.Error
						if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
							t.Errorf("Dial = %v; want a timeout (os.ErrDeadlineExceeded, net.Error with Timeout true)", err)
						}
						if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
							t.Errorf("Dial = %v; matches the caller's context.DeadlineExceeded or context.Canceled, though its ctx is live", err)
						}
						var pe *websocket.ProxyError
						if s.proxy && !errors.As(err, &pe) {
							t.Errorf("Dial = %v; want a *ProxyError", err)
						}
						checkPrefix(t, err)
					})
				}
			}
			for _, end := range []string{"cancel", "deadline"} {
				t.Run("caller's "+end, func(t *testing.T) {
					var ctx context.Context
					var cancel context.CancelFunc
					want := context.Canceled
					if end == "cancel" {
						ctx, cancel = context.WithCancel(context.Background())
						time.AfterFunc(100*time.Millisecond, cancel)
					} else {
						ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
						want = context.DeadlineExceeded
					}
					defer cancel()
					opts := s.opts()
					opts.HandshakeTimeout = 10 * time.Second
					start := time.Now()
					c, err := websocket.Dial(ctx, s.url, opts)
					elapsed := time.Since(start)
					if c != nil {
						c.Close()
						t.Fatal("Dial succeeded")
					}
					if elapsed > 5*time.Second {
						t.Errorf("Dial failed after %v, want about 100ms", elapsed)
					}
					if !errors.Is(err, want) {
						t.Errorf("Dial = %v; want it to wrap %v", err, want)
					}
					if end == "cancel" && strings.Contains(err.Error(), "timeout") {
						t.Errorf("Dial = %v; nothing timed out, the caller's ctx ended", err)
					}
					checkPrefix(t, err)
				})
			}
		})
	}
}

// TestDialCancelledDuringTheAnswer: a dial whose ctx is cancelled while it
// waits for the 101 says so, and not that a timeout fired (the socket's
// deadline is how the cancel interrupts the read): it said "dial: context
// canceled (handshake timeout: read tcp …: i/o timeout)".
func TestDialCancelledDuringTheAnswer(t *testing.T) {
	got := make(chan struct{})
	s := wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		if _, _, _, err := wstest.ReadRequest(nc); err == nil {
			close(got)
			io.Copy(io.Discard, nc) // no answer
		}
	})
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-got
		cancel()
	}()
	_, err := websocket.Dial(ctx, s.URL, &websocket.DialOptions{HandshakeTimeout: 10 * time.Second})
	if !errors.Is(err, context.Canceled) || errors.Is(err, os.ErrDeadlineExceeded) || strings.Contains(err.Error(), "timeout") {
		t.Errorf("Dial = %v; want context.Canceled, and no word of a timeout", err)
	}
	checkPrefix(t, err)
}
