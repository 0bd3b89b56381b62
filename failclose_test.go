package websocket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/wstest"
)

// deafServer starts a server, over TLS when secure, whose connections read
// nothing and are handed to the test on conns (one at a time); it returns
// its URL and the TLS configuration a client trusts it with (nil for ws).
func deafServer(t *testing.T, secure bool) (string, *tls.Config, <-chan *wstest.Conn) {
	t.Helper()
	conns := make(chan *wstest.Conn, 1)
	quit := make(chan struct{})
	handle := func(c *wstest.Conn) {
		select {
		case conns <- c:
		default:
		}
		<-quit
	}
	var srv *wstest.Server
	var tc *tls.Config
	if secure {
		ca := wstest.NewCA()
		srv = wstest.NewTLS(ca.ServerConfig(), handle)
		tc = &tls.Config{RootCAs: ca.Pool, ServerName: "localhost"}
	} else {
		srv = wstest.New(handle)
	}
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(quit) })
	return srv.URL, tc, conns
}

// failCloseServer returns a server (wss when secure) whose connections the
// test is handed, and a Conn dialed to it.
func failCloseServer(t *testing.T, secure bool) (*Conn, *wstest.Conn) {
	t.Helper()
	url, tc, conns := deafServer(t, secure)
	c, err := Dial(context.Background(), url, &DialOptions{TLSConfig: tc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Abort)
	select {
	case sc := <-conns:
		return c, sc
	case <-time.After(15 * time.Second):
		t.Fatal("no server connection")
		return nil, nil
	}
}

// TestFailureCloseFrameOutlastsASlowWriter: a connection failed by the
// peer's invalid text sends close 1007 before closing, also when the
// goroutine writing the frame runs late, as on a busy machine: the frame's
// 100 ms bound is for a peer that stopped reading, and a socket with room
// is not one. The close frame was lost under load (a CI run saw EOF where
// the 1007 belonged) while the bound counted from before the write.
func TestFailureCloseFrameOutlastsASlowWriter(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the socket's room is asked on Linux only")
	}
	late := func() { time.Sleep(350 * time.Millisecond) } // the writer runs late: this is the scenario, not a wait for anything
	testHookBeforeCloseFrame.Store(&late)
	t.Cleanup(func() { testHookBeforeCloseFrame.Store(nil) })
	for _, secure := range []bool{false, true} {
		name := map[bool]string{false: "ws", true: "wss"}[secure]
		t.Run(name, func(t *testing.T) {
			c, sc := failCloseServer(t, secure)
			if err := sc.WriteFrame(true, byte(OpText), []byte("bad \xff")); err != nil {
				t.Fatal(err)
			}
			_, err := c.Recv()
			if pe := (*PayloadError)(nil); !errors.As(err, &pe) {
				t.Fatalf("Recv = %v, want a *PayloadError", err)
			}
			f, err := sc.ReadFrameWithin(15 * time.Second)
			if err != nil {
				t.Fatalf("server read: %v; want close 1007", err)
			}
			if f.Opcode != byte(OpClose) || len(f.Payload) < 2 || StatusCode(f.Payload[0])<<8|StatusCode(f.Payload[1]) != StatusInvalidPayload {
				t.Fatalf("server got opcode %d %q, want close 1007", f.Opcode, f.Payload)
			}
		})
	}
}

// TestFailureCloseGivesUpOnAPeerThatDoesNotRead: when the peer stopped
// reading, so that a send is stuck and the close frame behind it, the
// failure still ends the connection about 100 ms after the close was
// tried, not the longest a slow writer is given (3 s).
func TestFailureCloseGivesUpOnAPeerThatDoesNotRead(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the socket's room is asked on Linux only")
	}
	for _, secure := range []bool{false, true} {
		name := map[bool]string{false: "ws", true: "wss"}[secure]
		t.Run(name, func(t *testing.T) {
			c, sc := failCloseServer(t, secure)
			sent := make(chan error, 1)
			go func() { sent <- c.SendBinary(make([]byte, 64<<20)) }() // more than the sockets hold: stuck
			for deadline := time.Now().Add(15 * time.Second); c.sendHasRoom(); {
				if time.Now().After(deadline) {
					t.Fatal("the socket kept room for a 64 MiB send to a peer that does not read")
				}
				time.Sleep(time.Millisecond) // polling for the socket to fill
			}
			if err := sc.WriteFrame(true, byte(OpText), []byte("bad \xff")); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err := c.Recv()
			took := time.Since(start)
			if pe := (*PayloadError)(nil); !errors.As(err, &pe) {
				t.Fatalf("Recv = %v, want a *PayloadError", err)
			}
			if took > 2*time.Second {
				t.Errorf("Recv returned the failure after %v; a failure's close to a peer that does not read gets about 100 ms", took)
			}
			if err := <-sent; err == nil {
				t.Error("the stuck send returned nil")
			}
		})
	}
}

// TestCloseFrameOutlastsASlowWriter: CloseWith's close frame goes out, and
// CloseWith returns nil, when the goroutine writing it runs later than the
// time CloseWith was given, as on a busy machine: abandoning a frame is
// for a peer that stopped reading (the frame's write was bounded from
// before it began, and lost under load).
func TestCloseFrameOutlastsASlowWriter(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the socket's room is asked on Linux only")
	}
	late := func() { time.Sleep(350 * time.Millisecond) } // the writer runs late: the scenario, not a wait for anything
	testHookBeforeCloseFrame.Store(&late)
	t.Cleanup(func() { testHookBeforeCloseFrame.Store(nil) })
	for _, secure := range []bool{false, true} {
		for _, timeout := range []time.Duration{0, 200 * time.Millisecond} {
			name := fmt.Sprintf("%s/timeout=%v", map[bool]string{false: "ws", true: "wss"}[secure], timeout)
			t.Run(name, func(t *testing.T) {
				c, sc := failCloseServer(t, secure)
				if err := c.CloseWith(StatusGoingAway, "bye", timeout); err != nil {
					t.Errorf("CloseWith = %v, want nil", err)
				}
				f, err := sc.ReadFrameWithin(15 * time.Second)
				if err != nil {
					t.Fatalf("server read: %v; want close 1001", err)
				}
				if f.Opcode != byte(OpClose) || string(f.Payload) != "\x03\xe9bye" {
					t.Fatalf("server got opcode %d %q, want close 1001 \"bye\"", f.Opcode, f.Payload)
				}
			})
		}
	}
}

// TestTimeoutOnAClosedConnIsClosed: a read or write that times out on a
// Conn already closed (its socket a moment from closed, by the close
// timer's goroutine, while CloseWith's own close found the close under way
// and returned) reports the Conn closed, not a timeout that invites a
// retry: an unanswered CloseWith followed by Recv said "read timeout" on a
// busy machine.
func TestTimeoutOnAClosedConnIsClosed(t *testing.T) {
	c, _ := failCloseServer(t, false)
	c.flags.set(flagClosed)
	for _, op := range []string{"read", "write"} {
		err := c.ioError(op, os.ErrDeadlineExceeded)
		if !errors.Is(err, ErrConnectionClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%s timing out on a closed Conn: %v, want ErrConnectionClosed and no timeout", op, err)
		}
	}
}

// TestMaskKeyFuncPanicFailsTheConnection: a MaskKeyFunc that panics while
// the library answers a server's ping (on the reading goroutine) fails the
// connection with the panic as its cause; it crashed the program.
func TestMaskKeyFuncPanicFailsTheConnection(t *testing.T) {
	c, sc := failCloseServer(t, false)
	c.SetMaskKeyFunc(func() [4]byte { panic("no keys today") })
	if err := sc.WriteFrame(true, byte(OpPing), []byte("p")); err != nil {
		t.Fatal(err)
	}
	_, err := c.Recv()
	if !errors.Is(err, ErrConnectionClosed) || !strings.Contains(err.Error(), "panic in MaskKeyFunc: no keys today") {
		t.Fatalf("Recv = %v, want the connection closed by the MaskKeyFunc panic", err)
	}
	if err := c.SendText("x"); !errors.Is(err, ErrConnectionClosed) {
		t.Errorf("Send after = %v, want ErrConnectionClosed", err)
	}
}

// TestAbortAndShutdownUnblockAStuckSend: Abort ("unblocks every reader and
// writer at once") and Shutdown end a send stuck on a peer that stopped
// reading within a second, over wss too. There a 40 KiB message's TLS
// records are written to the socket after tls.Conn.Write returned, so
// crypto/tls saw no write in flight and its close sent a close_notify
// alert, which waited behind the stuck write for its 5 s deadline.
func TestAbortAndShutdownUnblockAStuckSend(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the socket's room is asked on Linux only")
	}
	for _, how := range []string{"Abort", "Shutdown"} {
		for _, secure := range []bool{false, true} {
			for _, size := range []int{40 << 10, 256 << 10} {
				name := fmt.Sprintf("%s/%s/%dKiB", how, map[bool]string{false: "ws", true: "wss"}[secure], size>>10)
				t.Run(name, func(t *testing.T) {
					c, _ := failCloseServer(t, secure)
					sent := make(chan error, 1)
					var sendStart atomic.Int64 // monoNow() when the current send began
					go func() {
						msg := make([]byte, size)
						for {
							sendStart.Store(monoNow())
							if err := c.SendBinary(msg); err != nil {
								sent <- err
								return
							}
						}
					}()
					// Polling until one send has been stuck 300 ms.
					for deadline := time.Now().Add(15 * time.Second); monoNow()-sendStart.Load() < int64(300*time.Millisecond) || c.sendHasRoom(); {
						if time.Now().After(deadline) {
							t.Fatal("no send got stuck on a peer that does not read")
						}
						time.Sleep(5 * time.Millisecond)
					}
					start := time.Now()
					if how == "Abort" {
						c.Abort()
					} else if err := c.Shutdown(); err != nil {
						t.Errorf("Shutdown = %v, want nil", err)
					}
					took := time.Since(start)
					err := <-sent
					unblocked := time.Since(start)
					if took > time.Second || unblocked > time.Second {
						t.Errorf("%s returned after %v, the stuck send after %v (%v); want both within a second",
							how, took.Round(time.Millisecond), unblocked.Round(time.Millisecond), err)
					}
					if !errors.Is(err, ErrConnectionClosed) {
						t.Errorf("the stuck send returned %v, want an error matching ErrConnectionClosed", err)
					}
				})
			}
		}
	}
}

// TestAppCloseEndsAStuckSend: an App's CloseWith "does not wait for" a send
// stuck on a peer that stopped reading: at the close's timeout the socket
// is closed, which ends the send, over wss too (there the close waited 5 s
// for a TLS alert behind the stuck write).
func TestAppCloseEndsAStuckSend(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "ws", true: "wss"}[secure], func(t *testing.T) {
			url, tc, _ := deafServer(t, secure)
			o := &RunOptions{}
			o.TLSConfig = tc
			var calledAt, sendEnded atomic.Int64
			a := &App{URL: url}
			a.OnOpen = func(a *App) {
				var sendStart atomic.Int64
				go func() {
					// Polling until one send of this callback has been stuck 300 ms.
					for monoNow()-sendStart.Load() < int64(300*time.Millisecond) {
						time.Sleep(5 * time.Millisecond)
					}
					calledAt.Store(monoNow())
					a.CloseWith(StatusNormal, "", 500*time.Millisecond)
				}()
				msg := make([]byte, 40<<10)
				for {
					sendStart.Store(monoNow())
					if a.SendBytes(msg) != nil {
						sendEnded.Store(monoNow())
						return
					}
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			a.Run(ctx, o)
			runAfter := time.Duration(monoNow() - calledAt.Load())
			sendAfter := time.Duration(sendEnded.Load() - calledAt.Load())
			if sendAfter > 2*time.Second || runAfter > 2*time.Second {
				t.Errorf("CloseWith(timeout 500ms) with OnOpen's send stuck: the send ended %v and Run returned %v after it",
					sendAfter.Round(time.Millisecond), runAfter.Round(time.Millisecond))
			}
		})
	}
}

// TestLibraryCloseLeavesAQueuedTimeout: a queued batch's write timeout,
// which no caller got, waits for the next send or Flush; the library's own
// close frames (the echo of the server's close, a failure's close) meet it
// first when they wait behind the failing write, and took it, so no caller
// ever got it. The state after the failing batch is set up directly: the
// interleaving itself cannot be had without sleeping.
func TestLibraryCloseLeavesAQueuedTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		send func(c *Conn) error
	}{
		{"the echo of the server's close", func(c *Conn) error { return c.sendCloseFrame(StatusNormal, "", closeTimeout) }},
		{"a failure's close", func(c *Conn) error { return c.sendCloseFrame(StatusProtocolError, "", 100*time.Millisecond) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := failCloseServer(t, false)
			c.writeMu.Lock()
			werr := c.writeFailed(&os.SyscallError{Syscall: "write", Err: os.ErrDeadlineExceeded})
			c.rareState().writeErr = werr // as flushQueue leaves a batch's timeout
			c.writeMu.Unlock()
			if !isTimeout(werr) {
				t.Fatalf("writeFailed = %v, want a timeout", werr)
			}
			if err := tc.send(c); !isTimeout(err) {
				t.Errorf("the library's close frame = %v, want the timeout that stopped it", err)
			}
			if err := c.SendText("x"); !isTimeout(err) {
				t.Errorf("the next send = %v; want the queued batch's timeout, which no caller got", err)
			}
			if err := c.SendText("x"); !errors.Is(err, ErrConnectionClosed) || isTimeout(err) {
				t.Errorf("the send after it = %v; want ErrConnectionClosed, not a timeout", err)
			}
		})
	}
}
