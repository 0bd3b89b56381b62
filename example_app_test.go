package websocket_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// An App that sends a message when it opens, prints the echo and closes.
// (The examples start a loopback echo server with the library's test
// server; point URL at yours.)
func ExampleApp() {
	srv := newServer(wstest.Echo) // a loopback echo server
	defer srv.Close()

	app := &websocket.App{
		URL: srv.URL,
		OnOpen: func(a *websocket.App) {
			fmt.Println("open")
			a.SendText("Hello, World")
		},
		OnMessage: func(a *websocket.App, msg websocket.Message) {
			fmt.Println("received:", msg.Text())
			a.Close()
		},
		OnError: func(a *websocket.App, err error) { fmt.Println("error:", err) },
		OnClose: func(a *websocket.App, code websocket.StatusCode, reason string) {
			fmt.Printf("closed: %d (%s)\n", code, code)
		},
	}
	if err := app.RunForever(nil); err != nil {
		fmt.Println("run:", err)
	}
	// Output:
	// open
	// received: Hello, World
	// closed: 1000 (normal closure)
}

// Keep-alive with reconnect: pings every PingInterval, a connection whose
// pong does not come within PingTimeout is dropped, and a lost connection
// is re-established after Reconnect (then with exponential backoff). The
// server here drops the first connection and closes the second one.
func ExampleApp_keepAlive() {
	var conns atomic.Int32
	srv := newServer(func(c *wstest.Conn) {
		if conns.Add(1) == 1 {
			return // the connection dies without a close frame
		}
		c.WriteFrame(true, 0x8, wstest.ClosePayload(1001, "shutting down"))
		c.ReadFrame()
	})
	defer srv.Close()

	app := &websocket.App{
		URL:         srv.URL,
		OnOpen:      func(*websocket.App) { fmt.Println("open") },
		OnReconnect: func(*websocket.App) { fmt.Println("reconnected") },
		OnError: func(a *websocket.App, err error) {
			fmt.Println("error, connection lost:", errors.Is(err, websocket.ErrConnectionClosed))
		},
		OnClose: func(a *websocket.App, code websocket.StatusCode, reason string) {
			fmt.Printf("closed: %d %q\n", code, reason)
		},
	}
	err := app.RunForever(&websocket.RunOptions{
		// A server that accepts but never answers the handshake is an
		// error (then a reconnect) after this; the default is 30 s.
		DialOptions:  websocket.DialOptions{HandshakeTimeout: 10 * time.Second},
		PingInterval: 30 * time.Second,
		PingTimeout:  10 * time.Second,
		PingPayload:  []byte("keep-alive"),
		Reconnect:    10 * time.Millisecond,
		Backoff:      &websocket.Backoff{Max: time.Second},
	})
	fmt.Println("run ended:", err) // a close frame from the server ends the run cleanly
	// Output:
	// open
	// error, connection lost: true
	// closed: 1006 ""
	// reconnected
	// closed: 1001 "shutting down"
	// run ended: <nil>
}

// Several Apps on one event loop: every callback runs on the goroutine that
// calls Run, one at a time, so the callbacks share state without locks.
func ExampleEventLoop() {
	srv := newServer(wstest.Echo)
	defer srv.Close()

	loop := websocket.NewEventLoop()
	var replies []string // touched only by callbacks: no lock needed
	names := []string{"alpha", "beta", "gamma"}
	for _, name := range names {
		app := &websocket.App{
			URL:    srv.URL,
			OnOpen: func(a *websocket.App) { a.SendText(name) },
			OnMessage: func(a *websocket.App, msg websocket.Message) {
				replies = append(replies, msg.Text())
				if len(replies) == len(names) {
					loop.Stop() // closes every App (1001) and ends Run
				}
			},
		}
		// With a Dispatcher, RunForever registers the App and returns.
		opts := &websocket.RunOptions{Dispatcher: loop,
			DialOptions: websocket.DialOptions{HandshakeTimeout: 10 * time.Second}}
		if err := app.RunForever(opts); err != nil {
			fmt.Println(err)
		}
	}
	loop.StopOnSignal() // Ctrl-C stops the loop cleanly too
	if err := loop.Run(context.Background()); err != nil {
		fmt.Println(err)
	}
	slices.Sort(replies)
	fmt.Println(replies)
	// Output:
	// [alpha beta gamma]
}
