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

// run receives and sends until the connection ends, and returns the exit
// status and the error line to print (empty when there is none). first is
// the first connection of the run, which sends -t's text.
func (s *session) run(ctx context.Context, first bool) (int, string) {
	readDone := make(chan error, 1)
	go func() { readDone <- s.receive() }()

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
	if first && s.cfg.hasText {
		if err := s.sendData(s.cfg.text); err != nil {
			return sendFailed(err)
		}
	}
	// handle sends or runs a line; done is true when the session ends.
	handle := func(text string) (done bool, code int, msg string) {
		req, err := s.line(text)
		if err != nil {
			s.st.pending = append([]string{text}, s.st.pending...) // sent again after a reconnect
			code, msg = sendFailed(err)
			return true, code, msg
		}
		if req == nil {
			return false, 0, ""
		}
		if req.quit {
			s.st.inputEnded = true
		}
		code, msg = s.close(readDone, req.code, req.reason)
		return true, code, msg
	}
	for len(s.st.pending) > 0 {
		text := s.st.pending[0]
		s.st.pending = s.st.pending[1:]
		if done, code, msg := handle(text); done {
			return code, msg
		}
	}

	var pingTick, pingDeadline, eofTimer <-chan time.Time
	if s.cfg.pingInterval > 0 {
		t := time.NewTicker(s.cfg.pingInterval)
		defer t.Stop()
		pingTick = t.C
	}
	in := s.st.in
	if s.st.inputEnded {
		in = nil
	}
	for {
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
		case <-pingTick:
			if s.pings.autoPending() {
				continue // the last one is still unanswered: --ping-timeout decides
			}
			if err := s.conn.Ping(s.pings.nextAuto()); err != nil {
				return sendFailed(err)
			}
			if s.cfg.pingTimeout > 0 {
				pingDeadline = time.After(s.cfg.pingTimeout)
			}
		case <-pingDeadline:
			if s.pings.autoPending() {
				s.conn.Abort()
				<-readDone
				return exitPingTimeout, "no pong within --ping-timeout " + s.cfg.pingTimeout.String()
			}
		case l := <-in:
			if l.err != nil {
				// End of input: keep printing what arrives for --eof-wait,
				// as the Python tool does, unless the user pressed Ctrl-C.
				s.st.inputEnded, in = true, nil
				if s.cfg.eofWait > 0 && !s.con.interrupted() {
					t := time.NewTimer(s.cfg.eofWait)
					defer t.Stop()
					eofTimer = t.C
					continue
				}
				return closeNormal()
			}
			if done, code, msg := handle(l.text); done {
				return code, msg
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
func (s *session) close(readDone <-chan error, code websocket.StatusCode, reason string) (int, string) {
	s.sentOur, s.sentReason = code, reason
	s.closing.Store(true)
	if err := s.conn.SendClose(code, reason); err != nil {
		s.conn.Abort()
		return s.ended(<-readDone)
	}
	t := time.NewTimer(closeWait)
	defer t.Stop()
	var err error
	timedOut := false
	select {
	case err = <-readDone:
	case <-t.C:
		s.conn.Abort() // the server never answered
		err, timedOut = <-readDone, true
	}
	s.conn.Shutdown()
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		return exitOK, "" // the server's close frame arrived: a closing handshake
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
		note = fmt.Sprintf(" (the server chose none of the %d subprotocols offered)", len(s.cfg.subprotocols))
	}
	if _, ok := s.conn.Compression(); ok {
		note += ", permessage-deflate"
	} else if s.cfg.compress {
		note += " (the server declined permessage-deflate)"
	}
	return note
}
