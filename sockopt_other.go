//go:build !unix && !windows

package websocket

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
)

// SocketOption is one setsockopt(2) call applied to the TCP socket before it
// connects: level, option name and integer value, as in Python's sockopt
// tuples. This system has no setsockopt: a Dial given any socket option
// fails with an error that matches errors.ErrUnsupported.
type SocketOption struct{ Level, Name, Value int }

// DefaultSocketOptions are applied when DialOptions.SocketOptions is nil.
// There are none on this system, which has no setsockopt.
var DefaultSocketOptions []SocketOption

// errSocketOptions is what a Dial with socket options returns here.
var errSocketOptions = fmt.Errorf("websocket: socket options are not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)

// applySocketOptions fails: there is no setsockopt here.
func applySocketOptions(syscall.RawConn, []SocketOption) error { return errSocketOptions }

// dialerSetsAll reports whether opts is empty: net.Dialer sets no socket
// option here, and a Dial with none needs no Control function.
func dialerSetsAll(opts []SocketOption) bool { return len(opts) == 0 }
