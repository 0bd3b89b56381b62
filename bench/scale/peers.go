package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"
	"github.com/lxzan/gws"
)

// gobwas: ws.Dial, then one goroutine per connection reading frames through
// a wsutil.Reader over a 4 KiB bufio.Reader (its README's low-level way),
// control frames answered by wsutil.ControlFrameHandler and data payloads
// discarded. Each write is one frame compiled into one buffer, so the
// pinging goroutine and the sender never interleave bytes.
type gobwasClient struct {
	ev     *events
	conns  []net.Conn
	dialer ws.Dialer
}

func newGobwas(ev *events, o *options) (client, error) {
	cfg, err := clientTLS(o)
	if err != nil {
		return nil, err
	}
	return &gobwasClient{ev: ev, conns: make([]net.Conn, o.N), dialer: ws.Dialer{TLSConfig: cfg}}, nil
}

func (c *gobwasClient) async() bool { return false }

func (c *gobwasClient) open(ctx context.Context, i int, url string) error {
	nc, br, _, err := c.dialer.Dial(ctx, url)
	if err != nil {
		return err
	}
	if br == nil {
		br = bufio.NewReaderSize(nc, ws.DefaultClientReadBufferSize)
	}
	c.conns[i] = nc
	go c.read(nc, br)
	return nil
}

func (c *gobwasClient) read(nc net.Conn, br *bufio.Reader) {
	control := wsutil.ControlFrameHandler(nc, ws.StateClientSide)
	rd := wsutil.Reader{Source: br, State: ws.StateClientSide}
	for {
		hdr, err := rd.NextFrame()
		if err != nil {
			c.ev.fail(err)
			return
		}
		if hdr.OpCode.IsControl() {
			if hdr.OpCode == ws.OpPong {
				c.ev.pongs.add()
			}
			if err := control(hdr, &rd); err != nil {
				c.ev.fail(err)
				return
			}
			continue
		}
		if err := rd.Discard(); err != nil {
			c.ev.fail(err)
			return
		}
		c.ev.msgs.add()
	}
}

func (c *gobwasClient) write(i int, f ws.Frame) error {
	b, err := ws.CompileFrame(ws.MaskFrameInPlace(f))
	if err != nil {
		return err
	}
	_, err = c.conns[i].Write(b)
	return err
}

func (c *gobwasClient) send(i int, p []byte) error {
	return c.write(i, ws.NewBinaryFrame(append([]byte(nil), p...)))
}

func (c *gobwasClient) ping(i int) error { return c.write(i, ws.NewPingFrame(nil)) }

// gws: NewClient with default options and `go ReadLoop()` per connection;
// one event handler serves every connection.
type gwsClient struct {
	gws.BuiltinEventHandler
	ev    *events
	conns []*gws.Conn
	tls   *tls.Config
}

func newGWS(ev *events, o *options) (client, error) {
	cfg, err := clientTLS(o)
	if err != nil {
		return nil, err
	}
	return &gwsClient{ev: ev, conns: make([]*gws.Conn, o.N), tls: cfg}, nil
}

func (c *gwsClient) async() bool { return false }

func (c *gwsClient) open(_ context.Context, i int, url string) error {
	conn, _, err := gws.NewClient(c, &gws.ClientOption{Addr: url, TlsConfig: c.tls})
	if err != nil {
		return err
	}
	c.conns[i] = conn
	go conn.ReadLoop()
	return nil
}

func (c *gwsClient) OnMessage(_ *gws.Conn, m *gws.Message) {
	_ = m.Close()
	c.ev.msgs.add()
}

func (c *gwsClient) OnPong(*gws.Conn, []byte) { c.ev.pongs.add() }

func (c *gwsClient) OnClose(_ *gws.Conn, err error) { c.ev.fail(err) }

func (c *gwsClient) send(i int, p []byte) error { return c.conns[i].WriteMessage(gws.OpcodeBinary, p) }
func (c *gwsClient) ping(i int) error           { return c.conns[i].WritePing(nil) }

// nbio: the client side of lesismal/nbio's epoll engine (nbhttp.Engine with
// its websocket.Dialer): no goroutine per connection; messages arrive in
// the upgrader's OnMessage with ReleaseWebsocketPayload on, its fastest
// documented way.
type nbioClient struct {
	ev     *events
	dialer *nbws.Dialer
	conns  []*nbws.Conn
}

func newNbio(ev *events, o *options) (client, error) {
	cfg, err := nbioClientTLS(o)
	if err != nil {
		return nil, err
	}
	logging.SetLevel(logging.LevelNone)
	engine := nbhttp.NewEngine(nbhttp.Config{ReleaseWebsocketPayload: true})
	if err := engine.Start(); err != nil {
		return nil, err
	}
	up := nbws.NewUpgrader()
	up.KeepaliveTime = 0
	up.OnMessage(func(*nbws.Conn, nbws.MessageType, []byte) { ev.msgs.add() })
	up.SetPongHandler(func(*nbws.Conn, string) { ev.pongs.add() })
	up.OnClose(func(_ *nbws.Conn, err error) { ev.fail(err) })
	return &nbioClient{
		ev:     ev,
		dialer: &nbws.Dialer{Engine: engine, Upgrader: up, TLSClientConfig: cfg},
		conns:  make([]*nbws.Conn, o.N),
	}, nil
}

func (c *nbioClient) async() bool { return false }

func (c *nbioClient) open(ctx context.Context, i int, url string) error {
	conn, _, err := c.dialer.DialContext(ctx, url, nil)
	if err != nil {
		return err
	}
	c.conns[i] = conn
	return nil
}

func (c *nbioClient) send(i int, p []byte) error {
	return c.conns[i].WriteMessage(nbws.BinaryMessage, p)
}
func (c *nbioClient) ping(i int) error {
	return c.conns[i].WriteMessage(nbws.PingMessage, nil)
}
