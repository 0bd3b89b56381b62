package websocket

import (
	"errors"
	"slices"
	"testing"
	"unsafe"
)

// TestConnSizeClass checks that a Conn, the read state embedded in it
// included, stays in the allocator's 384-byte size class: an idle
// connection's memory is mostly its Conn (what few use is apart: connRare,
// readAside). 384 is six cache lines: a Conn starts on a line boundary
// (TestCountersLayout). So do the objects every Conn keeps beside it: its counters,
// and on Unix once it has received, its socket reader
// (TestBusyReaderSize).
func TestConnSizeClass(t *testing.T) {
	checkSizes(t, []sizeLimit{
		{"Conn", unsafe.Sizeof(Conn{}), 384},
		{"connRare", unsafe.Sizeof(connRare{}), 64},
		{"connStats", unsafe.Sizeof(connStats{}), 128},
		// Made at the first compressed message, failure or close.
		{"connMoreStats", unsafe.Sizeof(connMoreStats{}), 48},
	})
}

// TestCountersLayout checks the Conn's layout by cache line. The plain
// statistics counters share a line with state their side writes at every
// message anyway: the received-message counters with the read buffer's
// offsets, the sent ones with the write queue's state. On another line
// the two adds cost 2 ns per message received
// (BenchmarkRecvMemory/whole/16B, 21.6 → 23.4 ns). What every receive
// reads as it starts (the lock, the reader's flags, limit and sticky
// errors, ext for unlockRead) is on one line, and a receive that finds a
// whole frame buffered touches only that line and the offsets' one: with
// ext five lines away, receiving 16-byte messages in the bench module
// took about 1 ns (3%) more, a flood's 64 KiB read buffer evicting the
// Conn from the L1 cache. The writers' mask-key count is off the
// reader's lines, which the reader writes. A Conn is allocated at a
// multiple of its 384-byte size class (6 lines), so offsets in the struct
// are offsets in the line.
func TestCountersLayout(t *testing.T) {
	var c Conn
	line := func(off uintptr) uintptr { return off / 64 }
	mr, fr := unsafe.Offsetof(c.msgReader), unsafe.Offsetof(c.fr)
	for _, tt := range []struct {
		name      string
		off       uintptr
		with      string
		withinOff uintptr
	}{
		{"inMsgs", mr + unsafe.Offsetof(c.msgReader.inMsgs), "fr.r", fr + unsafe.Offsetof(c.fr.r)},
		{"inBytes", mr + unsafe.Offsetof(c.msgReader.inBytes), "fr.r", fr + unsafe.Offsetof(c.fr.r)},
		{"outMsgs", unsafe.Offsetof(c.outMsgs), "lastWrite", unsafe.Offsetof(c.lastWrite)},
		{"outBytes", unsafe.Offsetof(c.outBytes), "lastWrite", unsafe.Offsetof(c.lastWrite)},
		// What every receive reads as it starts.
		{"ext", unsafe.Offsetof(c.ext), "readMu", unsafe.Offsetof(c.readMu)},
		{"msgOp", mr + unsafe.Offsetof(c.msgReader.msgOp), "readMu", unsafe.Offsetof(c.readMu)},
		{"readLimit", mr + unsafe.Offsetof(c.msgReader.readLimit), "readMu", unsafe.Offsetof(c.readMu)},
		{"msgUTF8", mr + unsafe.Offsetof(c.msgReader.msgUTF8), "readMu", unsafe.Offsetof(c.readMu)},
		{"readErr", mr + unsafe.Offsetof(c.msgReader.readErr), "readMu", unsafe.Offsetof(c.readMu)},
		{"pending", mr + unsafe.Offsetof(c.msgReader.pending), "readMu", unsafe.Offsetof(c.readMu)},
		// A whole buffered frame: the buffer, its offsets, the decoder's
		// header count (atFrameStart).
		{"fr.buf", fr + unsafe.Offsetof(c.fr.buf), "fr.r", fr + unsafe.Offsetof(c.fr.r)},
		{"dec.hdrN", fr + unsafe.Offsetof(c.fr.dec) + unsafe.Offsetof(c.fr.dec.hdrN), "fr.r", fr + unsafe.Offsetof(c.fr.r)},
		// The writers' state.
		{"maskN", unsafe.Offsetof(c.maskN), "lastWrite", unsafe.Offsetof(c.lastWrite)},
		{"writeMu", unsafe.Offsetof(c.writeMu), "lastWrite", unsafe.Offsetof(c.lastWrite)},
		{"wq", unsafe.Offsetof(c.wq), "lastWrite", unsafe.Offsetof(c.lastWrite)},
	} {
		if line(tt.off) != line(tt.withinOff) {
			t.Errorf("%s at offset %d (line %d), %s at %d (line %d): move fields so that they share a line",
				tt.name, tt.off, line(tt.off), tt.with, tt.withinOff, line(tt.withinOff))
		}
	}
}

// pushAll feeds wire to a decoder and m in pieces of size bytes, as a loop
// handed bytes by a poller would, and records what m reports: "data:x" for
// message data, "frame", "msg:<opcode>", "control:<opcode>:<payload>", and
// the close code and error that end it.
func pushAll(m *msgReader, wire []byte, size int) (events []string, code StatusCode, err error) {
	var d decoder
	for len(wire) > 0 {
		piece := wire[:min(size, len(wire))]
		wire = wire[len(piece):]
		for len(piece) > 0 {
			n, ev, payload, derr := d.feed(piece)
			piece = piece[n:]
			if derr != nil {
				return events, StatusProtocolError, derr
			}
			rev, code, err := m.step(&d, ev, payload, false)
			if len(payload) > 0 && rev != readMore && rev != readControl {
				events = append(events, "data:"+string(payload))
			}
			if err != nil {
				return events, code, err
			}
			switch rev {
			case readFrameEnd:
				events = append(events, "frame")
			case readMsgEnd:
				events = append(events, "msg:"+m.doneOp.String())
			case readControl:
				events = append(events, "control:"+m.ctrlOp.String()+":"+string(m.control()))
			}
		}
	}
	return events, 0, nil
}

func appendTestFrame(b []byte, fin bool, op Opcode, payload string) []byte {
	b = (&header{fin: fin, opcode: op, length: int64(len(payload))}).appendTo(b)
	return append(b, payload...)
}

// TestMsgReaderPushed drives the message reader with no Conn and no socket:
// bytes pushed through the decoder, whole or one at a time, give the same
// events — message data, frame and message ends, control frames between
// fragments — and a violation comes back with its close code.
func TestMsgReaderPushed(t *testing.T) {
	var wire []byte
	wire = appendTestFrame(wire, false, OpText, "he")
	wire = appendTestFrame(wire, true, OpPing, "p")
	wire = appendTestFrame(wire, false, OpContinuation, "")
	wire = appendTestFrame(wire, true, OpContinuation, "llo")
	wire = appendTestFrame(wire, true, OpBinary, "")
	for _, size := range []int{len(wire), 1} {
		m := msgReader{readLimit: -1}
		events, code, err := pushAll(&m, wire, size)
		if err != nil {
			t.Fatalf("pieces of %d: %v (close %d)", size, err, code)
		}
		var want []string
		if size == 1 {
			want = []string{"data:h", "data:e", "frame", "control:ping:p", "frame", "data:l", "data:l", "data:o", "msg:text", "msg:binary"}
		} else {
			want = []string{"data:he", "frame", "control:ping:p", "frame", "data:llo", "msg:text", "msg:binary"}
		}
		if !slices.Equal(events, want) {
			t.Errorf("pieces of %d: events %q, want %q", size, events, want)
		}
	}

	// The read limit bounds each message: messages of exactly the limit,
	// whole or in fragments, one after another.
	var atLimit []byte
	for range 2 {
		atLimit = appendTestFrame(atLimit, false, OpBinary, "ab")
		atLimit = appendTestFrame(atLimit, true, OpContinuation, "cd")
		atLimit = appendTestFrame(atLimit, true, OpBinary, "efgh")
	}
	m := msgReader{readLimit: 4}
	if events, code, err := pushAll(&m, atLimit, len(atLimit)); err != nil || len(events) != 12 || events[11] != "msg:binary" {
		t.Errorf("messages at the limit: events %q, %v (close %d)", events, err, code)
	}

	violations := []struct {
		name string
		wire []byte
		code StatusCode
	}{
		{"continuation without a message", appendTestFrame(nil, true, OpContinuation, "x"), StatusProtocolError},
		{"over the read limit", appendTestFrame(nil, true, OpBinary, "12345"), StatusMessageTooBig},
		{"invalid UTF-8", appendTestFrame(nil, true, OpText, "a\xff"), StatusInvalidPayload},
		{"text ends inside a sequence", appendTestFrame(nil, true, OpText, "a\xe2\x82"), StatusInvalidPayload},
	}
	for _, v := range violations {
		m := msgReader{readLimit: 4}
		_, code, err := pushAll(&m, v.wire, 1)
		var pe *ProtocolError
		var ple *PayloadError
		if code != v.code || !errors.As(err, &pe) && !errors.As(err, &ple) {
			t.Errorf("%s: close %d, %v; want close %d", v.name, code, err, v.code)
		}
	}
}
