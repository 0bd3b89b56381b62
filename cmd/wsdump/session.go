package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/wsclient/websocket"
)

// drainTimeout bounds the wait for the receiving loop to report why the
// connection failed after a send failed.
const drainTimeout = 3 * time.Second

// closeWait is how long wsdump waits for the server's answer to its close
// frame, as Conn.Close does.
const closeWait = 3 * time.Second

// session is one connection driven by one console.
type session struct {
	cfg        *config
	conn       *websocket.Conn
	con        console
	format     *formatter
	st         *runState
	closing    atomic.Bool          // we started the closing handshake
	sentOur    websocket.StatusCode // the code of the close frame we sent
	sentReason string               // and its reason
	pings      pingTracker
	enough     chan struct{} // closed when --max-messages were received
}

// runState is what outlives one connection of a run: the input, which
// reconnecting keeps, and the count of messages received.
type runState struct {
	in         <-chan inputLine
	inputEnded bool
	pending    []string // lines read while no connection was open
	received   atomic.Int64
	stopped    atomic.Bool // we closed (/quit, /close, --max-messages): no reconnect
}

// inputLine is one line read from the console, or the end of input.
type inputLine struct {
	text string
	err  error
}

// readInput reads lines from con until the end of input and hands each
// over on the returned channel, one at a time: a line read while there is
// no connection waits for the next one.
func readInput(con console) <-chan inputLine {
	ch := make(chan inputLine)
	go func() {
		for {
			line, err := con.readLine()
			if err != nil {
				ch <- inputLine{err: io.EOF} // a broken input ends it as EOF does
				return
			}
			ch <- inputLine{text: line}
		}
	}()
	return ch
}

// sendError wraps a failure to send an input line.
type sendError struct{ err error }

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

func newSession(cfg *config, conn *websocket.Conn, con console, f *formatter, st *runState) *session {
	return &session{cfg: cfg, conn: conn, con: con, format: f, st: st, enough: make(chan struct{})}
}

// maxReadAhead bounds the input read ahead of the sends, in bytes (a line
// counts its bytes and a string header): enough for a file piped to a
// server that stopped reading to be read to its end, so that the end of
// input is seen, without holding an endless stream. Past it, input is read
// only as lines are sent.
const maxReadAhead = 64 << 20

// lineCost is what a line read ahead counts against maxReadAhead.
func lineCost(line string) int { return len(line) + 16 }

// sendResult is what a send run in the background reports: a command's
// request to close, or the failure of the connection.
type sendResult struct {
	req *closeReq
	err error
}

// run receives and sends until the connection ends, and returns the exit
// status and the error line to print (empty when there is none). first is
// the first connection of the run, which sends -t's text.
//
// Nothing this loop does waits on a write to the socket: a send (of a
// line, a command, -t's text, a ping) runs in a goroutine of its own, one
// at a time, so that a server that stops reading, which blocks a send for
// good, cannot keep a signal, --ping-timeout, --eof-wait or the end of
// output from ending the session; the close that follows is bounded too
// (see close). Input is read meanwhile (up to maxReadAhead) into
// st.pending, the lines waiting to be sent, which a reconnect keeps.
func (s *session) run(ctx context.Context, first bool) (int, string) {
	readDone := make(chan error, 1)
	go func() { readDone <- s.receive() }()

	var (
		sendDone    = make(chan sendResult, 1)
		sending     bool // a send runs: st.pending[0], or -t's text
		sendingText bool // it is -t's text
		pingDone    = make(chan error, 1)
		pinging     bool // an automatic ping is being written
		queued      int  // lineCost of st.pending
	)
	for _, l := range s.st.pending {
		queued += lineCost(l)
	}
	// sent ends the send in flight: a line sent is no longer pending; one
	// that failed stays, to be sent again after a reconnect.
	sent := func(r sendResult) {
		sending = false
		if r.err == nil && !sendingText {
			queued -= lineCost(s.st.pending[0])
			s.st.pending[0] = ""
			s.st.pending = s.st.pending[1:]
		}
		sendingText = false
	}
	defer func() {
		// The session is over and its socket closed or closing: a send
		// still blocked ends with Abort, and is waited for, so that
		// nothing of this session runs on into the next.
		if sending || pinging {
			s.conn.Abort()
		}
		if sending {
			sent(<-sendDone)
		}
		if pinging {
			<-pingDone
		}
	}()

	closeNormal := func() (int, string) {
		return s.close(readDone, s.cfg.closeCode(), s.cfg.closeReason)
	}
	sendFailed := func(err error) (int, string) {
		// The connection failed under us: the receiving loop knows why.
		select {
		case err := <-readDone:
			return s.ended(err)
		case <-time.After(drainTimeout):
			s.conn.Abort()
			<-readDone
			return exitAbnormal, "send: " + trimPrefix(err)
		}
	}
	// After the end of input, a send that does not complete within
	// closeWait means the server stopped reading: the rest of the input
	// cannot be sent, nor a close frame after it.
	stall := time.NewTimer(closeWait)
	stall.Stop()
	defer stall.Stop()
	startSend := func() {
		switch {
		case sending:
			return
		case first && s.cfg.hasText:
			first, sendingText = false, true
			go func() { sendDone <- sendResult{err: wrapSend(s.sendData(s.cfg.text))} }()
		case len(s.st.pending) > 0:
			text := s.st.pending[0]
			go func() {
				req, err := s.line(text)
				sendDone <- sendResult{req, err}
			}()
		default:
			return
		}
		sending = true
		if s.st.inputEnded {
			stall.Reset(closeWait)
		}
	}

	var pingTick, pingDeadline, eofTimer <-chan time.Time
	if s.cfg.pingInterval > 0 {
		t := time.NewTicker(s.cfg.pingInterval)
		defer t.Stop()
		pingTick = t.C
	}
	// The end of input was acted on: never before this session, as a
	// session after the end of input runs only for lines still to send.
	eofSeen := false
	for {
		startSend()
		var in <-chan inputLine
		if !s.st.inputEnded && queued < maxReadAhead {
			in = s.st.in
		}
		if s.st.inputEnded && !eofSeen && !sending && len(s.st.pending) == 0 {
			// Every line was sent: keep printing what arrives for
			// --eof-wait, as the Python tool does.
			eofSeen = true
			if s.cfg.eofWait <= 0 {
				return closeNormal()
			}
			t := time.NewTimer(s.cfg.eofWait)
			defer t.Stop()
			eofTimer = t.C
		}
		select {
		case err := <-readDone:
			return s.ended(err)
		case <-ctx.Done():
			return closeNormal()
		case <-s.con.outputFailed():
			// Standard output's reader went away (wsdump | head): close
			// as an interrupt does; run reports the failed write.
			return closeNormal()
		case <-s.enough:
			return closeNormal()
		case <-eofTimer:
			return closeNormal()
		case r := <-sendDone:
			stall.Stop()
			sent(r)
			if r.err != nil {
				return sendFailed(r.err)
			}
			if r.req != nil {
				if r.req.quit {
					s.st.stopped.Store(true)
				}
				return s.close(readDone, r.req.code, r.req.reason)
			}
		case <-stall.C:
			n := len(s.st.pending)
			if sendingText {
				n++
			}
			s.conn.Abort()
			<-readDone
			return exitAbnormal, fmt.Sprintf("the server took no data for %v after the end of input: %s", closeWait, notSent(n))
		case <-pingTick:
			if pinging || s.cfg.pingTimeout > 0 && s.pings.autoPending() {
				continue // the last one is still unanswered: --ping-timeout decides
			}
			payload := s.pings.nextAuto()
			pinging = true
			go func() { pingDone <- s.conn.Ping(payload) }()
			if s.cfg.pingTimeout > 0 {
				// From now, not from when the ping is written: one
				// stuck behind a send is no more answered.
				pingDeadline = time.After(s.cfg.pingTimeout)
			}
		case err := <-pingDone:
			pinging = false
			if err != nil {
				return sendFailed(err)
			}
		case <-pingDeadline:
			if s.pings.autoPending() {
				s.conn.Abort()
				<-readDone
				return exitPingTimeout, "no pong within --ping-timeout " + s.cfg.pingTimeout.String()
			}
		case l := <-in:
			if l.err == nil {
				s.st.pending = append(s.st.pending, l.text)
				queued += lineCost(l.text)
				continue
			}
			s.st.inputEnded = true
			if s.con.interrupted() {
				return closeNormal() // Ctrl-C: no more sending, no --eof-wait
			}
			if sending {
				stall.Reset(closeWait)
			}
		}
	}
}

// close runs the closing handshake (RFC 6455 §7.1.2): it sends our close
// frame and lets the receiving loop, which keeps printing the messages that
// arrive meanwhile, read up to the server's answer; after closeWait without
// one, the socket is closed. (Conn.Close would drop those messages when it
// found no reader active at that instant.) The handshake is complete, exit
// status 0, once the server's close frame arrived, before ours or after;
// without it the connection was not closed cleanly: exit status 3.
//
// closeWait bounds the whole close, writing our close frame included, as
// Conn.CloseWith's timeout does: the frame is written in the background,
// behind a send that may be blocked on a server that stopped reading, and
// when time runs out the socket is closed, which ends both.
func (s *session) close(readDone <-chan error, code websocket.StatusCode, reason string) (int, string) {
	s.sentOur, s.sentReason = code, reason
	s.closing.Store(true)
	t := time.NewTimer(closeWait)
	defer t.Stop()
	sent := make(chan error, 1)
	go func() { sent <- s.conn.SendClose(code, reason) }()
	var err error
	timedOut, written := false, false
	select {
	case err = <-sent:
		if err != nil {
			s.conn.Abort()
			return s.ended(<-readDone)
		}
		written = true
		select {
		case err = <-readDone:
		case <-t.C:
			s.conn.Abort() // the server never answered
			err, timedOut = <-readDone, true
		}
	case err = <-readDone:
	case <-t.C:
		s.conn.Abort() // the close frame could not even be written
		err, timedOut = <-readDone, true
	}
	s.conn.Shutdown()
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		return exitOK, "" // the server's close frame arrived: a closing handshake
	case timedOut && !written:
		return exitAbnormal, "the close frame could not be sent within " + closeWait.String() + " (the server is not reading)"
	case timedOut:
		return exitAbnormal, "no close frame from the server within " + closeWait.String()
	case errors.Is(err, websocket.ErrConnectionClosed):
		return exitAbnormal, "the server closed the connection without answering our close frame"
	}
	return s.ended(err) // a protocol error, say
}

// ended reports how the receiving loop ended before we closed.
func (s *session) ended(err error) (int, string) {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		// The server closed; its close frame was printed and echoed.
		return exitOK, ""
	case errors.Is(err, websocket.ErrConnectionClosed):
		return exitAbnormal, "connection lost without a close frame: " + trimPrefix(err)
	}
	return exitAbnormal, trimPrefix(err)
}

// receive prints every frame that arrives until the connection ends.
func (s *session) receive() error {
	for {
		op, data, err := s.conn.RecvData(true)
		if err != nil {
			return err
		}
		switch op {
		case websocket.OpClose:
			if s.closing.Load() && s.isEcho(data) {
				continue // the server's answer to our close: nothing to tell
			}
		case websocket.OpPong:
			if s.pong(data) {
				continue
			}
		}
		var n int64
		if op == websocket.OpText || op == websocket.OpBinary {
			n = s.st.received.Add(1)
		}
		limit := int64(s.cfg.maxMessages)
		if limit > 0 && n > limit {
			continue // closing: --max-messages were printed
		}
		if line, st, ok := s.format.message(op, data); ok {
			s.con.show(st, line)
		}
		if limit > 0 && n == limit {
			s.st.stopped.Store(true) // our close follows: no reconnect after it
			close(s.enough)
		}
	}
}

// isEcho reports whether a close payload is the echo of the close frame
// wsdump sent: its code with no reason or ours, or an empty frame. Any other
// close frame that arrives while closing is the server's own, crossing
// ours, and is shown.
func (s *session) isEcho(p []byte) bool {
	if len(p) == 0 {
		return true
	}
	return len(p) >= 2 && websocket.StatusCode(binary.BigEndian.Uint16(p)) == s.sentOur &&
		(len(p) == 2 || string(p[2:]) == s.sentReason)
}

// sendData sends a line as a message: binary with -b, decoded with
// --base64, else text; a line that is not UTF-8 (piped binary input) goes
// as a binary message, which a text message may not be (RFC 6455 §5.6).
func (s *session) sendData(line string) error {
	switch {
	case s.cfg.base64:
		b, err := decodeBase64(line)
		if err != nil {
			s.con.status(styleError, "not sent: "+err.Error())
			return nil
		}
		return s.conn.SendBinary(b)
	case s.cfg.binary || !utf8.ValidString(line):
		return s.conn.SendBinary([]byte(line))
	}
	return s.conn.SendText(line)
}

// protocolNote names the subprotocol and extension the server chose, for
// the banner.
func (s *session) protocolNote() string {
	var note string
	if s.conn.Status() != http.StatusSwitchingProtocols {
		// RFC 8441 §5: a 2xx answers an extended CONNECT, 101 an Upgrade.
		note = " over HTTP/2"
	}
	if p := s.conn.Subprotocol(); p != "" {
		note += ", subprotocol " + strconv.Quote(p)
	} else if len(s.cfg.subprotocols) > 0 {
		note += fmt.Sprintf(" (the server chose none of the %d subprotocols offered)", len(s.cfg.subprotocols))
	}
	if _, ok := s.conn.Compression(); ok {
		note += ", permessage-deflate"
	} else if s.cfg.compress {
		note += " (the server declined permessage-deflate)"
	}
	return note
}
