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

// literal appends a header field to an HPACK block as a literal without
// indexing, with a new name and no Huffman coding: its size on the wire is
// known, and it leaves both dynamic tables as they were.
func literal(block []byte, name, value string) []byte {
	block = append(block, 0) // literal without indexing, new name
	block = hpackInt(append(block, 0), 7, len(name))
	block = append(block, name...)
	block = hpackInt(append(block, 0), 7, len(value))
	return append(block, value...)
}

// hpackInt encodes n as an HPACK integer whose prefix is the low bits of
// the last byte of b (RFC 7541 §5.1).
func hpackInt(b []byte, bits uint, n int) []byte {
	full := 1<<bits - 1
	if n < full {
		b[len(b)-1] |= byte(n)
		return b
	}
	b[len(b)-1] |= byte(full)
	for n -= full; n >= 128; n >>= 7 {
		b = append(b, byte(n%128+128))
	}
	return append(b, byte(n))
}

// status200 is ":status: 200" from the static table.
const status200 = 0x88

// opening starts opening a stream on cc with ctx; it returns the stream's
// id once the peer saw its HEADERS, and the channel of the open's error.
// A stream the open returns is closed; one returned with an error makes
// that error one no caller expects.
func opening(ctx context.Context, p *peer, cc *ClientConn) (uint32, <-chan error) {
	errc := make(chan error, 1)
	go func() {
		_, st, err := cc.OpenWebSocket(ctx, &Request{Scheme: "https", Authority: "a"})
		if st != nil {
			st.Close()
			if err != nil {
				err = fmt.Errorf("a stream as well as the error %v", err)
			}
		}
		errc <- err
	}()
	return p.next(http2.FrameHeaders).stream, errc
}

// openWith opens a stream that the peer answers with block (a HEADERS
// frame, END_HEADERS set); it returns the stream id and the channel of
// the open's error.
func openWith(p *peer, cc *ClientConn, block []byte) (uint32, <-chan error) {
	id, errc := opening(context.Background(), p, cc)
	p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndHeaders: true})
	return id, errc
}

// TestHeaderListBound: a response header list of exactly
// MaxHeaderListSize decoded bytes is taken, one byte more is a stream
// error, and the connection goes on.
func TestHeaderListBound(t *testing.T) {
	const maxHL = 1000
	cc, p := start(t, &Config{MaxHeaderListSize: maxHL}, extConnect)
	// :status 200 counts 7+3+32, the field 3+len+32.
	fill := maxHL - (7 + 3 + 32) - (3 + 32)
	if _, errc := openWith(p, cc, literal([]byte{status200}, "x-a", strings.Repeat("v", fill))); <-errc != nil {
		t.Fatalf("header list of exactly %d bytes refused", maxHL)
	}
	id, errc := openWith(p, cc, literal([]byte{status200}, "x-a", strings.Repeat("v", fill+1)))
	err := <-errc
	if code, _ := codeOfErr(err); code != http2.ErrCodeProtocol || !strings.Contains(err.Error(), "header list larger than 1000 bytes") {
		t.Fatalf("header list of %d bytes: %v", maxHL+1, err)
	}
	if f := p.next(http2.FrameRSTStream); f.stream != id || f.code != http2.ErrCodeProtocol {
		t.Fatalf("RST_STREAM %d %v", f.stream, f.code)
	}
	p.ping(cc)
	p.open(cc)
}

// TestHeaderBlockBound: a header block of exactly twice MaxHeaderListSize
// encoded bytes is decoded (its list is too large: a stream error), one
// byte more ends the connection with ENHANCE_YOUR_CALM before decoding.
func TestHeaderBlockBound(t *testing.T) {
	const maxHL = 1000
	block := func(size int) []byte {
		b := []byte{status200}
		for len(b)+207 < size { // fields of 200 bytes take 207 on the wire
			b = literal(b, "x-a", strings.Repeat("v", 200))
		}
		for v := 0; ; v++ {
			if last := literal(b, "x-b", strings.Repeat("w", v)); len(last) == size {
				return last
			}
		}
	}
	t.Run("at the bound", func(t *testing.T) {
		cc, p := start(t, &Config{MaxHeaderListSize: maxHL}, extConnect)
		_, errc := openWith(p, cc, block(2*maxHL))
		err := <-errc
		if code, _ := codeOfErr(err); code != http2.ErrCodeProtocol || !strings.Contains(err.Error(), "header list larger") {
			t.Fatalf("open: %v", err)
		}
		p.ping(cc)
		p.open(cc)
	})
	t.Run("one byte more", func(t *testing.T) {
		cc, p := start(t, &Config{MaxHeaderListSize: maxHL}, extConnect)
		openWith(p, cc, block(2*maxHL+1))
		if f := p.next(http2.FrameGoAway); f.code != http2.ErrCodeEnhanceYourCalm {
			t.Fatalf("GOAWAY %v %q", f.code, f.debug)
		}
		<-cc.Done()
	})
}

// TestInformationalResponses: 100 and up to maxInformational 1xx answers
// come before the final one and are skipped; one more, or one that ends
// the stream, resets it.
func TestInformationalResponses(t *testing.T) {
	tests := []struct {
		name   string
		status []string // each in its own HEADERS frame
		end    bool     // the last one carries END_STREAM
		ok     bool
	}{
		{"100 Continue", []string{"100", "200"}, false, true},
		{"the most informational", append(repeat("103", maxInformational), "200"), false, true},
		{"one too many", repeat("103", maxInformational+1), false, false},
		{"informational with END_STREAM", []string{"103"}, true, false},
		{"status below 100", []string{"099"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, p := start(t, nil, extConnect)
			id, errc := opening(context.Background(), p, cc)
			for i, s := range tt.status {
				p.headers(id, tt.end && i == len(tt.status)-1, ":status", s)
			}
			if tt.ok {
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
				return
			}
			if f := p.next(http2.FrameRSTStream); f.stream != id || f.code != http2.ErrCodeProtocol {
				t.Fatalf("RST_STREAM %d %v", f.stream, f.code)
			}
			if err := <-errc; func() bool { code, _ := codeOfErr(err); return code != http2.ErrCodeProtocol }() {
				t.Fatalf("open: %v", err)
			}
			p.ping(cc)
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestDataIsNotUseless: DATA frames that carry data, or end the stream
// with none, do not count against the budget of useless frames, however
// many come in a second.
func TestDataIsNotUseless(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc, p := start(t, nil, extConnect)
		st := p.open(cc)
		for range maxUseless + 1 {
			p.fr.WriteData(st.ID(), false, []byte("x"))
		}
		p.fr.WriteData(st.ID(), true, nil)
		buf := make([]byte, 2*maxUseless)
		n := 0
		for {
			k, err := st.Read(buf[n:])
			n += k
			if err != nil {
				break
			}
		}
		if n != maxUseless+1 || cc.Err() != nil {
			t.Fatalf("read %d bytes, connection %v", n, cc.Err())
		}
		p.ping(cc)
	})
}

// TestPeerAtTheLimits: what a server may do, up to the limits exactly,
// leaves the connection working.
func TestPeerAtTheLimits(t *testing.T) {
	tests := []struct {
		name     string
		cfg      *Config
		settings []http2.Setting
		act      func(t *testing.T, p *peer, cc *ClientConn)
	}{
		{"a header block in the most CONTINUATION frames", nil, []http2.Setting{extConnect}, func(t *testing.T, p *peer, cc *ClientConn) {
			id, errc := opening(context.Background(), p, cc)
			p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: p.block(":status", "200")})
			for i := range maxContinuations {
				p.fr.WriteContinuation(id, i == maxContinuations-1, nil)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		}},
		{"SETTINGS_INITIAL_WINDOW_SIZE taking a stream's window to the most", nil, []http2.Setting{extConnect}, func(t *testing.T, p *peer, cc *ClientConn) {
			st := p.open(cc)
			p.fr.WriteWindowUpdate(st.ID(), maxWindow-65535-1)
			p.settings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 65536})
		}},
		{"SETTINGS_ENABLE_CONNECT_PROTOCOL 1 again", nil, []http2.Setting{extConnect}, func(t *testing.T, p *peer, cc *ClientConn) {
			p.settings(extConnect)
			p.ping(cc)
			p.open(cc)
		}},
		{"SETTINGS_ENABLE_CONNECT_PROTOCOL 0 from the start", nil, []http2.Setting{{ID: http2.SettingEnableConnectProtocol, Val: 0}}, func(t *testing.T, p *peer, cc *ClientConn) {
			p.settings(http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 0})
			p.ping(cc)
			if cc.SupportsExtendedConnect() {
				t.Error("extended CONNECT reported supported")
			}
		}},
		{"DATA filling the connection and stream windows", &Config{ConnWindow: 65535, StreamWindow: 65535}, []http2.Setting{extConnect}, func(t *testing.T, p *peer, cc *ClientConn) {
			st := p.open(cc)
			for n := 65535; n > 0; n -= 16384 { // all of it before the stream is read
				p.fr.WriteData(st.ID(), n <= 16384, make([]byte, min(n, 16384)))
			}
			p.ping(cc)
			if b, err := io.ReadAll(st); len(b) != 65535 || err != nil {
				t.Fatalf("read %d bytes, %v", len(b), err)
			}
		}},
		{"DATA in flight to a stream the client reset", nil, []http2.Setting{extConnect}, func(t *testing.T, p *peer, cc *ClientConn) {
			st := p.open(cc)
			st.Close()
			if f := p.next(http2.FrameRSTStream); f.stream != st.ID() {
				t.Fatalf("RST_STREAM for stream %d", f.stream)
			}
			for range maxUseless + 1 {
				p.fr.WriteData(st.ID(), false, []byte("x"))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cc, p := start(t, tt.cfg, tt.settings...)
				tt.act(t, p, cc)
				p.ping(cc)
				if err := cc.Err(); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// TestRequestHeaderListLimit: a request whose header list is exactly the
// server's SETTINGS_MAX_HEADER_LIST_SIZE is sent; one byte over it fails
// before anything is sent, and the connection goes on.
func TestRequestHeaderListLimit(t *testing.T) {
	req := &Request{Scheme: "https", Authority: "example.com", Path: "/chat", Header: map[string][]string{"X-Token": {"abc"}}}
	_, size, err := requestFields(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int64{size, size - 1} {
		t.Run(fmt.Sprint(limit-size), func(t *testing.T) {
			cc, p := start(t, nil, extConnect, http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: uint32(limit)})
			errc := make(chan error, 1)
			go func() {
				_, st, err := cc.OpenWebSocket(context.Background(), req)
				if st != nil {
					st.Close()
				}
				errc <- err
			}()
			if limit < size {
				err := <-errc
				want := fmt.Sprintf("request header list of %d bytes exceeds the server's limit of %d", size, limit)
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("open: %v, want %q", err, want)
				}
				p.ping(cc)
				p.open(cc) // the next HEADERS the peer sees is this one's
				return
			}
			id := p.next(http2.FrameHeaders).stream
			p.headers(id, false, ":status", "200")
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestErrorBody: a refusal's StatusError carries the start of its body,
// up to MaxErrorBody bytes: what came before END_STREAM, before a reset,
// or the first MaxErrorBody bytes of a body that goes on, without waiting
// for more. 300 is a refusal too.
func TestErrorBody(t *testing.T) {
	tests := []struct {
		name   string
		status string
		act    func(p *peer, id uint32)
		body   string
	}{
		{"body and END_STREAM", "403", func(p *peer, id uint32) {
			p.fr.WriteData(id, true, []byte("go away"))
		}, "go away"},
		{"END_STREAM on the header", "300", func(p *peer, id uint32) {}, ""},
		{"body cut by RST_STREAM", "503", func(p *peer, id uint32) {
			p.fr.WriteData(id, false, []byte("par"))
			p.fr.WriteRSTStream(id, http2.ErrCodeCancel)
		}, "par"},
		{"body of MaxErrorBody, more to come", "403", func(p *peer, id uint32) {
			p.fr.WriteData(id, false, bytes.Repeat([]byte("b"), MaxErrorBody))
		}, strings.Repeat("b", MaxErrorBody)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cc, p := start(t, nil, extConnect)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				start := time.Now()
				id, errc := opening(ctx, p, cc)
				p.headers(id, tt.status == "300", ":status", tt.status)
				tt.act(p, id)
				var se *StatusError
				err := <-errc
				if !errors.As(err, &se) {
					t.Fatalf("open: %v, want a StatusError", err)
				}
				if fmt.Sprint(se.StatusCode) != tt.status || string(se.Body) != tt.body {
					t.Fatalf("status %d, body of %d bytes; want %s, %d bytes", se.StatusCode, len(se.Body), tt.status, len(tt.body))
				}
				if d := time.Since(start); d != 0 {
					t.Errorf("the refusal took %v: it waited for more of the body", d)
				}
			})
		})
	}
}

// TestReadWithDataBuffered: a passed read deadline fails Read even with
// data buffered, as a net.Conn's does, and clearing it gives the data;
// after Close, Read reports the stream closed whatever is buffered.
func TestReadWithDataBuffered(t *testing.T) {
	cc, p := start(t, nil, extConnect)
	st := p.open(cc)
	p.fr.WriteData(st.ID(), false, []byte("abc"))
	p.ping(cc) // the data is buffered
	st.SetReadDeadline(time.Now().Add(-time.Second))
	buf := make([]byte, 8)
	if n, err := st.Read(buf); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline = %d, %v", n, err)
	}
	st.SetReadDeadline(time.Time{})
	if n, err := st.Read(buf); string(buf[:n]) != "abc" || err != nil {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	p.fr.WriteData(st.ID(), false, []byte("def"))
	p.ping(cc)
	st.Close()
	if n, err := st.Read(buf); n != 0 || !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close = %d, %v", n, err)
	}
}

// TestConfigWindows: receive windows from 65,535 to 2^31-1 are taken,
// others refused before anything is sent, with the connection closed.
func TestConfigWindows(t *testing.T) {
	for _, tt := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{StreamWindow: 65535, ConnWindow: 65535}, true},
		{Config{StreamWindow: maxWindow, ConnWindow: maxWindow, GrowStreamWindow: maxWindow}, true},
		{Config{StreamWindow: 65534}, false},
		{Config{ConnWindow: 65534}, false},
		{Config{StreamWindow: maxWindow + 1}, false},
		{Config{ConnWindow: maxWindow + 1}, false},
		{Config{GrowStreamWindow: maxWindow + 1}, false},
	} {
		c, p := newPeer(t, true)
		sent := p.async(func() { p.settings(extConnect) })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a window taken and sent fails, not hangs
		cc, err := NewClientConn(ctx, c, &tt.cfg)
		cancel()
		if tt.ok {
			<-sent
			if err != nil {
				t.Errorf("%+v: %v", tt.cfg, err)
				continue
			}
			cc.Close()
			continue
		}
		if cc != nil || err == nil || !strings.Contains(err.Error(), "receive windows must be between 65535 and 2^31-1") {
			t.Errorf("%+v: connection made %v, error %v", tt.cfg, cc != nil, err)
			if cc != nil {
				cc.Close()
			}
			continue
		}
		if _, err := c.Write([]byte("x")); err == nil {
			t.Errorf("%+v: the connection was left open", tt.cfg)
		}
	}
}

// TestStreamIDsRunOut: stream 2^31-1 is the last one a connection opens;
// then it can take no new stream.
func TestStreamIDsRunOut(t *testing.T) {
	cc, p := start(t, nil, extConnect)
	cc.mu.Lock()
	cc.nextID = maxWindow // the last odd stream id
	cc.mu.Unlock()
	if !cc.CanTakeNewStream() {
		t.Fatal("stream 2^31-1 refused")
	}
	if st := p.open(cc); st.ID() != maxWindow {
		t.Fatalf("opened stream %d", st.ID())
	}
	if cc.CanTakeNewStream() {
		t.Fatal("a stream id past 2^31-1 offered")
	}
}

// TestRepeatedStatus: a response whose header block repeats :status is
// malformed (RFC 9113 §8.3) and resets its stream, also when the first
// value is empty; so is trailers' empty :status.
func TestRepeatedStatus(t *testing.T) {
	for _, fields := range [][]string{
		{":status", "200", ":status", "200"},
		{":status", "", ":status", "200"},
	} {
		t.Run(fmt.Sprintf("%q", fields), func(t *testing.T) {
			cc, p := start(t, nil, extConnect)
			id, errc := opening(context.Background(), p, cc)
			p.headers(id, false, fields...)
			if f := p.next(http2.FrameRSTStream); f.stream != id || f.code != http2.ErrCodeProtocol {
				t.Fatalf("RST_STREAM %d %v", f.stream, f.code)
			}
			if err := <-errc; func() bool { code, _ := codeOfErr(err); return code != http2.ErrCodeProtocol }() {
				t.Fatalf("open: %v", err)
			}
			p.ping(cc)
		})
	}
}
