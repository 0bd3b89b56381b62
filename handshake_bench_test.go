//go:build !race

// The race detector changes allocation counts; these benchmarks and the
// allocation bound are meaningful without it only.

package websocket

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"net"
	"testing"
)

// rawHandshakeServer is a minimal loopback WebSocket server for handshake
// benchmarks: one goroutine accepts, reads the request up to the blank line,
// answers with a canned 101 carrying the right Sec-WebSocket-Accept and closes
// the connection. Apart from Accept itself it allocates nothing, so the
// allocations a benchmark reports are the client's plus the accepted socket's
// (BenchmarkDialRawTCP measures the latter).
type rawHandshakeServer struct {
	ln   net.Listener
	done chan struct{}
}

func newRawHandshakeServer(tb testing.TB) *rawHandshakeServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &rawHandshakeServer{ln: ln, done: make(chan struct{})}
	go s.serve()
	tb.Cleanup(func() {
		ln.Close()
		<-s.done
	})
	return s
}

func (s *rawHandshakeServer) url() string { return "ws://" + s.ln.Addr().String() + "/" }

func (s *rawHandshakeServer) serve() {
	defer close(s.done)
	var buf [4096]byte
	resp := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
	prefix := len(resp)
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		n := 0
		for !bytes.Contains(buf[:n], []byte("\r\n\r\n")) && n < len(buf) {
			m, err := nc.Read(buf[n:])
			n += m
			if err != nil {
				break
			}
		}
		resp = appendServerAccept(resp[:prefix], buf[:n])
		resp = append(resp, "\r\n\r\n"...)
		nc.Write(resp)
		nc.Close()
	}
}

// appendServerAccept finds Sec-WebSocket-Key in req and appends its accept
// value to dst.
func appendServerAccept(dst, req []byte) []byte {
	const name = "\r\nSec-WebSocket-Key: "
	i := bytes.Index(req, []byte(name))
	if i < 0 {
		return dst
	}
	key := req[i+len(name):]
	key = key[:bytes.IndexByte(key, '\r')]
	var in [24 + 36]byte
	n := copy(in[:], key)
	n += copy(in[n:], "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
	sum := sha1.Sum(in[:n])
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// BenchmarkDial is one whole handshake: Dial with default options (proxy
// from the environment, default socket options), the server's 101, Abort.
func BenchmarkDial(b *testing.B) {
	s := newRawHandshakeServer(b)
	url := s.url()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, err := Dial(ctx, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		c.Abort()
	}
}

// BenchmarkDialRawTCP is the floor under BenchmarkDial: the same server, a
// plain net.Dialer and a canned request. Its allocations are those of the
// sockets (both ends) and the server, which BenchmarkDial also pays.
func BenchmarkDialRawTCP(b *testing.B) {
	s := newRawHandshakeServer(b)
	addr := s.ln.Addr().String()
	ctx := context.Background()
	req := []byte("GET / HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	var d net.Dialer
	var buf [512]byte
	b.ReportAllocs()
	for b.Loop() {
		nc, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		nc.Write(req)
		n := 0
		for !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
			m, err := nc.Read(buf[n:])
			n += m
			if err != nil {
				b.Fatal(err)
			}
		}
		nc.Close()
	}
}

// TestDialAllocs bounds the allocations of a whole Dial (client and the
// benchmark server's accepted socket) so that a regression shows.
func TestDialAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count")
	}
	s := newRawHandshakeServer(t)
	url := s.url()
	cancellable, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		max  float64
	}{
		// 31 measured with Go 1.26 on linux/amd64, of which the server's
		// Accept takes 6 and the net package's dial about 19: its connect
		// applies the deadline only for a ctx with a Done, and then
		// starts a goroutine that watches it (connectContext; 26 before,
		// when a connect under context.Background had no deadline). The
		// default HandshakeTimeout costs no timer of ours: the deadline
		// rides on the sockets. The response's header map is the pooled
		// handshake state's (29 → 26 when each Dial made its own).
		{"background", context.Background(), 33},
		// A ctx that can be cancelled adds the AfterFuncs net and the
		// handshake register on it (31 measured), still no timer.
		{"cancellable", cancellable, 33},
	} {
		allocs := testing.AllocsPerRun(50, func() {
			c, err := Dial(tc.ctx, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			c.Abort()
		})
		if allocs > tc.max {
			t.Errorf("%s: Dial allocates %.0f times, want at most %.0f", tc.name, allocs, tc.max)
		}
		t.Logf("%s: %.0f allocations per Dial", tc.name, allocs)
	}
}
