package interop

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
	"unicode/utf8"

	websocket "github.com/wsclient/websocket"
)

// The checks, in matrix column order.
const (
	checkConnect     = "connect"
	checkText        = "text echo"
	checkBinary      = "binary echo"
	checkFragmented  = "fragmented send"
	checkPing        = "ping"
	checkClientClose = "close (client)"
	checkServerClose = "close (server)"
	checkSubprotocol = "subprotocol"
	checkRestart     = "App restart"
	checkDeflate     = "deflate"
	checkDeflateNCT  = "deflate, no takeover"
)

// check is one column of the matrix.
type check struct {
	name string
	run  func(t *testing.T, tg *target)
}

func checks() []check {
	return []check{
		{checkConnect, runConnect},
		{checkText, func(t *testing.T, tg *target) { runEcho(t, tg, websocket.OpText) }},
		{checkBinary, func(t *testing.T, tg *target) { runEcho(t, tg, websocket.OpBinary) }},
		{checkFragmented, runFragmented},
		{checkPing, runPing},
		{checkClientClose, runClientClose},
		{checkServerClose, runServerClose},
		{checkSubprotocol, runSubprotocol},
		{checkRestart, runAppRestart},
		{checkDeflate, runDeflate(websocket.CompressionOptions{})},
		{checkDeflateNCT, runDeflate(websocket.CompressionOptions{ClientNoContextTakeover: true, ServerNoContextTakeover: true})},
	}
}

// ioTimeout bounds every dial and every read and write of a check, so a
// server that does not answer fails the check instead of hanging the run.
const ioTimeout = 30 * time.Second

// dialWith dials url with opts (Timeout set to ioTimeout when zero).
func dialWith(t *testing.T, url string, opts *websocket.DialOptions) (*websocket.Conn, error) {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = ioTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	return websocket.Dial(ctx, url, opts)
}

// dial connects to tg with its options (plus subprotocols) and closes the
// connection when the test ends.
func dial(t *testing.T, tg *target, subprotocols ...string) *websocket.Conn {
	t.Helper()
	opts := tg.dialOptions()
	opts.Subprotocols = subprotocols
	c, err := dialWith(t, tg.url, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", tg.url, err)
	}
	t.Cleanup(func() { c.Abort() })
	return c
}

func runConnect(t *testing.T, tg *target) {
	c := dial(t, tg)
	want := 101
	if tg.status != 0 {
		want = tg.status
	}
	if got := c.Status(); got != want {
		t.Errorf("Status() = %d, want %d", got, want)
	}
	if got, want := c.IsSSL(), tg.url[:4] == "wss:"; got != want {
		t.Errorf("IsSSL() = %v, want %v", got, want)
	}
	if err := c.SendText("hello"); err != nil {
		t.Fatalf("SendText: %v", err)
	}
	expectMessage(t, c, websocket.OpText, []byte("hello"))
	if tg.connect != nil {
		tg.connect(t, tg)
	}
}

// echoSizes are the message sizes of the echo checks: the edges of the
// three payload length encodings of RFC 6455 §5.2 (7 bit up to 125, 16 bit
// up to 65535, 64 bit above) and a large message.
var echoSizes = []struct {
	name string
	n    int
}{
	{"0 B", 0},
	{"125 B", 125},
	{"126 B", 126},
	{"64 KiB", 64 << 10},
	{"64 KiB+1", 64<<10 + 1},
	{"16 MiB", 16 << 20},
}

// runEcho sends one message of each size on one connection and expects
// each back unchanged.
func runEcho(t *testing.T, tg *target, op websocket.Opcode) {
	c := dial(t, tg)
	for _, size := range echoSizes {
		part(t, size.name, func(t *testing.T) {
			p := payload(op, size.n)
			if err := c.Send(p, op); err != nil {
				t.Fatalf("Send(%d bytes): %v", size.n, err)
			}
			expectMessage(t, c, op, p)
		})
	}
}

// runFragmented streams messages through NextWriter in small writes, so the
// client sends several fragments (RFC 6455 §5.4) that the server must
// reassemble, and expects each echoed whole. The text message has
// multi-byte characters split across writes and fragment boundaries.
func runFragmented(t *testing.T, tg *target) {
	c := dial(t, tg)
	for _, tc := range []struct {
		name  string
		op    websocket.Opcode
		size  int
		chunk int
	}{
		{"text 100 KiB in 1000 B writes", websocket.OpText, 100 << 10, 1000},
		{"binary 100 KiB+3 in 7 B writes", websocket.OpBinary, 100<<10 + 3, 7},
		{"binary 1 MiB in one write", websocket.OpBinary, 1 << 20, 1 << 20},
	} {
		part(t, tc.name, func(t *testing.T) {
			if tg.na != nil {
				if why, ok := tg.na[naKey(tc.op)]; ok {
					t.Skip(why)
				}
			}
			p := payload(tc.op, tc.size)
			w, err := c.NextWriter(tc.op)
			if err != nil {
				t.Fatalf("NextWriter: %v", err)
			}
			for rest := p; len(rest) > 0; {
				k := min(tc.chunk, len(rest))
				if _, err := w.Write(rest[:k]); err != nil {
					t.Fatalf("Write: %v", err)
				}
				rest = rest[k:]
			}
			if err := w.Close(); err != nil {
				t.Fatalf("Close of the writer: %v", err)
			}
			expectMessage(t, c, tc.op, p)
		})
	}
	// Control frames may be sent between the fragments of a message
	// (RFC 6455 §5.4), and the server must answer a ping at once.
	part(t, "ping between fragments", func(t *testing.T) {
		p := payload(websocket.OpText, 40<<10)
		w, err := c.NextWriter(websocket.OpText)
		if err != nil {
			t.Fatalf("NextWriter: %v", err)
		}
		half := len(p) / 2
		for !utf8.RuneStart(p[half]) {
			half++
		}
		if _, err := w.Write(p[:half]); err != nil {
			t.Fatalf("Write: %v", err)
		}
		if err := c.Ping([]byte("mid-message")); err != nil {
			t.Fatalf("Ping while a NextWriter is open: %v", err)
		}
		expectPong(t, c, []byte("mid-message"))
		if _, err := w.Write(p[half:]); err != nil {
			t.Fatalf("Write: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close of the writer: %v", err)
		}
		expectMessage(t, c, websocket.OpText, p)
	})
}

// naKey maps a message type to the check that declares it not applicable.
func naKey(op websocket.Opcode) string {
	if op == websocket.OpBinary {
		return checkBinary
	}
	return checkText
}

// runPing sends pings and expects pongs with the same payload (RFC 6455
// §5.5.2, §5.5.3), also with a message in between.
func runPing(t *testing.T, tg *target) {
	c := dial(t, tg)
	for i, p := range [][]byte{[]byte("ping-1"), nil, bytes.Repeat([]byte("p"), 125)} {
		if err := c.Ping(p); err != nil {
			t.Fatalf("Ping(%d bytes): %v", len(p), err)
		}
		expectPong(t, c, p)
		msg := fmt.Sprintf("after ping %d", i)
		if err := c.SendText(msg); err != nil {
			t.Fatalf("SendText: %v", err)
		}
		expectMessage(t, c, websocket.OpText, []byte(msg))
	}
}

// expectPong reads frames until a pong, which must carry want.
func expectPong(t *testing.T, c *websocket.Conn, want []byte) {
	t.Helper()
	for {
		op, data, err := c.RecvData(true)
		if err != nil {
			t.Fatalf("waiting for a pong: %v", err)
		}
		switch op {
		case websocket.OpPong:
			if !bytes.Equal(data, want) {
				t.Fatalf("pong payload = %q, want %q", data, want)
			}
			return
		case websocket.OpPing:
			continue // the server's own keepalive
		default:
			t.Fatalf("waiting for a pong: got %v frame (%d bytes)", op, len(data))
		}
	}
}

// runClientClose closes from the client: first with SendClose and reading
// the server's answering close frame, which must echo the code (RFC 6455
// §5.5.1: "typically echoing the status code it received"); then with
// CloseWith, which must return well before its timeout because the server
// answered.
func runClientClose(t *testing.T, tg *target) {
	part(t, "SendClose then read the answer", func(t *testing.T) {
		c := dial(t, tg)
		const code, reason = 4001, "client bye"
		if err := c.SendClose(code, reason); err != nil {
			t.Fatalf("SendClose: %v", err)
		}
		var payload []byte
		for {
			op, data, err := c.RecvData(true)
			if err != nil {
				t.Fatalf("waiting for the server's close frame: %v", err)
			}
			if op == websocket.OpClose {
				payload = data
				break
			}
		}
		if len(payload) < 2 {
			t.Fatalf("server's close frame has no status code (payload %q)", payload)
		}
		if got := binary.BigEndian.Uint16(payload); got != code {
			t.Errorf("server answered with code %d, want %d", got, code)
		}
		if r := string(payload[2:]); r != "" && r != reason {
			t.Errorf("server answered with reason %q, want %q or none", r, reason)
		}
		_, _, err := c.RecvData(true)
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != code {
			t.Errorf("RecvData after the close frame: err = %v, want *CloseError with code %d", err, code)
		}
		if c.Connected() {
			t.Errorf("Connected() = true after the close handshake")
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close after the handshake: %v", err)
		}
	})
	part(t, "CloseWith", func(t *testing.T) {
		c := dial(t, tg)
		if err := c.SendText("before close"); err != nil {
			t.Fatalf("SendText: %v", err)
		}
		expectMessage(t, c, websocket.OpText, []byte("before close"))
		const timeout = 10 * time.Second
		start := time.Now()
		if err := c.CloseWith(4002, "bye again", timeout); err != nil {
			t.Fatalf("CloseWith: %v", err)
		}
		// CloseWith waits for the server's close frame up to the timeout
		// and returns nil either way: only the time tells they differ.
		if d := time.Since(start); d >= timeout/2 {
			t.Errorf("CloseWith took %v: the server's close frame was not seen", d)
		}
		if c.Connected() {
			t.Errorf("Connected() = true after CloseWith")
		}
		if err := c.SendText("x"); !errors.Is(err, websocket.ErrConnectionClosed) {
			t.Errorf("SendText after CloseWith: err = %v, want ErrConnectionClosed", err)
		}
	})
}

// runServerClose asks the server to close with a code and reason and
// expects Recv to report them as a *CloseError.
func runServerClose(t *testing.T, tg *target) {
	c := dial(t, tg)
	const code, reason = 4123, "server bye"
	if err := c.SendText(fmt.Sprintf("close:%d:%s", code, reason)); err != nil {
		t.Fatalf("SendText: %v", err)
	}
	msg, err := c.Recv()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("Recv = (%v %q), %v; want a *CloseError", msg.Opcode, msg.Data, err)
	}
	if ce.Code != code || ce.Reason != reason {
		t.Errorf("CloseError = %d %q, want %d %q", ce.Code, ce.Reason, code, reason)
	}
	if !errors.Is(err, websocket.ErrConnectionClosed) {
		t.Errorf("errors.Is(%v, ErrConnectionClosed) = false", err)
	}
	if c.Connected() {
		t.Errorf("Connected() = true after the server closed")
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close after the server's close: %v", err)
	}
}

// runSubprotocol offers an unknown subprotocol and one the server supports
// (RFC 6455 §4.1, §11.3.4) and expects the supported one; offering none
// must give none.
func runSubprotocol(t *testing.T, tg *target) {
	c := dial(t, tg, "bogus.v9", "echo.v1")
	if got := c.Subprotocol(); got != "echo.v1" {
		t.Errorf("Subprotocol() = %q, want %q", got, "echo.v1")
	}
	if err := c.SendText("sub"); err != nil {
		t.Fatalf("SendText: %v", err)
	}
	expectMessage(t, c, websocket.OpText, []byte("sub"))

	c = dial(t, tg)
	if got := c.Subprotocol(); got != "" {
		t.Errorf("without offering any: Subprotocol() = %q, want \"\"", got)
	}
}

// expectMessage reads the next message, which must be op with data want.
func expectMessage(t *testing.T, c *websocket.Conn, op websocket.Opcode, want []byte) {
	t.Helper()
	msg, err := c.Recv()
	if err != nil {
		t.Fatalf("Recv (waiting for %d bytes): %v", len(want), err)
	}
	if msg.Opcode != op {
		t.Errorf("Recv opcode = %v, want %v", msg.Opcode, op)
	}
	if !bytes.Equal(msg.Data, want) {
		t.Errorf("Recv data: %s", diff(msg.Data, want))
	}
}

// diff describes how got differs from want without printing megabytes.
func diff(got, want []byte) string {
	if len(got) != len(want) {
		return fmt.Sprintf("got %d bytes, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Sprintf("first difference at byte %d of %d: got %#x, want %#x", i, len(got), got[i], want[i])
		}
	}
	return "equal"
}

// payload returns n deterministic bytes: random bytes for binary; for text,
// valid UTF-8 mixing 1- to 4-byte characters (and no newline, since
// websocketd treats one as the end of a message), padded with ASCII to
// exactly n bytes.
func payload(op websocket.Opcode, n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), uint64(op)))
	b := make([]byte, 0, n)
	if op == websocket.OpBinary {
		for len(b) < n {
			b = binary.LittleEndian.AppendUint64(b, r.Uint64())
		}
		return b[:n]
	}
	runes := []rune("abcdefghijklmnopqrstuvwxyz0123456789 .,é߷ü€✓日本語😀🎉")
	for {
		ch := runes[r.IntN(len(runes))]
		if len(b)+utf8.RuneLen(ch) > n {
			break
		}
		b = utf8.AppendRune(b, ch)
	}
	for len(b) < n {
		b = append(b, 'x')
	}
	return b
}
