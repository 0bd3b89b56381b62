package websocket_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/leaktest"
	"github.com/wsclient/websocket/internal/wstest"
)

// The receive queue on the event loop's engine: the loop's I/O goroutine
// reads, answers pings and queues frames while a callback runs on the
// dispatcher's goroutine.

// guard bounds every wait of these tests: reached only when they fail.
const guard = 5 * time.Second

// within reports whether cond became true before guard passed, checking
// it every millisecond.
func within(cond func() bool) bool {
	for deadline := time.Now().Add(guard); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// numberedMsg returns a message of size bytes (at least 4) that starts
// with i, big-endian.
func numberedMsg(i, size int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint32(b, uint32(i))
	return b
}

// TestEventLoopEngineAnswersPingsWhileSlow: while OnMessage runs, the
// server's pings are answered at once; OnPing comes after that OnMessage.
func TestEventLoopEngineAnswersPingsWhileSlow(t *testing.T) {
	defer leaktest.Check(t)()
	const pings = 3
	entered, release := make(chan struct{}), make(chan struct{})
	srv := rawServer(t, false, func(nc net.Conn, c *wstest.Conn) {
		defer close(release)
		nc.Write(wstest.AppendFrame(nil, true, 1, []byte("slow")))
		select {
		case <-entered:
		case <-time.After(guard):
			t.Error("OnMessage did not run")
			return
		}
		for i := range pings {
			p := []byte{'p', byte('0' + i)}
			c.WriteFrame(true, 9, p)
			f, err := c.ReadFrameWithin(guard)
			if err != nil || f.Opcode != 10 || !bytes.Equal(f.Payload, p) {
				t.Errorf("ping %d while OnMessage runs: got %v, %v, want its pong", i, f, err)
				nc.Close() // the run ends
				return
			}
		}
	})
	defer srv.Close()
	var e events
	a := &websocket.App{URL: srv.URL}
	record(a, &e)
	a.OnData = nil
	a.OnMessage = func(_ *websocket.App, m websocket.Message) {
		e.add("message %q", m.Data)
		close(entered)
		<-release // the server has seen its pongs (or given up)
	}
	n := 0
	a.OnPing = func(a *websocket.App, p []byte) {
		e.add("ping %q", p)
		if n++; n == pings {
			a.Close()
		}
	}
	if err := runEngine(t, a, nil); err != nil {
		t.Fatalf("Run = %v", err)
	}
	want := []string{"open", `message "slow"`, `ping "p0"`, `ping "p1"`, `ping "p2"`, `close 1000 ""`}
	if got := e.list(); !slices.Equal(got, want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}

// TestEventLoopEngineSlowConsumerKeepsAlive: each message comes right
// after one of our pings, and its pong right after OnMessage began, which
// then runs for 3× PingTimeout: the pong, read meanwhile, keeps the
// connection alive; nothing fails, every message arrives, in order.
func TestEventLoopEngineSlowConsumerKeepsAlive(t *testing.T) {
	defer leaktest.Check(t)()
	const (
		interval, timeout = 600 * time.Millisecond, 500 * time.Millisecond // 150/100 ms failed on a busy machine
		n                 = 3
	)
	entered := make(chan struct{}, n)
	srv := rawServer(t, false, func(nc net.Conn, c *wstest.Conn) {
		for i := 0; ; {
			f, err := c.ReadFrameWithin(guard)
			if err != nil {
				t.Errorf("server: %v", err)
				return
			}
			switch f.Opcode {
			case 8:
				c.WriteFrame(true, 8, f.Payload)
				return
			case 9:
				if i < n {
					c.WriteFrame(true, 2, numberedMsg(i, 4))
					select {
					case <-entered:
					case <-time.After(guard):
						t.Error("OnMessage did not run")
						return
					}
					i++
				}
				c.WriteFrame(true, 10, f.Payload) // while OnMessage runs
			}
		}
	})
	defer srv.Close()
	var got []int
	pongRead := true
	a := &websocket.App{URL: srv.URL}
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		start := time.Now()
		got = append(got, int(binary.BigEndian.Uint32(m.Data)))
		_, _, _, pongs := websocket.RecvQueueState(a)
		entered <- struct{}{}
		if pongRead && !within(func() bool { _, _, _, p := websocket.RecvQueueState(a); return p > pongs }) {
			t.Error("the pong was not read while OnMessage ran")
			pongRead = false
		}
		time.Sleep(3*timeout - time.Since(start)) // a slow callback
		if len(got) == n {
			a.Close()
		}
	}
	a.OnError = func(_ *websocket.App, err error) { t.Errorf("OnError(%v)", err) }
	err := runEngine(t, a, &websocket.RunOptions{PingInterval: interval, PingTimeout: timeout})
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if want := []int{0, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("messages %v, want %v", got, want)
	}
}

// TestEventLoopEngineRecvQueuePauses: while OnMessage is held, the loop
// reads until the receive queue reaches its high water mark and then
// stops reading, so a server that floods the connection is held back by
// TCP; once OnMessage returns the reading resumes, and every message
// arrives, in order.
func TestEventLoopEngineRecvQueuePauses(t *testing.T) {
	defer leaktest.Check(t)()
	// 2 MB against socket buffers of some 400 KiB and a 5 KB queue.
	const (
		n, size         = 2000, 1000
		hiCount, hiSize = 8, 4 << 10
	)
	var written atomic.Int64
	srv := rawServer(t, false, func(nc net.Conn, c *wstest.Conn) {
		nc.(*net.TCPConn).SetWriteBuffer(64 << 10)
		var b []byte
		for i := range n {
			b = wstest.AppendFrame(b, true, 2, numberedMsg(i, size))
			if len(b) > 16<<10 || i == n-1 {
				if _, err := nc.Write(b); err != nil {
					return
				}
				written.Add(int64(len(b)))
				b = b[:0]
			}
		}
	})
	defer srv.Close()
	total := int64(n * (size + 4))
	var got []int
	maxFrames, maxBytes, pauses := 0, 0, 0
	a := &websocket.App{URL: srv.URL}
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		got = append(got, int(binary.BigEndian.Uint32(m.Data)))
		if len(got) == 1 || len(got) == n/2 {
			// Held: the loop reads on until the queue is full.
			if !within(func() bool { _, _, paused, _ := websocket.RecvQueueState(a); return paused }) {
				t.Errorf("message %d: the reading did not pause", len(got)-1)
			} else {
				pauses++
			}
			if w := written.Load(); w >= total {
				t.Errorf("message %d: the server wrote all %d bytes while the reading was paused", len(got)-1, w)
			}
		}
		f, b, _, _ := websocket.RecvQueueState(a)
		maxFrames, maxBytes = max(maxFrames, f), max(maxBytes, b)
		if len(got) == n {
			a.Close()
		}
	}
	a.OnError = func(_ *websocket.App, err error) { t.Errorf("OnError(%v)", err) }
	err := runEngine(t, a, &websocket.RunOptions{
		RecvQueueMessages: hiCount, RecvQueueBytes: hiSize, RecvQueueLowMessages: 2, RecvQueueLowBytes: 1 << 10,
		DialOptions: websocket.DialOptions{NetDialContext: smallReadBuffer},
	})
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if len(got) != n || !slices.IsSorted(got) || got[0] != 0 || got[n-1] != n-1 {
		t.Errorf("%d messages, want %d in order", len(got), n)
	}
	if pauses != 2 || maxFrames > hiCount+1 || maxBytes >= hiSize+size {
		t.Errorf("%d pauses, queue held up to %d frames and %d bytes: want 2 pauses, at most %d frames and %d bytes",
			pauses, maxFrames, maxBytes, hiCount+1, hiSize+size-1)
	}
}

// smallReadBuffer dials with a small socket receive buffer, so that a
// connection that is not read holds little.
func smallReadBuffer(ctx context.Context, network, addr string) (net.Conn, error) {
	nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err == nil {
		nc.(*net.TCPConn).SetReadBuffer(128 << 10)
	}
	return nc, err
}

// TestEventLoopEngineSlowAppKeepsOthersAlive: while one App's OnMessage
// holds the dispatcher, another App on the same loop still answers its
// server's pings; its OnPing calls wait for the dispatcher.
func TestEventLoopEngineSlowAppKeepsOthersAlive(t *testing.T) {
	defer leaktest.Check(t)()
	skipWithoutPoller(t)
	const pings = 3
	aliveOpen, entered, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	slowSrv := rawServer(t, false, func(nc net.Conn, c *wstest.Conn) {
		select {
		case <-aliveOpen:
			nc.Write(wstest.AppendFrame(nil, true, 1, []byte("slow")))
		case <-time.After(guard):
			t.Error("the other App did not open")
		}
	})
	defer slowSrv.Close()
	aliveSrv := rawServer(t, false, func(nc net.Conn, c *wstest.Conn) {
		defer close(release)
		select {
		case <-entered:
		case <-time.After(guard):
			t.Error("the slow OnMessage did not run")
			return
		}
		for i := range pings {
			c.WriteFrame(true, 9, []byte{byte(i)})
			if f, err := c.ReadFrameWithin(guard); err != nil || f.Opcode != 10 {
				t.Errorf("ping %d while the other App's OnMessage runs: got %v, %v, want a pong", i, f, err)
				nc.Close() // the run ends
				return
			}
		}
	})
	defer aliveSrv.Close()

	l := websocket.NewEventLoop()
	var closed atomic.Int32
	onClose := func(*websocket.App, websocket.StatusCode, string) {
		if closed.Add(1) == 2 {
			l.Stop()
		}
	}
	slow := &websocket.App{URL: slowSrv.URL, OnClose: onClose}
	slow.OnMessage = func(a *websocket.App, _ websocket.Message) {
		close(entered)
		<-release // the other server has seen its pongs (or given up)
		a.Close()
	}
	checkOwned(t, slow)
	var e events
	alive := &websocket.App{URL: aliveSrv.URL, OnClose: onClose}
	alive.OnOpen = func(a *websocket.App) {
		if !websocket.LoopOwned(a.Conn()) {
			t.Error("the connection is not owned by the loop's poller")
		}
		close(aliveOpen)
	}
	alive.OnPing = func(a *websocket.App, p []byte) {
		e.add("ping %d", p[0])
		if len(e.list()) == pings {
			a.Close()
		}
	}
	alive.OnError = func(_ *websocket.App, err error) { t.Errorf("OnError(%v) of the other App", err) }
	for _, a := range []*websocket.App{alive, slow} {
		if err := a.Run(context.Background(), &websocket.RunOptions{Dispatcher: l}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Run(context.Background()); err != nil {
		t.Fatalf("loop Run = %v", err)
	}
	if got, want := e.list(), []string{"ping 0", "ping 1", "ping 2"}; !slices.Equal(got, want) {
		t.Errorf("the other App's pings %q, want %q", got, want)
	}
}

// TestEventLoopEngineResetWhilePaused: a server that resets the
// connection while its reading is paused is dropped by the poller (else
// its hang-up would be reported again and again, keeping the I/O goroutine
// busy); once the callbacks catch up, the reading resumes and reports how
// the stream ended, after the messages read before.
func TestEventLoopEngineResetWhilePaused(t *testing.T) {
	defer leaktest.Check(t)()
	reset, gone := make(chan struct{}), make(chan struct{})
	srv := rawServer(t, false, func(nc net.Conn, c *wstest.Conn) {
		defer close(gone)
		wrote := make(chan struct{})
		go func() {
			defer close(wrote)
			b := bytes.Repeat(wstest.AppendFrame(nil, true, 2, make([]byte, 1000)), 64)
			for {
				if _, err := nc.Write(b); err != nil {
					return
				}
			}
		}()
		select {
		case <-reset:
		case <-time.After(guard):
			t.Error("the client did not pause")
		}
		nc.(*net.TCPConn).SetLinger(0)
		nc.Close() // a reset: the client has unread data
		<-wrote
	})
	defer srv.Close()
	got := 0
	var closed websocket.StatusCode
	a := &websocket.App{URL: srv.URL}
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		if got++; got > 1 {
			return
		}
		if !within(func() bool { _, _, paused, _ := websocket.RecvQueueState(a); return paused }) {
			t.Error("the reading did not pause")
		}
		close(reset)
		<-gone
		if !within(func() bool { return websocket.LoopDetached(a.Conn()) }) {
			t.Error("the poller still watches the socket that hung up")
		}
	}
	a.OnClose = func(_ *websocket.App, code websocket.StatusCode, _ string) { closed = code }
	err := runEngine(t, a, &websocket.RunOptions{RecvQueueMessages: 4, RecvQueueLowMessages: 1})
	if err == nil || closed != websocket.StatusAbnormalClosure || got == 0 {
		t.Errorf("Run = %v, OnClose(%d) after %d messages: want a read error, 1006, after some messages", err, closed, got)
	}
}

// TestEndAfterTheHeldFramesOverTLS12: over TLS 1.2 crypto/tls returns the
// last records' plaintext together with the close_notify behind them (its
// alert type is on the wire); a loop whose reading had paused with frames
// of that plaintext held back ended the connection at once and dropped
// them, the server's close frame with them (8 of 61 messages delivered,
// OnClose 1006). Every message now comes, then the server's close.
func TestEndAfterTheHeldFramesOverTLS12(t *testing.T) {
	const n = 61
	ca := wstest.NewCA()
	sent := make(chan struct{})
	srv := tlsServer(ca, tls.VersionTLS12, nil, nil, func(c *wstest.Conn) {
		defer close(sent)
		// Past crypto/tls's small first records; then the rest and the
		// close frame in one write, and close_notify right behind.
		if c.WriteRaw(wstest.AppendFrame(nil, true, 2, numberedMsg(0, 200<<10))) != nil {
			return
		}
		var b []byte
		for i := 1; i < n; i++ {
			b = wstest.AppendFrame(b, true, 2, numberedMsg(i, 100))
		}
		c.WriteRaw(wstest.AppendFrame(b, true, 8, wstest.ClosePayload(4000, "bye")))
		c.NC.Close()
	})
	defer srv.Close()
	var got []uint32
	var closes []string
	a := &websocket.App{URL: srv.URL}
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		got = append(got, binary.BigEndian.Uint32(m.Data))
		if len(got) == 1 { // the queue fills behind this callback
			<-sent
			if !within(func() bool { _, _, paused, _ := websocket.RecvQueueState(a); return paused }) {
				t.Error("the reading never paused")
			}
		}
	}
	a.OnClose = func(_ *websocket.App, code websocket.StatusCode, reason string) {
		closes = append(closes, fmt.Sprintf("%d %s", code, reason))
	}
	opts := tlsRun(ca)
	opts.Reconnect, opts.RecvQueueMessages, opts.RecvQueueLowMessages = -1, 8, 2
	if err := runEngine(t, a, opts); err != nil {
		t.Errorf("Run = %v, want nil (the server closed)", err)
	}
	if len(got) != n || !slices.IsSorted(got) || got[n-1] != n-1 {
		t.Errorf("got %d messages (%v), want %d in order", len(got), got, n)
	}
	if !slices.Equal(closes, []string{"4000 bye"}) {
		t.Errorf("OnClose got %q, want the server's 4000 bye", closes)
	}
}
