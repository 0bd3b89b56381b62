package websocket

import (
	"testing"

	"github.com/wsclient/websocket/internal/wstest"
)

// loopReader yields wire over and over.
type loopReader struct {
	wire []byte
	off  int
}

func (r *loopReader) Read(p []byte) (int, error) {
	n := copy(p, r.wire[r.off:])
	r.off = (r.off + n) % len(r.wire)
	return n, nil
}

// BenchmarkRecvMemory receives messages from memory, with no socket: the
// CPU cost of the receiving path alone, whole frames (the fast path) and
// messages of two fragments (the general one). With BenchmarkSendDiscard
// it is what bench/stats-overhead.sh compares with and without the
// statistics counters.
func BenchmarkRecvMemory(b *testing.B) {
	for _, tt := range []struct {
		name      string
		size      int
		fragments bool
	}{{"whole/16B", 16, false}, {"whole/1KiB", 1024, false}, {"fragments/16B", 16, true}} {
		b.Run(tt.name, func(b *testing.B) {
			var wire []byte
			for len(wire) < 64<<10 {
				if tt.fragments {
					wire = wstest.AppendFrame(wire, false, byte(OpBinary), make([]byte, tt.size/2))
					wire = wstest.AppendFrame(wire, true, byte(OpContinuation), make([]byte, tt.size/2))
				} else {
					wire = wstest.AppendFrame(wire, true, byte(OpBinary), make([]byte, tt.size))
				}
			}
			c := newConn(&scriptConn{r: &loopReader{wire: wire}}, nil, &DialOptions{})
			buf := make([]byte, 0, tt.size)
			b.SetBytes(int64(tt.size))
			b.ReportAllocs()
			for b.Loop() {
				_, got, err := c.RecvAppend(buf[:0])
				if err != nil || len(got) != tt.size {
					b.Fatal(len(got), err)
				}
			}
		})
	}
}
