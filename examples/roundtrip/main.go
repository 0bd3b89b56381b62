// Command roundtrip shows the client working with no outside server: it
// starts a WebSocket echo server on a loopback port inside itself, dials it,
// exchanges a text message, a binary message and a ping, and closes cleanly,
// printing each step.
//
//	go run ./examples/roundtrip
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

func main() {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	if len(os.Args) > 1 && os.Args[1] == "-trace" {
		websocket.EnableTrace(true, nil)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := websocket.Dial(ctx, srv.URL+"/echo", &websocket.DialOptions{Timeout: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("connected to %s (status %d)\n", srv.URL, conn.Status())

	must(conn.SendText("Hello, WebSocket"))
	msg, err := conn.Recv()
	must(err)
	fmt.Printf("sent text, echoed back: %q (%s)\n", msg.Text(), msg.Opcode)

	must(conn.SendBinary([]byte{0xde, 0xad, 0xbe, 0xef}))
	msg, err = conn.Recv()
	must(err)
	fmt.Printf("sent binary, echoed back: % x (%s)\n", msg.Data, msg.Opcode)

	must(conn.Ping([]byte("are you there?")))
	op, data, err := conn.RecvData(true)
	must(err)
	fmt.Printf("sent ping, got %s: %q\n", op, data)

	must(conn.Close())
	fmt.Printf("closed cleanly; connected=%v\n", conn.Connected())
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
