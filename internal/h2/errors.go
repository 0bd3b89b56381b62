package h2

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"golang.org/x/net/http2"
)

var (
	// ErrExtendedConnectUnsupported is returned by OpenWebSocket when the
	// server did not send SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441
	// §3): it cannot carry WebSockets over HTTP/2, and no stream was opened.
	ErrExtendedConnectUnsupported = errors.New("websocket: http2: server does not support extended CONNECT (RFC 8441)")

	// ErrNotHTTP2 is matched by the error of a connection whose server's
	// first bytes were not an HTTP/2 SETTINGS frame: it does not speak
	// HTTP/2 on that connection (an HTTP/1.1 server answering a client
	// that spoke HTTP/2 with prior knowledge, h2c).
	ErrNotHTTP2 = errors.New("websocket: http2: the server does not speak HTTP/2 here")

	// ErrRefused is wrapped by the errors of streams the server did not
	// process: streams above the last stream id of a GOAWAY, streams reset
	// with REFUSED_STREAM, and streams that could not be opened because the
	// connection was going away or full. Such a request is safe to retry on
	// another connection.
	ErrRefused = errors.New("websocket: http2: stream not processed by the server; safe to retry")

	// ErrClosed is wrapped by the errors of a ClientConn closed by Close
	// and of a Stream used after its Close.
	ErrClosed = errors.New("websocket: http2: closed")

	// ErrConnLost is wrapped by the errors of a connection whose reading
	// ended: the server closed or reset it, or a read failed.
	ErrConnLost = errors.New("websocket: http2: connection lost")
)

// Wrap returns an error that says msg, then ": " and err's message without
// its "websocket: " and "http2: " prefixes, and unwraps to err: a chain of
// the module's errors says "websocket: " once, at its start.
func Wrap(msg string, err error) error {
	return wrap(msg+": "+strings.TrimPrefix(strings.TrimPrefix(err.Error(), "websocket: "), "http2: "), err)
}

// CodeError is an HTTP/2 error code: a stream reset (RST_STREAM) or a
// connection error (GOAWAY), sent by the peer or by this end.
type CodeError struct {
	Code   http2.ErrCode // the HTTP/2 error code
	Stream bool          // a stream error (RST_STREAM); false: a connection error
	Remote bool          // sent by the peer; false: detected by this end
	Reason string        // why this end sent it, or the peer's GOAWAY debug data; may be empty
}

// Error describes the code, who sent it and why.
func (e *CodeError) Error() string {
	what := "connection error"
	if e.Stream {
		what = "stream reset"
	}
	who := ""
	if e.Remote {
		who = " by peer"
	}
	s := "websocket: http2: " + what + who + ": " + e.Code.String()
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Unwrap lets errors.Is(err, ErrRefused) hold for REFUSED_STREAM resets.
func (e *CodeError) Unwrap() error {
	if e.Stream && e.Code == http2.ErrCodeRefusedStream {
		return ErrRefused
	}
	return nil
}

// StatusError is returned by OpenWebSocket when the server answers the
// extended CONNECT with a status other than 2xx. The stream is reset
// (unless the server ended it).
type StatusError struct {
	StatusCode int         // the response's :status
	Header     http.Header // the response's header fields
	Body       []byte      // the start of the response body: what arrived within 2 s, at most MaxErrorBody bytes
}

// Error reports the status.
func (e *StatusError) Error() string {
	return fmt.Sprintf("websocket: http2: server answered the extended CONNECT with status %d", e.StatusCode)
}

// wrapped is an error with its own message that wraps others, for
// errors.Is and errors.As.
type wrapped struct {
	msg  string
	errs []error
}

func (e *wrapped) Error() string   { return e.msg }
func (e *wrapped) Unwrap() []error { return e.errs }

// wrap returns an error with message msg that wraps errs.
func wrap(msg string, errs ...error) error { return &wrapped{msg, errs} }

// beforeSettings marks err, a connection error found in the server's
// bytes, as ErrNotHTTP2 when no SETTINGS frame came before them (the bytes
// were not HTTP/2 at all, more likely than a broken HTTP/2 server); the
// error still matches the *CodeError. The reader goroutine calls it.
func (cc *ClientConn) beforeSettings(err error) error {
	if ce, ok := err.(*CodeError); ok && !cc.settingsRead {
		return wrap("websocket: http2: the server's first bytes are not HTTP/2 ("+strings.TrimPrefix(ce.Error(), "websocket: http2: ")+")", ErrNotHTTP2, ce)
	}
	return err
}

// connErr builds a connection error detected by this end.
func connErr(code http2.ErrCode, format string, args ...any) *CodeError {
	return &CodeError{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// streamErr builds a stream error detected by this end.
func streamErr(code http2.ErrCode, format string, args ...any) *CodeError {
	return &CodeError{Code: code, Stream: true, Reason: fmt.Sprintf(format, args...)}
}

// ctxErr is what an error reports when ctx ended: context.Cause(ctx) when it
// is a timeout (a net.Error whose Timeout is true) other than ctx.Err(),
// which the caller gave ctx to say its own bound fired (a dial's Timeout,
// which is no expiry of its caller's context); else ctx.Err(), as when ctx
// has no cause of its own.
func ctxErr(ctx context.Context) error {
	err := ctx.Err()
	var ne net.Error
	if cause := context.Cause(ctx); cause != err && errors.As(cause, &ne) && ne.Timeout() {
		return cause
	}
	return err
}
