package websocket

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
)

// TestEnableTraceOff: after EnableTrace(false, h) the IsEnabledFor functions
// report false, whatever h would log.
func TestEnableTraceOff(t *testing.T) {
	saved, savedActive := currentTracer.Load(), traceOn.Load()
	t.Cleanup(func() {
		currentTracer.Store(saved)
		traceOn.Store(savedActive)
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

// TestEnableTraceNilHandler: EnableTrace(true, nil) writes text to the
// standard error at every level, frame dumps named TRACE (not DEBUG-4).
func TestEnableTraceNilHandler(t *testing.T) {
	saved, savedActive := currentTracer.Load(), traceOn.Load()
	t.Cleanup(func() {
		currentTracer.Store(saved)
		traceOn.Store(savedActive)
	})
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	stderr := os.Stderr
	os.Stderr = w // the handler takes the file when it is made
	EnableTrace(true, nil)
	os.Stderr = stderr
	if !IsEnabledForTrace() || !traceFrames() {
		t.Fatal("EnableTrace(true, nil) does not trace frames")
	}
	read := make(chan []byte, 1)
	go func() { // what other tests' leftovers log too must not fill the pipe
		out, _ := io.ReadAll(r)
		read <- out
	}()
	traceFrame("send", &header{fin: true, opcode: OpText, length: 2}, []byte("hi"))
	Dump("title", "message")
	EnableTrace(false, nil) // nothing more goes to the pipe
	w.Close()
	out := <-read
	for _, want := range []string{
		`level=TRACE msg="websocket: frame send" opcode=text fin=true len=2 payload="\"hi\""`,
		`level=DEBUG msg="--- title ---\nmessage\n-----"`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("standard error lacks %s:\n%s", want, out)
		}
	}
}

// panicHandler is a slog handler that panics at every record.
type panicHandler struct{}

func (panicHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (panicHandler) Handle(context.Context, slog.Record) error { panic("handler") }
func (h panicHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h panicHandler) WithGroup(string) slog.Handler           { return h }

// TestRecvHandlerPanics: a trace handler that panics while a received
// frame is logged panics out of RecvAppend, RecvData or an App's reader
// (recvItem), and the read lock is released on the way: their fast path,
// which has no deferred unlock, is not taken while frames are traced.
func TestRecvHandlerPanics(t *testing.T) {
	saved, savedActive := currentTracer.Load(), traceOn.Load()
	t.Cleanup(func() {
		currentTracer.Store(saved)
		traceOn.Store(savedActive)
	})
	for name, recv := range map[string]func(c *Conn){
		"RecvAppend": func(c *Conn) { c.RecvAppend(nil) },
		"RecvData":   func(c *Conn) { c.RecvData(false) },
		"recvItem":   func(c *Conn) { c.recvItem() },
	} {
		var wire []byte
		wire = appendTestFrame(wire, true, OpBinary, "one")
		wire = appendTestFrame(wire, true, OpBinary, "two")
		c := connOver(wire, nil)
		if _, p, err := c.RecvAppend(nil); err != nil || string(p) != "one" {
			t.Fatalf("RecvAppend = %q, %v", p, err) // the frames are buffered now
		}
		EnableTrace(true, panicHandler{})
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic with the handler", name)
				}
			}()
			recv(c)
		}()
		EnableTrace(false, nil)
		if !c.readMu.TryLock() {
			t.Fatalf("%s: the read lock is still held after the handler's panic", name)
		}
		c.readMu.Unlock()
	}
}
