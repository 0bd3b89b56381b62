package websocket

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wsclient/websocket/internal/wstest"
)

// FuzzConnAPIs reads the same server bytes, arriving in reads of the same
// size, through each of the Conn's receiving methods, and requires them to
// agree: the same messages in the same order, and the same end. Each
// method takes its own road through the reader (the buffered fast path,
// the general one, a stream, fragments), so a frame or a message cut
// anywhere, or a server that lies, must not make one of them deliver
// something another refuses. The methods that return control frames must
// return the same ones. And Recv must get what the RFCs say it gets
// (modelRecv, worked out without the library's code), so that a mistake
// the methods share does not pass either.
//
// flags: bit 0 negotiates permessage-deflate, bit 1 with the server's
// context kept from message to message, bit 2 skips UTF-8 validation, bit 3
// sets a read limit of 17 bytes (else 4 KiB), bit 4 none (without
// compression).
func FuzzConnAPIs(f *testing.F) {
	deflated := func(p string) []byte { return wstest.Deflate([]byte(p), flate.BestSpeed) }
	frame := func(fin bool, rsv1 bool, op Opcode, p []byte) []byte {
		b := (&header{fin: fin, rsv1: rsv1, opcode: op, length: int64(len(p))}).appendTo(nil)
		return append(b, p...)
	}
	closing := frame(true, false, OpClose, []byte{0x03, 0xe8, 'o', 'k'})
	seed := func(flags, chunk byte, frames ...[]byte) { f.Add(flags, chunk, slices.Concat(frames...)) }
	seed(0, 0, frame(true, false, OpText, []byte("hello")), frame(true, false, OpBinary, []byte{1, 2}), closing)
	seed(0, 1, frame(false, false, OpText, []byte("he")), frame(true, false, OpPing, []byte("p")),
		frame(false, false, OpContinuation, nil), frame(true, false, OpContinuation, []byte("llo")), closing)
	seed(0, 3, frame(false, false, OpText, []byte{0xce}), frame(true, false, OpContinuation, []byte{0xba}), closing)
	seed(0, 0, frame(true, false, OpText, []byte{'a', 0xff}), closing)
	seed(4, 2, frame(true, false, OpText, []byte{'a', 0xff}), closing)
	seed(0, 7, frame(true, false, OpBinary, make([]byte, fuzzAPILimit)), frame(true, false, OpBinary, make([]byte, fuzzAPILimit+1)))
	seed(0, 2, frame(false, false, OpBinary, make([]byte, fuzzAPILimit/2)), frame(true, false, OpContinuation, make([]byte, fuzzAPILimit/2+1)))
	seed(0, 0, frame(true, false, OpBinary, make([]byte, 300)), frame(true, false, OpPong, []byte("q"))) // 16-bit length, then the end
	seed(0, 1, []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0, 5, 'a', 'b', 'c', 'd', 'e'}, closing)             // a 64-bit length that fits in 7 bits
	seed(0, 0, []byte{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0})
	seed(0, 0, frame(true, false, OpClose, []byte{3}))
	seed(0, 0, frame(true, false, OpClose, []byte{0x03, 0xed}))
	seed(0, 0, frame(true, false, OpClose, nil), frame(true, false, OpText, []byte("after")))
	seed(1, 5, frame(true, true, OpText, deflated("compressed hello")), closing)
	seed(1, 2, frame(false, true, OpText, deflated("in fragments")[:4]), frame(true, false, OpPing, nil),
		frame(true, false, OpContinuation, deflated("in fragments")[4:]), closing)
	seed(1, 0, frame(true, true, OpText, nil), closing)
	seed(1, 0, frame(true, true, OpBinary, deflated(string(make([]byte, 3*fuzzAPILimit)))), closing)
	seed(1, 0, frame(true, true, OpText, deflated("bad \xff utf-8")), closing)
	seed(5, 0, frame(true, true, OpText, deflated("bad \xff utf-8")), closing)
	seed(0, 0, frame(true, true, OpText, deflated("not negotiated")))
	seed(3, 1, frame(true, true, OpText, deflated("kept")), frame(true, true, OpText, deflated("kept")), closing)
	seed(8, 0, frame(true, false, OpText, make([]byte, 17)), frame(false, false, OpBinary, make([]byte, 9)), frame(true, false, OpContinuation, make([]byte, 9)))
	seed(9, 3, frame(true, true, OpText, deflated(string(make([]byte, 17)))), frame(true, true, OpText, deflated(string(make([]byte, 18)))))
	seed(16, 0, []byte{0x82, 0x7f, 0, 0, 0, 1, 0, 0, 0, 0, 'x'}) // unlimited: 4 GiB declared, a byte sent

	type api struct {
		name     string
		fireCont bool
		read     func(c *Conn) (msgs, controls []string)
	}
	apis := []api{
		{"Recv", false, func(c *Conn) ([]string, []string) {
			return collect(func() (Opcode, []byte, error) { m, err := c.Recv(); return m.Opcode, m.Data, err }), nil
		}},
		{"RecvAppend", false, func(c *Conn) ([]string, []string) {
			buf := make([]byte, 0, 7)
			return collect(func() (Opcode, []byte, error) {
				op, b, err := c.RecvAppend(buf[:0])
				buf = b
				return op, b, err
			}), nil
		}},
		{"RecvData", false, func(c *Conn) ([]string, []string) {
			return collect(func() (Opcode, []byte, error) { return c.RecvData(false) }), nil
		}},
		{"NextReader", false, func(c *Conn) ([]string, []string) {
			var op Opcode
			var r io.Reader
			var b []byte
			return collect(func() (Opcode, []byte, error) {
				if r == nil {
					var err error
					if op, r, err = c.NextReader(); err != nil {
						r = nil
						return 0, nil, err
					}
					b = nil
				}
				buf := make([]byte, 5)
				for {
					n, err := r.Read(buf)
					b = append(b, buf[:n]...)
					switch {
					case err == io.EOF:
						r = nil
						return op, b, nil
					case err != nil:
						if !isTimeout(err) {
							r = nil
						}
						return 0, nil, err
					}
				}
			}), nil
		}},
		{"Messages", false, func(c *Conn) ([]string, []string) {
			var got []string
			for m, err := range c.Messages() {
				if err != nil {
					return append(got, "end "+errKind(err)), nil
				}
				got = append(got, fmt.Sprintf("message %v %q", m.Opcode, m.Data))
				if len(got) > 100 {
					break
				}
			}
			return got, nil
		}},
		{"RecvData(true)", false, func(c *Conn) ([]string, []string) {
			var ctl []string
			msgs := collect(func() (Opcode, []byte, error) {
				for {
					op, b, err := c.RecvData(true)
					if err != nil || !op.IsControl() {
						return op, b, err
					}
					ctl = append(ctl, fmt.Sprintf("%v %q", op, b))
				}
			})
			return msgs, ctl
		}},
		{"fragments", true, func(c *Conn) ([]string, []string) {
			var ctl []string
			var first Opcode // of the message whose fragments are in data
			var data []byte
			msgs := collect(func() (Opcode, []byte, error) {
				for {
					op, f, err := c.RecvDataFrame(true)
					switch {
					case err != nil:
						return 0, nil, err
					case op.IsControl():
						ctl = append(ctl, fmt.Sprintf("%v %q", op, f.Payload))
						continue
					case first == 0:
						first = op
					}
					data = append(data, f.Payload...)
					if f.Fin {
						op, msg := first, data
						first, data = 0, nil
						return op, msg, nil
					}
				}
			})
			return msgs, ctl
		}},
	}

	// Each, and again with a timeout after every read that brought data:
	// a call cut short continues where it stopped (collect retries).
	type run struct {
		api
		timeouts bool
	}
	var runs []run
	for _, a := range apis {
		runs = append(runs, run{a, false})
	}
	for _, a := range apis {
		if a.name != "Messages" { // it stops at the first error
			a.name += " cut by timeouts"
			runs = append(runs, run{a, true})
		}
	}

	f.Fuzz(func(t *testing.T, flags, chunk byte, wire []byte) {
		if len(wire) > 1<<16 {
			return
		}
		limit := int64(fuzzAPILimit)
		switch {
		case flags&8 != 0:
			limit = 17 // frames and messages of every size around it
		case flags&16 != 0 && flags&1 == 0:
			limit = -1 // unlimited (not with compression: a bomb would inflate to 64 MiB)
		}
		var want, wantCtl, wantSent []string
		for i, a := range runs {
			var r io.Reader = &chunkReader{data: wire, sizes: []int{max(1, int(chunk))}}
			if a.timeouts {
				r = &timeoutReader{r: r}
			}
			rc := &recordConn{r: r}
			c := newConn(rc, nil,
				&DialOptions{ReadLimit: limit, SkipUTF8Validation: flags&4 != 0, FireContFrame: a.fireCont})
			if flags&1 != 0 {
				offer := "permessage-deflate; server_no_context_takeover"
				if flags&2 != 0 {
					offer = "permessage-deflate"
				}
				ext, err := checkExtensions([]string{offer}, &CompressionOptions{})
				if err != nil {
					t.Fatal(err)
				}
				c.ext = ext
			}
			got, ctl := a.read(c)
			sent := rc.frames()
			c.Abort()
			switch {
			case i == 0:
				want, wantSent = got, sent
				if model := modelRecv(wire, limit, flags&1 != 0, flags&2 != 0, flags&4 != 0); !slices.Equal(got, model) {
					t.Fatalf("flags %b, reads of %d, wire %x:\n Recv:          %q\n the RFCs say: %q", flags, chunk, wire, got, model)
				}
			case !slices.Equal(got, want):
				t.Fatalf("flags %b, reads of %d, wire %x:\n %s: %q\n %s: %q", flags, chunk, wire, runs[0].name, want, a.name, got)
			case !abrupt(want) && !slices.Equal(sent, wantSent):
				t.Fatalf("flags %b, reads of %d, wire %x: the client sent\n %s: %q\n %s: %q", flags, chunk, wire, runs[0].name, wantSent, a.name, sent)
			}
			if ctl == nil {
				continue
			}
			if wantCtl == nil {
				wantCtl = ctl
			} else if !slices.Equal(ctl, wantCtl) {
				t.Fatalf("flags %b, reads of %d, wire %x: control frames\n RecvData(true): %q\n %s: %q", flags, chunk, wire, wantCtl, a.name, ctl)
			}
		}
	})
}

// fuzzAPILimit is FuzzConnAPIs's ReadLimit.
const fuzzAPILimit = 1 << 12

// collect calls next until it fails (at most 100 messages) and returns
// each message and the end as text. It calls next again after a timeout.
func collect(next func() (Opcode, []byte, error)) []string {
	var got []string
	for len(got) < 100 {
		op, b, err := next()
		switch {
		case isTimeout(err):
			continue
		case err != nil:
			return append(got, "end "+errKind(err))
		}
		got = append(got, fmt.Sprintf("message %v %q", op, b))
	}
	return got
}

// abrupt reports whether a run ended as the stream did, without a close
// frame: the socket is closed at once then, and a pong queued in the last
// microseconds (a burst's) may be written or not. A close frame, ours or
// the echo of the server's, is written after every frame queued before it.
func abrupt(run []string) bool {
	return len(run) > 0 && (run[len(run)-1] == "end connection closed" || run[len(run)-1] == "end eof")
}

// recordConn is a net.Conn that reads r and records what is written to it,
// for any goroutine (a queued frame is written by the Conn's flusher).
type recordConn struct {
	r      io.Reader
	mu     sync.Mutex
	out    []byte
	closed bool
}

func (c *recordConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return 0, net.ErrClosed
	}
	return c.r.Read(p)
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	c.out = append(c.out, p...)
	return len(p), nil
}

func (c *recordConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *recordConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *recordConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *recordConn) SetDeadline(time.Time) error      { return nil }
func (c *recordConn) SetReadDeadline(time.Time) error  { return nil }
func (c *recordConn) SetWriteDeadline(time.Time) error { return nil }

// frames returns the frames written so far as text, unmasked.
func (c *recordConn) frames() []string {
	c.mu.Lock()
	out := slices.Clone(c.out)
	c.mu.Unlock()
	var got []string
	sc := &wstest.Conn{R: bufio.NewReader(bytes.NewReader(out))}
	for {
		f, err := sc.ReadFrame()
		if err != nil {
			return got
		}
		got = append(got, fmt.Sprintf("%v %v %v %q", Opcode(f.Opcode), f.Fin, f.Masked, f.Payload))
	}
}

// timeoutReader fails every read that follows one that brought data with
// a deadline's error, as a socket read whose deadline passed.
type timeoutReader struct {
	r        io.Reader
	timedOut bool
}

func (t *timeoutReader) Read(p []byte) (int, error) {
	if !t.timedOut {
		t.timedOut = true
		return 0, os.ErrDeadlineExceeded
	}
	t.timedOut = false
	return t.r.Read(p)
}

// prefixNotOnce describes err when its message does not say "websocket: "
// once, at its start, as every error of the module does; "" when it does.
// What a peer wrote may say it too: a close reason, a status line's reason
// phrase, a header value.
func prefixNotOnce(err error) string {
	msg, peer := err.Error(), ""
	var (
		ce *CloseError
		be *BadStatusError
	)
	if errors.As(err, &ce) {
		peer += ce.Reason
	}
	if errors.As(err, &be) {
		peer += be.StatusMessage
	}
	if !strings.HasPrefix(msg, "websocket: ") || strings.Count(msg, "websocket: ") > 1+strings.Count(peer, "websocket: ") {
		return "an error that does not say \"websocket: \" once, at its start: " + msg
	}
	return ""
}

// errKind names what a caller can tell of err: its type or the sentinel it
// wraps.
func errKind(err error) string {
	var (
		pe *ProtocolError
		ye *PayloadError
		ce *CloseError
	)
	if bad := prefixNotOnce(err); bad != "" {
		return bad
	}
	switch {
	case errors.As(err, &pe):
		return "protocol"
	case errors.As(err, &ye):
		return "payload"
	case errors.As(err, &ce):
		return fmt.Sprintf("close %d %q", ce.Code, ce.Reason)
	case errors.Is(err, ErrConnectionClosed):
		return "connection closed"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	return fmt.Sprintf("%T %v", err, err)
}

// modelRecv is what RFC 6455 and RFC 7692 say a client reading wire with
// Recv gets, worked out here on its own (its own header parser, message
// assembly, UTF-8 and inflation by the standard library), in collect's
// form: the messages, then how reading ends. Rules are applied to each
// header in the order the Conn applies them, which only decides which of two
// errors in one header is reported. With takeover a compressed message may
// refer back into the 32 KiB of messages inflated before it.
func modelRecv(wire []byte, limit int64, deflate, takeover, skipUTF8 bool) (got []string) {
	return model(wire, limit, deflate, takeover, skipUTF8, false, false)
}

// model is modelRecv; with controls it puts the pings and pongs among the
// messages, as "ping %q" and "pong %q"; with fragments, what an App with
// OnContMessage gets: each fragment of an uncompressed fragmented message
// as "data" and "cont", any other message as "data" and then "message".
// A compressed fragmented message's fragments come inflated as far as
// their bytes allow, which the model leaves to MatchModel: each fragment
// is "zfrag OP FIN", the last with the whole text; a message that fails
// or is cut ends with "zfail" and what of it can be inflated.
// modelWireLimit is what a message may bring on the wire under limit: a
// compressed one an eighth more (and 64 bytes), what DEFLATE adds to data
// that does not compress; it is held to limit once inflated.
func modelWireLimit(limit int64, compressed bool) int64 {
	if compressed && limit <= math.MaxInt64/2 {
		return limit + limit/8 + 64
	}
	return limit
}

func model(wire []byte, limit int64, deflate, takeover, skipUTF8, controls, fragments bool) (got []string) {
	var (
		msgOp      Opcode // of the message in progress, 0 = none
		compressed bool
		parted     bool // its first frame was not final
		msg        []byte
		history    []byte // the server's compressor's window (takeover)
	)
	end := func(kind string) []string {
		if fragments && compressed && parted && msgOp != 0 {
			dict := history
			if !takeover {
				dict = nil
			}
			some, _ := io.ReadAll(flate.NewReaderDict(bytes.NewReader(msg), dict))
			got = append(got, fmt.Sprintf("zfail %q", some))
		}
		return append(got, "end "+kind)
	}
	for {
		if len(wire) < 2 {
			return end("connection closed")
		}
		b0, b1 := wire[0], wire[1]
		fin, rsv1, rsv23, op, masked := b0&0x80 != 0, b0&0x40 != 0, b0&0x30 != 0, Opcode(b0&0x0f), b1&0x80 != 0
		n, hl := uint64(b1&0x7f), 2
		switch n {
		case 126:
			hl = 4
		case 127:
			hl = 10
		}
		if masked {
			hl += 4
		}
		if len(wire) < hl {
			return end("connection closed")
		}
		switch n {
		case 126:
			n = uint64(wire[2])<<8 | uint64(wire[3])
		case 127:
			n = 0
			for _, c := range wire[2:10] {
				n = n<<8 | uint64(c)
			}
			if n>>63 != 0 {
				return end("protocol")
			}
		}
		control := op >= 8
		switch {
		case rsv1 && (!deflate || control || op == OpContinuation), rsv23:
			return end("protocol")
		case op > OpBinary && op < OpClose || op > OpPong:
			return end("protocol")
		case masked:
			return end("protocol")
		case control && (!fin || n > 125):
			return end("protocol")
		case control:
		case op == OpContinuation && msgOp == 0, op != OpContinuation && msgOp != 0:
			return end("protocol")
		case limit >= 0 && int64(n) > modelWireLimit(limit, rsv1 || op == OpContinuation && compressed)-int64(len(msg)):
			return end("payload")
		}
		wire = wire[hl:]
		if uint64(len(wire)) < n {
			// The stream ends inside the payload: what came of a text
			// message is checked first, as it arrives.
			first := op == OpText || op == OpBinary
			text := op == OpText || op == OpContinuation && msgOp == OpText
			plain := first && !rsv1 || op == OpContinuation && !compressed
			if !control && !skipUTF8 && text && plain && !utf8Prefix(append(msg[:len(msg):len(msg)], wire...)) {
				return end("payload")
			}
			return end("connection closed")
		}
		p := wire[:n]
		wire = wire[n:]
		if control {
			if op != OpClose {
				if controls {
					got = append(got, fmt.Sprintf("%s %q", strings.ToLower(op.String()), p))
				}
				continue
			}
			switch {
			case len(p) == 0:
				return end(fmt.Sprintf("close %d %q", StatusNoStatusReceived, ""))
			case len(p) == 1:
				return end("protocol")
			}
			code := StatusCode(int(p[0])<<8 | int(p[1]))
			valid := code >= 1000 && code <= 1003 || code >= 1007 && code <= 1014 || code >= 3000 && code <= 4999
			if !valid || !utf8.Valid(p[2:]) {
				return end("protocol")
			}
			return end(fmt.Sprintf("close %d %q", code, p[2:]))
		}
		if op != OpContinuation {
			msgOp, compressed, parted, msg = op, rsv1, !fin, nil
		}
		whole := op != OpContinuation && fin // a message of one frame
		msg = append(msg, p...)
		if msgOp == OpText && !skipUTF8 && !compressed && (fin && !utf8.Valid(msg) || !utf8Prefix(msg)) {
			return end("payload")
		}
		if fragments && !compressed && !whole {
			// Each fragment as it completes, and no OnMessage.
			got = append(got, fmt.Sprintf("data %v %v %q", op, fin, p), fmt.Sprintf("cont %v %q", fin, p))
			if fin {
				msgOp, msg = 0, nil
			}
			continue
		}
		zfrag := fragments && compressed && parted
		if zfrag && !fin {
			got = append(got, fmt.Sprintf("zfrag %v false", op))
		}
		if !fin {
			continue
		}
		data := msg
		if compressed {
			if !takeover {
				history = nil
			}
			r := wstest.Inflate(msg, history)
			var err error
			if limit >= 0 {
				r = io.NopCloser(io.LimitReader(r, limit+1))
			}
			data, err = io.ReadAll(r)
			switch {
			case err != nil:
				return end("payload")
			case limit >= 0 && int64(len(data)) > limit:
				return end("payload")
			case msgOp == OpText && !skipUTF8 && !utf8.Valid(data):
				return end("payload")
			}
			history = append(history, data...)
			history = history[max(0, len(history)-1<<15):]
		}
		switch {
		case zfrag:
			got = append(got, fmt.Sprintf("zfrag %v true %q", op, data))
		case fragments:
			got = append(got, fmt.Sprintf("data %v true %q", msgOp, data))
			fallthrough
		default:
			got = append(got, fmt.Sprintf("message %v %q", msgOp, data))
		}
		msgOp, msg = 0, nil
		if len(got) == 100 && !controls { // collect's cap
			return got
		}
	}
}

// utf8Prefix reports whether p can begin valid UTF-8: it is valid, or made
// valid by up to three more bytes.
func utf8Prefix(p []byte) bool {
	if utf8.Valid(p) {
		return true
	}
	var more = []byte{0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf}
	q := append(slices.Clone(p), 0, 0, 0)
	for k := 1; k <= 3; k++ {
		var try func(i int) bool
		try = func(i int) bool {
			if i == k {
				return utf8.Valid(q[:len(p)+k])
			}
			for _, c := range more {
				q[len(p)+i] = c
				if try(i + 1) {
					return true
				}
			}
			return false
		}
		if try(0) {
			return true
		}
	}
	return false
}
