# Shared by the black-box CLI tests: counters, assertions, a temp dir.
# Each test sources this, calls check ..., and ends with `finish`.
set -u
PW_BIN=${PW_BIN:-build/pitwall}
PW_SOURCE_ROOT=${PW_SOURCE_ROOT:-.}
passed=0
failed=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

ok() {
	passed=$((passed + 1))
	echo "ok   $*"
}

not_ok() {
	failed=$((failed + 1))
	echo "FAIL $*"
}

# run_pw ARGS...: runs pitwall, sets $rc, $out (stdout) and $err (stderr).
run_pw() {
	"$PW_BIN" "$@" >"$TMP/.out" 2>"$TMP/.err"
	rc=$?
	out=$(cat "$TMP/.out")
	err=$(cat "$TMP/.err")
}

# A minimal valid spec with one pinned program, in directory $1.
make_spec_dir() {
	mkdir -p "$1/bin"
	printf '#!/bin/sh\necho "{}"\n' >"$1/bin/noop"
	chmod +x "$1/bin/noop"
	local pin
	pin=$(sha256sum "$1/bin/noop" | cut -d' ' -f1)
	cat >"$1/workflow.yaml" <<YAML
pitwall: 1
name: minimal
owners:
  ops-lead: {title: Ops lead}
states: [INIT, DONE]
initial: INIT
terminal: [DONE]
default: allow
actions:
  Finish:
    from: [INIT]
    to: DONE
    input: {type: object}
    run:
      program: bin/noop
      sha256: $pin
YAML
}

# jget JSON PATH: a member of a JSON text by SQLite JSON path ('$.verdict');
# strings unquoted, true/false as 1/0, objects and arrays as JSON.
hexof() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
jget() { sqlite3 :memory: "SELECT json_extract(CAST(X'$(hexof "$1")' AS TEXT), '$2')"; }

# expect_eq NAME GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', expected '$3')"; fi
}
# expect_match NAME TEXT ERE: a line of TEXT matches the extended regular expression ERE
expect_match() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		ok "$1"
	else
		not_ok "$1 (got '${2:0:300}', expected a line matching '$3')"
	fi
}

# make_tick_spec DIR NAME: a workflow NAME in DIR with Tick (S0, stays) whose program records
# "<run id> <nonce>" in tick.marker (its cwd, the run's directory), sleeps
# input.ms milliseconds and prints {"n": 1}. The program's environment is
# empty (no PATH), so sleep is named by its absolute path.
make_tick_spec() {
	local sleep_bin pin
	sleep_bin=$(command -v sleep)
	mkdir -p "$1/bin"
	cat >"$1/bin/tick" <<SH
#!/bin/sh
echo "\$1 \$3" >>tick.marker
$sleep_bin \$(printf '%d.%03d' \$((\$2 / 1000)) \$((\$2 % 1000)))
echo '{"n": 1}'
SH
	chmod +x "$1/bin/tick"
	pin=$(sha256sum "$1/bin/tick" | cut -d' ' -f1)
	cat >"$1/workflow.yaml" <<YAML
pitwall: 1
name: $2
owners:
  ops-lead: {title: Ops lead}
states: [S0, S1]
initial: S0
terminal: [S1]
default: allow
actions:
  Tick:
    from: [S0]
    input:
      type: object
      additionalProperties: false
      required: [ms, nonce]
      properties:
        ms: {type: integer, minimum: 0, maximum: 200}
        nonce: {type: string, pattern: "^[a-z0-9-]{1,40}\$"}
    run:
      program: bin/tick
      sha256: "$pin"
      args: ["{run.id}", "{input.ms}", "{input.nonce}"]
      timeout: 10s
YAML
}

# load_log RUN: the run's events (log --json) as one JSON array in $TMP/log.json
# (the events before a break in the chain); $log_rc: the exit status of log --json.
load_log() {
	"$PW_BIN" log "$1" --json >"$TMP/log.lines" 2>"$TMP/log.err"
	log_rc=$?
	sed '1s/^/[/; $!s/$/,/; $s/$/]/' "$TMP/log.lines" >"$TMP/log.json"
	[ -s "$TMP/log.json" ] || echo '[]' >"$TMP/log.json"
}
# q SQL: a query over e(j), one row per event of $TMP/log.json (j: the event's JSON)
q() {
	sqlite3 :memory: "WITH e AS (SELECT value AS j FROM json_each(CAST(readfile('$TMP/log.json') AS TEXT))) $1"
}

# make_trust OWNER...: the operator's trust file (docs/SECURITY.md), $TMP/trust/owners, letting the
# OS user running the tests act as each OWNER; $TRUST is its path. pitwall wants it owned by root and
# writable by nobody else: the tests run as root, as CI does.
make_trust() {
	local o
	[ -d "$TMP/trust" ] || mkdir -m 755 "$TMP/trust"
	: >"$TMP/trust/owners"
	for o in "$@"; do printf '%s: %s\n' "$o" "$(id -un)" >>"$TMP/trust/owners"; done
	chmod 644 "$TMP/trust/owners"
	# shellcheck disable=SC2034 # for the tests that source this file
	TRUST=$TMP/trust/owners
}

# nevents RUN: how many events RUN has in .pitwall/pitwall.db
nevents() { sqlite3 .pitwall/pitwall.db "SELECT count(*) FROM events WHERE run_id = '$1'"; }

# events_after RUN SEQ: RUN's events after SEQ, one line each, without the members every event has
# (v, run_id, seq, time_ms, prev, hash): what a halt, lockout, unlock or resume says, exactly
events_after() {
	load_log "$1"
	q "SELECT json_remove(j, '\$.v', '\$.run_id', '\$.seq', '\$.time_ms', '\$.prev', '\$.hash') FROM e
	   WHERE json_extract(j, '\$.seq') > $2 ORDER BY json_extract(j, '\$.seq')"
}

# verifies RUN [SPEC]: pitwall verify replays the run in .pitwall/pitwall.db as VALID
verifies() {
	local r=$1
	shift
	run_pw verify --db .pitwall/pitwall.db "$r" ${1:+--spec "$1"}
	if [ "$rc" = 0 ] && [[ $out == "VALID run $r: "* ]]; then ok "pitwall verify: run $r is VALID"; else
		not_ok "verify $r (exit $rc: $out $err)"; fi
}

finish() {
	echo "${passed} passed, ${failed} failed"
	[ "$failed" -eq 0 ]
}
