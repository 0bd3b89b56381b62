package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// sizeLabel formats a message size: "16 B", "1 KiB", "1 MiB".
func sizeLabel(n int) string {
	switch {
	case n == 0:
		return ""
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// summary is the one-line progress report of a sample.
func (s sample) summary() string {
	if s.Err != "" {
		return "ERROR " + s.Err
	}
	switch kindOf(s.Scenario) {
	case scRecv, scSend, scRecvAPI:
		return fmt.Sprintf("%9.1f MB/s %11.0f msg/s %6.2f allocs/msg", float64(s.Bytes)/1e6/s.Seconds, float64(s.Ops)/s.Seconds, s.perOp(float64(s.Mallocs)))
	case scZRecv, scZSend:
		return fmt.Sprintf("%9.1f MB/s %11.0f msg/s %6.2f allocs/msg %8.0f wire B/msg", float64(s.Bytes)/1e6/s.Seconds, float64(s.Ops)/s.Seconds, s.perOp(float64(s.Mallocs)), s.perOp(float64(s.WireBytes)))
	case scEcho:
		return fmt.Sprintf("%9.0f rt/s p50 %.1f µs p99 %.1f µs", float64(s.Ops)/s.Seconds, s.P50Micro, s.P99Micro)
	case scHandshake:
		return fmt.Sprintf("%9.0f handshakes/s", float64(s.Ops)/s.Seconds)
	case scIdle, scZIdle, scTIdle:
		return fmt.Sprintf("RSS %.1f KiB/conn, heap %.1f KiB/conn", s.RSSPerConn/1024, s.HeapPerConn/1024)
	}
	return ""
}

func (s sample) perOp(v float64) float64 {
	if s.Ops == 0 {
		return math.NaN()
	}
	return v / float64(s.Ops)
}

// metric extracts one number from a sample for one row of a table.
type metric struct {
	name         string
	unit         string
	higherBetter bool
	value        func(s sample) float64
}

var (
	mbPerSec      = metric{"throughput", "MB/s", true, func(s sample) float64 { return float64(s.Bytes) / 1e6 / s.Seconds }}
	opsPerSec     = metric{"rate", "/s", true, func(s sample) float64 { return float64(s.Ops) / s.Seconds }}
	p50           = metric{"p50", "µs", false, func(s sample) float64 { return s.P50Micro }}
	p99           = metric{"p99", "µs", false, func(s sample) float64 { return s.P99Micro }}
	allocsPerOp   = metric{"allocs", "allocs/op", false, func(s sample) float64 { return s.perOp(float64(s.Mallocs)) }}
	cpuPerOp      = metric{"cpu", "ns/op", false, func(s sample) float64 { return s.perOp(float64(s.CPUNanos)) }}
	rssPerConn    = metric{"rss", "KiB/conn", false, func(s sample) float64 { return s.RSSPerConn / 1024 }}
	heapPerConn   = metric{"heap", "KiB/conn", false, func(s sample) float64 { return s.HeapPerConn / 1024 }}
	stacksPerConn = metric{"stacks", "KiB/conn", false, func(s sample) float64 { return s.StackPerConn / 1024 }}
	wirePerOp     = metric{"wire", "B/op", false, func(s sample) float64 { return s.perOp(float64(s.WireBytes)) }}
)

// row is one line of a table: one metric of one scenario and size, with the
// samples of every library.
type row struct {
	Label        string               `json:"label"`
	Scenario     string               `json:"scenario"`
	Size         int                  `json:"size,omitempty"`
	Metric       string               `json:"metric"`
	Unit         string               `json:"unit"`
	HigherBetter bool                 `json:"higher_is_better"`
	Samples      map[string][]float64 `json:"samples"`
	Median       map[string]float64   `json:"median"`
	Errors       map[string]string    `json:"errors,omitempty"`
	OursVsPeer   ratio                `json:"ours_vs_best_peer"`
	OursVsTCP    ratio                `json:"ours_vs_tcp"`
	// BestPeer is the peer OursVsPeer divides by.
	BestPeer string `json:"best_peer,omitempty"`
	// PeerSpread is the middle half (25th to 75th percentile) of the
	// per-round ratios ours ÷ BestPeer, each from the two runs of one
	// round, for the timing metrics; nil with fewer than three rounds.
	// Runs of one round are close in time, so this shows how far the
	// machine's noise moves the ratio: a spread that contains 1 is a tie.
	PeerSpread []ratio `json:"ours_vs_best_peer_spread,omitempty"`

	byRound map[string]map[int]float64 // lib → round → value
}

// table is a titled list of rows.
type table struct {
	Title string `json:"title"`
	Rows  []*row `json:"rows"`
	// Libs are the table's columns when not every library takes part (the
	// compressed scenarios); nil means all of them.
	Libs []string `json:"libs,omitempty"`
	// Compressed marks the tables of the compressed scenarios, whose
	// zNoTakeover columns are labelled as such.
	Compressed bool `json:"compressed,omitempty"`
	// Note is printed under the table.
	Note string `json:"note,omitempty"`
}

// buildTables groups the samples into the report's tables.
func buildTables(cfg config, samples []sample) []table {
	mk := func(sc string, size int, m metric, label string) *row {
		r := &row{Label: label, Scenario: sc, Size: size, Metric: m.name, Unit: m.unit, HigherBetter: m.higherBetter,
			Samples: map[string][]float64{}, Median: map[string]float64{}, byRound: map[string]map[int]float64{}}
		for _, s := range samples {
			if s.Scenario != sc || s.Size != size {
				continue
			}
			if s.Err != "" {
				if r.Errors == nil {
					r.Errors = map[string]string{}
				}
				r.Errors[s.Lib] = s.Err
				continue
			}
			if v := m.value(s); !math.IsNaN(v) && !math.IsInf(v, 0) {
				r.Samples[s.Lib] = append(r.Samples[s.Lib], v)
				if r.byRound[s.Lib] == nil {
					r.byRound[s.Lib] = map[int]float64{}
				}
				r.byRound[s.Lib][s.Round] = v
			}
		}
		for lib, v := range r.Samples {
			r.Median[lib] = median(v)
		}
		peer, tcp := ratios(r)
		r.OursVsPeer, r.OursVsTCP = ratio(peer), ratio(tcp)
		if timing[m.name] {
			r.PeerSpread = pairedSpread(r)
		}
		return r
	}
	var tables []table
	for _, tls := range []bool{false, true} {
		tables = append(tables, familyTables(cfg, mk, tls)...)
	}
	return tables
}

// familyTables builds the tables of the scenarios over ws (tls false) or
// their twins over wss, whose titles start with "wss: ".
func familyTables(cfg config, mk func(sc string, size int, m metric, label string) *row, tls bool) []table {
	name, prefix := func(sc string) string { return sc }, ""
	if tls {
		name, prefix = func(sc string) string { return wssPrefix + sc }, "wss: "
	}
	has := func(sc string) bool { return slices.Contains(cfg.Scenarios, name(sc)) }
	var tables []table
	var cost []*row
	for _, kind := range []string{scRecv, scRecvAPI, scSend} {
		if !has(kind) {
			continue
		}
		sc := name(kind)
		title := map[string]string{scRecv: "Receive throughput (MB/s, higher is better)", scRecvAPI: recvAPITitle, scSend: "Send throughput (MB/s, higher is better)"}[kind]
		t := table{Title: prefix + title}
		for _, size := range cfg.Sizes {
			t.Rows = append(t.Rows, mk(sc, size, mbPerSec, sizeLabel(size)))
			cost = append(cost, mk(sc, size, allocsPerOp, sc+" "+sizeLabel(size)), mk(sc, size, cpuPerOp, sc+" "+sizeLabel(size)))
		}
		tables = append(tables, t)
	}
	if has(scEcho) {
		sc := name(scEcho)
		t := table{Title: prefix + "Echo round trips (one message in flight)"}
		for _, size := range cfg.EchoSizes {
			l := sizeLabel(size)
			t.Rows = append(t.Rows, mk(sc, size, opsPerSec, l+" round trips/s"), mk(sc, size, p50, l+" p50 µs"), mk(sc, size, p99, l+" p99 µs"))
			cost = append(cost, mk(sc, size, allocsPerOp, sc+" "+l), mk(sc, size, cpuPerOp, sc+" "+l))
		}
		tables = append(tables, t)
	}
	if has(scHandshake) {
		sc := name(scHandshake)
		title := "Handshakes (dial, 101, drop)"
		if tls {
			title = "Handshakes (dial, full TLS 1.3 handshake with certificate verification, 101, drop)"
		}
		tables = append(tables, table{Title: prefix + title, Rows: []*row{mk(sc, 0, opsPerSec, "handshakes/s")}})
		cost = append(cost, mk(sc, 0, allocsPerOp, sc), mk(sc, 0, cpuPerOp, sc))
	}
	if has(scIdle) {
		tables = append(tables, table{Title: fmt.Sprintf("%sIdle memory (%d connections, each with a goroutine blocked in its read; KiB per connection, lower is better)", prefix, cfg.Conns),
			Rows: []*row{mk(name(scIdle), 0, rssPerConn, "RSS"), mk(name(scIdle), 0, heapPerConn, "Go heap"), mk(name(scIdle), 0, stacksPerConn, "goroutine stacks")}})
	}
	if has(scTIdle) {
		tables = append(tables, table{Title: fmt.Sprintf("%sIdle memory after traffic (%d connections, each after one %s echo round trip, with a goroutine blocked in its read; KiB per connection, lower is better)", prefix, cfg.Conns, sizeLabel(zidleSize)),
			Rows: []*row{mk(name(scTIdle), 0, rssPerConn, "RSS"), mk(name(scTIdle), 0, heapPerConn, "Go heap"), mk(name(scTIdle), 0, stacksPerConn, "goroutine stacks")}})
	}
	tables = append(tables, compressedTables(cfg, mk, name, prefix)...)
	var allocs, cpu []*row
	for _, r := range cost {
		if r.Metric == allocsPerOp.name {
			allocs = append(allocs, r)
		} else {
			cpu = append(cpu, r)
		}
	}
	if len(allocs) > 0 {
		tables = append(tables,
			table{Title: prefix + "Heap allocations per message (per round trip, per handshake; lower is better)", Rows: allocs},
			table{Title: prefix + "Client CPU time per message (ns, user+sys; lower is better)", Rows: cpu})
	}
	return tables
}

// compressedTables builds the tables of zrecv and zsend (or their wss twins,
// name mapping a kind of scenario to its name and prefix starting the
// titles): throughput, the idle memory of compressed connections (zidle),
// then allocations, CPU time and wire bytes per message, with columns for
// the libraries that take part only.
func compressedTables(cfg config, mk func(sc string, size int, m metric, label string) *row, name func(string) string, prefix string) []table {
	var libs []string
	for _, lib := range cfg.Libs {
		if libraries[lib].dialZ != nil {
			libs = append(libs, lib)
		}
	}
	var tables []table
	var allocs, cpu, wire []*row
	for _, kind := range []string{scZRecv, scZSend} {
		sc := name(kind)
		if !slices.Contains(cfg.Scenarios, sc) {
			continue
		}
		title := map[string]string{
			scZRecv: "Compressed receive (MB/s of uncompressed JSON, higher is better)",
			scZSend: "Compressed send (MB/s of uncompressed JSON, higher is better)",
		}[kind]
		t := table{Title: prefix + title, Libs: libs, Compressed: true}
		for _, size := range cfg.ZSizes {
			l := sc + " " + sizeLabel(size)
			t.Rows = append(t.Rows, mk(sc, size, mbPerSec, sizeLabel(size)))
			allocs = append(allocs, mk(sc, size, allocsPerOp, l))
			cpu = append(cpu, mk(sc, size, cpuPerOp, l))
			wire = append(wire, mk(sc, size, wirePerOp, l))
		}
		tables = append(tables, t)
	}
	if sc := name(scZIdle); slices.Contains(cfg.Scenarios, sc) {
		tables = append(tables, table{
			Title: fmt.Sprintf("%sCompressed idle memory (%d connections with permessage-deflate, one %s JSON message each way, then a goroutine blocked in its read; KiB per connection, lower is better)",
				prefix, cfg.Conns, sizeLabel(zidleSize)),
			Rows: []*row{mk(sc, 0, rssPerConn, "RSS"), mk(sc, 0, heapPerConn, "Go heap"), mk(sc, 0, stacksPerConn, "goroutine stacks")},
			Libs: libs, Compressed: true})
	}
	if len(tables) == 0 {
		return nil
	}
	tables[0].Note = compressedNote(libs)
	if len(allocs) == 0 {
		return tables
	}
	return append(tables,
		table{Title: prefix + "Compressed messages: heap allocations per message (lower is better)", Rows: allocs, Libs: libs, Compressed: true},
		table{Title: prefix + "Compressed messages: client CPU time per message (ns, user+sys; lower is better)", Rows: cpu, Libs: libs, Compressed: true},
		table{Title: prefix + "Compressed messages: payload bytes on the wire per message (zrecv: the server's compression; zsend: the library's)", Rows: wire, Libs: libs, Compressed: true},
	)
}

// compressedNote explains who takes part in the compressed tables.
func compressedNote(libs []string) string {
	var peers, marked []string
	for _, lib := range libs {
		switch {
		case isPeer(lib, scZRecv):
			peers = append(peers, lib)
		case libraries[lib].zNoTakeover:
			marked = append(marked, lib)
		}
	}
	note := "Compressed tables: permessage-deflate, JSON text messages; best peer among " + strings.Join(peers, ", ") + " (context takeover both ways)."
	if len(marked) > 0 {
		note += " " + strings.Join(marked, ", ") + " only compresses without context takeover (each message on its own): shown, not counted as a peer."
	}
	return note + " Libraries without permessage-deflate take no part."
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// timing names the metrics measured with a clock, which the machine's noise
// moves from run to run; counts and memory are not in it.
var timing = map[string]bool{mbPerSec.name: true, opsPerSec.name: true, p50.name: true, p99.name: true}

// pairedSpread returns the 25th and 75th percentiles of ours ÷ r.BestPeer
// over the rounds both have a value in, or nil for fewer than three.
func pairedSpread(r *row) []ratio {
	ours, peer := r.byRound[libOurs], r.byRound[r.BestPeer]
	var q []float64
	for round, v := range ours {
		if p, ok := peer[round]; ok && p > 0 {
			q = append(q, v/p)
		}
	}
	if len(q) < 3 {
		return nil
	}
	slices.Sort(q)
	return []ratio{ratio(quantile(q, 0.25)), ratio(quantile(q, 0.75))}
}

// quantile interpolates the q-quantile of sorted values.
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (pos-float64(i))*(sorted[i+1]-sorted[i])
}

// ratios returns ours / best peer and ours / raw TCP, or NaN where a side is
// missing. Values are first rounded to the metric's resolution, so that an
// allocation count of 0.004 per message (a buffer grown once, or a background
// allocation, spread over many messages) counts as the zero it is:
// 0 / 0 is 1, x / 0 is +Inf. It sets r.BestPeer.
func ratios(r *row) (peer, tcp float64) {
	peer, tcp = math.NaN(), math.NaN()
	ours, ok := r.Median[libOurs]
	if !ok {
		return
	}
	res := resolution(r.Metric)
	best, found := 0.0, false
	for lib, v := range r.Median {
		if !isPeer(lib, r.Scenario) {
			continue
		}
		if !found || (r.HigherBetter && v > best) || (!r.HigherBetter && v < best) ||
			v == best && lib < r.BestPeer { // map order must not pick the peer
			best, found = v, true
			r.BestPeer = lib
		}
	}
	if found {
		peer = divide(ours, best, res)
	}
	if v, ok := r.Median[libTCP]; ok {
		tcp = divide(ours, v, res)
	}
	return
}

// resolution is the precision below which a metric's values are noise.
func resolution(metric string) float64 {
	if metric == allocsPerOp.name {
		return 0.1
	}
	return 0
}

func divide(a, b, res float64) float64 {
	if res > 0 {
		a, b = math.Round(a/res)*res, math.Round(b/res)*res
	}
	switch {
	case a == 0 && b == 0:
		return 1
	case b == 0:
		return math.Inf(1)
	}
	return a / b
}

// writeMarkdown renders the tables with one column per library and the two
// ratio columns.
func writeMarkdown(w io.Writer, cfg config, tables []table) {
	fmt.Fprintf(w, "Medians of %d rounds, %v per run, %s/%s, %d CPUs, %s.\n", cfg.Rounds, cfg.Duration, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	if cfg.Contend > 0 {
		fmt.Fprintf(w, "Contended: %d CPU-bound processes ran alongside the whole time (-contend).\n", cfg.Contend)
	}
	fmt.Fprintf(w, "Ratios are ours ÷ best peer (%s) and ours ÷ raw TCP: above 1 is better for rates, below 1 for times, allocations and memory.\n", strings.Join(peerNames(cfg), ", "))
	if cfg.Rounds >= 3 {
		fmt.Fprintf(w, "In parentheses after a timed ratio: the middle half (25th–75th percentile) of the per-round ratios, ours ÷ that best peer in the same round; where it contains 1, the two are tied within this machine's noise.\n")
	}
	for _, t := range tables {
		libs := t.Libs
		if libs == nil {
			libs = cfg.Libs
		}
		withTCP := slices.Contains(libs, libTCP)
		fmt.Fprintf(w, "\n### %s\n\n", t.Title)
		fmt.Fprintf(w, "| |")
		for _, lib := range libs {
			if t.Compressed && libraries[lib].zNoTakeover {
				fmt.Fprintf(w, " %s (no takeover) |", lib)
				continue
			}
			fmt.Fprintf(w, " %s |", lib)
		}
		fmt.Fprintf(w, " ours/best peer |")
		if withTCP {
			fmt.Fprintf(w, " ours/tcp |")
		}
		fmt.Fprintf(w, "\n|---|")
		for range libs {
			fmt.Fprintf(w, "---:|")
		}
		fmt.Fprintf(w, "---:|")
		if withTCP {
			fmt.Fprintf(w, "---:|")
		}
		fmt.Fprintln(w)
		for _, r := range t.Rows {
			fmt.Fprintf(w, "| %s |", r.Label)
			for _, lib := range libs {
				if _, bad := r.Errors[lib]; bad {
					fmt.Fprintf(w, " error |")
					continue
				}
				v, ok := r.Median[lib]
				if !ok { // the library takes no part in this row's scenario
					v = math.NaN()
				}
				fmt.Fprintf(w, " %s |", formatNumber(v, r.Unit))
			}
			fmt.Fprintf(w, " %s", r.OursVsPeer)
			if len(r.PeerSpread) == 2 {
				fmt.Fprintf(w, " (%.2f–%.2f)", float64(r.PeerSpread[0]), float64(r.PeerSpread[1]))
			}
			fmt.Fprintf(w, " |")
			if withTCP {
				fmt.Fprintf(w, " %s |", r.OursVsTCP)
			}
			fmt.Fprintln(w)
		}
		if t.Note != "" {
			fmt.Fprintf(w, "\n%s\n", t.Note)
		}
	}
}

func peerNames(cfg config) []string {
	var names []string
	for _, lib := range cfg.Libs {
		if libraries[lib].peer {
			names = append(names, lib)
		}
	}
	return names
}

// formatNumber prints about three significant digits; rates get k/M suffixes.
func formatNumber(v float64, unit string) string {
	if math.IsNaN(v) {
		return "—"
	}
	if unit == "/s" {
		switch {
		case v >= 1e6:
			return fmt.Sprintf("%.2f M", v/1e6)
		case v >= 1e3:
			return fmt.Sprintf("%.1f k", v/1e3)
		}
	}
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 0.01:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

// ratio is ours divided by another library's median; NaN when either is
// missing, +Inf when ours is above a zero.
type ratio float64

func (r ratio) String() string {
	switch f := float64(r); {
	case math.IsNaN(f):
		return "—"
	case math.IsInf(f, 1):
		return "∞"
	}
	return fmt.Sprintf("%.2f×", float64(r))
}

// MarshalJSON writes a missing or infinite ratio as null, which JSON has and
// NaN and Inf are not.
func (r ratio) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(r)) || math.IsInf(float64(r), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(r))
}

// report is the JSON file's content.
type report struct {
	Time      time.Time `json:"time"`
	GoVersion string    `json:"go_version"`
	GOOS      string    `json:"goos"`
	GOARCH    string    `json:"goarch"`
	CPUs      int       `json:"cpus"`
	Config    config    `json:"config"`
	Tables    []table   `json:"tables"`
	Samples   []sample  `json:"samples"`
}

// writeJSON writes the report; NaN (no value) is written as null.
func writeJSON(path string, cfg config, tables []table, samples []sample) error {
	rep := report{Time: time.Now().UTC(), GoVersion: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH,
		CPUs: runtime.NumCPU(), Config: cfg, Tables: tables, Samples: samples}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
