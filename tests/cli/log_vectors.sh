#!/bin/bash
# The test vectors of docs/LOG-FORMAT.md (tests/vectors/log), checked by a
# second implementation of the hash written from the document alone: the
# shell, printf and sha256sum. pitwall's own code (src/core/event.c) checks
# the same vectors in test_event, byte for byte.
. "$(dirname "$0")/lib.sh"
V="$PW_SOURCE_ROOT/tests/vectors/log"

# hex_bytes HEX: the bytes a string of hex digits spells
hex_bytes() { printf "$(printf '%s' "$1" | sed 's/../\\x&/g')"; }

n=0 prev="sha256:$(printf '0%.0s' $(seq 64))" bad=0
while IFS= read -r line; do
	want=$(sed -n "$((n + 1))p" "$V/hashes.txt")
	recorded=$(printf '%s' "$line" | grep -oE '"hash":"sha256:[0-9a-f]{64}"' | head -1 | cut -d'"' -f4)
	# the canonical event without its top-level "hash" member (it sorts before "kind", so a comma follows)
	body=$(printf '%s' "$line" | sed -E 's/"hash":"sha256:[0-9a-f]{64}",//')
	linked=$(printf '%s' "$line" | grep -oE '"prev":"sha256:[0-9a-f]{64}"' | cut -d'"' -f4)
	got="sha256:$( { printf 'pitwall-event-v1\0'; hex_bytes "${prev#sha256:}"; printf '%s' "$body"; } | sha256sum | cut -c1-64)"
	if [ "$linked" != "$prev" ]; then
		not_ok "event $n: prev is $linked, the hash before is $prev"
		bad=1
	elif [ "$want" != "$n $got" ] || [ "$recorded" != "$got" ]; then
		not_ok "event $n: SHA-256 of the preimage is $got; hashes.txt says '$want', the event says $recorded"
		bad=1
	fi
	prev=$got n=$((n + 1))
done <"$V/run.jsonl"
expect_eq "hashes.txt has a line per event" "$(wc -l <"$V/hashes.txt")" "$n"
[ "$bad" = 0 ] && [ "$n" -gt 10 ] && ok "all $n hashes recomputed from the document's recipe match the vectors"

# every event kind and every verdict is in the vectors
kinds=$(grep -oE '"kind":"[a-z]+"' "$V/run.jsonl" | sort -u | tr -d '\n')
expect_eq "the vectors hold every event kind" "$kinds" \
	'"kind":"approve""kind":"call""kind":"deny""kind":"escalate""kind":"genesis""kind":"halt""kind":"lockout""kind":"resolve""kind":"result""kind":"resume""kind":"unlock"'
verdicts=$(grep -oE '"verdict":"[a-z]+"' "$V/run.jsonl" | sort -u | tr -d '\n')
expect_eq "the vectors hold every verdict" "$verdicts" '"verdict":"allow""verdict":"approval""verdict":"block""verdict":"reject"'
tiers=$(grep -oE '"tier":"[a-z_]+"' "$V/run.jsonl" | sort -u | tr -d '\n')
expect_eq "the vectors hold every tier" "$tiers" '"tier":"correctable""tier":"fatal""tier":"policy_violation""tier":"uncorrected"'
expect_eq "... a retry, and an allow that uses an approval" \
	"$(grep -c '"attempt":2,' "$V/run.jsonl") $(grep -c '"reason":"APPROVED"' "$V/run.jsonl")" "1 1"
expect_eq "... and every result records its sandbox" \
	"$(grep '"kind":"result"' "$V/run.jsonl" | grep -c '"sandbox":{"enforced":\[')" \
	"$(grep -c '"kind":"result"' "$V/run.jsonl")"

# pitwall verify agrees, and names the same head
run_pw verify "$V/run.jsonl" --spec "$V/workflow.yaml"
wid=$("$PW_BIN" id "$V/workflow.yaml")
expect_eq "pitwall verify of the vectors" "$rc $out" "0 VALID run v1: $n events, workflow $wid, head $prev"

# the document quotes the vectors' hashes; they must be these
doc="$PW_SOURCE_ROOT/docs/LOG-FORMAT.md"
for h in $(grep -oE 'sha256:[0-9a-f]{64}' "$doc" | sort -u); do
	grep -q "$h" "$V/run.jsonl" "$V/workflow.yaml" ||
		[ "$h" = "sha256:$(printf '0%.0s' $(seq 64))" ] ||
		{ not_ok "LOG-FORMAT.md quotes $h, which is not in the vectors"; bad=1; }
done
grep -q "$prev" "$doc" && ok "LOG-FORMAT.md quotes the vectors' head hash" || not_ok "LOG-FORMAT.md does not quote the head $prev"

# the worked example of section 4 is event 0 of the vectors, and its command gives its hash
B=$(grep -m1 "^{\"agent\":\"operator\",\"kind\":\"genesis\"" "$doc")
expect_eq "LOG-FORMAT.md section 4: B is event 0 without its hash" "$B" "$(head -1 "$V/run.jsonl" | sed -E "s/\"hash\":\"sha256:[0-9a-f]{64}\",//")"
expect_eq "LOG-FORMAT.md section 4: the shell recipe gives event 0's hash" \
	"sha256:$( { printf 'pitwall-event-v1\0'; head -c 32 /dev/zero; printf '%s' "$B"; } | sha256sum | cut -c1-64)" "$(head -1 "$V/hashes.txt" | cut -d" " -f2)"

# a change of one byte anywhere in the body changes the hash (the recipe is not vacuous)
line=$(head -1 "$V/run.jsonl")
body=$(printf '%s' "$line" | sed -E 's/"hash":"sha256:[0-9a-f]{64}",//; s/"INIT"/"INIU"/')
zero=$(printf '0%.0s' $(seq 64))
h2="sha256:$( { printf 'pitwall-event-v1\0'; hex_bytes "$zero"; printf '%s' "$body"; } | sha256sum | cut -c1-64)"
h3="sha256:$( { printf 'pitwall-event-v1'; hex_bytes "$zero"; printf '%s' "$(printf '%s' "$line" | sed -E 's/"hash":"sha256:[0-9a-f]{64}",//')"; } | sha256sum | cut -c1-64)"
[ "$h2" != "$(head -1 "$V/hashes.txt" | cut -d' ' -f2)" ] && [ "$h3" != "$(head -1 "$V/hashes.txt" | cut -d' ' -f2)" ] &&
	ok "one changed byte, or the domain tag without its NUL, gives another hash" ||
	not_ok "the hash did not change"
finish
