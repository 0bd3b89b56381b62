package proxy

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wsclient/websocket/internal/httptoken"
)

// Error reports a proxy that could not be used: a bad proxy URL, an
// unreachable proxy, a refused tunnel or a malformed reply. The root package
// converts it field for field into a *websocket.ProxyError.
type Error struct {
	Reason string
	Err    error // the cause, if any
}

func (e *Error) Error() string {
	if e.Err == nil {
		return "websocket: proxy: " + e.Reason
	}
	return "websocket: proxy: " + e.Reason + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// maxBodyInError bounds the part of a refusal's body kept in StatusError.
const maxBodyInError = 512

// StatusError is the cause of an *Error when an HTTP proxy answered CONNECT
// with a status other than 2xx. Body holds at most the first 512 bytes of the
// response body that were available. Error shows the start of Body, unless
// it repeats the credentials the request carried (a proxy that echoes the
// request it refused).
type StatusError struct {
	StatusCode int
	Status     string // the reason phrase, e.g. "Proxy Authentication Required"
	Header     http.Header
	Body       []byte

	secrets []string // the Proxy-Authorization token and password sent
}

func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(e.StatusCode))
	status := e.Status
	if status == "" {
		status = http.StatusText(e.StatusCode)
	}
	if status != "" {
		b.WriteString(" ")
		if httptoken.RepeatsSecret(status, e.secrets, false) {
			b.WriteString("(reason not shown: it repeats the credentials sent)")
		} else {
			b.WriteString(httptoken.Shown(status))
		}
	}
	if snippet := bodySnippet(e.Body); snippet != "" {
		b.WriteString(": ")
		// The body may have been cut by the bound amid a credential.
		cut := len(e.Body) == maxBodyInError
		if httptoken.RepeatsSecret(string(e.Body), e.secrets, cut) || httptoken.RepeatsSecret(snippet, e.secrets, false) {
			b.WriteString("(body not shown: it repeats the credentials sent)")
		} else {
			b.WriteString(strconv.Quote(snippet))
		}
	}
	return b.String()
}

// bodySnippet is the start of body fit for a one-line message: at most 120
// runes, whitespace runs folded, cut at a rune boundary.
func bodySnippet(body []byte) string {
	const maxRunes = 120
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(body), "\uFFFD")), " ")
	n := 0
	for i := range s {
		if n == maxRunes {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// TimeoutError is the cause of an *Error when the proxy timeout expired
// before the tunnel was up. It matches os.ErrDeadlineExceeded with
// errors.Is (not context.DeadlineExceeded, see Is) and is a net.Error whose
// Timeout is true, so callers test for timeouts the way they do for any
// socket.
type TimeoutError struct {
	After time.Duration // the proxy timeout that expired
}

func (e *TimeoutError) Error() string {
	return "proxy handshake timed out after " + e.After.String()
}

// Timeout reports true: this is a timeout (net.Error).
func (e *TimeoutError) Timeout() bool { return true }

// Temporary reports true, as the net package does for its own timeouts.
func (e *TimeoutError) Temporary() bool { return true }

// Is makes errors.Is match os.ErrDeadlineExceeded, as every timeout of the
// library does. It does not match context.DeadlineExceeded: that would say
// the caller's context expired, and the caller's context is live.
func (e *TimeoutError) Is(target error) bool { return target == os.ErrDeadlineExceeded }
