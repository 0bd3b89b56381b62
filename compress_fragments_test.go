package websocket_test

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// streamDeflater compresses messages as a server that compresses fragment
// by fragment does (Python's websockets, node's ws): one flate stream for
// the connection (context takeover), a sync flush at the end of each
// fragment, and the flush's tail removed from a message's last one (RFC
// 7692 §7.2.1).
type streamDeflater struct {
	buf bytes.Buffer
	w   *flate.Writer
}

func newStreamDeflater(t *testing.T) *streamDeflater {
	d := new(streamDeflater)
	var err error
	if d.w, err = flate.NewWriter(&d.buf, flate.BestSpeed); err != nil {
		t.Fatal(err)
	}
	return d
}

// frames returns the wire frames of a text message made of pieces, one
// fragment each.
func (d *streamDeflater) frames(pieces ...string) []byte {
	var wire []byte
	for i, p := range pieces {
		d.w.Write([]byte(p))
		d.w.Flush()
		data := d.buf.Bytes()
		fin := i == len(pieces)-1
		if fin {
			data = bytes.TrimSuffix(data, []byte{0, 0, 0xff, 0xff})
		}
		op, rsv := byte(websocket.OpContinuation), byte(0)
		if i == 0 {
			op, rsv = byte(websocket.OpText), 4
		}
		wire = wstest.AppendFrameRsv(wire, fin, rsv, op, data)
		d.buf.Reset()
	}
	return wire
}

// TestCompressedUTF8FailsAtTheFragment: invalid UTF-8 in a compressed text
// message fails the connection at the fragment that holds it, as in an
// uncompressed one, when the sender flushed at the end of each fragment
// (so that what has arrived can be inflated): the client does not wait for
// the message's end, which here never comes. Messages in such fragments
// arrive whole and intact, with context takeover across messages and
// within a message.
func TestCompressedUTF8FailsAtTheFragment(t *testing.T) {
	const ext = "permessage-deflate"
	apis := []string{"Recv", "RecvData", "RecvDataFrame", "FireContFrame", "NextReader", "Messages"}
	recv := func(c *websocket.Conn, api string) (string, error) {
		switch api {
		case "Recv", "FireContFrame":
			m, err := c.Recv()
			return m.Text(), err
		case "RecvData":
			_, p, err := c.RecvData(false)
			return string(p), err
		case "RecvDataFrame":
			_, f, err := c.RecvDataFrame(false)
			if err != nil {
				return "", err
			}
			return string(f.Payload), nil
		case "NextReader":
			_, r, err := c.NextReader()
			if err != nil {
				return "", err
			}
			p, err := io.ReadAll(r)
			return string(p), err
		default:
			for m, err := range c.Messages() {
				return m.Text(), err
			}
			return "", io.EOF
		}
	}
	bad := []struct {
		name   string
		pieces []string // the fragments sent; the message's last is never sent
	}{
		{"in the first fragment", []string{"a\xc3("}},
		{"across two fragments", []string{"ok \xc3", "(", "never sent"}[:2]},
		{"after a good fragment", []string{strings.Repeat("fine ", 100), "bad \xff here"}},
	}
	for _, tc := range bad {
		for _, api := range apis {
			t.Run(tc.name+"/"+api, func(t *testing.T) {
				c, sc := deflatePipe(t, &websocket.DialOptions{FireContFrame: api == "FireContFrame"}, ext)
				d := newStreamDeflater(t)
				// All but the message's end: the fragments are not final.
				wire := d.frames(append(tc.pieces, "")...)
				end := bytes.LastIndex(wire, []byte{0x80}) // the empty final continuation frame's header
				sc.WriteRaw(wire[:end])
				_, err := recv(c, api)
				var pe *websocket.PayloadError
				if !errors.As(err, &pe) {
					t.Fatalf("%s = %v (%T), want a *PayloadError before the message ends", api, err, err)
				}
				checkPrefix(t, err)
				if f := readFrame(t, sc); f.Opcode != byte(websocket.OpClose) || len(f.Payload) < 2 || int(f.Payload[0])<<8|int(f.Payload[1]) != int(websocket.StatusInvalidPayload) {
					t.Fatalf("client sent %v, want close 1007", f)
				}
			})
		}
	}
	for _, api := range apis {
		t.Run("good messages/"+api, func(t *testing.T) {
			c, sc := deflatePipe(t, &websocket.DialOptions{FireContFrame: api == "FireContFrame"}, ext)
			d := newStreamDeflater(t)
			msgs := [][]string{
				{strings.Repeat("héllo wörld ", 50), "\u20ac", strings.Repeat("héllo wörld ", 50)},
				{"split \xe2\x82", "\xac sign", ""},
				{strings.Repeat("héllo wörld ", 60)}, // refers to the first message's bytes
			}
			for _, m := range msgs {
				sc.WriteRaw(d.frames(m...))
				got, err := recv(c, api)
				if want := strings.Join(m, ""); err != nil || got != want {
					t.Fatalf("%s = %.40q, %v; want %.40q", api, got, err, want)
				}
			}
		})
	}
	// An App reads the same way, with its own reader and on an event loop.
	for _, onLoop := range []bool{false, true} {
		t.Run(fmt.Sprintf("App, loop=%v", onLoop), func(t *testing.T) {
			srv := deflateServerSending(t, func(func([]byte) []byte) []byte {
				d := newStreamDeflater(t)
				wire := d.frames("good, then ", "\xff", "")
				return wire[:bytes.LastIndex(wire, []byte{0x80})]
			})
			defer srv.Close()
			var errs []error
			a := &websocket.App{URL: srv.URL}
			a.OnError = func(_ *websocket.App, err error) { errs = append(errs, err) }
			a.OnMessage = func(*websocket.App, websocket.Message) { t.Error("a message was delivered") }
			// Timeout: a client that waited for the message's end would
			// time out and fail the test rather than hang.
			opts := &websocket.RunOptions{DialOptions: websocket.DialOptions{Compression: &websocket.CompressionOptions{}, Timeout: testTimeout}}
			err := runOn(t, onLoop, a, opts)
			var pe *websocket.PayloadError
			if len(errs) != 1 || !errors.As(errs[0], &pe) || !errors.As(err, &pe) {
				t.Fatalf("OnError got %v, Run = %v; want one *PayloadError for both", errs, err)
			}
		})
	}
}

// TestCompressedFragmentsCostAboutTheMessage: a compressed text message in
// many flushed fragments, inflated as they arrive, costs a few times its
// size, as it would whole: 4 MiB in 64 fragments allocated 1 GiB when each
// fragment's inflating grew the message by its own share.
func TestCompressedFragmentsCostAboutTheMessage(t *testing.T) {
	c, sc := deflatePipe(t, nil, "permessage-deflate")
	d := newStreamDeflater(t)
	pieces := make([]string, 64)
	for i := range pieces {
		pieces[i] = strings.Repeat("a", 64<<10)
	}
	sc.WriteRaw(d.frames(pieces...))
	// Read the first message to have the whole wire in the socket's
	// buffer before counting: it is the same message again.
	sc.WriteRaw(d.frames(pieces...))
	if m, err := c.Recv(); err != nil || len(m.Data) != 4<<20 {
		t.Fatalf("Recv = %d bytes, %v", len(m.Data), err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m, err := c.Recv()
	runtime.ReadMemStats(&after)
	if err != nil || len(m.Data) != 4<<20 {
		t.Fatalf("Recv = %d bytes, %v", len(m.Data), err)
	}
	if ratio := float64(after.TotalAlloc-before.TotalAlloc) / float64(len(m.Data)); ratio > 8 {
		t.Errorf("Recv allocated %.1f times the message", ratio)
	}
}
