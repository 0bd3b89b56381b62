package websocket_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestAppSendWaitsForASlowPeer: a server that reads slowly slows the App's
// sends on both paths: the send queue fills (App.Buffered), and every
// message arrives once the server reads. On the event loop the sends went
// into the loop's write queue as fast as they were made, Buffered stayed
// 0, and at 16 MiB queued the connection failed although its peer was
// alive and about to read.
func TestAppSendWaitsForASlowPeer(t *testing.T) {
	const (
		msgSize = 1 << 10
		total   = 24 << 20 // more than the loop's 16 MiB hard bound
		limit   = 64 << 10
		senders = 4
	)
	for _, onLoop := range []bool{false, true} {
		t.Run(fmt.Sprintf("loop=%v", onLoop), func(t *testing.T) {
			read := make(chan struct{})
			var got atomic.Int64
			srv := readingServer(read, &got)
			defer srv.Close()
			var failure atomic.Pointer[error]
			sent := make(chan error, senders)
			a := &websocket.App{URL: srv.URL}
			a.OnOpen = func(a *websocket.App) {
				// Several senders: one writes, the others queue behind it.
				for range senders {
					go func() {
						msg := make([]byte, msgSize)
						for range total / msgSize / senders {
							if err := a.SendBytes(msg); err != nil {
								sent <- err
								return
							}
						}
						sent <- nil
					}()
				}
				go func() {
					defer close(read)
					// The send queue fills while the server reads nothing,
					// and on the loop the socket's queue holds the send
					// mark (SendQueueBytes); then the server reads.
					c := a.Conn()
					full := func() bool {
						return a.Buffered() >= limit/2 && (!onLoop || websocket.LoopQueued(c) >= limit/2)
					}
					if !within(func() bool { return full() || failure.Load() != nil }) {
						t.Error("the send queue never filled")
						return
					}
					// The mark, two batches of the Conn's write queue
					// (64 KiB each at most: the one in flight when the
					// mark is crossed, and the next, queued by senders
					// that had looked before) and a message a sender.
					if q, most := websocket.LoopQueued(c), limit+2*64<<10+senders*(msgSize+14); q > most {
						t.Errorf("the loop holds %d bytes for the socket; want %d at most", q, most)
					}
				}()
			}
			a.OnError = func(_ *websocket.App, err error) { failure.CompareAndSwap(nil, &err) }
			go func() {
				for range senders {
					if err := <-sent; err != nil {
						t.Errorf("send = %v", err)
					}
				}
				a.Close()
			}()
			if err := runOn(t, onLoop, a, &websocket.RunOptions{Reconnect: -1, SendQueueBytes: limit}); err != nil {
				t.Errorf("run = %v", err)
			}
			if p := failure.Load(); p != nil {
				t.Errorf("failure %v", *p)
			}
			if n := got.Load(); n != total {
				t.Errorf("the server got %d bytes, want %d", n, total)
			}
		})
	}
}

// TestEventLoopQueuesOneLargeMessage: "one frame of any size is queued
// when less is waiting": a 20 MiB message to a server that reads nothing
// yet is queued whole, and arrives. The loop checked its 16 MiB bound at
// each piece of the frame, so the message's own later pieces failed it,
// with a timeout error, and the connection ended.
func TestEventLoopQueuesOneLargeMessage(t *testing.T) {
	const size = 20 << 20
	read := make(chan struct{})
	var got atomic.Int64
	srv := readingServer(read, &got)
	defer srv.Close()
	var failure atomic.Pointer[error]
	a := &websocket.App{URL: srv.URL}
	a.OnOpen = func(a *websocket.App) {
		go func() {
			if err := a.SendBytes(make([]byte, size)); err != nil {
				failure.CompareAndSwap(nil, &err)
			}
			close(read) // on the loop the send returns once the message is queued
			a.Close()
		}()
	}
	a.OnError = func(_ *websocket.App, err error) { failure.CompareAndSwap(nil, &err) }
	if err := runEngine(t, a, &websocket.RunOptions{Reconnect: -1}); err != nil {
		t.Errorf("run = %v", err)
	}
	if p := failure.Load(); p != nil {
		t.Errorf("failure %v", *p)
	}
	if n := got.Load(); n != size {
		t.Errorf("the server got %d bytes, want %d", n, size)
	}
}

// TestAppSendAfterATimeoutIsClosed: the App's send whose write timed out
// gets the timeout, and the next one an error that matches
// ErrConnectionClosed and not the timeout, on both paths (a retry loop on
// timeouts must stop). The App's send queue gave every later send the
// timeout, until the dispatcher, here held by a slow OnOpen, had ended the
// connection.
func TestAppSendAfterATimeoutIsClosed(t *testing.T) {
	for _, onLoop := range []bool{false, true} {
		t.Run(fmt.Sprintf("loop=%v", onLoop), func(t *testing.T) {
			quit := make(chan struct{})
			srv := wstest.New(func(*wstest.Conn) { <-quit }) // reads nothing
			defer srv.Close()
			defer close(quit)
			var first, next, failure error
			a := &websocket.App{URL: srv.URL}
			a.OnError = func(_ *websocket.App, err error) { failure = err }
			a.OnOpen = func(a *websocket.App) {
				// The timeout is set here: as DialOptions.Timeout it would
				// bound the dial too, which a busy machine can take
				// longer than 300 ms for.
				a.Conn().SetTimeout(300 * time.Millisecond)
				// The sends run while OnOpen holds the dispatcher.
				msg := make([]byte, 256<<10)
				done := make(chan struct{})
				go func() {
					defer close(done)
					for first == nil {
						first = a.SendBytes(msg)
					}
					next = a.SendBytes(msg)
				}()
				<-done
			}
			end := runOn(t, onLoop, a, &websocket.RunOptions{Reconnect: -1})
			if !errors.Is(first, os.ErrDeadlineExceeded) {
				t.Errorf("the send that timed out = %v, want a timeout", first)
			}
			// The App reports the end as the timeout it was.
			for _, err := range []error{failure, end} {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("the run's failure = %v, want the timeout", err)
				}
				wantNetTimeout(t, err)
			}
			if !errors.Is(next, websocket.ErrConnectionClosed) || errors.Is(next, os.ErrDeadlineExceeded) {
				t.Errorf("the next send = %v, want an error matching ErrConnectionClosed, not the timeout", next)
			}
		})
	}
}

// TestSendWaitEndsAtTheWriteDeadline: a write deadline set on the App's
// Conn ends a send stuck on a server that reads nothing, on both paths and
// over wss, as a blocked write's deadline does: set before the send, or
// moved to now while it waits (net.Conn's way to interrupt a write). The
// send gets a *net.OpError with the socket's addresses that matches
// os.ErrDeadlineExceeded. On the event loop a send waiting for the loop's
// queue to drain waited on: the wait saw only DialOptions.Timeout.
func TestSendWaitEndsAtTheWriteDeadline(t *testing.T) {
	ca := wstest.NewCA()
	for _, tt := range []struct {
		name          string
		onLoop, wss   bool
		moveWhenStuck bool
	}{
		{"goroutine", false, false, false},
		{"goroutine/moved", false, false, true},
		{"loop", true, false, false},
		{"loop/moved", true, false, true},
		{"loop/wss", true, true, false},
		{"loop/wss/moved", true, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			quit := make(chan struct{})
			handle := func(*wstest.Conn) { <-quit } // reads nothing
			var srv *wstest.Server
			opts := &websocket.RunOptions{}
			if tt.wss {
				srv = tlsServer(ca, tls.VersionTLS13, nil, nil, handle)
				opts = tlsRun(ca)
			} else {
				srv = wstest.New(handle)
			}
			defer srv.Close()
			defer close(quit)
			opts.Reconnect = -1
			var sendErr error
			var took time.Duration
			a := &websocket.App{URL: srv.URL}
			a.OnOpen = func(a *websocket.App) {
				c := a.Conn()
				if !tt.moveWhenStuck {
					c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
				}
				done := make(chan struct{})
				go func() {
					defer close(done)
					msg := make([]byte, 256<<10)
					for sendErr == nil {
						sendErr = a.SendBytes(msg)
					}
				}()
				start := time.Now()
				if tt.moveWhenStuck {
					// Stuck: the App's send queue holds what neither the
					// socket nor (on the loop) the loop's queue took.
					if !within(func() bool { return backedUp(a) }) {
						t.Error("the sends never queued")
					}
					start = time.Now()
					c.SetWriteDeadline(time.Now())
				}
				select {
				case <-done:
					took = time.Since(start)
				case <-time.After(10 * time.Second):
					t.Error("the send still waits 10 s after its write deadline")
					a.Conn().Abort()
					<-done
				}
			}
			runOn(t, tt.onLoop, a, opts)
			var oe *net.OpError
			if !errors.Is(sendErr, os.ErrDeadlineExceeded) || !errors.As(sendErr, &oe) || oe.Addr == nil {
				t.Errorf("the send = %v, want a *net.OpError with the peer's address matching os.ErrDeadlineExceeded", sendErr)
			}
			t.Logf("the send returned %v after %v", sendErr, took)
		})
	}
}

// TestBacklogResetIsReported: a server that resets the connection while
// the client's sends wait for it has the reset reported, with its cause,
// to OnError and by Run, on both paths. On the event loop the loop's write
// of its queue failed, closed the socket and recorded nothing: the end
// read as the bare ErrConnectionClosed of a close of our own.
func TestBacklogResetIsReported(t *testing.T) {
	for _, onLoop := range []bool{false, true} {
		t.Run(fmt.Sprintf("loop=%v", onLoop), func(t *testing.T) {
			reset := make(chan struct{})
			srv := wstest.New(func(c *wstest.Conn) {
				<-reset // reads nothing till then
				c.NC.(*net.TCPConn).SetLinger(0)
				c.NC.Close()
			})
			defer srv.Close()
			var reported []error // OnError's, on the dispatcher
			a := &websocket.App{URL: srv.URL}
			a.OnError = func(_ *websocket.App, err error) { reported = append(reported, err) }
			a.OnOpen = func(a *websocket.App) { sendUntilStuck(t, a, 64<<10, nil, func() { close(reset) }) }
			err := runOn(t, onLoop, a, &websocket.RunOptions{Reconnect: -1})
			bare := websocket.ErrConnectionClosed.Error()
			if len(reported) != 1 || reported[0].Error() == bare {
				t.Errorf("OnError got %q, want the reset's error", reported)
			}
			if err == nil || err.Error() == bare {
				t.Errorf("Run = %v, want the reset's error", err)
			}
			t.Logf("OnError: %v; Run: %v", reported, err)
		})
	}
}

// TestServerCloseBehindABacklogIsEchoed: a server that sends its close
// while the client's sends wait for it gets every message whose send
// returned nil, then the echo of its close, on both paths and over wss on
// the loop; the App's end is the server's close. On the event loop the
// end came at once and dropped what the loop had queued, the echo with it
// (the server read a message cut in two, then EOF).
func TestServerCloseBehindABacklogIsEchoed(t *testing.T) {
	ca := wstest.NewCA()
	for _, tt := range []struct {
		name        string
		onLoop, wss bool
	}{{"goroutine", false, false}, {"loop", true, false}, {"loop/wss", true, true}} {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			var got atomic.Int64
			echoed := make(chan bool, 1)
			handle := func(c *wstest.Conn) {
				<-release // reads nothing till then
				c.WriteFrame(true, 8, wstest.ClosePayload(1000, "bye"))
				echoed <- readToClose(c, &got) != nil
			}
			var srv *wstest.Server
			opts := &websocket.RunOptions{}
			if tt.wss {
				srv, opts = tlsServer(ca, tls.VersionTLS13, nil, nil, handle), tlsRun(ca)
			} else {
				srv = wstest.New(handle)
			}
			defer srv.Close()
			opts.Reconnect = -1
			var sent atomic.Int64
			var closes []websocket.StatusCode
			a := &websocket.App{URL: srv.URL}
			a.OnClose = func(_ *websocket.App, code websocket.StatusCode, _ string) { closes = append(closes, code) }
			const size = 4 << 10
			a.OnOpen = func(a *websocket.App) { sendUntilStuck(t, a, size, &sent, func() { close(release) }) }
			if err := runOn(t, tt.onLoop, a, opts); err != nil {
				t.Errorf("Run = %v, want nil (the server closed)", err)
			}
			if !<-echoed {
				t.Errorf("the server's close was not echoed; it read %d of the %d bytes sent", got.Load(), sent.Load()*size)
			} else if got.Load() != sent.Load()*size {
				t.Errorf("the server read %d bytes before the echo; sends of %d returned nil", got.Load(), sent.Load()*size)
			}
			if len(closes) != 1 || closes[0] != websocket.StatusNormal {
				t.Errorf("OnClose got %v, want [1000]", closes)
			}
		})
	}
}

// TestServerCloseBehindAStuckBacklog: a server that sends its close and
// then reads nothing gets the connection closed at the close timeout (3 s)
// on the event loop, as the goroutine path's echo gives up then; the App's
// end is still the server's close.
func TestServerCloseBehindAStuckBacklog(t *testing.T) {
	quit := make(chan struct{})
	closed := make(chan struct{})
	srv := wstest.New(func(c *wstest.Conn) {
		<-closed
		c.WriteFrame(true, 8, wstest.ClosePayload(1000, "bye"))
		<-quit // reads nothing
	})
	defer srv.Close()
	defer close(quit)
	var closes []websocket.StatusCode
	var sentClose time.Time
	a := &websocket.App{URL: srv.URL}
	a.OnClose = func(_ *websocket.App, code websocket.StatusCode, _ string) { closes = append(closes, code) }
	a.OnOpen = func(a *websocket.App) {
		sendUntilStuck(t, a, 4<<10, nil, func() {
			sentClose = time.Now()
			close(closed)
		})
	}
	if err := runOn(t, true, a, &websocket.RunOptions{Reconnect: -1}); err != nil {
		t.Errorf("Run = %v, want nil (the server closed)", err)
	}
	if took := time.Since(sentClose); took < 2*time.Second || took > 10*time.Second {
		t.Errorf("the run ended %v after the server's close, want the close timeout (3 s)", took)
	}
	if len(closes) != 1 || closes[0] != websocket.StatusNormal {
		t.Errorf("OnClose got %v, want [1000]", closes)
	}
}

// TestCloseAtOnceAfterALargeSendOnTheLoop: "timeout <= 0: closing it
// right after sending ours" closes the socket once our close frame is
// written, as off the loop, where a send returns once its bytes are in
// the socket: the server gets the whole message and then the close frame.
// On the event loop the close dropped what the loop held for the socket,
// the close frame with it (the server read a message cut short, then EOF).
// (Conn.CloseWith(…, 0) takes the same path with the 100 ms its doc gives
// the close frame, too short for 8 MiB under the race detector.)
func TestCloseAtOnceAfterALargeSendOnTheLoop(t *testing.T) {
	const size = 8 << 20
	for _, tt := range []struct {
		name  string
		close func(a *websocket.App)
	}{
		{"App.CloseWith(0)", func(a *websocket.App) { a.CloseWith(websocket.StatusNormal, "", 0) }},
		{"App.CloseWith(-1)", func(a *websocket.App) { a.CloseWith(websocket.StatusNormal, "", -1) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			read := make(chan struct{})
			var got atomic.Int64
			closed := make(chan bool, 1)
			srv := wstest.New(func(c *wstest.Conn) {
				<-read
				closed <- readToClose(c, &got) != nil
			})
			defer srv.Close()
			a := &websocket.App{URL: srv.URL}
			a.OnOpen = func(a *websocket.App) {
				defer close(read)
				if err := a.SendBytes(make([]byte, size)); err != nil {
					t.Errorf("SendBytes = %v", err)
				}
				if websocket.LoopQueued(a.Conn()) <= 0 {
					t.Error("the loop holds nothing for the socket: the test tests nothing")
				}
				tt.close(a)
			}
			runOn(t, true, a, &websocket.RunOptions{Reconnect: -1})
			if sawClose := <-closed; !sawClose || got.Load() != size {
				t.Errorf("the server read %d of the %d bytes sent, and the close frame: %v", got.Load(), size, sawClose)
			}
		})
	}
}

// readingServer reads nothing until read is closed, then reads frames,
// adding their payload bytes to got, until the client's close, which it
// answers.
func readingServer(read <-chan struct{}, got *atomic.Int64) *wstest.Server {
	return wstest.New(func(c *wstest.Conn) {
		<-read
		if f := readToClose(c, got); f != nil {
			c.WriteFrame(true, 8, f.Payload)
		}
	})
}

// readToClose reads frames, adding their payload bytes to got, until the
// client's close frame, which it returns; nil when the stream ended first.
func readToClose(c *wstest.Conn, got *atomic.Int64) *wstest.Frame {
	for {
		f, err := c.ReadFrame()
		if err != nil {
			return nil
		}
		if f.Opcode == 8 {
			return f
		}
		got.Add(int64(len(f.Payload)))
	}
}

// sendUntilStuck sends messages of size bytes from a goroutine until a
// send fails, counting those that returned nil in sent (when not nil), and
// calls stuck once a's sends wait for the server (backedUp). For OnOpen.
func sendUntilStuck(t *testing.T, a *websocket.App, size int, sent *atomic.Int64, stuck func()) {
	go func() {
		msg := make([]byte, size)
		for a.SendBytes(msg) == nil {
			if sent != nil {
				sent.Add(1)
			}
		}
	}()
	go func() {
		defer stuck()
		if !within(func() bool { return backedUp(a) }) {
			t.Error("the sends never waited")
		}
	}()
}

// backedUp reports whether a's sends wait for a server that does not read:
// its send queue holds a message, and on an event loop the loop holds bytes
// for the socket.
func backedUp(a *websocket.App) bool {
	return a.Buffered() > 0 && websocket.LoopQueued(a.Conn()) != 0
}
