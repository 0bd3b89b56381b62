package websocket

import (
	"errors"
	"log/slog"
	"time"
)

// How a run's connections and the run itself end: a failure, the peer's
// close, a reconnect after a wait, a stop, the run's result.

// sessionEnd is the state a run needs once something ends: a connection
// fails, the run is stopped or over, a reconnect waits. A run whose first
// connection stays open never makes it (TestIdleRunMakesNothingSpare). It
// is the dispatcher's goroutine's, as the rest; err is read by others
// once Done is closed.
type sessionEnd struct {
	err             error       // the run's result
	cause           error       // why the current connection ended, if it failed
	stopCode        StatusCode  // what a stop closes with
	stopReason      string      // and reason
	cancelReconnect func() bool // the reconnect's timer
	cancelClose     func() bool // the close handshake's timer
	bo              *backoff    // the reconnect schedule, made at the first reconnect (scheduleDial)
}

// endState returns the run's sessionEnd, making it if need be.
func (s *Session) endState() *sessionEnd {
	if s.end == nil {
		s.end = new(sessionEnd)
	}
	return s.end
}

// result is the run's result: nil while it runs and after a clean close.
func (s *Session) result() error {
	if s.end == nil {
		return nil
	}
	return s.end.err
}

// fail ends connection c because of err, which is reported once.
func (s *Session) fail(c *Conn, err error) {
	if c != s.conn || s.ending || s.stopping {
		return
	}
	s.ending = true
	s.endState().cause = err
	s.stopTimers()
	s.report(err)
	// The read loop sees the closed socket and reports the end.
	s.goConn(c, abortConn)
}

// connEnded handles the end of the open connection, reported by its read
// loop with the error that ended it.
func (s *Session) connEnded(c *Conn, err error) {
	err = c.endCause(err)
	s.stopTimers()
	s.conn = nil
	s.app.connEnded(c)
	s.app.out.CompareAndSwap(s.out, nil)
	s.out.close(ErrConnectionClosed)
	if s.out.busy() {
		// The socket is closed: a send in progress returns soon, and
		// the dispatcher's Go counts it into the goroutines of the run.
		s.d.Go(s.out.wait)
	}
	// A stop whose close frame went out before closeNow ran (startClose)
	// is one for the end: what the close brings back is no failure, and no
	// reconnect follows.
	stopping := s.stopping || s.stopFlags.has(closeBegun)
	code, reason := StatusAbnormalClosure, ""
	var ce *CloseError
	clean := errors.As(err, &ce)
	if clean {
		code, reason = ce.Code, ce.Reason
	} else if !s.ending && !stopping {
		s.endState().cause = err
		s.report(err)
	}
	if e := s.end; e != nil && e.bo != nil && (e.bo.cfg.ResetAfter <= 0 || time.Duration(monoNow()-s.openedAt) >= e.bo.cfg.ResetAfter) {
		e.bo.reset()
	}
	s.observe(Event{Kind: EventClose, Conn: c, Code: code, Reason: reason})
	if a := s.app; a.OnClose != nil {
		s.call("OnClose", func() { a.OnClose(a, code, reason) })
	}
	switch {
	case clean && !stopping && s.opts.Reconnect > 0 && s.opts.ReconnectOnServerClose && isRestartClose(code):
		s.scheduleDial(0, err)
	case stopping || clean:
		s.finish(nil)
	default:
		s.retryOrFinish(s.endState().cause) // set above or by fail: the end was not clean
	}
}

// retryOrFinish schedules the next connection attempt when reconnecting
// is on and the run's classifier retries err; else the run ends with err.
func (s *Session) retryOrFinish(err error) {
	if s.opts.Reconnect <= 0 || s.stopping {
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
	e := s.endState()
	if e.bo == nil {
		// Made at the first reconnect: a run that never reconnects
		// keeps none.
		e.bo = newBackoff(s.opts.Backoff, max(s.opts.Reconnect, 0))
	}
	w := max(e.bo.wait(), after)
	if traceEnabled() {
		logger().Info("websocket: reconnecting", slog.String("url", redactRawURL(s.url)),
			slog.Int("attempt", e.bo.tries), slog.Duration("in", w), slog.String("after", why.Error()))
	}
	e.cancelReconnect = s.d.AfterFunc(w, func() {
		e.cancelReconnect = nil
		if !s.stopping {
			s.dial()
		}
	})
}

// closeNow starts ending the run, closing the open connection with code
// and reason and waiting up to timeout for the answer, counted from at
// (monoNow when the stop was asked) when stop already sent the close
// frame; it runs on the dispatcher's goroutine.
func (s *Session) closeNow(code StatusCode, reason string, timeout time.Duration, at int64) {
	s.stopFlags.set(stopBegun)
	if s.finished || s.stopping {
		return
	}
	s.stopping = true
	e := s.endState()
	e.stopCode, e.stopReason = code, reason
	if s.cancelDial != nil {
		s.cancelDial()
	}
	switch {
	case !s.started:
		// Stopped before start ran, maybe before the dispatcher attached
		// the run: start finishes it.
	case s.conn != nil:
		s.stopTimers()
		s.rq.dropData() // no callback will get them: OnMessage and the like start no more
		if !s.ending {
			// The closing handshake (RFC 6455 §7.1.2) without Conn.Close:
			// the read loop stays the only reader and returns the echoed
			// close; if none comes within timeout the socket is closed
			// and OnClose gets StatusAbnormalClosure.
			// A close frame that cannot be sent in that time (a peer
			// that stopped reading) is abandoned the same way.
			c := s.conn
			wait := timeout
			if s.stopFlags.set(closeBegun) {
				s.sendClose(c, s.out, code, reason, timeout, true)
			} else if timeout > 0 {
				// stop began it (startClose) when it was asked: the time
				// to wait for the answer counts from then, however long
				// a callback kept the dispatcher busy since.
				wait = max(monoUntil(monoNow(), at), 0)
			}
			if timeout <= 0 {
				wait = closeTimeout // for sending ours
			}
			e.cancelClose = s.d.AfterFunc(wait, func() {
				e.cancelClose = nil
				s.goConn(c, abortConn)
			})
		}
	case s.dialing:
		// dialed sees stopping.
	default:
		s.finish(nil)
	}
}

// startClose begins the closing handshake of the open connection at once,
// from the goroutine that stops the run: closeNow, which runs on the
// dispatcher's goroutine, begins it only once the dispatcher is free, and a
// dispatcher busy with a slow callback (this App's, or another's on a
// shared EventLoop) would leave the close's watch (watchStop) to abort at
// the timeout a connection whose socket could have taken the close frame.
// closeNow does the rest, and sends the frame itself when no connection
// was open here.
func (s *Session) startClose(code StatusCode, reason string, timeout time.Duration) {
	c, out := s.openConn(), s.app.out.Load()
	if c == nil || out == nil || out.c != c || !s.stopFlags.set(closeBegun) {
		return
	}
	s.sendClose(c, out, code, reason, timeout, false)
}

// anyGoroutineGo is what a Dispatcher implements whose Go may be called
// from any goroutine (*EventLoop). The Dispatcher interface promises Go
// only to the dispatcher's goroutine: for another, a close begun from
// outside it (startClose) runs its blocking part on a goroutine of its own.
type anyGoroutineGo interface{ goFromAnyGoroutine() }

// sendClose sends our close frame on c, whose App send queue is out: the
// messages queued by App.Send go first (while a send or the queue's writer
// is writing, the close waits for it on a goroutine of its own), and no
// send is taken after it. With timeout <= 0 the socket is closed once the
// frame is written. onDispatcher: it runs on the dispatcher's goroutine.
func (s *Session) sendClose(c *Conn, out *sendQueue, code StatusCode, reason string, timeout time.Duration, onDispatcher bool) {
	out.stop(&closedError{err: errCloseSent})
	send := func(_ *Session, c *Conn) {
		out.wait()
		switch {
		case c.SendClose(code, reason) != nil:
			// Over, or ending: the server's close came and ours (its
			// echo) is claimed, maybe behind what the loop holds for the
			// socket (endWhenSent), which must not be dropped.
			if !c.flags.has(flagPeerClosed) {
				c.Abort()
			}
		case timeout <= 0:
			c.closeAfterWrites(true, closeTimeout) // not before our close frame is written
		}
	}
	_, anyGo := s.d.(anyGoroutineGo)
	switch {
	case !out.busy() && c.lc.Load() != nil:
		send(s, c) // on an event loop: a write that never blocks
	case onDispatcher || anyGo:
		s.d.Go(func() { send(s, c) })
	default:
		go send(s, c)
	}
}

// stopTimers cancels the ping, pong and close timers.
func (s *Session) stopTimers() {
	if e := s.end; e != nil && e.cancelClose != nil {
		e.cancelClose()
		e.cancelClose = nil
	}
	s.pingTimer.cancel(s)
	s.endPongWait()
}

// finish ends the run with err.
func (s *Session) finish(err error) {
	if s.finished {
		return
	}
	s.finished = true
	if err != nil {
		s.endState().err = err
	}
	s.stopTimers()
	if e := s.end; e != nil && e.cancelReconnect != nil {
		e.cancelReconnect()
		e.cancelReconnect = nil
	}
	s.mu.Lock()
	if s.stopCtx != nil {
		s.stopCtx()
	}
	s.mu.Unlock()
	s.app.endRun(s)
	s.d.Detach(s)
	s.done.close()
}
