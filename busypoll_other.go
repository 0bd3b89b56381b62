//go:build !unix

package websocket

import (
	"crypto/tls"
	"io"
	"net"
	"syscall"
)

// newSocketReader returns what the connection's read buffer reads from. Busy
// polling (busypoll_unix.go) needs raw reads, so elsewhere it is nc itself.
func newSocketReader(nc net.Conn, _ BusyPollMode) io.Reader { return nc }

// readSocket reads r, a socket reader from newSocketReader; spin matters to
// busy polling only.
func readSocket(r io.Reader, p []byte, _ bool) (int, error) { return r.Read(p) }

// socketHolds returns how many bytes the socket of rc holds: 0, as only
// Unix systems are asked (busypoll_unix.go).
func socketHolds(syscall.RawConn) int { return 0 }

// socketWritable reports whether a write to fd would not block; false, as
// only Linux is asked (busypoll_linux.go).
func socketWritable(uintptr) bool { return false }

// tlsTransport returns the stream a TLS client runs over nc: nc itself, as
// only Unix systems busy-poll.
func tlsTransport(nc net.Conn, _ *tls.Config) net.Conn { return nc }

// writeStream writes b to nc.
func writeStream(nc net.Conn, b []byte) error {
	_, err := nc.Write(b)
	return err
}
