// Command app-eventloop runs several Apps on one EventLoop: every callback
// of every App runs on the main goroutine, one at a time, so they share a
// counter without a lock. Each App exchanges a few messages with a loopback
// echo server; when all are done the loop is stopped, which closes the Apps
// (1001 going away). Ctrl-C stops it early.
//
//	go run ./examples/app-eventloop
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

func main() {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()

	const apps, rounds = 4, 3
	loop := websocket.NewEventLoop()
	loop.StopOnSignal() // os.Interrupt
	finished := 0       // only touched on the loop's goroutine
	for i := range apps {
		n := 0
		app := &websocket.App{
			URL:    srv.URL,
			OnOpen: func(a *websocket.App) { a.SendText(fmt.Sprintf("app %d round %d", i, n)) },
			OnMessage: func(a *websocket.App, msg websocket.Message) {
				fmt.Println("echo:", msg.Text())
				if n++; n < rounds {
					a.SendText(fmt.Sprintf("app %d round %d", i, n))
					return
				}
				if finished++; finished == apps {
					loop.Stop()
				}
			},
			OnClose: func(a *websocket.App, code websocket.StatusCode, reason string) {
				fmt.Printf("app %d closed: %d (%s)\n", i, code, code)
			},
		}
		// HandshakeTimeout bounds connecting to a server that never
		// answers (the default is 30 s).
		opts := &websocket.RunOptions{Dispatcher: loop,
			DialOptions: websocket.DialOptions{HandshakeTimeout: 5 * time.Second}}
		if err := app.RunForever(opts); err != nil {
			log.Fatal(err)
		}
	}
	if err := loop.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
	fmt.Println("loop stopped")
}
