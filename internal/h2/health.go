package h2

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/net/http2"
)

// Liveness: a connection that has received nothing for
// Config.ReadIdleTimeout is checked with a PING, and fails when the server
// does not acknowledge it within Config.PingTimeout: a connection whose
// peer vanished without a FIN or a reset (a NAT that forgot it, a host
// that went away) would otherwise keep its WebSockets waiting, and the
// pool would keep opening new WebSockets on it.

// DefaultPingTimeout is how long a liveness PING may go unacknowledged
// when Config.PingTimeout is 0.
const DefaultPingTimeout = 15 * time.Second

// monoEpoch is the origin of monoNow's clock.
var monoEpoch = time.Now()

// monoNow reads a monotonic clock in nanoseconds, for the connection's
// timestamps (ClientConn.lastRead, Stream.creditAt): a wall clock stepped
// back or forth does not move it.
func monoNow() int64 { return int64(time.Since(monoEpoch)) }

// noteRead records that bytes arrived; the reader token's holder calls it.
func (cc *ClientConn) noteRead() {
	if cc.readIdle > 0 {
		cc.lastRead.Store(monoNow())
	}
}

// startLiveness arms the first check, once the connection is up.
func (cc *ClientConn) startLiveness() {
	if cc.readIdle <= 0 {
		return
	}
	cc.noteRead()
	cc.mu.Lock()
	if cc.err == nil {
		cc.liveTimer = time.AfterFunc(cc.readIdle, cc.checkLive)
	}
	cc.mu.Unlock()
}

// checkLive runs on the timer: when nothing arrived for readIdle it pings
// and waits for the acknowledgement, failing the connection without one;
// otherwise it waits until readIdle after the last arrival.
func (cc *ClientConn) checkLive() {
	idle := time.Duration(monoNow() - cc.lastRead.Load())
	if left := cc.readIdle - idle; left > 0 {
		cc.rearmLive(left)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), cc.pingTimeout)
	_, err := cc.Ping(ctx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			// Not a timeout error: a stream's timeout leaves it usable,
			// and this connection is gone.
			cc.fail(fmt.Errorf("websocket: http2: connection silent for %v and no PING acknowledgement within %v", cc.readIdle, cc.pingTimeout),
				true, http2.ErrCodeNo)
		}
		return // the connection failed or closed
	}
	cc.rearmLive(cc.readIdle)
}

// Probe checks the connection now, as the liveness check does after a
// silence: it pings, and fails the connection when the server does not
// acknowledge within d. Callers probe when something on the connection
// suggests the peer is gone (a WebSocket's pong, or the response to an
// extended CONNECT, did not come in time): the pool then stops opening
// WebSockets on a connection that died silently, long before
// ReadIdleTimeout would notice, while a live connection whose one stream
// is stuck answers and stays. One probe runs at a time; Probe returns at
// once, and the probe ends within d or with the connection.
func (cc *ClientConn) Probe(d time.Duration) {
	if d <= 0 || cc.Err() != nil || !cc.probing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer cc.probing.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), d)
		_, err := cc.Ping(ctx)
		cancel()
		if err != nil && ctx.Err() != nil {
			cc.fail(fmt.Errorf("websocket: http2: no PING acknowledgement within %v (a WebSocket's pong or a response was late)", d),
				true, http2.ErrCodeNo)
		}
	}()
}

// ProbeConn probes the stream's connection (ClientConn.Probe).
func (st *Stream) ProbeConn(d time.Duration) { st.cc.Probe(d) }

// rearmLive sets the next check d from now, unless the connection ended.
func (cc *ClientConn) rearmLive(d time.Duration) {
	cc.mu.Lock()
	if cc.err == nil && cc.liveTimer != nil {
		cc.liveTimer.Reset(d)
	}
	cc.mu.Unlock()
}

// stopLivenessLocked stops the checks of a connection that ended.
func (cc *ClientConn) stopLivenessLocked() {
	if cc.liveTimer != nil {
		cc.liveTimer.Stop()
	}
}
