//go:build unix

package websocket

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// busyReader reads a TCP or Unix socket as its net.Conn would, except that
// when nothing is waiting it first retries the read for up to busyPollTime
// before letting the runtime park the goroutine until the socket is readable.
//
// Why: while a peer streams to us, the reader often catches up with the
// sender and finds the socket empty for a microsecond or two. Parking then
// costs more than the wait: the thread sleeps in epoll_wait and its CPU goes
// idle, the sender's next write has to wake it (an inter-processor interrupt,
// which on a virtual machine exits to the hypervisor), and the sender is
// delayed by that wake-up too. Measured on a 2-core VM receiving 64 KiB
// messages, retrying for 5 µs took the reader's sleeps from about 0.45 per
// message to about 0.01 and throughput up by about 30%; 16-byte echo round
// trips went from 7.6 to 5.2 µs (bench/README.md).
//
// Spinning costs CPU when no data comes, so it is adaptive, like a spinning
// mutex: a spin that ends without data makes the next ones skip spinning,
// for 1, 3, 7 … up to busyPollMaxSkip parks in a row, and a spin that is
// rewarded resets that. A connection that waits for sparse messages so spins
// about once per busyPollMaxSkip messages: a few nanoseconds per message on
// average.
//
// A read its caller says not to spin (readSocket's spin, false while the
// frame reader refills its pooled 64 KiB buffer: frameReader.maySpin) parks
// at once: the reader then has more data than time (measured at 16 KiB
// messages: spinning there cost about 10% of throughput).
//
// DialOptions.BusyPoll decides whether a connection spins at all (by
// default not with a lone CPU: the sender could not run meanwhile; nor,
// wait by wait, while the machine is contended: busypoll_linux.go), and
// only sockets the runtime's poller owns are read this way (*net.TCPConn
// and *net.UnixConn, not wrappers, whose Read must stay in the path), also
// under TLS (tlsSocket).
type busyReader struct {
	nc     net.Conn
	rc     syscall.RawConn
	waitFD func(fd uintptr) bool // b.waitSocket, bound once so that waits do not allocate
	policy busyPolicy
	always bool // BusyPollOn: spin on a contended machine too
	noSpin bool // the mode never spins (BusyPollOff, or one CPU by default)
	parked bool // waitReadable: the runtime has parked the wait at least once
}

// busyRead is the state of one read of a busyReader, shared with its
// callback (readSocket). It is pooled rather than kept in the busyReader:
// a connection waiting for its next message waits through waitReadable,
// which needs none of it, so an idle connection holds 48 bytes of busyReader
// and a bound callback instead of 144 and two (scale's ours-conn after
// traffic: bench/README.md).
type busyRead struct {
	b       *busyReader
	p       []byte
	q       []byte // readv: where bytes past the end of p go
	n       int
	err     error
	spin    bool                  // the caller allows a spin
	parked  bool                  // the runtime has parked this read at least once
	noPark  bool                  // tryRead: end with errWouldBlock instead of parking
	readFD  func(fd uintptr) bool // r.readSocket, bound once per pooled busyRead
	availFD func(fd uintptr)      // r.availSocket, bound likewise
}

var busyReads = sync.Pool{New: func() any {
	r := new(busyRead)
	r.readFD = r.readSocket
	r.availFD = r.availSocket
	return r
}}

// busyPollTime is how long a read retries an empty socket before parking.
// A few microseconds covers the gaps of a sender that is streaming; longer
// spins (20 and 50 µs were measured) gained nothing more.
const busyPollTime = 5 * time.Microsecond

// newSocketReader returns what the connection's read buffer reads from once
// its first bytes have arrived: a busyReader for the runtime's own TCP and
// Unix sockets (spinning only when mode does; it also lets the read buffer
// wait for data without holding a buffer, and read scattered), with
// BusyPollOn a tlsReader for a TLS stream over such a socket
// (tlsTransport), nc itself otherwise.
//
// TLS spins only when asked (BusyPollOn): measured on 2 CPUs, spinning
// under wss receive of 64 KiB messages raised the client's CPU time per
// message from 41 to 61 µs (the bare tls.Conn: 52) with no resolved gain in
// throughput or echo latency; the server's encryption sets the pace there,
// not the reader's wake-ups (bench/README.md, "wss, compression and contention").
func newSocketReader(nc net.Conn, mode BusyPollMode) io.Reader {
	if tc, ok := nc.(*tls.Conn); ok {
		if mode != BusyPollOn || !mode.spins() {
			return nc
		}
		s, ok := tc.NetConn().(*tlsSocket)
		if !ok {
			return nc
		}
		b := newBusyReader(s.Conn, mode)
		if b == nil {
			return nc
		}
		s.b.Store(b)
		return &tlsReader{tc: tc, s: s}
	}
	if b := newBusyReader(nc, mode); b != nil {
		return b
	}
	return nc
}

// newBusyReader returns a busyReader of nc for mode, nil when nc is not a
// socket the runtime's poller owns.
func newBusyReader(nc net.Conn, mode BusyPollMode) *busyReader {
	var sc syscall.Conn
	switch c := nc.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	b := &busyReader{nc: nc, rc: rc, always: mode == BusyPollOn, noSpin: !mode.spins()}
	b.waitFD = b.waitSocket
	return b
}

// readSocket reads r, a socket reader from newSocketReader; spin says
// whether a busyReader may spin before parking.
func readSocket(r io.Reader, p []byte, spin bool) (int, error) {
	switch r := r.(type) {
	case *busyReader:
		return r.read(p, spin)
	case *tlsReader:
		return r.read(p, spin)
	}
	return r.Read(p)
}

// Read reads from the socket, returning errors as net.Conn.Read does.
func (b *busyReader) Read(p []byte) (int, error) { return b.read(p, true) }

// read is Read, spinning only when spin allows it.
func (b *busyReader) read(p []byte, spin bool) (int, error) {
	r := b.begin(p, nil, spin, false)
	return b.end(r, b.rc.Read(r.readFD))
}

// tryRead is read that returns errWouldBlock where read would park
// (waitingReader). It is read written out, to be one frame less deep.
func (b *busyReader) tryRead(p []byte, spin bool) (int, error) {
	r := b.begin(p, nil, spin, true)
	return b.end(r, b.rc.Read(r.readFD))
}

// readv is read into p and, past its end, into q, in one system call
// where the system has one (scatterReader): a payload's tail and the next
// frame's header arrive together.
func (b *busyReader) readv(p, q []byte, spin bool) (int, error) {
	r := b.begin(p, q, spin, false)
	return b.end(r, b.rc.Read(r.readFD))
}

// begin starts a read with a pooled busyRead. The read's callback, the
// busyRead's readSocket, must be called (rc.Read) by the caller itself,
// not in a function of begin's: a read parked in the runtime is then no
// deeper in its goroutine's stack than read, tryRead or readv
// (TestIdleReaderFitsInitialStack).
func (b *busyReader) begin(p, q []byte, spin, noPark bool) *busyRead {
	r := busyReads.Get().(*busyRead)
	r.b, r.p, r.q, r.spin, r.noPark = b, p, q, spin && !b.noSpin, noPark
	if len(p) == 0 {
		r.n = -1 // nothing to read: readSocket must not take a 0 for the end
	}
	return r
}

// end ends a read begun by begin, err being the poller's, and gives the
// busyRead back: in the pool it holds nothing.
func (b *busyReader) end(r *busyRead, err error) (int, error) {
	n, rerr := r.n, r.err
	*r = busyRead{readFD: r.readFD, availFD: r.availFD}
	busyReads.Put(r)
	switch {
	case n < 0:
		return 0, nil
	case err != nil:
		return 0, b.pollError(err)
	case rerr == nil:
		return n, nil
	case rerr == io.EOF, rerr == errWouldBlock:
		return 0, rerr
	}
	return 0, b.opError(os.NewSyscallError("read", rerr))
}

// available returns how many bytes the socket holds, ready to be read (0
// when it cannot tell): what has arrived, which a message's buffer may be
// sized to (Conn.growth).
func (b *busyReader) available() int { return socketHolds(b.rc) }

// socketHolds returns how many bytes the socket of rc holds, ready to be
// read: 0 when it cannot tell (socketAvailable) or is closed (the pooled
// busyRead's n stays 0). It allocates nothing.
func socketHolds(rc syscall.RawConn) int {
	r := busyReads.Get().(*busyRead)
	_ = rc.Control(r.availFD)
	n := r.n
	*r = busyRead{readFD: r.readFD, availFD: r.availFD}
	busyReads.Put(r)
	return n
}

// availSocket is socketHolds's callback.
func (r *busyRead) availSocket(fd uintptr) { r.n = socketAvailable(fd) }

// waitReadable parks until the socket has data, an end or an error to
// read, without reading it (waitingReader).
func (b *busyReader) waitReadable() error {
	b.parked = false
	if err := b.rc.Read(b.waitFD); err != nil {
		return b.pollError(err)
	}
	return nil
}

// waitSocket is waitReadable's callback: true once a read would not block.
// The poller is re-armed before its first call, so the socket is checked
// then (data that arrived after the last read must not be waited for); a
// call after a park ends the wait, and a read that still finds nothing
// just waits again.
func (b *busyReader) waitSocket(fd uintptr) bool {
	if b.parked || socketReadable(fd) {
		return true
	}
	b.parked = true
	return false
}

// pollError turns the poller's error (deadline, closed), which comes as a
// "raw-read" OpError, into the one a net.Conn would return.
func (b *busyReader) pollError(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		err = oe.Err
	}
	return b.opError(err)
}

func (b *busyReader) opError(err error) error {
	la := b.nc.LocalAddr()
	return &net.OpError{Op: "read", Net: la.Network(), Source: la, Addr: b.nc.RemoteAddr(), Err: err}
}

// readSocket is the raw read: true when it has a result (bytes, EOF or an
// error), false to have the runtime wait until the socket is readable. A
// spin happens within one call, so its start is local.
func (r *busyRead) readSocket(fd uintptr) bool {
	if r.n < 0 {
		return true // begin: an empty read
	}
	b := r.b
	var spinStart time.Time // zero while not spinning
	for {
		var n int
		var err error
		if r.q != nil {
			n, err = readv2(int(fd), r.p, r.q)
		} else {
			n, err = syscall.Read(int(fd), r.p)
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
		case err != nil:
			r.err = err
			return true
		case n == 0:
			r.err = io.EOF
			return true
		default:
			r.n = n
			if !spinStart.IsZero() {
				b.policy.rewarded()
			}
			return true
		}
		switch {
		case r.parked:
			// Woken, but the data went to no one: wait again.
			return false
		case spinStart.IsZero():
			if !r.spin || !b.policy.spin() || !b.always && machineContended() {
				return r.park()
			}
			spinStart = time.Now()
		case time.Since(spinStart) >= busyPollTime:
			b.policy.unrewarded()
			return r.park()
		}
	}
}

// park ends readSocket's attempt on an empty socket: the runtime parks the
// read, or tryRead returns errWouldBlock.
func (r *busyRead) park() bool {
	if r.noPark {
		r.err = errWouldBlock
		return true
	}
	r.parked = true
	return false
}
