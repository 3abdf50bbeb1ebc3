#!/bin/bash
# The sandbox's start-up cost (bench/README.md): bench/spawn in BUILD_DIR, without and with
# 512 MiB held by the process that starts the programs. Prints a Markdown section.
#
#   bench/spawn.sh BUILD_DIR      (bench/run.sh runs it)
#
#   BENCH_ROUNDS      rounds of each (5)
#   BENCH_SPAWN_RUNS  starts each way in a round (2000)
set -euo pipefail
build=$(realpath "${1:?usage: bench/spawn.sh BUILD_DIR}")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
runs=${BENCH_SPAWN_RUNS:-2000}
rounds=${BENCH_ROUNDS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq 1 "$rounds"); do
	for hold in 0 512; do
		"$build/spawn" "$build/bench_true" "$runs" "$hold" >>"$tmp/hold$hold"
	done
	echo "spawn: round $r of $rounds done" >&2
done
printf '## 5c. The sandbox: what it adds to starting a program\n\n'
printf 'Command: `bench/spawn.sh` (bench/spawn.c), as user %s (as root the sandbox makes a pids cgroup per call),\n' "$(id -un)"
printf '%s rounds of %s starts each way, interleaved. Cells: median (min-max) of the rounds'"'"' p50 or p99, in µs.\n\n' "$rounds" "$runs"
printf '| the broker holds | bare posix_spawn p50 (baseline) | p99 | full sandbox p50 | p99 | added at p50 |\n'
printf '|---|---:|---:|---:|---:|---:|\n'
for hold in 0 512; do
	f=$tmp/hold$hold
	printf '| %s | %s | %s | %s | %s | **%s** |\n' "$([ "$hold" = 0 ] && echo nothing || echo "$hold MiB, touched")" \
		"$(kv bare_p50 <"$f" | mmm %.0f)" "$(kv bare_p99 <"$f" | mmm %.0f)" \
		"$(kv sandbox_p50 <"$f" | mmm %.0f)" "$(kv sandbox_p99 <"$f" | mmm %.0f)" \
		"$(kv added_p50 <"$f" | mmm %.0f)"
done
a0=$(kv added_p50 <"$tmp/hold0" | med)
a512=$(kv added_p50 <"$tmp/hold512" | med)
printf '\n- **Target: at most 150 µs added: %s, %s µs.**\n' "$(awk -v a="$a0" 'BEGIN { print a <= 150 ? "met" : "not met" }')" "$a0"
printf -- '- **Growth with the broker'"'"'s memory (512 MiB held): %+.0f µs at p50** (the child shares the\n' "$(awk -v a="$a0" -v b="$a512" 'BEGIN { print b - a }')"
printf '  broker'"'"'s memory until its execve, CLONE_VM | CLONE_VFORK, so no page table is copied).\n\n'
