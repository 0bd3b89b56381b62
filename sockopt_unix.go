//go:build unix

package websocket

import (
	"os"
	"syscall"
)

func setsockopt(fd uintptr, o SocketOption) error {
	if !sockoptFits(o) {
		return errSockoptRange
	}
	return os.NewSyscallError("setsockopt", syscall.SetsockoptInt(int(fd), o.Level, o.Name, o.Value))
}
