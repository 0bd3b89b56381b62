package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/flate"
)

// The compressed modes of the benchmark server (RFC 7692 permessage-deflate).
//
// /zflood sends pre-compressed text messages, so the server spends nothing
// per message but a share of a large write, and the client's inflating is
// what the zrecv scenario measures. /zsink counts compressed messages
// without inflating them, so the zsend scenario measures the client's
// deflating. Both print a statistics line on standard output (see
// printZStats) with the compressed payload bytes they carried: the report
// shows them, and the runner refuses a zsend run in which a library sent any
// message uncompressed.

// zServerLevel is the flate level of the server's pre-compressed messages:
// zlib's default, which servers built on zlib (Node's ws, Python's
// websockets) use. It only shapes the stream the clients inflate; the
// compressing happens once per size, outside any measurement.
const zServerLevel = 6

// deflateParams is what a compressed connection negotiated. Only the server's
// side of the context matters to the server: it never inflates.
type deflateParams struct {
	// serverNoContextTakeover: each message the server sends must be
	// decodable on its own (RFC 7692 §7.1.1.1).
	serverNoContextTakeover bool
}

// deflateTail is the empty stored block a sync flush ends with, which
// RFC 7692 §7.2.1 has the sender remove and the receiver put back.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

// negotiateDeflate answers the client's Sec-WebSocket-Extensions values
// (RFC 7692 §5, §7.1). It accepts the first permessage-deflate offer whose
// parameters it can honour and returns the response value, which repeats
// only parameters the client offered:
//
//   - server_no_context_takeover is echoed and obeyed (§7.1.1.1);
//   - client_no_context_takeover is echoed (§7.1.1.2); it asks nothing of
//     the server, which never inflates here;
//   - server_max_window_bits=15 is echoed; a smaller value declines the
//     offer, as klauspost's compressor at zServerLevel always uses a 32 KiB
//     window (§7.1.2.1);
//   - client_max_window_bits, with or without a value, says the client can
//     honour a window limit. The response leaves it out, which lets the
//     client use up to the value it offered or 15 bits (§7.1.2.2): the
//     server never inflates, so it needs no limit.
//
// An offer with an unknown, repeated or malformed parameter is declined
// (§7.1). ok is false when no offer was acceptable.
func negotiateDeflate(values []string) (p deflateParams, resp string, ok bool) {
	for _, v := range values {
		for offer := range strings.SplitSeq(v, ",") {
			if p, resp, ok = acceptOffer(offer); ok {
				return p, resp, true
			}
		}
	}
	return deflateParams{}, "", false
}

// acceptOffer answers one extension offer, see negotiateDeflate.
func acceptOffer(offer string) (p deflateParams, resp string, ok bool) {
	parts := strings.Split(offer, ";")
	if !strings.EqualFold(strings.TrimSpace(parts[0]), "permessage-deflate") {
		return p, "", false
	}
	out := []string{"permessage-deflate"}
	seen := map[string]bool{}
	for _, prm := range parts[1:] {
		name, value, hasValue := strings.Cut(strings.TrimSpace(prm), "=")
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.Trim(strings.TrimSpace(value), `"`)
		if seen[name] {
			return p, "", false
		}
		seen[name] = true
		switch name {
		case "server_no_context_takeover":
			if hasValue {
				return p, "", false
			}
			p.serverNoContextTakeover = true
			out = append(out, name)
		case "client_no_context_takeover":
			if hasValue {
				return p, "", false
			}
			out = append(out, name)
		case "server_max_window_bits":
			if bits, ok := windowBits(value); !ok || bits != 15 {
				return p, "", false
			}
			out = append(out, "server_max_window_bits=15")
		case "client_max_window_bits":
			if _, ok := windowBits(value); hasValue && !ok {
				return p, "", false
			}
		default:
			return p, "", false
		}
	}
	return p, strings.Join(out, "; "), true
}

// windowBits parses a window-bits value, 8 to 15 (RFC 7692 §7.1.2).
func windowBits(v string) (int, bool) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 8 || n > 15 || strconv.Itoa(n) != v {
		return 0, false
	}
	return n, true
}

// zstats is one compressed run as the server saw it: messages, how many of
// them were compressed (RSV1 on their first frame), and their payload bytes
// on the wire.
type zstats struct {
	msgs, compressed, wire int64
}

// zstatsPrefix starts the server's statistics lines on standard output.
const zstatsPrefix = "zstats"

var stdoutMu sync.Mutex

// printZStats reports a run's statistics to the parent process on standard
// output as "zstats ID MSGS COMPRESSED WIRE". It is written before the
// message that ends the client's run, so the line is in the pipe by the
// time the client stops its clock.
func printZStats(id string, st zstats) {
	if id == "" {
		return
	}
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	fmt.Fprintf(os.Stdout, "%s %s %d %d %d\n", zstatsPrefix, id, st.msgs, st.compressed, st.wire)
}

// parseZStats parses a line written by printZStats.
func parseZStats(line string) (id string, st zstats, ok bool) {
	f := strings.Fields(line)
	if len(f) != 5 || f[0] != zstatsPrefix {
		return "", st, false
	}
	var err [3]error
	st.msgs, err[0] = strconv.ParseInt(f[2], 10, 64)
	st.compressed, err[1] = strconv.ParseInt(f[3], 10, 64)
	st.wire, err[2] = strconv.ParseInt(f[4], 10, 64)
	return f[1], st, errors.Join(err[:]...) == nil
}

// zflood is flood's compressed twin: after the client's first data frame it
// writes count compressed text messages of size bytes of JSON from the
// pre-compressed batch.
func (s *srvConn) zflood(size, count int, id string) error {
	if size < zMinSize || size > maxFrame {
		return fmt.Errorf("websocket: bad size %d", size)
	}
	b := zfloodBatch(size, !s.z.serverNoContextTakeover)
	perBatch := len(b.ends)
	started := false
	return s.frames(false, func(h header, _ []byte) error {
		if started {
			return nil
		}
		started = true
		full, rest := int64(count/perBatch), count%perBatch
		wire := full * b.payload[perBatch-1]
		if rest > 0 {
			wire += b.payload[rest-1]
		}
		printZStats(id, zstats{msgs: int64(count), compressed: int64(count), wire: wire})
		for sent := 0; sent < count; {
			k := min(perBatch, count-sent)
			if _, err := s.nc.Write(b.frames[:b.ends[k-1]]); err != nil {
				return err
			}
			sent += k
		}
		return nil
	})
}

// zbatch is a run of compressed text frames: the pool of JSON messages in
// rotation, as whole cycles of the pool.
type zbatch struct {
	frames  []byte
	ends    []int   // ends[i]: end of frame i in frames
	payload []int64 // payload[i]: payload bytes of frames 0..i
}

type zbatchKey struct {
	size     int
	takeover bool
}

var zbatches sync.Map // zbatchKey → *zbatch

// zfloodBatch returns whole cycles of the pool of size-byte JSON messages,
// at least floodBatchBytes of frames, each message compressed (RFC 7692
// §7.2.1: deflate, sync flush, the trailing 00 00 ff ff removed) into one
// unmasked FIN text frame with RSV1 set (§6).
//
// With context takeover, one compressor compresses the whole batch, so a
// message may refer back into the messages before it. Sending the batch
// again and again is still a valid stream: a back-reference is a distance
// into the decoder's most recent output (RFC 1951 §3.2.5), never an
// absolute position, and the compressor's history starts empty at the
// batch's first message. So every reference made while compressing message
// j reaches back at most to the start of the batch, and at that point the
// decoder's most recent output is messages 0..j-1 of the batch, exactly what
// the compressor saw, whichever repetition it is decoding.
//
// Without context takeover (the client offered server_no_context_takeover)
// the compressor is reset before each message, so each one stands alone.
func zfloodBatch(size int, takeover bool) *zbatch {
	key := zbatchKey{size, takeover}
	if b, ok := zbatches.Load(key); ok {
		return b.(*zbatch)
	}
	msgs := jsonMessages(size)
	var out bytes.Buffer
	fw, err := flate.NewWriter(&out, zServerLevel)
	if err != nil {
		panic(err)
	}
	b := &zbatch{}
	var total int64
	for len(b.frames) < floodBatchBytes {
		for _, m := range msgs {
			out.Reset()
			if !takeover {
				fw.Reset(&out)
			}
			if _, err := fw.Write(m); err != nil {
				panic(err)
			}
			if err := fw.Flush(); err != nil {
				panic(err)
			}
			p, ok := bytes.CutSuffix(out.Bytes(), deflateTail)
			if !ok {
				panic("bench: a sync flush did not end in 00 00 ff ff")
			}
			start := len(b.frames)
			b.frames = appendFrame(b.frames, true, opText, p)
			b.frames[start] |= 0x40 // RSV1: compressed
			total += int64(len(p))
			b.ends = append(b.ends, len(b.frames))
			b.payload = append(b.payload, total)
		}
	}
	got, _ := zbatches.LoadOrStore(key, b)
	return got.(*zbatch)
}

// zsink is sink's compressed twin: it counts whole messages without
// inflating them (the client's deflating is what is measured), notes which
// ones are compressed, adds up their payload bytes, and after the count-th
// reports the statistics and sends doneMessage, uncompressed (RFC 7692 §6
// lets either side send any message uncompressed).
func (s *srvConn) zsink(count int, id string) error {
	var (
		st         zstats
		compressed bool // RSV1 of the current message's first frame
	)
	return s.frames(false, func(h header, _ []byte) error {
		st.wire += int64(h.n)
		if h.op != opCont {
			compressed = h.rsv1
		}
		if !h.fin {
			return nil
		}
		st.msgs++
		if compressed {
			st.compressed++
		}
		if st.msgs == int64(count) {
			printZStats(id, st)
			s.out = appendFrame(s.out, true, opBinary, doneMessage)
		}
		return nil
	})
}

// zidleSize is the length of the one message each way of /zidle.
const zidleSize = 1024

// zidle waits for the client's first message, which must be compressed (else
// it ends the connection, and the client's read fails), answers it with one
// compressed text message of zidleSize bytes of JSON (the first of the
// pre-compressed batch, which needs no history in either mode) and then
// idles like /idle.
func (s *srvConn) zidle() error {
	first, answered := true, false
	return s.frames(false, func(h header, _ []byte) error {
		if answered {
			return nil
		}
		if first && !h.rsv1 {
			return errors.New("websocket: /zidle: the client's message is not compressed")
		}
		first = false
		if h.fin {
			answered = true
			b := zfloodBatch(zidleSize, !s.z.serverNoContextTakeover)
			s.out = append(s.out, b.frames[:b.ends[0]]...)
		}
		return nil
	})
}
