#!/bin/bash
# Black-box: on a kernel that cannot enforce what a spec needs, pitwall refuses it at `check` and at
# `run start` (exit 5, SANDBOX_UNAVAILABLE, naming the action and the feature), unless the action
# lists the feature in effects.downgrade; then it runs, and its result event records the feature as
# missing. "A kernel without Landlock" is made with PW_NOLANDLOCK (tests/tools/nolandlock.c), a
# seccomp filter that makes the Landlock system calls fail with ENOSYS (and, with --no-netns,
# unshare() with EPERM), as they do where the kernel lacks them.
. "$(dirname "$0")/lib.sh"
cd "$PW_SOURCE_ROOT" || exit 1
case $PW_BIN in /*) ;; *) PW_BIN=$PWD/$PW_BIN ;; esac
case ${PW_NOLANDLOCK:-} in
/*) ;;
"") echo "FAIL PW_NOLANDLOCK is not set" && exit 1 ;;
*) PW_NOLANDLOCK=$PWD/$PW_NOLANDLOCK ;;
esac
cd "$TMP" || exit 1
mkdir db1 db2 db3

# spec DIR EFFECTS: the minimal spec with EFFECTS (a YAML flow mapping) on its one action
spec() {
	make_spec_dir "$1"
	sed -i "s|^    run:|    effects: $2\n    run:|" "$1/workflow.yaml"
}
nl() { "$PW_NOLANDLOCK" "$@"; }
nlrun() { # like run_pw, under nolandlock ARGS
	local pre=()
	[ "$1" = --no-netns ] && pre=(--no-netns) && shift
	"$PW_NOLANDLOCK" "${pre[@]}" "$PW_BIN" "$@" >"$TMP/.out" 2>"$TMP/.err"
	rc=$?
	out=$(cat "$TMP/.out")
	err=$(cat "$TMP/.err")
}

# the control: on this kernel as it is, the strict spec checks and runs with nothing missing
spec strict '{write: ["{run.dir}"]}'
run_pw check strict/workflow.yaml
expect_eq "this kernel enforces everything a strict spec needs: check exits 0" "$rc" 0
case $out in *"available: landlock_fs landlock_net landlock_scope netns seccomp pids"*)
	ok "check lists every feature as available" ;;
*) not_ok "check lists every feature as available: $out" ;; esac

# without Landlock: check and run start refuse, naming the action and the feature; nothing starts
nlrun check strict/workflow.yaml
expect_eq "no Landlock: check refuses (exit 5)" "$rc" 5
case $err in *"refused: SANDBOX_UNAVAILABLE: action Finish needs landlock_fs, which this kernel cannot enforce (Landlock ABI 0)"*)
	ok "... naming the action and the feature: $err" ;;
*) not_ok "... naming the action and the feature: $err" ;; esac
case $out in *"sandbox: Landlock ABI 0; available: netns seccomp pids"*) ok "... and showing what is available" ;;
*) not_ok "... and showing what is available: $out" ;; esac
nlrun run start strict/workflow.yaml --db db1/ledger.db --run-id r1
expect_eq "no Landlock: run start refuses (exit 5)" "$rc" 5
case $err in *"SANDBOX_UNAVAILABLE"*landlock_fs*) ok "... with SANDBOX_UNAVAILABLE" ;;
*) not_ok "... with SANDBOX_UNAVAILABLE: $err" ;; esac
if [ ! -e db1/runs/r1 ]; then ok "... and no run was made"; else not_ok "... and no run was made"; fi

# accepting only part of what is missing is still a refusal, naming what is left
spec part '{downgrade: [landlock_fs]}'
nlrun check part/workflow.yaml
expect_eq "a downgrade of landlock_fs alone: still refused" "$rc" 5
case $err in *"needs landlock_scope"*) ok "... now for landlock_scope" ;;
*) not_ok "... now for landlock_scope: $err" ;; esac

# a spec that accepts running without Landlock: check passes, the call runs, the result says so
spec down '{downgrade: [landlock_fs, landlock_scope]}'
nlrun check down/workflow.yaml
expect_eq "a downgrade of landlock_fs and landlock_scope: check exits 0" "$rc" 0
case $out in *"accepts running without: landlock_fs landlock_scope"*) ok "... and shows the downgrade" ;;
*) not_ok "... and shows the downgrade: $out" ;; esac
nlrun run start down/workflow.yaml --db db2/ledger.db --run-id r2
expect_eq "... run start exits 0" "$rc" 0
nlrun call r2 Finish '{}' --db db2/ledger.db
expect_eq "... the call runs (exit 0)" "$rc" 0
run_pw log r2 --db db2/ledger.db --json
res=$(printf '%s\n' "$out" | grep '"kind":"result"' | tail -1)
expect_eq "... its result records Landlock ABI 0" "$(jget "$res" '$.sandbox.landlock_abi')" 0
expect_eq "... and landlock_fs, landlock_scope as missing" "$(jget "$res" '$.sandbox.missing')" \
	'["landlock_fs","landlock_scope"]'
expect_eq "... and what was enforced" "$(jget "$res" '$.sandbox.enforced')" '["netns","seccomp","pids"]'

# the same spec, run on the full kernel, records nothing missing
run_pw run start down/workflow.yaml --db db2/ledger.db --run-id r2full
run_pw call r2full Finish '{}' --db db2/ledger.db
run_pw log r2full --db db2/ledger.db --json
res=$(printf '%s\n' "$out" | grep '"kind":"result"' | tail -1)
expect_eq "on the full kernel the same action records nothing missing" \
	"$(jget "$res" '$.sandbox.missing')" '[]'

# a run started on a full kernel and then called where Landlock is missing: the call fails closed
spec late '{}'
run_pw run start late/workflow.yaml --db db3/ledger.db --run-id r3
nlrun call r3 Finish '{}' --db db3/ledger.db
expect_eq "a call where the kernel lost a needed feature fails, never runs unconfined (exit 6)" "$rc" 6
case $out in *SPAWN_FAILED*"this kernel cannot enforce landlock_fs"*) ok "... SPAWN_FAILED, saying why" ;;
*) not_ok "... SPAWN_FAILED, saying why: $out" ;; esac

# without network namespaces: an action with no network is refused unless it accepts that
spec nonet '{}'
nlrun --no-netns check nonet/workflow.yaml
expect_eq "no Landlock, no namespaces: refused" "$rc" 5
spec nonet2 '{downgrade: [landlock_fs, landlock_scope, netns]}'
nlrun --no-netns check nonet2/workflow.yaml
expect_eq "... accepted when netns is in the downgrade too" "$rc" 0
case $out in *"available: seccomp pids"*) ok "... which shows only seccomp and pids available" ;;
*) not_ok "... which shows only seccomp and pids available: $out" ;; esac

# a declared path below {run.dir} is opened without following symbolic links: a program of the run
# could have made one (here, link -> /), and a later action must not get / through it
mkdir db4
spec link '{read: ["{run.dir}/link"]}'
run_pw run start link/workflow.yaml --db db4/ledger.db --run-id r4
ln -s / db4/runs/r4/link
run_pw call r4 Finish '{}' --db db4/ledger.db
expect_eq "a declared path that is a symbolic link in the run's folder: the call fails (exit 6)" "$rc" 6
case $out in *SPAWN_FAILED*"symbolic links"*) ok "... SPAWN_FAILED, the program never ran" ;;
*) not_ok "... SPAWN_FAILED, the program never ran: $out" ;; esac

# as another user than root: a user namespace instead of the pids cgroup, and everything enforced
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	spec user '{}'
	chmod -R a+rX user "$TMP"
	mkdir db5 && chown 65534:65534 db5
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$PW_BIN" "$@"; }
	as_nobody run start user/workflow.yaml --db db5/ledger.db --run-id r5 >/dev/null
	as_nobody call r5 Finish '{}' --db db5/ledger.db >/dev/null
	expect_eq "as uid 65534 the call runs in the sandbox (exit 0)" "$?" 0
	res=$(as_nobody log r5 --db db5/ledger.db --json | grep '"kind":"result"' | tail -1)
	expect_eq "... with every feature enforced, pids by RLIMIT_NPROC in a user namespace" \
		"$(jget "$res" '$.sandbox.enforced') $(jget "$res" '$.sandbox.missing')" \
		'["landlock_fs","landlock_net","landlock_scope","netns","seccomp","pids"] []'
else
	echo "# skip: running as another user needs root and setpriv"
fi

run_pw verify --db db2/ledger.db r2 --spec down/workflow.yaml
expect_eq "the downgraded run verifies" "$rc" 0
finish
