#!/bin/bash
# The workflow_id is exact: reformatting a spec (JSON instead of YAML, key
# order, comments, quoting) never changes it; any change of meaning (a
# state, a pattern, a bound, a rule, an executor's bytes) always does.
. "$(dirname "$0")/lib.sh"
cd "$PW_SOURCE_ROOT"

id_of() { "$PW_BIN" id "$1" 2>"$TMP/.id-err"; }

same() {
	local what=$1 file=$2 want=$3 got
	got=$(id_of "$file")
	if [ -n "$got" ] && [ "$got" = "$want" ]; then ok "$what keeps the id"; else
		not_ok "$what changed the id: $got vs $want ($(cat "$TMP/.id-err"))"; fi
}

differs() {
	local what=$1 file=$2 base=$3 got
	got=$(id_of "$file")
	if [ -n "$got" ] && [ "$got" != "$base" ]; then ok "$what changes the id"; else
		not_ok "$what: id [$got] base [$base] ($(cat "$TMP/.id-err"))"; fi
}

# Reverse the order of the top-level blocks of a YAML file (comments stay
# with the block that follows them).
reverse_blocks() {
	awk '
		/^[A-Za-z]/ { n++ }
		{ block[n] = block[n] $0 "\n" }
		END { for (i = n; i >= 0; i--) printf "%s", block[i] }
	' "$1"
}

for dir in examples/*/; do
	name=$(basename "$dir")
	work=$TMP/$name
	cp -r "$dir" "$work"
	spec=$work/workflow.yaml
	base=$(id_of "$spec")
	if [ -z "$base" ]; then
		not_ok "$name: pitwall id failed: $(cat "$TMP/.id-err")"
		continue
	fi

	"$PW_BIN" model "$spec" >"$work/as-json.yaml"
	same "$name: rewritten as canonical JSON (flow style, sorted keys)" "$work/as-json.yaml" "$base"
	reverse_blocks "$spec" >"$work/reversed.yaml"
	same "$name: top-level keys in reverse order" "$work/reversed.yaml" "$base"
	sed '/^[A-Za-z]/i # a reviewer'"'"'s comment' "$spec" >"$work/commented.yaml"
	same "$name: comments added" "$work/commented.yaml" "$base"
	sed 's/^initial: *\([A-Za-z_0-9]*\)$/initial: "\1"/; s/^name: *\([A-Za-z_0-9.-]*\)$/name: '"'"'\1'"'"'/' \
		"$spec" >"$work/quoted.yaml"
	same "$name: scalars quoted" "$work/quoted.yaml" "$base"

	# An executor's bytes: the old pin no longer matches, and the new pin
	# makes a new workflow_id.
	prog=$(grep -m1 -E '^ *program: ' "$spec" | sed 's/^ *program: *//; s/"//g')
	old=$(sha256sum "$work/$prog" | cut -d' ' -f1)
	echo "# changed" >>"$work/$prog"
	new=$(sha256sum "$work/$prog" | cut -d' ' -f1)
	run_pw id "$spec"
	if [ "$rc" -eq 2 ] && printf '%s' "$err" | grep -q "pin does not match"; then
		ok "$name: changed $prog is refused until re-pinned"
	else
		not_ok "$name: changed $prog: rc=$rc err=$err"
	fi
	cp "$spec" "$work/before-pin.yaml"
	run_pw pin "$spec"
	changed=$(diff "$work/before-pin.yaml" "$spec" | grep -c '^>')
	if [ "$rc" -eq 0 ] && ! grep -q "$old" "$spec" && grep -q "$new" "$spec" && [ "$changed" -ge 1 ] &&
		[ "$(sed "s/$new/$old/" "$spec")" = "$(cat "$work/before-pin.yaml")" ]; then
		ok "$name: pitwall pin rewrote only the pin of $prog"
	else
		not_ok "$name: pitwall pin: rc=$rc changed=$changed out=$out err=$err"
	fi
	differs "$name: $prog re-pinned" "$spec" "$base"
done

# Changes of meaning in research_v1, each alone.
work=$TMP/research_v1
cp -r examples/research_v1/. "$work/"
spec=examples/research_v1/workflow.yaml
base=$(id_of "$spec")
change() {
	local what=$1 expr=$2
	sed "$expr" "$spec" >"$work/changed.yaml"
	if cmp -s "$spec" "$work/changed.yaml"; then
		not_ok "$what: the edit did not apply"
		return
	fi
	differs "research_v1: $what" "$work/changed.yaml" "$base"
}
change "a state renamed" 's/SWEEP_COMPLETED/SWEEP_FINISHED/g'
change "the branch pattern" 's|\^\[A-Za-z0-9._/-\]+\$|^[A-Za-z0-9._-]+$|'
change "the sweep timeout bound" 's/maximum: 86400/maximum: 86401/'
change "the approval rule" 's/\[{var: input.branch}, "release"\]/[{var: input.branch}, "main"]/'
change "a capability requirement" 's/- {cap: manifest_signed, value: {var: input.manifest_id}}/- {cap: manifest_signed}/'

finish
