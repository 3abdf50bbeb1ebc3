#!/bin/bash
# Regenerates run.jsonl and hashes.txt from workflow.yaml with the pitwall
# binary given (default build/pitwall). Not part of the test suite: the
# vectors are fixed files, and a new run has new times and new hashes.
#   bash tests/vectors/log/make.sh [PITWALL]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pw=$(realpath "${1:-build/pitwall}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
call() { "$pw" call v1 "$@" --as agent-7 >/dev/null || true; }

"$pw" run start "$here/workflow.yaml" --run-id v1 --as operator >/dev/null
call Close '{"ticket": "T-1", "amount": 5}'                 # reject: ILLEGAL_TRANSITION
call Open '{}'                                              # allow, result ok, mints ticket_open@T-1
call Probe '{}'                                             # allow, result failed: EXIT_STATUS
call Close '{"ticket": "T-1", "amount": 50}'                # approval by ops-lead
call Close '{"ticket": "T-1", "amount": 500}'               # block
call Close '{"ticket": "T-2", "amount": 5}'                 # reject: CAP_MISMATCH
call Close '{"ticket": "T-1", "amount": "5"}'               # reject: INPUT_INVALID
call Close '{"ticket": "T-1", "amount": 5, "amount": 6}'    # reject: INPUT_MALFORMED
# Hang is killed with pitwall while it runs: the call is left in doubt
"$pw" call v1 Hang '{}' --as agent-7 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do
	[ -n "$(pgrep -f "$here/bin/hang" || true)" ] && break
	sleep 0.05
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
pkill -f "$here/bin/hang" || true
pkill -f "^/bin/sleep 30$" || true
"$pw" resolve v1 c11 --outcome failed --as ops-lead --note "killed; nothing was changed" >/dev/null
call Close '{"ticket": "T-1", "amount": 7, "note": "Zoë: done ✓\n\t\"quoted\" \\ back"}'  # allow, result ok

"$pw" export v1 >"$here/run.jsonl"
"$pw" verify "$here/run.jsonl" --spec "$here/workflow.yaml"
# seq and hash of each event, as a second implementation would compute them
sed -E 's/.*"hash":"(sha256:[0-9a-f]{64})".*"seq":([0-9]+).*/\2 \1/' "$here/run.jsonl" >"$here/hashes.txt"
