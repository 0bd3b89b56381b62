package websocket_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// FuzzHandshakeAnswer dials through a pipe to a server that answers the
// opening request with any bytes ("{accept}" in them becomes the request's
// right Sec-WebSocket-Accept value, so that valid upgrades are reachable)
// and then hangs up. Whatever the answer, Dial returns without waiting for
// its timeout; a Conn it returns speaks a subprotocol that was offered, or
// none; an error says "websocket: " at its start and nowhere else the answer
// did not put it (no error of the library's wrapped in another), and shows nothing
// of the answer a terminal or a log would act on (control characters, C1
// controls, bidi overrides).
//
// flags: bit 0 offers permessage-deflate, bit 1 offers the subprotocols
// "chat" and "superchat".
// foldedLines matches a line break that continues a header field (obsolete
// line folding), which the header parser replaces with a space.
var foldedLines = regexp.MustCompile(`\r?\n[ \t]+`)

func FuzzHandshakeAnswer(f *testing.F) {
	up := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
	for _, s := range []string{
		up + "\r\n",
		up + "\r\n\x81\x02hi",
		up + "Sec-WebSocket-Protocol: chat\r\n\r\n",
		up + "Sec-WebSocket-Protocol: Chat, superchat\r\n\r\n",
		up + "Sec-WebSocket-Protocol: other\r\n\r\n",
		up + "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n",
		up + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=7\r\n\r\n",
		up + "Sec-WebSocket-Extensions: x-\u202e\r\n\r\n",
		strings.Replace(up, "{accept}", "wrong=", 1) + "\r\n",
		strings.Replace(up, "Upgrade: websocket", "Upgrade: \u009b", 1) + "\r\n",
		"HTTP/1.1 403 \x1b]0;owned\x07\r\nContent-Length: 3\r\n\r\nno\n",
		"HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n",
		"HTTP/1.1 101",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n",
		"\x00\x01\x02",
		"",
	} {
		for flags := range byte(4) {
			f.Add(flags, []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, flags byte, answer []byte) {
		answer = bytes.Clone(answer) // the server may write it after this input is over
		cli, srv := net.Pipe()
		served := make(chan struct{})
		go func() {
			defer close(served)
			defer srv.Close()
			_, accept, _, err := wstest.ReadRequest(srv)
			if err == nil {
				srv.Write(bytes.ReplaceAll(answer, []byte("{accept}"), []byte(accept)))
			}
		}()
		opts := &websocket.DialOptions{NetConn: cli, Timeout: 10 * time.Second}
		if flags&1 != 0 {
			opts.Compression = &websocket.CompressionOptions{}
		}
		if flags&2 != 0 {
			opts.Subprotocols = []string{"chat", "superchat"}
		}
		c, err := websocket.Dial(context.Background(), "ws://h.example/x", opts)
		if c != nil {
			switch p := c.Subprotocol(); {
			case p == "" && strings.Trim(c.Header().Get("Sec-WebSocket-Protocol"), ", \t") != "": // an empty list names none
				t.Errorf("subprotocol header %q, Subprotocol() empty", c.Header().Get("Sec-WebSocket-Protocol"))
			case p != "" && flags&2 == 0, p != "" && !strings.EqualFold(p, "chat") && !strings.EqualFold(p, "superchat"):
				t.Errorf("subprotocol %q was not offered", p)
			}
			c.Abort()
		}
		cli.Close()
		<-served
		if err == nil {
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the server hung up, and Dial waited for its timeout: %v", err)
		}
		msg := err.Error()
		// Beyond the prefix, "websocket: " may show only where the
		// answer quoted in the message has it, its folded lines joined
		// as the header parser joins them ("websocket:\r\n 0" is
		// "websocket: 0").
		folded := foldedLines.ReplaceAll(bytes.ToLower(answer), []byte(" "))
		if !strings.HasPrefix(msg, "websocket: ") || strings.Count(msg, "websocket: ") > 1+bytes.Count(folded, []byte("websocket: ")) {
			t.Errorf("error %q does not say \"websocket: \" once, at its start", msg)
		}
		for _, r := range msg {
			if r != ' ' && !unicode.IsPrint(r) {
				t.Fatalf("error %q shows %U", msg, r)
			}
		}
	})
}
