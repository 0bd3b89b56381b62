//go:build unix || windows

package websocket

import (
	"context"
	"net"
	"os"
	"slices"
	"syscall"
	"time"
)

// SocketOption is one setsockopt(2) call applied to the TCP socket: level,
// option name and integer value, as in Python's sockopt tuples.
type SocketOption struct{ Level, Name, Value int }

// DefaultSocketOptions are applied when DialOptions.SocketOptions is nil,
// read at each Dial: TCP_NODELAY (small frames go out at once) and
// SO_KEEPALIVE with the first probe after 30 s idle, then one every 10 s,
// giving up after 3 (TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT; on darwin
// TCP_KEEPALIVE for the idle time; only TCP_NODELAY and SO_KEEPALIVE where
// the system has no such options, as on Windows and OpenBSD). Assign it
// before dialing, not while Dials run. Python's DEFAULT_SOCKET_OPTION.
var DefaultSocketOptions = defaultSocketOptions()

func defaultSocketOptions() []SocketOption {
	opts := []SocketOption{
		{Level: syscall.IPPROTO_TCP, Name: syscall.TCP_NODELAY, Value: 1},
		{Level: syscall.SOL_SOCKET, Name: syscall.SO_KEEPALIVE, Value: 1},
	}
	if len(keepAliveNames) == 3 {
		for i, v := range [3]int{30, 10, 3} {
			opts = append(opts, SocketOption{Level: syscall.IPPROTO_TCP, Name: keepAliveNames[i], Value: v})
		}
	}
	return opts
}

// errSockoptRange is setsockopt's error for a value that does not fit the
// C int the call takes (syscall.SetsockoptInt would cut it to 32 bits).
var errSockoptRange = os.NewSyscallError("setsockopt", syscall.EINVAL)

// sockoptFits reports whether o's value fits the C int setsockopt takes.
func sockoptFits(o SocketOption) bool { return o.Value == int(int32(o.Value)) }

// applySocketOptions sets opts on the raw socket c.
func applySocketOptions(c syscall.RawConn, opts []SocketOption) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		for _, o := range opts {
			if serr = setsockopt(fd, o); serr != nil {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// keepAliveMax and keepAliveCountMax bound the keep-alive times (seconds)
// and count that dialerFor lets the dialer set: what Linux accepts. The
// dialer ignores the system's refusal of a value, so a larger one is set
// with setsockopt, which reports it.
const (
	keepAliveMax      = 32767
	keepAliveCountMax = 127
)

// dialerFor returns a net.Dialer that itself sets exactly what opts say,
// with ok false when opts hold an option it does not manage. It manages
// TCP_NODELAY on (it always sets it), SO_KEEPALIVE and, with SO_KEEPALIVE
// on, the keep-alive idle time, interval and count within keepAliveMax and
// keepAliveCountMax. Letting the dialer do it costs no Control function and
// no second pass after the connect.
func dialerFor(opts []SocketOption) (d net.Dialer, ok bool) {
	d.KeepAlive = -1 // keep-alive stays off unless opts turn it on
	cfg := net.KeepAliveConfig{Idle: -1, Interval: -1, Count: -1}
	tuned := false
	for _, o := range opts {
		switch {
		case o.Level == syscall.IPPROTO_TCP && o.Name == syscall.TCP_NODELAY && o.Value != 0:
		case o.Level == syscall.SOL_SOCKET && o.Name == syscall.SO_KEEPALIVE:
			cfg.Enable = o.Value != 0
		default:
			k := -1 // which of keepAliveNames
			if o.Level == syscall.IPPROTO_TCP && o.Value > 0 && o.Value <= keepAliveMax {
				k = slices.Index(keepAliveNames, o.Name)
			}
			if k == 2 && o.Value > keepAliveCountMax {
				k = -1
			}
			switch k {
			case 0:
				cfg.Idle = time.Duration(o.Value) * time.Second
			case 1:
				cfg.Interval = time.Duration(o.Value) * time.Second
			case 2:
				cfg.Count = o.Value
			default:
				return d, false
			}
			tuned = true
		}
	}
	if tuned && !cfg.Enable {
		return d, false // the dialer only tunes keep-alive it turns on
	}
	d.KeepAliveConfig = cfg
	return d, true
}

// dialWithOptions opens a TCP connection with opts set on its socket before
// it connects, as Python does. The dialer's own keep-alive is off, and
// TCP_NODELAY, which the dialer turns on after the connect, is set again
// as opts say.
func dialWithOptions(ctx context.Context, network, addr string, opts []SocketOption) (net.Conn, error) {
	d := net.Dialer{
		KeepAlive: -1,
		Control: func(_, _ string, c syscall.RawConn) error {
			return applySocketOptions(c, opts)
		},
	}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	var after []SocketOption
	for _, o := range opts {
		if o.Level == syscall.IPPROTO_TCP && o.Name == syscall.TCP_NODELAY {
			after = append(after, o)
		}
	}
	if len(after) > 0 {
		if err := applyToConn(c, after); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// applyToConn sets opts on c's socket, if c has one.
func applyToConn(c net.Conn, opts []SocketOption) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil // not a socket after all
	}
	return applySocketOptions(rc, opts)
}
