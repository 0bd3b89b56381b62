// Command hello is a whole program: an App connects to a WebSocket echo
// server, sends a message, prints the echo and closes.
package main

import (
	"fmt"
	"log"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

func main() {
	// An echo server on a loopback port, from the library's test kit:
	// put your server's ws:// or wss:// URL in its place.
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()

	app := &websocket.App{
		URL:    srv.URL,
		OnOpen: func(a *websocket.App) { a.SendText("Hello, WebSocket") },
		OnMessage: func(a *websocket.App, msg websocket.Message) {
			fmt.Println("echoed:", msg.Text())
			a.Close() // the closing handshake; then RunForever returns
		},
		OnError: func(_ *websocket.App, err error) { log.Print(err) },
		OnClose: func(_ *websocket.App, code websocket.StatusCode, _ string) {
			fmt.Printf("closed: %d (%s)\n", code, code)
		},
	}
	err := app.RunForever(&websocket.RunOptions{
		// A server that accepts but never answers the handshake is an
		// error after this (the default is 30 s).
		DialOptions: websocket.DialOptions{HandshakeTimeout: 10 * time.Second},
	})
	if err != nil {
		log.Fatal(err)
	}
}
