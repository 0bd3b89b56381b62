// Stopping an EventLoop: Stop, StopOnSignal, the end of Run's ctx, and the
// watch of each App's close that must not wait for the loop's goroutine.

package websocket

import (
	"context"
	"os"
	"os/signal"
	"sync/atomic"
)

// Stop makes Run close its Apps (StatusGoingAway), wait for their OnClose
// and return nil. Safe from any goroutine, also from a callback; calling it
// before Run makes Run stop at once. Once Run is stopping, an App given
// the loop is refused: its Run returns an error. A callback blocked in a
// send (its server reading nothing) does not hold the stop back, nor does
// it hold back the end of Run's ctx or a signal of StopOnSignal: an App
// whose close has not begun within the close timeout (3 s) has its
// connection aborted, which ends the send; so has one whose close frame
// has not gone out by then. An App whose own close (App.CloseWith) sent
// its close frame waits for the answer as that close says.
func (l *EventLoop) Stop() {
	l.stopOnce.Do(func() {
		close(l.stopCh)
		l.watchStops()
	})
}

// watchStops is the part of stopping the loop's Apps that must not wait
// for the loop's goroutine: a callback blocked in a send (its server
// reading nothing) holds that goroutine, and the loop would never look at
// Stop, its ctx or a signal. From the goroutine that stops the loop, each
// App's run is told to dial no more, and its open connection is aborted
// if the loop has not begun closing it within the close timeout; the
// blocked send then fails, and the loop goes on to stop its Apps.
func (l *EventLoop) watchStops() {
	for _, s := range l.sessionList() {
		s.watchStop(closeTimeout, true)
	}
}

// sessionList returns the runs attached to the loop.
func (l *EventLoop) sessionList() []*Session {
	l.mu.Lock()
	defer l.mu.Unlock()
	ss := make([]*Session, 0, len(l.sessions))
	for s := range l.sessions {
		ss = append(ss, s)
	}
	return ss
}

// StopOnSignal makes the loop stop, as Stop does, when one of sig arrives
// (os.Interrupt when none is given): Python's rel.signal(2, rel.abort).
// The signals are watched from this call until Run returns; called after
// Run returned, it does nothing. For a context instead, use
// signal.NotifyContext and pass it to Run.
func (l *EventLoop) StopOnSignal(sig ...os.Signal) {
	if len(sig) == 0 {
		sig = []os.Signal{os.Interrupt}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == loopDone {
		return // Run returned (its end stops the signals after it set loopDone)
	}
	signal.Notify(l.sigCh, sig...)
	l.onSignal = true
	if l.state == loopRunning || l.state == loopStopping {
		l.watchSignalsLocked()
	}
}

// watchSignalsLocked starts, once, the goroutine that turns a signal of
// StopOnSignal into Stop until Run returns: a loop held by a blocked
// callback would never read the signal itself. l.mu is held; Run is
// running.
func (l *EventLoop) watchSignalsLocked() {
	if l.sigWatched {
		return
	}
	l.sigWatched = true
	done := l.runDone
	go func() {
		select {
		case <-l.sigCh:
			l.Stop()
		case <-done:
		}
	}()
}

// begin marks the loop running, or returns why it cannot run; it takes a
// signal of StopOnSignal that came before Run as a Stop.
func (l *EventLoop) begin() error {
	l.mu.Lock()
	switch l.state {
	case loopRunning, loopStopping:
		l.mu.Unlock()
		return errLoopRunning
	case loopDone:
		l.mu.Unlock()
		return errLoopStopped
	}
	l.state = loopRunning
	l.runDone = make(chan struct{})
	signalled := false
	if l.onSignal {
		select {
		case <-l.sigCh: // it came before Run: the Apps start no run
			signalled = true
		default:
		}
		l.watchSignalsLocked()
	}
	if h := testHookBegin.Load(); h != nil {
		(*h)(l)
	}
	l.mu.Unlock()
	if signalled {
		// Not with l.mu held: a Stop under way holds stopOnce and waits
		// for l.mu (watchStops).
		l.Stop()
	}
	return nil
}

// testHookBegin, set by tests only, runs in begin with l.mu held.
var testHookBegin atomic.Pointer[func(*EventLoop)]

// watchEnd starts watching, off the loop's goroutine, for the end of ctx
// (watchStops), and returns what Run calls as it returns: it ends that
// watch and the signals' (watchSignalsLocked).
func (l *EventLoop) watchEnd(ctx context.Context) (done func()) {
	stopWatch := func() bool { return false }
	if !l.private { // a private loop's App.Run watches its own ctx
		stopWatch = context.AfterFunc(ctx, l.watchStops)
	}
	return func() {
		stopWatch()
		signal.Stop(l.sigCh)
		close(l.runDone)
	}
}

// stopApps makes the loop refuse new Apps and stops those it has with
// StatusGoingAway.
func (l *EventLoop) stopApps() {
	l.mu.Lock()
	l.state = loopStopping
	l.mu.Unlock()
	for _, s := range l.sessionList() {
		s.Stop(StatusGoingAway)
	}
}
