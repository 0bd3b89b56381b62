package websocket_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wsclient/websocket"
	"github.com/wsclient/websocket/internal/wstest"
)

// FuzzSendPaths sends the same messages by each road a message can take to
// the wire — Conn.Send, Conn.NextWriter in writes of a given size, an App
// reading with a goroutine and an App on an event loop, each sending from a
// callback or from a goroutine of the user's (ws and wss, and a
// stream of an HTTP/2 connection), with and without permessage-deflate —
// and requires a server that decodes
// them on its own (compress/flate, never this library) to receive exactly
// those messages: every frame masked, RSV1 only on the first frame of a
// compressed message, no reference into an earlier message that the negotiation does not
// allow.
// Sizes cross the 7-, 16- and 64-bit length forms, write coalescing and the
// size from which a compressed message is split over two CPUs.
//
// prog: three bytes a message (at most 8, 320 KiB in all). The first
// picks text (bit 0), a size in units of 64 bytes (bit 1), compressible
// content (bit 2) and NextWriter's write size (bits 3–7); the next two are
// the size. flags: bit 0 negotiates permessage-deflate, bit 1 without the
// client's context takeover, bit 2 compresses every non-empty message (a
// threshold of 1), bit 3 a 512-byte window for the client, bit 4 TLS, bit
// 5 sends over HTTP/2 as well (an extended CONNECT; one connection that
// the WebSockets of the input share).
func FuzzSendPaths(f *testing.F) {
	skipWithoutPoller(f)
	f.Add(byte(0), []byte{0, 0, 5, 1, 0, 0, 0, 0, 125, 0, 0, 126, 0, 0xff, 0xff, 2, 0x04, 0x01})
	f.Add(byte(1), []byte{5, 0, 200, 4, 0, 0, 6, 0x02, 0x00, 7, 0x10, 0x00})
	f.Add(byte(7), []byte{5, 0, 1, 4, 0, 0, 0xfd, 0x02, 0x00, 0x0e, 0x01, 0x01})
	f.Add(byte(11), []byte{0x1d, 0x10, 0x00, 0x1d, 0x10, 0x00, 0x05, 0x00, 0x30})
	f.Add(byte(17), []byte{0x2f, 0x10, 0x00, 0x44, 0x02, 0x00})
	f.Add(byte(16), []byte{0x02, 0x08, 0x00, 0x01, 0x00, 0x07})
	f.Add(byte(32), []byte{0x02, 0x20, 0x00, 0x01, 0x00, 0x07, 0x0a, 0x10, 0x00}) // over HTTP/2 too: past its windows
	f.Add(byte(33), []byte{0x06, 0x0c, 0x00, 0x1d, 0x10, 0x00})
	f.Add(byte(5), []byte{0x06, 0x0c, 0x00, 0x06, 0x0c, 0x00, 0x06, 0x0c, 0x00}) // 192 KiB and 128 KiB of JSON (the cap), then an empty one: split, taken over

	srv, tlsSrv, ca := fuzzServers(f, serveSendFuzz)
	h2Base, h2OptsFor := fuzzH2Server(f, serveSendFuzzH2)

	f.Fuzz(func(t *testing.T, flags byte, prog []byte) {
		h2Opts := h2OptsFor(t)
		msgs := fuzzMessages(prog)
		want := make([]string, len(msgs))
		for i, m := range msgs {
			want[i] = describeMessage(byte(m.op), m.data)
		}
		opts := websocket.DialOptions{}
		if flags&1 != 0 {
			opts.Compression = &websocket.CompressionOptions{}
			if flags&4 != 0 {
				opts.Compression.Threshold = 1
			}
			if flags&8 != 0 {
				opts.Compression.ClientMaxWindowBits = 15 // offered, so the server may lower it
			}
		}
		base := "ws://" + srv.Addr
		if flags&16 != 0 {
			base = "wss://" + tlsSrv.Addr
			opts.TLSConfig = &tls.Config{RootCAs: ca.Pool}
		}
		paths := []string{"Send", "NextWriter", "App", "App on a loop", "App, from a goroutine", "App on a loop, from a goroutine"}
		if flags&32 != 0 {
			paths = append(paths, "Send over HTTP/2", "NextWriter over HTTP/2", "App over HTTP/2")
		}
		for _, path := range paths {
			id := strconv.FormatUint(sendFuzzSeq.Add(1), 10)
			rec := &sendFuzzRecord{flags: flags, done: make(chan struct{})}
			sendFuzzRecords.Store(id, rec)
			url, opts := base+"/"+id, opts
			if strings.HasSuffix(path, "over HTTP/2") {
				url = h2Base + "/" + id
				opts.TLSConfig, opts.HTTP2, opts.HTTP2Transport = h2Opts.TLSConfig, h2Opts.HTTP2, h2Opts.HTTP2Transport
			}
			var err error
			switch strings.TrimSuffix(path, " over HTTP/2") {
			case "Send", "NextWriter":
				err = sendOnConn(url, opts, msgs, strings.HasPrefix(path, "NextWriter"))
			default:
				err = sendOnApp(t, url, opts, msgs, strings.HasPrefix(path, "App on a loop"), strings.HasSuffix(path, "from a goroutine"))
			}
			sendFuzzRecords.Delete(id)
			if err != nil {
				t.Fatalf("flags %b, %s: %v", flags, path, err)
			}
			<-rec.done
			if !slices.Equal(rec.got, want) {
				t.Fatalf("flags %b, %s: the server received\n %q\nwant\n %q", flags, path, rec.got, want)
			}
		}
	})
}

// fuzzMessage is a message FuzzSendPaths sends, and the size of
// NextWriter's writes for it.
type fuzzMessage struct {
	op    websocket.Opcode
	data  []byte
	write int
}

// fuzzMessages reads FuzzSendPaths's program.
func fuzzMessages(prog []byte) []fuzzMessage {
	var msgs []fuzzMessage
	total := 0
	for len(prog) >= 3 && len(msgs) < 8 {
		b, n := prog[0], int(prog[1])<<8|int(prog[2])
		prog = prog[3:]
		if b&2 != 0 {
			n *= 64
		}
		n = min(n, 320<<10-total)
		total += n
		m := fuzzMessage{op: websocket.OpBinary, data: make([]byte, n), write: 1 + int(b>>3)*97}
		if b&1 != 0 {
			m.op = websocket.OpText
		}
		r := rand.New(rand.NewPCG(uint64(b), uint64(n)))
		for i := range m.data {
			switch {
			case b&4 != 0:
				m.data[i] = `{"id":1234,"sym":"ABC","px":99.5},`[i%34]
			case m.op == websocket.OpText:
				m.data[i] = byte('a' + r.IntN(26))
			default:
				m.data[i] = byte(r.Uint32())
			}
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// describeMessage is how FuzzSendPaths compares messages.
func describeMessage(op byte, data []byte) string {
	sum := sha256.Sum256(data)
	return fmt.Sprintf("%d %d %x", op, len(data), sum[:6])
}

// sendOnConn dials url and sends msgs with Send, or with NextWriter in
// writes of each message's write size, and closes.
func sendOnConn(url string, opts websocket.DialOptions, msgs []fuzzMessage, stream bool) error {
	c, err := websocket.Dial(context.Background(), url, &opts)
	if err != nil {
		return err
	}
	defer c.Abort()
	for _, m := range msgs {
		if !stream {
			if err := c.Send(m.data, m.op); err != nil {
				return err
			}
			continue
		}
		w, err := c.NextWriter(m.op)
		if err != nil {
			return err
		}
		for p := m.data; len(p) > 0; {
			n := min(len(p), m.write)
			if _, err := w.Write(p[:n]); err != nil {
				return err
			}
			p = p[n:]
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
	return c.Close()
}

// sendOnApp runs an App against url that sends msgs and closes, from
// OnOpen or (fromGoroutine) from a goroutine OnOpen starts, on an event loop
// (onLoop) or with a reading goroutine.
func sendOnApp(t *testing.T, url string, opts websocket.DialOptions, msgs []fuzzMessage, onLoop, fromGoroutine bool) error {
	var sendErr error
	done := make(chan struct{})
	send := func(a *websocket.App) {
		defer close(done)
		for _, m := range msgs {
			if err := a.Send(m.data, m.op); err != nil && sendErr == nil {
				sendErr = err
			}
		}
		a.Close()
	}
	a := &websocket.App{URL: url}
	a.OnOpen = func(a *websocket.App) {
		if fromGoroutine {
			go send(a)
		} else {
			send(a)
		}
	}
	err := runOn(t, onLoop, a, &websocket.RunOptions{Reconnect: -1, DialOptions: opts})
	<-done
	if sendErr != nil {
		return sendErr
	}
	return err
}

var (
	sendFuzzRecords sync.Map // path without its slash → *sendFuzzRecord
	sendFuzzSeq     atomic.Uint64
)

// sendFuzzRecord is what serveSendFuzz received on one path.
type sendFuzzRecord struct {
	flags byte
	got   []string
	done  chan struct{} // closed once got is final
}

// serveSendFuzz answers the upgrade as the path's record's flags say, and
// records what the client sends (recordSent).
func serveSendFuzz(nc net.Conn) {
	defer nc.Close()
	v, c := wstest.UpgradeFrom(nc, &sendFuzzRecords, func(v any) string { return v.(*sendFuzzRecord).extension() })
	if v == nil {
		return
	}
	rec := v.(*sendFuzzRecord)
	defer close(rec.done)
	if c != nil {
		rec.recordSent(c)
	}
}

// serveSendFuzzH2 is serveSendFuzz for a WebSocket on an HTTP/2 stream (an
// extended CONNECT).
func serveSendFuzzH2(w http.ResponseWriter, r *http.Request) {
	v, ok := sendFuzzRecords.Load(strings.TrimPrefix(r.URL.Path, "/"))
	if r.Method != http.MethodConnect || r.Header.Get(":protocol") != "websocket" || !ok {
		http.Error(w, "no such WebSocket", http.StatusBadRequest)
		return
	}
	rec := v.(*sendFuzzRecord)
	defer close(rec.done)
	if ext := rec.extension(); ext != "" {
		w.Header().Set("Sec-Websocket-Extensions", ext)
	}
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush()
	bc := &bodyConn{Reader: r.Body, w: w, rc: rc}
	rec.recordSent(&wstest.Conn{NC: bc, R: bufio.NewReader(bc)})
}

// extension returns the Sec-WebSocket-Extensions value the record's flags
// ask the server to answer with ("" for none).
func (rec *sendFuzzRecord) extension() string {
	if rec.flags&1 == 0 {
		return ""
	}
	ext := "permessage-deflate"
	if rec.flags&2 != 0 {
		ext += "; client_no_context_takeover"
	}
	if rec.flags&8 != 0 {
		ext += "; client_max_window_bits=9"
	}
	return ext
}

// recordSent records each message the client sends until its close frame,
// which it echoes, inflating compressed ones as the negotiation allows. A
// frame that breaks a rule is recorded as the breach.
func (rec *sendFuzzRecord) recordSent(c *wstest.Conn) {
	deflate, takeover, window := rec.flags&1 != 0, rec.flags&2 == 0, 1<<15
	if rec.flags&8 != 0 {
		window = 1 << 9
	}
	var (
		op         byte
		compressed bool
		payload    []byte
		history    []byte // what the client's compressor may refer back to
	)
	breach := func(what string) { rec.got = append(rec.got, "breach: "+what) }
	for {
		f, err := c.ReadFrame()
		if err != nil {
			breach(err.Error())
			return
		}
		if !f.Masked {
			breach("unmasked frame")
			return
		}
		switch {
		case f.Opcode == 8:
			c.WriteFrame(true, 8, f.Payload)
			return
		case f.Opcode >= 8:
			continue
		case f.Opcode == 0 && op == 0, f.Opcode != 0 && op != 0:
			breach("fragments out of order")
			return
		case f.Opcode != 0:
			op, compressed, payload = f.Opcode, f.Rsv == 4, nil
			if f.Rsv != 0 && (!deflate || f.Rsv != 4) {
				breach("RSV bits " + strconv.Itoa(int(f.Rsv)))
				return
			}
		case f.Rsv != 0:
			breach("RSV bits on a continuation frame")
			return
		}
		payload = append(payload, f.Payload...)
		if !f.Fin {
			continue
		}
		data := payload
		if compressed {
			if !takeover {
				history = nil
			}
			r := wstest.Inflate(payload, history)
			data, err = io.ReadAll(r)
			if err != nil {
				breach("inflating: " + err.Error())
				return
			}
			history = append(history, data...)
			history = history[max(0, len(history)-window):]
		}
		rec.got = append(rec.got, describeMessage(op, data))
		op = 0
	}
}
