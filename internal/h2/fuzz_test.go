package h2

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// FuzzServerFrames feeds arbitrary bytes as the server's frames after a
// valid preface and an open extended CONNECT on stream 1: the client must
// neither panic nor hang, must leave no goroutine behind, and its errors
// show nothing of the server's unescaped (a GOAWAY's debug data, a bad
// header's value) and say "websocket: " once, at their start.
func FuzzServerFrames(f *testing.F) {
	var buf bytes.Buffer
	fr := http2.NewFramer(&buf, nil)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	enc.WriteField(hpack.HeaderField{Name: "sec-websocket-protocol", Value: "chat"})
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true})
	fr.WriteData(1, false, []byte("hello"))
	fr.WriteWindowUpdate(1, 100)
	fr.WritePing(false, [8]byte{1})
	fr.WriteData(1, true, nil)
	f.Add(bytes.Clone(buf.Bytes()))
	buf.Reset()
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes()[:2]})
	fr.WriteContinuation(1, true, hb.Bytes()[2:])
	fr.WriteRSTStream(1, http2.ErrCodeCancel)
	fr.WriteGoAway(1, http2.ErrCodeNo, []byte("bye"))
	f.Add(bytes.Clone(buf.Bytes()))
	buf.Reset()
	fr.WriteGoAway(1, http2.ErrCodeProtocol, []byte("\x1b]0;owned\x07\u202e"))
	f.Add(bytes.Clone(buf.Bytes()))
	f.Add([]byte{0, 0, 1, 0xff, 0, 0, 0, 0, 1, 0})

	f.Fuzz(func(t *testing.T, data []byte) {
		c, p := newPeer(t, true)
		sent := p.async(func() { p.settings(extConnect) })
		cc, err := NewClientConn(context.Background(), c, nil)
		<-sent
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		done := make(chan struct{})
		var errs []error // what the stream reported, read after done
		go func() {
			defer close(done)
			_, st, err := cc.OpenWebSocket(context.Background(), &Request{Scheme: "https", Authority: "a"})
			errs = append(errs, err)
			if err == nil {
				_, err = io.Copy(io.Discard, st)
				_, werr := st.Write([]byte("x"))
				errs = append(errs, err, werr, st.Close())
			}
		}()
		p.next(http2.FrameHeaders)
		go func() {
			for range p.frames {
			}
		}()
		p.conn.Write(data)
		p.conn.Close()
		<-done
		for _, err := range errs {
			if err == nil {
				continue
			}
			for _, r := range err.Error() {
				if r != ' ' && !unicode.IsPrint(r) {
					t.Fatalf("error %q shows %U", err, r)
				}
			}
			// "websocket: " once, at the start, but where the server's
			// bytes quoted in it have it.
			if msg := err.Error(); !strings.HasPrefix(msg, "websocket: ") || strings.Count(msg, "websocket: ") > 1+bytes.Count(bytes.ToLower(data), []byte("websocket: ")) {
				t.Fatalf("error %q does not say \"websocket: \" once, at its start", msg)
			}
		}
	})
}
