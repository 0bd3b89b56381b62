package h2

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// peer is a scripted HTTP/2 server on the far end of a net.Pipe: the test
// writes its frames by hand and reads what the client sent.
type peer struct {
	t      *testing.T
	conn   net.Conn
	fr     *http2.Framer // writes only
	henc   *hpack.Encoder
	hbuf   bytes.Buffer
	frames chan frame    // frames from the client, when reading
	done   chan struct{} // closed when the reading goroutine ended
}

// frame is a copy of a frame the client sent.
type frame struct {
	typ    http2.FrameType
	stream uint32
	flags  http2.Flags
	data   []byte
	fields []hpack.HeaderField
	code   http2.ErrCode
	incr   uint32
	ping   [8]byte
	debug  string
}

var extConnect = http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1}

// newPeer returns the client's end of a pipe and the peer on the other.
// A reading peer reads the preface and then every frame into p.frames; a
// peer that does not read stalls the client's writes.
func newPeer(t *testing.T, read bool) (net.Conn, *peer) {
	c, s := net.Pipe()
	p := &peer{t: t, conn: s, frames: make(chan frame, 8192), done: make(chan struct{})}
	p.fr = http2.NewFramer(s, nil)
	p.fr.AllowIllegalWrites = true
	p.henc = hpack.NewEncoder(&p.hbuf)
	t.Cleanup(func() {
		s.Close()
		c.Close()
		<-p.done
	})
	if !read {
		close(p.done)
		return c, p
	}
	go p.read()
	return c, p
}

func (p *peer) read() {
	defer close(p.done)
	defer close(p.frames)
	if _, err := io.ReadFull(p.conn, make([]byte, len(http2.ClientPreface))); err != nil {
		return
	}
	fr := http2.NewFramer(nil, p.conn)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.SetMaxReadFrameSize(1 << 24)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		g := frame{typ: f.Header().Type, stream: f.Header().StreamID, flags: f.Header().Flags}
		switch f := f.(type) {
		case *http2.DataFrame:
			g.data = bytes.Clone(f.Data())
		case *http2.MetaHeadersFrame:
			g.typ = http2.FrameHeaders
			g.fields = f.Fields
		case *http2.RSTStreamFrame:
			g.code = f.ErrCode
		case *http2.GoAwayFrame:
			g.code, g.debug = f.ErrCode, string(f.DebugData())
		case *http2.WindowUpdateFrame:
			g.incr = f.Increment
		case *http2.PingFrame:
			g.ping = f.Data
		}
		p.frames <- g
	}
}

// next returns the next frame of type typ the client sent, skipping
// others.
func (p *peer) next(typ http2.FrameType) frame {
	p.t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case f, ok := <-p.frames:
			if !ok {
				p.t.Fatalf("connection ended while waiting for %v", typ)
			}
			if f.typ == typ {
				return f
			}
		case <-timeout.C:
			p.t.Fatalf("no %v from the client", typ)
		}
	}
}

// rest returns the frames the client sends until the connection ends.
func (p *peer) rest() []frame {
	var all []frame
	for f := range p.frames {
		all = append(all, f)
	}
	return all
}

func (p *peer) settings(s ...http2.Setting) { p.fr.WriteSettings(s...) }

// async runs f, which writes frames, on its own goroutine; the returned
// channel is closed when it is done (and the Framer free again).
func (p *peer) async(f func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	return done
}

// block encodes header fields given as name, value pairs.
func (p *peer) block(kv ...string) []byte {
	p.hbuf.Reset()
	for i := 0; i < len(kv); i += 2 {
		p.henc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return bytes.Clone(p.hbuf.Bytes())
}

func (p *peer) headers(stream uint32, end bool, kv ...string) {
	p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: stream, BlockFragment: p.block(kv...), EndHeaders: true, EndStream: end})
}

// start connects a ClientConn with cfg to a reading peer that sends
// settings s.
func start(t *testing.T, cfg *Config, s ...http2.Setting) (*ClientConn, *peer) {
	t.Helper()
	c, p := newPeer(t, true)
	sent := p.async(func() { p.settings(s...) })
	cc, err := NewClientConn(context.Background(), c, cfg)
	<-sent
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc, p
}

// open opens a stream that the peer answers with 200.
func (p *peer) open(cc *ClientConn) *Stream {
	p.t.Helper()
	type result struct {
		st  *Stream
		err error
	}
	res := make(chan result, 1)
	go func() {
		_, st, err := cc.OpenWebSocket(context.Background(), &Request{Scheme: "https", Authority: "example.com", Path: "/"})
		res <- result{st, err}
	}()
	h := p.next(http2.FrameHeaders)
	p.headers(h.stream, false, ":status", "200")
	r := <-res
	if r.err != nil {
		p.t.Fatal(r.err)
	}
	return r.st
}

// ping checks that the connection still works: the peer answers a PING
// (skipping the client's answers to PINGs of the peer's).
func (p *peer) ping(cc *ClientConn) {
	p.t.Helper()
	errc := make(chan error, 1)
	go func() {
		_, err := cc.Ping(context.Background())
		errc <- err
	}()
	f := p.next(http2.FramePing)
	for f.flags&http2.FlagPingAck != 0 {
		f = p.next(http2.FramePing)
	}
	p.fr.WritePing(true, f.ping)
	if err := <-errc; err != nil {
		p.t.Fatalf("Ping: %v", err)
	}
}

// codeOfErr returns the HTTP/2 error code err carries.
func codeOfErr(err error) (http2.ErrCode, bool) {
	var ce *CodeError
	if errors.As(err, &ce) {
		return ce.Code, true
	}
	return 0, false
}
