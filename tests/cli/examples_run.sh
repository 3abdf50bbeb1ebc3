#!/bin/bash
# Black-box: the support_recovery, refunds and lead_routing examples run end
# to end through the broker (pitwall run start + pitwall call), their real
# SQLite business data changed by their programs, with the refusals each
# workflow is there to make, and an owner's approval that lets a waiting call run.
. "$(dirname "$0")/lib.sh"
cd "$PW_SOURCE_ROOT" || exit 1
root=$PWD
case $PW_BIN in /*) ;; *) PW_BIN=$root/$PW_BIN ;; esac
cd "$TMP" || exit 1
make_trust sales-lead

# call NAME RC REASON RUN ACTION INPUT
call() {
	local name=$1 want_rc=$2 want_reason=$3
	shift 3
	run_pw call "$@"
	local reason
	reason=$(jget "$out" '$.reason')
	if [ "$rc" = "$want_rc" ] && [ "$reason" = "$want_reason" ]; then
		ok "$name"
	else
		not_ok "$name (exit $rc, reason '$reason'; wanted $want_rc $want_reason; ${out:0:300} $err)"
	fi
}
db() { sqlite3 ".pitwall/runs/$1/$2" "$3"; }

# ---- support_recovery ----
run_pw run start "$root/examples/support_recovery/workflow.yaml" --run-id s1
expect_eq "support_recovery: run starts in INIT" "$(jget "$out" '$.state')" INIT
call "support_recovery: FixAddress before anything is ILLEGAL_TRANSITION" 5 ILLEGAL_TRANSITION \
	s1 FixAddress '{"case_id":"C-2001","order_id":"ORD-1001","address_id":"ADDR-1"}'
call "support_recovery: InspectCase" 0 OK s1 InspectCase '{"case_id":"C-2001"}'
expect_eq "... CASE_OPEN" "$(jget "$out" '$.state')" CASE_OPEN
call "support_recovery: InspectOrder of another order than the case's is CAP_MISMATCH" 5 CAP_MISMATCH \
	s1 InspectOrder '{"order_id":"ORD-1002"}'
call "support_recovery: InspectOrder" 0 OK s1 InspectOrder '{"order_id":"ORD-1001"}'
call "support_recovery: InspectShipment" 0 OK s1 InspectShipment '{"order_id":"ORD-1001"}'
call "support_recovery: InspectPayment" 0 OK s1 InspectPayment '{"order_id":"ORD-1001"}'
call "support_recovery: FixAddress before the address is validated is CAP_MISSING" 5 CAP_MISSING \
	s1 FixAddress '{"case_id":"C-2001","order_id":"ORD-1001","address_id":"ADDR-1"}'
call "support_recovery: ValidateAddress with SQL-looking text runs as data" 0 OK s1 ValidateAddress \
	'{"order_id":"ORD-1001","line1":"1 Main St'"'"'); DROP TABLE orders; --","city":"Juneau","postal_code":"99801","country":"US"}'
call "support_recovery: ValidateAddress" 0 OK s1 ValidateAddress \
	'{"order_id":"ORD-1001","line1":"12 Elm Street","city":"Springfield","postal_code":"62704","country":"US"}'
addr=$(jget "$out" '$.result.address_id')
call "support_recovery: FixAddress with an address never validated is CAP_MISMATCH" 5 CAP_MISMATCH \
	s1 FixAddress '{"case_id":"C-2001","order_id":"ORD-1001","address_id":"ADDR-4"}'
call "support_recovery: FixAddress" 0 OK \
	s1 FixAddress "{\"case_id\":\"C-2001\",\"order_id\":\"ORD-1001\",\"address_id\":\"$addr\"}"
expect_eq "... RESOLVED" "$(jget "$out" '$.state')" RESOLVED
expect_eq "... the orders table still exists and the order's note names the new address" \
	"$(db s1 shop.db "SELECT instr(note, '12 Elm Street') > 0 FROM orders WHERE id='ORD-1001'")" 1

# ---- refunds ----
refunds=$root/examples/refunds/workflow.yaml
run_pw run start "$refunds" --run-id f1
call "refunds: IssueRefund without a lookup is ILLEGAL_TRANSITION" 5 ILLEGAL_TRANSITION \
	f1 IssueRefund '{"order_id":"ORD-1001","amount_cents":3000,"reason":"damaged"}'
call "refunds: LookupOrder" 0 OK f1 LookupOrder '{"order_id":"ORD-1001"}'
call "refunds: a refund of another order than the one looked up is CAP_MISMATCH" 5 CAP_MISMATCH \
	f1 IssueRefund '{"order_id":"ORD-1002","amount_cents":3000,"reason":"damaged"}'
call "refunds: a fractional amount is INPUT_INVALID" 5 INPUT_INVALID \
	f1 IssueRefund '{"order_id":"ORD-1001","amount_cents":30.5,"reason":"damaged"}'
run_pw call f1 IssueRefund '{"order_id":"ORD-1001","amount_cents":90000,"reason":"damaged"}'
expect_eq "refunds: 900.00 is blocked (exit 4)" "$rc $(jget "$out" '$.verdict') $(jget "$out" '$.owner')" \
	"4 block finance-lead"
run_pw call f1 IssueRefund '{"order_id":"ORD-1001","amount_cents":12000,"reason":"damaged"}'
expect_eq "refunds: 120.00 waits for finance-lead (exit 3)" \
	"$rc $(jget "$out" '$.verdict') $(jget "$out" '$.owner')" "3 approval finance-lead"
call "refunds: 30.00 runs" 0 OK f1 IssueRefund '{"order_id":"ORD-1001","amount_cents":3000,"reason":"damaged"}'
expect_eq "... REFUNDED" "$(jget "$out" '$.state')" REFUNDED
expect_eq "... one refund row, keyed by the run id" \
	"$(db f1 shop.db "SELECT count(*), sum(amount_cents) FROM refunds")" "1|3000"

# ---- lead_routing ----
run_pw run start "$root/examples/lead_routing/workflow.yaml" --run-id l1
call "lead_routing: ClassifyLead of spam" 0 OK l1 ClassifyLead '{"lead_id":"L-3"}'
call "lead_routing: EnrichLead of the unqualified lead is CAP_MISSING" 5 CAP_MISSING \
	l1 EnrichLead '{"lead_id":"L-3"}'
run_pw run start "$root/examples/lead_routing/workflow.yaml" --run-id l2
call "lead_routing: ClassifyLead" 0 OK l2 ClassifyLead '{"lead_id":"L-1"}'
call "lead_routing: EnrichLead of another lead is CAP_MISMATCH" 5 CAP_MISMATCH \
	l2 EnrichLead '{"lead_id":"L-2"}'
call "lead_routing: EnrichLead" 0 OK l2 EnrichLead '{"lead_id":"L-1"}'
expect_eq "... enterprise" "$(jget "$out" '$.result.segment')" enterprise
run_pw call l2 AssignOwner '{"lead_id":"L-1","segment":"enterprise"}'
expect_eq "lead_routing: an enterprise lead waits for sales-lead (exit 3)" \
	"$rc $(jget "$out" '$.verdict') $(jget "$out" '$.owner')" "3 approval sales-lead"
aid=$(jget "$out" '$.approval_id')
run_pw pending l2 --json
expect_eq "... pending lists it, waiting, with its input" \
	"$(jget "$out" '$[0].approval_id') $(jget "$out" '$[0].approved') $(jget "$out" '$[0].input.segment')" "$aid 0 enterprise"
run_pw approve "$aid" --as sales-lead --trust "$TRUST"
expect_eq "... sales-lead approves it (exit 0)" "$rc" 0
call "lead_routing: the approved AssignOwner runs" 0 OK l2 AssignOwner '{"lead_id":"L-1","segment":"enterprise"}'
expect_eq "... ASSIGNED to the enterprise rep" "$(jget "$out" '$.state') $(jget "$out" '$.result.owner.id')" "ASSIGNED REP-1"
line=$("$PW_BIN" log l2 --json | grep '"kind":"call"' | tail -n 1)
expect_eq "... its call event is allow APPROVED, naming the approval" \
	"$(jget "$line" '$.verdict') $(jget "$line" '$.reason') $(jget "$line" '$.check') $(jget "$line" '$.approval_id')" \
	"allow APPROVED decide[0] $aid"
call "lead_routing: NotifyOwner" 0 OK l2 NotifyOwner '{"lead_id":"L-1"}'
expect_eq "... NOTIFIED" "$(jget "$out" '$.state')" NOTIFIED
run_pw run start "$root/examples/lead_routing/workflow.yaml" --run-id l3
call "lead_routing: ClassifyLead L-2" 0 OK l3 ClassifyLead '{"lead_id":"L-2"}'
call "lead_routing: EnrichLead L-2" 0 OK l3 EnrichLead '{"lead_id":"L-2"}'
seg=$(jget "$out" '$.result.segment')
call "lead_routing: AssignOwner with a segment other than the one minted is CAP_MISMATCH" 5 CAP_MISMATCH \
	l3 AssignOwner '{"lead_id":"L-2","segment":"enterprise"}'
call "lead_routing: AssignOwner" 0 OK l3 AssignOwner "{\"lead_id\":\"L-2\",\"segment\":\"$seg\"}"
call "lead_routing: NotifyOwner" 0 OK l3 NotifyOwner '{"lead_id":"L-2"}'
expect_eq "... NOTIFIED" "$(jget "$out" '$.state')" NOTIFIED
call "lead_routing: NotifyOwner again is ILLEGAL_TRANSITION" 5 ILLEGAL_TRANSITION \
	l3 NotifyOwner '{"lead_id":"L-2"}'

for r in s1 f1 l1 l2 l3; do
	if "$PW_BIN" log "$r" >/dev/null 2>"$TMP/logerr"; then
		ok "$r: the log reads back through the hash chain"
	else
		not_ok "$r: log (exit $?: $(cat "$TMP/logerr"))"
	fi
done
for r in s1 f1 l1 l2 l3; do
	verifies "$r"
done
finish
