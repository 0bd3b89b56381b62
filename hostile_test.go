package websocket_test

// Servers that attack the client's limits: lengths whose sum overflows,
// floods of empty fragments, messages cut into tiny fragments. Each must end
// in the documented close code and error (or be received) without the
// client holding or allocating more than the limits allow.

import (
	"bytes"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/deflate"
	"github.com/wsclient/websocket/internal/wstest"
)

// totalAlloc returns the bytes allocated so far by the whole process.
func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// serveStream plays a hostile server on its own goroutine: it writes head,
// then body (nil: stops there) over and over, up to times writes (< 0: until
// a write fails, that is until the client has closed its socket), then
// half-closes its side so that a client still reading sees the end. The
// returned function stops it and waits for it; it is also a cleanup of t.
func serveStream(t *testing.T, c *websocket.Conn, sc *wstest.Conn, head, body []byte, times int) (stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if sc.WriteRaw(head) != nil || body == nil {
			return
		}
		for i := 0; times < 0 || i < times; i++ {
			if sc.WriteRaw(body) != nil {
				return
			}
		}
		sc.NC.(*net.TCPConn).CloseWrite()
	}()
	stop = func() {
		c.Abort()
		sc.NC.Close()
		<-done
	}
	t.Cleanup(stop)
	return stop
}

// readMethods read with each receiving method until the first error.
var readMethods = []struct {
	name string
	opts websocket.DialOptions
	read func(c *websocket.Conn) error
}{
	{"Recv", websocket.DialOptions{}, func(c *websocket.Conn) error {
		_, err := c.Recv()
		return err
	}},
	{"NextReader", websocket.DialOptions{}, func(c *websocket.Conn) error {
		_, r, err := c.NextReader()
		if err == nil {
			_, err = io.Copy(io.Discard, r)
			if err == nil {
				err = errors.New("the message reader ended without an error")
			}
		}
		return err
	}},
	{"RecvFrame", websocket.DialOptions{}, func(c *websocket.Conn) error {
		// Each call returns one frame; the error must come before the
		// peer has sent more than the frame bound allows.
		for range 1 << 18 {
			if _, err := c.RecvFrame(); err != nil {
				return err
			}
		}
		return errors.New("no error after 2^18 frames")
	}},
	{"FireContFrame", websocket.DialOptions{FireContFrame: true}, func(c *websocket.Conn) error {
		for range 1 << 18 {
			if _, _, err := c.RecvData(false); err != nil {
				return err
			}
		}
		return errors.New("no error after 2^18 fragments")
	}},
}

// wantTooBig checks that err is the read limit's error and that the client
// sent close 1009.
func wantTooBig(t *testing.T, sc *wstest.Conn, err error) {
	t.Helper()
	var pe *websocket.PayloadError
	if !errors.As(err, &pe) {
		t.Fatalf("error = %v (%T), want *PayloadError", err, err)
	}
	checkPrefix(t, err)
	wantFrame(t, sc, 0x8, string(wstest.ClosePayload(1009, "")))
}

// A 1-byte fragment, then a continuation declaring 2^63-1 bytes: the sum
// of the two lengths overflows int64. The client must refuse the second
// header with close 1009 before reading its payload, by whatever method it
// reads, compressed or not.
func TestReadLimitLengthSumOverflow(t *testing.T) {
	const limit = 1 << 10
	chunk := make([]byte, 64<<10)
	for _, compressed := range []bool{false, true} {
		for _, m := range readMethods {
			name := m.name
			if compressed {
				name += "/compressed"
			}
			t.Run(name, func(t *testing.T) {
				opts := m.opts
				opts.ReadLimit, opts.Timeout = limit, testTimeout
				var c *websocket.Conn
				var sc *wstest.Conn
				var rsv byte
				if compressed {
					c, sc = deflatePipe(t, &opts, "permessage-deflate")
					rsv = 4
				} else {
					c, sc = pipeConn(t, &opts)
				}
				head := append(wstest.AppendFrameRsv(nil, false, rsv, 0x2, []byte{0}),
					wstest.AppendHeader(nil, true, 0, 0x0, false, [4]byte{}, math.MaxInt64)...)
				before := totalAlloc()
				// 8 MiB follow the header, then the server hangs up.
				stop := serveStream(t, c, sc, head, chunk, 128)
				err := m.read(c)
				grew := totalAlloc() - before
				if grew > 1<<20 {
					t.Errorf("the client allocated %d KiB with a read limit of %d bytes", grew>>10, limit)
				}
				wantTooBig(t, sc, err)
				stop()
			})
		}
	}
}

// An endless run of empty continuation frames: the message gains no bytes
// but never ends. The frame bound must end it with close 1009, by whatever
// method it is read.
func TestEmptyFragmentFlood(t *testing.T) {
	empties := bytes.Repeat(wstest.AppendFrame(nil, false, 0x0, nil), 4096)
	for _, m := range readMethods {
		t.Run(m.name, func(t *testing.T) {
			opts := m.opts
			opts.Timeout = testTimeout
			c, sc := pipeConn(t, &opts)
			serveStream(t, c, sc, wstest.AppendFrame(nil, false, 0x1, []byte("a")), empties, -1)
			start := time.Now()
			err := m.read(c)
			wantTooBig(t, sc, err)
			t.Logf("%v after %v", err, time.Since(start))
		})
	}
}

// A message of exactly the frame bound is received; one more frame is not.
func TestMessageFrameBound(t *testing.T) {
	const bound = 131072
	for _, n := range []int{bound, bound + 1} {
		c, sc := pipeConn(t, &websocket.DialOptions{Timeout: testTimeout})
		var wire []byte
		for i := range n {
			op := byte(0x0)
			if i == 0 {
				op = 0x2
			}
			wire = wstest.AppendFrame(wire, i == n-1, op, []byte{byte(i)})
		}
		serveStream(t, c, sc, wire, nil, 0)
		msg, err := c.Recv()
		if n == bound {
			if err != nil || len(msg.Data) != n {
				t.Fatalf("%d frames: Recv = %d bytes, %v", n, len(msg.Data), err)
			}
			continue
		}
		wantTooBig(t, sc, err)
	}
}

// A message assembled from many small fragments grows its buffer by
// doubling: the bytes allocated stay a small multiple of the message. The
// sizes are a power of two, or just below one, so that the doublings end at
// the message's size: the buffers then add up to twice the message, where
// growing by append's 25% steps, or by a little at each fragment, costs
// five times or more.
func TestManySmallFragmentsAllocation(t *testing.T) {
	const size, frag = 4 << 20, 125
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{1}).Read(data)
	fragment := func(payload []byte, rsv byte) []byte {
		wire := make([]byte, 0, len(payload)+len(payload)/frag*2+16)
		for i := 0; i < len(payload); i += frag {
			op, r := byte(0x0), byte(0)
			if i == 0 {
				op, r = 0x2, rsv
			}
			end := min(i+frag, len(payload))
			wire = wstest.AppendFrameRsv(wire, end == len(payload), r, op, payload[i:end])
		}
		return wire
	}
	t.Run("plain", func(t *testing.T) {
		c, sc := pipeConn(t, &websocket.DialOptions{Timeout: testTimeout})
		wire := fragment(data, 0)
		before := totalAlloc()
		serveStream(t, c, sc, wire, nil, 0)
		msg, err := c.Recv()
		grew := totalAlloc() - before
		if err != nil || !bytes.Equal(msg.Data, data) {
			t.Fatalf("Recv = %d bytes, %v", len(msg.Data), err)
		}
		t.Logf("allocated %.2fx the message", float64(grew)/size)
		if grew > 3*size {
			t.Errorf("receiving %d MiB in %d-byte fragments allocated %d MiB", size>>20, frag, grew>>20)
		}
	})
	t.Run("compressed", func(t *testing.T) {
		c, sc := deflatePipe(t, nil, "permessage-deflate")
		// Random bytes do not compress: the compressed message is a few
		// bytes longer than the message, which is 4 KiB short of 4 MiB.
		// Its buffer doubles up to 4 MiB, it is copied once to be
		// inflated, and the output is allocated at twice the input:
		// about five times the message in all.
		data := data[:size-4<<10]
		z, err := deflate.NewCompressor(1, 15, false).Compress(nil, data)
		if err != nil {
			t.Fatal(err)
		}
		if len(z) > size {
			t.Fatalf("the compressed message has %d bytes, more than %d", len(z), size)
		}
		wire := fragment(z, 4)
		before := totalAlloc()
		serveStream(t, c, sc, wire, nil, 0)
		msg, err := c.Recv()
		grew := totalAlloc() - before
		if err != nil || !bytes.Equal(msg.Data, data) {
			t.Fatalf("Recv = %d bytes, %v", len(msg.Data), err)
		}
		t.Logf("allocated %.2fx the message", float64(grew)/size)
		if grew > 6*size {
			t.Errorf("receiving %d MiB compressed in %d-byte fragments allocated %d MiB", size>>20, frag, grew>>20)
		}
	})
}

// Lengths in a longer encoding than needed (RFC 6455 §5.2 asks for the
// minimal one, but a receiver loses nothing by accepting the others) are
// accepted.
func TestNonMinimalLengthsAccepted(t *testing.T) {
	tests := []struct {
		name string
		head []byte
		n    int
	}{
		{"5 bytes in 16 bits", []byte{0x82, 126, 0, 5}, 5},
		{"5 bytes in 64 bits", []byte{0x82, 127, 0, 0, 0, 0, 0, 0, 0, 5}, 5},
		{"0 bytes in 16 bits", []byte{0x82, 126, 0, 0}, 0},
		{"0 bytes in 64 bits", []byte{0x82, 127, 0, 0, 0, 0, 0, 0, 0, 0}, 0},
		{"125 bytes in 16 bits", []byte{0x82, 126, 0, 125}, 125},
		{"300 bytes in 64 bits", []byte{0x82, 127, 0, 0, 0, 0, 0, 0, 1, 44}, 300},
		{"ping of 5 bytes in 64 bits", []byte{0x89, 127, 0, 0, 0, 0, 0, 0, 0, 5}, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, sc := pipeConn(t, &websocket.DialOptions{Timeout: testTimeout})
			payload := bytes.Repeat([]byte{'x'}, tc.n)
			wire := append(append(bytes.Clone(tc.head), payload...), wstest.AppendFrame(nil, true, 0x1, []byte("next"))...)
			sc.WriteRaw(wire)
			if tc.head[0] == 0x89 {
				f, err := c.RecvFrame()
				if err != nil || f.Opcode != websocket.OpPing || !bytes.Equal(f.Payload, payload) {
					t.Fatalf("RecvFrame = %v, %v", f, err)
				}
			} else {
				msg, err := c.Recv()
				if err != nil || msg.Opcode != websocket.OpBinary || !bytes.Equal(msg.Data, payload) {
					t.Fatalf("Recv = %v %q, %v", msg.Opcode, msg.Data, err)
				}
			}
			if msg, err := c.Recv(); err != nil || msg.Text() != "next" {
				t.Fatalf("the next message: %q, %v", msg.Data, err)
			}
		})
	}
}

// TestNoMessageAfterClose checks that nothing a server sends after its close
// frame is delivered, even when it arrives in the same read as the close:
// every later receive reports the close, whether the close ended a Recv or
// was handed over as a frame (RecvFrame, RecvData with control frames).
func TestNoMessageAfterClose(t *testing.T) {
	for _, first := range []string{"Recv", "RecvFrame", "RecvData"} {
		t.Run(first, func(t *testing.T) {
			c, sc := pipeConn(t, &websocket.DialOptions{Timeout: testTimeout})
			wire := wstest.AppendFrame(nil, true, 0x8, wstest.ClosePayload(1000, "bye"))
			wire = wstest.AppendFrame(wire, true, 0x1, []byte("late"))
			wire = wstest.AppendFrame(wire, true, 0x2, []byte("later"))
			go func() {
				sc.WriteRaw(wire)
				sc.ReadFrame() // the client's close reply
			}()
			switch first {
			case "RecvFrame":
				if f, err := c.RecvFrame(); err != nil || f.Opcode != websocket.OpClose {
					t.Fatalf("RecvFrame = %v, %v; want the close frame", f, err)
				}
			case "RecvData":
				if op, _, err := c.RecvData(true); err != nil || op != websocket.OpClose {
					t.Fatalf("RecvData = %v, %v; want the close frame", op, err)
				}
			}
			for i := range 3 {
				msg, err := c.Recv()
				var ce *websocket.CloseError
				if !errors.As(err, &ce) || ce.Code != 1000 || ce.Reason != "bye" {
					t.Fatalf("Recv %d = %v %q, %v; want the close (1000 bye)", i, msg.Opcode, msg.Data, err)
				}
			}
			if op, data, err := c.RecvData(false); err == nil {
				t.Fatalf("RecvData = %v %q after the close", op, data)
			}
		})
	}
}
