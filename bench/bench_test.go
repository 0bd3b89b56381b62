package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary play the server and idle-child roles, as the
// command does, so the smoke test needs no separate build.
func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "server":
		exit(runServer())
	case "idle":
		exit(runIdleChild())
	case h2ServerRole:
		exit(runH2Server())
	case h2OpenRole:
		exit(runH2OpenChild())
	}
	code := m.Run()
	if benchSrv != nil {
		_ = benchSrv.stop()
	}
	os.Exit(code)
}

// benchSrv is the server of the Benchmark functions, started on first use.
var benchSrv *serverProc

// BenchmarkRecv is the go-test form of the recv scenario (b.N messages per
// library and size); the command's interleaved rounds are the better
// comparison, this is for profiling one library:
//
//	go test -run '^$' -bench 'Recv/wsclient/1KiB' -cpuprofile cpu.out
func BenchmarkRecv(b *testing.B) { benchThroughput(b, scRecv) }

// BenchmarkRecvAPI is the go-test form of the recv-api scenario.
func BenchmarkRecvAPI(b *testing.B) { benchThroughput(b, scRecvAPI) }

// BenchmarkSend is the go-test form of the send scenario.
func BenchmarkSend(b *testing.B) { benchThroughput(b, scSend) }

// BenchmarkZRecv is the go-test form of the zrecv scenario (compressed
// receive), for the libraries that compress:
//
//	go test -run '^$' -bench 'ZRecv/wsclient/64KiB' -cpuprofile cpu.out
func BenchmarkZRecv(b *testing.B) { benchThroughput(b, scZRecv) }

// BenchmarkZSend is the go-test form of the zsend scenario.
func BenchmarkZSend(b *testing.B) { benchThroughput(b, scZSend) }

// BenchmarkWSSRecv is the go-test form of the wss-recv scenario (recv over
// TLS):
//
//	go test -run '^$' -bench 'WSSRecv/wsclient/64KiB' -cpuprofile cpu.out
func BenchmarkWSSRecv(b *testing.B) { benchThroughput(b, wssPrefix+scRecv) }

// BenchmarkWSSRecvAPI is the go-test form of the wss-recv-api scenario.
func BenchmarkWSSRecvAPI(b *testing.B) { benchThroughput(b, wssPrefix+scRecvAPI) }

// BenchmarkWSSSend is the go-test form of the wss-send scenario.
func BenchmarkWSSSend(b *testing.B) { benchThroughput(b, wssPrefix+scSend) }

// BenchmarkWSSZRecv is the go-test form of the wss-zrecv scenario.
func BenchmarkWSSZRecv(b *testing.B) { benchThroughput(b, wssPrefix+scZRecv) }

// BenchmarkWSSZSend is the go-test form of the wss-zsend scenario.
func BenchmarkWSSZSend(b *testing.B) { benchThroughput(b, wssPrefix+scZSend) }

// BenchmarkWSSHandshake is the go-test form of the wss-handshake scenario:
// b.N connections, each dialled (TCP, a full TLS 1.3 handshake, the
// upgrade) and dropped.
func BenchmarkWSSHandshake(b *testing.B) {
	srv := benchServer(b)
	for _, lib := range availableLibraries() {
		b.Run(lib, func(b *testing.B) {
			ctx := context.Background()
			url := "wss://" + srv.tlsAddr + "/close"
			b.ReportAllocs()
			for b.Loop() {
				c, err := libraries[lib].dial(ctx, url, 0)
				if err != nil {
					b.Fatal(err)
				}
				c.abort()
			}
		})
	}
}

// benchServer starts benchSrv on first use.
func benchServer(b *testing.B) *serverProc {
	if benchSrv == nil {
		srv, err := startServer()
		if err != nil {
			b.Fatal(err)
		}
		benchSrv = srv
	}
	return benchSrv
}

func benchThroughput(b *testing.B, sc string) {
	srv := benchServer(b)
	base := "ws://" + srv.addr
	if overTLS(sc) {
		base = "wss://" + srv.tlsAddr
	}
	sizes := []int{16, 1024, 65536}
	if compressed(sc) {
		sizes = []int{1024, 65536}
	}
	for _, lib := range availableLibraries() {
		if !takesPart(sc, lib) {
			continue
		}
		for _, size := range sizes {
			b.Run(lib+"/"+strings.ReplaceAll(sizeLabel(size), " ", ""), func(b *testing.B) {
				var path string
				switch kindOf(sc) {
				case scRecv, scRecvAPI:
					path = fmt.Sprintf("/flood?size=%d&count=%d", size, b.N)
				case scSend:
					path = fmt.Sprintf("/sink?count=%d", b.N)
				case scZRecv:
					path = fmt.Sprintf("/zflood?size=%d&count=%d", size, b.N)
				case scZSend:
					path = fmt.Sprintf("/zsink?count=%d", b.N)
				}
				var c conn
				var err error
				if compressed(sc) {
					c, err = libraries[lib].dialZ(context.Background(), base+path, size)
				} else {
					c, err = libraries[lib].dial(context.Background(), base+path, size)
				}
				if err != nil {
					b.Fatal(err)
				}
				payload := make([]byte, size)
				texts := [][]byte(nil)
				if compressed(sc) {
					texts = jsonMessages(size)
				}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				switch kindOf(sc) {
				case scRecv, scZRecv:
					err = c.receive(b.N, size)
				case scRecvAPI:
					err = c.(apiConn).receiveAPI(b.N, size)
				case scSend:
					err = c.send(payload, b.N)
				case scZSend:
					err = c.(zconn).sendTexts(texts, b.N)
				}
				b.StopTimer()
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") // the client's: the server is another process
				if err != nil {
					b.Fatal(err)
				}
				if err := c.close(); err != nil {
					b.Log("close:", err)
				}
			})
		}
	}
}

func exit(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestSmoke runs every scenario, size and library once, briefly, and checks
// that each run completed and the reports are complete.
func TestSmoke(t *testing.T) {
	cfg := config{
		Scenarios: allScenarios,
		Sizes:     []int{16, 128, 1024, 16384, 65536, 1 << 20},
		EchoSizes: []int{16, 1024},
		ZSizes:    []int{1024, 65536},
		Libs:      availableLibraries(),
		Duration:  10 * time.Millisecond,
		Rounds:    1,
		Conns:     20,
	}
	jsonPath := filepath.Join(t.TempDir(), "results.json")
	md, err := benchmark(cfg, jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("JSON report: %v", err)
	}
	// recv, send, echo, handshake and idle; all but idle again over wss.
	perLib := (len(cfg.Sizes)*2+len(cfg.EchoSizes)+1)*2 + 1
	want := perLib * len(cfg.Libs)
	for _, lib := range cfg.Libs {
		if libraries[lib].dialZ != nil {
			want += 2*2*len(cfg.ZSizes) + 1 // zrecv, zsend, both also over wss; zidle
		}
	}
	for _, lib := range cfg.Libs {
		want++ // tidle
		if takesPart(scRecvAPI, lib) {
			want += 2 * len(cfg.Sizes) // and over wss
		}
	}
	if len(rep.Samples) != want {
		t.Errorf("%d samples, want %d", len(rep.Samples), want)
	}
	for _, s := range rep.Samples {
		if s.Err != "" || s.Ops <= 0 {
			t.Errorf("%s %s %s: ops %d, error %q", s.Scenario, sizeLabel(s.Size), s.Lib, s.Ops, s.Err)
		}
		if s.Scenario == scZIdle && s.HeapPerConn <= 0 {
			t.Errorf("zidle %s: %.0f heap bytes per connection", s.Lib, s.HeapPerConn)
		}
		if compressed(s.Scenario) && s.Scenario != scZIdle && (s.Compressed != s.Ops || s.WireBytes <= 0 || s.WireBytes >= s.Bytes) {
			t.Errorf("%s %s %s: %d of %d messages compressed, %d wire bytes for %d bytes", s.Scenario, sizeLabel(s.Size), s.Lib, s.Compressed, s.Ops, s.WireBytes, s.Bytes)
		}
	}
	for _, title := range []string{"Compressed receive", "Compressed send", "Compressed messages: payload bytes on the wire", "Compressed idle memory",
		"wss: Receive throughput", "wss: Receive through the default API", "wss: Send throughput", "wss: Echo", "wss: Handshakes", "wss: Compressed receive", "wss: Compressed send",
		"wss: Client CPU time", "wss: Compressed messages: client CPU time"} {
		if !strings.Contains(md, "### "+title) {
			t.Errorf("Markdown report has no %q table", title)
		}
	}
	for _, lib := range cfg.Libs {
		if !strings.Contains(md, "| "+lib+" |") {
			t.Errorf("Markdown report has no column for %s", lib)
		}
	}
	if strings.Contains(md, "error") {
		t.Errorf("Markdown report shows an error:\n%s", md)
	}
}

func TestFrameHeaderRoundTrip(t *testing.T) {
	key := []byte{1, 2, 3, 4}
	tests := []struct {
		n      int
		masked bool
		size   int // header bytes on the wire
	}{
		{0, false, 2},
		{125, false, 2},
		{126, false, 4},
		{65535, false, 4},
		{65536, false, 10},
		{1 << 20, false, 10},
		{0, true, 6},
		{126, true, 8},
		{65536, true, 14},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/masked=%v", tt.n, tt.masked), func(t *testing.T) {
			var k []byte
			if tt.masked {
				k = key
			}
			b := appendHeader(nil, true, opBinary, tt.n, k)
			if len(b) != tt.size || frameSize(tt.n, tt.masked) != tt.size+tt.n {
				t.Fatalf("header of %d bytes, frameSize %d; want %d", len(b), frameSize(tt.n, tt.masked), tt.size)
			}
			for cut := range len(b) {
				if _, ok, err := parseHeader(b[:cut]); ok || err != nil {
					t.Fatalf("parseHeader of %d of %d bytes: ok %v, err %v", cut, len(b), ok, err)
				}
			}
			h, ok, err := parseHeader(b)
			if !ok || err != nil {
				t.Fatalf("parseHeader: ok %v, err %v", ok, err)
			}
			if !h.fin || h.op != opBinary || h.n != tt.n || h.size != tt.size || h.masked != tt.masked {
				t.Errorf("parsed %+v", h)
			}
			if tt.masked && !bytes.Equal(h.key[:], key) {
				t.Errorf("key %v, want %v", h.key, key)
			}
		})
	}
}

func TestMaskBytes(t *testing.T) {
	key := [4]byte{0xa1, 0xb2, 0xc3, 0xd4}
	for _, n := range []int{0, 1, 7, 8, 9, 31, 1000} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 7)
		}
		got := bytes.Clone(p)
		maskBytes(key, got)
		for i := range p {
			if got[i] != p[i]^key[i%4] {
				t.Fatalf("n=%d: byte %d is %#x, want %#x", n, i, got[i], p[i]^key[i%4])
			}
		}
	}
}

func TestStatistics(t *testing.T) {
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median of 3 = %v", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median of 4 = %v", got)
	}
	lat := make([]time.Duration, 100)
	for i := range lat {
		lat[i] = time.Duration(i + 1)
	}
	if p := percentile(lat, 0.50); p != 50 {
		t.Errorf("p50 = %v", p)
	}
	if p := percentile(lat, 0.99); p != 99 {
		t.Errorf("p99 = %v", p)
	}
	tests := []struct {
		a, b, res, want float64
	}{
		{2, 4, 0, 0.5},
		{0.04, 0.001, 0.1, 1}, // both zero at this resolution
		{1, 0.001, 0.1, math.Inf(1)},
	}
	for _, tt := range tests {
		if got := divide(tt.a, tt.b, tt.res); got != tt.want {
			t.Errorf("divide(%v, %v, %v) = %v, want %v", tt.a, tt.b, tt.res, got, tt.want)
		}
	}
}

func TestSizeLabel(t *testing.T) {
	tests := map[int]string{16: "16 B", 1024: "1 KiB", 16384: "16 KiB", 1 << 20: "1 MiB", 1500: "1500 B"}
	for n, want := range tests {
		if got := sizeLabel(n); got != want {
			t.Errorf("sizeLabel(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestPairedSpread checks the per-round ratios: each round's ours is divided
// by the best peer's value in the same round, a failed round is left out,
// and a tie between peers' medians picks the same peer every time.
func TestPairedSpread(t *testing.T) {
	cfg := config{Scenarios: []string{scRecv}, Sizes: []int{16}, Rounds: 5}
	var samples []sample
	add := func(lib string, round int, mbps float64, failed bool) {
		s := sample{Scenario: scRecv, Lib: lib, Size: 16, Round: round, Ops: 1, Bytes: int64(mbps * 1e6), Seconds: 1}
		if failed {
			s.Err = "boom"
		}
		samples = append(samples, s)
	}
	// Round r's machine speed is r: every library scales with it.
	for r := 1; r <= 5; r++ {
		add(libOurs, r, float64(r)*1.1, false)
		add(libGobwas, r, float64(r), r == 3)
		add(libGorilla, r, float64(r)*0.5, false)
	}
	row := buildTables(cfg, samples)[0].Rows[0]
	if row.BestPeer != libGobwas {
		t.Fatalf("best peer %q", row.BestPeer)
	}
	if len(row.PeerSpread) != 2 || math.Abs(float64(row.PeerSpread[0])-1.1) > 1e-9 || math.Abs(float64(row.PeerSpread[1])-1.1) > 1e-9 {
		t.Errorf("spread %v, want 1.1–1.1 (the machine's speed cancels out)", row.PeerSpread)
	}
	if got := quantile([]float64{1, 2, 3, 4, 5}, 0.25); got != 2 {
		t.Errorf("quantile 0.25 = %v", got)
	}
	if got := quantile([]float64{1, 2}, 0.75); got != 1.75 {
		t.Errorf("quantile 0.75 = %v", got)
	}
}

// TestRoundOrder checks that every library runs in every position exactly
// once over len(libs) rounds, so no library is favoured by its place.
func TestRoundOrder(t *testing.T) {
	libs := []string{"a", "b", "c", "d"}
	seen := map[string]map[int]bool{}
	for round := range len(libs) {
		order := roundOrder(libs, round)
		if len(order) != len(libs) {
			t.Fatalf("round %d: %v", round, order)
		}
		for pos, lib := range order {
			if seen[lib] == nil {
				seen[lib] = map[int]bool{}
			}
			seen[lib][pos] = true
		}
	}
	for _, lib := range libs {
		if len(seen[lib]) != len(libs) {
			t.Errorf("%s ran in positions %v, want all %d", lib, seen[lib], len(libs))
		}
	}
	if got := roundOrder(libs, 4); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("round 4: %v", got)
	}
	if got := roundOrder(libs, 5); !slices.Equal(got, []string{"b", "a", "d", "c"}) {
		t.Errorf("round 5: %v", got)
	}
	// Neighbours change: b does not always run right after a.
	after := 0
	for round := range len(libs) {
		order := roundOrder(libs, round)
		i := slices.Index(order, "a")
		if i+1 < len(order) && order[i+1] == "b" || i == len(order)-1 && order[0] == "b" {
			after++
		}
	}
	if after == len(libs) {
		t.Error("b runs right after a in every round")
	}
	if !slices.Equal(libs, []string{"a", "b", "c", "d"}) {
		t.Errorf("roundOrder changed its argument: %v", libs)
	}
	if roundOrder(nil, 3) != nil {
		t.Error("no libraries: want nil")
	}
}
