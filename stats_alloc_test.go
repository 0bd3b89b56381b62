//go:build !race && !wsclient_nostats

// Under the race detector sync.Pool drops items at random, so a write
// buffer taken from the pool may be a fresh allocation.

package websocket

import (
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/wstest"
)

// TestStatsNoAllocs: counting allocates nothing, on the receiving fast
// path and the general one, for control frames and the latency, on the
// sending side, and reading the counters.
func TestStatsNoAllocs(t *testing.T) {
	const runs = 100
	var unit []byte
	unit = wstest.AppendFrame(unit, true, byte(OpPong), []byte("rtt"))      // answers the run's ping
	unit = wstest.AppendFrame(unit, true, byte(OpBinary), make([]byte, 16)) // the fast path
	unit = wstest.AppendFrame(unit, false, byte(OpText), []byte("ab"))      // the general one
	unit = wstest.AppendFrame(unit, true, byte(OpPing), []byte("p"))
	unit = wstest.AppendFrame(unit, true, byte(OpContinuation), []byte("cd"))
	var wire []byte
	for range runs + 1 {
		wire = append(wire, unit...)
	}
	c := connOver(wire, nil)
	buf := make([]byte, 0, 64)
	msg, ping := make([]byte, 16), []byte("rtt")
	var st Stats
	var lat time.Duration
	run := func() {
		if err := c.SendBinary(msg); err != nil {
			t.Fatal(err)
		}
		if err := c.Ping(ping); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, _, err := c.RecvAppend(buf[:0]); err != nil {
				t.Fatal(err)
			}
		}
		st, lat = c.Stats(), c.Latency()
	}
	if a := testing.AllocsPerRun(runs, run); a != 0 {
		t.Errorf("%v allocations per run", a)
	}
	const n = runs + 1
	want := Stats{MessagesSent: n, BytesSent: 16 * n, MessagesReceived: 2 * n, BytesReceived: 20 * n,
		PingsSent: n, PingsReceived: n, PongsSent: n, PongsReceived: n, Latency: lat}
	if st != want || lat <= 0 {
		t.Errorf("Stats = %+v (latency %v), want %+v", st, lat, want)
	}
}
