package netpoll

import (
	"errors"
	"net"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/wsclient/websocket/internal/testenv"
)

// tcpPair returns a connected client and server on loopback.
func tcpPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func fdOf(t *testing.T, c *net.TCPConn) (syscall.RawConn, int) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	rc.Control(func(f uintptr) { fd = int(f) })
	return rc, fd
}

// TestTakeFromRuntimeUnwatched: a descriptor Go's poller does not watch is
// left alone, and (run first) does not stop the search for Go's set.
func TestTakeFromRuntimeUnwatched(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := p.Add(fd); err != nil {
		t.Fatal(err)
	}
	if p.TakeFromRuntime(fd) {
		t.Error("TakeFromRuntime took a socket Go's poller never watched")
	}
	if sets, _ := Watchers(fd); !slices.Equal(sets, []int{p.epfd}) {
		t.Errorf("the socket is watched by %v, want the Poller's %d alone", sets, p.epfd)
	}
}

// TestTakeFromRuntime: once a Poller takes a socket from Go's poller, only
// the Poller's set watches it; the Poller still sees it turn readable, a
// read deadline still ends a read of the net.Conn, and closing it works.
func TestTakeFromRuntime(t *testing.T) {
	if _, err := os.Stat("/proc/self/fdinfo"); err != nil {
		testenv.Missing(t, "no /proc on this machine")
	}
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := range 2 { // the first finds the runtime's set, the second uses what it found
		c, s := tcpPair(t)
		rc, fd := fdOf(t, c)
		before, err := Watchers(fd)
		if err != nil || len(before) != 1 {
			t.Fatalf("conn %d: a net.Conn's socket is watched by %v (%v), want Go's set alone", i, before, err)
		}
		var took bool
		rc.Control(func(f uintptr) {
			if err := p.Add(int(f)); err != nil {
				t.Fatal(err)
			}
			took = p.TakeFromRuntime(int(f))
		})
		if !took {
			t.Fatalf("conn %d: TakeFromRuntime reported false", i)
		}
		after, err := Watchers(fd)
		if err != nil || !slices.Equal(after, []int{p.epfd}) {
			t.Fatalf("conn %d: after TakeFromRuntime the socket is watched by %v (%v), want only the Poller's %d", i, after, err, p.epfd)
		}
		s.Write([]byte("x"))
		var got Event
		for deadline := time.Now().Add(5 * time.Second); got == 0 && time.Now().Before(deadline); {
			p.Wait(time.Second, func(f int, ev Event) {
				if f == fd {
					got = ev
				}
			})
		}
		if got&Readable == 0 {
			t.Fatalf("conn %d: the Poller saw %v, want Readable", i, got)
		}
		// Read the byte with a raw read, then a read of the net.Conn
		// that would wait ends at its deadline.
		rc.Read(func(f uintptr) bool { syscall.Read(int(f), make([]byte, 1)); return true })
		c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("conn %d: a read past its deadline returned %v", i, err)
		}
		rc.Control(func(f uintptr) { p.Remove(int(f)) })
		if err := c.Close(); err != nil {
			t.Fatalf("conn %d: Close: %v", i, err)
		}
	}
}
