package websocket_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// The Conn examples talk to a loopback server from the wstest package, the
// test kit you can use in your own tests too; point the URL at yours.

// Dial opens a connection; nil options use the defaults.
func ExampleDial() {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()

	c, err := websocket.Dial(context.Background(), srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Println("status:", c.Status())
	// Output: status: 101
}

func ExampleConn_Send() {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	c, err := websocket.Dial(context.Background(), srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	if err := c.Send([]byte("Hello, World"), websocket.OpText); err != nil {
		log.Fatal(err)
	}
	if err := c.SendBinary([]byte{1, 2, 3}); err != nil {
		log.Fatal(err)
	}
	for range 2 {
		msg, err := c.Recv()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %q\n", msg.Opcode, msg.Data)
	}
	// Output:
	// text "Hello, World"
	// binary "\x01\x02\x03"
}

// Recv returns whole messages; pings are answered and a close from the
// server comes back as *CloseError.
func ExampleConn_Recv() {
	srv := wstest.NewServer(func(sc *wstest.Conn) {
		sc.WriteFrame(wstest.Frame{Fin: true, Opcode: wstest.OpText, Payload: []byte("first")})
		sc.WriteFrame(wstest.Frame{Opcode: wstest.OpText, Payload: []byte("frag")})
		sc.WriteFrame(wstest.Frame{Fin: true, Opcode: wstest.OpContinuation, Payload: []byte("mented")})
		sc.Close(1000, "done") // sends the close and reads our echo
	})
	defer srv.Close()
	c, err := websocket.Dial(context.Background(), srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	for {
		msg, err := c.Recv()
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(msg.Text())
	}
	// Output:
	// first
	// fragmented
	// websocket: closed by peer: 1000 normal closure: "done"
}

// RecvAppend receives into a buffer the caller reuses: once it has grown to
// the largest message, receiving allocates nothing.
func ExampleConn_RecvAppend() {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	c, err := websocket.Dial(context.Background(), srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	var buf []byte
	for _, s := range []string{"one", "two", "three"} {
		c.SendText(s)
		var op websocket.Opcode
		op, buf, err = c.RecvAppend(buf[:0])
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(op, string(buf))
	}
	// Output:
	// text one
	// text two
	// text three
}

// NextReader streams a message without holding it whole.
func ExampleConn_NextReader() {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	c, err := websocket.Dial(context.Background(), srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	c.SendText(strings.Repeat("a", 100000))
	op, r, err := c.NextReader()
	if err != nil {
		log.Fatal(err)
	}
	n, err := io.Copy(io.Discard, r)
	fmt.Println(op, n, err)
	// Output: text 100000 <nil>
}

// NextWriter streams a message as fragments; Close sends the last one.
func ExampleConn_NextWriter() {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	c, err := websocket.Dial(context.Background(), srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	w, err := c.NextWriter(websocket.OpText)
	if err != nil {
		log.Fatal(err)
	}
	for i := range 3 {
		fmt.Fprintf(w, "part %d;", i)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	msg, err := c.Recv()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(msg.Text())
	// Output: part 0;part 1;part 2;
}

// Close runs the closing handshake: it sends 1000, waits for the server's
// close frame (up to 3 s) and closes the socket.
func ExampleConn_Close() {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()
	c, err := websocket.Dial(context.Background(), srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}

	fmt.Println(c.Close(), c.Connected())
	fmt.Println(c.Close()) // later calls return nil too
	// Output:
	// <nil> false
	// <nil>
}
