package wstest_test

import (
	"bytes"
	"encoding/hex"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/wsclient/websocket/wstest"
)

// TestFrameAppendTo: the wire bytes of frames, from RFC 6455's examples
// (section 5.7) and at each edge of the length encodings.
func TestFrameAppendTo(t *testing.T) {
	hello := []byte("Hello")
	for _, tt := range []struct {
		name string
		f    wstest.Frame
		want string // hex of the header (mask key included), a space, hex of the payload's first bytes as sent
	}{
		{"unmasked text", wstest.Frame{Fin: true, Opcode: wstest.OpText, Payload: hello}, "8105 48656c6c6f"},
		{"masked text", wstest.Frame{Fin: true, Opcode: wstest.OpText, Masked: true, MaskKey: [4]byte{0x37, 0xfa, 0x21, 0x3d}, Payload: hello}, "818537fa213d 7f9f4d5158"},
		{"first fragment", wstest.Frame{Opcode: wstest.OpText, Payload: hello[:3]}, "0103 48656c"},
		{"last fragment", wstest.Frame{Fin: true, Opcode: wstest.OpContinuation, Payload: hello[3:]}, "8002 6c6f"},
		{"ping", wstest.Frame{Fin: true, Opcode: wstest.OpPing, Payload: hello}, "8905 48656c6c6f"},
		{"256 bytes", wstest.Frame{Fin: true, Opcode: wstest.OpBinary, Payload: make([]byte, 256)}, "827e0100 0000000000"},
		{"64 KiB", wstest.Frame{Fin: true, Opcode: wstest.OpBinary, Payload: make([]byte, 65536)}, "827f0000000000010000 0000000000"},
		{"125 bytes", wstest.Frame{Opcode: wstest.OpBinary, Payload: make([]byte, 125)}, "027d 0000000000"},
		{"126 bytes", wstest.Frame{Opcode: wstest.OpBinary, Payload: make([]byte, 126)}, "027e007e 0000000000"},
		{"65535 bytes", wstest.Frame{Opcode: wstest.OpBinary, Payload: make([]byte, 65535)}, "027effff 0000000000"},
		{"RSV1", wstest.Frame{Rsv1: true, Opcode: wstest.OpText}, "4100"},
		{"RSV2", wstest.Frame{Rsv2: true, Opcode: wstest.OpBinary}, "2200"},
		{"RSV3", wstest.Frame{Rsv3: true, Opcode: 0xF}, "1f00"},
		{"opcode past 4 bits", wstest.Frame{Opcode: 0x13}, "0300"},
		{"declared longer", wstest.Frame{Fin: true, Opcode: wstest.OpBinary, Length: 1000, Payload: hello}, "827e03e8 48656c6c6f"},
		{"masked, empty", wstest.Frame{Fin: true, Opcode: wstest.OpClose, Masked: true, MaskKey: [4]byte{1, 2, 3, 4}}, "888001020304"},
	} {
		head, body, _ := strings.Cut(tt.want, " ")
		wantHead, err1 := hex.DecodeString(head)
		wantBody, err2 := hex.DecodeString(body)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: bad hex in the table", tt.name)
		}
		got := tt.f.AppendTo([]byte("x"))
		if got[0] != 'x' {
			t.Errorf("%s: the bytes before were changed", tt.name)
			continue
		}
		got = got[1:]
		if len(got) != len(wantHead)+len(tt.f.Payload) || !bytes.HasPrefix(got, wantHead) || !bytes.HasPrefix(got[len(wantHead):], wantBody) {
			t.Errorf("%s: %x (%d bytes), want %s…", tt.name, got[:min(len(got), len(wantHead)+len(wantBody))], len(got), tt.want)
		}
	}
}

func TestCloseStatus(t *testing.T) {
	for _, tt := range []struct {
		payload []byte
		code    uint16
		reason  string
	}{
		{nil, 0, ""},
		{[]byte{0x03}, 0, ""},
		{[]byte{0x03, 0xe8}, 1000, ""},
		{[]byte{0x0f, 0xa0, 'h', 'i'}, 4000, "hi"},
	} {
		code, reason := wstest.Frame{Opcode: wstest.OpClose, Payload: tt.payload}.CloseStatus()
		if code != tt.code || reason != tt.reason {
			t.Errorf("CloseStatus of %x = %d %q, want %d %q", tt.payload, code, reason, tt.code, tt.reason)
		}
	}
}

// TestReadFrameFrom reads frames as a client sends them (masked, with RSV
// bits and the 16- and 64-bit lengths) back from their wire bytes, and
// refuses one that declares more than 64 MiB.
func TestReadFrameFrom(t *testing.T) {
	for _, f := range []wstest.Frame{
		{Fin: true, Opcode: wstest.OpText, Masked: true, MaskKey: [4]byte{1, 2, 3, 4}, Payload: []byte("hello")},
		{Rsv1: true, Rsv3: true, Opcode: wstest.OpBinary, Payload: bytes.Repeat([]byte{7}, 300)},
		{Fin: true, Opcode: wstest.OpPing, Masked: true, MaskKey: [4]byte{9, 9, 9, 9}, Payload: bytes.Repeat([]byte{1}, 70000)},
		// Low bits set where FIN and MASK are clear: the first fragment
		// of a text message, unmasked, 1 byte.
		{Opcode: wstest.OpText, Payload: []byte("a")},
		{Fin: true, Opcode: wstest.OpClose, Payload: []byte{}},
	} {
		got, err := wstest.ReadFrameFrom(bytes.NewReader(f.AppendTo(nil)))
		if err != nil {
			t.Fatal(err)
		}
		want := f
		want.Length = uint64(len(f.Payload))
		if got.Fin != want.Fin || got.Rsv1 != want.Rsv1 || got.Rsv2 != want.Rsv2 || got.Rsv3 != want.Rsv3 ||
			got.Opcode != want.Opcode || got.Masked != want.Masked || got.MaskKey != want.MaskKey ||
			got.Length != want.Length || !bytes.Equal(got.Payload, want.Payload) {
			t.Errorf("read %+v back as %+v", want, got)
		}
	}
	huge := wstest.Frame{Opcode: wstest.OpBinary, Length: 64<<20 + 1}.AppendTo(nil)
	if _, err := wstest.ReadFrameFrom(bytes.NewReader(huge)); err == nil || !strings.Contains(err.Error(), "declares 67108865 bytes") {
		t.Errorf("a frame declaring 64 MiB + 1: %v, want the limit's error", err)
	}
}

// TestReadFrameFromShort: a frame that declares exactly 64 MiB is read (it
// ends early here), and a payload cut short ends as io.ReadFull reports it
// (io.EOF with no byte of it, io.ErrUnexpectedEOF with some) after taking
// memory only for the bytes that came.
func TestReadFrameFromShort(t *testing.T) {
	header := wstest.Frame{Opcode: wstest.OpBinary, Length: 64 << 20}.AppendTo(nil)
	for _, tt := range []struct {
		body []byte
		want error
	}{
		{nil, io.EOF},
		{[]byte("ten bytes!"), io.ErrUnexpectedEOF},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := wstest.ReadFrameFrom(bytes.NewReader(append(header, tt.body...)))
		runtime.ReadMemStats(&after)
		if err != tt.want {
			t.Errorf("64 MiB declared, %d bytes sent: %v, want %v", len(tt.body), err, tt.want)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Errorf("64 MiB declared, %d bytes sent: %d bytes allocated", len(tt.body), n)
		}
	}
}
