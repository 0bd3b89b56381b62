package wstest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// An echo server on a loopback port.
func Example_echo() {
	srv := wstest.NewServer(wstest.Echo)
	defer srv.Close()

	conn, err := websocket.Dial(context.Background(), srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SendText("hello"); err != nil {
		log.Fatal(err)
	}
	msg, err := conn.Recv()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %q\n", msg.Opcode, msg.Data)
	// Output: text "hello"
}

// A scripted server sends a message, reads one and closes with 1001; the
// test then checks what the client sent.
func Example_close() {
	srv := wstest.NewServer(wstest.Script(
		wstest.Send(wstest.OpText, []byte("shutting down soon")),
		wstest.Read,
		wstest.Close(1001, "maintenance"),
	))
	defer srv.Close()

	conn, err := websocket.Dial(context.Background(), srv.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	msg, err := conn.Recv()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("got %q\n", msg.Data)
	if err := conn.SendText("bye"); err != nil {
		log.Fatal(err)
	}
	_, err = conn.Recv()
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		fmt.Println("closed:", uint16(ce.Code), ce.Reason)
	}

	// What the client sent: its handshake, its message and its answer to
	// the close, complete once the handler is done.
	c := srv.Conns()[0]
	<-c.Done()
	fmt.Println("path:", c.Request().URL.Path, "version:", c.Request().Header.Get("Sec-WebSocket-Version"))
	for _, f := range c.Received() {
		if f.Opcode == wstest.OpClose {
			code, reason := f.CloseStatus()
			fmt.Printf("client sent close %d %q, masked %v\n", code, reason, f.Masked)
			continue
		}
		fmt.Printf("client sent %s %q, masked %v\n", f.Opcode, f.Payload, f.Masked)
	}
	// Output:
	// got "shutting down soon"
	// closed: 1001 maintenance
	// path: / version: 13
	// client sent text "bye", masked true
	// client sent close 1001 "", masked true
}

// A server that refuses the handshake.
func Example_reject() {
	srv := wstest.NewServer(wstest.Reject(http.StatusUnauthorized,
		http.Header{"Www-Authenticate": {`Bearer realm="api"`}}, "token expired"))
	defer srv.Close()

	_, err := websocket.Dial(context.Background(), srv.URL, nil)
	var bse *websocket.BadStatusError
	if errors.As(err, &bse) {
		fmt.Println(bse.StatusCode, bse.Header.Get("Www-Authenticate"), string(bse.Body))
	}
	// Output: 401 Bearer realm="api" token expired
}

// A pipe server has no socket: the client reaches it through
// DialContext. Inside a testing/synctest bubble the same code runs on the
// bubble's clock, so timeouts take no real time:
//
//	synctest.Test(t, func(t *testing.T) {
//		srv := wstest.NewPipeServer(wstest.Stall) // never answers the handshake
//		defer srv.Close()
//		_, err := websocket.Dial(ctx, srv.URL, &websocket.DialOptions{
//			NetDialContext: srv.DialContext, Timeout: 5 * time.Second,
//		}) // a timeout, exactly 5 s later on the bubble's clock
//	})
func Example_pipe() {
	srv := wstest.NewPipeServer(wstest.Script(
		wstest.Send(wstest.OpText, []byte("hello from memory")),
		wstest.Close(1000, ""),
	))
	defer srv.Close()

	conn, err := websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{NetDialContext: srv.DialContext})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	for msg, err := range conn.Messages() {
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(msg.Text())
	}
	// Output:
	// hello from memory
	// websocket: closed by peer: 1000 normal closure
}

// A wss server; TLSConfig trusts its certificate.
func Example_tls() {
	srv := wstest.NewTLSServer(wstest.Echo)
	defer srv.Close()

	conn, err := websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{TLSConfig: srv.TLSConfig()})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	fmt.Println("secure:", conn.IsSSL())
	// Output: secure: true
}

// A handler of one's own: it picks a subprotocol from the client's offer,
// then sends a frame with RSV1 set, which no extension was agreed for.
func Example_handler() {
	srv := wstest.NewServer(func(c *wstest.Conn) {
		c.Accept(http.Header{"Sec-WebSocket-Protocol": {"v2.chat"}})
		c.WriteFrame(wstest.Frame{Fin: true, Rsv1: true, Opcode: wstest.OpText, Payload: []byte("?")})
		c.ReadFrame() // the client's close
	})
	defer srv.Close()

	conn, err := websocket.Dial(context.Background(), srv.URL,
		&websocket.DialOptions{Subprotocols: []string{"v1.chat", "v2.chat"}})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	fmt.Println("subprotocol:", conn.Subprotocol())
	_, err = conn.Recv()
	var pe *websocket.ProtocolError
	fmt.Println("protocol error:", errors.As(err, &pe))
	// Output:
	// subprotocol: v2.chat
	// protocol error: true
}
