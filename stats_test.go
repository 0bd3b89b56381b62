//go:build !wsclient_nostats

package websocket_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/deflate"
	iwstest "github.com/wsclient/websocket/internal/wstest"
	"github.com/wsclient/websocket/wstest"
)

// pipeDial dials srv over an in-memory pipe (inside a synctest bubble).
func pipeDial(t *testing.T, srv *wstest.Server) *websocket.Conn {
	t.Helper()
	c, err := websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{NetDialContext: srv.DialContext})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// drainFrames reads the client's frames until the connection ends.
func drainFrames(c *wstest.Conn) {
	for {
		if _, err := c.ReadFrame(); err != nil {
			return
		}
	}
}

// TestConnStats: every kind of traffic lands in its counter, each message
// once however it is framed and read, and Latency is the ping's round
// trip.
func TestConnStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			c.WriteMessage(wstest.OpText, []byte("hello"))                                     // 5 bytes, one frame
			c.WriteFrame(wstest.Frame{Opcode: wstest.OpBinary, Payload: []byte("abc")})        // a message
			c.WriteFrame(wstest.Frame{Opcode: wstest.OpPing, Fin: true, Payload: []byte("p")}) // between its fragments
			c.WriteFrame(wstest.Frame{Opcode: wstest.OpContinuation, Fin: true, Payload: []byte("defg")})
			c.WriteMessage(wstest.OpPong, []byte("unasked")) // no ping of ours is waiting: no measurement
			for {
				f, err := c.ReadFrame()
				if err != nil {
					return
				}
				switch f.Opcode {
				case wstest.OpPing:
					time.Sleep(30 * time.Millisecond)
					c.WriteMessage(wstest.OpPong, []byte("wrong")) // not this ping's payload
					time.Sleep(20 * time.Millisecond)
					c.WriteMessage(wstest.OpPong, f.Payload)
				case wstest.OpClose:
					c.Close(4001, "done")
					return
				}
			}
		})
		defer srv.Close()
		c := pipeDial(t, srv)
		for _, want := range []string{"hello", "abcdefg"} {
			if m, err := c.Recv(); err != nil || string(m.Data) != want {
				t.Fatalf("Recv = %q, %v; want %q", m.Data, err, want)
			}
		}
		if err := c.SendText("12345678"); err != nil {
			t.Fatal(err)
		}
		w, _ := c.NextWriter(websocket.OpBinary)
		w.Write(make([]byte, 20<<10)) // two fragments: one message
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := c.Latency(); got != 0 {
			t.Errorf("Latency before any ping = %v, want 0", got)
		}
		if err := c.Ping([]byte("rtt")); err != nil {
			t.Fatal(err)
		}
		for {
			op, p, err := c.RecvData(true)
			if err != nil {
				t.Fatal(err)
			}
			if op == websocket.OpPong && string(p) == "rtt" {
				break
			}
		}
		if got := c.Latency(); got != 50*time.Millisecond {
			t.Errorf("Latency = %v, want 50ms (the pong with the ping's payload)", got)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		got := c.Stats()
		want := websocket.Stats{
			MessagesSent: 2, MessagesReceived: 2,
			BytesSent: 8 + 20<<10, BytesReceived: 5 + 7,
			PingsSent: 1, PingsReceived: 1,
			PongsSent: 1, PongsReceived: 3,
			Latency:       50 * time.Millisecond,
			LastCloseCode: 4001,
		}
		if got != want {
			t.Errorf("Stats =\n%+v, want\n%+v", got, want)
		}
	})
}

// TestConnStatsReadPaths: a message counts once whichever receiving method
// reads it: whole from the buffer, through NextReader, frame by frame.
func TestConnStatsReadPaths(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			for range 4 {
				c.WriteFrame(wstest.Frame{Opcode: wstest.OpText, Payload: []byte("ab")})
				c.WriteFrame(wstest.Frame{Opcode: wstest.OpContinuation, Fin: true, Payload: []byte("cde")})
			}
			c.WriteMessage(wstest.OpBinary, make([]byte, 70_000)) // past the read buffer
			c.ReadFrame()
		})
		defer srv.Close()
		c := pipeDial(t, srv)
		defer c.Abort()
		c.Recv()
		_, r, _ := c.NextReader()
		r.Read(make([]byte, 1)) // the rest is dropped by the next call
		c.RecvData(false)
		c.RecvFrame()
		c.RecvFrame()
		if _, b, err := c.RecvAppend(nil); err != nil || len(b) != 70_000 {
			t.Fatalf("RecvAppend = %d bytes, %v", len(b), err)
		}
		st := c.Stats()
		if st.MessagesReceived != 5 || st.BytesReceived != 4*5+70_000 {
			t.Errorf("received %d messages, %d bytes; want 5, %d", st.MessagesReceived, st.BytesReceived, 4*5+70_000)
		}
	})
}

// TestConnStatsLastError: the error that ended the connection is kept.
func TestConnStatsLastError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			c.WriteFrame(wstest.Frame{Opcode: wstest.OpText, Fin: true, Masked: true, Payload: []byte("x")})
			c.ReadFrame()
		})
		defer srv.Close()
		c := pipeDial(t, srv)
		if err := c.Stats().LastError; err != nil {
			t.Fatalf("LastError of a healthy Conn = %v", err)
		}
		_, err := c.Recv()
		var pe *websocket.ProtocolError
		if !errors.As(err, &pe) {
			t.Fatalf("Recv = %v, want a *ProtocolError", err)
		}
		if got := c.Stats().LastError; got != err {
			t.Errorf("LastError = %v, want %v", got, err)
		}
		if code := c.Stats().LastCloseCode; code != 0 {
			t.Errorf("LastCloseCode = %v, want 0: the server sent none", code)
		}
	})
}

// TestConnStatsCompressed: with permessage-deflate the bytes on the wire
// and the bytes they carry are both counted, each way.
func TestConnStatsCompressed(t *testing.T) {
	c, sc := deflatePipe(t, nil, "permessage-deflate")
	msg := jsonText(4096, 1)
	if err := c.SendText(string(msg)); err != nil {
		t.Fatal(err)
	}
	w, _ := c.NextWriter(websocket.OpText)
	w.Write(msg[:100])
	w.Write(msg[100:]) // compressed as it streams
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var wireOut uint64
	for range 2 {
		for {
			f := readFrame(t, sc)
			wireOut += uint64(len(f.Payload))
			if f.Fin {
				break
			}
		}
	}
	sz := deflate.NewCompressor(1, 15, true)
	defer sz.Release()
	z, err := sz.Compress(nil, msg)
	if err != nil {
		t.Fatal(err)
	}
	sc.WriteRaw(iwstest.AppendFrameRsv(nil, true, 4, byte(websocket.OpText), z))
	sc.WriteRaw(iwstest.AppendFrame(nil, true, byte(websocket.OpText), []byte("short"))) // not compressed
	// Appended to bytes already there: only the message counts.
	if _, m, err := c.RecvAppend(make([]byte, 10)); err != nil || len(m) != 10+4096 {
		t.Fatalf("RecvAppend = %d bytes, %v", len(m), err)
	}
	if _, err := c.Recv(); err != nil {
		t.Fatal(err)
	}
	got := c.Stats()
	want := websocket.Stats{
		MessagesSent: 2, MessagesReceived: 2,
		BytesSent: wireOut, BytesReceived: uint64(len(z)) + 5,
		CompressedWireSent: wireOut, CompressedPayloadSent: 2 * 4096,
		CompressedWireReceived: uint64(len(z)), CompressedPayloadReceived: 4096,
	}
	if got != want {
		t.Errorf("Stats =\n%+v, want\n%+v", got, want)
	}
	if wireOut >= 4096 {
		t.Errorf("%d bytes on the wire for two 4 KiB messages: not compressed", wireOut)
	}
}

// TestAppStatsAndObserver: an App's counters add up its connections,
// count reconnects and errors, and keep the last error and close code;
// the Observer sees each event just before its callback, and a panic in it
// is contained.
func TestAppStatsAndObserver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			switch n.Add(1) {
			case 1:
				c.WriteMessage(wstest.OpText, []byte("one"))
				c.WriteMessage(wstest.OpText, []byte("two"))
				c.ReadMessage() // the client's answer
				c.Drop()
			default:
				c.WriteMessage(wstest.OpBinary, []byte("three"))
				c.ReadMessage()
				c.Close(1000, "bye")
			}
		})
		defer srv.Close()
		var (
			mu  sync.Mutex
			log []string
		)
		add := func(s string) {
			mu.Lock()
			log = append(log, s)
			mu.Unlock()
		}
		var onOpenStats websocket.Stats
		a := &websocket.App{
			URL:         srv.URL,
			OnOpen:      func(a *websocket.App) { add("OnOpen"); onOpenStats = a.Stats() },
			OnReconnect: func(*websocket.App) { add("OnReconnect") },
			OnMessage: func(a *websocket.App, m websocket.Message) {
				if m.Text() != "one" {
					a.SendText("ack")
				}
			},
			OnError: func(*websocket.App, error) { add("OnError") },
			OnClose: func(*websocket.App, websocket.StatusCode, string) { add("OnClose") },
		}
		opts := &websocket.RunOptions{
			Reconnect:   time.Second,
			DialOptions: websocket.DialOptions{NetDialContext: srv.DialContext},
			Observer: func(a *websocket.App, ev websocket.Event) {
				s := ev.Kind.String()
				switch ev.Kind {
				case websocket.EventClose:
					s += " " + ev.Code.String()
				case websocket.EventError:
					if ev.Err == nil {
						t.Error("EventError without Err")
					}
				}
				if (ev.Conn == nil) != (ev.Kind == websocket.EventError) {
					t.Errorf("%s: Conn = %v", s, ev.Conn)
				}
				add(s)
				if ev.Kind == websocket.EventReconnect {
					panic("observer bug")
				}
			},
		}
		if err := runHour(a, opts); err != nil {
			t.Fatalf("Run = %v", err)
		}
		want := []string{
			"open", "OnOpen",
			"error", "OnError", "close abnormal closure", "OnClose",
			"reconnect", "OnReconnect",
			"close normal closure", "OnClose",
		}
		if !slices.Equal(log, want) {
			t.Errorf("events\n%q, want\n%q", log, want)
		}
		if onOpenStats != (websocket.Stats{}) {
			t.Errorf("Stats in OnOpen = %+v, want zero", onOpenStats)
		}
		st := a.Stats()
		if st.MessagesReceived != 3 || st.BytesReceived != 3+3+5 || st.MessagesSent != 2 || st.BytesSent != 6 {
			t.Errorf("messages %d/%d bytes %d/%d received/sent, want 3/2, 11/6", st.MessagesReceived, st.MessagesSent, st.BytesReceived, st.BytesSent)
		}
		if st.Reconnects != 1 || st.Errors != 1 || st.LastCloseCode != websocket.StatusNormal {
			t.Errorf("Reconnects %d, Errors %d, LastCloseCode %v; want 1, 1, 1000", st.Reconnects, st.Errors, st.LastCloseCode)
		}
		if st.LastError == nil || !errors.Is(st.LastError, websocket.ErrConnectionClosed) {
			t.Errorf("LastError = %v, want the dropped connection's", st.LastError)
		}
		if a.Conn() != nil {
			t.Error("Conn after the run")
		}
	})
}

// TestAppStatsLatency: the App's automatic pings measure the latency,
// which App.Stats reports during the connection and after it.
func TestAppStatsLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			for {
				f, err := c.ReadFrame()
				if err != nil || f.Opcode == wstest.OpClose {
					c.Close(1000, "")
					return
				}
				if f.Opcode == wstest.OpPing {
					time.Sleep(40 * time.Millisecond)
					c.WriteMessage(wstest.OpPong, f.Payload)
				}
			}
		})
		defer srv.Close()
		var during websocket.Stats
		a := &websocket.App{URL: srv.URL}
		a.OnPong = func(a *websocket.App, _ []byte) {
			during = a.Stats()
			a.Close()
		}
		err := runHour(a, &websocket.RunOptions{
			PingInterval: time.Second, PingTimeout: 500 * time.Millisecond, PingPayload: []byte("hb"),
			DialOptions: websocket.DialOptions{NetDialContext: srv.DialContext},
		})
		if err != nil {
			t.Fatal(err)
		}
		if during.Latency != 40*time.Millisecond || during.PingsSent != 1 || during.PongsReceived != 1 {
			t.Errorf("Stats in OnPong: latency %v, %d pings sent, %d pongs received; want 40ms, 1, 1",
				during.Latency, during.PingsSent, during.PongsReceived)
		}
		if got := a.Stats().Latency; got != 40*time.Millisecond {
			t.Errorf("Latency after the run = %v, want 40ms", got)
		}
	})
}

// TestAppStatsConcurrent reads an App's and its Conn's statistics while
// it sends and receives, for the race detector.
func TestAppStatsConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := wstest.NewPipeServer(wstest.Echo)
		defer srv.Close()
		const msgs = 200
		a := &websocket.App{URL: srv.URL}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		a.OnOpen = func(a *websocket.App) {
			c := a.Conn()
			wg.Go(func() {
				for range msgs {
					if c.SendText(strings.Repeat("x", 10)) != nil {
						return
					}
				}
			})
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					s, cs := a.Stats(), c.Stats()
					if s.MessagesReceived > s.MessagesSent || cs.BytesReceived > cs.BytesSent {
						t.Error("more echoed than sent")
					}
					time.Sleep(time.Millisecond)
				}
			})
		}
		got := 0
		a.OnMessage = func(a *websocket.App, _ websocket.Message) {
			if got++; got == msgs {
				a.Close()
			}
		}
		if err := runHour(a, &websocket.RunOptions{DialOptions: websocket.DialOptions{NetDialContext: srv.DialContext}}); err != nil {
			t.Fatal(err)
		}
		close(stop)
		wg.Wait()
		if st := a.Stats(); st.MessagesSent != msgs || st.MessagesReceived != msgs || st.BytesReceived != 10*msgs {
			t.Errorf("Stats = %+v, want %d messages each way", st, msgs)
		}
	})
}

// TestConnStatsExactWhenIdle: the receive counts are exact once a
// receiving call has returned, also when the messages arrived in one
// read, and while a reader waits for the socket, for Stats called from
// another goroutine (which the waiting reader does not hold up).
func TestConnStatsExactWhenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			// Three messages in one write: the client reads them at once.
			if c.Accept(nil) != nil {
				return
			}
			c.WriteRaw([]byte("\x81\x01a\x81\x02bb\x82\x03ccc"))
			if _, err := c.ReadFrame(); err != nil { // the client's "go"
				return
			}
			c.WriteMessage(wstest.OpText, []byte("dddd"))
			drainFrames(c)
		})
		defer srv.Close()
		c := pipeDial(t, srv)
		defer c.Abort()
		check := func(when string, msgs, bytes uint64) {
			t.Helper()
			if st := c.Stats(); st.MessagesReceived != msgs || st.BytesReceived != bytes {
				t.Errorf("%s: %d messages, %d bytes received; want %d, %d",
					when, st.MessagesReceived, st.BytesReceived, msgs, bytes)
			}
		}
		for i, want := range []string{"a", "bb", "ccc"} {
			if m, err := c.Recv(); err != nil || string(m.Data) != want {
				t.Fatalf("Recv = %q, %v; want %q", m.Data, err, want)
			}
			check("after Recv "+want, uint64(i+1), uint64((i+1)*(i+2)/2))
		}
		got := make(chan string)
		go func() {
			m, err := c.Recv()
			if err != nil {
				t.Error(err)
			}
			got <- string(m.Data)
		}()
		synctest.Wait() // the reader waits for the socket, holding the read lock
		check("while a reader waits", 3, 6)
		if err := c.SendText("go"); err != nil {
			t.Fatal(err)
		}
		if m := <-got; m != "dddd" {
			t.Fatalf("Recv = %q, want dddd", m)
		}
		check("after the waiting Recv returned", 4, 10)
	})
}

// TestConnStatsSendExact: the send counts are exact while a send waits for
// the socket (a server that does not read yet) and after sends that only
// queued their frames behind it returned.
func TestConnStatsSendExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		read := make(chan struct{})
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			if c.Accept(nil) != nil {
				return
			}
			<-read
			drainFrames(c)
		})
		defer srv.Close()
		c := pipeDial(t, srv)
		defer c.Abort()
		check := func(when string, msgs, bytes uint64) {
			t.Helper()
			if st := c.Stats(); st.MessagesSent != msgs || st.BytesSent != bytes {
				t.Errorf("%s: %d messages, %d bytes sent; want %d, %d", when, st.MessagesSent, st.BytesSent, msgs, bytes)
			}
		}
		// A message over the pipe's 256 KiB makes the send wait for the
		// server, which does not read yet.
		big := strings.Repeat("a", 300<<10)
		sent := make(chan error)
		go func() { sent <- c.SendText(big) }()
		synctest.Wait() // the send waits for the socket
		check("while a send waits for the socket", 1, uint64(len(big)))
		for _, m := range []string{"bb", "ccc"} {
			if err := c.SendText(m); err != nil { // queued behind the first
				t.Fatal(err)
			}
		}
		check("after queued sends returned", 3, uint64(len(big))+5)
		close(read)
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
		check("after Flush", 3, uint64(len(big))+5)
	})
}

// TestAppStatsEventLoop: on the event loop's engine, whose I/O goroutine
// reads for the connection's whole life, the receive counts of a socket
// read are there once the next read's messages arrive.
func TestAppStatsEventLoop(t *testing.T) {
	srv := newServer(func(c *iwstest.Conn) {
		c.WriteRaw([]byte("\x81\x01a\x81\x02bb\x82\x03ccc")) // in one read
		for {
			op, _, err := c.ReadMessage()
			if err != nil || op == 8 { // 8: the client's close
				return
			}
			if op == 1 { // the client's "go"
				c.WriteFrame(true, 1, []byte("dddd"))
			}
		}
	})
	defer srv.Close()
	a := &websocket.App{URL: srv.URL}
	received := 0
	a.OnMessage = func(a *websocket.App, _ websocket.Message) {
		switch received++; received {
		case 3:
			a.SendText("go")
		case 4:
			// The read that brought the three was decoded whole.
			st := a.Stats()
			if st.MessagesReceived < 3 || st.BytesReceived < 6 || st.MessagesReceived > 4 || st.BytesReceived > 10 {
				t.Errorf("%d messages, %d bytes received; want 3, 6 or 4, 10", st.MessagesReceived, st.BytesReceived)
			}
			a.Close()
		}
	}
	if err := runEngine(t, a, nil); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if received != 4 {
		t.Fatalf("%d messages, want 4", received)
	}
	if st := a.Stats(); st.MessagesReceived != 4 || st.BytesReceived != 10 {
		t.Errorf("after the run: %d messages, %d bytes received; want 4, 10", st.MessagesReceived, st.BytesReceived)
	}
}

// TestConnStatsOneEmptyMessage: a single empty message is counted, received
// and sent, while a reader waits for the socket (its counts are then
// published with nothing else pending: one message, no byte).
func TestConnStatsOneEmptyMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := wstest.NewPipeServer(func(c *wstest.Conn) {
			if c.Accept(nil) != nil {
				return
			}
			c.WriteMessage(wstest.OpText, nil)
			drainFrames(c)
		})
		defer srv.Close()
		c := pipeDial(t, srv)
		defer c.Abort()
		if m, err := c.Recv(); err != nil || len(m.Data) != 0 {
			t.Fatalf("Recv = %q, %v; want an empty message", m.Data, err)
		}
		go c.Recv()
		synctest.Wait() // the reader waits for the socket
		if err := c.SendText(""); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if st := c.Stats(); st.MessagesReceived != 1 || st.BytesReceived != 0 || st.MessagesSent != 1 || st.BytesSent != 0 {
			t.Errorf("received %d messages, %d bytes; sent %d, %d; want 1, 0 each way",
				st.MessagesReceived, st.BytesReceived, st.MessagesSent, st.BytesSent)
		}
	})
}

// TestConnStatsRefusedAndFragments: a received message that is refused
// does not count, compressed or not (a compressed one with invalid UTF-8
// or over the read limit counted as a message of its wire bytes, its
// uncompressed twin as nothing); its frames' wire bytes count as
// compressed wire bytes, so Bytes − CompressedWire + CompressedPayload,
// the messages' own size, stays 0. A data frame returned as it arrived
// (RecvFrame, FireContFrame) is in BytesReceived at once, not only at the
// message's end.
func TestConnStatsRefusedAndFragments(t *testing.T) {
	bad := append(jsonText(500, 1), 0xff)
	for _, c := range []struct {
		name  string
		opts  *websocket.DialOptions
		frame []byte
	}{
		{"compressed, invalid UTF-8", nil, iwstest.AppendFrameRsv(nil, true, 4, byte(websocket.OpText), iwstest.Deflate(bad, 1))},
		{"compressed, over the read limit", &websocket.DialOptions{ReadLimit: 1000}, iwstest.AppendFrameRsv(nil, true, 4, byte(websocket.OpBinary), iwstest.Deflate(make([]byte, 100000), 1))},
		{"plain, invalid UTF-8", nil, iwstest.AppendFrame(nil, true, byte(websocket.OpText), bad)},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, sc := deflatePipe(t, c.opts, "permessage-deflate")
			sc.WriteRaw(c.frame)
			if _, err := conn.Recv(); err == nil {
				t.Fatal("the message was taken")
			}
			st := conn.Stats()
			if st.MessagesReceived != 0 || st.BytesReceived != st.CompressedWireReceived || st.CompressedPayloadReceived != 0 {
				t.Errorf("Stats %+v: want no message, and its wire bytes (if any) all compressed wire bytes", st)
			}
		})
	}
	for _, mode := range []string{"FireContFrame", "RecvFrame"} {
		t.Run(mode, func(t *testing.T) {
			conn, sc := deflatePipe(t, &websocket.DialOptions{FireContFrame: mode == "FireContFrame"}, "")
			sc.WriteRaw(iwstest.AppendFrame(nil, false, byte(websocket.OpBinary), []byte("0123456789")))
			recv := func() *websocket.Frame {
				var f *websocket.Frame
				var err error
				if mode == "FireContFrame" {
					_, f, err = conn.RecvDataFrame(false)
				} else {
					f, err = conn.RecvFrame()
				}
				if err != nil {
					t.Fatal(err)
				}
				return f
			}
			if f := recv(); f.Fin || len(f.Payload) != 10 {
				t.Fatalf("first fragment %+v", f)
			}
			if st := conn.Stats(); st.BytesReceived != 10 || st.MessagesReceived != 0 {
				t.Errorf("after a 10-byte fragment returned: %d bytes, %d messages; want 10 and 0", st.BytesReceived, st.MessagesReceived)
			}
			sc.WriteRaw(iwstest.AppendFrame(nil, true, byte(websocket.OpContinuation), []byte("abc")))
			if f := recv(); !f.Fin {
				t.Fatalf("last fragment %+v", f)
			}
			if st := conn.Stats(); st.BytesReceived != 13 || st.MessagesReceived != 1 {
				t.Errorf("after the message: %d bytes, %d messages; want 13 and 1", st.BytesReceived, st.MessagesReceived)
			}
		})
	}
}

// TestConnStatsFailedWritesTakenBack: a ping, or a compressed message,
// whose write fails (the peer reset the connection) is taken back from
// PingsSent, or from the compressed counts as from MessagesSent and
// BytesSent: PingsSent stayed at 2 for one ping out, and
// CompressedWireSent went 32 MiB past BytesSent, the messages' size by
// Bytes − CompressedWire + CompressedPayload below zero.
func TestConnStatsFailedWritesTakenBack(t *testing.T) {
	for _, what := range []string{"ping", "compressed message"} {
		t.Run(what, func(t *testing.T) {
			gone := make(chan struct{})
			srv := wstest.NewServer(func(c *wstest.Conn) {
				if c.Accept(http.Header{"Sec-WebSocket-Extensions": {"permessage-deflate"}}) != nil {
					return
				}
				c.ReadFrame()
				if tc, ok := c.NetConn().(*net.TCPConn); ok {
					tc.SetLinger(0) // a reset, not an orderly end
				}
				c.Drop()
				close(gone)
			})
			defer srv.Close()
			c, err := websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{Timeout: testTimeout, Compression: &websocket.CompressionOptions{}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Abort()
			if err := c.SendBinary(jsonText(1000, 1)); err != nil {
				t.Fatal(err)
			}
			<-gone
			before := c.Stats()
			// Polling until a write sees the reset, each write on its own
			// (back-to-back ones would queue as a burst).
			for i, deadline := 0, time.Now().Add(testTimeout); ; i++ {
				if time.Now().After(deadline) {
					t.Fatal("every write to a reset peer went out")
				}
				time.Sleep(time.Millisecond)
				if what == "ping" {
					err = c.Ping([]byte("p"))
				} else {
					err = c.SendBinary(jsonText(4<<20, i))
				}
				if err != nil {
					break
				}
				before = c.Stats() // one went out before the reset was seen
			}
			st := c.Stats()
			if st.PingsSent != before.PingsSent || st.MessagesSent != before.MessagesSent || st.BytesSent != before.BytesSent ||
				st.CompressedWireSent != before.CompressedWireSent || st.CompressedPayloadSent != before.CompressedPayloadSent {
				t.Errorf("after the failed %s (%v):\n%+v, want the counts before it:\n%+v", what, err, st, before)
			}
		})
	}
}
