package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	websocket "github.com/wsclient/websocket"
	"github.com/wsclient/websocket/bench/internal/prof"
)

// The HTTP/2 comparison (-h2) measures our client's WebSockets over HTTP/2
// (RFC 8441: streams of one shared TLS connection) against its own
// HTTP/1.1 path (one TLS connection each), both wss, against one server: a
// child process running net/http's server with extended CONNECT
// (GODEBUG=http2xconnect=1), which takes the HTTP/1.1 Upgrade (hijacked)
// and the HTTP/2 extended CONNECT on the same port and then runs the same
// frame code as the main benchmark server (server.go) on either. Rounds
// alternate which protocol goes first.
//
//   - open: a fresh child process dials -conns WebSockets (default
//     h2Open) to /idle, 32 at a time, each with its reading goroutine, and
//     reports handshakes per second and the growth of its resident set, Go
//     heap and stacks per WebSocket (as the idle scenario measures).
//   - recv: the server floods one WebSocket with binary messages (/flood).
//   - echo: one message at a time sent and read back (/echo).

// Roles of the re-executed binary for -h2.
const (
	h2ServerRole = "h2server"
	h2OpenRole   = "h2open"
)

// Environment of the open child.
const (
	h2ProtoEnv = "WSBENCH_H2_PROTO" // "h1", "h2" or "h2net"
	h2AddrEnv  = "WSBENCH_H2_ADDR"
	h2CountEnv = "WSBENCH_H2_COUNT"
	h2CAEnv    = "WSBENCH_H2_CA" // the CA certificate, PEM
	// h2SrvProfEnv names the server child's CPU profile (-srvcpuprofile).
	h2SrvProfEnv = "WSBENCH_H2_SRVPROF"
	// h2HeapProfEnv names the open child's heap profile, written once its
	// WebSockets are open (-heapprofile: FILE.h1, FILE.h2, FILE.h2net).
	h2HeapProfEnv = "WSBENCH_H2_HEAPPROF"
)

// h2Open is how many WebSockets the open measurement holds by default
// (-conns); h2OpenPar dial at once.
const (
	h2Open    = 1000
	h2OpenPar = 32
)

// runH2Server is the server child: net/http over TLS 1.3 with h2 and
// http/1.1, on a loopback port it prints, until standard input ends.
func runH2Server() error {
	tlsConf, err := serverTLSConfig()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	lean, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = serveLeanH2(lean, tlsConf) }()
	fmt.Println(ln.Addr().String(), lean.Addr().String())
	stopProfile, err := prof.StartCPU(os.Getenv(h2SrvProfEnv))
	if err != nil {
		return err
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stopProfile()
		os.Exit(0)
	}()
	srv := &http.Server{
		Handler:   http.HandlerFunc(serveH2Bench),
		TLSConfig: tlsConf,
		// Every WebSocket of the open measurement on one connection.
		HTTP2: &http.HTTP2Config{MaxConcurrentStreams: 4 * h2Open},
	}
	return srv.ServeTLS(ln, "", "")
}

// serveH2Bench opens the WebSocket the request asks for, by extended
// CONNECT (HTTP/2) or Upgrade (HTTP/1.1, on the hijacked connection), and
// serves the path's mode on it.
func serveH2Bench(w http.ResponseWriter, r *http.Request) {
	var nc net.Conn
	var pre []byte // bytes the client sent after its HTTP/1.1 request
	if r.ProtoMajor == 2 {
		if r.Method != http.MethodConnect || r.Header.Get(":protocol") != "websocket" {
			http.Error(w, "not an extended CONNECT", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		if rc.Flush() != nil {
			return
		}
		nc = &h2ServerStream{Reader: r.Body, w: w, rc: rc, local: r.Context().Value(http.LocalAddrContextKey).(net.Addr)}
	} else {
		key := r.Header.Get("Sec-Websocket-Key")
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || key == "" {
			http.Error(w, "not a WebSocket upgrade", http.StatusBadRequest)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		if n := brw.Reader.Buffered(); n > 0 {
			pre, _ = brw.Reader.Peek(n)
		}
		resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey([]byte(key)) + "\r\n\r\n"
		if _, err := io.WriteString(c, resp); err != nil {
			return
		}
		nc = c
	}
	serveH2Mode(nc, pre, r.URL)
}

// serveH2Mode serves the mode of u's path on the WebSocket nc, whose
// client sent pre after its HTTP/1.1 request.
func serveH2Mode(nc net.Conn, pre []byte, u *url.URL) {
	s := &srvConn{nc: nc, buf: make([]byte, max(srvSmallBuf, len(pre)))}
	s.w = copy(s.buf, pre)
	q := u.Query()
	switch u.Path {
	case "/flood":
		size, _ := strconv.Atoi(q.Get("size"))
		count, _ := strconv.Atoi(q.Get("count"))
		s.grow(srvBigBuf)
		_ = s.flood(size, count)
	case "/echo":
		s.grow(srvBigBuf)
		_ = s.echo()
	case "/idle":
		_ = s.frames(false, func(header, []byte) error { return nil })
	}
}

// h2ServerStream is the server's side of a WebSocket on an HTTP/2 stream:
// the request body in, the response out, flushed at every write.
type h2ServerStream struct {
	io.Reader
	w     io.Writer
	rc    *http.ResponseController
	local net.Addr
}

func (s *h2ServerStream) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err == nil {
		err = s.rc.Flush()
	}
	return n, err
}
func (s *h2ServerStream) Close() error                       { return nil }
func (s *h2ServerStream) LocalAddr() net.Addr                { return s.local }
func (s *h2ServerStream) RemoteAddr() net.Addr               { return s.local }
func (s *h2ServerStream) SetDeadline(t time.Time) error      { return s.rc.SetReadDeadline(t) }
func (s *h2ServerStream) SetReadDeadline(t time.Time) error  { return s.rc.SetReadDeadline(t) }
func (s *h2ServerStream) SetWriteDeadline(t time.Time) error { return s.rc.SetWriteDeadline(t) }

// h2Dialer dials our client over HTTP/1.1 ("h1") or HTTP/2 ("h2", "h2net"), wss,
// trusting roots; the HTTP/2 WebSockets share the dialer's transport.
type h2Dialer struct {
	proto string
	addr  string // the server's
	tls   *tls.Config
	tr    *websocket.HTTP2Transport
}

func newH2Dialer(proto, addr string, tc *tls.Config) *h2Dialer {
	return &h2Dialer{proto: proto, addr: addr, tls: tc, tr: &websocket.HTTP2Transport{}}
}

func (d *h2Dialer) dial(ctx context.Context, url string, size int) (*oursConn, error) {
	opts := &websocket.DialOptions{TLSConfig: d.tls}
	if d.proto != "h1" {
		opts.HTTP2, opts.HTTP2Transport = websocket.HTTP2Require, d.tr
	}
	c, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	return &oursConn{c: c, buf: messageBuffer(size)}, nil
}

// h2OpenResult is what the open child prints.
type h2OpenResult struct {
	PerSecond    float64 `json:"per_second"`
	RSSPerConn   float64 `json:"rss_per_conn"`
	HeapPerConn  float64 `json:"heap_per_conn"`
	StackPerConn float64 `json:"stack_per_conn"`
	TCPConns     int     `json:"tcp_conns"`
}

// runH2OpenChild opens the WebSockets, holds them, and reports.
func runH2OpenChild() error {
	proto, addr := os.Getenv(h2ProtoEnv), os.Getenv(h2AddrEnv)
	n, err := strconv.Atoi(os.Getenv(h2CountEnv))
	if err != nil || n < 1 {
		return fmt.Errorf("bad %s", h2CountEnv)
	}
	roots, err := x509Pool([]byte(os.Getenv(h2CAEnv)))
	if err != nil {
		return err
	}
	if os.Getenv(h2HeapProfEnv) != "" {
		runtime.MemProfileRate = 1 // every allocation, for the profile
	}
	d := newH2Dialer(proto, addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// One WebSocket opened and closed first, on a transport of its own,
	// so that the baseline already has the dial's code paged in and the
	// runtime's structures made: what follows is the cost per WebSocket
	// (and, over HTTP/2, per shared connection), not the program's.
	warm, err := newH2Dialer(proto, addr, d.tls).dial(ctx, "wss://"+addr+"/idle", 0)
	if err != nil {
		return fmt.Errorf("warm-up WebSocket: %w", err)
	}
	if err := warm.close(); err != nil {
		return fmt.Errorf("warm-up WebSocket: %w", err)
	}
	heap0, stack0, rss0 := idleMemory()
	conns := make([]*oursConn, n)
	errs := make(chan error, h2OpenPar)
	next := make(chan int)
	start := time.Now()
	var wg sync.WaitGroup
	for range h2OpenPar {
		wg.Go(func() {
			for i := range next {
				c, err := d.dial(ctx, "wss://"+addr+"/idle", 0)
				if err != nil {
					errs <- fmt.Errorf("WebSocket %d: %w", i, err)
					return
				}
				c.idle()
				conns[i] = c
			}
		})
	}
	var dialErr error
feed:
	for i := range n {
		select {
		case next <- i:
		case dialErr = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	if dialErr == nil && len(errs) > 0 {
		dialErr = <-errs
	}
	if dialErr != nil {
		return dialErr
	}
	elapsed := time.Since(start)
	time.Sleep(idleSettle)
	heap1, stack1, rss1 := idleMemory()
	if file := os.Getenv(h2HeapProfEnv); file != "" {
		if err := writeHeapProfile(file); err != nil {
			return err
		}
	}
	ports := map[string]bool{}
	for _, c := range conns {
		ports[c.c.NetConn().LocalAddr().String()] = true
	}
	runtime.KeepAlive(conns)
	return json.NewEncoder(os.Stdout).Encode(h2OpenResult{
		PerSecond:    float64(n) / elapsed.Seconds(),
		RSSPerConn:   float64(rss1-rss0) / float64(n),
		HeapPerConn:  float64(heap1-heap0) / float64(n),
		StackPerConn: float64(stack1-stack0) / float64(n),
		TCPConns:     len(ports),
	})
}

// h2Bench is the parent's side of -h2.
type h2Bench struct {
	addr     string // net/http's server: HTTP/1.1 and HTTP/2
	leanAddr string // the lean HTTP/2 server (h2lean.go)
	ca       *localCA
	rounds   int
	dur      time.Duration
	conns    int // WebSockets of the open measurement
	log      io.Writer
	noOpen   bool   // skip the open measurement
	heapProf string // the open child's heap profile, with the protocol appended
	only     string // "h1" or "h2": run only that protocol
	window   int    // the recv and echo runs' HTTP2Transport.MaxReceiveBufferPerStream
}

// runH2Bench runs -h2: its flags are -rounds, -duration, -conns and -q.
func runH2Bench(args []string) error {
	md, err := h2Benchmark(args)
	if err == nil {
		fmt.Print(md)
	}
	return err
}

// h2Benchmark runs -h2 with args and returns the Markdown table.
func h2Benchmark(args []string) (string, error) {
	fs := flag.NewFlagSet("bench -h2", flag.ContinueOnError)
	rounds := fs.Int("rounds", 5, "measured rounds; medians are reported")
	dur := fs.Duration("duration", time.Second, "length of one recv or echo run")
	conns := fs.Int("conns", h2Open, "WebSockets of the open measurement")
	quiet := fs.Bool("q", false, "no progress on standard error")
	cpuProf := fs.String("cpuprofile", "", "write this process's CPU profile of the recv and echo runs to `file`")
	srvProf := fs.String("srvcpuprofile", "", "write the server child's CPU profile to `file`")
	heapProf := fs.String("heapprofile", "", "write the open child's heap profile to `file`.PROTO")
	noOpen := fs.Bool("noopen", false, "skip the open measurement (for profiling)")
	procs := fs.Int("procs", 0, "GOMAXPROCS of this process (the client) only; 0: the default")
	only := fs.String("proto", "", "run only this protocol, h1, h2 or h2net (for profiling)")
	window := fs.Int("window", 0, "HTTP2Transport.MaxReceiveBufferPerStream of the recv and echo runs, in bytes; 0: the default (1 MiB, growing to 16 MiB while read fast)")
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if *rounds < 1 || *dur <= 0 || *conns < 1 {
		return "", fmt.Errorf("-rounds, -duration and -conns must be positive")
	}
	ca, err := benchCA()
	if err != nil {
		return "", err
	}
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(append(os.Environ(), roleEnv+"="+h2ServerRole, "GODEBUG=http2xconnect=1", h2SrvProfEnv+"="+*srvProf), ca.serverEnv()...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("HTTP/2 benchmark server: %w", err)
	}
	addrs := strings.Fields(line)
	if len(addrs) != 2 {
		return "", fmt.Errorf("HTTP/2 benchmark server: %q", line)
	}
	b := &h2Bench{addr: addrs[0], leanAddr: addrs[1], ca: ca, rounds: *rounds, dur: *dur, conns: *conns, log: os.Stderr, noOpen: *noOpen, only: *only, heapProf: *heapProf, window: *window}
	if *quiet {
		b.log = io.Discard
	}
	if *procs > 0 {
		runtime.GOMAXPROCS(*procs) // the server child keeps its own
	}
	stop, err := prof.StartCPU(*cpuProf)
	if err != nil {
		return "", err
	}
	defer stop()
	return b.run()
}

// h2Row is one measurement's samples per protocol ("h1", "h2", "h2net").
type h2Row struct {
	name, unit string
	v          map[string][]float64
}

// h2Protos are the columns: HTTP/1.1, HTTP/2 to the lean server, HTTP/2 to
// net/http's server.
var h2Protos = []string{"h1", "h2", "h2net"}

func (b *h2Bench) run() (string, error) {
	names := []string{"handshakes/s", "RSS per WebSocket", "Go heap per WebSocket", "goroutine stacks per WebSocket"}
	var rows []*h2Row
	for i, name := range names {
		rows = append(rows, &h2Row{name: fmt.Sprintf("open %d: %s", b.conns, name), unit: []string{"/s", "B", "B", "B"}[i]})
	}
	for _, n := range h2RecvSizes {
		rows = append(rows,
			&h2Row{name: fmt.Sprintf("recv %s: MB/s", sizeName(n)), unit: "MB/s"},
			&h2Row{name: fmt.Sprintf("recv %s: client CPU per message", sizeName(n)), unit: "µs"})
	}
	for _, n := range h2EchoSizes {
		rows = append(rows,
			&h2Row{name: fmt.Sprintf("echo %s: round trips/s", sizeName(n)), unit: "/s"},
			&h2Row{name: fmt.Sprintf("echo %s: client CPU per round trip", sizeName(n)), unit: "µs"})
	}
	for _, row := range rows {
		row.v = map[string][]float64{}
	}
	tc := &tls.Config{RootCAs: b.ca.roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13}
	for round := range b.rounds + 1 { // round 0 warms up
		order := slices.Clone(h2Protos)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, proto := range order {
			if b.only != "" && proto != b.only {
				continue
			}
			vals, err := b.round(proto, tc)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(b.log, "round %d %s: %.0f handshakes/s, %.0f B RSS/WebSocket, %.0f\n", round, proto, vals[0], vals[1], vals[2:])
			if round == 0 {
				continue
			}
			for i, row := range rows {
				row.v[proto] = append(row.v[proto], vals[i])
			}
		}
	}
	return b.table(rows), nil
}

// The message sizes of recv and echo.
var h2RecvSizes, h2EchoSizes = []int{1024, 65536}, []int{16, 1024}

// round measures proto once: open, recv and echo.
func (b *h2Bench) round(proto string, tc *tls.Config) ([]float64, error) {
	var res h2OpenResult
	var err error
	if b.noOpen {
		res.TCPConns = 1
	} else {
		res, err = b.open(proto)
	}
	if err != nil {
		return nil, fmt.Errorf("open over %s: %w", proto, err)
	}
	if proto != "h1" && res.TCPConns != 1 {
		return nil, fmt.Errorf("open over %s: %d TCP connections, want 1", proto, res.TCPConns)
	}
	vals := []float64{res.PerSecond, res.RSSPerConn, res.HeapPerConn, res.StackPerConn}
	d := newH2Dialer(proto, b.addrOf(proto), tc)
	d.tr.MaxReceiveBufferPerStream = b.window
	defer d.tr.Close()
	for _, n := range h2RecvSizes {
		v, cpu, err := b.recv(d, n)
		if err != nil {
			return nil, fmt.Errorf("recv %d over %s: %w", n, proto, err)
		}
		vals = append(vals, v, cpu)
	}
	for _, n := range h2EchoSizes {
		v, cpu, err := b.echo(d, n)
		if err != nil {
			return nil, fmt.Errorf("echo %d over %s: %w", n, proto, err)
		}
		vals = append(vals, v, cpu)
	}
	return vals, nil
}

// addrOf is the server address for proto: the lean HTTP/2 server's for
// "h2", net/http's for the others.
func (b *h2Bench) addrOf(proto string) string {
	if proto == "h2" {
		return b.leanAddr
	}
	return b.addr
}

// table is the Markdown table of rows: medians, ratios to HTTP/1.1 and
// the range of the per-round ratios.
func (b *h2Bench) table(rows []*h2Row) string {
	var md strings.Builder
	fmt.Fprintf(&md, "| our client, wss | HTTP/1.1 | HTTP/2 (lean server) | ÷ HTTP/1.1 | range | HTTP/2 (net/http server) | ÷ HTTP/1.1 | range |\n|---|---|---|---|---|---|---|---|\n")
	for _, row := range rows {
		h1 := median(row.v["h1"])
		fmt.Fprintf(&md, "| %s | %s |", row.name, h2Format(h1, row.unit))
		for _, p := range h2Protos[1:] {
			v := median(row.v[p])
			lo, hi := math.Inf(1), math.Inf(-1)
			for i := range min(len(row.v[p]), len(row.v["h1"])) {
				r := row.v[p][i] / row.v["h1"][i]
				lo, hi = min(lo, r), max(hi, r)
			}
			fmt.Fprintf(&md, " %s | %.2f× | %.2f–%.2f× |", h2Format(v, row.unit), v/h1, lo, hi)
		}
		md.WriteString("\n")
	}
	fmt.Fprintf(&md, "\nMedians of %d rounds (protocols alternating first), %s per recv and echo run, %s/%s, %d CPUs.\n",
		b.rounds, b.dur, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	return md.String()
}

// open runs the open child for proto.
func (b *h2Bench) open(proto string) (h2OpenResult, error) {
	var res h2OpenResult
	exe, err := os.Executable()
	if err != nil {
		return res, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(),
		roleEnv+"="+h2OpenRole,
		h2ProtoEnv+"="+proto,
		h2AddrEnv+"="+b.addrOf(proto),
		h2HeapProfEnv+"="+heapFile(b.heapProf, proto),
		h2CountEnv+"="+strconv.Itoa(b.conns),
		h2CAEnv+"="+string(b.ca.caPEM),
	)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return res, fmt.Errorf("open child: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return res, json.Unmarshal(out, &res)
}

// recv floods one WebSocket with size-byte messages for about b.dur and
// returns MB/s and this process's CPU time per message in µs.
func (b *h2Bench) recv(d *h2Dialer, size int) (float64, float64, error) {
	n := max(64, estimateCount(b.dur, size, false))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := d.dial(ctx, fmt.Sprintf("wss://%s/flood?size=%d&count=%d", d.addr, size, n), size)
	if err != nil {
		return 0, 0, err
	}
	start, cpu0 := time.Now(), cpuTime()
	if err := c.receive(n, size); err != nil {
		c.abort()
		return 0, 0, err
	}
	secs, cpu := time.Since(start).Seconds(), cpuTime()-cpu0
	return float64(n) * float64(size) / secs / 1e6, float64(cpu) / 1e3 / float64(n), c.close()
}

// echo round-trips size-byte messages for b.dur and returns round trips
// per second and this process's CPU time per round trip in µs.
func (b *h2Bench) echo(d *h2Dialer, size int) (float64, float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := d.dial(ctx, "wss://"+d.addr+"/echo", size)
	if err != nil {
		return 0, 0, err
	}
	p := make([]byte, size)
	n := 0
	start, cpu0 := time.Now(), cpuTime()
	for time.Since(start) < b.dur {
		if err := c.roundTrip(p); err != nil {
			c.abort()
			return 0, 0, err
		}
		n++
	}
	secs, cpu := time.Since(start).Seconds(), cpuTime()-cpu0
	return float64(n) / secs, float64(cpu) / 1e3 / float64(n), c.close()
}

func h2Format(v float64, unit string) string {
	switch unit {
	case "B":
		return fmt.Sprintf("%.1f KiB", v/1024)
	case "MB/s":
		return fmt.Sprintf("%.0f MB/s", v)
	case "µs":
		return fmt.Sprintf("%.1f µs", v)
	}
	return fmt.Sprintf("%.0f/s", v)
}

func sizeName(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return strconv.Itoa(n/1024) + " KiB"
	}
	return strconv.Itoa(n) + " B"
}

// heapFile is the heap profile's file for proto, "" for none.
func heapFile(base, proto string) string {
	if base == "" {
		return ""
	}
	return base + "." + proto
}

// writeHeapProfile writes the heap profile to file, and the runtime's
// memory statistics to file.txt.
func writeHeapProfile(file string) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b, _ := json.MarshalIndent(ms, "", " ")
	if err := os.WriteFile(file+".txt", b, 0o644); err != nil {
		return err
	}
	return prof.WriteHeap(file)
}

// x509Pool makes a pool of the PEM certificates in b.
func x509Pool(b []byte) (*x509.CertPool, error) {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, errors.New("no CA certificate in " + h2CAEnv)
	}
	return p, nil
}
