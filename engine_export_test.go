package websocket

import "crypto/tls"

// LoopOwned reports whether an event loop's poller owns c's socket (tests
// of the event loop's engine).
func LoopOwned(c *Conn) bool { return c != nil && c.lc.Load() != nil }

// RecvQueueState reports the receive queue of a's open connection: the
// frames and payload bytes queued, whether reading is paused, and how
// many pongs were read. Call it from one of a's callbacks.
func RecvQueueState(a *App) (frames, bytes int, paused bool, pongs uint64) {
	a.mu.Lock()
	s := a.sess
	a.mu.Unlock()
	q := s.rq
	frames, bytes = q.queued()
	return frames, bytes, q.paused(), q.pongs()
}

// LoopDetached reports whether the loop's poller stopped watching c's
// socket because the peer hung up while the reading was paused.
func LoopDetached(c *Conn) bool {
	lc := c.lc.Load()
	if lc == nil {
		return false
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.detached
}

// LoopFd returns the descriptor of c's socket that its event loop owns,
// or -1.
func LoopFd(c *Conn) int {
	fd := -1
	if lc := c.lc.Load(); lc != nil {
		lc.rc.Control(func(f uintptr) { fd = int(f) })
	}
	return fd
}

// LoopBareSocket reports whether the loop holds c's socket as a bare
// descriptor, without a net.Conn.
func LoopBareSocket(c *Conn) bool {
	nc := c.netConn
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tlsSocketConn(tc)
	}
	s, ok := nc.(*loopSocket)
	return ok && s.bare()
}
