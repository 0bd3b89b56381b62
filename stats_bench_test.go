//go:build unix

package websocket

import (
	"syscall"
	"testing"

	"github.com/wsclient/websocket/internal/wstest"
)

// cpuTime returns the CPU time the process has used, in ns: on a busy
// machine a steadier measure than the wall clock, which also counts the
// time other processes held the CPU.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// reportCPU reports the CPU time per op since cpu0.
func reportCPU(b *testing.B, cpu0 int64) {
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

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
// messages of two fragments (the general one). With BenchmarkSendMemory
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
			cpu0 := cpuTime()
			for b.Loop() {
				_, got, err := c.RecvAppend(buf[:0])
				if err != nil || len(got) != tt.size {
					b.Fatal(len(got), err)
				}
			}
			reportCPU(b, cpu0)
		})
	}
}

// BenchmarkSendMemory sends messages to a connection that discards them:
// the CPU cost of the sending path (header, mask, the write call).
func BenchmarkSendMemory(b *testing.B) {
	for _, size := range []int{16, 1024} {
		b.Run(byteSize(size), func(b *testing.B) {
			c := connOver(nil, nil)
			p := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				if err := c.SendBinary(p); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu0)
		})
	}
}
