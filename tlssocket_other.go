//go:build !unix

package websocket

import (
	"crypto/tls"
	"syscall"
)

// loopTLSSocket returns nil: only Unix systems run TLS over a tlsSocket,
// which an event loop can own.
func loopTLSSocket(*tls.Conn) syscall.Conn { return nil }

// startTLS never runs where loopTLSSocket returns nil.
func (lc *loopConn) startTLS(*tls.Conn) {}
