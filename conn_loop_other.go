//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly

package websocket

import "errors"

// errWouldBlock is never returned here: without a poller no event loop
// takes over a socket.
var errWouldBlock = errors.New("websocket: would block")

func (lc *loopConn) readFd(fd uintptr) bool  { lc.rerr = errWouldBlock; return true }
func (lc *loopConn) writeFd(fd uintptr) bool { lc.wres = errWouldBlock; return true }
