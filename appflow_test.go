package websocket

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket/internal/leaktest"
	"github.com/wsclient/websocket/wstest"
)

// numbered returns a message of size bytes (at least 4) that starts with
// i, big-endian.
func numbered(i, size int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint32(b, uint32(i))
	return b
}

// number returns the number a numbered message starts with.
func number(b []byte) int {
	if len(b) < 4 {
		return -1
	}
	return int(binary.BigEndian.Uint32(b))
}

// recvQueued returns the frames and bytes in the receive queue of a's open
// connection; call it on the dispatcher's goroutine or while the
// dispatcher waits.
func recvQueued(a *App) (frames, bytes int) {
	a.mu.Lock()
	s := a.sess
	a.mu.Unlock()
	return s.rq.queued()
}

// closeFrame is a close frame from the server with code 1000 and reason
// "done".
var closeFrame = wstest.Frame{Fin: true, Opcode: wstest.OpClose, Payload: []byte{0x03, 0xE8, 'd', 'o', 'n', 'e'}}

// readUntilClose reads the client's frames until its close frame (or an
// error), answering pings with pongs when pong, and returns the data
// frames read.
func readUntilClose(c *wstest.Conn, pong bool) (data []wstest.Frame) {
	for {
		f, err := c.ReadFrame()
		if err != nil || f.Opcode == wstest.OpClose {
			return data
		}
		switch f.Opcode {
		case wstest.OpPing:
			if pong {
				c.WriteFrame(wstest.Frame{Fin: true, Opcode: wstest.OpPong, Payload: f.Payload})
			}
		case wstest.OpText, wstest.OpBinary:
			data = append(data, f)
		}
	}
}

// TestAppSlowConsumerKeepsAlive: OnMessage takes 10× the ping timeout per
// message while the server sends as fast as it can and answers pings.
// The run must not end in a (false) ping timeout, the receive queue must
// stay within its limit, and every message must arrive, in order.
func TestAppSlowConsumerKeepsAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			interval, timeout = 10 * time.Second, 3 * time.Second
			slow              = 10 * timeout
			n, size           = 40, 16 << 10 // 640 KiB: more than the pipe and the queue hold
			hi, lo            = 8, 2
		)
		var pings atomic.Int32
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			c.Accept(nil)
			// One goroutine writes, as a server with a send queue does:
			// a pong goes out behind the messages written before it
			// (TCP keeps the order), as soon as the writer gets to it.
			// It writes to the stream itself: ReadFrame would wait for a
			// WriteFrame blocked on the full pipe.
			nc := c.NetConn()
			write := func(op wstest.Opcode, p []byte) error {
				_, err := nc.Write(wstest.Frame{Fin: true, Opcode: op, Payload: p}.AppendTo(nil))
				return err
			}
			read, pongs := make(chan struct{}), make(chan []byte, 1000)
			go func() {
				defer close(read)
				for {
					f, err := c.ReadFrame()
					if err != nil || f.Opcode == wstest.OpClose {
						return
					}
					if f.Opcode == wstest.OpPing {
						pings.Add(1)
						pongs <- f.Payload
					}
				}
			}()
			pong := func() {
				for {
					select {
					case p := <-pongs:
						write(wstest.OpPong, p)
					default:
						return
					}
				}
			}
			start := time.Now()
			for i := range n {
				pong()
				if write(wstest.OpBinary, numbered(i, size)) != nil {
					return
				}
			}
			if time.Now().Equal(start) {
				t.Error("the server's writes never waited: the client read everything at once")
			}
			write(closeFrame.Opcode, closeFrame.Payload)
			<-read
		})
		defer srv.Close()

		var got []int
		maxFrames, maxBytes := 0, 0
		var closed string
		a := &App{URL: srv.URL}
		a.OnMessage = func(a *App, m Message) {
			if len(m.Data) != size {
				t.Errorf("message of %d bytes, want %d", len(m.Data), size)
			}
			got = append(got, number(m.Data))
			time.Sleep(slow)
			// The reader has read all it could meanwhile.
			f, b := recvQueued(a)
			maxFrames, maxBytes = max(maxFrames, f), max(maxBytes, b)
		}
		a.OnError = func(_ *App, err error) { t.Errorf("OnError(%v)", err) }
		a.OnClose = func(_ *App, code StatusCode, reason string) { closed = code.String() + " " + reason }
		err := a.Run(context.Background(), &RunOptions{
			DialOptions:  DialOptions{NetDialContext: srv.DialContext},
			PingInterval: interval, PingTimeout: timeout,
			RecvQueueMessages: hi, RecvQueueLowMessages: lo,
		})
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		if want := slices.Collect(func(yield func(int) bool) {
			for i := range n {
				yield(i)
			}
		}); !slices.Equal(got, want) {
			t.Errorf("messages %v, want 0…%d in order", got, n-1)
		}
		// At the end the server's close frame and the end of the
		// connection join the last messages.
		if maxFrames < hi || maxFrames > hi+2 || maxBytes > hi*size+125 {
			t.Errorf("receive queue held up to %d frames and %d bytes, want %d frames (+2 at the end) and at most %d bytes",
				maxFrames, maxBytes, hi, hi*size)
		}
		if p := pings.Load(); p < n/2 {
			t.Errorf("%d pings in %v, want at least %d", p, n*slow, n/2)
		}
		if closed != "normal closure done" {
			t.Errorf("OnClose(%s), want 1000 done", closed)
		}
	})
}

// TestAppAnswersPingsWhileSlow: a server's ping that arrives while
// OnMessage runs is answered at once (the queue has room), and OnPing
// still comes after that OnMessage.
func TestAppAnswersPingsWhileSlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const slow = time.Minute
		pongAfter := time.Duration(-1)
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			c.WriteMessage(wstest.OpText, []byte("slow"))
			c.WriteMessage(wstest.OpPing, []byte("p"))
			sent := time.Now()
			for {
				f, err := c.ReadFrame()
				if err != nil {
					return
				}
				if f.Opcode == wstest.OpPong {
					pongAfter = time.Since(sent)
					break
				}
			}
			c.Close(1000, "done")
		})
		defer srv.Close()
		var e []string
		a := &App{URL: srv.URL}
		a.OnMessage = func(_ *App, m Message) {
			e = append(e, "message "+m.Text())
			time.Sleep(slow)
		}
		a.OnPing = func(_ *App, p []byte) { e = append(e, "ping "+string(p)) }
		a.OnClose = func(_ *App, code StatusCode, _ string) { e = append(e, "close "+code.String()) }
		if err := a.Run(context.Background(), &RunOptions{DialOptions: DialOptions{NetDialContext: srv.DialContext}}); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		if pongAfter != 0 {
			t.Errorf("pong %v after the ping, want it at once (OnMessage took %v)", pongAfter, slow)
		}
		if want := []string{"message slow", "ping p", "close normal closure"}; !slices.Equal(e, want) {
			t.Errorf("events %q, want %q", e, want)
		}
	})
}

// TestAppRecvQueuePausesAndResumes: with OnMessage held, the reader fills
// the queue to its high water mark and stops; it reads on only once the
// callbacks have taken the queue down to the low water mark, and then
// fills it again.
func TestAppRecvQueuePausesAndResumes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, hi, lo = 12, 4, 1
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			for i := range n {
				c.WriteMessage(wstest.OpBinary, numbered(i, 4))
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
				DialOptions:       DialOptions{NetDialContext: srv.DialContext},
				RecvQueueMessages: hi, RecvQueueLowMessages: lo,
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
		// While paused, each pop leaves one frame fewer; the pop that
		// takes the queue to 1 (the low mark) resumes the reading, which
		// fills it to 4 again.
		for i := range 7 { // the last ones also hold the close and the end
			f, next := queued[i], queued[i+1]
			if f < 2 || f > hi || next != f-1 && !(f == 2 && next == hi) {
				t.Fatalf("frames queued at each OnMessage %v: want 4, 3, 2, 4, 3, 2, … from the start or the second", queued)
			}
		}
	})
}

// TestAppPingTimeoutAfterPause: pausing the pong deadline does not turn
// it off: a server that never answers is still found dead once the slow
// callbacks have caught up, and every message it sent is delivered first.
func TestAppPingTimeoutAfterPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			interval, timeout = 10 * time.Second, 3 * time.Second
			n                 = 20
		)
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			for i := range n {
				c.WriteMessage(wstest.OpBinary, numbered(i, 4))
			}
			readUntilClose(c, false)
		})
		defer srv.Close()
		var e []string
		a := &App{URL: srv.URL}
		a.OnMessage = func(_ *App, m Message) {
			e = append(e, "message")
			time.Sleep(10 * timeout)
		}
		a.OnError = func(_ *App, err error) { e = append(e, "error") }
		a.OnClose = func(_ *App, code StatusCode, _ string) { e = append(e, "close "+code.String()) }
		err := a.Run(context.Background(), &RunOptions{
			DialOptions:  DialOptions{NetDialContext: srv.DialContext},
			PingInterval: interval, PingTimeout: timeout,
			RecvQueueMessages: 4, RecvQueueLowMessages: 1,
		})
		if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "ping") {
			t.Fatalf("Run = %v, want the ping timeout", err)
		}
		// The timeout may come while the last messages still wait in
		// the queue: they are delivered before OnClose.
		msgs := slices.DeleteFunc(slices.Clone(e), func(s string) bool { return s != "message" })
		if len(msgs) != n || len(e) != n+2 || e[len(e)-1] != "close abnormal closure" || !slices.Contains(e, "error") {
			t.Errorf("events %q, want %d messages and an error, then close 1006", e, n)
		}
	})
}

// TestRecvQueueSignals: the queue's wake, full, more and resumed signals,
// its byte limit, the end item, the pong count and the pause clock.
func TestRecvQueueSignals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newRecvQueue(recvMarks(3, 100, 1, 10))
		msg := func(n int) recvItem { return recvItem{op: OpBinary, fin: true, data: make([]byte, n)} }
		if wake, full := q.push(msg(1)); !wake || full {
			t.Fatalf("first push: wake %v full %v, want true false", wake, full)
		}
		if wake, full := q.push(recvItem{op: OpPong, fin: true}); wake || full {
			t.Fatalf("second push: wake %v full %v, want false false", wake, full)
		}
		if q.pongs() != 1 {
			t.Errorf("pongs %d, want 1", q.pongs())
		}
		if _, full := q.push(msg(1)); !full || !q.paused() {
			t.Fatal("third push (the high count): not full")
		}
		time.Sleep(time.Second)
		if d := q.pausedTotal(); d != time.Second {
			t.Errorf("paused %v, want 1s", d)
		}
		it, ok, more, resumed := q.pop()
		if !ok || !more || resumed || len(it.data) != 1 {
			t.Fatalf("pop 1: ok %v more %v resumed %v", ok, more, resumed)
		}
		waited := make(chan struct{})
		go func() { q.waitRoom(); close(waited) }()
		synctest.Wait()
		select {
		case <-waited:
			t.Fatal("waitRoom returned above the low mark")
		default:
		}
		if _, _, more, resumed := q.pop(); !more || !resumed {
			t.Fatalf("pop 2 (down to the low mark): more %v resumed %v, want true true", more, resumed)
		}
		<-waited
		time.Sleep(time.Second)
		if d := q.pausedTotal(); d != time.Second {
			t.Errorf("paused %v after the pause, want 1s", d)
		}
		if _, _, more, _ := q.pop(); more {
			t.Fatal("pop 3: more, want the queue empty")
		}
		if _, ok, more, _ := q.pop(); ok || more {
			t.Fatal("pop of an empty queue: ok or more")
		}
		// The byte mark, and an item larger than it.
		if wake, full := q.push(msg(150)); !wake || !full {
			t.Fatalf("push of 150 bytes: wake %v full %v, want true true", wake, full)
		}
		// The end counts against nothing and never reports full.
		if _, full := q.push(recvItem{err: ErrConnectionClosed}); full {
			t.Error("push of the end item reported full")
		}
		if f, b := q.queued(); f != 2 || b != 150 {
			t.Errorf("queued %d frames, %d bytes; want 2, 150", f, b)
		}
		if _, _, _, resumed := q.pop(); !resumed {
			t.Error("popping the big item did not resume")
		}
		if it, ok, more, _ := q.pop(); !ok || more || it.err == nil {
			t.Error("the end item did not come last")
		}

		// The byte marks exactly: full at 100 bytes, resumed at 10.
		q = newRecvQueue(recvMarks(3, 100, 1, 10))
		q.push(msg(90))
		if _, full := q.push(msg(10)); !full {
			t.Fatal("push to 100 bytes (the high byte mark): not full")
		}
		if _, _, _, resumed := q.pop(); !resumed {
			t.Error("pop down to 10 bytes (the low byte mark) did not resume")
		}
	})
}

// sendApp returns an App for srv whose OnOpen closes opened, and the run
// options for it.
func sendApp(srv *wstest.Server, opened chan struct{}, limit int, noWait bool) (*App, *RunOptions) {
	a := &App{URL: srv.URL, OnOpen: func(*App) { close(opened) }}
	return a, &RunOptions{DialOptions: DialOptions{NetDialContext: srv.DialContext},
		SendQueueBytes: limit, SendNoWait: noWait}
}

// TestAppSendQueueBlocks: with a server that stopped reading, senders
// block once the send queue is full, and Buffered stays within the limit;
// when the server reads again every message arrives, each sender's in
// order.
func TestAppSendQueueBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit, size, senders, each = 64 << 10, 16 << 10, 4, 40
		unblock := make(chan struct{})
		var got []wstest.Frame
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			c.Accept(nil)
			<-unblock
			got = readUntilClose(c, true)
			c.WriteFrame(closeFrame)
		})
		defer srv.Close()
		opened := make(chan struct{})
		a, opts := sendApp(srv, opened, limit, false)
		done := make(chan error)
		go func() { done <- a.Run(context.Background(), opts) }()
		<-opened
		var sent [senders]atomic.Int32
		var wg sync.WaitGroup
		for s := range senders {
			wg.Go(func() {
				for i := range each {
					if err := a.SendBytes(numbered(s<<16|i, size)); err != nil {
						t.Errorf("sender %d: %v", s, err)
						return
					}
					sent[s].Add(1)
				}
			})
		}
		synctest.Wait() // every sender is blocked
		total := 0
		for s := range senders {
			total += int(sent[s].Load())
		}
		if total == senders*each {
			t.Fatal("every send returned although the server reads nothing")
		}
		if b := a.Buffered(); b != limit {
			t.Errorf("Buffered() = %d with the senders blocked, want the limit %d", b, limit)
		}
		close(unblock)
		wg.Wait()
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		if len(got) != senders*each {
			t.Fatalf("server got %d messages, want %d", len(got), senders*each)
		}
		next := make([]int, senders)
		for _, f := range got {
			k := number(f.Payload)
			if s, i := k>>16, k&0xFFFF; next[s] != i {
				t.Fatalf("sender %d: message %d, want %d", s, i, next[s])
			}
			next[k>>16]++
		}
		if b := a.Buffered(); b != 0 {
			t.Errorf("Buffered() = %d after the run, want 0", b)
		}
	})
}

// TestAppSendNoWait: with SendNoWait a send never waits: a full queue is
// ErrSendQueueFull at once. Buffered counts the queue; what was accepted
// goes out, in order, before the close frame of an App.Close made while it
// was still queued.
func TestAppSendNoWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit, size = 64 << 10, 16 << 10
		unblock := make(chan struct{})
		var got []wstest.Frame
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			c.Accept(nil)
			<-unblock
			got = readUntilClose(c, true)
			c.WriteFrame(closeFrame)
		})
		defer srv.Close()
		opened := make(chan struct{})
		a, opts := sendApp(srv, opened, limit, true)
		done := make(chan error)
		go func() { done <- a.Run(context.Background(), opts) }()
		<-opened
		accepted := 0
		var err error
		for accepted < 1000 {
			if err = a.SendBytes(numbered(accepted, size)); err != nil {
				break
			}
			accepted++
			synctest.Wait() // let the writer take what it can
		}
		if !errors.Is(err, ErrSendQueueFull) || !strings.HasPrefix(err.Error(), "websocket: ") {
			t.Fatalf("send %d = %v, want ErrSendQueueFull", accepted, err)
		}
		if b := a.Buffered(); b > limit || b < limit-size {
			t.Errorf("Buffered() = %d when full, want %d…%d", b, limit-size, limit)
		}
		if err := a.SendText("\xff"); err == nil || errors.Is(err, ErrSendQueueFull) {
			t.Errorf("invalid text = %v, want the UTF-8 error before the queue is looked at", err)
		}
		a.Close()
		synctest.Wait()
		if err := a.SendBytes(nil); !errors.Is(err, ErrConnectionClosed) {
			t.Errorf("send after Close = %v, want ErrConnectionClosed", err)
		}
		close(unblock)
		if err := <-done; err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		if len(got) != accepted {
			t.Fatalf("server got %d messages, want the %d accepted", len(got), accepted)
		}
		for i, f := range got {
			if number(f.Payload) != i {
				t.Fatalf("message %d is %d", i, number(f.Payload))
			}
		}
	})
}

// TestAppSendBlockedSendersEndWithTheConnection: senders waiting for room
// return an error matching ErrConnectionClosed when the App closes and the
// stalled server never answers; nothing is left running.
func TestAppSendBlockedSendersEndWithTheConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit, size, senders = 64 << 10, 16 << 10, 3
		srv := wstest.NewPipeServer(wstest.Script(wstest.Accept(nil), wstest.Stall))
		defer srv.Close()
		opened := make(chan struct{})
		a, opts := sendApp(srv, opened, limit, false)
		done := make(chan error)
		go func() { done <- a.Run(context.Background(), opts) }()
		<-opened
		errs := make(chan error, senders)
		for range senders {
			go func() {
				for {
					if err := a.SendBytes(make([]byte, size)); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		synctest.Wait()
		if b := a.Buffered(); b > limit {
			t.Errorf("Buffered() = %d, over the limit %d", b, limit)
		}
		start := time.Now()
		a.CloseWith(StatusNormal, "", time.Second)
		for range senders {
			if err := <-errs; !errors.Is(err, ErrConnectionClosed) {
				t.Errorf("blocked send = %v, want ErrConnectionClosed", err)
			}
		}
		if err := <-done; err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("the run ended %v after CloseWith, want its timeout, 1s", d)
		}
		if b := a.Buffered(); b != 0 {
			t.Errorf("Buffered() = %d after the run, want 0", b)
		}
	})
}

// TestAppSendNoWaitLoopback: over a real socket to a server that stopped
// reading, a SendNoWait producer meets ErrSendQueueFull once the kernel's
// buffers are full, Buffered is within the limit, and closing the App
// leaves no goroutine behind.
func TestAppSendNoWaitLoopback(t *testing.T) {
	defer leaktest.Check(t)()
	const limit, size = 256 << 10, 64 << 10
	srv := wstest.NewServer(wstest.Script(wstest.Accept(nil), wstest.Stall))
	defer srv.Close()
	opened := make(chan struct{})
	a := &App{URL: srv.URL, OnOpen: func(*App) { close(opened) }}
	done := make(chan error)
	go func() { done <- a.Run(context.Background(), &RunOptions{SendQueueBytes: limit, SendNoWait: true}) }()
	<-opened
	msg := make([]byte, size)
	var err error
	for range 1 << 20 { // at most 64 GiB: the kernel buffers far less
		if err = a.SendBytes(msg); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrSendQueueFull) {
		t.Fatalf("send = %v, want ErrSendQueueFull", err)
	}
	if b := a.Buffered(); b > limit || b < limit-size {
		t.Errorf("Buffered() = %d when full, want %d…%d", b, limit-size, limit)
	}
	a.CloseWith(StatusNormal, "", 100*time.Millisecond)
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if b := a.Buffered(); b != 0 {
		t.Errorf("Buffered() = %d after the run, want 0", b)
	}
}

// TestAppQueueOptionErrors: each negative limit, and low water marks at or
// above the high ones, are refused before anything runs, with the reason.
func TestAppQueueOptionErrors(t *testing.T) {
	const negative, water = "must not be negative", "must be below the high ones"
	for _, tt := range []struct {
		o    RunOptions
		want string
	}{
		{RunOptions{RecvQueueMessages: -1}, negative},
		{RunOptions{RecvQueueBytes: -1}, negative},
		{RunOptions{RecvQueueLowMessages: -1}, negative},
		{RunOptions{RecvQueueLowBytes: -1}, negative},
		{RunOptions{SendQueueBytes: -1}, negative},
		{RunOptions{RecvQueueMessages: 4, RecvQueueLowMessages: 4}, water},
		{RunOptions{RecvQueueBytes: 100, RecvQueueLowBytes: 100}, water},
		{RunOptions{RecvQueueBytes: 100, RecvQueueLowBytes: 200}, water},
		{RunOptions{RecvQueueLowMessages: 1024}, water}, // the default high mark
	} {
		a := &App{URL: "ws://127.0.0.1:1/", OnError: func(*App, error) { t.Error("OnError called for an option error") }}
		if err := a.RunForever(&tt.o); err == nil || !strings.HasPrefix(err.Error(), "websocket: ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("RunForever(%+v) = %v, want an error saying %q", tt.o, err, tt.want)
		}
	}
}

// TestAppOptionBounds: the largest values the options allow are taken:
// a ping payload of 125 bytes, low water marks one below the high ones.
func TestAppOptionBounds(t *testing.T) {
	for _, o := range []RunOptions{
		{PingInterval: time.Second, PingPayload: make([]byte, maxControlPayload)},
		{RecvQueueMessages: 4, RecvQueueLowMessages: 3, RecvQueueBytes: 100, RecvQueueLowBytes: 99},
	} {
		a := &App{URL: "ws://127.0.0.1:1/"}
		if _, err := a.newSession(context.Background(), &o); err != nil {
			t.Errorf("options %+v refused: %v", o, err)
		}
	}
}

// TestEventLoopSlowAppKeepsOthersAlive: on an event loop, one App's slow
// OnMessage holds up every App's callbacks and timers; another App's
// keep-alive must still see its pongs (read meanwhile) and not call its
// connection dead.
func TestEventLoopSlowAppKeepsOthersAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval, timeout, n = 10 * time.Second, 3 * time.Second, 10
		slowSrv := wstest.NewPipeServer(func(c *wstest.Conn) {
			for i := range n {
				c.WriteMessage(wstest.OpBinary, numbered(i, 4))
			}
			c.Close(1000, "done")
		})
		defer slowSrv.Close()
		pingSrv := wstest.NewPipeServer(func(c *wstest.Conn) { readUntilClose(c, true) })
		defer pingSrv.Close()

		l := NewEventLoop()
		got := 0
		slow := &App{URL: slowSrv.URL,
			OnMessage: func(*App, Message) { got++; time.Sleep(10 * timeout) },
			OnClose:   func(*App, StatusCode, string) { l.Stop() },
		}
		pongs := 0
		alive := &App{URL: pingSrv.URL,
			OnPong:  func(*App, []byte) { pongs++ },
			OnError: func(_ *App, err error) { t.Errorf("OnError(%v) of the App with the fast callbacks", err) },
		}
		if err := alive.Run(context.Background(), &RunOptions{Dispatcher: l, PingInterval: interval, PingTimeout: timeout,
			DialOptions: DialOptions{NetDialContext: pingSrv.DialContext}}); err != nil {
			t.Fatal(err)
		}
		if err := slow.Run(context.Background(), &RunOptions{Dispatcher: l,
			DialOptions: DialOptions{NetDialContext: slowSrv.DialContext}}); err != nil {
			t.Fatal(err)
		}
		if err := l.Run(context.Background()); err != nil {
			t.Fatalf("loop Run = %v", err)
		}
		if got != n || pongs == 0 {
			t.Errorf("%d slow messages (want %d), %d pongs (want some)", got, n, pongs)
		}
	})
}
