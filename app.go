package websocket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// App is an event-driven WebSocket client: Python's WebSocketApp. Set URL
// and the callbacks you need, then call RunForever or Run, which connect,
// deliver every event to the callbacks and, when asked to, reconnect after
// failures.
//
// Callbacks are called with the App, one at a time and never concurrently
// (on the goroutine that called Run, or on the Dispatcher's). On each
// connection they come in this order: OnOpen (OnReconnect instead for every
// connection after the first of a run), then OnData / OnMessage /
// OnContMessage / OnPing / OnPong as frames arrive, OnError for each failure,
// and OnClose exactly once per connection that was opened. A panic in a
// callback is recovered and reported to OnError; the run goes on. A callback
// may call Send*, Close, CloseWith and Conn; sending from a callback blocks
// the dispatcher while the socket is full, so a slow peer delays other
// events.
//
// The fields URL, Header, HeaderFunc, Cookie, Subprotocols, NetConn and
// MaskKeyFunc feed the dial; when set they win over the same fields of
// RunOptions.DialOptions. Do not change them while the App runs.
//
// An App resumes TLS sessions when it reconnects: unless
// DialOptions.TLSConfig has a ClientSessionCache of its own, each run dials
// with a copy of it (or of an empty config) holding the App's session cache
// (tls.NewLRUClientSessionCache, kept across runs), so a reconnect skips the
// server's certificate chain and its verification (and, with TLS 1.2, a
// round trip). The copy trusts the same roots: without RootCAs, the system
// roots plus the environment's CA bundles. To turn resumption off, set
// TLSConfig.SessionTicketsDisabled.
type App struct {
	URL          string             // ws:// or wss:// URL to connect to
	Header       http.Header        // extra handshake headers (DialOptions.Header)
	HeaderFunc   func() http.Header // called at every connection attempt (DialOptions.HeaderFunc)
	Cookie       string             // Cookie header (DialOptions.Cookie)
	Subprotocols []string           // offered subprotocols (DialOptions.Subprotocols)
	// NetConn is an already-connected stream for the one connection of the
	// run: there is nothing to reconnect to, so the run ends with it.
	NetConn     net.Conn
	MaskKeyFunc func() [4]byte // mask keys (DialOptions.MaskKeyFunc)

	// OnOpen is called when the first connection of a run opens, also after
	// failed attempts.
	OnOpen func(a *App)
	// OnReconnect is called instead of OnOpen for every later connection.
	OnReconnect func(a *App)
	// OnMessage receives each whole text or binary message. With
	// OnContMessage set, only unfragmented messages come here.
	OnMessage func(a *App, msg Message)
	// OnData is called before OnMessage (with fin true) and before
	// OnContMessage (each fragment: the first with its opcode, the rest
	// with OpContinuation).
	OnData func(a *App, data []byte, op Opcode, fin bool)
	// OnContMessage, when set, turns fragment delivery on
	// (DialOptions.FireContFrame): each fragment of a fragmented message
	// goes to OnData and then here as it arrives.
	OnContMessage func(a *App, data []byte, fin bool)
	// OnPing is told of each ping; the pong was already sent.
	OnPing func(a *App, payload []byte)
	// OnPong is told of each pong.
	OnPong func(a *App, payload []byte)
	// OnError receives each failure: a failed dial or handshake, a dropped
	// socket, a protocol error, a ping timeout, a panic in a callback.
	OnError func(a *App, err error)
	// OnClose is called once per opened connection, after it ended, with
	// the server's close code and reason (after our Close, the echoed ones):
	// StatusNoStatusReceived for an empty close frame, StatusAbnormalClosure
	// and "" when the socket died or the server never answered our close.
	OnClose func(a *App, code StatusCode, reason string)

	mu       sync.Mutex
	sess     *Session               // the current run
	tlsCache tls.ClientSessionCache // TLS sessions to resume, kept across runs
	conn     atomic.Pointer[Conn]   // the open connection
}

// RunOptions configures an App run: Python's run_forever arguments. A nil
// *RunOptions means the defaults.
type RunOptions struct {
	// DialOptions apply to every connection attempt (sockopt, sslopt,
	// proxy, host, origin, suppress_origin, skip_utf8_validation, …). Its
	// HandshakeTimeout (30 s by default) bounds each attempt, so a server
	// that accepts and never answers is a failure (OnError, then reconnect
	// or end); its Timeout also bounds each send of the open connection.
	DialOptions
	// PingInterval is the time between automatic pings, the first one
	// PingInterval after the open; 0 = none.
	PingInterval time.Duration
	// PingTimeout: a ping not followed by a pong within it marks the
	// connection dead (OnError, then reconnect or end). 0 = no check; when
	// set it must be shorter than PingInterval. A server that stops
	// answering is thus detected within PingInterval + PingTimeout.
	PingTimeout time.Duration
	// PingPayload is sent with each automatic ping (at most 125 bytes).
	PingPayload []byte
	// Dispatcher, if set, drives the App: Run and RunForever register it
	// and return at once. nil = run on the calling goroutine.
	Dispatcher Dispatcher
	// Reconnect is the delay before reconnecting after a failure; 0 = the
	// SetReconnect value (initially 0: no reconnecting), negative = never.
	Reconnect time.Duration
	// Backoff shapes the retries after the first one; nil = the defaults
	// documented on Backoff (exponential ×2 with 20% jitter, one minute cap).
	Backoff *Backoff
	// Retry classifies each failure of the run when reconnecting is on: it
	// returns whether to reconnect (false ends the run, which returns err)
	// and a minimum wait before the attempt (0 = none): the App waits the
	// longer of after and the schedule's next wait, and the schedule
	// advances either way. nil = DefaultRetry, which stops on rejected
	// handshakes (4xx and most other statuses), bad upgrades and
	// unverifiable certificates, honours a 429's Retry-After, and retries
	// everything else. Retry only narrows which failures reconnect: with
	// reconnecting off it is not called, and close frames from the server
	// never reach it (see ReconnectOnServerClose). It runs on the
	// dispatcher's goroutine, after OnError has seen err; a panic in it is
	// reported to OnError and the failure retries.
	Retry func(err error) (retry bool, after time.Duration)
	// ReconnectOnServerClose, with reconnecting on, makes a close frame
	// from the server with code 1001 (going away), 1012 (service restart)
	// or 1013 (try again later) — a server's graceful restart or shedding
	// of load — lead to a reconnect on the schedule, as a dropped
	// connection does (OnClose with the server's code, then OnReconnect;
	// no OnError). Off (the default), and for every other code, a close
	// frame from the server ends the run cleanly. A server that closes each
	// connection at once meets the schedule's growing waits only when
	// Backoff.ResetAfter is set.
	ReconnectOnServerClose bool
}

var (
	errAppRunning  = errors.New("websocket: App is already running")
	errPingTimeout = &timeoutError{op: "ping", err: errors.New("no pong within PingTimeout")}
)

// RunForever connects and dispatches events until the run ends; it is
// Run with context.Background(). Python's run_forever.
func (a *App) RunForever(opts *RunOptions) error { return a.Run(context.Background(), opts) }

// Run connects and dispatches events until the run ends: after a clean close
// (a close frame from the server, Close or CloseWith, or ctx ending: the App
// then closes with StatusNormal) it returns nil; after a failure that is not
// followed by a reconnect (reconnecting is off, or RunOptions.Retry stops
// on it) it returns that failure. A close frame from the server ends the
// run even when reconnecting is on, as in websocket-client, unless
// RunOptions.ReconnectOnServerClose asks to reconnect after its code.
// Invalid options are returned at once, before any callback. No callback
// runs and no goroutine of the run is left once Run returns.
//
// With opts.Dispatcher set, Run registers the App with it and returns nil at
// once; cancelling ctx later closes the App.
func (a *App) Run(ctx context.Context, opts *RunOptions) error {
	var o RunOptions
	if opts != nil {
		o = *opts
	}
	s, err := a.newSession(ctx, &o)
	if err != nil {
		return err
	}
	if o.Dispatcher == nil {
		l := s.d.(*EventLoop)
		l.Attach(s)
		l.Post(s.start)
		l.runSession(ctx, s)
		return s.err
	}
	if err := s.d.Attach(s); err != nil {
		a.endRun(s)
		return err
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { s.Stop(StatusNormal) })
		s.mu.Lock()
		s.stopCtx = stop
		s.mu.Unlock()
	}
	s.d.Post(s.start)
	return nil
}

// newSession checks the options and makes the App's run.
func (a *App) newSession(ctx context.Context, o *RunOptions) (*Session, error) {
	if o.PingInterval < 0 || o.PingTimeout < 0 {
		return nil, errors.New("websocket: PingInterval and PingTimeout must not be negative")
	}
	if o.PingTimeout > 0 && o.PingTimeout >= o.PingInterval {
		return nil, fmt.Errorf("websocket: PingTimeout (%v) must be shorter than PingInterval (%v)", o.PingTimeout, o.PingInterval)
	}
	if len(o.PingPayload) > maxControlPayload {
		return nil, errors.New("websocket: PingPayload longer than 125 bytes")
	}
	u, err := parseWSURL(a.URL)
	if err != nil {
		return nil, err
	}
	do := o.DialOptions
	if a.Header != nil {
		do.Header = a.Header
	}
	if a.HeaderFunc != nil {
		do.HeaderFunc = a.HeaderFunc
	}
	if a.Cookie != "" {
		do.Cookie = a.Cookie
	}
	if a.Subprotocols != nil {
		do.Subprotocols = a.Subprotocols
	}
	if a.NetConn != nil {
		do.NetConn = a.NetConn
	}
	if a.MaskKeyFunc != nil {
		do.MaskKeyFunc = a.MaskKeyFunc
	}
	do.FireContFrame = do.FireContFrame || a.OnContMessage != nil
	do.TLSConfig = a.sessionTLSConfig(do.TLSConfig)
	if err := checkUserHeader(do.Header); err != nil {
		return nil, err
	}
	reconnect := o.Reconnect
	if reconnect == 0 {
		reconnect = time.Duration(defaultReconnect.Load())
	}
	if do.NetConn != nil {
		reconnect = -1 // a given stream cannot be dialed again
	}
	s := &Session{
		app:       a,
		d:         o.Dispatcher,
		url:       a.URL,
		redacted:  redactURL(u),
		dialOpts:  do,
		opts:      *o,
		reconnect: reconnect,
		bo:        newBackoff(o.Backoff, max(reconnect, 0)),
		done:      make(chan struct{}),
	}
	s.opts.DialOptions = DialOptions{}
	if s.d == nil {
		s.d = NewEventLoop() // driven by Run itself
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sess != nil {
		s.cancel()
		return nil, errAppRunning
	}
	a.sess = s
	return s, nil
}

// endRun forgets a finished run.
func (a *App) endRun(s *Session) {
	a.mu.Lock()
	if a.sess == s {
		a.sess = nil
	}
	a.mu.Unlock()
	s.cancel()
}

// Send sends data as one message with opcode op on the current connection,
// from any goroutine. It returns ErrConnectionClosed when no connection is
// open. Python's WebSocketApp.send.
func (a *App) Send(data []byte, op Opcode) error {
	c := a.conn.Load()
	if c == nil {
		return ErrConnectionClosed
	}
	return c.Send(data, op)
}

// SendText sends a text message (see Send). Python's send_text.
func (a *App) SendText(text string) error { return a.Send(stringBytes(text), OpText) }

// SendBytes sends a binary message (see Send). Python's send_bytes.
func (a *App) SendBytes(data []byte) error { return a.Send(data, OpBinary) }

// Close stops the run: CloseWith(StatusNormal, "", 3*time.Second).
func (a *App) Close() error { return a.CloseWith(StatusNormal, "", closeTimeout) }

// CloseWith stops the run for good: the open connection goes through the
// closing handshake with code and reason (at most 123 bytes of UTF-8),
// waiting up to timeout for the server's close frame before closing the
// socket (timeout <= 0: closing it right after sending ours; a close frame
// that cannot be sent within timeout, or 3 s, is abandoned), and a pending
// dial or reconnect is cancelled. No reconnect follows, also when the server
// never answers; the run then ends with nil. OnClose gets the echoed code
// and reason, or StatusAbnormalClosure and "" when no answer came in time.
// Python's WebSocketApp.close(status, reason, timeout).
//
// It returns at once, from any goroutine or callback, also before the first
// connection opened; Run returns once OnClose has run. A code that may not
// be sent (see Conn.CloseWith) or a bad reason is an error: nothing is sent
// and the run goes on. Without a run it does nothing.
//
// Use CloseWith (or Close), not Conn().CloseWith, to end the run: closing
// the Conn itself is a dropped socket to the App when the server does not
// answer, which goes to the reconnect schedule when reconnecting is on.
func (a *App) CloseWith(code StatusCode, reason string, timeout time.Duration) error {
	if err := checkClose(code, reason); err != nil {
		return err
	}
	a.mu.Lock()
	s := a.sess
	a.mu.Unlock()
	if s != nil {
		s.stop(code, reason, timeout)
	}
	return nil
}

// Conn returns the open connection, or nil between connections.
func (a *App) Conn() *Conn { return a.conn.Load() }

// Session is one run of an App, as a Dispatcher sees it: a dispatcher gets
// it in Attach and uses Stop to shut it down. Its state lives on the
// dispatcher's goroutine.
type Session struct {
	app       *App
	d         Dispatcher
	url       string
	redacted  string
	dialOpts  DialOptions
	opts      RunOptions
	reconnect time.Duration
	bo        *backoff
	ctx       context.Context // cancelled when the run stops: ends a dial
	cancel    context.CancelFunc
	done      chan struct{}
	err       error

	mu        sync.Mutex
	stopCtx   func() bool // unregisters the ctx watch of a dispatched run
	stopAsked atomic.Bool // Stop or App.CloseWith was called: no more dials

	// State owned by the dispatcher's goroutine.
	conn            *Conn
	openedAt        time.Time
	started         bool // start has run: the run is attached to its dispatcher
	opened          bool // a connection of this run has opened: later ones are reconnects
	dialing         bool
	ending          bool  // we are tearing the connection down; cause was reported
	cause           error // why the current connection ended, if it failed
	stopping        bool
	stopCode        StatusCode
	stopReason      string
	finished        bool
	cancelReconnect func() bool
	cancelPing      func() bool
	cancelPong      func() bool
	cancelClose     func() bool
}

// App returns the App this run belongs to.
func (s *Session) App() *App { return s.app }

// Stop ends the run: the connection is closed with code (StatusNormal when
// code may not be sent), a pending dial or reconnect is cancelled. It
// returns at once; safe from any goroutine.
func (s *Session) Stop(code StatusCode) {
	if !code.sendable() {
		code = StatusNormal
	}
	s.stop(code, "", closeTimeout)
}

// stop makes the dispatcher end the run; from now on no dial starts.
func (s *Session) stop(code StatusCode, reason string, timeout time.Duration) {
	s.stopAsked.Store(true)
	s.d.Post(func() { s.closeNow(code, reason, timeout) })
}

// stopNow starts ending the run with code; it runs on the dispatcher's
// goroutine.
func (s *Session) stopNow(code StatusCode) { s.closeNow(code, "", closeTimeout) }

// Done is closed once the run is over and detached from its dispatcher.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns the run's result once Done is closed: nil after a clean
// close, else the failure that ended it.
func (s *Session) Err() error {
	<-s.done
	return s.err
}

// start makes the first connection attempt, unless the run was stopped
// before it was attached.
func (s *Session) start() {
	s.started = true
	switch {
	case s.stopping:
		s.finish(nil)
	case !s.finished:
		s.dial()
	}
}

// dial starts a connection attempt off the dispatcher's goroutine, unless
// a stop was asked for (its closeNow is on the way).
func (s *Session) dial() {
	if s.stopAsked.Load() {
		return
	}
	s.dialing = true
	ctx, url, opts, d := s.ctx, s.url, &s.dialOpts, s.d
	d.Go(func() {
		c, err := Dial(ctx, url, opts)
		if !d.Post(func() { s.dialed(c, err) }) && c != nil {
			c.Abort()
		}
	})
}

// dialed handles the result of a connection attempt.
func (s *Session) dialed(c *Conn, err error) {
	s.dialing = false
	if s.stopping {
		if c != nil {
			code, reason := s.stopCode, s.stopReason
			s.d.Go(func() { c.CloseWith(code, reason, 0) })
		}
		s.finish(nil)
		return
	}
	if err != nil {
		s.report(err)
		s.retryOrFinish(err)
		return
	}
	a := s.app
	s.conn, s.ending, s.cause, s.openedAt = c, false, nil, time.Now()
	a.conn.Store(c)
	if s.opened {
		if a.OnReconnect != nil {
			s.call("OnReconnect", func() { a.OnReconnect(a) })
		}
	} else {
		s.opened = true
		if a.OnOpen != nil {
			s.call("OnOpen", func() { a.OnOpen(a) })
		}
	}
	s.schedulePing(c)
	s.d.Go(func() { s.readLoop(c) })
}

// readLoop reads frames of c off the dispatcher's goroutine and hands each
// to it, waiting until it was handled before reading on: the callbacks
// apply back-pressure, and no frame is queued unboundedly.
func (s *Session) readLoop(c *Conn) {
	ack := make(chan struct{}, 1)
	for {
		op, f, err := c.RecvDataFrame(true)
		if err != nil && isTimeout(err) {
			continue // DialOptions.Timeout bounds sends; an idle connection is fine
		}
		if !s.d.Post(func() {
			s.frame(c, op, f, err)
			ack <- struct{}{}
		}) || err != nil {
			return
		}
		<-ack
	}
}

// frame delivers one frame, or the end of the connection.
func (s *Session) frame(c *Conn, op Opcode, f *Frame, err error) {
	if c != s.conn {
		return
	}
	if err != nil {
		s.connEnded(c, err)
		return
	}
	a := s.app
	switch op {
	case OpPing:
		if a.OnPing != nil {
			s.call("OnPing", func() { a.OnPing(a, f.Payload) })
		}
	case OpPong:
		if s.cancelPong != nil {
			s.cancelPong()
			s.cancelPong = nil
		}
		if a.OnPong != nil {
			s.call("OnPong", func() { a.OnPong(a, f.Payload) })
		}
	case OpClose:
		// The next read returns the *CloseError that ends the connection.
	default:
		if !f.Fin || f.Opcode == OpContinuation {
			if a.OnData != nil {
				s.call("OnData", func() { a.OnData(a, f.Payload, f.Opcode, f.Fin) })
			}
			if a.OnContMessage != nil {
				s.call("OnContMessage", func() { a.OnContMessage(a, f.Payload, f.Fin) })
			}
			return
		}
		if a.OnData != nil {
			s.call("OnData", func() { a.OnData(a, f.Payload, op, true) })
		}
		if a.OnMessage != nil {
			s.call("OnMessage", func() { a.OnMessage(a, Message{Opcode: op, Data: f.Payload}) })
		}
	}
}

// schedulePing sets the timer of the next automatic ping.
func (s *Session) schedulePing(c *Conn) {
	if s.opts.PingInterval > 0 {
		s.cancelPing = s.d.AfterFunc(s.opts.PingInterval, func() { s.ping(c) })
	}
}

// ping sends an automatic ping (off the dispatcher's goroutine: a peer
// that stopped reading must not stall the loop) and arms the pong check.
func (s *Session) ping(c *Conn) {
	s.cancelPing = nil
	if c != s.conn || s.ending || s.stopping {
		return
	}
	payload, d := s.opts.PingPayload, s.d
	d.Go(func() {
		if err := c.Ping(payload); err != nil {
			d.Post(func() { s.fail(c, err) })
		}
	})
	if s.opts.PingTimeout > 0 && s.cancelPong == nil {
		s.cancelPong = d.AfterFunc(s.opts.PingTimeout, func() {
			s.cancelPong = nil
			s.fail(c, errPingTimeout)
		})
	}
	s.schedulePing(c)
}

// fail ends connection c because of err, which is reported once.
func (s *Session) fail(c *Conn, err error) {
	if c != s.conn || s.ending || s.stopping {
		return
	}
	s.ending, s.cause = true, err
	s.stopTimers()
	s.report(err)
	// The read loop sees the closed socket and reports the end.
	s.d.Go(c.Abort)
}

// connEnded handles the end of the open connection, reported by its read
// loop with the error that ended it.
func (s *Session) connEnded(c *Conn, err error) {
	s.stopTimers()
	s.conn = nil
	s.app.conn.CompareAndSwap(c, nil)
	code, reason := StatusAbnormalClosure, ""
	var ce *CloseError
	clean := errors.As(err, &ce)
	if clean {
		code, reason = ce.Code, ce.Reason
	} else if !s.ending && !s.stopping {
		s.cause = err
		s.report(err)
	}
	if s.bo.cfg.ResetAfter <= 0 || time.Since(s.openedAt) >= s.bo.cfg.ResetAfter {
		s.bo.reset()
	}
	if a := s.app; a.OnClose != nil {
		s.call("OnClose", func() { a.OnClose(a, code, reason) })
	}
	switch {
	case clean && !s.stopping && s.reconnect > 0 && s.opts.ReconnectOnServerClose && isRestartClose(code):
		s.scheduleDial(0, err)
	case s.stopping || clean:
		s.finish(nil)
	default:
		s.retryOrFinish(s.cause)
	}
}

// retryOrFinish schedules the next connection attempt when reconnecting
// is on and the run's classifier retries err; else the run ends with err.
func (s *Session) retryOrFinish(err error) {
	if s.reconnect <= 0 || s.stopping {
		s.finish(err)
		return
	}
	retry, after := s.classify(err)
	if !retry {
		s.finish(err)
		return
	}
	s.scheduleDial(after, err)
}

// scheduleDial schedules the next connection attempt after the schedule's
// next wait, or after if that is longer; why is what ended the last one.
func (s *Session) scheduleDial(after time.Duration, why error) {
	w := max(s.bo.wait(), after)
	if traceEnabled() {
		logger().Info("websocket: reconnecting", slog.String("url", s.redacted),
			slog.Int("attempt", s.bo.tries), slog.Duration("in", w), slog.String("after", why.Error()))
	}
	s.cancelReconnect = s.d.AfterFunc(w, func() {
		s.cancelReconnect = nil
		if !s.stopping {
			s.dial()
		}
	})
}

// closeNow starts ending the run, closing the open connection with code
// and reason and waiting up to timeout for the answer; it runs on the
// dispatcher's goroutine.
func (s *Session) closeNow(code StatusCode, reason string, timeout time.Duration) {
	if s.finished || s.stopping {
		return
	}
	s.stopping, s.stopCode, s.stopReason = true, code, reason
	s.cancel()
	switch {
	case !s.started:
		// Stopped before start ran, maybe before the dispatcher attached
		// the run: start finishes it.
	case s.conn != nil:
		s.stopTimers()
		if !s.ending {
			// The closing handshake (RFC 6455 §7.1.2) without Conn.Close:
			// the read loop stays the only reader and returns the echoed
			// close; if none comes within timeout the socket is closed
			// and OnClose gets StatusAbnormalClosure.
			// A close frame that cannot be sent in that time (a peer
			// that stopped reading) is abandoned the same way.
			c := s.conn
			s.d.Go(func() {
				if c.SendClose(code, reason) != nil || timeout <= 0 {
					c.Abort()
				}
			})
			wait := timeout
			if wait <= 0 {
				wait = closeTimeout // for sending ours
			}
			s.cancelClose = s.d.AfterFunc(wait, func() {
				s.cancelClose = nil
				s.d.Go(c.Abort)
			})
		}
	case s.dialing:
		// dialed sees stopping.
	default:
		s.finish(nil)
	}
}

// stopTimers cancels the ping, pong and close timers.
func (s *Session) stopTimers() {
	if s.cancelClose != nil {
		s.cancelClose()
		s.cancelClose = nil
	}
	if s.cancelPing != nil {
		s.cancelPing()
		s.cancelPing = nil
	}
	if s.cancelPong != nil {
		s.cancelPong()
		s.cancelPong = nil
	}
}

// finish ends the run with err.
func (s *Session) finish(err error) {
	if s.finished {
		return
	}
	s.finished, s.err = true, err
	s.stopTimers()
	if s.cancelReconnect != nil {
		s.cancelReconnect()
		s.cancelReconnect = nil
	}
	s.mu.Lock()
	if s.stopCtx != nil {
		s.stopCtx()
	}
	s.mu.Unlock()
	s.app.endRun(s)
	s.d.Detach(s)
	close(s.done)
}

// call runs callback f, reporting a panic in it to OnError.
func (s *Session) call(name string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			s.report(panicError(name, r))
		}
	}()
	f()
}

// report logs err and gives it to OnError; a panic in OnError itself is
// only logged.
func (s *Session) report(err error) {
	logError("websocket: App error", err)
	a := s.app
	if a.OnError == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			logError("websocket: App error", panicError("OnError", r))
		}
	}()
	a.OnError(a, err)
}

func panicError(callback string, r any) error {
	if err, ok := r.(error); ok {
		return fmt.Errorf("websocket: panic in %s: %w", callback, err)
	}
	return fmt.Errorf("websocket: panic in %s: %v", callback, r)
}
