package h2

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"
)

// TestLiveness: a connection that receives nothing for ReadIdleTimeout
// sends a PING. Acknowledged, it stays up and checks again later; left
// unacknowledged for PingTimeout, the connection fails with a timeout,
// and so do its streams, with a GOAWAY to the server.
func TestLiveness(t *testing.T) {
	t.Run("acknowledged", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cc, p := start(t, &Config{ReadIdleTimeout: time.Second, PingTimeout: time.Second}, extConnect)
			for range 3 {
				f := p.next(http2.FramePing)
				p.fr.WritePing(true, f.ping)
			}
			if err := cc.Err(); err != nil {
				t.Fatalf("connection failed: %v", err)
			}
		})
	})
	t.Run("unacknowledged", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cc, p := start(t, &Config{ReadIdleTimeout: time.Second, PingTimeout: 2 * time.Second}, extConnect)
			st := p.open(cc)
			began := time.Now()
			p.next(http2.FramePing) // never acknowledged
			<-cc.Done()
			if d := time.Since(began); d != 3*time.Second {
				t.Errorf("the connection failed after %v, want ReadIdleTimeout + PingTimeout = 3s", d)
			}
			err := cc.Err()
			if err == nil || !strings.Contains(err.Error(), "no PING acknowledgement") {
				t.Fatalf("connection error %v, want a PING timeout", err)
			}
			if _, rerr := st.Read(make([]byte, 1)); !errors.Is(rerr, err) {
				t.Fatalf("stream read after it: %v, want the connection's error", rerr)
			}
			if f := p.next(http2.FrameGoAway); f.code != http2.ErrCodeNo {
				t.Fatalf("GOAWAY %v, want NO_ERROR", f.code)
			}
		})
	})
}

// TestLivenessPostponedByTraffic: bytes arriving postpone the check, so a
// connection that keeps receiving sends no PING of its own; it comes
// ReadIdleTimeout after the last frame.
func TestLivenessPostponedByTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const idle = time.Second
		cc, p := start(t, &Config{ReadIdleTimeout: idle}, extConnect)
		for range 10 {
			time.Sleep(idle / 2)
			p.fr.WritePing(false, [8]byte{9}) // the server's own PING: traffic
			if f := p.next(http2.FramePing); !f.flags.Has(http2.FlagPingAck) {
				t.Fatal("the client sent a PING of its own while frames kept arriving")
			}
		}
		last := time.Now()
		if f := p.next(http2.FramePing); f.flags.Has(http2.FlagPingAck) {
			t.Fatal("an acknowledgement, want the client's PING")
		}
		if d := time.Since(last); d != idle {
			t.Fatalf("the client's PING came %v after the last frame, want %v", d, idle)
		}
		if err := cc.Err(); err != nil {
			t.Fatal(err)
		}
	})
}
