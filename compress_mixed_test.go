package websocket_test

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// answeringDeflate accepts with the given permessage-deflate answer and runs h.
func answeringDeflate(t *testing.T, answer string, h wstest.Handler) *wstest.Server {
	t.Helper()
	srv := wstest.NewServer(func(c *wstest.Conn) {
		if c.Accept(http.Header{"Sec-WebSocket-Extensions": {answer}}) != nil {
			return
		}
		h(c)
	})
	t.Cleanup(srv.Close)
	return srv
}

func dialDeflate(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := websocket.Dial(ctx, url, &websocket.DialOptions{Compression: &websocket.CompressionOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Abort() })
	return c
}

// TestRecvFrameKeepsTheInflatersContext: "mixing RecvFrame with the
// message-level methods is allowed between messages", also when the server
// takes its compression context over: a compressed message read with
// RecvFrame (whole, or frame by frame) is still history for the next
// message, which may refer to its bytes. RFC 7692's two "Hello" messages,
// the second a back-reference to the first.
func TestRecvFrameKeepsTheInflatersContext(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		first        []byte // the frames RecvFrame reads
		frames       int
		second       []byte // then Recv reads this message
	}{
		{"one frame", "permessage-deflate", []byte{0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, 1,
			[]byte{0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00}},
		{"two frames", "permessage-deflate", []byte{0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00}, 2,
			[]byte{0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00}},
		{"no takeover", "permessage-deflate; server_no_context_takeover", []byte{0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, 1,
			[]byte{0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := answeringDeflate(t, tc.answer, func(c *wstest.Conn) {
				c.WriteRaw(append(append([]byte{}, tc.first...), tc.second...))
				c.ReadFrame()
			})
			c := dialDeflate(t, srv.URL)
			for i := range tc.frames {
				f, err := c.RecvFrame()
				if err != nil || f.Fin != (i == tc.frames-1) {
					t.Fatalf("RecvFrame %d = %v, %v", i, f, err)
				}
			}
			m, err := c.Recv()
			if err != nil || m.Text() != "Hello" {
				t.Fatalf("Recv after RecvFrame = %q, %v; want \"Hello\"", m.Data, err)
			}
		})
	}
}

// TestNextWriterRefusedTextSendsNothingLater: a compressed text message
// that NextWriter refuses (bytes that are not UTF-8) after more than its
// 16 KiB buffer was written, so that the compressor had taken its start but
// no frame had gone out, is not sent: the Conn stays open and the next
// message arrives alone, with its own bytes only. The refused bytes once
// came out at the start of the next message.
func TestNextWriterRefusedTextSendsNothingLater(t *testing.T) {
	for _, answer := range []string{"permessage-deflate", "permessage-deflate; client_no_context_takeover"} {
		for _, at := range []string{"Write", "Close"} {
			t.Run(answer+"/"+at, func(t *testing.T) {
				got := make(chan []byte, 4)
				srv := answeringDeflate(t, answer, func(c *wstest.Conn) {
					fr := flate.NewReader(nil)
					for {
						f, err := c.ReadFrame()
						if err != nil || f.Opcode == wstest.OpClose {
							close(got)
							return
						}
						p := f.Payload
						if f.Rsv1 {
							fr.(flate.Resetter).Reset(io.MultiReader(bytes.NewReader(p), bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff})), nil)
							p, _ = io.ReadAll(fr)
						}
						got <- p
					}
				})
				c := dialDeflate(t, srv.URL)
				w, err := c.NextWriter(websocket.OpText)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write([]byte(strings.Repeat("REFUSED ", 22000/8))); err != nil {
					t.Fatal(err)
				}
				bad := []byte{0xff}
				if at == "Close" {
					bad = []byte{0xe2, 0x82} // a sequence cut at the message's end
				}
				_, werr := w.Write(bad)
				cerr := w.Close()
				var pe *websocket.PayloadError
				if !errors.As(werr, &pe) && !errors.As(cerr, &pe) {
					t.Fatalf("Write = %v, Close = %v; want a *PayloadError", werr, cerr)
				}
				if !c.Connected() {
					t.Fatal("the Conn closed: a message refused before any of it went out leaves it open")
				}
				want := strings.Repeat("next ", 400)
				if err := c.SendText(want); err != nil {
					t.Fatal(err)
				}
				c.Close()
				var msgs []string
				for p := range got {
					msgs = append(msgs, string(p))
				}
				if len(msgs) != 1 || msgs[0] != want {
					for i, m := range msgs {
						msgs[i] = m[:min(len(m), 40)]
					}
					t.Fatalf("the server received %q, want the next message alone", msgs)
				}
			})
		}
	}
}

// TestReadLimitOfCompressedMessages: ReadLimit bounds a message's size, so
// a compressed message of exactly the limit is received even when DEFLATE
// made it larger on the wire (random bytes do not compress), while one that
// inflates past the limit, or whose frames declare more than the limit and
// an eighth, is refused with 1009.
func TestReadLimitOfCompressedMessages(t *testing.T) {
	const limit = 100_000
	random := make([]byte, limit)
	rand.NewChaCha8([32]byte{1}).Read(random)
	compress := func(p []byte) []byte {
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, flate.BestSpeed)
		w.Write(p)
		w.Flush()
		return bytes.TrimSuffix(b.Bytes(), []byte{0, 0, 0xff, 0xff})
	}
	for _, tc := range []struct {
		name    string
		payload []byte // a compressed binary message
		length  int64  // declared instead, when not 0: nothing follows
		ok      bool
	}{
		{"the limit, larger on the wire", compress(random), 0, true},
		{"inflates past the limit", compress(append(random, 0)), 0, false},
		{"declares more than the limit and an eighth", nil, limit + limit/8 + 65, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.ok && len(tc.payload) <= limit {
				t.Fatalf("the compressed message is %d bytes: not larger than the limit", len(tc.payload))
			}
			code := make(chan uint16, 1)
			srv := answeringDeflate(t, "permessage-deflate", func(c *wstest.Conn) {
				if tc.length > 0 {
					c.WriteRaw([]byte{0xc2, 127, 0, 0, 0, 0, byte(tc.length >> 24), byte(tc.length >> 16), byte(tc.length >> 8), byte(tc.length)})
				} else {
					c.WriteFrame(wstest.Frame{Fin: true, Rsv1: true, Opcode: wstest.OpBinary, Payload: tc.payload})
				}
				code <- clientCloseCode(c)
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := websocket.Dial(ctx, srv.URL, &websocket.DialOptions{ReadLimit: limit, Compression: &websocket.CompressionOptions{}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Abort()
			m, err := c.Recv()
			if tc.ok {
				if err != nil || !bytes.Equal(m.Data, random) {
					t.Fatalf("Recv = %d bytes, %v; want the %d-byte message", len(m.Data), err, limit)
				}
				return
			}
			var pe *websocket.PayloadError
			if !errors.As(err, &pe) {
				t.Fatalf("Recv = %v, want a *PayloadError", err)
			}
			if got := <-code; got != 1009 {
				t.Errorf("close code %d, want 1009", got)
			}
		})
	}
}

// TestRecvFrameChecksCompressedMessages: RecvFrame returns a compressed
// message's frames as they arrived, "validated against the read limits":
// at the last frame the message is inflated and held to the read limit,
// and a text message checked for UTF-8, as Recv does (1009, 1007), with
// context takeover or without.
func TestRecvFrameChecksCompressedMessages(t *testing.T) {
	deflated := func(p []byte) []byte {
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, flate.BestSpeed)
		w.Write(p)
		w.Flush()
		return bytes.TrimSuffix(b.Bytes(), []byte{0, 0, 0xff, 0xff})
	}
	for _, answer := range []string{"permessage-deflate", "permessage-deflate; server_no_context_takeover"} {
		for _, tc := range []struct {
			name string
			f    wstest.Frame
			code uint16
		}{
			{"inflates past the limit", wstest.Frame{Fin: true, Rsv1: true, Opcode: wstest.OpBinary, Payload: deflated(make([]byte, 1<<20))}, 1009},
			{"text that is not UTF-8", wstest.Frame{Fin: true, Rsv1: true, Opcode: wstest.OpText, Payload: deflated([]byte("valid, then \xff"))}, 1007},
		} {
			t.Run(answer+"/"+tc.name, func(t *testing.T) {
				code := make(chan uint16, 1)
				srv := answeringDeflate(t, answer, func(c *wstest.Conn) {
					c.WriteFrame(tc.f)
					code <- clientCloseCode(c)
				})
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c, err := websocket.Dial(ctx, srv.URL, &websocket.DialOptions{ReadLimit: 64 << 10, Compression: &websocket.CompressionOptions{}})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Abort()
				_, err = c.RecvFrame()
				var pe *websocket.PayloadError
				if !errors.As(err, &pe) {
					t.Fatalf("RecvFrame = %v, want a *PayloadError", err)
				}
				if got := <-code; got != tc.code {
					t.Errorf("close code %d, want %d", got, tc.code)
				}
			})
		}
	}
}

// clientCloseCode reads what the client sends until its close frame and
// returns the frame's code: 0 when the connection ends first.
func clientCloseCode(c *wstest.Conn) uint16 {
	for {
		f, err := c.ReadFrame()
		if err != nil {
			return 0
		}
		if f.Opcode == wstest.OpClose {
			n, _ := f.CloseStatus()
			return n
		}
	}
}
