package main

import (
	"net/url"

	"github.com/wsclient/websocket"
)

// proxyFunc returns the DialOptions.Proxy for -p: every target goes through
// the proxy, the loopback included, since the user named it explicitly
// (websocket.ProxyURL; the Python tool's http_proxy_host/port).
func proxyFunc(raw string) func(*url.URL) (*url.URL, error) {
	return websocket.ProxyURL(raw)
}
