#!/bin/bash
# Black-box: two concurrent writers on one run never fork the chain; the
# second decides against the state that includes the first's event.
#
# (a) 30 fresh runs in S0, each with two `pitwall call RUN Advance` (S0 ->
#     S1) started at once: exactly one is allowed and moves the run to S1,
#     the other is rejected (ILLEGAL_TRANSITION, or CALL_IN_PROGRESS if it
#     gave up waiting for the run lock), never both allowed; the program
#     ran once; the log verifies and holds genesis, 2 calls and 1 result.
# (b) one run, 4 writers each making 25 Tick calls at once: the log
#     verifies, seq is contiguous, every one of the 100 calls is in it
#     exactly once, each allowed call has exactly one result and ran once,
#     the rejected ones (if any) are CALL_IN_PROGRESS.
# (c) a call whose program runs until the test releases it: meanwhile
#     status lists it in_progress, resolve (by an owner the trust file
#     authenticates) refuses it, and a second call
#     waits for the run lock (5 s) and is rejected CALL_IN_PROGRESS; its
#     call event lands between the first call's call and result events and
#     the chain still verifies.
. "$(dirname "$0")/lib.sh"
cd "$PW_SOURCE_ROOT" || exit 1
root=$PWD
case $PW_BIN in /*) ;; *) PW_BIN=$root/$PW_BIN ;; esac
cd "$TMP" || exit 1

# make_spec DIR: the Tick workflow of lib.sh, plus Advance (S0 -> S1; its
# program records the run id in advance.marker and sleeps 20 ms) and Hold
# (S0, stays; its program records in hold.marker and runs until a file
# "release" appears in the run's directory).
make_spec() {
	local sleep_bin pin_advance pin_hold
	sleep_bin=$(command -v sleep)
	make_tick_spec "$1" concurrent
	cat >"$1/bin/advance" <<SH
#!/bin/sh
echo "\$1" >>advance.marker
$sleep_bin 0.02
echo '{"n": 1}'
SH
	cat >"$1/bin/hold" <<SH
#!/bin/sh
echo "\$1" >>hold.marker
while [ ! -e release ]; do $sleep_bin 0.02; done
echo '{"n": 1}'
SH
	chmod +x "$1/bin/advance" "$1/bin/hold"
	pin_advance=$(sha256sum "$1/bin/advance" | cut -d' ' -f1)
	pin_hold=$(sha256sum "$1/bin/hold" | cut -d' ' -f1)
	cat >>"$1/workflow.yaml" <<YAML
  Advance:
    from: [S0]
    to: S1
    input: {type: object, additionalProperties: false, properties: {}}
    run:
      program: bin/advance
      sha256: "$pin_advance"
      args: ["{run.id}"]
      timeout: 10s
  Hold:
    from: [S0]
    input: {type: object, additionalProperties: false, properties: {}}
    run:
      program: bin/hold
      sha256: "$pin_hold"
      args: ["{run.id}"]
      timeout: 60s
YAML
}


make_spec spec
make_trust ops-lead

# ---- (a) two Advance calls at once, 30 times -------------------------------
pairs=30
f_verdict=0 f_log=0 f_order=0 f_ran=0
n_illegal=0 n_busy=0
for i in $(seq 1 "$pairs"); do
	run_pw run start spec/workflow.yaml --run-id "a$i"
	if [ "$rc" != 0 ]; then
		not_ok "run start a$i (exit $rc): $err"
		continue
	fi
	run_dir=$(jget "$out" '$.run_dir')
	"$PW_BIN" call "a$i" Advance '{}' >"$TMP/p1.out" 2>"$TMP/p1.err" &
	p1=$!
	"$PW_BIN" call "a$i" Advance '{}' >"$TMP/p2.out" 2>"$TMP/p2.err" &
	p2=$!
	wait "$p1"
	rc1=$?
	wait "$p2"
	rc2=$?
	o1=$(cat "$TMP/p1.out") o2=$(cat "$TMP/p2.out")
	if [ "$rc1" = 0 ]; then win=$o1 lose=$o2 lrc=$rc2; else win=$o2 lose=$o1 lrc=$rc1; fi
	lreason=$(jget "$lose" '$.reason')
	if [ "$((rc1 == 0 ? 1 : 0))$((rc2 == 0 ? 1 : 0))" = 11 ] ||
		[ "$(jget "$win" '$.verdict') $(jget "$win" '$.state')" != "allow S1" ] || [ "$lrc" != 5 ] ||
		{ [ "$lreason" != ILLEGAL_TRANSITION ] && [ "$lreason" != CALL_IN_PROGRESS ]; }; then
		f_verdict=$((f_verdict + 1))
		not_ok "a$i: two Advance calls at once: exit $rc1 and $rc2 ($o1 $(cat "$TMP/p1.err") | $o2 $(cat "$TMP/p2.err"))"
		continue
	fi
	[ "$lreason" = ILLEGAL_TRANSITION ] && n_illegal=$((n_illegal + 1)) || n_busy=$((n_busy + 1))

	load_log "a$i"
	kinds=$(q "SELECT group_concat(k, ' ') FROM (SELECT json_extract(j, '\$.kind') AS k FROM e ORDER BY k)")
	verdicts=$(q "SELECT group_concat(v, ' ') FROM (SELECT json_extract(j, '\$.verdict') AS v FROM e WHERE json_extract(j, '\$.kind') = 'call' ORDER BY v)")
	seqs=$(q "SELECT group_concat(s, ' ') FROM (SELECT json_extract(j, '\$.seq') AS s FROM e ORDER BY s)")
	run_pw status "a$i"
	if [ "$log_rc" != 0 ] || [ "$kinds" != "call call genesis result" ] || [ "$verdicts" != "allow reject" ] ||
		[ "$seqs" != "0 1 2 3" ] || [ "$(jget "$out" '$.state')" != S1 ] || [ "$(jget "$out" '$.open_calls')" != '[]' ]; then
		f_log=$((f_log + 1))
		not_ok "a$i: log (exit $log_rc): kinds '$kinds', verdicts '$verdicts', seqs '$seqs', state $(jget "$out" '$.state'): $(cat "$TMP/log.err")"
	fi
	# the rejected call was decided against the state after the allowed
	# call's result (S1), or found that call still holding the run lock
	IFS='|' read -r r_seq r_state r_busy res_seq <<<"$(q "SELECT json_extract(j, '\$.seq'), json_extract(j, '\$.state'), json_extract(j, '\$.observed.busy'),
		(SELECT json_extract(j, '\$.seq') FROM e WHERE json_extract(j, '\$.kind') = 'result')
		FROM e WHERE json_extract(j, '\$.kind') = 'call' AND json_extract(j, '\$.verdict') = 'reject'")"
	if { [ "$lreason" = ILLEGAL_TRANSITION ] && { [ "$r_state" != S1 ] || [ "$r_seq" -le "$res_seq" ] || [ "$r_busy" != 0 ]; }; } ||
		{ [ "$lreason" = CALL_IN_PROGRESS ] && [ "$r_busy" != 1 ]; }; then
		f_order=$((f_order + 1))
		not_ok "a$i: $lreason call at seq $r_seq decided in state $r_state (busy $r_busy), the result is at seq $res_seq"
	fi
	ran=$(tr '\n' ' ' 2>/dev/null <"$run_dir/advance.marker")
	if [ "$ran" != "a$i " ]; then
		f_ran=$((f_ran + 1))
		not_ok "a$i: Advance ran '$ran', expected once"
	fi
done
echo "# $pairs pairs: the second call was ILLEGAL_TRANSITION $n_illegal times, CALL_IN_PROGRESS $n_busy times"
[ "$f_verdict" = 0 ] && ok "$pairs pairs of Advance at once: always one allowed (S1), the other rejected (exit 5)"
[ "$f_log" = 0 ] && ok "... each log verifies: genesis, 2 calls (allow, reject), 1 result, seq 0..3"
[ "$f_order" = 0 ] && ok "... the rejected call decided against the state that includes the allowed call's result"
[ "$f_ran" = 0 ] && ok "... and Advance ran exactly once in each run"

# ---- (b) 4 writers x 25 Tick calls on one run ---------------------------------
writers=4
per=25
total=$((writers * per))
run_pw run start spec/workflow.yaml --run-id many
expect_eq "run start many" "$rc" 0
run_dir=$(jget "$out" '$.run_dir')

# writer W: its calls, one line each: "<nonce> <exit status> <reply>"
writer() {
	local j out rc
	for j in $(seq 1 "$per"); do
		out=$("$PW_BIN" call many Tick "{\"ms\":0,\"nonce\":\"w$1-$j\"}" 2>&1)
		rc=$?
		printf 'w%s-%s %s %s\n' "$1" "$j" "$rc" "$(printf '%s' "$out" | tr '\n' ' ')"
	done >"$TMP/writer$1.txt"
}
pids=
for w in $(seq 1 "$writers"); do
	writer "$w" &
	pids="$pids $!"
done
# shellcheck disable=SC2086
wait $pids

load_log many
expect_eq "the chain verifies after $total concurrent calls" "$log_rc" 0
run_pw status many
events=$(jget "$out" '$.events')
expect_eq "seq is contiguous 0..$((events - 1))" \
	"$(q "SELECT count(*) || ' ' || min(json_extract(j, '\$.seq')) || ' ' || max(json_extract(j, '\$.seq')) || ' ' || count(DISTINCT json_extract(j, '\$.seq')) FROM e")" \
	"$events 0 $((events - 1)) $events"
expect_eq "no call is open" "$(jget "$out" '$.open_calls')" '[]'

calls=$(q "SELECT count(*) FROM e WHERE json_extract(j, '\$.kind') = 'call'")
allowed=$(q "SELECT count(*) FROM e WHERE json_extract(j, '\$.kind') = 'call' AND json_extract(j, '\$.verdict') = 'allow'")
busy=$(q "SELECT count(*) FROM e WHERE json_extract(j, '\$.kind') = 'call' AND json_extract(j, '\$.reason') = 'CALL_IN_PROGRESS'")
switches=$(q "SELECT json_extract(j, '\$.input.nonce') FROM e WHERE json_extract(j, '\$.kind') = 'call' ORDER BY json_extract(j, '\$.seq')" |
	cut -d- -f1 | uniq | wc -l)
echo "# $total calls from $writers writers: $allowed allowed, $busy CALL_IN_PROGRESS, $events events; the writers took turns $((switches - 1)) times"
expect_eq "the log has $total call events" "$calls" "$total"
q "SELECT json_extract(j, '\$.input.nonce') FROM e WHERE json_extract(j, '\$.kind') = 'call'" | sort >"$TMP/logged.nonces"
for w in $(seq 1 "$writers"); do for j in $(seq 1 "$per"); do echo "w$w-$j"; done; done | sort >"$TMP/sent.nonces"
expect_eq "every call is in the log exactly once (by nonce)" "$(diff "$TMP/sent.nonces" "$TMP/logged.nonces" | grep '^[<>]' | head -n 5 | tr '\n' ' ')" ""
expect_eq "call ids are unique" "$(q "SELECT count(DISTINCT json_extract(j, '\$.call_id')) FROM e WHERE json_extract(j, '\$.kind') = 'call'")" "$total"
expect_eq "every call is either allowed or rejected CALL_IN_PROGRESS" \
	"$(q "SELECT group_concat(DISTINCT json_extract(j, '\$.verdict') || ' ' || json_extract(j, '\$.reason')) FROM e WHERE json_extract(j, '\$.kind') = 'call' AND NOT (json_extract(j, '\$.verdict') = 'allow' OR (json_extract(j, '\$.verdict') = 'reject' AND json_extract(j, '\$.reason') = 'CALL_IN_PROGRESS'))")" ""
expect_eq "each allowed call has exactly one result" \
	"$(q "SELECT json_extract(c.j, '\$.call_id') || ':' || (SELECT count(*) FROM e AS r WHERE json_extract(r.j, '\$.kind') = 'result' AND json_extract(r.j, '\$.call_id') = json_extract(c.j, '\$.call_id') AND json_extract(r.j, '\$.seq') > json_extract(c.j, '\$.seq')) AS x FROM e AS c WHERE json_extract(c.j, '\$.kind') = 'call' AND json_extract(c.j, '\$.verdict') = 'allow' AND x NOT LIKE '%:1' LIMIT 5" | tr '\n' ' ')" ""
expect_eq "the log is genesis, the calls and one result per allowed call" "$events" "$((1 + total + allowed))"
expect_eq "status counts agree (calls allowed ok rejected)" \
	"$(jget "$out" '$.counts.calls') $(jget "$out" '$.counts.allowed') $(jget "$out" '$.counts.ok') $(jget "$out" '$.counts.rejected')" \
	"$total $allowed $allowed $busy"

# what each writer was told agrees with the log
q "SELECT json_extract(j, '\$.input.nonce') FROM e WHERE json_extract(j, '\$.kind') = 'call' AND json_extract(j, '\$.verdict') = 'allow'" | sort >"$TMP/allowed.nonces"
bad=
while read -r nonce rc reply; do
	reason=$(jget "$reply" '$.reason')
	if grep -qx "$nonce" "$TMP/allowed.nonces"; then
		[ "$rc $reason" = "0 OK" ] || bad="$bad $nonce:$rc:$reason"
	else
		[ "$rc $reason" = "5 CALL_IN_PROGRESS" ] || bad="$bad $nonce:$rc:$reason"
	fi
done < <(cat "$TMP"/writer*.txt)
expect_eq "each writer got exit 0 for an allowed call and exit 5 CALL_IN_PROGRESS otherwise" "${bad:0:300}" ""
cut -d' ' -f2 "$run_dir/tick.marker" | sort >"$TMP/ran.nonces"
expect_eq "each allowed call ran exactly once, and nothing else ran" "$(diff "$TMP/allowed.nonces" "$TMP/ran.nonces" | grep '^[<>]' | head -n 5 | tr '\n' ' ')" ""

# ---- (c) a call that waits for the run lock and gives up -----------------------
run_pw run start spec/workflow.yaml --run-id held
expect_eq "run start held" "$rc" 0
run_dir=$(jget "$out" '$.run_dir')
"$PW_BIN" call held Hold '{}' >"$TMP/hold.out" 2>"$TMP/hold.err" &
hold_pid=$!
status=
for _ in $(seq 1 200); do
	run_pw status held
	status=$(jget "$out" '$.open_calls[0].status')
	[ "$status" = in_progress ] && [ -e "$run_dir/hold.marker" ] && break
	sleep 0.05
done
expect_eq "while Hold runs, status lists its call in_progress" "$status" in_progress
events=$(jget "$out" '$.events')
run_pw resolve held c1 --outcome failed --as ops-lead --trust "$TRUST"
expect_eq "resolve by an authenticated owner refuses a call in progress (exit 5)" \
	"$rc $([[ $err == *"refused: "*"is in progress"* ]] && echo said)" "5 said"
run_pw status held
expect_eq "... and records nothing" "$(jget "$out" '$.events')" "$events"
run_pw call held Tick '{"ms":0,"nonce":"second"}'
expect_eq "a second call waits for the run lock, then is rejected (exit 5) CALL_IN_PROGRESS" "$rc $(jget "$out" '$.reason')" "5 CALL_IN_PROGRESS"
: >"$run_dir/release"
wait "$hold_pid"
expect_eq "the held call then succeeds (exit 0)" "$? $(jget "$(cat "$TMP/hold.out")" '$.outcome')" "0 ok"
load_log held
expect_eq "the chain verifies" "$log_rc" 0
expect_eq "the log: genesis, Hold's call, the rejected call (busy), Hold's result" \
	"$(q "SELECT group_concat(x, ' | ') FROM (SELECT json_extract(j, '\$.seq') || ' ' || json_extract(j, '\$.kind') || ' ' || ifnull(json_extract(j, '\$.call_id'), '-') || ' ' || ifnull(json_extract(j, '\$.reason'), '-') || ' ' || ifnull(json_extract(j, '\$.observed.busy'), '-') AS x FROM e ORDER BY json_extract(j, '\$.seq'))")" \
	"0 genesis - - - | 1 call c1 DEFAULT_ALLOW 0 | 2 call c2 CALL_IN_PROGRESS 1 | 3 result c1 OK -"
run_pw status held
expect_eq "no call is open afterwards" "$(jget "$out" '$.open_calls')" '[]'
expect_eq "Hold ran once, the rejected Tick never" "$(cat "$run_dir/hold.marker") $(cat "$run_dir/tick.marker" 2>/dev/null)" "held "

finish
