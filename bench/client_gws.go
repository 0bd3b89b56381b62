package main

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/lxzan/gws"
)

// lxzan/gws with default options, used through its event handler: ReadLoop
// runs on its own goroutine and OnMessage receives each message in a pooled
// buffer, which the handler returns to the pool at once. Writes use
// WriteMessage. A scenario waits for the handler through a channel, which is
// how a gws user gets a reply back to the goroutine that asked.
//
// The compressed scenarios enable its PermessageDeflate with context
// takeover both ways (the setup gws recommends for clients) and its default
// level (flate.BestSpeed, klauspost/compress) and threshold (0 with client
// context takeover: every message is compressed).
//
// Over wss, ClientOption.TlsConfig trusts the benchmark's CA.
func init() {
	register(library{name: libGWS, peer: true, dial: dialGWS, dialZ: dialGWSZ})
}

var errGWSClosed = errors.New("gws: connection closed")

// gwsHandler counts messages until want have arrived, then reports on done.
// want and size are set by the scenario before the server has a reason to
// send anything, and read by the ReadLoop goroutine.
type gwsHandler struct {
	gws.BuiltinEventHandler
	want   atomic.Int64
	size   atomic.Int64
	got    int64       // ReadLoop goroutine only
	own    atomic.Bool // recv-api: keep a copy of each payload (ownCopy)
	done   chan error
	closed chan struct{}
}

func (h *gwsHandler) OnMessage(_ *gws.Conn, m *gws.Message) {
	n := int64(m.Data.Len())
	if h.own.Load() {
		n = int64(len(ownCopy(m.Bytes())))
	}
	_ = m.Close()
	if want := h.size.Load(); n != want {
		h.done <- checkSize(int(n), int(want))
		return
	}
	h.got++
	if h.got == h.want.Load() {
		h.got = 0
		h.done <- nil
	}
}

func (h *gwsHandler) OnClose(*gws.Conn, error) {
	close(h.closed)
	select {
	case h.done <- errGWSClosed:
	default:
	}
}

type gwsConn struct {
	c       *gws.Conn
	h       *gwsHandler
	reading bool
}

func dialGWS(_ context.Context, url string, _ int) (conn, error) {
	return newGWS(&gws.ClientOption{Addr: url, TlsConfig: clientTLS(url)})
}

func dialGWSZ(_ context.Context, url string, _ int) (zconn, error) {
	return newGWS(gwsZOption(url))
}

// gwsZOption is the compressed scenarios' gws configuration.
func gwsZOption(url string) *gws.ClientOption {
	return &gws.ClientOption{Addr: url, TlsConfig: clientTLS(url), PermessageDeflate: gws.PermessageDeflate{
		Enabled:               true,
		ServerContextTakeover: true,
		ClientContextTakeover: true,
	}}
}

func newGWS(opt *gws.ClientOption) (*gwsConn, error) {
	h := &gwsHandler{done: make(chan error, 1), closed: make(chan struct{})}
	c, _, err := gws.NewClient(h, opt)
	if err != nil {
		return nil, err
	}
	return &gwsConn{c: c, h: h}, nil
}

// expect arms the handler and starts ReadLoop on first use (the handshake
// scenario never reads, so it does not pay for the goroutine).
func (g *gwsConn) expect(n, size int) {
	g.h.want.Store(int64(n))
	g.h.size.Store(int64(size))
	g.startReading()
}

func (g *gwsConn) startReading() {
	if !g.reading {
		g.reading = true
		go g.c.ReadLoop()
	}
}

func (g *gwsConn) receive(n, size int) error {
	g.expect(n, size)
	if err := g.c.WriteMessage(gws.OpcodeBinary, startMessage); err != nil {
		return err
	}
	return <-g.h.done
}

func (g *gwsConn) send(p []byte, n int) error {
	g.expect(1, len(doneMessage))
	for range n {
		if err := g.c.WriteMessage(gws.OpcodeBinary, p); err != nil {
			return err
		}
	}
	return <-g.h.done
}

func (g *gwsConn) sendTexts(msgs [][]byte, n int) error {
	g.expect(1, len(doneMessage))
	for i := range n {
		if err := g.c.WriteMessage(gws.OpcodeText, msgs[i%len(msgs)]); err != nil {
			return err
		}
	}
	return <-g.h.done
}

func (g *gwsConn) roundTrip(p []byte) error {
	g.expect(1, len(p))
	if err := g.c.WriteMessage(gws.OpcodeBinary, p); err != nil {
		return err
	}
	return <-g.h.done
}

func (g *gwsConn) idle() { g.startReading() }

// close sends the close frame; gws then closes the socket itself, which ends
// ReadLoop.
func (g *gwsConn) close() error {
	err := g.c.WriteClose(1000, nil)
	if g.reading {
		<-g.h.closed
	}
	return err
}

func (g *gwsConn) abort() { _ = g.c.NetConn().Close() }
