//go:build (unix || windows) && !(aix || darwin || dragonfly || freebsd || linux || netbsd)

package websocket

// keepAliveNames is empty: keep-alive's idle time, interval and count have
// no portable setsockopt options here.
var keepAliveNames []int
