//go:build windows

package websocket

import (
	"os"
	"syscall"
)

func setsockopt(fd uintptr, o SocketOption) error {
	if !sockoptFits(o) {
		return errSockoptRange
	}
	return os.NewSyscallError("setsockopt", syscall.SetsockoptInt(syscall.Handle(fd), o.Level, o.Name, o.Value))
}
