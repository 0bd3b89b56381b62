package h2

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"
)

// leading opens a stream and starts a Read of it that ends up reading
// the connection itself (holding the reader token); it returns the stream
// and the Read's result.
func leading(t *testing.T, cc *ClientConn, p *peer, buf []byte) (*Stream, <-chan error) {
	t.Helper()
	st := p.open(cc)
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadFull(st, buf)
		done <- err
	}()
	synctest.Wait()
	// The reader goroutine may still hold the token: a frame it reads
	// while the stream's consumer waits makes it hand the token over.
	p.fr.WritePing(false, [8]byte{9})
	p.next(http2.FramePing)
	synctest.Wait()
	if cc.inRead.Load() != st {
		t.Fatal("the stream's consumer is not reading the connection")
	}
	return st, done
}

// TestLeadDeadline: a consumer reading the connection itself returns at
// its stream's read deadline, a frame it had read half of is not lost,
// and the connection works on.
func TestLeadDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc, p := start(t, nil, extConnect)
		buf := make([]byte, 5)
		st, done := leading(t, cc, p, buf)
		// Half a DATA frame, then the deadline.
		var frame bytes.Buffer
		http2.NewFramer(&frame, nil).WriteData(st.ID(), false, []byte("hello"))
		p.conn.Write(frame.Bytes()[:7])
		synctest.Wait()
		st.SetReadDeadline(time.Now().Add(time.Second))
		if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read: %v, want a deadline error", err)
		}
		st.SetReadDeadline(time.Time{})
		go p.conn.Write(frame.Bytes()[7:])
		if _, err := io.ReadFull(st, buf); err != nil || string(buf) != "hello" {
			t.Fatalf("Read %q, %v", buf, err)
		}
		p.ping(cc)
	})
}

// TestLeadClose: a consumer reading the connection itself returns when
// its stream is closed or reset, or the connection closes.
func TestLeadClose(t *testing.T) {
	for name, end := range map[string]func(*ClientConn, *Stream){
		"close": func(_ *ClientConn, st *Stream) { st.Close() },
		"reset": func(_ *ClientConn, st *Stream) { st.Reset() },
		"conn":  func(cc *ClientConn, _ *Stream) { go cc.Close() },
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cc, p := start(t, nil, extConnect)
				st, done := leading(t, cc, p, make([]byte, 1))
				end(cc, st)
				if err := <-done; err == nil {
					t.Fatal("Read returned no error")
				}
			})
		})
	}
}

// TestLeadTakeover: once the consumer that read the connection has its
// data and reads no more, the reader goroutine reads again: a PING is
// answered, another stream's data arrives.
func TestLeadTakeover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc, p := start(t, nil, extConnect)
		buf := make([]byte, 2)
		st, done := leading(t, cc, p, buf)
		other := p.open(cc)
		p.fr.WriteData(st.ID(), false, []byte("hi"))
		if err := <-done; err != nil || string(buf) != "hi" {
			t.Fatalf("Read %q, %v", buf, err)
		}
		synctest.Wait()
		if cc.inRead.Load() != nil {
			t.Fatal("a consumer reads the connection")
		}
		p.fr.WritePing(false, [8]byte{7})
		if f := p.next(http2.FramePing); f.flags&http2.FlagPingAck == 0 || f.ping != [8]byte{7} {
			t.Fatalf("PING %v %v", f.flags, f.ping)
		}
		p.fr.WriteData(other.ID(), false, []byte("yo"))
		if _, err := io.ReadFull(other, buf); err != nil || string(buf) != "yo" {
			t.Fatalf("Read %q, %v", buf, err)
		}
	})
}

// TestLeadTakeoverBacksOff: while a consumer keeps taking the token, the
// takeover timer's wait doubles up to maxTakeover (so that a busy
// connection's timer seldom fires); once nobody reads, a PING is still
// answered within 2*maxTakeover, and the wait starts again at takeover.
func TestLeadTakeoverBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc, p := start(t, nil, extConnect)
		buf := make([]byte, 2)
		st, done := leading(t, cc, p, buf)
		const messages = 300 // 300 ms of messages, 1 ms apart: longer than 1+2+…+maxTakeover
		p.fr.WriteData(st.ID(), false, []byte("hi"))
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		rest := make(chan error, 1)
		go func() {
			b := make([]byte, 2)
			for range messages {
				if _, err := io.ReadFull(st, b); err != nil {
					rest <- err
					return
				}
			}
			rest <- nil
		}()
		for range messages {
			time.Sleep(time.Millisecond)
			p.fr.WriteData(st.ID(), false, []byte("hi"))
		}
		if err := <-rest; err != nil {
			t.Fatal(err)
		}
		cc.mu.Lock()
		wait := cc.takeWait
		cc.mu.Unlock()
		if wait != maxTakeover {
			t.Fatalf("after %d messages the takeover wait is %v, want %v", messages, wait, maxTakeover)
		}
		synctest.Wait()
		start := time.Now()
		p.fr.WritePing(false, [8]byte{5})
		if f := p.next(http2.FramePing); f.flags&http2.FlagPingAck == 0 || f.ping != [8]byte{5} {
			t.Fatalf("PING %v %v", f.flags, f.ping)
		}
		if d := time.Since(start); d > 2*maxTakeover {
			t.Fatalf("PING answered after %v, want at most %v", d, 2*maxTakeover)
		}
		cc.mu.Lock()
		wait = cc.takeWait
		cc.mu.Unlock()
		if wait != takeover {
			t.Fatalf("after the reader goroutine read, the takeover wait is %v, want %v", wait, takeover)
		}
	})
}

// TestLeadHandOver: a consumer that read the connection and got its data
// hands the token to another waiting consumer, which reads on.
func TestLeadHandOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc, p := start(t, nil, extConnect)
		streams := []*Stream{p.open(cc), p.open(cc)}
		bufs := [][]byte{make([]byte, 2), make([]byte, 2)}
		done := []chan error{make(chan error, 1), make(chan error, 1)}
		for i, st := range streams {
			go func() {
				_, err := io.ReadFull(st, bufs[i])
				done[i] <- err
			}()
		}
		synctest.Wait()
		p.fr.WritePing(false, [8]byte{9}) // the reader goroutine hands the token over
		p.next(http2.FramePing)
		synctest.Wait()
		a, b := 0, 1
		switch cc.inRead.Load() {
		case streams[0]:
		case streams[1]:
			a, b = 1, 0
		default:
			t.Fatal("no consumer reads the connection")
		}
		p.fr.WriteData(streams[a].ID(), false, []byte("hi"))
		if err := <-done[a]; err != nil || string(bufs[a]) != "hi" {
			t.Fatalf("Read %q, %v", bufs[a], err)
		}
		synctest.Wait()
		if cc.inRead.Load() != streams[b] {
			t.Fatal("the token was not handed to the other waiting consumer")
		}
		p.fr.WriteData(streams[b].ID(), false, []byte("yo"))
		if err := <-done[b]; err != nil || string(bufs[b]) != "yo" {
			t.Fatalf("Read %q, %v", bufs[b], err)
		}
	})
}
