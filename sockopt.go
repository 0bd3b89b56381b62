//go:build unix || windows

package websocket

import (
	"syscall"
)

// SocketOption is one setsockopt(2) call applied to the TCP socket before it
// connects: level, option name and integer value, as in Python's sockopt
// tuples.
type SocketOption struct{ Level, Name, Value int }

// DefaultSocketOptions are applied when DialOptions.SocketOptions is nil:
// TCP_NODELAY (small frames go out at once) and SO_KEEPALIVE. Python's
// DEFAULT_SOCKET_OPTION.
var DefaultSocketOptions = []SocketOption{
	{Level: syscall.IPPROTO_TCP, Name: syscall.TCP_NODELAY, Value: 1},
	{Level: syscall.SOL_SOCKET, Name: syscall.SO_KEEPALIVE, Value: 1},
}

// applySocketOptions sets opts on the raw socket c.
func applySocketOptions(c syscall.RawConn, opts []SocketOption) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		for _, o := range opts {
			if serr = setsockopt(fd, o); serr != nil {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}
