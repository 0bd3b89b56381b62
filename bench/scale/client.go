package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/wsclient/websocket/bench/internal/prof"
)

// options configure one client run.
type options struct {
	N       int           // connections
	Ping    time.Duration // keep-alive ping interval
	Hold    time.Duration // how long to hold the connections while counting pings; 0 = no hold
	Push    int           // messages the server pushes to each connection; 0 = no push
	Size    int           // bytes of each echoed and pushed message
	Dialers int           // opens in flight at once
	PerPort int           // connections per server port
	Loops   int           // event loops of ours-loop
	Settle  time.Duration // pause before each memory measurement
	Timeout time.Duration // bound of each phase

	TLS         bool   // wss: TLS 1.3 with a CA made for the invocation (tls.go)
	HeapProfile string // with one mode: a heap profile written after the traffic measurement
	CPUProfile  string // with one mode: a CPU profile of the push
}

// figure is the cost per connection at one point of a run.
type figure struct {
	RSSPerConn        float64 `json:"rss_per_conn"`        // bytes of resident set
	HeapPerConn       float64 `json:"heap_per_conn"`       // bytes of live Go heap
	SpansPerConn      float64 `json:"spans_per_conn"`      // bytes of the heap's spans in use (live heap and the free room around it)
	StackPerConn      float64 `json:"stack_per_conn"`      // bytes of goroutine stacks
	GoroutinesPerConn float64 `json:"goroutines_per_conn"` // goroutines
	GoroutinesAdded   int     `json:"goroutines_added"`    // goroutines more than before the first open
}

// result is what one client run measures.
type result struct {
	Mode        string  `json:"mode"`
	N           int     `json:"n"`
	Ping        string  `json:"ping"`
	TLS         bool    `json:"tls,omitempty"`       // wss
	Ports       int     `json:"ports"`               // server ports the connections were spread over (-per-port)
	OpenSeconds float64 `json:"open_seconds"`        // time to open all N
	Idle        figure  `json:"idle"`                // after opening
	Traffic     figure  `json:"traffic"`             // after one echo per connection
	IdleOnly    bool    `json:"idle_only,omitempty"` // a floor: no echo, hold or push
	// ServerRSSPerConn is the server process's resident growth per idle
	// connection.
	ServerRSSPerConn float64 `json:"server_rss_per_conn"`
	HoldSeconds      float64 `json:"hold_seconds,omitempty"`
	HoldPings        int64   `json:"hold_pings,omitempty"` // pings the server received during the hold
	HoldPongs        int64   `json:"hold_pongs,omitempty"` // pongs the client saw during the hold
	PushMsgs         int64   `json:"push_msgs,omitempty"`
	PushSeconds      float64 `json:"push_seconds,omitempty"`
	MsgsPerSec       float64 `json:"msgs_per_sec,omitempty"`
}

// serverProc is the server child process and its command pipe.
type serverProc struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	urls []string
}

func startServer(ports int, tls bool) (*serverProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), roleEnv+"=server", fmt.Sprintf("%s=%d", portsEnv, ports))
	scheme := "ws://"
	if tls {
		cmd.Env = append(cmd.Env, serverTLSEnv+"=1")
		scheme = "wss://"
	}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &serverProc{cmd: cmd, in: in, out: bufio.NewReader(out)}
	line, err := s.out.ReadString('\n')
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("server: %w", err)
	}
	for _, a := range strings.Fields(line) {
		s.urls = append(s.urls, scheme+a+"/")
	}
	return s, nil
}

// call sends one command and returns the server's answer.
func (s *serverProc) call(format string, args ...any) (string, error) {
	if _, err := fmt.Fprintf(s.in, format+"\n", args...); err != nil {
		return "", err
	}
	line, err := s.out.ReadString('\n')
	line = strings.TrimSpace(line)
	if err == nil && strings.HasPrefix(line, "error") {
		err = fmt.Errorf("server: %s", line)
	}
	return line, err
}

// serverStats is the server's answer to "stats".
type serverStats struct{ conns, pings, msgs, rss int64 }

func (s *serverProc) stats() (serverStats, error) {
	var st serverStats
	line, err := s.call("stats")
	if err != nil {
		return st, err
	}
	if _, err := fmt.Sscanf(line, "conns=%d pings=%d msgs=%d rss=%d", &st.conns, &st.pings, &st.msgs, &st.rss); err != nil {
		return st, fmt.Errorf("server stats %q: %w", line, err)
	}
	return st, nil
}

// waitConns returns the server's stats once it has registered n
// connections: its upgrader may register the last ones just after their
// clients saw the handshake's answer.
func (s *serverProc) waitConns(n int64) (serverStats, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := s.stats()
		if err != nil || st.conns == n {
			return st, err
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("the server holds %d connections, not %d", st.conns, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *serverProc) stop() {
	_ = s.in.Close()
	_ = s.cmd.Wait()
}

// runClient opens o.N connections in mode m to a fresh server process and
// measures them.
func runClient(m mode, o *options) (*result, error) {
	if o.HeapProfile != "" {
		// Every allocation, so that small per-connection objects all show.
		// The profiler's stack walk at each allocation makes readers'
		// stacks grow: this run's stack figures are not the normal ones.
		runtime.MemProfileRate = 1
	}
	limit, err := raiseOpenFiles()
	if err != nil {
		return nil, err
	}
	if limit != 0 && uint64(o.N)+64 > limit {
		return nil, fmt.Errorf("%d connections need more open files than this process may have (%d)", o.N, limit)
	}
	srv, err := startServer((o.N+o.PerPort-1)/o.PerPort, o.TLS)
	if err != nil {
		return nil, err
	}
	defer srv.stop()

	if o.TLS && m.tlsDialers > 0 && o.Dialers > m.tlsDialers {
		o.Dialers = m.tlsDialers
	}
	ev := newEvents(o.Dialers)
	cl, err := m.make(ev, o)
	if err != nil {
		return nil, err
	}
	msg := make([]byte, o.Size)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opened := make(chan struct{})
	if !m.autoPing && o.Ping > 0 {
		go pinger(ctx, cl, ev, o, opened)
	}
	res := &result{Mode: m.name, N: o.N, Ping: o.Ping.String(), TLS: o.TLS, Ports: len(srv.urls)}

	srv0, err := srv.stats()
	if err != nil {
		return nil, err
	}
	base := measure()
	start := time.Now()
	if err := openAll(ctx, cl, ev, o, srv.urls); err != nil {
		return nil, err
	}
	res.OpenSeconds = time.Since(start).Seconds()
	close(opened)

	time.Sleep(o.Settle) // let readers park; a measurement pause, not synchronization
	res.Idle = perConn(base, measure(), o.N)
	srv1, err := srv.waitConns(int64(o.N))
	if err != nil {
		return nil, err
	}
	res.ServerRSSPerConn = float64(srv1.rss-srv0.rss) / float64(o.N)
	if m.idleOnly {
		res.IdleOnly = true
		return res, nil
	}

	target := ev.msgs.n.Load() + int64(o.N)
	for i := range o.N {
		if err := cl.send(i, msg); err != nil {
			return nil, fmt.Errorf("echo on connection %d: %w", i, err)
		}
	}
	if err := ev.await(ev.msgs, target, o.Timeout, "echo"); err != nil {
		return nil, err
	}
	time.Sleep(o.Settle)
	res.Traffic = perConn(base, measure(), o.N)
	if o.HeapProfile != "" {
		if err := prof.WriteHeap(o.HeapProfile); err != nil {
			return nil, err
		}
	}

	if o.Hold > 0 {
		st0, err := srv.stats()
		if err != nil {
			return nil, err
		}
		pongs0 := ev.pongs.n.Load()
		select {
		case <-time.After(o.Hold):
		case <-ev.failed:
			return nil, fmt.Errorf("hold: %w", ev.err)
		}
		st1, err := srv.stats()
		if err != nil {
			return nil, err
		}
		res.HoldSeconds = o.Hold.Seconds()
		res.HoldPings, res.HoldPongs = st1.pings-st0.pings, ev.pongs.n.Load()-pongs0
	}

	if o.Push > 0 {
		total := int64(o.N) * int64(o.Push)
		target := ev.msgs.n.Load() + total
		stopProfile, err := prof.StartCPU(o.CPUProfile)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		if _, err := srv.call("push %d %d", o.Push, o.Size); err != nil {
			return nil, err
		}
		err = ev.await(ev.msgs, target, o.Timeout, "push")
		stopProfile()
		if err != nil {
			return nil, err
		}
		res.PushMsgs, res.PushSeconds = total, time.Since(start).Seconds()
		res.MsgsPerSec = float64(total) / res.PushSeconds
	}
	select {
	case <-ev.failed:
		return nil, ev.err
	default:
	}
	return res, nil
}

// dialTimeout bounds one connection's dial and handshake in the modes
// whose open blocks.
const dialTimeout = 30 * time.Second

// openAll opens o.N connections, o.Dialers at a time, spread round robin
// over the server's ports.
func openAll(ctx context.Context, cl client, ev *events, o *options, urls []string) error {
	for i := range o.N {
		select {
		case ev.sem <- struct{}{}:
		case <-ev.failed:
			return fmt.Errorf("open: %w", ev.err)
		}
		url := urls[i%len(urls)]
		if cl.async() {
			if err := cl.open(ctx, i, url); err != nil {
				return fmt.Errorf("open %d: %w", i, err)
			}
			continue
		}
		go func() {
			dctx, cancel := context.WithTimeout(ctx, dialTimeout)
			defer cancel()
			if err := cl.open(dctx, i, url); err != nil {
				ev.fail(fmt.Errorf("open %d: %w", i, err))
				return
			}
			ev.openDone()
		}()
	}
	return ev.await(ev.opened, int64(o.N), o.Timeout, "open")
}

// pinger sends a ping on every connection each o.Ping, from the end of the
// opening on, for the modes whose library has no keep-alive of its own.
func pinger(ctx context.Context, cl client, ev *events, o *options, opened <-chan struct{}) {
	select {
	case <-opened:
	case <-ctx.Done():
		return
	}
	t := time.NewTicker(o.Ping)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		for i := range o.N {
			if err := cl.ping(i); err != nil {
				ev.fail(fmt.Errorf("ping on connection %d: %w", i, err))
				return
			}
		}
	}
}

func perConn(base, now snapshot, n int) figure {
	added := now.Goroutines - base.Goroutines
	return figure{
		RSSPerConn:        float64(now.RSS-base.RSS) / float64(n),
		HeapPerConn:       float64(now.Heap-base.Heap) / float64(n),
		SpansPerConn:      float64(now.Spans-base.Spans) / float64(n),
		StackPerConn:      float64(now.Stack-base.Stack) / float64(n),
		GoroutinesPerConn: float64(added) / float64(n),
		GoroutinesAdded:   added,
	}
}

// scheme is "wss" with -tls, else "ws".
func (r *result) scheme() string {
	if r.TLS {
		return "wss"
	}
	return "ws"
}

// print writes r for a reader.
func (r *result) print(w io.Writer) {
	fmt.Fprintf(w, "mode %s, %d %s connections, ping every %s\n", r.Mode, r.N, r.scheme(), r.Ping)
	fmt.Fprintf(w, "open     %.2f s (%.0f connections/s)\n", r.OpenSeconds, float64(r.N)/r.OpenSeconds)
	for _, f := range []struct {
		name string
		f    figure
	}{{"idle", r.Idle}, {"traffic", r.Traffic}} {
		if r.IdleOnly && f.name != "idle" {
			continue
		}
		fmt.Fprintf(w, "%-8s %.2f KiB/conn RSS (heap %.2f in spans of %.2f, stacks %.2f), %.2f goroutines/conn (%+d)\n",
			f.name, f.f.RSSPerConn/1024, f.f.HeapPerConn/1024, f.f.SpansPerConn/1024, f.f.StackPerConn/1024, f.f.GoroutinesPerConn, f.f.GoroutinesAdded)
	}
	fmt.Fprintf(w, "server   %.2f KiB/conn RSS (the nbio server process, idle connections)\n", r.ServerRSSPerConn/1024)
	if r.HoldSeconds > 0 {
		fmt.Fprintf(w, "hold     %.1f s: the server received %d pings (%.2f/conn), the client saw %d pongs (%.2f/conn)\n",
			r.HoldSeconds, r.HoldPings, float64(r.HoldPings)/float64(r.N), r.HoldPongs, float64(r.HoldPongs)/float64(r.N))
	}
	if r.PushMsgs > 0 {
		fmt.Fprintf(w, "push     %d messages in %.2f s: %.0f messages/s\n", r.PushMsgs, r.PushSeconds, r.MsgsPerSec)
	}
}
