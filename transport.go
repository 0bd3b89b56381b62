package websocket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"
)

// transportConfig says how the stream to the server is opened: the given
// NetConn, or a dial (direct or through a proxy), then TLS for wss.
type transportConfig struct {
	netConn      net.Conn
	dialContext  func(ctx context.Context, network, addr string) (net.Conn, error) // NetDialContext; nil = net.Dialer
	sockopts     []SocketOption                                                    // DialOptions.SocketOptions, or DefaultSocketOptions for nil
	tls          *tls.Config
	proxy        func(target *url.URL) (*url.URL, error) // DialOptions.Proxy, or ProxyFromEnvironment for nil
	proxyTimeout time.Duration
}

// connect opens the stream to u: the given NetConn, a tunnel through
// proxy or a direct TCP connection (proxy nil), then TLS for wss.
func connect(ctx context.Context, u *url.URL, tr *transportConfig, hop int, proxy *url.URL) (net.Conn, error) {
	var nc net.Conn
	switch {
	case tr.netConn != nil:
		if hop > 0 {
			return nil, fmt.Errorf("websocket: cannot follow a redirect to %s over the given NetConn", redactURL(u))
		}
		nc = tr.netConn
	default:
		var err error
		if nc, err = dialStream(ctx, u, tr, proxy); err != nil {
			return nil, err
		}
	}
	if u.Scheme != "wss" {
		return nc, nil
	}
	host, _ := hostPort(u)
	tc, err := tlsClient(ctx, nc, host, tr.tls, alpnHTTP1)
	if err != nil {
		if tr.netConn == nil {
			nc.Close()
		}
		return nil, err
	}
	return tc, nil
}

// dialStream opens the byte stream to u's host and port: a tunnel through
// proxy, or a direct TCP connection when proxy is nil.
func dialStream(ctx context.Context, u *url.URL, tr *transportConfig, proxy *url.URL) (net.Conn, error) {
	host, port := hostPort(u)
	addr := dialAddr(u, host, port)
	var nc net.Conn
	var err error
	if proxy != nil || tr.dialContext != nil || !isIPLiteral(host) {
		// The proxy code, the user's dial function and the system
		// resolver may watch only ctx.Done.
		var cancel context.CancelFunc
		ctx, cancel = realContext(ctx)
		defer cancel()
	}
	if proxy != nil {
		nc, err = dialProxy(ctx, proxy, addr, netDialer(tr), tr.tls, tr.proxyTimeout)
	} else if d, ok := directDialer(tr); ok {
		nc, err = d.DialContext(connectContext(ctx), "tcp", addr)
	} else {
		nc, err = netDialer(tr)(connectContext(ctx), "tcp", addr)
	}
	if err != nil {
		return nil, connectError(host, addr, err)
	}
	return nc, nil
}

// pickProxy asks the Proxy function (or the environment) for u's proxy.
func pickProxy(u *url.URL, tr *transportConfig) (*url.URL, error) {
	p, err := tr.proxy(u)
	if err != nil {
		var pe *ProxyError
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, &ProxyError{Reason: "choosing a proxy for " + redactURL(u), Err: redactURLError(err, "")}
	}
	return p, nil
}

// netDialer returns the function that opens TCP connections, with the
// socket options applied: NetDialContext with the options set on the
// connection it returns (when it has a socket), else a net.Dialer.
func netDialer(tr *transportConfig) func(ctx context.Context, network, addr string) (net.Conn, error) {
	// The function may outlive the dial (a proxy's, an HTTP/2
	// connection's): it holds copies, not tr.
	sockopts, dial := tr.sockopts, tr.dialContext
	if dial != nil {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if c == nil {
				return nil, errNoNetConn
			}
			if len(sockopts) > 0 {
				if err := applyToConn(c, sockopts); err != nil {
					c.Close()
					return nil, err
				}
			}
			return c, nil
		}
	}
	if d, ok := dialerFor(sockopts); ok {
		return d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialWithOptions(ctx, network, addr, sockopts)
	}
}

// errNoNetConn is a NetDialContext that returned neither a connection nor
// an error.
var errNoNetConn = errors.New("websocket: NetDialContext returned no connection and no error")

// directDialer returns the net.Dialer that opens direct connections and
// sets their socket options itself, if there is one (see dialerFor).
func directDialer(tr *transportConfig) (net.Dialer, bool) {
	if tr.dialContext != nil {
		return net.Dialer{}, false
	}
	return dialerFor(tr.sockopts)
}

// connectError classifies a failure to reach the server.
func connectError(host, addr string, err error) error {
	var pe *ProxyError
	if errors.As(err, &pe) {
		return err
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && !dnsErr.IsTimeout {
		return &AddressError{Host: host, Err: err}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, context.Canceled) {
		return &timeoutError{op: "dial", err: err}
	}
	return &wrappedError{msg: "websocket: dial " + addr + ": " + detail(err), err: err}
}
