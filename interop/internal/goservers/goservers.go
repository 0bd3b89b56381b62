// Package goservers holds the in-process Go WebSocket servers that the
// interop tests use as peers: one echo handler each on gorilla/websocket,
// coder/websocket and lxzan/gws.
//
// Every handler behaves like the external echo servers of the interop
// tests: it echoes each text and binary message with the same opcode,
// selects the subprotocol "echo.v2" or "echo.v1" when the client offers one
// (RFC 6455 §4.2.2), answers pings (§5.5.2), and answers the text message
// "close:CODE:REASON" by starting the close handshake with that code and
// reason (§5.5.1).
package goservers

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	coder "github.com/coder/websocket"
	gorilla "github.com/gorilla/websocket"
	"github.com/lxzan/gws"
)

// Subprotocols are the subprotocols every echo server accepts, in the
// server's order of preference.
var Subprotocols = []string{"echo.v2", "echo.v1"}

// MaxMessage is the read limit of the servers: above the 16 MiB the tests
// send, where the libraries' defaults are lower (coder: 32 KiB, gws:
// 16 MiB).
const MaxMessage = 64 << 20

// ParseCloseCommand reads "close:CODE:REASON"; ok is false for any other
// message.
func ParseCloseCommand(msg []byte) (code int, reason string, ok bool) {
	rest, found := strings.CutPrefix(string(msg), "close:")
	if !found {
		return 0, "", false
	}
	num, reason, found := strings.Cut(rest, ":")
	if !found {
		return 0, "", false
	}
	code, err := strconv.Atoi(num)
	if err != nil {
		return 0, "", false
	}
	return code, reason, true
}

// Gorilla returns an echo handler on gorilla/websocket.
func Gorilla() http.Handler {
	up := gorilla.Upgrader{
		Subprotocols:      Subprotocols,
		EnableCompression: true, // permessage-deflate, no context takeover only
		CheckOrigin:       func(*http.Request) bool { return true },
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered with an HTTP error
		}
		defer c.Close()
		c.SetReadLimit(MaxMessage)
		for {
			// ReadMessage runs gorilla's default handlers: pings are
			// answered with the same payload, a close is echoed.
			typ, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if code, reason, ok := ParseCloseCommand(msg); ok && typ == gorilla.TextMessage {
				// Keep reading after our close so the client's answer
				// completes the handshake (§5.5.1) before the socket goes.
				c.WriteControl(gorilla.CloseMessage, gorilla.FormatCloseMessage(code, reason), time.Now().Add(5*time.Second))
				continue
			}
			if err := c.WriteMessage(typ, msg); err != nil {
				return
			}
		}
	})
}

// Coder returns an echo handler on coder/websocket.
func Coder() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := coder.Accept(w, r, &coder.AcceptOptions{
			Subprotocols:       Subprotocols,
			InsecureSkipVerify: true, // the tests send an Origin of their own
			CompressionMode:    coder.CompressionContextTakeover,
		})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(MaxMessage)
		ctx := r.Context()
		for {
			// Pings are answered while a Read is in progress.
			typ, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			if code, reason, ok := ParseCloseCommand(msg); ok && typ == coder.MessageText {
				// Close runs the whole handshake: it waits for the
				// client's close frame.
				c.Close(coder.StatusCode(code), reason)
				return
			}
			if err := c.Write(ctx, typ, msg); err != nil {
				return
			}
		}
	})
}

// Gws returns an echo handler on lxzan/gws.
//
// A gws Upgrader with SubProtocols set refuses (400) every client that
// offers none of them, where RFC 6455 §4.2.2 lets the server go on without
// one; so the subprotocols are only configured for clients that offer
// some.
func Gws() http.Handler {
	newUpgrader := func(subprotocols []string) *gws.Upgrader {
		return gws.NewUpgrader(gwsEcho{}, &gws.ServerOption{
			SubProtocols:       subprotocols,
			ReadMaxPayloadSize: MaxMessage,
			PermessageDeflate: gws.PermessageDeflate{Enabled: true, ServerContextTakeover: true,
				ClientContextTakeover: true, Threshold: 1},
			CheckUtf8Enabled: true,
		})
	}
	plain, negotiating := newUpgrader(nil), newUpgrader(Subprotocols)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := plain
		if r.Header.Get("Sec-WebSocket-Protocol") != "" {
			up = negotiating
		}
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		c.ReadLoop() // returns when the connection is closed
	})
}

// gwsEcho is the gws event handler of the echo server.
type gwsEcho struct{ gws.BuiltinEventHandler }

// OnPing answers with the ping's payload, as RFC 6455 §5.5.3 requires:
// gws's built-in handler answers every ping with an empty pong.
func (gwsEcho) OnPing(c *gws.Conn, payload []byte) { c.WritePong(payload) }

// OnMessage echoes the message or runs a close command. gws's WriteClose
// sends the close frame and closes the socket without waiting for the
// client's answer.
func (gwsEcho) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	if code, reason, ok := ParseCloseCommand(m.Bytes()); ok && m.Opcode == gws.OpcodeText {
		c.WriteClose(uint16(code), []byte(reason))
		return
	}
	c.WriteMessage(m.Opcode, m.Bytes())
}
