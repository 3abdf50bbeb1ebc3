/*
 * effects.h: what an action's program may do, as its spec declares it
 * (docs/SPEC.md, *effects*), and which kernel features enforcing that
 * needs.
 *
 * Pure: this reads the checked model. Resolving path templates against a
 * run, probing the kernel and enforcing the effects live in exec/sandbox.h.
 */
#ifndef PW_CORE_EFFECTS_H
#define PW_CORE_EFFECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"

struct pw_action;

/*
 * Sandbox features a spec may need and may accept running without (effects.downgrade), with
 * their names (pw_feature_name()):
 *   landlock_fs     Landlock ABI >= 3 (read, write, truncate)
 *   landlock_net    ABI >= 4 (TCP connect and bind by port)
 *   landlock_scope  ABI >= 6 (signals, abstract sockets)
 *   netns           a network namespace with no interfaces
 *   seccomp         the system-call filter
 *   pids            a process limit the kernel applies (RLIMIT_NPROC, or a pids cgroup)
 */
#define PW_FEAT_LANDLOCK_FS    (1u << 0)
#define PW_FEAT_LANDLOCK_NET   (1u << 1)
#define PW_FEAT_LANDLOCK_SCOPE (1u << 2)
#define PW_FEAT_NETNS          (1u << 3)
#define PW_FEAT_SECCOMP        (1u << 4)
#define PW_FEAT_PIDS           (1u << 5)
#define PW_FEAT_ALL            ((1u << 6) - 1)
#define PW_FEAT_COUNT          6

#define PW_EFFECTS_MAX_PATHS 64 /* in read, and in write */
#define PW_EFFECTS_MAX_NET   64
#define PW_EFFECTS_PATH_MAX  1024 /* bytes of a path as written */

/* Defaults of effects.limits. cpu's default is the action's run.timeout. */
#define PW_LIMIT_MEMORY_DEFAULT     ((uint64_t)1 << 30) /* 1 GiB of address space */
#define PW_LIMIT_PROCS_DEFAULT      64u
#define PW_LIMIT_FILE_SIZE_DEFAULT  ((uint64_t)1 << 30)
#define PW_LIMIT_OPEN_FILES_DEFAULT 256u

/* Bounds of effects.limits (docs/SPEC.md, *effects*). */
#define PW_LIMIT_MEMORY_MIN     ((uint64_t)1 << 20)  /* 1 MiB */
#define PW_LIMIT_MEMORY_MAX     ((uint64_t)64 << 30) /* 64 GiB */
#define PW_LIMIT_FILE_SIZE_MIN  ((uint64_t)1 << 10)  /* 1 KiB */
#define PW_LIMIT_FILE_SIZE_MAX  ((uint64_t)1 << 40)  /* 1 TiB */
#define PW_LIMIT_PROCS_MIN      1u
#define PW_LIMIT_PROCS_MAX      4096u
#define PW_LIMIT_OPEN_FILES_MIN 16u
#define PW_LIMIT_OPEN_FILES_MAX 65536u

#define PW_EFFECTS_HOST_MAX 253 /* bytes of a host name; an IP literal is shorter */

/*
 * host is a copy, not borrowed: the model holds "host:port" (or "[v6]:port") as one string, and
 * the host alone cannot point into it with a NUL after it.
 */
typedef struct pw_endpoint {
	char host[PW_EFFECTS_HOST_MAX + 1]; /* a host name or an IP literal, without brackets */
	uint16_t port;                      /* 1 to 65535 */
} pw_endpoint;

typedef struct pw_effects {
	/* Path templates as written: absolute, or "{spec.dir}" / "{run.dir}" alone or followed
	   by "/..."; borrowed from the model. write defaults to {"{run.dir}"}. */
	const char *read[PW_EFFECTS_MAX_PATHS];
	size_t n_read;
	const char *write[PW_EFFECTS_MAX_PATHS];
	size_t n_write;
	pw_endpoint net[PW_EFFECTS_MAX_NET]; /* TCP endpoints; none when n_net is 0 */
	size_t n_net;
	uint64_t memory;     /* bytes of address space (RLIMIT_AS) */
	uint64_t cpu_ms;     /* CPU time (RLIMIT_CPU, rounded up to seconds) */
	uint64_t file_size;  /* bytes, largest file it may write (RLIMIT_FSIZE) */
	uint64_t wall_ms;    /* run.timeout */
	unsigned procs;      /* processes, itself included */
	unsigned open_files; /* RLIMIT_NOFILE */
	unsigned downgrade;  /* PW_FEAT_* it may run without */
} pw_effects;

/*
 * The parsers behind the spec checker (core/spec.c) and pw_action_effects(), kept here so that
 * what is checked and what is read are the same code. Each returns NULL when s is valid, else a
 * static message saying what is wrong (no position, no subject: the caller adds those).
 */

/* A path template of effects.read or effects.write, as written. */
const char *pw_effects_path_problem(const char *s);

/* "host:port" or "[v6]:port" into *out. */
const char *pw_endpoint_parse(const char *s, pw_endpoint *out);

/* Do a and b name the same endpoint (host names compared without regard to case, IPv6 literals
   by address)? */
bool pw_endpoint_same(const pw_endpoint *a, const pw_endpoint *b);

/* A size: an integer number of bytes, or "<digits>KiB", "MiB", "GiB" or "TiB" (digits with no
   leading zero). Returns false when v is not one; it does not apply any bounds. */
bool pw_effects_size(const json_t *v, uint64_t *out);

/* The effects of a checked action, with the defaults applied. */
void pw_action_effects(const struct pw_action *a, pw_effects *out);

/* The features enforcing e needs: all but LANDLOCK_NET when it declares no network, and all
   but NETNS when it declares some. */
unsigned pw_effects_needs(const pw_effects *e);

/* "landlock_fs" ... for one PW_FEAT_* bit; NULL for anything else. */
const char *pw_feature_name(unsigned bit);

/* The PW_FEAT_* bit called name, or 0. */
unsigned pw_feature_by_name(const char *name);

#endif
