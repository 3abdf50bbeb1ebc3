/*
 * json.h: strict JSON parsing with caps, and RFC 8785 (JCS) canonical form.
 *
 * pitwall's JSON values are jansson json_t. Everything that enters from
 * outside (action calls, results, exported logs) goes through
 * pw_json_parse(), which refuses what jansson alone would let through or
 * what a hostile input could use: oversized buffers, deep nesting,
 * duplicate keys, invalid UTF-8 and lone surrogates, NUL in strings,
 * numbers that JSON cannot hold. All numbers decode as doubles (JSON has
 * one number type, and RFC 8785 and JSON Logic both treat it as IEEE-754).
 *
 * The core does no I/O: these functions take and return buffers.
 */
#ifndef PW_CORE_JSON_H
#define PW_CORE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define PW_JSON_MAX_BYTES_DEFAULT ((size_t)1 << 20) /* 1 MiB */
#define PW_JSON_MAX_DEPTH_DEFAULT 64u

typedef struct pw_json_limits {
	size_t max_bytes;   /* larger input: PW_ERR_TOO_LARGE */
	unsigned max_depth; /* deeper nesting of [ and {: PW_ERR_TOO_DEEP */
} pw_json_limits;

/*
 * Parse len bytes of buf (which need not be NUL-terminated) as one JSON
 * text. lim may be NULL for the defaults. On success *out is a new
 * reference the caller releases with json_decref(). On failure *out is
 * NULL and err (if not NULL) holds one lowercase line such as
 * "line 1 column 9: duplicate object key \"a\"".
 */
PW_MUST_CHECK pw_status pw_json_parse(const char *buf, size_t len, const pw_json_limits *lim,
                                      json_t **out, char *err, size_t errlen);

/* Longest output of pw_jcs_number(), with its NUL: "-1.2345678901234567e-308". */
#define PW_JCS_NUMBER_MAX 32

/*
 * Write d as ECMAScript Number::toString does (RFC 8785 section 3.2.2.3):
 * shortest round-trip digits, -0 as "0". NaN and infinities are
 * PW_ERR_NUMBER.
 */
PW_MUST_CHECK pw_status pw_jcs_number(double d, char out[PW_JCS_NUMBER_MAX]);

/*
 * Serialize v in RFC 8785 canonical form: no whitespace, object members
 * sorted by the UTF-16 code units of their names, strings with the
 * minimal escapes, numbers by pw_jcs_number(). On success *out is a
 * NUL-terminated buffer from malloc() that the caller frees, and *outlen
 * its length without the NUL. max_depth bounds recursion
 * (PW_ERR_TOO_DEEP beyond it); 0 means PW_JSON_MAX_DEPTH_DEFAULT * 4.
 */
PW_MUST_CHECK pw_status pw_jcs_dump(const json_t *v, unsigned max_depth, char **out,
                                    size_t *outlen);

/*
 * Deep equality where numbers compare by value, so an integer 2 equals a
 * real 2.0 (jansson's json_equal() says they differ). NULL equals only NULL.
 */
bool pw_json_equal(const json_t *a, const json_t *b);

/* True if v is a JSON number (integer or real); *out gets its value as a double. */
bool pw_json_number(const json_t *v, double *out);

/*
 * Check that s[0..len) is valid UTF-8 with no surrogates, no overlong
 * forms and no NUL. Returns true when valid.
 */
bool pw_utf8_valid(const char *s, size_t len);

/*
 * Cut a NUL-terminated string that was truncated at a byte limit back to
 * its last complete UTF-8 character, so that it stays valid UTF-8.
 */
void pw_utf8_trim(char *s);

/*
 * Decode one code point from s[0..len) into *cp. Returns its byte length
 * (1-4), or 0 when the sequence is invalid: truncated, overlong, a
 * surrogate, above U+10FFFF.
 */
size_t pw_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/*
 * Order of two member names in RFC 8785 (by their UTF-16 code units):
 * negative, zero or positive as a sorts before, with or after b.
 */
int pw_utf16_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* Number of Unicode code points in valid UTF-8 s[0..len). */
size_t pw_utf8_codepoints(const char *s, size_t len);

#endif
