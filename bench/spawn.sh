#!/bin/sh
# The sandbox's start-up cost (bench/README.md): bench/spawn in the build dir $1 (default
# build-bench), BENCH_SPAWN_RUNS starts each way (default 2000), repeated BENCH_REPEAT times
# (default 5), without and with 512 MiB held by the process that starts them.
set -eu
build=${1:-build-bench}
runs=${BENCH_SPAWN_RUNS:-2000}
repeat=${BENCH_REPEAT:-5}
echo "== spawn: bare posix_spawn against the full sandbox, $runs starts each, $repeat rounds"
for hold in 0 512; do
	i=0
	while [ "$i" -lt "$repeat" ]; do
		"$build/spawn" "$PWD/$build/bench_true" "$runs" "$hold"
		i=$((i + 1))
	done
done
