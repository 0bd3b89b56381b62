package h2

import (
	"bytes"
	"io"
	"runtime"
	"slices"
	"testing"

	"golang.org/x/net/http2"
)

// TestDataBlockKept: a DATA frame of at least half a receive block that
// does not fit in the stream's last block is kept in the block the reader
// read it into, not copied (into the rest of the last block and a new
// one); the data reads back whole, in order.
func TestDataBlockKept(t *testing.T) {
	cc, p := start(t, nil, extConnect)
	st := p.open(cc)
	a, b := bytes.Repeat([]byte("a"), 16000), bytes.Repeat([]byte("b"), 16000)
	p.fr.WriteData(st.ID(), false, a)
	p.fr.WriteData(st.ID(), false, b)
	p.ping(cc)
	cc.mu.Lock()
	var lens []int
	for _, blk := range st.recv {
		lens = append(lens, len(*blk))
	}
	cc.mu.Unlock()
	if len(lens) != 2 || lens[0] != 16000 || lens[1] != 16000 {
		t.Fatalf("blocks of %v bytes, want [16000 16000] (kept, not copied)", lens)
	}
	got := make([]byte, 32000)
	if _, err := io.ReadFull(st, got); err != nil || !bytes.Equal(got, append(a, b...)) {
		t.Fatalf("read back: %v", err)
	}
}

// TestDataBlocksBounded: a backlog of alternating tiny and full frames,
// the worst case for kept blocks, holds at most about twice its size in
// blocks.
func TestDataBlocksBounded(t *testing.T) {
	cc, p := start(t, &Config{StreamWindow: 1 << 20}, extConnect)
	st := p.open(cc)
	total := 0
	for total+16385 < 1<<20 {
		p.fr.WriteData(st.ID(), false, []byte("x"))
		p.fr.WriteData(st.ID(), false, make([]byte, 16384))
		total += 16385
	}
	p.ping(cc)
	cc.mu.Lock()
	blocks, buffered := len(st.recv), st.buffered
	cc.mu.Unlock()
	if buffered != total || blocks > 2*(total/recvBlock+1) {
		t.Fatalf("%d bytes in %d blocks, want %d in at most %d", buffered, blocks, total, 2*(total/recvBlock+1))
	}
}

// TestDataPadding: padded DATA frames read from the connection's buffer
// give their data without the padding, and every padded frame's whole
// length counts against the windows.
func TestDataPadding(t *testing.T) {
	cc, p := start(t, nil, extConnect)
	st := p.open(cc)
	p.fr.WriteDataPadded(st.ID(), false, []byte("hello "), make([]byte, 100))
	p.fr.WriteDataPadded(st.ID(), false, nil, make([]byte, 3))
	p.fr.WriteDataPadded(st.ID(), true, bytes.Repeat([]byte("w"), 16000), make([]byte, 255))
	got, err := io.ReadAll(st)
	if err != nil || string(got) != "hello "+string(bytes.Repeat([]byte("w"), 16000)) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if used := int64(DefaultConnWindow) - cc.recvWindow - cc.recvPending; used != 0 {
		t.Fatalf("%d bytes of connection window not returned after reading all", used)
	}
}

// TestDataFrameErrors: malformed DATA frames, which the reader parses
// itself, are connection errors of type PROTOCOL_ERROR, as the Framer's
// parser made them.
func TestDataFrameErrors(t *testing.T) {
	for name, act := range map[string]func(p *peer, id uint32){
		"stream 0":           func(p *peer, id uint32) { p.fr.WriteData(0, false, []byte("x")) },
		"padded without pad": func(p *peer, id uint32) { p.fr.WriteRawFrame(http2.FrameData, http2.FlagDataPadded, id, nil) },
		"pad longer than frame": func(p *peer, id uint32) {
			p.fr.WriteRawFrame(http2.FrameData, http2.FlagDataPadded, id, []byte{5, 'a', 'b'})
		},
		"inside a header block": func(p *peer, id uint32) {
			p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: p.block("x-a", "1")})
			p.fr.WriteData(id, false, []byte("x"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			cc, p := start(t, nil, extConnect)
			st := p.open(cc)
			go act(p, st.ID())
			if f := p.next(http2.FrameGoAway); f.code != http2.ErrCodeProtocol {
				t.Fatalf("GOAWAY %v %q, want PROTOCOL_ERROR", f.code, f.debug)
			}
			<-cc.Done()
			if _, err := io.ReadAll(st); err == nil {
				t.Fatal("stream read ended without the connection's error")
			}
		})
	}
}

// TestDataStraightToRead: while a Read waits and its goroutine reads the
// connection, the stream's DATA goes straight into Read's buffer, not
// through a receive block, for as long as the stream has nothing
// buffered; what does not fit is buffered and read next, in order, and
// the windows of both are returned.
func TestDataStraightToRead(t *testing.T) {
	cc, p := start(t, nil, extConnect)
	st := p.open(cc)
	other := p.open(cc)
	frames := [][]byte{
		bytes.Repeat([]byte("a"), 4000),
		bytes.Repeat([]byte("o"), 700), // another stream's, in between
		bytes.Repeat([]byte("b"), 5000),
		bytes.Repeat([]byte("c"), 3000), // 1000 bytes fit
		bytes.Repeat([]byte("d"), 500),
	}
	type result struct {
		n   int
		err error
	}
	buf := make([]byte, 10000)
	res := make(chan result, 1)
	go func() {
		n, err := st.Read(buf)
		res <- result{n, err}
	}()
	// The Read's goroutine is in the connection's read once it holds the
	// token and has published st (readSome). If the reader goroutine holds
	// the token, reading, the Read's goroutine queues for it; a PING makes
	// the reader goroutine hand it over.
	pinged := false
	for cc.inRead.Load() != st {
		cc.mu.Lock()
		queued := st.queued
		cc.mu.Unlock()
		if queued && !pinged {
			pinged = true
			p.fr.WritePing(false, [8]byte{1})
			p.next(http2.FramePing)
		}
		runtime.Gosched()
	}
	var w bytes.Buffer // the frames in one write, so one read of the connection takes them all
	fr := http2.NewFramer(&w, nil)
	for i, f := range frames {
		id := st.ID()
		if i == 1 {
			id = other.ID()
		}
		fr.WriteData(id, i == len(frames)-1, f)
	}
	if _, err := p.conn.Write(w.Bytes()); err != nil {
		t.Fatal(err)
	}
	r := <-res
	want := slices.Concat(frames[0], frames[2], frames[3], frames[4])
	if r.err != nil || r.n != len(buf) || !bytes.Equal(buf, want[:len(buf)]) {
		t.Fatalf("Read: %d bytes, %v; want the first %d in order", r.n, r.err, len(buf))
	}
	cc.mu.Lock()
	var blocks []int
	for _, b := range st.recv {
		blocks = append(blocks, len(*b))
	}
	roff := st.roff
	cc.mu.Unlock()
	if len(blocks) != 1 || blocks[0] != 2500 || roff != 0 {
		t.Fatalf("buffered blocks of %v bytes from %d, want [2500] from 0: only what did not fit in Read's buffer", blocks, roff)
	}
	rest, err := io.ReadAll(st)
	if err != nil || !bytes.Equal(rest, want[len(buf):]) {
		t.Fatalf("the rest: %d bytes, %v", len(rest), err)
	}
	if got, err := io.ReadFull(other, make([]byte, 700)); err != nil {
		t.Fatalf("the other stream: %d bytes, %v", got, err)
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if used := int64(DefaultConnWindow) - cc.recvWindow - cc.recvPending; used != 0 {
		t.Fatalf("%d bytes of connection window not returned after reading all", used)
	}
}
