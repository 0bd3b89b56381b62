//go:build (unix && !linux) || (linux && 386)

package websocket

import "syscall"

// socketReadable reports whether a read of fd would not block: it has
// data, its end or an error. It peeks at one byte without consuming it,
// through syscall.Recvfrom: Linux elsewhere than on 386 makes the system
// call itself (busypoll_linux_peek.go); on 386 recvfrom goes through
// socketcall, which the syscall package calls.
func socketReadable(fd uintptr) bool {
	var b [1]byte
	for {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|msgDontWait)
		if err != syscall.EINTR {
			return err != syscall.EAGAIN
		}
	}
}
