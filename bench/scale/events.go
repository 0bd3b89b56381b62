package main

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// tally counts events (connections opened, messages, pongs) from any
// goroutine and wakes a waiter once the count reaches its target.
type tally struct {
	n      atomic.Int64
	target atomic.Int64
	hit    chan struct{}
}

func newTally() *tally { return &tally{hit: make(chan struct{}, 1)} }

func (t *tally) add() {
	if t.n.Add(1) == t.target.Load() {
		select {
		case t.hit <- struct{}{}:
		default:
		}
	}
}

// events is what the connections of a mode report, from whatever goroutine
// their library calls back on.
type events struct {
	opened, msgs, pongs *tally

	sem chan struct{} // bounds the opens in flight; an open gives its slot back

	errOnce sync.Once
	err     error
	failed  chan struct{} // closed at the first failure
}

func newEvents(dialers int) *events {
	return &events{
		opened: newTally(),
		msgs:   newTally(),
		pongs:  newTally(),
		sem:    make(chan struct{}, dialers),
		failed: make(chan struct{}),
	}
}

// openDone records one connection as open and frees its open slot.
func (e *events) openDone() {
	e.opened.add()
	<-e.sem
}

// fail records a failure of any connection; the run stops at the first.
func (e *events) fail(err error) {
	if err == nil {
		err = errClosed
	}
	e.errOnce.Do(func() {
		e.err = err
		close(e.failed)
	})
}

var (
	errTimeout = errors.New("timed out")
	errClosed  = errors.New("connection closed")
)

// await waits until t has counted target events, a connection has failed,
// or timeout has passed.
func (e *events) await(t *tally, target int64, timeout time.Duration, what string) error {
	t.target.Store(target)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for t.n.Load() < target {
		select {
		case <-t.hit:
		case <-e.failed:
			return fmt.Errorf("%s: %w", what, e.err)
		case <-deadline.C:
			return fmt.Errorf("%s: %w after %v with %d of %d", what, errTimeout, timeout, t.n.Load(), target)
		}
	}
	return nil
}
