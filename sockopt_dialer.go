//go:build unix || windows

package websocket

import "syscall"

// dialerSetsAll reports whether net.Dialer already applies every one of
// opts: it sets TCP_NODELAY and SO_KEEPALIVE (with a default keep-alive
// period) on every TCP connection it opens, so DefaultSocketOptions need no
// Control function, which would cost two more setsockopt calls and
// allocations per dial.
func dialerSetsAll(opts []SocketOption) bool {
	for _, o := range opts {
		switch o {
		case SocketOption{Level: syscall.IPPROTO_TCP, Name: syscall.TCP_NODELAY, Value: 1},
			SocketOption{Level: syscall.SOL_SOCKET, Name: syscall.SO_KEEPALIVE, Value: 1}:
		default:
			return false
		}
	}
	return true
}
