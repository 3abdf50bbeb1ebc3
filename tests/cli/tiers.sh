#!/bin/bash
# Black-box: RAS error tiers (issue 6). A correctable failure is retried with
# backoff up to the action's limit; correctable failures counted over a
# sliding window escalate to uncorrected at the threshold, per action and per
# run; an uncorrected failure fails the call and the run goes on; a fatal one
# halts the run until an owner resumes it; a policy violation freezes the run
# and locks the agent out of every run until an owner unlocks it; a log
# found tampered with does too. pitwall stats counts it all, also in the
# Prometheus text format, and every log verifies.
. "$(dirname "$0")/lib.sh"
cd "$PW_SOURCE_ROOT" || exit 1
root=$PWD
case $PW_BIN in /*) ;; *) PW_BIN=$root/$PW_BIN ;; esac
cd "$TMP" || exit 1
me=$(id -un)
mkdir -m 755 trust
printf 'ops-lead: %s\n' "$me" >trust/owners
chmod 644 trust/owners
T=(--trust "$TMP/trust/owners")

# bin/flaky FAILS CODE KEY: fails with CODE the first FAILS times it runs for KEY
# (counted in its working directory, the run's), then prints {}. CODE "kill":
# it kills itself with SIGKILL; "sleep": it sleeps 5 s.
mkdir -p spec/bin
cat >spec/bin/flaky <<'SH'
#!/bin/sh
n=0
[ -f "count.$3" ] && read -r n <"count.$3"
echo $((n + 1)) >"count.$3"
if [ "$n" -lt "$1" ]; then
	case $2 in
	kill) kill -9 $$ ;;
	sleep) exec /bin/sleep 5 ;;
	*) echo "failing with $2" >&2; exit "$2" ;;
	esac
fi
echo '{}'
SH
chmod +x spec/bin/flaky
pin=$(sha256sum spec/bin/flaky | cut -c1-64)
action() { # NAME ERRORS [TIMEOUT]
	cat <<YAML
  $1:
    from: [S0]
    input:
      type: object
      additionalProperties: false
      required: [fails, code, key]
      properties:
        fails: {type: integer, minimum: 0, maximum: 100}
        code: {type: string, pattern: "^([0-9]{1,3}|kill|sleep)\$"}
        key: {type: string, pattern: "^[a-z0-9]{1,16}\$"}
    run:
      program: bin/flaky
      sha256: "$pin"
      args: ["{input.fails}", "{input.code}", "{input.key}"]
      timeout: ${3:-10s}
    errors: $2
YAML
}
{
	cat <<YAML
pitwall: 1
name: tiers
owners:
  ops-lead: {title: Ops lead}
states: [S0, DONE]
initial: S0
terminal: [DONE]
default: allow
errors:
  escalate: {count: 6, window: 10m}
actions:
YAML
	action Retry '{exit: {"75": correctable, "70": fatal}, retry: {max: 2, backoff: 150ms}, escalate: {count: 10, window: 10m}}'
	action Esc '{exit: {"75": correctable}, escalate: {count: 3, window: 2s}}'
	action Other '{exit: {"75": correctable}}'
	action Plain '{exit: {"75": correctable}, escalate: {count: 10, window: 10m}}' 1s
	action Soft '{timeout: correctable, signal: correctable, escalate: {count: 10, window: 10m}}' 300ms
} >spec/workflow.yaml
spec=$TMP/spec/workflow.yaml
run_pw check "$spec"
expect_eq "the tiers spec checks" "$rc" 0

call() { # RUN ACTION FAILS CODE KEY [OPTIONS]
	local r=$1 a=$2
	run_pw call "$r" "$a" "{\"fails\":$3,\"code\":\"$4\",\"key\":\"$5\"}" "${@:6}"
}
field() { jget "$out" "\$.$1"; }
ev() { # RUN SEQ MEMBER: a member of an event of the log
	sqlite3 .pitwall/pitwall.db "SELECT json_extract(body, '\$.$3') FROM events WHERE run_id = '$1' AND seq = $2"
}
kinds() { sqlite3 .pitwall/pitwall.db "SELECT group_concat(kind, ' ') FROM (SELECT kind FROM events WHERE run_id = '$1' ORDER BY seq)"; }
nevents() { sqlite3 .pitwall/pitwall.db "SELECT count(*) FROM events WHERE run_id = '$1'"; }
verify_run() {
	"$PW_BIN" export "$1" >"$1.jsonl" 2>/dev/null
	run_pw verify "$1.jsonl" --spec "$spec"
	if [ "$rc" = 0 ] && [[ $out == "VALID run $1: "* ]]; then ok "the log of $1 verifies"; else
		not_ok "the log of $1 verifies (exit $rc: $out $err)"; fi
}
start() { "$PW_BIN" run start "$spec" --run-id "$1" >/dev/null; }

# ---- correctable: retried with backoff --------------------------------------------
start ra
call ra Retry 2 75 a
expect_eq "a correctable failure is retried until it succeeds (exit 0, 3 attempts)" \
	"$rc $(field outcome) $(field attempts)" "0 ok 3"
expect_eq "... each attempt is a call decided afresh, then its result" \
	"$(kinds ra)" "genesis call result call result call result"
expect_eq "... the retries name the first attempt and count up" \
	"$(ev ra 3 retry_of) $(ev ra 3 attempt) $(ev ra 5 retry_of) $(ev ra 5 attempt)" "c1 2 c1 3"
expect_eq "... the failures are correctable" "$(ev ra 2 tier) $(ev ra 4 tier) $(ev ra 6 outcome)" \
	"correctable correctable ok"
gap1=$(($(ev ra 3 time_ms) - $(ev ra 2 time_ms)))
gap2=$(($(ev ra 5 time_ms) - $(ev ra 4 time_ms)))
if [ "$gap1" -ge 150 ] && [ "$gap2" -ge 300 ]; then ok "... after a backoff that doubles (${gap1} ms, ${gap2} ms)"; else
	not_ok "... after a backoff that doubles (150 then 300 ms; got ${gap1} ms, ${gap2} ms)"; fi
call ra Retry 9 75 b
expect_eq "retries stop at errors.retry.max: 1 + 2 attempts, then the call fails (exit 6)" \
	"$rc $(field outcome) $(field tier) $(field attempts)" "6 failed correctable 3"
call ra Retry 0 0 c
expect_eq "the run goes on after a correctable failure" "$rc $(field outcome)" "0 ok"
verify_run ra

# ---- escalation edges: per action, over a sliding window ---------------------------------
start rc
call rc Esc 1 75 e1
call rc Esc 1 75 e2
expect_eq "two correctable failures of Esc (threshold 3 in 2s) stay correctable" \
	"$rc $(field tier)" "6 correctable"
sleep 2.2
call rc Esc 1 75 e3
expect_eq "failures older than the window do not count: the third, 2.2 s later, is correctable" \
	"$(field tier)" correctable
call rc Esc 1 75 e4
expect_eq "... two in the window: still correctable" "$(field tier)" correctable
n=$(($(nevents rc) + 2)) # the call, its result, then the escalate event
call rc Esc 1 75 e5
expect_eq "the third within the window escalates to uncorrected" "$rc $(field tier)" "6 uncorrected"
expect_eq "... followed by an escalate event (scope action, 3 of 3 within 2000 ms)" \
	"$(ev rc $n kind) $(ev rc $n scope) $(ev rc $n count) $(ev rc $n threshold) $(ev rc $n window_ms) $(ev rc $n action)" \
	"escalate action 3 3 2000 Esc"
call rc Esc 1 75 e6
expect_eq "... and so is the next while the trend lasts" "$(field tier)" uncorrected
verify_run rc

# ---- escalation per run: across actions -------------------------------------------------
start rr
call rr Esc 1 75 r1
call rr Esc 1 75 r2
call rr Other 1 75 r3
call rr Other 1 75 r4
call rr Other 1 75 r5
expect_eq "five correctable failures across actions (run threshold 6, Esc's 3, Other's 6): correctable" \
	"$(field tier)" correctable
n=$(($(nevents rr) + 2))
call rr Other 1 75 r6
expect_eq "the sixth of the run escalates, scope run" \
	"$(field tier) $(ev rr $n kind) $(ev rr $n scope) $(ev rr $n count) $(ev rr $n threshold)" \
	"uncorrected escalate run 6 6"
verify_run rr

# ---- uncorrected: the call fails, the run goes on ------------------------------------------
start ru
call ru Plain 1 1 u1
expect_eq "a non-zero status the spec does not map is uncorrected (exit 6)" \
	"$rc $(field tier) $(field check)" "6 uncorrected exit"
call ru Plain 1 sleep u2
expect_eq "a timeout is uncorrected by default" "$(field reason) $(field tier) $(field check)" \
	"TIMEOUT uncorrected run.timeout"
call ru Plain 1 kill u3
expect_eq "a death by signal is uncorrected by default" "$(field reason) $(field tier) $(field signal)" \
	"KILLED_BY_SIGNAL uncorrected 9"
call ru Soft 1 sleep u4
expect_eq "errors.timeout: correctable classifies a timeout" "$(field reason) $(field tier) $(field check)" \
	"TIMEOUT correctable errors.timeout"
call ru Soft 1 kill u5
expect_eq "errors.signal: correctable classifies a death by signal" "$(field tier) $(field check)" \
	"correctable errors.signal"
call ru Plain 0 0 u6
expect_eq "the run goes on after uncorrected failures" "$rc $(field outcome) $(field halted)" "0 ok 0"
verify_run ru

# ---- fatal: halt until an owner resumes -------------------------------------------------------
start rf
n=$(nevents rf)
call rf Retry 1 70 f1
expect_eq "a fatal exit status halts the run (exit 7), and is not retried" \
	"$rc $(field tier) $(field halted) $(kinds rf)" "7 fatal 1 genesis call result halt"
expect_eq "... the halt event names the reason and the result that caused it" \
	"$(ev rf 3 reason) $(ev rf 3 tier) $(ev rf 3 cause) $(ev rf 3 frozen)" "EXIT_STATUS fatal 2 0"
call rf Plain 0 0 f2
expect_eq "then nothing runs: RUN_HALTED (exit 7), recorded" "$rc $(field reason) $(nevents rf)" "7 RUN_HALTED 5"
run_pw resume rf --as ops-lead --trust "$TMP/trust/none"
expect_eq "resume without a trust file is refused" "$rc" 1
run_pw resume rf --as nobody-lead "${T[@]}"
expect_eq "resume by someone the trust file does not name is refused (exit 5)" "$rc" 5
run_pw resume rf --as ops-lead --note "disk replaced" "${T[@]}"
expect_eq "ops-lead resumes the run (a resume event by owner and OS user)" \
	"$rc $(jget "$out" '$.kind') $(jget "$out" '$.by') $(jget "$out" '$.os_user') $(jget "$out" '$.halt')" \
	"0 resume ops-lead $me 3"
call rf Plain 0 0 f3
expect_eq "... and calls run again" "$rc $(field outcome)" "0 ok"
run_pw resume rf --as ops-lead "${T[@]}"
expect_eq "resuming a run that is not halted is refused (NOT_HALTED)" "$rc ${err##*refused: }" \
	"5 NOT_HALTED: run rf is not halted"
verify_run rf

# ---- policy violation: freeze, lock the agent out of every run ---------------------------------
start rp
start rq
call rp Plain 0 0 p1 --as bot
run_pw call rp ShellExec '{}' --as bot
expect_eq "an unknown action is a policy violation: rejected, the run halts (exit 7)" \
	"$rc $(field reason) $(field tier)" "7 UNKNOWN_ACTION policy_violation"
expect_eq "... halt (frozen) and lockout of the agent follow the call in the log" \
	"$(kinds rp) $(ev rp 4 frozen) $(ev rp 5 agent) $(ev rp 5 reason)" \
	"genesis call result call halt lockout 1 bot UNKNOWN_ACTION"
n=$(nevents rp)
call rp Plain 0 0 p2 --as bot
expect_eq "a frozen run records nothing more: RUN_FROZEN (exit 7)" "$rc $(field reason) $(nevents rp)" \
	"7 RUN_FROZEN $n"
call rp Plain 0 0 p3 --as someone-else
expect_eq "... not even from another agent" "$rc $(field reason) $(nevents rp)" "7 RUN_FROZEN $n"
call rq Plain 0 0 q1 --as bot
expect_eq "the agent is locked out of every run (AGENT_LOCKED_OUT, exit 5, recorded)" \
	"$rc $(field reason) $(field check) $(ev rq 1 observed.locked_out)" "5 AGENT_LOCKED_OUT agent 1"
call rq Plain 0 0 q2 --as helper
expect_eq "... other agents are not" "$rc $(field outcome)" "0 ok"
run_pw resume rp --as ops-lead "${T[@]}"
expect_eq "a frozen run cannot be resumed (RUN_FROZEN)" "$rc $(cut -d: -f1 <<<"${err##*refused: }")" "5 RUN_FROZEN"
run_pw unlock bot --as nobody-lead "${T[@]}"
expect_eq "unlock by someone the trust file does not name is refused (exit 5)" "$rc" 5
run_pw unlock bot --as ops-lead --note "prompt fixed" "${T[@]}"
expect_eq "ops-lead unlocks the agent: an unlock event in the run that locked it out" \
	"$rc $(jget "$out" '$.unlocked[0].run_id') $(jget "$out" '$.unlocked[0].seq') $(kinds rp | awk '{print $NF}')" \
	"0 rp 5 unlock"
call rq Plain 0 0 q3 --as bot
expect_eq "... and it may call again elsewhere" "$rc $(field outcome)" "0 ok"
run_pw unlock bot --as ops-lead "${T[@]}"
expect_eq "unlocking an agent that is not locked out fails (exit 1)" "$rc" 1
call rp Plain 0 0 p4 --as bot
expect_eq "the frozen run stays frozen after the unlock" "$(field reason)" RUN_FROZEN
verify_run rp
verify_run rq

# ---- a log tampered with, found when a run is opened: freeze and lockout -------------------------
start rt
call rt Plain 0 0 t1 --as mallory
sqlite3 .pitwall/pitwall.db "DROP TRIGGER events_no_update;
  UPDATE events SET body = replace(body, '\"t1\"', '\"t9\"') WHERE run_id = 'rt' AND seq = 1;"
call rt Plain 0 0 t2 --as mallory
expect_eq "a call to a run whose log does not verify is refused (exit 2)" "$rc" 2
expect_eq "... the run is halted and frozen, and the agent locked out" \
	"$(kinds rt | awk '{print $(NF-1), $NF}') $(sqlite3 .pitwall/pitwall.db "SELECT json_extract(body, '\$.reason') FROM events WHERE run_id = 'rt' AND kind = 'halt'")" \
	"halt lockout LOG_TAMPERED"
call rq Plain 0 0 q4 --as mallory
expect_eq "... out of every run" "$rc $(field reason)" "5 AGENT_LOCKED_OUT"

# ---- stats ------------------------------------------------------------------------------------
run_pw stats ra
if [[ $out == *"retries 4"* && $out == *"correctable 5"* ]]; then ok "pitwall stats counts retries and tiers"; else
	not_ok "pitwall stats counts retries and tiers ($out)"; fi
run_pw stats --format prometheus
prom=$out
has() { if grep -qxF "$2" <<<"$prom"; then ok "prometheus: $1"; else not_ok "prometheus: $1 (no line '$2')"; fi; }
has "retries per action" 'pitwall_retries_total{run="ra",action="Retry"} 4'
has "escalations per action" 'pitwall_escalations_total{run="rc",action="Esc"} 2'
has "faults by tier" 'pitwall_errors_total{run="ru",action="Plain",tier="uncorrected"} 3'
has "policy violations" 'pitwall_errors_total{run="rp",action="ShellExec",tier="policy_violation"} 1'
has "halts" 'pitwall_halts_total{run="rf"} 1'
has "lockouts" 'pitwall_lockouts_total{run="rp"} 1'
has "unlocks" 'pitwall_unlocks_total{run="rp"} 1'
has "frozen runs" 'pitwall_run_frozen{run="rp"} 1'
bad=$(grep -v '^# \(HELP\|TYPE\) pitwall_[a-z_]* ' <<<"$prom" |
	grep -cvE '^pitwall_[a-z_]+\{run="[^"]*"(,[a-z]+="[^"]*")*\} [0-9]+$')
expect_eq "every line is a HELP, a TYPE or a sample of the text exposition format" "$bad" 0
types=$(grep -c '^# TYPE ' <<<"$prom")
helps=$(grep -c '^# HELP ' <<<"$prom")
expect_eq "... each metric has its HELP and TYPE once" "$helps $types" "12 12"

finish
