#!/bin/bash
# Black-box: what a program sends back is bounded and redacted before it is
# recorded or shown; the run's decisions use exactly what the log records.
. "$(dirname "$0")/lib.sh"
cd "$PW_SOURCE_ROOT" || exit 1
root=$PWD
case $PW_BIN in /*) ;; *) PW_BIN=$root/$PW_BIN ;; esac
cd "$TMP" || exit 1

mkdir -p wf/bin
prog() {
	printf '#!/bin/sh\n%s\n' "$2" >"wf/bin/$1"
	chmod +x "wf/bin/$1"
	sha256sum "wf/bin/$1" | cut -c1-64
}
spew=$(prog spew 'head -c 5000000 /dev/zero | tr "\0" x; echo')
big=$(prog big 'printf "{\"a\":\""; head -c 6000000 /dev/zero | tr "\0" y; printf "\"}\n"')
leak=$(prog leak 'printf "{\"token\":\"%s\",\"%s\":1}\n" "$TOKEN" "$TOKEN"; echo "using $TOKEN" >&2')
cut=$(prog cut 'head -c 990 /dev/zero | tr "\0" e >&2; printf "%s" "$TOKEN" >&2; echo "{}"')
echo_x=$(prog echox 'echo "{\"x\": $1}"')
slow=$(prog slow 'sleep 30; echo "{}"')
cat >wf/workflow.yaml <<YAML
pitwall: 1
name: edges
owners: {ops-lead: {title: Ops lead}}
states: [S0, S1]
initial: S0
terminal: [S1]
default: allow
actions:
  Spew:
    from: [S0]
    input: {type: object}
    run: {program: bin/spew, sha256: "$spew", timeout: 20s}
  Big:
    from: [S0]
    input: {type: object}
    run: {program: bin/big, sha256: "$big", timeout: 20s, max_output: 67108864}
  Leak:
    from: [S0]
    input: {type: object}
    run: {program: bin/leak, sha256: "$leak", secrets: [TOKEN]}
  Cut:
    from: [S0]
    input: {type: object}
    run: {program: bin/cut, sha256: "$cut", secrets: [TOKEN], max_output: 1000}
  Slow:
    from: [S0]
    input: {type: object}
    run: {program: bin/slow, sha256: "$slow", timeout: 60s}
  Sign:
    from: [S0]
    input: {type: object, properties: {x: {type: number}}}
    decide:
      - when: {"<": [{"/": [1, {var: input.x}]}, 0]}
        block: {owner: ops-lead, reason: negative}
    run: {program: bin/echox, sha256: "$echo_x", args: ["{input.x}"]}
YAML
"$PW_BIN" run start wf/workflow.yaml --run-id e1 >/dev/null || not_ok "run start"
printf 'TOKEN=s3cr3t-T0KEN-value\n' >secrets
chmod 600 secrets

run_pw call e1 Spew '{}'
expect_eq "5 MB on stdout with the default cap: failed RESULT_INVALID (exit 6)" \
	"$rc $(jget "$out" '$.reason')" "6 RESULT_INVALID"
line=$("$PW_BIN" log e1 --json | tail -n 1)
expect_eq "... the log records 1 MiB kept and the cut" \
	"$(jget "$line" '$.stdout_bytes') $(jget "$line" '$.stdout_truncated')" "1048576 1"

run_pw call e1 Big '{}'
expect_eq "a 6 MB result is not recorded: failed RESULT_INVALID, not in doubt" \
	"$rc $(jget "$out" '$.reason')" "6 RESULT_INVALID"
case $(jget "$out" '$.message') in *"can be recorded"*) ok "... and says why" ;; *) not_ok "... why: $out" ;; esac
run_pw status e1
expect_eq "... no call is left open" "$(jget "$out" '$.open_calls')" "[]"

run_pw call e1 Leak '{}'
case $out in *s3cr3t*) not_ok "Leak without --secrets" ;; *) ok "an action whose secret is not given does not start" ;; esac
expect_eq "... SPAWN_FAILED, naming the missing secret" "$(jget "$out" '$.reason')" SPAWN_FAILED
run_pw call e1 Leak '{}' --secrets secrets
expect_eq "with --secrets it runs" "$rc $(jget "$out" '$.outcome')" "0 ok"
expect_eq "... the secret in a result value is redacted" "$(jget "$out" '$.result.token')" "[REDACTED:TOKEN]"
expect_eq "... and in a member name" "$(jget "$out" '$.result."[REDACTED:TOKEN]"')" 1
case "$out$("$PW_BIN" log e1 --json)$("$PW_BIN" log e1)" in *s3cr3t*) not_ok "the secret reached the output or the log" ;;
*) ok "the secret is nowhere in the output or the log" ;; esac
case $(jget "$out" '$.stderr') in *"using [REDACTED:TOKEN]"*) ok "... stderr is redacted too" ;;
*) not_ok "stderr: $out" ;; esac

run_pw call e1 Cut '{}' --secrets secrets
case "$out$("$PW_BIN" log e1 --json)" in *s3cr3*|*T0KEN*) not_ok "a secret cut by the stderr limit leaked in part" ;;
*) ok "a secret cut in half by the output limit leaks no part of itself" ;; esac

run_pw call e1 Sign '{"x": -0}'
expect_eq "-0 is 0 before anything decides (logged as 0, allowed like 0)" "$(jget "$out" '$.verdict')" allow
run_pw call e1 Sign '{"x": -1}'
expect_eq "... while -1 is blocked" "$(jget "$out" '$.verdict')" block

"$PW_BIN" call e1 Slow '{}' >slow.out 2>&1 &
pid=$!
for _ in $(seq 1 50); do [ -n "$(pgrep -f "wf/bin/slow" || true)" ] && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"
rc=$?
out=$(cat slow.out)
expect_eq "SIGTERM to pitwall during a call stops the program and records the result (exit 6)" \
	"$rc $(jget "$out" '$.reason') $(jget "$out" '$.tier')" "6 TIMEOUT uncorrected"
expect_eq "... saying so" "$(jget "$out" '$.message')" \
	"Slow ran past its timeout and was killed (uncorrected): stopped: pitwall was interrupted"
[ -z "$(pgrep -f "wf/bin/slow" || true)" ] && ok "... and the program is gone" || not_ok "the program outlived pitwall"
run_pw status e1
expect_eq "... and nothing is left in doubt" "$(jget "$out" '$.open_calls')" "[]"

mv wf/workflow.yaml wf/moved.yaml
run_pw call e1 Sign '{"x": 1}'
expect_eq "a spec that cannot be read is SPEC_UNREADABLE, and the run does not halt" \
	"$rc $(jget "$out" '$.reason') $(jget "$out" '$.halted')" "5 SPEC_UNREADABLE 0"
mv wf/moved.yaml wf/workflow.yaml
run_pw call e1 Sign '{"x": 1}'
expect_eq "... once it is back, calls run again" "$rc $(jget "$out" '$.outcome')" "0 ok"
for r in e1; do
	verifies "$r"
done
finish
