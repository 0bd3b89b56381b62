package websocket

// Temporary: replaced by proxy.go (internal/proxy) when it lands.

import (
	"context"
	"crypto/tls"
	"net"
	"net/url"
	"time"
)

func proxyFromEnvironmentPending(*url.URL) (*url.URL, error) { return nil, nil }

func dialProxyPending(ctx context.Context, proxy *url.URL, addr string,
	dial func(ctx context.Context, network, addr string) (net.Conn, error), tlsConf *tls.Config,
	timeout time.Duration) (net.Conn, error) {
	return nil, &ProxyError{Reason: "not implemented"}
}
