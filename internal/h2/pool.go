package h2

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultIdleTimeout is how long a Pool keeps a connection without
// streams when Pool.IdleTimeout is 0.
const DefaultIdleTimeout = 90 * time.Second

// DialFunc dials a new connection for a Pool, for example a TLS
// connection that negotiated "h2" followed by NewClientConn. Its errors
// are returned to the Pool's caller unchanged.
type DialFunc func(ctx context.Context) (*ClientConn, error)

// Pool shares HTTP/2 connections between WebSockets. Connections are kept
// under a key the caller chooses (the origin, the TLS settings and the
// proxy: whatever makes connections interchangeable). The zero Pool is
// ready to use; its methods are safe for concurrent use.
type Pool struct {
	// IdleTimeout is how long a connection without streams is kept;
	// 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration

	mu    sync.Mutex
	conns map[string][]*ClientConn
	dials map[string]*poolDial
}

// poolDial is a dial in progress; other callers for the key wait for it.
type poolDial struct {
	done chan struct{}
	err  error
}

// OpenWebSocket opens a WebSocket stream on a connection of the pool kept
// under key that can take one more stream, or on a new connection from
// dial (one dial at a time per key; concurrent callers wait for it and
// share its error, unless the error is that its caller's context ended). A
// stream refused by a connection that went away meanwhile is retried on
// another one. A new connection whose server does not support extended
// CONNECT is closed, and ErrExtendedConnectUnsupported returned. The
// results are those of ClientConn.OpenWebSocket.
func (p *Pool) OpenWebSocket(ctx context.Context, key string, dial DialFunc, req *Request) (*Response, *Stream, error) {
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
func (p *Pool) get(ctx context.Context, key string, dial DialFunc) (*ClientConn, error) {
	for {
		p.mu.Lock()
		for _, cc := range p.conns[key] {
			if cc.reserve() {
				p.mu.Unlock()
				return cc, nil
			}
			if isClosed(cc.closed) { // ended before its onDone was set
				p.removeLocked(key, cc)
			}
		}
		if d := p.dials[key]; d != nil {
			p.mu.Unlock()
			select {
			case <-d.done:
			case <-ctx.Done():
				return nil, fmt.Errorf("websocket: http2: waiting for a connection: %w", ctx.Err())
			}
			if d.err != nil && !isContextErr(d.err) {
				return nil, d.err
			}
			continue // dial again if that caller gave up, not the dial
		}
		d := &poolDial{done: make(chan struct{})}
		if p.dials == nil {
			p.dials = make(map[string]*poolDial)
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
			d.err = err
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
		cc.onDone = func(cc *ClientConn) { p.remove(key, cc) }
		live := cc.err == nil
		cc.mu.Unlock()
		p.mu.Lock()
		delete(p.dials, key)
		close(d.done)
		if live {
			if p.conns == nil {
				p.conns = make(map[string][]*ClientConn)
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

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// remove forgets a connection that has ended.
func (p *Pool) remove(key string, cc *ClientConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removeLocked(key, cc)
}

func (p *Pool) removeLocked(key string, cc *ClientConn) {
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
