/*
 * schema.h: input validation against a JSON Schema subset.
 *
 * A workflow spec gives each action an input schema. It is compiled once
 * at spec load (patterns with PCRE2, with a match limit) and then used to
 * validate every action call before anything runs. docs/SPEC.md lists the
 * supported keywords; any other keyword is an error at compile time.
 *
 * pitwall rejects unknown object members even when a schema omits
 * additionalProperties: whenever an object instance meets a schema with
 * no "additionalProperties", a member not named in that schema's
 * "properties" fails as if the schema said false (so "{}" accepts only the
 * empty object among objects). "additionalProperties" is false or a
 * schema object; the boolean schema true is refused, as are boolean
 * schemas anywhere else.
 *
 * Patterns: PCRE2 with UTF, unanchored (a search, as JSON Schema says),
 * "$" matching only at the very end (PCRE2_DOLLAR_ENDONLY, as in
 * ECMA-262: "^[a-z]+$" does not accept "abc\n"), \d \w \s ASCII as in
 * ECMA-262 (no PCRE2_UCP), \C refused. A match runs with a match limit of
 * 100,000, a depth limit of 10,000 and a heap limit of 8 MiB; hitting any
 * of them is PW_ERR_LIMIT, a denial.
 *
 * Schemas nest at most 64 levels (the root is level 1; each "properties"
 * member, "items" and "additionalProperties" is one level down).
 *
 * Memory: the compiled form, PCRE2's memory included, comes from jansson's
 * allocator as it is when pw_schema_compile() runs (json_get_alloc_funcs()),
 * so a test can make any allocation fail with json_set_alloc_funcs(). Do
 * not change jansson's allocator while a compiled schema is alive.
 */
#ifndef PW_CORE_SCHEMA_H
#define PW_CORE_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"

typedef struct pw_schema pw_schema; /* opaque; compiled, immutable */

/*
 * The first failure found by pw_schema_validate(). Per rule:
 *
 *   rule                  pointer        expected                 actual
 *   type                  the value      array of allowed types   the value
 *   enum, const           the value      the enum list / const    the value
 *   minLength ...         the value      the bound (a number)     the value
 *   pattern               the value      the pattern (a string)   the value
 *   required              the object     the missing name         NULL
 *   additionalProperties  the member     the unknown name         the member's value
 *
 * An invalid UTF-8 string or one holding a NUL (possible only in values
 * not made by pw_json_parse()) fails with rule "type" and expected NULL.
 */
typedef struct pw_schema_error {
	char pointer[512]; /* RFC 6901 pointer of the offending value in the instance; "" is the
	                      root; "~" and "/" in names escaped as "~0" and "~1", other bytes raw;
	                      cut at a code point boundary if longer */
	char rule[32];     /* the keyword that failed: "type", "pattern", "required", ... */
	json_t *expected;  /* owned reference: what the rule demanded (a copy: changing it does
	                      not change the schema); may be NULL */
	json_t *actual;    /* owned reference to the instance's own value; NULL when absent */
	char message[512]; /* one line, "<pointer>: <what>", lowercase, no full stop, control
	                      characters escaped as \u00XX: "/branch: does not match pattern
	                      \"^[a-z]+$\"", ": missing required property \"branch\"",
	                      "/timeout: 30 is less than minimum 60"; a pointer over 200 bytes is
	                      cut and marked "..." here so that the reason survives */
} pw_schema_error;

/*
 * Compile schema (not modified, not retained: the compiled form holds its
 * own copies). On success *out is owned by the caller and freed with
 * pw_schema_free(). On failure *out is NULL and err (if not NULL) says
 * where in the schema and what, e.g.
 *   "/properties/branch: unsupported keyword \"format\""
 *   "/properties/branch/minLength: must be a non-negative integer"
 *   "/properties/branch/pattern: invalid regular expression at offset 3: ..."
 * Statuses: PW_ERR_INVALID for an unsupported keyword, a keyword value of
 * the wrong type or an invalid pattern; PW_ERR_TOO_DEEP for nesting past
 * 64 levels; PW_ERR_NOMEM. The first problem in document order is the one
 * reported.
 */
PW_MUST_CHECK pw_status pw_schema_compile(const json_t *schema, pw_schema **out, char *err,
                                          size_t errlen);

/*
 * Validate instance (not modified; an error may take a reference to part
 * of it). PW_OK when it conforms; PW_ERR_INVALID with *err filled when
 * not; PW_ERR_LIMIT with *err filled (rule "pattern") if a pattern hit its
 * match limit (a denial, never a pass); PW_ERR_NOMEM with *err empty;
 * PW_ERR_INTERNAL if s or instance is NULL.
 *
 * The failure reported is the first in document order, depth first: at
 * each value, type, then enum and const, then the keywords of the value's
 * type (minLength, maxLength, pattern; minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum; minItems, maxItems; required, in the order of the
 * list), then the children: array elements in order, object members in
 * the instance's order (unknown members failing where they stand).
 *
 * err may be NULL. Otherwise validation always initialises *err, and the
 * caller releases it with pw_schema_error_release() (harmless when empty).
 * A compiled schema may validate from several threads at once.
 */
PW_MUST_CHECK pw_status pw_schema_validate(const pw_schema *s, const json_t *instance,
                                           pw_schema_error *err);

/* Drop err's references and clear it. NULL, or releasing twice, is harmless. */
void pw_schema_error_release(pw_schema_error *err);

/* Free s and everything it holds. NULL is harmless. */
void pw_schema_free(pw_schema *s);

#endif
