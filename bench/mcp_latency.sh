#!/bin/bash
# What pitwall adds to one MCP tools/call (bench/README.md). Usage:
#   bench/mcp_latency.sh BUILD_DIR     (make bench runs it after verify.sh)
# BENCH_CALLS (1000): calls of each kind.
set -euo pipefail
build=$(realpath "${1:-build-bench}")
calls=${BENCH_CALLS:-1000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the action: /bin/cat of a file holding {}, pinned like any program
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
    run:
      program: /bin/cat
      sha256: "$(sha256sum /bin/cat | cut -c1-64)"
      args: ["$tmp/result.json"]
YAML
echo "# pitwall mcp: added latency of one tools/call ($(nproc) cores, $(date -u +%F))"
"$build/mcp_latency" "$build/pitwall" "$tmp/workflow.yaml" "$tmp" "$calls" /bin/cat "$tmp/result.json" \
	2>/dev/null | grep -v '^{'
