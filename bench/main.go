// Command bench compares WebSocket clients over loopback: our wsclient,
// gorilla/websocket, coder/websocket, lxzan/gws, gobwas/ws, and raw TCP as
// the ceiling, against one fast hand-written server running in a separate
// process (this binary, re-executed). The compressed scenarios (zrecv,
// zsend: permessage-deflate, JSON text; zidle: memory per idle compressed
// connection) compare the libraries that compress: wsclient, coder, gws,
// and gorilla without context takeover. Every scenario but the idle ones
// has a twin over TLS 1.3 (wss-recv, …, wss-zsend) against the same
// server, with a CA made at start.
//
// Usage:
//
//	go run . [flags]          # full run: 5 rounds of 1 s per library, scenario and size
//	go run . -short           # smoke run, well under a minute
//
// It prints a Markdown report on standard output and writes every sample to
// a JSON file. See README.md for the scenarios and how they are measured.
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	var err error
	switch os.Getenv(roleEnv) {
	case "server":
		err = runServer()
	case "idle":
		err = runIdleChild()
	case "spin":
		err = runSpinner()
	case h2ServerRole:
		err = runH2Server()
	case h2OpenRole:
		err = runH2OpenChild()
	default:
		err = runMain(os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// runMain parses the flags, runs the benchmark and writes the reports.
func runMain(args []string) error {
	if i := slices.IndexFunc(args, func(a string) bool { return a == "-h2" || a == "--h2" }); i >= 0 {
		// WebSockets over HTTP/2 against HTTP/1.1 (h2.go), with flags of its own.
		return runH2Bench(append(args[:i:i], args[i+1:]...))
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var (
		scenarios = fs.String("scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios: "+strings.Join(allScenarios, ", "))
		sizes     = fs.String("sizes", "16,128,1024,16384,65536,1048576", "message sizes in bytes of the recv and send scenarios")
		echoSizes = fs.String("echo-sizes", "16,1024", "message sizes in bytes of the echo scenario")
		zSizes    = fs.String("z-sizes", "1024,65536", "message sizes in bytes of the compressed zrecv and zsend scenarios (JSON text, at least 64; 128 for zsend)")
		libs      = fs.String("libs", "", "comma-separated libraries (default all: "+strings.Join(availableLibraries(), ", ")+")")
		duration  = fs.Duration("duration", time.Second, "target length of one measured run")
		rounds    = fs.Int("rounds", 5, "measured rounds (after one warm-up round); medians are reported")
		conns     = fs.Int("conns", 2000, "connections of the idle-memory scenario")
		contend   = fs.Int("contend", 0, "CPU-bound processes to run next to the benchmark (a contended machine)")
		settle    = fs.Duration("idle-settle", idleSettle, "how long idle and zidle connections sit before their memory is measured")
		short     = fs.Bool("short", false, "quick smoke run: -duration 50ms -rounds 2 -conns 200 unless set explicitly")
		jsonPath  = fs.String("json", "bench-results.json", "where to write every sample and the tables as JSON (empty: nowhere)")
		mdPath    = fs.String("md", "", "also write the Markdown report to this file")
		quiet     = fs.Bool("q", false, "no per-run progress on standard error")
		_         = fs.Bool("h2", false, "run the WebSockets-over-HTTP/2 benchmark instead, with flags of its own (-h2 -h lists them)")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *short {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["duration"] {
			*duration = 50 * time.Millisecond
		}
		if !set["rounds"] {
			*rounds = 2
		}
		if !set["conns"] {
			*conns = 200
		}
	}
	// The idle children read it from their environment.
	os.Setenv(idleSettleEnv, settle.String())
	cfg := config{Duration: *duration, Rounds: *rounds, Conns: *conns, Contend: *contend}
	if !*quiet {
		cfg.progress = os.Stderr
	}
	var err error
	if cfg.Scenarios, err = parseScenarios(*scenarios); err != nil {
		return err
	}
	if cfg.Sizes, err = parseSizes(*sizes); err != nil {
		return err
	}
	if cfg.EchoSizes, err = parseSizes(*echoSizes); err != nil {
		return err
	}
	if cfg.ZSizes, err = parseSizes(*zSizes); err != nil {
		return err
	}
	zsend := slices.Contains(cfg.Scenarios, scZSend) || slices.Contains(cfg.Scenarios, wssPrefix+scZSend)
	for _, n := range cfg.ZSizes {
		if n < zMinSize {
			return fmt.Errorf("-z-sizes: %d is below the smallest JSON message, %d bytes", n, zMinSize)
		}
		if zsend && n < zSendMinSize {
			return fmt.Errorf("-z-sizes: zsend needs messages of at least %d bytes (the smallest every library compresses by default); %d is below", zSendMinSize, n)
		}
	}
	if cfg.Libs, err = selectLibraries(splitList(*libs)); err != nil {
		return err
	}
	if cfg.Rounds < 1 || cfg.Duration <= 0 || cfg.Conns < 1 || cfg.Contend < 0 {
		return fmt.Errorf("-rounds, -duration and -conns must be positive, -contend not negative")
	}
	md, err := benchmark(cfg, *jsonPath)
	if err != nil {
		return err
	}
	fmt.Print(md)
	if *mdPath != "" {
		return os.WriteFile(*mdPath, []byte(md), 0o644)
	}
	return nil
}

// benchmark runs cfg, writes the JSON report to jsonPath (unless empty) and
// returns the Markdown report.
func benchmark(cfg config, jsonPath string) (string, error) {
	samples, err := run(cfg)
	if err != nil {
		return "", err
	}
	tables := buildTables(cfg, samples)
	var md strings.Builder
	writeMarkdown(&md, cfg, tables)
	if jsonPath != "" {
		if err := writeJSON(jsonPath, cfg, tables, samples); err != nil {
			return "", err
		}
	}
	return md.String(), nil
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

func parseScenarios(s string) ([]string, error) {
	list := splitList(s)
	for _, sc := range list {
		if !slices.Contains(allScenarios, sc) {
			return nil, fmt.Errorf("unknown scenario %q (have %s)", sc, strings.Join(allScenarios, ", "))
		}
	}
	return list, nil
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > maxFrame {
			return nil, fmt.Errorf("bad message size %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}
