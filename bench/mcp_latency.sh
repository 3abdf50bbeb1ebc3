#!/bin/bash
# One whole call through each front-end (pitwall call as a process, a long-lived
# pitwall mcp), what pitwall adds to it, and the memory of pitwall mcp over many
# calls (bench/README.md). Prints two Markdown sections.
#
#   bench/mcp_latency.sh BUILD_DIR      (bench/run.sh runs it)
#
#   BENCH_ROUNDS     rounds, each a fresh run (5)
#   BENCH_CALLS      calls of each kind in a round (300)
#   BENCH_RSS_CALLS  calls through one pitwall mcp for its memory (100000)
set -euo pipefail
build=$(realpath "${1:?usage: bench/mcp_latency.sh BUILD_DIR}")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
rounds=${BENCH_ROUNDS:-5}
calls=${BENCH_CALLS:-300}
rss_calls=${BENCH_RSS_CALLS:-100000}
[ "$rss_calls" -ge 1000 ] || { echo "bench: BENCH_RSS_CALLS must be at least 1000" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the action: /bin/cat of a file holding {} beside the spec, pinned like any program
echo '{}' >"$tmp/result.json"
cat >"$tmp/workflow.yaml" <<YAML
pitwall: 1
name: latency
owners:
  ops-lead: {title: Ops lead}
states: [S0, S1]
initial: S0
terminal: [S1]
default: allow
actions:
  Echo:
    from: [S0]
    input: {type: object, additionalProperties: false}
    effects:
      read: ["{spec.dir}/result.json"]
    run:
      program: /bin/cat
      sha256: "$(sha256sum /bin/cat | cut -c1-64)"
      args: ["$tmp/result.json"]
YAML
for r in $(seq 1 "$rounds"); do
	mkdir "$tmp/r$r"
	"$build/mcp_latency" "$build/pitwall" "$tmp/workflow.yaml" "$tmp/r$r" "$calls" \
		/bin/cat "$tmp/result.json" >>"$tmp/rounds"
	rm -rf "$tmp/r$r"
	echo "calls: round $r of $rounds done" >&2
done
c() { kv "$1" <"$tmp/rounds" | mmm "%.0f"; }
diff_of() { awk -v a="$1" -v b="$2" '{ for (i = 1; i < NF; i += 2) { if ($i == a) x = $(i + 1); if ($i == b) y = $(i + 1) }
	print x - y }' "$tmp/rounds" | mmm "%.0f"; }

printf '## 3. One whole call, through each front-end\n\n'
printf 'Command: `bench/mcp_latency.sh` (bench/mcp_latency.c), %s rounds of %s calls of each kind, each round in a\n' "$rounds" "$calls"
printf 'fresh run; the action runs `/bin/cat` of a small file in the sandbox and succeeds. Cells: the median of the\n'
printf 'rounds'"'"' p50 or p99, with their minimum and maximum, in microseconds.\n\n'
printf '| what | p50 µs | p99 µs |\n|---|---:|---:|\n'
printf '| `pitwall call` as a process (start-up, spec load, log check, the call) | %s | %s |\n' "$(c cli_p50)" "$(c cli_p99)"
printf '| a tools/call through a long-lived `pitwall mcp` | %s | %s |\n' "$(c mcp_p50)" "$(c mcp_p99)"
printf '| the program run directly, no pitwall (baseline) | %s | %s |\n' "$(c direct_p50)" "$(c direct_p99)"
printf '| added by `pitwall mcp` (mcp - direct) | %s | %s |\n' "$(diff_of mcp_p50 direct_p50)" "$(diff_of mcp_p99 direct_p99)"
printf '| added by `pitwall call` (cli - direct) | %s | %s |\n' "$(diff_of cli_p50 direct_p50)" "$(diff_of cli_p99 direct_p99)"
printf '| a rejected call through `pitwall mcp` (decided, recorded, nothing runs) | %s | %s |\n' "$(c reject_p50)" "$(c reject_p99)"
printf '| a rejected call through `pitwall call` | %s | %s |\n' "$(c cli_reject_p50)" "$(c cli_reject_p99)"
printf '| one durable SQLite commit (WAL, synchronous=FULL; baseline) | %s | %s |\n\n' "$(c commit_p50)" "$(c commit_p99)"
printf -- '- An allowed call makes two durable commits by design: its call event before the program starts\n'
printf '  (write-ahead), its result before the agent is told. Added by `pitwall mcp` at p50, in commits: %s.\n' \
	"$(awk '{ for (i = 1; i < NF; i += 2) { if ($i == "mcp_p50") m = $(i + 1); if ($i == "direct_p50") d = $(i + 1); if ($i == "commit_p50") k = $(i + 1) }
		print (m - d) / k }' "$tmp/rounds" | mmm "%.2f")"
printf -- '- `pitwall call` / `pitwall mcp` at p50: %sx; the difference is the process start, loading and\n' \
	"$(ratio cli_p50 mcp_p50 <"$tmp/rounds" | mmm "%.1f")"
printf '  checking the spec, opening the ledger and checking the run'"'"'s log, on every call (the run grows to\n'
printf '  %s events in a round: the log check grows with it).\n\n' "$((3 * (calls + 20) + 1))"

echo "memory: $rss_calls calls through one pitwall mcp ..." >&2
mkdir "$tmp/rss"
"$build/mcp_latency" --rss "$build/pitwall" "$tmp/workflow.yaml" "$tmp/rss" "$rss_calls" >"$tmp/rss.out"
printf '## 4a. Memory of `pitwall mcp` over %s calls\n\n' "$rss_calls"
printf 'Command: `mcp_latency --rss` (bench/mcp_latency.sh): one `pitwall mcp` session, one run, allowed and\n'
printf 'rejected calls in turn; VmRSS and VmHWM of the server read from /proc at each mark.\n\n'
printf '| calls | resident KiB | peak so far KiB |\n|---:|---:|---:|\n'
awk '{ printf "| %d | %d | %d |\n", $2, $4, $6 }' "$tmp/rss.out"
# flat: the peak at the end within 5% of the peak at 10,000 calls (or at the first mark)
awk 'NR == 1 || $2 == 10000 { a = $6; from = $2 } { z = $6; n = $2 }
	END { g = z - a; printf "\n- **Peak from %d to %d calls: %+d KiB (%+.1f%%): %s.**\n\n", from, n, g, 100 * g / a,
		(g <= a / 20 ? "flat (within 5%)" : "it grows") }' "$tmp/rss.out"
