/*
 * exec.h: run one executor program, with nothing but what the spec declares.
 *
 * No shell, ever: the program is started by its absolute path with
 * posix_spawn() (never a PATH lookup, never sh -c), with an argv and an
 * environment that the caller built (see template.h), in a working
 * directory, in a new session and process group, with only fds 0-2 open
 * (stdin is /dev/null; stdout and stderr are pipes read by pitwall).
 *
 * Just before the spawn the program file is hashed again and compared to
 * its pin; just after, it is stat()ed again, and if it changed in between
 * (device, inode, size, mtime or ctime) the child's process group is
 * killed and the run reported as PW_EXEC_CODE_MISMATCH. A timeout sends
 * SIGTERM to the whole process group, then SIGKILL after a grace period.
 * stdout and stderr are each kept up to max_output bytes; the rest is
 * read and dropped (so the child never blocks on a full pipe) and the
 * result says it was cut.
 */
#ifndef PW_EXEC_EXEC_H
#define PW_EXEC_EXEC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "exec/sandbox.h"

#define PW_EXEC_MAX_OUTPUT_DEFAULT ((size_t)1 << 20)
#define PW_EXEC_GRACE_MS_DEFAULT   2000u

typedef struct pw_exec_spec {
	const char *program; /* borrowed; absolute path of the program */
	const char *sha256;  /* borrowed; its pin, 64 lowercase hex digits */
	char *const *argv;   /* borrowed; NULL-terminated, argv[0] is program */
	char *const *envp;   /* borrowed; NULL-terminated "NAME=value" list (may be empty) */
	const char *cwd;     /* borrowed; absolute path of the working directory */
	uint64_t timeout_ms; /* wall-clock limit, > 0 */
	uint64_t grace_ms;   /* SIGTERM to SIGKILL; 0 means PW_EXEC_GRACE_MS_DEFAULT */
	size_t max_output;   /* bytes kept of stdout and of stderr; 0 means the default */
	/* borrowed, may be NULL: when *cancel becomes non-zero (a signal handler sets it), the
	   program is stopped as at its timeout (PW_EXEC_TIMEOUT, message "stopped: pitwall was
	   interrupted"), so that pitwall can record the result before it exits */
	const volatile sig_atomic_t *cancel;
	/* borrowed, may be NULL: confine the program to these effects (see sandbox.h); NULL
	   starts it with posix_spawn() and no sandbox */
	const pw_sandbox *sandbox;
} pw_exec_spec;

typedef enum pw_exec_how {
	PW_EXEC_EXITED,        /* exited; exit_status is its status (0-255) */
	PW_EXEC_SIGNALED,      /* killed by signal (not by pitwall's timeout) */
	PW_EXEC_TIMEOUT,       /* pitwall killed it at the timeout */
	PW_EXEC_SPAWN_FAILED,  /* it never started (message says why) */
	PW_EXEC_CODE_MISMATCH, /* the program is not the pinned one; not run, or killed */
} pw_exec_how;

typedef struct pw_exec_result {
	pw_exec_how how;
	int exit_status; /* PW_EXEC_EXITED: 0-255; otherwise -1 */
	int signal;      /* PW_EXEC_SIGNALED / PW_EXEC_TIMEOUT: the signal that ended it */
	char *out;       /* owned, from malloc(), NUL-terminated; stdout up to max_output */
	size_t out_len;
	bool out_truncated; /* stdout was longer than max_output */
	char *err;          /* owned, likewise for stderr */
	size_t err_len;
	bool err_truncated;
	uint64_t duration_ms;    /* spawn to reap */
	char program_sha256[65]; /* what the file hashed to just before the spawn ("" if unread) */
	char message[256];       /* one lowercase line when how is not PW_EXEC_EXITED */
	pw_sandbox_report sandbox; /* what was enforced (applied is false without a sandbox) */
} pw_exec_result;

/*
 * Run s. PW_OK means r describes what happened (including a program that
 * failed, timed out, or never started); the caller releases r with
 * pw_exec_result_release(). Another status means pitwall itself could not
 * proceed (PW_ERR_NOMEM, PW_ERR_INVALID for a bad spec such as a relative
 * path) and r holds nothing to release beyond what release handles.
 */
PW_MUST_CHECK pw_status pw_exec_run(const pw_exec_spec *s, pw_exec_result *r);

void pw_exec_result_release(pw_exec_result *r);

#endif
