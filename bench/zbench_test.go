package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"

	"github.com/klauspost/compress/flate"
	"github.com/lxzan/gws"
)

// gwsCheckHandler checks each message gws delivers, on its ReadLoop
// goroutine, and reports after n messages or the first failure.
type gwsCheckHandler struct {
	gws.BuiltinEventHandler
	n, got int
	check  func(i int, msg []byte) error
	done   chan error
}

func (h *gwsCheckHandler) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	if h.got >= h.n {
		return
	}
	err := h.check(h.got, m.Bytes())
	h.got++
	if err != nil || h.got == h.n {
		h.done <- err
	}
}

func (h *gwsCheckHandler) OnClose(_ *gws.Conn, err error) {
	select {
	case h.done <- fmt.Errorf("closed: %v", err):
	default:
	}
}

// receiveCheckedGWS is receiveChecked for gws, configured as dialGWSZ does.
func receiveCheckedGWS(url string, n int, check func(i int, msg []byte) error) error {
	h := &gwsCheckHandler{n: n, check: check, done: make(chan error, 1)}
	c, _, err := gws.NewClient(h, gwsZOption(url))
	if err != nil {
		return err
	}
	go c.ReadLoop()
	defer func() { _ = c.NetConn().Close() }()
	if err := c.WriteMessage(gws.OpcodeBinary, startMessage); err != nil {
		return err
	}
	return <-h.done
}

func TestJSONMessages(t *testing.T) {
	for _, size := range []int{zMinSize, 100, 1024, 65536} {
		t.Run(sizeLabel(size), func(t *testing.T) {
			pool := jsonMessages(size)
			if len(pool) != zPoolLen(size) || len(pool) < zPoolMin || len(pool)*size < 2*zWindowBytes {
				t.Fatalf("pool of %d messages", len(pool))
			}
			again := newJSONGen(uint64(size))
			seen := map[string]bool{}
			for i, m := range pool {
				if len(m) != size {
					t.Fatalf("message %d is %d bytes", i, len(m))
				}
				if !json.Valid(m) {
					t.Fatalf("message %d is not JSON: %s", i, m)
				}
				if seen[string(m)] {
					t.Fatalf("message %d repeats an earlier one", i)
				}
				seen[string(m)] = true
				if g := again.message(size); !bytes.Equal(g, m) {
					t.Fatalf("message %d differs when generated again", i)
				}
			}
		})
	}
}

func TestNegotiateDeflate(t *testing.T) {
	tests := []struct {
		name       string
		values     []string
		ok         bool
		resp       string
		noTakeover bool
	}{
		{"none", nil, false, "", false},
		{"other extension", []string{"x-webkit-deflate-frame"}, false, "", false},
		{"bare (coder)", []string{"permessage-deflate"}, true, "permessage-deflate", false},
		{"ours and gws", []string{"permessage-deflate; client_max_window_bits"}, true, "permessage-deflate", false},
		{"gorilla", []string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover"}, true,
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover", true},
		{"client window with value", []string{"permessage-deflate; client_max_window_bits=10"}, true, "permessage-deflate", false},
		{"quoted value", []string{`permessage-deflate; client_max_window_bits="12"`}, true, "permessage-deflate", false},
		{"server window 15", []string{"permessage-deflate; server_max_window_bits=15"}, true, "permessage-deflate; server_max_window_bits=15", false},
		{"server window 10 declined, fallback taken", []string{"permessage-deflate; server_max_window_bits=10, permessage-deflate"}, true, "permessage-deflate", false},
		{"second header", []string{"foo", "PerMessage-Deflate ; Server_No_Context_Takeover"}, true, "permessage-deflate; server_no_context_takeover", true},
		{"unknown parameter", []string{"permessage-deflate; foo"}, false, "", false},
		{"duplicate parameter", []string{"permessage-deflate; client_no_context_takeover; client_no_context_takeover"}, false, "", false},
		{"value on a flag", []string{"permessage-deflate; server_no_context_takeover=1"}, false, "", false},
		{"bad window", []string{"permessage-deflate; client_max_window_bits=16"}, false, "", false},
		{"leading zero", []string{"permessage-deflate; client_max_window_bits=09"}, false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, resp, ok := negotiateDeflate(tt.values)
			if ok != tt.ok || resp != tt.resp || p.serverNoContextTakeover != tt.noTakeover {
				t.Errorf("got %v %q %+v, want %v %q no takeover %v", ok, resp, p, tt.ok, tt.resp, tt.noTakeover)
			}
		})
	}
}

// TestZFloodBatch inflates two repetitions of each batch, as a client with
// one inflater for the connection does (RFC 7692 §7.2.2: the tail put back
// after each message), and checks every message against the pool.
func TestZFloodBatch(t *testing.T) {
	for _, takeover := range []bool{true, false} {
		for _, size := range []int{1024, 65536} {
			t.Run(fmt.Sprintf("%s/takeover=%v", sizeLabel(size), takeover), func(t *testing.T) {
				b := zfloodBatch(size, takeover)
				pool := jsonMessages(size)
				if len(b.ends)%len(pool) != 0 || len(b.frames) < floodBatchBytes {
					t.Fatalf("%d frames, %d bytes: want whole pool cycles of at least %d bytes", len(b.ends), len(b.frames), floodBatchBytes)
				}
				var stream bytes.Buffer
				for range 2 {
					rest := b.frames
					for len(rest) > 0 {
						h, ok, err := parseHeader(rest)
						if !ok || err != nil || !h.fin || !h.rsv1 || h.op != opText || h.masked {
							t.Fatalf("frame header %+v, ok %v, err %v", h, ok, err)
						}
						stream.Write(rest[h.size : h.size+h.n])
						stream.Write(deflateTail)
						rest = rest[h.size+h.n:]
					}
				}
				if got := b.payload[len(b.payload)-1]; got != int64(stream.Len()/2-4*len(b.ends)) {
					t.Errorf("payload bytes %d, frames carry %d", got, stream.Len()/2-4*len(b.ends))
				}
				fr := flate.NewReader(&stream)
				msg := make([]byte, size)
				for i := range 2 * len(b.ends) {
					if _, err := io.ReadFull(fr, msg); err != nil {
						t.Fatalf("message %d: %v", i, err)
					}
					if !bytes.Equal(msg, pool[i%len(pool)]) {
						t.Fatalf("message %d differs from pool[%d]", i, i%len(pool))
					}
				}
			})
		}
	}
}

// TestCompressedFloodContent checks the decompressed content, not only the
// length, through each compressing library's own inflater, across batch
// repetitions.
func TestCompressedFloodContent(t *testing.T) {
	srv, err := startServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	const size = 1024
	pool := jsonMessages(size)
	b := zfloodBatch(size, true)
	n := 2*len(b.ends) + 3
	for _, lib := range availableLibraries() {
		if libraries[lib].dialZ == nil {
			continue
		}
		t.Run(lib, func(t *testing.T) {
			url := fmt.Sprintf("ws://%s/zflood?size=%d&count=%d&id=content-%s", srv.addr, size, n, lib)
			check := func(i int, got []byte) error {
				if !bytes.Equal(got, pool[i%len(pool)]) {
					return fmt.Errorf("message %d differs from pool[%d]", i, i%len(pool))
				}
				return nil
			}
			if lib == libGWS {
				err = receiveCheckedGWS(url, n, check)
			} else {
				var c zconn
				if c, err = libraries[lib].dialZ(context.Background(), url, size); err != nil {
					t.Fatal(err)
				}
				defer c.abort()
				err = receiveChecked(c, n, check)
			}
			if err != nil {
				t.Fatal(err)
			}
			st, err := srv.zStats("content-" + lib)
			if err != nil || st.msgs != int64(n) || st.compressed != int64(n) || st.wire <= 0 {
				t.Errorf("server statistics %+v, %v", st, err)
			}
		})
	}
}

// receiveChecked sends the start message and reads n messages through the
// library's API, calling check with each one's content.
func receiveChecked(c zconn, n int, check func(i int, msg []byte) error) error {
	switch c := c.(type) {
	case *oursConn:
		if err := c.c.SendBinary(startMessage); err != nil {
			return err
		}
		for i := range n {
			if err := c.read(); err != nil {
				return err
			}
			if err := check(i, c.buf); err != nil {
				return err
			}
		}
	case *gorillaConn:
		if err := c.c.WriteMessage(2, startMessage); err != nil {
			return err
		}
		for i := range n {
			if err := c.read(); err != nil {
				return err
			}
			if err := check(i, c.buf); err != nil {
				return err
			}
		}
	case *coderConn:
		if err := c.c.Write(context.Background(), 2, startMessage); err != nil {
			return err
		}
		for i := range n {
			if err := c.read(); err != nil {
				return err
			}
			if err := check(i, c.buf); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("no content check for %T", c)
	}
	return nil
}
