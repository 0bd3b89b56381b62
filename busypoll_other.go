//go:build !unix

package websocket

import (
	"io"
	"net"
)

// newSocketReader returns what the connection's read buffer reads from. Busy
// polling (busypoll_unix.go) needs raw reads, so elsewhere it is nc itself.
func newSocketReader(nc net.Conn, _ *frameReader) io.Reader { return nc }
