package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	cfg     *config
	conn    *websocket.Conn
	con     console
	format  *formatter
	closing atomic.Bool // we started the closing handshake
}

// sendError wraps a failure to send an input line.
type sendError struct{ err error }

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// run receives and sends until the connection ends, and returns the exit
// status and the error line to print (empty when there is none).
func (s *session) run(ctx context.Context) (int, string) {
	readDone := make(chan error, 1)
	go func() { readDone <- s.receive() }()

	inputDone := make(chan error, 1)
	go func() {
		if s.cfg.hasText {
			if err := s.send(s.cfg.text); err != nil {
				inputDone <- &sendError{err}
				return
			}
		}
		inputDone <- s.input()
	}()

	select {
	case err := <-readDone:
		return s.ended(err)
	case <-ctx.Done():
	case err := <-inputDone:
		var se *sendError
		if errors.As(err, &se) {
			// The connection failed under us: the receiving loop knows why.
			select {
			case err := <-readDone:
				return s.ended(err)
			case <-time.After(drainTimeout):
				s.conn.Abort()
				<-readDone
				return exitError, "send: " + trimPrefix(se.err)
			}
		}
		// End of input: keep printing what arrives for --eof-wait, as the
		// Python tool does, unless the user pressed Ctrl-C.
		if s.cfg.eofWait > 0 && !s.con.interrupted() {
			t := time.NewTimer(s.cfg.eofWait)
			defer t.Stop()
			select {
			case err := <-readDone:
				return s.ended(err)
			case <-ctx.Done():
			case <-t.C:
			}
		}
	}
	return s.close(readDone)
}

// close runs the closing handshake (RFC 6455 §7.1.2): it sends our close
// frame and lets the receiving loop, which keeps printing the messages that
// arrive meanwhile, read up to the server's answer; after closeWait without
// one, the socket is closed. (Conn.Close would drop those messages when it
// found no reader active at that instant.)
func (s *session) close(readDone <-chan error) (int, string) {
	s.closing.Store(true)
	if err := s.conn.SendClose(websocket.StatusNormal, ""); err != nil {
		s.conn.Abort()
		return s.ended(<-readDone)
	}
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-readDone:
	case <-t.C:
		s.conn.Abort() // the server never answered: the close frame is sent, which is enough
		<-readDone
	}
	s.conn.Shutdown()
	return exitOK, ""
}

// ended reports how the receiving loop ended before we closed.
func (s *session) ended(err error) (int, string) {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		// The server closed; its close frame was printed and echoed.
		return exitOK, ""
	case errors.Is(err, websocket.ErrConnectionClosed):
		return exitError, "connection lost without a close frame: " + trimPrefix(err)
	}
	return exitError, trimPrefix(err)
}

// receive prints every frame that arrives until the connection ends.
func (s *session) receive() error {
	for {
		op, data, err := s.conn.RecvData(true)
		if err != nil {
			return err
		}
		if op == websocket.OpClose && s.closing.Load() && isPlainEcho(data) {
			continue // the server's answer to our close: nothing to tell
		}
		if line, ok := s.format.message(op, data); ok {
			s.con.show(line)
		}
	}
}

// isPlainEcho reports whether a close payload is the plain echo of the
// close frame wsdump sends (1000, no reason). Any other close frame that
// arrives while closing is the server's own, crossing ours, and is shown.
func isPlainEcho(p []byte) bool {
	return len(p) == 2 && p[0] == 0x03 && p[1] == 0xe8 || len(p) == 0
}

// input sends each line read until the end of input.
func (s *session) input() error {
	for {
		line, err := s.con.readLine()
		if err != nil {
			if err == io.EOF {
				return err
			}
			return io.EOF // a broken input ends it as EOF does
		}
		if err := s.send(line); err != nil {
			return &sendError{err}
		}
	}
}

// send sends a line as a text message; a line that is not UTF-8 (piped
// binary input) goes as a binary message, which a text message may not be
// (RFC 6455 §5.6).
func (s *session) send(line string) error {
	if utf8.ValidString(line) {
		return s.conn.SendText(line)
	}
	return s.conn.SendBinary([]byte(line))
}

// protocolNote names the subprotocol and extension the server chose, for
// the banner.
func (s *session) protocolNote() string {
	var note string
	if p := s.conn.Subprotocol(); p != "" {
		note = ", subprotocol " + strconv.Quote(p)
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
