package websocket

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket/wstest"
)

// TestAppRecvQueueResumesAtTheLowByteMark: "Reading then pauses until the
// callbacks have taken the queue down to RecvQueueLowMessages frames and
// RecvQueueLowBytes bytes": with a byte mark reached long before the
// frame marks, reading resumes only once the queue holds no more than
// RecvQueueLowBytes, not as soon as it is below RecvQueueLowMessages.
func TestAppRecvQueueResumesAtTheLowByteMark(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, size, hi, lo = 12, 100, 4 * 100, 100 // pause at 4 messages, resume at 1
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			for i := range n {
				c.WriteMessage(wstest.OpBinary, numbered(i, size))
			}
			c.Close(1000, "done")
		})
		defer srv.Close()
		entered, release := make(chan int), make(chan struct{})
		a := &App{URL: srv.URL}
		a.OnMessage = func(_ *App, m Message) {
			entered <- number(m.Data)
			<-release
		}
		done := make(chan error)
		go func() {
			done <- a.Run(context.Background(), &RunOptions{
				DialOptions:    DialOptions{NetDialContext: srv.DialContext},
				RecvQueueBytes: hi, RecvQueueLowBytes: lo, // frame marks: the defaults, 1024 and 256
			})
		}()
		var queued, order []int
		for range n {
			order = append(order, <-entered)
			synctest.Wait() // the reader has read all it may
			f, _ := recvQueued(a)
			queued = append(queued, f)
			release <- struct{}{}
		}
		if err := <-done; err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		if want := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}; !slices.Equal(order, want) {
			t.Errorf("messages %v, want %v", order, want)
		}
		// While paused, each pop leaves one message fewer; the pop that
		// takes the queue to 100 bytes (the low mark) resumes the reading,
		// which fills it to 400 bytes again.
		for i := range 7 {
			f, next := queued[i], queued[i+1]
			if f < 2 || f > 4 || next != f-1 && !(f == 2 && next == 4) {
				t.Fatalf("frames queued at each OnMessage %v: want 4, 3, 2, 4, 3, 2, … from the start or the second", queued)
			}
		}
	})
}

// TestAppPingTimeoutNotStretchedByEarlierPauses: time the receive queue
// was paused before a ping does not count against that ping's pong
// deadline. A pause long over before the ping went out must not delay the
// detection: "A server that stops answering is thus detected within
// PingInterval + PingTimeout".
func TestAppPingTimeoutNotStretchedByEarlierPauses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			interval, timeout = 100 * time.Second, 3 * time.Second
			n                 = 8 // 8 × 10 s of callbacks: the queue pauses for about a minute, all before the first ping
		)
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			for i := range n {
				c.WriteMessage(wstest.OpBinary, numbered(i, 4))
			}
			readUntilClose(c, false) // never answers a ping
		})
		defer srv.Close()
		start := time.Now()
		var lastMessage time.Time
		a := &App{URL: srv.URL}
		a.OnMessage = func(_ *App, m Message) {
			time.Sleep(10 * time.Second)
			lastMessage = time.Now()
		}
		err := a.Run(context.Background(), &RunOptions{
			DialOptions:  DialOptions{NetDialContext: srv.DialContext},
			PingInterval: interval, PingTimeout: timeout,
			RecvQueueMessages: 4, RecvQueueLowMessages: 1,
		})
		if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "ping") {
			t.Fatalf("Run = %v, want the ping timeout", err)
		}
		if lastMessage.Sub(start) >= interval {
			t.Fatalf("the callbacks ran until %v, want them done before the first ping at %v", lastMessage.Sub(start), interval)
		}
		if d := time.Since(start); d > interval+timeout+time.Second {
			t.Errorf("the dead server was found after %v, want at most PingInterval + PingTimeout (%v)", d, interval+timeout)
		}
	})
}

// TestAppPongDeadlineAfterAPauseDuringTheWait: a pause of the reader that
// comes while a pong is awaited moves the deadline by the pause, and by no
// more: the server reads the ping, answers it with six messages that fill
// the queue (its reading pauses until the callbacks of 0.5 s each have
// taken it down to one message: 1 or 1.5 s, as the reader and the
// callbacks meet) and never with a pong; the run fails at the ping (10 s)
// plus PingTimeout (3 s) plus the pause, not a second later.
func TestAppPongDeadlineAfterAPauseDuringTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval, timeout, slow = 10 * time.Second, 3 * time.Second, 500 * time.Millisecond
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			for {
				f, err := c.ReadFrame()
				if err != nil {
					return
				}
				if f.Opcode == wstest.OpPing {
					break
				}
			}
			for i := range 6 {
				c.WriteMessage(wstest.OpBinary, numbered(i, 4))
			}
			readUntilClose(c, false)
		})
		defer srv.Close()
		start := time.Now()
		a := &App{URL: srv.URL, OnMessage: func(*App, Message) { time.Sleep(slow) }}
		err := a.Run(context.Background(), &RunOptions{
			DialOptions:  DialOptions{NetDialContext: srv.DialContext},
			PingInterval: interval, PingTimeout: timeout,
			RecvQueueMessages: 4, RecvQueueLowMessages: 1,
		})
		if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "ping") {
			t.Fatalf("Run = %v, want the ping timeout", err)
		}
		d := time.Since(start)
		if least, most := interval+timeout+2*slow, interval+timeout+3*slow; d < least || d > most {
			t.Errorf("the ping timed out after %v, want between %v and %v: PingTimeout of reading time after the ping", d, least, most)
		}
	})
}
