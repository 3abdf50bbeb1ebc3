/*
 * yaml.h: strict YAML into a JSON model, remembering where each node was.
 *
 * A workflow spec is YAML read into JSON (docs/SPEC.md, "Reading rules").
 * The reader refuses what could make two readers disagree or what a
 * hostile file could abuse: duplicate keys, merge keys, custom tags,
 * several documents, non-scalar keys, .inf/.nan, integers past 2^53,
 * NUL bytes, invalid UTF-8, deep nesting, alias bombs. Anchors and aliases
 * are expanded, so the model is plain JSON.
 *
 * Positions: the returned pw_marks table maps each value node, and each
 * (object, key) pair, to its 1-based line and column, so that later
 * checks can report "file:line:col: message".
 */
#ifndef PW_CORE_YAML_H
#define PW_CORE_YAML_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/diag.h"
#include "core/err.h"

typedef struct pw_yaml_limits {
	size_t max_bytes;   /* default 1 MiB */
	unsigned max_depth; /* default 64 */
	size_t max_nodes;   /* after alias expansion; default 100000 */
} pw_yaml_limits;

typedef struct pw_marks pw_marks; /* opaque position table */

/*
 * Parse buf[0..len) (lim NULL for the defaults). On success *out is a new
 * reference to the model and *marks a table the caller frees with
 * pw_marks_free(); both stay valid together. On failure both are NULL,
 * one error is added to diag, and the status says what kind
 * (PW_ERR_SYNTAX, PW_ERR_UTF8, PW_ERR_DUPKEY, PW_ERR_TOO_LARGE,
 * PW_ERR_TOO_DEEP, PW_ERR_INVALID, PW_ERR_NOMEM).
 */
PW_MUST_CHECK pw_status pw_yaml_parse(const char *buf, size_t len, const pw_yaml_limits *lim,
                                      json_t **out, pw_marks **marks, pw_diag *diag);

/* Position of a value node. Returns false (and 0:0) when unknown. */
bool pw_marks_value(const pw_marks *m, const json_t *node, unsigned *line, unsigned *col);

/* Position of the key `key` in mapping obj. Returns false when unknown. */
bool pw_marks_key(const pw_marks *m, const json_t *obj, const char *key, unsigned *line,
                  unsigned *col);

void pw_marks_free(pw_marks *m);

#endif
