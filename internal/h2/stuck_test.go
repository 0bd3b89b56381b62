package h2

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"
)

// stuckServer connects a ClientConn to a server that answers n extended
// CONNECTs with 200 and then reads nothing more, unless then, if not nil,
// reads the server's end of the connection. It returns the open streams,
// once the connection's goroutines are idle. Call it in a synctest
// bubble.
func stuckServer(t *testing.T, n int, then func(s net.Conn)) (*ClientConn, []*Stream) {
	t.Helper()
	ack, headers := false, 0
	cc, _ := rawServer(t, func(fr *http2.Framer, f http2.Frame) bool {
		switch f := f.(type) {
		case *http2.SettingsFrame:
			ack = ack || f.IsAck()
		case *http2.HeadersFrame:
			headers++
			answer200(fr, f.StreamID)
		}
		return !ack || headers < n
	}, then)
	streams := make([]*Stream, n)
	for i := range streams {
		streams[i] = openRaw(t, cc)
	}
	synctest.Wait()
	return cc, streams
}

// queueChunk has st's Write queue one chunk of data for the connection's
// writer (the write lock is taken, so the Write cannot write the chunk
// itself) and return, leaving the chunk with the writer.
func queueChunk(t *testing.T, cc *ClientConn, st *Stream, data []byte) {
	t.Helper()
	cc.wmu.Lock()
	n, err := st.Write(data)
	cc.wmu.Unlock()
	if n != len(data) || err != nil {
		t.Fatalf("Write = %d, %v; want the chunk queued", n, err)
	}
}

// wantConnFailed waits for cc to fail at want after began and checks how:
// not with a timeout error (a stream's timeout leaves it usable, and the
// connection is gone), and so for each of its streams others.
func wantConnFailed(t *testing.T, cc *ClientConn, began time.Time, want time.Duration, others ...*Stream) {
	t.Helper()
	select {
	case <-cc.Done():
	case <-time.After(time.Minute):
		t.Fatalf("the connection still live %v after the stream gave up; want it failed %v after", time.Since(began), want)
	}
	if d := time.Since(began); d != want {
		t.Errorf("the connection failed after %v, want %v", d, want)
	}
	err := cc.Err()
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("connection error %q is a timeout error", err)
	}
	for _, st := range others {
		_, rerr := st.Read(make([]byte, 1))
		if !errors.Is(rerr, err) || errors.Is(rerr, os.ErrDeadlineExceeded) || errors.As(rerr, &ne) && ne.Timeout() {
			t.Errorf("another stream's Read: %v; want the connection's error, not a timeout", rerr)
		}
	}
}

// TestStuckWriterFailsConnection: data the connection's writer goroutine
// holds, stuck in a socket the server does not read, gets a second more
// when its stream gives up on it (its write deadline passes, or it is
// closed), as a Write writing to the socket itself does; then the
// connection fails, with an error that is not a timeout, and every
// stream with it.
func TestStuckWriterFailsConnection(t *testing.T) {
	t.Run("write deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cc, sts := stuckServer(t, 2, nil)
			began := time.Now()
			// With a deadline, the Write queues its chunks.
			sts[0].SetWriteDeadline(began.Add(300 * time.Millisecond))
			_, err := sts[0].Write(make([]byte, 1<<20))
			if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(began) != 300*time.Millisecond {
				t.Fatalf("Write returned %v after %v; want a timeout at its deadline", err, time.Since(began))
			}
			wantConnFailed(t, cc, began, 300*time.Millisecond+closeWriteTimeout, sts[1])
		})
	})
	t.Run("close", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cc, sts := stuckServer(t, 2, nil)
			queueChunk(t, cc, sts[0], make([]byte, chunkSize))
			time.Sleep(time.Second) // the writer is stuck in the socket
			began := time.Now()
			sts[0].Close()
			wantConnFailed(t, cc, began, closeWriteTimeout, sts[1])
		})
	})
	t.Run("queued behind stuck data", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cc, sts := stuckServer(t, 3, nil)
			queueChunk(t, cc, sts[0], make([]byte, chunkSize)) // stuck in the socket
			synctest.Wait()
			began := time.Now()
			sts[1].SetWriteDeadline(began.Add(300 * time.Millisecond))
			if n, err := sts[1].Write(make([]byte, 100)); n != 100 || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
			wantConnFailed(t, cc, began, 300*time.Millisecond+closeWriteTimeout, sts[2])
		})
	})
}

// TestStuckDirectWriteError: a Write writing to the socket itself, stuck
// there past its deadline and a second more, fails the connection with an
// error that is not a timeout; that Write alone reports its own timeout.
func TestStuckDirectWriteError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc, sts := stuckServer(t, 2, nil)
		werr := make(chan error, 1)
		go func() {
			_, err := sts[0].Write(make([]byte, 1000))
			werr <- err
		}()
		synctest.Wait()
		cc.mu.Lock()
		direct := cc.direct == sts[0]
		cc.mu.Unlock()
		if !direct {
			t.Fatal("the Write is not writing to the socket itself")
		}
		began := time.Now()
		sts[0].SetWriteDeadline(began)
		wantConnFailed(t, cc, began, closeWriteTimeout, sts[1])
		if err := <-werr; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("the stuck Write returned %v, want its own timeout", err)
		}
	})
}

// TestGiveUpHealthyConnection: a stream that gives up on data the socket
// then takes in time, or takes slowly but a write at a time, leaves the
// connection as it was: live, and without a write deadline that would
// fail a later write.
func TestGiveUpHealthyConnection(t *testing.T) {
	t.Run("taken within the second", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cc, sts := stuckServer(t, 2, func(s net.Conn) {
				time.Sleep(1800 * time.Millisecond) // 0.5 s before the second is up
				io.Copy(io.Discard, s)
			})
			began := time.Now()
			sts[0].SetWriteDeadline(began.Add(time.Second + 300*time.Millisecond))
			if _, err := sts[0].Write(make([]byte, 1<<20)); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Write past its deadline: %v", err)
			}
			time.Sleep(time.Minute)
			if err := cc.Err(); err != nil {
				t.Fatalf("the connection failed: %v", err)
			}
			if cc.armed.Load() {
				t.Error("the socket still has the write deadline")
			}
			if _, err := sts[1].Write(make([]byte, 100)); err != nil {
				t.Fatalf("a later Write: %v", err)
			}
		})
	})
	t.Run("slow but moving", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			const streams = 8
			got := make(chan []byte, 1)
			cc, sts := stuckServer(t, streams, func(s net.Conn) {
				// 16 KiB every 250 ms: a 32 KiB socket write takes
				// half a second, the batch below two.
				const batch = streams * (9 + chunkSize)
				var all bytes.Buffer
				buf := make([]byte, chunkSize)
				for all.Len() < batch {
					time.Sleep(250 * time.Millisecond)
					n, err := io.ReadFull(s, buf[:min(len(buf), batch-all.Len())])
					all.Write(buf[:n])
					if err != nil {
						break
					}
				}
				got <- all.Bytes()
				io.Copy(io.Discard, s)
			})
			// One batch of eight chunks.
			cc.wmu.Lock()
			for i, st := range sts {
				if n, err := st.Write(bytes.Repeat([]byte{byte(i)}, chunkSize)); n != chunkSize || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			cc.wmu.Unlock()
			synctest.Wait()
			sts[0].Close() // gives up on its chunk, which goes first
			var data []byte
			select {
			case data = <-got:
			case <-time.After(time.Minute):
				t.Fatal("the server did not get the batch")
			}
			if err := cc.Err(); err != nil {
				t.Fatalf("the connection failed: %v", err)
			}
			fr := http2.NewFramer(nil, bytes.NewReader(data))
			for i := range streams {
				f, err := fr.ReadFrame()
				if err != nil {
					t.Fatal(err)
				}
				if df, ok := f.(*http2.DataFrame); !ok || !bytes.Equal(df.Data(), bytes.Repeat([]byte{byte(i)}, chunkSize)) {
					t.Fatalf("frame %d of the batch is not its stream's chunk", i)
				}
			}
			time.Sleep(time.Minute)
			if err := cc.Err(); err != nil {
				t.Fatalf("the connection failed: %v", err)
			}
			if cc.armed.Load() {
				t.Error("the socket still has the write deadline")
			}
		})
	})
}

// TestErrorBodyTimeBound: the body of a refusal that never ends is read
// for errorBodyTime (2 s, as over HTTP/1.1): OpenWebSocket returns a
// StatusError with what arrived by then, and resets the stream.
func TestErrorBodyTimeBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc, p := start(t, nil, extConnect)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		began := time.Now()
		id, errc := opening(ctx, p, cc)
		p.headers(id, false, ":status", "403")
		p.fr.WriteData(id, false, []byte("partial body"))
		var se *StatusError
		if err := <-errc; !errors.As(err, &se) || se.StatusCode != 403 || string(se.Body) != "partial body" {
			t.Fatalf("open: %v (%+v), want a StatusError 403 with the body that arrived", err, se)
		}
		if d := time.Since(began); d != errorBodyTime {
			t.Errorf("the refusal took %v, want %v", d, errorBodyTime)
		}
		if f := p.next(http2.FrameRSTStream); f.stream != id || f.code != http2.ErrCodeCancel {
			t.Errorf("RST_STREAM %v of stream %d, want CANCEL of %d", f.code, f.stream, id)
		}
	})
}
