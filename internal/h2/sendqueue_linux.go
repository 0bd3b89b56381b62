package h2

import (
	"net"
	"syscall"
	"unsafe"
)

// sendQueued returns the bytes in the send queue of c's TCP socket, sent
// and not acknowledged or not sent yet (SIOCOUTQ), looking through a TLS
// connection (and wrappers that name what they wrap, NetConn) to its
// socket; false when c has no such socket.
func sendQueued(c net.Conn) (int, bool) {
	// A TLS connection, and what it may run over (a socket wrapper of the
	// caller's), name the stream under them.
	for range 4 {
		nc, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		c = nc.NetConn()
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return 0, false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var n int32
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&n)))
	}); err != nil || errno != 0 {
		return 0, false
	}
	return int(n), true
}
