package websocket

import (
	"errors"
	"slices"
	"strings"
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
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the layout is planned for 64-bit platforms; 4-byte pointers move every field")
	}
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

// FuzzReadLimitModel checks received messages against a model. The input
// is a program: a read limit, a read size, then messages of fuzzed
// fragments (some with a ping between them, text or binary). Read through a
// Conn whose socket returns at most the read size per read (so messages
// take the buffered fast path or the general one), and through the message
// reader alone in pieces of that size (as the event loop drives it), every
// message up to the limit must arrive whole and in order, and the first one
// over it must end reading: a *PayloadError from the Conn, close 1009 from
// the message reader.
func FuzzReadLimitModel(f *testing.F) {
	f.Add([]byte{5, 255, 1, 4, 3, 1, 4, 3})   // two messages of exactly the limit (21 bytes), in two fragments each
	f.Add([]byte{5, 7, 0, 7, 5, 4, 4, 0, 1})  // one at the limit, one over it in fragments with a ping between
	f.Add([]byte{0, 0, 0, 0, 12, 0, 0, 0, 0}) // a limit of 1: empty messages, text in fragments, one byte per read
	f.Add([]byte{200, 100, 15, 255, 255, 255, 255, 2, 9, 9, 9})
	f.Fuzz(func(t *testing.T, prog []byte) {
		if len(prog) < 2 {
			return
		}
		limit := 1 + int64(prog[0])*4
		chunk := 1 + int(prog[1])
		if prog[1] == 255 {
			chunk = 1 << 20
		}
		type message struct {
			op   Opcode
			data string
		}
		var (
			wire []byte
			msgs []message
			over = -1 // the first message over the limit
		)
		next := func() int {
			if len(prog) == 0 {
				return 0
			}
			b := prog[0]
			prog = prog[1:]
			return int(b)
		}
		for prog = prog[2:]; len(prog) > 0 && len(msgs) < 16; {
			b := next()
			frags, ping, op := 1+b&3, b&4 != 0, OpBinary
			if b&8 != 0 {
				op = OpText
			}
			var data []byte
			for i := range frags {
				piece := make([]byte, next()*3)
				for j := range piece {
					piece[j] = byte('a' + (len(data)+j)%26)
				}
				data = append(data, piece...)
				fop := op
				if i > 0 {
					fop = OpContinuation
				}
				wire = (&header{fin: i == frags-1, opcode: fop, length: int64(len(piece))}).appendTo(wire)
				wire = append(wire, piece...)
				if ping && i < frags-1 {
					wire = appendTestFrame(wire, true, OpPing, "p")
				}
			}
			if over < 0 && int64(len(data)) > limit {
				over = len(msgs)
			}
			msgs = append(msgs, message{op, string(data)})
		}
		want := msgs
		if over >= 0 {
			want = msgs[:over]
		}

		c := newConn(&scriptConn{r: &chunkReader{data: wire, sizes: []int{chunk}}}, nil, &DialOptions{ReadLimit: limit})
		for i, w := range want {
			m, err := c.Recv()
			if err != nil || m.Opcode != w.op || string(m.Data) != w.data {
				t.Fatalf("Conn: message %d (limit %d, reads of %d): %v, %d bytes, %v; want %v, %d bytes", i, limit, chunk, m.Opcode, len(m.Data), err, w.op, len(w.data))
			}
		}
		_, err := c.Recv()
		var pe *PayloadError
		if over >= 0 && !errors.As(err, &pe) || over < 0 && !errors.Is(err, ErrConnectionClosed) {
			t.Fatalf("Conn: after %d messages (limit %d, reads of %d, message %d over it): %v", len(want), limit, chunk, over, err)
		}

		m := msgReader{readLimit: limit}
		events, code, err := pushAll(&m, wire, chunk)
		var got []message
		var data []byte
		for _, ev := range events {
			if d, ok := strings.CutPrefix(ev, "data:"); ok {
				data = append(data, d...)
			} else if op, ok := strings.CutPrefix(ev, "msg:"); ok {
				got = append(got, message{map[string]Opcode{"text": OpText, "binary": OpBinary}[op], string(data)})
				data = data[:0]
			}
		}
		if !slices.Equal(got, want) || (over >= 0) != (err != nil) || over >= 0 && code != StatusMessageTooBig {
			t.Fatalf("message reader: %d messages, %v (close %d); want %d, message %d over the limit %d", len(got), err, code, len(want), over, limit)
		}
	})
}
