#!/bin/bash
# Regenerates run.jsonl and hashes.txt from workflow.yaml with the pitwall
# binary given (default build/pitwall). Not part of the test suite: the
# vectors are fixed files, and a new run has new times and new hashes.
# Run it as root: the owners' commands (resume, approve, deny, resolve,
# unlock) are authenticated by a trust file, which must be owned by root.
#   bash tests/vectors/log/make.sh [PITWALL]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pw=$(realpath "${1:-build/pitwall}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
mkdir -m 755 trust
printf 'ops-lead: %s\n' "$(id -un)" >trust/owners
chmod 644 trust/owners
owner=(--as ops-lead --trust "$tmp/trust/owners")
call() { "$pw" call v1 "$@" --as agent-7 >/dev/null || true; }
note='{"ticket": "T-1", "amount": 50, "note": "Zoë: done ✓\n\t\"quoted\" \\ back"}'

"$pw" run start "$here/workflow.yaml" --run-id v1 --as operator >/dev/null
call Close '{"ticket": "T-1", "amount": 5}'                 # c1 reject: ILLEGAL_TRANSITION
call Open '{}'                                              # c2 allow, result ok, mints ticket_open@T-1
call Probe '{"code": 3}'                                    # c4 allow (decide[0]), result failed: EXIT_STATUS, uncorrected
call Probe '{"code": 5}'                                    # c6 allow, result correctable (errors.exit.5),
                                                            # c8 its retry (attempt 2), correctable again:
                                                            # escalated to uncorrected, then escalate
call Probe '{"code": 4}'                                    # c11 allow, result fatal (errors.exit.4), then halt
call Close '{"ticket": "T-1", "amount": 5}'                 # c14 reject: RUN_HALTED
"$pw" resume v1 "${owner[@]}" --note "the ticket service is back" >/dev/null
call Close "$note"                                          # c16 approval a16 by ops-lead
"$pw" approve a16 "${owner[@]}" --note "checked the ticket" >/dev/null
call Close '{"ticket": "T-1", "amount": 60}'                # c18 approval a18
"$pw" deny a18 "${owner[@]}" --reason "one refund per ticket" >/dev/null
call Close '{"ticket": "T-1", "amount": 500}'               # c20 block
call Close '{"ticket": "T-2", "amount": 5}'                 # c21 reject: CAP_MISMATCH
call Close '{"ticket": "T-1", "amount": "5"}'               # c22 reject: INPUT_INVALID
call Close '{"ticket": "T-1", "amount": 5, "amount": 6}'    # c23 reject: INPUT_MALFORMED
# c24 Hang: pitwall is killed while it runs, which leaves the call in doubt
"$pw" call v1 Hang '{}' --as agent-7 >/dev/null 2>&1 &
pid=$!
hang=
for _ in $(seq 100); do
	hang=$(pgrep -f "$here/bin/hang" || true)
	[ -n "$hang" ] && break
	sleep 0.05
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
# the program runs in its own session: end it and its sleep, by their ids
for p in $hang; do
	for c in $(pgrep -P "$p" || true); do kill "$c" 2>/dev/null || true; done
	kill "$p" 2>/dev/null || true
done
"$pw" resolve v1 c24 --outcome failed "${owner[@]}" --note "killed; nothing was changed" >/dev/null
call Close "$note"                                          # c26 allow APPROVED (a16), result ok: CLOSED
call ShellExec '{"cmd": "id"}'                              # c28 reject: UNKNOWN_ACTION, then halt (frozen), lockout
"$pw" unlock agent-7 "${owner[@]}" --note "a test of the lockout" >/dev/null

"$pw" export v1 >"$here/run.jsonl"
"$pw" verify "$here/run.jsonl" --spec "$here/workflow.yaml"
# seq and hash of each event, as a second implementation would compute them
sed -E 's/.*"hash":"(sha256:[0-9a-f]{64})".*"seq":([0-9]+).*/\2 \1/' "$here/run.jsonl" >"$here/hashes.txt"
