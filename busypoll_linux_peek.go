//go:build linux && !386

package websocket

import (
	"syscall"
	"unsafe"
)

// socketReadable reports whether a read of fd would not block: it has
// data, its end or an error. It peeks at one byte without consuming it,
// with a raw system call (it never blocks) to keep the reader's stack
// shallow. (Linux on 386 has no recvfrom system call of its own:
// busypoll_peek_recvfrom.go.)
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
