#!/bin/bash
# The verify benchmark (bench/README.md): `pitwall verify` over an exported
# run of 1,000,000 events, side by side with sha256sum and openssl dgst
# -sha256 over the same file, and the peak memory of verify for 100,000
# and for 1,000,000 events.
#
#   bench/verify.sh BUILD_DIR         (make bench: a release build in build-bench)
#
#   BENCH_ROUNDS  timed runs of each command (5); median, min and max are reported
#   BENCH_EVENTS  events of the large log (1000000)
#   BENCH_SMALL   events of the small log (100000)
#   BENCH_DATA    where the logs are kept between runs (BUILD_DIR/bench-data)
#
# BUILD_DIR must be configured with -Dbench=true (gen_log and timed). The
# logs are generated again only when gen_log or the spec is newer.
set -euo pipefail
build=$(realpath "${1:?usage: bench/verify.sh BUILD_DIR}")
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
runs=${BENCH_ROUNDS:-5}
big=${BENCH_EVENTS:-1000000}
small=${BENCH_SMALL:-100000}
data=${BENCH_DATA:-$build/bench-data}
spec=$here/workflow.yaml
pitwall=$build/pitwall
timed=$build/timed
sha256sum=$(command -v sha256sum)
openssl=$(command -v openssl)
for f in "$pitwall" "$build/gen_log" "$timed"; do
	[ -x "$f" ] || {
		echo "bench: $f is missing; configure $build with -Dbench=true (make bench)" >&2
		exit 2
	}
done
mkdir -p "$data"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- the logs ------------------------------------------------------------------
log_for() { echo "$data/run-$1.jsonl"; }
for n in "$small" "$big"; do
	log=$(log_for "$n")
	if [ ! -s "$log" ] || [ "$build/gen_log" -nt "$log" ] || [ "$spec" -nt "$log" ]; then
		echo "generating $n events ..." >&2
		"$build/gen_log" "$spec" "$n" >"$log.tmp"
		mv "$log.tmp" "$log"
	fi
	out=$("$pitwall" verify "$log" --spec "$spec")
	case $out in
	"VALID run lead-queue-1: $n events,"*) ;;
	*)
		echo "bench: $log does not verify: $out" >&2
		exit 1
		;;
	esac
done
# a changed byte is caught (the middle of the middle line of the small log)
mid=$(($(wc -l <"$(log_for "$small")") / 2))
awk -v n="$mid" 'NR == n { p = int(length($0) / 2); c = substr($0, p, 1) == "1" ? "2" : "1";
	$0 = substr($0, 1, p - 1) c substr($0, p + 1) } { print }' "$(log_for "$small")" >"$tmp/flip.jsonl"
if flip=$("$pitwall" verify "$tmp/flip.jsonl" --spec "$spec"); then
	echo "bench: a flipped byte went unnoticed: $flip" >&2
	exit 1
fi
"$here/check_gen.sh" "$build" 300 >"$tmp/check_gen.out"

# ---- timing ----------------------------------------------------------------------
big_log=$(log_for "$big")
bytes=$(stat -c %s "$big_log")
declare -A cmd=(
	[verify]="$pitwall verify $big_log --spec $spec"
	[sha256sum]="$sha256sum $big_log"
	[openssl]="$openssl dgst -sha256 $big_log"
	[verify_small]="$pitwall verify $(log_for "$small") --spec $spec"
)
names="verify sha256sum openssl verify_small"
# warm-up: everything in the page cache, and each program run once
cat "$big_log" "$(log_for "$small")" >/dev/null
for name in $names; do
	# the commands are word lists of paths without spaces
	# shellcheck disable=SC2086
	"$timed" /dev/null ${cmd[$name]} >/dev/null
done
for r in $(seq 1 "$runs"); do
	for name in $names; do
		# shellcheck disable=SC2086
		"$timed" "$tmp/$name.times" ${cmd[$name]} >/dev/null
	done
	echo "verify: round $r of $runs done" >&2
done

for name in $names; do
	awk '$4 != 0 { bad = 1 } END { exit bad }' "$tmp/$name.times" || {
		echo "bench: $name failed" >&2
		exit 1
	}
done

# col NAME N FORMAT [SCALE]: column N of NAME's rounds as "median (min-max)", divided by SCALE
col() { awk -v c="$2" -v s="${4:-1}" '{ print $c / s }' "$tmp/$1.times" | mmm "$3"; }
# per NAME: events/s and MB/s of each round
rate() { awk -v n="$2" '{ print n / $1 }' "$tmp/$1.times" | mmm "$3"; }
printf '## 5a. pitwall verify on %s events\n\n' "$big"
printf 'Command: `bench/verify.sh` (bench/gen_log, bench/timed). The log: %s events, %s bytes (%s bytes an\n' \
	"$big" "$bytes" "$((bytes / big))"
printf 'event), generated from bench/workflow.yaml, `VALID` before timing; a copy with one byte changed is a\n'
printf '`VIOLATION`; `bench/check_gen.sh`: %s. %s rounds after a warm-up (file in the page\n' \
	"$(tail -n 1 "$tmp/check_gen.out" | sed 's/^check_gen: //; s/\.$//')" "$runs"
printf 'cache), the commands interleaved in each round. Cells: median (min-max) of the rounds; MB = 10^6 bytes.\n\n'
printf '| command | wall s | CPU s | events/s | MB/s | peak RSS KiB |\n'
printf '|---|---:|---:|---:|---:|---:|\n'
for name in verify sha256sum openssl; do
	case $name in
	verify) label="pitwall verify" ;;
	openssl) label="openssl dgst -sha256 (baseline)" ;;
	*) label="sha256sum (baseline)" ;;
	esac
	printf '| %s | %s | %s | %s | %s | %s |\n' "$label" "$(col "$name" 1 %.3f)" "$(col "$name" 2 %.3f)" \
		"$(rate "$name" "$big" %.0f)" "$(rate "$name" "$(awk -v b="$bytes" 'BEGIN { print b / 1e6 }')" %.0f)" "$(col "$name" 3 %.0f)"
done
# per round: the ratio of throughputs, verify / baseline = baseline wall / verify wall
per_round() { paste "$tmp/$1.times" "$tmp/verify.times" | awk '{ print $1 / $5 }'; }
printf '\n- **verify / sha256sum throughput: %sx** (the issue of the verifier set 1.0x; see bench/README.md).\n' \
	"$(per_round sha256sum | mmm %.2f)"
printf -- '- verify / openssl throughput: %sx.\n' "$(per_round openssl | mmm %.2f)"
printf -- '- **Peak memory of verify: %s KiB for %s events, %s KiB for %s events.**\n\n' \
	"$(col verify_small 3 %.0f)" "$small" "$(col verify 3 %.0f)" "$big"
