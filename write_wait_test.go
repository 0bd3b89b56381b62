package websocket_test

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// until polls cond, yielding the CPU between looks, and fails the test
// if it is not true within testTimeout (a bound, not a timing).
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", testTimeout, what)
		}
		runtime.Gosched()
	}
}

// TestSendWaitingBehindNextWriterEndsWithConn: a data send waits while a
// NextWriter streams its message, but not past the Conn's end: Abort,
// Shutdown, CloseWith or the peer dropping the connection return it with
// an error matching ErrConnectionClosed, although the NextWriter is never
// closed.
func TestSendWaitingBehindNextWriterEndsWithConn(t *testing.T) {
	ends := map[string]func(c *websocket.Conn, sc *wstest.Conn){
		"Abort":     func(c *websocket.Conn, _ *wstest.Conn) { c.Abort() },
		"Shutdown":  func(c *websocket.Conn, _ *wstest.Conn) { c.Shutdown() },
		"CloseWith": func(c *websocket.Conn, _ *wstest.Conn) { c.CloseWith(websocket.StatusNormal, "", time.Millisecond) },
		"peer drops": func(c *websocket.Conn, sc *wstest.Conn) {
			sc.NC.Close()
			c.Recv() // the reader sees the end and closes the Conn
		},
	}
	for name, end := range ends {
		for _, send := range []string{"SendText", "SendFrame", "NextWriter"} {
			t.Run(name+"/"+send, func(t *testing.T) {
				c, sc := pipeConn(t, &websocket.DialOptions{Timeout: testTimeout})
				w, err := c.NextWriter(websocket.OpBinary)
				if err != nil {
					t.Fatal(err)
				}
				w.Write([]byte("first part"))
				done := make(chan error, 1)
				go func() {
					switch send {
					case "SendText":
						done <- c.SendText("waits")
					case "SendFrame":
						done <- c.SendFrame(websocket.NewFrame([]byte("waits"), websocket.OpText, true))
					default:
						_, err := c.NextWriter(websocket.OpText)
						done <- err
					}
				}()
				until(t, "the send waits for the message lock", func() bool { return websocket.MsgWaiters(c) == 1 })
				end(c, sc)
				select {
				case err := <-done:
					if !errors.Is(err, websocket.ErrConnectionClosed) {
						t.Fatalf("%s = %v, want an error matching ErrConnectionClosed", send, err)
					}
					checkPrefix(t, err)
				case <-time.After(testTimeout):
					t.Fatalf("%s still waits %v after the Conn ended", send, testTimeout)
				}
				w.Close()
			})
		}
	}
	t.Run("the NextWriter's Close lets it go", func(t *testing.T) {
		c, sc := pipeConn(t, &websocket.DialOptions{Timeout: testTimeout})
		w, _ := c.NextWriter(websocket.OpText)
		w.Write([]byte("one "))
		done := make(chan error, 1)
		go func() { done <- c.SendText("two") }()
		until(t, "the send waits", func() bool { return websocket.MsgWaiters(c) == 1 })
		w.Write([]byte("message"))
		w.Close()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"one message", "two"} {
			if op, p, err := sc.ReadMessage(); err != nil || op != 1 || string(p) != want {
				t.Fatalf("server read %v %q %v, want %q", op, p, err, want)
			}
		}
	})
}

// gatedConn is a net.Conn whose writes, once gated, each wait for a token
// on release after announcing themselves on entered.
type gatedConn struct {
	net.Conn
	gated   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (g *gatedConn) Write(b []byte) (int, error) {
	if g.gated.Load() {
		g.entered <- struct{}{}
		<-g.release
	}
	return g.Conn.Write(b)
}

// TestFlushNotStarvedByLaterSends: Flush waits for the frames queued when
// it is called, not for those sent after it. The socket is gated so that
// each batch of the write queue is written only when the test says, and a
// new frame is queued before every batch is let through: the writer never
// goes idle, and Flush must still return, once the write in flight and
// the batch queued at its call (and one more at most) are written.
func TestFlushNotStarvedByLaterSends(t *testing.T) {
	srv := wstest.New(func(c *wstest.Conn) {
		for {
			if _, err := c.ReadFrame(); err != nil {
				return
			}
		}
	})
	defer srv.Close()
	nc, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedConn{Conn: nc, entered: make(chan struct{}), release: make(chan struct{})}
	c, err := websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{NetConn: g, Timeout: testTimeout})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Abort()
	g.gated.Store(true)
	defer func() { // let every write through from now on
		g.gated.Store(false)
		close(g.release)
	}()
	go c.SendBinary(make([]byte, 1000)) // written directly: waits at the gate
	<-g.entered
	if err := c.SendBinary(make([]byte, 1000)); err != nil { // queued behind it
		t.Fatal(err)
	}
	flushed := make(chan error, 1)
	go func() { flushed <- c.Flush() }()
	until(t, "Flush waits", func() bool { return websocket.FlushWaiting(c) == 1 })
	// At Flush's call a frame was being written directly and one was
	// queued. Three rounds write them and one batch more, each with a
	// frame queued first, so that the writer never runs idle: the last
	// batch stays at the gate, and Flush must have returned.
	for range 3 {
		if err := c.SendBinary(make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		g.release <- struct{}{} // the write in flight ends
		<-g.entered             // the next batch reaches the gate
	}
	select {
	case err := <-flushed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testTimeout):
		t.Fatalf("Flush still waits %v after the frames queued at its call were written, while later sends keep the writer busy", testTimeout)
	}
}
