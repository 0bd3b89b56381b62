//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly

package websocket

import (
	"net"
	"syscall"
)

// Without a poller no event loop takes over a socket: these never run.

func (e *engine) readFd(fd uintptr) bool     { e.rerr = errWouldBlock; return true }
func (lc *loopConn) writeFd(fd uintptr) bool { lc.wres = errWouldBlock; return true }

// loopSocket is the bare socket of a connection a loop owns, which no
// loop does here.
type loopSocket struct {
	net.Conn
	lc *loopConn
}

func takeSocket(net.Conn) (*loopSocket, error) { return nil, errNoSocket }
func (s *loopSocket) conn() net.Conn           { return s.Conn }
func (s *loopSocket) raw() syscall.RawConn     { return nil }
func (s *loopSocket) bare() bool               { return false }
