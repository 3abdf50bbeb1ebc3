#!/bin/bash
# Durable appends (bench/README.md): the broker with a no-op executor against a raw SQLite
# insert loop at the same durability, 1, 4 and 16 writers. Prints a Markdown section.
#
#   bench/append.sh BUILD_DIR      (bench/run.sh runs it)
#
#   BENCH_ROUNDS         rounds (5)
#   BENCH_APPEND_EVENTS  events each way, each number of writers, each round (2048)
set -euo pipefail
build=$(realpath "${1:?usage: bench/append.sh BUILD_DIR}")
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rounds=${BENCH_ROUNDS:-5}
events=${BENCH_APPEND_EVENTS:-2048}
printf '## 2. Durable appends\n\n'
printf 'Command: `bench/append.sh` (bench/append.c). Writers are processes, each with its own run of\n'
printf 'examples/refunds in one ledger, calling LookupOrder through `pw_broker_call()` with a no-op executor\n'
printf '(two events a call); the raw loop inserts rows of the same size into a table with the same columns\n'
printf 'and key, one row per transaction, prepared statement. Both: WAL, `synchronous=FULL`, a fresh database\n'
printf 'each round, on the disk under %s. Latency: of one event, from the start of its call to its commit\n' "$tmp"
printf '(pitwall), or of the transaction (raw), in µs.\n\n'
"$build/append" "$here/../examples/refunds/workflow.yaml" "$tmp" "$rounds" "$events"
printf '\n'
