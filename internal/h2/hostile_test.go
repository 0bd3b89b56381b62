package h2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"
)

func TestNoSettings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := newPeer(t, true)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cc, err := NewClientConn(ctx, c, nil)
		if cc != nil || !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "websocket: http2: ") {
			t.Fatalf("got %v, %v; want a deadline error", cc, err)
		}
	})
}

func TestPrefaceNotSettings(t *testing.T) {
	c, p := newPeer(t, true)
	sent := p.async(func() { p.fr.WritePing(false, [8]byte{}) })
	cc, err := NewClientConn(context.Background(), c, nil)
	<-sent
	if code, _ := codeOfErr(err); cc != nil || code != http2.ErrCodeProtocol {
		t.Fatalf("got %v, %v; want PROTOCOL_ERROR", cc, err)
	}
	if f := p.next(http2.FrameGoAway); f.code != http2.ErrCodeProtocol {
		t.Fatalf("GOAWAY %v", f.code)
	}
}

func TestNoExtendedConnect(t *testing.T) {
	cc, p := start(t, nil) // no SETTINGS_ENABLE_CONNECT_PROTOCOL
	if cc.SupportsExtendedConnect() || cc.reserve() {
		t.Fatal("extended CONNECT reported supported")
	}
	_, st, err := cc.OpenWebSocket(context.Background(), &Request{Scheme: "https", Authority: "example.com"})
	if st != nil || !errors.Is(err, ErrExtendedConnectUnsupported) {
		t.Fatalf("got %v, %v", st, err)
	}
	cc.Close()
	for _, f := range p.rest() {
		if f.typ == http2.FrameHeaders {
			t.Fatal("the client sent HEADERS")
		}
	}
}

func TestRequestHeaders(t *testing.T) {
	cc, p := start(t, nil, extConnect)
	h := map[string][]string{
		"Sec-WebSocket-Version": {"13"}, "Cookie": {"a=1"}, "X-Two": {"1", "2"}, "Authorization": {"Bearer t"},
		"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-WebSocket-Key": {"k"}, "Host": {"h"},
	}
	go cc.OpenWebSocket(context.Background(), &Request{Scheme: "http", Authority: "example.com:8080", Path: "/p?q", Header: h})
	f := p.next(http2.FrameHeaders)
	var got []string
	for _, hf := range f.fields {
		got = append(got, hf.Name+"="+hf.Value)
		// Credentials are never indexed: HPACK's tables must not let
		// another request's fields reveal them (RFC 7541 §7.1.3).
		if sensitive := hf.Name == "authorization" || hf.Name == "cookie"; hf.Sensitive != sensitive {
			t.Errorf("field %s: sensitive %v, want %v", hf.Name, hf.Sensitive, sensitive)
		}
	}
	want := ":method=CONNECT :protocol=websocket :scheme=http :authority=example.com:8080 :path=/p?q authorization=Bearer t cookie=a=1 sec-websocket-version=13 x-two=1 x-two=2"
	if strings.Join(got, " ") != want {
		t.Fatalf("fields\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	p.headers(f.stream, true, ":status", "200")

	for _, req := range []*Request{
		{Scheme: "ws", Authority: "a"},
		{Scheme: "https", Authority: ""},
		{Scheme: "https", Authority: "a", Path: "nope"},
		{Scheme: "https", Authority: "a", Path: "/a b"},
		{Scheme: "https", Authority: "a", Path: "/a\x7f"},
		{Scheme: "https", Authority: "a", Path: "/a\x00"},
		{Scheme: "https", Authority: "a", Header: map[string][]string{"X": {"a\r\nb"}}},
		{Scheme: "https", Authority: "a", Header: map[string][]string{"Bad Name": {"1"}}},
	} {
		// Refused before anything is sent: a request that went out waits
		// for its answer until the deadline.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, _, err := cc.OpenWebSocket(ctx, req); err == nil || !strings.HasPrefix(err.Error(), "websocket: http2: ") || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%+v: %v", req, err)
		}
		cancel()
	}
}

// bigFields returns n header fields with distinct 1000-byte values.
func bigFields(n int) []string {
	var kv []string
	for i := range n {
		kv = append(kv, "x-big", fmt.Sprintf("%04d%s", i, strings.Repeat("v", 996)))
	}
	return kv
}

// TestConnectionErrors: each misbehaviour ends the connection with GOAWAY
// and the code, and the open stream fails with an error that carries it.
func TestConnectionErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  *Config
		act  func(p *peer, id uint32)
		code http2.ErrCode
	}{
		{"continuation flood", nil, func(p *peer, id uint32) {
			p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: p.block("x-a", "1")})
			for range maxContinuations + 1 {
				if p.fr.WriteContinuation(id, false, nil) != nil {
					return
				}
			}
		}, http2.ErrCodeEnhanceYourCalm},
		{"header block too large", nil, func(p *peer, id uint32) {
			block := p.block(bigFields(200)...)
			p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block[:16384]})
			for block = block[16384:]; len(block) > 0; {
				n := min(len(block), 16384)
				if p.fr.WriteContinuation(id, n == len(block), block[:n]) != nil {
					return
				}
				block = block[n:]
			}
		}, http2.ErrCodeEnhanceYourCalm},
		{"header string too long", nil, func(p *peer, id uint32) {
			block := p.block("x-long", strings.Repeat("v", 70<<10))
			p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block[:16384]})
			for block = block[16384:]; len(block) > 0; {
				n := min(len(block), 16384)
				if p.fr.WriteContinuation(id, n == len(block), block[:n]) != nil {
					return
				}
				block = block[n:]
			}
		}, http2.ErrCodeCompression},
		{"invalid hpack", nil, func(p *peer, id uint32) {
			p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, EndHeaders: true})
		}, http2.ErrCodeCompression},
		{"HPACK table larger than allowed", nil, func(p *peer, id uint32) {
			p.henc.SetMaxDynamicTableSizeLimit(1 << 20)
			p.henc.SetMaxDynamicTableSize(1 << 20) // announced in the next block
			p.headers(id, true, "x-a", "1")
		}, http2.ErrCodeCompression},
		{"connection window overflow", &Config{ConnWindow: 65535}, func(p *peer, id uint32) {
			for range 5 {
				if p.fr.WriteData(id, false, make([]byte, 16384)) != nil {
					return
				}
			}
		}, http2.ErrCodeFlowControl},
		{"connection WINDOW_UPDATE overflow", nil, func(p *peer, id uint32) {
			p.fr.WriteWindowUpdate(0, maxWindow)
		}, http2.ErrCodeFlowControl},
		{"connection WINDOW_UPDATE of zero", nil, func(p *peer, id uint32) {
			p.fr.WriteWindowUpdate(0, 0)
		}, http2.ErrCodeProtocol},
		{"initial window too large", nil, func(p *peer, id uint32) {
			p.settings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31})
		}, http2.ErrCodeFlowControl},
		{"initial window overflows a stream", nil, func(p *peer, id uint32) {
			p.fr.WriteWindowUpdate(id, maxWindow-65535)
			p.settings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 65536})
		}, http2.ErrCodeFlowControl},
		{"extended CONNECT withdrawn", nil, func(p *peer, id uint32) {
			p.settings(http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 0})
		}, http2.ErrCodeProtocol},
		{"DATA on an idle stream", nil, func(p *peer, id uint32) {
			p.fr.WriteData(id+2, false, []byte("x"))
		}, http2.ErrCodeProtocol},
		{"HEADERS on a server stream", nil, func(p *peer, id uint32) {
			p.headers(2, false, ":status", "200")
		}, http2.ErrCodeProtocol},
		{"RST_STREAM on an idle stream", nil, func(p *peer, id uint32) {
			p.fr.WriteRSTStream(id+2, http2.ErrCodeCancel)
		}, http2.ErrCodeProtocol},
		{"PUSH_PROMISE", nil, func(p *peer, id uint32) {
			p.fr.WritePushPromise(http2.PushPromiseParam{StreamID: id, PromiseID: 2, BlockFragment: p.block(":method", "GET"), EndHeaders: true})
		}, http2.ErrCodeProtocol},
		{"frame too large", nil, func(p *peer, id uint32) {
			p.fr.WriteData(id, false, make([]byte, chunkSize+1))
		}, http2.ErrCodeFrameSize},
		{"HEADERS with a stream error", nil, func(p *peer, id uint32) {
			// Padding longer than the frame: the block is not decoded,
			// so HPACK would be out of step.
			payload := append([]byte{200}, p.block("x-a", "1")...)
			p.fr.WriteRawFrame(http2.FrameHeaders, http2.FlagHeadersPadded|http2.FlagHeadersEndHeaders, id, payload)
		}, http2.ErrCodeProtocol},
		{"orphan CONTINUATION", nil, func(p *peer, id uint32) {
			p.fr.WriteContinuation(id, true, nil)
		}, http2.ErrCodeProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, p := start(t, tt.cfg, extConnect)
			st := p.open(cc)
			go tt.act(p, st.ID())
			if f := p.next(http2.FrameGoAway); f.code != tt.code {
				t.Fatalf("GOAWAY %v %q, want %v", f.code, f.debug, tt.code)
			}
			<-cc.Done()
			if code, _ := codeOfErr(cc.Err()); code != tt.code {
				t.Fatalf("Err() = %v", cc.Err())
			}
			_, err := io.ReadAll(st)
			if code, _ := codeOfErr(err); code != tt.code || !strings.HasPrefix(err.Error(), "websocket: http2: ") {
				t.Fatalf("stream Read: %v", err)
			}
			if _, err := st.Write([]byte("x")); err == nil {
				t.Fatal("Write on a failed connection succeeded")
			}
			if cc.CanTakeNewStream() {
				t.Fatal("CanTakeNewStream on a failed connection")
			}
		})
	}
}

// TestStreamErrors: each misbehaviour resets only the stream; the
// connection goes on.
func TestStreamErrors(t *testing.T) {
	tests := []struct {
		name     string
		cfg      *Config
		act      func(p *peer, id uint32)
		code     http2.ErrCode
		response bool // the misbehaviour is in the response header
	}{
		{"stream window overflow", &Config{StreamWindow: 65535}, func(p *peer, id uint32) {
			for range 5 {
				p.fr.WriteData(id, false, make([]byte, 16384))
			}
		}, http2.ErrCodeFlowControl, false},
		{"stream WINDOW_UPDATE overflow", nil, func(p *peer, id uint32) {
			p.fr.WriteWindowUpdate(id, maxWindow)
		}, http2.ErrCodeFlowControl, false},
		{"stream WINDOW_UPDATE of zero", nil, func(p *peer, id uint32) {
			p.fr.WriteWindowUpdate(id, 0)
		}, http2.ErrCodeProtocol, false},
		{"DATA after END_STREAM", nil, func(p *peer, id uint32) {
			p.fr.WriteData(id, true, []byte("a"))
			p.fr.WriteData(id, false, []byte("b"))
		}, http2.ErrCodeStreamClosed, false},
		{"HEADERS after END_STREAM", nil, func(p *peer, id uint32) {
			p.fr.WriteData(id, true, nil)
			p.headers(id, true, "x-trailer", "1")
		}, http2.ErrCodeStreamClosed, false},
		{"trailers without END_STREAM", nil, func(p *peer, id uint32) {
			p.headers(id, false, "x-trailer", "1")
		}, http2.ErrCodeProtocol, false},
		{"upper-case field name", nil, func(p *peer, id uint32) {
			p.headers(id, false, ":status", "200", "X-Up", "1")
		}, http2.ErrCodeProtocol, true},
		{"upper-case A in a field name", nil, func(p *peer, id uint32) {
			p.headers(id, false, ":status", "200", "x-A", "1")
		}, http2.ErrCodeProtocol, true},
		{"upper-case Z in a field name", nil, func(p *peer, id uint32) {
			p.headers(id, false, ":status", "200", "x-Z", "1")
		}, http2.ErrCodeProtocol, true},
		{"pseudo-header after a field", nil, func(p *peer, id uint32) {
			p.headers(id, false, "x-a", "1", ":status", "200")
		}, http2.ErrCodeProtocol, true},
		{"request pseudo-header", nil, func(p *peer, id uint32) {
			p.headers(id, false, ":status", "200", ":path", "/")
		}, http2.ErrCodeProtocol, true},
		{"no :status", nil, func(p *peer, id uint32) {
			p.headers(id, false, "x-a", "1")
		}, http2.ErrCodeProtocol, true},
		{"bad :status", nil, func(p *peer, id uint32) {
			p.headers(id, false, ":status", "2000")
		}, http2.ErrCodeProtocol, true},
		{"101", nil, func(p *peer, id uint32) {
			p.headers(id, false, ":status", "101")
		}, http2.ErrCodeProtocol, true},
		{"connection-specific field", nil, func(p *peer, id uint32) {
			p.headers(id, false, ":status", "200", "connection", "close")
		}, http2.ErrCodeProtocol, true},
		{"invalid field value", nil, func(p *peer, id uint32) {
			p.headers(id, false, ":status", "200", "x-a", "a\x00b")
		}, http2.ErrCodeProtocol, true},
		{"header list too large", nil, func(p *peer, id uint32) {
			// Indexed by HPACK, 3000 small fields take little space on
			// the wire but decode past the limit.
			kv := []string{":status", "200"}
			for range 3000 {
				kv = append(kv, "x-a", "b")
			}
			p.headers(id, false, kv...)
		}, http2.ErrCodeProtocol, true},
		{"DATA before the response", nil, func(p *peer, id uint32) {
			p.fr.WriteData(id, false, []byte("early"))
		}, http2.ErrCodeProtocol, true},
		{"too many informational responses", nil, func(p *peer, id uint32) {
			for range maxInformational + 1 {
				p.headers(id, false, ":status", "103")
			}
		}, http2.ErrCodeProtocol, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, p := start(t, tt.cfg, extConnect)
			var st *Stream
			var id uint32
			errc := make(chan error, 1)
			if tt.response {
				go func() {
					_, _, err := cc.OpenWebSocket(context.Background(), &Request{Scheme: "https", Authority: "a"})
					errc <- err
				}()
				id = p.next(http2.FrameHeaders).stream
			} else {
				st = p.open(cc)
				id = st.ID()
			}
			tt.act(p, id)
			if f := p.next(http2.FrameRSTStream); f.stream != id || f.code != tt.code {
				t.Fatalf("RST_STREAM %d %v, want %d %v", f.stream, f.code, id, tt.code)
			}
			var err error
			if tt.response {
				err = <-errc
			} else {
				_, err = io.ReadAll(st)
				if tt.name == "DATA after END_STREAM" || tt.name == "HEADERS after END_STREAM" {
					err = nil // END_STREAM came first: Read saw EOF
				}
			}
			if code, _ := codeOfErr(err); err != nil && code != tt.code {
				t.Fatalf("stream error %v", err)
			}
			// The connection is unharmed, and HPACK still in step.
			p.ping(cc)
			st2 := p.open(cc)
			p.headers(st2.ID(), true, "x-trailer", "ok")
			if _, err := io.ReadAll(st2); err != nil {
				t.Fatal(err)
			}
			if cc.Err() != nil {
				t.Fatal(cc.Err())
			}
		})
	}
}

// TestUselessFrames: a peer may send up to maxUseless frames without
// effect per second; one more gets ENHANCE_YOUR_CALM.
func TestUselessFrames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc, p := start(t, nil, extConnect)
		st := p.open(cc)
		open := p.open(cc)
		p.fr.WriteRSTStream(st.ID(), http2.ErrCodeCancel) // st is closed now
		send := func(n int) {
			for i := range n {
				var err error
				switch i % 8 {
				case 0:
					err = p.fr.WriteRSTStream(st.ID(), http2.ErrCodeCancel)
				case 1:
					err = p.fr.WriteWindowUpdate(st.ID(), 1)
				case 2:
					err = p.fr.WritePriority(open.ID(), http2.PriorityParam{Weight: 1})
				case 3:
					err = p.fr.WriteData(open.ID(), false, nil)
				case 4:
					err = p.fr.WriteRawFrame(0x42, 0, 0, nil)
				case 5:
					err = p.fr.WritePing(true, [8]byte{1})
				case 6:
					err = p.fr.WriteWindowUpdate(st.ID(), 0)
				case 7: // the first answers our SETTINGS; the others nothing
					err = p.fr.WriteSettingsAck()
				}
				if err != nil {
					return
				}
			}
		}
		send(maxUseless)
		p.ping(cc)
		time.Sleep(2 * time.Second) // a new second: a new budget
		send(maxUseless)
		p.ping(cc)
		time.Sleep(2 * time.Second) // each kind must count for this to fail
		go send(maxUseless + 1)
		if f := p.next(http2.FrameGoAway); f.code != http2.ErrCodeEnhanceYourCalm {
			t.Fatalf("GOAWAY %v", f.code)
		}
		<-cc.Done()
	})
}

// TestControlFlood: a peer that sends PINGs or SETTINGS and never reads
// the acknowledgements gets ENHANCE_YOUR_CALM once maxControl are owed.
func TestControlFlood(t *testing.T) {
	for _, typ := range []http2.FrameType{http2.FramePing, http2.FrameSettings} {
		t.Run(typ.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, p := newPeer(t, false)
				sent := p.async(func() { p.settings(extConnect) })
				cc, err := NewClientConn(context.Background(), c, nil)
				<-sent
				if err != nil {
					t.Fatal(err)
				}
				defer cc.Close()
				go func() {
					for range 10 * maxControl {
						var err error
						if typ == http2.FramePing {
							err = p.fr.WritePing(false, [8]byte{})
						} else {
							err = p.fr.WriteSettings()
						}
						if err != nil {
							return
						}
					}
				}()
				<-cc.Done()
				if code, _ := codeOfErr(cc.Err()); code != http2.ErrCodeEnhanceYourCalm {
					t.Fatalf("Err() = %v", cc.Err())
				}
			})
		})
	}
}

func TestGoAway(t *testing.T) {
	cc, p := start(t, nil, extConnect)
	s1, s3, s5 := p.open(cc), p.open(cc), p.open(cc)
	p.fr.WriteGoAway(s3.ID(), http2.ErrCodeNo, nil)
	if _, err := s5.Read(make([]byte, 1)); !errors.Is(err, ErrRefused) {
		t.Fatalf("stream above the last id: %v", err)
	}
	if cc.CanTakeNewStream() {
		t.Fatal("CanTakeNewStream after GOAWAY")
	}
	if _, _, err := cc.OpenWebSocket(context.Background(), &Request{Scheme: "https", Authority: "a"}); !errors.Is(err, ErrRefused) {
		t.Fatalf("open after GOAWAY: %v", err)
	}
	// The streams at or below the last id go on.
	p.fr.WriteData(s1.ID(), true, []byte("one"))
	if b, err := io.ReadAll(s1); err != nil || string(b) != "one" {
		t.Fatalf("stream 1: %q, %v", b, err)
	}
	if _, err := s3.Write([]byte("three")); err != nil {
		t.Fatal(err)
	}
	if f := p.next(http2.FrameData); f.stream != s3.ID() || string(f.data) != "three" {
		t.Fatalf("DATA %d %q", f.stream, f.data)
	}
	s1.CloseWrite()
	s3.CloseWrite()
	select {
	case <-cc.Done():
		t.Fatal("connection closed with a stream left")
	default:
	}
	p.fr.WriteData(s3.ID(), true, nil)
	<-cc.Done() // the last stream is done: the connection closes
	if !errors.Is(cc.Err(), ErrClosed) {
		t.Fatalf("Err() = %v", cc.Err())
	}
}

// TestGoAwayError: when the server sends GOAWAY with an error code and
// hangs up, the streams fail with that code and its debug data.
func TestGoAwayError(t *testing.T) {
	cc, p := start(t, nil, extConnect)
	st := p.open(cc)
	p.fr.WriteGoAway(st.ID(), http2.ErrCodeEnhanceYourCalm, []byte("slow down"))
	p.ping(cc)
	p.conn.Close()
	_, err := st.Read(make([]byte, 1))
	var ce *CodeError
	if !errors.As(err, &ce) || ce.Code != http2.ErrCodeEnhanceYourCalm || !ce.Remote || ce.Stream || !strings.Contains(err.Error(), "slow down") {
		t.Fatalf("Read: %v", err)
	}
}

func TestPeerReset(t *testing.T) {
	cc, p := start(t, nil, extConnect)
	st := p.open(cc)
	p.fr.WriteData(st.ID(), false, []byte("partial"))
	p.fr.WriteRSTStream(st.ID(), http2.ErrCodeRefusedStream)
	b, err := io.ReadAll(st)
	var ce *CodeError
	if string(b) != "partial" || !errors.As(err, &ce) || !ce.Remote || !ce.Stream || !errors.Is(err, ErrRefused) {
		t.Fatalf("read %q, %v", b, err)
	}
	p.ping(cc)
}

// TestReceiveWindowCredit: stream credit goes back as the application
// reads, not as data arrives; padding is credited at once.
func TestReceiveWindowCredit(t *testing.T) {
	cc, p := start(t, &Config{StreamWindow: 65535}, extConnect)
	st := p.open(cc)
	p.fr.WriteDataPadded(st.ID(), false, bytes.Repeat([]byte("a"), 16000), make([]byte, 200))
	p.fr.WriteDataPadded(st.ID(), false, bytes.Repeat([]byte("b"), 16000), make([]byte, 200))
	p.fr.WriteData(st.ID(), false, bytes.Repeat([]byte("c"), 1000))
	p.fr.WritePing(false, [8]byte{7})
	for {
		f := <-p.frames
		if f.typ == http2.FramePing {
			break
		}
		if f.typ == http2.FrameWindowUpdate && f.stream == st.ID() {
			t.Fatalf("WINDOW_UPDATE of %d before any read", f.incr)
		}
	}
	buf := make([]byte, 40000)
	if n, err := st.Read(buf); n != 33000 || err != nil {
		t.Fatalf("Read: %d, %v", n, err)
	}
	if bytes.Count(buf[:16000], []byte("a")) != 16000 || bytes.Count(buf[16000:32000], []byte("b")) != 16000 {
		t.Fatal("data corrupted")
	}
	f := p.next(http2.FrameWindowUpdate)
	for f.stream != st.ID() {
		f = p.next(http2.FrameWindowUpdate)
	}
	if f.incr != 33402 { // the data and the padding with its length bytes
		t.Fatalf("stream credit %d, want 33402", f.incr)
	}
}

// TestSendFlowControl: Write waits for the peer's window, wakes on
// WINDOW_UPDATE and on SETTINGS_INITIAL_WINDOW_SIZE, and times out at the
// write deadline.
func TestSendFlowControl(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc, p := start(t, nil, extConnect, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
		st := p.open(cc)
		data := pattern(100, 5)
		done := make(chan error, 1)
		go func() {
			_, err := st.Write(data)
			done <- err
		}()
		var got []byte
		take := func(n int) {
			t.Helper()
			for len(got) < n {
				got = append(got, p.next(http2.FrameData).data...)
			}
			synctest.Wait()
			if len(got) != n {
				t.Fatalf("sent %d bytes, window allows %d", len(got), n)
			}
		}
		take(10)
		p.fr.WriteWindowUpdate(st.ID(), 50)
		take(60)
		p.settings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 50}) // +40
		take(100)
		if err := <-done; err != nil || !bytes.Equal(got, data) {
			t.Fatalf("Write: %v", err)
		}
		// The window is spent: a Write waits until its deadline.
		st.SetWriteDeadline(time.Now().Add(time.Second))
		if n, err := st.Write([]byte("x")); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Write: %d, %v", n, err)
		}
	})
}

func TestPing(t *testing.T) {
	cc, p := start(t, nil, extConnect)
	p.ping(cc)
	// The server's PINGs are answered.
	p.fr.WritePing(false, [8]byte{1, 2, 3})
	if f := p.next(http2.FramePing); f.flags&http2.FlagPingAck == 0 || f.ping != [8]byte{1, 2, 3} {
		t.Fatalf("PING %v %v", f.flags, f.ping)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := cc.Ping(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Ping: %v", err)
	}
}

func TestOpenCanceled(t *testing.T) {
	cc, p := start(t, nil, extConnect)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, _, err := cc.OpenWebSocket(ctx, &Request{Scheme: "https", Authority: "a"})
		errc <- err
	}()
	id := p.next(http2.FrameHeaders).stream
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("open: %v", err)
	}
	if f := p.next(http2.FrameRSTStream); f.stream != id || f.code != http2.ErrCodeCancel {
		t.Fatalf("RST_STREAM %d %v", f.stream, f.code)
	}
	// A late response for the reset stream is ignored, HPACK stays in step.
	p.headers(id, false, ":status", "200", "x-late", "1")
	p.ping(cc)
	p.open(cc)
}

// TestCloseFrames: Close after the server ended its side sends
// END_STREAM; before, it sends RST_STREAM(CANCEL) after the data already
// written; CloseWrite sends END_STREAM and keeps the stream readable.
func TestCloseFrames(t *testing.T) {
	cc, p := start(t, nil, extConnect)

	ended := p.open(cc)
	p.fr.WriteData(ended.ID(), true, []byte("bye"))
	if b, err := io.ReadAll(ended); err != nil || string(b) != "bye" {
		t.Fatalf("read %q, %v", b, err)
	}
	ended.Close()
	if f := p.next(http2.FrameData); f.stream != ended.ID() || f.flags&http2.FlagDataEndStream == 0 {
		t.Fatalf("DATA %d %v, want END_STREAM", f.stream, f.flags)
	}

	open := p.open(cc)
	open.Write([]byte("last words"))
	open.Close()
	if f := p.next(http2.FrameData); f.stream != open.ID() || string(f.data) != "last words" {
		t.Fatalf("DATA %d %q", f.stream, f.data)
	}
	if f := p.next(http2.FrameRSTStream); f.stream != open.ID() || f.code != http2.ErrCodeCancel {
		t.Fatalf("RST_STREAM %d %v", f.stream, f.code)
	}

	half := p.open(cc)
	half.CloseWrite()
	if f := p.next(http2.FrameData); f.stream != half.ID() || f.flags&http2.FlagDataEndStream == 0 {
		t.Fatalf("DATA %d %v, want END_STREAM", f.stream, f.flags)
	}
	if _, err := half.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after CloseWrite: %v", err)
	}
	p.fr.WriteData(half.ID(), true, []byte("still readable"))
	if b, err := io.ReadAll(half); err != nil || string(b) != "still readable" {
		t.Fatalf("read %q, %v", b, err)
	}
	cc.mu.Lock()
	active := cc.active
	cc.mu.Unlock()
	if active != 0 {
		t.Fatalf("%d streams hold a slot", active)
	}
}

// TestStreamWindowGrows: with Config.GrowStreamWindow a stream whose
// reader reads half its window within growTime of the last credit gets
// its window doubled in the WINDOW_UPDATE, up to the limit, and may then
// be sent that much; a stream read more slowly keeps its window.
func TestStreamWindowGrows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const win, limit = 64 << 10, 256 << 10
		cc, p := start(t, &Config{StreamWindow: win, GrowStreamWindow: limit}, extConnect)
		send := func(st *Stream, n int) {
			for n > 0 {
				k := min(n, chunkSize)
				p.fr.WriteData(st.ID(), false, make([]byte, k))
				n -= k
			}
		}
		credit := func(st *Stream) uint32 {
			for {
				if f := p.next(http2.FrameWindowUpdate); f.stream == st.ID() {
					return f.incr
				}
			}
		}
		read := func(st *Stream, n int) {
			if _, err := io.ReadFull(st, make([]byte, n)); err != nil {
				t.Fatal(err)
			}
		}
		fast := p.open(cc)
		for _, step := range []struct{ send, want int }{
			{win / 2, win/2 + win}, // 64 KiB → 128 KiB
			{win, win + 2*win},     // 128 KiB → 256 KiB
			{limit / 2, limit / 2}, // at the limit: the credit only
		} {
			send(fast, step.send)
			read(fast, step.send)
			got := 0 // in one WINDOW_UPDATE or several, as the reads came
			for got < step.want {
				got += int(credit(fast))
			}
			if got != step.want {
				t.Fatalf("after reading %d bytes fast: credit %d, want %d", step.send, got, step.want)
			}
		}
		// The whole grown window in one go: not reset, all of it read.
		send(fast, limit)
		read(fast, limit)
		slow := p.open(cc)
		send(slow, win/2)
		time.Sleep(2 * growTime)
		read(slow, win/2)
		if got := credit(slow); got != win/2 {
			t.Fatalf("after reading %d bytes slowly: credit %d, want %d", win/2, got, win/2)
		}
	})
}
