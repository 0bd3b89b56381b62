package websocket

import (
	"io"
	"log/slog"
	"testing"
)

// TestEnableTraceOff: after EnableTrace(false, h) the IsEnabledFor functions
// report false, whatever h would log.
func TestEnableTraceOff(t *testing.T) {
	saved, savedActive := currentTracer.Load(), traceActive.Load()
	t.Cleanup(func() {
		currentTracer.Store(saved)
		traceActive.Store(savedActive)
	})
	all := slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: LevelTrace})
	enabled := func() [3]bool { return [3]bool{IsEnabledForError(), IsEnabledForDebug(), IsEnabledForTrace()} }
	EnableTrace(true, all)
	if got := enabled(); got != [3]bool{true, true, true} {
		t.Fatalf("tracing on: IsEnabledForError, Debug, Trace = %v, want all true", got)
	}
	for _, h := range []slog.Handler{nil, all} {
		EnableTrace(false, h)
		if got := enabled(); got != [3]bool{} {
			t.Errorf("EnableTrace(false, %T): IsEnabledForError, Debug, Trace = %v, want all false", h, got)
		}
		if traceFrames() || traceEnabled() {
			t.Errorf("EnableTrace(false, %T): still tracing", h)
		}
	}
}
