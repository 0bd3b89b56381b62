package main

import (
	"bytes"
	"context"
	"io"

	coder "github.com/coder/websocket"
	"github.com/gobwas/ws/wsutil"
	"github.com/gorilla/websocket"
)

// The recv-api scenario is recv (the same /flood server path and message
// sizes) received through each library's default API, the call a user
// writes first, which hands over a payload the caller owns, one new slice
// per message:
//
//	wsclient  Conn.Recv
//	gorilla   Conn.ReadMessage
//	coder     Conn.Read
//	gobwas    wsutil.ReadServerData (over the dial's 4 KiB bufio.Reader)
//	gws       OnMessage, copying Message.Bytes() before Close (the pooled
//	          buffer goes back to gws)
//
// The raw-TCP ceiling takes no part: it has no messages to own.

// apiConn is a conn that can receive through its library's default API.
type apiConn interface {
	// receiveAPI sends a one-byte start message, then receives n messages
	// of size bytes each, each one a payload the caller owns.
	receiveAPI(n, size int) error
}

// takesPart reports whether lib runs in scenario sc: the compressed
// scenarios need a dialZ, recv-api an apiConn.
func takesPart(sc, lib string) bool {
	l := libraries[lib]
	switch {
	case compressed(sc):
		return l.dialZ != nil
	case kindOf(sc) == scRecvAPI:
		return l.peer || lib == libOurs
	}
	return true
}

func (o *oursConn) receiveAPI(n, size int) error {
	if err := o.c.SendBinary(startMessage); err != nil {
		return err
	}
	for range n {
		m, err := o.c.Recv()
		if err != nil {
			return err
		}
		if err := checkSize(len(m.Data), size); err != nil {
			return err
		}
	}
	return nil
}

func (g *gorillaConn) receiveAPI(n, size int) error {
	if err := g.c.WriteMessage(websocket.BinaryMessage, startMessage); err != nil {
		return err
	}
	for range n {
		_, p, err := g.c.ReadMessage()
		if err != nil {
			return err
		}
		if err := checkSize(len(p), size); err != nil {
			return err
		}
	}
	return nil
}

func (c *coderConn) receiveAPI(n, size int) error {
	ctx := context.Background()
	if err := c.c.Write(ctx, coder.MessageBinary, startMessage); err != nil {
		return err
	}
	for range n {
		_, p, err := c.c.Read(ctx)
		if err != nil {
			return err
		}
		if err := checkSize(len(p), size); err != nil {
			return err
		}
	}
	return nil
}

func (g *gobwasConn) receiveAPI(n, size int) error {
	if err := g.write(startMessage); err != nil {
		return err
	}
	rw := struct {
		io.Reader
		io.Writer
	}{g.rd.Source, g.nc}
	for range n {
		p, _, err := wsutil.ReadServerData(rw)
		if err != nil {
			return err
		}
		if err := checkSize(len(p), size); err != nil {
			return err
		}
	}
	return nil
}

func (g *gwsConn) receiveAPI(n, size int) error {
	g.h.own.Store(true)
	return g.receive(n, size)
}

// ownCopy is what a gws handler does with a message when the scenario asks
// for an owned payload: the copy's length is the message's.
func ownCopy(p []byte) []byte { return bytes.Clone(p) }

// scRecvAPI is the scenario's name; wss-recv-api is its twin over TLS.
const scRecvAPI = "recv-api"

const recvAPITitle = "Receive through the default API, the payload owned by the caller (MB/s, higher is better)"

// scTIdle is the idle scenario after one echo round trip per connection
// (idle.go): what a connection keeps once messages have passed.
const scTIdle = "tidle"

func init() { allScenarios = append(allScenarios, scRecvAPI, scTIdle, wssPrefix+scRecvAPI) }
