package websocket

import (
	"crypto/tls"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// PrefixNotOnce describes err when its message does not say "websocket: "
// once, at its start; "" when it does.
func PrefixNotOnce(err error) string { return prefixNotOnce(err) }

// LoopOwned reports whether an event loop's poller owns c's socket (tests
// of the event loop's engine).
func LoopOwned(c *Conn) bool { return c != nil && c.lc.Load() != nil }

// RecvQueueState reports the receive queue of a's open connection: the
// frames and payload bytes queued, whether reading is paused, and how
// many pongs were read. Call it from one of a's callbacks.
func RecvQueueState(a *App) (frames, bytes int, paused bool, pongs uint64) {
	a.mu.Lock()
	s := a.sess
	a.mu.Unlock()
	q := s.rq
	frames, bytes = q.queued()
	return frames, bytes, q.paused(), q.pongs()
}

// LoopDetached reports whether the loop's poller stopped watching c's
// socket because the peer hung up while the reading was paused.
func LoopDetached(c *Conn) bool {
	lc := c.lc.Load()
	if lc == nil {
		return false
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.detached
}

// LoopFd returns the descriptor of c's socket that its event loop owns,
// or -1.
func LoopFd(c *Conn) int {
	fd := -1
	if lc := c.lc.Load(); lc != nil {
		lc.rc.Control(func(f uintptr) { fd = int(f) })
	}
	return fd
}

// LoopQueued returns the bytes c's event loop holds for its socket (-1
// off a loop).
func LoopQueued(c *Conn) int {
	lc := c.lc.Load()
	if lc == nil {
		return -1
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.queued()
}

// LoopBareSocket reports whether the loop holds c's socket as a bare
// descriptor, without a net.Conn.
func LoopBareSocket(c *Conn) bool {
	nc := c.netConn
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tlsSocketConn(tc)
	}
	s, ok := nc.(*loopSocket)
	return ok && s.bare()
}

// ModelApp is what the RFCs and the contract say an App reading wire with a
// goroutine or on an event loop reports, in FuzzAppPaths's form: OnOpen,
// each OnMessage, OnPing and OnPong in order, then how the connection ends
// (the server ends its stream after wire: a close frame from it ends the
// run cleanly; an error goes to OnError and, as the server does not answer
// our close, OnClose gets 1006) and the run's result.
// With fragments the App has OnContMessage set.
func ModelApp(wire []byte, limit int64, deflate, takeover, skipUTF8, fragments bool) []string {
	events := append([]string{"open"}, model(wire, limit, deflate, takeover, skipUTF8, true, fragments)...)
	last := strings.TrimPrefix(events[len(events)-1], "end ")
	events = events[:len(events)-1]
	if code, reason, ok := strings.Cut(strings.TrimPrefix(last, "close "), " "); ok && strings.HasPrefix(last, "close ") {
		return append(events, "close "+code+" "+reason, "result none")
	}
	return append(events, "error "+last, `close 1006 ""`, "result "+last)
}

// MatchModel reports whether got, an App's events in FuzzAppPaths's form,
// are what model (ModelApp) says. A compressed fragmented message's
// fragments ("zfrag OP FIN") come as OnData and OnContMessage pairs whose
// texts are inflated as far as their bytes allow: together they must be
// the message's text, or, for one that fails or is cut ("zfail"), a part
// of what can be inflated of it, delivered up to any of its fragments.
func MatchModel(got, model []string) bool {
	var text []byte // of the compressed message's fragments so far
	i := 0
	for j := 0; j < len(model); j++ {
		m := model[j]
		switch {
		case strings.HasPrefix(m, "zfrag "):
			f := strings.SplitN(m, " ", 4) // zfrag OP FIN [TEXT]
			p, ok := fragmentPair(got[i:], f[1], f[2])
			if !ok {
				// A failing message: its fragments from here on are
				// not delivered.
				for j+1 < len(model) && !strings.HasPrefix(model[j+1], "zfail ") {
					if z := model[j+1]; !strings.HasPrefix(z, "zfrag ") && !strings.HasPrefix(z, "ping ") && !strings.HasPrefix(z, "pong ") {
						return false
					}
					j++
				}
				continue
			}
			i += 2
			text = append(text, p...)
			if len(f) == 4 {
				if whole, err := strconv.Unquote(f[3]); err != nil || string(text) != whole {
					return false
				}
				text = nil
			}
		case strings.HasPrefix(m, "zfail "):
			some, err := strconv.Unquote(strings.TrimPrefix(m, "zfail "))
			if err != nil || !strings.HasPrefix(some, string(text)) {
				return false
			}
			text = nil
		default:
			if i == len(got) || got[i] != m {
				return false
			}
			i++
		}
	}
	return i == len(got)
}

// fragmentPair returns the text of got's first two events if they are a
// fragment's OnData and OnContMessage with opcode op and fin.
func fragmentPair(got []string, op, fin string) ([]byte, bool) {
	if len(got) < 2 {
		return nil, false
	}
	d := strings.SplitN(got[0], " ", 4) // data OP FIN TEXT
	c := strings.SplitN(got[1], " ", 3) // cont FIN TEXT
	if len(d) != 4 || len(c) != 3 || d[0] != "data" || c[0] != "cont" || d[1] != op || d[2] != fin || c[1] != fin || d[3] != c[2] {
		return nil, false
	}
	p, err := strconv.Unquote(d[3])
	return []byte(p), err == nil
}

// MsgWaiters reports how many senders wait for c's message lock (behind a
// NextWriter).
func MsgWaiters(c *Conn) int32 {
	if w := c.writeWaits(); w != nil {
		w.msgWakeMu.Lock()
		defer w.msgWakeMu.Unlock()
		return int32(w.msgWaiters)
	}
	return 0
}

// FlushWaiting reports how many Flush calls wait on c.
func FlushWaiting(c *Conn) int {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if w := c.writeWaits(); w != nil {
		return w.flushWaiting
	}
	return 0
}

// SetCompressorIdle sets how long a connection sends no compressed message
// before its compressor parks (2 s), for a test that runs in a process of
// its own; it returns the previous value.
func SetCompressorIdle(d time.Duration) time.Duration {
	old := compressorIdle
	compressorIdle = d
	return old
}

// CompressorParked reports whether c has no compressor park pending: its
// compressor parked after its last message, or it has none.
func CompressorParked(c *Conn) bool {
	if c.ext == nil {
		return true
	}
	c.msgMu.Lock()
	defer c.unlockMsg()
	return !c.ext.parkArmed
}

// Writing reports whether a write of c's is in progress (a send holds the
// socket, or the write queue's flusher does).
func Writing(c *Conn) bool {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.writing
}

// CloseClaimed reports whether c's close frame is claimed: sent, or
// waiting to be written.
func CloseClaimed(c *Conn) bool {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.closeSent
}

// SetBeforeCloseFrame makes f run as a close frame's send begins, past
// SendClose's own look at a closed Conn; the returned function undoes it.
func SetBeforeCloseFrame(f func()) (undo func()) {
	testHookBeforeCloseFrame.Store(&f)
	return func() { testHookBeforeCloseFrame.Store(nil) }
}

// SetCloseTimedWrite makes f run in each write of a close bounded by its
// own timer, once the write deadline is cleared and before the bytes are
// written; the returned function undoes it.
func SetCloseTimedWrite(f func()) (undo func()) {
	testHookCloseTimedWrite.Store(&f)
	return func() { testHookCloseTimedWrite.Store(nil) }
}

// LoopDraining reports whether the loop has put c's end off until what it
// holds for the socket is written (the server's close behind a backlog, a
// close of ours with timeout ≤ 0).
func LoopDraining(c *Conn) bool {
	lc := c.lc.Load()
	return lc != nil && lc.l.eng.drains.has(lc)
}

// PostCounter is an EventLoop that counts the functions posted to it.
type PostCounter struct {
	*EventLoop
	Posts atomic.Int64
}

// Post counts f and posts it.
func (p *PostCounter) Post(f func()) bool {
	p.Posts.Add(1)
	return p.EventLoop.Post(f)
}

// Reading reports whether a receiving call holds c's reader.
func Reading(c *Conn) bool {
	if c.readMu.TryLock() {
		c.readMu.Unlock()
		return false
	}
	return true
}

// AwaitingPeerClose reports whether a close waits for the server's close
// frame while another goroutine reads (awaitPeerClose made its channel).
func AwaitingPeerClose(c *Conn) bool {
	r := c.rare.Load()
	return r != nil && r.peerClosed.p.Load() != nil
}
