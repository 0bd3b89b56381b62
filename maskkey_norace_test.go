//go:build !race

// The race detector adds to allocations and sync.Pool drops items at random.

package websocket

import (
	"net"
	"runtime"
	"testing"
)

// TestMaskKeysShareGenerators checks that a connection's first frame costs
// it only a small batch of mask keys, not a random generator of its own
// (about 320 bytes), and that keys keep coming fresh across batches and
// connections.
func TestMaskKeysShareGenerators(t *testing.T) {
	nc, peer := net.Pipe()
	defer nc.Close()
	defer peer.Close()
	newConn(nc, nil, &DialOptions{}).maskKey() // the shared generator exists now
	const n = 100
	conns := make([]*Conn, n)
	for i := range conns {
		conns[i] = newConn(nc, nil, &DialOptions{})
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	seen := map[[4]byte]int{}
	for _, c := range conns {
		seen[c.maskKey()]++
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 128 {
		t.Errorf("a connection's first mask key allocated %d bytes, want at most 128 (a batch, and now and then a generator for another P)", per)
	}
	for range 3 * maskKeyBatch {
		seen[conns[0].maskKey()]++
	}
	if len(seen) < n+3*maskKeyBatch-2 { // 2^-32 per pair to collide
		t.Errorf("%d distinct keys of %d", len(seen), n+3*maskKeyBatch)
	}
}
