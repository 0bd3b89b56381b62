package websocket_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// stalledConnectAddr returns the address of a listening socket whose accept
// queue is full, so that the kernel drops new SYNs and a connect to it
// waits until the kernel gives up (minutes).
func stalledConnectAddr(t *testing.T) string {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for range 16 { // fill the queue: nothing accepts
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	if c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond); err == nil {
		c.Close()
		t.Fatal("a connect to the full queue went through")
	}
	return addr
}

// TestDialTimeoutBoundsTheConnect: Timeout and HandshakeTimeout bound the
// TCP connect also under a context that cannot end (context.Background):
// the net package applies a context's deadline to a connect only when the
// context has a Done channel, and the dial waited minutes for the kernel.
// Also when a redirect leads there.
func TestDialTimeoutBoundsTheConnect(t *testing.T) {
	addr := stalledConnectAddr(t)
	redirect := wstest.NewServer(wstest.Reject(302, http.Header{"Location": {"ws://" + addr + "/"}}, ""))
	defer redirect.Close()
	for _, tc := range []struct {
		name string
		url  string
		opts websocket.DialOptions
	}{
		{"HandshakeTimeout", "ws://" + addr + "/", websocket.DialOptions{HandshakeTimeout: 300 * time.Millisecond}},
		{"Timeout", "ws://" + addr + "/", websocket.DialOptions{Timeout: 300 * time.Millisecond}},
		{"redirected", redirect.URL, websocket.DialOptions{HandshakeTimeout: 300 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				c, err := websocket.Dial(context.Background(), tc.url, &tc.opts)
				if c != nil {
					c.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				var ne net.Error
				if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
					t.Errorf("Dial = %v, want a timeout", err)
				}
			case <-time.After(20 * time.Second): // far above the 300 ms, far below the kernel's minutes
				t.Fatal("the dial was still connecting after 20 s")
			}
		})
	}
}
