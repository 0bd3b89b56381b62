//go:build unix && !linux

package websocket

import "syscall"

// machineContended reports whether the machine is too busy to spin on;
// only Linux is asked (busypoll_linux.go).
func machineContended() bool { return false }

// socketAvailable returns the bytes fd holds, ready to be read, 0 when it
// cannot tell: only Linux is asked (busypoll_linux.go), and a message's
// buffer then grows by doubling.
func socketAvailable(uintptr) int { return 0 }

// socketWritable reports whether a write to fd would not block; false, as
// it cannot tell: only Linux is asked (busypoll_linux.go), and a failing
// connection's close frame then gets its wait and no more (closeTimer).
func socketWritable(uintptr) bool { return false }

// readv2 reads fd into p; q is for a scatter read where there is one
// (busypoll_linux.go).
func readv2(fd int, p, _ []byte) (int, error) { return syscall.Read(fd, p) }
