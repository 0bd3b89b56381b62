package h2

import (
	"errors"
	"io"
	"os"
	"time"
)

// Reading the connection: one party at a time holds the reader token and
// reads frames from the connection and dispatches them (readSome). A
// stream's consumer that has to wait for data (WaitReadable) takes the
// token if it is free and reads itself, so that with one busy stream a
// message reaches its reader on the goroutine that waits for it, with no
// hand-off between goroutines. It gives the token up as soon as its stream
// is readable: to another waiting consumer if there is one, else to the
// reader goroutine (bgLoop) when a party that needs frames read asks for
// it (need), else to nobody for a moment: the reader goroutine takes it
// once it has stayed free for a while, so that a PING, a WINDOW_UPDATE or
// a GOAWAY is always read within a bounded time. That while is takeover
// after the reader goroutine last read, and doubles, up to maxTakeover,
// each time the timer finds that consumers took and gave up the token in
// the meantime: a busy connection's timer fires a few times a second, not
// a thousand (each firing runs a goroutine on a thread it may have to wake;
// at 1 ms they slowed a one-stream echo by a fifth), and a frame nobody
// waits for (a PING, a SETTINGS) is still read within 2*maxTakeover.
//
// Frames are read resumably: bytes go from the connection into rb, and a
// frame is parsed and handled only once all its bytes are there, so a
// consumer's read of the connection can be interrupted (a past read
// deadline on the connection) when its stream's read deadline passes, the
// stream is closed or the connection fails; the bytes of a partial frame
// wait in rb for the next reader.

// States of the reader token (cc.tok, under cc.mu).
const (
	tokFree   = iota // nobody reads
	tokHeld          // a party reads
	tokHanded        // given to the consumer of cc.handTo, which has not taken it yet
)

// takeover is how long the token stays free before the reader goroutine
// takes it, after it last did; maxTakeover is that wait's limit on a
// connection whose consumers keep reading.
const (
	takeover    = time.Millisecond
	maxTakeover = 128 * time.Millisecond
)

// rbSize is the size of the read buffer: a frame of the largest size this
// end accepts and a TLS record's worth more.
const rbSize = 2 * (9 + chunkSize)

// aLongTimeAgo is the read deadline that interrupts a read of the
// connection.
var aLongTimeAgo = time.Unix(1, 0)

// frameBuf buffers bytes read from the connection until whole frames are
// there. It is the Framer's reader, which is only asked for the bytes of a
// frame that is buffered whole.
type frameBuf struct {
	b    []byte
	r, w int
}

func (b *frameBuf) Read(p []byte) (int, error) {
	if b.r == b.w {
		return 0, io.ErrUnexpectedEOF // cannot happen: see ready
	}
	n := copy(p, b.b[b.r:b.w])
	b.r += n
	return n, nil
}

// ready reports whether a whole frame is buffered, or the header of one
// larger than this end accepts (which the Framer rejects).
func (b *frameBuf) ready() bool {
	if b.w-b.r < 9 {
		return false
	}
	n := int(b.b[b.r])<<16 | int(b.b[b.r+1])<<8 | int(b.b[b.r+2])
	return n > chunkSize || b.w-b.r >= 9+n
}

// next takes the next n buffered bytes.
func (b *frameBuf) next(n int) []byte {
	p := b.b[b.r : b.r+n]
	b.r += n
	return p
}

// fill reads from r once, making room for a whole frame first, and
// returns how many bytes came.
func (b *frameBuf) fill(r io.Reader) (int, error) {
	if b.b == nil {
		b.b = make([]byte, rbSize)
	}
	if b.r == b.w {
		b.r, b.w = 0, 0
	} else if len(b.b)-b.r < 9+chunkSize {
		b.w = copy(b.b, b.b[b.r:b.w])
		b.r = 0
	}
	n, err := r.Read(b.b[b.w:])
	b.w += n
	return n, err
}

// readSome reads and handles frames; the caller holds the reader token
// and not cc.mu. It handles the frames that are buffered whole, or, if
// there are none, reads the connection once first. For a stream's
// consumer (st not nil) the read of the connection ends early when st is
// readable (signal interrupts it). It returns false when the connection
// has failed or was closed.
func (cc *ClientConn) readSome(st *Stream) bool {
	if !cc.rb.ready() {
		if st != nil {
			// Published before the check: whoever makes st readable
			// afterwards sees it and interrupts the read (signal).
			cc.inRead.Store(st)
			cc.mu.Lock()
			stop := st.readableLocked() || cc.err != nil
			cc.mu.Unlock()
			if stop {
				cc.inRead.Store(nil)
				return true
			}
		}
		n, err := cc.rb.fill(&cc.rerr)
		if st != nil {
			cc.inRead.Store(nil)
		}
		if n > 0 {
			cc.noteRead()
		}
		if err != nil {
			if cc.lead && errors.Is(err, os.ErrDeadlineExceeded) {
				// Interrupted (perhaps meant for an earlier reader):
				// a timeout does not break crypto/tls or the
				// buffered bytes.
				cc.rerr.err = nil
				cc.conn.SetReadDeadline(time.Time{})
				return cc.err == nil
			}
			cc.fail(cc.readErr(err), true, codeOf(err))
			return false
		}
	}
	for cc.rb.ready() {
		if !cc.readFrame() {
			return false
		}
	}
	return true
}

// interrupt makes a read of the connection by st's consumer return.
func (cc *ClientConn) interrupt(st *Stream) {
	if p := cc.inRead.Load(); p != nil && (p == st || st == nil) {
		cc.conn.SetReadDeadline(aLongTimeAgo)
	}
}

// releaseLocked gives the reader token up.
func (cc *ClientConn) releaseLocked() {
	cc.relGen++
	cc.tok, cc.handTo = tokFree, nil
	switch {
	case cc.err != nil:
	case cc.need > 0:
		cc.kickLocked()
	case cc.waitHead != nil:
		w := cc.waitHead
		cc.unqueueLocked(w)
		cc.tok, cc.handTo = tokHanded, w
		w.signal()
	default:
		cc.armLocked()
	}
}

// claimLocked takes the token for a consumer of st if it is free or was
// handed to st, and reports whether it did.
func (cc *ClientConn) claimLocked(st *Stream) bool {
	if cc.tok == tokFree || cc.tok == tokHanded && cc.handTo == st {
		cc.tok, cc.handTo = tokHeld, nil
		return true
	}
	return false
}

// needLocked records a party waiting for frames to be read: the reader
// goroutine reads while there is one.
func (cc *ClientConn) needLocked() {
	cc.need++
	if cc.tok == tokFree {
		cc.kickLocked()
	}
}

// unneed ends a needLocked.
func (cc *ClientConn) unneed() {
	cc.mu.Lock()
	cc.need--
	cc.mu.Unlock()
}

// kickLocked asks the reader goroutine to take the token when it is free.
func (cc *ClientConn) kickLocked() {
	cc.bgWant = true
	select {
	case cc.bgKick <- struct{}{}:
	default:
	}
}

// armLocked starts the timer that lets the reader goroutine take a token
// that stays free.
func (cc *ClientConn) armLocked() {
	if cc.timerArmed || cc.err != nil {
		return
	}
	cc.timerArmed = true
	cc.timerGen = cc.relGen
	if cc.bgTimer == nil {
		cc.bgTimer = time.AfterFunc(cc.takeWait, cc.onTimer)
	} else {
		cc.bgTimer.Reset(cc.takeWait)
	}
}

// onTimer lets the reader goroutine take the token if it has been free
// since the timer was armed; a holder of the token arms it again when it
// gives the token up. Consumers that took the token in the meantime
// double the next wait (see maxTakeover).
func (cc *ClientConn) onTimer() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.timerArmed = false
	if cc.err != nil {
		return
	}
	if cc.tok != tokFree || cc.relGen != cc.timerGen {
		cc.takeWait = min(2*cc.takeWait, maxTakeover)
		if cc.tok == tokFree {
			cc.armLocked() // taken and given up again since: wait more
		}
		return
	}
	cc.kickLocked()
}

// enqueueLocked appends st to the consumers waiting for the token.
func (cc *ClientConn) enqueueLocked(st *Stream) {
	if st.queued {
		return
	}
	st.queued = true
	st.wprev, st.wnext = cc.waitTail, nil
	if cc.waitTail != nil {
		cc.waitTail.wnext = st
	} else {
		cc.waitHead = st
	}
	cc.waitTail = st
}

// unqueueLocked removes st from the consumers waiting for the token.
func (cc *ClientConn) unqueueLocked(st *Stream) {
	if !st.queued {
		return
	}
	st.queued = false
	if st.wprev != nil {
		st.wprev.wnext = st.wnext
	} else {
		cc.waitHead = st.wnext
	}
	if st.wnext != nil {
		st.wnext.wprev = st.wprev
	} else {
		cc.waitTail = st.wprev
	}
	st.wprev, st.wnext = nil, nil
}

// bgLoop is the reader goroutine: it reads the connection when no stream's
// consumer does and someone needs frames read, or the token has stayed
// free (takeover), and gives the token up once it delivered something or a
// consumer waits for it, unless a party needs frames read. It ends when
// the connection ends.
func (cc *ClientConn) bgLoop() {
	defer close(cc.readerDone)
	cc.mu.Lock()
	for {
		for cc.err == nil && !(cc.bgWant && cc.tok == tokFree) {
			cc.mu.Unlock()
			select {
			case <-cc.bgKick:
			case <-cc.closed:
			}
			cc.mu.Lock()
		}
		if cc.err != nil {
			break
		}
		cc.bgWant = false
		cc.tok = tokHeld
		cc.takeWait = takeover
		for {
			delivered := cc.delivered
			cc.mu.Unlock()
			ok := cc.readSome(nil)
			cc.mu.Lock()
			if !ok || cc.err != nil {
				cc.tok = tokFree
				break
			}
			if cc.need == 0 && cc.lead && (cc.waitHead != nil || cc.delivered != delivered) && !cc.rb.ready() {
				cc.releaseLocked()
				break
			}
		}
	}
	if cc.bgTimer != nil {
		cc.bgTimer.Stop()
	}
	cc.mu.Unlock()
}
