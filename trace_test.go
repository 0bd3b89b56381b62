package websocket_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/wstest"
)

// recordHandler is a slog.Handler that keeps every record it is given, at
// or above level, as a line of its message and attributes.
type recordHandler struct {
	level slog.Level
	vary  *slog.LevelVar // when set, the level instead of level
	mu    sync.Mutex
	lines []string
}

func (h *recordHandler) Enabled(_ context.Context, l slog.Level) bool {
	if h.vary != nil {
		return l >= h.vary.Level()
	}
	return l >= h.level
}

func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%s", a.Key, a.Value)
		return true
	})
	h.mu.Lock()
	h.lines = append(h.lines, b.String())
	h.mu.Unlock()
	return nil
}

func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

// matching returns the kept lines that start with prefix.
func (h *recordHandler) matching(prefix string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, l := range h.lines {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// traceOn turns tracing on into h for the rest of the test.
func traceOn(t *testing.T, h slog.Handler) {
	websocket.EnableTrace(true, h)
	t.Cleanup(func() { websocket.EnableTrace(false, slog.DiscardHandler) })
}

// TestTraceEveryFrame: with tracing on, every frame received and sent is
// logged at LevelTrace with its opcode, fin bit, length and a payload
// preview: a frame read whole from the buffer, the fragments of a message,
// a frame larger than a read (its preview cut at 64 bytes, in hex for
// binary), a ping and a close; and what the client sends, its automatic
// pong and its close reply among them. A preview that cuts a text frame
// in the middle of a character stays quoted text.
func TestTraceEveryFrame(t *testing.T) {
	big := bytes.Repeat([]byte{0xAB}, 200<<10) // spans many reads
	s := wstest.NewServer(wstest.Script(
		wstest.Send(wstest.OpText, []byte("hello")),
		wstest.SendFrame(wstest.Frame{Opcode: wstest.OpText, Payload: []byte("frag")}),
		wstest.SendFrame(wstest.Frame{Fin: true, Opcode: wstest.OpContinuation, Payload: []byte("ment")}),
		wstest.Send(wstest.OpPing, []byte("pp")),
		wstest.Send(wstest.OpBinary, big),
		wstest.Read,
		wstest.Read,
		wstest.Close(1000, "bye"),
	))
	defer s.Close()
	h := &recordHandler{level: websocket.LevelTrace}
	traceOn(t, h)
	c, err := websocket.Dial(context.Background(), s.URL, dialOpts())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 3 {
		if _, err := c.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	long := "a" + strings.Repeat("é", 40) // 81 bytes: the preview cuts an é in two
	for _, m := range []string{"out", long} {
		if err := c.SendText(m); err != nil {
			t.Fatal(err)
		}
	}
	var ce *websocket.CloseError
	if _, err := c.Recv(); !errors.As(err, &ce) || ce.Code != websocket.StatusNormal {
		t.Fatalf("last Recv: %v, want the server's close", err)
	}

	bigPreview := fmt.Sprintf("%x…", big[:64])
	frame := func(op websocket.Opcode, fin bool, n int, payload string) string {
		return fmt.Sprintf("opcode=%s fin=%t len=%d payload=%s", op, fin, n, payload)
	}
	wantRecv := []string{
		frame(websocket.OpText, true, 5, `"hello"`),
		frame(websocket.OpText, false, 4, `"frag"`),
		frame(websocket.OpContinuation, true, 4, `"ment"`),
		frame(websocket.OpPing, true, 2, `"pp"`),
		frame(websocket.OpBinary, true, len(big), bigPreview),
		frame(websocket.OpClose, true, 5, `1000 "bye"`),
	}
	wantSend := []string{
		frame(websocket.OpPong, true, 2, `"pp"`),
		frame(websocket.OpText, true, 3, `"out"`),
		frame(websocket.OpText, true, len(long), fmt.Sprintf("%q…", long[:64])),
		frame(websocket.OpClose, true, 2, `1000 ""`), // the code echoed
	}
	for _, dir := range []struct {
		name string
		want []string
	}{{"recv", wantRecv}, {"send", wantSend}} {
		prefix := websocket.LevelTrace.String() + " websocket: frame " + dir.name + " "
		var got []string
		for _, l := range h.matching(prefix) {
			got = append(got, strings.TrimPrefix(l, prefix))
		}
		// Tracing is process-wide: a connection another test left may
		// still be closing, so ours must be there in order, not alone.
		if !inOrder(got, dir.want) {
			t.Errorf("frames traced as %s:\n got %q\nwant %q among them, in order", dir.name, got, dir.want)
		}
	}
}

// TestTraceLevelChangedAfterEnable: the handler's level is asked at every
// frame, so a slog.LevelVar lowered to LevelTrace after EnableTrace traces
// the frames from then on, and raised again stops it.
func TestTraceLevelChangedAfterEnable(t *testing.T) {
	s := wstest.NewServer(wstest.Echo)
	defer s.Close()
	var lv slog.LevelVar
	lv.Set(slog.LevelInfo)
	h := &recordHandler{vary: &lv}
	traceOn(t, h)
	c, err := websocket.Dial(context.Background(), s.URL, dialOpts())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echo := func(m string) {
		t.Helper()
		if err := c.SendText(m); err != nil {
			t.Fatal(err)
		}
		if got, err := c.Recv(); err != nil || got.Text() != m {
			t.Fatalf("Recv = %q, %v", got.Text(), err)
		}
	}
	traced := func(m string) bool {
		for _, dir := range []string{"send", "recv"} {
			found := false
			for _, l := range h.matching(websocket.LevelTrace.String() + " websocket: frame " + dir + " ") {
				found = found || strings.Contains(l, fmt.Sprintf("%q", m))
			}
			if !found {
				return false
			}
		}
		return true
	}
	echo("before")
	lv.Set(websocket.LevelTrace)
	echo("lowered")
	lv.Set(slog.LevelInfo)
	echo("raised")
	if traced("before") || !traced("lowered") || traced("raised") {
		t.Errorf("frames traced: at Info %v, at LevelTrace %v, at Info again %v; want false, true, false",
			traced("before"), traced("lowered"), traced("raised"))
	}
}

// TestDump: Dump logs its title and message at debug level while tracing
// is on, and nothing while it is off or the handler skips debug.
func TestDump(t *testing.T) {
	h := &recordHandler{level: slog.LevelDebug}
	traceOn(t, h)
	websocket.Dump("title", "the message")
	want := []string{"DEBUG --- title ---\nthe message\n-----"}
	// Only Dump's lines: tracing is process-wide, and a connection another
	// test left may log its own.
	if got := h.matching("DEBUG --- "); !slices.Equal(got, want) {
		t.Errorf("Dump while on logged %q, want %q", got, want)
	}

	websocket.EnableTrace(false, h)
	websocket.Dump("off", "not logged")
	quiet := &recordHandler{level: slog.LevelInfo}
	websocket.EnableTrace(true, quiet)
	websocket.Dump("info", "not logged")
	if got := h.matching("DEBUG --- "); len(got) != 1 {
		t.Errorf("Dump while off logged %q", got[1:])
	}
	if got := quiet.matching("DEBUG"); len(got) != 0 {
		t.Errorf("Dump to a handler without debug logged %q", got)
	}
}

// inOrder reports whether want's lines are among got's, in the same order.
func inOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}
