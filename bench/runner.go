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
	"strings"
	"time"
)

// Scenario names, as accepted by -scenarios.
const (
	scRecv      = "recv"
	scSend      = "send"
	scEcho      = "echo"
	scHandshake = "handshake"
	scIdle      = "idle"
)

var allScenarios = []string{scRecv, scSend, scEcho, scHandshake, scIdle}

// config is everything a benchmark run needs; main fills it from flags.
type config struct {
	Scenarios []string      `json:"scenarios"`
	Sizes     []int         `json:"sizes"`      // message sizes of recv and send
	EchoSizes []int         `json:"echo_sizes"` // message sizes of echo
	Libs      []string      `json:"libs"`
	Duration  time.Duration `json:"duration_ns"` // target length of one measured run
	Rounds    int           `json:"rounds"`
	Conns     int           `json:"idle_conns"`

	progress io.Writer // per-run progress lines; nil = none
}

// roleEnv selects what a re-executed copy of this binary does: "server" runs
// the benchmark server, "idle" one idle-memory measurement. The test binary
// honours it too (see TestMain), so `go test` needs no separate build.
const roleEnv = "WSBENCH_ROLE"

// serverProc is the benchmark server child process.
type serverProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
}

// startServer re-executes this binary as the server and reads its address.
func startServer() (*serverProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), roleEnv+"=server")
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
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stdin.Close()
		_ = cmd.Wait()
		return nil, fmt.Errorf("benchmark server: %w", err)
	}
	return &serverProc{cmd: cmd, stdin: stdin, addr: strings.TrimSpace(line)}, nil
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
	counts  map[string]int // calibrated message count per scenario/size/lib
	samples []sample
}

// run executes the benchmark: a warm-up round that also calibrates message
// counts, then cfg.Rounds rounds, each running every scenario, size and
// library in turn (A B C … A B C …) so that slow drifts of the machine spread
// evenly over the libraries.
func run(cfg config) ([]sample, error) {
	srv, err := startServer()
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	r := &runner{cfg: cfg, srv: srv, base: "ws://" + srv.addr, counts: map[string]int{}}
	for round := 0; round <= cfg.Rounds; round++ {
		for _, sc := range cfg.Scenarios {
			if sc == scIdle && round == 0 {
				continue // each idle run is a fresh process: nothing to warm up
			}
			for _, size := range r.sizesOf(sc) {
				for _, lib := range cfg.Libs {
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

func (r *runner) logf(format string, args ...any) {
	if r.cfg.progress != nil {
		fmt.Fprintf(r.cfg.progress, format+"\n", args...)
	}
}

func (r *runner) sizesOf(sc string) []int {
	switch sc {
	case scRecv, scSend:
		return r.cfg.Sizes
	case scEcho:
		return r.cfg.EchoSizes
	}
	return []int{0}
}

// runOne runs one measurement; a failure is recorded in the sample rather
// than ending the whole benchmark.
func (r *runner) runOne(sc, lib string, size, round int) sample {
	s := sample{Scenario: sc, Lib: lib, Size: size, Round: round}
	var err error
	switch sc {
	case scRecv, scSend:
		err = r.throughput(&s, round == 0)
	case scEcho:
		err = r.echo(&s)
	case scHandshake:
		err = r.handshakes(&s)
	case scIdle:
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

// dial opens a connection with a watchdog: if the run takes far longer than
// planned (a hung library or server), the connection is aborted, which
// unblocks every read and write. The returned stop function disarms it.
func (r *runner) dial(lib, path string, size int) (conn, func(), error) {
	limit := 30*time.Second + 20*r.cfg.Duration
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	c, err := libraries[lib].dial(ctx, r.base+path, size)
	if err != nil {
		return nil, nil, fmt.Errorf("dial: %w", err)
	}
	t := time.AfterFunc(limit, c.abort)
	return c, func() { t.Stop() }, nil
}

// estimateCount guesses how many messages of size bytes fill a quarter of the
// run time: enough for the warm-up round to measure a rate.
func estimateCount(d time.Duration, size int) int {
	perMsg := 300*time.Nanosecond + time.Duration(size/2)
	return max(4, int(d/4/perMsg))
}

// throughput runs recv or send. The warm-up round measures the library's rate
// with an estimated count; measured rounds then use rate × duration.
func (r *runner) throughput(s *sample, warmup bool) error {
	key := fmt.Sprintf("%s/%d/%s", s.Scenario, s.Size, s.Lib)
	n, ok := r.counts[key]
	if !ok || warmup {
		n = estimateCount(r.cfg.Duration, s.Size)
	}
	var path string
	if s.Scenario == scRecv {
		path = fmt.Sprintf("/flood?size=%d&count=%d", s.Size, n)
	} else {
		path = fmt.Sprintf("/sink?count=%d", n)
	}
	c, disarm, err := r.dial(s.Lib, path, s.Size)
	if err != nil {
		return err
	}
	defer disarm()
	payload := make([]byte, s.Size)
	for i := range payload {
		payload[i] = byte(i)
	}
	m := startMeter()
	if s.Scenario == scRecv {
		err = c.receive(n, s.Size)
	} else {
		err = c.send(payload, n)
	}
	m.stop(s)
	if err != nil {
		c.abort()
		return err
	}
	s.Ops = int64(n)
	s.Bytes = int64(n) * int64(s.Size)
	if warmup {
		rate := float64(n) / s.Seconds
		r.counts[key] = max(4, int(rate*r.cfg.Duration.Seconds()))
	}
	return c.close()
}

// echo round-trips one message at a time for the run's duration, timing each.
func (r *runner) echo(s *sample) error {
	c, disarm, err := r.dial(s.Lib, "/echo", s.Size)
	if err != nil {
		return err
	}
	defer disarm()
	payload := make([]byte, s.Size)
	key := fmt.Sprintf("echo/%d/%s", s.Size, s.Lib)
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
	url := r.base + "/close"
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
