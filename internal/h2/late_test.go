package h2

import (
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"
)

// closeStreams opens n streams and resets each, the peer answering every
// reset with the frames a server still had in flight for the stream: an
// empty DATA that ends it, a RST_STREAM and a WINDOW_UPDATE.
func closeStreams(p *peer, cc *ClientConn, n int) {
	p.t.Helper()
	for range n {
		st := p.open(cc)
		st.Reset()
		p.next(http2.FrameRSTStream)
		p.fr.WriteData(st.ID(), true, nil)
		p.fr.WriteRSTStream(st.ID(), http2.ErrCodeCancel)
		p.fr.WriteWindowUpdate(st.ID(), 1)
	}
}

// lateFlood sends n frames for the closed stream id.
func lateFlood(p *peer, id uint32, n int) {
	for range n {
		if p.fr.WriteRSTStream(id, http2.ErrCodeCancel) != nil {
			return
		}
	}
}

// TestChurnIsNotAFlood: a client that opens and closes 400 streams within
// a second, the server sending 3 frames for each after it closed (1,200
// frames for closed streams), keeps its connection: each stream that ends
// allows 4 such frames before they count against the 1,000 a second.
func TestChurnIsNotAFlood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc, p := start(t, nil, extConnect)
		closeStreams(p, cc, 400)
		p.ping(cc)
		if err := cc.Err(); err != nil {
			t.Fatalf("the connection failed: %v", err)
		}
	})
}

// TestLateFramesAreBounded: the allowance for frames of closed streams is
// what the streams that ended earned, less what was spent, and then the
// bound of frames without effect applies: 100 streams closed, 300 late
// frames, leave 100 free frames and 1,000 more within a second; one more
// gets ENHANCE_YOUR_CALM.
func TestLateFramesAreBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc, p := start(t, nil, extConnect)
		closeStreams(p, cc, 100)
		p.ping(cc)
		time.Sleep(2 * time.Second) // a new second
		lateFlood(p, 1, 100+maxUseless)
		p.ping(cc)
		go lateFlood(p, 1, 1)
		if f := p.next(http2.FrameGoAway); f.code != http2.ErrCodeEnhanceYourCalm {
			t.Fatalf("GOAWAY %v", f.code)
		}
		<-cc.Done()
	})
}

// TestLateAllowanceIsCapped: the allowance saved up by streams that ended
// with nothing late stops at maxLate, so a server cannot bank a flood:
// 1,100 streams (4,400 earned) allow 4,096 free frames, then 1,000.
func TestLateAllowanceIsCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc, p := start(t, nil, extConnect)
		for range 1100 {
			st := p.open(cc)
			st.Reset()
			p.next(http2.FrameRSTStream)
		}
		p.ping(cc)
		time.Sleep(2 * time.Second)
		lateFlood(p, 1, maxLate+maxUseless)
		p.ping(cc)
		go lateFlood(p, 1, 1)
		if f := p.next(http2.FrameGoAway); f.code != http2.ErrCodeEnhanceYourCalm {
			t.Fatalf("GOAWAY %v", f.code)
		}
		<-cc.Done()
	})
}
