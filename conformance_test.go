package websocket_test

// The server's side of the Autobahn|Testsuite client cases 1–10 (framing,
// ping/pong, reserved bits, opcodes, fragmentation, UTF-8, close handling,
// limits and auto-fragmentation), played against our Conn running an echo
// loop, as Autobahn's test client does. Each case is judged the way the
// Autobahn report judges it: the echo must be exact, and on a violation the
// client must fail the connection with the right close code (RFC 6455
// §7.1.7: 1002 protocol error, 1007 invalid payload) before dropping TCP.
// Sizes of the 9.* cases are reduced to keep the suite quick under -race.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

const (
	opCont  byte = 0x0
	opText  byte = 0x1
	opBin   byte = 0x2
	opClose byte = 0x8
	opPing  byte = 0x9
	opPong  byte = 0xA
)

// abTimeout bounds every wait of a case: a client that does not answer is
// a failure, never a hang.
const abTimeout = 5 * time.Second

// abEnd says how a case ended: the client either failed the connection
// with code, or the close handshake completed with code.
type abEnd struct {
	fail bool
	code websocket.StatusCode
}

type abCase struct {
	id  string
	run func(s *abServer) abEnd
}

// abServer is the scripted server of one case.
type abServer struct {
	t *testing.T
	c *wstest.Conn
}

// frame encodes an unmasked server frame.
func frame(fin bool, op byte, payload []byte) []byte {
	return wstest.AppendFrameRsv(nil, fin, 0, op, payload)
}

func tframe(fin bool, op byte, payload string) []byte { return frame(fin, op, []byte(payload)) }

// send writes the frames in one write. Write errors are ignored: a client
// that failed the connection early may have closed the socket, which the
// expectations then report precisely.
func (s *abServer) send(frames ...[]byte) { s.c.WriteRaw(bytes.Join(frames, nil)) }

// sendFrames writes each frame with its own write ("frame-wise chops").
func (s *abServer) sendFrames(frames ...[]byte) {
	for _, f := range frames {
		s.c.WriteRaw(f)
	}
}

// sendChopped writes the frames in pieces of n bytes ("octet-wise chops" for n = 1).
func (s *abServer) sendChopped(n int, frames ...[]byte) { s.c.WriteChopped(bytes.Join(frames, nil), n) }

// next reads the client's next frame; every client frame must be masked
// (RFC 6455 §5.1).
func (s *abServer) next() *wstest.Frame {
	s.t.Helper()
	f, err := s.c.ReadFrameWithin(abTimeout)
	if err != nil {
		s.t.Fatalf("reading the client's next frame: %v", err)
	}
	if !f.Masked {
		s.t.Fatalf("client frame %d is not masked", f.Opcode)
	}
	if f.Rsv != 0 {
		s.t.Fatalf("client frame has RSV bits %03b", f.Rsv)
	}
	return f
}

// expectMsg reads one message (its fragments merged) and compares it.
func (s *abServer) expectMsg(op byte, data []byte) {
	s.t.Helper()
	f := s.next()
	if f.Opcode != op {
		s.t.Fatalf("client sent opcode %d (%q), want %d", f.Opcode, preview(f.Payload), op)
	}
	got := f.Payload
	for !f.Fin {
		f = s.next()
		if f.Opcode != opCont {
			s.t.Fatalf("client sent opcode %d inside a fragmented message", f.Opcode)
		}
		got = append(got, f.Payload...)
	}
	if !bytes.Equal(got, data) {
		s.t.Fatalf("echo of %d bytes differs: got %d bytes %q, want %q", len(data), len(got), preview(got), preview(data))
	}
}

func (s *abServer) expectText(text string) { s.expectMsg(opText, []byte(text)) }

func (s *abServer) expectPong(payload []byte) {
	s.t.Helper()
	f := s.next()
	if f.Opcode != opPong || !f.Fin || !bytes.Equal(f.Payload, payload) {
		s.t.Fatalf("got opcode %d fin %t payload %q, want a pong with %q", f.Opcode, f.Fin, preview(f.Payload), payload)
	}
}

// expectClose reads the client's close frame: code < 0 means an empty
// payload. Nothing may follow it but the end of the TCP stream.
func (s *abServer) expectClose(code int) {
	s.t.Helper()
	f := s.next()
	if f.Opcode != opClose {
		s.t.Fatalf("got opcode %d (%q), want a close frame with code %d", f.Opcode, preview(f.Payload), code)
	}
	switch {
	case code < 0 && len(f.Payload) != 0:
		s.t.Fatalf("close payload %x, want empty", f.Payload)
	case code >= 0 && (len(f.Payload) < 2 || int(binary.BigEndian.Uint16(f.Payload)) != code):
		s.t.Fatalf("close payload %x, want code %d", f.Payload, code)
	case !utf8.Valid(f.Payload[min(2, len(f.Payload)):]):
		s.t.Fatalf("close reason %x is not UTF-8", f.Payload[2:])
	}
	s.expectEOF()
}

// expectEOF checks that the client closed TCP without sending anything more.
func (s *abServer) expectEOF() {
	s.t.Helper()
	if f, err := s.c.ReadFrameWithin(abTimeout); err == nil {
		s.t.Fatalf("client sent opcode %d (%q) after its close frame", f.Opcode, preview(f.Payload))
	} else if isTimeout(err) {
		s.t.Fatalf("client did not close TCP after the close handshake: %v", err)
	}
}

// closeNormal runs the closing handshake from the server with 1000.
func (s *abServer) closeNormal() abEnd {
	s.t.Helper()
	return s.closeWith(1000, "")
}

func (s *abServer) closeWith(code int, reason string) abEnd {
	s.t.Helper()
	s.send(frame(true, opClose, wstest.ClosePayload(uint16(code), reason)))
	s.expectClose(code)
	return abEnd{code: websocket.StatusCode(code)}
}

// expectFail checks that the client failed the connection with code.
func (s *abServer) expectFail(code int) abEnd {
	s.t.Helper()
	s.expectClose(code)
	return abEnd{fail: true, code: websocket.StatusCode(code)}
}

func preview(b []byte) []byte { return b[:min(len(b), 40)] }

// echoClient is Autobahn's test client: every message is sent back as it came.
func echoClient(c *websocket.Conn) error {
	for {
		msg, err := c.Recv()
		if err != nil {
			return err
		}
		if err := c.Send(msg.Data, msg.Opcode); err != nil {
			return err
		}
	}
}

// abTarget is where a case's client dials: the URL and options, and next,
// which returns the server's side of the connection and a function that
// ends it.
type abTarget struct {
	url  string
	opts *websocket.DialOptions
	next func() (*wstest.Conn, func(), error)
}

// pipeTarget serves one case over an in-memory pipe with an HTTP/1.1
// handshake.
func pipeTarget(t *testing.T) abTarget {
	p := wstest.NewPipe(nil)
	t.Cleanup(p.Close)
	return abTarget{
		url:  p.URL,
		opts: &websocket.DialOptions{Timeout: abTimeout},
		next: func() (*wstest.Conn, func(), error) {
			sc, err := p.Next(abTimeout)
			if err != nil {
				return nil, nil, err
			}
			return sc, func() { sc.NC.Close() }, nil
		},
	}
}

func runAutobahnCase(t *testing.T, tc abCase, tg abTarget) {
	conn, err := websocket.Dial(context.Background(), tg.url, tg.opts)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	echoErr := make(chan error, 1)
	go func() { echoErr <- echoClient(conn) }()
	sc, release, err := tg.next()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	end := tc.run(&abServer{t: t, c: sc})

	var cerr error
	select {
	case cerr = <-echoErr:
	case <-time.After(abTimeout):
		t.Fatal("the client's receive loop did not end after the connection closed")
	}
	var (
		ce *websocket.CloseError
		pe *websocket.ProtocolError
		ye *websocket.PayloadError
	)
	switch {
	case !end.fail:
		if !errors.As(cerr, &ce) || ce.Code != end.code {
			t.Errorf("client Recv error = %v, want *CloseError with code %d", cerr, end.code)
		}
	case end.code == websocket.StatusProtocolError:
		if !errors.As(cerr, &pe) {
			t.Errorf("client Recv error = %v (%T), want *ProtocolError", cerr, cerr)
		}
	case end.code == websocket.StatusInvalidPayload:
		if !errors.As(cerr, &ye) {
			t.Errorf("client Recv error = %v (%T), want *PayloadError", cerr, cerr)
		}
	}
	if conn.Connected() {
		t.Error("Connected() is true after the connection ended")
	}
	if err := conn.Close(); err != nil {
		t.Errorf("Close after the end: %v, want nil", err)
	}
}

func TestAutobahnClientCases(t *testing.T) {
	for _, tc := range autobahnCases() {
		t.Run(tc.id, func(t *testing.T) { runAutobahnCase(t, tc, pipeTarget(t)) })
	}
}

// TestAutobahnClientCasesHTTP2 plays the same cases with the WebSocket on
// an HTTP/2 stream (RFC 8441), all of them streams of one connection to
// net/http's HTTP/2 server: the client must behave the same, and end its
// stream as it would close TCP (END_STREAM after a close handshake, a
// reset when it fails the connection). The server's frames arrive in DATA
// frames of each write, so the chopped cases split frames across them.
func TestAutobahnClientCasesHTTP2(t *testing.T) {
	type serverSide struct {
		c   *wstest.Conn
		end chan struct{}
	}
	conns := make(chan serverSide, 1)
	s := newH2Server(t, func(c *wstest.Conn) {
		end := make(chan struct{})
		conns <- serverSide{c, end}
		<-end // the case is over: the handler ends the stream
	}, nil)
	opts := s.opts(t, websocket.HTTP2Require, &websocket.HTTP2Transport{})
	opts.Timeout = abTimeout
	tg := abTarget{
		url:  s.URL + "/autobahn",
		opts: opts,
		next: func() (*wstest.Conn, func(), error) {
			select {
			case sc := <-conns:
				return sc.c, func() { close(sc.end) }, nil
			case <-time.After(abTimeout):
				return nil, nil, errors.New("no WebSocket reached the server")
			}
		},
	}
	for _, tc := range autobahnCases() {
		t.Run(tc.id, func(t *testing.T) { runAutobahnCase(t, tc, tg) })
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("%d TCP connections, want 1: every case on a stream of the same one", n)
	}
}

// echoCase sends frames (with write) and expects msgs echoed, then closes normally.
func echoCase(id string, op byte, data []byte, write func(s *abServer, f []byte)) abCase {
	return abCase{id, func(s *abServer) abEnd {
		write(s, frame(true, op, data))
		s.expectMsg(op, data)
		return s.closeNormal()
	}}
}

func oneWrite(s *abServer, f []byte) { s.send(f) }

func choppedBy(n int) func(*abServer, []byte) {
	return func(s *abServer, f []byte) { s.sendChopped(n, f) }
}

func autobahnCases() []abCase {
	var cs []abCase
	add := func(id string, run func(s *abServer) abEnd) { cs = append(cs, abCase{id, run}) }

	// 1.* Framing: text and binary messages around the 7/16/64-bit length
	// boundaries (RFC 6455 §5.2).
	for i, n := range []int{0, 125, 126, 127, 128, 65535, 65536} {
		cs = append(cs, echoCase(fmt.Sprintf("1.1.%d", i+1), opText, []byte(strings.Repeat("*", n)), oneWrite))
		cs = append(cs, echoCase(fmt.Sprintf("1.2.%d", i+1), opBin, bytes.Repeat([]byte{0xfe}, n), oneWrite))
	}
	cs = append(cs, echoCase("1.1.8", opText, []byte(strings.Repeat("*", 65536)), choppedBy(997)))
	cs = append(cs, echoCase("1.2.8", opBin, bytes.Repeat([]byte{0xfe}, 65536), choppedBy(997)))

	// 2.* Pings and pongs (RFC 6455 §5.5.2, §5.5.3).
	pingEcho := func(id string, payload []byte, chop int) {
		add(id, func(s *abServer) abEnd {
			s.sendChopped(chop, frame(true, opPing, payload))
			s.expectPong(payload)
			return s.closeNormal()
		})
	}
	pingEcho("2.1", nil, 1<<20)
	pingEcho("2.2", []byte("Hello, world!"), 1<<20)
	pingEcho("2.3", []byte{0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff}, 1<<20)
	pingEcho("2.4", bytes.Repeat([]byte{0xfe}, 125), 1<<20)
	add("2.5", func(s *abServer) abEnd {
		s.send(frame(true, opPing, bytes.Repeat([]byte{0xfe}, 126)))
		return s.expectFail(1002)
	})
	pingEcho("2.6", bytes.Repeat([]byte{0xfe}, 125), 1)
	add("2.7", func(s *abServer) abEnd {
		s.send(frame(true, opPong, nil))
		return s.closeNormal() // an unsolicited pong is ignored
	})
	add("2.8", func(s *abServer) abEnd {
		s.send(tframe(true, opPong, "unsolicited pong payload"))
		return s.closeNormal()
	})
	add("2.9", func(s *abServer) abEnd {
		s.send(tframe(true, opPong, "unsolicited pong payload"), tframe(true, opPing, "ping payload"))
		s.expectPong([]byte("ping payload"))
		return s.closeNormal()
	})
	tenPings := func(id string, chop int) {
		add(id, func(s *abServer) abEnd {
			for i := range 10 {
				s.sendChopped(chop, tframe(true, opPing, fmt.Sprintf("payload-%d", i)))
			}
			for i := range 10 {
				s.expectPong([]byte(fmt.Sprintf("payload-%d", i)))
			}
			return s.closeNormal()
		})
	}
	tenPings("2.10", 1<<20)
	tenPings("2.11", 1)

	// 3.* Reserved bits without a negotiated extension (RFC 6455 §5.2).
	rsv := func(rsv, op byte, p string) []byte { return wstest.AppendFrameRsv(nil, true, rsv, op, []byte(p)) }
	hello := "Hello, world!"
	add("3.1", func(s *abServer) abEnd {
		s.send(rsv(1, opText, hello))
		return s.expectFail(1002)
	})
	rsvAfterText := func(id string, bits byte, write func(s *abServer, frames ...[]byte)) {
		add(id, func(s *abServer) abEnd {
			write(s, tframe(true, opText, hello), rsv(bits, opText, hello), tframe(true, opPing, ""))
			s.expectText(hello)
			return s.expectFail(1002)
		})
	}
	rsvAfterText("3.2", 2, (*abServer).send)
	rsvAfterText("3.3", 3, (*abServer).sendFrames)
	rsvAfterText("3.4", 4, func(s *abServer, f ...[]byte) { s.sendChopped(1, f...) })
	binPayload := make([]byte, 256)
	for i := range binPayload {
		binPayload[i] = byte(i)
	}
	add("3.5", func(s *abServer) abEnd {
		s.send(wstest.AppendFrameRsv(nil, true, 5, opBin, binPayload))
		return s.expectFail(1002)
	})
	add("3.6", func(s *abServer) abEnd {
		s.send(rsv(6, opPing, ""))
		return s.expectFail(1002)
	})
	add("3.7", func(s *abServer) abEnd {
		s.send(wstest.AppendFrameRsv(nil, true, 7, opClose, wstest.ClosePayload(1000, "")))
		return s.expectFail(1002)
	})

	// 4.* Reserved opcodes (RFC 6455 §5.2: 3–7 data, 11–15 control).
	for gi, base := range []byte{3, 11} {
		group := fmt.Sprintf("4.%d.", gi+1)
		add(group+"1", func(s *abServer) abEnd {
			s.send(frame(true, base, nil))
			return s.expectFail(1002)
		})
		add(group+"2", func(s *abServer) abEnd {
			s.send(tframe(true, base+1, "reserved opcode payload"))
			return s.expectFail(1002)
		})
		afterText := func(id string, op byte, payload string, write func(s *abServer, frames ...[]byte)) {
			add(id, func(s *abServer) abEnd {
				write(s, tframe(true, opText, hello), tframe(true, op, payload), tframe(true, opPing, ""))
				s.expectText(hello)
				return s.expectFail(1002)
			})
		}
		afterText(group+"3", base+2, "", (*abServer).send)
		afterText(group+"4", base+3, "reserved opcode payload", (*abServer).send)
		afterText(group+"5", base+4, "reserved opcode payload", func(s *abServer, f ...[]byte) { s.sendChopped(1, f...) })
	}

	// 5.* Fragmentation (RFC 6455 §5.4).
	for i, op := range []byte{opPing, opPong} {
		add(fmt.Sprintf("5.%d", i+1), func(s *abServer) abEnd {
			s.send(tframe(false, op, "fragment1"), tframe(true, opCont, "fragment2"))
			return s.expectFail(1002)
		})
	}
	writers := []func(s *abServer, frames ...[]byte){
		(*abServer).send,
		(*abServer).sendFrames,
		func(s *abServer, f ...[]byte) { s.sendChopped(1, f...) },
	}
	for i, w := range writers {
		add(fmt.Sprintf("5.%d", 3+i), func(s *abServer) abEnd {
			w(s, tframe(false, opText, "fragment1"), tframe(true, opCont, "fragment2"))
			s.expectText("fragment1fragment2")
			return s.closeNormal()
		})
		add(fmt.Sprintf("5.%d", 6+i), func(s *abServer) abEnd {
			w(s, tframe(false, opText, "fragment1"), tframe(true, opPing, "ping payload"), tframe(true, opCont, "fragment2"))
			s.expectPong([]byte("ping payload"))
			s.expectText("fragment1fragment2")
			return s.closeNormal()
		})
		add(fmt.Sprintf("5.%d", 9+i), func(s *abServer) abEnd {
			w(s, tframe(true, opCont, "non-continuation payload"), tframe(true, opText, hello))
			return s.expectFail(1002)
		})
		add(fmt.Sprintf("5.%d", 12+i), func(s *abServer) abEnd {
			w(s, tframe(false, opCont, "non-continuation payload"), tframe(true, opText, hello))
			return s.expectFail(1002)
		})
	}
	add("5.15", func(s *abServer) abEnd {
		s.send(tframe(false, opText, "fragment1"), tframe(true, opCont, "fragment2"),
			tframe(false, opCont, "fragment3"), tframe(true, opText, "fragment4"))
		s.expectText("fragment1fragment2")
		return s.expectFail(1002)
	})
	for i, fin := range []bool{false, true} {
		add(fmt.Sprintf("5.%d", 16+i), func(s *abServer) abEnd {
			var frames [][]byte
			for range 2 {
				frames = append(frames, tframe(fin, opCont, "fragment1"), tframe(false, opText, "fragment2"), tframe(true, opCont, "fragment3"))
			}
			s.send(frames...)
			return s.expectFail(1002)
		})
	}
	add("5.18", func(s *abServer) abEnd {
		s.send(tframe(false, opText, "fragment1"), tframe(true, opText, "fragment2"))
		return s.expectFail(1002)
	})
	for i, w := range writers[:2] {
		// The pong for a ping between fragments must come at once, not
		// after the message completes.
		add(fmt.Sprintf("5.%d", 19+i), func(s *abServer) abEnd {
			w(s, tframe(false, opText, "fragment1"), tframe(false, opCont, "fragment2"), tframe(true, opPing, "pongme 1!"))
			s.expectPong([]byte("pongme 1!"))
			w(s, tframe(false, opCont, "fragment3"), tframe(false, opCont, "fragment4"), tframe(true, opPing, "pongme 2!"))
			s.expectPong([]byte("pongme 2!"))
			w(s, tframe(true, opCont, "fragment5"))
			s.expectText("fragment1fragment2fragment3fragment4fragment5")
			return s.closeNormal()
		})
	}

	// 6.* UTF-8 handling (RFC 6455 §8.1).
	cs = append(cs, utf8Cases()...)

	// 7.* Close handling (RFC 6455 §5.5.1, §7.4).
	add("7.1.1", func(s *abServer) abEnd {
		s.send(tframe(true, opText, "Hello World!"))
		s.expectText("Hello World!")
		return s.closeNormal()
	})
	closeThen := func(id string, after []byte) {
		add(id, func(s *abServer) abEnd {
			s.send(frame(true, opClose, wstest.ClosePayload(1000, "")), after)
			s.expectClose(1000) // and nothing for what came after it
			return abEnd{code: 1000}
		})
	}
	closeThen("7.1.2", frame(true, opClose, wstest.ClosePayload(1000, "")))
	closeThen("7.1.3", tframe(true, opPing, "ping payload"))
	closeThen("7.1.4", tframe(true, opText, "Hello World!"))
	add("7.1.5", func(s *abServer) abEnd {
		s.send(tframe(false, opText, "fragment1"), frame(true, opClose, wstest.ClosePayload(1000, "")),
			tframe(true, opCont, "fragment2"))
		s.expectClose(1000)
		return abEnd{code: 1000}
	})
	add("7.1.6", func(s *abServer) abEnd {
		big := []byte(strings.Repeat("BAsd7&jh23", 256<<10/10))
		s.send(frame(true, opText, big), frame(true, opClose, wstest.ClosePayload(1000, "")), tframe(true, opPing, "ping payload"))
		// Autobahn leaves it to the implementation whether the message
		// is echoed before the close; ours reads in order, so it is.
		s.expectMsg(opText, big)
		s.expectClose(1000)
		return abEnd{code: 1000}
	})
	add("7.3.1", func(s *abServer) abEnd {
		s.send(frame(true, opClose, nil))
		s.expectClose(-1) // an empty close is answered with an empty close
		return abEnd{code: websocket.StatusNoStatusReceived}
	})
	add("7.3.2", func(s *abServer) abEnd {
		s.send(frame(true, opClose, []byte{0x03}))
		return s.expectFail(1002)
	})
	add("7.3.3", func(s *abServer) abEnd { return s.closeWith(1000, "") })
	add("7.3.4", func(s *abServer) abEnd { return s.closeWith(1000, "Hello World!") })
	add("7.3.5", func(s *abServer) abEnd { return s.closeWith(1000, strings.Repeat("*", 123)) })
	add("7.3.6", func(s *abServer) abEnd {
		s.send(frame(true, opClose, wstest.ClosePayload(1000, strings.Repeat("*", 124))))
		return s.expectFail(1002)
	})
	add("7.5.1", func(s *abServer) abEnd {
		bad := "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"
		s.send(frame(true, opClose, wstest.ClosePayload(1000, bad)))
		return s.expectFail(1002) // a close reason that is not UTF-8 is a protocol error
	})
	// 7.7.*: valid codes are echoed. 1012–1014 are valid here too
	// (IANA registered them after Autobahn's list was written).
	for i, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999, 1012, 1013, 1014} {
		add(fmt.Sprintf("7.7.%d", i+1), func(s *abServer) abEnd { return s.closeWith(code, "") })
	}
	// 7.9.* and 7.13.*: invalid codes fail the connection.
	badCodes := []int{0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 1015}
	for i, code := range badCodes {
		add(fmt.Sprintf("7.9.%d", i+1), func(s *abServer) abEnd {
			s.send(frame(true, opClose, wstest.ClosePayload(uint16(code), "")))
			return s.expectFail(1002)
		})
	}
	for i, code := range []int{5000, 65535} {
		add(fmt.Sprintf("7.13.%d", i+1), func(s *abServer) abEnd {
			s.send(frame(true, opClose, wstest.ClosePayload(uint16(code), "")))
			return s.expectFail(1002)
		})
	}

	// 9.* Limits and performance, sizes divided by 16.
	rng := rand.New(rand.NewPCG(1, 2))
	text := func(n int) []byte { return []byte(strings.Repeat("*", n)) }
	bin := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for i, n := range []int{4 << 10, 16 << 10, 64 << 10, 256 << 10, 512 << 10, 1 << 20} {
		cs = append(cs, echoCase(fmt.Sprintf("9.1.%d", i+1), opText, text(n), oneWrite))
		cs = append(cs, echoCase(fmt.Sprintf("9.2.%d", i+1), opBin, bin(n), oneWrite))
	}
	for i, frag := range []int{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20} {
		for gi, op := range []byte{opText, opBin} {
			msg := text(256 << 10)
			if op == opBin {
				msg = bin(256 << 10)
			}
			add(fmt.Sprintf("9.%d.%d", 3+gi, i+1), func(s *abServer) abEnd {
				s.send(fragments(op, msg, frag)...)
				s.expectMsg(op, msg)
				return s.closeNormal()
			})
		}
	}
	for i, chop := range []int{64, 128, 256, 512, 1024, 2048} {
		cs = append(cs, echoCase(fmt.Sprintf("9.5.%d", i+1), opText, text(64<<10), choppedBy(chop)))
		cs = append(cs, echoCase(fmt.Sprintf("9.6.%d", i+1), opBin, bin(64<<10), choppedBy(chop)))
	}
	for i, n := range []int{0, 16, 64, 256, 1024, 4096} {
		for gi, op := range []byte{opText, opBin} {
			msg := text(n)
			if op == opBin {
				msg = bin(n)
			}
			add(fmt.Sprintf("9.%d.%d", 7+gi, i+1), func(s *abServer) abEnd {
				for range 100 {
					s.send(frame(true, op, msg))
					s.expectMsg(op, msg)
				}
				return s.closeNormal()
			})
		}
	}

	// 10.* Auto-fragmentation: a 64 KiB message in 1300-byte frames.
	add("10.1.1", func(s *abServer) abEnd {
		msg := text(65536)
		s.send(fragments(opText, msg, 1300)...)
		s.expectMsg(opText, msg)
		return s.closeNormal()
	})
	return cs
}

// fragments splits msg into frames of at most size bytes.
func fragments(op byte, msg []byte, size int) [][]byte {
	var frames [][]byte
	for first := true; first || len(msg) > 0; first = false {
		k := min(size, len(msg))
		fop := opCont
		if first {
			fop = op
		}
		frames = append(frames, frame(k == len(msg), fop, msg[:k]))
		msg = msg[k:]
	}
	return frames
}

// utf8Cases are Autobahn's 6.* cases: 6.1–6.4 by hand, 6.5–6.23 generated
// from the same sequence groups (Markus Kuhn's UTF-8 decoder test) in the
// same order, so the case ids match the Autobahn report's.
func utf8Cases() []abCase {
	var cs []abCase
	add := func(id string, run func(s *abServer) abEnd) { cs = append(cs, abCase{id, run}) }
	kosme := "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
	add("6.1.1", func(s *abServer) abEnd {
		s.send(frame(true, opText, nil))
		s.expectText("")
		return s.closeNormal()
	})
	add("6.1.2", func(s *abServer) abEnd {
		s.send(tframe(false, opText, ""), tframe(false, opCont, ""), tframe(true, opCont, ""))
		s.expectText("")
		return s.closeNormal()
	})
	add("6.1.3", func(s *abServer) abEnd {
		s.send(tframe(false, opText, ""), tframe(false, opCont, "middle frame payload"), tframe(true, opCont, ""))
		s.expectText("middle frame payload")
		return s.closeNormal()
	})
	valid := "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!"
	add("6.2.1", func(s *abServer) abEnd {
		s.send(tframe(true, opText, valid))
		s.expectText(valid)
		return s.closeNormal()
	})
	add("6.2.2", func(s *abServer) abEnd {
		// Split on a code point boundary.
		s.send(tframe(false, opText, valid[:9]), tframe(true, opCont, valid[9:]))
		s.expectText(valid)
		return s.closeNormal()
	})
	for i, msg := range []string{valid, kosme} {
		// One-byte fragments end inside code points.
		add(fmt.Sprintf("6.2.%d", 3+i), func(s *abServer) abEnd {
			s.send(fragments(opText, []byte(msg), 1)...)
			s.expectText(msg)
			return s.closeNormal()
		})
	}
	invalid := kosme + "\xed\xa0\x80" + "edited"
	add("6.3.1", func(s *abServer) abEnd {
		s.send(tframe(true, opText, invalid))
		return s.expectFail(1007)
	})
	add("6.3.2", func(s *abServer) abEnd {
		s.send(fragments(opText, []byte(invalid), 1)...)
		return s.expectFail(1007)
	})
	// 6.4.*: fail fast. The connection must be failed as soon as the bytes
	// that make the text invalid arrive, before the rest is sent.
	parts := [][3]string{
		{kosme, "\xf4\x90\x80\x80", "edited"},
		{kosme + "\xf4", "\x90", "\x80\x80edited"},
	}
	for i, p := range parts {
		add(fmt.Sprintf("6.4.%d", 1+i), func(s *abServer) abEnd {
			s.send(tframe(false, opText, p[0]))
			s.send(tframe(false, opCont, p[1]))
			end := s.expectFail(1007)
			s.send(tframe(true, opCont, p[2]))
			return end
		})
		add(fmt.Sprintf("6.4.%d", 3+i), func(s *abServer) abEnd {
			// One frame whose payload arrives in three TCP chops.
			f := tframe(true, opText, p[0]+p[1]+p[2])
			cut1 := len(f) - len(p[1]) - len(p[2])
			cut2 := len(f) - len(p[2])
			s.send(f[:cut1])
			s.send(f[cut1:cut2])
			end := s.expectFail(1007)
			s.send(f[cut2:])
			return end
		})
	}
	for gi, group := range utf8Groups(kosme) {
		for j, seq := range group {
			add(fmt.Sprintf("6.%d.%d", 5+gi, j+1), func(s *abServer) abEnd {
				s.send(tframe(true, opText, seq))
				if !utf8.ValidString(seq) {
					return s.expectFail(1007)
				}
				s.expectText(seq)
				return s.closeNormal()
			})
		}
	}
	return cs
}

// utf8Groups returns Autobahn's createUtf8TestSequences groups (6.5–6.23).
// Whether each sequence is valid is Go's utf8.ValidString, which follows
// RFC 3629 as Autobahn's validator does.
func utf8Groups(kosme string) [][]string {
	var prefixes []string
	for i := 1; i <= len(kosme); i++ {
		prefixes = append(prefixes, kosme[:i])
	}
	var unexpected []byte
	for b := 0x80; b < 0xbf; b++ {
		unexpected = append(unexpected, byte(b))
	}
	var lonely []string
	for _, r := range [][2]int{{0xc0, 0xdf}, {0xe0, 0xef}, {0xf0, 0xf7}, {0xf8, 0xfb}, {0xfc, 0xfd}} {
		var s []byte
		for b := r[0]; b < r[1]; b++ {
			s = append(s, byte(b), 0x20)
		}
		lonely = append(lonely, string(s))
	}
	missing := []string{"\xc0", "\xe0\x80", "\xf0\x80\x80", "\xf8\x80\x80\x80", "\xfc\x80\x80\x80\x80",
		"\xdf", "\xef\xbf", "\xf7\xbf\xbf", "\xfb\xbf\xbf\xbf", "\xfd\xbf\xbf\xbf\xbf"}
	nonchars := []string{"\xef\xbf\xbe", "\xef\xbf\xbf"}
	for _, z1 := range []byte{0xf0, 0xf1, 0xf2, 0xf3, 0xf4} {
		for _, z2 := range []byte{0x8f, 0x9f, 0xaf, 0xbf} {
			if z1 == 0xf4 && z2 != 0x8f {
				continue // above U+10FFFF
			}
			for _, z3 := range []byte{0xbe, 0xbf} {
				zz := string([]byte{z1, z2, 0xbf, z3})
				if zz != "\xf0\x8f\xbf\xbe" && zz != "\xf0\x8f\xbf\xbf" { // overlong
					nonchars = append(nonchars, zz)
				}
			}
		}
	}
	return [][]string{
		{"hello\x24world", "hello\xc2\xa2world", "hello\xe2\x82\xacworld", "hello\xf0\xa4\xad\xa2world", kosme},
		prefixes,
		{"\x00", "\xc2\x80", "\xe0\xa0\x80", "\xf0\x90\x80\x80"},
		{"\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80"},
		{"\x7f", "\xdf\xbf", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf"},
		{"\xf7\xbf\xbf\xbf", "\xfb\xbf\xbf\xbf\xbf", "\xfd\xbf\xbf\xbf\xbf\xbf"},
		{"\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbd", "\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80"},
		{"\x80", "\xbf", "\x80\xbf", "\x80\xbf\x80", "\x80\xbf\x80\xbf", "\x80\xbf\x80\xbf\x80", "\x80\xbf\x80\xbf\x80\xbf", string(unexpected)},
		lonely,
		missing,
		{strings.Join(missing, "")},
		{"\xfe", "\xff", "\xfe\xfe\xff\xff"},
		{"\xc0\xaf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xf8\x80\x80\x80\xaf", "\xfc\x80\x80\x80\x80\xaf"},
		{"\xc1\xbf", "\xe0\x9f\xbf", "\xf0\x8f\xbf\xbf", "\xf8\x87\xbf\xbf\xbf", "\xfc\x83\xbf\xbf\xbf\xbf"},
		{"\xc0\x80", "\xe0\x80\x80", "\xf0\x80\x80\x80", "\xf8\x80\x80\x80\x80", "\xfc\x80\x80\x80\x80\x80"},
		{"\xed\xa0\x80", "\xed\xad\xbf", "\xed\xae\x80", "\xed\xaf\xbf", "\xed\xb0\x80", "\xed\xbe\x80", "\xed\xbf\xbf"},
		{"\xed\xa0\x80\xed\xb0\x80", "\xed\xa0\x80\xed\xbf\xbf", "\xed\xad\xbf\xed\xb0\x80", "\xed\xad\xbf\xed\xbf\xbf",
			"\xed\xae\x80\xed\xb0\x80", "\xed\xae\x80\xed\xbf\xbf", "\xed\xaf\xbf\xed\xb0\x80", "\xed\xaf\xbf\xed\xbf\xbf"},
		nonchars,
		{"\xef\xbf\xb9", "\xef\xbf\xba", "\xef\xbf\xbb", "\xef\xbf\xbc", "\xef\xbf\xbd", "\xef\xbf\xbe", "\xef\xbf\xbf"},
	}
}
