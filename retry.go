package websocket

import (
	"crypto/tls"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wsclient/websocket/internal/proxy"
)

// maxRetryAfter caps the wait a 429 or 503 answer's Retry-After header
// asks for in DefaultRetry and RetryTransient.
const maxRetryAfter = time.Hour

// DefaultRetry is the failure classifier an App uses when RunOptions.Retry
// is nil: with reconnecting on, every failure reconnects on the schedule —
// a dropped socket, a failed dial, a handshake the server rejected or got
// wrong, a ping timeout — as websocket-client does. A 429 (Too Many
// Requests) or a 503 (Service Unavailable), from the server or from an
// HTTP proxy answering CONNECT, waits at least what its Retry-After header
// asks for (delay-seconds or an HTTP date, at most one hour).
//
// A run that should end on failures another attempt would only repeat (a
// 403, a certificate that cannot be verified, a server that does not speak
// WebSocket) sets RunOptions.Retry to RetryTransient, or to a function of
// its own.
func DefaultRetry(err error) (retry bool, after time.Duration) {
	var (
		bs *BadStatusError
		ps *proxy.StatusError
	)
	switch {
	case errors.As(err, &bs):
		return true, statusWait(bs.StatusCode, bs.Header)
	case errors.As(err, &ps):
		return true, statusWait(ps.StatusCode, ps.Header)
	}
	return true, 0
}

// statusWait is the least wait before another attempt after an answer
// with this status and header: what Retry-After asks for with a 429 or a
// 503 (RFC 9110 §10.2.3), nothing with another status.
func statusWait(code int, h http.Header) time.Duration {
	if code != http.StatusTooManyRequests && code != http.StatusServiceUnavailable {
		return 0
	}
	return retryAfter(h.Get("Retry-After"), time.Now())
}

// RetryTransient is a failure classifier for RunOptions.Retry that
// reconnects after failures that may pass (an outage, a restart, a
// timeout) and ends the run on those that another attempt would only
// repeat. Wrap it to change a few cases and keep the rest.
//
// It stops the run (retry false) on:
//
//   - a handshake answered with a status other than 101 (*BadStatusError),
//     except 429, 500, 502, 503 and 504: a 4xx such as 401, 403 or 404, a
//     redirect that may not be followed, a 200 from a server that does not
//     speak WebSocket, or another 5xx (501, 505, …);
//   - a certificate the TLS handshake could not verify: an
//     x509.UnknownAuthorityError, x509.HostnameError,
//     x509.CertificateInvalidError or *tls.CertificateVerificationError, for
//     the server or an https proxy;
//   - a 101 answer whose upgrade is invalid (*HandshakeError: a wrong
//     Sec-WebSocket-Accept, a subprotocol or extension the client did not
//     offer), or an answer that is not HTTP, or with HTTP2Require a server
//     that does not take WebSockets over HTTP/2: the server, or a
//     middlebox, does not speak the protocol the way the client asked;
//   - a proxy's refusal (*ProxyError) that another attempt would repeat:
//     an HTTP proxy's answer to CONNECT by the statuses' rules above (407
//     for credentials it does not take, 403 for a target its policy
//     forbids), a SOCKS5 proxy that rejects the user name and password or
//     every method offered, or whose ruleset forbids the connection.
//
// Everything else retries on the reconnect schedule (see Backoff): network
// errors (refused, reset, unreachable, unresolved host), a connection
// closed or reset before the handshake's answer was whole (a
// *HandshakeError that also matches io.ErrUnexpectedEOF or a *net.OpError),
// timeouts (dial, handshake, ping), a dropped connection, a protocol error
// of the server, a proxy that cannot be reached or cannot reach the target
// (an HTTP proxy's 502, 503, 504; a SOCKS "host unreachable"), and the
// statuses 500, 502, 503 and 504. A 429 (Too Many Requests) retries too.
// A 429 or 503 waits at least what its Retry-After header asks for
// (delay-seconds or an HTTP date, at most one hour); without a valid one,
// it retries on the schedule.
func RetryTransient(err error) (retry bool, after time.Duration) {
	var (
		bs *BadStatusError
		ps *proxy.StatusError
		se *proxy.SOCKSError
		hr *http2RequiredError
		he *HandshakeError
		ne *netHandshakeError
	)
	switch {
	case errors.As(err, &bs):
		return retryStatus(bs.StatusCode, bs.Header)
	case errors.As(err, &ps): // an HTTP proxy's answer to CONNECT
		return retryStatus(ps.StatusCode, ps.Header)
	case errors.Is(err, proxy.ErrAuthRejected), errors.As(err, &se) && se.Permanent(),
		errors.As(err, &hr), errors.As(err, &he) && !errors.As(err, &ne),
		certProblem(err) != certOK:
		return false, 0
	}
	return true, 0
}

// retryStatus is RetryTransient for an HTTP answer other than the one
// wanted, from the server or from an HTTP proxy.
func retryStatus(code int, h http.Header) (retry bool, after time.Duration) {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true, statusWait(code, h)
	}
	return false, 0
}

// retryAfter returns the wait a Retry-After header value asks for (RFC 9110
// §10.2.3: delay-seconds or an HTTP date), at most maxRetryAfter; 0 when v
// is empty, invalid or in the past.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || n >= uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return min(max(t.Sub(now), 0), maxRetryAfter)
}

// isRestartClose reports whether a server's close code announces a restart
// or a short unavailability worth reconnecting after, with
// RunOptions.ReconnectOnServerClose: 1001 (going away), 1012 (service
// restart) or 1013 (try again later).
func isRestartClose(code StatusCode) bool {
	switch code {
	case StatusGoingAway, StatusServiceRestart, StatusTryAgainLater:
		return true
	}
	return false
}

// classify asks the run's classifier whether to reconnect after err, and
// how long to wait at least. A panic in it is reported to OnError and the
// failure retries, as it did before classifiers.
func (s *Session) classify(err error) (retry bool, after time.Duration) {
	f := s.opts.Retry
	if f == nil {
		f = DefaultRetry
	}
	retry = true
	s.call("Retry", func() { retry, after = f(err) })
	return retry, max(after, 0)
}

// sessionTLSConfig returns the TLS configuration for a run of a: cfg
// itself when it has a ClientSessionCache, else the copy of it (of an empty
// config when nil) with a session cache that every App started with cfg
// dials with (tlsCopy), so that reconnects, and other Apps' connections,
// resume TLS sessions. a keeps the copy it used, so that a later run of it
// finds the same cache. The copy keeps cfg's meaning: without RootCAs it
// still trusts the system roots plus the environment's CA bundles.
func (a *App) sessionTLSConfig(cfg *tls.Config) *tls.Config {
	if cfg != nil && cfg.ClientSessionCache != nil {
		return cfg
	}
	c := tlsCopy(cfg)
	a.mu.Lock()
	a.tlsCopy = c
	a.mu.Unlock()
	return c
}
