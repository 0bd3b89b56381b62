package interop

import (
	"crypto/tls"
	"path/filepath"
	"strconv"
	"testing"

	websocket "github.com/wsclient/websocket"
	"github.com/wsclient/websocket/interop/harness"
)

// http2NA lists the checks a WebSocket-over-HTTP/2 row cannot do.
var http2NA = map[string]string{
	checkDeflate:    "node's http2 module has no WebSocket layer: the harness's server frames WebSockets with its own small codec, which negotiates no extension",
	checkDeflateNCT: "node's http2 module has no WebSocket layer: the harness's server frames WebSockets with its own small codec, which negotiates no extension",
}

// startNodeHTTP2 starts node/h2-echo-server.js, Node.js's built-in http2
// module with extended CONNECT enabled (RFC 8441), over TLS (ALPN h2) or
// h2c with prior knowledge. The client dials it with HTTP2Require and one
// HTTP2Transport, so a row's WebSockets share HTTP/2 connections.
func startNodeHTTP2(t testing.TB, h2c bool) *target {
	node := harness.Need(t, "node", "nodejs")
	port := harness.FreePort(t)
	args := []string{"h2-echo-server.js", strconv.Itoa(port)}
	var tlsConf *tls.Config
	if h2c {
		args = append(args, "--h2c")
	} else {
		ca := harness.NewCA(t, "wsclient interop CA")
		leaf := ca.Server(t, "node http2", "localhost", "127.0.0.1")
		args = append(args, leaf.CertFile, leaf.KeyFile)
		tlsConf = &tls.Config{RootCAs: ca.Pool()}
	}
	p := harness.Start(t, harness.Spec{
		Name:  "node http2",
		Path:  node,
		Args:  args,
		Dir:   filepath.Join(interopDir(t), "node"),
		Ready: harness.AllReady(harness.OutputReady("READY"), harness.TCPReady(harness.Addr(port))),
	})
	tg := processTarget(p, port, "/")
	if !h2c {
		tg.url = "wss://" + harness.Addr(port) + "/"
	}
	tg.status = 200 // RFC 8441 §5: a 2xx answers the extended CONNECT
	tr := &websocket.HTTP2Transport{}
	t.Cleanup(func() { tr.Close() })
	tg.options = func() *websocket.DialOptions {
		return &websocket.DialOptions{TLSConfig: tlsConf, HTTP2: websocket.HTTP2Require, HTTP2Transport: tr}
	}
	return tg
}
