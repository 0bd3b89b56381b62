package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/url"
)

// The raw-TCP "library" is the ceiling: after a minimal handshake it moves the
// same bytes as a WebSocket client would, pre-encoded and pre-masked, with one
// read or write system call per message and no framing work at all. Over
// wss it runs the same over a crypto/tls connection: the ceiling of a
// client that reads through TLS.
func init() {
	register(library{name: libTCP, dial: dialTCP})
}

type tcpConn struct {
	nc   net.Conn
	br   *bufio.Reader // only for the handshake response and idle reads
	buf  []byte        // read buffer
	echo []byte        // the pre-encoded frame of roundTrip
}

// tcpMaskKey is the fixed masking key of pre-encoded client frames.
var tcpMaskKey = [4]byte{0x12, 0x34, 0x56, 0x78}

func dialTCP(ctx context.Context, rawURL string, _ int) (conn, error) { // the buffer is made at its first use (buffer)
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	if tc := clientTLS(rawURL); tc != nil {
		tlc := tls.Client(nc, tc)
		if err := tlc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tlc
	}
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		nc.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 4096)
	if err := readHandshakeResponse(br); err != nil {
		nc.Close()
		return nil, err
	}
	if br.Buffered() > 0 {
		nc.Close()
		return nil, fmt.Errorf("tcp: %d unexpected bytes after the handshake", br.Buffered())
	}
	return &tcpConn{nc: nc, br: br}, nil
}

// readHandshakeResponse reads an HTTP response head and checks for status 101.
func readHandshakeResponse(br *bufio.Reader) error {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 101")) {
		return fmt.Errorf("handshake: %q", bytes.TrimSpace(line))
	}
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			return nil
		}
	}
}

// maskedFrame pre-encodes a client frame.
func maskedFrame(op byte, p []byte) []byte {
	f := appendHeader(nil, true, op, len(p), tcpMaskKey[:])
	n := len(f)
	f = append(f, p...)
	maskBytes(tcpMaskKey, f[n:])
	return f
}

// receive reads the n frames' bytes with large reads, as fast as the kernel
// hands them over.
func (c *tcpConn) receive(n, size int) error {
	if _, err := c.nc.Write(maskedFrame(opBinary, startMessage)); err != nil {
		return err
	}
	left := n * frameSize(size, false)
	for left > 0 {
		buf := c.buffer(max(64<<10, frameSize(size, false)))
		k, err := c.nc.Read(buf[:min(left, len(buf))])
		left -= k
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *tcpConn) send(p []byte, n int) error {
	f := maskedFrame(opBinary, p)
	for range n {
		if _, err := c.nc.Write(f); err != nil {
			return err
		}
	}
	_, err := io.ReadFull(c.nc, c.buffer(frameSize(len(doneMessage), false)))
	return err
}

func (c *tcpConn) roundTrip(p []byte) error {
	// The frame is encoded and masked once per connection: skipping that
	// per-message work is what makes raw TCP the ceiling.
	if c.echo == nil {
		c.echo = maskedFrame(opBinary, p)
	}
	if _, err := c.nc.Write(c.echo); err != nil {
		return err
	}
	_, err := io.ReadFull(c.nc, c.buffer(frameSize(len(p), false)))
	return err
}

// buffer returns n bytes of the connection's buffer, made at its first use
// and grown to the largest n asked: an idle connection holds none, one that
// echoed a message holds that message's frame, one that received a flood
// the 64 KiB of its reads.
func (c *tcpConn) buffer(n int) []byte {
	if len(c.buf) < n {
		c.buf = make([]byte, n)
	}
	return c.buf[:n]
}

func (c *tcpConn) idle() {
	go func() { _, _ = c.br.ReadByte() }()
}

func (c *tcpConn) close() error {
	_, _ = c.nc.Write(maskedFrame(opClose, []byte{0x03, 0xe8}))
	// Wait for the server's close frame so it sees an orderly end.
	var reply [4]byte
	_, _ = io.ReadFull(c.nc, reply[:])
	return c.nc.Close()
}

func (c *tcpConn) abort() { c.nc.Close() }
