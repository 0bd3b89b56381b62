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

// writeFd is rawWrite's writing of the descriptor, until it is full.
func (lc *loopConn) writeFd(fd uintptr) bool {
	lc.wres = nil
	for lc.wn < len(lc.wbuf) {
		n, err := syscall.Write(int(fd), lc.wbuf[lc.wn:])
		if n > 0 {
			lc.wn += n
		}
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			err = errWouldBlock
		}
		if err != nil {
			lc.wres = err
			break
		}
	}
	return true
}
