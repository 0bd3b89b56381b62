package h2

import (
	"net"
	"syscall"
	"unsafe"
)

// sendQueued returns the bytes in the send queue of c's TCP socket, sent
// and not acknowledged or not sent yet (SIOCOUTQ), looking through a TLS
// connection to its socket; false when c has no such socket.
func sendQueued(c net.Conn) (int, bool) {
	if nc, ok := c.(interface{ NetConn() net.Conn }); ok {
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
