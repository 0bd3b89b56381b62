package main

import (
	"os"
	"syscall"
	"unsafe"
)

// ttyCooked reports whether the terminal of a pseudo-terminal, seen from
// its master side, is in canonical mode with echo, as a shell leaves it,
// rather than raw. ok is false when that cannot be told.
func ttyCooked(master *os.File) (cooked, ok bool) {
	rc, err := master.SyscallConn() // not Fd, which would make it blocking
	if err != nil {
		return false, false
	}
	var tio syscall.Termios
	var errno syscall.Errno
	err = rc.Control(func(fd uintptr) {
		// On Linux the master's TCGETS reads the slave's settings.
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCGETS, uintptr(unsafe.Pointer(&tio)))
	})
	if err != nil || errno != 0 {
		return false, false
	}
	const want = syscall.ICANON | syscall.ECHO
	return tio.Lflag&want == want, true
}
