package websocket

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"
)

// LevelTrace is the slog level of frame dumps; the handshake is logged at
// slog.LevelDebug and failures at slog.LevelError.
const LevelTrace = slog.Level(-8)

// tracer is the state set by EnableTrace.
type tracer struct {
	on     bool
	logger *slog.Logger
}

var currentTracer atomic.Pointer[tracer]

// traceActive caches whether tracing is on, for the frame hot path.
var traceActive atomic.Bool

// EnableTrace turns tracing on or off. While on, the handshake request and
// response (at slog.LevelDebug) and every frame sent and received (at
// LevelTrace: opcode, fin, length, a payload preview) go to h; a nil h
// writes text to stderr at every level. The values of Authorization,
// Proxy-Authorization, Cookie and Set-Cookie headers and passwords in URLs
// are never logged. While off, nothing is traced and IsEnabledForError,
// IsEnabledForDebug and IsEnabledForTrace report false. Python's
// enableTrace.
func EnableTrace(on bool, h slog.Handler) {
	if h == nil {
		h = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: LevelTrace, ReplaceAttr: traceLevelName})
	}
	currentTracer.Store(&tracer{on: on, logger: slog.New(h)})
	traceActive.Store(on && h.Enabled(context.Background(), LevelTrace))
}

// traceLevelName prints LevelTrace as "TRACE" instead of "DEBUG-4".
func traceLevelName(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.LevelKey && len(groups) == 0 {
		if l, ok := a.Value.Any().(slog.Level); ok && l == LevelTrace {
			a.Value = slog.StringValue("TRACE")
		}
	}
	return a
}

// logger returns the handler in effect: the one given to EnableTrace, else
// slog's default.
func logger() *slog.Logger {
	if t := currentTracer.Load(); t != nil {
		return t.logger
	}
	return slog.Default()
}

func tracing() bool {
	t := currentTracer.Load()
	return t != nil && t.on
}

func traceOn() bool { return traceActive.Load() }

// IsEnabledForError reports whether the current handler logs errors: false
// while EnableTrace has turned tracing off.
func IsEnabledForError() bool { return enabledFor(slog.LevelError) }

// IsEnabledForDebug reports whether the current handler logs at debug level:
// false while EnableTrace has turned tracing off.
func IsEnabledForDebug() bool { return enabledFor(slog.LevelDebug) }

// IsEnabledForTrace reports whether the current handler logs frame dumps:
// false while EnableTrace has turned tracing off.
func IsEnabledForTrace() bool { return enabledFor(LevelTrace) }

// enabledFor asks the handler given to EnableTrace, when tracing is on,
// whether it logs at level l; before any EnableTrace it asks slog's default.
func enabledFor(l slog.Level) bool {
	t := currentTracer.Load()
	if t == nil {
		return slog.Default().Enabled(context.Background(), l)
	}
	return t.on && t.logger.Enabled(context.Background(), l)
}

// Dump logs message under a title at debug level while tracing is on, as
// Python's dump does.
func Dump(title, message string) {
	if tracing() {
		logger().Debug("--- " + title + " ---\n" + message + "\n-----")
	}
}

// traceFrame logs one frame at LevelTrace.
func traceFrame(dir string, h *header, preview []byte) {
	logger().Log(context.Background(), LevelTrace, "websocket: frame "+dir,
		slog.String("opcode", h.opcode.String()), slog.Bool("fin", h.fin),
		slog.Int64("len", h.length), slog.String("payload", payloadPreview(h.opcode, preview)))
}

// traceHandshake logs a handshake request or response at debug level.
func traceHandshake(msg string, attrs ...slog.Attr) {
	if tracing() && IsEnabledForDebug() {
		logger().LogAttrs(context.Background(), slog.LevelDebug, msg, attrs...)
	}
}

// logError logs a failure (used by App) at error level.
func logError(msg string, err error) {
	if IsEnabledForError() && tracing() {
		logger().Error(msg, slog.String("error", err.Error()))
	}
}

// secretHeaders are never logged with their values.
var secretHeaders = map[string]bool{"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true}

// redactHeader renders h for the trace with secret values replaced.
func redactHeader(h http.Header) string {
	var b strings.Builder
	for k, vs := range h {
		for _, v := range vs {
			if secretHeaders[http.CanonicalHeaderKey(k)] {
				v = "[redacted]"
			}
			b.WriteString(k + ": " + v + "\n")
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// redactURL renders u without its password.
func redactURL(u *url.URL) string { return u.Redacted() }

// defaultTimeout is the process-wide timeout (SetDefaultTimeout).
var defaultTimeout atomic.Int64

// SetDefaultTimeout sets the timeout used when DialOptions.Timeout is 0
// (0 = none, the initial value). Python's setdefaulttimeout.
func SetDefaultTimeout(d time.Duration) { defaultTimeout.Store(int64(max(d, 0))) }

// DefaultTimeout returns the value set by SetDefaultTimeout. Python's
// getdefaulttimeout.
func DefaultTimeout() time.Duration { return time.Duration(defaultTimeout.Load()) }

// stringBytes views s as bytes without copying; the bytes must not be changed.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
