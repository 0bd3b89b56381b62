package websocket_test

import (
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestAppCloseWhileTheServersCloseDrains: an App.Close that comes while
// the loop writes what it holds before the echo of the server's close
// drops neither: the server reads the message and the echo, and OnClose
// gets the server's code. The close found both close frames exchanged,
// took SendClose's error for a dead connection and aborted it (the server
// read none of the 8 MiB, OnClose 1006).
func TestAppCloseWhileTheServersCloseDrains(t *testing.T) {
	const size = 8 << 20
	release, appClosed := make(chan struct{}), make(chan struct{})
	var got atomic.Int64
	echoed := make(chan bool, 1)
	srv := wstest.New(func(c *wstest.Conn) {
		<-release
		c.WriteFrame(true, 8, wstest.ClosePayload(1000, "bye"))
		<-appClosed
		echoed <- readToClose(c, &got) != nil
	})
	defer srv.Close()
	var closes []websocket.StatusCode
	a := &websocket.App{URL: srv.URL}
	a.OnClose = func(_ *websocket.App, code websocket.StatusCode, _ string) { closes = append(closes, code) }
	a.OnOpen = func(a *websocket.App) {
		defer close(release)
		if err := a.SendBytes(make([]byte, size)); err != nil {
			t.Errorf("SendBytes = %v", err)
		}
		c := a.Conn()
		if websocket.LoopQueued(c) <= 0 {
			t.Error("the loop holds nothing for the socket: the test tests nothing")
		}
		go func() {
			defer close(appClosed)
			if !within(func() bool { return websocket.LoopDraining(c) }) {
				t.Error("the loop never put the end off behind its backlog")
			}
			a.Close()
		}()
	}
	if err := runOn(t, true, a, &websocket.RunOptions{Reconnect: -1}); err != nil {
		t.Errorf("Run = %v, want nil (the server closed)", err)
	}
	if e := <-echoed; !e || got.Load() != size {
		t.Errorf("the server read %d of the %d bytes sent, and the echo: %v", got.Load(), size, e)
	}
	if len(closes) != 1 || closes[0] != websocket.StatusNormal {
		t.Errorf("OnClose got %v, want [1000] (the server's close)", closes)
	}
}

// TestCloseAtOnceCrossedByTheServersClose: Conn.CloseWith(…, 0) gives its
// close frame at most 100 ms, also when the server's close comes in that
// time: the server's, whose echo waits behind the loop's backlog for the
// close timeout, replaced the earlier end's time, and the socket of a
// server that reads nothing stayed open 3 s.
func TestCloseAtOnceCrossedByTheServersClose(t *testing.T) {
	release, quit := make(chan struct{}), make(chan struct{})
	srv := wstest.New(func(c *wstest.Conn) {
		<-release
		c.WriteFrame(true, 8, wstest.ClosePayload(1000, "bye"))
		<-quit // reads nothing
	})
	defer srv.Close()
	defer close(quit)
	var start, closedAt time.Time
	a := &websocket.App{URL: srv.URL}
	a.OnClose = func(*websocket.App, websocket.StatusCode, string) { closedAt = time.Now() }
	a.OnOpen = func(a *websocket.App) {
		if err := a.SendBytes(make([]byte, 8<<20)); err != nil {
			t.Errorf("SendBytes = %v", err)
		}
		c := a.Conn()
		if websocket.LoopQueued(c) <= 0 {
			t.Error("the loop holds nothing for the socket: the test tests nothing")
		}
		start = time.Now()
		close(release) // the server's close comes while ours waits for the backlog
		c.CloseWith(websocket.StatusNormal, "", 0)
	}
	runOn(t, true, a, &websocket.RunOptions{Reconnect: -1})
	if took := closedAt.Sub(start); took > time.Second {
		t.Errorf("the connection ended %v after CloseWith(…, 0), which gives its close frame at most 100 ms", took)
	}
}

// TestCloseAtOnceAbandonedOnTheLoop: Conn.CloseWith(…, 0) whose close
// frame cannot be written within its 100 ms (a server that reads nothing,
// a backlog before the frame) returns the abandoned close's error, as off
// the loop. On the loop it returned nil, and the frame was dropped later.
func TestCloseAtOnceAbandonedOnTheLoop(t *testing.T) {
	quit := make(chan struct{})
	srv := wstest.New(func(c *wstest.Conn) { <-quit }) // reads nothing
	defer srv.Close()
	defer close(quit)
	var closeErr error
	a := &websocket.App{URL: srv.URL}
	a.OnOpen = func(a *websocket.App) {
		c := a.Conn()
		// Until the socket refuses bytes: the loop holds them, and the
		// kernel takes no more from a server that reads nothing.
		msg := make([]byte, 1<<20)
		for i := 0; websocket.LoopQueued(c) <= 0; i++ {
			if i == 256 {
				t.Error("the loop never held bytes for the socket")
				return
			}
			if err := c.SendBinary(msg); err != nil {
				t.Errorf("SendBinary = %v", err)
				return
			}
		}
		closeErr = c.CloseWith(websocket.StatusNormal, "", 0)
	}
	runOn(t, true, a, &websocket.RunOptions{Reconnect: -1})
	if !errors.Is(closeErr, websocket.ErrConnectionClosed) || !errors.Is(closeErr, os.ErrDeadlineExceeded) {
		t.Errorf("CloseWith(…, 0) = %v, want an error matching ErrConnectionClosed and os.ErrDeadlineExceeded", closeErr)
	}
}
