package websocket

import "syscall"

// keepAliveNames are the TCP-level options for the keep-alive idle time,
// interval and count, in that order. Darwin names the idle time
// TCP_KEEPALIVE; syscall lacks TCP_KEEPINTVL and TCP_KEEPCNT on amd64, so
// they are spelled out (netinet/tcp.h).
var keepAliveNames = []int{syscall.TCP_KEEPALIVE, 0x101, 0x102}
