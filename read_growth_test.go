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
