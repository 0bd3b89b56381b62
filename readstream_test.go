package websocket_test

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestNextReaderMessages: NextReader streams an empty message, a
// fragmented one with a ping between its fragments (answered), and a
// compressed one (inflated within ReadLimit); a reader used after the next
// receive fails, the rest of its message discarded; the server's close
// ends it all with a *CloseError.
func TestNextReaderMessages(t *testing.T) {
	c, sc := deflatePipe(t, &websocket.DialOptions{ReadLimit: 64 << 10}, "permessage-deflate")
	deflate := serverDeflate(t, true)
	compressed := func(msg []byte) []byte {
		return wstest.AppendFrameRsv(nil, true, 4, byte(websocket.OpText), deflate(msg))
	}
	big := jsonText(40<<10, 1)
	var wire []byte
	wire = wstest.AppendFrame(wire, true, byte(websocket.OpBinary), nil)
	wire = wstest.AppendFrame(wire, false, byte(websocket.OpText), []byte("frag"))
	wire = wstest.AppendFrame(wire, true, byte(websocket.OpPing), []byte("p"))
	wire = wstest.AppendFrame(wire, true, byte(websocket.OpContinuation), []byte("ments"))
	wire = append(wire, compressed(big)...)
	sc.WriteRaw(wire)

	for _, want := range []struct {
		op   websocket.Opcode
		data string
	}{{websocket.OpBinary, ""}, {websocket.OpText, "fragments"}, {websocket.OpText, string(big)}} {
		op, r, err := c.NextReader()
		if err != nil {
			t.Fatalf("NextReader: %v", err)
		}
		got, err := io.ReadAll(r)
		if err != nil || op != want.op || string(got) != want.data {
			t.Fatalf("NextReader = %s, %d bytes, %v; want %s, %d bytes", op, len(got), err, want.op, len(want.data))
		}
	}
	wantFrame(t, sc, byte(websocket.OpPong), "p")

	// A reader used after the next receive; the rest of its message is
	// discarded.
	sc.WriteRaw(wstest.AppendFrame(nil, true, byte(websocket.OpText), []byte("first message")))
	sc.WriteRaw(wstest.AppendFrame(nil, true, byte(websocket.OpText), []byte("second")))
	_, r, err := c.NextReader()
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 5)
	if _, err := io.ReadFull(r, head); err != nil || string(head) != "first" {
		t.Fatalf("first 5 bytes %q, %v", head, err)
	}
	if m, err := c.Recv(); err != nil || m.Text() != "second" {
		t.Fatalf("Recv after a partly read message = %q, %v; want the next message", m.Data, err)
	}
	if n, err := r.Read(head); n != 0 || err == nil || !strings.HasPrefix(err.Error(), "websocket: ") {
		t.Errorf("the stale reader's Read = %d, %v; want an error", n, err)
	}

	// A compressed message that inflates past ReadLimit.
	sc.WriteRaw(compressed(jsonText(100<<10, 2)))
	if _, _, err := c.NextReader(); err == nil {
		t.Error("NextReader of a message inflating past ReadLimit: no error")
	}
	checkPrefix(t, err)

	// After the end, NextReader reports it.
	c2, sc2 := pipeConn(t, nil)
	sc2.WriteRaw(wstest.AppendFrame(nil, true, byte(websocket.OpClose), wstest.ClosePayload(4001, "done")))
	var ce *websocket.CloseError
	if _, _, err := c2.NextReader(); !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "done" {
		t.Errorf("NextReader after the server's close = %v, want *CloseError 4001 done", err)
	}
}

// TestNextReaderDropStalls: the rest of a message a NextReader left unread
// is dropped by the next receive. A read timeout while dropping leaves the
// Conn usable (the next receive drops the rest and returns the next
// message); a socket that ends there ends the Conn with
// io.ErrUnexpectedEOF, as a frame cut anywhere else does.
func TestNextReaderDropStalls(t *testing.T) {
	for _, end := range []string{"timeout", "eof"} {
		t.Run(end, func(t *testing.T) {
			c, sc := pipeConn(t, &websocket.DialOptions{Timeout: testTimeout})
			payload := []byte(strings.Repeat("x", 100))
			wire := wstest.AppendFrame(nil, true, byte(websocket.OpBinary), payload)
			cut := len(wire) - 90
			sc.WriteRaw(wire[:cut])
			_, r, err := c.NextReader()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(r, make([]byte, 5)); err != nil {
				t.Fatal(err)
			}
			if end == "eof" {
				sc.NC.Close()
				if m, err := c.Recv(); !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("Recv = %q, %v; want io.ErrUnexpectedEOF", m.Data, err)
				}
				return
			}
			c.SetTimeout(0)
			c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			var ne net.Error
			if m, err := c.Recv(); !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("Recv = %q, %v; want a timeout", m.Data, err)
			}
			c.SetReadDeadline(time.Time{})
			sc.WriteRaw(wstest.AppendFrame(wire[cut:], true, byte(websocket.OpText), []byte("next")))
			if m, err := c.Recv(); err != nil || m.Text() != "next" {
				t.Fatalf("Recv after the timeout = %q, %v; want the next message", m.Data, err)
			}
		})
	}
}
