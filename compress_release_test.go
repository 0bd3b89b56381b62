package websocket

import (
	"bytes"
	"net"
	"testing"
	"testing/synctest"
)

// TestCompressorReturnedWhenSendFails: a compressed send blocked on a peer
// that stopped reading, when the Conn is closed under it, gives its pooled
// compressor back as it returns. closeSocket could not take it then (the
// send held msgMu), and it used to stay with the dead Conn.
func TestCompressorReturnedWhenSendFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := net.Pipe()
		defer server.Close()
		ext, err := checkExtensions([]string{"permessage-deflate"}, &CompressionOptions{})
		if err != nil || ext == nil {
			t.Fatalf("checkExtensions = %v, %v", ext, err)
		}
		c := newConn(client, nil, &DialOptions{})
		c.ext = ext
		done := make(chan error)
		go func() { done <- c.SendText(string(bytes.Repeat([]byte("compressible "), 1000))) }()
		synctest.Wait() // the send holds msgMu, its compressor made, blocked writing
		if c.ext.comp == nil {
			t.Fatal("the send made no compressor")
		}
		c.Abort()
		if err := <-done; err == nil {
			t.Fatal("SendText on an aborted Conn succeeded")
		}
		if c.ext.comp != nil {
			t.Error("the failed send kept its pooled compressor")
		}
	})
}
