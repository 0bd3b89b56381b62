package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Scenario names, as accepted by -scenarios.
const (
	scRecv      = "recv"
	scSend      = "send"
	scEcho      = "echo"
	scHandshake = "handshake"
	scIdle      = "idle"
	scZRecv     = "zrecv" // compressed receive (permessage-deflate)
	scZSend     = "zsend" // compressed send
	scZIdle     = "zidle" // idle memory of compressed connections

	// wssPrefix names a scenario's twin over TLS: "wss-recv" is recv over
	// wss, and so on for every scenario in tlsScenarios.
	wssPrefix = "wss-"
)

// tlsScenarios are the scenarios that also run over TLS, as wssPrefix+name.
var tlsScenarios = []string{scRecv, scSend, scEcho, scHandshake, scZRecv, scZSend}

var allScenarios = append([]string{scRecv, scSend, scEcho, scHandshake, scIdle, scZRecv, scZSend, scZIdle}, wss(tlsScenarios...)...)

// wss returns the names of scenarios' TLS twins.
func wss(scenarios ...string) []string {
	out := make([]string, len(scenarios))
	for i, sc := range scenarios {
		out[i] = wssPrefix + sc
	}
	return out
}

// kindOf returns what scenario sc does, its name without wssPrefix.
func kindOf(sc string) string { return strings.TrimPrefix(sc, wssPrefix) }

// overTLS reports whether sc runs over wss.
func overTLS(sc string) bool { return strings.HasPrefix(sc, wssPrefix) }

// compressed reports whether sc is one of the permessage-deflate scenarios,
// in which only libraries with a dialZ take part.
func compressed(sc string) bool {
	k := kindOf(sc)
	return k == scZRecv || k == scZSend || k == scZIdle
}

// config is everything a benchmark run needs; main fills it from flags.
type config struct {
	Scenarios []string      `json:"scenarios"`
	Sizes     []int         `json:"sizes"`      // message sizes of recv and send
	EchoSizes []int         `json:"echo_sizes"` // message sizes of echo
	ZSizes    []int         `json:"z_sizes"`    // message sizes of zrecv and zsend
	Libs      []string      `json:"libs"`
	Duration  time.Duration `json:"duration_ns"` // target length of one measured run
	Rounds    int           `json:"rounds"`
	Conns     int           `json:"idle_conns"`
	Contend   int           `json:"contend,omitempty"` // CPU-bound processes running alongside (contend.go)

	progress io.Writer // per-run progress lines; nil = none
}

// roleEnv selects what a re-executed copy of this binary does: "server" runs
// the benchmark server, "idle" one idle-memory measurement. The test binary
// honours it too (see TestMain), so `go test` needs no separate build.
const roleEnv = "WSBENCH_ROLE"

// serverProc is the benchmark server child process.
type serverProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	addr    string // ws
	tlsAddr string // wss, see tlsca.go

	mu    sync.Mutex
	stats map[string]chan zstats // by run id, see zStats
}

// startServer re-executes this binary as the server and reads its
// addresses. It makes the TLS chain of the wss scenarios first (once per
// process) and hands the server its certificate.
func startServer() (*serverProc, error) {
	ca, err := benchCA()
	if err != nil {
		return nil, fmt.Errorf("making the TLS certificates: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(append(os.Environ(), roleEnv+"=server"), ca.serverEnv()...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	br := bufio.NewReader(stdout)
	line, err := br.ReadString('\n')
	if err != nil {
		stdin.Close()
		_ = cmd.Wait()
		return nil, fmt.Errorf("benchmark server: %w", err)
	}
	addrs := strings.Fields(line)
	if len(addrs) != 2 {
		stdin.Close()
		_ = cmd.Wait()
		return nil, fmt.Errorf("benchmark server: first line %q, want two addresses", line)
	}
	s := &serverProc{cmd: cmd, stdin: stdin, addr: addrs[0], tlsAddr: addrs[1], stats: map[string]chan zstats{}}
	go s.readStats(br)
	return s, nil
}

// readStats reads the server's statistics lines (printZStats) until the
// server exits. It also keeps the pipe drained, so the server never blocks
// on a full stdout.
func (s *serverProc) readStats(br *bufio.Reader) {
	for {
		line, err := br.ReadString('\n')
		if id, st, ok := parseZStats(line); ok {
			s.statsChan(id) <- st
		}
		if err != nil {
			return
		}
	}
}

// statsChan returns the channel of run id's statistics, made by whichever of
// the reader and the runner gets there first; it holds one line, so the
// reader never waits for a runner that gave up.
func (s *serverProc) statsChan(id string) chan zstats {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.stats[id]
	if !ok {
		ch = make(chan zstats, 1)
		s.stats[id] = ch
	}
	return ch
}

// zStats waits for the statistics of run id. The server prints them before
// the message that ends the client's run, so they are normally already there.
func (s *serverProc) zStats(id string) (zstats, error) {
	ch := s.statsChan(id)
	defer func() {
		s.mu.Lock()
		delete(s.stats, id)
		s.mu.Unlock()
	}()
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case st := <-ch:
		return st, nil
	case <-t.C:
		return zstats{}, fmt.Errorf("no statistics from the server for run %s", id)
	}
}

// stop closes the server's standard input, on which it exits, and waits.
func (s *serverProc) stop() error {
	s.stdin.Close()
	return s.cmd.Wait()
}

// sample is the outcome of one measured run of one library.
type sample struct {
	Scenario string  `json:"scenario"`
	Lib      string  `json:"lib"`
	Size     int     `json:"size,omitempty"`
	Round    int     `json:"round"`
	Err      string  `json:"error,omitempty"`
	Ops      int64   `json:"ops"` // messages, round trips or handshakes
	Bytes    int64   `json:"bytes,omitempty"`
	Seconds  float64 `json:"seconds"`
	Mallocs  uint64  `json:"mallocs"`
	CPUNanos int64   `json:"cpu_ns"`
	P50Micro float64 `json:"p50_us,omitempty"`
	P99Micro float64 `json:"p99_us,omitempty"`
	// Compressed scenarios, as the server counted them: payload bytes on
	// the wire and messages that were compressed.
	WireBytes  int64 `json:"wire_bytes,omitempty"`
	Compressed int64 `json:"compressed_msgs,omitempty"`
	// Idle memory, in bytes per connection.
	RSSPerConn   float64 `json:"rss_per_conn,omitempty"`
	HeapPerConn  float64 `json:"heap_per_conn,omitempty"`
	StackPerConn float64 `json:"stack_per_conn,omitempty"`
}

// runner holds the state of one benchmark invocation.
type runner struct {
	cfg     config
	srv     *serverProc
	base    string         // "ws://127.0.0.1:port"
	tlsBase string         // "wss://127.0.0.1:port"
	counts  map[string]int // calibrated message count per scenario/size/lib
	samples []sample
	runs    int // runs so far, the id of a compressed run's statistics
}

// run executes the benchmark: a warm-up round that also calibrates message
// counts, then cfg.Rounds rounds, each running every scenario, size and
// library in turn (A B C … A B C …) so that slow drifts of the machine spread
// evenly over the libraries. The order changes from round to round
// (roundOrder): no library always runs first after a change of scenario or
// size, or always right after the same neighbour.
func run(cfg config) ([]sample, error) {
	srv, err := startServer()
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	if cfg.Contend > 0 {
		stop, err := startSpinners(cfg.Contend)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	r := &runner{cfg: cfg, srv: srv, base: "ws://" + srv.addr, tlsBase: "wss://" + srv.tlsAddr, counts: map[string]int{}}
	for round := 0; round <= cfg.Rounds; round++ {
		for _, sc := range cfg.Scenarios {
			if (sc == scIdle || sc == scZIdle || sc == scTIdle) && round == 0 {
				continue // each idle run is a fresh process: nothing to warm up
			}
			for _, size := range r.sizesOf(sc) {
				for _, lib := range roundOrder(cfg.Libs, round) {
					if !takesPart(sc, lib) {
						continue
					}
					s := r.runOne(sc, lib, size, round)
					r.logf("round %d/%d %-9s %7s %-8s %s", round, cfg.Rounds, sc, sizeLabel(size), lib, s.summary())
					if round > 0 {
						r.samples = append(r.samples, s)
					}
				}
			}
		}
	}
	return r.samples, nil
}

// roundOrder returns libs rotated left by round places in even rounds, and
// in odd rounds reversed, then rotated left by round+1: rotation alone keeps
// each library's neighbours, so one that always ran right after another
// (the raw-TCP flood, say) would always inherit what that one left behind.
// Over an even number of libraries and as many rounds, each library still
// runs once in every position.
func roundOrder(libs []string, round int) []string {
	if len(libs) == 0 {
		return nil
	}
	base := slices.Clone(libs)
	k := round
	if round%2 == 1 {
		slices.Reverse(base)
		k++
	}
	k %= len(base)
	return append(base[k:], base[:k]...)
}

func (r *runner) logf(format string, args ...any) {
	if r.cfg.progress != nil {
		fmt.Fprintf(r.cfg.progress, format+"\n", args...)
	}
}

func (r *runner) sizesOf(sc string) []int {
	switch kindOf(sc) {
	case scRecv, scSend, scRecvAPI:
		return r.cfg.Sizes
	case scEcho:
		return r.cfg.EchoSizes
	case scZRecv, scZSend:
		return r.cfg.ZSizes
	}
	return []int{0}
}

// runOne runs one measurement; a failure is recorded in the sample rather
// than ending the whole benchmark.
func (r *runner) runOne(sc, lib string, size, round int) sample {
	s := sample{Scenario: sc, Lib: lib, Size: size, Round: round}
	var err error
	switch kindOf(sc) {
	case scRecv, scSend, scZRecv, scZSend, scRecvAPI:
		err = r.throughput(&s, round == 0)
	case scEcho:
		err = r.echo(&s)
	case scHandshake:
		err = r.handshakes(&s)
	case scIdle, scZIdle, scTIdle:
		err = r.idle(&s)
	default:
		err = fmt.Errorf("unknown scenario %q", sc)
	}
	if err != nil {
		s.Err = err.Error()
	}
	return s
}

// meter brackets a measured section: wall time, CPU time of the process and
// heap allocations.
type meter struct {
	start   time.Time
	cpu     int64
	mallocs uint64
}

func startMeter() meter {
	runtime.GC() // every run starts from the same heap state
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return meter{start: time.Now(), cpu: cpuTime(), mallocs: ms.Mallocs}
}

func (m meter) stop(s *sample) {
	s.Seconds = time.Since(m.start).Seconds()
	s.CPUNanos = cpuTime() - m.cpu
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.Mallocs = ms.Mallocs - m.mallocs
}

// url returns the URL of path on the server, over wss for a TLS scenario.
func (r *runner) url(sc, path string) string {
	if overTLS(sc) {
		return r.tlsBase + path
	}
	return r.base + path
}

// dial opens a connection for scenario sc with a watchdog: if the run takes
// far longer than planned (a hung library or server), the connection is
// aborted, which unblocks every read and write. The returned stop function
// disarms it. In a compressed scenario the connection negotiates
// permessage-deflate (library.dialZ).
func (r *runner) dial(lib, sc, path string, size int) (conn, func(), error) {
	limit := 30*time.Second + 20*r.cfg.Duration
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var c conn
	var err error
	if compressed(sc) {
		c, err = libraries[lib].dialZ(ctx, r.url(sc, path), size)
	} else {
		c, err = libraries[lib].dial(ctx, r.url(sc, path), size)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("dial: %w", err)
	}
	t := time.AfterFunc(limit, c.abort)
	return c, func() { t.Stop() }, nil
}

// estimateCount guesses how many messages of size bytes fill a quarter of the
// run time: enough for the warm-up round to measure a rate. Compressed
// messages cost far more per byte (deflate runs at some hundreds of MB/s).
func estimateCount(d time.Duration, size int, z bool) int {
	perMsg := 300*time.Nanosecond + time.Duration(size/2)
	if z {
		perMsg = time.Microsecond + time.Duration(size*3)
	}
	return max(4, int(d/4/perMsg))
}

// throughput runs recv, send, zrecv or zsend, over ws or wss. The warm-up round measures the
// library's rate with an estimated count; measured rounds then use rate ×
// duration. The compressed scenarios carry the pool of JSON messages
// (jsonMessages) as text and take the wire size from the server's
// statistics; a zsend run in which the library sent any message
// uncompressed fails, so that every library's figures include compressing.
func (r *runner) throughput(s *sample, warmup bool) error {
	key := fmt.Sprintf("%s/%d/%s", s.Scenario, s.Size, s.Lib)
	z := compressed(s.Scenario)
	n, ok := r.counts[key]
	if !ok || warmup {
		n = estimateCount(r.cfg.Duration, s.Size, z)
	}
	r.runs++
	id := strconv.Itoa(r.runs)
	kind := kindOf(s.Scenario)
	var path string
	switch kind {
	case scRecv, scRecvAPI:
		path = fmt.Sprintf("/flood?size=%d&count=%d", s.Size, n)
	case scSend:
		path = fmt.Sprintf("/sink?count=%d", n)
	case scZRecv:
		path = fmt.Sprintf("/zflood?size=%d&count=%d&id=%s", s.Size, n, id)
	case scZSend:
		path = fmt.Sprintf("/zsink?count=%d&id=%s", n, id)
	}
	var payload []byte
	var texts [][]byte
	if kind == scSend {
		payload = make([]byte, s.Size)
		for i := range payload {
			payload[i] = byte(i)
		}
	}
	if z {
		texts = jsonMessages(s.Size) // built before the clock starts
	}
	c, disarm, err := r.dial(s.Lib, s.Scenario, path, s.Size)
	if err != nil {
		return err
	}
	defer disarm()
	m := startMeter()
	switch kind {
	case scRecv, scZRecv:
		err = c.receive(n, s.Size)
	case scRecvAPI:
		err = c.(apiConn).receiveAPI(n, s.Size)
	case scSend:
		err = c.send(payload, n)
	case scZSend:
		err = c.(zconn).sendTexts(texts, n)
	}
	m.stop(s)
	if err != nil {
		c.abort()
		return err
	}
	s.Ops = int64(n)
	s.Bytes = int64(n) * int64(s.Size)
	if z {
		st, err := r.srv.zStats(id)
		if err != nil {
			c.abort()
			return err
		}
		s.WireBytes, s.Compressed = st.wire, st.compressed
		if st.msgs != int64(n) || st.compressed != int64(n) {
			c.abort()
			return fmt.Errorf("the server saw %d messages, %d of them compressed; want %d, all compressed", st.msgs, st.compressed, n)
		}
	}
	if warmup {
		rate := float64(n) / s.Seconds
		r.counts[key] = max(4, int(rate*r.cfg.Duration.Seconds()))
	}
	return c.close()
}

// echo round-trips one message at a time for the run's duration, timing each.
func (r *runner) echo(s *sample) error {
	c, disarm, err := r.dial(s.Lib, s.Scenario, "/echo", s.Size)
	if err != nil {
		return err
	}
	defer disarm()
	payload := make([]byte, s.Size)
	key := fmt.Sprintf("%s/%d/%s", s.Scenario, s.Size, s.Lib)
	lat := make([]time.Duration, 0, r.counts[key]*3/2+1024)
	m := startMeter()
	for time.Since(m.start) < r.cfg.Duration {
		t0 := time.Now()
		if err = c.roundTrip(payload); err != nil {
			break
		}
		lat = append(lat, time.Since(t0))
	}
	m.stop(s)
	if err != nil {
		c.abort()
		return err
	}
	r.counts[key] = max(r.counts[key], len(lat))
	s.Ops = int64(len(lat))
	s.Bytes = s.Ops * int64(s.Size)
	slices.Sort(lat)
	s.P50Micro = percentile(lat, 0.50).Seconds() * 1e6
	s.P99Micro = percentile(lat, 0.99).Seconds() * 1e6
	return c.close()
}

// percentile returns the p-quantile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// handshakes opens connections for the run's duration; the server closes
// each one right after its 101 response, and the client drops it at once.
func (r *runner) handshakes(s *sample) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second+20*r.cfg.Duration)
	defer cancel()
	dial := libraries[s.Lib].dial
	url := r.url(s.Scenario, "/close")
	var err error
	m := startMeter()
	for time.Since(m.start) < r.cfg.Duration {
		var c conn
		if c, err = dial(ctx, url, 0); err != nil {
			break
		}
		c.abort()
		s.Ops++
	}
	m.stop(s)
	return err
}
