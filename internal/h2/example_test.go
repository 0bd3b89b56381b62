package h2_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"

	"github.com/wsclient/websocket/internal/h2"
)

// Example shows a WebSocket dial that prefers HTTP/2: TLS offers "h2";
// when the server picks it and supports extended CONNECT, the WebSocket is
// a stream of a pooled connection, else the dial falls back to HTTP/1.1.
func Example() {
	var pool h2.Pool // one per client, like an http.Transport
	ctx := context.Background()
	addr := "example.com:443"
	errHTTP1 := errors.New("the server chose HTTP/1.1")
	dial := func(ctx context.Context) (*h2.ClientConn, error) {
		d := tls.Dialer{Config: &tls.Config{NextProtos: []string{"h2", "http/1.1"}}}
		nc, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		if nc.(*tls.Conn).ConnectionState().NegotiatedProtocol != "h2" {
			nc.Close() // or keep it for the HTTP/1.1 upgrade
			return nil, errHTTP1
		}
		return h2.NewClientConn(ctx, nc, nil)
	}
	header := http.Header{"Sec-Websocket-Version": {"13"}}
	req := &h2.Request{Scheme: "https", Authority: addr, Path: "/chat", Header: header}
	resp, stream, err := pool.OpenWebSocket(ctx, h2.Key{Name: "https://" + addr}, dial, req)
	switch {
	case errors.Is(err, errHTTP1), errors.Is(err, h2.ErrExtendedConnectUnsupported):
		// Dial again with HTTP/1.1 and the Upgrade handshake.
	case err != nil:
		// A *h2.StatusError carries a non-2xx answer.
	default:
		_ = resp.Header.Get("Sec-Websocket-Protocol")
		stream.Write([]byte("WebSocket frames go here"))
		stream.Close()
	}
}
