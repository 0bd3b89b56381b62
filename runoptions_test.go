package websocket

import (
	"context"
	"crypto/tls"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"

	"github.com/wsclient/websocket/internal/h2"
	"github.com/wsclient/websocket/wstest"
)

// runningLoop returns an EventLoop running until the test ends.
func runningLoop(tb testing.TB) *EventLoop {
	l := NewEventLoop()
	tb.Cleanup(l.Stop)
	go l.Run(context.Background())
	return l
}

// sizeLimit is a type's size and the most it may be: its size class.
type sizeLimit struct {
	name      string
	size, max uintptr
}

// checkSizes fails for each type above its limit.
func checkSizes(t *testing.T, limits []sizeLimit) {
	t.Helper()
	for _, tt := range limits {
		if tt.size > tt.max {
			t.Errorf("%s is %d bytes, want at most %d", tt.name, tt.size, tt.max)
		}
	}
}

// startSession makes a's run with opts as Run does, without attaching it.
func startSession(t *testing.T, a *App, opts *RunOptions) *Session {
	t.Helper()
	o := *opts
	s, err := a.newSession(context.Background(), &o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRunOptionsShared: Apps started with equal options share one copy of
// them, and sharing cannot be told from copying: options changed between
// runs, or an App's own settings, give a run its own copy with what it
// asked for, and the earlier runs keep theirs. wss:// Apps with one
// TLSConfig dial with one copy of it, which holds their session cache.
func TestRunOptionsShared(t *testing.T) {
	l := NewEventLoop()
	opts := &RunOptions{PingInterval: time.Second, Reconnect: -1, Dispatcher: l}
	const url = "ws://127.0.0.1:1/"
	s1 := startSession(t, &App{URL: url}, opts)
	s2 := startSession(t, &App{URL: url}, opts)
	if s1.opts != s2.opts {
		t.Fatal("two Apps with the same options hold two copies")
	}
	if s1.opts.RecvQueueMessages != defaultRecvQueueMessages {
		t.Fatalf("shared copy has RecvQueueMessages %d, want the default filled in", s1.opts.RecvQueueMessages)
	}

	opts.PingInterval = 2 * time.Second
	s3 := startSession(t, &App{URL: url}, opts)
	if s3.opts == s1.opts || s3.opts.PingInterval != 2*time.Second || s1.opts.PingInterval != time.Second {
		t.Fatalf("after a change: shared %v, ping intervals %v (want 2s) and %v (want 1s)",
			s3.opts == s1.opts, s3.opts.PingInterval, s1.opts.PingInterval)
	}
	opts.PingInterval = time.Second
	if s4 := startSession(t, &App{URL: url}, opts); s4.opts != s1.opts {
		t.Fatal("options changed back do not share the live copy")
	}

	if s1.dialOpts != s2.dialOpts || s1.dialOpts.Header != nil || s1.dialOpts.TLSConfig != nil {
		t.Fatal("two Apps that set nothing of their own do not dial with one copy of the run's dial options")
	}
	h := http.Header{"X-App": {"1"}}
	s5 := startSession(t, &App{URL: url, Header: h}, opts)
	if s5.opts != s1.opts || s5.dialOpts == s1.dialOpts || s5.dialOpts.Header["X-App"][0] != "1" || s1.dialOpts.Header != nil {
		t.Fatal("an App's own Header: the run's options should be shared and its dial options its own")
	}
	s6 := startSession(t, &App{URL: "wss://127.0.0.1:1/"}, opts)
	s7 := startSession(t, &App{URL: "wss://127.0.0.1:1/"}, opts)
	if s6.dialOpts != s7.dialOpts || s6.dialOpts.TLSConfig == nil || s6.dialOpts.TLSConfig.ClientSessionCache == nil {
		t.Fatal("two wss Apps with the same options do not share their dial options and TLS session cache")
	}
	other := *opts
	other.TLSConfig = &tls.Config{ServerName: "other"}
	s8 := startSession(t, &App{URL: "wss://127.0.0.1:1/"}, &other)
	if s8.dialOpts.TLSConfig == s6.dialOpts.TLSConfig || s8.dialOpts.TLSConfig.ServerName != "other" ||
		s8.dialOpts.userTLS != other.TLSConfig || other.TLSConfig.ClientSessionCache != nil {
		t.Fatal("another TLSConfig: want its own copy with a cache, the given config untouched")
	}
	if s9 := startSession(t, &App{URL: "wss://127.0.0.1:1/"}, &other); s9.dialOpts.TLSConfig != s8.dialOpts.TLSConfig {
		t.Fatal("two Apps with one TLSConfig dial with two copies of it")
	}

	// Funcs are told apart by the closure, not by its code.
	retry := func(n int) func(error) (bool, time.Duration) {
		return func(error) (bool, time.Duration) { return n > 0, 0 }
	}
	r1, r2 := retry(1), retry(0)
	o1, o2 := *opts, *opts
	o1.Retry, o2.Retry = r1, r2
	a, b := startSession(t, &App{URL: url}, &o1), startSession(t, &App{URL: url}, &o2)
	if a.opts == b.opts {
		t.Fatal("two closures of one function literal were taken as equal")
	}
	if c := startSession(t, &App{URL: url}, &o1); c.opts != a.opts {
		t.Fatal("the same closure was not taken as equal")
	}
	if retry, _ := b.opts.Retry(nil); retry {
		t.Fatal("a run got another run's Retry")
	}
}

// TestIdleRunSizes checks the size classes of the App and of what every
// running App holds besides its Conn: the Session (its options are shared, not
// embedded; times are monoNow counts, not time.Time; what a failure, a stop
// or a reconnect needs is in a sessionEnd made then), the receive queue
// (its water marks are read from the run's shared options),
// the send queue (its condition variable is made by the first
// sender that waits, its buffers when a message is first queued:
// sendBufs) and, on an event loop, the loopConn (a write's state is
// pooled: loopWrite), the socket and a timer.
func TestIdleRunSizes(t *testing.T) {
	checkSizes(t, []sizeLimit{
		// The user's App: its counters are made when there is something
		// to count (appTotals).
		{"App", unsafe.Sizeof(App{}), 224},
		{"Session", unsafe.Sizeof(Session{}), 224},
		// Made when a connection fails, the run stops or reconnects.
		{"sessionEnd", unsafe.Sizeof(sessionEnd{}), 80},
		{"sendQueue", unsafe.Sizeof(sendQueue{}), 80},
		{"recvQueue", unsafe.Sizeof(recvQueue{}), 128},
		{"loopConn", unsafe.Sizeof(loopConn{}), 144},
		// What an event loop keeps of a socket in place of the runtime's
		// net.Conn (about 1.2 KiB resident with its poller descriptor).
		{"loopSocket", unsafe.Sizeof(loopSocket{}), 96},
		// A keep-alive's timer on the loop: its time a monotonic count.
		{"loopTimer", unsafe.Sizeof(loopTimer{}), 32},
		// A WebSocket over HTTP/2: its stream, and the Conn's view of it
		// (the request's credentials, for a GOAWAY's error, are the
		// connection's).
		{"h2.Stream", unsafe.Sizeof(h2.Stream{}), 384},
		{"h2Stream", unsafe.Sizeof(h2Stream{}), 24},
	})
}

// TestIdleRunMakesNothingSpare checks what an open App run on an event
// loop does without until it needs it: a reconnect schedule (made at the
// first reconnect), a copy of its context (none when it cannot end),
// Done's channel (made when asked for), its counters
// (made when a connection ends), its Conn's rare state and its send
// queue's buffers.
func TestIdleRunMakesNothingSpare(t *testing.T) {
	drop := make(chan struct{})
	var conns atomic.Int32
	srv := wstest.NewServer(func(c *wstest.Conn) {
		if c.Accept(nil) != nil {
			return
		}
		if conns.Add(1) == 1 {
			<-drop // the first connection ends when asked: a reconnect
			return
		}
		c.ReadFrame() // the client's close
	})
	defer srv.Close()
	l := runningLoop(t)
	opens := make(chan struct{}, 2)
	a := &App{URL: srv.URL}
	a.OnOpen = func(*App) { opens <- struct{}{} }
	a.OnReconnect = func(*App) { opens <- struct{}{} }
	if err := a.Run(context.Background(), &RunOptions{Dispatcher: l, Reconnect: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	s := a.sess
	a.mu.Unlock()
	onLoop := func(f func()) {
		ran := make(chan struct{})
		l.Post(func() { f(); close(ran) })
		<-ran
	}
	<-opens
	onLoop(func() {
		if s.end != nil {
			t.Errorf("a run whose first connection is open made its end state: %+v", s.end)
		}
		if s.base != background {
			t.Errorf("a run of a context that cannot end keeps %v, not that context", s.base)
		}
		if s.done.p.Load() != nil {
			t.Error("a run nobody waits for made Done's channel")
		}
		if r := s.conn.rare.Load(); r != nil {
			t.Errorf("an idle Conn made its rare state: %+v", r)
		}
		if s.conn.aside != nil {
			t.Errorf("an idle Conn made its reader's aside state: %+v", s.conn.aside)
		}
		if m := s.conn.stats.more.Load(); m != nil {
			t.Errorf("an idle Conn made the counters of compression and failures: %+v", m)
		}
		if tot := a.stats.totals.Load(); tot != nil {
			t.Errorf("an App whose first connection is open made its counters: %+v", tot)
		}
		s.out.mu.Lock()
		if s.out.b != nil {
			t.Error("a send queue that never queued made its buffers")
		}
		s.out.mu.Unlock()
	})
	close(drop)
	<-opens
	onLoop(func() {
		if s.end == nil || s.end.bo == nil {
			t.Error("reconnected without a reconnect schedule")
		}
		if st := a.Stats(); st.Reconnects != 1 || st.LastCloseCode != StatusAbnormalClosure {
			t.Errorf("after a reconnect Stats has Reconnects %d, LastCloseCode %v", st.Reconnects, st.LastCloseCode)
		}
	})
	a.Close()
	select {
	case <-s.Done():
	case <-time.After(time.Minute):
		t.Fatal("the run did not end after Close")
	}
}

// TestWeakCacheForgets: a weakCache drops the entries whose values no one
// holds as it grows, and keeps a value that is held.
func TestWeakCacheForgets(t *testing.T) {
	var c weakCache[int, tls.Config]
	kept := c.get(-1, func() *tls.Config { return &tls.Config{} })
	for round := range 20 {
		for i := range 100 {
			c.get(round*100+i, func() *tls.Config { return &tls.Config{} })
		}
		runtime.GC()
	}
	c.mu.Lock()
	n := len(c.m)
	c.mu.Unlock()
	if n > 2*101+64 {
		t.Fatalf("cache holds %d entries after 20 rounds of 100, at most 101 alive at once", n)
	}
	if c.get(-1, func() *tls.Config { return nil }) != kept {
		t.Fatal("a held value was dropped")
	}
	runtime.KeepAlive(kept)
}

// TestMonoSaturates checks the monotonic count's arithmetic at the ends of
// int64: a timer set as far ahead as a time.Duration goes stays ahead.
func TestMonoSaturates(t *testing.T) {
	const maxD, minD = time.Duration(math.MaxInt64), time.Duration(math.MinInt64)
	for _, tc := range []struct {
		now  int64
		d    time.Duration
		want int64
	}{
		{5, 7, 12},
		{5, -7, -2},
		{1, maxD, math.MaxInt64},
		{math.MaxInt64 - 3, 3, math.MaxInt64},
		{math.MaxInt64 - 3, 4, math.MaxInt64},
		{-1, minD, math.MinInt64},
		{-1, -maxD, math.MinInt64},
		{-1, maxD, math.MaxInt64 - 1},
	} {
		if got := monoAfter(tc.now, tc.d); got != tc.want {
			t.Errorf("monoAfter(%d, %d) = %d, want %d", tc.now, tc.d, got, tc.want)
		}
	}
	for _, tc := range []struct {
		now, when int64
		want      time.Duration
	}{
		{5, 12, 7},
		{12, 5, -7},
		{-1, math.MaxInt64, maxD},
		{-2, math.MaxInt64 - 1, maxD},
		{1, math.MinInt64, minD},
		{0, math.MinInt64, minD},
		{math.MaxInt64, math.MinInt64, minD},
		{math.MinInt64, math.MaxInt64, maxD},
	} {
		if got := monoUntil(tc.now, tc.when); got != tc.want {
			t.Errorf("monoUntil(%d, %d) = %d, want %d", tc.now, tc.when, got, tc.want)
		}
	}
}

// TestLoopTimerFarAhead checks that an EventLoop timer set as far ahead as
// a time.Duration goes does not fire before a near one.
func TestLoopTimerFarAhead(t *testing.T) {
	l := runningLoop(t)
	var early atomic.Bool
	stop := l.AfterFunc(math.MaxInt64, func() { early.Store(true) })
	defer stop()
	near := make(chan struct{})
	l.AfterFunc(time.Millisecond, func() { close(near) })
	<-near
	ran := make(chan struct{})
	l.Post(func() { close(ran) })
	<-ran
	if early.Load() {
		t.Fatal("a timer due in 292 years fired")
	}
}

// TestLoopTimerSetAgain: a loop timer set again runs once, at its last
// time, whether that moved it earlier or later; one set again from its own
// function runs again; of two due at once, the one set first runs first;
// stopTimer is exact on the loop's goroutine.
func TestLoopTimerSetAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewEventLoop()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- l.Run(ctx) }()
		start := time.Now()
		var ran []time.Duration
		var lt *loopTimer
		lt = newLoopTimer(func() {
			ran = append(ran, time.Since(start))
			if len(ran) == 2 {
				l.setTimer(lt, 2*time.Second) // from its own function
			}
		})
		other := newLoopTimer(func() { ran = append(ran, -time.Since(start)) })
		l.Post(func() {
			l.setTimer(other, 4*time.Second)
			l.setTimer(lt, 3*time.Second)
			l.setTimer(lt, time.Second) // earlier, ahead of other
		})
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		l.Post(func() {
			l.setTimer(lt, 2*time.Second)                  // at 3.5 s
			l.setTimer(lt, 5*time.Second)                  // later, behind other: at 6.5 s
			if !l.stopTimer(other) || l.stopTimer(other) { // on the loop: exact
				t.Error("stopTimer of a set timer: not true, then false")
			}
			l.setTimer(other, 7*time.Second) // at 8.5 s
		})
		time.Sleep(10 * time.Second)
		synctest.Wait()
		// At 8.5 s both are due: other was set first.
		want := []time.Duration{time.Second, 6500 * time.Millisecond, -8500 * time.Millisecond, 8500 * time.Millisecond}
		if fmt.Sprint(ran) != fmt.Sprint(want) {
			t.Errorf("ran at %v, want %v", ran, want)
		}
		l.Post(func() {
			if l.stopTimer(lt) {
				t.Error("stopTimer of a timer that ran = true")
			}
		})
		cancel()
		<-done
	})
}
