#!/bin/bash
# Decision latency in process: pitwall against the same refund policy in Cedar,
# run by @cedar-policy/cedar-wasm from the npm registry (bench/README.md).
#
#   bench/decide.sh BUILD_DIR      (bench/run.sh runs it; prints a Markdown section)
#
#   BENCH_ROUNDS        rounds, each running both programs in turn (5)
#   BENCH_DECIDE_ITERS  timed decisions of each scenario in a round (20000)
set -euo pipefail
build=$(realpath "${1:?usage: bench/decide.sh BUILD_DIR}")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
rounds=${BENCH_ROUNDS:-5}
iters=${BENCH_DECIDE_ITERS:-20000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# cedar-wasm, exactly as bench/cedar/package-lock.json pins it
cedar=$here/cedar
cedar_why=""
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	cedar_why="node and npm are not installed (scripts/setup installs them)"
elif [ ! -d "$cedar/node_modules/@cedar-policy/cedar-wasm" ] ||
	[ "$cedar/package-lock.json" -nt "$cedar/node_modules/.package-lock.json" ]; then
	echo "installing @cedar-policy/cedar-wasm into bench/cedar/node_modules (npm ci)" >&2
	if ! npm ci --prefix "$cedar" --no-audit --no-fund --fetch-retries=1 --fetch-timeout=30000 >"$tmp/npm.log" 2>&1; then
		tail -n 20 "$tmp/npm.log" >&2
		cedar_why="npm ci failed in bench/cedar (see the output of make bench)"
	fi
fi

for r in $(seq 1 "$rounds"); do
	"$build/decide_bench" "$here/../examples" "$tmp" "$iters" | sed "s/^/$r /" >>"$tmp/lines"
	if [ -z "$cedar_why" ]; then
		if ! node "$cedar/decide.mjs" "$iters" 2>"$tmp/cedar.err" | sed "s/^/$r /" >>"$tmp/lines"; then
			cat "$tmp/cedar.err" >&2
			cedar_why="bench/cedar/decide.mjs failed: $(tail -n 1 "$tmp/cedar.err")"
		fi
	fi
	echo "decide: round $r of $rounds done" >&2
done

# cell ENGINE SCENARIO KEY: median (min-max) over the rounds, in microseconds
cell() { grep "\"engine\":\"$1\"" "$tmp/lines" | grep "\"scenario\":\"$2\"" | jnum "$3" |
	awk '{ print $1 / 1000 }' | mmm "%.2f"; }
# per-round ratio cedar p50 / pitwall p50 for SCENARIO
ratios() { awk -v s="\"scenario\":\"$1\"" 'index($0, s) {
		match($0, /"p50_ns":[0-9.]+/); v = substr($0, RSTART + 9, RLENGTH - 9)
		if (index($0, "\"engine\":\"pitwall\"")) p[$1] = v; else c[$1] = v }
	END { for (r in p) if (r in c && p[r] > 0) print c[r] / p[r] }' "$tmp/lines"; }

ver=$(grep -o '"version":"[^"]*"' "$tmp/lines" | head -n 1 | cut -d'"' -f4 || true)
printf '## 1. Decision latency, in process\n\n'
printf 'Command: `bench/decide.sh` (`decide_bench`, then `node bench/cedar/decide.mjs`, in turn, %s rounds);\n' "$rounds"
printf 'each round times %s decisions of each scenario one by one after 2,000 warm-up ones. Cells: the\n' "$iters"
printf 'median of the rounds'"'"' p50 or p99, with their minimum and maximum, in microseconds.\n\n'
printf '| spec | scenario | verdict | pitwall p50 | pitwall p99 | cedar-wasm p50 | cedar-wasm p99 | cedar / pitwall (p50) |\n'
printf '|---|---|---|---:|---:|---:|---:|---:|\n'
while read -r spec scen verdict; do
	if grep -q "\"engine\":\"cedar-wasm\".*\"scenario\":\"$scen\"" "$tmp/lines"; then
		c50=$(cell cedar-wasm "$scen" p50_ns) c99=$(cell cedar-wasm "$scen" p99_ns)
		rt="$(ratios "$scen" | mmm "%.1f")x"
	else
		c50="-" c99="-" rt="-"
	fi
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$spec" "$scen" "$verdict" \
		"$(cell pitwall "$scen" p50_ns)" "$(cell pitwall "$scen" p99_ns)" "$c50" "$c99" "$rt"
done <<'ROWS'
refunds refund_allow allow
refunds refund_approval approval
refunds refund_block block
refunds refund_nocap reject
research_v1 research_sweep_allow allow
research_v1 research_sweep_other_manifest reject
research_v1 research_upload_allow allow
ROWS

worst=$(grep '"engine":"pitwall"' "$tmp/lines" | jnum p50_ns | sort -g | tail -n 1)
printf '\n- **Target p50 at most 10 µs: %s**; the slowest scenario'"'"'s p50 in any round was %.2f µs.\n' \
	"$(awk -v w="$worst" 'BEGIN { print w <= 10000 ? "met" : "not met" }')" "$(awk -v w="$worst" 'BEGIN { print w / 1000 }')"
if [ -n "$cedar_why" ]; then
	printf -- '- **cedar-wasm: not measured**: %s.\n' "$cedar_why"
else
	low=$(for s in refund_allow refund_approval refund_block refund_nocap; do ratios "$s"; done | sort -g | head -n 1)
	printf -- '- **Target at least 5x faster than cedar-wasm %s: %s**; the lowest ratio of any refund scenario in any round was %.1fx.\n' \
		"$ver" "$(awk -v l="$low" 'BEGIN { print l >= 5 ? "met" : "not met" }')" "$low"
fi
printf -- '- pitwall: `pw_json_parse()` of the input text + `pw_decide()` on a run folded from a real ledger\n'
printf '  (bench/decide.c). cedar-wasm: `JSON.parse()` of the same text, the request built, `statefulIsAuthorized()`\n'
printf '  against the policy set and schema parsed once, the answer mapped to a verdict (bench/cedar/README.md says\n'
printf '  what the Cedar policy does and does not check that pitwall does).\n\n'
