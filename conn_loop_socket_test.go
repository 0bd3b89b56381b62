//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package websocket

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// FailNetConns makes the net.Conn a loop makes over a bare socket fail to
// be made (as with no descriptors left) until restore runs.
func FailNetConns() (restore func()) {
	netFileConn = func(*os.File) (net.Conn, error) { return nil, errors.New("no more descriptors") }
	return func() { netFileConn = net.FileConn }
}

// socketPair returns a socket the test dialed, held by a loopSocket, and
// the server's end of it.
func socketPair(t *testing.T) (*loopSocket, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ls, err := takeSocket(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("the dialed net.Conn after takeSocket: Write = %v, want it closed", err)
	}
	return ls, srv
}

// readEOF reports whether the server's end reads the end of the stream.
func readEOF(t *testing.T, srv net.Conn) bool {
	t.Helper()
	srv.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := srv.Read(make([]byte, 1))
	return err == io.EOF
}

// TestLoopSocketWithoutLoop: a loopSocket no loop holds makes a working
// net.Conn over the socket, with the deadlines set before it was made;
// Close closes the socket; a socket whose net.Conn cannot be made is
// closed rather than left open with nothing to close it.
func TestLoopSocketWithoutLoop(t *testing.T) {
	t.Run("conn", func(t *testing.T) {
		ls, srv := socketPair(t)
		if err := ls.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		nc := ls.conn()
		if _, ok := nc.(*net.TCPConn); !ok || ls.bare() || ls.conn() != nc {
			t.Fatalf("conn() = %T, bare %v, a second call the same %v", nc, ls.bare(), ls.conn() == nc)
		}
		stop := time.AfterFunc(10*time.Second, func() { srv.Close() }) // bounds a Read the deadline missed
		_, err := nc.Read(make([]byte, 1))
		stop.Stop()
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Read past the deadline set before conn = %v, want a timeout", err)
		}
		if _, err := nc.Write([]byte("hi")); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 2)
		if _, err := io.ReadFull(srv, b); err != nil || string(b) != "hi" {
			t.Errorf("the server read %q, %v", b, err)
		}
		if err := ls.Close(); err != nil || !readEOF(t, srv) {
			t.Errorf("Close = %v; the server did not read the end", err)
		}
	})
	t.Run("bare close", func(t *testing.T) {
		ls, srv := socketPair(t)
		if err := ls.Close(); err != nil || !readEOF(t, srv) {
			t.Errorf("Close = %v; the server did not read the end", err)
		}
		if err := ls.Close(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("a second Close = %v, want net.ErrClosed", err)
		}
		if err := ls.SetDeadline(time.Now()); !errors.Is(err, net.ErrClosed) {
			t.Errorf("SetDeadline after Close = %v, want net.ErrClosed", err)
		}
		if err := ls.raw().Control(func(uintptr) { t.Error("Control ran on a closed socket") }); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Control after Close = %v, want net.ErrClosed", err)
		}
		if nc, ok := ls.conn().(*net.TCPConn); !ok || nc.Close() == nil {
			t.Errorf("conn() after Close = %T, want a closed *net.TCPConn", ls.conn())
		}
	})
	t.Run("no net.Conn", func(t *testing.T) {
		ls, srv := socketPair(t)
		defer FailNetConns()()
		if nc, ok := ls.conn().(*net.TCPConn); !ok || ls.bare() || !readEOF(t, srv) {
			t.Errorf("conn() = %T, bare %v, or the socket is still open", nc, ls.bare())
		}
	})
}

// TestFdTable checks the engine's descriptor table: a descriptor out of
// its range has no connection, setting one grows it, forgetting one does
// not.
func TestFdTable(t *testing.T) {
	var tab fdTable
	a, b := new(loopConn), new(loopConn)
	for _, fd := range []int{-1, 0, 5, 1 << 20} {
		if tab.get(fd) != nil {
			t.Fatalf("empty table: fd %d has a connection", fd)
		}
	}
	tab.set(-1, a)
	tab.set(100, nil)
	if len(tab) != 0 {
		t.Fatalf("a negative descriptor or a forgotten one grew the table to %d", len(tab))
	}
	tab.set(3, a)
	tab.set(200, b)
	if tab.get(3) != a || tab.get(200) != b || tab.get(4) != nil || tab.get(-1) != nil {
		t.Fatal("get does not return what set gave")
	}
	if len(tab) < 201 {
		t.Fatalf("table of %d for descriptor 200", len(tab))
	}
	tab.set(3, nil)
	if tab.get(3) != nil || tab.get(200) != b {
		t.Fatal("forgetting descriptor 3 did not forget it alone")
	}
}
