package wstest

import (
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// pipeBuffer is how many bytes each direction of a pipe holds before a
// writer waits for the reader, as a socket's buffers do: a peer that stops
// reading eventually stalls the writer.
const pipeBuffer = 256 << 10

// pipe is an in-memory, buffered, full-duplex stream between two
// pipeConns. Every wait is a sync.Cond wait, which testing/synctest counts
// as durably blocking, so a bubble whose goroutines wait on a pipe is idle
// and its fake clock advances. (net.Pipe is not enough: it has no buffer,
// so two peers writing at once block each other, and a second writer on
// one end waits on a mutex, which synctest does not count as blocked.)
type pipe struct {
	mu     sync.Mutex
	cond   *sync.Cond
	buf    [2][]byte // buf[i]: written by end i, not yet read by the other end
	closed [2]bool
}

// newPipe returns the two ends of a new pipe.
func newPipe() (*pipeConn, *pipeConn) {
	p := &pipe{}
	p.cond = sync.NewCond(&p.mu)
	return &pipeConn{p: p, end: 0}, &pipeConn{p: p, end: 1}
}

// pipeConn is one end of a pipe; it implements net.Conn.
type pipeConn struct {
	p      *pipe
	end    int
	rd, wd deadline // guarded by p.mu
}

// deadline is a read or write deadline and the timer that wakes waiters
// when it passes.
type deadline struct {
	t     time.Time
	timer *time.Timer
}

func (d *deadline) passed() bool { return !d.t.IsZero() && !time.Now().Before(d.t) }

// set changes the deadline; p.mu is held.
func (d *deadline) set(p *pipe, t time.Time) {
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.t = t
	if !t.IsZero() {
		d.timer = time.AfterFunc(time.Until(t), func() {
			p.mu.Lock()
			p.cond.Broadcast()
			p.mu.Unlock()
		})
	}
	p.cond.Broadcast()
}

func (c *pipeConn) Read(b []byte) (int, error) {
	p, in := c.p, 1-c.end
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		switch {
		case p.closed[c.end]:
			return 0, net.ErrClosed
		case c.rd.passed():
			return 0, os.ErrDeadlineExceeded
		case len(p.buf[in]) > 0:
			n := copy(b, p.buf[in])
			p.buf[in] = p.buf[in][:copy(p.buf[in], p.buf[in][n:])]
			p.cond.Broadcast()
			return n, nil
		case p.closed[in]:
			return 0, io.EOF
		case len(b) == 0:
			return 0, nil
		}
		p.cond.Wait()
	}
}

func (c *pipeConn) Write(b []byte) (int, error) {
	p, out := c.p, c.end
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for {
		switch {
		case p.closed[out]:
			return n, net.ErrClosed
		case p.closed[1-out]:
			return n, io.ErrClosedPipe
		case c.wd.passed():
			return n, os.ErrDeadlineExceeded
		case len(b) == 0:
			return n, nil
		}
		if room := pipeBuffer - len(p.buf[out]); room > 0 {
			k := min(room, len(b))
			p.buf[out] = append(p.buf[out], b[:k]...)
			b, n = b[k:], n+k
			p.cond.Broadcast()
			continue
		}
		p.cond.Wait()
	}
}

// Close closes this end. Bytes it wrote before are still delivered; the
// other end then reads io.EOF and its writes fail.
func (c *pipeConn) Close() error {
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed[c.end] {
		return nil
	}
	p.closed[c.end] = true
	p.buf[1-c.end] = nil
	c.rd.set(p, time.Time{})
	c.wd.set(p, time.Time{})
	return nil
}

func (c *pipeConn) SetDeadline(t time.Time) error {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	c.rd.set(c.p, t)
	c.wd.set(c.p, t)
	return nil
}

func (c *pipeConn) SetReadDeadline(t time.Time) error {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	c.rd.set(c.p, t)
	return nil
}

func (c *pipeConn) SetWriteDeadline(t time.Time) error {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	c.wd.set(c.p, t)
	return nil
}

func (c *pipeConn) LocalAddr() net.Addr  { return pipeAddr{} }
func (c *pipeConn) RemoteAddr() net.Addr { return pipeAddr{} }

// pipeAddr is the address of both ends of a pipe.
type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "wstest.pipe" }
