package websocket

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/wsclient/websocket/internal/httptoken"
	"github.com/wsclient/websocket/internal/proxy"
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

// traceOn is whether EnableTrace(true, ...) is in effect, for the frame
// hot path: while tracing is off, traceFrames is one atomic load.
var traceOn atomic.Bool

// EnableTrace turns tracing on or off. While on, the handshake request and
// response (at slog.LevelDebug) and every frame sent and received (at
// LevelTrace: opcode, fin, length, a payload preview) go to h; a nil h
// writes text to stderr at every level. The values of Authorization,
// Proxy-Authorization, Cookie and Set-Cookie headers and passwords in URLs
// are never logged. h's Enabled is asked at every frame and handshake, so
// a level it changes later (a slog.LevelVar) takes effect at once. While
// off, nothing is traced and IsEnabledForError,
// IsEnabledForDebug and IsEnabledForTrace report false. Python's
// enableTrace.
func EnableTrace(on bool, h slog.Handler) {
	if h == nil {
		h = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: LevelTrace, ReplaceAttr: traceLevelName})
	}
	currentTracer.Store(&tracer{on: on, logger: slog.New(h)})
	traceOn.Store(on)
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

// traceEnabled reports whether EnableTrace(true, ...) is in effect, whatever
// levels its handler logs.
func traceEnabled() bool {
	t := currentTracer.Load()
	return t != nil && t.on
}

// traceFrames reports whether frames are traced: tracing is on and its
// handler logs at LevelTrace now. The handler is asked at every frame, as
// its level may change (a slog.LevelVar); while tracing is off, it is not.
func traceFrames() bool { return traceOn.Load() && IsEnabledForTrace() }

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
	if traceEnabled() {
		logger().Debug("--- " + title + " ---\n" + message + "\n-----")
	}
}

// tracedPart returns what traceFrame needs of payload: the preview and one
// byte more, by which payloadPreview tells that it was cut.
func tracedPart(payload []byte) []byte { return payload[:min(len(payload), tracedLen)] }

// tracedLen is the length of tracedPart.
const tracedLen = previewLen + 1

// traceFrame logs one frame at LevelTrace; preview is the start of its
// payload, tracedPart of it.
func traceFrame(dir string, h *header, preview []byte) {
	logger().Log(context.Background(), LevelTrace, "websocket: frame "+dir,
		slog.String("opcode", h.opcode.String()), slog.Bool("fin", h.fin),
		slog.Int64("len", h.length), slog.String("payload", payloadPreview(h.opcode, preview)))
}

// handshakeTracing reports whether the handshake is traced: tracing is on
// and the handler logs at debug level.
func handshakeTracing() bool { return traceEnabled() && IsEnabledForDebug() }

// traceHandshake logs a handshake request or response at debug level.
func traceHandshake(msg string, attrs ...slog.Attr) {
	if handshakeTracing() {
		logger().LogAttrs(context.Background(), slog.LevelDebug, msg, attrs...)
	}
}

// logError logs a failure (used by App) at error level.
func logError(msg string, err error) {
	if IsEnabledForError() && traceEnabled() {
		logger().Error(msg, slog.String("error", err.Error()))
	}
}

// secretHeaders are never logged with their values.
var secretHeaders = map[string]bool{"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true}

// redactHead renders an HTTP message head as it went over the wire (the
// request or status line, then each header line; the empty line that ends
// the head and anything after it are left out) for the trace, lines joined
// by "\n". The values of secret headers become [redacted], and a password in
// a Location or Content-Location is dropped (redactRawURL).
func redactHead(head string) string {
	var b strings.Builder
	b.Grow(len(head))
	line, head := cutLine(head)
	b.WriteString(line)
	for head != "" {
		// A field: its line and the lines that continue it (obsolete line
		// folding, RFC 9112 §5.2).
		line, head = cutLine(head)
		if line == "" {
			break
		}
		var folded []string
		for len(head) > 0 && (head[0] == ' ' || head[0] == '\t') {
			var l string
			l, head = cutLine(head)
			folded = append(folded, l)
		}
		b.WriteByte('\n')
		name, value, _ := strings.Cut(line, ":")
		name = trimSpaceTab(name)
		key := http.CanonicalHeaderKey(name)
		redact := secretHeaders[key]
		if key == "Location" || key == "Content-Location" {
			if v := trimSpaceTab(value); len(folded) == 0 && redactRawURL(v) != v {
				b.WriteString(name + ": " + redactRawURL(v))
				continue
			}
			redact = len(folded) > 0 && strings.Contains(value+strings.Join(folded, ""), "@")
		}
		if !redact {
			b.WriteString(line)
			for _, l := range folded {
				b.WriteString("\n" + l)
			}
			continue
		}
		b.WriteString(name + ": [redacted]")
		for range folded {
			b.WriteString("\n [redacted]")
		}
	}
	return b.String()
}

// redactURL renders u without its password.
func redactURL(u *url.URL) string {
	if u.User != nil {
		if pass, _ := u.User.Password(); pass == "" && u.User.Username() != "" {
			// The user name is the credential ("wss://token@host",
			// "https://key:@api"): it is withheld as a password is.
			r := *u
			r.User = url.User("xxxxx")
			return r.String()
		}
	}
	return u.Redacted()
}

// redactRawURL renders raw, a URL that has not been parsed (a Location, a
// URL in an error), without its password. A raw URL that does not parse
// shows nothing of what could be user info: the part between the scheme
// and the last "@".
func redactRawURL(raw string) string {
	u, err := url.Parse(raw)
	if err == nil && u.Opaque == "" {
		if u.User != nil {
			return redactURL(u)
		}
		return raw
	}
	prefix, rest := "", raw
	if i := strings.Index(raw, "//"); i >= 0 {
		prefix, rest = raw[:i+2], raw[i+2:]
	} else if i := strings.IndexByte(raw, ':'); i >= 0 {
		prefix, rest = raw[:i+1], raw[i+1:] // scheme:opaque, or user:password@host
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		return prefix + "xxxxx@" + rest[at+1:]
	}
	return raw
}

// redactURLError returns err, a failure to parse raw as a URL, with the
// URL's password removed from the *url.Error that quotes it. When raw may
// hold user info (an "@" in it), a cause that quotes part of the URL (a bad
// escape, host or port, which may lie in the password) is replaced by a
// generic one. With raw "" (not known), only the URL's scheme is shown, and
// the generic cause. The *url.Error's own URL is
// not enough to tell: url.Parse quotes the URL only up to a "#", which may
// lie in the password too ("ws://u:pa#ss@host" fails as the bad port
// ":pa").
func redactURLError(err error, raw string) error {
	ue, ok := err.(*url.Error)
	if !ok {
		return err
	}
	withheld := errors.New("malformed URL (details withheld: it may hold a password)")
	if raw == "" {
		// Only the scheme is surely no part of a password.
		shown := ue.URL
		if i := strings.Index(shown, "//"); i >= 0 && len(shown) > i+2 {
			shown = shown[:i+2] + "…"
		}
		return &url.Error{Op: ue.Op, URL: shown, Err: withheld}
	}
	r := &url.Error{Op: ue.Op, URL: redactRawURL(raw), Err: ue.Err}
	if strings.Contains(raw, "@") && strings.Contains(ue.Err.Error(), `"`) {
		r.Err = withheld
	}
	return r
}

// stringBytes views s as bytes without copying; the bytes must not be changed.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// dialCredentials are the credentials one request of a dial carried, and
// those the requests before it carried (a redirect's answer may hand them
// to the next server, which was not sent them), for the request's traces
// and its error's message: list computes them when one needs them.
type dialCredentials struct {
	u       *url.URL
	user    http.Header
	proxy   *url.URL // the proxy the request went through, nil for none
	earlier []string
	// others are those of the other requests an HTTP/2 connection
	// carried, whose answers its server may echo in this one's.
	others []string
}

// list returns the credentials.
func (d dialCredentials) list() []string {
	s := requestSecrets(d.u, d.user, d.proxy)
	if len(d.earlier)+len(d.others) > 0 {
		s = slices.Concat(s, d.earlier, d.others)
	}
	return s
}

// requestSecrets are the credentials a dial to u sent, which a refusal's
// message must not repeat: the values of the user's Authorization,
// Proxy-Authorization and Cookie fields (and their credentials after the
// scheme), the URL's password (its user name when it has none), and the
// credentials of the proxy it went via, if not nil (a proxy on a ws://
// path may forge the server's answer).
func requestSecrets(u *url.URL, user http.Header, via *url.URL) []string {
	var s []string
	for k := range secretHeaders {
		for _, v := range user[k] {
			s = append(s, v)
			if _, cred, ok := strings.Cut(v, " "); ok {
				s = append(s, strings.TrimSpace(cred))
			}
			if k == "Cookie" { // each cookie, and its value, may come back alone
				for c := range strings.SplitSeq(v, ";") {
					c = strings.TrimSpace(c)
					s = append(s, c)
					// A value of a few bytes (_gat=1) is a flag, not a
					// credential: alone it would withhold every "1" of
					// an address.
					_, val, _ := strings.Cut(c, "=")
					if val = strings.Trim(val, `"`); len(val) >= httptoken.MinSecret {
						s = append(s, val)
					}
				}
			}
		}
	}
	if cred := userInfoSecret(u.User); cred != "" {
		s = append(s, cred)
	}
	if via != nil {
		s = append(s, proxy.Credentials(via)...)
	}
	return s
}

// errorWithout returns err, or when its message holds one of secrets, an
// error that wraps it with a message that does not.
func errorWithout(err error, secrets []string) error {
	msg := err.Error()
	r := httptoken.WithoutSecrets(msg, secrets)
	if r == msg {
		return err
	}
	w := &wrappedError{msg: r, err: err}
	if ne, ok := err.(net.Error); ok {
		return &wrappedNetError{w, ne}
	}
	return w
}

// wrappedNetError is the redacted message of a net.Error, which stays
// one: a timeout is still a timeout to code that checks err.(net.Error).
type wrappedNetError struct {
	*wrappedError
	ne net.Error
}

func (e *wrappedNetError) Timeout() bool { return e.ne.Timeout() }
func (e *wrappedNetError) Temporary() bool {
	t, ok := e.ne.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// userInfoSecret is the credential of a URL's user info: its password, or
// its user name when the password is empty or missing ("" for none).
func userInfoSecret(ui *url.Userinfo) string {
	if ui == nil {
		return ""
	}
	if pass, _ := ui.Password(); pass != "" {
		return pass
	}
	return ui.Username()
}

// setCookieSecrets are the cookies an answer's header sets, each as
// name=value and its value alone (from httptoken.MinSecret bytes): a
// session the server hands out, which its reason phrase may repeat.
func setCookieSecrets(h http.Header) []string {
	var s []string
	for _, v := range h["Set-Cookie"] {
		c, _, _ := strings.Cut(v, ";")
		c = strings.TrimSpace(c)
		s = append(s, c)
		if _, val, _ := strings.Cut(c, "="); len(strings.Trim(val, `"`)) >= httptoken.MinSecret {
			s = append(s, strings.Trim(val, `"`))
		}
	}
	return s
}

// withoutSecrets keeps the credentials a failed dial's requests carried
// (creds) out of its error's message, whatever the server or a proxy
// echoed: a *BadStatusError (a redirect's too) is given them, with the
// cookies its answer sets, to leave its reason phrase out when it repeats
// one; a *HandshakeError's reason (a field of the answer, a malformed line,
// an HTTP/2 GOAWAY's debug data) has each one replaced.
func withoutSecrets(err error, creds dialCredentials) error {
	var (
		bs *BadStatusError
		re *redirectError
		he *HandshakeError
	)
	isBS, isRedirect, isHE := errors.As(err, &bs), errors.As(err, &re), errors.As(err, &he)
	if !isBS && !isRedirect && !isHE {
		return err
	}
	secrets := creds.list()
	if isBS {
		bs.secrets = append(secrets, setCookieSecrets(bs.Header)...)
	}
	if isRedirect {
		re.status.secrets = append(secrets, setCookieSecrets(re.status.Header)...)
	}
	if isHE {
		he.Reason = httptoken.WithoutSecrets(he.Reason, secrets)
	}
	return err
}
