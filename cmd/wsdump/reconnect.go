package main

import (
	"context"
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
// not at the end of input, standard output still writable), it dials again
// on the backoff schedule and runs a new session on the same console.
// Lines typed in the meantime are sent once connected. A dial failure that another attempt would only repeat
// (websocket.RetryTransient: a 4xx status, an unverified certificate, an
// invalid upgrade) ends the loop. It returns the exit status and error of
// the last session or dial.
func reconnectLoop(ctx context.Context, cfg *config, opts *websocket.DialOptions, con console, f *formatter, st *runState, code int, msg string) (int, string) {
	for (code == exitConnect || code == exitAbnormal || code == exitPingTimeout) && !st.inputEnded && ctx.Err() == nil && con.outputErr() == nil {
		first := code == exitConnect // no session has run yet
		bo := &backoff{base: cfg.reconnect}
		var conn *websocket.Conn
		for conn == nil {
			d := bo.wait()
			con.status(styleError, msg+"; reconnecting in "+d.Round(time.Millisecond).String())
			if !waitInput(ctx, st, d) {
				return code, msg
			}
			var err error
			conn, err = websocket.Dial(ctx, cfg.url, opts)
			if err != nil {
				msg = "reconnect failed: " + describeDialError(cfg.url, err)
				if retry, _ := websocket.RetryTransient(err); !retry || ctx.Err() != nil {
					return exitConnect, msg
				}
			}
		}
		if first {
			con.status(styleInfo, "connected to "+redacted(cfg.url))
		} else {
			con.status(styleInfo, "reconnected to "+redacted(cfg.url))
		}
		f.start = time.Now()
		code, msg = newSession(cfg, conn, con, f, st).run(ctx, first)
	}
	return code, msg
}

// waitInput waits d, keeping the lines read meanwhile for the next
// connection; it returns false when the input ended or ctx did.
func waitInput(ctx context.Context, st *runState, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case l := <-st.in:
			if l.err != nil {
				st.inputEnded = true
				return false
			}
			st.pending = append(st.pending, l.text)
		}
	}
}
