/*
 * diag.h: diagnostics collected while loading a workflow spec.
 *
 * Loading does not stop at the first problem in a spec's structure: the
 * author gets every error and warning at once, each with the 1-based line
 * and column it is about (0 when unknown). Printing, with the file name in
 * front as "file:line:col: message", is the caller's business: the core
 * does no I/O.
 */
#ifndef PW_CORE_DIAG_H
#define PW_CORE_DIAG_H

#include <stddef.h>

typedef enum pw_diag_level { PW_DIAG_ERROR, PW_DIAG_WARNING } pw_diag_level;

typedef struct pw_diag_item {
	pw_diag_level level;
	unsigned line; /* 1-based; 0 when the item is about the whole file */
	unsigned col;  /* 1-based; 0 when unknown */
	char *msg;     /* owned; from malloc(); lowercase, no full stop */
} pw_diag_item;

typedef struct pw_diag {
	pw_diag_item *items; /* owned array of n items */
	size_t n;
	size_t cap;
	size_t errors;     /* how many items are errors */
	int out_of_memory; /* set when an item could not be stored */
} pw_diag;

#define PW_DIAG_INIT                                                                               \
	{                                                                                          \
		NULL, 0, 0, 0, 0                                                                   \
	}

/* Add an item. On allocation failure the item is dropped, out_of_memory
 * is set and (for errors) errors is still counted, so a failed load never
 * looks clean. At most PW_DIAG_MAX items are kept. */
void pw_diag_add(pw_diag *d, pw_diag_level level, unsigned line, unsigned col, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

#define PW_DIAG_MAX 200

/* Free every item; d can be reused afterwards. */
void pw_diag_release(pw_diag *d);

#endif
