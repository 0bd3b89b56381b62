package h2

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestFinishWaitsForServer: after a close handshake, Finish lets the
// server end the stream first (RFC 6455 §7.1.1) and answers its END_STREAM
// with END_STREAM; the slot is free then.
func TestFinishWaitsForServer(t *testing.T) {
	cc, p := start(t, nil, extConnect)
	st := p.open(cc)
	if err := st.Finish(time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Read(make([]byte, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Read after Finish: %v, want ErrClosed", err)
	}
	cc.mu.Lock()
	ended := st.localEnded
	cc.mu.Unlock()
	if ended {
		t.Fatal("Finish queued END_STREAM before the server ended the stream")
	}
	p.fr.WriteData(st.ID(), true, nil)
	f := p.next(http2.FrameData)
	if f.stream != st.ID() || !f.flags.Has(http2.FlagDataEndStream) {
		t.Fatalf("after the server's END_STREAM: %+v, want the client's END_STREAM", f)
	}
	p.ping(cc)
	cc.mu.Lock()
	active, removed := cc.active, st.removed
	cc.mu.Unlock()
	if active != 0 || !removed {
		t.Errorf("active %d, removed %v after both ends: want the slot free", active, removed)
	}

	// The server ended its side first: END_STREAM at once.
	st = p.open(cc)
	p.fr.WriteData(st.ID(), true, nil)
	p.ping(cc) // the END_STREAM has been read
	st.Finish(time.Minute)
	f = p.next(http2.FrameData)
	if f.stream != st.ID() || !f.flags.Has(http2.FlagDataEndStream) {
		t.Fatalf("Finish after the server's END_STREAM: %+v, want END_STREAM", f)
	}
}

// TestFinishResetsAfterLinger: a server that never ends the stream after
// the close handshake gets RST_STREAM(CANCEL) after the linger, never an
// END_STREAM, and the connection goes on.
func TestFinishResetsAfterLinger(t *testing.T) {
	cc, p := start(t, nil, extConnect)
	st := p.open(cc)
	st.Finish(10 * time.Millisecond)
	var got []frame
	for f := range p.frames {
		if f.stream != st.ID() {
			continue
		}
		got = append(got, f)
		if f.typ == http2.FrameRSTStream {
			break
		}
	}
	if len(got) != 1 || got[0].code != http2.ErrCodeCancel {
		t.Fatalf("frames on the stream after Finish: %+v, want only RST_STREAM(CANCEL)", got)
	}
	p.ping(cc)
	if err := cc.Err(); err != nil {
		t.Fatalf("connection: %v", err)
	}
}
