//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package websocket

import "syscall"

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
