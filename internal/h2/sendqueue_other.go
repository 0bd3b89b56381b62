//go:build !linux

package h2

import "net"

// sendQueued reports that the send queue of c's socket cannot be read here.
func sendQueued(net.Conn) (int, bool) { return 0, false }
