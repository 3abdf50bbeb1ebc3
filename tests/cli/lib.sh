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

finish() {
	echo "${passed} passed, ${failed} failed"
	[ "$failed" -eq 0 ]
}
