package proxy

import (
	"context"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"
)

// pipeDial returns a DialFunc whose connections are in-memory pipes served
// by serve, so proxy timers run on synctest's fake clock.
func pipeDial(serve func(net.Conn)) DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			serve(server)
		}()
		return client, nil
	}
}

func TestTimeoutFake(t *testing.T) {
	// silent reads the request and never answers; trickle answers half a
	// reply, then nothing.
	silent := func(c net.Conn) { io.Copy(io.Discard, c) }
	trickle := func(c net.Conn) {
		c.Read(make([]byte, 512))
		io.WriteString(c, "HTTP/1.1 200 OK\r\n")
		io.Copy(io.Discard, c)
	}
	tests := []struct {
		name, scheme string
		serve        func(net.Conn)
		timeout      time.Duration
		ctxTimeout   time.Duration // 0: none
		wantMsg      string
		wantElapsed  time.Duration
	}{
		{"http silent", "http", silent, 5 * time.Second, 0, "reading reply: proxy handshake timed out after 5s", 5 * time.Second},
		{"http trickle", "http", trickle, 3 * time.Second, 0, "reading reply: proxy handshake timed out after 3s", 3 * time.Second},
		{"socks4 silent", "socks4a", silent, time.Second, 0, "reading reply: proxy handshake timed out after 1s", time.Second},
		{"socks5 silent", "socks5h", silent, 2 * time.Second, 0, "reading method choice: proxy handshake timed out after 2s", 2 * time.Second},
		{"ctx deadline first", "http", silent, time.Minute, 4 * time.Second, "reading reply: context deadline exceeded", 4 * time.Second},
		{"ctx only", "socks5h", silent, 0, 7 * time.Second, "context deadline exceeded", 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				if tt.ctxTimeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
					defer cancel()
				}
				start := time.Now()
				_, err := Dial(ctx, mustParseURL(t, tt.scheme+"://proxy.test"), "example.com:443", pipeDial(tt.serve), nil, tt.timeout)
				if elapsed := time.Since(start); elapsed != tt.wantElapsed {
					t.Errorf("failed after %v, want %v", elapsed, tt.wantElapsed)
				}
				checkError(t, err, tt.wantMsg)
				if tt.ctxTimeout == 0 {
					wantTimeout(t, err)
				} else {
					isErr(context.DeadlineExceeded)(t, err)
				}
				// synctest.Test fails if the fake proxy goroutine is left
				// blocked: closing the client side must have ended it.
			})
		})
	}
}

// TestTimeoutNotAfterSuccess checks that a tunnel outlives the proxy
// timeout: the deadline used during the handshake is not left on the conn.
func TestTimeoutNotAfterSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		serve := func(c net.Conn) {
			c.Read(make([]byte, 512))
			io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n")
			time.Sleep(time.Minute) // fake time: the tunnel stays quiet past the timeout
			io.WriteString(c, "late")
		}
		conn, err := Dial(context.Background(), mustParseURL(t, "http://proxy.test"), "example.com:443", pipeDial(serve), nil, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		b := make([]byte, 4)
		if _, err := io.ReadFull(conn, b); err != nil || string(b) != "late" {
			t.Fatalf("read %q, %v", b, err)
		}
	})
}
