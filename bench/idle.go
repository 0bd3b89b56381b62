package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"
)

// Idle memory is measured in a fresh process per library and round, so that
// no library inherits another's heap, pools or goroutine stacks. The child
// opens cfg.Conns connections to the server's /idle path, starts each
// library's usual reading goroutine on each, and reports the growth of its
// resident set (VmRSS) and of the Go heap and stacks, per connection.
//
// The zidle scenario does the same with permessage-deflate negotiated (each
// library's dialZ) on the server's /zidle path, and one compressed message
// of zidleSize bytes of JSON exchanged each way before the reading goroutine
// starts, so that each connection holds whatever compressor and
// decompressor state its library keeps between messages.

// Environment of the idle child.
const (
	idleLibEnv   = "WSBENCH_LIB"
	idleURLEnv   = "WSBENCH_URL"
	idleConnsEnv = "WSBENCH_CONNS"
	idleZEnv     = "WSBENCH_Z" // "1": the zidle scenario
	// idleSettleEnv replaces idleSettle (-idle-settle): a longer pause
	// measures connections that have been idle for a while, after
	// whatever a library gives back once idle (ours parks its compressor
	// after 2 s without a message).
	idleSettleEnv = "WSBENCH_IDLE_SETTLE"
)

// idleSettle lets the reading goroutines reach their blocking read before
// memory is measured. It is a measurement pause, not synchronization: a
// goroutine that has not parked yet has already allocated what it needs.
const idleSettle = 300 * time.Millisecond

// idleResult is what the child prints as JSON on standard output.
type idleResult struct {
	RSSPerConn   float64 `json:"rss_per_conn"`
	HeapPerConn  float64 `json:"heap_per_conn"`
	StackPerConn float64 `json:"stack_per_conn"`
}

// idle runs one child process of the idle or zidle scenario and records its
// result.
func (r *runner) idle(s *sample) error {
	path, z := "/idle", "0"
	switch s.Scenario {
	case scZIdle:
		path, z = "/zidle", "1"
	case scTIdle:
		path, z = "/echo", "t"
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(),
		roleEnv+"=idle",
		idleLibEnv+"="+s.Lib,
		idleURLEnv+"="+r.base+path,
		idleConnsEnv+"="+strconv.Itoa(r.cfg.Conns),
		idleZEnv+"="+z,
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("idle child: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	var res idleResult
	if err := json.Unmarshal(out, &res); err != nil {
		return fmt.Errorf("idle child output %q: %w", out, err)
	}
	s.Ops = int64(r.cfg.Conns)
	s.RSSPerConn, s.HeapPerConn, s.StackPerConn = res.RSSPerConn, res.HeapPerConn, res.StackPerConn
	return nil
}

// runIdleChild is the child's side: measure, print, exit (which drops the
// connections).
func runIdleChild() error {
	lib, ok := libraries[os.Getenv(idleLibEnv)]
	if !ok {
		return fmt.Errorf("unknown library %q", os.Getenv(idleLibEnv))
	}
	url := os.Getenv(idleURLEnv)
	n, err := strconv.Atoi(os.Getenv(idleConnsEnv))
	if err != nil || n <= 0 {
		return fmt.Errorf("bad %s", idleConnsEnv)
	}
	z := os.Getenv(idleZEnv) == "1"
	traffic := os.Getenv(idleZEnv) == "t" // tidle: one echo round trip first
	if z && lib.dialZ == nil {
		return fmt.Errorf("%s does not compress", lib.name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	msg := jsonMessages(zidleSize)[0] // made before the first measurement
	size := 0
	if traffic {
		size = zidleSize // room for the round trip's message
	}
	heap0, stack0, rss0 := idleMemory()
	conns := make([]conn, 0, n)
	for range n {
		var c conn
		var err error
		if z {
			c, err = lib.dialZ(ctx, url, zidleSize)
		} else {
			c, err = lib.dial(ctx, url, size)
		}
		if err != nil {
			return fmt.Errorf("dial %d: %w", len(conns), err)
		}
		if z || traffic {
			// One message each way; the server answers with a
			// (compressed, in zidle) message of the same length.
			if err := c.roundTrip(msg); err != nil {
				return fmt.Errorf("connection %d: %w", len(conns), err)
			}
		}
		c.idle()
		conns = append(conns, c)
	}
	settle := idleSettle
	if d, err := time.ParseDuration(os.Getenv(idleSettleEnv)); err == nil {
		settle = d
	}
	time.Sleep(settle)
	heap1, stack1, rss1 := idleMemory()
	runtime.KeepAlive(conns)

	res := idleResult{
		RSSPerConn:   float64(rss1-rss0) / float64(n),
		HeapPerConn:  float64(heap1-heap0) / float64(n),
		StackPerConn: float64(stack1-stack0) / float64(n),
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// idleMemory collects garbage, then returns live heap bytes, goroutine stack
// bytes and the resident set size.
func idleMemory() (heap, stack, rss int64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc), int64(ms.StackInuse), residentBytes()
}
