#!/bin/bash
# Black-box robustness of pitwall mcp (docs/MCP.md) against broken and
# hostile clients: garbage lines, a 100 MB line, a client that closes stdin
# during a call, a burst of 10,000 requests, duplicate ids, requests before
# initialize, a client that stops reading, SIGTERM during a call. Each
# error is checked by its exact JSON-RPC code and id, the server keeps
# serving, and after each session the run's log replays as VALID and holds
# a call event for every tools/call that was answered.
#
# Under AddressSanitizer (meson test -C build-asan sets PW_BIN to that
# build's binary) the whole test takes about 20 s; the burst is most of it.
. "$(dirname "$0")/lib.sh"
cd "$PW_SOURCE_ROOT" || exit 1
root=$PWD
case $PW_BIN in /*) ;; *) PW_BIN=$root/$PW_BIN ;; esac
cd "$TMP" || exit 1
make_tick_spec "$TMP/spec" tick
spec=$TMP/spec/workflow.yaml

INIT='{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"mcp_robust","version":"1"}}}'
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# session NAME: a folder $TMP/NAME (the current directory from now on) with
# a ledger holding run NAME of the tick spec
session() {
	mkdir "$TMP/$1" && cd "$TMP/$1" || exit 1
	run_pw run start "$spec" --run-id "$1"
	[ "$rc" = 0 ] || not_ok "$1: run start (exit $rc: $err)"
}

# mcp RUN: pitwall mcp serving RUN of the ledger in the current folder;
# mcp_bg RUN ... &: the same in the background, $! being pitwall itself
mcp() { "$PW_BIN" mcp --spec "$spec" --db .pitwall/pitwall.db --run "$1"; }
mcp_bg() { exec "$PW_BIN" mcp --spec "$spec" --db .pitwall/pitwall.db --run "$1"; }

# tick ID MS NONCE: a tools/call of Tick (MS over 200 fails the input schema)
tick() {
	printf '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"Tick","arguments":{"ms":%s,"nonce":"%s"}}}\n' "$1" "$2" "$3"
}
ping() { printf '{"jsonrpc":"2.0","id":%s,"method":"ping"}\n' "$1"; }

# alive PID: the process runs (a zombie does not)
alive() {
	local s
	s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
	[ -n "$s" ] && [ "$s" != Z ]
}
# wait_exit PID SECONDS: wait for PID, killed after SECONDS; sets $rc and $ms (how long it took)
wait_exit() {
	local t0 i
	t0=$(now_ms)
	for ((i = 0; i < $2 * 50; i++)); do
		alive "$1" || break
		sleep 0.02
	done
	if alive "$1"; then
		echo "# pid $1 still running after $2 s: killed"
		kill -KILL "$1"
	fi
	wait "$1"
	rc=$?
	ms=$(($(now_ms) - t0))
}
# wait_for TEST SECONDS: wait until the shell test TEST (a string) holds
wait_for() {
	local i
	for ((i = 0; i < $2 * 50; i++)); do
		eval "$1" && return 0
		sleep 0.02
	done
	return 1
}

# load_out FILE: FILE's lines (what pitwall wrote on stdout) as one JSON array in $TMP/out.json
load_out() {
	sed '1s/^/[/; $!s/$/,/; $s/$/]/' "$1" >"$TMP/out.json"
	[ -s "$TMP/out.json" ] || echo '[]' >"$TMP/out.json"
}
# r SQL: a query over r(n, j), one row per line of the loaded output (n from 0, j its JSON)
r() {
	sqlite3 :memory: "WITH r AS (SELECT CAST(key AS INTEGER) AS n, value AS j FROM json_each(CAST(readfile('$TMP/out.json') AS TEXT))) $1"
}
# sigs: one line per loaded output line: "CODE ID" for an error, "result ID" for
# a result, "notify METHOD" for a notification (ID as JSON: null, 7, "p1")
SIG="CASE WHEN json_type(j, '\$.error') = 'object' THEN json_extract(j, '\$.error.code') || ' ' || json_quote(json_extract(j, '\$.id'))
 WHEN json_type(j, '\$.result') = 'object' THEN 'result ' || json_quote(json_extract(j, '\$.id'))
 WHEN json_type(j, '\$.method') = 'text' THEN 'notify ' || json_extract(j, '\$.method') ELSE 'other' END"
sigs() { r "SELECT $SIG FROM r ORDER BY n"; }

# after NAME RUN OUT [exact]: the checks that end every session: each line
# pitwall wrote is one JSON-RPC message, the run replays as VALID, and every
# tools/call answered in OUT is a call event of the log with the same action
# and verdict (exact: and the log has no other call event)
after() {
	local name=$1 run=$2 outf=$3 mode=${4:-}
	load_out "$outf"
	if [ "$(sqlite3 :memory: "SELECT json_valid(CAST(readfile('$TMP/out.json') AS TEXT))")" = 1 ] &&
		[ "$(r "SELECT count(*) FROM r WHERE json_type(j) <> 'object' OR json_extract(j, '\$.jsonrpc') IS NOT '2.0'")" = 0 ]; then
		ok "$name: every line on stdout is a JSON-RPC 2.0 message ($(wc -l <"$outf") lines)"
	else
		not_ok "$name: stdout has a line that is not a JSON-RPC message: $(grep -v '^{' "$outf" | head -c 300)"
	fi
	verifies "$run"
	load_log "$run"
	local fields="ifnull(json_extract(j, '\$.action'), '-') || ' ' || json_extract(j, '\$.verdict')"
	r "SELECT json_extract(j, '\$.result.structuredContent.call_id') || ' ' ||
	   ifnull(json_extract(j, '\$.result.structuredContent.action'), '-') || ' ' ||
	   json_extract(j, '\$.result.structuredContent.verdict') FROM r
	   WHERE json_extract(j, '\$.result.structuredContent.call_id') IS NOT NULL" | sort >"$TMP/answered"
	q "SELECT json_extract(j, '\$.call_id') || ' ' || $fields FROM e WHERE json_extract(j, '\$.kind') = 'call'" |
		sort >"$TMP/logged"
	local n missing extra
	n=$(wc -l <"$TMP/answered")
	missing=$(comm -23 "$TMP/answered" "$TMP/logged" | head -n 3)
	extra=$(comm -13 "$TMP/answered" "$TMP/logged" | head -n 3)
	if [ -z "$missing" ] && { [ "$mode" != exact ] || [ -z "$extra" ]; }; then
		ok "$name: each of the $n tools/call answered is a call event of the log (same action, verdict)${mode:+, and no other}"
	else
		not_ok "$name: answered calls vs the log: not logged: [$missing] logged, not answered: [$extra]"
	fi
}

# ---- 1. garbage lines, each answered with its error, the server serving on -------------

session garbage
g_in=$TMP/garbage/in
echo "$INIT" >"$g_in"
g_name=()
g_want=()
# garbage NAME WANT FORMAT [ARG...]: the line printf FORMAT ARG... writes (it
# must hold no newline), whose answer is WANT ("-32700 null", "-32600 7",
# "result 8", or "none"), then a ping with id "p<k>", which must be answered next.
garbage() {
	local name=$1 want=$2
	shift 2
	# shellcheck disable=SC2059
	printf "$@" >>"$g_in"
	printf '\n' >>"$g_in"
	g_name+=("$name")
	g_want+=("$want")
	ping "\"p${#g_name[@]}\"" >>"$g_in"
}
rep() { head -c "$1" /dev/zero | tr '\0' "$2"; }

seed=$RANDOM
for i in $(seq 1 12); do
	garbage "random bytes #$i (seed $seed)" "-32700 null" '%s' "$(LC_ALL=C awk -v s=$((seed + i)) -v n=$((16 + i * 300)) \
		'BEGIN { srand(s); for (i = 0; i < n; i++) { c = int(rand() * 255) + 1; if (c == 10) c = 32; printf "%c", c } }')"
done
garbage "raw byte 0xff" "-32700 null" '\xff\xfe'
garbage "NUL bytes" "-32700 null" '{"jsonrpc":"2.0","id":3,"method":"ping"}\0\0'
garbage "invalid UTF-8: 0xff in a string" "-32700 null" '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"\xff"}}'
garbage "invalid UTF-8: overlong 0xc0 0xaf" "-32700 null" '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"\xc0\xaf"}}'
garbage "invalid UTF-8: a UTF-16 surrogate" "-32700 null" '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"\xed\xa0\x80"}}'
garbage "invalid UTF-8: truncated sequence" "-32700 null" '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"\xe2\x82"}}'
garbage "invalid UTF-8: above U+10FFFF" "-32700 null" '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"\xf4\x90\x80\x80"}}'
garbage "invalid UTF-8 in the method" "-32700 null" '{"jsonrpc":"2.0","id":1,"method":"\xff"}'
garbage "a lone surrogate escape" "-32700 null" '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"\\ud800"}}'
garbage "an escaped NUL" "-32700 null" '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"\\u0000"}}'
garbage "a byte order mark" "-32700 null" '\xef\xbb\xbf{"jsonrpc":"2.0","id":1,"method":"ping"}'
garbage "half a request" "-32700 null" '{"jsonrpc":"2.0","id":3,"method":"pi'
garbage "an open brace" "-32700 null" '{'
garbage "an open bracket" "-32700 null" '['
garbage "an unterminated string" "-32700 null" '"ping'
garbage "a request and trailing garbage" "-32700 null" '{"jsonrpc":"2.0","id":5,"method":"ping"} x'
garbage "two requests on one line" "-32700 null" '{"jsonrpc":"2.0","id":5,"method":"ping"}{"jsonrpc":"2.0","id":6,"method":"ping"}'
garbage "a duplicate member" "-32700 null" '{"jsonrpc":"2.0","id":13,"id":14,"method":"ping"}'
garbage "an empty line" none ''
garbage "a CR alone" none '\r'
garbage "spaces" "-32700 null" '   '
garbage "a tab" "-32700 null" '\t'
garbage "a request ending in CR LF" "result 21" '{"jsonrpc":"2.0","id":21,"method":"ping"}\r'
garbage "id 1e400" "-32700 null" '{"jsonrpc":"2.0","id":1e400,"method":"ping"}'
garbage "id of 30 digits" "-32600 null" '{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}'
garbage "id 2^53" "-32600 null" '{"jsonrpc":"2.0","id":9007199254740992,"method":"ping"}'
garbage "id 2^53 - 1" "result 9007199254740991" '{"jsonrpc":"2.0","id":9007199254740991,"method":"ping"}'
garbage "id -(2^53 - 1)" "result -9007199254740991" '{"jsonrpc":"2.0","id":-9007199254740991,"method":"ping"}'
garbage "id 1.5" "-32600 null" '{"jsonrpc":"2.0","id":1.5,"method":"ping"}'
garbage "a number of 10,000 digits" "-32700 null" '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"n":%s}}' "$(rep 10000 9)"
garbage "a number 1e999 in arguments" "-32700 null" '{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"Tick","arguments":{"ms":1e999,"nonce":"a"}}}'
garbage "an integer over 2^53 in arguments (recorded: INPUT_MALFORMED)" "result 7" \
	'{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"Tick","arguments":{"ms":99999999999999999999999,"nonce":"a"}}}'
garbage "nesting 64 deep" "result 64" '{"jsonrpc":"2.0","id":64,"method":"ping","params":{"a":%s%s}}' "$(rep 62 '[')" "$(rep 62 ']')"
garbage "nesting 65 deep" "-32700 null" '{"jsonrpc":"2.0","id":65,"method":"ping","params":{"a":%s%s}}' "$(rep 63 '[')" "$(rep 63 ']')"
garbage "1,000,000 [" "-32700 null" '%s' "$(rep 1000000 '[')"
garbage "1,000,000 {" "-32700 null" '%s' "$(rep 1000000 '{')"
garbage "400,000 nested arrays, closed" "-32700 null" '%s1%s' "$(rep 400000 '[')" "$(rep 400000 ']')"
garbage "arguments nested 59 deep (recorded: INPUT_INVALID)" "result 59" \
	'{"jsonrpc":"2.0","id":59,"method":"tools/call","params":{"name":"Tick","arguments":{"ms":1,"nonce":"a","x":%s1%s}}}' "$(rep 59 '[')" "$(rep 59 ']')"
garbage "an empty batch" "-32600 null" '[]'
garbage "a batch" "-32600 null" '[{"jsonrpc":"2.0","id":1,"method":"ping"}]'
garbage "null" "-32600 null" 'null'
garbage "a string" "-32600 null" '"ping"'
garbage "a number" "-32600 null" '42'
garbage "jsonrpc 1.0" "-32600 11" '{"jsonrpc":"1.0","id":11,"method":"ping"}'
garbage "no jsonrpc" "-32600 12" '{"id":12,"method":"ping"}'
garbage "a method that is a number" "-32600 13" '{"jsonrpc":"2.0","id":13,"method":5}'
garbage "an object id" "-32600 null" '{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}'
garbage "a null id" "-32600 null" '{"jsonrpc":"2.0","id":null,"method":"ping"}'
garbage "a true id" "-32600 null" '{"jsonrpc":"2.0","id":true,"method":"ping"}'
garbage "an empty object" "-32600 null" '{}'
garbage "jsonrpc and nothing else" "-32600 null" '{"jsonrpc":"2.0"}'
garbage "an id and no method" "-32600 14" '{"jsonrpc":"2.0","id":14}'
garbage "a response (pitwall sent no request)" none '{"jsonrpc":"2.0","id":15,"result":{}}'
garbage "params an array" "-32602 14" '{"jsonrpc":"2.0","id":14,"method":"ping","params":[]}'
garbage "params a string" "-32602 15" '{"jsonrpc":"2.0","id":15,"method":"tools/list","params":"x"}'
garbage "params null" "-32602 16" '{"jsonrpc":"2.0","id":16,"method":"ping","params":null}'
garbage "an unknown method" "-32601 17" '{"jsonrpc":"2.0","id":17,"method":"resources/list"}'
garbage "an unknown method of 99 a and a euro sign" "-32601 18" '{"jsonrpc":"2.0","id":18,"method":"%s\xe2\x82\xac"}' "$(rep 99 a)"
garbage "tools/call without params" "-32602 19" '{"jsonrpc":"2.0","id":19,"method":"tools/call"}'
garbage "tools/call with a name that is a number" "-32602 20" '{"jsonrpc":"2.0","id":20,"method":"tools/call","params":{"name":5}}'
garbage "tools/call with a string for arguments (recorded: INPUT_MALFORMED)" "result 22" \
	'{"jsonrpc":"2.0","id":22,"method":"tools/call","params":{"name":"Tick","arguments":"x"}}'
garbage "tools/call of an empty name (recorded: INPUT_MALFORMED)" "result 23" \
	'{"jsonrpc":"2.0","id":23,"method":"tools/call","params":{"name":""}}'
garbage "a notification" none '{"jsonrpc":"2.0","method":"notifications/whatever","params":"x"}'
garbage "a response (pitwall sent no request)" none '{"jsonrpc":"2.0","id":99,"result":{}}'
garbage "an error response" none '{"jsonrpc":"2.0","id":98,"error":{"code":1,"message":"m"}}'

t0=$(now_ms)
mcp garbage <"$g_in" >out 2>err
g_rc=$?
[ "$g_rc" = 0 ] && ok "garbage: ${#g_name[@]} bad lines, then stdin closed: exit 0 ($(($(now_ms) - t0)) ms)" ||
	not_ok "garbage: exit $g_rc: $(tail -c 600 err)"
load_out out
mapfile -t got < <(sigs)
expect_eq "garbage: initialize answered first" "${got[0]:-}" 'result "init"'
p=1
for i in "${!g_name[@]}"; do
	want=${g_want[$i]} have=""
	if [ "$want" != none ]; then
		have=${got[$p]:-}
		p=$((p + 1))
	fi
	pong=${got[$p]:-}
	p=$((p + 1))
	if [ "$want" = none ] && [ "$pong" = "result \"p$((i + 1))\"" ]; then
		ok "${g_name[$i]}: no answer, and the next ping is answered"
	elif [ "$have" = "$want" ] && [ "$pong" = "result \"p$((i + 1))\"" ]; then
		ok "${g_name[$i]}: $want, and the next ping is answered"
	else
		not_ok "${g_name[$i]}: got [$have] then [$pong], expected [$want] then [result \"p$((i + 1))\"]"
		p=$(r "SELECT n + 1 FROM r WHERE json_extract(j, '\$.id') = 'p$((i + 1))'")
		p=${p:-${#got[@]}}
	fi
done
expect_eq "garbage: nothing else was written" "${#got[@]}" "$p"
expect_eq "... an error names no id it could not read" \
	"$(r "SELECT count(*) FROM r WHERE json_extract(j, '\$.error.code') = -32700 AND json_type(j, '\$.id') <> 'null'")" 0
expect_eq "... the unknown method's message is cut on a character boundary" \
	"$(r "SELECT json_extract(j, '\$.error.message') FROM r WHERE json_extract(j, '\$.id') = 18")" \
	"Method not found: $(rep 99 a)"
after garbage garbage out exact

# ---- 2. a 100 MB line, streamed; the lines either side of the 4 MiB limit ------------------

session big
mkfifo in
mcp_bg big <in >out 2>err &
pid=$!
exec 3>in
echo "$INIT" >&3
t0=$(now_ms)
{
	printf '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"'
	head -c 100000000 /dev/zero | tr '\0' a
	printf '"}}\n'
} >&3
ping 2 >&3
if wait_for 'grep -q "^{\"id\":2," out' 60; then
	ok "big: a 100 MB line streamed in and skipped in $(($(now_ms) - t0)) ms"
else
	not_ok "big: no answer to the ping after the 100 MB line"
fi
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
if [ -n "$hwm" ] && [ "$hwm" -lt 65536 ]; then
	ok "big: ... pitwall's peak memory stayed at $((hwm / 1024)) MiB (it never holds the line)"
else
	not_ok "big: peak memory ${hwm:-?} KiB after the 100 MB line"
fi
pre='{"jsonrpc":"2.0","id":"edge","method":"ping","params":{"x":"'
suf='"}}'
for n in 4194304 4194305; do
	{
		printf '%s' "$pre"
		rep $((n - ${#pre} - ${#suf})) a
		printf '%s\n' "$suf"
	} >&3
	ping "$n" >&3
done
exec 3>&-
wait_exit "$pid" 60
expect_eq "big: exit status 0 when stdin closes" "$rc" 0
load_out out
mapfile -t got < <(sigs)
expect_eq "big: the answers, in order: initialize, -32600 for the 100 MB line, the ping, the 4 MiB line, its ping, -32600 for 4 MiB + 1, its ping" \
	"${got[*]}" 'result "init" -32600 null result 2 result "edge" result 4194304 -32600 null result 4194305'
expect_eq "big: the -32600 says why" "$(r "SELECT json_extract(j, '\$.error.message') FROM r WHERE n = 1")" \
	"Invalid Request: a message over 4194304 bytes was skipped"
after big big out exact

# ---- 3. the client closes stdin during a tools/call -----------------------------------------

session eof
mkfifo in
mcp_bg eof <in >out 2>err &
pid=$!
exec 3>in
echo "$INIT" >&3
tick 1 200 eof >&3
if wait_for '[ -s .pitwall/runs/eof/tick.marker ]' 20; then ok "eof: Tick (200 ms) started"; else not_ok "eof: Tick did not start"; fi
exec 3>&-
wait_exit "$pid" 20
expect_eq "eof: stdin closed during the call: pitwall finishes it and exits 0" "$rc" 0
load_out out
expect_eq "eof: ... after answering it: outcome ok" \
	"$(r "SELECT json_extract(j, '\$.result.structuredContent.outcome') FROM r WHERE json_extract(j, '\$.id') = 1")" ok
load_log eof
expect_eq "eof: ... and recording its result" "$(q "SELECT json_extract(j, '\$.outcome') FROM e WHERE json_extract(j, '\$.kind') = 'result'")" ok
after eof eof out exact

# The client goes away entirely (stdin and stdout closed) during a call: the
# result is recorded, the answer cannot be written, pitwall exits 0, not by SIGPIPE.
session gone
mkfifo in outp
mcp_bg gone <in >outp 2>err &
pid=$!
exec 3>in 4<outp
echo "$INIT" >&3
IFS= read -r line <&4
tick 1 200 gone >&3
tick 2 0 never >&3
wait_for '[ -s .pitwall/runs/gone/tick.marker ]' 20
exec 3>&- 4<&-
wait_exit "$pid" 20
expect_eq "gone: the client closed stdin and stdout during a call: exit 0 (not SIGPIPE)" "$rc" 0
load_log gone
expect_eq "gone: ... the call's result is recorded" \
	"$(q "SELECT json_extract(j, '\$.call_id') || ' ' || json_extract(j, '\$.outcome') FROM e WHERE json_extract(j, '\$.kind') = 'result'")" "c1 ok"
expect_eq "... and the request queued behind it was not run" "$(wc -l <.pitwall/runs/gone/tick.marker)" 1
: >out
after gone gone out

# ---- 4. 10,000 requests in one burst ------------------------------------------------------

# Every 100th a Tick that runs (ms 0), the odd ones a Tick refused by its
# input schema (recorded), the others pitwall_status (not recorded).
session burst
{
	echo "$INIT"
	for ((i = 1; i <= 10000; i++)); do
		if ((i % 100 == 0)); then
			tick "$i" 0 "t$i"
		elif ((i % 2 == 1)); then
			tick "$i" 999 "b$i"
		else
			printf '{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"pitwall_status"}}\n' "$i"
		fi
	done
} >in
t0=$(now_ms)
mcp burst <in >out 2>err
rc=$?
ms=$(($(now_ms) - t0))
expect_eq "burst: 10,000 requests served, exit 0 (${ms} ms, $((ms * 1000 / 10000)) us a request)" "$rc" 0
load_out out
expect_eq "burst: 10,000 answers after initialize, each with the id of its request, in order" \
	"$(r "SELECT count(*) FROM r WHERE n > 0 AND json_extract(j, '\$.id') = n")/$(r "SELECT count(*) FROM r")" 10000/10001
expect_eq "burst: 100 Ticks ran (outcome ok)" \
	"$(r "SELECT count(*) FROM r WHERE json_extract(j, '\$.result.structuredContent.outcome') = 'ok'")" 100
expect_eq "burst: 5,000 refused by the input schema (INPUT_INVALID, isError)" \
	"$(r "SELECT count(*) FROM r WHERE json_extract(j, '\$.result.structuredContent.reason') = 'INPUT_INVALID' AND json_extract(j, '\$.result.isError') = 1")" 5000
expect_eq "burst: 4,900 pitwall_status answers" \
	"$(r "SELECT count(*) FROM r WHERE json_extract(j, '\$.result.structuredContent.state') = 'S0' AND json_type(j, '\$.result.structuredContent.legal_actions') = 'array'")" 4900
after burst burst out exact

# ---- 5. duplicate ids --------------------------------------------------------------------

session dup
{
	echo "$INIT"
	ping 7
	printf '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"pitwall_status"}}\n'
	tick 7 999 dup
	tick 7 0 dup
	ping '"7"'
	tick 7 0 dup
} | mcp dup >out 2>err
expect_eq "dup: exit 0" "$?" 0
load_out out
mapfile -t got < <(sigs)
expect_eq "dup: six requests with id 7: six answers, in order, each with its id" \
	"${got[*]}" 'result "init" result 7 result 7 result 7 result 7 result "7" result 7'
expect_eq "dup: ... ping, status, reject, ok, ping, ok" \
	"$(r "SELECT group_concat(ifnull(json_extract(j, '\$.result.structuredContent.reason'), ifnull(json_extract(j, '\$.result.structuredContent.state'), 'pong')), ' ') FROM (SELECT j FROM r WHERE n > 0 ORDER BY n)")" \
	"pong S0 INPUT_INVALID OK pong OK"
expect_eq "dup: ... the two Ticks are two calls" \
	"$(r "SELECT group_concat(json_extract(j, '\$.result.structuredContent.call_id'), ' ') FROM (SELECT j FROM r WHERE json_extract(j, '\$.result.structuredContent.outcome') = 'ok' ORDER BY n)")" "c2 c4"
after dup dup out exact

# ---- 6. requests before initialize --------------------------------------------------------

session early
{
	ping 1
	printf '{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n'
	tick 3 0 early
	printf '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"pitwall_status"}}\n'
	printf '{"jsonrpc":"2.0","id":5,"method":"prompts/list"}\n'
	printf '{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
	printf '{"jsonrpc":"2.0","id":6,"method":"initialize","params":{}}\n'
	printf '{"jsonrpc":"2.0","id":7,"method":"initialize"}\n'
	printf '{"jsonrpc":"2.0","id":8,"method":"tools/list"}\n'
	printf '{"jsonrpc":"2.0","id":9,"method":"initialize","params":{"protocolVersion":"1999-01-01","capabilities":{}}}\n'
	printf '{"jsonrpc":"2.0","id":10,"method":"tools/list"}\n'
	tick 11 0 late
	printf '{"jsonrpc":"2.0","id":12,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{}}}\n'
} | mcp early >out 2>err
expect_eq "early: exit 0" "$?" 0
load_out out
mapfile -t got < <(sigs)
expect_eq "early: before initialize: ping answered; tools/list, tools/call (action and status) -32600; unknown method -32601; initialize without protocolVersion -32602 (twice), still not initialized (-32600); then initialized, served" \
	"${got[*]}" 'result 1 -32600 2 -32600 3 -32600 4 -32601 5 -32602 6 -32602 7 -32600 8 result 9 result 10 result 11 result 12'
expect_eq "early: an unknown protocol version gets the newest, 2025-11-25" \
	"$(r "SELECT json_extract(j, '\$.result.protocolVersion') FROM r WHERE json_extract(j, '\$.id') = 9")" 2025-11-25
expect_eq "early: a known one gets itself (2024-11-05)" \
	"$(r "SELECT json_extract(j, '\$.result.protocolVersion') FROM r WHERE json_extract(j, '\$.id') = 12")" 2024-11-05
load_log early
expect_eq "early: the Tick before initialize was not recorded, the one after was" \
	"$(q "SELECT group_concat(json_extract(j, '\$.input.nonce')) FROM e WHERE json_extract(j, '\$.kind') = 'call'")" late
expect_eq "early: ... nor run" "$(cut -d' ' -f2 .pitwall/runs/early/tick.marker)" late
after early early out exact

# ---- 7. a client that stops reading stdout --------------------------------------------------

# stop_reading NAME HOW: 300 refused Ticks (about 200 KB of answers); the
# client reads three answers and no more, so pitwall blocks writing; then
# HOW: "close" closes the read end (pitwall's write fails: EPIPE, SIGPIPE
# ignored) or "term" sends SIGTERM.
stop_reading() {
	local name=$1 how=$2 n last same
	session "$name"
	mkfifo in outp
	mcp_bg "$name" <in >outp 2>err &
	pid=$!
	exec 3>in 4<outp
	echo "$INIT" >&3
	: >out
	for ((i = 1; i <= 300; i++)); do tick "$i" 999 "n$i"; done >&3
	for i in 1 2 3 4; do IFS= read -r line <&4 && printf '%s\n' "$line" >>out; done
	# blocked: the log stops growing (three looks, 0.1 s apart) before the 300th call
	n=-1 same=0
	for ((i = 0; i < 200 && same < 3; i++)); do
		sleep 0.1
		run_pw status "$name"
		last=$n
		n=$(jget "$out" '$.counts.calls')
		if [ "$n" = "$last" ]; then same=$((same + 1)); else same=0; fi
	done
	if [ "$n" -lt 300 ] && alive "$pid"; then
		ok "$name: pitwall blocks writing after $n of 300 calls, the client not reading"
	else
		not_ok "$name: pitwall did not block (calls: $n)"
	fi
	if [ "$how" = close ]; then
		exec 4<&-
		wait_exit "$pid" 10
		expect_eq "$name: the client closes its end: pitwall exits 0 (not by SIGPIPE) in ${ms} ms" "$rc" 0
		exec 3>&-
	else
		kill -TERM "$pid"
		wait_exit "$pid" 10
		expect_eq "$name: SIGTERM while blocked writing: pitwall exits 0 in ${ms} ms" "$rc" 0
		exec 3>&- 4<&-
	fi
	load_log "$name"
	expect_eq "$name: ... without deciding another call" \
		"$(q "SELECT count(*) FROM e WHERE json_extract(j, '\$.kind') = 'call'")" "$n"
	after "$name" "$name" out
}
stop_reading stopread close
stop_reading stopterm term

# one answer larger than a pipe holds (an unknown member of 200 KB, echoed
# back in the rejection), never read: SIGTERM still ends pitwall at once
session stopbig
mkfifo in outp
mcp_bg stopbig <in >outp 2>err &
pid=$!
exec 3>in 4<outp
echo "$INIT" >&3
IFS= read -r line <&4
printf '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"Tick","arguments":{"ms":1,"nonce":"a","x":"%s"}}}\n' "$(head -c 200000 /dev/zero | tr '\0' x)" >&3
calls_of() { run_pw status "$1" && jget "$out" '$.counts.calls'; }
wait_for '[ "$(calls_of stopbig)" = 1 ]' 20
sleep 0.3
kill -TERM "$pid"
wait_exit "$pid" 10
expect_eq "stopbig: SIGTERM while one 400 KB answer is blocked: pitwall exits 0 in ${ms} ms" "$rc" 0
exec 3>&- 4<&-

# ---- 8. SIGTERM during a call -------------------------------------------------------------

session term
mkfifo in
mcp_bg term <in >out 2>err &
pid=$!
exec 3>in
echo "$INIT" >&3
tick 1 200 term >&3
tick 2 0 never >&3
wait_for '[ -s .pitwall/runs/term/tick.marker ]' 20
kill -TERM "$pid"
wait_exit "$pid" 10
exec 3>&-
expect_eq "term: SIGTERM during a Tick: pitwall exits 0 (in ${ms} ms)" "$rc" 0
load_out out
expect_eq "term: ... the call is answered: stopped, failed TIMEOUT (tier uncorrected), isError" \
	"$(r "SELECT json_extract(j, '\$.result.structuredContent.outcome') || ' ' || json_extract(j, '\$.result.structuredContent.reason') || ' ' || json_extract(j, '\$.result.structuredContent.tier') || ' ' || json_extract(j, '\$.result.isError') FROM r WHERE json_extract(j, '\$.id') = 1")" \
	"failed TIMEOUT uncorrected 1"
load_log term
expect_eq "term: ... its result is recorded" \
	"$(q "SELECT json_extract(j, '\$.call_id') || ' ' || json_extract(j, '\$.outcome') FROM e WHERE json_extract(j, '\$.kind') = 'result'")" "c1 failed"
expect_eq "term: ... and the request queued behind it was neither run nor recorded" \
	"$(wc -l <.pitwall/runs/term/tick.marker) $(q "SELECT count(*) FROM e WHERE json_extract(j, '\$.kind') = 'call'")" "1 1"
after term term out exact

# SIGTERM and SIGHUP while waiting for a request
for sig in TERM HUP INT; do
	session "idle$sig"
	mkfifo in
	mcp_bg "idle$sig" <in >out 2>err &
	pid=$!
	exec 3>in
	echo "$INIT" >&3
	wait_for '[ -s out ]' 20
	kill "-$sig" "$pid"
	wait_exit "$pid" 10
	exec 3>&-
	expect_eq "idle: SIG$sig while waiting for a request: exit 0 (in ${ms} ms)" "$rc" 0
done

finish
