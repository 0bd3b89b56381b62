package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/wsclient/websocket"
)

// backoff is the library App's reconnect schedule (websocket.Backoff's
// defaults): the first wait is the --reconnect delay, each later one twice
// the one before, up to a minute, drawn from its last 20% so that clients
// cut off together do not all come back at once.
type backoff struct {
	base, next time.Duration
}

func (b *backoff) wait() time.Duration {
	if b.next == 0 {
		b.next = b.base
		return b.base
	}
	w := min(2*b.next, max(time.Minute, b.base))
	b.next = w
	return w - time.Duration(0.2*rand.Float64()*float64(w))
}

// reconnectLoop is --reconnect: while there is no connection (the first
// dial failed, code exitConnect) or it was lost (not closed by either side,
// standard output still writable), it dials again on the backoff schedule
// and runs a new session on the same console. Lines typed in the meantime
// are sent once connected. A dial failure that another attempt would only
// repeat (websocket.RetryTransient: a 4xx status but 429, an unverified
// certificate, an invalid upgrade) ends the loop; a 429 or 503 waits at
// least what its Retry-After asks (after, for the first dial's). It
// returns the exit status and error of the last session or dial.
//
// After the end of input it goes on only for the lines read before it and
// not yet sent (and -t's text before the first connection): the next
// attempt is made, later ones only within closeWait of the end of input
// (or of the loss of the connection, when that came later), as a line
// that cannot be sent within closeWait after the end of input is given up
// (see session.run). Ctrl-C, Ctrl-D at a terminal, /quit and a signal end
// the wait, or the dial, at once.
func reconnectLoop(ctx context.Context, cfg *config, opts *websocket.DialOptions, con console, f *formatter, st *runState, code int, msg string, after time.Duration) (int, string) {
	bound := &eofBound{}
	for (code == exitConnect || code == exitAbnormal || code == exitPingTimeout) && !st.stopped.Load() && ctx.Err() == nil && con.outputErr() == nil {
		w := &waiter{ctx: ctx, cfg: cfg, con: con, st: st, bound: bound, first: code == exitConnect} // first: no session has run yet
		owedBefore := w.owed()
		if st.inputEnded {
			if owedBefore == 0 {
				break // nothing more to send: the end of input ends the run
			}
			bound.start() // the connection was lost after the end of input
		}
		bo := &backoff{base: cfg.reconnect}
		var conn *websocket.Conn
		for conn == nil {
			d := max(bo.wait(), after)
			after = 0
			if !bound.allows(d) {
				return code, fmt.Sprintf("%s; no connection within %v after the end of input: %s", msg, closeWait, notSent(w.owed()))
			}
			con.status(styleError, msg+"; reconnecting in "+d.Round(time.Millisecond).String())
			if !w.wait(d) {
				return code, w.stopMessage(msg)
			}
			bound.attempt()
			var err error
			conn, err = w.dial(opts)
			switch {
			case w.stopped:
				return code, w.stopMessage(msg)
			case err != nil && ctx.Err() != nil:
				return code, msg // a signal: as during the wait
			case err != nil:
				msg = "reconnect failed: " + describeDialError(cfg.url, err)
				var retry bool
				if retry, after = websocket.RetryTransient(err); !retry {
					return exitConnect, msg
				}
			}
		}
		if w.first {
			con.status(styleInfo, "connected to "+redacted(cfg.url))
		} else {
			con.status(styleInfo, "reconnected to "+redacted(cfg.url))
		}
		f.start = time.Now()
		code, msg = newSession(cfg, conn, con, f, st).run(ctx, w.first)
		if w.owed() < owedBefore {
			*bound = eofBound{} // lines went out: a later loss gets its own time
		}
	}
	return code, msg
}

// eofBound bounds reconnecting after the end of input: the first attempt
// after it is made whatever the delay, later ones only when they begin
// within closeWait of the end of input, or of the loss of the connection
// when that came later.
type eofBound struct {
	since time.Time // zero before the end of input
	tried bool      // an attempt was made since
}

// start notes the end of input, or a loss after it.
func (b *eofBound) start() {
	if b.since.IsZero() {
		b.since = time.Now()
	}
}

// allows reports whether an attempt d from now may be made.
func (b *eofBound) allows(d time.Duration) bool {
	return b.since.IsZero() || !b.tried || time.Until(b.since.Add(closeWait)) >= d
}

// attempt notes an attempt made after the end of input.
func (b *eofBound) attempt() {
	if !b.since.IsZero() {
		b.tried = true
	}
}

// waiter waits for and dials the next connection while the input goes
// on: the lines read meanwhile are kept for that connection, but a Ctrl-C
// or Ctrl-D at the terminal, /quit, or an end of input with nothing left
// to send stops the wait or the dial at once (stopped).
type waiter struct {
	ctx     context.Context
	cfg     *config
	con     console
	st      *runState
	bound   *eofBound
	first   bool // -t's text is still to be sent
	stopped bool
}

// owed is the number of messages read or given before the end of input
// and not yet sent.
func (w *waiter) owed() int {
	n := len(w.st.pending)
	if w.first && w.cfg.hasText {
		n++
	}
	return n
}

// stopMessage is the error line when the wait or the dial was stopped:
// that of the failure before, with the lines dropped.
func (w *waiter) stopMessage(msg string) string {
	if n := w.owed(); n > 0 {
		return msg + "; " + notSent(n)
	}
	return msg
}

// input returns the input channel, nil after the end of input.
func (w *waiter) input() <-chan inputLine {
	if w.st.inputEnded {
		return nil
	}
	return w.st.in
}

// take handles a line read while there is no connection, and reports
// whether it stops the wait: a line is kept for the next connection, as is
// a command that needs one; /quit stops, /help is answered; the end of
// input stops on a terminal (Ctrl-D, Ctrl-C) or when nothing is left to
// send.
func (w *waiter) take(l inputLine) bool {
	if l.err != nil {
		w.st.inputEnded = true
		w.bound.start()
		_, tty := w.con.(*termConsole)
		w.stopped = tty || w.con.interrupted() || w.owed() == 0
		return w.stopped
	}
	if name, _, ok := commandOf(w.cfg, l.text); ok {
		switch name {
		case "quit":
			w.stopped = true
			return true
		case "help":
			w.con.status(styleInfo, commandHelp)
			return false
		}
	}
	w.st.pending = append(w.st.pending, l.text)
	return false
}

// wait waits d, taking the lines read meanwhile; it returns false when it
// was stopped or ctx ended.
func (w *waiter) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return false
		case <-t.C:
			return true
		case l := <-w.input():
			if w.take(l) {
				return false
			}
		}
	}
}

// dial is websocket.Dial that the input can stop (w.stopped): the lines
// read while it runs are taken as during the wait.
func (w *waiter) dial(opts *websocket.DialOptions) (*websocket.Conn, error) {
	ctx, cancel := context.WithCancel(w.ctx)
	defer cancel()
	type result struct {
		conn *websocket.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		c, err := websocket.Dial(ctx, w.cfg.url, opts)
		done <- result{c, err}
	}()
	for {
		select {
		case r := <-done:
			return r.conn, r.err
		case l := <-w.input():
			if w.take(l) {
				cancel()
				if r := <-done; r.conn != nil {
					r.conn.Abort() // opened as it was stopped: nothing to say on it
				}
				return nil, nil
			}
		}
	}
}

// notSent says how many lines were not sent, "3 lines not sent".
func notSent(n int) string {
	if n == 1 {
		return "1 line not sent"
	}
	return fmt.Sprintf("%d lines not sent", n)
}
