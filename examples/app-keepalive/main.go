// Command app-keepalive shows keep-alive pings and reconnecting: a loopback
// server inside the program drops its first connection without a close
// frame, stops answering pings on the second (the App detects it within
// PingInterval + PingTimeout) and closes the third one cleanly, which ends
// the run. Run with -trace to see the reconnect attempts in the trace log.
//
//	go run ./examples/app-keepalive [-trace]
package main

import (
	"flag"
	"fmt"
	"log"
	"sync/atomic"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

func main() {
	trace := flag.Bool("trace", false, "log reconnect attempts and frames")
	flag.Parse()
	if *trace {
		websocket.EnableTrace(true, nil)
	}

	var conns atomic.Int32
	srv := wstest.NewServer(func(c *wstest.Conn) {
		switch conns.Add(1) {
		case 1: // dies at once, after the handshake
			c.Accept(nil)
		case 2: // reads everything, answers nothing
			for {
				if _, err := c.ReadFrame(); err != nil {
					return
				}
			}
		default: // answers three pings, then closes
			for pongs := 0; ; {
				f, err := c.ReadFrame()
				if err != nil || f.Opcode == wstest.OpClose {
					return
				}
				if f.Opcode == wstest.OpPing {
					c.WriteMessage(wstest.OpPong, f.Payload)
					if pongs++; pongs == 3 {
						c.Close(1000, "bye")
						return
					}
				}
			}
		}
	})
	defer srv.Close()

	start := time.Now()
	at := func() string { return fmt.Sprintf("%4dms", time.Since(start).Milliseconds()) }
	app := &websocket.App{
		URL:         srv.URL,
		OnOpen:      func(*websocket.App) { fmt.Println(at(), "open") },
		OnReconnect: func(*websocket.App) { fmt.Println(at(), "reconnected") },
		OnPong:      func(_ *websocket.App, p []byte) { fmt.Printf("%s pong %q\n", at(), p) },
		OnError:     func(_ *websocket.App, err error) { fmt.Println(at(), "error:", err) },
		OnClose: func(_ *websocket.App, code websocket.StatusCode, reason string) {
			fmt.Printf("%s closed: %d (%s) %q\n", at(), code, code, reason)
		},
	}
	err := app.RunForever(&websocket.RunOptions{
		// A server that accepts but never answers the handshake is an
		// error (then a reconnect) after this; the default is 30 s.
		DialOptions:  websocket.DialOptions{HandshakeTimeout: 5 * time.Second},
		PingInterval: 100 * time.Millisecond,
		PingTimeout:  50 * time.Millisecond,
		PingPayload:  []byte("hb"),
		Reconnect:    200 * time.Millisecond, // first retry; later ones back off
		Backoff:      &websocket.Backoff{Max: 2 * time.Second},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(at(), "run ended cleanly")
}
