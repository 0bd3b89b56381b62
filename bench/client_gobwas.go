package main

import (
	"bufio"
	"context"
	"io"
	"net"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// gobwas/ws through its wsutil helpers, the way its README's "low-level"
// example does it: a wsutil.Reader over a 4 KiB bufio.Reader, control frames
// answered by wsutil.ControlFrameHandler, payloads read into a reused buffer,
// and one wsutil.Writer (4 KiB buffer) reused for every message.
func init() {
	register(library{name: libGobwas, peer: true, dial: dialGobwas})
}

type gobwasConn struct {
	nc      net.Conn
	rd      wsutil.Reader
	wr      *wsutil.Writer
	control wsutil.FrameHandlerFunc
	buf     []byte
}

func dialGobwas(ctx context.Context, url string, size int) (conn, error) {
	// Over wss, Dialer.TLSConfig trusts the benchmark's CA; for ws it is
	// nil, which makes this ws.DefaultDialer.
	nc, br, _, err := ws.Dialer{TLSConfig: clientTLS(url)}.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	if br == nil {
		br = bufio.NewReaderSize(nc, ws.DefaultClientReadBufferSize)
	}
	// The writer (with its 4 KiB buffer) and the control-frame handler
	// are made at their first use, as the other clients make theirs: a
	// dial, and an idle connection, pay for neither.
	g := &gobwasConn{nc: nc, buf: messageBuffer(size)}
	g.rd = wsutil.Reader{Source: br, State: ws.StateClientSide, OnIntermediate: g.onControl}
	return g, nil
}

// onControl answers a control frame, making the handler at the first.
func (g *gobwasConn) onControl(hdr ws.Header, r io.Reader) error {
	if g.control == nil {
		g.control = wsutil.ControlFrameHandler(g.nc, ws.StateClientSide)
	}
	return g.control(hdr, r)
}

// read reads the next data message into g.buf, answering control frames.
func (g *gobwasConn) read() error {
	for {
		hdr, err := g.rd.NextFrame()
		if err != nil {
			return err
		}
		if hdr.OpCode.IsControl() {
			if err := g.onControl(hdr, &g.rd); err != nil {
				return err
			}
			continue
		}
		g.buf, err = readMessage(g.buf, &g.rd)
		return err
	}
}

func (g *gobwasConn) write(p []byte) error {
	if g.wr == nil {
		g.wr = wsutil.NewWriter(g.nc, ws.StateClientSide, ws.OpBinary)
	}
	if _, err := g.wr.Write(p); err != nil {
		return err
	}
	return g.wr.Flush()
}

func (g *gobwasConn) receive(n, size int) error {
	if err := g.write(startMessage); err != nil {
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

func (g *gobwasConn) send(p []byte, n int) error {
	for range n {
		if err := g.write(p); err != nil {
			return err
		}
	}
	return g.read()
}

func (g *gobwasConn) roundTrip(p []byte) error {
	if err := g.write(p); err != nil {
		return err
	}
	if err := g.read(); err != nil {
		return err
	}
	return checkSize(len(g.buf), len(p))
}

func (g *gobwasConn) idle() {
	go func() { _, _ = g.rd.NextFrame() }()
}

func (g *gobwasConn) close() error {
	f := ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
	if err := ws.WriteFrame(g.nc, ws.MaskFrameInPlace(f)); err != nil {
		g.nc.Close()
		return err
	}
	// Wait for the server's close frame: read answers it and returns the
	// wsutil.ClosedError.
	for g.read() == nil {
	}
	// Over TLS, Close sends a close_notify alert, which fails when the
	// server, done with the connection, has closed it first: the closing
	// handshake is over, so that failure is not the run's.
	_ = g.nc.Close()
	return nil
}

func (g *gobwasConn) abort() { g.nc.Close() }
