//go:build !unix && !windows

package websocket

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
)

// SocketOption is one setsockopt(2) call applied to the TCP socket: level,
// option name and integer value, as in Python's sockopt tuples. This system
// has no setsockopt: a Dial given any socket option fails with an error
// that matches errors.ErrUnsupported.
type SocketOption struct{ Level, Name, Value int }

// DefaultSocketOptions are applied when DialOptions.SocketOptions is nil,
// read at each Dial. There are none on this system, which has no
// setsockopt.
var DefaultSocketOptions []SocketOption

// errSocketOptions is what a Dial with socket options returns here.
var errSocketOptions = fmt.Errorf("websocket: socket options are not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)

// dialerFor returns a plain net.Dialer, with ok false when opts hold any
// option: there is none it could set here.
func dialerFor(opts []SocketOption) (d net.Dialer, ok bool) { return d, len(opts) == 0 }

// dialWithOptions fails: socket options cannot be set here.
func dialWithOptions(context.Context, string, string, []SocketOption) (net.Conn, error) {
	return nil, errSocketOptions
}

// applyToConn fails: socket options cannot be set here.
func applyToConn(net.Conn, []SocketOption) error { return errSocketOptions }
