package websocket

import (
	"crypto/tls"

	"github.com/wsclient/websocket/internal/deflate"
)

// The buffers messages are read into when the caller does not give one
// (Recv, RecvData, RecvFrame, an App's frames): how they grow. They grow
// with the bytes received, never with a length the peer merely declared,
// and never past the read limit; where the socket tells what has arrived,
// a large message that is there already gets one allocation of its size.

// growth is how much room to add to a full buffer that holds have bytes of
// the message (or frame) being read, while the current frame's payload is
// read into it; last says the buffer ends with that frame. It never adds the
// peer's declared length at once: the buffer doubles (from 32 KiB) as bytes
// actually arrive, so a message assembled from many small fragments is
// copied a bounded number of times in all, not once per fragment. Where
// more of the frame has arrived than that (buffered, and in the socket
// when it can tell: arrived), the room takes all of it, so that a large
// message that is there already is read into one allocation, without
// copies. A last frame gets no more room than it still brings (and, in a
// compressed message, room for the tail the inflater puts behind it), and
// no buffer grows past the read limit.
func (c *Conn) growth(have int, last bool) int {
	n := int64(max(have, 32<<10))
	if rem := c.fr.dec.remaining; n < rem {
		n = max(n, min(c.arrived(rem), rem))
	}
	if last {
		n = min(n, c.fr.dec.remaining)
		if c.msgZ {
			n += int64(deflate.TailRoom) // no copy to inflate (DecompressSpare)
		}
	}
	if c.readLimit >= 0 {
		// The frame's remaining bytes fit (checkHeader), so n >= 1.
		n = min(n, wireLimit(c.readLimit, c.msgZ)-int64(have))
	}
	return int(n)
}

// arrived returns how many bytes have arrived that the current frame's
// remaining rem may take: on an event loop those its socket holds, else
// those buffered and those the socket holds (frameReader.arrived). Bytes
// past the frame's end may be counted.
func (c *Conn) arrived(rem int64) int64 {
	if lc := c.lc.Load(); lc != nil {
		return int64(socketHolds(lc.rc))
	}
	return c.fr.arrived(rem)
}

// grow returns b with room for exactly n more bytes. slices.Grow would
// round a doubling up by as much as a further 22% (append's growth for
// large slices), which compounds over the doublings of a long message.
func grow(b []byte, n int) []byte {
	nb := make([]byte, len(b), len(b)+n)
	copy(nb, b)
	return nb
}

// arrived returns how many bytes have arrived that the current frame's
// remaining rem may take: those buffered, and those the socket holds when
// it can tell (one system call, made only when the buffer does not hold
// rem). Over TLS, those the socket and crypto/tls hold (tlsHolds).
func (r *frameReader) arrived(rem int64) int64 {
	n := int64(r.w - r.r)
	if n < rem {
		if s, ok := r.src.(*connSocket); ok && r.sock == nil {
			// Still on the handshake's leftover bytes: the socket
			// reader that asks the socket takes over now, as it would
			// at the first wait.
			r.sock = newSocketReader(s.netConn, s.busyPoll)
		}
		switch s := r.sock.(type) {
		case arrivalReader:
			n += int64(s.available())
		case *tls.Conn: // crypto/tls's own reader, which cannot be given the method
			n += int64(tlsHolds(s))
		}
	}
	return n
}

// arrivalReader is a socket reader that can tell how many bytes the
// socket holds (busyReader and, over TLS, tlsReader, on Linux).
type arrivalReader interface {
	// available returns the bytes a read would get at once, 0 when it
	// cannot tell.
	available() int
}
