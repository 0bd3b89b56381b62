package websocket_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/deflate"
	"github.com/wsclient/websocket/internal/wstest"
)

// deflatePipe dials a pipe server that accepts permessage-deflate with the
// given response parameters, and returns the client and the server side.
func deflatePipe(t *testing.T, opts *websocket.DialOptions, resp string) (*websocket.Conn, *wstest.Conn) {
	t.Helper()
	if opts == nil {
		opts = &websocket.DialOptions{}
	}
	if opts.Compression == nil {
		opts.Compression = &websocket.CompressionOptions{}
	}
	opts.Timeout = testTimeout
	return pipeConnHeader(t, opts, http.Header{"Sec-Websocket-Extensions": {resp}})
}

// serverDeflate returns a server's compressor (level 1, 15-bit window,
// with or without context takeover): each call compresses one message.
func serverDeflate(t *testing.T, takeover bool) func([]byte) []byte {
	z := deflate.NewCompressor(1, 15, takeover)
	t.Cleanup(z.Release)
	return func(msg []byte) []byte {
		out, err := z.Compress(nil, msg)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
}

// jsonText returns n bytes of varied, compressible text.
func jsonText(n, seed int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"sym":"S%d","px":%d.%02d},`, seed*1000+i, (seed+i)%37, 100+(i*7919+seed)%900, i%100)
	}
	return b.Bytes()[:n]
}

// serverMessage reads one client message, inflating it with d when its first
// frame has RSV1, and reports the RSV bits of each of its frames.
func serverMessage(t *testing.T, sc *wstest.Conn, d *deflate.Decompressor) (op byte, data []byte, rsv []byte) {
	t.Helper()
	var raw []byte
	for {
		f := readFrame(t, sc)
		if op == 0 {
			op = f.Opcode
		}
		rsv = append(rsv, f.Rsv)
		raw = append(raw, f.Payload...)
		if f.Fin {
			break
		}
	}
	if rsv[0]&4 == 0 {
		return op, raw, rsv
	}
	out, err := d.Decompress(nil, raw, -1)
	if err != nil {
		t.Fatalf("server: inflating the client's message: %v", err)
	}
	return op, out, rsv
}

func TestCompressionRoundTrip(t *testing.T) {
	c, sc := deflatePipe(t, nil, "permessage-deflate")
	p, ok := c.Compression()
	if !ok || p.ClientNoContextTakeover || p.ServerNoContextTakeover {
		t.Fatalf("Compression() = %+v, %v; want takeover both ways", p, ok)
	}
	sd := deflate.NewDecompressor(15, true)
	sz := deflate.NewCompressor(1, 15, true)
	t.Cleanup(func() { sd.Release(); sz.Release() })

	for i, n := range []int{0, 5, 300, 1 << 10, 70 << 10} {
		msg := jsonText(n, i)
		if err := c.SendText(string(msg)); err != nil {
			t.Fatal(err)
		}
		op, got, rsv := serverMessage(t, sc, sd)
		if op != byte(websocket.OpText) || !bytes.Equal(got, msg) {
			t.Fatalf("message %d (%d bytes): server got opcode %d, %d bytes", i, n, op, len(got))
		}
		if wantZ := n >= 128; (rsv[0]&4 != 0) != wantZ {
			t.Errorf("%d-byte message: RSV1 %v, want %v (threshold)", n, rsv[0]&4 != 0, wantZ)
		}
		// The server answers compressed, continuing its own context.
		z, err := sz.Compress(nil, msg)
		if err != nil {
			t.Fatal(err)
		}
		sc.WriteRaw(wstest.AppendFrameRsv(nil, true, 4, byte(websocket.OpBinary), z))
		m, err := c.Recv()
		if err != nil || m.Opcode != websocket.OpBinary || !bytes.Equal(m.Data, msg) {
			t.Fatalf("message %d: Recv = %v %d bytes, %v", i, m.Opcode, len(m.Data), err)
		}
	}
}

func TestCompressionStreamedMessage(t *testing.T) {
	c, sc := deflatePipe(t, nil, "permessage-deflate")
	sd := deflate.NewDecompressor(15, true)
	t.Cleanup(sd.Release)
	for i, n := range []int{40, 100 << 10} {
		msg := jsonText(n, i)
		w, err := c.NextWriter(websocket.OpText)
		if err != nil {
			t.Fatal(err)
		}
		for p := msg; len(p) > 0; {
			k := min(len(p), 3000)
			if _, err := w.Write(p[:k]); err != nil {
				t.Fatal(err)
			}
			p = p[k:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		op, got, rsv := serverMessage(t, sc, sd)
		if op != byte(websocket.OpText) || !bytes.Equal(got, msg) {
			t.Fatalf("%d-byte stream: server got opcode %d, %d bytes", n, op, len(got))
		}
		small := n < 128
		if (rsv[0]&4 != 0) == small {
			t.Errorf("%d-byte stream: first frame RSV1 %v", n, rsv[0]&4 != 0)
		}
		for j, r := range rsv[1:] {
			if r != 0 {
				t.Errorf("%d-byte stream: frame %d has RSV %d, want 0 (RFC 7692 §6.1: first frame only)", n, j+1, r)
			}
		}
		if !small && len(rsv) < 2 {
			t.Errorf("%d-byte stream went out as %d frame(s), want fragments", n, len(rsv))
		}
	}
	// Context takeover continues across streamed and whole messages.
	msg := jsonText(2000, 9)
	if err := c.SendBinary(msg); err != nil {
		t.Fatal(err)
	}
	if _, got, _ := serverMessage(t, sc, sd); !bytes.Equal(got, msg) {
		t.Fatal("whole message after streamed ones did not inflate")
	}
}

func TestCompressionBombIsRefused(t *testing.T) {
	c, sc := deflatePipe(t, &websocket.DialOptions{ReadLimit: 1 << 20}, "permessage-deflate; server_no_context_takeover")
	sz := deflate.NewCompressor(1, 15, false)
	t.Cleanup(sz.Release)
	bomb, err := sz.Compress(nil, make([]byte, 8<<20)) // 8 MiB of zeros in a few KiB
	if err != nil {
		t.Fatal(err)
	}
	sc.WriteRaw(wstest.AppendFrameRsv(nil, true, 4, byte(websocket.OpBinary), bomb))
	_, err = c.Recv()
	var pe *websocket.PayloadError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "read limit") {
		t.Fatalf("Recv = %v, want a *PayloadError about the read limit", err)
	}
	f := readFrame(t, sc)
	if f.Opcode != byte(websocket.OpClose) || len(f.Payload) < 2 || int(f.Payload[0])<<8|int(f.Payload[1]) != int(websocket.StatusMessageTooBig) {
		t.Fatalf("client sent %v, want close 1009", f)
	}
	if _, err := io.ReadAll(sc.R); err != nil && !errors.Is(err, io.EOF) {
		t.Logf("after the close: %v", err)
	}
}

// TestCompressedBadInput: what a server that compresses wrongly gets. A
// message whose deflate data is corrupt, or that inflates to invalid UTF-8
// in a text message, fails the connection with a *PayloadError and close
// 1007; RSV1 on a continuation frame or on a control frame is a protocol
// error (1002), as RFC 7692 allows RSV1 on a message's first frame only.
// The frame-level receive fails the same way; RecvDataFrame returns a good
// compressed message whole, as one final frame, and with FireContFrame
// fragment by fragment, among the control frames between them.
func TestCompressedBadInput(t *testing.T) {
	compress := serverDeflate(t, false)
	badUTF8 := compress([]byte("valid, then \xff\xfe"))
	tests := []struct {
		name string
		wire []byte
		code websocket.StatusCode
	}{
		{"corrupt deflate data", wstest.AppendFrameRsv(nil, true, 4, byte(websocket.OpBinary), []byte{0xff, 0xff, 0xff, 0xff, 0xff}), websocket.StatusInvalidPayload},
		{"text inflating to invalid UTF-8", wstest.AppendFrameRsv(nil, true, 4, byte(websocket.OpText), badUTF8), websocket.StatusInvalidPayload},
		{"RSV1 on a continuation frame", append(wstest.AppendFrameRsv(nil, false, 0, byte(websocket.OpText), []byte("a")),
			wstest.AppendFrameRsv(nil, true, 4, byte(websocket.OpContinuation), compress([]byte("b")))...), websocket.StatusProtocolError},
		{"RSV1 on a ping", wstest.AppendFrameRsv(nil, true, 4, byte(websocket.OpPing), nil), websocket.StatusProtocolError},
		// A compressor's output for an empty message is at least one byte
		// (an empty block's header): an empty payload is no deflate data.
		{"empty compressed message", wstest.AppendFrameRsv(nil, true, 4, byte(websocket.OpText), nil), websocket.StatusInvalidPayload},
		{"empty compressed fragments", append(wstest.AppendFrameRsv(nil, false, 4, byte(websocket.OpText), nil),
			wstest.AppendFrame(nil, true, byte(websocket.OpContinuation), nil)...), websocket.StatusInvalidPayload},
	}
	for _, tc := range tests {
		for _, api := range []string{"Recv", "RecvDataFrame", "FireContFrame", "NextReader"} {
			t.Run(tc.name+"/"+api, func(t *testing.T) {
				c, sc := deflatePipe(t, &websocket.DialOptions{FireContFrame: api == "FireContFrame"}, "permessage-deflate; server_no_context_takeover")
				sc.WriteRaw(tc.wire)
				var err error
				switch api {
				case "Recv":
					_, err = c.Recv()
				case "NextReader":
					for err == nil {
						var r io.Reader
						if _, r, err = c.NextReader(); err == nil {
							_, err = io.ReadAll(r)
						}
					}
				default:
					for err == nil {
						_, _, err = c.RecvDataFrame(false)
					}
				}
				var pe *websocket.PayloadError
				var pre *websocket.ProtocolError
				if tc.code == websocket.StatusInvalidPayload && !errors.As(err, &pe) || tc.code == websocket.StatusProtocolError && !errors.As(err, &pre) {
					t.Fatalf("%s = %v (%T), want the error of close %d", api, err, err, tc.code)
				}
				checkPrefix(t, err)
				f := readFrame(t, sc)
				if f.Opcode != byte(websocket.OpClose) || len(f.Payload) < 2 || websocket.StatusCode(int(f.Payload[0])<<8|int(f.Payload[1])) != tc.code {
					t.Fatalf("client sent %v, want close %d", f, tc.code)
				}
			})
		}
	}
	t.Run("control frames between compressed fragments, FireContFrame", func(t *testing.T) {
		c, sc := deflatePipe(t, &websocket.DialOptions{FireContFrame: true}, "permessage-deflate; server_no_context_takeover")
		msg := jsonText(3000, 5)
		p := compress(msg)
		sc.WriteRaw(bytes.Join([][]byte{
			wstest.AppendFrameRsv(nil, false, 4, byte(websocket.OpText), p[:len(p)/3]),
			wstest.AppendFrame(nil, true, byte(websocket.OpPing), []byte("first")),
			wstest.AppendFrame(nil, false, byte(websocket.OpContinuation), p[len(p)/3:2*len(p)/3]),
			wstest.AppendFrame(nil, true, byte(websocket.OpPong), []byte("second")),
			wstest.AppendFrame(nil, true, byte(websocket.OpContinuation), p[2*len(p)/3:]),
		}, nil))
		// Each fragment in its place among the control frames; the text
		// of fragments cut inside the compressed stream comes as far as
		// it can be inflated, the rest with the last.
		var text []byte
		for _, want := range []struct {
			op  websocket.Opcode
			fin bool
			ctl string
		}{{websocket.OpText, false, ""}, {websocket.OpPing, true, "first"}, {websocket.OpContinuation, false, ""},
			{websocket.OpPong, true, "second"}, {websocket.OpContinuation, true, ""}} {
			op, f, err := c.RecvDataFrame(true)
			if err != nil || op != want.op || f.Fin != want.fin || want.ctl != "" && string(f.Payload) != want.ctl {
				t.Fatalf("RecvDataFrame(true) = %v, %v, %v; want %v fin %v", op, f, err, want.op, want.fin)
			}
			if want.ctl == "" {
				text = append(text, f.Payload...)
			}
		}
		if !bytes.Equal(text, msg) {
			t.Fatalf("the fragments' text %.20q, want %.20q", text, msg)
		}
		if f := readFrame(t, sc); f.Opcode != byte(websocket.OpPong) || string(f.Payload) != "first" {
			t.Fatalf("client sent %v, want the pong of the ping", f)
		}
	})
	t.Run("RecvDataFrame of a good message", func(t *testing.T) {
		c, sc := deflatePipe(t, nil, "permessage-deflate; server_no_context_takeover")
		msg := jsonText(3000, 4)
		p := compress(msg)
		sc.WriteRaw(append(wstest.AppendFrameRsv(nil, false, 4, byte(websocket.OpText), p[:len(p)/2]),
			wstest.AppendFrameRsv(nil, true, 0, byte(websocket.OpContinuation), p[len(p)/2:])...))
		op, f, err := c.RecvDataFrame(false)
		if err != nil || op != websocket.OpText || !f.Fin || f.Opcode != websocket.OpText || !bytes.Equal(f.Payload, msg) {
			t.Fatalf("RecvDataFrame = %v, %v, %v; want the whole inflated text as one final frame", op, f, err)
		}
	})
}

// TestDialCompressionNegotiation: options that cannot be offered fail the
// dial before anything is sent, and a server's acceptance that breaks RFC
// 7692 (a window out of range or above our offer, an unknown or repeated
// parameter, an extension not offered) fails the handshake with a *HandshakeError; one that accepts
// nothing leaves the connection uncompressed.
func TestDialCompressionNegotiation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   websocket.CompressionOptions
		accept string // the server's Sec-WebSocket-Extensions; "" = none
		want   string // in the error; "" = the dial succeeds
	}{
		{"window bits 7", websocket.CompressionOptions{ClientMaxWindowBits: 7}, "", "compression options"},
		{"window bits 16", websocket.CompressionOptions{ServerMaxWindowBits: 16}, "", "compression options"},
		{"level 10", websocket.CompressionOptions{Level: 10}, "", "compression options"},
		{"server window 7", websocket.CompressionOptions{}, "permessage-deflate; server_max_window_bits=7", "permessage-deflate"},
		{"client window above the offer", websocket.CompressionOptions{ClientMaxWindowBits: 10}, "permessage-deflate; client_max_window_bits=12", "permessage-deflate"},
		{"client window within the offer", websocket.CompressionOptions{ClientMaxWindowBits: 10}, "permessage-deflate; client_max_window_bits=9", ""},
		{"unknown parameter", websocket.CompressionOptions{}, "permessage-deflate; x=1", "permessage-deflate"},
		{"repeated parameter", websocket.CompressionOptions{}, "permessage-deflate; server_no_context_takeover; server_no_context_takeover", "permessage-deflate"},
		{"another extension", websocket.CompressionOptions{}, "x-webkit-deflate-frame", "x-webkit-deflate-frame"},
		{"accepted", websocket.CompressionOptions{}, "permessage-deflate", ""},
		{"declined", websocket.CompressionOptions{}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reqs atomic.Int32
			s, _ := scriptServer(t, func(_ *http.Request, a string) string {
				reqs.Add(1)
				if tc.accept == "" {
					return upgrade(a)
				}
				return upgrade(a, "Sec-WebSocket-Extensions: "+tc.accept+"\r\n")
			})
			opts := dialOpts()
			o := tc.opts
			opts.Compression = &o
			c, err := websocket.Dial(context.Background(), s.URL, opts)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if _, ok := c.Compression(); ok != (tc.accept != "") {
					t.Errorf("Compression() ok = %t, want %t", ok, tc.accept != "")
				}
				return
			}
			var he *websocket.HandshakeError
			if !errors.As(err, &he) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Dial = %v, want a *HandshakeError about %s", err, tc.want)
			}
			checkPrefix(t, err)
			if strings.HasPrefix(tc.name, "level") || strings.HasPrefix(tc.name, "window") {
				if n := reqs.Load(); n != 0 {
					t.Errorf("options that cannot be offered reached the server (%d requests)", n)
				}
			}
		})
	}
}

// TestCompressionThreshold: with CompressionOptions.Threshold, messages
// shorter than it go out uncompressed (RSV1 clear), longer ones compressed.
func TestCompressionThreshold(t *testing.T) {
	c, sc := deflatePipe(t, &websocket.DialOptions{Compression: &websocket.CompressionOptions{Threshold: 1000}}, "permessage-deflate")
	sd := deflate.NewDecompressor(15, true)
	t.Cleanup(sd.Release)
	for _, n := range []int{200, 999, 1000, 4000} {
		msg := jsonText(n, n)
		if err := c.SendText(string(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, rsv := serverMessage(t, sc, sd)
		if !bytes.Equal(got, msg) {
			t.Fatalf("%d-byte message arrived as %d bytes", n, len(got))
		}
		if compressed := rsv[0]&4 != 0; compressed != (n >= 1000) {
			t.Errorf("%d-byte message with Threshold 1000: compressed %t", n, compressed)
		}
	}
	// The same through NextWriter, whose message is whole at Close.
	for _, n := range []int{999, 1000} {
		msg := jsonText(n, n)
		w, err := c.NextWriter(websocket.OpText)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(msg)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		_, got, rsv := serverMessage(t, sc, sd)
		if compressed := rsv[0]&4 != 0; !bytes.Equal(got, msg) || compressed != (n >= 1000) {
			t.Errorf("NextWriter, %d bytes with Threshold 1000: %d bytes arrived, compressed %t", n, len(got), compressed)
		}
	}
}

// TestCompressionLargeMessages sends a stream of large compressed messages,
// which may be compressed on two CPUs, between small ones, with busy polling
// by default and off: the server inflates every one, in order, with context
// takeover.
func TestCompressionLargeMessages(t *testing.T) {
	for _, mode := range []websocket.BusyPollMode{websocket.BusyPollDefault, websocket.BusyPollOff} {
		t.Run(mode.String(), func(t *testing.T) {
			c, sc := deflatePipe(t, &websocket.DialOptions{BusyPoll: mode}, "permessage-deflate")
			sd := deflate.NewDecompressor(15, true)
			t.Cleanup(sd.Release)
			sizes := []int{40 << 10, 1 << 10, 64 << 10, 64 << 10, 200 << 10, 32 << 10, 100}
			done := make(chan error, 1)
			go func() {
				for i := range 40 {
					if err := c.SendText(string(jsonText(sizes[i%len(sizes)], i))); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			for i := range 40 {
				n := sizes[i%len(sizes)]
				op, got, _ := serverMessage(t, sc, sd)
				if op != byte(websocket.OpText) || !bytes.Equal(got, jsonText(n, i)) {
					t.Fatalf("message %d (%d bytes): server got opcode %d, %d bytes", i, n, op, len(got))
				}
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// deflateRawServer starts a server that accepts every handshake with
// permessage-deflate (and its defaults: context takeover both ways), then
// runs serve.
func deflateRawServer(serve func(c *wstest.Conn)) *wstest.Server {
	return wstest.NewRaw(func(nc net.Conn) {
		defer nc.Close()
		_, accept, br, err := wstest.ReadRequest(nc)
		if err != nil {
			return
		}
		nc.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + accept + "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"))
		serve(&wstest.Conn{NC: nc, R: br})
	})
}

// TestEventLoopLargeCompressedMessages: an App on an event loop sends large
// compressed messages from its callbacks, on the loop's goroutine, where
// they may be compressed on two CPUs; a server with context takeover
// inflates every one, in order.
func TestEventLoopLargeCompressedMessages(t *testing.T) {
	sizes := []int{64 << 10, 40 << 10, 1 << 10, 100 << 10, 64 << 10, 32 << 10}
	const n = 24
	srv := deflateRawServer(func(c *wstest.Conn) {
		d := deflate.NewDecompressor(15, true)
		defer d.Release()
		for i := 0; ; i++ {
			f, err := c.ReadFrame()
			if err != nil || f.Opcode == 8 {
				return
			}
			data := f.Payload
			if f.Rsv&4 != 0 {
				if data, err = d.Decompress(nil, data, -1); err != nil {
					c.WriteFrame(true, 1, []byte(fmt.Sprintf("message %d: %v", i, err)))
					continue
				}
			}
			reply := "ok"
			if !bytes.Equal(data, jsonText(sizes[i%len(sizes)], i)) {
				reply = fmt.Sprintf("message %d: %d bytes, not what was sent", i, len(data))
			}
			c.WriteFrame(true, 1, []byte(reply))
		}
	})
	defer srv.Close()
	a := &websocket.App{URL: srv.URL}
	a.OnOpen = func(a *websocket.App) {
		for i := range n {
			if err := a.SendText(string(jsonText(sizes[i%len(sizes)], i))); err != nil {
				t.Error(err)
			}
		}
	}
	replies := 0
	a.OnMessage = func(a *websocket.App, m websocket.Message) {
		if string(m.Data) != "ok" {
			t.Error(string(m.Data))
		}
		if replies++; replies == n {
			a.Close()
		}
	}
	opts := &websocket.RunOptions{DialOptions: websocket.DialOptions{Compression: &websocket.CompressionOptions{}}}
	if err := runEngine(t, a, opts); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if replies != n {
		t.Errorf("%d replies, want %d", replies, n)
	}
}
