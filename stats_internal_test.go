//go:build !wsclient_nostats

package websocket

import (
	"hash/maphash"
	"sync"
	"testing"
	"time"
)

// TestPingMark: a pong is a measurement only when its payload's hash is the
// last ping's and only once; the round trip is right across the wrap of
// the mark's time bits, and a mark is never the 0 that says none.
func TestPingMark(t *testing.T) {
	const wrap = int64(pingTimeMask) + 1
	for _, tc := range []struct {
		name        string
		sentAt, now int64
		sent, got   uint64
		want        time.Duration
		ok          bool
	}{
		{"answered", 1000, 1500, 7, 7, 500, true},
		{"another payload", 1000, 1500, 7, 8, 0, false},
		{"hashes equal in the low bits", 1000, 1500, 7, 7 + 1<<pingSumBits, 500, true},
		{"answered at once", 1000, 1000, 7, 7, 0, true},
		{"across the wrap", wrap - 100, wrap + 400, 3, 3, 500, true},
		{"at 0 with a hash of 0", 0, 25, 0, 0, 25 - 1, true}, // 1 ns late, not lost
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p pingMark
			p.set(tc.sentAt, tc.sent)
			if p.v.Load() == 0 {
				t.Fatal("the mark reads as no ping")
			}
			rtt, ok := p.take(tc.now, tc.got)
			if rtt != tc.want || ok != tc.ok {
				t.Fatalf("take = %v, %t; want %v, %t", rtt, ok, tc.want, tc.ok)
			}
			if _, again := p.take(tc.now, tc.got); again {
				t.Fatal("one ping measured twice")
			}
		})
	}
}

// TestLatencyAnsweredAtOnce: a pong that a coarse clock sees come back in
// no time is a measurement of 1 ns, not the 0 that says none was answered;
// one for another payload is none.
func TestLatencyAnsweredAtOnce(t *testing.T) {
	var s connStats
	s.ping.set(1000, maphash.Bytes(pingSeed, []byte("a")))
	s.pongAt(1000, []byte("b"))
	if l := s.latency.Load(); l != 0 {
		t.Fatalf("a pong for another payload measured %d ns", l)
	}
	s.pongAt(1000, []byte("a"))
	if l := s.latency.Load(); l != 1 {
		t.Fatalf("a pong in no time measured %d ns, want 1", l)
	}
}

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

// TestStatsNeverWaits: Stats returns while a sender and a reader hold
// their locks (as in the instant a frame is queued or a buffered message
// decoded), with the counts published so far; once the locks are free it
// adds what each side has not published yet.
func TestStatsNeverWaits(t *testing.T) {
	c := connOver(nil, nil)
	if err := c.SendBinary([]byte("abc")); err != nil { // written: published
		t.Fatal(err)
	}
	c.writeMu.Lock()
	c.outMsgs, c.outBytes = 2, 20 // queued, not yet published
	c.readMu.Lock()
	c.inMsgs, c.inBytes = 4, 40 // decoded, not yet published
	st := c.Stats()
	if st.MessagesSent != 1 || st.BytesSent != 3 || st.MessagesReceived != 0 || st.BytesReceived != 0 {
		t.Errorf("with both locks held: sent %d, %d, received %d, %d; want 1, 3, 0, 0",
			st.MessagesSent, st.BytesSent, st.MessagesReceived, st.BytesReceived)
	}
	c.readMu.Unlock()
	c.writeMu.Unlock()
	st = c.Stats()
	if st.MessagesSent != 3 || st.BytesSent != 23 || st.MessagesReceived != 4 || st.BytesReceived != 40 {
		t.Errorf("with the locks free: sent %d, %d, received %d, %d; want 3, 23, 4, 40",
			st.MessagesSent, st.BytesSent, st.MessagesReceived, st.BytesReceived)
	}
}

// TestPeerClosedChan: every channel peerClosedChan hands out closes once
// the peer's close frame is marked, whether asked for before, during or
// after, and marking twice is harmless.
//
// The channels live in the Conn's rare state, made by the first to ask:
// the marking may come before it exists, or while it is being made
// (every other round asks nothing before).
func TestPeerClosedChan(t *testing.T) {
	for round := range 200 {
		c := connOver(nil, nil)
		var chans []<-chan struct{}
		if round%2 == 0 {
			chans = append(chans, c.peerClosedChan())
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				ch := c.peerClosedChan()
				mu.Lock()
				chans = append(chans, ch)
				mu.Unlock()
			})
		}
		wg.Go(c.markPeerClosed)
		wg.Go(c.markPeerClosed)
		wg.Wait()
		for _, ch := range append(chans, c.peerClosedChan()) {
			<-ch // a channel left open hangs the test
		}
	}
	// Marked before anyone asked: no rare state was there to close.
	c := connOver(nil, nil)
	c.markPeerClosed()
	select {
	case <-c.peerClosedChan():
	default:
		t.Error("asked after the mark, peerClosedChan returned an open channel")
	}
}

// TestLazyClose: a lazyClose makes its channel only when waited on
// before it is closed; every channel it hands out, before, during or
// after the close, is closed by it, once.
func TestLazyClose(t *testing.T) {
	var unwaited lazyClose
	unwaited.close()
	unwaited.close() // twice is harmless
	if unwaited.p.Load() != &closedChan {
		t.Error("closed with no waiter: want closedChan, no channel made")
	}
	for range 200 {
		var l lazyClose
		before := l.wait()
		select {
		case <-before:
			t.Fatal("the channel is closed before close")
		default:
		}
		if l.wait() != before {
			t.Fatal("two waits before the close got different channels")
		}
		chans := make([]<-chan struct{}, 8)
		var wg sync.WaitGroup
		for i := range chans {
			wg.Go(func() { chans[i] = l.wait() })
		}
		wg.Go(l.close)
		wg.Go(l.close)
		wg.Wait()
		for _, ch := range append(chans, before, l.wait()) {
			<-ch // a channel left open hangs the test
		}
	}
}

// TestMsgCounterFoldEachField: a fold comes when either field alone would
// overflow, the other far from its limit.
func TestMsgCounterFoldEachField(t *testing.T) {
	for _, tt := range []struct {
		name              string
		msgs, bytes       uint64 // in the word
		addMsgs, addBytes uint64
	}{
		{"bytes", 1, byteMask - 10, 1, 20},
		{"messages", msgMax, 10, 1, 5},
		{"bytes exactly full", 1, byteMask - 10, 1, 10},
		{"messages exactly full", msgMax - 1, 10, 1, 5},
	} {
		var m msgCounter
		m.word.Store(tt.msgs<<byteBits | tt.bytes)
		m.add(tt.addMsgs, tt.addBytes)
		if msgs, bytes := m.load(); msgs != tt.msgs+tt.addMsgs || bytes != tt.bytes+tt.addBytes {
			t.Errorf("%s: %d messages, %d bytes; want %d, %d", tt.name, msgs, bytes, tt.msgs+tt.addMsgs, tt.bytes+tt.addBytes)
		}
	}
}
