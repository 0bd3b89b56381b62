package websocket_test

// Hostile and broken servers: each must give a clear error within the
// timeout, never a hang, never unbounded memory.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

func TestBadHandshakeServers(t *testing.T) {
	tests := []struct {
		name  string
		serve func(nc net.Conn)
	}{
		{"never answers", func(nc net.Conn) { io.Copy(io.Discard, nc) }},
		{"trickles headers forever", func(nc net.Conn) {
			io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\n")
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for range tick.C {
				if _, err := io.WriteString(nc, "X-Slow: y\r\n"); err != nil {
					return
				}
			}
		}},
		{"endless status line", func(nc net.Conn) {
			chunk := bytes.Repeat([]byte("H"), 32<<10)
			for {
				if _, err := nc.Write(chunk); err != nil {
					return
				}
			}
		}},
		{"endless headers", func(nc net.Conn) {
			io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\n")
			line := []byte("X-Pad: " + strings.Repeat("p", 1000) + "\r\n")
			for {
				if _, err := nc.Write(line); err != nil {
					return
				}
			}
		}},
		{"hangs up at once", func(nc net.Conn) {}},
		{"binary garbage", func(nc net.Conn) { nc.Write([]byte{0, 1, 2, 0xff, '\r', '\n', '\r', '\n'}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := wstest.NewRaw(func(nc net.Conn) {
				defer nc.Close()
				if _, _, _, err := wstest.ReadRequest(nc); err != nil {
					return
				}
				tc.serve(nc)
			})
			defer s.Close()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			c, err := websocket.Dial(context.Background(), s.URL, &websocket.DialOptions{Timeout: 300 * time.Millisecond})
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			checkPrefix(t, err)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("error after %v: %v", d, err)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
				t.Errorf("Dial allocated %d MiB", grew>>20)
			}
			t.Logf("%v", err)
		})
	}
}

func TestBadFrames(t *testing.T) {
	hdr := func(fin bool, op byte, n uint64) []byte {
		return wstest.AppendHeader(nil, fin, 0, op, false, [4]byte{}, n)
	}
	tests := []struct {
		name string
		wire []byte
		code int    // close code the client must send; 0 = none (the socket ended)
		kind string // "protocol", "payload", "closed"
	}{
		{"masked server frame", wstest.AppendMaskedFrame(nil, true, 0x1, [4]byte{9, 9, 9, 9}, []byte("hi")), 1002, "protocol"},
		{"64-bit length with the top bit set", append(hdr(true, 0x2, 1<<63|5), "hello"...), 1002, "protocol"},
		{"ping of 126 bytes in the 16-bit form", append(hdr(true, 0x9, 126), make([]byte, 126)...), 1002, "protocol"},
		{"huge declared control frame", hdr(true, 0x8, 1<<40), 1002, "protocol"},
		{"text ends inside UTF-8, empty final fragment", append(wstest.AppendFrame(nil, false, 0x1, []byte("a\xce")),
			wstest.AppendFrame(nil, true, 0x0, nil)...), 1007, "payload"},
		{"text ends inside UTF-8", wstest.AppendFrame(nil, true, 0x1, []byte("a\xe2\x82")), 1007, "payload"},
		{"surrogate in a later fragment", append(wstest.AppendFrame(nil, false, 0x1, []byte("ok")),
			wstest.AppendFrame(nil, true, 0x0, []byte("\xed\xa0\x80"))...), 1007, "payload"},
		{"invalid UTF-8 close reason", wstest.AppendFrame(nil, true, 0x8, append(wstest.ClosePayload(1000, ""), 0xff)), 1002, "protocol"},
		{"closes mid-header", hdr(true, 0x2, 70000)[:3], 0, "closed"},
		{"closes mid-payload", append(hdr(true, 0x2, 1000), make([]byte, 10)...), 0, "closed"},
		{"closes mid-message", wstest.AppendFrame(nil, false, 0x1, []byte("part")), 0, "closed"},
		{"2^62-byte length, then hangs up", append(hdr(true, 0x2, 1<<62), make([]byte, 64<<10)...), 1009, "payload"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, sc := pipeConn(t, &websocket.DialOptions{Timeout: testTimeout})
			sc.WriteRaw(tc.wire)
			if tc.code == 0 {
				sc.NC.Close()
			}
			start := time.Now()
			_, err := c.Recv()
			if d := time.Since(start); d > testTimeout/2 {
				t.Errorf("error after %v", d)
			}
			checkPrefix(t, err)
			var (
				pe *websocket.ProtocolError
				ye *websocket.PayloadError
			)
			switch tc.kind {
			case "protocol":
				if !errors.As(err, &pe) {
					t.Fatalf("Recv = %v (%T), want *ProtocolError", err, err)
				}
			case "payload":
				if !errors.As(err, &ye) {
					t.Fatalf("Recv = %v (%T), want *PayloadError", err, err)
				}
			case "closed":
				if !errors.Is(err, websocket.ErrConnectionClosed) || isTimeout(err) {
					t.Fatalf("Recv = %v (%T), want ErrConnectionClosed", err, err)
				}
			}
			if tc.code != 0 {
				wantFrame(t, sc, 0x8, string(wstest.ClosePayload(uint16(tc.code), "")))
			}
			if c.Connected() {
				t.Error("Connected() after the connection failed")
			}
			if _, err2 := c.Recv(); err2 == nil {
				t.Error("a second Recv succeeded")
			}
		})
	}
}

// A 2^62-byte frame with no read limit: the client must grow its buffer only
// as bytes arrive, never by the declared length.
func TestHugeDeclaredLengthUnlimited(t *testing.T) {
	c, sc := pipeConn(t, &websocket.DialOptions{ReadLimit: -1, Timeout: testTimeout})
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	sc.WriteRaw(append(wstest.AppendHeader(nil, true, 0, 0x2, false, [4]byte{}, 1<<62), make([]byte, 1<<20)...))
	sc.NC.Close()
	_, err := c.Recv()
	if !errors.Is(err, websocket.ErrConnectionClosed) {
		t.Fatalf("Recv = %v, want ErrConnectionClosed", err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("receiving 1 MiB of a 2^62-byte frame allocated %d MiB", grew>>20)
	}
}

func TestPingFlood(t *testing.T) {
	ping := wstest.AppendFrame(nil, true, 0x9, []byte("flood"))
	flood := bytes.Repeat(ping, 1000)
	t.Run("server reads the pongs", func(t *testing.T) {
		c, sc := pipeConn(t, nil)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			go io.Copy(io.Discard, sc.R) // ends when the socket closes
			for {
				select {
				case <-stop:
					return
				default:
				}
				if sc.WriteRaw(flood) != nil {
					return
				}
			}
		}()
		// Pings keep arriving, but the Recv call's timeout still ends it.
		c.SetTimeout(200 * time.Millisecond)
		start := time.Now()
		_, err := c.Recv()
		close(stop)
		if !isTimeout(err) {
			t.Fatalf("Recv = %v, want a timeout", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Recv returned after %v under a ping flood", d)
		}
		c.Abort()
		sc.NC.Close()
		<-done
	})
	t.Run("server never reads the pongs", func(t *testing.T) {
		// The timeout is set after the dial: as DialOptions.Timeout it
		// would bound the handshake too, which a busy machine can take
		// longer than 200 ms for.
		c, sc := pipeConn(t, nil)
		c.SetTimeout(200 * time.Millisecond)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for sc.WriteRaw(flood) == nil {
			}
		}()
		start := time.Now()
		var err error
		for err == nil && time.Since(start) < testTimeout {
			_, err = c.Recv()
		}
		if err == nil {
			t.Fatal("Recv kept running under a ping flood")
		}
		checkPrefix(t, err)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Recv returned after %v", d)
		}
		c.Abort()
		sc.NC.Close()
		<-done
	})
}
