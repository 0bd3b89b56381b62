package websocket_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
	kit "github.com/wsclient/websocket/wstest"
)

// Abort "unblocks every reader and writer at once", also a CloseWith
// waiting for the server's close frame while another goroutine reads: that
// wait ended only with the server's close frame or the close's timeout
// (10 s here), as nothing else woke it. So does the connection's end when
// the server drops it: the reader's failed read ends the wait.
func TestAbortReleasesACloseWaitingBesideAReader(t *testing.T) {
	for _, end := range []string{"Abort", "server drops"} {
		for _, tlsOn := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/tls=%v", end, tlsOn), func(t *testing.T) {
				gotClose := make(chan struct{})
				drop := make(chan struct{})
				var dropOnce sync.Once
				dropNow := func() { dropOnce.Do(func() { close(drop) }) }
				h := func(c *wstest.Conn) {
					for {
						f, err := c.ReadFrame()
						if err != nil {
							return
						}
						if f.Opcode == 0x8 { // close
							close(gotClose)
							<-drop // never answers: the test ends the connection
							return
						}
					}
				}
				srv, opts := serverOn(tlsOn, h)
				defer srv.Close()
				defer dropNow()
				c, err := websocket.Dial(context.Background(), srv.URL, opts)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Abort()
				read := make(chan error, 1)
				go func() { _, err := c.Recv(); read <- err }()
				if !within(func() bool { return websocket.Reading(c) }) {
					t.Fatal("Recv never began")
				}
				closed := make(chan error, 1)
				go func() { closed <- c.CloseWith(websocket.StatusNormal, "", 10*time.Second) }()
				<-gotClose
				if !within(func() bool { return websocket.AwaitingPeerClose(c) }) {
					t.Fatal("the close never waited for the server's")
				}
				start := time.Now()
				if end == "Abort" {
					c.Abort()
				} else {
					dropNow()
				}
				if err := <-read; !errors.Is(err, websocket.ErrConnectionClosed) {
					t.Errorf("Recv = %v, want ErrConnectionClosed", err)
				}
				select {
				case err := <-closed:
					if err != nil {
						t.Errorf("CloseWith = %v, want nil (its frame was sent)", err)
					}
				case <-time.After(2 * time.Second):
					t.Fatalf("CloseWith(10 s) still waiting 2 s after the connection ended (%s)", end)
				}
				t.Logf("CloseWith returned %v after the end", time.Since(start))
			})
		}
	}
}

// "SetTimeout(d > 0) sets a deadline of now+d before each operation": also
// for a send that waits behind another goroutine's write (begun before the
// timeout was set, so without a deadline) to a server that reads nothing.
// The wait had no bound: the send returned only when Abort closed the
// socket. Now its deadline ends the write in flight, and the Conn, as a
// write that times out does: the stuck write gets the timeout, the waiting
// send an error matching ErrConnectionClosed. Flush likewise.
func TestSetTimeoutBoundsAWaitBehindAStuckWrite(t *testing.T) {
	for _, waiter := range []string{"large send", "Flush"} {
		t.Run(waiter, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, stop := dialStalledPipe(t)
				defer stop()
				var stuckErr error
				stuck := make(chan struct{})
				go func() {
					defer close(stuck)
					stuckErr = c.SendBinary(make([]byte, 1<<20)) // written directly; the pipe holds 256 KiB
				}()
				synctest.Wait() // the send waits in its write
				c.SetTimeout(100 * time.Millisecond)
				done := make(chan error, 1)
				start := time.Now()
				go func() {
					if waiter == "Flush" {
						done <- c.Flush()
					} else {
						done <- c.SendBinary(make([]byte, 1<<20))
					}
				}()
				select {
				case err := <-done:
					if !errors.Is(err, websocket.ErrConnectionClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
						t.Errorf("%s = %v, want an error matching ErrConnectionClosed, not the timeout (the stuck write's)", waiter, err)
					}
					if d := time.Since(start); d != 100*time.Millisecond {
						t.Errorf("%s returned after %v, want 100 ms", waiter, d)
					}
				case <-time.After(time.Minute):
					c.Abort()
					<-done
					t.Errorf("%s begun after SetTimeout(100 ms) still waiting after a minute", waiter)
				}
				<-stuck
				if !errors.Is(stuckErr, os.ErrDeadlineExceeded) {
					t.Errorf("the stuck send = %v, want the timeout", stuckErr)
				}
			})
		})
	}
}

// serverOn starts a test server running h, over TLS when tlsOn, and
// returns the dial options that trust it.
func serverOn(tlsOn bool, h func(*wstest.Conn)) (*wstest.Server, *websocket.DialOptions) {
	if !tlsOn {
		return wstest.New(h), nil
	}
	ca := wstest.NewCA()
	return wstest.NewTLS(ca.ServerConfig(), h), &websocket.DialOptions{TLSConfig: &tls.Config{RootCAs: ca.Pool}}
}

// A write stuck on a server that reads nothing, begun after
// SetTimeout(100 ms), ends at its deadline however many goroutines then
// wait behind it: each waiter's deadline (boundWait) used to replace the
// write's, and Flush calls arriving every 50 ms kept it from ever coming
// (found by a review of that change).
func TestWaitersDoNotPushBackAStuckWritesTimeout(t *testing.T) {
	for _, waiter := range []string{"Flush", "large send"} {
		t.Run(waiter, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, stop := dialStalledPipe(t)
				defer stop()
				c.SetTimeout(100 * time.Millisecond)
				start := time.Now()
				stuck := make(chan error, 1)
				go func() { stuck <- c.SendBinary(make([]byte, 1<<20)) }() // the pipe holds 256 KiB
				synctest.Wait()
				// Other goroutines arrive every 50 ms for 1 s and wait behind it.
				waiters := make(chan error, 20)
				for i := 0; i < 20; i++ {
					time.Sleep(50 * time.Millisecond)
					go func() {
						if waiter == "Flush" {
							waiters <- c.Flush()
						} else {
							waiters <- c.SendBinary(make([]byte, 1<<20))
						}
					}()
					synctest.Wait()
					select {
					case err := <-stuck:
						stuck <- err
						i = 20
					default:
					}
				}
				var took time.Duration
				select {
				case err := <-stuck:
					took = time.Since(start)
					if !errors.Is(err, os.ErrDeadlineExceeded) {
						t.Errorf("the stuck send = %v, want the timeout", err)
					}
				case <-time.After(time.Minute):
					c.Abort()
					t.Fatal("stuck")
				}
				if took > 200*time.Millisecond {
					t.Errorf("a send stuck with SetTimeout(100 ms) returned its timeout after %v: the waiters' deadlines kept moving its deadline later", took)
				}
			})
		})
	}
}

// dialStalledPipe dials, inside a synctest bubble, a server on an in-memory
// pipe (256 KiB each way) that accepts and then reads nothing; stop aborts
// the Conn and closes the server.
func dialStalledPipe(t *testing.T) (*websocket.Conn, func()) {
	t.Helper()
	srv := kit.NewPipeServer(kit.Script(kit.Accept(nil), kit.Stall))
	c, err := websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{NetDialContext: srv.DialContext})
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	return c, func() { c.Abort(); srv.Close() }
}
