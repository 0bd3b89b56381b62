package websocket_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// TestNextWriterUTF8AcrossFragments: every byte written to a text
// NextWriter is UTF-8-checked, also after the first fragment went out (the
// writer once stopped checking there). Invalid text never reaches the wire:
// refused before any fragment, nothing of the message is sent and the Conn
// goes on; refused after fragments went out, the connection ends with 1011
// instead of leaving the server inside a message that never ends.
func TestNextWriterUTF8AcrossFragments(t *testing.T) {
	const big = 20 << 10 // past the 16 KiB a NextWriter buffers: one fragment goes out
	ascii := strings.Repeat("a", big)
	for _, tc := range []struct {
		name     string
		writes   []string
		atClose  bool // the error comes from Close, not Write
		sentAny  bool // fragments went out before the refusal
		thenSend bool // the Conn is still usable afterwards
	}{
		{name: "invalid byte after a fragment", writes: []string{ascii, "ok\xff"}, sentAny: true},
		{name: "invalid byte after a fragment that ended on a character", writes: []string{strings.Repeat("a", 16<<10), "b", "\xc0\x80"}, sentAny: true},
		{name: "ends inside a sequence after a fragment", writes: []string{ascii, "\xe2\x82"}, atClose: true, sentAny: true},
		{name: "invalid byte before any fragment", writes: []string{"fine", "\xff"}, thenSend: true},
		{name: "ends inside a sequence before any fragment", writes: []string{"\xe2\x82"}, atClose: true, thenSend: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := wstest.NewServer(func(c *wstest.Conn) {
				for {
					f, err := c.ReadFrame()
					if err != nil || f.Opcode == wstest.OpClose {
						return
					}
				}
			})
			defer srv.Close()
			c, err := websocket.Dial(context.Background(), srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Abort()
			w, err := c.NextWriter(websocket.OpText)
			if err != nil {
				t.Fatal(err)
			}
			var werr error
			for _, s := range tc.writes {
				if _, werr = w.Write([]byte(s)); werr != nil {
					break
				}
			}
			cerr := w.Close()
			got := werr
			if tc.atClose {
				if werr != nil {
					t.Fatalf("Write = %v, want the error at Close", werr)
				}
				got = cerr
			}
			var perr *websocket.PayloadError
			if !errors.As(got, &perr) || !strings.HasPrefix(got.Error(), "websocket: ") {
				t.Fatalf("error = %v, want a *PayloadError", got)
			}
			if tc.thenSend {
				if err := c.SendText("after"); err != nil {
					t.Fatalf("SendText after a refused message = %v", err)
				}
			}
			c.Close()
			sc := srv.Conns()[0]
			<-sc.Done()
			var text []byte
			var closeCode uint16
			for _, f := range sc.Received() {
				switch f.Opcode {
				case wstest.OpText, wstest.OpContinuation:
					text = append(text, f.Payload...)
				case wstest.OpClose:
					closeCode, _ = f.CloseStatus()
				}
			}
			if !utf8.Valid(text) {
				t.Errorf("the server received invalid UTF-8 in a text message (%d bytes)", len(text))
			}
			switch {
			case tc.sentAny && closeCode != 1011:
				t.Errorf("close code %d, want 1011 after fragments of the refused message went out", closeCode)
			case !tc.sentAny && string(text) != "after":
				t.Errorf("server received %q, want only the next message", text)
			}
		})
	}
}
