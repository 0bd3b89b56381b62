package websocket

import (
	"container/heap"
	"context"
	"errors"
	"os"
	"sync"
	"time"
)

// Dispatcher runs the callbacks, timers and blocking operations of the Apps
// given to it through RunOptions.Dispatcher: Python's dispatcher argument
// (such as `rel`). With a Dispatcher, App.RunForever and App.Run register
// the App and return at once; the dispatcher drives it from then on.
//
// An App is an event-driven state machine. Its state changes only inside
// functions it hands to Post and AfterFunc, so a dispatcher that runs those
// functions one at a time on one goroutine gets every callback of every App
// it drives on that goroutine, one at a time, with no locking in user code.
// Everything that blocks — dialing, one connection's read loop (which reads
// ahead into a bounded receive queue, answering pings, and Posts a function
// that hands the queued frames to the callbacks one per turn), sending a
// ping, the closing handshake — is handed to Go, and never runs on the
// dispatcher's goroutine.
//
// A Dispatcher must keep these rules:
//
//   - Attach is called once per run, before any other call for it; an error
//     (a dispatcher that has stopped) makes Run/RunForever return it.
//   - Post and AfterFunc functions must run one at a time, never inline in
//     the call that queued them, and in the order they were posted (timers:
//     once due, in due order). Post must not block, and must run every
//     function it accepted (it reports false for one it refused, after the
//     dispatcher shut down) at least until every attached Session is done:
//     the App's read loop, paused on a full receive queue, waits for the
//     posted functions to drain it.
//   - Detach is called from a posted function once the run is over (its
//     last callback has returned); Session.Done is closed right after. When
//     Post refuses the run's first function, App.Run calls Detach itself,
//     closes Done (Err is the refusal) and returns the refusal.
//   - Go runs f on another goroutine (or a pool); the dispatcher's own Run
//     should wait for these functions before returning, so that no goroutine
//     outlives it. The library calls Go and AfterFunc only from the
//     dispatcher's goroutine (a close begun from another goroutine runs on
//     a goroutine of its own), Post from any.
//   - To shut down, a dispatcher calls Session.Stop on each attached session
//     and keeps dispatching until each has been detached.
//
// Scaling: with a custom Dispatcher each open connection costs one
// goroutine parked in Go's netpoller while it waits for a frame (as in
// net/http), plus one per in-flight dial or close. A dispatcher that wants
// fewer goroutines can run Go's functions on a bounded pool; the read loops
// need one worker each while their connections are open. *EventLoop needs
// none: see its documentation.
//
// *EventLoop is the library's Dispatcher. A custom one can, for example, run
// callbacks on a GUI or game main thread: Post sends to its queue, AfterFunc
// wraps time.AfterFunc around Post, Go is `go f()` with a WaitGroup.
type Dispatcher interface {
	// Attach registers a run; it returns an error if the dispatcher
	// accepts no more work.
	Attach(s *Session) error
	// Detach unregisters a run that is over.
	Detach(s *Session)
	// Post queues f to run on the dispatcher's goroutine. Safe for
	// concurrent use; it never blocks and never runs f itself. It reports
	// false, dropping f, when the dispatcher has shut down.
	Post(f func()) bool
	// AfterFunc runs f on the dispatcher's goroutine once d has passed.
	// stop cancels it and reports whether it did so before f ran.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
	// Go runs the blocking operation f off the dispatcher's goroutine.
	Go(f func())
}

// EventLoop is a Dispatcher that runs every callback of all its Apps on the
// goroutine that calls Run, one at a time. Its timers are a heap served by
// that goroutine (no goroutine per timer). Create it with NewEventLoop; to
// use many cores, see EventLoopGroup.
//
// On Linux (epoll), macOS and the BSDs (kqueue) the loop also owns the
// sockets of its ws and wss connections, served by one more goroutine of the loop
// (its I/O goroutine, started with its first such connection): it waits
// for them to be readable, reads them into one buffer it shares between
// them, answers the servers' pings, and writes without blocking (what a
// socket does not take is queued and written when it turns writable), so
// an open connection costs no goroutine, and automatic pings, pong
// deadlines, close timeouts and reconnect waits are timers on the loop.
// The frames read wait in each App's receive queue (RunOptions.RecvQueue*)
// for the callbacks, which stay on Run's goroutine: a slow callback holds
// up the callbacks and timers of the loop's Apps, not the reading of their
// connections. When a queue is full its connection is not read (TCP holds
// the server back) and its pong deadline pauses, until the callbacks have
// taken the queue down to its low water mark. Dials run on a pool of at
// most 64 goroutines; when none of them finishes a dial for a quarter of a
// second (servers that accept and never answer), the dials waiting for
// them get a goroutine each, and an attempt's HandshakeTimeout counts its
// wait. The loop writes what the socket takes and queues the rest; a data
// message's send waits while more than RunOptions.SendQueueBytes (at most
// 8 MiB) is queued, as a send off the loop waits for the socket, so a slow
// server slows its senders and App.Buffered tells it. A send that waits
// out DialOptions.Timeout (or, without one, the write deadline set on the
// App's Conn) fails the connection, as a send that times out does, with a
// *net.OpError that matches os.ErrDeadlineExceeded; so does a frame that
// finds 16 MiB queued (the library's own frames do not wait; the close
// frame is never refused). A deadline set on the net.Conn of a socket the
// user gave (DialOptions.NetConn) does not bound the wait. When the
// server sends its close while bytes wait for its socket, they go out
// before the echo, and the connection ends once they have, or at the
// close timeout (3 s), as off the loop. The pong
// deadline of PingTimeout usually notices a peer that stopped reading
// first. For wss the TLS handshake runs during the dial; the
// loop then reads the ciphertext and crypto/tls decrypts it without
// blocking. The loop holds a socket it dialed itself as a bare descriptor,
// with nothing of Go's net package or poller kept for it, until
// Conn.NetConn (or an address) asks for a net.Conn: the first call makes
// one over the same socket, which the loop then uses, so closing it closes
// the connection. A TCP or Unix socket given as NetConn or returned by
// NetDialContext is read through its own net.Conn. Closing such a net.Conn
// ends the connection as it does off the loop (OnError, OnClose 1006): the
// loop looks for such closes ten times a second while it serves any. TLS inside an https
// proxy's TLS, TLS 1.2 whose TLSConfig allows renegotiation, HTTP/2
// streams, other streams given as NetConn, and every connection on other
// platforms are read by a goroutine each, as with a custom Dispatcher.
type EventLoop struct {
	mu       sync.Mutex
	queue    []func()
	spare    []func()
	timers   timerHeap
	timerSeq uint64
	sessions map[*Session]struct{}
	state    loopState
	wake     chan struct{} // a Post or AfterFunc happened
	stopCh   chan struct{} // Stop was called
	stopOnce sync.Once
	sigCh    chan os.Signal
	// StopOnSignal was called (onSignal), and its goroutine runs until
	// runDone, closed when Run returns (sigWatched); guarded by mu.
	onSignal, sigWatched bool
	runDone              chan struct{}
	wg                   sync.WaitGroup // functions started by Go
	// private: the loop of one App run without a Dispatcher (App.Run),
	// which stops once that run is detached.
	private bool

	// The engine (conn_loop.go), made with its I/O goroutine when the
	// loop takes over its first socket.
	eng    *engine
	noPoll bool // no poller on this platform

	// The dial pool (goDial): at most maxDialers goroutines dial, the
	// other dials wait in dialQ. dialsDone counts the dials that ended;
	// while dials wait, a check (checkDials) is armed (dialCheck) that
	// compares it with dialsSeen.
	dmu                  sync.Mutex
	dialers              int
	dialQ                []func()
	dialsDone, dialsSeen uint64
	dialCheck            bool
}

type loopState uint8

const (
	loopIdle loopState = iota
	loopRunning
	loopStopping // Run is stopping its Apps: Attach refuses
	loopDone     // shut down: Attach and Post refuse
)

var (
	errLoopStopped       = errors.New("websocket: event loop has stopped")
	errLoopStopping      = errors.New("websocket: event loop is stopping")
	errLoopRunning       = errors.New("websocket: event loop is already running")
	errDispatcherRefused = errors.New("websocket: the dispatcher refused to start the run")
)

// NewEventLoop returns an event loop ready to have Apps attached (through
// RunOptions.Dispatcher) before or while Run runs.
func NewEventLoop() *EventLoop {
	return &EventLoop{
		sessions: map[*Session]struct{}{},
		wake:     make(chan struct{}, 1),
		stopCh:   make(chan struct{}),
		sigCh:    make(chan os.Signal, 1),
	}
}

// Attach implements Dispatcher.
func (l *EventLoop) Attach(s *Session) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch l.state {
	case loopStopping:
		return errLoopStopping // it would wait for an App no one stops
	case loopDone:
		return errLoopStopped
	}
	l.sessions[s] = struct{}{}
	return nil
}

// Detach implements Dispatcher.
func (l *EventLoop) Detach(s *Session) {
	l.mu.Lock()
	delete(l.sessions, s)
	idle := l.private && len(l.sessions) == 0
	l.mu.Unlock()
	if idle {
		l.Stop()
	}
}

// Post implements Dispatcher.
func (l *EventLoop) Post(f func()) bool {
	if !l.postQuiet(f) {
		return false
	}
	l.signal()
	return true
}

// postQuiet is Post without waking the loop: the engine's I/O goroutine
// wakes it once for all it posted while serving one poll's descriptors.
func (l *EventLoop) postQuiet(f func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == loopDone {
		return false
	}
	l.queue = append(l.queue, f)
	return true
}

// AfterFunc implements Dispatcher.
func (l *EventLoop) AfterFunc(d time.Duration, f func()) (stop func() bool) {
	t := newLoopTimer(f)
	l.setTimer(t, d)
	return func() bool { return l.stopTimer(t) }
}

// setTimer makes t's function run on the loop's goroutine once d has
// passed, or moves it there if it is set. A timer that fired or was
// stopped may be set again: a run's keep-alive sets the same two at every
// ping, which then allocates nothing (runTimer).
func (l *EventLoop) setTimer(t *loopTimer, d time.Duration) {
	when := monoAfter(monoNow(), d)
	l.mu.Lock()
	l.timerSeq++
	t.when, t.seq = when, l.timerSeq
	if t.index >= 0 { // set already: it moves (the heap must hold it once)
		heap.Fix(&l.timers, t.index)
	} else {
		heap.Push(&l.timers, t)
	}
	l.mu.Unlock()
	l.signal()
}

// stopTimer keeps t from running and reports whether it was set. Called on
// the loop's goroutine, where timers run, it is exact: false means t's
// function has run.
func (l *EventLoop) stopTimer(t *loopTimer) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&l.timers, t.index)
	return true
}

// Go implements Dispatcher: f runs on a new goroutine that Run waits for
// (once Run has shut down, on one that nothing waits for: a close begun
// from another goroutine may come that late). Unlike the interface's, it
// may be called from any goroutine.
func (l *EventLoop) Go(f func()) {
	l.mu.Lock()
	done := l.state == loopDone // Run's wait for the goroutines has begun, or is about to
	if !done {
		l.wg.Add(1)
	}
	l.mu.Unlock()
	if done {
		go f()
		return
	}
	go func() {
		defer l.wg.Done()
		f()
	}()
}

// goFromAnyGoroutine marks Go as safe from any goroutine (anyGoroutineGo).
func (l *EventLoop) goFromAnyGoroutine() {}

// dialPool is what a Dispatcher implements to run the dials of its Apps on
// a bounded pool instead of a goroutine each.
type dialPool interface{ goDial(dial func()) }

// maxDialers bounds the goroutines an EventLoop dials on: opening many
// Apps at once neither starts a goroutine each nor leaves their grown
// stacks behind.
const maxDialers = 64

// dialStall is how long the loop's dialers may all go without finishing a
// dial while others wait before the waiting dials get a goroutine each:
// dials stalled by servers that accept and never answer must not hold
// back the dials of other Apps (whose HandshakeTimeout counts from the
// attempt's start, the wait included).
const dialStall = 250 * time.Millisecond

// goDial runs dial on the loop's dial pool, as Go would.
func (l *EventLoop) goDial(dial func()) {
	l.dmu.Lock()
	if l.dialers == maxDialers {
		l.dialQ = append(l.dialQ, dial)
		if !l.dialCheck {
			l.dialCheck, l.dialsSeen = true, l.dialsDone
			time.AfterFunc(dialStall, l.checkDials)
		}
		l.dmu.Unlock()
		return
	}
	l.dialers++
	l.dmu.Unlock()
	l.Go(func() {
		for dial != nil {
			dial()
			l.dmu.Lock()
			l.dialsDone++
			dial = nil
			if len(l.dialQ) > 0 {
				dial = l.dialQ[0]
				l.dialQ[0] = nil
				l.dialQ = l.dialQ[1:]
			} else {
				l.dialers--
				l.dialQ = nil
			}
			l.dmu.Unlock()
		}
	})
}

// checkDials runs dialStall after a dial began to wait: when no dial ended
// meanwhile, the waiting ones each get a goroutine of their own; otherwise
// it looks again later while dials wait.
func (l *EventLoop) checkDials() {
	l.dmu.Lock()
	var stalled []func()
	switch {
	case len(l.dialQ) == 0:
		l.dialCheck = false
	case l.dialsDone == l.dialsSeen:
		stalled, l.dialQ, l.dialCheck = l.dialQ, nil, false
	default:
		l.dialsSeen = l.dialsDone
		time.AfterFunc(dialStall, l.checkDials)
	}
	l.dmu.Unlock()
	for _, dial := range stalled {
		l.Go(dial)
	}
}

func (l *EventLoop) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run dispatches until ctx ends (it returns ctx.Err()) or Stop is called
// (nil). Before returning it stops every App on the loop with
// StatusGoingAway, keeps dispatching until each has run its last OnClose,
// and waits for the loop's background operations, so that no callback runs
// and no goroutine of the loop is left after it returns. A loop runs once.
func (l *EventLoop) Run(ctx context.Context) error {
	if err := l.begin(); err != nil {
		return err
	}
	defer l.watchEnd(ctx)()

	var result error
	stopping := false
	ctxDone, stopCh := ctx.Done(), l.stopCh
	var wait *time.Timer // the next timer
	// A loop stopped (or a ctx ended) before Run starts its Apps' runs
	// never: the stop is seen before the first queued start, not after a
	// dial that start began had time to open.
	end := func(err error) {
		result = err
		ctxDone, stopCh = nil, nil
		stopping = true
		l.stopApps()
	}
	select {
	case <-ctxDone:
		end(ctx.Err())
	case <-stopCh:
		end(nil)
	default:
	}
	l.dispatch(func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return stopping && len(l.sessions) == 0
	}, func(next time.Duration, timed, busy bool) {
		if busy {
			// Work is queued: only look, without waiting, for the
			// end of the run, which a queue that never empties (a
			// flood read faster than its callbacks take it) must not
			// hold back.
			select {
			case <-ctxDone:
				end(ctx.Err())
			case <-stopCh:
				end(nil)
			default:
			}
			return
		}
		var tc <-chan time.Time
		if timed {
			if wait == nil {
				wait = time.NewTimer(next)
			} else {
				wait.Reset(next)
			}
			defer wait.Stop()
			tc = wait.C
		}
		select {
		case <-l.wake:
		case <-tc:
		case <-ctxDone:
			end(ctx.Err())
		case <-stopCh:
			end(nil)
		}
	})
	return result
}

// dispatch runs queued functions and due timers until finished reports
// true, calling block to wait for more work, then shuts the loop down.
// When a timer is set (timed), block waits at most next, the time until
// the first is due. While work is queued (busy) block is called after
// every turn too, and must not wait: it only looks for the run's end.
func (l *EventLoop) dispatch(finished func() bool, block func(next time.Duration, timed, busy bool)) {
	for {
		l.mu.Lock()
		fs := l.queue
		l.queue = l.spare[:0]
		l.mu.Unlock()
		for i, f := range fs {
			f()
			fs[i] = nil
		}
		l.spare = fs[:0]
		l.runDueTimers()
		if finished() {
			break
		}
		l.mu.Lock()
		more := len(l.queue) > 0
		var next int64
		timed := len(l.timers) > 0
		if timed {
			next = l.timers[0].when
		}
		l.mu.Unlock()
		if more {
			block(0, false, true)
			continue
		}
		block(monoUntil(monoNow(), next), timed, false)
	}
	l.mu.Lock()
	l.state = loopDone
	l.queue = nil
	l.timers = nil
	l.mu.Unlock()
	if l.eng != nil {
		l.eng.stop()
	}
	l.wg.Wait()
}

// runDueTimers runs the timers whose time has come, in due order.
func (l *EventLoop) runDueTimers() {
	now := monoNow()
	for {
		l.mu.Lock()
		if len(l.timers) == 0 || l.timers[0].when > now {
			l.mu.Unlock()
			return
		}
		t := heap.Pop(&l.timers).(*loopTimer)
		l.mu.Unlock()
		t.f()
	}
}

// loopTimer is a timer of the loop: an AfterFunc's, or one that its owner
// sets again and again (setTimer). index is its place in the heap, -1 while
// it is not set.
type loopTimer struct {
	when  int64  // monoNow() when it is due
	seq   uint64 // ties are broken in the order the timers were set
	f     func()
	index int
}

// newLoopTimer returns a timer that runs f, not set.
func newLoopTimer(f func()) *loopTimer { return &loopTimer{f: f, index: -1} }

type timerHeap []*loopTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].when == h[j].when {
		return h[i].seq < h[j].seq
	}
	return h[i].when < h[j].when
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*loopTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}
