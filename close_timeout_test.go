package websocket_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// These tests run in a synctest bubble over net.Pipe: a write blocks until
// the server reads it, so a server that stops reading blocks the client's
// writes for good, and the fake clock makes the time a close takes exact.

// dialPipeServer dials a server played by handle inside the bubble.
func dialPipeServer(t *testing.T, opts websocket.DialOptions, handle func(sc *wstest.Conn)) *websocket.Conn {
	t.Helper()
	ps := &pipeServer{handle: func(_ int, sc *wstest.Conn) { handle(sc) }}
	opts.NetDialContext = ps.dial
	c, err := websocket.Dial(context.Background(), "ws://pipe.test/", &opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// timeClose runs close and checks that it returns after exactly want. If
// it does not return within a minute more, the test fails and Abort frees
// it.
func timeClose(t *testing.T, c *websocket.Conn, want time.Duration, closeFn func() error) error {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- closeFn() }()
	select {
	case err := <-done:
		if d := time.Since(start); d != want {
			t.Errorf("close returned after %v, want %v", d, want)
		}
		return err
	case <-time.After(want + time.Minute):
		t.Errorf("close did not return within %v", want+time.Minute)
		c.Abort()
		return <-done
	}
}

// wantAbandoned checks the error of a close whose close frame could not be
// written in time.
func wantAbandoned(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, websocket.ErrConnectionClosed) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("close = %v, want an error matching ErrConnectionClosed and os.ErrDeadlineExceeded", err)
	}
	wantNetTimeout(t, err)
	checkPrefix(t, err)
}

// wantNetTimeout checks that err, a timeout, is a net.Error whose Timeout
// is true, as the README promises of every error matching
// os.ErrDeadlineExceeded (errors.As finding one inside is not enough for a
// type assertion).
func wantNetTimeout(t *testing.T, err error) {
	t.Helper()
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("%v (%T) is not a net.Error whose Timeout is true", err, err)
	}
}

// wantClosed checks that err reports the closed connection.
func wantClosed(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, websocket.ErrConnectionClosed) {
		t.Errorf("%s = %v, want an error matching ErrConnectionClosed", what, err)
	}
	checkPrefix(t, err)
}

// TestCloseWaitIgnoresIOTimeout: the wait for the server's close frame is
// the close's timeout, not the per-operation I/O timeout, which is longer.
func TestCloseWaitIgnoresIOTimeout(t *testing.T) {
	for _, tc := range []struct {
		name  string
		want  time.Duration
		close func(c *websocket.Conn) error
	}{
		{"CloseWith", 300 * time.Millisecond, func(c *websocket.Conn) error {
			return c.CloseWith(websocket.StatusNormal, "", 300*time.Millisecond)
		}},
		{"Close", 3 * time.Second, (*websocket.Conn).Close},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := dialPipeServer(t, websocket.DialOptions{Timeout: 5 * time.Second}, func(sc *wstest.Conn) {
					if f, err := sc.ReadFrame(); err != nil || f.Opcode != 0x8 {
						t.Errorf("server read %v, %v; want the close frame", f, err)
					}
					sc.ReadFrame() // never answers; returns when the client closes
				})
				if err := timeClose(t, c, tc.want, func() error { return tc.close(c) }); err != nil {
					t.Errorf("close = %v, want nil: the close frame was sent", err)
				}
				if c.Connected() {
					t.Error("Connected() after the close")
				}
			})
		})
	}
}

// TestCloseWhileSendBlocked: a send stuck on a server that stopped reading
// holds the socket; Close gives up on its close frame at its timeout,
// closes the socket, and the send returns an error. CloseWith with no
// timeout gives the close frame 100 ms.
func TestCloseWhileSendBlocked(t *testing.T) {
	for _, tc := range []struct {
		name  string
		want  time.Duration
		close func(c *websocket.Conn) error
	}{
		{"Close", 3 * time.Second, (*websocket.Conn).Close},
		{"CloseWith0", 100 * time.Millisecond, func(c *websocket.Conn) error {
			return c.CloseWith(websocket.StatusNormal, "", 0)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				// The per-operation timeout gives the send a minute; the
				// close takes its own time.
				c := dialPipeServer(t, websocket.DialOptions{Timeout: time.Minute}, func(*wstest.Conn) { <-release })
				sendErr := make(chan error, 1)
				go func() { sendErr <- c.SendText("stuck") }()
				synctest.Wait() // the send is in its write, which the server never reads
				wantAbandoned(t, timeClose(t, c, tc.want, func() error { return tc.close(c) }))
				wantClosed(t, "the blocked send", <-sendErr)
				wantClosed(t, "a send after Close", c.SendText("late"))
				if err := c.Close(); err != nil {
					t.Errorf("second Close = %v, want nil", err)
				}
				close(release)
			})
		})
	}
}

// TestCloseWhileFlusherBlocked: the write queue's flusher is stuck on a
// server that stopped reading, and a sender waits for room in the queue.
func TestCloseWhileFlusherBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		readOne, release := make(chan struct{}), make(chan struct{})
		c := dialPipeServer(t, websocket.DialOptions{}, func(sc *wstest.Conn) {
			<-readOne
			sc.ReadFrame()
			<-release
		})
		first := make(chan error, 1)
		go func() { first <- c.SendText("first") }()
		synctest.Wait() // "first" is being written directly
		if err := c.SendText("queued"); err != nil {
			t.Fatalf("queued send = %v", err)
		}
		close(readOne) // "first" goes out; the flusher takes "queued" and blocks
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the flusher is writing "queued"
		big := make([]byte, 60<<10)
		if err := c.SendBinary(big); err != nil { // queued behind the flusher's write
			t.Fatalf("queued send = %v", err)
		}
		blocked := make(chan error, 1)
		go func() { blocked <- c.SendBinary(big) }()
		synctest.Wait() // the queue is full: this send waits for room
		wantAbandoned(t, timeClose(t, c, 300*time.Millisecond, func() error {
			return c.CloseWith(websocket.StatusGoingAway, "", 300*time.Millisecond)
		}))
		wantClosed(t, "the send waiting for room", <-blocked)
		wantClosed(t, "Flush", c.Flush())
		close(release)
	})
}

// TestCloseDuringPingFlood: the reader's pong is stuck on a server that
// sends pings and never reads; Close neither waits for the pong's write nor
// for the reader.
func TestCloseDuringPingFlood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		c := dialPipeServer(t, websocket.DialOptions{}, func(sc *wstest.Conn) {
			var pings []byte
			for range 100 {
				pings = wstest.AppendFrame(pings, true, 0x9, []byte("ping"))
			}
			sc.WriteRaw(pings)
			<-release
		})
		recvErr := make(chan error, 1)
		go func() { _, err := c.Recv(); recvErr <- err }()
		synctest.Wait() // the reader is writing a pong nobody reads
		wantAbandoned(t, timeClose(t, c, 300*time.Millisecond, func() error {
			return c.CloseWith(websocket.StatusNormal, "", 300*time.Millisecond)
		}))
		wantClosed(t, "the reader", <-recvErr)
		close(release)
	})
}

// TestWriteTimeoutClosesConn: after a write times out, the Conn is closed
// and every later send says so, whether the write that timed out was a
// send's own or the write queue's.
func TestWriteTimeoutClosesConn(t *testing.T) {
	checkLater := func(t *testing.T, c *websocket.Conn) {
		t.Helper()
		wantClosed(t, "a later SendText", c.SendText("later"))
		wantClosed(t, "a later Ping", c.Ping(nil))
		wantClosed(t, "Flush", c.Flush())
		if _, err := c.NextWriter(websocket.OpBinary); !errors.Is(err, websocket.ErrConnectionClosed) {
			t.Errorf("NextWriter = %v, want an error matching ErrConnectionClosed", err)
		}
		if c.Connected() {
			t.Error("Connected() after a write timeout")
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close = %v, want nil", err)
		}
	}
	t.Run("direct", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			c := dialPipeServer(t, websocket.DialOptions{}, func(*wstest.Conn) { <-release })
			c.SetTimeout(50 * time.Millisecond)
			err := c.SendText("stuck")
			if !isTimeout(err) {
				t.Fatalf("SendText = %v, want a timeout", err)
			}
			checkPrefix(t, err)
			checkLater(t, c)
			close(release)
		})
	})
	t.Run("queued", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			readOne, release := make(chan struct{}), make(chan struct{})
			c := dialPipeServer(t, websocket.DialOptions{}, func(sc *wstest.Conn) {
				<-readOne
				sc.ReadFrame()
				<-release
			})
			c.SetTimeout(50 * time.Millisecond)
			first := make(chan error, 1)
			go func() { first <- c.SendText("first") }()
			synctest.Wait()
			if err := c.SendText("queued"); err != nil {
				t.Fatalf("queued send = %v", err)
			}
			close(readOne)
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond) // the flusher's write times out
			synctest.Wait()
			err := c.SendText("next")
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("the send after the queue's timeout = %v, want it to wrap the timeout", err)
			}
			checkLater(t, c)
			close(release)
		})
	})
}

// TestCloseTLSPeerNotReading: closing a TLS stream sends an alert first,
// which crypto/tls gives 5 s; when the server has stopped reading, Close
// still returns at its timeout.
func TestCloseTLSPeerNotReading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ca := wstest.NewCA() // inside the bubble: valid at its clock
		release := make(chan struct{})
		dial := func(context.Context, string, string) (net.Conn, error) {
			cli, srv := net.Pipe()
			go func() {
				bc := newBufConn(srv) // the server's writes never wait for the client
				defer bc.Close()
				sc, err := wstest.Upgrade(tls.Server(bc, ca.ServerConfig()), nil, nil)
				if err != nil {
					t.Errorf("server handshake: %v", err)
					return
				}
				if f, err := sc.ReadFrame(); err != nil || f.Opcode != 0x8 {
					t.Errorf("server read %v, %v; want the close frame", f, err)
				}
				<-release // reads nothing more
			}()
			return cli, nil
		}
		c, err := websocket.Dial(context.Background(), "wss://localhost/", &websocket.DialOptions{
			NetDialContext: dial, TLSConfig: &tls.Config{RootCAs: ca.Pool},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := timeClose(t, c, 300*time.Millisecond, func() error {
			return c.CloseWith(websocket.StatusNormal, "", 300*time.Millisecond)
		}); err != nil {
			t.Errorf("CloseWith = %v, want nil: the close frame was sent", err)
		}
		close(release)
	})
}

// TestPeerCloseWhileSendBlocked: the server sends its close frame and
// stops reading while a send is stuck in its write. The reader that gets
// the close cannot echo it (the stuck send holds the socket); it gives the
// echo the close timeout, then closes the socket and returns the server's
// close instead of waiting for good.
func TestPeerCloseWhileSendBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		stuck := make(chan struct{})
		c := dialPipeServer(t, websocket.DialOptions{}, func(sc *wstest.Conn) {
			<-stuck
			sc.WriteRaw([]byte{0x88, 0x02, 0x03, 0xe9}) // 1001, then never reads
			<-release
		})
		defer close(release)
		sendErr := make(chan error, 1)
		go func() { sendErr <- c.SendText("stuck") }()
		synctest.Wait() // the send is in its write, which the server never reads
		close(stuck)
		start := time.Now()
		_, err := c.Recv()
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("Recv returned after %v, want the close timeout (3s)", d)
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway {
			t.Errorf("Recv = %v, want the server's close (1001)", err)
		}
		wantClosed(t, "the blocked send", <-sendErr)
		if c.Connected() {
			t.Error("Connected() after the server's close")
		}
	})
}

// TestReadTimeoutsKeepLinearCost: a server that sends a large message in
// small pieces, each after the client's read timeout, makes every Recv
// return a timeout and keep what it read. Keeping and resuming must not
// copy the whole message each time (quadratic: 1.3 GiB here before).
func TestReadTimeoutsKeepLinearCost(t *testing.T) {
	const size, piece, timeout = 1 << 20, 1 << 10, 10 * time.Millisecond
	receivers := append(payloadReceivers[:len(payloadReceivers):len(payloadReceivers)], []struct {
		name string
		recv func(c *websocket.Conn) ([]byte, error)
	}{
		{"RecvAppend", func(c *websocket.Conn) ([]byte, error) {
			_, b, err := c.RecvAppend(make([]byte, 0, 64))
			return b, err
		}},
		{"RecvFrame", func(c *websocket.Conn) ([]byte, error) {
			f, err := c.RecvFrame()
			if err != nil {
				return nil, err
			}
			return f.Payload, nil
		}},
	}...)
	for _, tc := range receivers {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := dialPipeServer(t, websocket.DialOptions{}, func(sc *wstest.Conn) {
					hdr := []byte{0x82, 127, 0, 0, 0, 0, 0, 0, 0, 0}
					binary.BigEndian.PutUint64(hdr[2:], size)
					sc.WriteRaw(hdr)
					p := bytes.Repeat([]byte{'x'}, piece)
					for range size / piece {
						time.Sleep(2 * timeout)
						if sc.WriteRaw(p) != nil {
							return
						}
					}
					sc.ReadFrame()
				})
				defer c.Abort()
				c.SetTimeout(timeout)
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				timeouts := 0
				for {
					data, err := tc.recv(c)
					if err == nil {
						if len(data) != size {
							t.Fatalf("got %d bytes, want %d", len(data), size)
						}
						break
					}
					if !errors.Is(err, os.ErrDeadlineExceeded) {
						t.Fatal(err)
					}
					timeouts++
				}
				runtime.ReadMemStats(&after)
				if timeouts < size/piece/2 {
					t.Fatalf("%d timeouts: the test did not cut the message", timeouts)
				}
				if got := after.TotalAlloc - before.TotalAlloc; got > 16*size {
					t.Errorf("%d timeouts allocated %d MiB for a 1 MiB message, want ≤ 16", timeouts, got>>20)
				}
			})
		})
	}
}
