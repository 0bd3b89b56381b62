package websocket

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/wstest"
)

// deflatePipeConn dials a scripted server that accepts permessage-deflate
// with ext and returns both ends.
func deflatePipeConn(t *testing.T, ext string) (*Conn, *wstest.Conn) {
	t.Helper()
	p := wstest.NewPipe(http.Header{"Sec-Websocket-Extensions": {ext}})
	t.Cleanup(p.Close)
	c, err := Dial(context.Background(), p.URL, &DialOptions{Compression: &CompressionOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Abort)
	sc, err := p.Next(15 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c, sc
}

// TestCompressedMessageBuffersNotKept: a connection that sent or received
// a large compressed message holds no buffer of it afterwards (README: an
// idle connection with both no-context-takeover options costs about 300
// bytes; with takeover, what the peer's decoder refers to): a received
// message's compressed bytes are in a pooled buffer for that message
// only, a sent one's until the compressor parks. A 1 MiB message sent, or
// 900 KiB received, stayed with the connection for good.
func TestCompressedMessageBuffersNotKept(t *testing.T) {
	big := make([]byte, 1<<20)
	rand.Read(big) // incompressible: its compressed form is as large
	for _, ext := range []string{"permessage-deflate", "permessage-deflate; client_no_context_takeover; server_no_context_takeover"} {
		t.Run(ext, func(t *testing.T) {
			c, sc := deflatePipeConn(t, ext)
			go func() { // the server reads what is sent
				for {
					if _, err := sc.ReadFrame(); err != nil {
						return
					}
				}
			}()
			if err := c.SendBinary(big); err != nil {
				t.Fatal(err)
			}
			w, err := c.NextWriter(OpBinary)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(big)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := sc.WriteRaw(wstest.AppendFrameRsv(nil, true, 4, byte(OpBinary), wstest.Deflate(big[:900<<10], 1))); err != nil {
				t.Fatal(err)
			}
			if m, err := c.Recv(); err != nil || len(m.Data) != 900<<10 {
				t.Fatalf("Recv = %d bytes, %v", len(m.Data), err)
			}
			// The connection is idle: nothing is being read, and nothing
			// sent for compressorIdle.
			c.readMu.Lock()
			in := cap(c.ext.in)
			c.readMu.Unlock()
			if in != 0 {
				t.Errorf("a connection reading nothing holds %d bytes of a received compressed message", in)
			}
			// Idle for compressorIdle, the compressor parks: waited for
			// with room for a busy machine's late timer.
			var out int
			for deadline := time.Now().Add(compressorIdle + 10*time.Second); ; time.Sleep(10 * time.Millisecond) {
				c.msgMu.Lock()
				out = cap(c.ext.out)
				c.msgMu.Unlock()
				if out == 0 || time.Now().After(deadline) {
					break
				}
			}
			if out != 0 {
				t.Errorf("a connection idle for %v holds %d bytes of a sent compressed message", compressorIdle+10*time.Second, out)
			}
		})
	}
}

// TestRefusedStreamedTextNotCounted: a text message refused for invalid
// UTF-8 in NextWriter before any of it went out sends nothing, and Stats
// counts nothing of it: CompressedPayloadSent counted the compressed
// fragment that never left (16 KiB of messages "sent" when none were).
func TestRefusedStreamedTextNotCounted(t *testing.T) {
	c, _ := deflatePipeConn(t, "permessage-deflate")
	w, err := c.NextWriter(OpText)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(strings.Repeat("a", 20000))) // past the fragment buffer: compressed, nothing out yet
	var pe *PayloadError
	if _, err := w.Write([]byte{0xff}); !errors.As(err, &pe) {
		t.Fatalf("Write(0xff) = %v, want a *PayloadError", err)
	}
	w.Close()
	st := c.Stats()
	if st.MessagesSent != 0 || st.BytesSent != 0 || st.CompressedWireSent != 0 || st.CompressedPayloadSent != 0 {
		t.Errorf("after a refused message: MessagesSent %d, BytesSent %d, CompressedWireSent %d, CompressedPayloadSent %d; want all 0",
			st.MessagesSent, st.BytesSent, st.CompressedWireSent, st.CompressedPayloadSent)
	}
}
