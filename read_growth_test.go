package websocket

import (
	"io"
	"testing"
)

// arrivalStub is a socket reader that says it holds n bytes; with n < 0 it
// fails the test if asked.
type arrivalStub struct {
	t *testing.T
	n int
}

func (a arrivalStub) Read([]byte) (int, error) { return 0, io.EOF }

func (a arrivalStub) available() int {
	if a.n < 0 {
		a.t.Error("the socket was asked what it holds, although the room covers the frame")
		return 0
	}
	return a.n
}

// TestGrowthTakesWhatArrived checks the room a full message buffer gets:
// it doubles from 32 KiB as bytes arrive, never on the length the peer
// declared alone, and takes at once what has arrived of the frame (buffered
// and in the socket, when the socket can tell), up to the frame's end and
// the read limit.
func TestGrowthTakesWhatArrived(t *testing.T) {
	const noSocket = -2 // a socket reader that cannot tell what it holds
	for _, tc := range []struct {
		name      string
		have      int
		last      bool
		remaining int64
		buffered  int32
		inSocket  int // noSocket: no arrivalReader; -1: must not be asked
		limit     int64
		want      int
	}{
		{"unknown arrivals: 32 KiB", 0, true, 64 << 10, 0, noSocket, -1, 32 << 10},
		{"unknown arrivals: doubling", 64 << 10, true, 1 << 20, 0, noSocket, -1, 64 << 10},
		{"a frame within 32 KiB: no look", 0, true, 20 << 10, 0, -1, -1, 20 << 10},
		{"a frame of 32 KiB: no look", 0, true, 32 << 10, 0, -1, -1, 32 << 10},
		{"a frame buffered whole: no look", 0, true, 48 << 10, 48 << 10, -1, -1, 48 << 10},
		{"arrived whole: the frame", 0, true, 64 << 10, 4 << 10, 60 << 10, -1, 64 << 10},
		{"more in the socket than the frame", 0, true, 64 << 10, 0, 1 << 20, -1, 64 << 10},
		{"part arrived: that part", 0, true, 1 << 20, 1 << 10, 99 << 10, -1, 100 << 10},
		{"less arrived than doubling gives", 256 << 10, true, 1 << 20, 0, 1 << 10, -1, 256 << 10},
		{"a declared 64 MiB with 10 bytes sent", 0, true, 64 << 20, 10, 0, -1, 32 << 10},
		{"a declared 64 MiB with 1 MiB sent", 0, true, 64 << 20, 0, 1 << 20, -1, 1 << 20},
		{"the read limit", 0, true, 1 << 20, 0, 1 << 20, 100 << 10, 100 << 10},
		{"the read limit, less what the message has", 30 << 10, true, 1 << 20, 0, 1 << 20, 100 << 10, 70 << 10},
		{"a fragment: what arrived of it", 0, false, 64 << 10, 0, 1 << 20, -1, 64 << 10},
		{"a fragment: doubling past its end", 64 << 10, false, 16 << 10, 0, -1, -1, 64 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Conn{}
			c.readLimit = tc.limit
			c.fr.dec.remaining = tc.remaining
			c.fr.r, c.fr.w = 100, 100+tc.buffered
			if tc.inSocket != noSocket {
				c.fr.sock = arrivalStub{t, tc.inSocket}
			}
			if got := c.growth(tc.have, tc.last); got != tc.want {
				t.Errorf("growth(%d, %v) = %d, want %d", tc.have, tc.last, got, tc.want)
			}
		})
	}
}

// TestAppendPayload checks how an event loop adds a piece of a frame's
// payload to its message: in place while it fits, and otherwise into a
// buffer grown as growth says, exactly to the frame's end when the piece
// ends it.
func TestAppendPayload(t *testing.T) {
	for _, tc := range []struct {
		name      string
		have, cap int
		piece     int
		fin       bool
		remaining int64 // of the frame, after the piece
		wantCap   int
		inPlace   bool
	}{
		{"fits exactly", 10, 20, 10, true, 0, 20, true},
		{"fits", 10, 30, 10, false, 50, 30, true},
		{"ends its frame", 10, 10, 5, true, 0, 15, false},
		{"ends a fragment: doubling for the next", 10, 10, 5, false, 0, 15 + 32<<10, false},
		{"the frame goes on: 32 KiB", 0, 0, 100, true, 1 << 20, 100 + 32<<10, false},
		{"the frame goes on: to its end", 0, 0, 100, true, 1000, 1100, false},
		{"doubling", 64 << 10, 64 << 10, 1 << 10, true, 1 << 20, 2 * (65 << 10), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Conn{}
			c.readLimit = -1
			c.frameHdr.fin = tc.fin
			c.fr.dec.remaining = tc.remaining
			lc := &loopConn{c: c}
			b := make([]byte, tc.have, tc.cap)
			piece := make([]byte, tc.piece)
			piece[0] = 'x'
			got := lc.appendPayload(b, piece)
			if len(got) != tc.have+tc.piece || got[tc.have] != 'x' {
				t.Fatalf("%d bytes, the piece at %d: %q; want %d", len(got), tc.have, got[tc.have], tc.have+tc.piece)
			}
			if cap(got) != tc.wantCap {
				t.Errorf("room for %d bytes, want %d", cap(got), tc.wantCap)
			}
			if inPlace := tc.cap > 0 && &got[0] == &b[:1][0]; inPlace != tc.inPlace {
				t.Errorf("in place: %v, want %v", inPlace, tc.inPlace)
			}
		})
	}
}
