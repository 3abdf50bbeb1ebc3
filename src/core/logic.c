/*
 * logic.c: a bounded JSON Logic evaluator; the contract is in logic.h.
 *
 * How it works. eval() walks the rule recursively. What it produces is an
 * lval: a JSON value, or one of the two JavaScript values JSON cannot hold
 * that json-logic-js produces along the way (undefined, and numbers that
 * are NaN or infinite). An lval becomes JSON only when it is stored in an
 * array or returned, the way JSON.stringify() would write it: undefined,
 * NaN and the infinities as null.
 *
 * Ownership. An lval owns one reference to its json_t. Values taken from
 * the rule or the data are shared, not copied: they get a reference
 * (json_incref on the caller's const values; jansson's counts are atomic).
 * Nothing that has been wrapped in an lval is ever modified, which is what
 * makes sharing safe, and also what makes == and === on arrays and objects
 * compare identity, as in JavaScript.
 *
 * Bounds, so that a hostile rule can neither hang nor crash the broker:
 *  - depth: every array and operation node counts one level, checked before
 *    recursing; max_depth is capped at LG_DEPTH_CAP to protect the C stack;
 *  - steps: one per node evaluated, plus one per array element scanned or
 *    converted, one per LG_BYTES_PER_STEP bytes of string built, scanned or
 *    converted, and the size (below) of every array or object built, so a
 *    reduce that doubles a string or an array each turn stops at max_steps
 *    like any other loop;
 *  - nesting of built values: each lval carries a bound on how much deeper
 *    it is than the deepest input (rule or data); a value past LG_NEST_CAP
 *    is refused, so that neither our ToString nor jansson's recursive
 *    json_decref() can run out of stack on a reduce that wraps its
 *    accumulator once per element;
 *  - size of built values: each lval also carries the number of nodes it
 *    has when written out, and building an array or object charges that
 *    many steps. Values share structure, so without this a reduce like
 *    {"merge": [[acc], [acc]]} would double its written-out size each turn
 *    for one step, and hand the caller a result that json_dumps() or
 *    pw_json_equal() could never finish. Parts of the inputs are counted
 *    (walked) only when they are stored into a new array or object;
 *  - string length: LG_STR_CAP.
 *
 * Allocation goes through jansson's allocator (json_get_alloc_funcs()), so
 * one hook (json_set_alloc_funcs()) lets a test fail any allocation.
 */
#include "core/logic.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

#define LG_DEFAULT_DEPTH  64u
#define LG_DEFAULT_STEPS  100000ul
#define LG_DEPTH_CAP      1024u             /* highest max_depth honoured: C stack */
#define LG_NEST_CAP       1024u             /* nesting a rule may add to its inputs */
#define LG_WALK_CAP       4096u             /* nesting ToString and counting descend */
#define LG_STR_CAP        ((size_t)1 << 26) /* longest string a rule may build */
#define LG_BYTES_PER_STEP 64u               /* bytes of string work per step */
#define LG_SMALL_ARGS     8u                /* argument lists kept on the stack */

/* ---- context, errors, steps -------------------------------------------- */

struct lg_ctx {
	unsigned max_depth;      /* from pw_logic_limits, capped */
	unsigned long max_steps; /* from pw_logic_limits */
	unsigned long steps;     /* spent so far; never above max_steps */
	char *err;               /* OUT: the caller's buffer, may be NULL */
	size_t errlen;
};

static pw_status fail(struct lg_ctx *c, pw_status st, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static pw_status fail(struct lg_ctx *c, pw_status st, const char *fmt, ...)
{
	if (c->err != NULL && c->errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
		if (n < 0)
			c->err[0] = '\0';
	}
	return st;
}

static pw_status nomem(struct lg_ctx *c)
{
	return fail(c, PW_ERR_NOMEM, "out of memory");
}

static pw_status charge(struct lg_ctx *c, unsigned long n)
{
	if (n > c->max_steps - c->steps) {
		c->steps = c->max_steps;
		return fail(c, PW_ERR_LIMIT, "step limit %lu reached", c->max_steps);
	}
	c->steps += n;
	return PW_OK;
}

static pw_status check_depth(struct lg_ctx *c, unsigned depth)
{
	if (depth >= c->max_depth)
		return fail(c, PW_ERR_LIMIT, "rule nested deeper than %u levels", c->max_depth);
	return PW_OK;
}

static pw_status check_nest(struct lg_ctx *c, unsigned nest)
{
	if (nest > LG_NEST_CAP)
		return fail(c, PW_ERR_LIMIT, "value nested deeper than %u levels", LG_NEST_CAP);
	return PW_OK;
}

static void *lg_alloc(size_t n)
{
	json_malloc_t m = NULL;
	json_free_t f = NULL;
	json_get_alloc_funcs(&m, &f);
	return m != NULL && n > 0 ? m(n) : NULL;
}

static void lg_free(void *p)
{
	json_malloc_t m = NULL;
	json_free_t f = NULL;
	if (p == NULL)
		return;
	json_get_alloc_funcs(&m, &f);
	if (f != NULL)
		f(p);
}

/* ---- growable string buffer ------------------------------------------- */

struct sbuf {
	char *p;    /* owned; from lg_alloc(); NUL-terminated when not NULL */
	size_t len; /* bytes used, without the NUL */
	size_t cap; /* bytes allocated at p */
};

#define SBUF_INIT                                                                                  \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

static void sb_release(struct sbuf *b)
{
	lg_free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Append s[0..n); charges the bytes as steps. */
static pw_status sb_add(struct lg_ctx *c, struct sbuf *b, const void *s, size_t n)
{
	if (n > LG_STR_CAP - b->len)
		return fail(c, PW_ERR_LIMIT, "string longer than %zu bytes", LG_STR_CAP);
	PW_TRY(charge(c, n / LG_BYTES_PER_STEP));
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = lg_alloc(cap);
		if (p == NULL)
			return nomem(c);
		if (b->len > 0)
			memcpy(p, b->p, b->len);
		lg_free(b->p);
		b->p = p;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return PW_OK;
}

static pw_status sb_cstr(struct lg_ctx *c, struct sbuf *b, const char *s)
{
	return sb_add(c, b, s, strlen(s));
}

/* ---- UTF-8 and UTF-16 -------------------------------------------------- */

/*
 * Decode the code point at s[i] (i < n). A byte that does not start a
 * valid sequence decodes as U+FFFD and uses one byte. Returns the bytes used.
 */
static size_t u8_decode(const unsigned char *s, size_t n, size_t i, uint32_t *cp)
{
	unsigned char b0 = s[i];
	size_t need;
	uint32_t v, min;

	if (b0 < 0x80) {
		*cp = b0;
		return 1;
	}
	if (b0 >= 0xC2 && b0 <= 0xDF) {
		need = 1, v = b0 & 0x1Fu, min = 0x80;
	} else if (b0 >= 0xE0 && b0 <= 0xEF) {
		need = 2, v = b0 & 0x0Fu, min = 0x800;
	} else if (b0 >= 0xF0 && b0 <= 0xF4) {
		need = 3, v = b0 & 0x07u, min = 0x10000;
	} else {
		*cp = 0xFFFD;
		return 1;
	}
	if (n - i - 1 < need) {
		*cp = 0xFFFD;
		return 1;
	}
	for (size_t k = 1; k <= need; k++) {
		unsigned char bk = s[i + k];
		if ((bk & 0xC0) != 0x80) {
			*cp = 0xFFFD;
			return 1;
		}
		v = (v << 6) | (bk & 0x3Fu);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
		*cp = 0xFFFD;
		return 1;
	}
	*cp = v;
	return need + 1;
}

/* Length in UTF-16 code units, JavaScript's String length. */
static size_t u16_len(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t units = 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		i += u8_decode(u, n, i, &cp);
		units += cp >= 0x10000 ? 2 : 1;
	}
	return units;
}

/*
 * Append the UTF-16 code units [from, to) of s to b. A surrogate pair cut
 * in half becomes U+FFFD, as when JavaScript encodes a lone surrogate.
 */
static pw_status u16_slice(struct lg_ctx *c, const char *s, size_t n, size_t from, size_t to,
                           struct sbuf *b)
{
	static const char repl[] = "\xEF\xBF\xBD";
	const unsigned char *u = (const unsigned char *)s;
	size_t units = 0;

	for (size_t i = 0; i < n && units < to;) {
		uint32_t cp;
		size_t k = u8_decode(u, n, i, &cp);
		size_t w = cp >= 0x10000 ? 2 : 1;
		if (units >= from && units + w <= to) {
			if (cp == 0xFFFD)
				PW_TRY(sb_add(c, b, repl, 3));
			else
				PW_TRY(sb_add(c, b, s + i, k));
		} else if (units + w > from) {
			PW_TRY(sb_add(c, b, repl, 3));
		}
		units += w;
		i += k;
	}
	return PW_OK;
}

/* Sort key of a code point in UTF-16 code unit order. */
static uint32_t u16_key(uint32_t cp)
{
	return cp >= 0xE000 && cp <= 0xFFFF ? cp + 0x110000 : cp;
}

/* Compare two strings as JavaScript does: by UTF-16 code units. */
static int u16_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	const unsigned char *ua = (const unsigned char *)a, *ub = (const unsigned char *)b;
	size_t n = an < bn ? an : bn, i = 0;

	while (i < n && ua[i] == ub[i])
		i++;
	if (i == n)
		return an < bn ? -1 : an > bn ? 1 : 0;
	size_t j = i;
	while (j > 0 && (ua[j] & 0xC0) == 0x80)
		j--;
	uint32_t ca, cb;
	(void)u8_decode(ua, an, j, &ca);
	(void)u8_decode(ub, bn, j, &cb);
	uint32_t ka = u16_key(ca), kb = u16_key(cb);
	if (ka != kb)
		return ka < kb ? -1 : 1;
	return ua[i] < ub[i] ? -1 : 1;
}

/* ---- values ------------------------------------------------------------ */

enum lv_kind { LV_UNDEF, LV_NUM, LV_JSON };

typedef struct lval {
	enum lv_kind kind;
	double num;    /* LV_NUM: any double, NaN and the infinities included */
	json_t *j;     /* LV_JSON: owned reference, never NULL */
	unsigned nest; /* LV_JSON: bound on the depth j adds to the inputs' */
	size_t size;   /* LV_JSON: nodes of j written out; 0 when not counted */
} lval;

/* JavaScript's view of a value's type; arrays apart from objects. */
enum js_type { JS_UNDEF, JS_NULL, JS_BOOL, JS_NUM, JS_STR, JS_ARR, JS_OBJ };

static const lval lg_undef_value = {LV_UNDEF, 0, NULL, 0, 0};

static lval lv_undef(void)
{
	return lg_undef_value;
}

static lval lv_num(double d)
{
	lval v = {LV_NUM, d, NULL, 0, 0};
	return v;
}

/* Wrap j, taking over the caller's reference (j not NULL). */
static lval lv_take(json_t *j, unsigned nest)
{
	lval v = {LV_JSON, 0, j, nest, 0};
	return v;
}

/* Wrap j with a new reference of its own. */
static lval lv_ref(const json_t *j, unsigned nest)
{
	return lv_take(json_incref((json_t *)j), nest);
}

/* A borrowed view of j for reading only: never released, never stored. */
static lval lv_view(const json_t *j, unsigned nest)
{
	lval v = {LV_JSON, 0, (json_t *)j, nest, 0};
	return v;
}

static lval lv_bool(bool b)
{
	return lv_take(json_boolean(b), 0); /* a singleton: cannot fail */
}

static lval lv_null(void)
{
	return lv_take(json_null(), 0);
}

/* A new owned copy of v (one more reference). */
static lval lv_copy(const lval *v)
{
	if (v->kind != LV_JSON)
		return *v;
	lval r = lv_ref(v->j, v->nest);
	r.size = v->size;
	return r;
}

static void lv_release(lval *v)
{
	if (v->kind == LV_JSON)
		json_decref(v->j);
	*v = lv_undef();
}

/* Move *v out, leaving undefined behind. */
static lval lv_move(lval *v)
{
	lval r = *v;
	*v = lv_undef();
	return r;
}

static pw_status lv_string(struct lg_ctx *c, const char *s, size_t n, lval *out)
{
	json_t *j = json_stringn_nocheck(n > 0 ? s : "", n);
	if (j == NULL)
		return nomem(c);
	*out = lv_take(j, 0);
	return PW_OK;
}

static pw_status lv_empty_array(struct lg_ctx *c, lval *out)
{
	json_t *j = json_array();
	if (j == NULL)
		return nomem(c);
	*out = lv_take(j, 1);
	out->size = 1;
	return PW_OK;
}

static enum js_type json_js_type(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return JS_OBJ;
	case JSON_ARRAY: return JS_ARR;
	case JSON_STRING: return JS_STR;
	case JSON_INTEGER:
	case JSON_REAL: return JS_NUM;
	case JSON_TRUE:
	case JSON_FALSE: return JS_BOOL;
	case JSON_NULL: return JS_NULL;
	default: return JS_NULL;
	}
}

static enum js_type lv_type(const lval *v)
{
	switch (v->kind) {
	case LV_UNDEF: return JS_UNDEF;
	case LV_NUM: return JS_NUM;
	case LV_JSON: return json_js_type(v->j);
	default: return JS_UNDEF;
	}
}

/* The number of a JS_NUM value. */
static double lv_numval(const lval *v)
{
	return v->kind == LV_NUM ? v->num : json_number_value(v->j);
}

static const char *lv_str(const lval *v, size_t *n)
{
	*n = json_string_length(v->j);
	return json_string_value(v->j);
}

static bool lv_truthy(const lval *v)
{
	switch (v->kind) {
	case LV_UNDEF: return false;
	case LV_NUM: return v->num != 0 && !isnan(v->num);
	case LV_JSON: return pw_logic_truthy(v->j);
	default: return false;
	}
}

/* A new JSON reference for v, the way JSON.stringify() writes it. */
static pw_status lv_to_json(struct lg_ctx *c, const lval *v, json_t **out)
{
	switch (v->kind) {
	case LV_JSON: *out = json_incref(v->j); return PW_OK;
	case LV_NUM:
		if (!isfinite(v->num)) {
			*out = json_null();
			return PW_OK;
		}
		*out = json_real(v->num == 0 ? 0.0 : v->num); /* -0 is written 0 */
		return *out != NULL ? PW_OK : nomem(c);
	case LV_UNDEF:
	default: *out = json_null(); return PW_OK;
	}
}

/* Append v to array arr (not yet shared). */
static pw_status append_lv(struct lg_ctx *c, json_t *arr, const lval *v)
{
	json_t *j = NULL;
	PW_TRY(lv_to_json(c, v, &j));
	if (json_array_append_new(arr, j) != 0)
		return nomem(c);
	return PW_OK;
}

static size_t size_add(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* Add the nodes of j to *count, failing once it passes the steps left. */
static pw_status count_nodes(struct lg_ctx *c, const json_t *j, unsigned level, size_t *count)
{
	const char *key;
	json_t *m;

	if (++*count > c->max_steps - c->steps)
		return fail(c, PW_ERR_LIMIT, "step limit %lu reached", c->max_steps);
	if (!json_is_array(j) && !json_is_object(j))
		return PW_OK;
	if (level >= LG_WALK_CAP)
		return fail(c, PW_ERR_LIMIT, "value nested deeper than %u levels", LG_WALK_CAP);
	if (json_is_array(j)) {
		for (size_t i = 0; i < json_array_size(j); i++)
			PW_TRY(count_nodes(c, json_array_get(j, i), level + 1, count));
		return PW_OK;
	}
	json_object_foreach ((json_t *)j, key, m)
		PW_TRY(count_nodes(c, m, level + 1, count));
	return PW_OK;
}

/*
 * Add to *size the nodes of v written out as JSON (1 for a scalar; parts of
 * the inputs are counted here), failing once *size passes the steps left.
 */
static pw_status lv_size_add(struct lg_ctx *c, const lval *v, size_t *size)
{
	if (v->kind == LV_JSON && v->size == 0 && (json_is_array(v->j) || json_is_object(v->j)))
		return count_nodes(c, v->j, 0, size);
	*size = size_add(*size, v->kind == LV_JSON && v->size > 0 ? v->size : 1);
	if (*size > c->max_steps - c->steps)
		return fail(c, PW_ERR_LIMIT, "step limit %lu reached", c->max_steps);
	return PW_OK;
}

/*
 * Wrap j, an array or object just built with nest and size, after checking
 * the nesting bound and charging size steps. Takes j over, even on failure.
 */
static pw_status lv_built(struct lg_ctx *c, json_t *j, unsigned nest, size_t size, lval *out)
{
	pw_status st = check_nest(c, nest);
	if (st == PW_OK)
		st = charge(c, size);
	if (st != PW_OK) {
		json_decref(j);
		return st;
	}
	*out = lv_take(j, nest);
	out->size = size;
	return PW_OK;
}

/* ---- conversions: ToString, ToNumber, parseFloat ------------------------ */

/* JavaScript's Number::toString. */
static void num_to_js(double d, char out[PW_JCS_NUMBER_MAX])
{
	if (isnan(d))
		snprintf(out, PW_JCS_NUMBER_MAX, "NaN");
	else if (isinf(d))
		snprintf(out, PW_JCS_NUMBER_MAX, "%s", d < 0 ? "-Infinity" : "Infinity");
	else if (pw_jcs_number(d, out) != PW_OK)
		snprintf(out, PW_JCS_NUMBER_MAX, "%.17g", d);
}

static pw_status json_tostring(struct lg_ctx *c, const json_t *j, struct sbuf *b, unsigned level)
{
	char num[PW_JCS_NUMBER_MAX];

	switch (json_typeof(j)) {
	case JSON_NULL: return sb_cstr(c, b, "null");
	case JSON_TRUE: return sb_cstr(c, b, "true");
	case JSON_FALSE: return sb_cstr(c, b, "false");
	case JSON_INTEGER:
	case JSON_REAL: num_to_js(json_number_value(j), num); return sb_cstr(c, b, num);
	case JSON_STRING: return sb_add(c, b, json_string_value(j), json_string_length(j));
	case JSON_OBJECT: return sb_cstr(c, b, "[object Object]");
	case JSON_ARRAY: {
		/* Array.prototype.join(","): null elements are empty. */
		size_t n = json_array_size(j);
		if (level >= LG_WALK_CAP)
			return fail(c, PW_ERR_LIMIT, "value nested deeper than %u levels",
			            LG_WALK_CAP);
		PW_TRY(charge(c, n));
		for (size_t i = 0; i < n; i++) {
			const json_t *e = json_array_get(j, i);
			if (i > 0)
				PW_TRY(sb_add(c, b, ",", 1));
			if (!json_is_null(e))
				PW_TRY(json_tostring(c, e, b, level + 1));
		}
		return PW_OK;
	}
	default: return PW_OK;
	}
}

/* Append JavaScript's String(v) to b. */
static pw_status js_tostring(struct lg_ctx *c, const lval *v, struct sbuf *b)
{
	char num[PW_JCS_NUMBER_MAX];

	switch (v->kind) {
	case LV_UNDEF: return sb_cstr(c, b, "undefined");
	case LV_NUM: num_to_js(v->num, num); return sb_cstr(c, b, num);
	case LV_JSON: return json_tostring(c, v->j, b, 0);
	default: return PW_OK;
	}
}

static bool is_js_ws3(uint32_t cp)
{
	return cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
	       cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

/* Bytes of the JavaScript white space or line terminator at s[0], or 0. */
static size_t ws_front(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t cp;

	if (n == 0)
		return 0;
	if (u[0] == ' ' || (u[0] >= 0x09 && u[0] <= 0x0D))
		return 1;
	if (n >= 2 && u[0] == 0xC2 && u[1] == 0xA0)
		return 2;
	if (n >= 3 && u[0] >= 0xE1 && u8_decode(u, n, 0, &cp) == 3 && is_js_ws3(cp))
		return 3;
	return 0;
}

/* Bytes of the JavaScript white space or line terminator ending s, or 0. */
static size_t ws_back(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	if (n == 0)
		return 0;
	if (u[n - 1] == ' ' || (u[n - 1] >= 0x09 && u[n - 1] <= 0x0D))
		return 1;
	if (n >= 2 && u[n - 2] == 0xC2 && u[n - 1] == 0xA0)
		return 2;
	if (n >= 3 && ws_front(s + n - 3, 3) == 3)
		return 3;
	return 0;
}

static size_t count_digits(const char *s, size_t n, size_t i)
{
	size_t k = 0;
	while (i + k < n && s[i + k] >= '0' && s[i + k] <= '9')
		k++;
	return k;
}

/*
 * Length of the longest prefix of s that is an ECMAScript
 * StrDecimalLiteral (sign, digits, fraction, exponent, or Infinity); 0 if
 * there is none.
 */
static size_t scan_decimal(const char *s, size_t n)
{
	size_t i = 0;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (n - i >= 8 && memcmp(s + i, "Infinity", 8) == 0)
		return i + 8;
	size_t d0 = count_digits(s, n, i);
	i += d0;
	if (i < n && s[i] == '.') {
		size_t d1 = count_digits(s, n, i + 1);
		if (d0 == 0 && d1 == 0)
			return 0;
		i += 1 + d1;
	} else if (d0 == 0) {
		return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t k = i + 1;
		if (k < n && (s[k] == '+' || s[k] == '-'))
			k++;
		size_t d2 = count_digits(s, n, k);
		if (d2 > 0)
			i = k + d2;
	}
	return i;
}

/*
 * Value of s[0..n), which scan_decimal() accepted whole, or which is
 * "0x" and hex digits. strtod() reads the same grammar (with the C
 * locale's decimal point) and rounds correctly.
 */
static pw_status strtod_n(struct lg_ctx *c, const char *s, size_t n, double *out)
{
	char small[128];
	char *buf = small;

	if (n >= sizeof small) {
		buf = lg_alloc(n + 1);
		if (buf == NULL)
			return nomem(c);
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	*out = strtod(buf, NULL);
	if (buf != small)
		lg_free(buf);
	return PW_OK;
}

static pw_status decimal_value(struct lg_ctx *c, const char *s, size_t n, double *out)
{
	size_t sign = (n > 0 && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
	if (n - sign == 8 && memcmp(s + sign, "Infinity", 8) == 0) {
		*out = s[0] == '-' ? -INFINITY : INFINITY;
		return PW_OK;
	}
	return strtod_n(c, s, n, out);
}

static int radix_digit(char ch, int radix)
{
	int d = -1;
	if (ch >= '0' && ch <= '9')
		d = ch - '0';
	else if (ch >= 'a' && ch <= 'f')
		d = ch - 'a' + 10;
	else if (ch >= 'A' && ch <= 'F')
		d = ch - 'A' + 10;
	return d < radix ? d : -1;
}

/* JavaScript's StringToNumber. */
static pw_status str_to_number(struct lg_ctx *c, const char *s, size_t n, double *out)
{
	size_t k;

	PW_TRY(charge(c, n / LG_BYTES_PER_STEP));
	while ((k = ws_front(s, n)) > 0)
		s += k, n -= k;
	while ((k = ws_back(s, n)) > 0)
		n -= k;
	if (n == 0) {
		*out = 0;
		return PW_OK;
	}
	if (n > 2 && s[0] == '0' && strchr("xXoObB", s[1]) != NULL && s[1] != '\0') {
		int radix = (s[1] == 'x' || s[1] == 'X')   ? 16
		            : (s[1] == 'o' || s[1] == 'O') ? 8
		                                           : 2;
		double v = 0;
		for (size_t i = 2; i < n; i++) {
			int d = radix_digit(s[i], radix);
			if (d < 0) {
				*out = NAN;
				return PW_OK;
			}
			v = v * radix + d;
		}
		if (radix == 16)
			return strtod_n(c, s, n, out); /* correctly rounded */
		*out = v;
		return PW_OK;
	}
	if (scan_decimal(s, n) != n) {
		*out = NAN;
		return PW_OK;
	}
	return decimal_value(c, s, n, out);
}

/* JavaScript's ToNumber(v). */
static pw_status js_tonumber(struct lg_ctx *c, const lval *v, double *out)
{
	switch (lv_type(v)) {
	case JS_UNDEF: *out = NAN; return PW_OK;
	case JS_NULL: *out = 0; return PW_OK;
	case JS_BOOL: *out = json_is_true(v->j) ? 1 : 0; return PW_OK;
	case JS_NUM: *out = lv_numval(v); return PW_OK;
	case JS_STR: {
		size_t n;
		const char *s = lv_str(v, &n);
		return str_to_number(c, s, n, out);
	}
	case JS_ARR: {
		struct sbuf b = SBUF_INIT;
		pw_status st = js_tostring(c, v, &b);
		if (st == PW_OK)
			st = str_to_number(c, b.p != NULL ? b.p : "", b.len, out);
		sb_release(&b);
		return st;
	}
	case JS_OBJ:
	default: *out = NAN; return PW_OK;
	}
}

/* JavaScript's ToIntegerOrInfinity(v). */
static pw_status js_tointeger(struct lg_ctx *c, const lval *v, double *out)
{
	double d;
	PW_TRY(js_tonumber(c, v, &d));
	if (isnan(d))
		d = 0;
	else if (isfinite(d))
		d = trunc(d);
	*out = d == 0 ? 0 : d;
	return PW_OK;
}

/*
 * String(v) as a view: *s and *n point into v when it is a string, else
 * into buf, which receives the conversion (the caller releases buf). The
 * length is charged to the step budget.
 */
static pw_status string_view(struct lg_ctx *c, const lval *v, struct sbuf *buf, const char **s,
                             size_t *n)
{
	if (lv_type(v) == JS_STR) {
		*s = lv_str(v, n);
	} else {
		PW_TRY(js_tostring(c, v, buf));
		*s = buf->p != NULL ? buf->p : "";
		*n = buf->len;
	}
	return charge(c, *n / LG_BYTES_PER_STEP);
}

/* JavaScript's parseFloat(v): the longest decimal prefix of String(v). */
static pw_status js_parsefloat(struct lg_ctx *c, const lval *v, double *out)
{
	struct sbuf b = SBUF_INIT;
	const char *s;
	size_t n, k;
	pw_status st = PW_OK;

	if (lv_type(v) == JS_NUM) {
		*out = lv_numval(v); /* String() and back is exact */
		return PW_OK;
	}
	st = string_view(c, v, &b, &s, &n);
	if (st != PW_OK)
		goto out;
	while ((k = ws_front(s, n)) > 0)
		s += k, n -= k;
	k = scan_decimal(s, n);
	if (k == 0)
		*out = NAN;
	else
		st = decimal_value(c, s, k, out);
out:
	sb_release(&b);
	return st;
}

/* ---- comparison -------------------------------------------------------- */

/* A value reduced to a JavaScript primitive: a string or a number. */
struct prim {
	bool is_str;
	const char *s; /* is_str: borrowed from the lval or from buf */
	size_t n;
	double num;      /* !is_str */
	struct sbuf buf; /* owns the text of a converted array or object */
};

/*
 * ToPrimitive(v) for == and <: arrays and objects become strings,
 * booleans, null and undefined become numbers. Release p->buf after.
 */
static pw_status to_prim(struct lg_ctx *c, const lval *v, struct prim *p)
{
	struct sbuf empty = SBUF_INIT;
	p->buf = empty;
	p->is_str = false;
	p->s = NULL;
	p->n = 0;
	p->num = 0;
	switch (lv_type(v)) {
	case JS_STR:
		p->is_str = true;
		p->s = lv_str(v, &p->n);
		return PW_OK;
	case JS_ARR:
	case JS_OBJ:
		p->is_str = true;
		PW_TRY(js_tostring(c, v, &p->buf));
		p->s = p->buf.p != NULL ? p->buf.p : "";
		p->n = p->buf.len;
		return PW_OK;
	case JS_UNDEF:
	case JS_NULL:
	case JS_BOOL:
	case JS_NUM:
	default: return js_tonumber(c, v, &p->num);
	}
}

static pw_status prim_number(struct lg_ctx *c, const struct prim *p, double *out)
{
	if (!p->is_str) {
		*out = p->num;
		return PW_OK;
	}
	return str_to_number(c, p->s, p->n, out);
}

enum cmp { CMP_LT, CMP_EQ, CMP_GT, CMP_NONE };

/* JavaScript's abstract relational comparison; CMP_NONE when NaN is involved. */
static pw_status js_compare(struct lg_ctx *c, const lval *a, const lval *b, enum cmp *out)
{
	struct prim pa, pb;
	pw_status st;
	double x = 0, y = 0;

	*out = CMP_NONE;
	st = to_prim(c, a, &pa);
	if (st != PW_OK) {
		sb_release(&pa.buf);
		return st;
	}
	st = to_prim(c, b, &pb);
	if (st != PW_OK)
		goto out;
	if (pa.is_str && pb.is_str) {
		st = charge(c, (pa.n < pb.n ? pa.n : pb.n) / LG_BYTES_PER_STEP);
		if (st != PW_OK)
			goto out;
		int r = u16_cmp(pa.s, pa.n, pb.s, pb.n);
		*out = r < 0 ? CMP_LT : r > 0 ? CMP_GT : CMP_EQ;
		goto out;
	}
	st = prim_number(c, &pa, &x);
	if (st == PW_OK)
		st = prim_number(c, &pb, &y);
	if (st == PW_OK && !isnan(x) && !isnan(y))
		*out = x < y ? CMP_LT : x > y ? CMP_GT : CMP_EQ;
out:
	sb_release(&pa.buf);
	sb_release(&pb.buf);
	return st;
}

/* JavaScript's ===: arrays and objects by identity. */
static bool js_strict_eq(const lval *a, const lval *b)
{
	enum js_type t = lv_type(a);
	size_t an, bn;

	if (t != lv_type(b))
		return false;
	switch (t) {
	case JS_UNDEF:
	case JS_NULL: return true;
	case JS_BOOL: return json_is_true(a->j) == json_is_true(b->j);
	case JS_NUM: return lv_numval(a) == lv_numval(b);
	case JS_STR: {
		const char *as = lv_str(a, &an), *bs = lv_str(b, &bn);
		return an == bn && memcmp(as, bs, an) == 0;
	}
	case JS_ARR:
	case JS_OBJ: return a->j == b->j;
	default: return false;
	}
}

/* JavaScript's ==. */
static pw_status js_loose_eq(struct lg_ctx *c, const lval *a, const lval *b, bool *out)
{
	enum js_type ta = lv_type(a), tb = lv_type(b);
	struct prim pa, pb;
	pw_status st;
	double x = 0, y = 0;

	*out = false;
	if (ta == tb) {
		*out = js_strict_eq(a, b);
		return PW_OK;
	}
	bool a_nullish = ta == JS_UNDEF || ta == JS_NULL;
	bool b_nullish = tb == JS_UNDEF || tb == JS_NULL;
	if (a_nullish || b_nullish) {
		*out = a_nullish && b_nullish;
		return PW_OK;
	}
	if ((ta == JS_ARR || ta == JS_OBJ) && (tb == JS_ARR || tb == JS_OBJ))
		return PW_OK; /* two different objects */
	st = to_prim(c, a, &pa);
	if (st != PW_OK) {
		sb_release(&pa.buf);
		return st;
	}
	st = to_prim(c, b, &pb);
	if (st != PW_OK)
		goto out;
	if (pa.is_str && pb.is_str) {
		st = charge(c, pa.n / LG_BYTES_PER_STEP);
		*out = pa.n == pb.n && memcmp(pa.s, pb.s, pa.n) == 0;
		goto out;
	}
	st = prim_number(c, &pa, &x);
	if (st == PW_OK)
		st = prim_number(c, &pb, &y);
	*out = st == PW_OK && x == y;
out:
	sb_release(&pa.buf);
	sb_release(&pb.buf);
	return st;
}

/* ---- operators --------------------------------------------------------- */

enum lg_op {
	OP_VAR,
	OP_MISSING,
	OP_MISSING_SOME,
	OP_IF,
	OP_EQ,
	OP_SEQ,
	OP_NE,
	OP_SNE,
	OP_NOT,
	OP_NOTNOT,
	OP_OR,
	OP_AND,
	OP_GT,
	OP_GE,
	OP_LT,
	OP_LE,
	OP_MAX,
	OP_MIN,
	OP_ADD,
	OP_SUB,
	OP_MUL,
	OP_DIV,
	OP_MOD,
	OP_MAP,
	OP_FILTER,
	OP_REDUCE,
	OP_ALL,
	OP_NONE,
	OP_SOME,
	OP_MERGE,
	OP_IN,
	OP_CAT,
	OP_SUBSTR,
	OP_LOG,
};

static const struct lg_opdef {
	const char *name;
	enum lg_op op;
} lg_ops[] = {
        {"var", OP_VAR},
        {"missing", OP_MISSING},
        {"missing_some", OP_MISSING_SOME},
        {"if", OP_IF},
        {"?:", OP_IF},
        {"==", OP_EQ},
        {"===", OP_SEQ},
        {"!=", OP_NE},
        {"!==", OP_SNE},
        {"!", OP_NOT},
        {"!!", OP_NOTNOT},
        {"or", OP_OR},
        {"and", OP_AND},
        {">", OP_GT},
        {">=", OP_GE},
        {"<", OP_LT},
        {"<=", OP_LE},
        {"max", OP_MAX},
        {"min", OP_MIN},
        {"+", OP_ADD},
        {"-", OP_SUB},
        {"*", OP_MUL},
        {"/", OP_DIV},
        {"%", OP_MOD},
        {"map", OP_MAP},
        {"filter", OP_FILTER},
        {"reduce", OP_REDUCE},
        {"all", OP_ALL},
        {"none", OP_NONE},
        {"some", OP_SOME},
        {"merge", OP_MERGE},
        {"in", OP_IN},
        {"cat", OP_CAT},
        {"substr", OP_SUBSTR},
        {"log", OP_LOG},
};

static const struct lg_opdef *op_find(const char *key, size_t klen)
{
	for (size_t i = 0; i < sizeof lg_ops / sizeof lg_ops[0]; i++) {
		/* the first byte rules out most names before their length is taken */
		if (klen > 0 && lg_ops[i].name[0] == key[0] && strlen(lg_ops[i].name) == klen &&
		    memcmp(lg_ops[i].name, key, klen) == 0)
			return &lg_ops[i];
	}
	return NULL;
}

/* The array operators: argument 0 is evaluated, 1 is applied per element. */
static bool op_is_scoped(enum lg_op op)
{
	return op == OP_MAP || op == OP_FILTER || op == OP_REDUCE || op == OP_ALL ||
	       op == OP_NONE || op == OP_SOME;
}

/* Operator name fit for a one-line message: at most 64 bytes, no controls or quotes. */
static void quote_name(const char *key, size_t klen, char *buf, size_t cap)
{
	const unsigned char *u = (const unsigned char *)key;
	size_t o = 0;

	for (size_t i = 0; i < klen;) {
		uint32_t cp;
		size_t k = u8_decode(u, klen, i, &cp);
		if (i >= 64 || o + k + 4 >= cap) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (cp < 0x20 || cp == 0x7F || cp == '"' || cp == '\\' ||
		    (cp == 0xFFFD && k == 1)) {
			buf[o++] = '?';
		} else {
			memcpy(buf + o, key + i, k);
			o += k;
		}
		i += k;
	}
	buf[o] = '\0';
}

/*
 * The operation under evaluation. A reduce step sees the data object
 * {current, accumulator}; it is kept apart (frame) so that the
 * accumulator keeps its JavaScript value and nesting bound, and is only
 * built as JSON when asked for whole.
 */
struct lg_scope {
	const json_t *data; /* borrowed; json null when there is none; unused in a frame */
	unsigned nest;      /* nesting bound of data */
	bool frame;         /* a reduce step */
	const json_t *cur;  /* frame: borrowed element */
	unsigned cur_nest;
	const lval *acc; /* frame: borrowed accumulator */
};

/* The arguments of an operation: the elements of an array, or one value. */
struct lg_args {
	const json_t *v;
	size_t n;
};

static const json_t *arg_at(const struct lg_args *a, size_t i)
{
	if (i >= a->n)
		return NULL;
	return json_is_array(a->v) ? json_array_get(a->v, i) : a->v;
}

static const lval *val_at(const lval *v, size_t n, size_t i)
{
	return i < n ? &v[i] : &lg_undef_value;
}

static unsigned nest_below(unsigned nest)
{
	return nest > 0 ? nest - 1 : 0;
}

static pw_status eval(struct lg_ctx *c, const json_t *node, const struct lg_scope *sc,
                      unsigned depth, lval *out);

/* ---- var, missing, missing_some ---------------------------------------- */

/* The whole data of the scope, as {"var": ""} sees it. */
static pw_status scope_whole(struct lg_ctx *c, const struct lg_scope *sc, lval *out)
{
	json_t *obj, *acc = NULL;

	if (!sc->frame) {
		*out = lv_ref(sc->data, sc->nest);
		return PW_OK;
	}
	unsigned nest = 1 + (sc->cur_nest > sc->acc->nest ? sc->cur_nest : sc->acc->nest);
	lval cur = lv_view(sc->cur, sc->cur_nest);
	size_t size = 1;
	PW_TRY(lv_size_add(c, &cur, &size));
	if (sc->acc->kind != LV_UNDEF)
		PW_TRY(lv_size_add(c, sc->acc, &size));
	obj = json_object();
	if (obj == NULL)
		return nomem(c);
	if (json_object_set(obj, "current", (json_t *)sc->cur) != 0)
		goto oom;
	if (sc->acc->kind != LV_UNDEF) {
		if (lv_to_json(c, sc->acc, &acc) != PW_OK)
			goto oom;
		if (json_object_set_new(obj, "accumulator", acc) != 0)
			goto oom;
	}
	return lv_built(c, obj, nest, size, out);
oom:
	json_decref(obj);
	return nomem(c);
}

/* True if seg is a canonical array index ("0", "17"; not "01" or "1.0"). */
static bool array_index(const char *seg, size_t n, size_t *idx)
{
	size_t v = 0;
	if (n == 0 || n > 10 || (n > 1 && seg[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (seg[i] < '0' || seg[i] > '9')
			return false;
		v = v * 10 + (size_t)(seg[i] - '0');
	}
	if (v >= 4294967295u)
		return false;
	*idx = v;
	return true;
}

/*
 * JavaScript's cur[seg] for a JSON value: own members of objects, array
 * elements and length, string characters (UTF-16 code units) and length.
 * *found is false where JavaScript gives undefined.
 */
static pw_status prop_get(struct lg_ctx *c, const lval *cur, const char *seg, size_t n, lval *out,
                          bool *found)
{
	size_t idx, len;
	const char *s;

	*found = false;
	switch (lv_type(cur)) {
	case JS_OBJ: {
		const json_t *m = json_object_getn(cur->j, seg, n);
		if (m != NULL) {
			*out = lv_ref(m, nest_below(cur->nest));
			*found = true;
		}
		return PW_OK;
	}
	case JS_ARR:
		if (n == 6 && memcmp(seg, "length", 6) == 0) {
			*out = lv_num((double)json_array_size(cur->j));
			*found = true;
		} else if (array_index(seg, n, &idx) && idx < json_array_size(cur->j)) {
			*out = lv_ref(json_array_get(cur->j, idx), nest_below(cur->nest));
			*found = true;
		}
		return PW_OK;
	case JS_STR: {
		s = lv_str(cur, &len);
		PW_TRY(charge(c, len / LG_BYTES_PER_STEP));
		size_t units = u16_len(s, len);
		if (n == 6 && memcmp(seg, "length", 6) == 0) {
			*out = lv_num((double)units);
			*found = true;
		} else if (array_index(seg, n, &idx) && idx < units) {
			struct sbuf b = SBUF_INIT;
			pw_status st = u16_slice(c, s, len, idx, idx + 1, &b);
			if (st == PW_OK)
				st = lv_string(c, b.p, b.len, out);
			sb_release(&b);
			PW_TRY(st);
			*found = true;
		}
		return PW_OK;
	}
	case JS_UNDEF:
	case JS_NULL:
	case JS_BOOL:
	case JS_NUM:
	default: return PW_OK;
	}
}

/* The first step into a reduce frame: current or accumulator. */
static void frame_get(const struct lg_scope *sc, const char *seg, size_t n, lval *out, bool *found)
{
	*found = false;
	if (n == 7 && memcmp(seg, "current", 7) == 0) {
		*out = lv_ref(sc->cur, sc->cur_nest);
		*found = true;
	} else if (n == 11 && memcmp(seg, "accumulator", 11) == 0 && sc->acc->kind != LV_UNDEF) {
		*out = lv_copy(sc->acc);
		*found = true;
	}
}

/*
 * {"var": [a, b]}: the value at dotted path String(a) in the data, b (or
 * null) when there is none; the whole data when a is undefined, null or "".
 */
static pw_status var_lookup(struct lg_ctx *c, const struct lg_scope *sc, const lval *a,
                            const lval *b, lval *out)
{
	enum js_type ta = lv_type(a);
	struct sbuf path = SBUF_INIT;
	lval cur = lv_undef(), next = lv_undef();
	bool found = false;
	pw_status st;

	if (ta == JS_UNDEF || ta == JS_NULL || (ta == JS_STR && json_string_length(a->j) == 0))
		return scope_whole(c, sc, out);
	/* a path that is a string already is read in place, charged as sb_add() would */
	const char *p;
	size_t plen;
	if (a->kind == LV_JSON && json_is_string(a->j)) {
		p = json_string_value(a->j);
		plen = json_string_length(a->j);
		if (plen > LG_STR_CAP)
			return fail(c, PW_ERR_LIMIT, "string longer than %zu bytes", LG_STR_CAP);
		st = charge(c, plen / LG_BYTES_PER_STEP);
	} else {
		st = js_tostring(c, a, &path);
		p = path.p != NULL ? path.p : "";
		plen = path.len;
	}
	if (st != PW_OK)
		goto out;
	if (!sc->frame)
		cur = lv_ref(sc->data, sc->nest);
	for (size_t pos = 0;;) {
		const char *seg = p + pos;
		const char *dot = memchr(seg, '.', plen - pos);
		size_t n = dot != NULL ? (size_t)(dot - seg) : plen - pos;
		st = charge(c, 1);
		if (st != PW_OK)
			goto out;
		if (pos == 0 && sc->frame) {
			frame_get(sc, seg, n, &next, &found);
		} else {
			enum js_type t = lv_type(&cur);
			found = false;
			if (t != JS_UNDEF && t != JS_NULL) {
				st = prop_get(c, &cur, seg, n, &next, &found);
				if (st != PW_OK)
					goto out;
			}
		}
		lv_release(&cur);
		if (!found)
			break;
		cur = lv_move(&next);
		if (dot == NULL)
			break;
		pos += n + 1;
	}
	if (found)
		*out = lv_move(&cur);
	else
		*out = b->kind == LV_UNDEF ? lv_null() : lv_copy(b);
out:
	lv_release(&cur);
	sb_release(&path);
	return st;
}

/* Views (never released) of the elements of array value arr. */
static pw_status element_views(struct lg_ctx *c, const lval *arr, lval **out, size_t *n)
{
	size_t len = json_array_size(arr->j);
	*out = NULL;
	*n = len;
	if (len == 0)
		return PW_OK;
	if (len > SIZE_MAX / sizeof(lval))
		return nomem(c);
	lval *v = lg_alloc(len * sizeof *v);
	if (v == NULL)
		return nomem(c);
	for (size_t i = 0; i < len; i++)
		v[i] = lv_view(json_array_get(arr->j, i), nest_below(arr->nest));
	*out = v;
	return PW_OK;
}

/*
 * The keys among keys[0..n) whose value in the data is null or "". A key
 * that is an array is read as the arguments of var: [path, default].
 */
static pw_status missing_keys(struct lg_ctx *c, const struct lg_scope *sc, const lval *keys,
                              size_t n, lval *out)
{
	json_t *res = json_array();
	unsigned nest = 1;
	size_t size = 1;
	pw_status st = PW_OK;

	if (res == NULL)
		return nomem(c);
	for (size_t i = 0; i < n; i++) {
		const lval *k = &keys[i];
		lval a = lv_undef(), b = lv_undef(), val = lv_undef();
		if (lv_type(k) == JS_ARR) {
			size_t len = json_array_size(k->j);
			if (len > 0)
				a = lv_view(json_array_get(k->j, 0), nest_below(k->nest));
			if (len > 1)
				b = lv_view(json_array_get(k->j, 1), nest_below(k->nest));
		} else {
			a = *k; /* a view: not released */
		}
		st = var_lookup(c, sc, &a, &b, &val);
		if (st != PW_OK)
			goto fail;
		enum js_type t = lv_type(&val);
		bool miss = t == JS_NULL || (t == JS_STR && json_string_length(val.j) == 0);
		lv_release(&val);
		if (miss) {
			st = lv_size_add(c, k, &size);
			if (st == PW_OK)
				st = append_lv(c, res, k);
			if (st != PW_OK)
				goto fail;
			if (k->nest + 1 > nest)
				nest = k->nest + 1;
		}
	}
	return lv_built(c, res, nest, size, out);
fail:
	json_decref(res);
	return st;
}

static pw_status op_var(struct lg_ctx *c, const struct lg_scope *sc, lval *v, size_t n, lval *out)
{
	return var_lookup(c, sc, val_at(v, n, 0), val_at(v, n, 1), out);
}

static pw_status op_missing(struct lg_ctx *c, const struct lg_scope *sc, lval *v, size_t n,
                            lval *out)
{
	lval *keys = NULL;
	size_t nkeys = 0;
	pw_status st;

	if (n == 0 || lv_type(&v[0]) != JS_ARR)
		return missing_keys(c, sc, v, n, out);
	PW_TRY(element_views(c, &v[0], &keys, &nkeys));
	st = missing_keys(c, sc, keys, nkeys, out);
	lg_free(keys);
	return st;
}

static pw_status op_missing_some(struct lg_ctx *c, const struct lg_scope *sc, lval *v, size_t n,
                                 lval *out)
{
	const lval *need = val_at(v, n, 0), *opts = val_at(v, n, 1);
	const lval *list = opts;
	lval *views = NULL, *keys = NULL, miss = lv_undef();
	size_t nlist = 1, nkeys = 0;
	double want, len;
	pw_status st = PW_OK;

	switch (lv_type(opts)) {
	case JS_ARR: len = (double)json_array_size(opts->j); break;
	case JS_STR:
		len = (double)u16_len(json_string_value(opts->j), json_string_length(opts->j));
		break;
	case JS_UNDEF:
	case JS_NULL: return fail(c, PW_ERR_INVALID, "missing_some needs an array of keys");
	case JS_BOOL:
	case JS_NUM:
	case JS_OBJ:
	default: len = NAN; break;
	}
	/* {"missing": options}: the elements of options are missing's arguments */
	if (lv_type(opts) == JS_ARR) {
		PW_TRY(element_views(c, opts, &views, &nlist));
		list = views;
	}
	if (nlist > 0 && lv_type(&list[0]) == JS_ARR) {
		st = element_views(c, &list[0], &keys, &nkeys);
		if (st == PW_OK)
			st = missing_keys(c, sc, keys, nkeys, &miss);
	} else {
		st = missing_keys(c, sc, list, nlist, &miss);
	}
	if (st == PW_OK)
		st = js_tonumber(c, need, &want);
	if (st != PW_OK)
		goto out;
	if (len - (double)json_array_size(miss.j) >= want)
		st = lv_empty_array(c, out);
	else
		*out = lv_move(&miss);
out:
	lv_release(&miss);
	lg_free(keys);
	lg_free(views);
	return st;
}

/* ---- logic and comparison ---------------------------------------------- */

static pw_status op_if(struct lg_ctx *c, const struct lg_args *a, const struct lg_scope *sc,
                       unsigned depth, lval *out)
{
	size_t i;
	for (i = 0; i + 1 < a->n; i += 2) {
		lval cond;
		PW_TRY(eval(c, arg_at(a, i), sc, depth + 1, &cond));
		bool t = lv_truthy(&cond);
		lv_release(&cond);
		if (t)
			return eval(c, arg_at(a, i + 1), sc, depth + 1, out);
	}
	if (a->n == i + 1)
		return eval(c, arg_at(a, i), sc, depth + 1, out);
	*out = lv_null();
	return PW_OK;
}

/* and: the first falsy value or the last; or: the first truthy or the last. */
static pw_status op_andor(struct lg_ctx *c, bool is_and, const struct lg_args *a,
                          const struct lg_scope *sc, unsigned depth, lval *out)
{
	lval cur = lv_undef();
	for (size_t i = 0; i < a->n; i++) {
		lv_release(&cur);
		PW_TRY(eval(c, arg_at(a, i), sc, depth + 1, &cur));
		if (lv_truthy(&cur) != is_and)
			break;
	}
	*out = cur;
	return PW_OK;
}

static pw_status op_compare(struct lg_ctx *c, enum lg_op op, lval *v, size_t n, lval *out)
{
	const lval *a = val_at(v, n, 0), *b = val_at(v, n, 1), *x = val_at(v, n, 2);
	enum cmp r, r2;
	bool res = false;

	switch (op) {
	case OP_EQ:
	case OP_NE:
		PW_TRY(js_loose_eq(c, a, b, &res));
		res = op == OP_EQ ? res : !res;
		break;
	case OP_SEQ: res = js_strict_eq(a, b); break;
	case OP_SNE: res = !js_strict_eq(a, b); break;
	case OP_GT:
		PW_TRY(js_compare(c, a, b, &r));
		res = r == CMP_GT;
		break;
	case OP_GE:
		PW_TRY(js_compare(c, a, b, &r));
		res = r == CMP_GT || r == CMP_EQ;
		break;
	case OP_LT:
	case OP_LE:
		/* a < b, or a < b < x when a third argument is given */
		PW_TRY(js_compare(c, a, b, &r));
		res = r == CMP_LT || (op == OP_LE && r == CMP_EQ);
		if (res && x->kind != LV_UNDEF) {
			PW_TRY(js_compare(c, b, x, &r2));
			res = r2 == CMP_LT || (op == OP_LE && r2 == CMP_EQ);
		}
		break;
	default: return fail(c, PW_ERR_INTERNAL, "comparison operator expected");
	}
	*out = lv_bool(res);
	return PW_OK;
}

/* ---- arithmetic -------------------------------------------------------- */

/* Math.max / Math.min. */
static pw_status op_maxmin(struct lg_ctx *c, bool is_max, lval *v, size_t n, lval *out)
{
	double r = is_max ? -INFINITY : INFINITY;
	for (size_t i = 0; i < n; i++) {
		double x;
		PW_TRY(js_tonumber(c, &v[i], &x));
		if (isnan(x) || isnan(r)) {
			r = NAN;
			continue;
		}
		if (is_max ? (x > r || (x == 0 && r == 0 && !signbit(x)))
		           : (x < r || (x == 0 && r == 0 && signbit(x))))
			r = x;
	}
	*out = lv_num(r);
	return PW_OK;
}

/* IEEE division with the zero cases spelled out. */
static double js_div(double x, double y)
{
	if (y == 0) {
		if (x == 0 || isnan(x))
			return NAN;
		return (signbit(x) != signbit(y)) ? -INFINITY : INFINITY;
	}
	return x / y;
}

static pw_status op_arith(struct lg_ctx *c, enum lg_op op, lval *v, size_t n, lval *out)
{
	double x = 0, y = 0;

	switch (op) {
	case OP_ADD:
		/* reduce((a, b) => parseFloat(a) + parseFloat(b), 0) */
		for (size_t i = 0; i < n; i++) {
			PW_TRY(js_parsefloat(c, &v[i], &y));
			x += y;
		}
		break;
	case OP_MUL:
		/* reduce((a, b) => parseFloat(a) * parseFloat(b)), no initial value */
		if (n == 0)
			return fail(c, PW_ERR_INVALID,
			            "operator \"*\" needs at least one argument");
		if (n == 1) {
			*out = lv_move(&v[0]);
			return PW_OK;
		}
		PW_TRY(js_parsefloat(c, &v[0], &x));
		for (size_t i = 1; i < n; i++) {
			PW_TRY(js_parsefloat(c, &v[i], &y));
			x *= y;
		}
		break;
	case OP_SUB:
		PW_TRY(js_tonumber(c, val_at(v, n, 0), &x));
		if (val_at(v, n, 1)->kind == LV_UNDEF) {
			x = -x;
			break;
		}
		PW_TRY(js_tonumber(c, val_at(v, n, 1), &y));
		x -= y;
		break;
	case OP_DIV:
		PW_TRY(js_tonumber(c, val_at(v, n, 0), &x));
		PW_TRY(js_tonumber(c, val_at(v, n, 1), &y));
		x = js_div(x, y);
		break;
	case OP_MOD:
		PW_TRY(js_tonumber(c, val_at(v, n, 0), &x));
		PW_TRY(js_tonumber(c, val_at(v, n, 1), &y));
		x = fmod(x, y); /* C's fmod is JavaScript's %, NaN for y == 0 */
		break;
	default: return fail(c, PW_ERR_INTERNAL, "arithmetic operator expected");
	}
	*out = lv_num(x);
	return PW_OK;
}

/* ---- arrays ------------------------------------------------------------ */

/* [].concat(a0, a1, ...): arrays are spread one level, other values appended. */
static pw_status op_merge(struct lg_ctx *c, lval *v, size_t n, lval *out)
{
	json_t *res = json_array();
	unsigned nest = 1;
	size_t size = 1;
	pw_status st = PW_OK;

	if (res == NULL)
		return nomem(c);
	for (size_t i = 0; i < n; i++) {
		/* counted first: a size past the steps left stops before the copy */
		st = lv_size_add(c, &v[i], &size);
		if (st != PW_OK)
			goto fail;
		if (lv_type(&v[i]) == JS_ARR) {
			if (json_array_extend(res, v[i].j) != 0) {
				st = nomem(c);
				goto fail;
			}
			size--; /* its elements, not the array itself */
			if (v[i].nest > nest)
				nest = v[i].nest;
		} else {
			st = append_lv(c, res, &v[i]);
			if (st != PW_OK)
				goto fail;
			if (v[i].nest + 1 > nest)
				nest = v[i].nest + 1;
		}
	}
	return lv_built(c, res, nest, size, out);
fail:
	json_decref(res);
	return st;
}

/* b.indexOf(a) !== -1 for a string or an array b; false for anything else. */
static pw_status op_in(struct lg_ctx *c, lval *v, size_t n, lval *out)
{
	const lval *a = val_at(v, n, 0), *b = val_at(v, n, 1);
	bool res = false;

	switch (lv_type(b)) {
	case JS_STR: {
		struct sbuf needle = SBUF_INIT;
		size_t hn;
		const char *hay = lv_str(b, &hn);
		if (hn == 0)
			break; /* !b */
		pw_status st = js_tostring(c, a, &needle);
		if (st == PW_OK)
			st = charge(c, hn / LG_BYTES_PER_STEP);
		if (st == PW_OK)
			res = needle.len == 0 || memmem(hay, hn, needle.p, needle.len) != NULL;
		sb_release(&needle);
		PW_TRY(st);
		break;
	}
	case JS_ARR: {
		size_t len = json_array_size(b->j);
		PW_TRY(charge(c, len));
		for (size_t i = 0; i < len && !res; i++) {
			lval e = lv_view(json_array_get(b->j, i), 0);
			res = js_strict_eq(a, &e);
		}
		break;
	}
	case JS_UNDEF:
	case JS_NULL:
	case JS_BOOL:
	case JS_NUM:
	case JS_OBJ:
	default: break;
	}
	*out = lv_bool(res);
	return PW_OK;
}

/* Evaluate argument 0 of an array operator, the array to walk. */
static pw_status scoped_input(struct lg_ctx *c, const struct lg_args *a, const struct lg_scope *sc,
                              unsigned depth, lval *arr, bool *is_arr)
{
	PW_TRY(eval(c, arg_at(a, 0), sc, depth + 1, arr));
	*is_arr = lv_type(arr) == JS_ARR;
	return PW_OK;
}

static struct lg_scope element_scope(const lval *arr, size_t i)
{
	struct lg_scope s = {
	        json_array_get(arr->j, i), nest_below(arr->nest), false, NULL, 0, NULL};
	return s;
}

static pw_status op_map_filter(struct lg_ctx *c, bool is_map, const struct lg_args *a,
                               const struct lg_scope *sc, unsigned depth, lval *out)
{
	const json_t *logic = arg_at(a, 1);
	lval arr = lv_undef(), r = lv_undef();
	json_t *res = NULL;
	unsigned nest = is_map ? 0 : 1;
	size_t size = 1;
	bool is_arr;
	pw_status st;

	PW_TRY(scoped_input(c, a, sc, depth, &arr, &is_arr));
	res = json_array();
	if (res == NULL) {
		st = nomem(c);
		goto out;
	}
	size_t len = is_arr ? json_array_size(arr.j) : 0;
	for (size_t i = 0; i < len; i++) {
		struct lg_scope es = element_scope(&arr, i);
		st = eval(c, logic, &es, depth + 1, &r);
		if (st != PW_OK)
			goto out;
		if (is_map) {
			st = lv_size_add(c, &r, &size);
			if (st == PW_OK)
				st = append_lv(c, res, &r);
			if (st != PW_OK)
				goto out;
			if (r.nest > nest)
				nest = r.nest;
		} else if (lv_truthy(&r)) {
			lval e = lv_view(es.data, es.nest);
			st = lv_size_add(c, &e, &size);
			if (st != PW_OK)
				goto out;
			if (json_array_append(res, (json_t *)es.data) != 0) {
				st = nomem(c);
				goto out;
			}
		}
		lv_release(&r);
	}
	/* map: one level above its results; filter: no deeper than its input */
	nest = is_map ? nest + 1 : (arr.nest > 1 ? arr.nest : 1);
	st = lv_built(c, res, nest, size, out);
	res = NULL;
out:
	lv_release(&r);
	json_decref(res);
	lv_release(&arr);
	return st;
}

/*
 * reduce: logic (argument 1) is applied to {current, accumulator} for each
 * element, starting from argument 2 (null when absent), which is evaluated
 * in the outer scope.
 */
static pw_status op_reduce(struct lg_ctx *c, const struct lg_args *a, const struct lg_scope *sc,
                           unsigned depth, lval *out)
{
	const json_t *logic = arg_at(a, 1), *initial = arg_at(a, 2);
	lval arr = lv_undef(), acc = lv_undef(), next = lv_undef();
	bool is_arr;
	pw_status st = PW_OK;

	PW_TRY(scoped_input(c, a, sc, depth, &arr, &is_arr));
	if (initial != NULL) {
		st = eval(c, initial, sc, depth + 1, &acc);
		if (st != PW_OK)
			goto out;
	} else {
		acc = lv_null();
	}
	size_t len = is_arr ? json_array_size(arr.j) : 0;
	for (size_t i = 0; i < len; i++) {
		struct lg_scope fs = {NULL, 0, true, json_array_get(arr.j, i), nest_below(arr.nest),
		                      &acc};
		st = eval(c, logic, &fs, depth + 1, &next);
		if (st != PW_OK)
			goto out;
		lv_release(&acc);
		acc = lv_move(&next);
	}
	*out = lv_move(&acc);
out:
	lv_release(&acc);
	lv_release(&arr);
	return st;
}

/* all, none, some. All of nothing is false; none of nothing is true. */
static pw_status op_quantify(struct lg_ctx *c, enum lg_op op, const struct lg_args *a,
                             const struct lg_scope *sc, unsigned depth, lval *out)
{
	const json_t *logic = arg_at(a, 1);
	lval arr = lv_undef(), r;
	bool is_arr, res = op == OP_NONE;
	pw_status st = PW_OK;

	PW_TRY(scoped_input(c, a, sc, depth, &arr, &is_arr));
	size_t len = is_arr ? json_array_size(arr.j) : 0;
	if (op == OP_ALL)
		res = len > 0;
	for (size_t i = 0; i < len; i++) {
		struct lg_scope es = element_scope(&arr, i);
		st = eval(c, logic, &es, depth + 1, &r);
		if (st != PW_OK)
			goto out;
		bool t = lv_truthy(&r);
		lv_release(&r);
		if (op == OP_ALL && !t) {
			res = false;
			break;
		}
		if (op != OP_ALL && t) {
			res = op == OP_SOME;
			break;
		}
	}
	*out = lv_bool(res);
out:
	lv_release(&arr);
	return st;
}

/* ---- strings ----------------------------------------------------------- */

/* Array.prototype.join.call(arguments, ""): null and undefined are empty. */
static pw_status op_cat(struct lg_ctx *c, lval *v, size_t n, lval *out)
{
	struct sbuf b = SBUF_INIT;
	pw_status st = PW_OK;

	for (size_t i = 0; i < n && st == PW_OK; i++) {
		enum js_type t = lv_type(&v[i]);
		if (t != JS_UNDEF && t != JS_NULL)
			st = js_tostring(c, &v[i], &b);
	}
	if (st == PW_OK)
		st = lv_string(c, b.p, b.len, out);
	sb_release(&b);
	return st;
}

/*
 * String.prototype.substr(start, length) on a string of size code units:
 * the range [*from, *to). len is NULL for an undefined length.
 */
static void substr_range(double size, double start, const double *len, size_t *from, size_t *to)
{
	double s = start, e;
	if (s == -INFINITY)
		s = 0;
	else if (s < 0)
		s = fmax(size + s, 0);
	else
		s = fmin(s, size);
	e = fmin(s + (len != NULL ? *len : size), size);
	*from = (size_t)s;
	*to = e > s ? (size_t)e : *from;
}

/*
 * substr(source, start, end): String(source).substr(start, end), except
 * that a negative end drops that many code units from the end (PHP-like).
 */
static pw_status op_substr(struct lg_ctx *c, lval *v, size_t n, lval *out)
{
	const lval *src = val_at(v, n, 0), *start = val_at(v, n, 1), *end = val_at(v, n, 2);
	struct sbuf text = SBUF_INIT, res = SBUF_INIT, tmp = SBUF_INIT;
	const char *s;
	size_t sn, from, to;
	double size, istart, ilen;
	enum cmp neg;
	pw_status st;

	st = string_view(c, src, &text, &s, &sn);
	if (st != PW_OK)
		goto out;
	size = (double)u16_len(s, sn);
	st = js_tointeger(c, start, &istart);
	if (st != PW_OK)
		goto out;
	lval zero = lv_num(0);
	st = js_compare(c, end, &zero, &neg);
	if (st != PW_OK)
		goto out;
	if (neg == CMP_LT) {
		/* temp = source.substr(start); temp.substr(0, temp.length + end) */
		substr_range(size, istart, NULL, &from, &to);
		double tlen = (double)(to - from);
		if (lv_type(end) == JS_NUM) {
			ilen = tlen + lv_numval(end);
		} else {
			/* number + string concatenates, as JavaScript's + does */
			char num[PW_JCS_NUMBER_MAX];
			num_to_js(tlen, num);
			st = sb_cstr(c, &tmp, num);
			if (st == PW_OK)
				st = js_tostring(c, end, &tmp);
			if (st == PW_OK)
				st = str_to_number(c, tmp.p, tmp.len, &ilen);
			if (st != PW_OK)
				goto out;
		}
		ilen = isnan(ilen) ? 0 : trunc(ilen);
		size_t sub_from, sub_to;
		substr_range(tlen, 0, &ilen, &sub_from, &sub_to);
		to = from + sub_to;
	} else {
		if (end->kind == LV_UNDEF) {
			substr_range(size, istart, NULL, &from, &to);
		} else {
			st = js_tointeger(c, end, &ilen);
			if (st != PW_OK)
				goto out;
			substr_range(size, istart, &ilen, &from, &to);
		}
	}
	st = u16_slice(c, s, sn, from, to, &res);
	if (st == PW_OK)
		st = lv_string(c, res.p, res.len, out);
out:
	sb_release(&tmp);
	sb_release(&res);
	sb_release(&text);
	return st;
}

/* ---- evaluation -------------------------------------------------------- */

static pw_status apply_eager(struct lg_ctx *c, enum lg_op op, const struct lg_scope *sc, lval *v,
                             size_t n, lval *out)
{
	switch (op) {
	case OP_VAR: return op_var(c, sc, v, n, out);
	case OP_MISSING: return op_missing(c, sc, v, n, out);
	case OP_MISSING_SOME: return op_missing_some(c, sc, v, n, out);
	case OP_EQ:
	case OP_SEQ:
	case OP_NE:
	case OP_SNE:
	case OP_GT:
	case OP_GE:
	case OP_LT:
	case OP_LE: return op_compare(c, op, v, n, out);
	case OP_NOT:
	case OP_NOTNOT: {
		bool t = lv_truthy(val_at(v, n, 0));
		*out = lv_bool(op == OP_NOT ? !t : t);
		return PW_OK;
	}
	case OP_MAX:
	case OP_MIN: return op_maxmin(c, op == OP_MAX, v, n, out);
	case OP_ADD:
	case OP_SUB:
	case OP_MUL:
	case OP_DIV:
	case OP_MOD: return op_arith(c, op, v, n, out);
	case OP_MERGE: return op_merge(c, v, n, out);
	case OP_IN: return op_in(c, v, n, out);
	case OP_CAT: return op_cat(c, v, n, out);
	case OP_SUBSTR: return op_substr(c, v, n, out);
	case OP_LOG:
		/* console.log() is left out: evaluation has no side effects */
		*out = n > 0 ? lv_move(&v[0]) : lv_undef();
		return PW_OK;
	case OP_IF:
	case OP_OR:
	case OP_AND:
	case OP_MAP:
	case OP_FILTER:
	case OP_REDUCE:
	case OP_ALL:
	case OP_NONE:
	case OP_SOME:
	default: return fail(c, PW_ERR_INTERNAL, "operator with lazy arguments in eager path");
	}
}

/* Evaluate every argument, then apply the operator to the values. */
static pw_status eval_eager(struct lg_ctx *c, enum lg_op op, const struct lg_args *a,
                            const struct lg_scope *sc, unsigned depth, lval *out)
{
	lval small[LG_SMALL_ARGS];
	lval *v = small;
	size_t done = 0;
	pw_status st = PW_OK;

	if (a->n > LG_SMALL_ARGS) {
		if (a->n > SIZE_MAX / sizeof(lval))
			return nomem(c);
		v = lg_alloc(a->n * sizeof *v);
		if (v == NULL)
			return nomem(c);
	}
	for (; done < a->n; done++) {
		st = eval(c, arg_at(a, done), sc, depth + 1, &v[done]);
		if (st != PW_OK)
			goto out;
	}
	st = apply_eager(c, op, sc, v, a->n, out);
out:
	for (size_t i = 0; i < done; i++)
		lv_release(&v[i]);
	if (v != small)
		lg_free(v);
	return st;
}

/* The one member of an operation object. */
static void op_member(const json_t *node, const char **key, size_t *klen, const json_t **val)
{
	void *it = json_object_iter((json_t *)node);
	*key = json_object_iter_key(it);
	*klen = json_object_iter_key_len(it);
	*val = json_object_iter_value(it);
}

static pw_status unknown_op(struct lg_ctx *c, const char *key, size_t klen)
{
	char name[80];
	quote_name(key, klen, name, sizeof name);
	return fail(c, PW_ERR_INVALID, "unknown operator \"%s\"", name);
}

static pw_status eval_op(struct lg_ctx *c, const json_t *node, const struct lg_scope *sc,
                         unsigned depth, lval *out)
{
	const char *key;
	size_t klen;
	const json_t *val;

	op_member(node, &key, &klen, &val);
	const struct lg_opdef *def = op_find(key, klen);
	if (def == NULL)
		return unknown_op(c, key, klen);
	struct lg_args a = {val, json_is_array(val) ? json_array_size(val) : 1};
	switch (def->op) {
	case OP_IF: return op_if(c, &a, sc, depth, out);
	case OP_AND: return op_andor(c, true, &a, sc, depth, out);
	case OP_OR: return op_andor(c, false, &a, sc, depth, out);
	case OP_MAP: return op_map_filter(c, true, &a, sc, depth, out);
	case OP_FILTER: return op_map_filter(c, false, &a, sc, depth, out);
	case OP_REDUCE: return op_reduce(c, &a, sc, depth, out);
	case OP_ALL:
	case OP_NONE:
	case OP_SOME: return op_quantify(c, def->op, &a, sc, depth, out);
	default: return eval_eager(c, def->op, &a, sc, depth, out);
	}
}

/* An array in a rule: a new array of its evaluated elements. */
static pw_status eval_array(struct lg_ctx *c, const json_t *node, const struct lg_scope *sc,
                            unsigned depth, lval *out)
{
	json_t *res = json_array();
	unsigned nest = 0;
	size_t size = 1;
	pw_status st = PW_OK;

	if (res == NULL)
		return nomem(c);
	for (size_t i = 0; i < json_array_size(node); i++) {
		lval r;
		st = eval(c, json_array_get(node, i), sc, depth + 1, &r);
		if (st != PW_OK)
			goto fail;
		st = lv_size_add(c, &r, &size);
		if (st == PW_OK)
			st = append_lv(c, res, &r);
		if (r.nest > nest)
			nest = r.nest;
		lv_release(&r);
		if (st != PW_OK)
			goto fail;
	}
	return lv_built(c, res, nest + 1, size, out);
fail:
	json_decref(res);
	return st;
}

/*
 * Evaluate node (NULL: a missing argument, undefined) at the given depth.
 * On success *out is owned by the caller; on failure it is undefined.
 */
static pw_status eval(struct lg_ctx *c, const json_t *node, const struct lg_scope *sc,
                      unsigned depth, lval *out)
{
	*out = lv_undef();
	if (node == NULL)
		return PW_OK;
	PW_TRY(charge(c, 1));
	if (json_is_array(node)) {
		PW_TRY(check_depth(c, depth));
		return eval_array(c, node, sc, depth, out);
	}
	if (json_is_object(node) && json_object_size(node) == 1) {
		PW_TRY(check_depth(c, depth));
		return eval_op(c, node, sc, depth, out);
	}
	*out = lv_ref(node, 0); /* a literal: scalars, and objects without exactly one key */
	return PW_OK;
}

static void ctx_init(struct lg_ctx *c, const pw_logic_limits *lim, char *err, size_t errlen)
{
	c->max_depth = lim != NULL && lim->max_depth > 0 ? lim->max_depth : LG_DEFAULT_DEPTH;
	if (c->max_depth > LG_DEPTH_CAP)
		c->max_depth = LG_DEPTH_CAP;
	c->max_steps = lim != NULL && lim->max_steps > 0 ? lim->max_steps : LG_DEFAULT_STEPS;
	c->steps = 0;
	c->err = err;
	c->errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
}

pw_status pw_logic_eval(const json_t *rule, const json_t *data, const pw_logic_limits *lim,
                        json_t **out, char *err, size_t errlen)
{
	struct lg_ctx c;
	lval r = lv_undef();
	json_t *j = NULL;

	ctx_init(&c, lim, err, errlen);
	if (out == NULL)
		return fail(&c, PW_ERR_INVALID, "no place for the result");
	*out = NULL;
	if (rule == NULL)
		return fail(&c, PW_ERR_INVALID, "rule is missing");
	struct lg_scope top = {data != NULL ? data : json_null(), 0, false, NULL, 0, NULL};
	PW_TRY(eval(&c, rule, &top, 0, &r));
	pw_status st = lv_to_json(&c, &r, &j);
	lv_release(&r);
	PW_TRY(st);
	if (json_is_integer(j)) {
		/* pitwall's numbers are doubles */
		json_t *real = json_real((double)json_integer_value(j));
		json_decref(j);
		if (real == NULL)
			return nomem(&c);
		j = real;
	}
	*out = j;
	return PW_OK;
}

/* ---- static check ------------------------------------------------------ */

/* Walk what eval() may evaluate: arrays, and operations' arguments. */
static pw_status check_node(struct lg_ctx *c, const json_t *node, unsigned depth)
{
	const char *key;
	size_t klen;
	const json_t *val;

	if (json_is_array(node)) {
		PW_TRY(check_depth(c, depth));
		for (size_t i = 0; i < json_array_size(node); i++)
			PW_TRY(check_node(c, json_array_get(node, i), depth + 1));
		return PW_OK;
	}
	if (!json_is_object(node) || json_object_size(node) != 1)
		return PW_OK;
	PW_TRY(check_depth(c, depth));
	op_member(node, &key, &klen, &val);
	const struct lg_opdef *def = op_find(key, klen);
	if (def == NULL)
		return unknown_op(c, key, klen);
	struct lg_args a = {val, json_is_array(val) ? json_array_size(val) : 1};
	/* The array operators use arguments 0 and 1 only, reduce 0 to 2. */
	size_t used = def->op == OP_REDUCE ? 3 : 2;
	size_t n = op_is_scoped(def->op) && a.n > used ? used : a.n;
	for (size_t i = 0; i < n; i++)
		PW_TRY(check_node(c, arg_at(&a, i), depth + 1));
	return PW_OK;
}

pw_status pw_logic_check(const json_t *rule, const pw_logic_limits *lim, char *err, size_t errlen)
{
	struct lg_ctx c;
	ctx_init(&c, lim, err, errlen);
	if (rule == NULL)
		return fail(&c, PW_ERR_INVALID, "rule is missing");
	return check_node(&c, rule, 0);
}

bool pw_logic_truthy(const json_t *v)
{
	if (v == NULL)
		return false;
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE: return false;
	case JSON_TRUE: return true;
	case JSON_INTEGER:
	case JSON_REAL: {
		double d = json_number_value(v);
		return d != 0 && !isnan(d);
	}
	case JSON_STRING: return json_string_length(v) > 0;
	case JSON_ARRAY: return json_array_size(v) > 0;
	case JSON_OBJECT: return true;
	default: return false;
	}
}
