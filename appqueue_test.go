package websocket

import (
	"context"
	"math"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket/wstest"
)

// recvMarks returns options with the given receive queue water marks.
func recvMarks(hiCount, hiBytes, loCount, loBytes int) *RunOptions {
	return &RunOptions{RecvQueueMessages: hiCount, RecvQueueBytes: hiBytes, RecvQueueLowMessages: loCount, RecvQueueLowBytes: loBytes}
}

// TestRecvQueueTrim: an empty receive queue gives back the ring a burst
// grew; one with frames waiting keeps it, and works on after a trim. The
// smallest ring stays, so that a keep-alive's pong does not make it again
// at every ping.
func TestRecvQueueTrim(t *testing.T) {
	q := newRecvQueue(recvMarks(1024, 1<<20, 256, 1<<18))
	for range 100 {
		q.push(recvItem{op: OpBinary, fin: true})
	}
	q.trim()
	if len(q.items.buf) < 100 {
		t.Fatalf("a queue holding frames lost its ring: %d slots", len(q.items.buf))
	}
	for range 100 {
		q.pop()
	}
	q.trim()
	if q.items.buf != nil {
		t.Fatalf("an empty queue kept %d slots", len(q.items.buf))
	}
	q.push(recvItem{op: OpText, fin: true, data: []byte("again")})
	if it, ok, _, _ := q.pop(); !ok || string(it.data) != "again" {
		t.Fatalf("after a trim: %q, %v", it.data, ok)
	}
	small := q.items.buf
	q.trim()
	if len(small) != minRing || &q.items.buf[0] != &small[0] {
		t.Fatalf("trim dropped the smallest ring (%d slots)", len(small))
	}
}

// TestSendQueueTrim: an idle send queue gives back its ring and batch
// buffers; a queue whose writer is busy keeps them.
func TestSendQueueTrim(t *testing.T) {
	g := newGateConn(true)
	c := newConn(g, nil, &DialOptions{})
	q := newSendQueue(c, 1<<20, false)
	first := make(chan error, 1)
	go func() { first <- q.send([]byte("first"), OpBinary) }() // writes itself, held in the write
	<-g.entered
	for range 50 {
		if err := q.send(make([]byte, 1000), OpBinary); err != nil { // queued behind it
			t.Fatal(err)
		}
	}
	q.trim()
	if q.queued() != 50 || q.b.buf == nil {
		t.Fatalf("trim while busy dropped the queue: %d messages, %d bytes buffered", q.queued(), len(q.b.buf))
	}
	close(g.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	q.wait()
	if q.b == nil || q.b.spare == nil && q.b.items.buf == nil {
		t.Fatal("the burst left nothing to trim: the test does not test")
	}
	q.trim()
	if q.b != nil {
		t.Fatalf("an idle queue kept %d slots, %d and %d bytes of buffers", len(q.b.items.buf), cap(q.b.buf), cap(q.b.spare))
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, frames := g.recorded(t); len(frames) != 51 {
		t.Fatalf("%d frames written, want 51", len(frames))
	}
}

// TestAppKeepAliveTrimsQueues: after a burst that one slow callback let
// pile up, the next keep-alive ping finds the receive queue empty and
// gives its ring back (the pong then takes the smallest one).
func TestAppKeepAliveTrimsQueues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, interval = 200, 10 * time.Second
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			c.Accept(nil)
			for i := range n {
				c.WriteMessage(wstest.OpBinary, numbered(i, 4))
			}
			for { // answer pings until the client closes
				f, err := c.ReadFrame()
				if err != nil || f.Opcode == wstest.OpClose {
					return
				}
				if f.Opcode == wstest.OpPing {
					c.WriteMessage(wstest.OpPong, f.Payload)
				}
			}
		})
		defer srv.Close()
		release := make(chan struct{})
		got := 0
		a := &App{URL: srv.URL}
		a.OnMessage = func(*App, Message) {
			if got++; got == 1 {
				<-release // the rest pile up in the queue
			}
		}
		done := make(chan error)
		go func() {
			done <- a.Run(context.Background(), &RunOptions{
				DialOptions:  DialOptions{NetDialContext: srv.DialContext},
				PingInterval: interval,
			})
		}()
		synctest.Wait()
		if f, _ := recvQueued(a); f != n-1 {
			t.Fatalf("%d frames queued behind the slow callback, want %d", f, n-1)
		}
		close(release)
		synctest.Wait()
		a.mu.Lock()
		s := a.sess
		a.mu.Unlock()
		slots := func() int { // under the queue's lock: the dispatcher trims it
			s.rq.mu.Lock()
			defer s.rq.mu.Unlock()
			return len(s.rq.items.buf)
		}
		if k := slots(); k < n-1 {
			t.Fatalf("the burst grew the ring to %d slots only", k)
		}
		time.Sleep(interval) // the keep-alive's ping
		synctest.Wait()
		if k := slots(); got != n || k > 2 {
			t.Errorf("after the ping: %d messages, ring of %d slots; want %d, at most 2", got, k, n)
		}
		a.Close()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v", err)
		}
	})
}

// TestDeliverBatches: frames waiting in the receive queue reach fast
// callbacks several per dispatcher turn, not one turn each (which cost
// half the event loop's message rate), in order.
func TestDeliverBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 200
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			c.Accept(nil)
			for i := range n {
				c.WriteMessage(wstest.OpBinary, numbered(i, 4))
			}
			c.Close(1000, "done")
		})
		defer srv.Close()
		d := &PostCounter{EventLoop: NewEventLoop()}
		defer d.Stop()
		go d.Run(context.Background())
		release := make(chan struct{})
		var got []int
		finished := make(chan struct{})
		a := &App{URL: srv.URL}
		a.OnMessage = func(_ *App, m Message) {
			if got = append(got, number(m.Data)); len(got) == 1 {
				<-release // the rest wait in the queue
			}
		}
		a.OnClose = func(*App, StatusCode, string) { close(finished) }
		if err := a.Run(context.Background(), &RunOptions{
			DialOptions: DialOptions{NetDialContext: srv.DialContext},
			Dispatcher:  d,
		}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		before := d.Posts.Load()
		close(release)
		<-finished
		if posts := d.Posts.Load() - before; posts > n/4 {
			t.Errorf("%d frames took %d posts to the dispatcher: one turn each", n, posts)
		}
		for i, k := range got {
			if k != i {
				t.Fatalf("message %d is number %d", i, k)
			}
		}
		if len(got) != n {
			t.Fatalf("%d messages, want %d", len(got), n)
		}
	})
}

// TestRecvQueuePushMany: frames pushed together are queued in order under
// one wake; the push that crosses a high water mark reports full; mayFill
// tells the producer, from the counts of its last push, when the next
// frames could reach a mark (so that it pushes them before they do).
func TestRecvQueuePushMany(t *testing.T) {
	q := newRecvQueue(recvMarks(8, 100, 2, 10))
	item := func(n int) recvItem { return recvItem{op: OpBinary, fin: true, data: make([]byte, n)} }
	if wake, full := q.pushMany([]recvItem{item(1), item(2), item(3)}); !wake || full {
		t.Fatalf("first push: wake %v, full %v; want true, false", wake, full)
	}
	if q.mayFill(4, 10) || !q.mayFill(5, 10) || !q.mayFill(1, 94) {
		t.Errorf("mayFill after 3 frames of 6 bytes: (4, 10) %v, (5, 10) %v, (1, 94) %v; want false, true, true",
			q.mayFill(4, 10), q.mayFill(5, 10), q.mayFill(1, 94))
	}
	if wake, full := q.pushMany([]recvItem{item(4), item(5), item(6), item(7), item(8)}); wake || !full {
		t.Fatalf("second push, to 8 frames: wake %v, full %v; want false, true", wake, full)
	}
	for i := 1; i <= 8; i++ {
		if it, ok, _, _ := q.pop(); !ok || len(it.data) != i {
			t.Fatalf("pop %d: %d bytes, %v", i, len(it.data), ok)
		}
	}
}

// TestRecvQueueDropData: once the run closes, the data frames queued go and
// those pushed later are not queued, while control frames and the end
// still are; a pause that data frames caused ends, releasing the producer
// (which must read through the server's last data to its close frame).
func TestRecvQueueDropData(t *testing.T) {
	q := newRecvQueue(recvMarks(3, 1<<20, 1, 1<<10))
	data := recvItem{op: OpBinary, fin: true, data: []byte("data")}
	q.push(data)
	q.push(recvItem{op: OpPing, fin: true, data: []byte("p")})
	if _, full := q.push(data); !full || !q.paused() {
		t.Fatal("three frames: not paused")
	}
	q.dropData()
	if q.paused() {
		t.Error("still paused after the data frames went")
	}
	q.waitRoom() // returns: the pause ended
	q.push(recvItem{op: OpText, fin: false, data: []byte("more")})
	q.push(recvItem{op: OpContinuation, fin: true, data: []byte("more")})
	q.push(recvItem{op: OpPong, fin: true})
	q.push(recvItem{op: OpClose, fin: true, data: []byte{3, 232}})
	var got []Opcode
	for {
		it, ok, _, _ := q.pop()
		if !ok {
			break
		}
		got = append(got, it.op)
	}
	if want := []Opcode{OpPing, OpPong, OpClose}; !slices.Equal(got, want) {
		t.Errorf("queued after dropData: %v, want %v", got, want)
	}
	if frames, bytes := q.queued(); frames != 0 || bytes != 0 {
		t.Errorf("queued() = %d frames, %d bytes after popping all", frames, bytes)
	}
	if q.pongs() != 1 {
		t.Errorf("pongs %d, want 1", q.pongs())
	}
}

// TestSendQueueKeepsItsBatchUnderAHugeBound: the batch a burst was written
// from is kept for the next one ("a steady stream of sends allocates
// nothing") also under a bound near MaxInt, where twice the bound wrapped
// negative and no batch was kept.
func TestSendQueueKeepsItsBatchUnderAHugeBound(t *testing.T) {
	for _, limit := range []int{1 << 20, math.MaxInt/2 + 1, math.MaxInt} {
		g := newGateConn(true)
		c := newConn(g, nil, &DialOptions{})
		q := newSendQueue(c, limit, false)
		first := make(chan error, 1)
		go func() { first <- q.send([]byte("first"), OpBinary) }() // writes itself, held in the write
		<-g.entered
		for range 10 {
			if err := q.send(make([]byte, 1000), OpBinary); err != nil { // queued behind it
				t.Fatal(err)
			}
		}
		close(g.release)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		q.wait()
		if q.b == nil || q.b.spare == nil {
			t.Errorf("SendQueueBytes %d: the batch of a burst was not kept", limit)
		}
	}
}
