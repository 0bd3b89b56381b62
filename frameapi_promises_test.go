package websocket_test

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/wsclient/websocket"
)

// TestSetTimeoutZeroKeepsTheCallersDeadline: turning the per-operation
// timeout off clears the deadlines it set, not one the caller set since:
// SetTimeout(0) erased a past read deadline the caller had just set, and
// Recv then waited for good.
func TestSetTimeoutZeroKeepsTheCallersDeadline(t *testing.T) {
	c, _ := pipeConn(t, nil)
	c.SetTimeout(time.Second)
	c.SetReadDeadline(time.Now().Add(-time.Second))
	c.SetTimeout(0)
	done := make(chan error, 1)
	go func() { _, err := c.Recv(); done <- err }()
	select {
	case err := <-done:
		if !isTimeout(err) {
			t.Errorf("Recv = %v, want the caller's deadline's timeout", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Recv waited past the caller's read deadline: SetTimeout(0) cleared it")
	}
}

// TestSendsAfterAWriteTimeoutAreClosed: a write that times out closes the
// Conn; that send gets the timeout, every later one an error matching
// ErrConnectionClosed and not the timeout (its message says it: a caller
// retrying after timeouts must stop). The timed-out message is not counted
// as sent: Stats counted it.
func TestSendsAfterAWriteTimeoutAreClosed(t *testing.T) {
	c, _ := pipeConn(t, nil)
	c.SetWriteDeadline(time.Now().Add(-time.Second))
	if err := c.SendText("hi"); !isTimeout(err) {
		t.Fatalf("SendText past the write deadline = %v, want a timeout", err)
	}
	for name, send := range map[string]func() error{
		"SendText": func() error { return c.SendText("x") },
		"Ping":     func() error { return c.Ping(nil) },
		"Flush":    c.Flush,
		"SendFrame": func() error {
			return c.SendFrame(&websocket.Frame{Fin: true, Opcode: websocket.OpBinary, Masked: true})
		},
	} {
		if err := send(); !errors.Is(err, websocket.ErrConnectionClosed) || matchesTimeout(err) {
			t.Errorf("%s after the timeout = %v; want ErrConnectionClosed, not a timeout", name, err)
		}
	}
	if st := c.Stats(); st.MessagesSent != 0 || st.BytesSent != 0 {
		t.Errorf("Stats after a send that timed out before any byte went out: MessagesSent %d, BytesSent %d; want 0, 0", st.MessagesSent, st.BytesSent)
	}
}

// matchesTimeout reports whether err matches a timeout in either way.
func matchesTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// TestOnlyOneCallGetsAWriteTimeout: to a server that reads nothing, sends
// go on until a write times out; one call gets the timeout (the send whose
// write it was, or, when a queued batch's write timed out, the next send),
// every later send and Flush an error that is not a timeout, so that a
// caller retrying after timeouts stops. They all repeated the timeout.
func TestOnlyOneCallGetsAWriteTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
	}{{"written directly", 1 << 20}, {"queued in bursts", 4 << 10}} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := pipeConn(t, nil) // the server never reads
			c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			msg := make([]byte, tc.size)
			var err error
			for i := 0; err == nil && i < 1<<20; i++ {
				err = c.SendBinary(msg)
			}
			if !isTimeout(err) {
				t.Fatalf("sends ended with %v, want a timeout", err)
			}
			for name, call := range map[string]func() error{
				"SendText": func() error { return c.SendText("x") },
				"Flush":    c.Flush,
				"Ping":     func() error { return c.Ping(nil) },
			} {
				if err := call(); !errors.Is(err, websocket.ErrConnectionClosed) || matchesTimeout(err) {
					t.Errorf("%s after the timeout = %v; want ErrConnectionClosed, not a timeout", name, err)
				}
			}
		})
	}
}

// abandonedNextReader returns a Conn whose server sent a message in two
// fragments ("abc", "def") and then the binary message "next", and the
// reader NextReader gave for the first message, one byte of it read.
func abandonedNextReader(t *testing.T, opts *websocket.DialOptions) (*websocket.Conn, io.Reader) {
	t.Helper()
	c, sc := pipeConn(t, opts)
	sc.WriteFrame(false, byte(websocket.OpText), []byte("abc"))
	sc.WriteFrame(true, byte(websocket.OpContinuation), []byte("def"))
	sc.WriteFrame(true, byte(websocket.OpBinary), []byte("next"))
	_, r, err := c.NextReader()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(r, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	return c, r
}

// TestRecvFrameDropsANextReadersMessage: RecvFrame after a NextReader
// discards what its reader left of the message, as every receiving call
// does: it returned the rest of the abandoned frame, and the old reader
// read on beside it.
func TestRecvFrameDropsANextReadersMessage(t *testing.T) {
	c, r := abandonedNextReader(t, nil)
	f, err := c.RecvFrame()
	if err != nil || f.Opcode != websocket.OpBinary || string(f.Payload) != "next" {
		t.Errorf("RecvFrame = %v, %v; want the next message's frame, binary \"next\"", f, err)
	}
	if n, err := r.Read(make([]byte, 8)); err == nil {
		t.Errorf("the abandoned reader read %d more bytes", n)
	}
}

// TestFireContFrameDropsANextReadersMessage: with FireContFrame, a
// fragment-by-fragment receive after a NextReader discards what its
// reader left of the message, as every receiving call does: RecvData
// returned the rest of the abandoned frame as a new message's first
// fragment, and the old reader then read on.
func TestFireContFrameDropsANextReadersMessage(t *testing.T) {
	for _, api := range []string{"RecvData", "RecvDataFrame"} {
		t.Run(api, func(t *testing.T) {
			c, r := abandonedNextReader(t, &websocket.DialOptions{FireContFrame: true})
			var op websocket.Opcode
			var err error
			var p []byte
			if api == "RecvData" {
				op, p, err = c.RecvData(false)
			} else {
				var f *websocket.Frame
				if op, f, err = c.RecvDataFrame(false); f != nil {
					p = f.Payload
				}
			}
			if err != nil || op != websocket.OpBinary || string(p) != "next" {
				t.Errorf("%s = %v %q, %v; want the next message, binary \"next\"", api, op, p, err)
			}
			if n, err := r.Read(make([]byte, 8)); err == nil {
				t.Errorf("the abandoned reader read %d more bytes", n)
			}
		})
	}
}
