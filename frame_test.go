package websocket

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rfcFrames are the examples of RFC 6455 §5.7.
var rfcFrames = []struct {
	name string
	wire []byte
	want Frame
}{
	{"unmasked text Hello", []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
		Frame{Fin: true, Opcode: OpText, Payload: []byte("Hello")}},
	{"masked text Hello", []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
		Frame{Fin: true, Opcode: OpText, Masked: true, MaskKey: [4]byte{0x37, 0xfa, 0x21, 0x3d}, Payload: []byte("Hello")}},
	{"first fragment Hel", []byte{0x01, 0x03, 0x48, 0x65, 0x6c},
		Frame{Opcode: OpText, Payload: []byte("Hel")}},
	{"last fragment lo", []byte{0x80, 0x02, 0x6c, 0x6f},
		Frame{Fin: true, Opcode: OpContinuation, Payload: []byte("lo")}},
	{"unmasked ping", []byte{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
		Frame{Fin: true, Opcode: OpPing, Payload: []byte("Hello")}},
	{"masked pong", []byte{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
		Frame{Fin: true, Opcode: OpPong, Masked: true, MaskKey: [4]byte{0x37, 0xfa, 0x21, 0x3d}, Payload: []byte("Hello")}},
	{"256 bytes binary", append([]byte{0x82, 0x7E, 0x01, 0x00}, make([]byte, 256)...),
		Frame{Fin: true, Opcode: OpBinary, Payload: make([]byte, 256)}},
	{"64 KiB binary", append([]byte{0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}, make([]byte, 65536)...),
		Frame{Fin: true, Opcode: OpBinary, Payload: make([]byte, 65536)}},
	{"rsv bits and empty", []byte{0xF2, 0x00},
		Frame{Fin: true, Rsv1: true, Rsv2: true, Rsv3: true, Opcode: OpBinary, Payload: []byte{}}},
}

func TestFrameAppendToRFCExamples(t *testing.T) {
	for _, tc := range rfcFrames {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.want
			got, err := f.AppendTo([]byte("prefix"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[6:], tc.wire) || string(got[:6]) != "prefix" {
				t.Fatalf("AppendTo = % x\nwant        % x", got[6:], tc.wire)
			}
			if !bytes.Equal(f.Payload, tc.want.Payload) {
				t.Fatal("AppendTo changed the caller's payload")
			}
		})
	}
}

// TestFrameAppendToMinimalLength checks that a frame's length is written in
// the fewest bytes that hold it (RFC 6455 §5.2: "the minimal number of bytes
// MUST be used"), at each edge between the three encodings.
func TestFrameAppendToMinimalLength(t *testing.T) {
	tests := []struct {
		n    int
		head []byte // the header after the first byte
	}{
		{0, []byte{0}},
		{125, []byte{125}},
		{126, []byte{126, 0, 126}},
		{65535, []byte{126, 0xff, 0xff}},
		{65536, []byte{127, 0, 0, 0, 0, 0, 1, 0, 0}},
	}
	for _, tc := range tests {
		f := Frame{Fin: true, Opcode: OpBinary, Payload: make([]byte, tc.n)}
		got, err := f.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1+len(tc.head)+tc.n || !bytes.Equal(got[1:1+len(tc.head)], tc.head) {
			t.Errorf("%d bytes: header % x, want 82 % x", tc.n, got[:min(len(got), 10)], tc.head)
		}
	}
}

func TestDecoderAtEverySplit(t *testing.T) {
	for _, tc := range rfcFrames {
		if len(tc.wire) > 300 {
			continue
		}
		for split := 0; split <= len(tc.wire); split++ {
			for second := split; second <= len(tc.wire); second++ {
				var d decoder
				var payload []byte
				var got header
				headers := 0
				for _, piece := range [][]byte{tc.wire[:split], tc.wire[split:second], tc.wire[second:]} {
					piece = bytes.Clone(piece)
					for len(piece) > 0 {
						n, ev, p, err := d.feed(piece)
						if err != nil {
							t.Fatalf("%s split %d/%d: %v", tc.name, split, second, err)
						}
						switch ev {
						case evHeader:
							got = d.h
							headers++
						case evPayload:
							payload = append(payload, p...)
						}
						piece = piece[n:]
					}
				}
				if headers != 1 || d.remaining != 0 {
					t.Fatalf("%s split %d/%d: %d headers, done=%v", tc.name, split, second, headers, d.remaining == 0)
				}
				w := tc.want
				if got.fin != w.Fin || got.opcode != w.Opcode || got.masked != w.Masked || got.key != w.MaskKey ||
					got.rsv1 != w.Rsv1 || got.rsv2 != w.Rsv2 || got.rsv3 != w.Rsv3 || got.length != int64(len(w.Payload)) {
					t.Fatalf("%s split %d/%d: header %+v", tc.name, split, second, got)
				}
				if !bytes.Equal(payload, w.Payload) && len(w.Payload) > 0 {
					t.Fatalf("%s split %d/%d: payload % x", tc.name, split, second, payload)
				}
			}
		}
	}
}

func TestParseHeaderLengths(t *testing.T) {
	tests := []struct {
		name string
		wire []byte
		len  int64
		err  bool
	}{
		{"7-bit 125", []byte{0x82, 125}, 125, false},
		{"16-bit 126", []byte{0x82, 126, 0, 126}, 126, false},
		{"16-bit 65535", []byte{0x82, 126, 0xFF, 0xFF}, 65535, false},
		{"64-bit 65536", []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}, 65536, false},
		{"64-bit 2^62", []byte{0x82, 127, 0x40, 0, 0, 0, 0, 0, 0, 0}, 1 << 62, false},
		{"64-bit top bit set", []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := parseHeader(tc.wire)
			if tc.err {
				var pe *ProtocolError
				if !errors.As(err, &pe) {
					t.Fatalf("err = %v, want *ProtocolError", err)
				}
				return
			}
			if err != nil || n != len(tc.wire) || h.length != tc.len {
				t.Fatalf("parseHeader = %+v, %d, %v", h, n, err)
			}
			// Every shorter prefix asks for more.
			for i := range tc.wire {
				if _, n, err := parseHeader(tc.wire[:i]); n != 0 || err != nil {
					t.Fatalf("prefix %d: n=%d err=%v", i, n, err)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 126)
	tests := []struct {
		name  string
		frame Frame
		skip  bool
		want  string // "" ok, "protocol", "payload"
	}{
		{"text", Frame{Fin: true, Opcode: OpText, Payload: []byte("héllo")}, false, ""},
		{"binary anything", Frame{Fin: true, Opcode: OpBinary, Payload: []byte{0xff}}, false, ""},
		{"rsv1", Frame{Fin: true, Rsv1: true, Opcode: OpText}, false, "protocol"},
		{"rsv2", Frame{Fin: true, Rsv2: true, Opcode: OpText}, false, "protocol"},
		{"rsv3", Frame{Fin: true, Rsv3: true, Opcode: OpText}, false, "protocol"},
		{"opcode 3", Frame{Fin: true, Opcode: 3}, false, "protocol"},
		{"opcode 0xB", Frame{Fin: true, Opcode: 0xB}, false, "protocol"},
		{"fragmented ping", Frame{Opcode: OpPing}, false, "protocol"},
		{"ping 125", Frame{Fin: true, Opcode: OpPing, Payload: long[:125]}, false, ""},
		{"ping 126", Frame{Fin: true, Opcode: OpPing, Payload: long}, false, "protocol"},
		{"close empty", Frame{Fin: true, Opcode: OpClose}, false, ""},
		{"close 1 byte", Frame{Fin: true, Opcode: OpClose, Payload: []byte{3}}, false, "protocol"},
		{"close 1000", Frame{Fin: true, Opcode: OpClose, Payload: []byte{0x03, 0xe8, 'o', 'k'}}, false, ""},
		{"close 1004", Frame{Fin: true, Opcode: OpClose, Payload: []byte{0x03, 0xec}}, false, "protocol"},
		{"close 1005", Frame{Fin: true, Opcode: OpClose, Payload: []byte{0x03, 0xed}}, false, "protocol"},
		{"close 1006", Frame{Fin: true, Opcode: OpClose, Payload: []byte{0x03, 0xee}}, false, "protocol"},
		{"close 1014", Frame{Fin: true, Opcode: OpClose, Payload: []byte{0x03, 0xf6}}, false, ""},
		{"close 1015", Frame{Fin: true, Opcode: OpClose, Payload: []byte{0x03, 0xf7}}, false, "protocol"},
		{"close 2999", Frame{Fin: true, Opcode: OpClose, Payload: []byte{0x0b, 0xb7}}, false, "protocol"},
		{"close 3000", Frame{Fin: true, Opcode: OpClose, Payload: []byte{0x0b, 0xb8}}, false, ""},
		{"close 4999", Frame{Fin: true, Opcode: OpClose, Payload: []byte{0x13, 0x87}}, false, ""},
		{"close 5000", Frame{Fin: true, Opcode: OpClose, Payload: []byte{0x13, 0x88}}, false, "protocol"},
		{"close bad reason", Frame{Fin: true, Opcode: OpClose, Payload: []byte{0x03, 0xe8, 0xff}}, false, "protocol"},
		{"text bad utf8", Frame{Fin: true, Opcode: OpText, Payload: []byte{0xce, 0xba, 0xff}}, false, "payload"},
		{"text bad utf8 skipped", Frame{Fin: true, Opcode: OpText, Payload: []byte{0xff}}, true, ""},
		{"first fragment cut sequence", Frame{Opcode: OpText, Payload: []byte{'a', 0xce}}, false, ""},
		{"first fragment impossible byte", Frame{Opcode: OpText, Payload: []byte{'a', 0xc0}}, false, "payload"},
		{"first fragment bad first byte", Frame{Opcode: OpText, Payload: []byte{0xff, 'a'}}, false, "payload"},
		{"whole text cut sequence", Frame{Fin: true, Opcode: OpText, Payload: []byte{'a', 0xce}}, false, "payload"},
		{"continuation unknown context", Frame{Fin: true, Opcode: OpContinuation, Payload: []byte{0x80}}, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.frame.Validate(tc.skip)
			var pe *ProtocolError
			var ye *PayloadError
			switch tc.want {
			case "":
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
			case "protocol":
				if !errors.As(err, &pe) {
					t.Fatalf("Validate = %v, want *ProtocolError", err)
				}
			case "payload":
				if !errors.As(err, &ye) {
					t.Fatalf("Validate = %v, want *PayloadError", err)
				}
			}
			if err != nil && !strings.HasPrefix(err.Error(), "websocket: ") {
				t.Fatalf("error %q lacks the websocket: prefix", err)
			}
		})
	}
}

func TestOpcodeAndStatusStrings(t *testing.T) {
	ops := map[Opcode]string{OpContinuation: "continuation", OpText: "text", OpBinary: "binary",
		OpClose: "close", OpPing: "ping", OpPong: "pong", 3: "opcode(0x3)", 0xB: "opcode(0xb)"}
	for op, want := range ops {
		if op.String() != want {
			t.Errorf("%d.String() = %q, want %q", op, op.String(), want)
		}
		if op.Valid() != !strings.HasPrefix(want, "opcode(") {
			t.Errorf("%s.Valid() = %v", want, op.Valid())
		}
	}
	if !OpPing.IsControl() || OpText.IsControl() || !Opcode(0xB).IsControl() || !Opcode(0xF).IsControl() ||
		Opcode(0x18).IsControl() || Opcode(0x88).IsControl() { // no opcode above 0xF is one
		t.Error("IsControl wrong")
	}
	if StatusNormal.String() != "normal closure" || StatusCode(4000).String() != "status(4000)" {
		t.Errorf("StatusCode.String: %q %q", StatusNormal, StatusCode(4000))
	}
}

// TestStatusCodes: each named close code has the value RFC 6455 and the
// IANA registry give it, its name, and may be sent or not as the RFC says
// (1005, 1006 and 1015 are reported locally, never sent).
func TestStatusCodes(t *testing.T) {
	for _, tc := range []struct {
		code     StatusCode
		value    uint16
		name     string
		sendable bool
	}{
		{StatusNormal, 1000, "normal closure", true},
		{StatusGoingAway, 1001, "going away", true},
		{StatusProtocolError, 1002, "protocol error", true},
		{StatusUnsupportedData, 1003, "unsupported data", true},
		{StatusNoStatusReceived, 1005, "no status received", false},
		{StatusAbnormalClosure, 1006, "abnormal closure", false},
		{StatusInvalidPayload, 1007, "invalid payload", true},
		{StatusPolicyViolation, 1008, "policy violation", true},
		{StatusMessageTooBig, 1009, "message too big", true},
		{StatusMandatoryExtension, 1010, "mandatory extension", true},
		{StatusInternalError, 1011, "internal error", true},
		{StatusServiceRestart, 1012, "service restart", true},
		{StatusTryAgainLater, 1013, "try again later", true},
		{StatusBadGateway, 1014, "bad gateway", true},
		{StatusTLSHandshake, 1015, "TLS handshake failure", false},
		{1004, 1004, "status(1004)", false},
		{2999, 2999, "status(2999)", false},
		{3000, 3000, "status(3000)", true},
		{4999, 4999, "status(4999)", true},
		{5000, 5000, "status(5000)", false},
	} {
		if uint16(tc.code) != tc.value || tc.code.String() != tc.name || tc.code.sendable() != tc.sendable {
			t.Errorf("%d: %q, sendable %t; want %d %q, sendable %t", tc.code, tc.code, tc.code.sendable(), tc.value, tc.name, tc.sendable)
		}
	}
}

func TestMaskRoundTrip(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	b := []byte("The quick brown fox jumps over the lazy dog")
	orig := bytes.Clone(b)
	Mask(key, b)
	if bytes.Equal(b, orig) {
		t.Fatal("Mask did nothing")
	}
	Mask(key, b)
	if !bytes.Equal(b, orig) {
		t.Fatal("Mask twice did not restore")
	}
}

func TestNewFrameIsMaskedWithFreshKeys(t *testing.T) {
	a, b := NewFrame([]byte("x"), OpText, true), NewFrame([]byte("x"), OpText, true)
	if !a.Masked || !a.Fin || a.Opcode != OpText {
		t.Fatalf("NewFrame = %v", a)
	}
	if a.MaskKey == b.MaskKey {
		t.Fatal("two frames got the same mask key")
	}
	if s := a.String(); !strings.Contains(s, `payload="x"`) || !strings.Contains(s, "opcode=text") {
		t.Fatalf("String = %s", s)
	}
}

// TestFrameString: String names the fin bit, the opcode, the RSV bits set,
// the mask, the length and a payload preview (quoted text, hex binary, a
// close frame's code and reason, cut with … after 64 bytes).
func TestFrameString(t *testing.T) {
	for _, tc := range []struct {
		f    Frame
		want string
	}{
		{Frame{Fin: true, Opcode: OpText, Payload: []byte("hi")}, `fin=true opcode=text len=2 payload="hi"`},
		{Frame{Opcode: OpBinary, Rsv1: true, Rsv3: true, Payload: []byte{1, 0xff}}, `fin=false opcode=binary rsv=101 len=2 payload=01ff`},
		{Frame{Fin: true, Opcode: OpPing, Rsv2: true, Masked: true}, `fin=true opcode=ping rsv=010 masked len=0 payload=""`},
		{Frame{Fin: true, Opcode: OpClose, Payload: []byte{0x03, 0xe8, 'b', 'y', 'e'}}, `fin=true opcode=close len=5 payload=1000 "bye"`},
		{Frame{Fin: true, Opcode: OpClose, Payload: []byte{0x03, 0xe8}}, `fin=true opcode=close len=2 payload=1000 ""`},
		{Frame{Fin: true, Opcode: OpClose, Payload: []byte{0x03}}, `fin=true opcode=close len=1 payload="\x03"`}, // no code to show
		{Frame{Fin: true, Opcode: OpText, Payload: bytes.Repeat([]byte("x"), 65)}, `fin=true opcode=text len=65 payload="` + strings.Repeat("x", 64) + `"…`},
		{Frame{Fin: true, Opcode: OpText, Payload: bytes.Repeat([]byte("x"), 64)}, `fin=true opcode=text len=64 payload="` + strings.Repeat("x", 64) + `"`},
	} {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("String() = %s\nwant       %s", got, tc.want)
		}
	}
}

// scriptConn is a net.Conn that reads a fixed script and discards writes.
type scriptConn struct {
	r      io.Reader
	closed atomic.Bool // a flusher may write while the reader closes
}

func (c *scriptConn) Read(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	return c.r.Read(p)
}
func (c *scriptConn) Write(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	return len(p), nil
}
func (c *scriptConn) Close() error                     { c.closed.Store(true); return nil }
func (c *scriptConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *scriptConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// connOver returns a Conn reading the given server bytes.
func connOver(wire []byte, opts *DialOptions) *Conn {
	sc := &scriptConn{r: bytes.NewReader(wire)}
	if opts == nil {
		opts = &DialOptions{}
	}
	return newConn(sc, nil, opts)
}

func TestConnReadsRFCMessages(t *testing.T) {
	var wire []byte
	wire = append(wire, rfcFrames[0].wire...) // Hello
	wire = append(wire, rfcFrames[2].wire...) // Hel
	wire = append(wire, rfcFrames[4].wire...) // ping between fragments
	wire = append(wire, rfcFrames[3].wire...) // lo
	c := connOver(wire, nil)
	for i := 0; i < 2; i++ {
		msg, err := c.Recv()
		if err != nil || msg.Text() != "Hello" || msg.Opcode != OpText {
			t.Fatalf("message %d: %q %v", i, msg.Data, err)
		}
	}
	if _, err := c.Recv(); !errors.Is(err, ErrConnectionClosed) {
		t.Fatalf("after the script: %v, want ErrConnectionClosed", err)
	}
}

// The fuzz targets check that no input makes the reader panic, allocate
// past the read limit, or fail with an error outside the documented types.

const fuzzReadLimit = 1 << 16

func FuzzFrameReader(f *testing.F) {
	for _, tc := range rfcFrames {
		f.Add(tc.wire)
	}
	f.Add([]byte{0x82, 127, 0x40, 0, 0, 0, 0, 0, 0, 0})              // 2^62 bytes declared
	f.Add([]byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0})              // top bit set
	f.Add([]byte{0x88, 0x02, 0x03, 0xe8, 0x81, 0x01, 'x'})           // close then text
	f.Add([]byte{0x01, 0x01, 0xce, 0x80, 0x01, 0xba})                // UTF-8 split across fragments
	f.Add([]byte{0x01, 0x01, 'a', 0x01, 0x01, 'b'})                  // new message inside a fragmented one
	f.Add([]byte{0x80, 0x01, 'a'})                                   // continuation without start
	f.Add([]byte{0x09, 0x00})                                        // fragmented ping
	f.Add([]byte{0xc1, 0x01, 'a'})                                   // rsv1
	f.Add([]byte{0x83, 0x00})                                        // opcode 3
	f.Add([]byte{0x81, 0x81, 1, 2, 3, 4, 'a'})                       // masked server frame
	f.Add([]byte{0x81, 0x7e, 0xff, 0xff})                            // truncated
	f.Add([]byte{0x82, 0x7f, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 2, 3, 4}) // over the limit
	f.Fuzz(func(t *testing.T, wire []byte) {
		c := connOver(wire, &DialOptions{ReadLimit: fuzzReadLimit})
		buf := make([]byte, 0, 16)
		for i := 0; i < 1000; i++ {
			var err error
			_, buf, err = c.RecvAppend(buf[:0])
			if cap(buf) > 2*fuzzReadLimit+maxHeaderLen {
				t.Fatalf("buffer grew to %d bytes with a read limit of %d", cap(buf), fuzzReadLimit)
			}
			if err != nil {
				checkDocumentedError(t, err)
				return
			}
		}
	})
}

func checkDocumentedError(t *testing.T, err error) {
	t.Helper()
	var (
		pe *ProtocolError
		ye *PayloadError
		ce *CloseError
	)
	if !errors.As(err, &pe) && !errors.As(err, &ye) && !errors.As(err, &ce) && !errors.Is(err, ErrConnectionClosed) {
		t.Fatalf("undocumented error %T: %v", err, err)
	}
	if !strings.HasPrefix(err.Error(), "websocket: ") {
		t.Fatalf("error %q lacks the websocket: prefix", err)
	}
}

func FuzzFrameValidate(f *testing.F) {
	for _, tc := range rfcFrames {
		f.Add(tc.wire[0], tc.want.Payload)
	}
	f.Add(byte(0x88), []byte{0x03, 0xe8, 0xff})
	f.Add(byte(0x88), []byte{0x03})
	f.Add(byte(0x81), []byte{0xed, 0xa0, 0x80})
	f.Add(byte(0x01), []byte{0xf4, 0x90})
	f.Add(byte(0x8b), []byte{})
	f.Fuzz(func(t *testing.T, b0 byte, payload []byte) {
		fr := &Frame{Fin: b0&0x80 != 0, Rsv1: b0&0x40 != 0, Rsv2: b0&0x20 != 0, Rsv3: b0&0x10 != 0,
			Opcode: Opcode(b0 & 0xF), Payload: payload}
		for _, skip := range []bool{false, true} {
			if err := fr.Validate(skip); err != nil {
				var pe *ProtocolError
				var ye *PayloadError
				if !errors.As(err, &pe) && !errors.As(err, &ye) {
					t.Fatalf("undocumented error %T: %v", err, err)
				}
			}
		}
		// A frame that validates survives an encode/decode round trip.
		if fr.Validate(true) == nil {
			wire, err := fr.AppendTo(nil)
			if err != nil {
				t.Fatal(err)
			}
			h, n, err := parseHeader(wire)
			if err != nil || n == 0 || h.length != int64(len(payload)) || h.opcode != fr.Opcode || h.fin != fr.Fin {
				t.Fatalf("round trip: %+v %d %v", h, n, err)
			}
			if !bytes.Equal(wire[n:], payload) {
				t.Fatal("payload changed in round trip")
			}
		}
	})
}

func BenchmarkFrameEncode(b *testing.B) {
	for _, size := range []int{16, 1024, 65536} {
		b.Run(byteSize(size), func(b *testing.B) {
			f := NewFrame(make([]byte, size), OpBinary, true)
			buf := make([]byte, 0, size+maxHeaderLen)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = f.AppendTo(buf[:0])
			}
		})
	}
}

func BenchmarkFrameDecode(b *testing.B) {
	for _, size := range []int{16, 1024, 65536} {
		b.Run(byteSize(size), func(b *testing.B) {
			f := &Frame{Fin: true, Opcode: OpBinary, Payload: make([]byte, size)}
			one, _ := f.AppendTo(nil)
			const batch = 64
			wire := bytes.Repeat(one, batch)
			rd := bytes.NewReader(wire)
			fr := frameReader{src: rd}
			payload := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i%batch == 0 {
					rd.Reset(wire)
					fr.r, fr.w = 0, 0
				}
				i++
				if _, err := fr.readHeader(); err != nil {
					b.Fatal(err)
				}
				if _, err := fr.readFullPayload(payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMask(b *testing.B) {
	for _, size := range []int{16, 1024, 65536, 1 << 20} {
		buf := make([]byte, size)
		b.Run("mask/"+byteSize(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				Mask([4]byte{1, 2, 3, 4}, buf)
			}
		})
		src := make([]byte, size)
		b.Run("copy/"+byteSize(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				copy(buf, src)
			}
		})
	}
}

func byteSize(n int) string {
	switch {
	case n >= 1<<20:
		return itoa(n>>20) + "MiB"
	case n >= 1<<10:
		return itoa(n>>10) + "KiB"
	}
	return itoa(n) + "B"
}

func itoa(n int) string { return lengthString(int64(n)) }

// BenchmarkSendDiscard measures the CPU cost of Send (header, mask, write
// call) without the socket: the writes go to a discarding net.Conn.
func BenchmarkSendDiscard(b *testing.B) {
	for _, size := range []int{16, 1024, 65536} {
		b.Run(byteSize(size), func(b *testing.B) {
			c := connOver(nil, nil)
			p := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.SendBinary(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestControlLengthInError: a control frame's refusal states the length it
// declared, however long: a ping declaring 2^40 bytes was reported as one
// of 1048576.
func TestControlLengthInError(t *testing.T) {
	for _, n := range []int64{126, 1 << 20, 1 << 40, 1<<63 - 1} {
		err := checkControl(true, n, OpPing)
		if want := strconv.FormatInt(n, 10) + " bytes"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("checkControl(%d) = %v, want a ProtocolError saying %q", n, err, want)
		}
	}
	if err := checkControl(true, 125, OpPing); err != nil {
		t.Errorf("checkControl(125) = %v, want nil", err)
	}
}
