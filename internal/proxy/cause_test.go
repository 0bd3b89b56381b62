package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"
)

// boundTimeout is a caller's own timeout given to ctx as its cause (as
// websocket.Dial gives its Timeout and HandshakeTimeout).
type boundTimeout struct{}

func (boundTimeout) Error() string        { return "the caller's bound" }
func (boundTimeout) Timeout() bool        { return true }
func (boundTimeout) Temporary() bool      { return true }
func (boundTimeout) Is(target error) bool { return target == os.ErrDeadlineExceeded }

// TestDialReportsCause: when ctx ends with a cause that is a timeout, the
// error wraps that cause, not ctx.Err() (context.DeadlineExceeded would say
// that the caller's own deadline passed); a cause that is no timeout (a
// caller's cancellation with a reason) still gives ctx.Err().
func TestDialReportsCause(t *testing.T) {
	silent := func(c net.Conn) { io.Copy(io.Discard, c) }
	for _, scheme := range []string{"http", "socks4a", "socks5h"} {
		t.Run(scheme+"/timeout cause", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithTimeoutCause(context.Background(), time.Second, boundTimeout{})
				defer cancel()
				_, err := Dial(ctx, mustParseURL(t, scheme+"://proxy.test"), "example.com:443", pipeDial(silent), nil, 0)
				checkError(t, err, "the caller's bound")
				var ne net.Error
				if !errors.Is(err, boundTimeout{}) || !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
					t.Errorf("%v: want the cause, a timeout", err)
				}
				if errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%v matches context.DeadlineExceeded", err)
				}
			})
		})
		t.Run(scheme+"/other cause", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancelCause(context.Background())
				time.AfterFunc(time.Second, func() { cancel(errors.New("shutting down")) })
				_, err := Dial(ctx, mustParseURL(t, scheme+"://proxy.test"), "example.com:443", pipeDial(silent), nil, 0)
				checkError(t, err, "context canceled")
				isErr(context.Canceled)(t, err)
			})
		})
		t.Run(scheme+"/proxy timeout within the bound", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithTimeoutCause(context.Background(), time.Minute, boundTimeout{})
				defer cancel()
				_, err := Dial(ctx, mustParseURL(t, scheme+"://proxy.test"), "example.com:443", pipeDial(silent), nil, time.Second)
				checkError(t, err, "proxy handshake timed out after 1s")
				wantTimeout(t, err)
			})
		})
	}
}
