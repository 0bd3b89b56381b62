package main

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wsclient/websocket"
)

// commandHelp is what /help prints.
const commandHelp = `Commands (a line starting with // sends a literal /...; --no-commands turns them off):
  /ping [text]               send a ping; its pong is shown with the round-trip time
  /pong [text]               send an unsolicited pong
  /close [code [reason]]     close with code (default --close-status) and reason, and exit
  /binary HEX...             send a binary message (base64 with --base64)
  /help                      show this help
  /quit                      close normally and exit`

// helpNote ends the banner of the interactive console.
func helpNote(cfg *config) string {
	if cfg.noCommands {
		return ""
	}
	return " /help lists the commands."
}

// closeReq is a command's request to close the connection.
type closeReq struct {
	code   websocket.StatusCode
	reason string
	quit   bool // no reconnect after it
}

// line handles one input line: a command, or a message to send. The error
// is a *sendError when the connection failed; a command's own mistakes
// are printed and the session goes on.
func (s *session) line(text string) (*closeReq, error) {
	name, arg, ok := commandOf(s.cfg, text)
	if !ok {
		if !s.cfg.noCommands && strings.HasPrefix(text, "//") {
			text = text[1:]
		}
		return nil, wrapSend(s.sendData(text))
	}
	switch name {
	case "ping", "pong":
		if len(arg) > 125 {
			s.con.status(styleError, "/"+name+": at most 125 bytes")
			return nil, nil
		}
		// The note first: the answer can be shown before Ping returns.
		s.sentNote(name + ": " + escapeControls(arg))
		if name == "ping" {
			s.pings.sent(arg, false)
			return nil, wrapSend(s.conn.Ping([]byte(arg)))
		}
		return nil, wrapSend(s.conn.Pong([]byte(arg)))
	case "close":
		return s.closeCommand(arg)
	case "binary":
		b, err := decodeHex(arg)
		if s.cfg.base64 {
			b, err = decodeBase64(arg)
		}
		if err != nil {
			s.con.status(styleError, "/binary: "+err.Error())
			return nil, nil
		}
		s.sentNote("binary: " + s.format.binary(b))
		return nil, wrapSend(s.conn.SendBinary(b))
	case "help":
		s.con.status(styleInfo, commandHelp)
		return nil, nil
	case "quit":
		return &closeReq{code: s.cfg.closeCode(), reason: s.cfg.closeReason, quit: true}, nil
	}
	name = escapeControls(name) // the line's own bytes, from input that may not be the user's
	s.con.status(styleError, fmt.Sprintf("unknown command /%s: /help lists them; //%s sends the line as a message", name, name))
	return nil, nil
}

// commandOf returns the name and argument of the command an input line
// is, ok false for a line to send as a message.
func commandOf(cfg *config, text string) (name, arg string, ok bool) {
	if cfg.noCommands || !strings.HasPrefix(text, "/") || strings.HasPrefix(text, "//") {
		return "", "", false
	}
	name, arg, _ = strings.Cut(text[1:], " ")
	return name, strings.TrimSpace(arg), true
}

// closeCommand parses "/close [code [reason]]".
func (s *session) closeCommand(arg string) (*closeReq, error) {
	req := &closeReq{code: s.cfg.closeCode(), reason: s.cfg.closeReason, quit: true}
	if arg != "" {
		codeStr, reason, _ := strings.Cut(arg, " ")
		code, err := strconv.Atoi(codeStr)
		if err != nil || !sendableClose(code) {
			s.con.status(styleError, fmt.Sprintf("/close: %q is not a close code that may be sent (1000-1003, 1007-1014, 3000-4999)", codeStr))
			return nil, nil
		}
		if len(reason) > 123 || !utf8.ValidString(reason) {
			s.con.status(styleError, "/close: the reason must be UTF-8 of at most 123 bytes")
			return nil, nil
		}
		req.code, req.reason = websocket.StatusCode(code), strings.TrimSpace(reason)
	}
	s.sentNote("close: " + strconv.Itoa(int(req.code)) + " " + escapeControls(req.reason))
	return req, nil
}

// sentNote shows, with -v, what a command sent.
func (s *session) sentNote(line string) {
	if s.cfg.verbose > 0 {
		s.con.show(styleSent, strings.TrimSuffix(line, " "))
	}
}

func wrapSend(err error) error {
	if err != nil {
		return &sendError{err}
	}
	return nil
}

// decodeHex reads hex digits, spaces between bytes allowed: "01 02 ff".
func decodeHex(s string) ([]byte, error) {
	s = strings.Join(strings.Fields(s), "")
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, errors.New("not hexadecimal bytes (e.g. 01 02 ff)")
	}
	return b, nil
}

// decodeBase64 reads standard or URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(strings.Join(strings.Fields(s), ""), "=")
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return nil, errors.New("not base64")
}

// pingTracker remembers the pings sent, to match their pongs and tell the
// round-trip time.
type pingTracker struct {
	mu      sync.Mutex
	pending map[string]pingSent // by payload
	seq     int                 // of automatic pings
	auto    string              // payload of the last automatic ping
}

type pingSent struct {
	at   time.Time
	auto bool // sent by --ping-interval, not /ping
}

func (p *pingTracker) sent(payload string, auto bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending == nil {
		p.pending = map[string]pingSent{}
	}
	if len(p.pending) >= 64 {
		clear(p.pending) // unanswered /pings: forget them
	}
	p.pending[payload] = pingSent{at: time.Now(), auto: auto}
}

// nextAuto records and returns the payload of the next automatic ping.
func (p *pingTracker) nextAuto() []byte {
	p.mu.Lock()
	p.seq++
	p.auto = "wsdump " + strconv.Itoa(p.seq)
	auto := p.auto
	p.mu.Unlock()
	p.sent(auto, true)
	return []byte(auto)
}

// autoPending reports whether the last automatic ping is unanswered.
func (p *pingTracker) autoPending() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.pending[p.auto]
	return ok && p.auto != ""
}

// answered returns the ping a pong answers, and forgets it.
func (p *pingTracker) answered(payload []byte) (pingSent, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ps, ok := p.pending[string(payload)]
	delete(p.pending, string(payload))
	return ps, ok
}

// pong handles a pong that answers one of our pings: it is shown with the
// round-trip time (for automatic pings with -v or --print-rtt only). It
// reports false for other pongs, shown as any control frame.
func (s *session) pong(payload []byte) bool {
	ps, ok := s.pings.answered(payload)
	if !ok {
		return false
	}
	if ps.auto && s.cfg.verbose == 0 && !s.cfg.printRTT {
		return true
	}
	line := "pong: "
	if len(payload) > 0 {
		line += s.format.controlPayload(payload) + " "
	}
	line += "rtt=" + time.Since(ps.at).Round(time.Microsecond).String()
	s.con.show(styleControl, s.format.stamp(line))
	return true
}
