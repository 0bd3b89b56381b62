package websocket

import (
	"net"
	"runtime"
	"testing"
	"testing/synctest"
	"time"
)

// TestCloseWhileStatsPeeks: Stats takes the read lock for a moment. A
// Close that looks for a reader at that moment must still read the
// server's close itself, not wait out its timeout for a reader that is
// not there.
func TestCloseWhileStatsPeeks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := net.Pipe()
		defer server.Close()
		c := newConn(client, nil, &DialOptions{})
		gotClose := make(chan struct{})
		go func() {
			var buf [64]byte
			server.Read(buf[:]) // the client's close frame
			close(gotClose)
			server.Write([]byte{0x88, 0x02, 0x03, 0xe8}) // the answer
			for {
				if _, err := server.Read(buf[:]); err != nil {
					return
				}
			}
		}()
		// Stats' moment, held: the peek lock, then the read lock.
		c.peekMu().Lock()
		c.readMu.Lock()
		start := time.Now()
		done := make(chan error)
		go func() { done <- c.CloseWith(StatusNormal, "", 3*time.Second) }()
		// The close frame is sent; Close goes on to look for a reader
		// (blocked on a mutex is not durably blocked, so there is no
		// synctest.Wait for that moment: let it run instead).
		<-gotClose
		for range 100 {
			runtime.Gosched()
		}
		c.readMu.Unlock()
		c.peekMu().Unlock()
		if err := <-done; err != nil {
			t.Errorf("Close = %v", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Close took %v, want 0: it waited for a reader that was not there", d)
		}
	})
}
