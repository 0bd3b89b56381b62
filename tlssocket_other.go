//go:build !unix

package websocket

import (
	"crypto/tls"
	"net"
	"syscall"
)

// loopTLSSocket returns nil: only Unix systems run TLS over a tlsSocket,
// which an event loop can own.
func loopTLSSocket(*tls.Conn) syscall.Conn { return nil }

// startTLS never runs where loopTLSSocket returns nil.
func (lc *loopConn) startTLS(*tls.Conn) {}

// tlsSocketConn and setTLSSocket never run where loopTLSSocket returns nil.
func tlsSocketConn(tc *tls.Conn) net.Conn    { return nil }
func setTLSSocket(tc *tls.Conn, nc net.Conn) {}

// tlsHolds returns 0: only Unix systems run TLS over a tlsSocket, which
// can tell what crypto/tls has read.
func tlsHolds(*tls.Conn) int { return 0 }
