package websocket

import (
	"sync"
	"testing"
)

// TestMsgCounterFold: the counts stay exact when either field of the
// packed word would overflow, and a reader never sees them go back.
func TestMsgCounterFold(t *testing.T) {
	var m msgCounter
	m.word.Store((msgMax-2)<<byteBits | (byteMask - 10)) // as if counted
	wantMsgs, wantBytes := uint64(msgMax-2), uint64(byteMask-10)
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() { // a reader, for the race detector and monotonicity
		var lastMsgs, lastBytes uint64
		for {
			msgs, bytes := m.load()
			if msgs < lastMsgs || bytes < lastBytes {
				t.Errorf("counts went back: %d, %d after %d, %d", msgs, bytes, lastMsgs, lastBytes)
				return
			}
			lastMsgs, lastBytes = msgs, bytes
			select {
			case <-done:
				return
			default:
			}
		}
	})
	for i := range 3000 {
		n := uint64(i % 7)
		if i == 5 {
			n = byteMask // a huge message: folds at once
		}
		msgs := uint64(i % 2)
		m.add(msgs, n)
		wantMsgs += msgs
		wantBytes += n
		if msgs, bytes := m.load(); msgs != wantMsgs || bytes != wantBytes {
			t.Fatalf("after add %d: %d messages, %d bytes; want %d, %d", i, msgs, bytes, wantMsgs, wantBytes)
		}
	}
	close(done)
	wg.Wait()
	if m.msgs.Load() == 0 {
		t.Error("no fold happened")
	}
}
