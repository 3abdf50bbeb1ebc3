/*
 * fuzz_json.c: pw_json_parse(), pw_jcs_dump() and the UTF-8 checks.
 *
 * For every input:
 *  - pw_utf8_valid() agrees with an independent validator written from
 *    the Unicode standard (table 3-7, NUL refused), and on valid text
 *    pw_utf8_codepoints() counts the lead bytes;
 *  - pw_json_parse() either fails cleanly (*out NULL, a message, one of
 *    its documented statuses) or returns a value whose strings are valid
 *    UTF-8 without NUL and whose numbers are finite;
 *  - the caps are exact: one byte less than the input is PW_ERR_TOO_LARGE;
 *    the value's bracket nesting parses and one level less is
 *    PW_ERR_TOO_DEEP; the same for pw_jcs_dump()'s depth bound;
 *  - canonical form round-trips: JCS(x) is valid UTF-8, parses again to a
 *    value equal to x, and JCS of that is the same bytes (RFC 8785 output
 *    is a fixed point).
 */
#include <stdint.h>
#include <string.h>

#include "core/json.h"
#include "fuzz.h"

/* UTF-8 as the Unicode standard (table 3-7) defines it, NUL refused. */
static bool ref_utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t len;
		unsigned lo = 0x80, hi = 0xbf;
		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
		} else if (c == 0xe0) {
			len = 3, lo = 0xa0;
		} else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
			len = 3;
		} else if (c == 0xed) {
			len = 3, hi = 0x9f;
		} else if (c == 0xf0) {
			len = 4, lo = 0x90;
		} else if (c >= 0xf1 && c <= 0xf3) {
			len = 4;
		} else if (c == 0xf4) {
			len = 4, hi = 0x8f;
		} else {
			return false;
		}
		if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		i += len;
	}
	return true;
}

static void check_utf8(const unsigned char *s, size_t n)
{
	bool valid = ref_utf8_valid(s, n);
	FUZZ_ASSERT(pw_utf8_valid((const char *)s, n) == valid);
	if (valid) {
		size_t leads = 0;
		for (size_t i = 0; i < n; i++)
			leads += (s[i] & 0xc0) != 0x80;
		FUZZ_ASSERT(pw_utf8_codepoints((const char *)s, n) == leads);
	}
}

/* Nesting of [ and { as pw_json_parse() counts it: a scalar is 0. */
static unsigned bracket_depth(const json_t *v)
{
	unsigned d = 0;
	const char *key;
	json_t *m;
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			unsigned c = bracket_depth(json_array_get(v, i));
			d = c > d ? c : d;
		}
		return d + 1;
	}
	if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, key, m) {
			unsigned c = bracket_depth(m);
			d = c > d ? c : d;
		}
		return d + 1;
	}
	return 0;
}

/* Levels as pw_jcs_dump() counts them: the root is 0, each child one more. */
static unsigned dump_depth(const json_t *v)
{
	unsigned d = 0;
	bool any = false;
	const char *key;
	json_t *m;
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			unsigned c = dump_depth(json_array_get(v, i));
			d = c > d ? c : d;
			any = true;
		}
	} else if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, key, m) {
			unsigned c = dump_depth(m);
			d = c > d ? c : d;
			any = true;
		}
	}
	return any ? d + 1 : 0;
}

static bool parse_status_ok(pw_status st)
{
	switch (st) {
	case PW_ERR_NOMEM:
	case PW_ERR_TOO_LARGE:
	case PW_ERR_TOO_DEEP:
	case PW_ERR_SYNTAX:
	case PW_ERR_UTF8:
	case PW_ERR_DUPKEY:
	case PW_ERR_NUMBER: return true;
	default: return false;
	}
}

/* The exact caps: size and depth just enough parse, one less is refused. */
static void check_caps(const char *buf, size_t size, const json_t *v)
{
	json_t *w = NULL;
	unsigned depth = bracket_depth(v);
	pw_json_limits lim = {size, depth};

	FUZZ_ASSERT(pw_json_parse(buf, size, &lim, &w, NULL, 0) == PW_OK);
	FUZZ_ASSERT(pw_json_equal(v, w));
	json_decref(w);
	if (size > 0) {
		lim = (pw_json_limits){size - 1, PW_JSON_MAX_DEPTH_DEFAULT};
		FUZZ_ASSERT(pw_json_parse(buf, size, &lim, &w, NULL, 0) == PW_ERR_TOO_LARGE);
		FUZZ_ASSERT(w == NULL);
	}
	if (depth > 0) {
		lim = (pw_json_limits){size, depth - 1};
		FUZZ_ASSERT(pw_json_parse(buf, size, &lim, &w, NULL, 0) == PW_ERR_TOO_DEEP);
		FUZZ_ASSERT(w == NULL);
	}

	unsigned dd = dump_depth(v);
	char *out = NULL;
	size_t len = 0;
	if (dd > 1) {
		FUZZ_ASSERT(pw_jcs_dump(v, dd - 1, &out, &len) == PW_ERR_TOO_DEEP);
		FUZZ_ASSERT(out == NULL);
	}
	if (dd > 0) {
		out = fuzz_jcs(v, dd, &len);
		free(out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	char err[256] = "";
	json_t *v = NULL, *v2 = NULL;
	char *canon = NULL, *canon2 = NULL;
	size_t clen = 0, clen2 = 0;

	check_utf8(data, size);

	pw_status st = pw_json_parse(buf, size, NULL, &v, err, sizeof err);
	if (st != PW_OK) {
		FUZZ_ASSERT(v == NULL);
		FUZZ_ASSERT(parse_status_ok(st));
		FUZZ_ASSERT(err[0] != '\0');
		return 0;
	}
	FUZZ_ASSERT(v != NULL);
	FUZZ_ASSERT(fuzz_json_clean(v));
	FUZZ_ASSERT(bracket_depth(v) <= PW_JSON_MAX_DEPTH_DEFAULT);
	check_caps(buf, size, v);

	/* parse(JCS(x)) == x, and JCS(parse(JCS(x))) == JCS(x) byte for byte */
	canon = fuzz_jcs(v, 0, &clen);
	FUZZ_ASSERT(pw_utf8_valid(canon, clen));
	pw_json_limits big = {SIZE_MAX, PW_JSON_MAX_DEPTH_DEFAULT};
	st = pw_json_parse(canon, clen, &big, &v2, err, sizeof err);
	if (st != PW_OK)
		fprintf(stderr, "reparse of %s: %s: %s\n", canon, pw_status_name(st), err);
	FUZZ_ASSERT(st == PW_OK);
	FUZZ_ASSERT(pw_json_equal(v, v2));
	FUZZ_ASSERT(pw_json_equal(v2, v));
	canon2 = fuzz_jcs(v2, 0, &clen2);
	FUZZ_ASSERT(clen2 == clen && memcmp(canon, canon2, clen) == 0);

	free(canon2);
	free(canon);
	json_decref(v2);
	json_decref(v);
	return 0;
}
