//go:build aix || dragonfly || freebsd || linux || netbsd

package websocket

import "syscall"

// keepAliveNames are the TCP-level options for the keep-alive idle time,
// interval and count, in that order.
var keepAliveNames = []int{syscall.TCP_KEEPIDLE, syscall.TCP_KEEPINTVL, syscall.TCP_KEEPCNT}
