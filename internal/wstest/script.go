package wstest

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	public "github.com/wsclient/websocket/wstest"
)

// Pipe is a server that hands each upgraded connection to the test, so a
// test can play the server's part step by step on its own goroutine (and
// call t.Fatal). The test owns the Conns it takes; Close ends them all.
type Pipe struct {
	*Server
	conns chan *Conn
	quit  chan struct{}
}

// NewPipe starts a Pipe whose handshakes answer with respHeader added.
func NewPipe(respHeader http.Header) *Pipe {
	conns, quit := make(chan *Conn), make(chan struct{})
	p := &Pipe{conns: conns, quit: quit}
	// The handler uses only locals: p.Server is written after NewRaw has
	// started the accept loop. Each Conn carries its handshake Request.
	p.Server = NewRaw(func(nc net.Conn) {
		defer nc.Close()
		c, err := Upgrade(nc, nil, respHeader)
		if err != nil {
			return
		}
		select {
		case conns <- c:
		case <-quit:
			return
		}
		// The test owns c now; hold the handler (and so the server's
		// bookkeeping) until the Pipe is closed.
		<-quit
	})
	return p
}

// Next returns the next upgraded connection, or an error after timeout.
func (p *Pipe) Next(timeout time.Duration) (*Conn, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case c := <-p.conns:
		return c, nil
	case <-t.C:
		return nil, errors.New("wstest: no connection within " + timeout.String())
	}
}

// Close closes every connection and stops the server.
func (p *Pipe) Close() {
	close(p.quit)
	p.Server.Close()
}

// AppendHeader appends a server frame header declaring length payload
// bytes, whatever follows: rsv holds the three RSV bits (RSV1 = 4). With
// masked, key follows the length (a masked server frame is a protocol
// violation, which is the point of sending one).
func AppendHeader(dst []byte, fin bool, rsv, op byte, masked bool, key [4]byte, length uint64) []byte {
	b0 := op&0xF | (rsv&7)<<4
	if fin {
		b0 |= 0x80
	}
	var b1 byte
	if masked {
		b1 = 0x80
	}
	switch {
	case length <= 125:
		dst = append(dst, b0, b1|byte(length))
	case length <= 0xFFFF:
		dst = append(dst, b0, b1|126, byte(length>>8), byte(length))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, length)
	}
	if masked {
		dst = append(dst, key[:]...)
	}
	return dst
}

// AppendFrameRsv appends an unmasked server frame with RSV bits rsv
// (RSV1 = 4) and any opcode, valid or not.
func AppendFrameRsv(dst []byte, fin bool, rsv, op byte, payload []byte) []byte {
	dst = AppendHeader(dst, fin, rsv, op, false, [4]byte{}, uint64(len(payload)))
	return append(dst, payload...)
}

// AppendMaskedFrame appends a frame masked with key, as only a client may
// send it.
func AppendMaskedFrame(dst []byte, fin bool, op byte, key [4]byte, payload []byte) []byte {
	dst = AppendHeader(dst, fin, 0, op, true, key, uint64(len(payload)))
	n := len(dst)
	dst = append(dst, payload...)
	for i := range payload {
		dst[n+i] ^= key[i%4]
	}
	return dst
}

// WriteChopped writes b in pieces of at most chop bytes, one write each,
// as Autobahn's "chopped" cases do.
func (c *Conn) WriteChopped(b []byte, chop int) error {
	for len(b) > 0 {
		k := min(chop, len(b))
		if err := c.WriteRaw(b[:k]); err != nil {
			return err
		}
		b = b[k:]
	}
	return nil
}

// ReadFrameWithin reads one frame, failing with a timeout error when none
// arrives within d.
func (c *Conn) ReadFrameWithin(d time.Duration) (*Frame, error) {
	c.NC.SetReadDeadline(time.Now().Add(d))
	defer c.NC.SetReadDeadline(time.Time{})
	return c.ReadFrame()
}

// ReadRequest reads a handshake request from nc without answering it, for
// scripts that answer with their own bytes. It returns the request and
// the accept key the right answer would carry.
func ReadRequest(nc net.Conn) (req *http.Request, accept string, br *bufio.Reader, err error) {
	br = bufio.NewReader(nc)
	req, err = http.ReadRequest(br)
	if err != nil {
		return nil, "", nil, err
	}
	return req, AcceptKey(req.Header.Get("Sec-WebSocket-Key")), br, nil
}

// ReadFrameWithKey reads one frame like ReadFrame and also returns the
// mask key it carried (zero when unmasked), for tests of mask keys. The
// public wstest's codec reads it (a frame over 64 MiB is an error).
func (c *Conn) ReadFrameWithKey() (*Frame, [4]byte, error) {
	f, err := public.ReadFrameFrom(c.R)
	if err != nil {
		return nil, [4]byte{}, err
	}
	var rsv byte // RSV1 = 4
	if f.Rsv1 {
		rsv |= 4
	}
	if f.Rsv2 {
		rsv |= 2
	}
	if f.Rsv3 {
		rsv |= 1
	}
	return &Frame{Fin: f.Fin, Rsv: rsv, Opcode: byte(f.Opcode), Masked: f.Masked, Payload: f.Payload, DeclaredLn: f.Length}, f.MaskKey, nil
}

// Deflate returns p as the payload of a message compressed with
// permessage-deflate, as a server without context takeover sends it: raw
// deflate at level, ended by a sync flush whose last 4 bytes are removed.
func Deflate(p []byte, level int) []byte {
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, level)
	if err != nil {
		panic(err)
	}
	w.Write(p)
	w.Flush()
	return bytes.TrimSuffix(b.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// UpgradeFrom reads the upgrade request on nc and looks up what its path
// (without the leading slash) names in paths: nil if nothing. If something,
// it answers 101, with a Sec-WebSocket-Extensions line of ext(value) unless
// that is empty, and returns the value and the server's side of the
// connection (nil if the answer could not be written).
func UpgradeFrom(nc net.Conn, paths *sync.Map, ext func(value any) string) (any, *Conn) {
	req, accept, br, err := ReadRequest(nc)
	if err != nil {
		return nil, nil
	}
	v, ok := paths.Load(strings.TrimPrefix(req.URL.Path, "/"))
	if !ok {
		return nil, nil
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n"
	if e := ext(v); e != "" {
		resp += "Sec-WebSocket-Extensions: " + e + "\r\n"
	}
	if _, err := io.WriteString(nc, resp+"\r\n"); err != nil {
		return v, nil
	}
	return v, &Conn{NC: nc, R: br}
}

// Inflate returns a reader of what payload, a permessage-deflate message
// (the sync flush's tail removed), inflates to, with dict as the window the
// message may refer back into (the messages before it, with context
// takeover; nil without).
func Inflate(payload, dict []byte) io.ReadCloser {
	tail := []byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff} // the tail, then an empty final block
	return flate.NewReaderDict(io.MultiReader(bytes.NewReader(payload), bytes.NewReader(tail)), dict)
}
