//go:build unix

package websocket

import (
	"crypto/tls"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
)

// A wss connection runs crypto/tls over a tlsSocket, which does two things
// crypto/tls cannot be asked to do:
//
//   - With BusyPollOn, reads busy-poll as a plain connection's do
//     (busyReader), once the Conn switches them on at its first bytes
//     (newSocketReader).
//   - A large write goes to the socket in one system call rather than one
//     per TLS record: crypto/tls seals a write as records of up to 16 KiB
//     and writes each at once, so a 64 KiB frame took four write(2) calls,
//     which were 57% of a 64 KiB wss send's CPU time, as many as the peers
//     pay. writeStream gathers the sealed records of one write and sends
//     them together.
//
// And on an event loop that owns the socket (conn_loop_tls.go), it is the
// loop's: it reads the records the loop read and writes without blocking.

// tlsTransport returns the stream a TLS client with cfg should run over nc:
// for a TCP or Unix socket a tlsSocket; nc itself otherwise.
func tlsTransport(nc net.Conn, cfg *tls.Config) net.Conn {
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
		return &tlsSocket{Conn: nc, renegotiates: cfg.Renegotiation != tls.RenegotiateNever}
	}
	return nc
}

// tlsSocket is a TCP or Unix socket under crypto/tls. It reads as the
// socket does (the handshake, a Conn that does not spin) until
// newSocketReader gives it a busyReader; crypto/tls then reads its records
// through that. Its writes go straight to the socket, except during
// writeStream, which gathers them.
type tlsSocket struct {
	net.Conn
	b    atomic.Pointer[busyReader]
	spin bool // the read in progress may spin; set by tlsReader under tls.Conn's read
	// renegotiates: the config lets a TLS 1.2 server renegotiate, a
	// handshake inside tls.Conn.Read, which cannot run on an event loop.
	renegotiates bool
	// lastRead is the length of crypto/tls's last read of the socket
	// (tlsHolds): written by Read, read by the Conn's reader between its
	// reads of the tls.Conn (readMu orders them).
	lastRead int32
	// raw is the socket's RawConn for tlsHolds, made when first asked;
	// the reader's, as lastRead. An event loop that takes the socket over
	// closes it (setTLSSocket): a Conn on a loop asks the loop's instead.
	raw *syscall.RawConn

	wmu    sync.Mutex // guards gather: an alert may be written by another goroutine
	gather *[]byte    // records being gathered (writeStream), nil when not

	lc atomic.Pointer[loopConn] // the event loop that owns the socket, if one does
}

// Read reads the socket for crypto/tls.
func (s *tlsSocket) Read(p []byte) (int, error) {
	if lc := s.lc.Load(); lc != nil {
		return lc.readTLS(p)
	}
	var n int
	var err error
	if b := s.b.Load(); b != nil {
		n, err = b.read(p, s.spin)
	} else {
		n, err = s.Conn.Read(p)
	}
	s.lastRead = int32(min(n, math.MaxInt32))
	return n, err
}

// tlsHolds returns how many bytes of tc's stream have arrived and not been
// read from it yet, as far as can be told without crypto/tls, which cannot
// be asked what it holds: what the socket holds, and crypto/tls's last read
// of the socket, which it made for a record it could not complete yet and
// has been opening since. It is an estimate: ciphertext is a little longer
// than its plaintext, what crypto/tls held before that read (less than a
// record) is not counted, and what it opened since may have been read
// already. A message's buffer may be sized to it (Conn.growth), within the
// frame's length and the read limit. Where the socket cannot tell (only
// Linux's can), crypto/tls's last read alone.
func tlsHolds(tc *tls.Conn) int {
	if s, ok := tc.NetConn().(*tlsSocket); ok {
		return s.available()
	}
	return 0
}

// available is tlsHolds of the stream over s. The socket is asked through
// its RawConn, made at the first question (a large message's first growth)
// and kept.
func (s *tlsSocket) available() int {
	if s.raw == nil {
		sc, ok := s.Conn.(syscall.Conn)
		if !ok {
			return int(s.lastRead)
		}
		rc, err := sc.SyscallConn()
		if err != nil {
			return int(s.lastRead)
		}
		s.raw = &rc
	}
	return int(s.lastRead) + socketHolds(*s.raw)
}

// Write writes a sealed record, or gathers it during writeStream.
func (s *tlsSocket) Write(p []byte) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.gather == nil {
		return s.write(p)
	}
	g := *s.gather
	if len(g)+len(p) > cap(g) {
		if err := s.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > cap(g) {
			return s.write(p)
		}
		g = (*s.gather)[:0]
	}
	*s.gather = append(g, p...)
	return len(p), nil
}

// flushLocked writes the gathered records; wmu is held.
func (s *tlsSocket) flushLocked() error {
	g := *s.gather
	*s.gather = g[:0]
	if len(g) == 0 {
		return nil
	}
	_, err := s.write(g)
	return err
}

// write writes p to the socket: without blocking when an event loop owns
// it (what the socket does not take is queued on the loop). wmu is held.
func (s *tlsSocket) write(p []byte) (int, error) {
	if lc := s.lc.Load(); lc != nil {
		if err := lc.writeSocket(p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return s.Conn.Write(p)
}

// Close closes the socket; an event loop that owns it stops watching it
// first (loopConn.closing), as the descriptor may be reused at once.
func (s *tlsSocket) Close() error {
	if lc := s.lc.Load(); lc != nil {
		lc.closing()
	}
	return s.Conn.Close()
}

// loopTLSSocket returns the socket under tc when an event loop can own it:
// tc runs over a tlsSocket (a TCP or Unix socket), and no renegotiation
// can come; nil otherwise.
func loopTLSSocket(tc *tls.Conn) syscall.Conn {
	s, _ := tc.NetConn().(*tlsSocket)
	if s == nil || s.renegotiates && tc.ConnectionState().Version < tls.VersionTLS13 {
		return nil
	}
	return s
}

// startTLS makes tc's tlsSocket the loop's: from now on crypto/tls reads
// what the loop hands it and writes through writeSocket. The loop's
// goroutine only, before any read of the loop.
func (lc *loopConn) startTLS(tc *tls.Conn) {
	lc.tls = &loopTLS{tc: tc}
	tc.NetConn().(*tlsSocket).lc.Store(lc)
}

// tlsSocketConn returns the socket under tc's tlsSocket; nil when tc runs
// over another stream.
func tlsSocketConn(tc *tls.Conn) net.Conn {
	if s, ok := tc.NetConn().(*tlsSocket); ok {
		return s.Conn
	}
	return nil
}

// setTLSSocket puts nc, a loopSocket or the net.Conn made from one, under
// tc's tlsSocket; takeConn only, before anything else can use tc.
func setTLSSocket(tc *tls.Conn, nc net.Conn) { tc.NetConn().(*tlsSocket).Conn = nc }

// SyscallConn returns the socket's raw connection, for socket options.
func (s *tlsSocket) SyscallConn() (syscall.RawConn, error) {
	sc, ok := s.NetConn().(syscall.Conn)
	if !ok {
		return nil, errNoSocket
	}
	return sc.SyscallConn()
}

// NetConn returns the socket: a net.Conn over it when an event loop holds
// it bare (loopSocket.conn).
func (s *tlsSocket) NetConn() net.Conn {
	if ls, ok := s.Conn.(*loopSocket); ok {
		return ls.conn()
	}
	return s.Conn
}

// tlsReader reads a Conn's TLS stream, telling the tlsSocket under it
// whether the frame reader allows a spin (frameReader.maySpin).
type tlsReader struct {
	tc *tls.Conn
	s  *tlsSocket
}

func (r *tlsReader) Read(p []byte) (int, error) { return r.read(p, true) }

// available implements arrivalReader: tlsHolds.
func (r *tlsReader) available() int { return r.s.available() }

func (r *tlsReader) read(p []byte, spin bool) (int, error) {
	r.s.spin = spin
	return r.tc.Read(p)
}

// gatherMin is the shortest write whose records writeStream gathers: one
// that crypto/tls splits into more than one record.
const gatherMin = 16 << 10

// writeStream writes b to nc, the Conn's stream. Over a tlsSocket, the
// records crypto/tls seals b into are gathered and written with one system
// call per pooled buffer.
func writeStream(nc net.Conn, b []byte) error {
	tc, ok := nc.(*tls.Conn)
	if !ok || len(b) <= gatherMin {
		_, err := nc.Write(b)
		return err
	}
	s, ok := tc.NetConn().(*tlsSocket)
	if !ok {
		_, err := nc.Write(b)
		return err
	}
	bp := getWriteBuf(len(b) + len(b)/64 + 64) // the records' headers and tags
	s.wmu.Lock()
	s.gather = bp
	s.wmu.Unlock()
	_, err := tc.Write(b)
	s.wmu.Lock()
	if ferr := s.flushLocked(); err == nil {
		err = ferr
	}
	s.gather = nil
	s.wmu.Unlock()
	putWriteBuf(bp)
	return err
}
