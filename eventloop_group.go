package websocket

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// EventLoopGroup is a set of event loops, one per CPU by default, among
// which Apps are spread: each App runs on one loop of the group, and every
// callback of that App runs on that loop's goroutine, one at a time, as on
// a lone EventLoop. Apps on different loops run in parallel. Create it with
// NewEventLoopGroup, give each App the loop Next returns as
// RunOptions.Dispatcher, and call Run.
type EventLoopGroup struct {
	loops []*EventLoop
	next  atomic.Uint32
}

// maxGroupLoops bounds the loops of a group: more loops than CPUs only add
// goroutines and pollers.
const maxGroupLoops = 4096

// NewEventLoopGroup returns a group of n event loops; n <= 0 means one per
// CPU (runtime.GOMAXPROCS), and n is at most 4096.
func NewEventLoopGroup(n int) *EventLoopGroup {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	n = min(n, maxGroupLoops)
	g := &EventLoopGroup{loops: make([]*EventLoop, n)}
	for i := range g.loops {
		g.loops[i] = NewEventLoop()
	}
	return g
}

// Next returns the group's loops in turn, for RunOptions.Dispatcher. Safe
// from any goroutine.
func (g *EventLoopGroup) Next() *EventLoop {
	i := g.next.Add(1) - 1
	return g.loops[i%uint32(len(g.loops))]
}

// Len returns the number of loops in the group.
func (g *EventLoopGroup) Len() int { return len(g.loops) }

// Run runs every loop of the group, each on a goroutine of its own (the
// first on the calling one), until ctx ends or Stop is called, as
// EventLoop.Run does for one loop: each loop closes its Apps and waits for
// them before Run returns. It returns ctx.Err() when ctx ended, else the
// first error of a loop, else nil.
func (g *EventLoopGroup) Run(ctx context.Context) error {
	errs := make([]error, len(g.loops))
	var wg sync.WaitGroup
	for i, l := range g.loops[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i+1] = l.Run(ctx)
		}()
	}
	errs[0] = g.loops[0].Run(ctx)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Stop stops every loop of the group (see EventLoop.Stop). Safe from any
// goroutine, also from a callback.
func (g *EventLoopGroup) Stop() {
	for _, l := range g.loops {
		l.Stop()
	}
}
