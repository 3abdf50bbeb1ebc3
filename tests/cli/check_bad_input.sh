#!/bin/bash
# Bad input to `pitwall check` gets one clear error line and exit 2: never a
# crash, never a hang (under ASan in CI, a crash would show as another exit
# status or a sanitizer report on stderr).
. "$(dirname "$0")/lib.sh"

# expect_refused NAME FILE PATTERN: exit 2, exactly one stderr line naming
# the file and matching PATTERN, nothing on stdout.
expect_refused() {
	local name=$1 file=$2 pattern=$3
	run_pw check "$file"
	local lines
	lines=$(printf '%s\n' "$err" | grep -c .)
	if [ "$rc" -eq 2 ] && [ "$lines" -eq 1 ] && [ -z "$out" ] &&
		printf '%s' "$err" | grep -q -- "^$file" &&
		printf '%s' "$err" | grep -qE -- "$pattern"; then
		ok "$name: $err"
	else
		not_ok "$name: rc=$rc lines=$lines stdout=[$out] stderr=[$err]"
	fi
}

d=$TMP/spec
make_spec_dir "$d"
run_pw check "$d/workflow.yaml"
if [ "$rc" -eq 0 ] && printf '%s' "$out" | grep -qE '^workflow_id sha256:[0-9a-f]{64}$'; then
	ok "valid spec: $out"
else
	not_ok "valid spec: rc=$rc out=[$out] err=[$err]"
fi

printf 'pitwall: 1\nstates: [A, B\n' >"$d/malformed.yaml"
expect_refused "malformed yaml" "$d/malformed.yaml" ':[0-9]+:[0-9]+: .*(flow sequence|expected)'

sed 's/^default: allow/default: allow\nshell: "rm -rf \/"/' "$d/workflow.yaml" >"$d/unknown.yaml"
expect_refused "unknown key" "$d/unknown.yaml" ':9:1: unknown key "shell"'

sed 's/ops-lead: {title: Ops lead}/ops-lead: {title: [Ops, lead]}/' "$d/workflow.yaml" >"$d/type.yaml"
expect_refused "wrong type" "$d/type.yaml" ':4:21: owners.ops-lead.title: expected a string, got a list'

sed 's/^initial: INIT/initial: INIT\ninitial: DONE/' "$d/workflow.yaml" >"$d/dup.yaml"
expect_refused "duplicate key" "$d/dup.yaml" ':7:1: duplicate key "initial"'

# 10 MB of otherwise valid YAML comments
{ cat "$d/workflow.yaml"; head -c 10485760 /dev/zero | tr '\0' '#'; } >"$d/big.yaml"
expect_refused "10 MB file" "$d/big.yaml" 'over the limit of 1048576'

{ printf 'a: '; head -c 10000 /dev/zero | tr '\0' '['; head -c 10000 /dev/zero | tr '\0' ']'; echo; } >"$d/deep.yaml"
expect_refused "10,000-deep nesting" "$d/deep.yaml" ':1:[0-9]+: nesting deeper than 64 levels'

{ printf 'pitwall: 1\nname: "caf\xc3'; printf '\x28"\n'; } >"$d/utf8.yaml"
expect_refused "invalid UTF-8" "$d/utf8.yaml" ':2:[0-9]+: invalid UTF-8'

: >"$d/empty.yaml"
expect_refused "empty file" "$d/empty.yaml" 'empty file'

mkdir -p "$d/adir.yaml"
expect_refused "a directory" "$d/adir.yaml" 'is a directory'

expect_refused "a missing file" "$d/missing.yaml" 'cannot open: No such file or directory'

# a pinned program that changed after approval
cp -r "$d" "$TMP/edited"
echo 'echo pwned' >>"$TMP/edited/bin/noop"
expect_refused "edited executor" "$TMP/edited/workflow.yaml" 'run.sha256: pin does not match the program'

# usage errors
run_pw check
[ "$rc" -eq 2 ] && ok "check without a file: exit 2" || not_ok "check without a file: rc=$rc"
run_pw frobnicate
[ "$rc" -eq 2 ] && printf '%s' "$err" | grep -q 'unknown command "frobnicate"' &&
	ok "unknown command: $err" || not_ok "unknown command: rc=$rc err=$err"

finish
