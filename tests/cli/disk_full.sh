#!/bin/bash
# Black-box: a ledger that cannot grow. A call whose call event cannot be written does not run,
# says so, and leaves the log as it was; a call whose result cannot be written (its program
# filled the disk) is in doubt, says so, and is resolved by an owner once there is room again.
# Nothing committed is lost and the log verifies throughout.
#
# Two ways to fill it: RLIMIT_FSIZE on pitwall (writes fail with EFBIG; needs nothing), and a
# small tmpfs holding the ledger and the run's folder (ENOSPC, a real full file system; needs
# mount, which the tests get as root; without it that part says so and is skipped).
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
disk=$TMP/disk
trap 'umount -l "$disk" 2>/dev/null; rm -rf "$TMP"' EXIT

mkdir -p spec/bin
printf '#!/bin/sh\necho "$1" >>note.marker\necho "{}"\n' >spec/bin/note
# Fill writes until the file system is full, then succeeds: its result is what cannot be written
printf '#!/bin/sh\n%s x >fill 2>/dev/null\necho "{}"\n' "$(command -v yes)" >spec/bin/fill
# Shout prints a result with a string of $1 zeros: its call event is small, its result large
cat >spec/bin/shout <<'SH'
#!/bin/sh
printf '{"s":"%0'"$1"'d"}' 0
SH
chmod +x spec/bin/note spec/bin/fill spec/bin/shout
cat >spec/workflow.yaml <<YAML
pitwall: 1
name: disk_full
owners:
  ops-lead: {title: Ops lead}
states: [S0, S1]
initial: S0
terminal: [S1]
default: allow
actions:
  Note:
    from: [S0]
    input:
      type: object
      additionalProperties: false
      required: [tag, text]
      properties:
        tag: {type: string, pattern: "^[a-z0-9-]{1,40}\$"}
        text: {type: string, maxLength: 900000}
    run:
      program: bin/note
      sha256: "$(sha256sum spec/bin/note | cut -d' ' -f1)"
      args: ["{input.tag}"]
      timeout: 10s
  Shout:
    from: [S0]
    input:
      type: object
      additionalProperties: false
      required: [n]
      properties:
        n: {type: integer, minimum: 1, maximum: 900000}
    effects:
      limits: {file_size: 16KiB} # under the RLIMIT_FSIZE pitwall runs with below
    run:
      program: bin/shout
      sha256: "$(sha256sum spec/bin/shout | cut -d' ' -f1)"
      args: ["{input.n}"]
      timeout: 10s
  Fill:
    from: [S0]
    input: {type: object, additionalProperties: false}
    run:
      program: bin/fill
      sha256: "$(sha256sum spec/bin/fill | cut -d' ' -f1)"
      timeout: 20s
YAML
make_trust ops-lead

# events DB RUN: the number of events status counts, and the open calls
events() {
	run_pw status "$2" --db "$1"
	echo "$(jget "$out" '$.events') $(jget "$out" '$.open_calls')"
}
# verifies DB RUN NAME: the run's log checks from genesis to head
log_ok() {
	run_pw log "$2" --db "$1"
	expect_eq "$3: the log verifies" "$rc" 0
}

# 1. RLIMIT_FSIZE: room for the shared-memory index (32 KiB) and a little more, not for an
#    event larger than any of the ledger's files. SIGXFSZ is ignored so that write() fails.
mkdir -p "$TMP/a"
db=$TMP/a/pitwall.db
run_pw run start spec/workflow.yaml --db "$db" --run-id r1
expect_eq "r1 start" "$rc" 0
r1_dir=$(jget "$out" '$.run_dir')
before=$(events "$db" r1)
largest=$(stat -c %s "$db" "$db-wal" 2>/dev/null | sort -n | tail -n 1)
kib=$(((largest > 32768 ? largest : 32768) / 1024 + 4))
big=$(head -c $(((kib + 8) * 1024)) /dev/zero | tr '\0' a)
# limited CMD...: CMD with writes limited to $kib KiB a file
limited() {
	(
		trap '' XFSZ
		ulimit -f "$kib"
		exec "$@"
	) >"$TMP/o" 2>"$TMP/e"
	rc=$?
}
limited "$PW_BIN" call r1 Note "{\"tag\":\"big\",\"text\":\"$big\"}" --db "$db"
expect_eq "a call event that cannot be written: exit 1, nothing on stdout" "$rc $(wc -c <"$TMP/o")" "1 0"
expect_match "... and says why and that the call does not run" "$(cat "$TMP/e")" \
	'^pitwall call: cannot (write|commit to) the log: .*; the call does not run$'
expect_eq "... the program did not run" "$(cat "$r1_dir/note.marker" 2>/dev/null)" ""
expect_eq "... the log is as it was: no event, no open call" "$(events "$db" r1)" "$before"
log_ok "$db" r1 "after the failed write"
run_pw call r1 Note '{"tag":"small","text":"x"}' --db "$db"
expect_eq "with room again the next call runs" "$rc $(cat "$r1_dir/note.marker")" "0 small"
# the call event fits, the result does not
n=$(events "$db" r1 | cut -d' ' -f1)
limited "$PW_BIN" call r1 Shout "{\"n\":$(((kib + 8) * 1024))}" --db "$db"
expect_eq "a result that cannot be written: exit 1, nothing on stdout" "$rc $(wc -c <"$TMP/o")" "1 0"
expect_match "... and says the call ran and is in doubt" "$(cat "$TMP/e")" \
	"; call c$n ran and its result is not in the log: it is in doubt until an owner resolves it"
expect_eq "... its call event stays: the call is open, in doubt" \
	"$(events "$db" r1)" "$((n + 1)) [{\"call_id\":\"c$n\",\"action\":\"Shout\",\"agent\":\"agent\",\"seq\":$n,\"status\":\"in_doubt\"}]"
run_pw resolve r1 "c$n" --outcome ok --as ops-lead --trust "$TRUST" --db "$db"
expect_eq "... an owner resolves it" "$rc $(jget "$out" '$.outcome')" "0 ok"
log_ok "$db" r1 "after the result that could not be written"

# 2. A full tmpfs
mkdir -p "$disk"
if ! mount -t tmpfs -o size=4m,mode=700 pitwall-test "$disk" 2>"$TMP/mount.err"; then
	echo "# skipped the full tmpfs: cannot mount one here ($(head -c 200 "$TMP/mount.err"))"
	finish
fi
db=$disk/pitwall.db
run_pw run start spec/workflow.yaml --db "$db" --run-id r2
expect_eq "r2 start, on a 4 MiB tmpfs" "$rc" 0
r2_dir=$(jget "$out" '$.run_dir')

# 2a. full before the call: 40 KiB left, for the index but not for the event
cat /dev/zero >"$disk/filler" 2>/dev/null
truncate -s -40K "$disk/filler"
before=$(events "$db" r2)
run_pw call r2 Note "{\"tag\":\"big\",\"text\":\"$big\"}" --db "$db"
expect_eq "full disk before the call: exit 1, nothing on stdout" "$rc ${#out}" "1 0"
expect_match "... and says why and that the call does not run" "$err" \
	'^pitwall call: cannot (write|commit to) the log: .*(full|I/O).*; the call does not run$'
expect_eq "... the program did not run" "$(cat "$r2_dir/note.marker" 2>/dev/null)" ""
expect_eq "... the log is as it was: no event, no open call" "$(events "$db" r2)" "$before"
rm -f "$disk/filler"
log_ok "$db" r2 "after the full disk"
run_pw call r2 Note '{"tag":"after","text":"x"}' --db "$db"
expect_eq "with room again the next call runs" "$rc $(cat "$r2_dir/note.marker")" "0 after"

# 2b. full during the call: the program fills the disk, so its result cannot be written
n=$(events "$db" r2 | cut -d' ' -f1)
run_pw call r2 Fill '{}' --db "$db"
expect_eq "the program filled the disk: exit 1, nothing on stdout" "$rc ${#out}" "1 0"
expect_match "... and says the call ran and is in doubt" "$err" \
	"; call c$n ran and its result is not in the log: it is in doubt until an owner resolves it"
expect_eq "... its call event stays: the call is open, in doubt" \
	"$(events "$db" r2)" "$((n + 1)) [{\"call_id\":\"c$n\",\"action\":\"Fill\",\"agent\":\"agent\",\"seq\":$n,\"status\":\"in_doubt\"}]"
# (a small event: it fits in the pages the last process freed when it removed its WAL and index)
run_pw call r2 Note '{"tag":"blocked","text":"x"}' --db "$db"
expect_eq "... a new call is refused while it is in doubt" "$rc $(jget "$out" '$.reason')" "5 CALL_IN_DOUBT"
rm -f "$r2_dir/fill"
run_pw resolve r2 "c$n" --outcome ok --as ops-lead --trust "$TRUST" --note "disk was full" --db "$db"
expect_eq "with room again an owner resolves it" "$rc $(jget "$out" '$.outcome')" "0 ok"
expect_eq "... and no call is open" "$(events "$db" r2 | cut -d' ' -f2-)" "[]"
log_ok "$db" r2 "after the result that could not be written"

# 2c. the same through pitwall mcp: the tools/call is answered with an error that says so
n=$(events "$db" r2 | cut -d' ' -f1)
{
	printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"disk_full","version":"1"}}}' \
		'{"jsonrpc":"2.0","method":"notifications/initialized"}' \
		'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"Fill","arguments":{}}}'
} | "$PW_BIN" mcp --spec spec/workflow.yaml --db "$db" --run r2 >"$TMP/mcp.out" 2>"$TMP/mcp.err"
answer=$(tail -n 1 "$TMP/mcp.out")
expect_eq "mcp: the program filled the disk: error -32603 for the call" \
	"$(jget "$answer" '$.id') $(jget "$answer" '$.error.code')" "2 -32603"
expect_match "... which says the call ran and is in doubt" "$(jget "$answer" '$.error.message')" \
	"; call c$n ran and its result is not in the log: it is in doubt until an owner resolves it"
rm -f "$r2_dir/fill"
run_pw resolve r2 "c$n" --outcome failed --as ops-lead --trust "$TRUST" --note "disk was full" --db "$db"
expect_eq "... and an owner resolves it" "$rc $(jget "$out" '$.outcome')" "0 failed"
log_ok "$db" r2 "at the end"
finish
