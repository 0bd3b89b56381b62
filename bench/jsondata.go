package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
)

// The compressed scenarios carry JSON-like text: the kind of payload that
// permessage-deflate is used for. A message is a market-data envelope holding
// as many trade and ticker events as fit, with a trailing hex "trace" field
// padding it to exactly the target size:
//
//	{"channel":"market","seq":17,"events":[{"type":"trade",...},...],"trace":"9f3c..."}
//
// Keys and symbols repeat (what deflate's LZ77 stage feeds on), while prices,
// sizes, ids and times vary (what its Huffman stage has to code), so the
// ratio is that of real traffic rather than of repeated bytes.
//
// Each size has a pool of distinct messages, sent in rotation. The pool spans
// at least two 32 KiB deflate windows (RFC 1951 §2), so with context takeover
// (RFC 7692 §7.1.1) a message is never a single back-reference to its own
// earlier copy: what the window holds when a message repeats is other
// messages, as in a live feed.

const (
	// zPoolMin is the smallest number of distinct messages per size.
	zPoolMin = 64
	// zWindowBytes is deflate's largest window, RFC 7692's 15 window bits.
	zWindowBytes = 1 << 15
	// zMinSize is the smallest message the generator fills exactly: the
	// envelope with no events and an empty trace is 50 bytes plus the digits
	// of the sequence number.
	zMinSize = 64
	// zSendMinSize is the smallest message of zsend: ours and coder's send
	// shorter messages uncompressed by default (a threshold of 128 bytes),
	// which the scenario counts as a failed run.
	zSendMinSize = 128
)

// zPoolLen is the number of distinct messages of size bytes.
func zPoolLen(size int) int {
	return max(zPoolMin, (2*zWindowBytes+size-1)/size)
}

var jsonPools sync.Map // size → [][]byte

// jsonMessages returns the pool of distinct JSON messages of exactly size
// bytes (size >= zMinSize). The pool depends only on size (the generator has
// a fixed seed), so the client and the server process build the same one.
// Callers must not modify it.
func jsonMessages(size int) [][]byte {
	if p, ok := jsonPools.Load(size); ok {
		return p.([][]byte)
	}
	g := newJSONGen(uint64(size))
	pool := make([][]byte, zPoolLen(size))
	for i := range pool {
		pool[i] = g.message(size)
	}
	p, _ := jsonPools.LoadOrStore(size, pool)
	return p.([][]byte)
}

// jsonGen is the deterministic generator of the messages: a fixed-seed PCG
// and a little market state (prices walk, ids and clock advance) so that
// consecutive messages look like one feed.
type jsonGen struct {
	rng     *rand.Rand
	seq     int
	tradeID int64
	micros  int64 // time of day of the next event, µs
	prices  []float64
}

var jsonSymbols = []string{"BTC-USD", "ETH-USD", "SOL-USD", "ADA-EUR", "XRP-USD", "DOGE-USD", "LTC-EUR", "DOT-USD"}

func newJSONGen(seed uint64) *jsonGen {
	g := &jsonGen{
		rng:     rand.New(rand.NewPCG(seed, 0x6a736f6e)),
		seq:     1,
		tradeID: 812_345_678,
		micros:  (21*3600 + 49*60) * 1e6,
	}
	for range jsonSymbols {
		g.prices = append(g.prices, 10+g.rng.Float64()*40000)
	}
	return g
}

// Envelope pieces of a message.
const (
	jsonTraceHead = `],"trace":"`
	jsonTail      = `"}`
)

// message returns the next message, exactly size bytes long.
func (g *jsonGen) message(size int) []byte {
	b := make([]byte, 0, size)
	b = append(b, `{"channel":"market","seq":`...)
	b = strconv.AppendInt(b, int64(g.seq), 10)
	b = append(b, `,"events":[`...)
	g.seq++
	reserve := len(jsonTraceHead) + len(jsonTail)
	if len(b)+reserve > size {
		panic(fmt.Sprintf("bench: JSON message size %d below the minimum %d", size, zMinSize))
	}
	var ev []byte
	for first := true; ; first = false {
		ev = g.event(ev[:0])
		need := len(ev)
		if !first {
			need++ // the comma
		}
		if len(b)+need+reserve > size {
			break
		}
		if !first {
			b = append(b, ',')
		}
		b = append(b, ev...)
	}
	b = append(b, jsonTraceHead...)
	const hex = "0123456789abcdef"
	for len(b) < size-len(jsonTail) {
		b = append(b, hex[g.rng.IntN(16)])
	}
	return append(b, jsonTail...)
}

// event appends one trade or ticker event.
func (g *jsonGen) event(b []byte) []byte {
	r := g.rng
	i := r.IntN(len(jsonSymbols))
	g.prices[i] *= 1 + (r.Float64()-0.5)*0.002
	g.micros += int64(r.IntN(5000))
	b = append(b, `{"type":"`...)
	trade := r.IntN(3) != 0
	if trade {
		b = append(b, `trade","symbol":"`...)
	} else {
		b = append(b, `ticker","symbol":"`...)
	}
	b = append(b, jsonSymbols[i]...)
	if trade {
		g.tradeID += 1 + int64(r.IntN(40))
		b = append(b, `","trade_id":`...)
		b = strconv.AppendInt(b, g.tradeID, 10)
		b = append(b, `,"price":"`...)
		b = strconv.AppendFloat(b, g.prices[i], 'f', 2, 64)
		b = append(b, `","size":"`...)
		b = strconv.AppendFloat(b, r.ExpFloat64()*0.5, 'f', 8, 64)
		b = append(b, `","side":"`...)
		if r.IntN(2) == 0 {
			b = append(b, "buy"...)
		} else {
			b = append(b, "sell"...)
		}
		b = append(b, `","maker_order_id":"`...)
		b = appendHex(b, r.Uint64())
	} else {
		spread := g.prices[i] * 0.0001 * (1 + r.Float64())
		b = append(b, `","best_bid":"`...)
		b = strconv.AppendFloat(b, g.prices[i]-spread, 'f', 2, 64)
		b = append(b, `","best_ask":"`...)
		b = strconv.AppendFloat(b, g.prices[i]+spread, 'f', 2, 64)
		b = append(b, `","volume_24h":"`...)
		b = strconv.AppendFloat(b, 1000+r.Float64()*90000, 'f', 4, 64)
	}
	b = append(b, `","time":"2026-11-21T`...)
	t := g.micros
	b = appendPad(b, t/3_600_000_000%24, 2)
	b = append(b, ':')
	b = appendPad(b, t/60_000_000%60, 2)
	b = append(b, ':')
	b = appendPad(b, t/1_000_000%60, 2)
	b = append(b, '.')
	b = appendPad(b, t%1_000_000, 6)
	return append(b, `Z"}`...)
}

// appendHex appends v as 16 lowercase hex digits.
func appendHex(b []byte, v uint64) []byte {
	const hex = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, hex[v>>uint(shift)&0xf])
	}
	return b
}

// appendPad appends v in decimal, zero-padded to width digits.
func appendPad(b []byte, v int64, width int) []byte {
	var d [20]byte
	s := strconv.AppendInt(d[:0], v, 10)
	for range width - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}
