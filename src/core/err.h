/*
 * err.h: the one status enum of pitwall, and the guard macros.
 *
 * Every fallible function returns pw_status. PW_OK is zero so that
 * `if (st != PW_OK)` and `PW_TRY()` read naturally. The name table in
 * err.c gives each status a stable lowercase name for messages.
 */
#ifndef PW_CORE_ERR_H
#define PW_CORE_ERR_H

#define PW_MUST_CHECK __attribute__((warn_unused_result))

typedef enum pw_status {
	PW_OK = 0,
	PW_ERR_NOMEM,       /* an allocation failed */
	PW_ERR_TOO_LARGE,   /* input over its size cap */
	PW_ERR_TOO_DEEP,    /* input over its nesting cap */
	PW_ERR_SYNTAX,      /* malformed JSON or YAML */
	PW_ERR_UTF8,        /* invalid UTF-8 or a lone surrogate */
	PW_ERR_DUPKEY,      /* an object or mapping repeats a key */
	PW_ERR_NUMBER,      /* a number JSON cannot hold (NaN, Infinity, overflow) */
	PW_ERR_INVALID,     /* well-formed but not valid (schema, spec, rule) */
	PW_ERR_LIMIT,       /* an evaluation bound (steps, depth) was hit */
	PW_ERR_IO,          /* a read or write failed */
	PW_ERR_NOTFOUND,    /* a file or name does not exist */
	PW_ERR_PERM,        /* refused for safety (permissions, pins) */
	PW_ERR_INTERNAL,    /* a bug: an invariant did not hold */
	PW_ERR_UNSUPPORTED, /* this system cannot enforce what is asked (a kernel feature) */
} pw_status;

/* Stable lowercase name of a status, e.g. "too_large". Never NULL. */
const char *pw_status_name(pw_status st);

/* Evaluate expr; if it is not PW_OK, return that status. */
#define PW_TRY(expr)                                                                               \
	do {                                                                                       \
		pw_status pw_try_st_ = (expr);                                                     \
		if (pw_try_st_ != PW_OK)                                                           \
			return pw_try_st_;                                                         \
	} while (0)

/* If cond is false, return code. */
#define PW_ENSURE(cond, code)                                                                      \
	do {                                                                                       \
		if (!(cond))                                                                       \
			return (code);                                                             \
	} while (0)

#endif
