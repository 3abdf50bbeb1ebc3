#!/bin/bash
# make bench: run every benchmark and write bench/RESULTS.md (bench/README.md).
#
#   bench/run.sh BUILD_DIR     BUILD_DIR: a release build configured with -Dbench=true
#
# The knobs of each script (BENCH_ROUNDS, ...) pass through. A benchmark that
# fails gets a section saying so, the others still run, and the exit status is 1.
set -uo pipefail
build=$(realpath "${1:?usage: bench/run.sh BUILD_DIR}")
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
failed=0
steps="decide append mcp_latency verify spawn"
for step in $steps; do
	echo "== bench: $step" >&2
	if ! "$here/$step.sh" "$build" >"$tmp/$step.md" 2>"$tmp/$step.err"; then
		failed=1
		{
			printf '## %s: FAILED\n\n`bench/%s.sh` did not finish; the last lines it printed:\n\n' "$step" "$step"
			tail -n 15 "$tmp/$step.err" | sed 's/^/    /'
			printf '\n'
		} >"$tmp/$step.md"
	fi
	grep -v '^$' "$tmp/$step.err" | tail -n 3 >&2 || true
done

commit=$(git -C "$here/.." rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$here/.." status --porcelain --untracked-files=no -- . ':!bench/RESULTS.md' 2>/dev/null | head -n 1)
os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")
virt=$(systemd-detect-virt 2>/dev/null || true)
buildtype=$(grep -o '"name": "buildtype", "value": "[a-z]*"' "$build/meson-info/intro-buildoptions.json" 2>/dev/null |
	sed 's/.*"value": //; s/"//g')
{
	printf '# Results\n\n'
	printf 'Written by `make bench` (bench/run.sh) from one run; not edited by hand. bench/README.md says what\n'
	printf 'each figure measures and how, and discusses the results. Every figure is quoted beside a baseline\n'
	printf 'measured in the same script, as a median (min-max) over repeated rounds.\n\n'
	printf -- '- date: %s, %s min in all\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$((($(date +%s) - start + 59) / 60))"
	printf -- '- commit: %s%s\n' "$commit" "${dirty:+ (with uncommitted changes)}"
	printf -- '- machine: %s, %s cores, %s MiB of memory, %s%s\n' \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" "$(nproc)" \
		"$(awk '/^MemTotal/ { print int($2 / 1024) }' /proc/meminfo)" "$(uname -sr)" "${virt:+, virtualized ($virt)}"
	printf -- '- load average: %s at the start, %s at the end (the machine may be shared: compare ratios\n' "$load0" \
		"$(cut -d' ' -f1-3 /proc/loadavg)"
	printf '  from this file, not figures across runs)\n'
	printf -- '- software: %s; %s; SQLite %s; node %s; pitwall built %s\n\n' "$os" \
		"$(cc --version 2>/dev/null | head -n 1)" "$(pkg-config --modversion sqlite3 2>/dev/null || echo '?')" \
		"$(node --version 2>/dev/null || echo none)" "${buildtype:-?}"
	printf '## Targets\n\n'
	for step in $steps; do
		grep -h '^- \*\*\(Target\|Peak\|verify / sha256sum\|cedar-wasm: not measured\)' "$tmp/$step.md" || true
		grep -h '^## .*FAILED' "$tmp/$step.md" | sed 's/^## /- **/; s/$/**/' || true
	done
	printf '\n'
	for step in $steps; do
		cat "$tmp/$step.md"
	done
} >"$here/RESULTS.md.tmp" && mv "$here/RESULTS.md.tmp" "$here/RESULTS.md"
echo "bench: wrote bench/RESULTS.md$([ "$failed" = 0 ] || echo ', with failures')" >&2
exit "$failed"
