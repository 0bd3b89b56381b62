// Command app-echo shows the event-driven App: it starts a loopback echo
// server inside itself, sends a few messages when the connection opens,
// prints each echo and closes after the last one.
//
//	go run ./examples/app-echo
package main

import (
	"fmt"
	"log"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

func main() {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()

	messages := []string{"Hello", "WebSocket", "world"}
	received := 0
	app := &websocket.App{
		URL: srv.URL,
		OnOpen: func(a *websocket.App) {
			fmt.Println("open:", a.URL)
			for _, m := range messages {
				if err := a.SendText(m); err != nil {
					log.Print(err)
				}
			}
		},
		OnMessage: func(a *websocket.App, msg websocket.Message) {
			fmt.Printf("echo: %q (%s)\n", msg.Text(), msg.Opcode)
			if received++; received == len(messages) {
				a.Close()
			}
		},
		OnError: func(a *websocket.App, err error) { fmt.Println("error:", err) },
		OnClose: func(a *websocket.App, code websocket.StatusCode, reason string) {
			fmt.Printf("closed: %d (%s) %q\n", code, code, reason)
		},
	}
	if err := app.RunForever(nil); err != nil {
		log.Fatal(err)
	}
}
