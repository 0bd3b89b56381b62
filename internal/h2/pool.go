package h2

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultIdleTimeout is how long a Pool keeps a connection without
// streams when Pool.IdleTimeout is 0.
const DefaultIdleTimeout = 90 * time.Second

// DefaultMaxConnsPerKey is how many connections a Pool keeps under one key
// when Pool.MaxConnsPerKey is 0: with servers' usual 100 or more concurrent
// streams, thousands of WebSockets, while a server that allows few streams
// per connection cannot make one origin cost unbounded connections.
const DefaultMaxConnsPerKey = 16

// DialFunc dials a new connection for a Pool, for example a TLS
// connection that negotiated "h2" followed by NewClientConn. Its errors
// are returned to the Pool's caller unchanged.
type DialFunc func(ctx context.Context) (*ClientConn, error)

// Key says which connections of a Pool are interchangeable: Name (the
// origin and the proxy, say) and TLS, the configuration a connection was
// verified with. The configuration is a pointer in the key, not text: while
// a connection is kept under the key, the key keeps the configuration
// alive, so a later configuration made at the same address cannot take
// a connection that was verified under another one.
type Key struct {
	Name string
	TLS  *tls.Config
	// Roots, when not nil, are the certificate roots a connection under
	// the key was verified against beside TLS (roots the caller adds to
	// a configuration without its own): connections verified under
	// other roots are not interchangeable.
	Roots *x509.CertPool
}

// Pool shares HTTP/2 connections between WebSockets. Connections are kept
// under a Key the caller chooses (whatever makes connections
// interchangeable). The zero Pool is
// ready to use; its methods are safe for concurrent use.
type Pool struct {
	// IdleTimeout is how long a connection without streams is kept;
	// 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxConnsPerKey bounds the connections kept under one key that can
	// still take streams (live, without GOAWAY), counting a dial in
	// progress; 0 means DefaultMaxConnsPerKey, negative means no bound.
	// When all of them are at the server's stream limit, OpenWebSocket
	// waits for a slot until its context ends.
	MaxConnsPerKey int

	// slotWait counts callers waiting for a slot; slotFree is closed (and
	// replaced) when a slot may have become free while one waits.
	slotWait atomic.Int32
	slotFree atomic.Pointer[chan struct{}]

	mu    sync.Mutex
	conns map[Key][]*ClientConn
	dials map[Key]*poolDial
}

// poolDial is a dial in progress; other callers for the key wait for it.
type poolDial struct {
	done chan struct{}
	err  error
	// gaveUp: the dial failed once its caller's context had ended (the
	// caller gave up, or its own bound fired, which err may not say as a
	// context error): the callers waiting for it dial again.
	gaveUp bool
}

// OpenWebSocket opens a WebSocket stream on a connection of the pool kept
// under key that can take one more stream, or on a new connection from
// dial (one dial at a time per key; concurrent callers wait for it and
// share its error, unless the error is that its caller's context ended).
// At MaxConnsPerKey connections that are all full it waits for a slot. A
// stream refused by a connection that went away meanwhile is retried on
// another one. A new connection whose server does not support extended
// CONNECT is closed, and ErrExtendedConnectUnsupported returned. The
// results are those of ClientConn.OpenWebSocket.
func (p *Pool) OpenWebSocket(ctx context.Context, key Key, dial DialFunc, req *Request) (*Response, *Stream, error) {
	var err error
	for range 3 {
		var cc *ClientConn
		cc, err = p.get(ctx, key, dial)
		if err != nil {
			return nil, nil, err
		}
		var resp *Response
		var st *Stream
		resp, st, err = cc.open(ctx, req, true)
		if !errors.Is(err, ErrRefused) || ctx.Err() != nil {
			return resp, st, err
		}
	}
	return nil, nil, err
}

// get returns a connection for key with a stream slot reserved.
func (p *Pool) get(ctx context.Context, key Key, dial DialFunc) (*ClientConn, error) {
	var free <-chan struct{} // while waiting for a slot
	for {
		p.mu.Lock()
		counted := 0
		for _, cc := range p.conns[key] {
			if cc.reserve() {
				p.mu.Unlock()
				if free != nil {
					p.slotWait.Add(-1)
				}
				return cc, nil
			}
			if isClosed(cc.closed) { // ended before its onDone was set
				p.removeLocked(key, cc)
			}
			cc.mu.Lock()
			if cc.countsLocked() {
				counted++
			}
			cc.mu.Unlock()
		}
		if limit := p.maxConns(); limit > 0 && counted >= limit && p.dials[key] == nil {
			if free == nil {
				// Registered first, then the scan again: a slot freed
				// after it closes the channel taken here.
				p.slotWait.Add(1)
				free = p.slotChan()
				p.mu.Unlock()
				continue
			}
			p.mu.Unlock()
			select {
			case <-free:
				free = p.slotChan()
				continue
			case <-ctx.Done():
				p.slotWait.Add(-1)
				return nil, fmt.Errorf("websocket: http2: waiting for a stream slot: the %d connections of the pool to this origin are at the server's limit of concurrent streams: %w", limit, ctxErr(ctx))
			}
		}
		if free != nil {
			p.slotWait.Add(-1)
			free = nil
		}
		if d := p.dials[key]; d != nil {
			p.mu.Unlock()
			select {
			case <-d.done:
			case <-ctx.Done():
				return nil, fmt.Errorf("websocket: http2: waiting for a connection: %w", ctxErr(ctx))
			}
			if d.err != nil && !d.gaveUp && !isContextErr(d.err) {
				return nil, d.err
			}
			continue // dial again if that caller gave up, not the dial
		}
		d := &poolDial{done: make(chan struct{})}
		if p.dials == nil {
			p.dials = make(map[Key]*poolDial)
		}
		p.dials[key] = d
		p.mu.Unlock()

		cc, err := dial(ctx)
		if err == nil && !cc.SupportsExtendedConnect() {
			cc.Close()
			err = ErrExtendedConnectUnsupported
		}
		if err != nil {
			p.mu.Lock()
			delete(p.dials, key)
			d.err, d.gaveUp = err, ctx.Err() != nil
			close(d.done)
			p.mu.Unlock()
			return nil, err
		}
		idle := p.IdleTimeout
		if idle <= 0 {
			idle = DefaultIdleTimeout
		}
		// The dialer takes its slot before the waiters see the connection.
		ok := cc.reserve()
		cc.mu.Lock()
		cc.idleTimeout = idle
		cc.onDone = func(cc *ClientConn) { p.remove(key, cc); p.slotFreed() }
		cc.onSlot = p.slotFreed
		if !ok {
			// It takes no stream now (a server that allows none): it
			// goes after IdleTimeout unless one comes, as any idle one.
			cc.checkIdleLocked()
		}
		live := cc.err == nil
		cc.mu.Unlock()
		p.mu.Lock()
		delete(p.dials, key)
		close(d.done)
		if live {
			if p.conns == nil {
				p.conns = make(map[Key][]*ClientConn)
			}
			p.conns[key] = append(p.conns[key], cc)
		}
		p.mu.Unlock()
		if !ok {
			return nil, wrap("websocket: http2: a new connection cannot take a stream", ErrRefused)
		}
		return cc, nil
	}
}

// maxConns is the cap on connections per key; 0 means none.
func (p *Pool) maxConns() int {
	switch {
	case p.MaxConnsPerKey < 0:
		return 0
	case p.MaxConnsPerKey == 0:
		return DefaultMaxConnsPerKey
	}
	return p.MaxConnsPerKey
}

// slotChan returns the channel that the next freed slot closes.
func (p *Pool) slotChan() <-chan struct{} {
	for {
		if ch := p.slotFree.Load(); ch != nil {
			return *ch
		}
		ch := make(chan struct{})
		if p.slotFree.CompareAndSwap(nil, &ch) {
			return ch
		}
	}
}

// slotFreed wakes the callers waiting for a slot, if any. It takes no
// lock: connections call it holding theirs.
func (p *Pool) slotFreed() {
	if p.slotWait.Load() == 0 {
		return
	}
	if ch := p.slotFree.Swap(nil); ch != nil {
		close(*ch)
	}
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// remove forgets a connection that has ended.
func (p *Pool) remove(key Key, cc *ClientConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removeLocked(key, cc)
}

func (p *Pool) removeLocked(key Key, cc *ClientConn) {
	var list []*ClientConn
	for _, c := range p.conns[key] {
		if c != cc {
			list = append(list, c)
		}
	}
	if len(list) == 0 {
		delete(p.conns, key)
	} else {
		p.conns[key] = list
	}
}

// Len returns the number of connections the pool holds.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.conns {
		n += len(l)
	}
	return n
}

// Close closes every connection of the pool. The pool stays usable.
func (p *Pool) Close() {
	p.mu.Lock()
	var all []*ClientConn
	for _, l := range p.conns {
		all = append(all, l...)
	}
	p.mu.Unlock()
	for _, cc := range all {
		cc.Close()
	}
}
