package h2

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/wsclient/websocket/internal/httptoken"
)

// headerBlock is the state of the header block being read: a HEADERS
// frame and its CONTINUATION frames.
type headerBlock struct {
	streamID  uint32
	endStream bool
	frames    int   // CONTINUATION frames so far
	bytes     int   // encoded bytes so far
	size      int   // decoded size so far (RFC 9113 §6.5.2)
	invalid   error // the first malformed field, if any
	sawReg    bool  // a regular field was seen
	sawStatus bool  // :status was seen (its value may be empty)
	status    string
	header    http.Header
}

// readFrame handles the frame at the head of cc.rb, which is buffered
// whole (rb.ready); the caller holds the reader token. It returns false
// when the connection has failed or was closed.
func (cc *ClientConn) readFrame() bool {
	fh, err := cc.fr.ReadFrameHeader()
	var f http2.Frame
	if err == nil && fh.Type == http2.FrameData && cc.settingsRead {
		if herr := cc.readData(fh); herr != nil {
			cc.fail(herr, true, herr.Code)
			return false
		}
		return true
	} else if err == nil {
		f, err = cc.fr.ReadFrameForHeader(fh)
	}
	if err != nil {
		var se http2.StreamError
		if errors.As(err, &se) && fh.Type != http2.FrameHeaders {
			if ce := cc.streamError(se); ce != nil {
				cc.fail(ce, true, ce.Code)
				return false
			}
			return true
		}
		// A header block that was not decoded would leave HPACK
		// out of step: any error in one ends the connection.
		cc.fail(cc.beforeSettings(cc.readErr(err)), true, codeOf(err))
		return false
	}
	if err := cc.handle(f); err != nil {
		ce, _ := err.(*CodeError)
		code := http2.ErrCodeProtocol
		if ce != nil {
			code = ce.Code
		}
		cc.fail(cc.beforeSettings(err), true, code)
		return false
	}
	return !isClosed(cc.closed)
}

// streamError handles a stream error the Framer found in a frame.
func (cc *ClientConn) streamError(se http2.StreamError) *CodeError {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	st, err := cc.streamLocked(se.StreamID)
	if st == nil {
		ce, _ := err.(*CodeError)
		return ce
	}
	cc.resetLocked(st, se.Code, streamErr(se.Code, "%v", se))
	return nil
}

// lostErr is Wrap(msg, err) that also matches ErrConnLost.
func lostErr(msg string, err error) error {
	return wrap(Wrap(msg, err).Error(), ErrConnLost, err)
}

// readErr makes an error of the Framer into the error the connection
// fails with.
func (cc *ClientConn) readErr(err error) error {
	if cc.rerr.err != nil {
		cc.mu.Lock()
		goAwayErr := cc.goAwayErr
		cc.mu.Unlock()
		if goAwayErr != nil {
			return lostErr("websocket: http2: connection lost after GOAWAY", goAwayErr)
		}
		return lostErr("websocket: http2: connection lost", cc.rerr.err)
	}
	if errors.Is(err, http2.ErrFrameTooLarge) {
		return connErr(http2.ErrCodeFrameSize, "frame larger than %d bytes", chunkSize)
	}
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		reason := ""
		if d := cc.fr.ErrorDetail(); d != nil {
			reason = d.Error()
		}
		return connErr(http2.ErrCode(ce), "%s", reason)
	}
	return connErr(http2.ErrCodeProtocol, "%v", err)
}

// codeOf is the GOAWAY code for a read error.
func codeOf(err error) http2.ErrCode {
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &ce):
		return http2.ErrCode(ce)
	case errors.Is(err, http2.ErrFrameTooLarge):
		return http2.ErrCodeFrameSize
	}
	return http2.ErrCodeProtocol
}

// handle processes one frame; an error is a connection error.
func (cc *ClientConn) handle(f http2.Frame) error {
	if _, ok := f.(*http2.SettingsFrame); !cc.settingsRead && !ok {
		return connErr(http2.ErrCodeProtocol, "the server's preface does not start with SETTINGS")
	}
	switch f := f.(type) {
	case *http2.HeadersFrame:
		if f.StreamID%2 == 0 {
			return connErr(http2.ErrCodeProtocol, "HEADERS on server-initiated stream %d", f.StreamID)
		}
		cc.hb = headerBlock{streamID: f.StreamID, endStream: f.StreamEnded()}
		cc.hdec.SetEmitEnabled(true)
		return cc.headerFragment(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.ContinuationFrame:
		cc.hb.frames++
		if cc.hb.frames > maxContinuations {
			return connErr(http2.ErrCodeEnhanceYourCalm, "more than %d CONTINUATION frames in a header block", maxContinuations)
		}
		return cc.headerFragment(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.DataFrame: // before the first SETTINGS only: readData takes the others
		return cc.handleData(f.StreamID, int64(f.Length), f.Data(), f.StreamEnded())
	case *http2.SettingsFrame:
		return cc.handleSettings(f)
	case *http2.PingFrame:
		cc.mu.Lock()
		defer cc.mu.Unlock()
		if !f.IsAck() {
			cc.queueCtrlLocked(ctrlFrame{typ: http2.FramePing, ack: true, ping: f.Data})
			return nil
		}
		if ch := cc.pings[f.Data]; ch != nil {
			delete(cc.pings, f.Data)
			close(ch)
			return nil
		}
		return cc.uselessLocked()
	case *http2.WindowUpdateFrame:
		return cc.handleWindowUpdate(f)
	case *http2.RSTStreamFrame:
		cc.mu.Lock()
		defer cc.mu.Unlock()
		st, err := cc.streamLocked(f.StreamID)
		if st == nil {
			return err
		}
		cc.endStreamLocked(st, &CodeError{Code: f.ErrCode, Stream: true, Remote: true})
		return nil
	case *http2.GoAwayFrame:
		cc.handleGoAway(f)
		return nil
	case *http2.PushPromiseFrame:
		return connErr(http2.ErrCodeProtocol, "PUSH_PROMISE with push disabled")
	default: // PRIORITY, PRIORITY_UPDATE, unknown types
		cc.mu.Lock()
		defer cc.mu.Unlock()
		return cc.uselessLocked()
	}
}

// streamLocked returns the open stream id; for a closed stream it returns
// nil after counting a late frame (lateLocked), for an idle one a
// connection error.
func (cc *ClientConn) streamLocked(id uint32) (*Stream, error) {
	if st := cc.streams[id]; st != nil {
		return st, nil
	}
	if id%2 == 0 || id >= cc.nextID {
		return nil, connErr(http2.ErrCodeProtocol, "frame for idle stream %d", id)
	}
	return nil, cc.lateLocked()
}

// resetLocked resets st with code because of err, detected by this end.
func (cc *ClientConn) resetLocked(st *Stream, code http2.ErrCode, err error) {
	if !st.rstSent {
		st.rstSent, st.dropData = true, true
		cc.queueCtrlLocked(ctrlFrame{typ: http2.FrameRSTStream, streamID: st.id, code: code})
	}
	cc.endStreamLocked(st, err)
}

func (cc *ClientConn) handleSettings(f *http2.SettingsFrame) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if f.IsAck() {
		if cc.settingsAck { // we sent one SETTINGS: this one answers nothing
			return cc.uselessLocked()
		}
		cc.settingsAck = true
		return nil
	}
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			var ce http2.ConnectionError
			errors.As(err, &ce)
			return connErr(http2.ErrCode(ce), "invalid setting %v", s)
		}
		switch s.ID {
		case http2.SettingHeaderTableSize:
			cc.henc.SetMaxDynamicTableSizeLimit(s.Val)
		case http2.SettingMaxConcurrentStreams:
			cc.maxStreams = s.Val
			cc.slotLocked()
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - cc.initialWindow
			for _, st := range cc.streams {
				if st.sendWindow+delta > maxWindow {
					return connErr(http2.ErrCodeFlowControl, "SETTINGS_INITIAL_WINDOW_SIZE overflows the window of stream %d", st.id)
				}
				st.sendWindow += delta
			}
			cc.initialWindow = int64(s.Val)
			cc.broadcastLocked()
		case http2.SettingMaxHeaderListSize:
			cc.maxHeaderList = s.Val
		case http2.SettingEnablePush:
			if s.Val != 0 { // RFC 9113 §6.5.2: only a client may enable it
				return connErr(http2.ErrCodeProtocol, "the server sent SETTINGS_ENABLE_PUSH = %d", s.Val)
			}
		case http2.SettingEnableConnectProtocol:
			if cc.extConnect && s.Val == 0 {
				return connErr(http2.ErrCodeProtocol, "SETTINGS_ENABLE_CONNECT_PROTOCOL went from 1 to 0")
			}
			cc.extConnect = s.Val == 1
		}
		return nil
	})
	if err != nil {
		return err
	}
	cc.queueCtrlLocked(ctrlFrame{typ: http2.FrameSettings, ack: true, after: len(cc.ordered)})
	if !cc.settingsRead {
		cc.settingsRead = true
		close(cc.settingsCh)
	}
	return nil
}

func (cc *ClientConn) handleWindowUpdate(f *http2.WindowUpdateFrame) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	incr := int64(f.Increment)
	if f.StreamID == 0 {
		if cc.sendWindow+incr > maxWindow {
			return connErr(http2.ErrCodeFlowControl, "WINDOW_UPDATE overflows the connection window")
		}
		cc.sendWindow += incr
		cc.broadcastLocked()
		return nil
	}
	st, err := cc.streamLocked(f.StreamID)
	if st == nil {
		return err
	}
	if st.sendWindow+incr > maxWindow {
		cc.resetLocked(st, http2.ErrCodeFlowControl, streamErr(http2.ErrCodeFlowControl, "WINDOW_UPDATE overflows the window of stream %d", st.id))
		return nil
	}
	st.sendWindow += incr
	cc.broadcastLocked()
	return nil
}

func (cc *ClientConn) handleGoAway(f *http2.GoAwayFrame) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	last := f.LastStreamID
	if cc.goAway && last > cc.goAwayID {
		last = cc.goAwayID // it may only go down
	}
	cc.goAway, cc.goAwayID = true, last
	if f.ErrCode != http2.ErrCodeNo {
		// Every stream of the connection gets this error: the debug data
		// may echo the credentials of any stream it carried.
		reason := cc.peerTextLocked(f.DebugData(), 256, "of debug data ")
		cc.goAwayErr = &CodeError{Code: f.ErrCode, Remote: true, Reason: reason}
	}
	for id, st := range cc.streams {
		if id > last {
			cc.endStreamLocked(st, wrap(fmt.Sprintf("websocket: http2: stream %d is above the last stream id %d of the server's GOAWAY; safe to retry", id, last), ErrRefused))
		}
	}
	cc.broadcastLocked()
	cc.checkIdleLocked()
	cc.slotLocked()
}

// peerTextLocked quotes b, the peer's, for an error (at most max of its
// bytes): without the credentials of the streams the connection carried,
// which it may echo, or withheld (named by what) when the connection
// carried more than it kept.
func (cc *ClientConn) peerTextLocked(b []byte, max int, what string) string {
	switch {
	case cc.secretsLost:
		return fmt.Sprintf("(%d bytes %swithheld: they may repeat a credential)", len(b), what)
	case cc.secrets != nil:
		return httptoken.WithoutSecrets(httptoken.QuoteCut(b, max), cc.secrets)
	}
	return httptoken.QuoteCut(b, max)
}

// fieldError is a header block's fault that names a field of the peer's:
// its text is made when the block ends (headerBlockEnd), with the
// connection's lock held for peerTextLocked.
type fieldError struct{ what, name string }

func (e *fieldError) Error() string { return e.what + " " + strconv.Quote(e.name) }

// maxKeptSecrets bounds the credentials a connection keeps for its GOAWAY's
// error (keepSecretsLocked): streams with credentials of their own each.
const maxKeptSecrets = 64

// keepSecretsLocked adds the credentials of a stream's request to those
// the connection carried.
func (cc *ClientConn) keepSecretsLocked(secrets []string) {
	for _, s := range secrets {
		switch {
		case s == "" || slices.Contains(cc.secrets, s):
		case len(cc.secrets) < maxKeptSecrets:
			cc.secrets = append(cc.secrets, s)
		default:
			cc.secretsLost = true
		}
	}
}

// readData takes the payload of a DATA frame, whose header the Framer
// read and checked (size, order), from cc.rb, where it is buffered whole.
// It returns a connection error the frame causes.
func (cc *ClientConn) readData(fh http2.FrameHeader) *CodeError {
	payload := cc.rb.next(int(fh.Length))
	if fh.StreamID == 0 {
		return connErr(http2.ErrCodeProtocol, "DATA frame with stream ID 0")
	}
	data := payload
	if fh.Flags.Has(http2.FlagDataPadded) {
		if len(data) == 0 {
			return connErr(http2.ErrCodeProtocol, "padded DATA frame without a pad length")
		}
		pad := int(data[0])
		if data = data[1:]; pad > len(data) {
			return connErr(http2.ErrCodeProtocol, "pad size larger than data payload")
		}
		data = data[:len(data)-pad]
	}
	if 2*len(data) >= recvBlock && !cc.fitsDst(fh.StreamID, len(data)) {
		// Copied into a receive block of its own, which the stream may
		// keep (pushLocked), rather than into the rest of its last
		// block and a new one.
		if cc.spare == nil {
			cc.spare = recvPool.Get().(*[]byte)
		}
		data = append((*cc.spare)[:0], data...)
	}
	if err := cc.handleData(fh.StreamID, int64(fh.Length), data, fh.Flags.Has(http2.FlagDataEndStream)); err != nil {
		ce, _ := err.(*CodeError)
		if ce == nil {
			ce = &CodeError{Code: http2.ErrCodeProtocol, Reason: err.Error()}
		}
		return ce
	}
	return nil
}

// fitsDst reports whether n bytes of stream id's data fit in the buffer of
// a Read reading the connection (cc.dst), where handleData may put them
// without a receive block; the token's holder calls it.
func (cc *ClientConn) fitsDst(id uint32, n int) bool {
	return cc.dstSt != nil && cc.dstSt.id == id && len(cc.dst)-cc.dstN >= n
}

// handleData takes a DATA frame's data of stream id, n bytes with padding;
// data may be in cc.spare, which the stream then may keep.
func (cc *ClientConn) handleData(id uint32, n int64, data []byte, ended bool) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if n > cc.recvWindow {
		return connErr(http2.ErrCodeFlowControl, "DATA of %d bytes exceeds the connection window of %d", n, cc.recvWindow)
	}
	cc.recvWindow -= n
	st := cc.streams[id]
	if st == nil {
		if id%2 == 0 || id >= cc.nextID {
			return connErr(http2.ErrCodeProtocol, "DATA for idle stream %d", id)
		}
		// Data still in flight to a stream this end reset is expected:
		// it only returns its credit. Empty frames count as late.
		cc.connCreditLocked(n)
		if len(data) == 0 {
			return cc.lateLocked()
		}
		return nil
	}
	if len(data) == 0 && !ended {
		if err := cc.uselessLocked(); err != nil {
			return err
		}
	}
	switch {
	case !st.gotResponse:
		cc.connCreditLocked(n)
		cc.resetLocked(st, http2.ErrCodeProtocol, streamErr(http2.ErrCodeProtocol, "DATA before the response header"))
		return nil
	case st.remoteEnded:
		cc.connCreditLocked(n)
		cc.resetLocked(st, http2.ErrCodeStreamClosed, streamErr(http2.ErrCodeStreamClosed, "DATA after END_STREAM"))
		return nil
	case n > st.recvWindow:
		cc.connCreditLocked(n)
		cc.resetLocked(st, http2.ErrCodeFlowControl, streamErr(http2.ErrCodeFlowControl, "DATA of %d bytes exceeds the window of %d of stream %d", n, st.recvWindow, st.id))
		return nil
	}
	st.recvWindow -= n
	k := 0 // bytes that went straight into Read's buffer
	if pad := n - int64(len(data)); pad > 0 {
		cc.connCreditLocked(pad)
		cc.streamCreditLocked(st, pad, true)
	}
	if len(data) > 0 && st.readClosed {
		// Finish left the stream open for the server's END_STREAM:
		// nobody reads, so the data only returns its credit.
		cc.connCreditLocked(int64(len(data)))
		cc.streamCreditLocked(st, int64(len(data)), true)
	} else if len(data) > 0 {
		st.connDebt += int64(len(data))
		if cc.dstSt == st && st.buffered == 0 {
			// Read's buffer, as its consumer reads the connection
			// (Stream.wait): no copy through a receive block.
			k = copy(cc.dst[cc.dstN:], data)
			cc.dstN += k
		}
		if k < len(data) && st.pushLocked(data[k:], cc.spare) {
			cc.spare = nil
		}
	}
	if ended {
		st.remoteEndLocked()
	}
	if k > 0 {
		st.creditLocked(int64(k)) // read already
	}
	cc.delivered++
	st.signal()
	return nil
}

// headerFragment decodes a fragment of the current header block.
func (cc *ClientConn) headerFragment(frag []byte, end bool) error {
	cc.hb.bytes += len(frag)
	if cc.hb.bytes > 2*int(cc.maxHL) {
		return connErr(http2.ErrCodeEnhanceYourCalm, "header block of more than %d bytes", 2*cc.maxHL)
	}
	if _, err := cc.hdec.Write(frag); err != nil {
		return connErr(http2.ErrCodeCompression, "%v", err)
	}
	if !end {
		return nil
	}
	if err := cc.hdec.Close(); err != nil {
		return connErr(http2.ErrCodeCompression, "%v", err)
	}
	return cc.headerBlockEnd()
}

// emit receives the decoded fields of the current header block.
func (cc *ClientConn) emit(hf hpack.HeaderField) {
	hb := &cc.hb
	hb.size += int(hf.Size())
	switch {
	case hb.invalid != nil:
		return
	case hb.size > int(cc.maxHL):
		hb.invalid = fmt.Errorf("header list larger than %d bytes", cc.maxHL)
	case !httpguts.ValidHeaderFieldValue(hf.Value):
		hb.invalid = &fieldError{"invalid value of header field", hf.Name}
	case strings.HasPrefix(hf.Name, ":"):
		if hf.Name != ":status" || hb.sawReg || hb.sawStatus {
			hb.invalid = &fieldError{"unexpected pseudo-header field", hf.Name}
		}
		hb.status, hb.sawStatus = hf.Value, true
	default:
		hb.sawReg = true
		if !validFieldName(hf.Name) {
			hb.invalid = &fieldError{"invalid header field name", hf.Name}
		} else if connectionSpecific(hf.Name) {
			hb.invalid = &fieldError{"connection-specific header field", hf.Name}
		} else {
			if hb.header == nil {
				hb.header = make(http.Header)
			}
			k := http.CanonicalHeaderKey(hf.Name)
			hb.header[k] = append(hb.header[k], hf.Value)
		}
	}
	if hb.invalid != nil {
		// Keep decoding, for the HPACK state, but keep nothing more.
		cc.hdec.SetEmitEnabled(false)
	}
}

// headerBlockEnd delivers a complete header block to its stream.
func (cc *ClientConn) headerBlockEnd() error {
	hb := &cc.hb
	cc.mu.Lock()
	defer cc.mu.Unlock()
	st, err := cc.streamLocked(hb.streamID)
	if st == nil {
		return err
	}
	if hb.invalid != nil {
		msg := hb.invalid.Error()
		if fe, ok := hb.invalid.(*fieldError); ok {
			msg = fe.what + " " + cc.peerTextLocked([]byte(fe.name), 64, "")
		}
		cc.resetLocked(st, http2.ErrCodeProtocol, streamErr(http2.ErrCodeProtocol, "malformed response header: %s", msg))
		return nil
	}
	if st.remoteEnded {
		cc.resetLocked(st, http2.ErrCodeStreamClosed, streamErr(http2.ErrCodeStreamClosed, "HEADERS after END_STREAM"))
		return nil
	}
	if st.gotResponse { // trailers
		if !hb.endStream || hb.sawStatus {
			cc.resetLocked(st, http2.ErrCodeProtocol, streamErr(http2.ErrCodeProtocol, "trailers without END_STREAM or with :status"))
			return nil
		}
		st.remoteEndLocked()
		st.signal()
		return nil
	}
	code, err := strconv.Atoi(hb.status)
	if err != nil || len(hb.status) != 3 || code < 100 || code == 101 {
		cc.resetLocked(st, http2.ErrCodeProtocol, streamErr(http2.ErrCodeProtocol, "invalid :status %s", cc.peerTextLocked([]byte(hb.status), 64, "")))
		return nil
	}
	if code < 200 {
		st.informational++
		if hb.endStream || st.informational > maxInformational {
			cc.resetLocked(st, http2.ErrCodeProtocol, streamErr(http2.ErrCodeProtocol, "more than %d informational responses, or one with END_STREAM", maxInformational))
		}
		return nil
	}
	h := hb.header
	if h == nil {
		h = make(http.Header)
	}
	cc.delivered++
	st.resp = &Response{StatusCode: code, Header: h}
	st.gotResponse = true
	close(st.respCh)
	if hb.endStream {
		st.remoteEndLocked()
	}
	st.signal()
	return nil
}

// validFieldName reports whether name is a lower-case field name token.
func validFieldName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' || !httpguts.IsTokenRune(rune(c)) {
			return false
		}
	}
	return true
}

// connectionSpecific reports whether the lower-case name is a field HTTP/2
// forbids (RFC 9113 §8.2.2), or one that belongs to the HTTP/1.1 upgrade.
func connectionSpecific(name string) bool {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return true
	}
	return false
}
