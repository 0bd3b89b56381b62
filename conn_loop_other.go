//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly

package websocket

// Without a poller no event loop takes over a socket: these never run.

func (e *engine) readFd(fd uintptr) bool     { e.rerr = errWouldBlock; return true }
func (lc *loopConn) writeFd(fd uintptr) bool { lc.wres = errWouldBlock; return true }
