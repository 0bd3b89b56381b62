package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestMain lets the test binary play the tool's processes: the server, and
// the client runs that the tests start.
func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) != "" {
		if err := roleMain(os.Args[1:]); err != nil {
			os.Stderr.WriteString("scale: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runTool runs the tool as a child process with args.
func runTool(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), roleEnv+"=client")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scale %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

// TestModes runs every mode on a few connections: all open, every echo and
// pushed message arrives, and pings flow during the hold (each connection
// pings every 100 ms for 500 ms).
func TestModes(t *testing.T) {
	const n, push = 40, 5
	for _, m := range modes {
		if m.idleOnly {
			continue // TestFloor
		}
		for _, scheme := range []string{"ws", "wss"} {
			t.Run(m.name+"/"+scheme, func(t *testing.T) {
				t.Parallel()
				testMode(t, m, scheme == "wss", n, push)
			})
		}
	}
}

// testMode runs mode m on n connections, over TLS when tls is set.
func testMode(t *testing.T, m mode, tls bool, n, push int) {
	args := []string{"-mode", m.name, "-n", strconv.Itoa(n), "-ping", "100ms", "-hold", "500ms",
		"-push", strconv.Itoa(push), "-settle", "0", "-json"}
	if tls {
		// One open at a time: nbio's TLS server now and then answers
		// concurrent handshakes with an internal_error alert.
		args = append(args, "-tls", "-dialers", "1")
	}
	out := runTool(t, args...)
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if r.Mode != m.name || r.N != n || r.TLS != tls || r.PushMsgs != int64(n*push) || r.MsgsPerSec <= 0 || r.OpenSeconds <= 0 {
		t.Errorf("result %+v", r)
	}
	// At least two ping rounds fit in the hold whatever the phase.
	if r.HoldPings < 2*int64(n) || r.HoldPongs < 2*int64(n) {
		t.Errorf("during the hold the server received %d pings and the client saw %d pongs; want at least %d each",
			r.HoldPings, r.HoldPongs, 2*n)
	}
	if m.name == "ours-conn" || m.name == "gobwas" || m.name == "gws" {
		if r.Idle.GoroutinesAdded < n {
			t.Errorf("%d goroutines added by %d connections, want a reader each", r.Idle.GoroutinesAdded, n)
		}
	}
}

// TestFloor runs the idle-only floor: its connections open and are
// measured idle, and the side-by-side table shows dashes for what it does
// not run.
func TestFloor(t *testing.T) {
	for _, scheme := range []string{"ws", "wss"} {
		t.Run(scheme, func(t *testing.T) {
			args := []string{"-mode", "netconn", "-n", "20", "-settle", "0", "-push", "2", "-json"}
			if scheme == "wss" {
				args = append(args, "-tls", "-dialers", "1")
			}
			var r result
			if out := runTool(t, args...); json.Unmarshal(out, &r) != nil {
				t.Fatalf("output %q", out)
			}
			if r.Mode != "netconn" || r.N != 20 || !r.IdleOnly || r.OpenSeconds <= 0 || r.PushMsgs != 0 || r.Idle.GoroutinesAdded > 4 {
				t.Errorf("result %+v", r)
			}
		})
	}
	out := string(runTool(t, "-mode", "ours-loop,netconn", "-rounds", "1", "-n", "20", "-settle", "0", "-push", "2"))
	for _, want := range []string{"| ours-loop | ", "| netconn | ", " | — | ", "msgs/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestManyPorts spreads the connections over several server ports, as a
// run past the ephemeral-port limit of one destination does (-per-port):
// every connection opens and receives its pushed messages.
func TestManyPorts(t *testing.T) {
	out := runTool(t, "-mode", "ours-loop", "-n", "30", "-per-port", "10", "-push", "2", "-settle", "0", "-json")
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if r.Ports != 3 || r.N != 30 || r.PushMsgs != 60 {
		t.Errorf("%d ports, %d connections, %d pushed messages; want 3, 30, 60", r.Ports, r.N, r.PushMsgs)
	}
}

// TestCompare runs two modes through the side-by-side command and checks
// the table.
func TestCompare(t *testing.T) {
	out := string(runTool(t, "-mode", "ours-loop,nbio", "-rounds", "1", "-n", "20", "-settle", "0", "-push", "2"))
	for _, want := range []string{"| mode | idle KiB/conn |", "| ours-loop | ", "| nbio | ", "(1.0×)", "msgs/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestCICheck checks the -ci thresholds: a bound no run can meet fails the
// check, generous ones pass, and a heap bound of 0 is not checked.
func TestCICheck(t *testing.T) {
	r := &result{N: 2000, Idle: figure{RSSPerConn: 900, HeapPerConn: 700, GoroutinesAdded: 3}}
	var buf bytes.Buffer
	for _, b := range []ciBounds{{16, 1024, 800}, {16, 1024, 0}} {
		buf.Reset()
		if err := checkCI(&buf, r, b); err != nil || strings.Contains(buf.String(), "FAIL") {
			t.Errorf("within the bounds %+v: %v\n%s", b, err, buf.String())
		}
	}
	if strings.Contains(buf.String(), "heap") {
		t.Errorf("a heap bound of 0 was checked:\n%s", buf.String())
	}
	for _, b := range []ciBounds{{2, 1024, 800}, {16, 800, 800}, {16, 1024, 600}} {
		buf.Reset()
		if err := checkCI(&buf, r, b); err == nil || !strings.Contains(buf.String(), "FAIL") {
			t.Errorf("bounds %+v: err %v, output %q", b, err, buf.String())
		}
	}
}

// TestCICheckWithJSON: -json prints the figures as JSON and -ci still fails
// the run above its bounds (it once returned after printing).
func TestCICheckWithJSON(t *testing.T) {
	err := runMain([]string{"-ci", "-json", "-n", "20", "-ping", "0", "-max-goroutines", "0", "-max-bytes", "1", "-max-heap", "1"})
	if !errors.Is(err, errCheckFailed) {
		t.Fatalf("-ci -json above every bound: %v, want the check's failure", err)
	}
}
