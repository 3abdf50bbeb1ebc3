#!/bin/bash
# Check that bench/gen_log writes the events the real broker writes: make
# the generator's first calls through `pitwall call`, export the run, and
# compare it with the generator's log of the same calls. Times, durations,
# expiries and therefore hashes differ between the two; everything else
# must be byte for byte the same.
#
#   bench/check_gen.sh BUILD_DIR [EVENTS]      (default 300 events)
#
# BUILD_DIR is a build configured with -Dbench=true (make bench does it).
set -euo pipefail
build=$(realpath "${1:?usage: bench/check_gen.sh BUILD_DIR [EVENTS]}")
events=${2:-300}
here=$(cd "$(dirname "$0")" && pwd)
spec=$here/workflow.yaml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$build/gen_log" --run-id check --calls "$spec" "$events" >"$tmp/calls.tsv"
"$build/gen_log" --run-id check "$spec" "$events" >"$tmp/gen.jsonl"
cd "$tmp"
"$build/pitwall" run start "$spec" --run-id check --as operator >/dev/null
while IFS=$'\t' read -r agent action input; do
	"$build/pitwall" call check "$action" "$input" --as "$agent" >/dev/null || true
done <"$tmp/calls.tsv"
"$build/pitwall" export check | head -n "$events" >"$tmp/real.jsonl"
"$build/pitwall" verify "$tmp/real.jsonl" --spec "$spec" >/dev/null
"$build/pitwall" verify "$tmp/gen.jsonl" --spec "$spec" >/dev/null

normalize() {
	sed -E -e 's/"(time_ms|duration_ms|expires_ms)":[0-9]+/"\1":T/g' \
		-e 's/"(hash|prev)":"sha256:[0-9a-f]{64}"/"\1":H/g' "$1"
}
normalize "$tmp/real.jsonl" >"$tmp/real.norm"
normalize "$tmp/gen.jsonl" >"$tmp/gen.norm"
if ! diff "$tmp/real.norm" "$tmp/gen.norm" >"$tmp/diff"; then
	echo "check_gen: the generator's events differ from the broker's:" >&2
	head -20 "$tmp/diff" >&2
	exit 1
fi
echo "check_gen: the first $(wc -l <"$tmp/gen.jsonl") events match the broker's ($(cut -f2 "$tmp/calls.tsv" | sort | uniq -c | tr -s ' \n' ' '))"
