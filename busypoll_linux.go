package websocket

import (
	"syscall"
	"unsafe"
)

// socketReadable reports whether a read of fd would not block: it has
// data, its end or an error. It peeks at one byte without consuming it,
// with a raw system call (it never blocks) to keep the reader's stack
// shallow.
func socketReadable(fd uintptr) bool {
	var b byte
	for {
		_, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b)), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		if e != syscall.EINTR {
			return e != syscall.EAGAIN
		}
	}
}

// readv2 reads fd into p and, past its end, into q, in one system call.
func readv2(fd int, p, q []byte) (int, error) {
	iov := [2]syscall.Iovec{{Base: &p[0]}, {Base: &q[0]}}
	iov[0].SetLen(len(p))
	iov[1].SetLen(len(q))
	n, _, e := syscall.Syscall(syscall.SYS_READV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), 2)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
