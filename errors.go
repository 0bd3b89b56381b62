package websocket

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/wsclient/websocket/internal/httptoken"
)

// ErrConnectionClosed reports the use of a closed Conn, or that the socket
// ended. Errors that describe how a connection ended (*CloseError, a dropped
// socket) match it with errors.Is.
var ErrConnectionClosed = errors.New("websocket: connection closed")

// CloseError is returned when the peer closed the connection with a close
// frame. errors.Is(err, ErrConnectionClosed) is true for it.
type CloseError struct {
	Code   StatusCode // StatusNoStatusReceived when the close frame was empty
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("websocket: closed by peer: %d %s", uint16(e.Code), e.Code)
	}
	return fmt.Sprintf("websocket: closed by peer: %d %s: %q", uint16(e.Code), e.Code, e.Reason)
}

// Is makes errors.Is(err, ErrConnectionClosed) true for a *CloseError.
func (e *CloseError) Is(target error) bool { return target == ErrConnectionClosed }

// ProtocolError reports a violation of RFC 6455 by the peer or by a frame
// given to the library. The connection answers it with close code 1002.
type ProtocolError struct{ Reason string }

func (e *ProtocolError) Error() string { return "websocket: protocol error: " + e.Reason }

// PayloadError reports an invalid payload: a text message that is not UTF-8
// (close code 1007), a message over the read limit (1009), a close reason
// given to CloseWith that is not UTF-8. A received close frame whose
// payload is bad (one byte, a code no endpoint may send, a reason that is
// not UTF-8) is a *ProtocolError (1002).
type PayloadError struct{ Reason string }

func (e *PayloadError) Error() string { return "websocket: invalid payload: " + e.Reason }

// HandshakeError reports a 101 response whose upgrade is invalid: a missing
// or wrong Upgrade, Connection or Sec-WebSocket-Accept header, or a
// subprotocol or extension the client did not offer. It also reports an
// answer that is not HTTP, and a connection that closed or was reset
// before the answer was whole; such an error also matches the network's
// (io.ErrUnexpectedEOF, a *net.OpError), and RetryTransient retries it.
// Reason quotes what the server sent where it helps (a field's value, a
// malformed line); a credential the request carried that it repeats (the
// Authorization value echoed in a field) is replaced by "[redacted]".
type HandshakeError struct{ Reason string }

func (e *HandshakeError) Error() string { return "websocket: bad handshake: " + e.Reason }

// BadStatusError is returned when the server answers the opening handshake
// with a status other than 101 (and other than a redirect that was followed).
// Body holds at most the first 64 KiB of the response body. The fields hold
// what the server sent, secrets included (a Set-Cookie, a Location with a
// password: log Header with care); Error shows none of them, and shows
// StatusMessage quoted, with Go's escapes, when it has a character that is
// not printable (a control sequence, a bidi override), so that printing
// the error is safe, and does not show it when it repeats a credential the
// request carried (a server, or a proxy in the path, echoing it).
type BadStatusError struct {
	StatusCode    int
	StatusMessage string
	Header        http.Header
	Body          []byte

	secrets []string // the credentials the request carried (set by the dial: requestSecrets)
}

func (e *BadStatusError) Error() string {
	msg := e.StatusMessage
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	shown := httptoken.Shown(msg)
	if httptoken.RepeatsSecret(msg, e.secrets, false) {
		shown = "(reason not shown: it repeats a credential the request carried)"
	}
	return "websocket: handshake failed: status " + strconv.Itoa(e.StatusCode) + " " + shown
}

// ProxyError reports a proxy that could not be reached or refused the tunnel.
type ProxyError struct {
	Reason string
	Err    error // the cause, if any
}

func (e *ProxyError) Error() string {
	if e.Err == nil {
		return "websocket: proxy: " + e.Reason
	}
	return "websocket: proxy: " + e.Reason + ": " + detail(e.Err)
}

func (e *ProxyError) Unwrap() error { return e.Err }

// Timeout reports whether the proxy handshake timed out, so that a
// *ProxyError is a net.Error as *url.Error is: a proxy that stalls is a
// timeout to code that checks err.(net.Error).
func (e *ProxyError) Timeout() bool {
	var ne net.Error
	return errors.As(e.Err, &ne) && ne.Timeout()
}

// Temporary is Timeout; it exists for the net.Error interface.
func (e *ProxyError) Temporary() bool { return e.Timeout() }

// AddressError reports that the server's host name could not be resolved.
type AddressError struct {
	Host string
	Err  error
}

func (e *AddressError) Error() string {
	if e.Err == nil {
		return "websocket: cannot resolve " + strconv.Quote(e.Host)
	}
	return "websocket: cannot resolve " + strconv.Quote(e.Host) + ": " + detail(e.Err)
}

func (e *AddressError) Unwrap() error { return e.Err }

// timeoutError is returned when a deadline or the Conn's timeout expires.
// It matches os.ErrDeadlineExceeded (or context.DeadlineExceeded) through
// its cause and is a net.Error whose Timeout is true.
type timeoutError struct {
	op  string // "read", "write", "dial", "handshake"
	err error
}

func (e *timeoutError) Error() string   { return "websocket: " + e.op + " timeout: " + detail(e.err) }
func (e *timeoutError) Unwrap() error   { return e.err }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }
func (e *timeoutError) Is(target error) bool {
	return target == os.ErrDeadlineExceeded
}

// closedError reports a socket that ended (EOF, reset, Abort): it matches
// ErrConnectionClosed and wraps the cause. It is a net.Error whose Timeout
// is true when the cause is a timeout (a close frame abandoned, an App's
// connection ended by a write that timed out), as every error matching
// os.ErrDeadlineExceeded is.
type closedError struct{ err error }

func (e *closedError) Timeout() bool   { return errors.Is(e.err, os.ErrDeadlineExceeded) }
func (e *closedError) Temporary() bool { return false }

func (e *closedError) Error() string {
	if e.err == nil {
		return ErrConnectionClosed.Error()
	}
	return "websocket: connection closed: " + detail(e.err)
}
func (e *closedError) Unwrap() error        { return e.err }
func (e *closedError) Is(target error) bool { return target == ErrConnectionClosed }

// detail is err's message as an error of the module quotes it after its
// own: without the "websocket: " it starts with when it is the module's,
// so that a chain of the module's errors says it once, at its start.
func detail(err error) string { return strings.TrimPrefix(err.Error(), "websocket: ") }

// wrappedError is an error with a message of its own that wraps another.
type wrappedError struct {
	msg string
	err error
}

func (e *wrappedError) Error() string { return e.msg }
func (e *wrappedError) Unwrap() error { return e.err }

// wrapError returns an error that says msg, ": " and err's detail, and
// wraps err: fmt.Errorf("%s: %w") that says "websocket: " once.
func wrapError(msg string, err error) error {
	return &wrappedError{msg + ": " + detail(err), err}
}
