package websocket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
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
// connection they come in this order: OnOpen (OnReconnect instead, when set,
// for every connection after the first of a run), then OnData / OnMessage /
// OnContMessage / OnPing / OnPong as frames arrive, OnError for each failure,
// and OnClose exactly once per connection that was opened. A panic in a
// callback is recovered and reported to OnError (one in OnError itself is
// only traced, as the App's errors are: EnableTrace); the run goes on. So is a
// panic in a function a dial calls (HeaderFunc, a Proxy or NetDialContext
// of the options): that attempt fails. A callback
// may call Send*, Close, CloseWith and Conn; sending from a callback blocks
// the dispatcher while the send queue is full (unless
// RunOptions.SendNoWait), so a slow peer delays other events: the
// keep-alive's pings and pong checks too (DialOptions.Timeout bounds such
// a send). Close, CloseWith and the end of Run's ctx do not wait for it:
// at the close's timeout the socket is closed, which ends the send.
//
// Received frames wait for the callbacks in a bounded receive queue (see
// RunOptions.RecvQueueMessages): the connection is read, and the server's
// pings answered, while a callback runs, and a slow callback cannot make
// the keep-alive (RunOptions.PingTimeout) declare the connection dead.
//
// The fields URL, Header, HeaderFunc, Cookie, Subprotocols, NetConn and
// MaskKeyFunc feed the dial; when set they win over the same fields of
// RunOptions.DialOptions. Do not change them while the App runs.
//
// An App resumes TLS sessions when it reconnects: unless
// DialOptions.TLSConfig has a ClientSessionCache of its own, each run dials
// with a copy of it (or of an empty config) holding a session cache
// (tls.NewLRUClientSessionCache), so a reconnect skips the server's
// certificate chain and its verification (and, with TLS 1.2, a round
// trip). The Apps started with one TLSConfig (or all without one) dial
// with one copy and share its cache: a connection resumes the session
// another App's connection to the same server established, and a thousand
// Apps keep one copy, not a thousand. As with crypto/tls itself, do not
// change a TLSConfig once an App has run with it. The copy trusts the same
// roots: without RootCAs, the system roots plus the environment's CA
// bundles. To turn resumption off, set TLSConfig.SessionTicketsDisabled.
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
	// failed attempts, and, when OnReconnect is nil, when every later one
	// opens (Python's on_open): what it sets up, a subscription say, is set
	// up again on each connection.
	OnOpen func(a *App)
	// OnReconnect, when set, is called instead of OnOpen for every later
	// connection.
	OnReconnect func(a *App)
	// OnMessage receives each whole text or binary message. With
	// OnContMessage set (or RunOptions.FireContFrame with OnData set),
	// only unfragmented messages come here: the fragments of the others
	// go to OnData and OnContMessage as they arrive. FireContFrame with
	// neither OnData nor OnContMessage set would lose them: the App
	// ignores it then.
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

	mu      sync.Mutex
	sess    *Session                  // the current run
	tlsCopy *tls.Config               // the TLSConfig copy with a session cache the last run used (sessionTLSConfig)
	conn    atomic.Pointer[Conn]      // the open connection
	out     atomic.Pointer[sendQueue] // the open connection's send queue
	stats   appStats                  // counters over the connections (stats.go)
}

// RunOptions configures an App run: Python's run_forever arguments. A nil
// *RunOptions means the defaults.
type RunOptions struct {
	// DialOptions apply to every connection attempt (SocketOptions,
	// TLSConfig, Proxy, Host, Origin, SuppressOrigin, SkipUTF8Validation,
	// …). Its HandshakeTimeout (30 s by default) bounds each attempt, so
	// a server that accepts and never answers is a failure (OnError, then
	// reconnect or end); its Timeout also bounds each send of the open
	// connection (on an EventLoop that owns the socket, a send's wait for
	// the loop to have room, see EventLoop).
	DialOptions
	// PingInterval is the time between automatic pings, the first one
	// PingInterval after the open; 0 = none.
	PingInterval time.Duration
	// PingTimeout: a ping not followed by a pong within it marks the
	// connection dead (OnError, then reconnect or end). 0 = no check; when
	// set it must be shorter than PingInterval. A server that stops
	// answering is thus detected within PingInterval + PingTimeout, unless
	// a callback holds the dispatcher (see App).
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
	// advances either way. nil = DefaultRetry: every failure reconnects (a
	// 429 after its Retry-After). RetryTransient ends the run on rejected
	// handshakes (4xx and most other statuses), bad upgrades and
	// unverifiable certificates instead. Retry only narrows which failures reconnect: with
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
	// Observer, when set, is told of each connection opening (EventOpen,
	// EventReconnect) and ending (EventClose) and of each failure
	// (EventError), with what the matching callback gets, just before
	// that callback: a hook for metrics and logs that leaves the
	// callbacks to the application. It runs on the dispatcher's
	// goroutine, so it must not block; a panic in it is logged (see
	// EnableTrace), not reported to OnError. App.Stats counts the same
	// events without it.
	Observer func(a *App, ev Event)

	// RecvQueueMessages and RecvQueueBytes are the high water marks of
	// each connection's receive queue, where received frames (messages,
	// and the pings, pongs and close frame among them) wait for the
	// callbacks: the connection is read, and the server's pings answered,
	// while callbacks run, until the queue holds that many frames or that
	// many payload bytes. Reading then pauses until the callbacks have
	// taken the queue down to RecvQueueLowMessages frames and
	// RecvQueueLowBytes bytes. 0 = the defaults: 1024 frames, 4 MiB,
	// and a quarter of each (256 frames, 1 MiB) for the low marks. A low
	// mark must be below its high mark.
	//
	// While reading is paused, nothing more is taken from the socket: the
	// kernel's buffers fill and the server's sends block (TCP
	// backpressure), its pings go unanswered, and the pong deadline of our
	// own pings (PingTimeout) stands still, so a pong we have not read
	// because we paused does not count as missing. The queue holds at most
	// the high marks plus the one message that crossed them (each message
	// is bounded by DialOptions.ReadLimit); nothing is dropped and the
	// order is kept.
	RecvQueueMessages    int
	RecvQueueBytes       int
	RecvQueueLowMessages int // low water mark in frames; 0 = RecvQueueMessages/4
	RecvQueueLowBytes    int // low water mark in bytes; 0 = RecvQueueBytes/4

	// SendQueueBytes bounds the bytes each connection's send queue holds:
	// messages given to Send, SendText and SendBytes and not yet handed
	// to the connection (see App.Buffered). 0 = 1 MiB. A message larger
	// than the bound is accepted when the queue is empty. On an EventLoop
	// that owns the socket it is also what the loop may hold for the
	// socket (8 MiB at most) before a send waits, as a send off the loop
	// waits for the socket.
	SendQueueBytes int
	// SendNoWait makes a send that finds the send queue full return
	// ErrSendQueueFull at once, and every send return without waiting for
	// the network: each message is copied into the queue and written by
	// a goroutine of the queue. Off (the default), a send waits for room;
	// one that finds nothing queued writes itself, as Conn.Send does.
	SendNoWait bool
}

// Send queue default (RunOptions.SendQueueBytes).
const defaultSendQueueBytes = 1 << 20

// ErrSendQueueFull is returned by the App's sends, with
// RunOptions.SendNoWait, when the send queue has no room for the message.
var ErrSendQueueFull = errors.New("websocket: send queue full")

var (
	errAppRunning  = errors.New("websocket: App is already running")
	errPingTimeout = &timeoutError{op: "ping", err: errors.New("no pong within PingTimeout")}
)

// RunForever connects and dispatches events until the run ends; it is
// Run with context.Background(). Python's run_forever. Ctrl-C ends the
// program at once, as it does any Go program; for Python's teardown on
// KeyboardInterrupt (the closing handshake with 1000, OnClose, then the
// return), call Run with the context of signal.NotifyContext(ctx,
// os.Interrupt).
func (a *App) RunForever(opts *RunOptions) error { return a.Run(context.Background(), opts) }

// Run connects and dispatches events until the run ends: after a clean close
// (a close frame from the server, Close or CloseWith, or ctx ending: the App
// then closes with StatusNormal) it returns nil; after a failure that is not
// followed by a reconnect (reconnecting is off, or RunOptions.Retry stops
// on it) it returns that failure. A close frame from the server ends the
// run even when reconnecting is on, as in websocket-client, unless
// RunOptions.ReconnectOnServerClose asks to reconnect after its code.
// Invalid options are returned at once, before any callback. No callback
// runs and no goroutine of the run is left once Run returns. A ctx that has
// ended already makes a run that dials nothing and calls no callback.
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
	if err := s.d.Attach(s); err != nil {
		a.endRun(s)
		return err
	}
	if ctx.Err() != nil {
		s.stopFlags.set(stopAsked) // over already: no dial (the watch below runs beside the start)
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { s.Stop(StatusNormal) })
		s.mu.Lock()
		s.stopCtx = stop
		s.mu.Unlock()
	}
	if !s.d.Post(s.start) { // a dispatcher that stopped since Attach
		if stop := s.stopCtx; stop != nil {
			stop()
		}
		s.finished = true // nothing of the run ran, nor will
		s.endState().err = errDispatcherRefused
		s.d.Detach(s)
		a.endRun(s)
		s.done.close()
		return errDispatcherRefused
	}
	if o.Dispatcher != nil {
		return nil
	}
	// Without a Dispatcher the run drives a loop of its own, on this
	// goroutine, through the same path: the loop stops once the run is
	// detached.
	s.d.(*EventLoop).Run(context.Background())
	return s.result()
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
	if err := o.queueDefaults(); err != nil {
		return nil, err
	}
	u, err := parseWSURL(a.URL)
	if err != nil {
		return nil, err
	}
	do, err := a.dialOptions(o, u.Scheme)
	if err != nil {
		return nil, err
	}
	reconnect := o.Reconnect
	if reconnect == 0 {
		reconnect = time.Duration(defaultReconnect.Load())
	}
	if do.NetConn != nil {
		reconnect = -1 // a given stream cannot be dialed again
	}
	o.Reconnect = reconnect
	s := &Session{
		app:      a,
		opts:     share(&sharedRunOptions, o),
		dialOpts: share(&sharedDialOptions, &do),
		d:        o.Dispatcher,
		url:      a.URL,
	}
	if s.d == nil {
		l := NewEventLoop() // driven by Run itself
		l.private = true
		// Its own loop takes no socket over: Run's goroutine waits on
		// the loop anyway, so a poller would save no goroutine and cost
		// an epoll or kqueue descriptor and a 64 KiB read buffer per App.
		l.noPoll = true
		s.d = l
	}
	s.base = background // a context that cannot end (Done nil: no deadline either) has only values
	if ctx.Done() != nil || ctx != context.Background() {
		s.base = &runContext{ctx}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sess != nil {
		return nil, errAppRunning
	}
	a.sess = s
	return s, nil
}

// dialOptions returns the options each dial of a run uses: the run's, with
// what the App sets in their place.
func (a *App) dialOptions(o *RunOptions, scheme string) (DialOptions, error) {
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
	// Fragments are delivered to OnData and OnContMessage: without either,
	// FireContFrame would only keep fragmented messages from OnMessage.
	do.FireContFrame = a.OnContMessage != nil || do.FireContFrame && a.OnData != nil
	if scheme == "wss" {
		// ws:// needs no TLS: the clone and its cache would cost each
		// App about 600 bytes for nothing.
		do.sharedTLS, do.userTLS = true, do.TLSConfig
		do.TLSConfig = a.sessionTLSConfig(do.TLSConfig)
	}
	if err := checkOptions(&do); err != nil {
		return DialOptions{}, err
	}
	return do, nil
}

// queueDefaults checks the queue options and fills in their defaults.
func (o *RunOptions) queueDefaults() error {
	if o.RecvQueueMessages < 0 || o.RecvQueueBytes < 0 || o.RecvQueueLowMessages < 0 ||
		o.RecvQueueLowBytes < 0 || o.SendQueueBytes < 0 {
		return errors.New("websocket: queue limits must not be negative")
	}
	if o.RecvQueueMessages == 0 {
		o.RecvQueueMessages = defaultRecvQueueMessages
	}
	if o.RecvQueueBytes == 0 {
		o.RecvQueueBytes = defaultRecvQueueBytes
	}
	if o.RecvQueueLowMessages == 0 {
		o.RecvQueueLowMessages = o.RecvQueueMessages / 4
	}
	if o.RecvQueueLowBytes == 0 {
		o.RecvQueueLowBytes = o.RecvQueueBytes / 4
	}
	if o.RecvQueueLowMessages >= o.RecvQueueMessages || o.RecvQueueLowBytes >= o.RecvQueueBytes {
		return fmt.Errorf("websocket: receive queue low water marks (%d frames, %d bytes) must be below the high ones (%d, %d)",
			o.RecvQueueLowMessages, o.RecvQueueLowBytes, o.RecvQueueMessages, o.RecvQueueBytes)
	}
	if o.SendQueueBytes == 0 {
		o.SendQueueBytes = defaultSendQueueBytes
	}
	return nil
}

// endRun forgets a finished run.
func (a *App) endRun(s *Session) {
	a.mu.Lock()
	if a.sess == s {
		a.sess = nil
	}
	a.mu.Unlock()
}

// Send sends data as one message with opcode op on the current connection,
// from any goroutine. It returns ErrConnectionClosed when no connection is
// open. Python's WebSocketApp.send.
//
// Messages go through the connection's send queue, bounded by
// RunOptions.SendQueueBytes. A send that finds the queue empty and no
// send in progress writes the message itself and returns once it is
// written (or in the Conn's write queue, see Conn.Send); otherwise the
// message is copied into the queue, written in order by a goroutine of the
// queue, and Send returns at once. When the queue is full, Send waits for
// room, or with RunOptions.SendNoWait returns ErrSendQueueFull (with
// SendNoWait every message is queued, so Send never waits for the
// network). Invalid messages are refused at once, as by Conn.Send; a failed
// write ends the connection, and later sends on it return its error (the
// send whose write timed out gets the timeout, the later ones an error
// matching ErrConnectionClosed only). data may be reused as soon as Send
// returns. Messages still queued when the App closes are sent before its
// close frame (within the close timeout); those of a connection that failed,
// or that the server closed, are dropped (what a send had handed to the
// connection goes out before the echo of the server's close).
func (a *App) Send(data []byte, op Opcode) error {
	q := a.out.Load()
	if q == nil {
		return ErrConnectionClosed
	}
	return q.send(data, op)
}

// Buffered returns the bytes of messages given to Send, SendText and
// SendBytes on the open connection that have not been handed to it yet:
// queued, or being written by a send in progress. It is 0 between
// connections. JavaScript's WebSocket.bufferedAmount.
func (a *App) Buffered() int {
	q := a.out.Load()
	if q == nil {
		return 0
	}
	return q.buffered()
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
// Once it is called, no OnMessage, OnData or OnContMessage starts: messages
// still queued, or arriving before the server's close, are dropped.
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
