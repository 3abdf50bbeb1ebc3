#!/bin/bash
# Black-box: a research_v1 run is exported, then tampered with in every way
# a shell can: one byte flipped at sampled positions of every event, each
# event deleted in turn, two events swapped, events cut out of the middle,
# an edited spec, the halt and lockout after a policy violation dropped,
# changed, reordered or added. pitwall verify must name the event and the
# check each time, and pass the untampered export.
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

# The events a fault brings (a halt, a lockout) are part of the record: a
# forger who reseals the chain cannot drop, change or add one.
"$PW_BIN" run start "$spec" --run-id t2 >/dev/null
"$PW_BIN" call t2 PodUp '{"name":"mhc-exp","gpu":"A100","count":4}' --as a2 >/dev/null
"$PW_BIN" call t2 ShellExec '{"cmd":"id"}' --as a2 >/dev/null
"$PW_BIN" export t2 >t2.jsonl
expect_eq "a run frozen by UNKNOWN_ACTION: genesis, PodUp's call and result, ShellExec's call, halt, lockout" \
	"$(sed -E 's/.*"kind":"([a-z]+)".*/\1/' t2.jsonl | tr '\n' ' ')" "genesis call result call halt lockout "
run_pw verify t2.jsonl --spec "$spec"
expect_eq "... and it is VALID" "$rc ${out%%, workflow*}" "0 VALID run t2: 6 events"
ffor() { # ffor NAME FILE SEQ CHECK: like forged, for the run t2
	"$reseal" <"$2" >"$2.sealed" || { not_ok "$1 (reseal failed)"; return; }
	run_pw verify "$2.sealed" --spec "$spec"
	if [ "$rc" = 1 ] && [[ $out == "VIOLATION at event $3: $4: "* ]]; then ok "$1"; else
		not_ok "$1 (exit $rc, wanted VIOLATION at event $3: $4: ...; got $out $err)"; fi
}
sed '5d' t2.jsonl >f1.jsonl
ffor "the halt cut out after UNKNOWN_ACTION is caught (followup)" f1.jsonl 4 followup
sed '5s/"frozen":true/"frozen":false/' t2.jsonl >f2.jsonl
ffor "a halt that does not freeze after a policy violation is caught (followup)" f2.jsonl 4 followup
sed '6s/"agent":"a2"/"agent":"a3"/' t2.jsonl >f3.jsonl
ffor "a lockout of another agent is caught (followup)" f3.jsonl 5 followup
sed '6d' t2.jsonl >f4.jsonl
sed -n '6p' t2.jsonl >>f4.jsonl
sed -n '5p' t2.jsonl >>f4.jsonl
sed -i '5d' f4.jsonl
ffor "the lockout before the halt is caught (followup)" f4.jsonl 4 followup
{ sed -n '1,3p' t2.jsonl; sed -n '5p' t2.jsonl; sed -n '4,$p' t2.jsonl; } >f5.jsonl
ffor "a halt that no fault called for is caught (followup)" f5.jsonl 3 followup
{ cat t2.jsonl; sed -n '2p' t2.jsonl | sed 's/"call_id":"c1"/"call_id":"c6"/; s/"agent":"a2"/"agent":"b"/; s/"state":"INIT"/"state":"POD_READY"/'; } >f6.jsonl
ffor "an allowed call after the freeze is caught (decision)" f6.jsonl 6 decision
sed -n '6p' t2.jsonl | sed 's/"agent":"a2",//; s/"cause":3/"by":"ml-lead","halt":4/; s/"kind":"lockout"/"kind":"resume","os_user":"root"/; s/"seq":5/"seq":6/' >resume.line
cat t2.jsonl resume.line >f7.jsonl
ffor "a resume of the frozen run is caught (resume)" f7.jsonl 6 resume

printf 'not json\n' >garbage.jsonl
run_pw verify garbage.jsonl --spec "$spec"
expect_eq "a file that is not JSON Lines is unusable input (exit 2)" "$rc" 2
run_pw verify missing.jsonl --spec "$spec"
expect_eq "a missing file is unusable input (exit 2)" "$rc" 2
: >empty.jsonl
run_pw verify empty.jsonl --spec "$spec"
expect_eq "an empty log is a violation" "$rc" 1
# A resume or an unlock must name the very halt or lockout it lifts (the log vectors' run).
vec=$PW_SOURCE_ROOT/tests/vectors/log
vforged() {
	"$reseal" <"$2" >"$2.sealed" || { not_ok "$1 (reseal failed)"; return; }
	run_pw verify "$2.sealed" --spec "$vec/workflow.yaml"
	if [ "$rc" = 1 ] && [[ $out == "VIOLATION at event $3: $4: "* ]]; then ok "$1"; else
		not_ok "$1 (exit $rc, wanted VIOLATION at event $3: $4: ...; got $out $err)"; fi
}
n=$(grep -n '"kind":"resume"' "$vec/run.jsonl" | head -1 | cut -d: -f1)
sed "${n}s/\"halt\":\([0-9]*\)/\"halt\":1\1/" "$vec/run.jsonl" >vresume.jsonl
vforged "a resume that names another halt is caught" vresume.jsonl $((n - 1)) resume
n=$(grep -n '"kind":"unlock"' "$vec/run.jsonl" | head -1 | cut -d: -f1)
sed "${n}s/\"reason\":\"[A-Z_]*\"/\"reason\":\"SOMETHING_ELSE\"/" "$vec/run.jsonl" >vunlock.jsonl
vforged "an unlock that names another lockout is caught" vunlock.jsonl $((n - 1)) unlock
n=$(grep -n '"kind":"deny"' "$vec/run.jsonl" | head -1 | cut -d: -f1)
sed "${n}s/,\"reason\":\"[^\"]*\"//" "$vec/run.jsonl" >vdeny.jsonl
vforged "a deny without its reason is caught" vdeny.jsonl $((n - 1)) approval

finish
