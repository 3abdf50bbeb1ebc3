#!/bin/bash
# Black-box: the "uncorrected" error tier on a real research_v1 run (issue 6:
# the call fails, the run continues). Row r5 of manifests/sweep.csv trains
# with a learning rate that drives its loss to NaN; its job writes
# {"ok":false,"error":"loss is NaN"}. Through pitwall (run start, call):
#
# - the sweep still completes: SweepStatus moves the run to SWEEP_COMPLETED
#   with 4 rows ok and 1 failed;
# - FetchRun r5 exits 6 (allowed, the action failed); its result event has
#   outcome failed, tier uncorrected, reason EXIT_STATUS, check exit, exit 65,
#   and the program's stderr names the NaN; it is not retried and does not
#   halt the run;
# - r5's artifacts are isolated in failed/r5/ of the run's directory, and
#   nothing of r5 is in outputs/;
# - FetchRun of every other row, before and after r5's, succeeds into
#   outputs/<row>/ with the digests it reports;
# - pitwall status counts the calls (one failed), and the exported log
#   replays as VALID with pitwall verify.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$PW_SOURCE_ROOT"
root=$PWD
case $PW_BIN in /*) ;; *) PW_BIN=$root/$PW_BIN ;; esac
# SweepStart's jobs may still be writing if a check failed early: retry once.
trap 'rm -rf "$TMP" 2>/dev/null || { sleep 2; rm -rf "$TMP"; }' EXIT
trap 'echo "FAIL line $LINENO: unexpected error (exit $?)"' ERR
cd "$TMP"
spec=$root/examples/research_v1/workflow.yaml
run=nan1
dir=$TMP/.pitwall/runs/$run

# pw ARGS...: run_pw (lib.sh) that a non-zero status does not stop under set -e.
pw() {
	rc=0
	"$PW_BIN" "$@" >"$TMP/.out" 2>"$TMP/.err" || rc=$?
	out=$(cat "$TMP/.out")
	err=$(cat "$TMP/.err")
}
calls=0
# call NAME RC ACTION INPUT: pitwall call in the run; its exit status is RC.
call() {
	local name=$1 want=$2
	shift 2
	pw call "$run" "$@"
	calls=$((calls + 1))
	if [ "$rc" = "$want" ]; then ok "$name (exit $rc)"; else
		not_ok "$name (exit $rc, wanted $want; ${out:0:400} $err)"; fi
}
# holds NAME COMMAND...: COMMAND succeeds.
holds() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
sha() { sha256sum <"$1" | cut -c1-64; }

# ---- the run, up to the sweep ----
pw run start "$spec" --run-id "$run"
expect_eq "run start (exit 0)" "$rc" 0
expect_eq "... pins the spec's workflow_id" "$(jget "$out" '$.workflow_id')" "$("$PW_BIN" id "$spec")"
call "PodUp" 0 PodUp '{"name":"mhc-exp","gpu":"A100","count":4}'
call "Bootstrap" 0 Bootstrap '{}'
call "Checkout main" 0 Checkout '{"branch":"main","expect_sha":"8a80036"}'
call "UploadManifest sweep.csv" 0 UploadManifest '{"csv":"sweep.csv"}'
manifest=$(jget "$out" '$.result.manifest_id')
expect_eq "... its manifest_id is the CSV's SHA-256" "$manifest" \
	"sha256:$(sha "$root/examples/research_v1/manifests/sweep.csv")"
call "SweepStart" 0 SweepStart "{\"manifest_id\":\"$manifest\",\"timeout\":600}"
expect_eq "... SWEEP_RUNNING" "$(jget "$out" '$.state')" SWEEP_RUNNING
rows=$(jget "$out" '$.result.rows')
# The manifest's row ids, in order; r5 is the one whose loss goes NaN.
mapfile -t ids < <(tail -n +2 "$root/examples/research_v1/manifests/sweep.csv" | cut -d, -f1)
expect_eq "... one job per manifest row" "$rows" "${#ids[@]}"
expect_eq "... the manifest has r5 with lr 1.5" \
	"$(grep -c '^r5,1.5,' "$root/examples/research_v1/manifests/sweep.csv" || true)" 1

# ---- the sweep completes, r5 failed ----
for _ in $(seq 60); do
	call "SweepStatus" 0 SweepStatus '{}'
	if [ "$rc" != 0 ] || [ "$(jget "$out" '$.state')" = SWEEP_COMPLETED ]; then break; fi
	sleep 0.5
done
expect_eq "the sweep completes: SWEEP_COMPLETED" "$(jget "$out" '$.state')" SWEEP_COMPLETED
expect_eq "... total, ok, failed, running, timed out" \
	"$(jget "$out" '$.result.total') $(jget "$out" '$.result.ok') $(jget "$out" '$.result.failed') $(jget "$out" '$.result.running') $(jget "$out" '$.result.timed_out')" \
	"${#ids[@]} $((${#ids[@]} - 1)) 1 0 0"
summary=$dir/pod/runs/r5/summary.json
expect_eq "r5's job wrote ok:false, loss is NaN" \
	"$(jget "$(cat "$summary")" '$.row_id') $(jget "$(cat "$summary")" '$.ok') $(jget "$(cat "$summary")" '$.error')" \
	"r5 0 loss is NaN"
holds "... and its train.log shows the NaN loss" grep -qx 'loss: nan' "$dir/pod/runs/r5/train.log"

# ---- FetchRun: one good row, then r5, then the rest ----
# fetch_ok ROW: FetchRun ROW succeeds into outputs/ROW with the digests it reports.
fetch_ok() {
	local f got=''
	call "FetchRun $1" 0 FetchRun "{\"run_id\":\"$1\"}"
	expect_eq "... outcome ok, dest outputs/$1, state SWEEP_COMPLETED" \
		"$(jget "$out" '$.outcome') $(jget "$out" '$.result.dest') $(jget "$out" '$.state')" \
		"ok outputs/$1 SWEEP_COMPLETED"
	for f in params.csv summary.json train.log; do
		[ -f "$dir/outputs/$1/$f" ] &&
			[ "$(jget "$out" "\$.result.files.\"$f\"")" = "sha256:$(sha "$dir/outputs/$1/$f")" ] ||
			got="$got $f"
	done
	expect_eq "... each file is in outputs/$1 with the digest reported (mismatches:)" "$got" ''
	expect_eq "... a good run: ok:true" "$(jget "$(cat "$dir/outputs/$1/summary.json")" '$.ok')" 1
}
first=${ids[0]}
fetch_ok "$first"

call "FetchRun r5 fails: the action failed" 6 FetchRun '{"run_id":"r5"}'
r5_call=$(jget "$out" '$.call_id')
expect_eq "... verdict allow, outcome failed" "$(jget "$out" '$.verdict') $(jget "$out" '$.outcome')" "allow failed"
expect_eq "... tier uncorrected, reason EXIT_STATUS, check exit, exit 65" \
	"$(jget "$out" '$.tier') $(jget "$out" '$.reason') $(jget "$out" '$.check') $(jget "$out" '$.exit')" \
	"uncorrected EXIT_STATUS exit 65"
expect_eq "... the program's stderr says why" "$(jget "$out" '$.stderr')" \
	"fetch_run: run r5 failed: loss is NaN; artifacts kept in failed/r5"
expect_eq "... nothing is minted, the state stays, the run is not halted" \
	"$(jget "$out" '$.emitted') $(jget "$out" '$.state') $(jget "$out" '$.halted')" "[] SWEEP_COMPLETED 0"

for id in "${ids[@]}"; do
	[ "$id" = r5 ] || [ "$id" = "$first" ] || fetch_ok "$id"
done

# ---- r5's artifacts are isolated ----
missing=''
for f in params.csv summary.json train.log; do
	cmp -s "$dir/pod/runs/r5/$f" "$dir/failed/r5/$f" || missing="$missing $f"
done
expect_eq "r5's three artifacts are copied whole to failed/r5 (missing or different:)" "$missing" ''
expect_eq "... failed/ holds r5 only" "$(ls "$dir/failed")" r5
holds "... outputs/r5 does not exist" test ! -e "$dir/outputs/r5"
expect_eq "... nothing named r5 anywhere under outputs/" "$(find "$dir/outputs" -name '*r5*' | wc -l)" 0
expect_eq "... no file under outputs/ is r5's (its row id, or ok:false)" \
	"$(grep -rlE '"row_id":"r5"|"ok":false|^r5,' "$dir/outputs" | wc -l)" 0
expected_dirs=$(printf '%s\n' "${ids[@]}" | grep -vx r5 | sort | tr '\n' ' ')
expect_eq "... outputs/ holds exactly the other rows" "$(ls "$dir/outputs" | sort | tr '\n' ' ')" "$expected_dirs"

# ---- the log ----
"$PW_BIN" log "$run" --json >"$TMP/log.lines"
sed '1s/^/[/; $!s/$/,/; $s/$/]/' "$TMP/log.lines" >"$TMP/log.json"
expect_eq "r5's result event: outcome, tier, reason, check, exit" \
	"$(q "SELECT json_extract(j, '\$.outcome'), json_extract(j, '\$.tier'), json_extract(j, '\$.reason'),
	         json_extract(j, '\$.check'), json_extract(j, '\$.exit') FROM e
	      WHERE json_extract(j, '\$.kind') = 'result' AND json_extract(j, '\$.call_id') = '$r5_call'")" \
	"failed|uncorrected|EXIT_STATUS|exit|65"
expect_eq "... it records the stderr naming the NaN" \
	"$(q "SELECT instr(json_extract(j, '\$.stderr'), 'run r5 failed: loss is NaN') > 0 FROM e
	      WHERE json_extract(j, '\$.kind') = 'result' AND json_extract(j, '\$.call_id') = '$r5_call'")" 1
expect_eq "... FetchRun r5 ran once: one call, one result (uncorrected is not retried)" \
	"$(q "SELECT count(*) FROM e WHERE json_extract(j, '\$.kind') = 'call'
	        AND json_extract(j, '\$.action') = 'FetchRun' AND json_extract(j, '\$.input.run_id') = 'r5'")/$(q "SELECT count(*) FROM e WHERE json_extract(j, '\$.call_id') = '$r5_call'")" \
	"1/2"
expect_eq "... the only failed result in the run is r5's" \
	"$(q "SELECT group_concat(json_extract(j, '\$.call_id')) FROM e
	      WHERE json_extract(j, '\$.kind') = 'result' AND json_extract(j, '\$.outcome') != 'ok'")" "$r5_call"
expect_eq "... every other FetchRun result is ok" \
	"$(q "SELECT count(*) FROM e WHERE json_extract(j, '\$.kind') = 'result'
	        AND json_extract(j, '\$.action') = 'FetchRun' AND json_extract(j, '\$.outcome') = 'ok'")" \
	"$((${#ids[@]} - 1))"
pw log "$run"
holds "pitwall log shows r5's FetchRun failed (uncorrected)" \
	grep -q " $r5_call FetchRun: failed EXIT_STATUS (uncorrected) -> SWEEP_COMPLETED" <<<"$out"

# ---- status ----
pw status "$run"
expect_eq "status: exit 0, SWEEP_COMPLETED, terminal, not halted" \
	"$rc $(jget "$out" '$.state') $(jget "$out" '$.terminal') $(jget "$out" '$.halted')" "0 SWEEP_COMPLETED 1 0"
expect_eq "status counts: calls allowed rejected ok failed" \
	"$(jget "$out" '$.counts.calls') $(jget "$out" '$.counts.allowed') $(jget "$out" '$.counts.rejected') $(jget "$out" '$.counts.ok') $(jget "$out" '$.counts.failed')" \
	"$calls $calls 0 $((calls - 1)) 1"
events=$(jget "$out" '$.events')
expect_eq "... events: genesis, then a call and a result per call" "$events" $((1 + 2 * calls))

# ---- export and verify ----
pw export "$run"
expect_eq "export (exit 0)" "$rc" 0
printf '%s\n' "$out" >"$TMP/$run.jsonl"
expect_eq "... one line per event" "$(wc -l <"$TMP/$run.jsonl")" "$events"
pw verify "$TMP/$run.jsonl" --spec "$spec"
holds "verify: the exported run is VALID (exit $rc: $out $err)" \
	test "$rc" = 0 -a "${out%%:*}" = "VALID run $run"
holds "... over all $events events" grep -q "^VALID run $run: $events events, workflow $("$PW_BIN" id "$spec")" <<<"$out"
finish
