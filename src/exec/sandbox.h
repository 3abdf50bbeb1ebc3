/*
 * sandbox.h: confine an executor program to its action's declared effects.
 *
 * The child is started with clone(CLONE_VM | CLONE_VFORK) on its own stack
 * (so the cost does not grow with the broker's memory) and, before it
 * executes the program, it: resets every signal disposition; starts a new
 * session; joins a pids cgroup (when pitwall runs as root); puts /dev/null
 * and the output pipes on fds 0-2; enters the working directory; enters
 * the broker's user namespace (when not root) and its empty network
 * namespace (when the action declares no network); sets the rlimits;
 * drops every capability and locks root out of them (securebits); sets
 * no_new_privs; enforces the Landlock ruleset (filesystem, TCP
 * ports, signal and abstract-socket scoping); loads the seccomp filter;
 * closes every fd above 2; and executes the program. Everything the child
 * needs is prepared by the parent beforehand (the ruleset fd, the BPF
 * program, the cgroup fd), so the child only makes system calls.
 *
 * A feature the kernel lacks is a refusal unless the action accepts running
 * without it (effects.downgrade); what was enforced is reported per run.
 *
 * Not thread-safe: one thread of a process starts programs (the probe, the
 * seccomp programs, /dev/null and the child's stack are kept per process).
 */
#ifndef PW_EXEC_SANDBOX_H
#define PW_EXEC_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/effects.h"
#include "core/err.h"

/* What this kernel and this process can enforce. */
typedef struct pw_sandbox_kernel {
	int landlock_abi; /* 0 when Landlock is unavailable */
	bool seccomp;     /* seccomp filters that return an errno */
	bool netns;       /* an empty network namespace can be created */
	bool pids; /* a process limit the kernel applies: RLIMIT_NPROC, or a pids cgroup as root */
	char pids_dir[256];  /* as root: the pids cgroup hierarchy pitwall makes its cgroups in */
	unsigned available;  /* PW_FEAT_* bits */
	int user_fd, net_fd; /* the shared namespaces (see sandbox.c); -1 if none */
} pw_sandbox_kernel;

/* Probe once per process (later calls return the same answer). Never fails: what cannot be
   probed is unavailable. */
const pw_sandbox_kernel *pw_sandbox_kernel_probe(void);

/* The sandbox of one run of a program: the action's effects with the path templates
   resolved. Paths are absolute; those that do not exist are skipped (nothing is granted). */
typedef struct pw_sandbox {
	const char *const *read; /* borrowed */
	size_t n_read;
	const char *const *write; /* borrowed */
	size_t n_write;
	/* borrowed, may be NULL: for each path, the length of its leading folder that came from
	   {spec.dir} or {run.dir} (0: written out in the spec); below that folder no symbolic
	   link is followed, since a program of the run may have made one */
	const size_t *read_base, *write_base;
	const uint16_t *ports; /* TCP ports it may connect to */
	size_t n_ports;
	bool net; /* it declares network endpoints (false: no network at all) */
	uint64_t memory, cpu_ms, file_size;
	unsigned procs, open_files;
	unsigned needs;     /* PW_FEAT_* enforcing it needs (pw_effects_needs()) */
	unsigned downgrade; /* PW_FEAT_* it may run without */
} pw_sandbox;

/* What was enforced on one run of a program (recorded in its result event). */
typedef struct pw_sandbox_report {
	bool applied;      /* a sandbox was requested and the program was started in it */
	int landlock_abi;  /* the ABI used, 0 if none */
	unsigned enforced; /* PW_FEAT_* enforced */
	unsigned missing;  /* PW_FEAT_* needed, not available, accepted by downgrade */
	size_t skipped;    /* declared paths that did not exist */
} pw_sandbox_report;

/* The effects' needs that this kernel lacks and that downgrade does not accept: 0 means the
   sandbox can run. */
unsigned pw_sandbox_refused(const pw_sandbox_kernel *k, unsigned needs, unsigned downgrade);

/* Opaque: what the parent prepared for one child. */
typedef struct pw_sandbox_prep pw_sandbox_prep;

/*
 * Prepare the sandbox of one run of program (which is always readable and
 * executable). On failure returns a status and a one-line reason in why.
 */
PW_MUST_CHECK pw_status pw_sandbox_prepare(const pw_sandbox *sb, const char *program,
                                           pw_sandbox_prep **out, char *why, size_t why_len);

/* Release what prepare made (and remove the run's cgroup, killing what is left in it). */
void pw_sandbox_release(pw_sandbox_prep *p);

/* Its report (valid after the start). */
void pw_sandbox_report_of(const pw_sandbox_prep *p, pw_sandbox_report *r);

/*
 * Start program in the sandbox p: fds 0-2 are
 * /dev/null, out_w and err_w; new session; empty signal mask; default
 * dispositions. Returns the child's pid, or -1 with a reason in why (and
 * errno) when it could not start; a child that started and failed its
 * setup is reaped here.
 */
int pw_sandbox_spawn(pw_sandbox_prep *p, const char *program, char *const argv[],
                     char *const envp[], const char *cwd, int out_w, int err_w, char *why,
                     size_t why_len);

#endif
