package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// compare runs every mode of ms rounds times, each run a fresh client
// process (args plus -mode and -json), the modes interleaved and their order
// rotated each round so that none always runs first or last on a busy
// machine. It prints a Markdown table of the medians with ratios to nbio.
func compare(w io.Writer, ms []mode, rounds int, args []string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	runs := map[string][]*result{}
	for r := range rounds {
		for k := range ms {
			m := ms[(k+r)%len(ms)]
			fmt.Fprintf(os.Stderr, "round %d/%d: %s\n", r+1, rounds, m.name)
			cmd := exec.Command(exe, append(slices.Clone(args), "-mode", m.name, "-json")...)
			cmd.Env = append(os.Environ(), roleEnv+"=client")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				return fmt.Errorf("%s: %v: %s", m.name, err, bytes.TrimSpace(stderr.Bytes()))
			}
			var res result
			if err := json.Unmarshal(out, &res); err != nil {
				return fmt.Errorf("%s: output %q: %w", m.name, out, err)
			}
			runs[m.name] = append(runs[m.name], &res)
		}
	}
	writeTable(w, ms, runs)
	return nil
}

func writeJSON(w io.Writer, r *result) error { return json.NewEncoder(w).Encode(r) }

// median returns the median of f over rs.
func median(rs []*result, f func(*result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// writeTable prints the medians of every mode as a Markdown table.
func writeTable(w io.Writer, ms []mode, runs map[string][]*result) {
	first := runs[ms[0].name][0]
	for _, m := range ms { // the phases of a mode that ran them all
		if r := runs[m.name][0]; !r.IdleOnly {
			first = r
			break
		}
	}
	hold, push := first.HoldSeconds > 0, first.PushMsgs > 0
	ref, haveRef := runs["nbio"]
	ratio := func(v float64, f func(*result) float64) string {
		if !haveRef {
			return ""
		}
		return fmt.Sprintf(" (%.1f×)", v/median(ref, f))
	}
	idleRSS := func(r *result) float64 { return r.Idle.RSSPerConn }
	trafficRSS := func(r *result) float64 { return r.Traffic.RSSPerConn }
	msgsPerSec := func(r *result) float64 { return r.MsgsPerSec }

	fmt.Fprintf(w, "%d %s connections, ping every %s, medians of %d rounds", first.N, first.scheme(), first.Ping, len(runs[ms[0].name]))
	if haveRef {
		fmt.Fprint(w, "; (×) is the ratio to nbio")
	}
	fmt.Fprint(w, "\n\n")
	head := []string{"mode", "idle KiB/conn", "traffic KiB/conn", "goroutines/conn", "open s"}
	if hold {
		head = append(head, fmt.Sprintf("pings/conn in %gs", first.HoldSeconds), "pongs/conn")
	}
	if push {
		head = append(head, "msgs/s")
	}
	fmt.Fprintf(w, "| %s |\n|---|%s\n", strings.Join(head, " | "), strings.Repeat("--:|", len(head)-1))
	for _, m := range ms {
		rs := runs[m.name]
		row := []string{
			m.name,
			fmt.Sprintf("%.2f%s", median(rs, idleRSS)/1024, ratio(median(rs, idleRSS), idleRSS)),
			fmt.Sprintf("%.2f%s", median(rs, trafficRSS)/1024, ratio(median(rs, trafficRSS), trafficRSS)),
			fmt.Sprintf("%.2f", median(rs, func(r *result) float64 { return r.Idle.GoroutinesPerConn })),
			fmt.Sprintf("%.2f", median(rs, func(r *result) float64 { return r.OpenSeconds })),
		}
		if rs[0].IdleOnly {
			row[2] = "—"
			for range len(head) - len(row) {
				row = append(row, "—")
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
			continue
		}
		if hold {
			n := float64(first.N)
			row = append(row,
				fmt.Sprintf("%.2f", median(rs, func(r *result) float64 { return float64(r.HoldPings) })/n),
				fmt.Sprintf("%.2f", median(rs, func(r *result) float64 { return float64(r.HoldPongs) })/n))
		}
		if push {
			row = append(row, fmt.Sprintf("%.0f%s", median(rs, msgsPerSec), ratio(median(rs, msgsPerSec), msgsPerSec)))
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
}
