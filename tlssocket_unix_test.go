//go:build unix

package websocket

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/wsclient/websocket/internal/wstest"
)

// countingConn counts the writes that reach it.
type countingConn struct {
	net.Conn
	writes atomic.Int32
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestWriteStreamGathersRecords checks that a large write over TLS reaches
// the socket as one write carrying every record crypto/tls sealed (it
// writes each 16 KiB record on its own otherwise), that the peer decrypts
// it whole, and that a short write still goes out at once.
func TestWriteStreamGathersRecords(t *testing.T) {
	ca := wstest.NewCA()
	cp, sp := net.Pipe()
	counter := &countingConn{Conn: cp}
	tc := tls.Client(&tlsSocket{Conn: counter}, &tls.Config{RootCAs: ca.Pool, ServerName: "localhost"})
	ts := tls.Server(sp, ca.ServerConfig())
	defer tc.Close()
	defer ts.Close()
	msg := bytes.Repeat([]byte("0123456789abcdef"), 4096+10) // 64 KiB + 160 B: five records
	got := make(chan []byte, 2)
	go func() {
		ts.Handshake()
		for _, n := range []int{len(msg), 10} {
			b := make([]byte, n)
			if _, err := io.ReadFull(ts, b); err != nil {
				b = nil
			}
			got <- b
		}
	}()
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	before := counter.writes.Load()
	if err := writeStream(tc, msg); err != nil {
		t.Fatal(err)
	}
	if w := counter.writes.Load() - before; w != 1 {
		t.Errorf("a %d-byte write took %d socket writes, want 1", len(msg), w)
	}
	if b := <-got; !bytes.Equal(b, msg) {
		t.Fatalf("the peer read %d bytes, not the message", len(b))
	}
	before = counter.writes.Load()
	if err := writeStream(tc, msg[:10]); err != nil {
		t.Fatal(err)
	}
	if w := counter.writes.Load() - before; w != 1 {
		t.Errorf("a short write took %d socket writes, want 1", w)
	}
	if b := <-got; !bytes.Equal(b, msg[:10]) {
		t.Fatalf("the peer read %q", b)
	}
}
