package websocket_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/wsclient/websocket"
)

// h2PipeServer is a scripted HTTP/2 server (h2c with prior knowledge) on
// the far end of in-memory pipes, for tests in a synctest bubble: its
// dial is the DialOptions.NetDialContext. It answers each extended
// CONNECT with answer, on the goroutine reading the connection, and stops
// reading the connection when answer returns false.
type h2PipeServer struct {
	t      *testing.T
	answer func(w *h2Answer) bool
	conns  atomic.Int32 // connections dialed
}

// h2Answer writes the server's answer to one extended CONNECT.
type h2Answer struct {
	c    net.Conn // the connection, for an answer that closes it
	fr   *http2.Framer
	hb   bytes.Buffer
	enc  *hpack.Encoder
	id   uint32
	seen int // extended CONNECTs on the connection, this one included
}

// headers sends :status and fields given as name, value pairs.
func (w *h2Answer) headers(status int, end bool, kv ...string) {
	w.hb.Reset()
	w.enc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(status)})
	for i := 0; i+1 < len(kv); i += 2 {
		w.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: w.id, BlockFragment: w.hb.Bytes(), EndHeaders: true, EndStream: end})
}

func (s *h2PipeServer) dial(context.Context, string, string) (net.Conn, error) {
	s.conns.Add(1)
	c, sc := net.Pipe()
	done := make(chan struct{})
	s.t.Cleanup(func() {
		sc.Close()
		<-done
	})
	go func() {
		defer close(done)
		s.serve(sc)
	}()
	return c, nil
}

func (s *h2PipeServer) serve(c net.Conn) {
	if _, err := io.ReadFull(c, make([]byte, len(http2.ClientPreface))); err != nil {
		return
	}
	w := &h2Answer{c: c, fr: http2.NewFramer(c, c)}
	w.enc = hpack.NewEncoder(&w.hb)
	w.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	w.fr.WriteSettings(http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 30})
	w.fr.WriteWindowUpdate(0, 1<<30)
	for {
		f, err := w.fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				w.fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			w.id = f.StreamID
			w.seen++
			if !s.answer(w) {
				return // reads nothing more; the test's end closes the pipe
			}
		}
	}
}

// opts returns dial options through the server, on a transport of the
// test's own, without liveness PINGs.
func (s *h2PipeServer) opts() *websocket.DialOptions {
	tr := &websocket.HTTP2Transport{ReadIdleTimeout: -1}
	s.t.Cleanup(func() { tr.Close() })
	return &websocket.DialOptions{HTTP2: websocket.HTTP2Require, HTTP2Transport: tr, NetDialContext: s.dial}
}

// isTimeoutErr reports whether err is, or wraps, a timeout.
func isTimeoutErr(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// TestHTTP2StuckWriteFailsOthers: a WebSocket's write stuck in the socket
// of a shared HTTP/2 connection (the server reads nothing) fails the whole
// connection one second after the WebSocket's write deadline or close
// (README's limits), also when the stuck bytes are the connection's writer
// goroutine's (a write with a deadline queues its data there); the other
// WebSockets then get errors matching ErrConnectionClosed, not read
// timeouts, and are closed.
func TestHTTP2StuckWriteFailsOthers(t *testing.T) {
	for _, how := range []string{"write deadline", "Abort"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &h2PipeServer{t: t, answer: func(w *h2Answer) bool {
					w.headers(200, false)
					return w.seen < 2 // then reads nothing
				}}
				opts := s.opts()
				a, err := websocket.Dial(context.Background(), "ws://h2.test/a", opts)
				if err != nil {
					t.Fatal(err)
				}
				defer a.Abort()
				b, err := websocket.Dial(context.Background(), "ws://h2.test/b", opts)
				if err != nil {
					t.Fatal(err)
				}
				defer b.Abort()
				berr := make(chan error, 1)
				go func() {
					_, err := b.Recv()
					berr <- err
				}()
				synctest.Wait()
				began := time.Now()
				var gaveUp time.Duration
				if how == "write deadline" {
					gaveUp = 300 * time.Millisecond
					a.SetWriteDeadline(began.Add(gaveUp))
					if err := a.SendBinary(make([]byte, 1<<20)); !errors.Is(err, os.ErrDeadlineExceeded) {
						t.Fatalf("A's send past its deadline: %v, want its timeout", err)
					}
				} else {
					gaveUp = time.Second
					a.SetWriteDeadline(began.Add(time.Hour)) // a deadline: the chunks go to the writer
					aerr := make(chan error, 1)
					go func() { aerr <- a.SendBinary(make([]byte, 1<<20)) }()
					time.Sleep(gaveUp)
					a.Abort()
					if err := <-aerr; !errors.Is(err, websocket.ErrConnectionClosed) {
						t.Errorf("A's send after Abort: %v, want ErrConnectionClosed", err)
					}
				}
				var err2 error
				select {
				case err2 = <-berr:
				case <-time.After(time.Minute):
					t.Fatal("B still waiting a minute after A gave up on its write")
				}
				if d, want := time.Since(began), gaveUp+time.Second; d != want {
					t.Errorf("B failed after %v, want %v", d, want)
				}
				if !errors.Is(err2, websocket.ErrConnectionClosed) || isTimeoutErr(err2) {
					t.Errorf("B's Recv: %v; want an error matching ErrConnectionClosed, not a timeout", err2)
				}
				if b.Connected() {
					t.Error("B still connected")
				}
				at := time.Now()
				if _, err := b.Recv(); !errors.Is(err, websocket.ErrConnectionClosed) || isTimeoutErr(err) || time.Since(at) != 0 {
					t.Errorf("B's next Recv: %v after %v; want ErrConnectionClosed at once", err, time.Since(at))
				}
			})
		})
	}
}

// TestHTTP2StatusIsTheServers: Conn.Status is the 2xx the server answered
// the extended CONNECT with, 200 or another.
func TestHTTP2StatusIsTheServers(t *testing.T) {
	for _, status := range []int{200, 202} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &h2PipeServer{t: t, answer: func(w *h2Answer) bool {
					w.headers(status, false)
					return true
				}}
				c, err := websocket.Dial(context.Background(), "ws://h2.test/", s.opts())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Abort()
				if got := c.Status(); got != status {
					t.Errorf("Status() = %d after a %d", got, status)
				}
			})
		})
	}
}

// TestHTTP2ConnectionLostBeforeTheResponse: a connection that ends after
// the extended CONNECT and before its response fails the dial with a
// *HandshakeError that matches io.ErrUnexpectedEOF, as a connection closed
// before the 101 does over HTTP/1.1. It was the transport's own error,
// matching io.EOF.
func TestHTTP2ConnectionLostBeforeTheResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &h2PipeServer{t: t, answer: func(w *h2Answer) bool {
			w.c.Close()
			return false
		}}
		_, err := websocket.Dial(context.Background(), "ws://h2.test/", s.opts())
		var he *websocket.HandshakeError
		if !errors.As(err, &he) || !errors.Is(err, io.ErrUnexpectedEOF) || !strings.HasPrefix(err.Error(), "websocket: ") {
			t.Fatalf("Dial = %v (%T), want a *HandshakeError matching io.ErrUnexpectedEOF", err, err)
		}
		t.Log(err)
	})
}

// TestHTTP2GoAwayEchoingTheCredential: a GOAWAY whose debug data echoes
// the request's credential, before the response, fails the dial with an
// error that does not show it: as sent, quoted (a Digest credential's
// quotes escaped, which a plain search missed), or cut by the 256 bytes
// the error keeps of the debug data (its start was shown).
func TestHTTP2GoAwayEchoingTheCredential(t *testing.T) {
	const bearer = "tok-SECRET-1234567890"
	const digest = `Digest username="bob", response="6629fae49393a053"`
	for _, tc := range []struct {
		name, auth, debug, hidden string
	}{
		{"as sent", "Bearer " + bearer, "you sent Authorization: Bearer " + bearer, bearer},
		{"quoted", digest, "you sent " + digest, "6629fae49393a053"},
		{"cut", "Bearer " + bearer, strings.Repeat(".", 256-len("Bearer tok-SECRE")) + "Bearer " + bearer, "tok-SECRE"},
		{"cut after its first 3 bytes", "Bearer " + bearer, strings.Repeat(".", 256-len("token=tok")) + "token=" + bearer, "=tok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &h2PipeServer{t: t, answer: func(w *h2Answer) bool {
					w.fr.WriteGoAway(w.id, http2.ErrCodeInternal, []byte(tc.debug))
					w.c.Close()
					return false
				}}
				opts := s.opts()
				opts.Header = http.Header{"Authorization": {tc.auth}}
				_, err := websocket.Dial(context.Background(), "ws://h2.test/", opts)
				if err == nil || strings.Contains(err.Error(), tc.hidden) || !strings.Contains(err.Error(), "[redacted]") {
					t.Errorf("Dial = %v, want the debug data without the credential", err)
				}
			})
		})
	}
}

// TestHTTP2GoAwayAfterTheOpenEchoingTheCredential: a GOAWAY that ends an
// open WebSocket, its debug data echoing the request's credential, ended
// Recv with an error that showed it (only a dial's errors were redacted).
func TestHTTP2GoAwayAfterTheOpenEchoingTheCredential(t *testing.T) {
	const bearer = "tok-SECRET-1234567890"
	synctest.Test(t, func(t *testing.T) {
		s := &h2PipeServer{t: t, answer: func(w *h2Answer) bool {
			w.headers(200, false)
			w.fr.WriteGoAway(w.id, http2.ErrCodeInternal, []byte("you sent Authorization: Bearer "+bearer))
			w.c.Close()
			return false
		}}
		opts := s.opts()
		opts.Header = http.Header{"Authorization": {"Bearer " + bearer}}
		c, err := websocket.Dial(context.Background(), "ws://h2.test/", opts)
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		defer c.Abort()
		_, err = c.Recv()
		if err == nil || strings.Contains(err.Error(), bearer) || !strings.Contains(err.Error(), "[redacted]") {
			t.Errorf("Recv = %v, want the debug data without the credential", err)
		}
		if !errors.Is(err, websocket.ErrConnectionClosed) {
			t.Errorf("Recv = %v, want an error matching ErrConnectionClosed", err)
		}
	})
}

// TestHTTP2GoAwayEchoingAnotherStreamsCredential: a GOAWAY ends every
// WebSocket of its connection, and its debug data may echo the credential
// of any of them: B's error showed A's bearer token.
func TestHTTP2GoAwayEchoingAnotherStreamsCredential(t *testing.T) {
	const bearerA, bearerB = "tok-SECRET-AAAAAAAAAA", "tok-SECRET-BBBBBBBBBB"
	synctest.Test(t, func(t *testing.T) {
		s := &h2PipeServer{t: t, answer: func(w *h2Answer) bool {
			w.headers(200, false)
			if w.seen == 2 {
				w.fr.WriteGoAway(w.id, http2.ErrCodeInternal, []byte("the first stream sent Authorization: Bearer "+bearerA))
				w.c.Close()
				return false
			}
			return true
		}}
		var conns []*websocket.Conn
		shared := s.opts() // one transport: one connection
		for _, bearer := range []string{bearerA, bearerB} {
			opts := *shared
			opts.Header = http.Header{"Authorization": {"Bearer " + bearer}}
			c, err := websocket.Dial(context.Background(), "ws://h2.test/", &opts)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Abort()
			conns = append(conns, c)
		}
		if n := s.conns.Load(); n != 1 {
			t.Fatalf("%d connections, want 1 shared", n)
		}
		for i, c := range conns {
			if _, err := c.Recv(); err == nil || strings.Contains(err.Error(), bearerA) {
				t.Errorf("WebSocket %d: Recv = %v, want the debug data without A's credential", i, err)
			}
		}
	})
}

// TestHTTP2GoAwayEchoingAnEndedStreamsCredential: a GOAWAY's debug data
// may echo the credential of a stream that ended before it: the
// connection keeps the credentials of every stream it carried (A's token
// showed in the other WebSockets' errors).
func TestHTTP2GoAwayEchoingAnEndedStreamsCredential(t *testing.T) {
	const bearerA = "tok-SECRET-AAAAAAAAAA"
	synctest.Test(t, func(t *testing.T) {
		s := &h2PipeServer{t: t, answer: func(w *h2Answer) bool {
			w.headers(200, false)
			if w.seen == 3 {
				w.fr.WriteGoAway(w.id, http2.ErrCodeInternal, []byte("an earlier stream sent Authorization: Bearer "+bearerA))
				w.c.Close()
				return false
			}
			return true
		}}
		shared := s.opts() // one transport: one connection
		dial := func(bearer string) *websocket.Conn {
			opts := *shared
			if bearer != "" {
				opts.Header = http.Header{"Authorization": {"Bearer " + bearer}}
			}
			c, err := websocket.Dial(context.Background(), "ws://h2.test/", &opts)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			t.Cleanup(c.Abort)
			return c
		}
		other := dial("")
		a := dial(bearerA)
		a.Abort()
		synctest.Wait()
		b := dial("tok-other-BBBBBBBBBB")
		if n := s.conns.Load(); n != 1 {
			t.Fatalf("%d connections, want 1 shared", n)
		}
		for i, c := range []*websocket.Conn{other, b} {
			if _, err := c.Recv(); err == nil || strings.Contains(err.Error(), bearerA) {
				t.Errorf("WebSocket %d: Recv = %v, want an error without A's credential", i, err)
			}
		}
	})
}

// TestLoopStopCutsAnHTTP2CloseWhoseFrameIsStuck: an App over HTTP/2 on an
// EventLoop whose close frame (CloseWith, 20 s) went only to the HTTP/2
// connection's queue (a write deadline queues each chunk for the
// connection's writer), the server reading nothing, holds the loop's stop
// back no longer than 3 s: the frame counted as gone out, and Run waited
// the 20 s.
func TestLoopStopCutsAnHTTP2CloseWhoseFrameIsStuck(t *testing.T) {
	skipWithoutPoller(t)
	s := &h2PipeServer{t: t, answer: func(w *h2Answer) bool {
		w.headers(200, false)
		w.fr.WriteData(w.id, false, []byte{0x81, 5, 'h', 'e', 'l', 'l', 'o'})
		return false // reads nothing more
	}}
	opts := s.opts()
	opts.Timeout = time.Minute // a write deadline on every write
	l := websocket.NewEventLoop()
	got := make(chan struct{})
	a := &websocket.App{URL: "ws://h2.test/", OnMessage: func(*websocket.App, websocket.Message) { close(got) }}
	if err := a.Run(context.Background(), &websocket.RunOptions{Dispatcher: l, Reconnect: -1, DialOptions: *opts}); err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- l.Run(context.Background()) }()
	<-got
	closeThenStop(t, a, l, ran)
}

// TestHTTP2ErrorBodyTimeBound: a refusal whose body never ends is read for
// at most 2 s, as over HTTP/1.1: the dial returns a *BadStatusError with
// what arrived, not a handshake timeout 30 s later.
func TestHTTP2ErrorBodyTimeBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &h2PipeServer{t: t, answer: func(w *h2Answer) bool {
			w.headers(403, false)
			w.fr.WriteData(w.id, false, []byte("partial body"))
			return true
		}}
		began := time.Now()
		_, err := websocket.Dial(context.Background(), "ws://h2.test/", s.opts())
		d := time.Since(began)
		var bse *websocket.BadStatusError
		if !errors.As(err, &bse) || bse.StatusCode != 403 || string(bse.Body) != "partial body" || isTimeoutErr(err) {
			t.Fatalf("Dial = %v, want a *BadStatusError 403 with the body that arrived", err)
		}
		if d > 2*time.Second {
			t.Errorf("the refusal took %v, want at most 2s", d)
		}
	})
}

// TestHTTP2HeaderListLimits checks what the documentation says of a
// response header over the limits: a header list over 64 KiB decoded
// resets only its stream (RST_STREAM PROTOCOL_ERROR), and the dial fails
// with that reset while the connection goes on; a single value over the
// HPACK string limit (64 KiB) is a COMPRESSION_ERROR that ends the
// connection, and its other WebSockets get errors matching
// ErrConnectionClosed.
func TestHTTP2HeaderListLimits(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fields   []string
		connEnds bool
		reason   string
	}{
		{"list over 64 KiB decoded", func() (kv []string) {
			for i := range 20 {
				kv = append(kv, "x-big-"+strconv.Itoa(i), strings.Repeat("v", 4000))
			}
			return kv
		}(), false, "stream reset: PROTOCOL_ERROR"},
		{"value over 64 KiB", []string{"x-big", strings.Repeat("v", 70<<10)}, true, "COMPRESSION_ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &h2PipeServer{t: t, answer: func(w *h2Answer) bool {
					if w.seen == 2 {
						// One HEADERS frame may carry the whole block:
						// the client reads frames of up to 16 KiB, so
						// CONTINUATION frames carry the rest.
						w.hb.Reset()
						w.enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
						for i := 0; i+1 < len(tc.fields); i += 2 {
							w.enc.WriteField(hpack.HeaderField{Name: tc.fields[i], Value: tc.fields[i+1]})
						}
						block := w.hb.Bytes()
						first := true
						for len(block) > 0 {
							k := min(len(block), 16384)
							if first {
								w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: w.id, BlockFragment: block[:k], EndHeaders: k == len(block)})
								first = false
							} else {
								w.fr.WriteContinuation(w.id, k == len(block), block[:k])
							}
							block = block[k:]
						}
						return true
					}
					w.headers(200, false)
					return true
				}}
				opts := s.opts()
				a, err := websocket.Dial(context.Background(), "ws://h2.test/a", opts)
				if err != nil {
					t.Fatal(err)
				}
				defer a.Abort()
				_, err = websocket.Dial(context.Background(), "ws://h2.test/b", opts)
				var he *websocket.HandshakeError
				if !errors.As(err, &he) || !strings.Contains(err.Error(), tc.reason) {
					t.Fatalf("Dial = %v, want a *HandshakeError saying %q", err, tc.reason)
				}
				synctest.Wait()
				if !tc.connEnds {
					if !a.Connected() {
						t.Fatal("the other WebSocket closed")
					}
					c, err := websocket.Dial(context.Background(), "ws://h2.test/c", opts)
					if err != nil {
						t.Fatalf("a dial on the same connection: %v", err)
					}
					c.Abort()
					if n := s.conns.Load(); n != 1 {
						t.Errorf("%d connections dialed, want the first one only", n)
					}
					return
				}
				if _, err := a.Recv(); !errors.Is(err, websocket.ErrConnectionClosed) || !strings.Contains(err.Error(), tc.reason) {
					t.Fatalf("the other WebSocket's Recv: %v, want ErrConnectionClosed with %s", err, tc.reason)
				}
			})
		})
	}
}

// Timeout bounds an HTTP/2 dial to a server that reads nothing, also on a
// stream without buffering (a pipe): the writer stuck on the preface is
// cut at once, not given the second a closing GOAWAY gets (the dial took
// 4 s with Timeout 3 s).
func TestHTTP2DialTimeoutWithAServerThatReadsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &websocket.HTTP2Transport{ReadIdleTimeout: -1}
		defer tr.Close()
		dial := func(context.Context, string, string) (net.Conn, error) {
			c, sc := net.Pipe()
			t.Cleanup(func() { sc.Close() })
			return c, nil // the far end never reads
		}
		opts := &websocket.DialOptions{HTTP2: websocket.HTTP2Require, HTTP2Transport: tr, NetDialContext: dial, Timeout: 3 * time.Second}
		start := time.Now()
		_, err := websocket.Dial(context.Background(), "ws://h2.test/", opts)
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("Dial took %v with Timeout 3s: %v", took, err)
		}
		if err == nil || !strings.HasPrefix(err.Error(), "websocket: ") || !isTimeoutErr(err) {
			t.Fatalf("Dial = %v, want a websocket: timeout", err)
		}
	})
}
