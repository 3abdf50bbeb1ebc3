/*
 * canon.c: recognize RFC 8785 canonical JSON text in place.
 *
 * The reader is a strict recursive descent over the grammar of canonical
 * JSON, which is JSON without any freedom left: no whitespace; strings with
 * only the escapes JCS writes (\" \\ \b \f \n \r \t, and \u00xx in lowercase
 * for the other control characters) and valid UTF-8 for everything else;
 * numbers exactly as Number::toString writes them; object members in
 * strictly increasing order of their names' UTF-16 code units (which also
 * rules out duplicates). What it accepts, jansson accepts too (with the
 * flags of pw_json_parse()); it refuses, in addition, \u0000 (jansson
 * refuses it as well), names written with escapes, and nesting deeper than
 * the caller's limit. tests/fuzz/fuzz_canon.c checks the property
 * "accepted implies pw_jcs_dump(pw_json_parse(text)) == text".
 */
#include "core/canon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

typedef struct reader {
	const unsigned char *p, *end;
	unsigned depth, max_depth;
} reader;

/* A byte that stands for itself inside a canonical string: printable ASCII but " and \. */
static bool is_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

#define ONES  UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/*
 * Skip the bytes of p[0..end) that stand for themselves in a string, eight
 * at a time: the usual "has a zero byte" arithmetic flags, in the high bit
 * of each byte, a byte under 0x20 or over 0x7f, a quote or a backslash.
 * The lowest flag is always a byte that is flagged rightly (a false flag
 * needs a borrow from a true one below it), so on a little-endian machine
 * it says where the first one is.
 */
static const unsigned char *skip_plain(const unsigned char *p, const unsigned char *end)
{
	while (end - p >= 8) {
		uint64_t x, q, b, m;
		memcpy(&x, p, 8);
		q = x ^ (ONES * '"');
		b = x ^ (ONES * '\\');
		m = (x | ((x - ONES * 0x20) & ~x) | ((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGHS;
		if (m != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return p + (__builtin_ctzll(m) >> 3);
#else
			break;
#endif
		}
		p += 8;
	}
	while (p < end && is_plain(*p))
		p++;
	return p;
}

/*
 * Order of two names in canonical order (pw_utf16_cmp()), bytewise while
 * the bytes where they first differ are ASCII, which is the common case.
 */
static int name_order(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen, i = 0;
	while (i < n && a[i] == b[i])
		i++;
	if (i == n)
		return (alen > blen) - (alen < blen);
	unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
	if (x < 0x80 || y < 0x80) /* an ASCII unit sorts before any other, in UTF-16 too */
		return x < y ? -1 : 1;
	return pw_utf16_cmp(a, alen, b, blen);
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

static unsigned hex_value(unsigned char c)
{
	return is_digit(c) ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
}

/*
 * The rest of a string from p, a byte that does not stand for itself: an
 * escape, a byte of a multibyte character, or one that may not be there.
 */
static bool read_string_rest(reader *r, const unsigned char *p)
{
	const unsigned char *end = r->end;
	for (;;) {
		p = skip_plain(p, end);
		if (p >= end)
			return false;
		unsigned char c = *p;
		if (c == '"') {
			r->p = p + 1;
			return true;
		}
		if (c == '\\') {
			if (end - p < 2)
				return false;
			switch (p[1]) {
			case '"':
			case '\\':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't': p += 2; continue;
			case 'u': {
				/* only \u00xx for a control character without a short escape */
				if (end - p < 6 || p[2] != '0' || p[3] != '0' || p[4] > '1' ||
				    !is_lower_hex(p[4]) || !is_lower_hex(p[5]))
					return false;
				unsigned v = hex_value(p[4]) << 4 | hex_value(p[5]);
				if (v == 0 || v == '\b' || v == '\t' || v == '\n' || v == '\f' ||
				    v == '\r')
					return false;
				p += 6;
				continue;
			}
			default: return false;
			}
		}
		if (c < 0x80) /* a control character */
			return false;
		uint32_t cp;
		size_t n = pw_utf8_decode(p, (size_t)(end - p), &cp);
		if (n == 0)
			return false;
		p += n;
	}
}

/*
 * A string at r->p (which is '"'); *escaped tells whether it holds any
 * escape. Most strings are plain ASCII, read here; the others go on in
 * read_string_rest().
 */
static bool read_string(reader *r, bool *escaped)
{
	const unsigned char *p = skip_plain(r->p + 1, r->end);
	if (p < r->end && *p == '"') {
		*escaped = false;
		r->p = p + 1;
		return true;
	}
	const unsigned char *start = p;
	bool ok = read_string_rest(r, p);
	*escaped = ok && memchr(start, '\\', (size_t)(r->p - start)) != NULL;
	return ok;
}

/*
 * A number at r->p, exactly as pw_jcs_number() writes it. An integer of up
 * to 15 digits is exact and written with all its digits, so it is
 * canonical as it stands (unless it is -0); anything else is compared with
 * what pw_jcs_number() writes for the value it reads as.
 */
static bool read_number(reader *r)
{
	const unsigned char *p = r->p, *start = p, *end = r->end;
	bool neg = false, integer = true;
	if (*p == '-') {
		neg = true;
		p++;
	}
	const unsigned char *digits = p;
	if (p >= end || !is_digit(*p))
		return false;
	if (*p == '0') {
		p++;
		if (p < end && is_digit(*p))
			return false;
	} else {
		while (p < end && is_digit(*p))
			p++;
	}
	size_t n_digits = (size_t)(p - digits);
	if (p < end && *p == '.') {
		integer = false;
		if (++p >= end || !is_digit(*p))
			return false;
		while (p < end && is_digit(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		integer = false;
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || !is_digit(*p))
			return false;
		while (p < end && is_digit(*p))
			p++;
	}
	size_t len = (size_t)(p - start);
	r->p = p;
	if (integer && n_digits <= 15)
		return !(neg && digits[0] == '0');
	char text[PW_JCS_NUMBER_MAX], canon[PW_JCS_NUMBER_MAX];
	if (len >= sizeof text)
		return false;
	memcpy(text, start, len);
	text[len] = '\0';
	char *stop = NULL;
	double d = strtod(text, &stop);
	return stop == text + len && pw_jcs_number(d, canon) == PW_OK && strcmp(canon, text) == 0;
}

static bool read_literal(reader *r, const char *lit, size_t n)
{
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, lit, n) != 0)
		return false;
	r->p += n;
	return true;
}

static bool read_value(reader *r);

/*
 * An object at r->p; its members go to members[0..*n) when members is not
 * NULL (false beyond max).
 */
static bool read_object(reader *r, pw_canon_member *members, size_t max, size_t *n)
{
	const char *prev = NULL;
	size_t prev_len = 0, count = 0;
	bool escaped;
	if (++r->depth > r->max_depth)
		return false;
	r->p++;
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		r->depth--;
		if (n != NULL)
			*n = 0;
		return true;
	}
	for (;;) {
		const unsigned char *name = r->p;
		if (r->p >= r->end || *r->p != '"' || !read_string(r, &escaped) || escaped)
			return false;
		const char *key = (const char *)name + 1;
		size_t key_len = (size_t)(r->p - name) - 2;
		if (prev != NULL && name_order(prev, prev_len, key, key_len) >= 0)
			return false;
		prev = key;
		prev_len = key_len;
		if (r->p >= r->end || *r->p != ':')
			return false;
		r->p++;
		const unsigned char *value = r->p;
		if (!read_value(r))
			return false;
		if (members != NULL) {
			if (count == max)
				return false;
			members[count] = (pw_canon_member){key, key_len, (const char *)value,
			                                   (size_t)(r->p - value)};
		}
		count++;
		if (r->p >= r->end)
			return false;
		if (*r->p == '}')
			break;
		if (*r->p != ',')
			return false;
		r->p++;
	}
	r->p++;
	r->depth--;
	if (n != NULL)
		*n = count;
	return true;
}

static bool read_array(reader *r)
{
	if (++r->depth > r->max_depth)
		return false;
	r->p++;
	if (r->p < r->end && *r->p == ']') {
		r->p++;
		r->depth--;
		return true;
	}
	for (;;) {
		if (!read_value(r) || r->p >= r->end)
			return false;
		if (*r->p == ']')
			break;
		if (*r->p != ',')
			return false;
		r->p++;
	}
	r->p++;
	r->depth--;
	return true;
}

static bool read_value(reader *r)
{
	bool escaped;
	if (r->p >= r->end)
		return false;
	switch (*r->p) {
	case '{': return read_object(r, NULL, 0, NULL);
	case '[': return read_array(r);
	case '"': return read_string(r, &escaped);
	case 't': return read_literal(r, "true", 4);
	case 'f': return read_literal(r, "false", 5);
	case 'n': return read_literal(r, "null", 4);
	default: return read_number(r);
	}
}

bool pw_canon_object(const char *buf, size_t len, unsigned max_depth, pw_canon_member *members,
                     size_t max, size_t *n)
{
	reader r = {(const unsigned char *)buf, (const unsigned char *)buf + len, 0, max_depth};
	*n = 0;
	if (len == 0 || buf[0] != '{')
		return false;
	return read_object(&r, members, max, n) && r.p == r.end;
}

/*
 * The length of the accepted string at p, quotes included: its closing
 * quote is the first one not escaped, that is, not after an odd number of
 * backslashes.
 */
static size_t string_len(const char *p, const char *end)
{
	const char *q = p + 1;
	for (;;) {
		q = memchr(q, '"', (size_t)(end - q));
		size_t bs = 0;
		while (q[-1 - (ptrdiff_t)bs] == '\\')
			bs++;
		if (bs % 2 == 0)
			return (size_t)(q + 1 - p);
		q++;
	}
}

/* The end of the value at p, in an accepted text that ends at end. */
static const char *skip_value(const char *p, const char *end)
{
	unsigned depth = 0;
	do {
		switch (*p) {
		case '"': p += string_len(p, end); break;
		case '{':
		case '[':
			depth++;
			p++;
			break;
		case '}':
		case ']':
			depth--;
			p++;
			break;
		case ',':
		case ':': p++; break;
		default:
			/* a number or a literal: up to the next delimiter */
			while (*p != ',' && *p != '}' && *p != ']')
				p++;
			break;
		}
	} while (depth > 0);
	return p;
}

bool pw_canon_members(const char *obj, size_t len, pw_canon_member *members, size_t max, size_t *n)
{
	const char *p = obj + 1, *end = obj + len - 1; /* inside the braces */
	size_t count = 0;
	while (p < end) {
		const char *name = p + 1, *close = memchr(name, '"', (size_t)(end - name));
		if (count == max || close == NULL)
			return false;
		const char *value = close + 2;
		p = skip_value(value, end);
		members[count++] =
		        (pw_canon_member){name, (size_t)(close - name), value, (size_t)(p - value)};
		if (p < end)
			p++; /* the comma */
	}
	*n = count;
	return true;
}

size_t pw_canon_string(const char *lit, size_t len, char *out)
{
	const char *p = lit + 1, *end = lit + len - 1; /* inside the quotes */
	size_t o = 0;
	for (;;) {
		const char *esc = memchr(p, '\\', (size_t)(end - p));
		size_t run = (size_t)((esc ? esc : end) - p);
		memcpy(out + o, p, run);
		o += run;
		if (esc == NULL)
			break;
		p = esc + 2;
		switch (esc[1]) {
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u':
			out[o++] = (char)(hex_value((unsigned char)esc[4]) << 4 |
			                  hex_value((unsigned char)esc[5]));
			p = esc + 6;
			break;
		default: out[o++] = esc[1]; break; /* " and \ */
		}
	}
	out[o] = '\0';
	return o;
}

/* ---- building values --------------------------------------------------------- */

static json_t *build_string(const char *p, size_t len)
{
	if (memchr(p, '\\', len) == NULL)
		return json_stringn_nocheck(p + 1, len - 2);
	char *buf = malloc(len);
	if (buf == NULL)
		return NULL;
	size_t n = pw_canon_string(p, len, buf);
	json_t *s = json_stringn_nocheck(buf, n);
	free(buf);
	return s;
}

/* A number as jansson reads it with JSON_DECODE_INT_AS_REAL: the double strtod() gives. */
static json_t *build_number(const char *p, size_t len)
{
	size_t digits = len - (p[0] == '-');
	if (digits <= 15 && memchr(p, '.', len) == NULL && memchr(p, 'e', len) == NULL) {
		int64_t v = pw_canon_int(p, len); /* exact: fewer than 2^53 */
		return json_real((double)v);
	}
	char text[PW_JCS_NUMBER_MAX];
	if (len >= sizeof text)
		return NULL;
	memcpy(text, p, len);
	text[len] = '\0';
	return json_real(strtod(text, NULL));
}

/* The value at *pp in an accepted text that ends at end; *pp moves past it. */
static json_t *build(const char **pp, const char *end)
{
	const char *p = *pp;
	json_t *v = NULL;
	switch (*p) {
	case '{':
		v = json_object();
		p++;
		while (v != NULL && *p != '}') {
			size_t name_len = string_len(p, end) - 2;
			const char *name = p + 1;
			p += name_len + 3; /* the quotes and the colon */
			json_t *m = build(&p, end);
			if (m == NULL || json_object_setn_new_nocheck(v, name, name_len, m) != 0) {
				json_decref(v);
				v = NULL;
			}
			if (*p == ',')
				p++;
		}
		p++;
		break;
	case '[':
		v = json_array();
		p++;
		while (v != NULL && *p != ']') {
			json_t *m = build(&p, end);
			if (m == NULL || json_array_append_new(v, m) != 0) {
				json_decref(v);
				v = NULL;
			}
			if (*p == ',')
				p++;
		}
		p++;
		break;
	case '"': {
		size_t n = string_len(p, end);
		v = build_string(p, n);
		p += n;
		break;
	}
	case 't':
		v = json_true();
		p += 4;
		break;
	case 'f':
		v = json_false();
		p += 5;
		break;
	case 'n':
		v = json_null();
		p += 4;
		break;
	default: {
		const char *q = p;
		while (q < end && *q != ',' && *q != '}' && *q != ']')
			q++;
		v = build_number(p, (size_t)(q - p));
		p = q;
		break;
	}
	}
	*pp = p;
	return v;
}

json_t *pw_canon_value(const char *val, size_t len)
{
	return build(&val, val + len);
}

int64_t pw_canon_int(const char *lit, size_t len)
{
	size_t i = len > 0 && lit[0] == '-' ? 1 : 0;
	int64_t v = 0;
	if (i == len || len - i > 16)
		return -1;
	for (size_t k = i; k < len; k++) {
		if (!is_digit((unsigned char)lit[k]))
			return -1; /* a fraction or an exponent: not an integer within 2^53 */
		v = v * 10 + (lit[k] - '0');
	}
	if (v > INT64_C(9007199254740992))
		return -1;
	return i ? -v : v;
}
