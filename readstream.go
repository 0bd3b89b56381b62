// NextReader, Messages and FireContFrame: messages received as a stream,
// as an iterator, and fragment by fragment.

package websocket

import (
	"bytes"
	"errors"
	"io"
	"iter"
)

// Messages returns an iterator over the received messages:
//
//	for msg, err := range c.Messages() { ... }
//
// It stops after yielding the first error (a *CloseError when the peer
// closed).
func (c *Conn) Messages() iter.Seq2[Message, error] {
	return func(yield func(Message, error) bool) {
		for {
			msg, err := c.Recv()
			if !yield(msg, err) || err != nil {
				return
			}
		}
	}
}

// NextReader returns the next text or binary message as a stream, for
// messages too large to hold whole. Control frames arriving in between are
// handled as by Recv. The reader is valid until the next call of a receiving
// method, which discards whatever of the message was not read (still
// checked as a received message is: text that is not UTF-8 fails the
// connection). A compressed
// message is inflated whole before NextReader returns; if a timeout cuts
// that short, the next call goes on with it.
func (c *Conn) NextReader() (Opcode, io.Reader, error) {
	c.readMu.Lock()
	defer c.unlockRead()
	if c.stashed {
		// An earlier call was cut short by a timeout amid a message no
		// reader was returned for (a compressed one being inflated, or
		// one Recv was reading): it goes on, as Recv's would, and is
		// returned whole.
		op, data, err := c.recvWhole(nil, false)
		if err != nil {
			return 0, nil, err
		}
		c.readGen++
		return op, bytes.NewReader(data), nil
	}
	if err := c.startMessage(); err != nil {
		return 0, nil, err
	}
	if err := c.waitMessage(); err != nil {
		return 0, nil, err
	}
	return c.nextReader()
}

// nextReader is NextReader once the message has started. readMu is held.
func (c *Conn) nextReader() (Opcode, io.Reader, error) {
	if _, _, err := c.advance(false); err != nil {
		return 0, nil, err
	}
	c.readGen++
	op := c.msgOp
	if op == 0 {
		op = c.doneOp // an empty one-frame message, already ended
	}
	if c.msgZ {
		// permessage-deflate: the message is inflated whole, bounded by
		// ReadLimit, and then streamed from memory.
		op, data, err := c.readRestZ()
		if err != nil {
			return 0, nil, err
		}
		return op, bytes.NewReader(data), nil
	}
	c.flags.set(flagStreamMsg)
	return op, &messageReader{c: c, gen: c.readGen}, nil
}

// messageReader streams one message for NextReader.
type messageReader struct {
	c    *Conn
	gen  uint64
	done bool
}

var errStaleReader = errors.New("websocket: message reader used after the next message was requested")

// errDroppedByClose is the cause a message reader reports when Close, which
// reads until the server's close frame when no one else is receiving, read
// past the rest of its message.
var errDroppedByClose = errors.New("the rest of the message was dropped by Close")

func (r *messageReader) Read(p []byte) (int, error) {
	c := r.c
	c.readMu.Lock()
	defer c.unlockRead()
	if r.gen != c.readGen {
		if c.flags.has(flagCloseTimed | flagClosed) {
			return 0, &closedError{err: errDroppedByClose} // Close read past the message
		}
		return 0, errStaleReader
	}
	if r.done {
		return 0, io.EOF
	}
	if err := c.startRead(); err != nil {
		return 0, err
	}
	for {
		if !c.inMessage() {
			r.done = true
			return 0, io.EOF
		}
		if !c.inData {
			if _, _, err := c.advance(false); err != nil {
				return 0, err
			}
		}
		if len(p) == 0 {
			return 0, nil
		}
		n, err := c.readData(p)
		if err != nil {
			return n, err
		}
		if n > 0 {
			return n, nil
		}
	}
}

// recvFragment returns the next frame of a data message (FireContFrame), or
// a control frame when wantControl. readMu is held.
func (c *Conn) recvFragment(wantControl bool) (Opcode, *Frame, error) {
	var err error
	if c.flags.has(flagStreamMsg) {
		err = c.startMessage() // a NextReader's message: its rest is dropped
	} else {
		err = c.startRead() // the message goes on fragment by fragment
	}
	if err != nil {
		return 0, nil, err
	}
	if !c.inData {
		op, p, err := c.advance(wantControl)
		if err != nil {
			return 0, nil, err
		}
		if op != 0 {
			return op, &Frame{Fin: true, Opcode: op, Payload: bytes.Clone(p)}, nil
		}
	}
	h := c.frameHdr
	var data []byte
	if c.msgZ {
		data, err = c.readFragmentZ()
	} else {
		data, err = c.readFrameData(c.takeStash())
	}
	if err != nil {
		return 0, nil, err
	}
	// The first fragment with its opcode, the rest with OpContinuation.
	return h.opcode, &Frame{Fin: h.fin, Opcode: h.opcode, Payload: data}, nil
}
