//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package websocket

import (
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// loopSocket is the socket of a ws connection an event loop owns, held as
// a bare descriptor: takeSocket duplicates the descriptor of the
// *net.TCPConn or *net.UnixConn the dial made and closes that net.Conn, so
// the runtime keeps nothing for the connection (its poller's descriptor
// with two deadline timers, about 0.6 KiB outside the heap, and the
// net.Conn with its addresses, about 0.3 KiB of heap).
//
// It is the Conn's netConn from then on (or, for wss, the socket under the
// tlsSocket). Its descriptor is used under mu's read lock and closed under
// its write lock, so a Close on another goroutine cannot hand the number
// to another file while the loop reads or writes it. It keeps deadlines
// itself. Whatever needs a net.Conn — NetConn, addresses, a read or write
// outside the loop — makes one over the same socket (conn), and the loop
// moves to it (loopConn.adopt): the user's net.Conn is then the stream the
// Conn runs on, as it is off the loop, and closing it closes the
// connection.
type loopSocket struct {
	mu   sync.RWMutex
	fd   int             // -1 once closed, or once nc runs the socket
	nc   net.Conn        // the net.Conn made by conn; nil until then
	rc   syscall.RawConn // nc's
	unix bool            // a Unix socket: nc is a *net.UnixConn
	lc   *loopConn       // the loop's hold on it, for conn to hand nc over
	// The read and write deadlines (Unix nanoseconds, 0 = none) until nc
	// takes them: the loop's reads and writes never wait, so a deadline
	// only makes them fail once it has passed, as the runtime's do.
	rd, wd atomic.Int64
}

// takeSocket replaces nc, a TCP or Unix socket the library dialed, by a
// loopSocket over a duplicate of its descriptor; nc is closed. On failure
// nc is left as it was.
func takeSocket(nc net.Conn) (*loopSocket, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil, errNoSocket
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	cerr := rc.Control(func(f uintptr) { fd, err = dupCloseOnExec(int(f)) })
	if cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, err
	}
	_, unix := nc.(*net.UnixConn)
	nc.Close() // the duplicate keeps the socket open
	return &loopSocket{fd: fd, unix: unix}, nil
}

// dupCloseOnExec duplicates fd, closed on exec as the runtime's own
// descriptors are.
func dupCloseOnExec(fd int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	d, err := syscall.Dup(fd)
	if err != nil {
		return -1, os.NewSyscallError("dup", err)
	}
	syscall.CloseOnExec(d)
	return d, nil
}

// conn returns the net.Conn over the socket, making it at the first call
// (the loop then moves to it). A closed socket gets a closed net.Conn of
// its kind: a zero *net.TCPConn or *net.UnixConn, whose methods fail with
// an error; so does a socket whose net.Conn could not be made (no
// descriptor left), which the loop keeps as it is.
func (s *loopSocket) conn() net.Conn {
	s.mu.RLock()
	nc := s.nc
	s.mu.RUnlock()
	if nc != nil {
		return nc
	}
	if lc := s.lc; lc != nil { // adopt is a no-op for all callers but the first
		done := make(chan struct{})
		if lc.l.eng.post(func() { lc.adopt(s, true); close(done) }) {
			<-done
		} else {
			lc.adopt(s, false) // the I/O goroutine has returned
		}
	} else {
		s.mu.Lock()
		if !s.makeConn() && s.nc == nil {
			// No loop holds it and no net.Conn could be made: the
			// socket is of no use, and nothing else would close it.
			syscall.Close(s.fd)
			s.fd, s.nc = -1, s.closedConn()
		}
		s.mu.Unlock()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.nc == nil {
		return s.closedConn()
	}
	return s.nc
}

// bare reports whether the socket is still held without a net.Conn.
func (s *loopSocket) bare() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.nc == nil && s.fd >= 0
}

// closedConn returns a zero net.Conn of the socket's kind.
func (s *loopSocket) closedConn() net.Conn {
	if s.unix {
		return new(net.UnixConn)
	}
	return new(net.TCPConn)
}

// makeConn makes the net.Conn over the socket, which is then nc's, and
// closes the descriptor; it reports whether it did. A closed socket gets
// a closed net.Conn. mu is held.
func (s *loopSocket) makeConn() bool {
	if s.nc != nil {
		return false
	}
	if s.fd < 0 {
		s.nc = s.closedConn()
		return false
	}
	nc, rc, err := fileConn(s.fd)
	if err != nil {
		return false
	}
	syscall.Close(s.fd)
	s.fd, s.nc, s.rc = -1, nc, rc
	if d := s.rd.Load(); d != 0 {
		nc.SetReadDeadline(time.Unix(0, d))
	}
	if d := s.wd.Load(); d != 0 {
		nc.SetWriteDeadline(time.Unix(0, d))
	}
	return true
}

// netFileConn is net.FileConn; tests make it fail.
var netFileConn = net.FileConn

// fileConn returns a net.Conn over a duplicate of fd. net.FileConn turns
// TCP_NODELAY and keep-alive on with Go's own settings (15 s, 15 s, 9
// probes), over what the dial set (DialOptions.SocketOptions): they are
// read before and set back after.
func fileConn(fd int) (net.Conn, syscall.RawConn, error) {
	kept := keptSockopts(fd)
	d, err := dupCloseOnExec(fd)
	if err != nil {
		return nil, nil, err
	}
	f := os.NewFile(uintptr(d), "websocket")
	nc, err := netFileConn(f) // a duplicate of its own
	f.Close()
	if err != nil {
		return nil, nil, err
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		nc.Close()
		return nil, nil, errNoSocket
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	rc.Control(func(fd uintptr) {
		for _, o := range kept {
			setsockopt(fd, o)
		}
	})
	return nc, rc, nil
}

// keptSockopts reads the options of socket fd that net.FileConn sets:
// TCP_NODELAY, SO_KEEPALIVE and the keep-alive timing (keepAliveNames).
// An option the system does not report is left out.
func keptSockopts(fd int) []SocketOption {
	opts := make([]SocketOption, 0, 2+len(keepAliveNames))
	read := func(level, name int) {
		if v, err := syscall.GetsockoptInt(fd, level, name); err == nil {
			opts = append(opts, SocketOption{Level: level, Name: name, Value: v})
		}
	}
	read(syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
	for _, name := range keepAliveNames {
		read(syscall.IPPROTO_TCP, name)
	}
	read(syscall.SOL_SOCKET, syscall.SO_KEEPALIVE) // last: the timing is set with keep-alive still on
	return opts
}

// Close closes the socket (the net.Conn conn made, once there is one).
func (s *loopSocket) Close() error {
	s.mu.Lock()
	if nc := s.nc; nc != nil {
		s.mu.Unlock()
		return nc.Close()
	}
	defer s.mu.Unlock()
	if s.fd < 0 {
		return net.ErrClosed
	}
	err := syscall.Close(s.fd)
	s.fd = -1
	if err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}

// Reads, writes and addresses go to the net.Conn conn makes. They, and
// conn, must not be called on the loop's I/O goroutine, which conn waits
// for; the library calls none of them there (crypto/tls, on the loop, sets
// only deadlines).

func (s *loopSocket) Read(p []byte) (int, error)  { return s.conn().Read(p) }
func (s *loopSocket) Write(p []byte) (int, error) { return s.conn().Write(p) }
func (s *loopSocket) LocalAddr() net.Addr         { return s.conn().LocalAddr() }
func (s *loopSocket) RemoteAddr() net.Addr        { return s.conn().RemoteAddr() }

// SetDeadline sets both deadlines.
func (s *loopSocket) SetDeadline(t time.Time) error {
	if err := s.SetReadDeadline(t); err != nil {
		return err
	}
	return s.SetWriteDeadline(t)
}

// SetReadDeadline sets the deadline of the loop's reads.
func (s *loopSocket) SetReadDeadline(t time.Time) error {
	return s.setDeadline(&s.rd, t, net.Conn.SetReadDeadline)
}

// SetWriteDeadline sets the deadline of the loop's writes.
func (s *loopSocket) SetWriteDeadline(t time.Time) error {
	return s.setDeadline(&s.wd, t, net.Conn.SetWriteDeadline)
}

// setDeadline sets deadline d, and nc's once conn made it (d is kept for a
// send waiting for the loop: waitRoom).
func (s *loopSocket) setDeadline(d *atomic.Int64, t time.Time, set func(net.Conn, time.Time) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.nc == nil && s.fd < 0 {
		return net.ErrClosed
	}
	if t.IsZero() {
		d.Store(0)
	} else {
		d.Store(max(t.UnixNano(), 1))
	}
	if s.nc != nil {
		return set(s.nc, t)
	}
	return nil
}

// writeDeadline returns the write deadline of the loop's socket (Unix
// nanoseconds, 0 = none); 0 for a socket of the user's, which keeps its
// deadline in its own net.Conn.
func (lc *loopConn) writeDeadline() int64 {
	if r, own := lc.rc.(*loopSocketRaw); own {
		return r.wd.Load()
	}
	return 0
}

// expired reports whether deadline d has passed.
func expired(d *atomic.Int64) bool {
	t := d.Load()
	return t != 0 && time.Now().UnixNano() >= t
}

// raw returns the socket's syscall.RawConn, which the loop reads, writes
// and watches it through.
func (s *loopSocket) raw() syscall.RawConn { return (*loopSocketRaw)(s) }

// loopSocketRaw is a loopSocket's syscall.RawConn. Each call runs f once on
// the descriptor, under the read lock (the loop's functions never wait),
// or through the net.Conn's RawConn once conn made one.
type loopSocketRaw loopSocket

func (r *loopSocketRaw) Control(f func(fd uintptr)) error {
	s := (*loopSocket)(r)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.rc != nil {
		return s.rc.Control(f)
	}
	if s.fd < 0 {
		return net.ErrClosed
	}
	f(uintptr(s.fd))
	return nil
}

func (r *loopSocketRaw) Read(f func(fd uintptr) bool) error {
	return (*loopSocket)(r).use(f, &r.rd, syscall.RawConn.Read)
}

func (r *loopSocketRaw) Write(f func(fd uintptr) bool) error {
	return (*loopSocket)(r).use(f, &r.wd, syscall.RawConn.Write)
}

// use runs f once on the descriptor unless deadline d has passed, or
// through the net.Conn's RawConn (with rawUse, its Read or Write) once
// conn made one.
func (s *loopSocket) use(f func(fd uintptr) bool, d *atomic.Int64, rawUse func(syscall.RawConn, func(uintptr) bool) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fd, err := s.usableFd(d)
	switch {
	case err != nil:
		return err
	case fd < 0:
		return rawUse(s.rc, f)
	}
	f(uintptr(fd))
	return nil
}

// usableFd returns the descriptor for a use under the read lock: an error
// when the socket is closed or deadline d has passed, and -1 once conn
// made a net.Conn (s.rc), which the use goes through instead.
func (s *loopSocket) usableFd(d *atomic.Int64) (int, error) {
	switch {
	case s.rc != nil:
		return -1, nil
	case s.fd < 0:
		return -1, net.ErrClosed
	case expired(d):
		return -1, os.ErrDeadlineExceeded
	}
	return s.fd, nil
}

// writeBare is rawWrite on a bare socket: straight to the descriptor
// under the read lock, with no callback and so no state to carry. done is
// false for another socket, or once conn made a net.Conn: rawWrite then
// goes through the RawConn.
func (lc *loopConn) writeBare(b []byte) (n int, done bool, err error) {
	r, ok := lc.rc.(*loopSocketRaw)
	if !ok {
		return 0, false, nil
	}
	s := (*loopSocket)(r)
	s.mu.RLock()
	defer s.mu.RUnlock()
	fd, err := s.usableFd(&s.wd)
	switch {
	case err != nil:
		return 0, true, err
	case fd < 0:
		return 0, false, nil
	}
	n, err = writeSome(fd, b)
	return n, true, err
}

// adopt moves the loop to the net.Conn made over its socket (makeConn):
// the poller then watches the new descriptor as it watched the old (or the
// old one again, when no net.Conn could be made). On the I/O goroutine
// (poll), or on the caller's once the I/O goroutine has returned.
func (lc *loopConn) adopt(s *loopSocket, poll bool) {
	e := lc.l.eng
	lc.mu.Lock()
	s.mu.Lock()
	bare := s.nc == nil && s.fd >= 0
	if bare && poll {
		// Before the close: the socket stays open under the new
		// descriptor, and epoll drops a watch only at the socket's last
		// close, so the old number's watch would stay.
		e.p.Remove(s.fd)
	}
	s.makeConn()
	moved := s.rc != nil
	s.mu.Unlock()
	if !bare || !poll || e.conns.get(lc.fd) != lc {
		lc.mu.Unlock()
		return // nothing to move, or the loop let it go
	}
	e.conns.set(lc.fd, nil)
	lc.rc.Control(func(fd uintptr) { lc.fd = int(fd) })
	e.conns.set(lc.fd, lc)
	var err error
	if !lc.detached { // else resume watches it again
		err = lc.withFd(func(fd int) error {
			if err := e.p.Add(fd); err != nil {
				return err
			}
			if moved {
				e.p.TakeFromRuntime(fd)
			}
			return nil
		})
		if err == nil {
			err = lc.watch()
		}
	}
	lc.mu.Unlock()
	if err != nil {
		lc.c.closeSocket() // the read side reports the end
		return
	}
	if moved {
		lc.expose() // the net.Conn is NetConn's caller's to close
	}
}
