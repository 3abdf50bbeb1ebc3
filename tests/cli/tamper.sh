#!/bin/bash
# Black-box: a research_v1 run is exported, then tampered with in every way
# a shell can: one byte flipped at sampled positions of every event, each
# event deleted in turn, two events swapped, events cut out of the middle,
# an edited spec. pitwall verify must name the event and the check each
# time, and pass the untampered export.
. "$(dirname "$0")/lib.sh"
cd "$PW_SOURCE_ROOT" || exit 1
root=$PWD
case $PW_BIN in /*) ;; *) PW_BIN=$root/$PW_BIN ;; esac
cd "$TMP" || exit 1
spec=$root/examples/research_v1/workflow.yaml

"$PW_BIN" run start "$spec" --run-id t1 >/dev/null
for c in 'PodUp {"name":"mhc-exp","gpu":"A100","count":4}' 'SweepStart {"manifest_id":"sha256:0000000000000000000000000000000000000000000000000000000000000000","timeout":600}' \
	'Bootstrap {}' 'Checkout {"branch":"release"}' 'Checkout {"branch":"main"}' 'UploadManifest {"csv":"sweep.csv"}'; do
	"$PW_BIN" call t1 ${c%% *} "${c#* }" >/dev/null
done
"$PW_BIN" export t1 >run.jsonl
n=$(wc -l <run.jsonl)
expect_eq "the export has one line per event" "$n" 11

# verifies FILE: exit 0 and VALID
run_pw verify run.jsonl --spec "$spec"
if [ "$rc" = 0 ] && [[ $out == "VALID run t1: 11 events, workflow $("$PW_BIN" id "$spec"), head sha256:"* ]]; then
	ok "the untampered export is VALID"
else
	not_ok "untampered (exit $rc: $out $err)"
fi

# caught NAME FILE WANT_SEQ [CHECK]: exit 1, VIOLATION naming event WANT_SEQ (and CHECK)
caught() {
	run_pw verify "$2" --spec "${4:-$spec}"
	if [ "$rc" = 1 ] && [[ $out == "VIOLATION at event $3: "* ]]; then
		ok "$1"
	else
		not_ok "$1 (exit $rc, wanted VIOLATION at event $3: $out $err)"
	fi
}

# one byte flipped at sampled positions of every event
flips=0
missed=0
for i in $(seq 1 "$n"); do
	line=$(sed -n "${i}p" run.jsonl)
	len=${#line}
	for pos in 1 $((len / 3)) $((len / 2)) $((len * 2 / 3)) $((len - 1)); do
		ch=${line:pos:1}
		case $ch in a) new=b ;; 0) new=1 ;; *) new=a ;; esac
		[ "$ch" = "$new" ] && new=c
		awk -v n="$i" -v p="$pos" -v c="$new" 'NR == n { $0 = substr($0, 1, p) c substr($0, p + 2) } { print }' \
			run.jsonl >flip.jsonl
		flips=$((flips + 1))
		run_pw verify flip.jsonl --spec "$spec"
		if [ "$rc" != 1 ] || [[ $out != "VIOLATION at event $((i - 1)): "* ]]; then
			missed=$((missed + 1))
			echo "# flip at line $i byte $pos ('$ch' -> '$new') not caught: exit $rc $out $err"
		fi
	done
done
expect_eq "each of $flips one-byte flips (5 positions in each of $n events) is caught at its event" "$missed" 0

for i in $(seq 1 "$n"); do
	sed "${i}d" run.jsonl >del.jsonl
	[ "$i" = "$n" ] && continue
	caught "deleting event $((i - 1)) is caught" del.jsonl $((i - 1))
done
sed "${n}d" run.jsonl >cut-tail.jsonl
run_pw verify cut-tail.jsonl --spec "$spec"
expect_eq "cutting the last event leaves a shorter valid log (see SECURITY.md: checkpoints)" "$rc" 0

awk 'NR == 4 { hold = $0; next } NR == 5 { print; print hold; next } { print }' run.jsonl >swap.jsonl
caught "swapping events 3 and 4 is caught" swap.jsonl 3
sed '5,8d' run.jsonl >middle.jsonl
caught "cutting events 4-7 out of the middle is caught" middle.jsonl 4

cp -r "$root/examples/research_v1" edited
sed -i 's/maximum: 86400/maximum: 864000/' edited/workflow.yaml
caught "the run checked against an edited spec is caught at the genesis" run.jsonl 0 edited/workflow.yaml

# Forgeries by someone who can rewrite the whole chain: the edit is resealed
# (every later seq, prev and hash recomputed), so only replaying the
# decisions can catch it.
reseal=${PW_RESEAL:-$(dirname "$PW_BIN")/reseal}
forged() {
	"$reseal" <"$2" >"$2.sealed" || { not_ok "$1 (reseal failed)"; return; }
	run_pw verify "$2.sealed" --spec "$spec"
	if [ "$rc" = 1 ] && [[ $out == "VIOLATION at event $3: $4: "* ]]; then ok "$1"; else
		not_ok "$1 (exit $rc, wanted VIOLATION at event $3: $4: ...; got $out $err)"; fi
}
"$reseal" <run.jsonl >resealed.jsonl
run_pw verify resealed.jsonl --spec "$spec"
expect_eq "resealing an untouched log changes nothing it checks" "$rc" 0
sed '4s/"reason":"ILLEGAL_TRANSITION"/"reason":"DEFAULT_ALLOW"/; 4s/"verdict":"reject"/"verdict":"allow"/' \
	run.jsonl >forge1.jsonl
forged "the rejected SweepStart turned into an allow is caught by decision replay" forge1.jsonl 3 decision
sed '3s/"caps":\[/"caps":[{"cap":"manifest_signed","value":"sha256:0000000000000000000000000000000000000000000000000000000000000000"},/' \
	run.jsonl >forge2.jsonl
forged "a capability added to PodUp's result is caught by outcome replay" forge2.jsonl 2 outcome
sed -n '2p' run.jsonl | sed 's/"action":"PodUp"/"action":"ShellExec"/' >shell.line
{ sed -n '1,3p' run.jsonl; cat shell.line; sed -n '4,$p' run.jsonl; } >forge3.jsonl
forged "an allowed ShellExec call inserted into the log is caught" forge3.jsonl 3 decision
sed '3s/"state":"POD_READY"/"state":"CHECKED_OUT"/' run.jsonl >forge4.jsonl
forged "a result that jumps to another state is caught" forge4.jsonl 2 outcome
sed '1s/"workflow_id":"sha256:[0-9a-f]*"/"workflow_id":"sha256:0000000000000000000000000000000000000000000000000000000000000000"/' \
	run.jsonl >forge5.jsonl
forged "a genesis that pins another workflow is caught" forge5.jsonl 0 genesis

printf 'not json\n' >garbage.jsonl
run_pw verify garbage.jsonl --spec "$spec"
expect_eq "a file that is not JSON Lines is unusable input (exit 2)" "$rc" 2
run_pw verify missing.jsonl --spec "$spec"
expect_eq "a missing file is unusable input (exit 2)" "$rc" 2
: >empty.jsonl
run_pw verify empty.jsonl --spec "$spec"
expect_eq "an empty log is a violation" "$rc" 1
finish
