package h2

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestSlowReaderOverTCP: over a real TCP socket, a peer that reads, slowly
// (16 KiB every 25 ms, 650 KB/s), keeps the connection when a stream gives up on a
// large write: the kernel wakes a writer blocked on the full socket only
// once much of its queue has gone, which at that rate takes seconds, so no
// write completes within closeWriteTimeout; the queue going down does, and
// moves the deadline on. (A reader so slow that its window updates come
// more than a second apart, below about 100 KB/s here, is not told from
// one that reads nothing.) Its other stream stays usable. A peer
// that reads nothing still fails the connection at the deadline and a
// second.
func TestSlowReaderOverTCP(t *testing.T) {
	for _, reads := range []bool{true, false} {
		name := map[bool]string{true: "slow reader", false: "reads nothing"}[reads]
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			stop := make(chan struct{})
			served := make(chan struct{})
			defer func() { close(stop); <-served }()
			go func() {
				defer close(served)
				s, err := ln.Accept()
				if err != nil {
					return
				}
				defer s.Close()
				fr := http2.NewFramer(s, s)
				io.ReadFull(s, make([]byte, len(http2.ClientPreface)))
				fr.WriteSettings(extConnect, http2.Setting{ID: http2.SettingInitialWindowSize, Val: maxWindow})
				fr.WriteWindowUpdate(0, maxWindow-65535)
				for headers := 0; headers < 2; {
					f, err := fr.ReadFrame()
					if err != nil {
						return
					}
					if h, ok := f.(*http2.HeadersFrame); ok {
						headers++
						answer200(fr, h.StreamID)
					}
				}
				buf := make([]byte, 16<<10)
				for {
					select {
					case <-stop:
						return
					case <-time.After(25 * time.Millisecond):
					}
					if reads {
						if _, err := s.Read(buf); err != nil {
							return
						}
					}
				}
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			cc, err := NewClientConn(context.Background(), c, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			a, b := openRaw(t, cc), openRaw(t, cc)
			began := time.Now()
			a.SetWriteDeadline(began.Add(500 * time.Millisecond))
			if _, err := a.Write(make([]byte, 32<<20)); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Write past its deadline: %v", err)
			}
			select {
			case <-cc.Done():
				if reads {
					t.Fatalf("the connection failed %v after the start though its peer reads: %v", time.Since(began), cc.Err())
				}
			case <-time.After(4 * time.Second):
				if !reads {
					t.Fatal("the connection still live 4 s after the start, its peer reading nothing")
				}
				b.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := b.Write([]byte("x")); err != nil && cc.Err() != nil {
					t.Fatalf("the other stream: %v (the connection: %v)", err, cc.Err())
				}
			}
		})
	}
}

// namedConn wraps a socket as the library's TLS transport does, naming
// what it wraps.
type namedConn struct{ net.Conn }

func (c namedConn) NetConn() net.Conn { return c.Conn }

// TestSendQueuedThroughWrappers: the progress watch reads the send queue of
// the TCP socket under a TLS connection also when the TLS runs over a
// wrapper that names its socket (the library's wss transport), where it
// found no socket and the watch never ran.
func TestSendQueuedThroughWrappers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for name, conn := range map[string]net.Conn{
		"socket":                  c,
		"TLS":                     tls.Client(c, &tls.Config{}),
		"TLS over a named socket": tls.Client(namedConn{c}, &tls.Config{}),
	} {
		if _, ok := sendQueued(conn); !ok {
			t.Errorf("%s: the send queue was not found", name)
		}
	}
}
