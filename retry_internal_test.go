package websocket

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/proxy"
)

// TestRetryTransientProxyRefusals: what a proxy answers is judged as the
// server's answer would be: an HTTP proxy's status by the same table, a
// SOCKS proxy's refusal of our credentials or its ruleset's refusal as
// final, a SOCKS proxy that cannot reach the target as worth another try.
func TestRetryTransientProxyRefusals(t *testing.T) {
	status := func(code int, h http.Header) error {
		return &ProxyError{Reason: "CONNECT", Err: &proxy.StatusError{StatusCode: code, Header: h}}
	}
	socks := func(version int, code byte) error {
		return &ProxyError{Reason: "connecting", Err: &proxy.SOCKSError{Version: version, Code: code}}
	}
	for _, tc := range []struct {
		name  string
		err   error
		retry bool
		after time.Duration
	}{
		{"407", status(407, nil), false, 0},
		{"403", status(403, nil), false, 0},
		{"400", status(400, nil), false, 0},
		{"502", status(502, nil), true, 0},
		{"503", status(503, nil), true, 0},
		{"504", status(504, nil), true, 0},
		{"429 Retry-After 5", status(429, http.Header{"Retry-After": {"5"}}), true, 5 * time.Second},
		{"wrapped 407", fmt.Errorf("dial: %w", status(407, nil)), false, 0},
		{"SOCKS5 credentials", &ProxyError{Reason: "auth", Err: &authErrorForTest{}}, false, 0},
		{"SOCKS5 ruleset", socks(5, 0x02), false, 0},
		{"SOCKS5 general failure", socks(5, 0x01), true, 0},
		{"SOCKS5 host unreachable", socks(5, 0x04), true, 0},
		{"SOCKS5 connection refused", socks(5, 0x05), true, 0},
		{"SOCKS4 rejected or failed", socks(4, 0x5b), true, 0},
	} {
		if retry, after := RetryTransient(tc.err); retry != tc.retry || after != tc.after {
			t.Errorf("%s: RetryTransient(%v) = %v, %v; want %v, %v", tc.name, tc.err, retry, after, tc.retry, tc.after)
		}
	}
}

// authErrorForTest matches proxy.ErrAuthRejected, as the SOCKS5 reader's
// refusal of our credentials does.
type authErrorForTest struct{}

func (*authErrorForTest) Error() string        { return "user name or password rejected" }
func (*authErrorForTest) Is(target error) bool { return target == proxy.ErrAuthRejected }
