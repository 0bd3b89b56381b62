package websocket

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Session is one run of an App, as a Dispatcher sees it: a dispatcher gets
// it in Attach and uses Stop to shut it down. Its state lives on the
// dispatcher's goroutine.
type Session struct {
	app      *App
	d        Dispatcher
	url      string
	opts     *RunOptions  // the run's options, defaults filled in (Reconnect: the delay this run reconnects after, ≤ 0 = never); shared with other runs, never changed (runoptions.go)
	dialOpts *DialOptions // what each dial uses: the run's, with what the App sets in their place (App.dialOptions); shared likewise
	base     *runContext  // the run's context as dials see it: its values, not its end
	done     lazyClose    // Done's channel, made by the first to ask

	mu        sync.Mutex
	stopCtx   func() bool // unregisters the ctx watch of a dispatched run
	stopFlags connFlags   // stopAsked, stopBegun, closeBegun: one word

	// State owned by the dispatcher's goroutine.
	conn         *Conn
	openedAt     int64 // monoNow() when the connection opened
	started      bool  // start has run: the run is attached to its dispatcher
	opened       bool  // a connection of this run has opened: later ones are reconnects
	dialing      bool
	ending       bool // we are tearing the connection down; end.cause was reported
	stopping     bool
	finished     bool
	pongWait     bool               // the pong check (below): a pong is awaited
	pongDeferred bool               // the pong check's deadline came while the reader was paused
	end          *sessionEnd        // made when something first ends (endState)
	cancelDial   context.CancelFunc // ends the dial in progress (a context per dial: none is kept between dials)
	pingTimer    runTimer           // the next automatic ping
	pongTimer    runTimer           // the pong check of the last one
	rq           *recvQueue         // the open connection's received frames
	out          *sendQueue         // the open connection's messages to send
	deliverFn    func()             // s.deliverOpen, bound at the first connection

	// The pong check of the last automatic ping: its deadline counts only
	// the time the connection's reader was reading, not paused on a full
	// receive queue.
	pingAt       int64         // monoNow() when the check began
	pausedAtPing time.Duration // rq.pausedTotal() then
	pongsAtPing  uint64        // rq.pongs() then
}

// A Session's stopFlags.
const (
	stopAsked  uint32 = 1 << iota // Stop or App.CloseWith was called: no more dials
	stopBegun                     // closeNow ran: the stop's watch (watchStop) has nothing to do
	closeBegun                    // our close frame's send was begun, by startClose or closeNow
	publishing                    // dialed is showing a connection to other goroutines (openConn)
)

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
//
// The close is the dispatcher's work (closeNow), and a callback blocked in
// a send (its queue full, its server reading nothing) holds the
// dispatcher, so the close's deadline is also watched from here: when it
// passes before closeNow began, the open connection is aborted, which ends
// the blocked send, and the dispatcher goes on to closeNow, which finds
// the connection over.
func (s *Session) stop(code StatusCode, reason string, timeout time.Duration) {
	s.stopFlags.set(stopAsked)
	at := monoAfter(monoNow(), max(timeout, 0)) // the close's time counts from here
	s.d.Post(func() { s.closeNow(code, reason, timeout, at) })
	s.startClose(code, reason, timeout)
	s.watchStop(timeout, false)
}

// watchStop is stop's watch of the close's deadline, from the stopping
// goroutine, for a close the dispatcher is to begin (an EventLoop's
// stopping also starts it before the loop looks at its stop:
// EventLoop.watchStops); from now on no dial starts. The open connection
// is aborted at the deadline unless closeNow ran by then, or, for a loop's
// stop (loopStop), unless our close frame went out by then: the answer is
// then waited for as the close that sent it says (App.CloseWith's
// timeout), while a frame still stuck behind sends the peer does not
// read holds the loop's stop back no longer than the loop's timeout.
func (s *Session) watchStop(timeout time.Duration, loopStop bool) {
	s.stopFlags.set(stopAsked)
	c := s.openConn()
	if c == nil {
		return
	}
	over := func() bool {
		if loopStop {
			return c.closeFrameOut()
		}
		return s.stopFlags.has(stopBegun)
	}
	if over() {
		return
	}
	wait := timeout
	if wait <= 0 {
		wait = closeTimeout // for sending ours, as closeNow waits
	}
	time.AfterFunc(wait, func() {
		if !over() {
			c.Abort()
		}
	})
}

// openConn returns the open connection, for a stop from another goroutine
// (stopAsked is set): while dialed is showing a new one to other
// goroutines, it waits for it. So a stop either finds the connection or was
// seen by dialed's check of stopAsked, which keeps it from opening.
func (s *Session) openConn() *Conn {
	for s.stopFlags.has(publishing) {
		runtime.Gosched() // dialed is between its check and a.conn.Store: no callback, a few system calls
	}
	return s.app.conn.Load()
}

// Done is closed once the run is over and detached from its dispatcher.
func (s *Session) Done() <-chan struct{} { return s.done.wait() }

// Err returns the run's result once Done is closed: nil after a clean
// close, else the failure that ended it.
func (s *Session) Err() error {
	<-s.done.wait()
	return s.result()
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
	if s.stopFlags.has(stopAsked) {
		return
	}
	s.dialing = true
	ctx, cancel := context.WithCancel(s.base)
	s.cancelDial = cancel
	url, opts, d := s.url, s.dialOpts, s.d
	start := time.Now() // a wait for a dialer of the loop's counts against the attempt's bounds
	dial := func() {
		c, err := dialRecovered(ctx, url, opts, start)
		cancel()
		if !d.Post(func() { s.dialed(c, err) }) && c != nil {
			c.Abort()
		}
	}
	if p, ok := d.(dialPool); ok {
		p.goDial(dial)
	} else {
		d.Go(dial)
	}
}

// dialRecovered is dialFrom for a run's attempt: a panic in a function of
// the user's that the dial calls (HeaderFunc above all; Proxy,
// NetDialContext, a TLSConfig callback) is the attempt's failure, reported
// to OnError as a callback's panic is, not a crash of the program on the
// library's goroutine.
func dialRecovered(ctx context.Context, url string, opts *DialOptions, start time.Time) (c *Conn, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, panicError("a function the dial called (HeaderFunc, Proxy, NetDialContext, TLSConfig)", r)
		}
	}()
	return dialFrom(ctx, url, opts, start)
}

// dialed handles the result of a connection attempt.
func (s *Session) dialed(c *Conn, err error) {
	// Until the connection is shown (a.conn) or dropped, a stop from
	// another goroutine waits to look for it (openConn).
	s.stopFlags.set(publishing)
	if !s.stopping && s.stopFlags.has(stopAsked) && s.d.Post(func() { s.dialed(c, err) }) {
		// A stop came while the dial ended: its closeNow, queued behind
		// this, cancels the attempt; the connection must not open.
		s.stopFlags.clear(publishing)
		return
	}
	if c == nil || s.stopping {
		s.stopFlags.clear(publishing)
	}
	s.dialing, s.cancelDial = false, nil
	if s.stopping {
		if c != nil {
			code, reason := s.end.stopCode, s.end.stopReason // closeNow made it
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
	s.conn, s.ending, s.openedAt = c, false, monoNow()
	if s.end != nil {
		s.end.cause = nil
	}
	o := s.opts
	q := newRecvQueue(o)
	s.rq, s.out = q, newSendQueue(c, o.SendQueueBytes, o.SendNoWait)
	if s.deliverFn == nil {
		s.deliverFn = s.deliverOpen // bound once per run
	}
	deliver := s.deliverFn
	// A loop that takes the socket makes the sends of OnOpen non-blocking.
	// It takes it before the App shows the Conn to other goroutines: it
	// may change the Conn's net.Conn (takeSocket).
	t, ok := s.d.(connTaker)
	taken := ok && t.takeConn(c, q, deliver)
	a.conn.Store(c)
	a.out.Store(s.out)
	s.stopFlags.clear(publishing)
	s.observeOpen(c)
	// The first ping is due PingInterval after the open, however long
	// OnOpen takes.
	s.schedulePing(c)
	if s.opened && a.OnReconnect != nil {
		s.call("OnReconnect", func() { a.OnReconnect(a) })
	} else {
		// Without OnReconnect every connection is an open, as in Python:
		// what OnOpen sets up (a subscription) is set up again.
		s.opened = true
		if a.OnOpen != nil {
			s.call("OnOpen", func() { a.OnOpen(a) })
		}
	}
	if !taken {
		s.d.Go(func() { s.readLoop(c, q, deliver) })
	}
}

// readLoop reads the frames of c off the dispatcher's goroutine (answering
// pings as it goes) into the receive queue q, from which deliver hands them
// to the callbacks on the dispatcher's goroutine, in order. A slow callback
// thus does not stop the reading until the queue is full; reading then
// pauses (and, with it, the deadline of our pings) until the callbacks
// have taken the queue down to its low water mark.
func (s *Session) readLoop(c *Conn, q *recvQueue, deliver func()) {
	for {
		it := c.recvItem()
		if it.err != nil && isTimeout(it.err) {
			continue // DialOptions.Timeout bounds sends; an idle connection is fine
		}
		err := it.err
		wake, full := q.push(it)
		if wake && !s.d.Post(deliver) || err != nil {
			return
		}
		if full {
			q.waitRoom()
		}
	}
}

// deliverOpen hands the open connection's queued frames to the callbacks,
// oldest first, for up to deliverTurn, and then posts itself again while
// more are queued, so that timers and other Apps on the dispatcher get
// their turn; the readers post it when a push wakes the queue. It is bound
// once per run (deliverFn), not per connection: the last frame a
// connection's queue gets is its end, and the delivery of that frame ends
// the connection (connEnded) before the next one is dialed, so a delivery
// only ever finds the queue of the connection it was posted for.
func (s *Session) deliverOpen() {
	c, q := s.conn, s.rq
	if c == nil {
		return
	}
	start := monoNow()
	for {
		it, ok, more, resumed := q.pop()
		if resumed && s.pongDeferred && c == s.conn {
			s.pongDeferred = false
			s.checkPong(c)
		}
		if ok {
			s.frame(c, it)
		}
		if !more {
			return
		}
		if monoNow()-start >= deliverTurn {
			s.d.Post(s.deliverFn)
			return
		}
	}
}

// deliverTurn is how long deliverOpen hands one connection's frames to the
// callbacks before the dispatcher's other work gets a turn: a frame per
// turn would cost a dispatcher turn per message (half the event loop's
// rate with small messages), while a callback slower than this still gets
// one frame per turn.
const deliverTurn = int64(50 * time.Microsecond)

// frame delivers one frame, or the end of the connection.
func (s *Session) frame(c *Conn, it recvItem) {
	if c != s.conn {
		return
	}
	if it.err != nil {
		s.connEnded(c, it.err)
		return
	}
	op, data := it.op, it.data
	a := s.app
	switch op {
	case OpPing:
		if a.OnPing != nil {
			s.call("OnPing", func() { a.OnPing(a, data) })
		}
	case OpPong:
		s.endPongWait()
		if a.OnPong != nil {
			s.call("OnPong", func() { a.OnPong(a, data) })
		}
	case OpClose:
		// The next read returns the *CloseError that ends the connection.
	default:
		if s.dropsData() {
			// The run is ending (CloseWith, Stop, its context): what is
			// still queued, or arrives before the server's close, is
			// dropped, so that a flood a slow callback cannot keep up
			// with holds OnClose back no longer than the close's timeout.
			return
		}
		if a.OnData != nil {
			s.call("OnData", func() { a.OnData(a, data, op, it.fin) })
			if s.dropsData() {
				return // OnData, or another goroutine meanwhile, closed
			}
		}
		switch {
		case !it.fin || op == OpContinuation:
			if a.OnContMessage != nil {
				s.call("OnContMessage", func() { a.OnContMessage(a, data, it.fin) })
			}
		case a.OnMessage != nil:
			s.call("OnMessage", func() { a.OnMessage(a, Message{Opcode: op, Data: data}) })
		}
	}
}

// dropsData reports whether the run is ending, so that no message callback
// starts: a stop was asked for, or the run's context ended. The context's
// watch stops the run on a goroutine of its own, which a context cancelled
// inside a callback has not run yet when the next message is delivered.
func (s *Session) dropsData() bool {
	return s.stopFlags.has(stopAsked) || s.base.ended()
}

// runContext is a run's context as its dials see it: its values, without
// its deadline or cancellation (the run cancels its dials itself, when it
// stops), as context.WithoutCancel makes it, and whether it ended.
type runContext struct{ ctx context.Context }

// background is the runContext of every run whose context cannot end.
var background = &runContext{context.Background()}

func (*runContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*runContext) Done() <-chan struct{}       { return nil }
func (*runContext) Err() error                  { return nil }
func (r *runContext) Value(key any) any         { return r.ctx.Value(key) }

// ended reports whether the run's context ended.
func (r *runContext) ended() bool {
	select {
	case <-r.ctx.Done():
		return true
	default:
		return false
	}
}

// runTimer is one of a run's keep-alive timers, set again at every ping.
// On a dispatcher that sets timers in place (an EventLoop) it is one
// loopTimer, made at the first set, so that a ping allocates nothing;
// elsewhere each set is an AfterFunc.
type runTimer struct {
	lt   *loopTimer  // on a timerSetter
	stop func() bool // AfterFunc's, while set (other dispatchers)
}

// timerSetter is what a Dispatcher implements to run timers that are set
// again and again (runTimer) without making new ones. Both methods are
// called on the dispatcher's goroutine, where stopTimer is exact: a timer
// it did not stop has run.
type timerSetter interface {
	setTimer(t *loopTimer, d time.Duration)
	stopTimer(t *loopTimer) bool
}

// set makes f run on the run's dispatcher once d has passed, with
// connection c. A timer is set for one connection at a time, and stopped
// when it ends (stopTimers); f must be the same at every set of t.
func (t *runTimer) set(s *Session, c *Conn, d time.Duration, f func(*Session, *Conn)) {
	if ts, ok := s.d.(timerSetter); ok {
		if t.lt == nil {
			// The connection is the open one: the timer of an
			// ended one was stopped, exactly.
			t.lt = newLoopTimer(func() {
				if c := s.conn; c != nil {
					f(s, c)
				}
			})
		}
		ts.setTimer(t.lt, d)
		return
	}
	t.stop = s.d.AfterFunc(d, func() {
		t.stop = nil
		f(s, c)
	})
}

// cancel stops the timer if it is set.
func (t *runTimer) cancel(s *Session) {
	if t.lt != nil {
		s.d.(timerSetter).stopTimer(t.lt)
	}
	if t.stop != nil {
		t.stop()
		t.stop = nil
	}
}

// schedulePing sets the timer of the next automatic ping.
func (s *Session) schedulePing(c *Conn) {
	if s.opts.PingInterval > 0 {
		s.pingTimer.set(s, c, s.opts.PingInterval, (*Session).ping)
	}
}

// ping sends an automatic ping (off the dispatcher's goroutine: a peer
// that stopped reading must not stall the loop) and arms the pong check.
func (s *Session) ping(c *Conn) {
	if c != s.conn || s.ending || s.stopping || s.rq.ended() {
		return // the connection is over, maybe with frames still queued
	}
	// The keep-alive is the connection's idle housekeeping: queues that
	// a burst grew and that are empty now give their memory back.
	s.rq.trim()
	s.out.trim()
	// The pongs so far are counted before the ping goes out: its pong may
	// be read (and counted) before sendPing returns.
	check := s.opts.PingTimeout > 0 && !s.pongWait
	if check {
		s.pongWait, s.pingAt = true, monoNow()
		s.pausedAtPing, s.pongsAtPing = s.rq.pausedTotal(), s.rq.pongs()
	}
	s.goConn(c, (*Session).sendPing)
	if check {
		s.armPong(c, s.opts.PingTimeout)
	}
	s.schedulePing(c)
}

// sendPing sends an automatic ping on c, on any goroutine.
func (s *Session) sendPing(c *Conn) {
	// A ping that meets the server's close frame (ours echoed it) is no
	// failure: the reader reports the close.
	if err := c.Ping(s.opts.PingPayload); err != nil && !errors.Is(err, errCloseSent) {
		s.d.Post(func() { s.fail(c, err) })
	}
}

// armPong checks for the pong after d.
func (s *Session) armPong(c *Conn, d time.Duration) {
	s.pongTimer.set(s, c, d, (*Session).checkPong)
}

// checkPong ends connection c when no pong was read within PingTimeout of
// reading time since the check began. The reader reads on while callbacks
// run (a pong waiting behind slow callbacks in the receive queue counts as
// soon as it was read), but not while the queue is full: time paused does
// not count, and a deadline that comes during a pause is checked again when
// the reader resumes.
func (s *Session) checkPong(c *Conn) {
	if c != s.conn || !s.pongWait {
		return
	}
	q := s.rq
	if q.pongs() != s.pongsAtPing || q.ended() {
		s.pongWait = false
		return
	}
	if q.paused() {
		s.pongDeferred = true
		return
	}
	reading := time.Duration(monoNow()-s.pingAt) - (q.pausedTotal() - s.pausedAtPing)
	if left := s.opts.PingTimeout - reading; left > 0 {
		s.armPong(c, left)
		return
	}
	s.pongWait = false
	probeH2(c, s.opts.PingTimeout) // a WebSocket over HTTP/2: its connection may be the one that died
	s.fail(c, errPingTimeout)
}

// endPongWait ends the pong check, if one is running.
func (s *Session) endPongWait() {
	s.pongTimer.cancel(s)
	s.pongWait, s.pongDeferred = false, false
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
	s.observe(Event{Kind: EventError, Err: err})
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

// panicError reports a panic in a callback; a panic with an error wraps it.
func panicError(callback string, r any) error {
	if err, ok := r.(error); ok {
		return wrapError("websocket: panic in "+callback, err)
	}
	return fmt.Errorf("websocket: panic in %s: %v", callback, r)
}
