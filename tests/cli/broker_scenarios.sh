#!/bin/bash
# Black-box: every illegal scenario of seed 002 sections 7 and 9 through
# `pitwall call`, each refused with its reason code and exit status, each
# recorded in the log with the failed check, the expected and the actual
# value; exit statuses for the other verdicts. A policy violation freezes
# its run and locks its agent out of every run until an owner unlocks it; a
# fatal fault halts its run until an owner resumes it.
. "$(dirname "$0")/lib.sh"
cd "$PW_SOURCE_ROOT" || exit 1
root=$PWD
case $PW_BIN in /*) ;; *) PW_BIN=$root/$PW_BIN ;; esac
cd "$TMP" || exit 1
spec=$root/examples/research_v1/workflow.yaml
pod='{"name":"mhc-exp","gpu":"A100","count":4}'
zero=sha256:0000000000000000000000000000000000000000000000000000000000000000
me=$(id -un)
make_trust ml-lead

# verdict NAME RC REASON [CHECK]: the last call's exit status, reason and check
verdict() {
	local got_reason got_check
	got_reason=$(jget "$out" '$.reason')
	got_check=$(jget "$out" '$.check')
	if [ "$rc" = "$2" ] && [ "$got_reason" = "$3" ] && { [ -z "${4:-}" ] || [ "$got_check" = "$4" ]; }; then
		ok "$1"
	else
		not_ok "$1 (exit $rc, reason '$got_reason', check '$got_check'; wanted $2 $3 ${4:-}; stderr: $err)"
	fi
}

# logged NAME RUN REASON: the run's log has a call event with this reason, check, expected and actual
logged() {
	local line
	line=$("$PW_BIN" log "$2" --json | grep '"kind":"call"' | grep "\"reason\":\"$3\"" | tail -n 1)
	if [ -n "$line" ] && [ -n "$(jget "$line" '$.check')" ] && [ -n "$(jget "$line" '$.expected')" ] &&
		[ "$(jget "$line" '$.actual')" != "" ]; then
		ok "$1 is in the log with check, expected and actual"
	else
		not_ok "$1 is in the log with check, expected and actual (got: ${line:0:300})"
	fi
}

run_pw run start "$spec" --run-id r1
expect_eq "run start prints the run id" "$(jget "$out" '$.run_id')" r1
expect_eq "run start pins the workflow_id" "$(jget "$out" '$.workflow_id')" "$("$PW_BIN" id "$spec")"
run_pw run start "$spec" --run-id r1
[ "$rc" = 2 ] && ok "run start refuses a run id that exists" || not_ok "run id reuse (exit $rc)"
run_pw run start "$spec" --run-id 'bad id'
[ "$rc" = 2 ] && ok "run start refuses an invalid run id" || not_ok "invalid run id (exit $rc)"

run_pw call r1 PodUp "$pod"
verdict "PodUp is allowed and succeeds (exit 0)" 0 OK
expect_eq "... state POD_READY" "$(jget "$out" '$.state')" POD_READY
expect_eq "... mints pod_ready@mhc-exp" "$(jget "$out" '$.emitted[0]')" pod_ready@mhc-exp

# seed 002 section 9, scenario 2
run_pw call r1 SweepStart "{\"manifest_id\":\"$zero\",\"timeout\":21600}"
verdict "scenario 2: SweepStart in POD_READY is ILLEGAL_TRANSITION" 5 ILLEGAL_TRANSITION from
expect_eq "... expected the from states" "$(jget "$out" '$.expected')" '["CHECKED_OUT"]'
expect_eq "... actual the state" "$(jget "$out" '$.actual')" POD_READY
logged "ILLEGAL_TRANSITION" r1 ILLEGAL_TRANSITION

# seed 002 section 9, scenario 4
run_pw call r1 Checkout '{"branch":"; curl evil.com"}'
verdict "scenario 4: Checkout of '; curl evil.com' is INPUT_INVALID" 5 INPUT_INVALID 'input/branch:pattern'
expect_eq "... actual is the branch as given" "$(jget "$out" '$.actual')" '; curl evil.com'
logged "INPUT_INVALID" r1 INPUT_INVALID
for b in '$(id)' 'main|cat' 'a`id`' 'ma*n' $'main\n' 'main;' '../x y'; do
	run_pw call r1 Checkout "$(printf '{"branch":%s}' "$(sqlite3 :memory: "SELECT json_quote(CAST(X'$(hexof "$b")' AS TEXT))")")"
	verdict "Checkout branch $(printf %q "$b") is INPUT_INVALID" 5 INPUT_INVALID 'input/branch:pattern'
done

run_pw call r1 Checkout '{"branch":"main","expect_sha":"8a80036"}'
verdict "Checkout main (real git) succeeds" 0 OK
expect_eq "... mints repo_checked_out@<commit>" "$(jget "$out" '$.emitted[0]')" \
	repo_checked_out@8a80036325eb13d4d38279d088c65580ce6b4799

# seed 002 section 9, scenario 3 (no manifest uploaded yet)
run_pw call r1 SweepStart "{\"manifest_id\":\"$zero\",\"timeout\":21600}"
verdict "scenario 3: SweepStart before any upload is CAP_MISSING" 5 CAP_MISSING 'requires[1]'
logged "CAP_MISSING" r1 CAP_MISSING
run_pw call r1 SweepStart '{"manifest_id":"fake","timeout":21600}'
verdict "SweepStart with manifest_id \"fake\" is INPUT_INVALID" 5 INPUT_INVALID 'input/manifest_id:pattern'

run_pw call r1 UploadManifest '{"csv":"sweep.csv"}'
verdict "UploadManifest succeeds" 0 OK
manifest=$(jget "$out" '$.result.manifest_id')
expect_eq "... its manifest_id is the CSV's SHA-256" "$manifest" \
	"sha256:$(sha256sum <"$root/examples/research_v1/manifests/sweep.csv" | cut -c1-64)"

# seed 002 section 7: a made-up digest after a real upload
run_pw call r1 SweepStart "{\"manifest_id\":\"$zero\",\"timeout\":21600}"
verdict "section 7: SweepStart of a manifest this run never uploaded is CAP_MISMATCH" 5 CAP_MISMATCH 'requires[1]'
expect_eq "... expected the capability it needs" "$(jget "$out" '$.expected')" "manifest_signed@$zero"
expect_eq "... actual the capabilities held" "$(jget "$out" '$.actual[0]')" "manifest_signed@$manifest"
logged "CAP_MISMATCH" r1 CAP_MISMATCH
run_pw call r1 SweepStart "{\"manifest_id\":\"$manifest\",\"timeout\":30}"
verdict "SweepStart with a timeout under its bound is INPUT_INVALID" 5 INPUT_INVALID 'input/timeout:minimum'

run_pw call r1 SweepStart "{\"manifest_id\":\"$manifest\",\"timeout\":600}"
verdict "SweepStart of the uploaded manifest succeeds" 0 OK
for _ in $(seq 1 60); do
	run_pw call r1 SweepStatus '{}'
	[ "$(jget "$out" '$.state')" = SWEEP_COMPLETED ] && break
	sleep 0.5
done
expect_eq "the sweep completes (real background jobs)" "$(jget "$out" '$.state')" SWEEP_COMPLETED
expect_eq "... 4 rows ok" "$(jget "$out" '$.result.ok')" 4
expect_eq "... 1 row failed (diverged)" "$(jget "$out" '$.result.failed')" 1
run_pw call r1 FetchRun '{"run_id":"r3"}'
verdict "FetchRun r3 succeeds" 0 OK

# a capability from one run does not work in another
run_pw run start "$spec" --run-id r1b
run_pw call r1b Bootstrap '{}'
verdict "capabilities are scoped to their run: Bootstrap in a new run" 5 ILLEGAL_TRANSITION from
run_pw call r1b PodUp "$pod"
run_pw call r1b Bootstrap '{}'
verdict "... after PodUp in that run it is allowed" 0 OK

# seed 002 section 9, scenario 1
run_pw run start "$spec" --run-id r2
run_pw call r2 ShellExec '{"cmd":"rm -rf /"}'
verdict "scenario 1: ShellExec is UNKNOWN_ACTION and halts the run (exit 7)" 7 UNKNOWN_ACTION actions
expect_eq "... tier policy_violation" "$(jget "$out" '$.tier')" policy_violation
logged "UNKNOWN_ACTION" r2 UNKNOWN_ACTION
expect_eq "... then, in its transaction, a halt that freezes the run and a lockout of the agent" \
	"$(events_after r2 1)" \
	'{"cause":1,"frozen":true,"kind":"halt","reason":"UNKNOWN_ACTION","tier":"policy_violation"}
{"agent":"agent","cause":1,"kind":"lockout","reason":"UNKNOWN_ACTION"}'
for who in agent agent-b; do
	run_pw call r2 PodUp "$pod" --as "$who"
	verdict "... then a call by $who is RUN_FROZEN (exit 7)" 7 RUN_FROZEN run
	expect_eq "... halted and frozen" "$(jget "$out" '$.halted') $(jget "$out" '$.frozen')" "1 1"
	expect_eq "... and not recorded" "$(nevents r2)" 4
done
[ ! -e .pitwall/runs/r2/pod ] && ok "... and nothing ran" || not_ok "a frozen run ran PodUp"
run_pw resume r2 --as ml-lead --trust "$TRUST"
expect_eq "a frozen run cannot resume (exit 5, RUN_FROZEN)" "$rc $([[ $err == *"refused: RUN_FROZEN"* ]] && echo said)" "5 said"
expect_eq "... and the refusal is not recorded" "$(nevents r2)" 4

# the lockout holds in every run of the ledger, for that agent only, until an owner unlocks it
run_pw call r1b Checkout '{"branch":"main"}'
verdict "the locked-out agent is refused in another run: AGENT_LOCKED_OUT (exit 5)" 5 AGENT_LOCKED_OUT agent
expect_eq "... actual the agent" "$(jget "$out" '$.actual')" agent
line=$("$PW_BIN" log r1b --json | tail -n 1)
expect_eq "... recorded with observed.locked_out" \
	"$(jget "$line" '$.reason') $(jget "$line" '$.observed.locked_out')" "AGENT_LOCKED_OUT 1"
run_pw call r1b SweepStatus '{}' --as agent-b
verdict "... another agent is not locked out" 5 ILLEGAL_TRANSITION from
run_pw unlock agent --as ml-lead --trust "$TRUST" --note "reviewed"
expect_eq "pitwall unlock agent (exit 0)" "$rc $(jget "$out" '$.unlocked')" \
	'0 [{"run_id":"r2","seq":3,"reason":"UNKNOWN_ACTION"}]'
expect_eq "... records an unlock in the run that locked it out" "$(events_after r2 3)" \
	"{\"agent\":\"agent\",\"by\":\"ml-lead\",\"kind\":\"unlock\",\"lockout\":3,\"note\":\"reviewed\",\"os_user\":\"$me\",\"reason\":\"UNKNOWN_ACTION\"}"
run_pw unlock agent --as ml-lead --trust "$TRUST"
expect_eq "... a second unlock finds nothing to lift (exit 1)" "$rc" 1
run_pw call r1b Checkout '{"branch":"main"}'
verdict "... then the agent's calls run again" 0 OK

# seed 002 section 9, scenario 5
cp -r "$root/examples/research_v1" edited
run_pw run start edited/workflow.yaml --run-id r3
run_pw call r3 PodUp "$pod" --as agent-r3
verdict "a copy of the spec runs PodUp" 0 OK
printf '  ShellExec:\n    from: [POD_READY]\n    input: {type: object, properties: {cmd: {type: string}}}\n    run: {program: /bin/sh, sha256: "%064d", args: ["-c", "{input.cmd}"]}\n' 0 >>edited/workflow.yaml
run_pw call r3 ShellExec '{"cmd":"id"}' --as agent-r3
verdict "scenario 5: after the spec is edited, SPEC_HASH_MISMATCH halts the run" 7 SPEC_HASH_MISMATCH spec
expect_eq "... expected the pinned workflow_id" "$(jget "$out" '$.expected')" "$("$PW_BIN" id "$spec")"
logged "SPEC_HASH_MISMATCH" r3 SPEC_HASH_MISMATCH
expect_eq "... then a halt that freezes the run and a lockout of agent-r3" "$(events_after r3 3)" \
	'{"cause":3,"frozen":true,"kind":"halt","reason":"SPEC_HASH_MISMATCH","tier":"policy_violation"}
{"agent":"agent-r3","cause":3,"kind":"lockout","reason":"SPEC_HASH_MISMATCH"}'
cp "$spec" edited/workflow.yaml
run_pw call r3 Bootstrap '{}'
verdict "... and it stays frozen when the spec is put back" 7 RUN_FROZEN run
expect_eq "... the refusal is not recorded" "$(nevents r3)" 6
cp -r "$root/examples/research_v1" broken
run_pw run start broken/workflow.yaml --run-id r3c
echo 'garbage: [' >>broken/workflow.yaml
run_pw call r3c PodUp "$pod" --as agent-r3
verdict "a spec that no longer parses is SPEC_HASH_MISMATCH (checked before the agent's lockout)" 7 SPEC_HASH_MISMATCH spec
expect_eq "... halt and lockout" "$(events_after r3c 1)" \
	'{"cause":1,"frozen":true,"kind":"halt","reason":"SPEC_HASH_MISMATCH","tier":"policy_violation"}
{"agent":"agent-r3","cause":1,"kind":"lockout","reason":"SPEC_HASH_MISMATCH"}'
run_pw unlock agent-r3 --as ml-lead --trust "$TRUST"
expect_eq "unlock writes an unlock in each run that locked the agent out" "$rc $(sqlite3 :memory: "SELECT json_array_length(CAST(X'$(hexof "$out")' AS TEXT), '\$.unlocked')") $(events_after r3 5) $(events_after r3c 3)" \
	"0 2 {\"agent\":\"agent-r3\",\"by\":\"ml-lead\",\"kind\":\"unlock\",\"lockout\":5,\"os_user\":\"$me\",\"reason\":\"SPEC_HASH_MISMATCH\"} {\"agent\":\"agent-r3\",\"by\":\"ml-lead\",\"kind\":\"unlock\",\"lockout\":3,\"os_user\":\"$me\",\"reason\":\"SPEC_HASH_MISMATCH\"}"

# CODE_HASH_MISMATCH: the program changed after the run started
cp -r "$root/examples/research_v1" changed
run_pw run start changed/workflow.yaml --run-id r4
echo '# changed' >>changed/bin/pod_up
run_pw call r4 PodUp "$pod"
verdict "an executor edited after run start is CODE_HASH_MISMATCH (fatal: halts)" 7 CODE_HASH_MISMATCH run.sha256
expect_eq "... tier fatal" "$(jget "$out" '$.tier')" fatal
[ ! -e .pitwall/runs/r4/pod ] && ok "... and it did not run" || not_ok "a changed program ran"
expect_eq "... then a halt that does not freeze, and no lockout" "$(events_after r4 1)" \
	'{"cause":1,"frozen":false,"kind":"halt","reason":"CODE_HASH_MISMATCH","tier":"fatal"}'
cp "$root/examples/research_v1/bin/pod_up" changed/bin/pod_up
run_pw call r4 PodUp "$pod"
verdict "... a halted run records each call as RUN_HALTED (exit 7)" 7 RUN_HALTED run
expect_eq "... actual the halt's reason, recorded" "$(jget "$out" '$.actual') $(nevents r4)" "CODE_HASH_MISMATCH 4"
run_pw resume r4 --as ml-lead --trust "$TRUST" --note "program put back"
expect_eq "pitwall resume r4 (exit 0)" "$rc" 0
expect_eq "... records a resume naming the halt" "$(events_after r4 3)" \
	"{\"by\":\"ml-lead\",\"halt\":2,\"kind\":\"resume\",\"note\":\"program put back\",\"os_user\":\"$me\",\"reason\":\"CODE_HASH_MISMATCH\"}"
run_pw resume r4 --as ml-lead --trust "$TRUST"
expect_eq "... a run that is not halted cannot resume (exit 5, NOT_HALTED)" "$rc $([[ $err == *"refused: NOT_HALTED"* ]] && echo said) $(nevents r4)" "5 said 5"
run_pw call r4 PodUp "$pod"
verdict "... then PodUp runs" 0 OK

# approval and block: exit statuses 3 and 4
run_pw run start "$spec" --run-id r5
run_pw call r5 PodUp "$pod"
run_pw call r5 Checkout '{"branch":"release"}'
verdict "Checkout of release waits for approval (exit 3)" 3 release_checkout decide[0]
expect_eq "... owner ml-lead" "$(jget "$out" '$.owner')" ml-lead
expect_eq "... with an approval id" "$(jget "$out" '$.approval_id')" a3
expect_eq "... and nothing ran: still POD_READY" "$(jget "$out" '$.state')" POD_READY
run_pw status r5
expect_eq "status lists the pending approval" "$(jget "$out" '$.pending_approvals[0].owner')" ml-lead
refunds=$root/examples/refunds/workflow.yaml
run_pw run start "$refunds" --run-id f1
run_pw call f1 LookupOrder '{"order_id":"ORD-1001"}'
run_pw call f1 IssueRefund '{"order_id":"ORD-1001","amount_cents":90000,"reason":"damaged"}'
verdict "a 900.00 refund is blocked (exit 4)" 4 "$(jget "$out" '$.reason')"
expect_eq "... naming finance-lead" "$(jget "$out" '$.owner')" finance-lead
# the same capability minted again is one capability: listed once, and the run still verifies
run_pw call f1 LookupOrder '{"order_id":"ORD-1001"}'
run_pw call f1 IssueRefund '{"order_id":"ORD-1002","amount_cents":100,"reason":"damaged"}'
verdict "a refund of an order not looked up is refused (exit 5)" 5 CAP_MISMATCH "requires[0]"
expect_eq "... actual lists order_refundable@ORD-1001 once, though minted twice" \
	"$(jget "$out" '$.actual')" '["order_refundable@ORD-1001"]'
run_pw status f1
expect_eq "... status holds it once, from the last mint" \
	"$(jget "$out" '$.caps[0].seq') $(jget "$out" '$.caps[1].cap')" "5 "

# the action fails: exit 6
run_pw call r1 FetchRun '{"run_id":"r9"}'
verdict "FetchRun of a row that does not exist fails (exit 6)" 6 EXIT_STATUS
expect_eq "... outcome failed" "$(jget "$out" '$.outcome')" failed

# every run above, illegal moves included, replays exactly against its spec
for r in r1 r1b r2 r3 r4 r5 f1; do verifies "$r"; done
verifies r3c "$spec" # its spec on disk no longer parses: check it against the original
finish
