package websocket_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// pipeConn dials a wstest.Pipe and returns both ends; the test plays the
// server on its own goroutine.
func pipeConn(t *testing.T, opts *websocket.DialOptions) (*websocket.Conn, *wstest.Conn) {
	t.Helper()
	return pipeConnHeader(t, opts, nil)
}

func pipeConnHeader(t *testing.T, opts *websocket.DialOptions, respHeader http.Header) (*websocket.Conn, *wstest.Conn) {
	t.Helper()
	p := wstest.NewPipe(respHeader)
	t.Cleanup(p.Close)
	if opts == nil {
		opts = &websocket.DialOptions{}
	}
	c, err := websocket.Dial(context.Background(), p.URL, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Abort() })
	sc, err := p.Next(testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	return c, sc
}

// readFrame reads the client's next frame or fails the test.
func readFrame(t *testing.T, sc *wstest.Conn) *wstest.Frame {
	t.Helper()
	f, err := sc.ReadFrameWithin(testTimeout)
	if err != nil {
		t.Fatalf("server read: %v", err)
	}
	return f
}

func wantFrame(t *testing.T, sc *wstest.Conn, op byte, payload string) {
	t.Helper()
	f := readFrame(t, sc)
	if f.Opcode != op || string(f.Payload) != payload || !f.Fin || !f.Masked {
		t.Fatalf("server got opcode %d fin %t masked %t %q, want opcode %d %q", f.Opcode, f.Fin, f.Masked, preview(f.Payload), op, payload)
	}
}

// isTimeout reports whether err is a timeout: a net.Error whose Timeout is
// true that matches os.ErrDeadlineExceeded (a socket's deadline, or the
// Conn's timeout error).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()
}

func TestConcurrentSendersNeverInterleave(t *testing.T) {
	c, sc := pipeConn(t, nil)
	const senders, perSender = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, senders*2)
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSender {
				// Payloads identify their sender; sizes cross the 7/16/64-bit
				// length forms and the write buffer sizes.
				n := []int{10, 200, 70000, 5000, 40000}[i%5]
				p := bytes.Repeat([]byte{byte('A' + g)}, n)
				var err error
				switch i % 4 {
				case 0, 1:
					err = c.SendBinary(p)
				case 2:
					err = c.Ping([]byte{byte('A' + g)})
				case 3:
					var w io.WriteCloser
					if w, err = c.NextWriter(websocket.OpText); err == nil {
						for len(p) > 0 && err == nil {
							k := min(len(p), 7000)
							_, err = w.Write(p[:k])
							p = p[k:]
						}
						if cerr := w.Close(); err == nil {
							err = cerr
						}
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	want := senders * perSender
	var inMsg byte // sender of the fragmented message in progress, 0 = none
	for got := 0; got < want; {
		f := readFrame(t, sc)
		if f.Rsv != 0 || !f.Masked {
			t.Fatalf("frame rsv %d masked %t", f.Rsv, f.Masked)
		}
		owner := byte(0)
		if len(f.Payload) > 0 {
			owner = f.Payload[0]
			if bytes.Count(f.Payload, []byte{owner}) != len(f.Payload) {
				t.Fatalf("frame opcode %d mixes payloads of several senders", f.Opcode)
			}
		}
		switch f.Opcode {
		case 0x9:
			if !f.Fin || len(f.Payload) != 1 {
				t.Fatalf("bad ping %v", f)
			}
			got++
			continue
		case 0x2:
			if inMsg != 0 || !f.Fin {
				t.Fatalf("binary frame (fin %t) inside the fragmented message of sender %c", f.Fin, inMsg)
			}
			got++
		case 0x1:
			if inMsg != 0 {
				t.Fatalf("new text message inside the fragmented message of sender %c", inMsg)
			}
			inMsg = owner
		case 0x0:
			if inMsg == 0 || owner != inMsg {
				t.Fatalf("continuation of sender %c inside message of %c", owner, inMsg)
			}
		default:
			t.Fatalf("unexpected opcode %d", f.Opcode)
		}
		if f.Opcode != 0x2 && f.Fin {
			inMsg = 0
			got++
		}
	}
	<-done
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNextWriterLetsControlFramesThrough(t *testing.T) {
	c, sc := pipeConn(t, nil)
	w, err := c.NextWriter(websocket.OpBinary)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{'x'}, 20<<10) // more than one fragment's buffer
	if _, err := w.Write(big); err != nil {
		t.Fatal(err)
	}
	first := readFrame(t, sc)
	if first.Opcode != 0x2 || first.Fin {
		t.Fatalf("first fragment: opcode %d fin %t", first.Opcode, first.Fin)
	}
	if err := c.Ping([]byte("between")); err != nil {
		t.Fatal(err)
	}
	wantFrame(t, sc, 0x9, "between")
	sent := make(chan error, 1)
	go func() { sent <- c.SendText("after") }() // must wait for w.Close
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	last := readFrame(t, sc)
	if last.Opcode != 0x0 || !last.Fin || len(first.Payload)+len(last.Payload) != len(big) {
		t.Fatalf("final fragment: opcode %d fin %t, %d+%d bytes", last.Opcode, last.Fin, len(first.Payload), len(last.Payload))
	}
	wantFrame(t, sc, 0x1, "after")
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("late")); err == nil {
		t.Error("Write after Close succeeded")
	}
	// A text writer checks UTF-8 as it goes.
	tw, _ := c.NextWriter(websocket.OpText)
	if _, err := tw.Write([]byte{0xff}); err == nil {
		t.Error("NextWriter(OpText) accepted invalid UTF-8")
	}
	tw.Close()
	if _, err := c.NextWriter(websocket.OpPing); err == nil {
		t.Error("NextWriter(OpPing) succeeded")
	}
}

func TestReadTimeoutLeavesConnUsable(t *testing.T) {
	msg := strings.Repeat("0123456789", 300)
	whole := wstest.AppendFrame(nil, true, 0x1, []byte(msg))
	frag := append(wstest.AppendFrame(nil, false, 0x1, []byte(msg[:1000])), wstest.AppendFrame(nil, true, 0x0, []byte(msg[1000:]))...)
	tests := []struct {
		name  string
		wire  []byte
		cut   int
		recv  string // "Recv", "RecvAppend", "NextReader"
		viaSD bool   // SetReadDeadline instead of SetTimeout
	}{
		{"inside the header", whole, 1, "Recv", false},
		{"inside the payload", whole, len(whole) / 2, "Recv", false},
		{"between fragments", frag, len(frag) - len(msg) + 1000 - 4, "Recv", false},
		{"inside the second fragment", frag, len(frag) - 500, "Recv", true},
		{"RecvAppend inside the payload", whole, len(whole) - 7, "RecvAppend", false},
		{"RecvAppend between fragments", frag, 1000 + 4, "RecvAppend", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, sc := pipeConn(t, nil)
			recv := func() (string, error) {
				switch tc.recv {
				case "RecvAppend":
					_, b, err := c.RecvAppend([]byte("prefix:"))
					if err == nil && !strings.HasPrefix(string(b), "prefix:") {
						t.Errorf("RecvAppend lost the caller's bytes: %.20q", b)
					}
					return strings.TrimPrefix(string(b), "prefix:"), err
				default:
					m, err := c.Recv()
					return m.Text(), err
				}
			}
			arm := func() {
				if tc.viaSD {
					c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				} else {
					c.SetTimeout(50 * time.Millisecond)
				}
			}
			sc.WriteRaw(tc.wire[:tc.cut])
			arm()
			if _, err := recv(); !isTimeout(err) {
				t.Fatalf("first Recv err = %v, want a timeout", err)
			}
			checkPrefix(t, func() error { _, err := recv(); return err }())
			if !c.Connected() {
				t.Fatal("Connected() = false after a read timeout")
			}
			if err := c.SendText("still here"); err != nil {
				t.Fatalf("Send after a read timeout: %v", err)
			}
			wantFrame(t, sc, 0x1, "still here")
			sc.WriteRaw(tc.wire[tc.cut:])
			c.SetTimeout(0)
			c.SetReadDeadline(time.Now().Add(testTimeout))
			got, err := recv()
			if err != nil || got != msg {
				t.Fatalf("Recv after the timeout = %d bytes, %v; want the whole %d-byte message", len(got), err, len(msg))
			}
		})
	}
	t.Run("NextReader", func(t *testing.T) {
		c, sc := pipeConn(t, nil)
		sc.WriteRaw(whole[:100])
		op, r, err := c.NextReader()
		if err != nil || op != websocket.OpText {
			t.Fatalf("NextReader = %v, %v", op, err)
		}
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		got, err := io.ReadAll(r)
		if !isTimeout(err) {
			t.Fatalf("ReadAll err = %v, want a timeout", err)
		}
		sc.WriteRaw(whole[100:])
		c.SetReadDeadline(time.Time{})
		rest, err := io.ReadAll(r)
		if err != nil || string(got)+string(rest) != msg {
			t.Fatalf("after the timeout got %d+%d bytes, %v", len(got), len(rest), err)
		}
	})
}

func TestWriteTimeoutCloses(t *testing.T) {
	c, _ := pipeConn(t, nil) // the server never reads
	c.SetTimeout(50 * time.Millisecond)
	big := make([]byte, 1<<20)
	var err error
	for range 1000 {
		if err = c.SendBinary(big); err != nil {
			break
		}
	}
	if !isTimeout(err) {
		t.Fatalf("Send err = %v, want a timeout", err)
	}
	checkPrefix(t, err)
	if c.Connected() {
		t.Error("Connected() = true after a write timeout")
	}
	if err := c.SendText("x"); err == nil {
		t.Error("Send after a write timeout succeeded")
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close after a write timeout = %v, want nil", err)
	}
}

func TestClose(t *testing.T) {
	t.Run("handshake", func(t *testing.T) {
		c, sc := pipeConn(t, nil)
		done := make(chan error, 1)
		go func() { done <- c.CloseWith(websocket.StatusGoingAway, "bye", testTimeout) }()
		f := readFrame(t, sc)
		if f.Opcode != 0x8 || !bytes.Equal(f.Payload, wstest.ClosePayload(1001, "bye")) {
			t.Fatalf("close frame %x", f.Payload)
		}
		sc.WriteFrame(true, 0x8, wstest.ClosePayload(1001, ""))
		if err := <-done; err != nil {
			t.Fatalf("CloseWith = %v", err)
		}
		if _, err := sc.ReadFrameWithin(testTimeout); err == nil {
			t.Error("client sent more after the close handshake")
		}
		if c.Connected() {
			t.Error("Connected() after Close")
		}
		if err := c.Close(); err != nil {
			t.Errorf("second Close = %v, want nil", err)
		}
		if err := c.SendText("x"); !errors.Is(err, websocket.ErrConnectionClosed) {
			t.Errorf("Send after Close = %v, want ErrConnectionClosed", err)
		}
		if _, err := c.Recv(); !errors.Is(err, websocket.ErrConnectionClosed) {
			t.Errorf("Recv after Close = %v, want ErrConnectionClosed", err)
		}
	})
	t.Run("server never answers", func(t *testing.T) {
		c, sc := pipeConn(t, nil)
		start := time.Now()
		if err := c.CloseWith(websocket.StatusNormal, "", 100*time.Millisecond); err != nil {
			t.Fatalf("CloseWith = %v, want nil after sending", err)
		}
		if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
			t.Errorf("CloseWith returned after %v, want about the 100ms timeout", d)
		}
		wantFrame(t, sc, 0x8, string(wstest.ClosePayload(1000, "")))
	})
	t.Run("while another goroutine reads", func(t *testing.T) {
		c, sc := pipeConn(t, nil)
		recvErr := make(chan error, 1)
		go func() { _, err := c.Recv(); recvErr <- err }()
		closed := make(chan error, 1)
		go func() { closed <- c.CloseWith(websocket.StatusNormal, "", testTimeout) }()
		wantFrame(t, sc, 0x8, string(wstest.ClosePayload(1000, "")))
		sc.WriteFrame(true, 0x8, wstest.ClosePayload(1000, ""))
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		var ce *websocket.CloseError
		if err := <-recvErr; !errors.As(err, &ce) || ce.Code != 1000 {
			t.Errorf("reader got %v, want *CloseError 1000", err)
		}
	})
	t.Run("invalid codes leave the Conn open", func(t *testing.T) {
		c, sc := pipeConn(t, nil)
		for _, code := range []websocket.StatusCode{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535} {
			if err := c.CloseWith(code, "", time.Second); err == nil {
				t.Errorf("CloseWith(%d) = nil, want an error", code)
			} else {
				checkPrefix(t, err)
			}
			if err := c.SendClose(code, ""); err == nil {
				t.Errorf("SendClose(%d) = nil, want an error", code)
			}
		}
		if err := c.CloseWith(1000, strings.Repeat("r", 124), time.Second); err == nil {
			t.Error("CloseWith accepted a 124-byte reason")
		}
		if err := c.CloseWith(1000, "\xff", time.Second); err == nil {
			t.Error("CloseWith accepted a reason that is not UTF-8")
		}
		if !c.Connected() {
			t.Fatal("Connected() = false after refused CloseWith calls")
		}
		if err := c.SendText("open"); err != nil {
			t.Fatal(err)
		}
		wantFrame(t, sc, 0x1, "open") // no close frame went out before it
	})
	t.Run("reason of 123 bytes", func(t *testing.T) {
		// The most a close frame's 125 bytes leave after the code.
		c, sc := pipeConn(t, nil)
		reason := strings.Repeat("r", 123)
		if err := c.SendClose(4000, reason); err != nil {
			t.Fatalf("SendClose with a 123-byte reason = %v", err)
		}
		wantFrame(t, sc, 0x8, string(wstest.ClosePayload(4000, reason)))
	})
	t.Run("SendClose", func(t *testing.T) {
		c, sc := pipeConn(t, nil)
		if err := c.SendClose(4000, "app"); err != nil {
			t.Fatal(err)
		}
		wantFrame(t, sc, 0x8, string(wstest.ClosePayload(4000, "app")))
		if !c.Connected() {
			t.Error("SendClose closed the Conn; it sends the frame only")
		}
		sc.WriteFrame(true, 0x8, wstest.ClosePayload(4000, "ok"))
		var ce *websocket.CloseError
		if _, err := c.Recv(); !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "ok" {
			t.Fatalf("Recv = %v, want *CloseError 4000 ok", err)
		}
		if !errors.Is(ce, websocket.ErrConnectionClosed) {
			t.Error("*CloseError does not match ErrConnectionClosed")
		}
		if _, err := sc.ReadFrameWithin(testTimeout); err == nil {
			t.Error("client answered a close after already sending its own")
		}
	})
	t.Run("Abort unblocks a blocked Recv and Send", func(t *testing.T) {
		c, _ := pipeConn(t, nil)
		recvErr := make(chan error, 1)
		go func() { _, err := c.Recv(); recvErr <- err }()
		sendErr := make(chan error, 1)
		go func() {
			big := make([]byte, 1<<20)
			for {
				if err := c.SendBinary(big); err != nil {
					sendErr <- err
					return
				}
			}
		}()
		c.Abort()
		for _, ch := range []chan error{recvErr, sendErr} {
			select {
			case err := <-ch:
				if !errors.Is(err, websocket.ErrConnectionClosed) {
					t.Errorf("after Abort: %v, want ErrConnectionClosed", err)
				}
			case <-time.After(testTimeout):
				t.Fatal("Abort did not unblock")
			}
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close after Abort = %v", err)
		}
	})
	t.Run("Shutdown", func(t *testing.T) {
		c, sc := pipeConn(t, nil)
		if err := c.Shutdown(); err != nil {
			t.Fatal(err)
		}
		if f, err := sc.ReadFrameWithin(testTimeout); err == nil {
			t.Fatalf("Shutdown sent opcode %d", f.Opcode)
		} else if isTimeout(err) {
			t.Fatal("Shutdown did not close the socket")
		}
		if err := c.Shutdown(); err != nil {
			t.Errorf("second Shutdown = %v", err)
		}
		if _, err := c.Recv(); !errors.Is(err, websocket.ErrConnectionClosed) {
			t.Errorf("Recv after Shutdown = %v", err)
		}
	})
}

// TestCloseWaitsForAnotherReader: while another goroutine is in Recv,
// Close cannot read the peer's close frame itself; it waits until that
// reader has seen it. In a synctest bubble the reader is known to be
// blocked before Close starts, and the peer's one second is exact.
func TestCloseWaitsForAnotherReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := &pipeServer{handle: func(_ int, sc *wstest.Conn) {
			if f, err := sc.ReadFrame(); err != nil || f.Opcode != 0x8 {
				t.Errorf("server read %v, %v; want the close frame", f, err)
				return
			}
			time.Sleep(time.Second)
			sc.WriteFrame(true, 0x8, wstest.ClosePayload(1000, ""))
		}}
		c, err := websocket.Dial(context.Background(), "ws://pipe.test/", &websocket.DialOptions{NetDialContext: ps.dial})
		if err != nil {
			t.Fatal(err)
		}
		recvErr := make(chan error, 1)
		go func() { _, err := c.Recv(); recvErr <- err }()
		synctest.Wait() // the reader holds the read side, blocked in its read
		start := time.Now()
		if err := c.CloseWith(websocket.StatusNormal, "", 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("CloseWith returned after %v, want the peer's 1s", d)
		}
		var ce *websocket.CloseError
		if err := <-recvErr; !errors.As(err, &ce) || ce.Code != 1000 {
			t.Errorf("reader got %v, want *CloseError 1000", err)
		}
		if c.Connected() {
			t.Error("Connected() after the close handshake")
		}
	})
}

func TestRecvDataControlFrames(t *testing.T) {
	c, sc := pipeConn(t, nil)
	sc.WriteRaw(bytes.Join([][]byte{
		wstest.AppendFrame(nil, true, 0x9, []byte("p")),
		wstest.AppendFrame(nil, true, 0xA, []byte("q")),
		wstest.AppendFrame(nil, false, 0x1, []byte("he")),
		wstest.AppendFrame(nil, true, 0x9, []byte("mid")),
		wstest.AppendFrame(nil, true, 0x0, []byte("llo")),
		wstest.AppendFrame(nil, true, 0x8, wstest.ClosePayload(1001, "bye")),
	}, nil))
	steps := []struct {
		op   websocket.Opcode
		data string
	}{
		{websocket.OpPing, "p"}, {websocket.OpPong, "q"}, {websocket.OpPing, "mid"}, {websocket.OpText, "hello"},
		{websocket.OpClose, string(wstest.ClosePayload(1001, "bye"))},
	}
	for _, s := range steps {
		op, data, err := c.RecvData(true)
		if err != nil || op != s.op || string(data) != s.data {
			t.Fatalf("RecvData(true) = %v %q %v, want %v %q", op, data, err, s.op, s.data)
		}
	}
	var ce *websocket.CloseError
	if _, _, err := c.RecvData(true); !errors.As(err, &ce) || ce.Code != 1001 || ce.Reason != "bye" {
		t.Fatalf("RecvData after the close frame = %v, want *CloseError 1001 bye", err)
	}
	// The replies went out all the same.
	wantFrame(t, sc, 0xA, "p")
	wantFrame(t, sc, 0xA, "mid")
	wantFrame(t, sc, 0x8, string(wstest.ClosePayload(1001, "")))
}

func TestRecvEmptyClose(t *testing.T) {
	c, sc := pipeConn(t, nil)
	sc.WriteFrame(true, 0x8, nil)
	var ce *websocket.CloseError
	if _, err := c.Recv(); !errors.As(err, &ce) || ce.Code != websocket.StatusNoStatusReceived {
		t.Fatalf("Recv = %v, want *CloseError 1005", err)
	}
	wantFrame(t, sc, 0x8, "")
}

func TestFireContFrame(t *testing.T) {
	c, sc := pipeConn(t, &websocket.DialOptions{FireContFrame: true})
	sc.WriteRaw(bytes.Join([][]byte{
		wstest.AppendFrame(nil, false, 0x1, []byte("ab\xce")),
		wstest.AppendFrame(nil, true, 0x9, []byte("x")),
		wstest.AppendFrame(nil, false, 0x0, []byte("\xbacd")),
		wstest.AppendFrame(nil, true, 0x0, []byte("ef")),
		wstest.AppendFrame(nil, true, 0x2, []byte{1, 2}),
		wstest.AppendFrame(nil, true, 0x1, nil),
	}, nil))
	steps := []struct {
		op   websocket.Opcode
		fin  bool
		data string
	}{
		{websocket.OpText, false, "ab\xce"}, {websocket.OpContinuation, false, "\xbacd"}, {websocket.OpContinuation, true, "ef"},
		{websocket.OpBinary, true, "\x01\x02"}, {websocket.OpText, true, ""},
	}
	for i, s := range steps {
		var op websocket.Opcode
		var f *websocket.Frame
		var err error
		if i%2 == 0 {
			var data []byte
			op, data, err = c.RecvData(false)
			f = &websocket.Frame{Fin: s.fin, Payload: data}
		} else {
			op, f, err = c.RecvDataFrame(false)
		}
		if err != nil || op != s.op || f.Fin != s.fin || string(f.Payload) != s.data {
			t.Fatalf("step %d: %v fin %t %q %v; want %v fin %t %q", i, op, f != nil && f.Fin, f.Payload, err, s.op, s.fin, s.data)
		}
	}
	wantFrame(t, sc, 0xA, "x")
	// UTF-8 is still checked across fragments.
	sc.WriteRaw(append(wstest.AppendFrame(nil, false, 0x1, []byte("ok")), wstest.AppendFrame(nil, true, 0x0, []byte{0xc0, 0x80})...))
	if _, _, err := c.RecvData(false); err != nil {
		t.Fatal(err)
	}
	var pe *websocket.PayloadError
	if _, _, err := c.RecvData(false); !errors.As(err, &pe) {
		t.Fatalf("invalid UTF-8 fragment: err = %v, want *PayloadError", err)
	}
	wantFrame(t, sc, 0x8, string(wstest.ClosePayload(1007, "")))
}

func TestRecvFrame(t *testing.T) {
	c, sc := pipeConn(t, nil)
	sc.WriteRaw(bytes.Join([][]byte{
		wstest.AppendFrame(nil, true, 0x9, []byte("raw")),
		wstest.AppendFrame(nil, false, 0x2, []byte{1}),
		wstest.AppendFrame(nil, true, 0x0, []byte{2}),
	}, nil))
	want := []websocket.Frame{
		{Fin: true, Opcode: websocket.OpPing, Payload: []byte("raw")},
		{Fin: false, Opcode: websocket.OpBinary, Payload: []byte{1}},
		{Fin: true, Opcode: websocket.OpContinuation, Payload: []byte{2}},
	}
	for _, w := range want {
		f, err := c.RecvFrame()
		if err != nil || f.Fin != w.Fin || f.Opcode != w.Opcode || !bytes.Equal(f.Payload, w.Payload) {
			t.Fatalf("RecvFrame = %v, %v; want %v", f, err, &w)
		}
	}
	// RecvFrame does not answer pings: the next thing the server sees is ours.
	c.SendText("mine")
	wantFrame(t, sc, 0x1, "mine")
	// A masked server frame is a protocol error (RFC 6455 §5.1).
	sc.WriteRaw(wstest.AppendMaskedFrame(nil, true, 0x1, [4]byte{1, 2, 3, 4}, []byte("masked")))
	var pe *websocket.ProtocolError
	if _, err := c.RecvFrame(); !errors.As(err, &pe) {
		t.Fatalf("masked frame: err = %v, want *ProtocolError", err)
	}
	wantFrame(t, sc, 0x8, string(wstest.ClosePayload(1002, "")))
}

// TestRecvFrameClose: RecvFrame returns the server's close frame as it
// is (the caller answers it, maybe after the message it is sending, as
// RFC 6455 allows), counts its code and reports *CloseError at the next
// call, and
// refuses a close frame whose payload breaks the rules (one byte, a code
// that may not be sent, a reason that is not UTF-8) with a *ProtocolError
// and close 1002.
func TestRecvFrameClose(t *testing.T) {
	c, sc := pipeConn(t, &websocket.DialOptions{Timeout: testTimeout})
	sc.WriteRaw(wstest.AppendFrame(nil, true, 0x8, wstest.ClosePayload(4001, "bye")))
	f, err := c.RecvFrame()
	if err != nil || f.Opcode != websocket.OpClose || !bytes.Equal(f.Payload, wstest.ClosePayload(4001, "bye")) {
		t.Fatalf("RecvFrame = %v, %v; want the close frame", f, err)
	}
	if got := c.Stats().LastCloseCode; got != 4001 {
		t.Errorf("Stats().LastCloseCode = %v after RecvFrame's close, want 4001", got)
	}
	var ce *websocket.CloseError
	if _, err := c.RecvFrame(); !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != "bye" {
		t.Errorf("RecvFrame after the close = %v, want *CloseError 4001 bye", err)
	}
	for _, bad := range [][]byte{{0x03}, wstest.ClosePayload(1005, ""), wstest.ClosePayload(999, ""), append(wstest.ClosePayload(1000, ""), 0xff)} {
		c, sc := pipeConn(t, nil)
		sc.WriteRaw(wstest.AppendFrame(nil, true, 0x8, bad))
		var pe *websocket.ProtocolError
		if _, err := c.RecvFrame(); !errors.As(err, &pe) {
			t.Errorf("close payload %x: RecvFrame = %v, want *ProtocolError", bad, err)
			continue
		}
		wantFrame(t, sc, 0x8, string(wstest.ClosePayload(1002, "")))
	}
}

func TestMessagesIterator(t *testing.T) {
	c, sc := pipeConn(t, nil)
	for _, m := range []string{"one", "two", "three"} {
		sc.WriteFrame(true, 0x1, []byte(m))
	}
	sc.WriteFrame(true, 0x8, wstest.ClosePayload(1000, ""))
	var got []string
	var last error
	for msg, err := range c.Messages() {
		if err != nil {
			last = err
			continue
		}
		got = append(got, msg.Text())
	}
	var ce *websocket.CloseError
	if strings.Join(got, ",") != "one,two,three" || !errors.As(last, &ce) {
		t.Fatalf("Messages gave %q then %v", got, last)
	}
	// Breaking out early leaves the Conn usable.
	c2, sc2 := pipeConn(t, nil)
	sc2.WriteFrame(true, 0x2, []byte{1})
	sc2.WriteFrame(true, 0x2, []byte{2})
	for msg, err := range c2.Messages() {
		if err != nil || msg.Data[0] != 1 {
			t.Fatalf("%v %v", msg, err)
		}
		break
	}
	if m, err := c2.Recv(); err != nil || m.Data[0] != 2 {
		t.Fatalf("Recv after break = %v %v", m, err)
	}
}

func TestSkipUTF8Validation(t *testing.T) {
	c, sc := pipeConn(t, &websocket.DialOptions{SkipUTF8Validation: true})
	sc.WriteFrame(true, 0x1, []byte{0xff, 0xfe})
	if m, err := c.Recv(); err != nil || !bytes.Equal(m.Data, []byte{0xff, 0xfe}) {
		t.Fatalf("Recv = %x %v", m.Data, err)
	}
}

func TestReadLimit(t *testing.T) {
	tests := []struct {
		name  string
		limit int64
		wire  []byte
		msg   string // in the error
	}{
		// Only headers are sent: the 1009 must come before any payload.
		{"one frame", 100, wstest.AppendHeader(nil, true, 0, 0x2, false, [4]byte{}, 101),
			"message of 0 + 101 bytes exceeds the read limit of 100"},
		{"fragments add up", 100, append(wstest.AppendFrame(nil, false, 0x1, bytes.Repeat([]byte{'a'}, 60)),
			wstest.AppendHeader(nil, true, 0, 0x0, false, [4]byte{}, 41)...),
			"message of 60 + 41 bytes exceeds the read limit of 100"},
		{"default 64 MiB", 0, wstest.AppendHeader(nil, true, 0, 0x2, false, [4]byte{}, 64<<20+1),
			"message of 0 + 67108865 bytes exceeds the read limit of 67108864"},
		{"2^62 bytes", 0, wstest.AppendHeader(nil, true, 0, 0x2, false, [4]byte{}, 1<<62),
			"message of 0 + 4611686018427387904 bytes exceeds the read limit of 67108864"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, sc := pipeConn(t, &websocket.DialOptions{ReadLimit: tc.limit})
			sc.WriteRaw(tc.wire)
			_, err := c.Recv()
			if err == nil {
				t.Fatal("Recv succeeded")
			}
			checkPrefix(t, err)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Recv = %v, want it to say %q", err, tc.msg)
			}
			wantFrame(t, sc, 0x8, string(wstest.ClosePayload(1009, "")))
		})
	}
	t.Run("at the limit", func(t *testing.T) {
		c, sc := pipeConn(t, &websocket.DialOptions{ReadLimit: 100, Timeout: testTimeout})
		// One frame read whole from the buffer; one whose payload
		// comes after its header; fragments that add up to the limit.
		sc.WriteFrame(true, 0x2, make([]byte, 100))
		if m, err := c.Recv(); err != nil || len(m.Data) != 100 {
			t.Fatalf("Recv = %d bytes, %v", len(m.Data), err)
		}
		go func() {
			sc.WriteRaw(wstest.AppendHeader(nil, true, 0, 0x2, false, [4]byte{}, 100))
			sc.WriteRaw(make([]byte, 100))
			sc.WriteRaw(append(wstest.AppendFrame(nil, false, 0x2, make([]byte, 60)),
				wstest.AppendFrame(nil, true, 0x0, make([]byte, 40))...))
		}()
		for _, what := range []string{"payload after the header", "fragments"} {
			if m, err := c.Recv(); err != nil || len(m.Data) != 100 {
				t.Fatalf("%s: Recv = %d bytes, %v", what, len(m.Data), err)
			}
		}
	})
	t.Run("each message on its own", func(t *testing.T) {
		// Two messages of 100 bytes in fragments: the first frame of
		// the second is measured against the limit alone, not what is
		// left of it after the first message.
		c, sc := pipeConn(t, &websocket.DialOptions{ReadLimit: 100, Timeout: testTimeout})
		wire := limitMessages(2)
		go sc.WriteRaw(wire)
		for i := range 2 {
			if m, err := c.Recv(); err != nil || len(m.Data) != 100 {
				t.Fatalf("message %d: Recv = %d bytes, %v", i, len(m.Data), err)
			}
		}
	})
	t.Run("negative is unlimited", func(t *testing.T) {
		c, sc := pipeConn(t, &websocket.DialOptions{ReadLimit: -1})
		sc.WriteRaw(wstest.AppendHeader(nil, true, 0, 0x2, false, [4]byte{}, 100<<20))
		sc.WriteRaw(make([]byte, 1000))
		sc.NC.Close() // ends mid-payload: the limit did not apply
		_, err := c.Recv()
		var pe *websocket.PayloadError
		if err == nil || errors.As(err, &pe) || !errors.Is(err, websocket.ErrConnectionClosed) {
			t.Fatalf("Recv = %v, want the connection-closed error of a truncated frame", err)
		}
	})
}

// limitMessages returns n binary messages of 100 bytes, each in two
// fragments (60 and 40 bytes): fragments are always read through the
// general path, which checks the read limit frame by frame.
func limitMessages(n int) []byte {
	var wire []byte
	for range n {
		wire = wstest.AppendFrame(wire, false, 0x2, make([]byte, 60))
		wire = wstest.AppendFrame(wire, true, 0x0, make([]byte, 40))
	}
	return wire
}

func TestMaskKeys(t *testing.T) {
	fixed := [4]byte{0xde, 0xad, 0xbe, 0xef}
	c, sc := pipeConn(t, &websocket.DialOptions{MaskKeyFunc: func() [4]byte { return fixed }})
	c.SendText("masked")
	f, key, err := sc.ReadFrameWithKey()
	if err != nil || key != fixed || string(f.Payload) != "masked" {
		t.Fatalf("key %x payload %q %v, want key %x", key, f.Payload, err, fixed)
	}
	other := [4]byte{1, 2, 3, 4}
	c.SetMaskKeyFunc(func() [4]byte { return other })
	c.Ping([]byte("p"))
	if _, key, _ = sc.ReadFrameWithKey(); key != other {
		t.Fatalf("after SetMaskKeyFunc key %x, want %x", key, other)
	}
	c.SetMaskKeyFunc(nil)
	seen := map[[4]byte]bool{}
	for i := range 20 {
		c.SendBinary([]byte{byte(i)})
		f, key, err := sc.ReadFrameWithKey()
		if err != nil || f.Payload[0] != byte(i) {
			t.Fatal(err)
		}
		seen[key] = true
	}
	if len(seen) < 19 {
		t.Errorf("default keys repeat: %d distinct of 20", len(seen))
	}
}

func TestSendValidation(t *testing.T) {
	c, sc := pipeConn(t, nil)
	var pe *websocket.PayloadError
	if err := c.SendText("ok\xff"); !errors.As(err, &pe) {
		t.Errorf("SendText(invalid UTF-8) = %v, want *PayloadError", err)
	}
	for _, err := range []error{
		c.Ping(make([]byte, 126)),
		c.Pong(make([]byte, 126)),
		c.Send([]byte("x"), websocket.OpContinuation),
		c.Send([]byte("x"), websocket.Opcode(3)),
	} {
		if err == nil {
			t.Error("an invalid send succeeded")
		} else {
			checkPrefix(t, err)
		}
	}
	if err := c.Ping(make([]byte, 125)); err != nil {
		t.Fatal(err)
	}
	wantFrame(t, sc, 0x9, string(make([]byte, 125)))
	if err := c.SendFrame(websocket.NewFrame([]byte("raw"), websocket.OpText, true)); err != nil {
		t.Fatal(err)
	}
	wantFrame(t, sc, 0x1, "raw")
}

func TestAccessors(t *testing.T) {
	c, _ := pipeConnHeader(t, &websocket.DialOptions{Timeout: 7 * time.Second}, http.Header{"X-Server": {"wstest"}})
	if c.Status() != 101 || c.Header().Get("X-Server") != "wstest" || c.Subprotocol() != "" || c.IsSSL() {
		t.Errorf("Status %d Header %v Subprotocol %q IsSSL %t", c.Status(), c.Header(), c.Subprotocol(), c.IsSSL())
	}
	if _, ok := c.NetConn().(*net.TCPConn); !ok {
		t.Errorf("NetConn() is %T, want *net.TCPConn", c.NetConn())
	}
	if c.Timeout() != 7*time.Second {
		t.Errorf("Timeout() = %v, want DialOptions.Timeout", c.Timeout())
	}
	c.SetTimeout(time.Second)
	if c.Timeout() != time.Second || !c.Connected() {
		t.Errorf("Timeout() = %v, Connected() = %t", c.Timeout(), c.Connected())
	}
}

func TestTraceRedaction(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	h := slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: websocket.LevelTrace})
	websocket.EnableTrace(true, h)
	defer websocket.EnableTrace(false, slog.DiscardHandler)
	if !websocket.IsEnabledForTrace() || !websocket.IsEnabledForDebug() || !websocket.IsEnabledForError() {
		t.Error("IsEnabledFor* = false with a LevelTrace handler")
	}
	s, _ := scriptServer(t, func(_ *http.Request, a string) string {
		return upgrade(a, "Set-Cookie: sid=SECRET-SETCOOKIE\r\n")
	})
	opts := dialOpts()
	opts.Header = http.Header{"Authorization": {"Bearer SECRET-AUTH"}, "X-Visible": {"shown"}}
	opts.Cookie = "c=SECRET-COOKIE"
	c, err := websocket.Dial(context.Background(), strings.Replace(s.URL, "ws://", "ws://user:SECRET-PASS@", 1), opts)
	if err != nil {
		t.Fatal(err)
	}
	c.SendText("traced payload")
	c.Recv()
	c.Close()
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	for _, want := range []string{"shown", "traced payload", "handshake"} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "SECRET") {
		t.Errorf("trace leaks a secret:\n%s", out)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// payloadReceivers are the receiving methods that hand the caller a
// payload of its own, each receiving one message.
var payloadReceivers = []struct {
	name string
	recv func(c *websocket.Conn) ([]byte, error)
}{
	{"Recv", func(c *websocket.Conn) ([]byte, error) {
		m, err := c.Recv()
		return m.Data, err
	}},
	{"RecvData", func(c *websocket.Conn) ([]byte, error) {
		_, p, err := c.RecvData(false)
		return p, err
	}},
	{"RecvDataFrame", func(c *websocket.Conn) ([]byte, error) {
		_, f, err := c.RecvDataFrame(false)
		if err != nil {
			return nil, err
		}
		return f.Payload, err
	}},
	{"Messages", func(c *websocket.Conn) ([]byte, error) {
		for m, err := range c.Messages() {
			return m.Data, err
		}
		return nil, nil
	}},
}
