// Command scale measures what a WebSocket client connection costs when a
// process holds many of them: resident memory and goroutines per
// connection, idle and after traffic, the time to open them all, that
// keep-alive pings kept flowing, and how many pushed messages per second
// the connections receive. It compares our library's ways of holding
// connections (Conn with a reader goroutine, App with RunForever, Apps on an
// EventLoop) with gobwas/ws, lxzan/gws and lesismal/nbio's epoll client,
// and with a floor: an open net.Conn alone (netconn).
//
// The server is this binary re-executed (an nbio epoll server, see
// server.go); each client run is a fresh process too.
//
// Usage:
//
//	go run ./scale -mode ours-loop -n 19500            # one mode, printed for a reader
//	go run ./scale -mode all -n 10000 -rounds 3        # every mode, interleaved rounds, a Markdown table
//	go run ./scale -ci -max-goroutines 16 -max-bytes 1024 -max-heap 1024  # the goal as a check: 2,000 connections on the event loop
//	go run ./scale -ci -max-goroutines 16 -max-bytes 6144 -max-heap 2048  # CI's check: what was reached, as a guard
//
// See "Connections at scale" in bench/README.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

func main() {
	if err := roleMain(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

// roleMain runs the process's role: the server when roleEnv says so, else
// the command with args.
func roleMain(args []string) error {
	if os.Getenv(roleEnv) == "server" {
		return runServer()
	}
	return runMain(args)
}

var errCheckFailed = errors.New("check failed")

func runMain(args []string) error {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	var (
		modeList = fs.String("mode", "all", "mode, comma-separated modes, or all: "+strings.Join(modeNames(), ", "))
		rounds   = fs.Int("rounds", 3, "rounds of every mode when several are compared (interleaved; medians reported)")
		asJSON   = fs.Bool("json", false, "print the result of a single mode as one JSON line")
		ci       = fs.Bool("ci", false, "CI check: mode ours-loop, -n 2000 unless given; fail above -max-goroutines, -max-bytes or -max-heap")
		maxGo    = fs.Int("max-goroutines", 16, "with -ci: most goroutines the open connections may add in all (a constant, not per connection)")
		maxBytes = fs.Float64("max-bytes", 1024, "with -ci: most bytes of resident memory per idle connection")
		maxHeap  = fs.Float64("max-heap", 0, "with -ci: most bytes of live Go heap per idle connection (0: not checked). The heap figure repeats to within 1% from run to run, where the resident one moves by 15% (freed goroutine stacks the runtime has not given back yet): a regression guard on it can sit close")
		o        options
	)
	fs.IntVar(&o.N, "n", 10000, "connections")
	fs.DurationVar(&o.Ping, "ping", 30*time.Second, "keep-alive ping interval (0: no pings)")
	fs.DurationVar(&o.Hold, "hold", 0, "hold the open connections this long and count the pings the server receives (0: no hold)")
	fs.IntVar(&o.Push, "push", 0, "messages the server pushes to each connection at the end, to measure messages/s (0: none)")
	fs.IntVar(&o.Size, "size", 16, "bytes of each echoed and pushed message")
	fs.IntVar(&o.Dialers, "dialers", 64, "connections being opened at once")
	fs.IntVar(&o.PerPort, "per-port", 25000, "connections per server port (the server listens on as many loopback ports as N needs)")
	fs.IntVar(&o.Loops, "loops", 1, "event loops of ours-loop (Apps spread round robin)")
	fs.DurationVar(&o.Settle, "settle", 500*time.Millisecond, "pause before each memory measurement")
	fs.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "bound of each phase (open, echo, push)")
	fs.BoolVar(&o.TLS, "tls", false, "wss: every connection over TLS 1.3, verified against a CA made for the run")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "with one mode and -push: write a CPU profile (pprof) of the client during the push to this file")
	fs.StringVar(&o.HeapProfile, "heapprofile", "", "with one mode: write a heap profile (pprof) to this file after the traffic measurement. It samples every allocation, which makes each allocating call deeper (the profiler records its stack): readers that allocate then outgrow their first 2 KiB of stack, so the run's memory figures are higher than without it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *ci {
		*modeList = "ours-loop"
		if !set["n"] {
			o.N = 2000
		}
	}
	if o.N < 1 || o.Dialers < 1 || o.PerPort < 1 || o.Size < 0 || o.Push < 0 || o.Ping < 0 || *rounds < 1 {
		return errors.New("-n, -dialers, -per-port and -rounds must be positive; -size, -push and -ping not negative")
	}
	if o.TLS {
		if err := setupTLS(); err != nil {
			return err
		}
	}
	names := splitList(*modeList)
	if len(names) == 1 && names[0] == "all" {
		names = modeNames()
	}
	var ms []mode
	for _, name := range names {
		m, err := findMode(name)
		if err != nil {
			return err
		}
		ms = append(ms, m)
	}
	if len(ms) > 1 {
		return compare(os.Stdout, ms, *rounds, args)
	}
	res, err := runClient(ms[0], &o)
	if err != nil {
		return fmt.Errorf("%s: %w", ms[0].name, err)
	}
	if *asJSON {
		if err := writeJSON(os.Stdout, res); err != nil || !*ci {
			return err
		}
		return checkCI(os.Stderr, res, ciBounds{goroutines: *maxGo, rss: *maxBytes, heap: *maxHeap})
	}
	res.print(os.Stdout)
	if *ci {
		return checkCI(os.Stdout, res, ciBounds{goroutines: *maxGo, rss: *maxBytes, heap: *maxHeap})
	}
	return nil
}

// ciBounds are the -ci check's bounds: goroutines the idle connections may
// add in all, and bytes of resident memory and of live heap per idle
// connection (heap 0: not checked).
type ciBounds struct {
	goroutines int
	rss, heap  float64
}

// checkCI fails the run when the idle connections are above one of b's
// bounds; it prints each check with the figure.
func checkCI(w io.Writer, r *result, b ciBounds) error {
	ok := true
	check := func(pass bool, format string, args ...any) {
		verdict := "ok  "
		if !pass {
			verdict, ok = "FAIL", false
		}
		fmt.Fprintf(w, "%s "+format+"\n", append([]any{verdict}, args...)...)
	}
	check(r.Idle.GoroutinesAdded <= b.goroutines, "goroutines added by %d idle connections: %d (at most %d)", r.N, r.Idle.GoroutinesAdded, b.goroutines)
	check(r.Idle.RSSPerConn <= b.rss, "resident bytes per idle connection: %.0f (at most %.0f)", r.Idle.RSSPerConn, b.rss)
	if b.heap > 0 {
		check(r.Idle.HeapPerConn <= b.heap, "heap bytes per idle connection: %.0f (at most %.0f)", r.Idle.HeapPerConn, b.heap)
	}
	if !ok {
		return errCheckFailed
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
