#!/bin/bash
# Black-box: owner approvals on the refunds example (issue 6). 30.00 runs;
# 120.00 waits for finance-lead; approved, it runs once; an approval by
# another owner, by an OS user the trust file does not name, through a trust
# file others can write, or after expiry is refused; a different input does
# not use an approval; 900.00 is blocked naming finance-lead. Every run's
# log then verifies, and a forged approval does not.
. "$(dirname "$0")/lib.sh"
cd "$PW_SOURCE_ROOT" || exit 1
root=$PWD
case $PW_BIN in /*) ;; *) PW_BIN=$root/$PW_BIN ;; esac
reseal=${PW_RESEAL:-$(dirname "$PW_BIN")/reseal}
cd "$TMP" || exit 1
refunds=$root/examples/refunds/workflow.yaml
me=$(id -un)

# The operator's trust file: owned by root, writable by nobody else. The
# tests run as root (as CI does); another user could not make one.
mkdir -m 755 trust
printf '# who may act as which owner\nfinance-lead: %s\nsupport-lead: %s\n' "$me" "$me" >trust/owners
printf 'finance-lead: nobody\n' >trust/other
chmod 644 trust/owners trust/other
T=(--trust "$TMP/trust/owners")

# call NAME RC REASON RUN ACTION INPUT [OPTIONS]
call() {
	local name=$1 want_rc=$2 want_reason=$3
	shift 3
	run_pw call "$@"
	local reason
	reason=$(jget "$out" '$.reason')
	if [ "$rc" = "$want_rc" ] && [ "$reason" = "$want_reason" ]; then ok "$name"; else
		not_ok "$name (exit $rc, reason '$reason'; wanted $want_rc $want_reason; ${out:0:300} $err)"
	fi
}
# refused NAME RC CODE ARGS...: pitwall ARGS exits RC and says CODE, recording nothing
refused() {
	local name=$1 want_rc=$2 code=$3 run=$4
	shift 4
	local before after
	before=$(events "$run")
	run_pw "$@"
	after=$(events "$run")
	if [ "$rc" = "$want_rc" ] && [[ $err == *"$code"* ]] && [ "$before" = "$after" ]; then
		ok "$name"
	else
		not_ok "$name (exit $rc, events $before -> $after; wanted $want_rc $code; $out $err)"
	fi
}
jlen() { sqlite3 :memory: "SELECT json_array_length(CAST(X'$(hexof "$1")' AS TEXT))"; }
events() { sqlite3 .pitwall/pitwall.db "SELECT count(*) FROM events WHERE run_id = '$1'"; }
last_kind() { sqlite3 .pitwall/pitwall.db "SELECT kind FROM events WHERE run_id = '$1' ORDER BY seq DESC LIMIT 1"; }
refunds_of() { sqlite3 ".pitwall/runs/$1/shop.db" "SELECT count(*) || ' ' || coalesce(sum(amount_cents), 0) FROM refunds"; }
verify_run() {
	"$PW_BIN" export "$1" >"$1.jsonl" 2>/dev/null
	run_pw verify "$1.jsonl" --spec "${2:-$refunds}"
	if [ "$rc" = 0 ] && [[ $out == "VALID run $1: "* ]]; then ok "the log of $1 verifies"; else
		not_ok "the log of $1 verifies (exit $rc: $out $err)"; fi
}
ISSUE='{"order_id":"ORD-1002","amount_cents":12000,"reason":"damaged"}'

# ---- 30.00 runs at once --------------------------------------------------------
run_pw run start "$refunds" --run-id f1
call "30.00: LookupOrder" 0 OK f1 LookupOrder '{"order_id":"ORD-1001"}'
call "30.00 runs at once (exit 0)" 0 OK f1 IssueRefund '{"order_id":"ORD-1001","amount_cents":3000,"reason":"damaged"}'
expect_eq "... one refund of 3000 cents" "$(refunds_of f1)" "1 3000"
verify_run f1

# ---- 900.00 is blocked, naming finance-lead ---------------------------------------
run_pw run start "$refunds" --run-id f3
call "900.00: LookupOrder" 0 OK f3 LookupOrder '{"order_id":"ORD-1001"}'
run_pw call f3 IssueRefund '{"order_id":"ORD-1001","amount_cents":90000,"reason":"damaged"}'
expect_eq "900.00 is blocked naming finance-lead (exit 4)" \
	"$rc $(jget "$out" '$.verdict') $(jget "$out" '$.reason') $(jget "$out" '$.owner')" \
	"4 block refund_over_500 finance-lead"
expect_eq "... and nothing is paid" "$(refunds_of f3)" "0 0"
run_pw pending f3
expect_eq "... a block is not an approval request" "$out" "no approval requests waiting"

# ---- 120.00 waits for finance-lead --------------------------------------------------
run_pw run start "$refunds" --run-id f2
call "120.00: LookupOrder" 0 OK f2 LookupOrder '{"order_id":"ORD-1002"}'
run_pw call f2 IssueRefund "$ISSUE"
aid=$(jget "$out" '$.approval_id')
exp=$(jget "$out" '$.expires_ms')
expect_eq "120.00 waits for finance-lead (exit 3)" \
	"$rc $(jget "$out" '$.verdict') $(jget "$out" '$.reason') $(jget "$out" '$.owner') $aid" \
	"3 approval refund_over_50 finance-lead a3"
expect_eq "... and nothing is paid" "$(refunds_of f2)" "0 0"
run_pw call f2 IssueRefund "$ISSUE"
expect_eq "asking again while it waits repeats the same request (same id and expiry)" \
	"$rc $(jget "$out" '$.approval_id') $(jget "$out" '$.expires_ms')" "3 $aid $exp"
run_pw pending f2 --json
expect_eq "pitwall pending lists exactly one request for the run" "$(jlen "$out")" 1
want_sha=sha256:$(printf '%s' '{"action":"IssueRefund","input":{"amount_cents":12000,"order_id":"ORD-1002","reason":"damaged"}}' | sha256sum | cut -c1-64)
expect_eq "... bound to the hash of the canonical call (action and input)" \
	"$(jget "$out" '$[0].call_sha256')" "$want_sha"
expect_eq "... showing the input, the owner and who asked" \
	"$(jget "$out" '$[0].input.amount_cents') $(jget "$out" '$[0].owner') $(jget "$out" '$[0].agent') $(jget "$out" '$[0].approved')" \
	"12000 finance-lead agent 0"
run_pw pending
if [[ $out == *"f2 $aid  waiting  IssueRefund"* && $out == *"owner finance-lead"* ]]; then
	ok "pitwall pending without a run lists it, readable"
else not_ok "pitwall pending without a run lists it, readable ($out)"; fi

# refusals: each exits 5 (or 1), says why, and records nothing
refused "an approval by another owner is refused (NOT_OWNER)" 5 NOT_OWNER f2 \
	approve "$aid" --as support-lead "${T[@]}"
refused "an owner the trust file does not give this OS user is refused (NOT_AUTHENTICATED)" 5 \
	NOT_AUTHENTICATED f2 approve "$aid" --as finance-lead --trust "$TMP/trust/other"
refused "an owner missing from the trust file is refused" 5 NOT_AUTHENTICATED f2 \
	approve "$aid" --as ml-lead "${T[@]}"
cp trust/owners trust/writable && chmod 666 trust/writable
refused "a trust file others can write is refused" 5 "writable by no one else" f2 \
	approve "$aid" --as finance-lead --trust "$TMP/trust/writable"
chmod 664 trust/writable
refused "... group-writable too" 5 "writable by no one else" f2 \
	approve "$aid" --as finance-lead --trust "$TMP/trust/writable"
mkdir -m 777 trust/open && cp trust/owners trust/open/owners && chmod 644 trust/open/owners
refused "a trust file in a directory others can write is refused" 5 "its directory" f2 \
	approve "$aid" --as finance-lead --trust "$TMP/trust/open/owners"
ln -s owners trust/link
refused "a trust file that is a symbolic link is refused" 5 "symbolic link" f2 \
	approve "$aid" --as finance-lead --trust "$TMP/trust/link"
refused "a missing trust file is refused (exit 1)" 1 "No such file" f2 \
	approve "$aid" --as finance-lead --trust "$TMP/trust/none"
refused "approving a request that does not exist fails" 1 "no approval request a99" f2 \
	approve a99 --as finance-lead "${T[@]}"
refused "a deny needs a reason" 2 "usage" f2 deny "$aid" --as finance-lead "${T[@]}"

# approved, it runs once
run_pw approve "$aid" --as finance-lead --note "customer called, box crushed" "${T[@]}"
expect_eq "finance-lead approves (exit 0), recorded by owner and OS user" \
	"$rc $(jget "$out" '$.kind') $(jget "$out" '$.by') $(jget "$out" '$.os_user') $(jget "$out" '$.call_sha256')" \
	"0 approve finance-lead $me $want_sha"
refused "approving twice is refused (APPROVAL_DECIDED)" 5 APPROVAL_DECIDED f2 \
	approve "$aid" --as finance-lead "${T[@]}"
expect_eq "... nothing ran at approval time" "$(refunds_of f2)" "0 0"
run_pw call f2 IssueRefund '{"order_id":"ORD-1002","amount_cents":12001,"reason":"damaged"}'
expect_eq "the approval cannot be applied to a different input: a new request" \
	"$rc $(jget "$out" '$.verdict') $(jget "$out" '$.approval_id')" "3 approval a6"
run_pw call f2 IssueRefund "$ISSUE"
expect_eq "the approved call runs (exit 0, reason OK, using $aid)" \
	"$rc $(jget "$out" '$.verdict') $(jget "$out" '$.reason') $(jget "$out" '$.approval_id') $(jget "$out" '$.state')" \
	"0 allow OK $aid REFUNDED"
expect_eq "... exactly one refund of 12000 cents" "$(refunds_of f2)" "1 12000"
"$PW_BIN" log f2 --json >f2.log
expect_eq "... its call event says APPROVED by the rule that asked, bound to the hash" \
	"$(grep '"verdict":"allow"' f2.log | tail -1 | sed -n 's/.*"approval_id":"\([^"]*\)".*"call_sha256":"\([^"]*\)".*"check":"\([^"]*\)".*"reason":"\([^"]*\)".*/\1 \2 \3 \4/p')" \
	"$aid $want_sha decide[1] APPROVED"
run_pw call f2 IssueRefund "$ISSUE" --as agent2
expect_eq "a second agent repeating the call does not run it again" \
	"$rc $(jget "$out" '$.reason') $(refunds_of f2)" "5 ILLEGAL_TRANSITION 1 12000"
run_pw pending f2 --json
expect_eq "the used approval is gone; the other request still waits" \
	"$(jlen "$out") $(jget "$out" '$[0].approval_id')" "1 a6"
run_pw deny a6 --as finance-lead --reason "wrong amount" "${T[@]}"
expect_eq "finance-lead denies the other request (exit 0)" "$rc $(jget "$out" '$.kind')" "0 deny"
run_pw pending f2
expect_eq "... and nothing waits any more" "$out" "no approval requests waiting"
verify_run f2

# a retried approved call still runs once: two agents race for one approval
run_pw run start "$refunds" --run-id f4
call "race: LookupOrder" 0 OK f4 LookupOrder '{"order_id":"ORD-1002"}'
RACE='{"order_id":"ORD-1002","amount_cents":6000,"reason":"goodwill"}'
run_pw call f4 IssueRefund "$RACE"
raid=$(jget "$out" '$.approval_id')
run_pw approve "$raid" --as finance-lead "${T[@]}"
for i in 1 2 3 4; do
	"$PW_BIN" call f4 IssueRefund "$RACE" --as "racer$i" >race$i.out 2>&1 &
done
wait
expect_eq "four agents racing with the approved call: it ran exactly once" \
	"$(refunds_of f4) $(grep -l '"reason":"OK"' race*.out | wc -l)" "1 6000 1"
verify_run f4

# ---- expiry ------------------------------------------------------------------------
cp -r "$root/examples/refunds" short
sed -i 's/expires: 24h/expires: 1500ms/' short/workflow.yaml
short=$TMP/short/workflow.yaml
run_pw run start "$short" --run-id x1
call "expiry: LookupOrder" 0 OK x1 LookupOrder '{"order_id":"ORD-1002"}'
run_pw call x1 IssueRefund "$ISSUE"
xaid=$(jget "$out" '$.approval_id')
sleep 1.7
refused "an expired request cannot be approved (APPROVAL_EXPIRED)" 5 APPROVAL_EXPIRED x1 \
	approve "$xaid" --as finance-lead "${T[@]}"
run_pw pending x1
expect_eq "... and pending no longer lists it" "$out" "no approval requests waiting"
run_pw call x1 IssueRefund "$ISSUE"
expect_eq "... asking again makes a new request" \
	"$rc $(jget "$out" '$.verdict') $([ "$(jget "$out" '$.approval_id')" != "$xaid" ] && echo new)" \
	"3 approval new"
yaid=$(jget "$out" '$.approval_id')
run_pw approve "$yaid" --as finance-lead "${T[@]}"
expect_eq "... approved in time (exit 0)" "$rc" 0
sleep 1.7
run_pw call x1 IssueRefund "$ISSUE"
expect_eq "an approval that expired before its use does not run the call: a new request" \
	"$rc $(jget "$out" '$.verdict') $([ "$(jget "$out" '$.approval_id')" != "$yaid" ] && echo new) $(refunds_of x1)" \
	"3 approval new 0 0"
verify_run x1 "$short"

# ---- the verifier replays approvals ----------------------------------------------------
n=$(grep -n '"kind":"approve"' f2.jsonl | head -1 | cut -d: -f1)
sed "${n}s/\"by\":\"finance-lead\"/\"by\":\"support-lead\"/" f2.jsonl >forged1.jsonl
"$reseal" <forged1.jsonl >forged1.sealed
run_pw verify forged1.sealed --spec "$refunds"
if [ "$rc" = 1 ] && [[ $out == "VIOLATION at event $((n - 1)): approval: "* ]]; then
	ok "an approval forged for another owner is a VIOLATION (approval)"
else not_ok "an approval forged for another owner is a VIOLATION (approval) ($rc $out $err)"; fi
grep -v '"kind":"approve"' f2.jsonl >forged2.jsonl
"$reseal" <forged2.jsonl >forged2.sealed
run_pw verify forged2.sealed --spec "$refunds"
if [ "$rc" = 1 ] && [[ $out == *": decision: "* ]]; then
	ok "an approved call whose approval was cut out of the log is a VIOLATION (decision)"
else not_ok "an approved call whose approval was cut out of the log is a VIOLATION ($rc $out $err)"; fi

finish
