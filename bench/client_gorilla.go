package main

import (
	"context"
	"time"

	"github.com/gorilla/websocket"
)

// gorilla/websocket with its default dialer and 4 KiB buffers, reading each
// message through NextReader into a reused buffer and writing with
// WriteMessage (one frame per buffer-full, one flush per message).
func init() {
	register(library{name: libGorilla, peer: true, dial: dialGorilla})
}

type gorillaConn struct {
	c   *websocket.Conn
	buf []byte
}

func dialGorilla(ctx context.Context, url string, size int) (conn, error) {
	c, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
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
