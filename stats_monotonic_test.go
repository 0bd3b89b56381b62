//go:build !wsclient_nostats

package websocket_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// blockingTrace is a trace handler that, once armed, holds the next record
// with message msg until released: a slow log sink, which keeps a reader
// or writer inside its call for as long as a test needs.
type blockingTrace struct {
	msg                     string
	armed, entered, release chan struct{}
	once                    sync.Once // only the first armed record is held
}

func newBlockingTrace(msg string) *blockingTrace {
	return &blockingTrace{msg: msg, armed: make(chan struct{}), entered: make(chan struct{}), release: make(chan struct{})}
}

func (h *blockingTrace) Enabled(context.Context, slog.Level) bool { return true }
func (h *blockingTrace) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *blockingTrace) WithGroup(string) slog.Handler            { return h }
func (h *blockingTrace) Handle(_ context.Context, r slog.Record) error {
	if r.Message != h.msg {
		return nil
	}
	select {
	case <-h.armed:
	default:
		return nil
	}
	h.once.Do(func() {
		h.entered <- struct{}{}
		<-h.release
	})
	return nil
}

// TestStatsCountsNeverGoBack: the message and byte counts only grow, as
// exporters report them as monotonic counters. A Stats call that finds
// the reader decoding a buffered message, or a sender queueing a frame,
// cannot read their latest counts; it returned the published ones, below
// what an earlier call had returned (1 message received, then 0).
func TestStatsCountsNeverGoBack(t *testing.T) {
	t.Run("received", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newBlockingTrace("websocket: frame recv")
			websocket.EnableTrace(true, h)
			defer websocket.EnableTrace(false, nil)
			srv := wstest.NewPipeServer(func(c *wstest.Conn) {
				c.Accept(nil)
				raw := wstest.Frame{Fin: true, Opcode: wstest.OpText, Payload: []byte("one")}.AppendTo(nil)
				raw = wstest.Frame{Fin: true, Opcode: wstest.OpText, Payload: []byte("two")}.AppendTo(raw)
				c.WriteRaw(raw) // both in one read
				c.ReadFrame()
			})
			defer srv.Close()
			c, err := websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{NetDialContext: srv.DialContext})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Abort()
			if m, err := c.Recv(); err != nil || m.Text() != "one" {
				t.Fatal(m, err)
			}
			before := c.Stats()
			close(h.armed)
			done := make(chan struct{})
			go func() { defer close(done); c.Recv() }()
			<-h.entered // the second Recv decodes "two", with no socket read
			during := c.Stats()
			close(h.release)
			<-done
			after := c.Stats()
			if during.MessagesReceived < before.MessagesReceived || during.BytesReceived < before.BytesReceived {
				t.Errorf("received %d messages (%d bytes), then %d (%d) during the next Recv", before.MessagesReceived,
					before.BytesReceived, during.MessagesReceived, during.BytesReceived)
			}
			if after.MessagesReceived != 2 || after.BytesReceived != 6 {
				t.Errorf("after both: %d messages, %d bytes; want 2, 6", after.MessagesReceived, after.BytesReceived)
			}
		})
	})
	t.Run("sent", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := newBlockingTrace("websocket: frame send")
			websocket.EnableTrace(true, h)
			defer websocket.EnableTrace(false, nil)
			srv := wstest.NewPipeServer(wstest.Script(wstest.Accept(nil), wstest.Stall))
			defer srv.Close()
			c, err := websocket.Dial(context.Background(), srv.URL, &websocket.DialOptions{NetDialContext: srv.DialContext})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Abort()
			go c.SendBinary(make([]byte, 16<<20)) // stuck in its write: later sends queue
			synctest.Wait()
			c.SendText("b") // queued
			before := c.Stats()
			close(h.armed)
			go c.SendText("c") // queued; its trace holds the write lock
			<-h.entered
			during := c.Stats()
			close(h.release)
			if during.MessagesSent < before.MessagesSent || during.BytesSent < before.BytesSent {
				t.Errorf("sent %d messages (%d bytes), then %d (%d) while the next send queued", before.MessagesSent,
					before.BytesSent, during.MessagesSent, during.BytesSent)
			}
		})
	})
}
