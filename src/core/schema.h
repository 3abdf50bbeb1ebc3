/*
 * schema.h: input validation against a JSON Schema subset.
 *
 * A workflow spec gives each action an input schema. It is compiled once
 * at spec load (patterns with PCRE2, with a match limit) and then used to
 * validate every action call before anything runs. docs/SPEC.md lists the
 * supported keywords; any other keyword is an error at compile time.
 *
 * pitwall rejects unknown object members even when a schema omits
 * additionalProperties: an object schema with "properties" and no
 * "additionalProperties" behaves as if it said false.
 */
#ifndef PW_CORE_SCHEMA_H
#define PW_CORE_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"

typedef struct pw_schema pw_schema; /* opaque; compiled, immutable */

typedef struct pw_schema_error {
	char pointer[512]; /* RFC 6901 pointer of the offending value in the instance; "" is the root */
	char rule[32];     /* the keyword that failed: "type", "pattern", "required", ... */
	json_t *expected;  /* owned reference: what the rule demanded; may be NULL */
	json_t *actual;    /* owned reference: what was given; NULL when absent */
	char message[512]; /* one line: "/branch: does not match pattern \"^[a-z]+$\"" */
} pw_schema_error;

/*
 * Compile schema (not modified, not retained: the compiled form holds its
 * own references). On success *out is owned by the caller and freed with
 * pw_schema_free(). On failure err says where in the schema and what, e.g.
 * "/properties/branch/pattern: invalid regular expression at offset 3: ...".
 */
PW_MUST_CHECK pw_status pw_schema_compile(const json_t *schema, pw_schema **out, char *err,
                                          size_t errlen);

/*
 * Validate instance. PW_OK when it conforms; PW_ERR_INVALID with *err
 * filled (the first failure found, depth first, in document order) when
 * not; PW_ERR_LIMIT if a pattern hit its match limit (a denial, never a
 * pass). err may be NULL. The caller releases a filled *err with
 * pw_schema_error_release().
 */
PW_MUST_CHECK pw_status pw_schema_validate(const pw_schema *s, const json_t *instance,
                                           pw_schema_error *err);

void pw_schema_error_release(pw_schema_error *err);
void pw_schema_free(pw_schema *s);

#endif
