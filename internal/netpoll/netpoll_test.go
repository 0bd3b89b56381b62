//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package netpoll

import (
	"syscall"
	"testing"
	"time"
)

func TestWakeAndTimeout(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	start := time.Now()
	if err := p.Wait(20*time.Millisecond, func(int, Event) { t.Error("event without descriptors") }); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("Wait returned after %v, before its 20ms timeout", d)
	}
	// A wake-up from another goroutine ends a Wait without limit.
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Wait(-1, func(int, Event) { t.Error("event on a wake-up") })
	}()
	p.Wake()
	<-done
	// Wake-ups before a Wait are not lost, and count once.
	p.Wake()
	p.Wake()
	p.Wait(-1, nil)
	start = time.Now()
	p.Wait(10*time.Millisecond, nil)
	if time.Since(start) < 10*time.Millisecond {
		t.Error("a second Wait saw a wake-up that was already served")
	}
}

func TestReadableWritable(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])
	syscall.SetNonblock(fds[0], true)
	if err := p.Add(fds[0]); err != nil {
		t.Fatal(err)
	}
	wait := func() Event {
		var got Event
		p.Wait(time.Second, func(fd int, ev Event) {
			if fd != fds[0] {
				t.Errorf("event for fd %d, want %d", fd, fds[0])
			}
			got |= ev
		})
		return got
	}
	syscall.Write(fds[1], []byte("x"))
	if ev := wait(); ev&Readable == 0 {
		t.Errorf("after a write by the peer: %b, want Readable", ev)
	}
	// Level-triggered: unread data is reported again.
	if ev := wait(); ev&Readable == 0 {
		t.Errorf("unread data: %b, want Readable again", ev)
	}
	var b [8]byte
	syscall.Read(fds[0], b[:])
	if err := p.SetWrite(fds[0], true); err != nil {
		t.Fatal(err)
	}
	if ev := wait(); ev&Writable == 0 {
		t.Errorf("with the write watch on: %b, want Writable", ev)
	}
	if err := p.SetWrite(fds[0], false); err != nil {
		t.Fatal(err)
	}
	syscall.Close(fds[1])
	fds[1] = -1
	if ev := wait(); ev&Readable == 0 {
		t.Errorf("after the peer closed: %b, want Readable", ev)
	}
	if err := p.Remove(fds[0]); err != nil {
		t.Fatal(err)
	}
	p.Wait(10*time.Millisecond, func(int, Event) { t.Error("event after Remove") })
}

// TestModify: with the read watch off, unread data is not reported (a
// paused connection costs no wake-ups) while the write watch works; with
// it on again, the data is reported at once.
func TestModify(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])
	syscall.SetNonblock(fds[0], true)
	if err := p.Add(fds[0]); err != nil {
		t.Fatal(err)
	}
	wait := func(d time.Duration) Event {
		var got Event
		p.Wait(d, func(fd int, ev Event) { got |= ev })
		return got
	}
	syscall.Write(fds[1], []byte("x"))
	if err := p.Modify(fds[0], false, false); err != nil {
		t.Fatal(err)
	}
	if ev := wait(10 * time.Millisecond); ev != 0 {
		t.Errorf("with no watch: %b, want nothing", ev)
	}
	if err := p.Modify(fds[0], false, true); err != nil {
		t.Fatal(err)
	}
	if ev := wait(time.Second); ev&Writable == 0 || ev&Readable != 0 {
		t.Errorf("with the write watch only: %b, want Writable only", ev)
	}
	if err := p.Modify(fds[0], true, false); err != nil {
		t.Fatal(err)
	}
	if ev := wait(time.Second); ev&Readable == 0 || ev&Writable != 0 {
		t.Errorf("with the read watch on again: %b, want Readable only", ev)
	}
}

func TestWaitTimer(t *testing.T) {
	for _, tc := range []struct {
		timeout time.Duration
		millis  int
	}{
		{-1, -1},
		{-time.Hour, -1},
		{0, 0},
		{1, 1},
		{time.Millisecond, 1},
		{time.Millisecond + 1, 2},
		{1 << 62, 1 << 30},
	} {
		w := newWaitTimer(tc.timeout)
		if got := w.millis(); got != tc.millis {
			t.Errorf("newWaitTimer(%v).millis() = %d, want %d", tc.timeout, got, tc.millis)
		}
	}
	// After an interruption: without limit waits again, a poll does not, a
	// timeout waits for what is left of it.
	if w := newWaitTimer(-1); !w.interrupted() || w.millis() != -1 {
		t.Error("an interrupted Wait without limit does not wait again without limit")
	}
	if w := newWaitTimer(0); w.interrupted() {
		t.Error("an interrupted poll waits again")
	}
	w := newWaitTimer(time.Hour)
	if !w.interrupted() || w.left > time.Hour || w.left < time.Hour-time.Minute {
		t.Errorf("an interrupted Wait(1h) waits again for %v", w.left)
	}
	w = waitTimer{left: time.Hour, end: time.Now().Add(-time.Second)}
	if w.interrupted() || w.millis() != 0 {
		t.Errorf("an interrupted Wait past its end waits again (left %v)", w.left)
	}
}
