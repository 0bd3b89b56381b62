package h2

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// callerConn records, for each Write on the connection, whether it came
// from a Stream's Write rather than from the writer goroutine.
type callerConn struct {
	net.Conn
	mu     sync.Mutex
	direct int // writes made by Stream.Write itself
}

func (c *callerConn) Write(p []byte) (int, error) {
	buf := make([]byte, 8<<10)
	if bytes.Contains(buf[:runtime.Stack(buf, false)], []byte("(*Stream).Write(")) {
		c.mu.Lock()
		c.direct++
		c.mu.Unlock()
	}
	return c.Conn.Write(p)
}

func (c *callerConn) directWrites() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.direct
}

// TestWriteIsDirect checks that a Write with nothing queued before it
// writes its DATA frames from the calling goroutine, without a hand-off to
// the writer goroutine, and that a stream stalled on its flow-control
// window does not hold up another stream's direct write.
func TestWriteIsDirect(t *testing.T) {
	c, p := newPeer(t, true)
	cc0 := &callerConn{Conn: c}
	sent := p.async(func() { p.settings(extConnect, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10}) })
	cc, err := NewClientConn(context.Background(), cc0, nil)
	<-sent
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	p.next(http2.FrameSettings) // the acknowledgement
	stalled := p.open(cc)
	other := p.open(cc)

	// stalled spends its window of 10 and waits for more.
	werr := make(chan error, 1)
	go func() {
		_, err := stalled.Write(pattern(100, 1))
		werr <- err
	}()
	if f := p.next(http2.FrameData); f.stream != stalled.ID() || len(f.data) != 10 {
		t.Fatalf("DATA of stream %d, %d bytes; want stream %d, 10 bytes", f.stream, len(f.data), stalled.ID())
	}
	before := cc0.directWrites()
	p.fr.WriteWindowUpdate(other.ID(), 1000)
	// The credit arrives asynchronously: wait for it.
	cc.mu.Lock()
	for other.sendWindow < 1000 {
		wait := cc.sendCond
		cc.mu.Unlock()
		<-wait
		cc.mu.Lock()
	}
	cc.mu.Unlock()
	// The stalled Write's first frame is out, but it may still hold the
	// write lock: wait until it let go.
	for !cc.wmu.TryLock() {
		runtime.Gosched()
	}
	cc.wmu.Unlock()
	msg := pattern(500, 2)
	if n, err := other.Write(msg); n != len(msg) || err != nil {
		t.Fatalf("Write: %d, %v", n, err)
	}
	if cc0.directWrites() == before {
		t.Error("the DATA frame was written by the writer goroutine, not by Write")
	}
	if f := p.next(http2.FrameData); f.stream != other.ID() || !bytes.Equal(f.data, msg) {
		t.Fatalf("DATA of stream %d, %d bytes; want stream %d, %d bytes", f.stream, len(f.data), other.ID(), len(msg))
	}
	// The stalled stream goes on when its window opens.
	p.fr.WriteWindowUpdate(stalled.ID(), 90)
	if err := <-werr; err != nil {
		t.Fatalf("stalled Write: %v", err)
	}
	var got []byte
	for len(got) < 90 {
		got = append(got, p.next(http2.FrameData).data...)
	}
	if !bytes.Equal(got, pattern(100, 1)[10:]) {
		t.Fatal("stalled stream's data differs")
	}
}

// TestCloseEndsDirectWriteStuckInSocket: a Write blocked in the socket
// (the server stopped reading the connection) holds the write lock; Close
// of its stream, or its write deadline, gives the socket closeWriteTimeout
// more, then the connection fails and the Write returns.
func TestCloseEndsDirectWriteStuckInSocket(t *testing.T) {
	for _, name := range []string{"Close", "deadline"} {
		t.Run(name, func(t *testing.T) {
			cc, st := stuckPeer(t)
			// The writer may still hold the write lock after the HEADERS
			// the server read; a Write meeting it would queue its frame
			// for the writer and return, not write it itself.
			for !cc.wmu.TryLock() {
				runtime.Gosched()
			}
			cc.wmu.Unlock()
			werr := make(chan error, 1)
			go func() {
				_, err := st.Write(make([]byte, 1000))
				werr <- err
			}()
			for {
				cc.mu.Lock()
				stuck := cc.direct == st
				cc.mu.Unlock()
				if stuck {
					break
				}
				select {
				case err := <-werr:
					t.Fatalf("the Write returned (%v) without writing to the socket itself", err)
				default:
				}
				runtime.Gosched()
			}
			start := time.Now()
			if name == "Close" {
				st.Close()
			} else {
				st.SetWriteDeadline(start)
			}
			select {
			case err := <-werr:
				if err == nil {
					t.Fatal("Write stuck in the socket succeeded")
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("Write still stuck after %s", name)
			}
			if d := time.Since(start); d < closeWriteTimeout/2 {
				t.Errorf("Write returned after %v; the socket had %v", d, closeWriteTimeout)
			}
			if cc.Err() == nil {
				t.Error("connection still live after its socket stayed stuck")
			}
		})
	}
}

// stuckPeer connects a ClientConn to a rawServer that answers one
// extended CONNECT with 200 and then reads nothing more, and returns its
// stream.
func stuckPeer(t *testing.T) (*ClientConn, *Stream) {
	answered := make(chan struct{})
	var ack, headers bool
	cc, _ := rawServer(t, func(fr *http2.Framer, f http2.Frame) bool {
		switch f := f.(type) {
		case *http2.SettingsFrame:
			ack = ack || f.IsAck()
		case *http2.HeadersFrame:
			headers = true
			answer200(fr, f.StreamID)
		}
		if ack && headers {
			close(answered)
			return false
		}
		return true
	}, nil)
	st := openRaw(t, cc)
	<-answered
	return cc, st
}

// TestSettingsAckAfterQueuedData: DATA that took its flow-control credit
// before the client applied a lowered SETTINGS_INITIAL_WINDOW_SIZE goes out
// before the SETTINGS acknowledgement, even when the writer finds both in
// one batch: the server applies the lower window to what follows the
// acknowledgement (RFC 9113 §6.5.3), and DATA sent after it under the old
// window could exceed the new one, a flow-control error. The writer wrote
// control frames first, and FuzzStreamWrite caught it about once in 6,000
// runs.
func TestSettingsAckAfterQueuedData(t *testing.T) {
	cc, p := start(t, nil, extConnect)
	for f := p.next(http2.FrameSettings); f.flags&http2.FlagSettingsAck == 0; f = p.next(http2.FrameSettings) {
	}
	st := p.open(cc)
	cc.wmu.Lock() // the writer is busy: the Write queues its DATA
	if n, err := st.Write(make([]byte, 1000)); n != 1000 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	cc.mu.Lock()
	changed := cc.sendCond // broadcast when the new window is applied
	cc.mu.Unlock()
	p.settings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100})
	for applied := false; !applied; {
		<-changed
		cc.mu.Lock() // applied in the section that queues the acknowledgement
		applied, changed = cc.initialWindow == 100, cc.sendCond
		cc.mu.Unlock()
	}
	cc.wmu.Unlock()
	var order []string
	for len(order) < 2 {
		switch f := <-p.frames; {
		case f.typ == http2.FrameData && f.stream == st.ID():
			order = append(order, fmt.Sprintf("DATA %d", len(f.data)))
		case f.typ == http2.FrameSettings && f.flags&http2.FlagSettingsAck != 0:
			order = append(order, "SETTINGS ack")
		}
	}
	if want := []string{"DATA 1000", "SETTINGS ack"}; !slices.Equal(order, want) {
		t.Errorf("the client sent %q, want %q", order, want)
	}
}
