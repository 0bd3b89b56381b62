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

// rawServer connects a ClientConn to a server on the far end of a
// net.Pipe that grants the largest windows and announces extended CONNECT,
// then passes each frame the client sends to handle, which may answer
// through fr, until handle returns false; then it runs then (nil: reads
// nothing more). It returns the ClientConn and the server's end.
func rawServer(t testing.TB, handle func(fr *http2.Framer, f http2.Frame) bool, then func(s net.Conn)) (*ClientConn, net.Conn) {
	c, s := net.Pipe()
	done := make(chan struct{})
	t.Cleanup(func() {
		s.Close()
		<-done
	})
	go func() {
		defer close(done)
		fr := http2.NewFramer(s, s)
		io.ReadFull(s, make([]byte, len(http2.ClientPreface)))
		fr.WriteSettings(extConnect, http2.Setting{ID: http2.SettingInitialWindowSize, Val: maxWindow})
		fr.WriteWindowUpdate(0, maxWindow-65535)
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if !handle(fr, f) {
				break
			}
		}
		if then != nil {
			then(s)
		}
	}()
	cc, err := NewClientConn(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc, s
}

// answer200 answers the extended CONNECT of stream id with :status 200.
func answer200(fr *http2.Framer, id uint32) {
	var hb bytes.Buffer
	hpack.NewEncoder(&hb).WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true})
}

// openRaw opens a stream on a rawServer's connection.
func openRaw(t testing.TB, cc *ClientConn) *Stream {
	_, st, err := cc.OpenWebSocket(context.Background(), &Request{Scheme: "https", Authority: "a"})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// rawPeer is a rawServer that answers one extended CONNECT with 200, then
// discards what the client sends. The returned conn is the server's end,
// for writing frames.
func rawPeer(t testing.TB) (*Stream, net.Conn) {
	cc, s := rawServer(t, func(fr *http2.Framer, f http2.Frame) bool {
		if f.Header().Type != http2.FrameHeaders {
			return true
		}
		answer200(fr, f.Header().StreamID)
		return false
	}, func(s net.Conn) { io.CopyBuffer(io.Discard, s, make([]byte, 64<<10)) })
	return openRaw(t, cc), s
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

// BenchmarkWrite writes 1 KiB messages on a stream whose server discards
// them (net.Pipe: each write waits for the server's read).
func BenchmarkWrite(b *testing.B) {
	st, _ := rawPeer(b)
	msg := make([]byte, 1024)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead reads 1 KiB DATA frames the server sends.
func BenchmarkRead(b *testing.B) {
	st, s := rawPeer(b)
	var frame bytes.Buffer
	fr := http2.NewFramer(&frame, nil)
	for range 16 {
		fr.WriteData(st.ID(), false, make([]byte, 1024))
	}
	wire := frame.Bytes()
	buf := make([]byte, 16<<10)
	b.SetBytes(int64(len(buf)))
	feed := make(chan struct{})
	defer close(feed)
	go func() {
		for range feed {
			s.Write(wire)
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		feed <- struct{}{}
		if _, err := io.ReadFull(st, buf); err != nil {
			b.Fatal(err)
		}
	}
}
