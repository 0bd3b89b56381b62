//go:build unix

package websocket

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
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
// A lone CPU is never spun on (the sender could not run meanwhile),
// and only sockets the runtime's poller owns are read this way (*net.TCPConn
// and *net.UnixConn, not wrappers, whose Read must stay in the path).
type busyReader struct {
	nc     net.Conn
	rc     syscall.RawConn
	readFD func(fd uintptr) bool // b.readSocket, bound once so that reads do not allocate
	waitFD func(fd uintptr) bool // b.waitSocket, likewise

	// The read in progress, shared with readSocket.
	p      []byte
	spin   bool // the caller allows a spin
	n      int
	err    error
	parked bool   // the runtime has parked this read at least once
	noPark bool   // tryRead: end with errWouldBlock instead of parking
	q      []byte // readv: where bytes past the end of p go

	policy busyPolicy
}

// busyPollTime is how long a read retries an empty socket before parking.
// A few microseconds covers the gaps of a sender that is streaming; longer
// spins (20 and 50 µs were measured) gained nothing more.
const busyPollTime = 5 * time.Microsecond

// busyPollCPUs says whether spinning can help: with one CPU the sender could
// not run while we spin.
var busyPollCPUs = runtime.NumCPU() > 1

// newSocketReader returns what the connection's read buffer reads from: a
// busyReader for the runtime's own TCP and Unix sockets, nc itself otherwise.
func newSocketReader(nc net.Conn) io.Reader {
	var sc syscall.Conn
	switch c := nc.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nc
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nc
	}
	b := &busyReader{nc: nc, rc: rc}
	b.readFD, b.waitFD = b.readSocket, b.waitSocket
	return b
}

// readSocket reads r, a socket reader from newSocketReader; spin says
// whether a busyReader may spin before parking.
func readSocket(r io.Reader, p []byte, spin bool) (int, error) {
	if b, ok := r.(*busyReader); ok {
		return b.read(p, spin)
	}
	return r.Read(p)
}

// Read reads from the socket, returning errors as net.Conn.Read does.
func (b *busyReader) Read(p []byte) (int, error) { return b.read(p, true) }

// read is Read, spinning only when spin allows it.
func (b *busyReader) read(p []byte, spin bool) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	b.p, b.spin, b.n, b.err, b.parked = p, spin && busyPollCPUs, 0, nil, false
	return b.result(b.rc.Read(b.readFD))
}

// tryRead is read that returns errWouldBlock where read would park
// (waitingReader). It is read written out, to be one frame less deep.
func (b *busyReader) tryRead(p []byte, spin bool) (int, error) {
	b.p, b.spin, b.n, b.err, b.parked, b.noPark = p, spin && busyPollCPUs, 0, nil, false, true
	return b.result(b.rc.Read(b.readFD))
}

// readv is read into p and, past its end, into q, in one system call
// where the system has one (scatterReader): a payload's tail and the next
// frame's header arrive together.
func (b *busyReader) readv(p, q []byte, spin bool) (int, error) {
	b.q = q
	return b.read(p, spin)
}

// result ends read and tryRead: err is the poller's.
func (b *busyReader) result(err error) (int, error) {
	b.p, b.q, b.noPark = nil, nil, false
	if err != nil {
		return 0, b.pollError(err)
	}
	if b.err != nil {
		switch b.err {
		case io.EOF, errWouldBlock:
			return 0, b.err
		}
		return 0, b.opError(os.NewSyscallError("read", b.err))
	}
	return b.n, nil
}

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
func (b *busyReader) readSocket(fd uintptr) bool {
	var spinStart time.Time // zero while not spinning
	for {
		var n int
		var err error
		if b.q != nil {
			n, err = readv2(int(fd), b.p, b.q)
		} else {
			n, err = syscall.Read(int(fd), b.p)
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
		case err != nil:
			b.err = err
			return true
		case n == 0:
			b.err = io.EOF
			return true
		default:
			b.n = n
			if !spinStart.IsZero() {
				b.policy.rewarded()
			}
			return true
		}
		switch {
		case b.parked:
			// Woken, but the data went to no one: wait again.
			return false
		case spinStart.IsZero():
			if !b.spin || !b.policy.spin() {
				return b.park()
			}
			spinStart = time.Now()
		case time.Since(spinStart) >= busyPollTime:
			b.policy.unrewarded()
			return b.park()
		}
	}
}

// park ends readSocket's attempt on an empty socket: the runtime parks the
// read, or tryRead returns errWouldBlock.
func (b *busyReader) park() bool {
	if b.noPark {
		b.err = errWouldBlock
		return true
	}
	b.parked = true
	return false
}
