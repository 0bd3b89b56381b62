package main

import (
	"context"
	"fmt"

	websocket "github.com/wsclient/websocket"
)

// Our client, github.com/wsclient/websocket, with default DialOptions: each
// message is received with RecvAppend into a reused buffer (the
// zero-allocation receive) and sent with SendBinary. The compressed
// scenarios add the zero CompressionOptions: permessage-deflate with context
// takeover both ways, our default level (1) and threshold (128 bytes), and
// send with Send(msg, OpText). Over wss, DialOptions.TLSConfig trusts the
// benchmark's CA.
//
// wsclient-nopoll and wsclient-spin are the same client with
// DialOptions.BusyPoll set to BusyPollOff and BusyPollOn: not peers, and not
// run unless named in -libs (the contended run compares the three).
func init() {
	register(library{name: libOurs, dial: dialOurs, dialZ: dialOursZ})
	register(library{name: libOursSpin, extra: true,
		dial: func(ctx context.Context, url string, size int) (conn, error) {
			return dialOursWith(ctx, url, size, websocket.BusyPollOn)
		},
		dialZ: func(ctx context.Context, url string, size int) (zconn, error) {
			return dialOursZWith(ctx, url, size, websocket.BusyPollOn)
		}})
	register(library{name: libOursNoPoll, extra: true,
		dial: func(ctx context.Context, url string, size int) (conn, error) {
			return dialOursWith(ctx, url, size, websocket.BusyPollOff)
		},
		dialZ: func(ctx context.Context, url string, size int) (zconn, error) {
			return dialOursZWith(ctx, url, size, websocket.BusyPollOff)
		}})
}

type oursConn struct {
	c   *websocket.Conn
	buf []byte
}

func dialOurs(ctx context.Context, url string, size int) (conn, error) {
	return dialOursWith(ctx, url, size, websocket.BusyPollDefault)
}

func dialOursWith(ctx context.Context, url string, size int, poll websocket.BusyPollMode) (conn, error) {
	var opts *websocket.DialOptions // ws: the defaults
	if tc := clientTLS(url); tc != nil || poll != websocket.BusyPollDefault {
		opts = &websocket.DialOptions{TLSConfig: tc, BusyPoll: poll}
	}
	c, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	return &oursConn{c: c, buf: messageBuffer(size)}, nil
}

func dialOursZ(ctx context.Context, url string, size int) (zconn, error) {
	return dialOursZWith(ctx, url, size, websocket.BusyPollDefault)
}

func dialOursZWith(ctx context.Context, url string, size int, poll websocket.BusyPollMode) (zconn, error) {
	c, err := websocket.Dial(ctx, url, &websocket.DialOptions{Compression: &websocket.CompressionOptions{}, TLSConfig: clientTLS(url), BusyPoll: poll})
	if err != nil {
		return nil, err
	}
	if p, ok := c.Compression(); !ok || p.ClientNoContextTakeover || p.ServerNoContextTakeover {
		c.Abort()
		return nil, fmt.Errorf("permessage-deflate with context takeover not negotiated: %+v, %v", p, ok)
	}
	return &oursConn{c: c, buf: messageBuffer(size)}, nil
}

func (o *oursConn) sendTexts(msgs [][]byte, n int) error {
	for i := range n {
		if err := o.c.Send(msgs[i%len(msgs)], websocket.OpText); err != nil {
			return err
		}
	}
	return o.read()
}

func (o *oursConn) read() error {
	var err error
	_, o.buf, err = o.c.RecvAppend(o.buf[:0])
	return err
}

func (o *oursConn) receive(n, size int) error {
	if err := o.c.SendBinary(startMessage); err != nil {
		return err
	}
	for range n {
		if err := o.read(); err != nil {
			return err
		}
		if err := checkSize(len(o.buf), size); err != nil {
			return err
		}
	}
	return nil
}

func (o *oursConn) send(p []byte, n int) error {
	for range n {
		if err := o.c.SendBinary(p); err != nil {
			return err
		}
	}
	return o.read()
}

func (o *oursConn) roundTrip(p []byte) error {
	if err := o.c.SendBinary(p); err != nil {
		return err
	}
	if err := o.read(); err != nil {
		return err
	}
	return checkSize(len(o.buf), len(p))
}

func (o *oursConn) idle() {
	go func() { _, _, _ = o.c.RecvAppend(o.buf[:0]) }()
}

func (o *oursConn) close() error { return o.c.Close() }

func (o *oursConn) abort() { o.c.Abort() }
