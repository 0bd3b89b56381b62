package h2

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawPeer connects a ClientConn to a server that grants the largest
// windows, answers one extended CONNECT with 200, then discards what the
// client sends. The returned conn is the server's end, for writing frames.
func rawPeer(t *testing.T) (*Stream, net.Conn) {
	c, s := net.Pipe()
	t.Cleanup(func() { s.Close() })
	var hb bytes.Buffer
	hpack.NewEncoder(&hb).WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	ready := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		fr := http2.NewFramer(s, s)
		io.ReadFull(s, make([]byte, len(http2.ClientPreface)))
		fr.WriteSettings(extConnect, http2.Setting{ID: http2.SettingInitialWindowSize, Val: maxWindow})
		fr.WriteWindowUpdate(0, maxWindow-65535)
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if f.Header().Type == http2.FrameHeaders {
				fr.WriteHeaders(http2.HeadersFrameParam{StreamID: f.Header().StreamID, BlockFragment: hb.Bytes(), EndHeaders: true})
				close(ready)
				break
			}
		}
		io.CopyBuffer(io.Discard, s, make([]byte, 64<<10))
	}()
	t.Cleanup(func() { <-drained })
	cc, err := NewClientConn(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	_, st, err := cc.OpenWebSocket(context.Background(), &Request{Scheme: "https", Authority: "a"})
	if err != nil {
		t.Fatal(err)
	}
	<-ready
	return st, s
}

// TestSteadyStateAllocs: writing and reading stream data allocates
// nothing once buffers have grown.
func TestSteadyStateAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	st, s := rawPeer(t)
	msg := make([]byte, 16<<10)
	if n := testing.AllocsPerRun(200, func() { st.Write(msg) }); n > 0 {
		t.Errorf("Write: %.1f allocations", n)
	}
	var frame bytes.Buffer
	fr := http2.NewFramer(&frame, nil)
	fr.WriteData(st.ID(), false, msg)
	wire := frame.Bytes()
	buf := make([]byte, len(msg))
	read := func() {
		s.Write(wire)
		io.ReadFull(st, buf)
	}
	read() // buffers grow
	if n := testing.AllocsPerRun(200, read); n > 0 {
		t.Errorf("Read: %.1f allocations", n)
	}
}
