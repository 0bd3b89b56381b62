package main

import (
	"context"
	"time"

	"github.com/gorilla/websocket"
)

// gorilla/websocket with its default dialer and 4 KiB buffers, reading each
// message through NextReader into a reused buffer and writing with
// WriteMessage (one frame per buffer-full, one flush per message).
//
// In the compressed scenarios it sets EnableCompression, with its default
// level (1, the standard library's compress/flate). gorilla offers and
// supports only permessage-deflate without context takeover either way, so
// each message is compressed on its own: a different stream, so the report
// marks it and leaves it out of the best-peer ratio (zNoTakeover).
//
// Over wss, Dialer.TLSClientConfig trusts the benchmark's CA.
func init() {
	register(library{name: libGorilla, peer: true, dial: dialGorilla, dialZ: dialGorillaZ, zNoTakeover: true})
}

type gorillaConn struct {
	c   *websocket.Conn
	buf []byte
}

func dialGorilla(ctx context.Context, url string, size int) (conn, error) {
	if tc := clientTLS(url); tc != nil {
		d := *websocket.DefaultDialer
		d.TLSClientConfig = tc
		return newGorilla(ctx, &d, url, size)
	}
	return newGorilla(ctx, websocket.DefaultDialer, url, size)
}

func dialGorillaZ(ctx context.Context, url string, size int) (zconn, error) {
	d := *websocket.DefaultDialer
	d.EnableCompression = true
	d.TLSClientConfig = clientTLS(url)
	return newGorilla(ctx, &d, url, size)
}

func newGorilla(ctx context.Context, d *websocket.Dialer, url string, size int) (*gorillaConn, error) {
	c, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	return &gorillaConn{c: c, buf: messageBuffer(size)}, nil
}

func (g *gorillaConn) read() error {
	_, r, err := g.c.NextReader()
	if err != nil {
		return err
	}
	g.buf, err = readMessage(g.buf, r)
	return err
}

func (g *gorillaConn) receive(n, size int) error {
	if err := g.c.WriteMessage(websocket.BinaryMessage, startMessage); err != nil {
		return err
	}
	for range n {
		if err := g.read(); err != nil {
			return err
		}
		if err := checkSize(len(g.buf), size); err != nil {
			return err
		}
	}
	return nil
}

func (g *gorillaConn) send(p []byte, n int) error {
	for range n {
		if err := g.c.WriteMessage(websocket.BinaryMessage, p); err != nil {
			return err
		}
	}
	return g.read()
}

func (g *gorillaConn) sendTexts(msgs [][]byte, n int) error {
	for i := range n {
		if err := g.c.WriteMessage(websocket.TextMessage, msgs[i%len(msgs)]); err != nil {
			return err
		}
	}
	return g.read()
}

func (g *gorillaConn) roundTrip(p []byte) error {
	if err := g.c.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return err
	}
	if err := g.read(); err != nil {
		return err
	}
	return checkSize(len(g.buf), len(p))
}

func (g *gorillaConn) idle() {
	go func() { _, _, _ = g.c.NextReader() }()
}

func (g *gorillaConn) close() error {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := g.c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(3*time.Second)); err != nil {
		g.c.Close()
		return err
	}
	// gorilla leaves waiting for the server's close frame to the caller.
	for {
		if _, _, err := g.c.NextReader(); err != nil {
			break
		}
	}
	return g.c.Close()
}

func (g *gorillaConn) abort() { g.c.NetConn().Close() }
