package h2

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Defaults and limits of a ClientConn.
const (
	// DefaultStreamWindow is the receive window of each stream: the most
	// data a stream buffers for a reader that does not keep up.
	DefaultStreamWindow = 1 << 20
	// DefaultConnWindow is the receive window of a connection, which
	// bounds what it buffers. It is large enough that streams stalled at
	// their own window do not stall the connection's other streams, up to
	// 64 stalled at the largest grown window (16 MiB) or 1024 at the
	// first one.
	DefaultConnWindow = 1 << 30
	// DefaultMaxHeaderListSize bounds a response's decoded header list
	// (the sum of name and value lengths plus 32 per field, RFC 9113 §6.5.2).
	DefaultMaxHeaderListSize = 64 << 10
	// MaxErrorBody bounds the body kept in a StatusError.
	MaxErrorBody = 4 << 10

	// headerTableSize is the HPACK dynamic table size this end allows the
	// peer's encoder (the protocol's default, so it is not sent).
	headerTableSize = 4096
	// maxContinuations bounds the CONTINUATION frames of one header block.
	maxContinuations = 64
	// maxControl bounds the queued control frames (SETTINGS and PING
	// acknowledgements, resets, window updates) the peer has caused this
	// end to owe it; a peer that outpaces its own reading gets
	// ENHANCE_YOUR_CALM.
	maxControl = 1024
	// maxUseless bounds, per second, the frames that do nothing: frames for
	// closed streams, empty DATA frames, PRIORITY frames, unknown PING
	// acknowledgements. Past it the peer gets ENHANCE_YOUR_CALM.
	maxUseless = 1000
	// lateFrames is how many frames for a closed stream each stream that
	// ends earns the peer, spent before maxUseless counts them: what a
	// server still had in flight when this end closed the stream (its
	// END_STREAM, RST_STREAM, WINDOW_UPDATE), so that a client opening and
	// closing hundreds of streams a second does not pass the bound. The
	// allowance saved up is at most maxLate.
	lateFrames = 4
	maxLate    = lateFrames * 1024
	// maxInformational bounds the 1xx responses before the final one.
	maxInformational = 8
	// chunkSize is the largest DATA, HEADERS or CONTINUATION payload sent:
	// the smallest SETTINGS_MAX_FRAME_SIZE a peer can have.
	chunkSize = 16384
	// closeWriteTimeout bounds the write of the final GOAWAY.
	closeWriteTimeout = time.Second
	// maxDirect bounds the data a Write sends under the write lock at
	// once (writeDirect), so that other streams' frames get their turn.
	maxDirect = 4 * chunkSize
	// maxWindow is the largest flow-control window (RFC 9113 §6.9.1).
	maxWindow = 1<<31 - 1
	// growTime: a stream window half read within it grows
	// (Config.GrowStreamWindow).
	growTime = 10 * time.Millisecond
)

// Config tunes a ClientConn. The zero value (or nil) uses the defaults.
type Config struct {
	// StreamWindow is the receive window of each stream, between 65535
	// and 2^31-1; 0 means DefaultStreamWindow.
	StreamWindow uint32
	// ConnWindow is the receive window of the connection, between 65535
	// and 2^31-1; 0 means DefaultConnWindow.
	ConnWindow uint32
	// MaxHeaderListSize bounds a response's header list; 0 means
	// DefaultMaxHeaderListSize.
	MaxHeaderListSize uint32
	// GrowStreamWindow, if above StreamWindow, lets each stream's window
	// grow up to it while its reader uses it: the window doubles when half
	// of it was read within growTime of the last WINDOW_UPDATE, that is,
	// when what is read in 2*growTime no longer fits.
	GrowStreamWindow uint32
	// ReadIdleTimeout is how long the connection may receive nothing
	// before it is checked with a PING (health.go); 0 means never.
	ReadIdleTimeout time.Duration
	// PingTimeout is how long that PING may go unacknowledged before the
	// connection fails; 0 means DefaultPingTimeout.
	PingTimeout time.Duration
}

// ClientConn is one HTTP/2 client connection. Frames are read and
// dispatched to streams by a stream's consumer waiting for data or by a
// goroutine of the connection's (lead.go); another goroutine writes the
// frames queued for it (control frames, HEADERS, resets, and stream data
// whose Write found the connection busy); both end when the connection is
// closed. Its methods are safe for concurrent use.
type ClientConn struct {
	conn net.Conn
	// wmu is the write lock: whoever holds it owns fr's writing side and
	// bw, and a frame is written whole under it. The writer goroutine
	// holds it while it writes a batch; a Stream's Write takes it itself
	// when nothing is queued and nobody writes (writeDirect).
	wmu  sync.Mutex
	fr   *http2.Framer
	bw   *bufio.Writer
	dhdr [9]byte // DATA frame header scratch; under wmu
	// The reading side, owned by the holder of the reader token (lead.go).
	rerr errReader
	rb   frameBuf // the Framer's reader: bytes read, whole frames parsed
	// spare is a receive block large DATA payloads are copied into, which
	// their stream may keep (readData).
	spare *[]byte
	// dst is the buffer of a Read of stream dstSt whose consumer holds the
	// token: the stream's DATA goes straight into it while the stream has
	// nothing buffered, rather than through a receive block (handleData).
	// dstN bytes of it are filled. Set by the token's holder, under mu.
	dst   []byte
	dstSt *Stream
	dstN  int
	hdec  *hpack.Decoder
	hb    headerBlock // the header block being read
	// settingsRead records that the server's first SETTINGS was read.
	settingsRead bool
	// lead records that a stream's consumer may read the connection (it
	// supports read deadlines, which interrupt such a read).
	lead bool
	// inRead is the stream whose consumer is in a read of the connection.
	inRead atomic.Pointer[Stream]
	stream uint32 // receive window of a stream, at its opening
	growTo uint32 // the most a stream's window grows to (Config.GrowStreamWindow)
	connW  uint32 // receive window of the connection
	maxHL  uint32 // MaxHeaderListSize

	settingsCh chan struct{} // closed when the peer's first SETTINGS arrived
	closed     chan struct{} // closed when the connection failed or was closed
	wake       chan struct{} // wakes the writer
	readerDone chan struct{}
	writerDone chan struct{}
	bgKick     chan struct{} // wakes the reader goroutine; capacity 1

	mu       sync.Mutex
	henc     *hpack.Encoder
	hencBuf  *encBuf
	streams  map[uint32]*Stream
	nextID   uint32
	active   int // streams that hold a concurrency slot
	reserved int // slots reserved by a Pool for callers about to open a stream
	// The peer's settings.
	maxStreams    uint32
	initialWindow int64
	maxHeaderList uint32
	extConnect    bool
	// Flow control.
	sendWindow  int64         // the peer's connection window
	recvWindow  int64         // what the peer may still send on the connection
	recvPending int64         // consumed, not yet returned by WINDOW_UPDATE
	sendCond    chan struct{} // closed and replaced when a writer may progress
	// GOAWAY.
	goAway    bool
	goAwayID  uint32
	goAwayErr error // the peer's GOAWAY with an error code, if any
	// The credentials of the streams the connection carried (at most
	// maxKeptSecrets), which a GOAWAY's debug data may echo; secretsLost:
	// more came, and the debug data is withheld.
	secrets     []string
	secretsLost bool
	// Termination.
	err        error // why the connection ended; nil while it is live
	sendGoAway bool
	goAwayCode http2.ErrCode
	goAwayMsg  string
	// Writer queues.
	ctrl    []ctrlFrame
	ordered []*writeReq
	// PING.
	pings   map[[8]byte]chan struct{}
	pingSeq uint64
	// Frames that do nothing.
	uselessStart time.Time
	useless      int
	late         int  // frames for closed streams allowed before useless counts them (lateFrames)
	settingsAck  bool // our SETTINGS (sent once) was acknowledged: another ACK is useless
	// Idleness, for a Pool.
	idleTimeout time.Duration
	idleTimer   *time.Timer
	onDone      func(*ClientConn)
	// onSlot, set by a Pool, is called (under mu, so it must not block or
	// take the Pool's lock) when a stream slot may have become free or
	// the connection stopped counting against the Pool's cap.
	onSlot func()
	// direct is the stream whose Write is writing to the connection
	// itself (writeDirect), if any.
	direct *Stream
	// armed records that the connection's socket has a write deadline,
	// armedAt, because a stream gave up on data the socket had not taken
	// (stuckLocked). Written under mu; read without it by sockWriter.
	armed   atomic.Bool
	armedAt time.Time
	// progress looks, while armed, whether the socket's send queue moved
	// since sendQueue was read (the peer reads, slowly): then the
	// deadline moves on (watchProgressLocked). Made at the first arming;
	// where the queue cannot be read, never.
	progress  *time.Timer
	sendQueue int
	watching  bool // the progress watch judges, not a socket deadline; under mu
	// The reader token (lead.go).
	tok                int     // tokFree, tokHeld, tokHanded
	handTo             *Stream // whose consumer the token was handed to
	need               int     // parties waiting for frames to be read
	waitHead, waitTail *Stream // consumers waiting for data and the token
	bgWant             bool    // the reader goroutine is to take a free token
	delivered          uint64  // counts deliveries to streams
	relGen, timerGen   uint64  // counts releases of the token; at arming
	timerArmed         bool
	takeWait           time.Duration // the timer's next wait (lead.go)
	bgTimer            *time.Timer

	// Liveness (health.go).
	readIdle, pingTimeout time.Duration
	lastRead              atomic.Int64 // when bytes last arrived (monoNow)
	liveTimer             *time.Timer  // under mu
	probing               atomic.Bool  // a Probe is waiting for its PING's acknowledgement
}

// encBuf is the io.Writer of the HPACK encoder.
type encBuf struct{ b []byte }

func (e *encBuf) Write(p []byte) (int, error) { e.b = append(e.b, p...); return len(p), nil }

// errReader remembers the error of the underlying reader, to tell I/O
// errors from protocol errors in the Framer's results.
type errReader struct {
	r   io.Reader
	err error
}

func (r *errReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil {
		r.err = err
	}
	return n, err
}

// ctrlFrame is a frame the writer sends ahead of stream data.
type ctrlFrame struct {
	typ      http2.FrameType
	streamID uint32
	code     http2.ErrCode
	incr     uint32
	ping     [8]byte
	ack      bool
	// after, for a SETTINGS acknowledgement, is how many of the ordered
	// frames queued with it were queued before it: their DATA took its
	// flow-control credit under the settings before, so they go out
	// first. The peer applies a lowered SETTINGS_INITIAL_WINDOW_SIZE to
	// what follows the acknowledgement (RFC 9113 §6.5.3).
	after int
}

// writeReq is a frame that keeps its order with the stream data: HEADERS,
// DATA, and resets the application asked for.
type writeReq struct {
	st   *Stream
	typ  http2.FrameType
	data []byte
	end  bool
	code http2.ErrCode
	done chan error // nil: nobody waits
	skip bool       // dropped by the writer
}

// NewClientConn starts HTTP/2 on conn, a TLS connection that negotiated
// "h2" by ALPN or a plain connection to a server known to speak HTTP/2
// (h2c with prior knowledge). It sends the connection preface and this
// end's SETTINGS (no server push, the receive windows of cfg, a bounded
// header list) and waits, at most until ctx is done, for the server's
// first SETTINGS frame, which tells whether it supports extended CONNECT.
// On error conn is closed. Close the ClientConn when done with it.
func NewClientConn(ctx context.Context, conn net.Conn, cfg *Config) (*ClientConn, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.StreamWindow == 0 {
		c.StreamWindow = DefaultStreamWindow
	}
	if c.ConnWindow == 0 {
		c.ConnWindow = DefaultConnWindow
	}
	if c.MaxHeaderListSize == 0 {
		c.MaxHeaderListSize = DefaultMaxHeaderListSize
	}
	if c.StreamWindow < 65535 || c.StreamWindow > maxWindow || c.ConnWindow < 65535 || c.ConnWindow > maxWindow || c.GrowStreamWindow > maxWindow {
		conn.Close()
		return nil, errors.New("websocket: http2: receive windows must be between 65535 and 2^31-1")
	}
	cc := &ClientConn{
		conn:          conn,
		stream:        c.StreamWindow,
		growTo:        max(c.StreamWindow, c.GrowStreamWindow),
		connW:         c.ConnWindow,
		maxHL:         c.MaxHeaderListSize,
		settingsCh:    make(chan struct{}),
		closed:        make(chan struct{}),
		wake:          make(chan struct{}, 1),
		readerDone:    make(chan struct{}),
		writerDone:    make(chan struct{}),
		bgKick:        make(chan struct{}, 1),
		bgWant:        true, // the reader goroutine reads the preface
		takeWait:      takeover,
		streams:       make(map[uint32]*Stream),
		nextID:        1,
		maxStreams:    maxWindow, // unlimited until the peer says otherwise
		initialWindow: 65535,
		maxHeaderList: ^uint32(0),
		sendWindow:    65535,
		recvWindow:    int64(c.ConnWindow),
		sendCond:      make(chan struct{}),
		pings:         make(map[[8]byte]chan struct{}),
		hencBuf:       &encBuf{},
		readIdle:      c.ReadIdleTimeout,
		pingTimeout:   c.PingTimeout,
	}
	if cc.pingTimeout <= 0 {
		cc.pingTimeout = DefaultPingTimeout
	}
	cc.rerr.r = conn
	cc.bw = bufio.NewWriterSize((*sockWriter)(cc), 32<<10)
	// A consumer's read of the connection is interrupted by a read
	// deadline: without them only the reader goroutine reads.
	cc.lead = conn.SetReadDeadline(time.Time{}) == nil
	cc.fr = http2.NewFramer(cc.bw, &cc.rb)
	cc.fr.SetMaxReadFrameSize(chunkSize) // the default this end advertises
	cc.fr.SetReuseFrames()               // frames are not kept past the next
	cc.henc = hpack.NewEncoder(cc.hencBuf)
	cc.hdec = hpack.NewDecoder(headerTableSize, cc.emit)
	cc.hdec.SetMaxStringLength(int(c.MaxHeaderListSize))
	cc.wmu.Lock() // the writer holds it until the preface is out
	go cc.writeLoop()
	go cc.bgLoop()
	select {
	case <-cc.settingsCh:
		cc.startLiveness()
		return cc, nil
	case <-cc.closed:
		err := cc.Err()
		cc.Close()
		return nil, err
	case <-ctx.Done():
		// The dial gives up: no GOAWAY, and the socket closes now, also
		// under a writer stuck on a server that reads nothing (Close
		// would give that writer closeWriteTimeout more).
		cc.fail(wrap("websocket: http2: connection closed", ErrClosed), false, http2.ErrCodeNo)
		cc.conn.Close()
		<-cc.writerDone
		<-cc.readerDone
		return nil, fmt.Errorf("websocket: http2: waiting for the server's SETTINGS: %w", ctxErr(ctx))
	}
}

// SupportsExtendedConnect reports whether the server announced
// SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3), so that
// OpenWebSocket can work.
func (cc *ClientConn) SupportsExtendedConnect() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.extConnect
}

// CanTakeNewStream reports whether OpenWebSocket may open a stream now:
// the connection is live, has not received GOAWAY, and is below the
// server's SETTINGS_MAX_CONCURRENT_STREAMS.
func (cc *ClientConn) CanTakeNewStream() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.canTakeLocked()
}

// canTakeLocked reports whether a stream can be opened.
func (cc *ClientConn) canTakeLocked() bool {
	return cc.err == nil && !cc.goAway && cc.nextID <= maxWindow &&
		int64(cc.active)+int64(cc.reserved) < int64(cc.maxStreams)
}

// reserve takes a slot for a stream about to be opened with open(..., true).
func (cc *ClientConn) reserve() bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if !cc.canTakeLocked() || !cc.extConnect {
		return false
	}
	cc.reserved++
	cc.stopIdleLocked()
	return true
}

// Done returns a channel that is closed when the connection has ended.
func (cc *ClientConn) Done() <-chan struct{} { return cc.closed }

// Err returns why the connection ended, or nil while it is live.
func (cc *ClientConn) Err() error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.err
}

// Close sends GOAWAY(NO_ERROR), closes the connection and waits for its
// goroutines to end. Open streams fail with errors wrapping ErrClosed.
func (cc *ClientConn) Close() error {
	cc.mu.Lock()
	cc.failLocked(wrap("websocket: http2: connection closed", ErrClosed), true, http2.ErrCodeNo)
	cc.mu.Unlock()
	<-cc.writerDone
	<-cc.readerDone
	return nil
}

// Ping sends an HTTP/2 PING and returns the round-trip time when the
// server acknowledges it.
func (cc *ClientConn) Ping(ctx context.Context) (time.Duration, error) {
	cc.mu.Lock()
	if cc.err != nil {
		err := cc.err
		cc.mu.Unlock()
		return 0, err
	}
	cc.pingSeq++
	var data [8]byte
	binary.BigEndian.PutUint64(data[:], cc.pingSeq)
	ch := make(chan struct{})
	cc.pings[data] = ch
	start := time.Now()
	cc.queueCtrlLocked(ctrlFrame{typ: http2.FramePing, ping: data})
	cc.needLocked()
	cc.mu.Unlock()
	defer cc.unneed()
	select {
	case <-ch:
		return time.Since(start), nil
	case <-cc.closed:
		return 0, cc.Err()
	case <-ctx.Done():
		cc.mu.Lock()
		delete(cc.pings, data)
		cc.mu.Unlock()
		return 0, fmt.Errorf("websocket: http2: ping: %w", ctxErr(ctx))
	}
}

// wakeWriter nudges the writer goroutine.
func (cc *ClientConn) wakeWriter() {
	select {
	case cc.wake <- struct{}{}:
	default:
	}
}

// broadcastLocked wakes the writers waiting for flow-control credit or for
// a change of their stream's state.
func (cc *ClientConn) broadcastLocked() {
	close(cc.sendCond)
	cc.sendCond = make(chan struct{})
}

// queueCtrlLocked queues a control frame, failing the connection when the
// peer has made this end owe it too many.
func (cc *ClientConn) queueCtrlLocked(f ctrlFrame) {
	if cc.err != nil {
		return
	}
	if len(cc.ctrl) >= maxControl {
		cc.failLocked(connErr(http2.ErrCodeEnhanceYourCalm, "more than %d control frames queued for the peer and not written yet", maxControl), true, http2.ErrCodeEnhanceYourCalm)
		return
	}
	cc.ctrl = append(cc.ctrl, f)
	cc.wakeWriter()
}

// queueLocked queues a frame in order with stream data.
func (cc *ClientConn) queueLocked(r *writeReq) {
	cc.ordered = append(cc.ordered, r)
	cc.wakeWriter()
}

// failLocked ends the connection with err: every stream fails, the writer
// sends GOAWAY(code) if goAway and closes the connection.
func (cc *ClientConn) failLocked(err error, goAway bool, code http2.ErrCode) {
	if cc.err != nil {
		return
	}
	cc.err = err
	cc.sendGoAway = goAway
	cc.goAwayCode = code
	if ce, ok := err.(*CodeError); ok && !ce.Remote {
		cc.goAwayMsg = ce.Reason
	}
	close(cc.closed)
	cc.interrupt(nil)
	for _, st := range cc.streams {
		cc.endStreamLocked(st, err)
	}
	cc.stopIdleLocked()
	cc.stopLivenessLocked()
	cc.broadcastLocked()
	// A writer stuck on a peer that does not read gives up.
	cc.conn.SetWriteDeadline(time.Now().Add(closeWriteTimeout))
	cc.wakeWriter()
}

// fail is failLocked for callers without the lock.
func (cc *ClientConn) fail(err error, goAway bool, code http2.ErrCode) {
	cc.mu.Lock()
	cc.failLocked(err, goAway, code)
	cc.mu.Unlock()
}

// endStreamLocked fails st with err and frees its slot.
func (cc *ClientConn) endStreamLocked(st *Stream, err error) {
	if st.err == nil {
		st.err = err
	}
	cc.forgetLocked(st)
}

// forgetLocked removes st from the connection: its slot is free, its
// waiters wake, and the connection credit of data nobody will read is
// returned.
func (cc *ClientConn) forgetLocked(st *Stream) {
	if st.removed {
		return
	}
	st.removed = true
	cc.late = min(cc.late+lateFrames, maxLate)
	if st.linger != nil {
		st.linger.Stop()
	}
	delete(cc.streams, st.id)
	cc.active--
	if !st.gotResponse {
		close(st.respCh)
		st.gotResponse = true
	}
	if st.connDebt > 0 {
		// Whoever reads the rest no longer holds up the connection.
		cc.connCreditLocked(st.connDebt)
		st.connDebt = 0
	}
	st.signal()
	cc.broadcastLocked()
	cc.checkIdleLocked()
	cc.slotLocked()
}

// slotLocked tells the Pool that a slot may be free.
func (cc *ClientConn) slotLocked() {
	if cc.onSlot != nil {
		cc.onSlot()
	}
}

// countsLocked reports whether the connection counts against a Pool's cap
// on connections: it is live and has not received GOAWAY.
func (cc *ClientConn) countsLocked() bool { return cc.err == nil && !cc.goAway }

// checkIdleLocked handles a connection that may have become idle: after
// GOAWAY it closes, in a Pool its idle timer starts.
func (cc *ClientConn) checkIdleLocked() {
	if cc.err != nil || cc.active != 0 || cc.reserved != 0 {
		return
	}
	if cc.goAway {
		cc.failLocked(wrap("websocket: http2: connection closed after GOAWAY", ErrClosed), false, 0)
		return
	}
	cc.startIdleLocked()
}

// startIdleLocked arms the idle timer of a connection in a Pool.
func (cc *ClientConn) startIdleLocked() {
	if cc.idleTimeout <= 0 || cc.idleTimer != nil {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(cc.idleTimeout, func() {
		cc.mu.Lock()
		idle := cc.idleTimer == t && cc.active == 0 && cc.reserved == 0
		cc.mu.Unlock()
		if idle {
			cc.Close()
		}
	})
	cc.idleTimer = t
}

func (cc *ClientConn) stopIdleLocked() {
	if cc.idleTimer != nil {
		cc.idleTimer.Stop()
		cc.idleTimer = nil
	}
}

// connCreditLocked returns n bytes of connection receive window to the
// peer, in WINDOW_UPDATE frames of at least half the window.
func (cc *ClientConn) connCreditLocked(n int64) {
	cc.recvPending += n
	if cc.recvPending >= int64(cc.connW)/2 {
		cc.queueCtrlLocked(ctrlFrame{typ: http2.FrameWindowUpdate, incr: uint32(cc.recvPending)})
		cc.recvWindow += cc.recvPending
		cc.recvPending = 0
	}
}

// streamCreditLocked returns n bytes of st's receive window to the peer,
// growing the window (Config.GrowStreamWindow) when half of it was
// returned within growTime, at least half of that by reads. Bytes no read
// returned (free: padding, data dropped for a closed reader) count for
// the half but cannot make it alone: a server padding its frames would
// otherwise grow the window of a WebSocket that reads nothing, while one
// that pads every frame a fast reader reads still lets it grow.
func (cc *ClientConn) streamCreditLocked(st *Stream, n int64, free bool) {
	if st.removed || st.remoteEnded {
		return
	}
	st.recvPending += n
	if free {
		st.freePending += uint32(n) // n is within the window, at most 2^31-1
	}
	if st.recvPending >= int64(st.win)/2 {
		incr := st.recvPending
		if st.win < cc.growTo {
			now := monoNow()
			free := int64(st.freePending)
			if st.recvPending-free >= free && now-st.creditAt < int64(growTime) {
				extra := min(st.win, cc.growTo-st.win)
				st.win += extra
				incr += int64(extra)
			}
			st.creditAt = now
		}
		cc.queueCtrlLocked(ctrlFrame{typ: http2.FrameWindowUpdate, streamID: st.id, incr: uint32(incr)})
		st.recvWindow += incr
		st.recvPending, st.freePending = 0, 0
	}
}

// lateLocked counts a frame for a closed stream: free while the streams
// that ended left some of their allowance, useless after that.
func (cc *ClientConn) lateLocked() error {
	if cc.late > 0 {
		cc.late--
		return nil
	}
	return cc.uselessLocked()
}

// uselessLocked counts a frame that does nothing.
func (cc *ClientConn) uselessLocked() error {
	now := time.Now()
	if now.Sub(cc.uselessStart) > time.Second {
		cc.uselessStart, cc.useless = now, 0
	}
	cc.useless++
	if cc.useless > maxUseless {
		return connErr(http2.ErrCodeEnhanceYourCalm, "more than %d frames without effect (for closed streams, empty, unsolicited) within a second", maxUseless)
	}
	return nil
}

// writeLoop is the writer goroutine: it sends the preface, then the
// queued frames, control frames first (but a SETTINGS acknowledgement after
// the frames queued before it), and finally GOAWAY. It holds wmu
// while it writes, so a Write that finds it busy queues its chunk.
func (cc *ClientConn) writeLoop() {
	defer func() {
		cc.mu.Lock()
		onDone := cc.onDone
		cc.mu.Unlock()
		if onDone != nil {
			onDone(cc)
		}
		close(cc.writerDone)
	}()
	err := cc.writePreface() // wmu is held since NewClientConn
	cc.wmu.Unlock()
	var ctrl []ctrlFrame
	var reqs []*writeReq
	for {
		cc.mu.Lock()
		if err != nil {
			cc.writeFailedLocked(err)
		}
		for len(cc.ctrl) == 0 && len(cc.ordered) == 0 && cc.err == nil {
			cc.mu.Unlock()
			<-cc.wake
			cc.mu.Lock()
		}
		cc.mu.Unlock()
		// The write lock first, then the batch: what a direct write sent
		// meanwhile went out before anything queued after it.
		cc.wmu.Lock()
		cc.mu.Lock()
		if cc.err != nil {
			cerr := cc.err
			reqs = append(reqs[:0], cc.ordered...)
			cc.ordered = nil
			send, code, msg := cc.sendGoAway && err == nil, cc.goAwayCode, cc.goAwayMsg
			cc.mu.Unlock()
			for _, r := range reqs {
				if r.done != nil {
					r.done <- cerr
				}
			}
			if send {
				// The last stream id is 0: the server initiates none.
				if cc.fr.WriteGoAway(0, code, []byte(msg)) == nil {
					cc.bw.Flush()
				}
			}
			cc.conn.Close()
			cc.wmu.Unlock()
			return
		}
		ctrl, cc.ctrl = cc.ctrl, ctrl[:0]
		reqs, cc.ordered = cc.ordered, reqs[:0]
		// DATA of a stream that was reset is dropped; HEADERS never are:
		// the peer's HPACK decoder must see every block.
		for _, r := range reqs {
			r.skip = r.typ == http2.FrameData && r.st.dropData
		}
		cc.mu.Unlock()
		sent := 0 // reqs written
		for i := range ctrl {
			for ; sent < min(ctrl[i].after, len(reqs)); sent++ {
				if err == nil && !reqs[sent].skip {
					err = cc.writeReq(reqs[sent])
				}
			}
			if err == nil {
				err = cc.writeCtrl(&ctrl[i])
			}
		}
		for _, r := range reqs[sent:] {
			if err == nil && !r.skip {
				err = cc.writeReq(r)
			}
		}
		if err == nil {
			err = cc.bw.Flush()
		}
		cc.mu.Lock()
		for _, r := range reqs {
			if r == &r.st.wreq {
				r.st.held = false
			}
		}
		if err != nil {
			// Before the waiting Writes learn it: a failed write
			// fails every stream with the connection's error.
			cc.writeFailedLocked(err)
		} else {
			cc.disarmLocked()
		}
		cc.mu.Unlock()
		cc.wmu.Unlock()
		for _, r := range reqs {
			if r.done != nil {
				if r.skip {
					r.done <- errStreamReset
				} else {
					r.done <- err
				}
			}
		}
	}
}

// writeData writes a DATA frame to bw; wmu is held. It is the Framer's
// WriteData without the copy of data into the Framer's buffer.
func (cc *ClientConn) writeData(id uint32, end bool, data []byte) error {
	h := &cc.dhdr
	h[0], h[1], h[2] = byte(len(data)>>16), byte(len(data)>>8), byte(len(data))
	h[3] = byte(http2.FrameData)
	h[4] = 0
	if end {
		h[4] = byte(http2.FlagDataEndStream)
	}
	binary.BigEndian.PutUint32(h[5:], id)
	if _, err := cc.bw.Write(h[:]); err != nil {
		return err
	}
	_, err := cc.bw.Write(data)
	return err
}

// writeDirect writes data of st in DATA frames from the calling goroutine
// and flushes them; mu and wmu are held on entry and both are released.
// The caller took the flow-control credit of data, at most maxDirect
// bytes.
func (cc *ClientConn) writeDirect(st *Stream, data []byte) error {
	cc.direct = st
	cc.mu.Unlock()
	var err error
	for len(data) > 0 && err == nil {
		k := min(len(data), chunkSize)
		err = cc.writeData(st.id, false, data[:k])
		data = data[k:]
	}
	if err == nil {
		err = cc.bw.Flush()
	}
	cc.mu.Lock()
	cc.direct = nil
	if err != nil {
		cc.writeFailedLocked(err)
	} else {
		cc.disarmLocked()
	}
	cc.mu.Unlock()
	cc.wmu.Unlock()
	return err
}

// stuckLocked is called when st is closed or reset, or gets a write
// deadline t (zero for Close), and when that deadline passes: if data of
// st is on its way to the connection's socket, a Write of st writing it
// there itself (writeDirect) or a chunk the writer goroutine holds
// (queued, or in the batch it is writing, behind what was queued before
// it), the socket has closeWriteTimeout past then to take it, or the
// connection fails, as a connection whose peer reads nothing for that
// long would fail anyway (crypto/tls cannot resume a timed-out write);
// the Write then returns. A socket that is slow but takes each of its
// writes within closeWriteTimeout keeps going (sockWriter), and the
// deadline is cleared once the data given up on is out (disarmLocked).
// A chunk the writer holds counts once the deadline has passed (its
// timer calls again then, Stream.writeTimedOut), so that a deadline
// set ahead of each Write does not arm the socket.
func (cc *ClientConn) stuckLocked(st *Stream, t time.Time) {
	now := time.Now()
	switch {
	case cc.err != nil:
		return
	case cc.direct == st:
	case st.held && !t.After(now):
	default:
		return
	}
	if t.Before(now) {
		t = now
	}
	t = t.Add(closeWriteTimeout)
	if cc.armed.Load() && !t.Before(cc.armedAt) {
		return // an earlier one stands
	}
	cc.armed.Store(true)
	cc.armedAt = t
	if !cc.watchProgressLocked() {
		cc.conn.SetWriteDeadline(t)
	}
}

// progressEvery is how often the progress watch looks at the socket's
// send queue while a deadline is armed.
const progressEvery = closeWriteTimeout / 4

// watchProgressLocked has the progress watch look at the socket's send
// queue every progressEvery while armed, and reports whether it can (Linux,
// a TCP socket). The kernel wakes a writer blocked on a full socket only
// once a large part of the queue has gone, which a peer that reads slowly
// may take many seconds to read: the watch sees the queue move (bytes the
// peer acknowledged, or the kernel took from us) and gives the socket
// closeWriteTimeout more each time, so that only a peer that reads nothing
// for that long fails the connection. The watch is then also the judge: it
// ends the stuck write itself (a deadline of now) when it finds armedAt
// passed and the queue where it was, rather than a socket deadline at
// armedAt, which fires on time even when the watch, on a machine busy
// enough to keep it waiting, had no chance to see the peer read. Where
// the queue cannot be read, the socket's deadline is armedAt, and each
// write's completion alone moves it (sockWriter).
func (cc *ClientConn) watchProgressLocked() bool {
	q, ok := sendQueued(cc.conn)
	if !ok {
		return false
	}
	cc.watching = true
	cc.sendQueue = q
	if cc.progress == nil {
		cc.progress = time.AfterFunc(progressEvery, cc.checkProgress)
	} else {
		cc.progress.Reset(progressEvery)
	}
	return true
}

// checkProgress is the progress watch's timer.
func (cc *ClientConn) checkProgress() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if !cc.armed.Load() || cc.err != nil {
		return
	}
	now := time.Now()
	if q, ok := sendQueued(cc.conn); ok && q != cc.sendQueue {
		cc.sendQueue = q
		if t := now.Add(closeWriteTimeout); t.After(cc.armedAt) {
			cc.armedAt = t
		}
	} else if !now.Before(cc.armedAt) {
		cc.conn.SetWriteDeadline(now) // the stuck write returns a timeout
		return
	}
	cc.progress.Reset(min(progressEvery, max(cc.armedAt.Sub(now), time.Millisecond)))
}

// disarmLocked clears the socket's write deadline once the socket took
// what the writer was writing, unless a chunk given up on (its stream
// closed, or its write deadline passed) is still queued: the writer's
// next batch then has until the same time.
func (cc *ClientConn) disarmLocked() {
	if !cc.armed.Load() || cc.err != nil {
		return
	}
	for _, r := range cc.ordered {
		if st := r.st; r == &st.wreq && !st.dropData && (st.closingClosed || st.wdl.passed.Load()) {
			return
		}
	}
	cc.armed.Store(false)
	cc.armedAt = time.Time{}
	cc.watching = false
	cc.conn.SetWriteDeadline(time.Time{})
	if cc.progress != nil {
		cc.progress.Stop()
	}
}

// sockWriter is the connection's socket as the writing side's bufio.Writer
// writes to it. While a deadline armed by stuckLocked stands, each write
// that the socket takes in time gives it closeWriteTimeout more, but
// never less than it had: a peer that reads nothing fails the
// connection, one that reads slowly does not.
type sockWriter ClientConn

func (w *sockWriter) Write(p []byte) (int, error) {
	cc := (*ClientConn)(w)
	n, err := cc.conn.Write(p)
	if err == nil && cc.armed.Load() {
		cc.mu.Lock()
		if t := time.Now().Add(closeWriteTimeout); cc.armed.Load() && cc.err == nil && t.After(cc.armedAt) {
			cc.armedAt = t
			if !cc.watching {
				cc.conn.SetWriteDeadline(t)
			}
		}
		cc.mu.Unlock()
	}
	return n, err
}

// writeFailedLocked fails the connection after a write to its socket
// failed with err. A timeout is a write that stuckLocked gave a deadline
// and the socket did not take: it is deliberately not reported as a
// timeout error (as liveness does not, health.go), since a stream's
// timeout leaves it usable and this connection is gone. The Write whose
// own deadline it was still reports its timeout (Stream.writeErr).
func (cc *ClientConn) writeFailedLocked(err error) {
	if cc.err != nil {
		return
	}
	if isTimeout(err) {
		err = fmt.Errorf("websocket: http2: connection failed: a write stuck in the socket (%v)", err)
	} else {
		err = fmt.Errorf("websocket: http2: write: %w", err)
	}
	cc.failLocked(err, false, 0)
}

// isTimeout reports whether err is a timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

var errStreamReset = errors.New("websocket: http2: stream reset")

func (cc *ClientConn) writePreface() error {
	if _, err := io.WriteString(cc.bw, http2.ClientPreface); err != nil {
		return err
	}
	err := cc.fr.WriteSettings(
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: cc.stream},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: cc.maxHL},
	)
	if err == nil && cc.connW > 65535 {
		err = cc.fr.WriteWindowUpdate(0, cc.connW-65535)
	}
	if err == nil {
		err = cc.bw.Flush()
	}
	return err
}

func (cc *ClientConn) writeCtrl(f *ctrlFrame) error {
	switch f.typ {
	case http2.FrameSettings:
		return cc.fr.WriteSettingsAck()
	case http2.FramePing:
		return cc.fr.WritePing(f.ack, f.ping)
	case http2.FrameRSTStream:
		return cc.fr.WriteRSTStream(f.streamID, f.code)
	case http2.FrameWindowUpdate:
		return cc.fr.WriteWindowUpdate(f.streamID, f.incr)
	}
	return nil
}

func (cc *ClientConn) writeReq(r *writeReq) error {
	switch r.typ {
	case http2.FrameHeaders:
		block := r.data
		first := true
		for first || len(block) > 0 {
			n := min(len(block), chunkSize)
			frag, end := block[:n], n == len(block)
			block = block[n:]
			var err error
			if first {
				err = cc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: r.st.id, BlockFragment: frag, EndHeaders: end, EndStream: r.end})
				first = false
			} else {
				err = cc.fr.WriteContinuation(r.st.id, end, frag)
			}
			if err != nil {
				return err
			}
		}
		return nil
	case http2.FrameData:
		return cc.writeData(r.st.id, r.end, r.data)
	case http2.FrameRSTStream:
		return cc.fr.WriteRSTStream(r.st.id, r.code)
	}
	return nil
}
