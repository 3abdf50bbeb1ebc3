#!/bin/bash
# Black-box: the escape probe (tests/sandbox/probe.c; the probe table is in docs/SECURITY.md) runs as an action's
# program under pitwall's sandbox and tries one way out per call. Each way is blocked with the errno
# expected, or bounded by the limit the spec declares, while what the spec declares (a readable
# folder, the run's folder, one TCP endpoint) still works. Controls run first, outside the sandbox:
# each way out works when nothing confines the probe, so a "blocked" below is the sandbox's doing.
#
# Needs PW_PROBE, the built probe (meson passes it). Runs as root, as CI does; the setuid probe needs
# root to make its setuid copy and is skipped otherwise.
. "$(dirname "$0")/lib.sh"
cd "$PW_SOURCE_ROOT" || exit 1
root=$PWD
case $PW_BIN in /*) ;; *) PW_BIN=$root/$PW_BIN ;; esac
if [ -z "${PW_PROBE:-}" ]; then
	echo "FAIL PW_PROBE is not set: it must name the probe built from tests/sandbox/probe.c"
	exit 1
fi
case $PW_PROBE in /*) ;; *) PW_PROBE=$root/$PW_PROBE ;; esac
if [ ! -x "$PW_PROBE" ]; then
	echo "FAIL PW_PROBE=$PW_PROBE is not an executable file"
	exit 1
fi
cd "$TMP" || exit 1

# The limits both actions declare; the bounds asserted below follow from them.
limits='{memory: 64MiB, cpu: 1s, procs: 16, file_size: 1MiB, open_files: 64}'
procs=16
memory_mib=64
file_size=1048576
max_output=65536
timeout_ms=3000

# ---- listeners, outside the sandbox: two TCP ports (declared, undeclared), an abstract and a
# pathname unix socket ----
abstract=pw-probe-$$-$RANDOM
"$PW_PROBE" listen 0 0 "@$abstract" "$TMP/unix.sock" >listen.out 2>listen.err &
listener=$!
cleanup() {
	local p
	kill "$listener" 2>/dev/null
	# a background probe that outlived its call (a failure reported below) is ended by its pid
	for p in $(pgrep -f "probe background $TMP/" || true); do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
for _ in $(seq 1 50); do
	[ -s listen.out ] && break
	sleep 0.1
done
port_ok=$(jget "$(cat listen.out)" '$.ports[0]')
port_no=$(jget "$(cat listen.out)" '$.ports[1]')
if [ -z "$port_ok" ] || [ -z "$port_no" ]; then
	echo "FAIL the listeners did not start: $(cat listen.out listen.err)"
	exit 1
fi

# ---- the spec: Probe has no network, ProbeNet one TCP endpoint; both read wf/ok and write the
# run's folder. $TMP/secret is outside every declared path. ----
mkdir -p wf/bin wf/ok
cp "$PW_PROBE" wf/bin/probe
pin=$(sha256sum wf/bin/probe | cut -c1-64)
echo "readable by the probe" >wf/ok/readme
echo "s3cret: not for the probe" >secret
chmod 600 secret
suid=0
if [ "$(id -u)" = 0 ]; then
	cp "$PW_PROBE" wf/ok/probe-suid
	chown 65534:65534 wf/ok/probe-suid
	chmod 4755 wf/ok/probe-suid # after chown, which clears the bit
	res=$(wf/ok/probe-suid whoami </dev/null)
	if [ "$(jget "$res" '$.euid')" = 65534 ]; then
		suid=1
		ok "control: the setuid copy runs as uid 65534 outside the sandbox"
	else
		echo "# skip setuid: the setuid bit has no effect here ($res): nothing to prove"
	fi
else
	echo "# skip setuid: making a setuid copy owned by uid 65534 needs root"
fi
modes="read_ok, read_secret, write_ok, write_outside, connect, udp, mptcp, fastopen, listen_any,
            unix_connect, abstract_connect,
            signal_parent, ptrace, tiocsti, mount, unshare, setuid, caps, fork_bomb, memory_bomb,
            cpu_spin, output_flood, file_bomb, background, syscalls"
cat >wf/workflow.yaml <<YAML
pitwall: 1
name: sandbox_probe
owners: {ops-lead: {title: Ops lead}}
states: [S0, S1]
initial: S0
terminal: [S1]
default: allow
actions:
  Probe:
    description: the escape probe, without network
    from: [S0]
    input: &input
      type: object
      additionalProperties: false
      required: [mode, arg]
      properties:
        mode:
          type: string
          enum: [$modes]
        arg: {type: string, pattern: "^[A-Za-z0-9_./-]{0,200}\$"}
    run: &run
      program: bin/probe
      sha256: "$pin"
      args: ["{input.mode}", "{input.arg}"]
      timeout: 3s
      max_output: $max_output
    effects:
      read: ["{spec.dir}/ok"]
      write: ["{run.dir}"]
      net: none
      limits: $limits
  ProbeNet:
    description: the escape probe, allowed one TCP endpoint
    from: [S0]
    input: *input
    run: *run
    effects:
      read: ["{spec.dir}/ok"]
      write: ["{run.dir}"]
      net: ["127.0.0.1:$port_ok"]
      limits: $limits
YAML
run_pw run start wf/workflow.yaml --run-id p1
if [ "$rc" != 0 ]; then
	not_ok "run start (exit $rc: $out $err)"
	finish
	exit
fi
run_dir=$(jget "$out" '$.run_dir')

# ---- controls, outside the sandbox ----
control() {
	local name=$1
	shift
	res=$("$PW_PROBE" "$@" </dev/null)
	if [ "$(jget "$res" '$.blocked')" = 0 ]; then ok "control: $name works unconfined"; else
		not_ok "control: $name: $res"; fi
}
control "reading \$TMP/secret" read_secret "$TMP/secret"
control "connecting to the undeclared port" connect "$port_no"
control "a UDP datagram" udp "$port_no"
control "a TCP Fast Open send to the undeclared port" fastopen "$port_no"
control "listen() without bind()" listen_any
control "connecting to the pathname unix socket" unix_connect "$TMP/unix.sock"
control "connecting to the abstract unix socket" abstract_connect "$abstract"

# probe ACTION MODE [ARG]: one call; $rc and $out are pitwall's, $res the probe's report
probe() {
	run_pw call p1 "$1" "{\"mode\":\"$2\",\"arg\":\"${3:-}\"}"
	res=$(jget "$out" '$.result')
	[ -n "$res" ] || res='{}'
}
# one_of WORD LIST...: WORD is one of LIST
one_of() {
	local w=$1
	shift
	for x in "$@"; do [ "$w" = "$x" ] && return 0; done
	return 1
}
# blocked NAME ERRNO...: the program ran (exit 0) and the probe was blocked with one of ERRNO
blocked() {
	local name=$1 b e
	shift
	b=$(jget "$res" '$.blocked')
	e=$(jget "$res" '$.errno')
	if [ "$rc" = 0 ] && [ "$b" = 1 ] && one_of "$e" "$@"; then
		ok "$name: $(jget "$res" '$.call') fails $e"
	else
		not_ok "$name (exit $rc, blocked '$b', errno '$e'; wanted $*; ${out:0:400})"
	fi
}
# allowed NAME: the program ran and the probe got through (what the spec declares works)
allowed() {
	if [ "$rc" = 0 ] && [ "$(jget "$res" '$.blocked')" = 0 ]; then ok "$1"; else
		not_ok "$1 (exit $rc; ${out:0:400})"; fi
}
# field NAME PATH WANT...: a member of the probe's report is one of WANT
field() {
	local v
	v=$(jget "$res" "$2")
	if one_of "$v" "${@:3}"; then ok "$1 ($v)"; else not_ok "$1 (got '$v', wanted ${*:3}; ${res:0:300})"; fi
}
# last_result SQL-PATH: a member of the run's last result event
last_result() {
	load_log p1
	q "SELECT json_extract(j, '$1') FROM e WHERE json_extract(j, '\$.kind') = 'result'
	   ORDER BY json_extract(j, '\$.seq') DESC LIMIT 1"
}

# check_sandbox_recorded RUN: every result event of RUN records the sandbox its program ran in
# (LOG-FORMAT.md 6.3): .sandbox.landlock_abi at least 6 (signal and abstract-socket scopes), and no
# feature .sandbox.missing (this spec accepts no downgrade).
check_sandbox_recorded() {
	local n bad last
	load_log "$1"
	n=$(q "SELECT count(*) FROM e WHERE json_extract(j, '\$.kind') = 'result'")
	bad=$(q "SELECT count(*) FROM e WHERE json_extract(j, '\$.kind') = 'result'
	         AND (coalesce(json_type(j, '\$.sandbox.landlock_abi'), '') NOT IN ('integer', 'real')
	              OR json_extract(j, '\$.sandbox.landlock_abi') < 6
	              OR coalesce(json_extract(j, '\$.sandbox.missing'), 'absent') != '[]')")
	last=$(q "SELECT json_extract(j, '\$.sandbox') FROM e WHERE json_extract(j, '\$.kind') = 'result'
	          ORDER BY json_extract(j, '\$.seq') DESC LIMIT 1")
	if [ "$n" -gt 0 ] && [ "$bad" = 0 ]; then
		ok "each of the $n result events records its sandbox, nothing missing (last: $last)"
	else
		not_ok "$bad of $n result events lack .sandbox.landlock_abi >= 6 or miss a feature (last: '$last')"
	fi
}

# ---- what the spec declares works ----
probe Probe read_ok "$TMP/wf/ok/readme"
allowed "Probe reads a file in its declared read path"
probe Probe write_ok "$run_dir"
allowed "Probe writes in the run's folder"
if [ -s "$run_dir/probe.write" ]; then ok "... and the file is there"; else not_ok "no $run_dir/probe.write"; fi
probe ProbeNet connect "$port_ok"
allowed "ProbeNet connects to its declared endpoint 127.0.0.1:$port_ok"

# ---- files ----
probe Probe read_secret "$TMP/secret"
blocked "Probe cannot read a file outside its read paths" EACCES
probe Probe write_outside "$TMP/outside"
blocked "Probe cannot create a file outside its write paths" EACCES
if [ -e "$TMP/outside" ]; then not_ok "... yet $TMP/outside exists"; else ok "... and nothing was created"; fi
probe Probe write_outside "$TMP/wf/ok/new"
blocked "Probe cannot write in a path it may only read" EACCES
probe Probe write_outside "$TMP/wf/bin/new-program"
blocked "Probe cannot add a program beside its own" EACCES

# ---- network ----
probe ProbeNet connect "$port_no"
blocked "ProbeNet cannot connect to a port it does not declare" EACCES
probe Probe connect "$port_ok"
blocked "Probe (no network) cannot connect even to ProbeNet's port" EACCES EPERM ENETUNREACH ECONNREFUSED
probe Probe udp "$port_no"
blocked "Probe (no network) cannot send UDP" EACCES EPERM ENETUNREACH
probe ProbeNet udp "$port_no"
blocked "ProbeNet cannot send UDP (it declares TCP endpoints only)" EACCES EPERM
probe ProbeNet mptcp "$port_no"
blocked "ProbeNet cannot reach an undeclared port over MPTCP (Landlock sees TCP only)" EACCES
probe ProbeNet fastopen "$port_no"
blocked "ProbeNet cannot reach an undeclared port with TCP Fast Open (no connect() to check)" EACCES
probe ProbeNet listen_any
blocked "ProbeNet cannot listen() on a port the kernel picks (no bind() to check)" EACCES
probe Probe unix_connect "$TMP/unix.sock"
blocked "Probe (no network) cannot reach a pathname unix socket (a docker.sock)" EACCES EPERM
probe ProbeNet unix_connect "$TMP/unix.sock"
blocked "ProbeNet cannot reach a pathname unix socket either" EACCES EPERM
probe ProbeNet abstract_connect "$abstract"
# socket EACCES: the filter allows ProbeNet TCP sockets only; connect EPERM: Landlock's scope
blocked "ProbeNet cannot reach an abstract unix socket outside its domain" EACCES EPERM
probe Probe abstract_connect "$abstract"
blocked "Probe cannot reach it either" EPERM EACCES ECONNREFUSED

# ---- other processes ----
probe Probe signal_parent
blocked "the program cannot signal pitwall" EPERM
probe Probe ptrace
blocked "the program cannot ptrace pitwall" EPERM
field "... nor make pitwall its tracer (PTRACE_TRACEME)" '$.traceme' EPERM
probe Probe tiocsti
blocked "the program cannot push input into a terminal (TIOCSTI)" EPERM

# ---- privileges and namespaces ----
probe Probe mount
blocked "the program cannot mount" EPERM
probe Probe unshare
blocked "the program cannot make a user namespace" EPERM
field "... nor a mount namespace" '$.newns' EPERM
case $(jget "$res" '$.setns') in ok | '') not_ok "... setns: $res" ;; *) ok "... nor enter one ($(jget "$res" '$.setns'))" ;; esac
probe Probe caps
blocked "the program cannot change its uid" EPERM
field "... it has no effective capabilities" '$.cap_eff' 0000000000000000
field "... and no_new_privs is set" '$.no_new_privs' 1
if [ "$suid" = 1 ]; then
	probe Probe setuid "$TMP/wf/ok/probe-suid"
	field "setuid: no_new_privs is set" '$.no_new_privs' 1
	if [ "$rc" = 0 ] && [ "$(jget "$res" '$.call')" = execve ] && [ "$(jget "$res" '$.errno')" = EACCES ]; then
		ok "a setuid program cannot even be run from a read path (execve EACCES)"
	elif [ "$rc" = 0 ] && [ -n "$(jget "$res" '$.child_euid')" ] &&
		[ "$(jget "$res" '$.child_euid')" = "$(jget "$res" '$.self_euid')" ]; then
		ok "a setuid program runs with the caller's euid $(jget "$res" '$.child_euid'), not 65534"
	else
		not_ok "a setuid program changed its euid or failed otherwise (exit $rc; ${out:0:400})"
	fi
fi
for action in Probe ProbeNet; do
	probe "$action" syscalls
	for c in bpf keyctl kexec_load init_module io_uring_setup perf_event_open userfaultfd \
		open_by_handle_at process_vm_readv; do
		# ENOSYS: the kernel has no such call, or the filter answers so
		field "$action: $c is refused" "\$.calls.$c" EPERM ENOSYS
	done
	# raw sockets: the filter refuses socket() with EACCES; without it, no CAP_NET_RAW: EPERM
	for c in af_packet raw_socket; do
		field "$action: $c is refused" "\$.calls.$c" EACCES EPERM
	done
	echo "#    $action: personality(PER_LINUX32): $(jget "$res" '$.calls.personality') (reported, not judged)"
done

# ---- resources ----
probe Probe fork_bomb
blocked "a fork bomb stops at the process limit" EAGAIN
count=$(jget "$res" '$.count')
if [ -n "$count" ] && [ "$count" -lt "$procs" ]; then
	ok "... after $count children (procs: $procs, itself included)"
else
	not_ok "... '$count' children: procs is $procs"
fi
probe Probe memory_bomb
blocked "a memory bomb fails to allocate" ENOMEM
mib=$(jget "$res" '$.mib')
if [ -n "$mib" ] && [ "$mib" -lt "$memory_mib" ]; then ok "... at $mib MiB (memory: ${memory_mib}MiB)"; else
	not_ok "... at '$mib' MiB: memory is ${memory_mib}MiB"; fi
probe Probe file_bomb "$run_dir"
blocked "a file bomb stops at the file size limit" EFBIG
bytes=$(jget "$res" '$.bytes')
size=$(stat -c %s "$run_dir/big" 2>/dev/null || echo missing)
if [ -n "$bytes" ] && [ "$bytes" -le "$file_size" ] && [ "$size" = "$bytes" ]; then
	ok "... after $bytes bytes, the file's size too (file_size: 1MiB)"
else
	not_ok "... wrote '$bytes' bytes, file size $size: file_size is $file_size"
fi

probe Probe cpu_spin
sig=$(jget "$out" '$.signal')
if [ "$rc" = 6 ] && [ "$(jget "$out" '$.reason')" = KILLED_BY_SIGNAL ] && one_of "$sig" 24 9; then
	ok "a CPU spin is killed by signal $sig at the CPU limit"
else
	not_ok "a CPU spin (exit $rc; wanted KILLED_BY_SIGNAL by 24 or 9; ${out:0:400})"
fi
ms=$(last_result '$.duration_ms')
if [ -n "$ms" ] && [ "$ms" -lt "$timeout_ms" ]; then ok "... after $ms ms, before the ${timeout_ms} ms timeout"; else
	not_ok "... after '$ms' ms: the CPU limit is 1s, the timeout ${timeout_ms} ms"; fi

probe Probe output_flood
expect_eq "an output flood runs into the wall timeout (exit 6)" \
	"$rc $(jget "$out" '$.reason')" "6 TIMEOUT"
expect_eq "... its stdout is cut at max_output" \
	"$(last_result '$.stdout_bytes') $(last_result '$.stdout_truncated')" "$max_output 1"

probe Probe background "$run_dir"
bgpid=$(jget "$res" '$.pid')
if [ "$rc" = 0 ] && [ -n "$bgpid" ]; then
	ok "a program leaves a child behind (pid $bgpid; setsid $(jget "$res" '$.setsid'), setpgid $(jget "$res" '$.setpgid'))"
else
	not_ok "background (exit $rc; ${out:0:400})"
fi
# The child's pid means something here only if it is in our pid namespace. Either way its command
# line (probe background RUN_DIR) finds it; a zombie has none and counts as gone.
same_ns=0
[ "$(jget "$res" '$.pidns')" = "$(readlink /proc/self/ns/pid)" ] && same_ns=1
alive=1
for _ in $(seq 1 30); do
	alive=0
	pgrep -f "probe background $run_dir" >/dev/null && alive=1
	if [ "$same_ns" = 1 ] && [ -n "$bgpid" ] && [ -r "/proc/$bgpid/stat" ]; then
		case $(cut -d' ' -f3 "/proc/$bgpid/stat" 2>/dev/null) in Z | X | '') ;; *) alive=1 ;; esac
	fi
	[ "$alive" = 0 ] && break
	sleep 0.1
done
if [ "$alive" = 0 ]; then ok "... which does not outlive the call"; else not_ok "the background child outlived the call"; fi

check_sandbox_recorded p1
verifies p1
finish
