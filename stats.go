package websocket

import (
	"hash/maphash"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Statistics
//
// Every Conn counts what it sends and receives in atomic counters, added to
// once per frame or message where the frame's place on the wire is fixed
// (writeLocked) or a message or control frame is complete (msgReader,
// recvBuffered, inflate, deflate): no lock (but for the record of the
// last ping, taken at pings and pongs only), no allocation, no work per
// byte. Data messages, the most frequent, are the exception: the reader,
// which holds readMu, adds them to plain fields of its own state in the
// Conn (msgReader) and publishes those into their atomic counter only
// before it reads the socket (publishIn); the writer, under writeMu, the
// same with its own fields (publishOut, before each socket write). A
// flood of small messages costs two adds and no locked instruction per
// message. Conn.Stats and App.Stats read the counters without stopping
// either side, and the plain fields when readMu or writeMu is free. The
// atomic counters live in a struct of their own, allocated with the Conn,
// so that the Conn keeps its size class; the plain ones sit in the Conn
// on the line each side writes at every message anyway (the read
// buffer's offsets, the write queue's state), so a reader and a writer on
// two cores do not contend for one line.

// Stats is a snapshot of a connection's counters (Conn.Stats) or of an
// App's over all its connections (App.Stats). Each counter only grows over
// the life of its Conn or App, so exporters can report them as monotonic
// counters.
type Stats struct {
	// MessagesSent and MessagesReceived count whole text and binary
	// messages: a fragmented message (NextWriter, or fragments from the
	// server) counts once, when its final frame goes out or arrives; a
	// received one that is refused (invalid UTF-8, over the read limit,
	// compressed data that does not inflate) does not count.
	MessagesSent     uint64
	MessagesReceived uint64
	// BytesSent and BytesReceived count the payload bytes of data frames
	// as they are on the wire: after permessage-deflate compressed them,
	// before it inflates them, each frame as it goes out or has arrived
	// whole (a fragment returned by RecvFrame or with FireContFrame is
	// counted). Frame headers are not counted. Without compression they
	// are the messages' bytes.
	BytesSent     uint64
	BytesReceived uint64
	// The permessage-deflate share of the bytes above: the wire bytes of
	// compressed messages' frames (CompressedWire*, included in Bytes*)
	// and what they hold uncompressed (CompressedPayload*, counted when a
	// message is inflated: nothing for one refused). The messages' own
	// size is Bytes* − CompressedWire* + CompressedPayload*; the
	// compression ratio is CompressedPayload* / CompressedWire*.
	CompressedWireSent        uint64
	CompressedPayloadSent     uint64
	CompressedWireReceived    uint64
	CompressedPayloadReceived uint64
	// Control frames: pings and pongs sent (automatic pongs answering the
	// server's pings included) and received.
	PingsSent     uint64
	PingsReceived uint64
	PongsSent     uint64
	PongsReceived uint64
	// Latency is the round-trip time of the last ping answered (see
	// Conn.Latency); 0 until one is. An App's is the last one measured
	// on any of its connections.
	Latency time.Duration
	// Reconnects counts the connections an App opened after the first of
	// each run (each OnReconnect); always 0 for a Conn.
	Reconnects uint64
	// Errors counts the failures an App reported to OnError (failed dials,
	// dropped connections, ping timeouts, panics in callbacks); always 0
	// for a Conn.
	Errors uint64
	// LastError is, for a Conn, the error that ended it: a failed read or
	// write or the server's protocol violation (nil while it is healthy or
	// after a clean close); for an App, the last error given to OnError.
	LastError error
	// LastCloseCode is, for a Conn, the code of the server's close frame
	// (0 until one arrived: StatusNoStatusReceived for an empty one); for
	// an App, the code its last OnClose got (StatusAbnormalClosure when
	// the socket died).
	LastCloseCode StatusCode
}

// add adds the counters of o to s; the other fields are left alone.
func (s *Stats) add(o *Stats) {
	s.MessagesSent += o.MessagesSent
	s.MessagesReceived += o.MessagesReceived
	s.BytesSent += o.BytesSent
	s.BytesReceived += o.BytesReceived
	s.CompressedWireSent += o.CompressedWireSent
	s.CompressedPayloadSent += o.CompressedPayloadSent
	s.CompressedWireReceived += o.CompressedWireReceived
	s.CompressedPayloadReceived += o.CompressedPayloadReceived
	s.PingsSent += o.PingsSent
	s.PingsReceived += o.PingsReceived
	s.PongsSent += o.PongsSent
	s.PongsReceived += o.PongsReceived
}

// connStats holds a Conn's counters. The methods that count are in
// stats_count.go (stats_nocount.go with the wsclient_nostats build tag,
// which only exists to measure what counting costs). A nil *connStats
// counts nothing: a msgReader made by a test has none.
//
// What every connection counts is here, in the 128-byte size class
// (TestConnSizeClass); what only compression, a failure or the end counts
// is a connMoreStats made then.
type connStats struct {
	out                msgCounter // data sent, as last published (the rest is in Conn)
	pingsOut, pongsOut atomic.Uint64
	latency            atomic.Int64 // time.Duration
	ping               pingMark     // the last ping sent, until its pong
	in                 msgCounter   // data received, as last published (the rest is in msgReader)
	pingsIn, pongsIn   atomic.Uint64
	more               onDemand[connMoreStats]
	seen               onDemand[statsSeen]
}

// connMoreStats are the counters of a Conn that most connections leave at
// zero until they end: a nil one reads as zeros.
type connMoreStats struct {
	zWireOut, zPayloadOut atomic.Uint64
	zWireIn, zPayloadIn   atomic.Uint64
	lastErr               atomic.Pointer[errorBox]
	closeCode             atomic.Uint32
}

// statsSeen are the data counts Stats last returned, under its peekMu: a
// later call that finds the reader or writer inside a call (whose latest
// counts it cannot read) returns no less. Made by the first Stats call.
type statsSeen struct {
	msgsOut, bytesOut, msgsIn, bytesIn uint64
	// Counts a failed write takes back (controlUnsent, undeflated).
	pingsOut, pongsOut, zWireOut, zPayloadOut uint64
}

// pingMark is the last ping sent, in one word that the sender sets and
// the reader of its pong takes, so that neither waits for the other: the
// send's time (monoNow) in the high pingTimeBits bits, modulo their range,
// and a hash of its payload below. 0 is no ping awaiting its pong.
type pingMark struct{ v atomic.Uint64 }

const (
	pingSumBits  = 20 // a pong that matches another payload by chance (1 in 2^20) only skews one figure
	pingTimeBits = 64 - pingSumBits
	pingSumMask  = 1<<pingSumBits - 1
	pingTimeMask = 1<<pingTimeBits - 1 // 2^44 ns: a round trip longer than 4.8 hours is not measured right
)

// set records a ping with payload sum sent at now.
func (p *pingMark) set(now int64, sum uint64) {
	w := uint64(now)<<pingSumBits | sum&pingSumMask
	if w == 0 {
		w = 1 << pingSumBits // 0 says none: be 1 ns late
	}
	p.v.Store(w)
}

// take returns the time since the ping whose payload hashed to sum was
// sent, and clears the mark; ok is false when that ping is not the last
// one sent, or was answered.
func (p *pingMark) take(now int64, sum uint64) (rtt time.Duration, ok bool) {
	w := p.v.Load()
	if w == 0 || w&pingSumMask != sum&pingSumMask || !p.v.CompareAndSwap(w, 0) {
		return 0, false
	}
	return time.Duration((uint64(now) - w>>pingSumBits) & pingTimeMask), true
}

// peekMus serialize Stats' TryLock of a Conn's readMu, so that one Stats
// cannot fail another's; a Conn takes one by its address (Conn.peekMu).
var peekMus [64]struct {
	sync.Mutex
	_ [56]byte // one cache line each
}

// peekMu returns the lock that serializes c's Stats.
func (c *Conn) peekMu() *sync.Mutex {
	return &peekMus[uintptr(unsafe.Pointer(c))>>7%uintptr(len(peekMus))].Mutex
}

// msgCounter counts messages and their bytes in one word, so that a
// message costs a single atomic add rather than two: the messages in the
// top 64−byteBits bits, the bytes below, both since the last fold. Before either field would
// overflow, the writer folds the word into msgs and bytes, inside a
// sequence lock that readers retry on. It has one writer at a time (its
// Conn's readMu or writeMu serializes them) and any number of readers.
type msgCounter struct {
	word  atomic.Uint64 // messages<<byteBits | bytes, since the last fold
	seq   atomic.Uint64 // odd while a fold is in progress
	msgs  atomic.Uint64 // folded totals
	bytes atomic.Uint64
}

const (
	byteBits = 44 // 16 TiB between folds; the messages get 2^20
	byteMask = 1<<byteBits - 1
	msgMax   = 1<<(64-byteBits) - 1
)

// add counts msgs messages of n bytes.
func (m *msgCounter) add(msgs, n uint64) {
	w := m.word.Load() // only we write it: a plain load, no lock
	if w>>byteBits+msgs > msgMax || w&byteMask+n > byteMask {
		m.fold(w, msgs, n)
		return
	}
	m.word.Add(msgs<<byteBits | n)
}

// sub takes back msgs messages of n bytes that add counted; the writer
// only, as add. It folds the word into the totals, so that the word's two
// fields never borrow from each other.
func (m *msgCounter) sub(msgs, n uint64) {
	m.seq.Add(1)
	w := m.word.Load()
	m.msgs.Add(w>>byteBits - msgs) // wraps below zero: the totals held them
	m.bytes.Add(w&byteMask - n)
	m.word.Store(0)
	m.seq.Add(1)
}

// fold moves the word's counts, plus msgs and n, into the totals. It is
// kept out of line, to keep add short.
//
//go:noinline
func (m *msgCounter) fold(w, msgs, n uint64) {
	m.seq.Add(1)
	m.msgs.Add(w>>byteBits + msgs)
	m.bytes.Add(w&byteMask + n)
	m.word.Store(0)
	m.seq.Add(1)
}

// load returns the messages and bytes counted so far.
func (m *msgCounter) load() (msgs, bytes uint64) {
	for {
		if s := m.seq.Load(); s&1 == 0 {
			w, msgs, bytes := m.word.Load(), m.msgs.Load(), m.bytes.Load()
			if m.seq.Load() == s {
				return msgs + w>>byteBits, bytes + w&byteMask
			}
		}
		runtime.Gosched() // a fold is in progress
	}
}

// errorBox holds an error in an atomic.Pointer.
type errorBox struct{ err error }

// pingSeed keys the hashes that match a pong to the ping it answers.
var pingSeed = maphash.MakeSeed()

// Stats returns a snapshot of the connection's counters. It may be called
// from any goroutine, also while the Conn sends and receives and after it
// closed, and never waits for either side. The message and byte counts
// are exact whenever no call on that side is under way. The send counts
// (MessagesSent, BytesSent) are also exact while a send waits for the
// socket; at the instant a send is queueing its frame, or frames that sends
// queued are being handed to the socket, they may lag behind by the frames
// queued since the last socket write began. The receive
// counts (MessagesReceived, BytesReceived) are also exact while a
// receiving call waits for the socket; while a burst of buffered messages
// is being read (or an App's event loop decodes what one socket read
// brought), they may lag behind by the messages decoded since the last
// socket read. A count never goes below what an earlier call returned.
// A message, ping or pong whose write fails is taken back from the counts
// (unless a Stats call already returned it while it waited for the
// socket: counts never go back); so are the compressed counts of a
// message written on its own, not those of frames a failed write had
// queued behind it.
func (c *Conn) Stats() Stats {
	s := c.stats
	st := Stats{
		PingsSent:     s.pingsOut.Load(),
		PingsReceived: s.pingsIn.Load(),
		PongsSent:     s.pongsOut.Load(),
		PongsReceived: s.pongsIn.Load(),
		Latency:       time.Duration(s.latency.Load()),
	}
	if m := s.more.Load(); m != nil {
		st.CompressedWireSent = m.zWireOut.Load()
		st.CompressedPayloadSent = m.zPayloadOut.Load()
		st.CompressedWireReceived = m.zWireIn.Load()
		st.CompressedPayloadReceived = m.zPayloadIn.Load()
		st.LastCloseCode = StatusCode(m.closeCode.Load())
	}
	st.MessagesSent, st.BytesSent = s.out.load()
	// The reader publishes its counts before it waits for the socket,
	// the writer before each socket write; when neither is inside a
	// call, their latest are read here.
	peekMu := c.peekMu()
	peekMu.Lock()
	if c.writeMu.TryLock() {
		st.MessagesSent, st.BytesSent = s.out.load()
		st.MessagesSent += c.outMsgs
		st.BytesSent += c.outBytes
		c.writeMu.Unlock()
	}
	if c.readMu.TryLock() {
		st.MessagesReceived, st.BytesReceived = s.in.load()
		st.MessagesReceived += c.inMsgs
		st.BytesReceived += c.inBytes
		c.unlockRead()
	} else {
		st.MessagesReceived, st.BytesReceived = s.in.load()
	}
	seen := s.seen.get() // each count only grows
	st.MessagesSent = atLeast(st.MessagesSent, &seen.msgsOut)
	st.BytesSent = atLeast(st.BytesSent, &seen.bytesOut)
	st.MessagesReceived = atLeast(st.MessagesReceived, &seen.msgsIn)
	st.BytesReceived = atLeast(st.BytesReceived, &seen.bytesIn)
	st.PingsSent = atLeast(st.PingsSent, &seen.pingsOut)
	st.PongsSent = atLeast(st.PongsSent, &seen.pongsOut)
	st.CompressedWireSent = atLeast(st.CompressedWireSent, &seen.zWireOut)
	st.CompressedPayloadSent = atLeast(st.CompressedPayloadSent, &seen.zPayloadOut)
	peekMu.Unlock()
	// Last: an error that ended a call whose counts were read is seen.
	if m := s.more.Load(); m != nil {
		if b := m.lastErr.Load(); b != nil {
			st.LastError = b.err
		}
	}
	return st
}

// atLeast returns the larger of v and *seen, which it keeps in *seen.
func atLeast(v uint64, seen *uint64) uint64 {
	*seen = max(v, *seen)
	return *seen
}

// Latency returns the round-trip time of the last ping answered: the time
// from sending a ping (Ping, an App's automatic ping, or SendFrame) to
// receiving the pong with the same payload, as any receiving method or the
// App's reader reads it. It is 0 until a ping was answered. Only the last
// ping sent is waited for: a pong for an earlier one, or one the server
// sends unasked, is not a measurement.
func (c *Conn) Latency() time.Duration { return time.Duration(c.stats.latency.Load()) }

// pingSent records a ping going out, to time its pong.
func (s *connStats) pingSent(payload []byte) {
	s.ping.set(monoNow(), maphash.Bytes(pingSeed, payload))
}

// pongReceived takes the round-trip time when payload answers the last
// ping sent.
func (s *connStats) pongReceived(payload []byte) { s.pongAt(monoNow(), payload) }

// pongAt is pongReceived at monotonic time now.
func (s *connStats) pongAt(now int64, payload []byte) {
	if rtt, ok := s.ping.take(now, maphash.Bytes(pingSeed, payload)); ok {
		s.latency.Store(max(int64(rtt), 1)) // 0 says none was answered: a coarse clock may see none pass
	}
}

// failed records the error that ended the connection; the first one
// stays. ErrConnectionClosed, a read or write ended by our own close, is
// not one.
func (s *connStats) failed(err error) {
	if s != nil && err != nil && err != ErrConnectionClosed {
		s.more.get().lastErr.CompareAndSwap(nil, &errorBox{err})
	}
}

// failure returns the error failed recorded, nil when none.
func (s *connStats) failure() error {
	if s == nil {
		return nil
	}
	if m := s.more.Load(); m != nil {
		if b := m.lastErr.Load(); b != nil {
			return b.err
		}
	}
	return nil
}

// peerClosed records the code of the server's close frame.
func (s *connStats) peerClosed(code StatusCode) {
	if s != nil {
		s.more.get().closeCode.Store(uint32(code))
	}
}

// appStats holds an App's own counters and the totals of its connections
// that ended; the open connection's are added when read. The counters are
// made when the first connection ends, fails or is replaced (appTotals):
// until then every one of them is zero, and an App whose connection stays
// open keeps 16 bytes of them instead of 192 (TestIdleRunSizes).
type appStats struct {
	mu     sync.Mutex          // guards totals.ended and the swap of App.conn when one ends
	totals onDemand[appTotals] // nil while every counter is zero
}

// appTotals is what appStats counts once there is something to count.
type appTotals struct {
	ended      Stats // counters of the connections that ended
	latency    atomic.Int64
	reconnects atomic.Uint64
	errors     atomic.Uint64
	lastErr    atomic.Pointer[errorBox]
	closeCode  atomic.Uint32
}

// Stats returns a snapshot of the App's counters over all the
// connections of all its runs: those that ended and the open one (see
// Stats for each field). It may be called from any goroutine, also from a
// callback, during and after a run.
func (a *App) Stats() Stats {
	s := &a.stats
	var st Stats
	s.mu.Lock()
	t := s.totals.Load()
	if t != nil {
		st = t.ended
	}
	if c := a.conn.Load(); c != nil {
		cs := c.Stats()
		st.add(&cs)
		if cs.Latency > 0 {
			st.Latency = cs.Latency
		}
	}
	s.mu.Unlock()
	if t == nil {
		return st
	}
	if st.Latency == 0 {
		st.Latency = time.Duration(t.latency.Load())
	}
	st.Reconnects = t.reconnects.Load()
	st.Errors = t.errors.Load()
	if b := t.lastErr.Load(); b != nil {
		st.LastError = b.err
	}
	st.LastCloseCode = StatusCode(t.closeCode.Load())
	return st
}

// connEnded forgets the App's open connection c, adding its counters to
// the totals of the connections that ended.
func (a *App) connEnded(c *Conn) {
	s := &a.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	if !a.conn.CompareAndSwap(c, nil) {
		return
	}
	cs := c.Stats()
	t := s.totals.get()
	t.ended.add(&cs)
	if cs.Latency > 0 {
		t.latency.Store(int64(cs.Latency))
	}
}

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventOpen: the first connection of a run opened (before OnOpen).
	EventOpen EventKind = iota + 1
	// EventReconnect: a later connection opened (before OnReconnect).
	EventReconnect
	// EventClose: an opened connection ended (before OnClose).
	EventClose
	// EventError: a failure (before OnError).
	EventError
)

// String returns "open", "reconnect", "close" or "error".
func (k EventKind) String() string {
	switch k {
	case EventOpen:
		return "open"
	case EventReconnect:
		return "reconnect"
	case EventClose:
		return "close"
	case EventError:
		return "error"
	}
	return "EventKind(" + lengthString(int64(k)) + ")"
}

// Event is what RunOptions.Observer is told of.
type Event struct {
	Kind EventKind
	// Conn is the connection that opened or ended (EventOpen,
	// EventReconnect, EventClose); nil for EventError.
	Conn *Conn
	// Code and Reason are what OnClose gets (EventClose).
	Code   StatusCode
	Reason string
	// Err is what OnError gets (EventError).
	Err error
}

// observe updates the App's counters for ev and tells the run's
// Observer; it runs on the dispatcher's goroutine. A panic in the Observer
// is logged, not reported to OnError: errors are themselves events.
func (s *Session) observe(ev Event) {
	switch ev.Kind {
	case EventReconnect:
		s.app.stats.totals.get().reconnects.Add(1)
	case EventClose:
		s.app.stats.totals.get().closeCode.Store(uint32(ev.Code))
	case EventError:
		t := s.app.stats.totals.get()
		t.errors.Add(1)
		t.lastErr.Store(&errorBox{ev.Err})
	}
	obs := s.opts.Observer
	if obs == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			logError("websocket: App error", panicError("Observer", r))
		}
	}()
	obs(s.app, ev)
}

// observeOpen reports connection c opening to the App's counters and
// Observer: as a reconnect when an earlier connection of the run opened.
func (s *Session) observeOpen(c *Conn) {
	kind := EventOpen
	if s.opened {
		kind = EventReconnect
	}
	s.observe(Event{Kind: kind, Conn: c})
}
