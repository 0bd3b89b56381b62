package wstest

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestPipeDurableInBubble: readers and writers waiting on a pipe let a
// synctest bubble go idle, so its clock advances. Two writers on one end
// at once are the case net.Pipe fails (the second waits on a mutex, and
// the bubble hangs).
func TestPipeDurableInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newPipe()
		var wg sync.WaitGroup
		chunk := bytes.Repeat([]byte("x"), pipeBuffer) // fills the buffer alone
		for range 2 {
			wg.Go(func() {
				if _, err := a.Write(chunk); err != nil {
					t.Error(err)
				}
			})
		}
		time.Sleep(time.Hour) // returns only once both writers are durably blocked
		n, err := io.ReadFull(b, make([]byte, 2*pipeBuffer))
		if err != nil || n != 2*pipeBuffer {
			t.Fatalf("read %d, %v", n, err)
		}
		wg.Wait()
		a.Close()
		b.Close()
	})
}

func TestPipeDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newPipe()
		defer a.Close()
		defer b.Close()
		// An empty read does not wait.
		if n, err := a.Read(nil); n != 0 || err != nil {
			t.Errorf("Read(nil) = %d, %v; want 0, nil", n, err)
		}
		start := time.Now()
		a.SetReadDeadline(start.Add(time.Second))
		if n, err := a.Read(make([]byte, 1)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read = %d, %v; want 0, a timeout", n, err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("read timed out after %v", d)
		}
		var ne net.Error
		if _, err := a.Read(nil); !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("Read after the deadline = %v, want a net.Error timeout", err)
		}
		a.SetReadDeadline(time.Time{})
		b.Write([]byte("z"))
		if n, err := a.Read(make([]byte, 1)); n != 1 || err != nil {
			t.Errorf("Read after clearing the deadline = %d, %v", n, err)
		}

		b.Write(make([]byte, pipeBuffer)) // full
		b.SetDeadline(time.Now().Add(2 * time.Second))
		start = time.Now()
		if n, err := b.Write([]byte("more")); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Write to a full pipe = %d, %v; want a timeout", n, err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("write timed out after %v", d)
		}
	})
}

func TestPipeClose(t *testing.T) {
	a, b := newPipe()
	if n, err := a.Write([]byte("bye")); n != 3 || err != nil {
		t.Errorf("Write = %d, %v; want 3, nil", n, err)
	}
	a.Close()
	if _, err := a.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write on a closed end = %v, want net.ErrClosed", err)
	}
	if n, err := a.Read(make([]byte, 1)); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read on a closed end = %d, %v; want 0, net.ErrClosed", n, err)
	}
	if got, err := io.ReadAll(b); string(got) != "bye" || err != nil {
		t.Errorf("the other end read %q, %v; want what was written, then EOF", got, err)
	}
	if _, err := b.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("Write to a closed peer = %v, want io.ErrClosedPipe", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	b.Close()
}
