#!/usr/bin/env bash
# What the statistics counters cost: builds the benchmarks twice, with the
# counters (the default) and without them (-tags wsclient_nostats, which
# compiles the increments out), and runs the two binaries in alternation,
# ROUNDS times (the order flipped each round), so that both see the same
# machine. Prints each benchmark's median time per op with and without
# counters, and their ratio (with / without: 1.00 = no cost): CPU time
# (cpu-ns/op) where the benchmark reports it, else ns/op.
#
#	nice -n 5 ./stats-overhead.sh        # root module: receiving from memory, sending to a discarding conn
#	nice -n 5 ./stats-overhead.sh bench  # this module's Recv and Send over loopback, wsclient only
set -euo pipefail
cd "$(dirname "$0")"
ROUNDS=${ROUNDS:-5}
BENCHTIME=${BENCHTIME:-1s}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "${1:-root}" = bench ]; then
	dir=. pattern='^Benchmark(Recv|Send)$/^wsclient$/^(16B|1KiB)$'
else
	dir=.. pattern='^Benchmark(RecvMemory|SendMemory)$'
fi
(cd "$dir" && go test -c -o "$tmp/on.test" . && go test -c -tags wsclient_nostats -o "$tmp/off.test" .)
for round in $(seq "$ROUNDS"); do
	order=(on off)
	if ((round % 2 == 0)); then order=(off on); fi
	for v in "${order[@]}"; do
		(cd "$dir" && "$tmp/$v.test" -test.run '^$' -test.bench "$pattern" -test.benchtime "$BENCHTIME" -test.benchmem) |
			awk -v v="$v" '/^Benchmark/ {
				t = $3; a = "?"
				for (i = 4; i <= NF; i++) { if ($i == "cpu-ns/op") t = $(i-1); if ($i == "allocs/op") a = $(i-1) }
				print v, $1, t, a
			}' >>"$tmp/results"
	done
	echo "round $round of $ROUNDS done" >&2
done
# Median ns/op per benchmark and variant, then the ratio.
printf '| benchmark | per op with counters | without | ratio | allocs/op with |\n|---|---|---|---|---|\n'
awk '
	{ k = $2; n[$1 SUBSEP k]++; v[$1 SUBSEP k SUBSEP n[$1 SUBSEP k]] = $3; allocs[$1 SUBSEP k] = $4; keys[k] = 1 }
	function median(var, k,   m, i, j, t, a) {
		m = n[var SUBSEP k]
		for (i = 1; i <= m; i++) a[i] = v[var SUBSEP k SUBSEP i]
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
	}
	END {
		for (k in keys) {
			on = median("on", k); off = median("off", k)
			printf "| %s | %.1f | %.1f | %.3f | %s |\n", k, on, off, on / off, allocs["on" SUBSEP k]
		}
	}' "$tmp/results" | sort
