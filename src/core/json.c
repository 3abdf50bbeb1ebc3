/*
 * json.c: strict parsing on top of jansson, and RFC 8785 canonical form.
 *
 * jansson does the tokenizing; this file adds what a broker needs in front
 * of it (a size cap, a nesting cap measured before jansson recurses, error
 * classes) and the canonical serializer, which jansson does not have:
 * ECMAScript number formatting and UTF-16 key order.
 */
#include "core/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 ------------------------------------------------------------ */

size_t pw_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2, v = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, v = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

bool pw_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	/* eight bytes at a time while they are ASCII and none is NUL */
	for (uint64_t x; len - i >= 8; i += 8) {
		memcpy(&x, p + i, 8);
		if (((x | ((x - UINT64_C(0x0101010101010101)) & ~x)) &
		     UINT64_C(0x8080808080808080)) != 0)
			break;
	}
	while (i < len) {
		uint32_t cp;
		size_t n = pw_utf8_decode(p + i, len - i, &cp);
		if (n == 0 || cp == 0)
			return false;
		i += n;
	}
	return true;
}

size_t pw_utf8_codepoints(const char *s, size_t len)
{
	size_t count = 0;
	for (size_t i = 0; i < len; i++)
		if ((((const unsigned char *)s)[i] & 0xc0) != 0x80)
			count++;
	return count;
}

/* ---- parsing ------------------------------------------------------------ */

/*
 * Measure the nesting of [ and { without recursion, skipping strings, so
 * that a hostile input is refused before jansson's recursive descent
 * sees it.
 */
static bool depth_within(const char *buf, size_t len, unsigned max_depth)
{
	unsigned depth = 0;
	bool in_string = false;
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max_depth)
				return false;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return true;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (n < 0)
		err[0] = '\0';
}

pw_status pw_json_parse(const char *buf, size_t len, const pw_json_limits *lim, json_t **out,
                        char *err, size_t errlen)
{
	size_t max_bytes = lim ? lim->max_bytes : PW_JSON_MAX_BYTES_DEFAULT;
	unsigned max_depth = lim ? lim->max_depth : PW_JSON_MAX_DEPTH_DEFAULT;
	json_error_t jerr;

	*out = NULL;
	if (len > max_bytes) {
		set_err(err, errlen, "input is %zu bytes, over the limit of %zu", len, max_bytes);
		return PW_ERR_TOO_LARGE;
	}
	if (!depth_within(buf, len, max_depth)) {
		set_err(err, errlen, "nesting deeper than %u levels", max_depth);
		return PW_ERR_TOO_DEEP;
	}
	json_t *v = json_loadb(buf, len,
	                       JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL,
	                       &jerr);
	if (v == NULL) {
		pw_status st;
		switch (json_error_code(&jerr)) {
		case json_error_out_of_memory: st = PW_ERR_NOMEM; break;
		case json_error_duplicate_key: st = PW_ERR_DUPKEY; break;
		case json_error_invalid_utf8: st = PW_ERR_UTF8; break;
		case json_error_numeric_overflow: st = PW_ERR_NUMBER; break;
		case json_error_stack_overflow: st = PW_ERR_TOO_DEEP; break;
		default: st = PW_ERR_SYNTAX; break;
		}
		/* jansson reports a lone surrogate escape as a syntax error */
		if (st == PW_ERR_SYNTAX && strstr(jerr.text, "Unicode") != NULL)
			st = PW_ERR_UTF8;
		set_err(err, errlen, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return st;
	}
	*out = v;
	return PW_OK;
}

bool pw_json_number(const json_t *v, double *out)
{
	if (json_is_real(v)) {
		*out = json_real_value(v);
		return true;
	}
	if (json_is_integer(v)) {
		*out = (double)json_integer_value(v);
		return true;
	}
	return false;
}

bool pw_json_equal(const json_t *a, const json_t *b)
{
	double x, y;
	if (a == NULL || b == NULL)
		return a == b;
	if (pw_json_number(a, &x) && pw_json_number(b, &y))
		return x == y;
	if (json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *va;
		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_foreach ((json_t *)a, key, va) {
			if (!pw_json_equal(va, json_object_get(b, key)))
				return false;
		}
		return true;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(a);
		if (n != json_array_size(b))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!pw_json_equal(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	}
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) ==
		               0;
	case JSON_TRUE:
	case JSON_FALSE:
	case JSON_NULL: return true;
	default: return false;
	}
}

/* ---- numbers ------------------------------------------------------------ */

/*
 * Digits and decimal exponent of d correctly rounded to prec significant
 * digits: d ~= 0.DIGITS x 10^point. Returns the number of digits kept
 * (trailing zeros dropped).
 */
static int round_digits(double d, int prec, char digits[24], int *point)
{
	char tmp[40];
	int n = snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
	int k = 0;
	if (n <= 0 || (size_t)n >= sizeof tmp)
		return 0;
	const char *p = tmp;
	for (; *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[k++] = *p;
	digits[k] = '\0';
	*point = (int)strtol(p + 1, NULL, 10) + 1;
	while (k > 1 && digits[k - 1] == '0')
		digits[--k] = '\0';
	return k;
}

static bool round_trips(const char *digits, int point, double d)
{
	char tmp[48];
	int n = snprintf(tmp, sizeof tmp, "0.%se%d", digits, point);
	if (n <= 0 || (size_t)n >= sizeof tmp)
		return false;
	return strtod(tmp, NULL) == d;
}

pw_status pw_jcs_number(double d, char out[PW_JCS_NUMBER_MAX])
{
	char digits[24];
	int point = 0, k = 0;
	size_t o = 0;

	if (isnan(d) || isinf(d))
		return PW_ERR_NUMBER;
	if (d == 0) {
		memcpy(out, "0", 2);
		return PW_OK;
	}
	if (d < 0) {
		out[o++] = '-';
		d = -d;
	}
	/*
	 * An integer below 2^53 is exact, and no shorter digits read back as
	 * it, so Number::toString writes all its digits: the common case of
	 * times, counts and sequence numbers, without the search below.
	 */
	if (d < 9007199254740992.0 && d == (double)(int64_t)d) {
		int r = snprintf(out + o, PW_JCS_NUMBER_MAX - o, "%" PRId64, (int64_t)d);
		return r > 0 && (size_t)r < PW_JCS_NUMBER_MAX - o ? PW_OK : PW_ERR_INTERNAL;
	}
	/* Shortest digits that read back as d (ECMA-262 Number::toString step 5). */
	for (int prec = 1; prec <= 17; prec++) {
		k = round_digits(d, prec, digits, &point);
		if (k > 0 && round_trips(digits, point, d))
			break;
	}
	if (k == 0)
		return PW_ERR_INTERNAL;

	/* Layout of ECMA-262 Number::toString steps 6-10: k digits, point n. */
	int n = point;
	if (k <= n && n <= 21) {
		memcpy(out + o, digits, (size_t)k), o += (size_t)k;
		for (int i = 0; i < n - k; i++)
			out[o++] = '0';
	} else if (0 < n && n <= 21) {
		memcpy(out + o, digits, (size_t)n), o += (size_t)n;
		out[o++] = '.';
		memcpy(out + o, digits + n, (size_t)(k - n)), o += (size_t)(k - n);
	} else if (-6 < n && n <= 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (int i = 0; i < -n; i++)
			out[o++] = '0';
		memcpy(out + o, digits, (size_t)k), o += (size_t)k;
	} else {
		out[o++] = digits[0];
		if (k > 1) {
			out[o++] = '.';
			memcpy(out + o, digits + 1, (size_t)(k - 1)), o += (size_t)(k - 1);
		}
		int r = snprintf(out + o, PW_JCS_NUMBER_MAX - o, "e%c%d", n - 1 < 0 ? '-' : '+',
		                 n - 1 < 0 ? 1 - n : n - 1);
		if (r <= 0 || (size_t)r >= PW_JCS_NUMBER_MAX - o)
			return PW_ERR_INTERNAL;
		o += (size_t)r;
	}
	out[o] = '\0';
	return PW_OK;
}

/* ---- canonical serialization ------------------------------------------- */

typedef struct jbuf {
	char *data; /* owned; from malloc() */
	size_t len;
	size_t cap;
} jbuf;

static pw_status jbuf_put(jbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1) {
			if (cap > SIZE_MAX / 2)
				return PW_ERR_NOMEM;
			cap *= 2;
		}
		char *p = realloc(b->data, cap);
		if (p == NULL)
			return PW_ERR_NOMEM;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return PW_OK;
}

static pw_status put_string(jbuf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0; /* start of the pending literal run */
	PW_TRY(jbuf_put(b, "\"", 1));
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t en = 2;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		PW_TRY(jbuf_put(b, s + run, i - run));
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			en = 6;
			break;
		}
		PW_TRY(jbuf_put(b, esc, en));
	}
	PW_TRY(jbuf_put(b, s + run, len - run));
	return jbuf_put(b, "\"", 1);
}

/*
 * Next UTF-16 code unit of a UTF-8 string, for RFC 8785 member order.
 * *pending carries the low surrogate of a supplementary character.
 * Returns -1 at the end. Invalid bytes (which pw_json_parse never lets
 * through) sort as themselves.
 */
static int32_t next_unit(const unsigned char **p, const unsigned char *end, uint32_t *pending)
{
	uint32_t cp;
	if (*pending) {
		uint32_t u = *pending;
		*pending = 0;
		return (int32_t)u;
	}
	if (*p >= end)
		return -1;
	size_t n = pw_utf8_decode(*p, (size_t)(end - *p), &cp);
	if (n == 0) {
		int32_t byte = **p;
		(*p)++;
		return byte;
	}
	*p += n;
	if (cp < 0x10000)
		return (int32_t)cp;
	cp -= 0x10000;
	*pending = 0xdc00 + (cp & 0x3ff);
	return (int32_t)(0xd800 + (cp >> 10));
}

int pw_utf16_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	const unsigned char *xe = x + alen, *ye = y + blen;
	uint32_t px = 0, py = 0;
	for (;;) {
		int32_t ux = next_unit(&x, xe, &px), uy = next_unit(&y, ye, &py);
		if (ux != uy)
			return ux < uy ? -1 : 1;
		if (ux < 0)
			return 0;
	}
}

static int utf16_cmp(const void *pa, const void *pb)
{
	const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;
	return pw_utf16_cmp(a, strlen(a), b, strlen(b));
}

static pw_status dump(jbuf *b, const json_t *v, unsigned depth, unsigned max_depth)
{
	char num[PW_JCS_NUMBER_MAX];
	double d = 0;

	if (depth > max_depth)
		return PW_ERR_TOO_DEEP;
	switch (json_typeof(v)) {
	case JSON_NULL: return jbuf_put(b, "null", 4);
	case JSON_TRUE: return jbuf_put(b, "true", 4);
	case JSON_FALSE: return jbuf_put(b, "false", 5);
	case JSON_INTEGER:
	case JSON_REAL:
		(void)pw_json_number(v, &d);
		PW_TRY(pw_jcs_number(d, num));
		return jbuf_put(b, num, strlen(num));
	case JSON_STRING: return put_string(b, json_string_value(v), json_string_length(v));
	case JSON_ARRAY: {
		PW_TRY(jbuf_put(b, "[", 1));
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				PW_TRY(jbuf_put(b, ",", 1));
			PW_TRY(dump(b, json_array_get(v, i), depth + 1, max_depth));
		}
		return jbuf_put(b, "]", 1);
	}
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		const char **keys = NULL;
		const char *key;
		json_t *member;
		pw_status st = PW_OK;
		if (n > 0 && (keys = malloc(n * sizeof *keys)) == NULL)
			return PW_ERR_NOMEM;
		json_object_foreach ((json_t *)v, key, member)
			keys[i++] = key;
		if (n > 1)
			qsort(keys, n, sizeof *keys, utf16_cmp);
		st = jbuf_put(b, "{", 1);
		for (i = 0; i < n && st == PW_OK; i++) {
			if (i > 0)
				st = jbuf_put(b, ",", 1);
			if (st == PW_OK)
				st = put_string(b, keys[i], strlen(keys[i]));
			if (st == PW_OK)
				st = jbuf_put(b, ":", 1);
			if (st == PW_OK)
				st = dump(b, json_object_get(v, keys[i]), depth + 1, max_depth);
		}
		free(keys);
		PW_TRY(st);
		return jbuf_put(b, "}", 1);
	}
	default: return PW_ERR_INTERNAL;
	}
}

pw_status pw_jcs_dump(const json_t *v, unsigned max_depth, char **out, size_t *outlen)
{
	jbuf b = {0};
	*out = NULL;
	if (outlen)
		*outlen = 0;
	if (v == NULL)
		return PW_ERR_INTERNAL;
	if (max_depth == 0)
		max_depth = PW_JSON_MAX_DEPTH_DEFAULT * 4;
	pw_status st = dump(&b, v, 0, max_depth);
	if (st == PW_OK && b.data == NULL)
		st = jbuf_put(&b, "", 0);
	if (st != PW_OK) {
		free(b.data);
		return st;
	}
	*out = b.data;
	if (outlen)
		*outlen = b.len;
	return PW_OK;
}

void pw_utf8_trim(char *s)
{
	size_t n = strlen(s);
	/* step back over continuation bytes to the last lead byte, then check it is complete */
	size_t i = n;
	while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && n - i < 3)
		i--;
	if (i == 0)
		return;
	unsigned char c = (unsigned char)s[i - 1];
	size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
	if (c >= 0x80 && n - (i - 1) < need)
		s[i - 1] = '\0';
}
