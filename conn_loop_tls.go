package websocket

// wss on the event loop. crypto/tls reads and writes a net.Conn that
// blocks; on the loop nothing may block. The TLS handshake therefore runs
// during the dial (proxies, TLS, the Upgrade), off the loop; when the loop
// takes the connection over, the tlsSocket under the *tls.Conn becomes the
// loop's (startTLS):
//
//	socket readable ─▶ one read of ciphertext into the loop's shared buffer
//	  ─▶ loopTLS.in ─▶ tls.Conn.Read, until crypto/tls has taken all of
//	  it: each read of the tlsSocket gets what is left of in, or, once in
//	  is empty, errTLSWait ─▶ the plaintext, through lc.feed, as ws's
//	send ─▶ tls.Conn.Write (writeStream) ─▶ tlsSocket.Write ─▶ writeSocket
//
// errTLSWait is a net.Error whose Temporary is true, the one read error
// crypto/tls does not keep (its conn.go, readRecordOrCCS): the part of a
// record it has read stays in its own buffer (rawInput), and the next
// tls.Conn.Read goes on with it. A record cut by the loop's 64 KiB reads,
// or by the peer's writes, is thus put together across readiness events
// with no buffer of ours per connection (TestEventLoopEngineTLSCutRecords
// guards this behaviour of crypto/tls). Messages crypto/tls handles
// itself after the handshake — TLS 1.3 session tickets, and KeyUpdate,
// whose answer it writes through writeSocket — and close_notify (io.EOF
// from tls.Conn.Read) take the same path.
//
// tls.Conn.Write stays safe from any goroutine (crypto/tls has a lock for
// each direction). Only the loop reads, and tls.Conn.Read never blocks
// there. TLS over another stream than a socket (inside an https proxy's
// TLS) and TLS 1.2 that may renegotiate (a handshake inside a read) stay
// with a read goroutine (loopTLSSocket).

import (
	"crypto/tls"
	"errors"
	"net"
)

// loopTLS is the TLS state of a wss connection its event loop owns.
type loopTLS struct {
	tc   *tls.Conn
	in   []byte // ciphertext the loop read and crypto/tls has not taken yet
	held []byte // ciphertext left untaken when the reading paused (a copy)
}

// errTLSWait is the read error of a tlsSocket on the loop that has no
// ciphertext left to give: crypto/tls keeps what it has and returns.
var errTLSWait error = tlsWaitError{}

type tlsWaitError struct{}

func (tlsWaitError) Error() string   { return "websocket: waiting for the event loop to read the socket" }
func (tlsWaitError) Timeout() bool   { return false }
func (tlsWaitError) Temporary() bool { return true }

// feedTLS hands p, ciphertext from the socket (none: what crypto/tls holds
// already), to crypto/tls and feeds the plaintext it yields to the decoder
// until it has taken all of p. When the receive queue fills up, the
// plaintext not fed is held as a plain connection's bytes are (lc.held) and
// the ciphertext not taken in t.held, for resume. The I/O goroutine only.
func (lc *loopConn) feedTLS(p []byte) {
	t := lc.tls
	if t == nil || lc.ended || lc.paused {
		return
	}
	t.in, t.held = p, nil
	bp := largeBufs.Get().(*[largeReadBufferSize]byte)
	for !lc.ended && !lc.closed.Load() {
		n, err := t.tc.Read(bp[:])
		if rest := lc.feed(bp[:n]); len(rest) > 0 {
			lc.hold(append([]byte(nil), rest...))
		}
		if err != nil {
			if lc.paused {
				// The last records' plaintext came with the stream's
				// end (TLS 1.2's close_notify): the frames held back
				// go first, and resume reads the end again (crypto/tls
				// returns its error again).
				t.held = append([]byte(nil), t.in...)
			} else if !errors.Is(err, errTLSWait) {
				lc.end(lc.c.ioError("read", err))
			}
			break
		}
		if lc.paused {
			t.held = append([]byte(nil), t.in...)
			break
		}
	}
	t.in = nil
	largeBufs.Put(bp)
}

// readTLS is the tlsSocket's Read for crypto/tls: the ciphertext the loop
// handed over, errTLSWait when there is no more. After the loop let the
// connection go it is closed.
func (lc *loopConn) readTLS(p []byte) (int, error) {
	if lc.ended {
		return 0, net.ErrClosed
	}
	t := lc.tls
	if len(t.in) == 0 {
		return 0, errTLSWait
	}
	n := copy(p, t.in)
	t.in = t.in[n:]
	return n, nil
}
