//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly

package websocket

import (
	"net"
	"syscall"
)

// Without a poller no event loop takes over a socket: these never run.

func (e *engine) readFd(fd uintptr) bool     { e.rerr = errWouldBlock; return true }
func (w *loopWrite) writeFd(fd uintptr) bool { w.err = errWouldBlock; return true }

func (lc *loopConn) writeBare([]byte) (int, bool, error) { return 0, false, nil }
func (lc *loopConn) sysError(_ string, err error) error  { return err }
func (lc *loopConn) writeDeadline() int64                { return 0 }

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
