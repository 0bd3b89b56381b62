package main

import (
	"context"
	"net/http"
	"sync"

	"github.com/coder/websocket"
)

// coder/websocket with default options (no compression), reading each message
// through Reader into a reused buffer and writing with Write. Its read limit
// (32 KiB by default) is lifted so the 64 KiB and 1 MiB messages pass.
//
// The compressed scenarios set CompressionMode to CompressionContextTakeover
// (context takeover both ways) with its default level (flate.BestSpeed of
// the standard library's compress/flate) and threshold (128 bytes).
//
// Over wss, DialOptions.HTTPClient has a transport whose TLSClientConfig
// trusts the benchmark's CA.
func init() {
	register(library{name: libCoder, peer: true, dial: dialCoder, dialZ: dialCoderZ})
}

type coderConn struct {
	c   *websocket.Conn
	buf []byte
}

func dialCoder(ctx context.Context, url string, size int) (conn, error) {
	var opts *websocket.DialOptions // ws: the defaults
	if hc := coderHTTPClient(url); hc != nil {
		opts = &websocket.DialOptions{HTTPClient: hc}
	}
	return newCoder(ctx, url, size, opts)
}

func dialCoderZ(ctx context.Context, url string, size int) (zconn, error) {
	return newCoder(ctx, url, size, &websocket.DialOptions{CompressionMode: websocket.CompressionContextTakeover, HTTPClient: coderHTTPClient(url)})
}

// coderHTTPClient returns, for a wss URL, the HTTP client that dials with
// the benchmark's TLS configuration (coder dials through net/http), one per
// process as a user would keep it; nil (http.DefaultClient) otherwise.
func coderHTTPClient(url string) *http.Client {
	if clientTLS(url) == nil {
		return nil
	}
	return coderTLSClient()
}

var coderTLSClient = sync.OnceValue(func() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: sharedClientTLS()}}
})

func newCoder(ctx context.Context, url string, size int, opts *websocket.DialOptions) (*coderConn, error) {
	c, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(-1)
	return &coderConn{c: c, buf: messageBuffer(size)}, nil
}

func (c *coderConn) read() error {
	_, r, err := c.c.Reader(context.Background())
	if err != nil {
		return err
	}
	c.buf, err = readMessage(c.buf, r)
	return err
}

func (c *coderConn) receive(n, size int) error {
	ctx := context.Background()
	if err := c.c.Write(ctx, websocket.MessageBinary, startMessage); err != nil {
		return err
	}
	for range n {
		if err := c.read(); err != nil {
			return err
		}
		if err := checkSize(len(c.buf), size); err != nil {
			return err
		}
	}
	return nil
}

func (c *coderConn) send(p []byte, n int) error {
	ctx := context.Background()
	for range n {
		if err := c.c.Write(ctx, websocket.MessageBinary, p); err != nil {
			return err
		}
	}
	return c.read()
}

func (c *coderConn) sendTexts(msgs [][]byte, n int) error {
	ctx := context.Background()
	for i := range n {
		if err := c.c.Write(ctx, websocket.MessageText, msgs[i%len(msgs)]); err != nil {
			return err
		}
	}
	return c.read()
}

func (c *coderConn) roundTrip(p []byte) error {
	if err := c.c.Write(context.Background(), websocket.MessageBinary, p); err != nil {
		return err
	}
	if err := c.read(); err != nil {
		return err
	}
	return checkSize(len(c.buf), len(p))
}

func (c *coderConn) idle() {
	go func() { _, _, _ = c.c.Reader(context.Background()) }()
}

func (c *coderConn) close() error { return c.c.Close(websocket.StatusNormalClosure, "") }

func (c *coderConn) abort() { _ = c.c.CloseNow() }
