package websocket

import (
	"io"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wsclient/websocket/internal/deflate"
)

// TestCompressorParksWhenIdle: with context takeover, a connection that
// sends no compressed message for compressorIdle gives its flate writer
// back (deflate.Compressor.Park) and keeps only its window; one that keeps
// sending keeps its writer; closing stops the timer.
func TestCompressorParksWhenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cn, sn := net.Pipe()
		go io.Copy(io.Discard, sn)
		c := newConn(cn, nil, &DialOptions{})
		c.ext = &compression{params: deflate.Params{ClientMaxWindowBits: 15, ServerMaxWindowBits: 15}, level: 1}
		msg := strings.Repeat(`{"sym":"BTC-USD","px":61234.5},`, 40)
		holds := func() bool { // whether the compressor holds a writer; parks it if so
			c.msgMu.Lock()
			defer c.msgMu.Unlock()
			return c.ext.comp.Park()
		}
		// Busy: a message every half idle period, the writer stays.
		for range 4 {
			if err := c.SendText(msg); err != nil {
				t.Fatal(err)
			}
			time.Sleep(compressorIdle / 2)
			synctest.Wait()
		}
		if !holds() {
			t.Fatal("a connection sending every compressorIdle/2 had its writer parked")
		}
		// Idle: parked by the timer.
		if err := c.SendText(msg); err != nil {
			t.Fatal(err)
		}
		time.Sleep(compressorIdle + time.Second)
		synctest.Wait()
		if holds() {
			t.Fatal("after compressorIdle without a message the compressor still holds its writer")
		}
		if err := c.SendText(msg); err != nil { // primes a writer from the window
			t.Fatal(err)
		}
		c.Abort()
		sn.Close()
		if c.ext.parkTimer.Stop() {
			t.Fatal("the park timer is still armed after the close")
		}
	})
}
