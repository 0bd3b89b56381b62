package websocket

// Promises of the stream, flush and close APIs that no test held (a
// mutation audit: each test fails with the code changed to break its
// promise).

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/wstest"
)

const pollTimeout = 15 * time.Second

// streamPipeConn dials a wstest pipe (an in-memory stream with a 256 KiB
// buffer each way) and returns both ends; the test plays the server.
func streamPipeConn(t *testing.T) (*Conn, *wstest.Conn) {
	t.Helper()
	p := wstest.NewPipe(nil)
	t.Cleanup(p.Close)
	c, err := Dial(context.Background(), p.URL, &DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Abort)
	sc, err := p.Next(pollTimeout)
	if err != nil {
		t.Fatal(err)
	}
	return c, sc
}

// pollUntil polls cond, yielding between looks, for at most pollTimeout.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(pollTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", pollTimeout, what)
		}
		runtime.Gosched()
	}
}

// PayloadError's doc: "a close reason given to CloseWith that is not
// UTF-8" is a *PayloadError (WebSocketPayloadException); nothing is sent.
func TestCloseReasonNotUTF8IsPayloadError(t *testing.T) {
	c, _ := streamPipeConn(t)
	var pe *PayloadError
	if err := c.CloseWith(StatusNormal, "bad \xff", time.Second); !errors.As(err, &pe) {
		t.Errorf("CloseWith with a reason that is not UTF-8 = %T %v, want *PayloadError", err, err)
	}
	if err := c.SendClose(StatusNormal, "bad \xff"); !errors.As(err, &pe) {
		t.Errorf("SendClose with a reason that is not UTF-8 = %T %v, want *PayloadError", err, err)
	}
	if !c.Connected() {
		t.Error("the refused close closed the Conn")
	}
}

// SendClose: "once one was sent, it sends nothing and returns nil, unless
// the connection is over (the socket closed, or both close frames
// exchanged): then it returns an error matching ErrConnectionClosed".
// RecvFrame returns the server's close frame and leaves the answer to the
// caller; once the caller answered with SendClose, both close frames are
// exchanged.
func TestSendCloseAfterBothCloseFramesExchanged(t *testing.T) {
	c, sc := streamPipeConn(t)
	go sc.WriteFrame(true, 0x8, []byte{0x03, 0xe8})
	f, err := c.RecvFrame()
	if err != nil || f.Opcode != OpClose {
		t.Fatalf("RecvFrame = %v, %v; want the close frame", f, err)
	}
	if err := c.SendClose(StatusNormal, ""); err != nil {
		t.Fatalf("SendClose answering the server's close = %v", err)
	}
	got, err := sc.ReadFrame()
	if err != nil || got.Opcode != 0x8 {
		t.Fatalf("server read %v, %v; want our close frame", got, err)
	}
	if err := c.SendClose(StatusNormal, ""); !errors.Is(err, ErrConnectionClosed) {
		t.Errorf("SendClose once both close frames were exchanged = %v, want ErrConnectionClosed", err)
	}
}

// Flush: "on a Conn already closed, an error matching ErrConnectionClosed,
// also when everything was written before the close".
func TestFlushOnClosedConn(t *testing.T) {
	for name, end := range map[string]func(c *Conn){
		"Abort":    func(c *Conn) { c.Abort() },
		"Shutdown": func(c *Conn) { c.Shutdown() },
	} {
		t.Run(name, func(t *testing.T) {
			c, sc := streamPipeConn(t)
			if err := c.SendText("written"); err != nil {
				t.Fatal(err)
			}
			if _, err := sc.ReadFrame(); err != nil {
				t.Fatal(err)
			}
			if err := c.Flush(); err != nil {
				t.Fatalf("Flush on an open Conn = %v", err)
			}
			end(c)
			if err := c.Flush(); !errors.Is(err, ErrConnectionClosed) {
				t.Errorf("Flush on a closed Conn = %v, want ErrConnectionClosed", err)
			}
		})
	}
}

// Flush "waits until every frame queued by earlier sends has been written
// to the socket", also when the flusher took their batch before any
// goroutine waited to write (the Conn counted no batch yet).
func TestFlushWaitsForABatchTakenBeforeItWaited(t *testing.T) {
	// net.Pipe: a write returns only once the peer read all of it.
	cn, sn := net.Pipe()
	t.Cleanup(func() { cn.Close(); sn.Close() })
	upgraded := make(chan *wstest.Conn, 1)
	go func() {
		sc, err := wstest.Upgrade(sn, nil, nil)
		if err != nil {
			sn.Close()
		}
		upgraded <- sc
	}()
	c, err := Dial(context.Background(), "ws://pipe.test/", &DialOptions{NetConn: cn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Abort)
	sc := <-upgraded
	if sc == nil {
		t.Fatal("handshake failed")
	}
	big := bytes.Repeat([]byte("a"), 300<<10) // written directly: larger than a queued frame
	small := bytes.Repeat([]byte("b"), 1000)
	bigDone := make(chan error, 1)
	go func() { bigDone <- c.SendBinary(big) }()
	pollUntil(t, "the big send in flight", func() bool {
		c.writeMu.Lock()
		defer c.writeMu.Unlock()
		return c.writing
	})
	// Behind the write in flight the small send is queued, and returns.
	if err := c.SendBinary(small); err != nil {
		t.Fatal(err)
	}
	c.writeMu.Lock()
	queued := c.wq != nil
	c.writeMu.Unlock()
	if !queued {
		t.Fatal("the small send was not queued behind the big one")
	}
	if f, err := sc.ReadFrame(); err != nil || len(f.Payload) != len(big) {
		t.Fatalf("server read %v; want the big message", err)
	}
	if err := <-bigDone; err != nil {
		t.Fatal(err)
	}
	// The flusher took the small frame's batch (before anything waited
	// to write) and its write waits for the server to read.
	pollUntil(t, "the flusher took the batch", func() bool {
		c.writeMu.Lock()
		defer c.writeMu.Unlock()
		return c.wq == nil && c.writing
	})
	flushed := make(chan error, 1)
	go func() { flushed <- c.Flush() }()
	select {
	case err := <-flushed:
		t.Fatalf("Flush returned (%v) before the queued frame was written", err)
	case <-time.After(200 * time.Millisecond):
	}
	if f, err := sc.ReadFrame(); err != nil || !bytes.Equal(f.Payload, small) {
		t.Fatalf("server read %v; want the small message", err)
	}
	select {
	case err := <-flushed:
		if err != nil {
			t.Fatalf("Flush = %v", err)
		}
	case <-time.After(pollTimeout):
		t.Fatal("Flush did not return once everything was written")
	}
}

// lockMsg: "a sender waiting behind one must not outlive the Conn: when
// the Conn closes (Abort, ...), lockMsg returns the error a send gets then
// rather than waiting for the NextWriter's Close" — every such sender,
// not only one.
func TestAbortReleasesEverySenderBehindNextWriter(t *testing.T) {
	c, _ := streamPipeConn(t)
	w, err := c.NextWriter(OpBinary)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("part"))
	const senders = 3
	done := make(chan error, senders)
	for range senders {
		go func() { done <- c.SendText("waits") }()
	}
	pollUntil(t, "every sender waiting behind the NextWriter", func() bool {
		ww := c.writeWaits()
		if ww == nil {
			return false
		}
		ww.msgWakeMu.Lock()
		defer ww.msgWakeMu.Unlock()
		return ww.msgWaiters == senders
	})
	c.Abort()
	timeout := time.After(pollTimeout)
	for i := range senders {
		select {
		case err := <-done:
			if !errors.Is(err, ErrConnectionClosed) {
				t.Errorf("sender %d = %v, want ErrConnectionClosed", i, err)
			}
		case <-timeout:
			t.Fatalf("%d of %d senders still wait behind the NextWriter after Abort", senders-i, senders)
		}
	}
}

// NextWriter sends "one message of type op (OpText or OpBinary)": another
// opcode is refused with a *ProtocolError, and nothing is sent.
func TestNextWriterRefusesOtherOpcodes(t *testing.T) {
	c, sc := streamPipeConn(t)
	for _, op := range []Opcode{OpContinuation, OpClose, Opcode(3), Opcode(0xB)} {
		w, err := c.NextWriter(op)
		var pe *ProtocolError
		if !errors.As(err, &pe) || w != nil {
			t.Errorf("NextWriter(%v) = %v, %v; want a *ProtocolError", op, w, err)
			if w != nil {
				w.Close()
			}
		}
	}
	if err := c.SendText("after"); err != nil {
		t.Fatal(err)
	}
	f, err := sc.ReadFrame()
	if err != nil || f.Opcode != 0x1 || string(f.Payload) != "after" {
		t.Fatalf("server read %v %q, %v; want only the text message", f.Opcode, f.Payload, err)
	}
}

// A NextWriter's Close "sends the final fragment and lets other messages
// go": a second Close sends nothing more and lets nothing go twice.
func TestNextWriterCloseTwice(t *testing.T) {
	c, sc := streamPipeConn(t)
	w, err := c.NextWriter(OpText)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("once"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if err := c.SendText("next"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"once", "next"} {
		f, err := sc.ReadFrame()
		if err != nil || !f.Fin || f.Opcode != 0x1 || string(f.Payload) != want {
			t.Fatalf("server read fin=%t %v %q, %v; want the text %q", f.Fin, f.Opcode, f.Payload, err, want)
		}
	}
}

// NextReader's reader is an io.Reader: a Read with an empty buffer
// returns 0, nil at once, also while the rest of the message has not
// arrived (it must not wait for, or take, the message's next bytes).
func TestNextReaderEmptyRead(t *testing.T) {
	c, sc := streamPipeConn(t)
	if err := sc.WriteFrame(false, 0x2, []byte("ab")); err != nil {
		t.Fatal(err)
	}
	_, r, err := c.NextReader()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		n, err := r.Read(nil)
		if n != 0 || err != nil {
			err = errors.Join(errors.New("Read(nil) returned data or an error"), err)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(pollTimeout):
		t.Fatal("Read with an empty buffer waits for the rest of the message")
	}
	if err := sc.WriteFrame(true, 0x0, []byte("cd")); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "abcd" {
		t.Fatalf("ReadAll = %q, %v; want abcd", got, err)
	}
}
