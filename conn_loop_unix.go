//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package websocket

import (
	"net"
	"os"
	"strconv"
	"syscall"
)

// readFd is rawRead's one read of the descriptor.
func (e *engine) readFd(fd uintptr) bool {
	for {
		n, err := syscall.Read(int(fd), e.rbuf)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			err = errWouldBlock
		}
		e.rn, e.rerr = max(n, 0), err
		return true
	}
}

// writeFd is rawWrite's writing of the descriptor through a RawConn.
func (w *loopWrite) writeFd(fd uintptr) bool {
	w.n, w.err = writeSome(int(fd), w.b)
	return true
}

// writeSome writes b to fd without waiting, until the descriptor is full:
// errWouldBlock when it took less than b.
func writeSome(fd int, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := syscall.Write(fd, b[n:])
		if k > 0 {
			n += k
		}
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			err = errWouldBlock
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// sysError gives a failed read or write of the socket the error a
// net.Conn's gives: a *net.OpError with the socket's addresses around an
// *os.SyscallError, so that a reset (say) reads the same on an event loop
// as on the goroutine path, and errors.As finds the *net.OpError on both.
// A passed deadline is likewise a *net.OpError around
// os.ErrDeadlineExceeded, and a full queue around errLoopQueueFull. nil,
// errWouldBlock and other errors are returned as they are.
func (lc *loopConn) sysError(op string, err error) error {
	inner := err
	switch errno, ok := err.(syscall.Errno); {
	case ok:
		inner = os.NewSyscallError(op, errno)
	case err != os.ErrDeadlineExceeded && err != errLoopQueueFull:
		return err // allocating nothing: nil on every write that went well
	}
	oe := &net.OpError{Op: op, Net: "tcp", Err: inner}
	lc.withFd(func(fd int) error {
		if sa, err := syscall.Getsockname(fd); err == nil {
			oe.Source = sockAddr(sa)
			if _, unix := sa.(*syscall.SockaddrUnix); unix {
				oe.Net = "unix"
			}
		}
		if sa, err := syscall.Getpeername(fd); err == nil { // none after a reset
			oe.Addr = sockAddr(sa)
		}
		return nil
	})
	return oe
}

// sockAddr returns sa as a net.Addr: a *net.TCPAddr, or a *net.UnixAddr.
func sockAddr(sa syscall.Sockaddr) net.Addr {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}
	case *syscall.SockaddrInet6:
		a := &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}
		if sa.ZoneId != 0 {
			a.Zone = strconv.Itoa(int(sa.ZoneId))
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				a.Zone = ifi.Name
			}
		}
		return a
	case *syscall.SockaddrUnix:
		return &net.UnixAddr{Name: sa.Name, Net: "unix"}
	}
	return nil
}
