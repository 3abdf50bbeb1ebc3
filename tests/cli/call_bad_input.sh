#!/bin/bash
# Black-box: bad input to `pitwall call` gets a clear error, a logged
# rejection where a run exists, and never runs anything; no code path of
# the binary can reach a shell.
. "$(dirname "$0")/lib.sh"
cd "$PW_SOURCE_ROOT" || exit 1
root=$PWD
case $PW_BIN in /*) ;; *) PW_BIN=$root/$PW_BIN ;; esac
cd "$TMP" || exit 1
spec=$root/examples/research_v1/workflow.yaml

# rejected NAME REASON [CHECK]: exit 5, that reason, one JSON object on stdout
rejected() {
	local reason check
	reason=$(jget "$out" '$.reason')
	check=$(jget "$out" '$.check')
	if [ "$rc" = 5 ] && [ "$reason" = "$2" ] && { [ -z "${3:-}" ] || [ "$check" = "$3" ]; } &&
		[ "$(printf '%s\n' "$out" | wc -l)" = 1 ]; then
		ok "$1"
	else
		not_ok "$1 (exit $rc, reason '$reason', check '$check'; ${out:0:200} $err)"
	fi
}

"$PW_BIN" run start "$spec" --run-id b1 >/dev/null
events() { "$PW_BIN" status b1 | grep -o '"events": [0-9]*' | grep -o '[0-9]*'; }

n0=$(events)
run_pw call b1 PodUp '{"name": "x",'
rejected "malformed JSON is INPUT_MALFORMED" INPUT_MALFORMED input
case $(jget "$out" '$.actual') in *line\ 1*) ok "... and says where" ;; *) not_ok "... where: $out" ;; esac
expect_eq "... and is logged" "$(events)" $((n0 + 1))

head -c 10485760 /dev/zero | tr '\0' ' ' >big.json
printf '{}' >>big.json
run_pw call b1 PodUp - <big.json
rejected "a 10 MB input is INPUT_MALFORMED" INPUT_MALFORMED input
case $(jget "$out" '$.actual') in *"over the limit of 1048576"*) ok "... over the 1 MiB limit" ;;
*) not_ok "... limit message: ${out:0:200}" ;; esac

run_pw call b1 PodUp '{"name":"a","name":"b","gpu":"A100","count":1}'
rejected "duplicate keys are INPUT_MALFORMED" INPUT_MALFORMED input
case $(jget "$out" '$.actual') in *duplicate*) ok "... named as a duplicate key" ;; *) not_ok "... dup: $out" ;; esac

printf '{"name":"\xff\xfe","gpu":"A100","count":1}' >bad-utf8.json
run_pw call b1 PodUp - <bad-utf8.json
rejected "invalid UTF-8 is INPUT_MALFORMED" INPUT_MALFORMED input

run_pw call b1 PodUp "$(printf '%0.s[' $(seq 1 100))$(printf '%0.s]' $(seq 1 100))"
rejected "input nested 100 deep is INPUT_MALFORMED" INPUT_MALFORMED input

run_pw call b1 PodUp '{"name":"x","gpu":"A100","count":9007199254740993}'
rejected "an integer beyond 2^53 is INPUT_MALFORMED" INPUT_MALFORMED input

run_pw call b1 PodUp '{"name":"x","gpu":"A100","count":"4"}'
rejected "a wrong type is INPUT_INVALID" INPUT_INVALID 'input/count:type'
run_pw call b1 PodUp '{"name":"x","gpu":"A100","count":4,"shell":"sh"}'
rejected "an unknown member is INPUT_INVALID" INPUT_INVALID 'input/shell:additionalProperties'
run_pw call b1 PodUp '[]'
rejected "an array instead of an object is INPUT_MALFORMED" INPUT_MALFORMED input
run_pw call b1 PodUp 'null'
rejected "null instead of an object is INPUT_MALFORMED" INPUT_MALFORMED input
run_pw call b1 PodUp '{"gpu":"A100","count":4}'
rejected "a missing required member is INPUT_INVALID" INPUT_INVALID 'input:required'

run_pw call b1 "$(printf 'Pod\xffUp')" '{}'
rejected "an action name that is not UTF-8 is INPUT_MALFORMED" INPUT_MALFORMED action
run_pw call b1 "$(head -c 300 /dev/zero | tr '\0' A)" '{}'
rejected "a 300-byte action name is INPUT_MALFORMED" INPUT_MALFORMED action
expect_eq "... not an unknown action (a policy violation): no tier, the run not halted" \
	"[$(jget "$out" '$.tier')] $(jget "$out" '$.halted')" "[] 0"

[ ! -e .pitwall/runs/b1/pod ] && ok "none of these ran anything" || not_ok "a bad call ran PodUp"
if "$PW_BIN" log b1 >/dev/null; then ok "every rejection is in a log that verifies"; else not_ok "log"; fi
load_log b1
expect_eq "... and no halt or lockout followed any of them" \
	"$(q "SELECT count(*) FROM e WHERE json_extract(j, '\$.kind') IN ('halt', 'lockout')")" 0
expect_eq "... all $(("$(events)" - 1)) of them" "$("$PW_BIN" log b1 --json | grep -c '"verdict":"reject"')" \
	$(("$(events)" - 1))

run_pw call nope PodUp '{}'
if [ "$rc" = 2 ] && [ -z "$out" ] && [[ $err == *'no run "nope"'* ]]; then ok "an unknown run is a usage error (exit 2)"; else
	not_ok "unknown run (exit $rc: $err)"; fi
run_pw call b1
[ "$rc" = 2 ] && ok "call without an action is a usage error" || not_ok "usage (exit $rc)"
run_pw call b1 PodUp '{}' --bogus
[ "$rc" = 2 ] && ok "an unknown option is a usage error" || not_ok "unknown option (exit $rc)"
run_pw call b1 PodUp '{}' --db "$TMP/none.db"
if [ "$rc" = 2 ] && [[ $err == *"no ledger"* ]]; then ok "a missing ledger is a usage error"; else
	not_ok "missing ledger (exit $rc: $err)"; fi
run_pw call b1 PodUp '{}' --secrets "$TMP/none"
[ "$rc" = 2 ] && ok "a missing secrets file is refused" || not_ok "missing secrets (exit $rc)"
printf 'TOKEN=abcdefgh12345\n' >secrets
chmod 644 secrets
run_pw call b1 PodUp '{}' --secrets secrets
if [ "$rc" = 2 ] && [[ $err == *"group or others"* ]]; then ok "a secrets file others can read is refused"; else
	not_ok "secrets mode (exit $rc: $err)"; fi
case $err in *abcdefgh12345*) not_ok "... and the error shows the secret" ;; *) ok "... without showing the secret" ;; esac

# No code path can reach a shell: the binary does not even link the functions that would.
syms=$(nm -D --undefined-only "$PW_BIN" | awk '{print $NF}' | sed 's/@.*//')
if [ -n "$syms" ]; then ok "nm -D lists the binary's dynamic symbols"; else not_ok "nm -D found nothing"; fi
for f in system popen execvp execlp execvpe execl execle posix_spawnp; do
	if printf '%s\n' "$syms" | grep -qx "$f"; then not_ok "the binary links $f"; else ok "the binary does not link $f"; fi
done
if printf '%s\n' "$syms" | grep -qx posix_spawn; then ok "it spawns with posix_spawn (by absolute path)"; else
	not_ok "posix_spawn not linked"; fi
finish
