package websocket_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/leaktest"
	"github.com/wsclient/websocket/internal/wstest"
)

// TestAppSoakServerRestarts restarts a loopback server 50 times at random
// moments (often in the middle of a message) while the App sends and
// receives. Every restart must be followed by OnReconnect, OnClose must come
// once per opened connection, no callback may run after Run returns, and no
// goroutine may be left.
func TestAppSoakServerRestarts(t *testing.T) {
	defer leaktest.Check(t)()
	const restarts = 50
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	chunk := make([]byte, 1024)
	handle := func(c *wstest.Conn) {
		for {
			op, data, err := c.ReadMessage()
			if err != nil || op == 8 {
				if op == 8 {
					c.WriteFrame(true, 8, data)
				}
				return
			}
			if c.WriteFrame(true, op, data) != nil {
				return
			}
			// A 32 KiB binary message written in 1 KiB pieces, so that a
			// restart often cuts a frame in half.
			frame := wstest.AppendFrame(nil, true, 0x2, make([]byte, 32<<10))
			for len(frame) > 0 {
				n := min(len(frame), len(chunk))
				if c.WriteRaw(frame[:n]) != nil {
					return
				}
				frame = frame[n:]
			}
		}
	}
	var srvMu sync.Mutex
	srv := newServer(handle)
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		srvMu.Lock()
		addr := srv.Addr
		srvMu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}

	var (
		returned          atomic.Bool
		opens, closes     atomic.Int32
		received, errored atomic.Int32
	)
	connected := make(chan struct{}, 1)
	check := func(name string) {
		if returned.Load() {
			t.Errorf("%s ran after Run returned", name)
		}
	}
	a := &websocket.App{
		OnOpen: func(*websocket.App) {
			check("OnOpen")
			opens.Add(1)
			connected <- struct{}{}
		},
		OnReconnect: func(*websocket.App) {
			check("OnReconnect")
			opens.Add(1)
			connected <- struct{}{}
		},
		OnMessage: func(a *websocket.App, m websocket.Message) {
			check("OnMessage")
			received.Add(1)
		},
		OnError: func(*websocket.App, error) { check("OnError"); errored.Add(1) },
		OnClose: func(*websocket.App, websocket.StatusCode, string) {
			check("OnClose")
			closes.Add(1)
		},
	}
	srvMu.Lock()
	a.URL = srv.URL
	srvMu.Unlock()

	runErr := make(chan error, 1)
	go func() {
		err := a.RunForever(&websocket.RunOptions{
			Reconnect:   time.Millisecond,
			Backoff:     &websocket.Backoff{Max: 10 * time.Millisecond},
			DialOptions: websocket.DialOptions{NetDialContext: dial, Timeout: 5 * time.Second},
		})
		returned.Store(true)
		runErr <- err
	}()

	// The sender writes from its own goroutine the whole time; between
	// connections it gets ErrConnectionClosed.
	stopSend := make(chan struct{})
	var senderWG sync.WaitGroup
	senderWG.Go(func() {
		for {
			select {
			case <-stopSend:
				return
			default:
			}
			a.SendText("ping from the client")
			time.Sleep(100 * time.Microsecond) // pacing, not synchronization
		}
	})

	deadline := time.After(25 * time.Second)
	wait := func(what string) {
		select {
		case <-connected:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
	wait("OnOpen")
	for i := range restarts {
		// Let traffic flow for a random moment, then restart the server.
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		srvMu.Lock()
		old := srv
		old.Close()
		srv = newServer(handle)
		srvMu.Unlock()
		wait(fmt.Sprint("OnReconnect after restart ", i+1))
	}
	close(stopSend)
	senderWG.Wait()
	a.Close()
	if err := <-runErr; err != nil {
		t.Errorf("RunForever = %v, want nil after Close", err)
	}
	srv.Close()
	if o, c := opens.Load(), closes.Load(); o != restarts+1 || c != o {
		t.Errorf("%d opens and %d closes, want %d of each", o, c, restarts+1)
	}
	if received.Load() == 0 {
		t.Error("no message received")
	}
	t.Logf("%d messages received, %d errors reported", received.Load(), errored.Load())
}
