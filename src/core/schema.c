/*
 * schema.c: compile the JSON Schema subset of docs/SPEC.md once, then
 * validate instances with the compiled form.
 *
 * Compiling walks the schema once, in document order, and refuses what it
 * does not know: an unsupported keyword, a keyword value of the wrong
 * type, an invalid regular expression, nesting beyond SC_MAX_DEPTH. The
 * result is a tree of sc_node that owns copies of everything it needs and
 * is never written again, so one compiled schema may validate from many
 * threads at once (each call makes its own PCRE2 match data).
 *
 * Memory: every allocation, ours, jansson's and PCRE2's, goes through the
 * jansson allocator in force when pw_schema_compile() runs (PCRE2 through
 * a general context that wraps it). One hook, json_set_alloc_funcs(), is
 * therefore enough for a test to make any allocation fail.
 */
#include "core/schema.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/json.h"

enum {
	SC_MAX_DEPTH = 64,        /* schema levels, the root being level 1 */
	SC_MATCH_LIMIT = 100000,  /* pcre2_set_match_limit() */
	SC_DEPTH_LIMIT = 10000,   /* pcre2_set_depth_limit() */
	SC_HEAP_LIMIT_KIB = 8192, /* pcre2_set_heap_limit(): 8 MiB of backtracking frames */
	SC_PATH_MAX = 2 * SC_MAX_DEPTH + 2, /* pointer segments: keyword + name per level */
	SC_MSG_POINTER_MAX = 200,           /* bytes of pointer kept in a message before "..." */
};

/*
 * PCRE2 flavour. UTF: patterns and subjects are UTF-8 and match by code
 * point. DOLLAR_ENDONLY: "$" matches only at the very end, as in
 * ECMA-262 (PCRE2 would otherwise also match before a final newline, and
 * "^[a-z]+$" would accept "abc\n"). No UCP: \d, \w and \s stay ASCII as in
 * ECMA-262, so "^\d+$" does not accept other scripts' digits. NEVER_BACKSLASH_C:
 * \C could split a code point.
 */
#define SC_PCRE2_OPTIONS (PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C)

/* ---- compiled form ------------------------------------------------------ */

enum sc_type_bit {
	SC_T_NULL = 1u << 0,
	SC_T_BOOLEAN = 1u << 1,
	SC_T_OBJECT = 1u << 2,
	SC_T_ARRAY = 1u << 3,
	SC_T_NUMBER = 1u << 4,
	SC_T_INTEGER = 1u << 5,
	SC_T_STRING = 1u << 6,
};

static const struct {
	const char *name;
	unsigned bit;
} sc_types[] = {
        {"null", SC_T_NULL},     {"boolean", SC_T_BOOLEAN}, {"object", SC_T_OBJECT},
        {"array", SC_T_ARRAY},   {"number", SC_T_NUMBER},   {"integer", SC_T_INTEGER},
        {"string", SC_T_STRING},
};

/* Which of the scalar bounds a node has. */
enum sc_has {
	SC_HAS_MIN_ITEMS = 1u << 0,
	SC_HAS_MAX_ITEMS = 1u << 1,
	SC_HAS_MIN_LENGTH = 1u << 2,
	SC_HAS_MAX_LENGTH = 1u << 3,
	SC_HAS_MINIMUM = 1u << 4,
	SC_HAS_MAXIMUM = 1u << 5,
	SC_HAS_EXCL_MIN = 1u << 6,
	SC_HAS_EXCL_MAX = 1u << 7,
};

struct sc_node;

typedef struct sc_prop {
	char *name;             /* owned; from the schema allocator; NUL-terminated */
	size_t len;             /* bytes of name without the NUL */
	struct sc_node *schema; /* owned */
} sc_prop;

typedef struct sc_node {
	unsigned types;    /* SC_T_* bits allowed; 0 when "type" is absent */
	json_t *type_list; /* owned: array of the type names as written; NULL when absent */
	unsigned has;      /* SC_HAS_* bits: which bounds below are set */
	size_t min_items, max_items, min_length, max_length;
	double minimum, maximum, excl_min, excl_max;
	pcre2_code *re;      /* owned; NULL when no "pattern" */
	json_t *pattern;     /* owned: the pattern as a JSON string; NULL when no "pattern" */
	json_t *enum_values; /* owned copy of "enum"; NULL when absent */
	json_t *const_value; /* owned copy of "const"; NULL when absent */
	json_t *required;    /* owned copy of "required" (unique strings); NULL when absent */
	sc_prop *props;      /* owned array of nprops, sorted by (len, bytes) */
	size_t nprops;
	struct sc_node *additional; /* owned; NULL: members not in props are refused */
	struct sc_node *items;      /* owned; NULL: elements are not checked */
} sc_node;

struct pw_schema {
	sc_node *root;               /* owned */
	json_malloc_t alloc;         /* jansson's allocator at compile time: all of ours */
	json_free_t release;         /* its matching free */
	pcre2_general_context *gctx; /* owned; routes PCRE2's memory through alloc/release */
	pcre2_match_context *mctx;   /* owned; holds the match, depth and heap limits */
};

static void *sc_zalloc(const pw_schema *s, size_t size)
{
	void *p = s->alloc(size);
	if (p != NULL)
		memset(p, 0, size);
	return p;
}

static void *sc_pcre2_malloc(PCRE2_SIZE size, void *data)
{
	const pw_schema *s = data;
	return s->alloc(size);
}

static void sc_pcre2_free(void *p, void *data)
{
	const pw_schema *s = data;
	if (p != NULL)
		s->release(p);
}

/* Free n and everything under it. Recursion is bounded by SC_MAX_DEPTH. */
static void node_free(const pw_schema *s, sc_node *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->nprops; i++) {
		s->release(n->props[i].name);
		node_free(s, n->props[i].schema);
	}
	if (n->props != NULL)
		s->release(n->props);
	node_free(s, n->additional);
	node_free(s, n->items);
	pcre2_code_free(n->re);
	json_decref(n->type_list);
	json_decref(n->pattern);
	json_decref(n->enum_values);
	json_decref(n->const_value);
	json_decref(n->required);
	s->release(n);
}

void pw_schema_free(pw_schema *s)
{
	if (s == NULL)
		return;
	node_free(s, s->root);
	pcre2_match_context_free(s->mctx);
	pcre2_general_context_free(s->gctx);
	s->release(s);
}

/* ---- bounded text ------------------------------------------------------- */

/*
 * A fixed buffer that is always NUL-terminated. An append that does not
 * fit is cut at a code point boundary and everything after it is dropped,
 * so a message is never a misleading splice.
 */
typedef struct sc_text {
	char *buf; /* borrowed; cap bytes; NULL to write nothing */
	size_t cap;
	size_t len; /* bytes written, without the NUL */
	bool full;  /* an append was cut: ignore the rest */
} sc_text;

static void text_init(sc_text *t, char *buf, size_t cap)
{
	t->buf = cap > 0 ? buf : NULL;
	t->cap = cap;
	t->len = 0;
	t->full = t->buf == NULL;
	if (t->buf != NULL)
		t->buf[0] = '\0';
}

static void text_put(sc_text *t, const char *s, size_t n)
{
	if (t->full)
		return;
	size_t room = t->cap - 1 - t->len;
	if (n > room) {
		n = room;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		t->full = true;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

static void text_str(sc_text *t, const char *s)
{
	text_put(t, s, strlen(s));
}

/* Append an escape sequence whole, or stop. */
static void text_escape(sc_text *t, const char *esc)
{
	size_t n = strlen(esc);
	if (!t->full && n > t->cap - 1 - t->len)
		t->full = true;
	text_put(t, esc, n);
}

/*
 * Append s[0..n) with the bytes that would break a one-line message
 * escaped: control characters and DEL as \u00XX, and (when quoted) the
 * quote and the backslash as in JSON.
 */
static void text_clean(sc_text *t, const char *s, size_t n, bool quoted)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		if (c < 0x20 || c == 0x7f)
			snprintf(esc, sizeof esc, "\\u%04x", (unsigned)c);
		else if (c == '\\' || (quoted && c == '"'))
			snprintf(esc, sizeof esc, "\\%c", (char)c);
		else
			continue;
		text_put(t, s + start, i - start);
		text_escape(t, esc);
		start = i + 1;
	}
	text_put(t, s + start, n - start);
}

static void text_quoted(sc_text *t, const char *s, size_t n)
{
	text_put(t, "\"", 1);
	text_clean(t, s, n, true);
	text_put(t, "\"", 1);
}

/* ---- pointers ----------------------------------------------------------- */

/* One step of a JSON pointer: a member name or keyword, or an array index. */
typedef struct sc_seg {
	const char *s; /* borrowed from the schema or instance; NULL for an index */
	size_t len;    /* bytes of s, or the index when s is NULL */
} sc_seg;

typedef struct sc_path {
	sc_seg seg[SC_PATH_MAX];
	size_t n;
} sc_path;

static pw_status path_push(sc_path *p, const char *s, size_t len)
{
	PW_ENSURE(p->n < SC_PATH_MAX, PW_ERR_INTERNAL);
	p->seg[p->n].s = s;
	p->seg[p->n].len = len;
	p->n++;
	return PW_OK;
}

static void path_pop(sc_path *p)
{
	if (p->n > 0)
		p->n--;
}

/*
 * Write p as an RFC 6901 pointer: "~" as "~0", "/" as "~1". For a message
 * (for_message), control characters and the backslash are escaped too so
 * that the line stays one line; the raw form keeps every other byte.
 */
static void text_pointer(sc_text *t, const sc_path *p, bool for_message)
{
	for (size_t i = 0; i < p->n; i++) {
		const sc_seg *g = &p->seg[i];
		char num[32];
		text_put(t, "/", 1);
		if (g->s == NULL) {
			snprintf(num, sizeof num, "%zu", g->len);
			text_str(t, num);
			continue;
		}
		size_t start = 0;
		for (size_t j = 0; j < g->len; j++) {
			const char *esc = NULL;
			if (g->s[j] == '~')
				esc = "~0";
			else if (g->s[j] == '/')
				esc = "~1";
			else
				continue;
			if (for_message)
				text_clean(t, g->s + start, j - start, false);
			else
				text_put(t, g->s + start, j - start);
			text_escape(t, esc);
			start = j + 1;
		}
		if (for_message)
			text_clean(t, g->s + start, g->len - start, false);
		else
			text_put(t, g->s + start, g->len - start);
	}
}

/*
 * Start a message "<pointer>: ", the pointer cut to SC_MSG_POINTER_MAX
 * bytes (marked "...") so that the part after it survives.
 */
static void text_message_head(sc_text *t, const sc_path *p)
{
	char ptr[SC_MSG_POINTER_MAX + 1];
	sc_text pt;
	text_init(&pt, ptr, sizeof ptr);
	text_pointer(&pt, p, true);
	text_put(t, ptr, pt.len);
	if (pt.full)
		text_str(t, "...");
	text_str(t, ": ");
}

/* ---- numbers ------------------------------------------------------------ */

/* True if d is finite with no fractional part (5.0 is an integer). */
static bool is_integral(double d)
{
	if (!isfinite(d))
		return false;
	if (d >= 0x1p53 || d <= -0x1p53)
		return true; /* no double this large has a fraction */
	return d == (double)(long long)d;
}

/* A count keyword: a non-negative integer that a double holds exactly. */
static bool parse_count(const json_t *v, size_t *out)
{
	double d;
	if (!pw_json_number(v, &d) || !is_integral(d) || d < 0 || d > 0x1p53 - 1)
		return false;
	*out = (size_t)d;
	return true;
}

static void fmt_number(double d, char out[PW_JCS_NUMBER_MAX])
{
	if (pw_jcs_number(d, out) != PW_OK)
		snprintf(out, PW_JCS_NUMBER_MAX, "%g", d);
}

/* ---- compiling ---------------------------------------------------------- */

typedef struct sc_compile {
	pw_schema *s;                /* the schema being built */
	pcre2_compile_context *cctx; /* owned by pw_schema_compile() */
	sc_path path;                /* pointer into the schema of what is being compiled */
	char *err;                   /* OUT: caller's buffer, errlen bytes; may be NULL */
	size_t errlen;
} sc_compile;

/* Write "<schema pointer>: <what>" to the caller's buffer and return st. */
static pw_status cfail(sc_compile *c, pw_status st, const char *what)
{
	sc_text t;
	text_init(&t, c->err, c->errlen);
	text_message_head(&t, &c->path);
	text_str(&t, what);
	return st;
}

/* As cfail(), the message being what followed by s[0..n) quoted. */
static pw_status cfail_quoted(sc_compile *c, pw_status st, const char *what, const char *s,
                              size_t n)
{
	sc_text t;
	text_init(&t, c->err, c->errlen);
	text_message_head(&t, &c->path);
	text_str(&t, what);
	text_quoted(&t, s, n);
	return st;
}

static pw_status cfail_nomem(sc_compile *c)
{
	return cfail(c, PW_ERR_NOMEM, "out of memory");
}

static pw_status compile_node(sc_compile *c, const json_t *js, unsigned depth, sc_node **out);
static const sc_node *find_property(const sc_node *n, const char *name, size_t len);

/* A keyword handler: check v, the value of keyword k, and store it in n. */
typedef struct sc_keyword sc_keyword;
typedef pw_status (*sc_kw_fn)(sc_compile *c, const sc_keyword *k, sc_node *n, const json_t *v,
                              unsigned depth);

struct sc_keyword {
	const char *name;
	sc_kw_fn fn;
	unsigned has; /* for the bounds: which SC_HAS_* bit */
};

static unsigned type_bit(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof sc_types / sizeof sc_types[0]; i++)
		if (strlen(sc_types[i].name) == len && memcmp(sc_types[i].name, s, len) == 0)
			return sc_types[i].bit;
	return 0;
}

static pw_status add_type(sc_compile *c, sc_node *n, json_t *list, const json_t *name)
{
	if (!json_is_string(name))
		return cfail(c, PW_ERR_INVALID, "must be a type name or a non-empty list of them");
	const char *s = json_string_value(name);
	size_t len = json_string_length(name);
	unsigned bit = type_bit(s, len);
	if (bit == 0)
		return cfail_quoted(c, PW_ERR_INVALID, "unknown type ", s, len);
	if (n->types & bit)
		return cfail_quoted(c, PW_ERR_INVALID, "repeats type ", s, len);
	n->types |= bit;
	if (json_array_append_new(list, json_stringn(s, len)) != 0)
		return cfail_nomem(c);
	return PW_OK;
}

static pw_status kw_type(sc_compile *c, const sc_keyword *k, sc_node *n, const json_t *v,
                         unsigned depth)
{
	(void)k;
	(void)depth;
	pw_status st = PW_OK;
	json_t *list = json_array();
	if (list == NULL)
		return cfail_nomem(c);
	if (json_is_array(v) && json_array_size(v) > 0) {
		for (size_t i = 0; i < json_array_size(v) && st == PW_OK; i++)
			st = add_type(c, n, list, json_array_get(v, i));
	} else {
		st = add_type(c, n, list, v);
	}
	if (st != PW_OK) {
		json_decref(list);
		return st;
	}
	n->type_list = list;
	return PW_OK;
}

static int prop_cmp(const void *pa, const void *pb)
{
	const sc_prop *a = pa, *b = pb;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return memcmp(a->name, b->name, a->len);
}

static pw_status kw_properties(sc_compile *c, const sc_keyword *k, sc_node *n, const json_t *v,
                               unsigned depth)
{
	(void)k;

	if (!json_is_object(v))
		return cfail(c, PW_ERR_INVALID, "must be an object of schemas");
	size_t count = json_object_size(v);
	if (count == 0)
		return PW_OK;
	if (count > SIZE_MAX / sizeof *n->props)
		return cfail_nomem(c);
	n->props = sc_zalloc(c->s, count * sizeof *n->props);
	if (n->props == NULL)
		return cfail_nomem(c);
	/* jansson's iterators take a non-const object; they only read it */
	json_t *obj = (json_t *)v;
	for (void *it = json_object_iter(obj); it != NULL; it = json_object_iter_next(obj, it)) {
		const char *key = json_object_iter_key(it);
		size_t klen = json_object_iter_key_len(it);
		PW_ENSURE(n->nprops < count, PW_ERR_INTERNAL);
		sc_prop *p = &n->props[n->nprops];
		p->name = c->s->alloc(klen + 1);
		if (p->name == NULL)
			return cfail_nomem(c);
		memcpy(p->name, key, klen);
		p->name[klen] = '\0';
		p->len = klen;
		n->nprops++; /* counted now so that node_free() releases it on failure */
		PW_TRY(path_push(&c->path, key, klen));
		pw_status st = compile_node(c, json_object_iter_value(it), depth + 1, &p->schema);
		path_pop(&c->path);
		if (st != PW_OK)
			return st;
	}
	qsort(n->props, n->nprops, sizeof *n->props, prop_cmp);
	return PW_OK;
}

static pw_status kw_required(sc_compile *c, const sc_keyword *k, sc_node *n, const json_t *v,
                             unsigned depth)
{
	(void)k;
	(void)depth;
	pw_status st = PW_OK;
	if (!json_is_array(v))
		return cfail(c, PW_ERR_INVALID, "must be an array of unique strings");
	json_t *seen = json_object();
	if (seen == NULL)
		return cfail_nomem(c);
	for (size_t i = 0; i < json_array_size(v) && st == PW_OK; i++) {
		const json_t *name = json_array_get(v, i);
		if (!json_is_string(name)) {
			st = cfail(c, PW_ERR_INVALID, "must be an array of unique strings");
			break;
		}
		const char *s = json_string_value(name);
		size_t len = json_string_length(name);
		if (json_object_getn(seen, s, len) != NULL)
			st = cfail_quoted(c, PW_ERR_INVALID, "repeats ", s, len);
		else if (json_object_setn_new(seen, s, len, json_null()) != 0)
			st = cfail_nomem(c);
	}
	json_decref(seen);
	if (st != PW_OK)
		return st;
	n->required = json_deep_copy(v);
	if (n->required == NULL)
		return cfail_nomem(c);
	return PW_OK;
}

static pw_status kw_additional(sc_compile *c, const sc_keyword *k, sc_node *n, const json_t *v,
                               unsigned depth)
{
	(void)k;
	if (json_is_false(v))
		return PW_OK; /* the same as omitting it */
	if (!json_is_object(v))
		return cfail(c, PW_ERR_INVALID, "must be false or a schema");
	return compile_node(c, v, depth + 1, &n->additional);
}

static pw_status kw_items(sc_compile *c, const sc_keyword *k, sc_node *n, const json_t *v,
                          unsigned depth)
{
	(void)k;
	if (!json_is_object(v))
		return cfail(c, PW_ERR_INVALID, "must be a schema");
	return compile_node(c, v, depth + 1, &n->items);
}

static pw_status kw_count(sc_compile *c, const sc_keyword *k, sc_node *n, const json_t *v,
                          unsigned depth)
{
	(void)depth;
	size_t count;
	if (!parse_count(v, &count))
		return cfail(c, PW_ERR_INVALID, "must be a non-negative integer");
	switch (k->has) {
	case SC_HAS_MIN_ITEMS: n->min_items = count; break;
	case SC_HAS_MAX_ITEMS: n->max_items = count; break;
	case SC_HAS_MIN_LENGTH: n->min_length = count; break;
	case SC_HAS_MAX_LENGTH: n->max_length = count; break;
	default: return cfail(c, PW_ERR_INTERNAL, "unexpected count keyword");
	}
	n->has |= k->has;
	return PW_OK;
}

static pw_status kw_bound(sc_compile *c, const sc_keyword *k, sc_node *n, const json_t *v,
                          unsigned depth)
{
	(void)depth;
	double d;
	if (!pw_json_number(v, &d) || !isfinite(d))
		return cfail(c, PW_ERR_INVALID, "must be a number");
	switch (k->has) {
	case SC_HAS_MINIMUM: n->minimum = d; break;
	case SC_HAS_MAXIMUM: n->maximum = d; break;
	case SC_HAS_EXCL_MIN: n->excl_min = d; break;
	case SC_HAS_EXCL_MAX: n->excl_max = d; break;
	default: return cfail(c, PW_ERR_INTERNAL, "unexpected bound keyword");
	}
	n->has |= k->has;
	return PW_OK;
}

static pw_status kw_pattern(sc_compile *c, const sc_keyword *k, sc_node *n, const json_t *v,
                            unsigned depth)
{
	(void)k;
	(void)depth;
	int code;
	PCRE2_SIZE offset;

	if (!json_is_string(v))
		return cfail(c, PW_ERR_INVALID, "must be a string");
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	n->re = pcre2_compile((PCRE2_SPTR)s, len, SC_PCRE2_OPTIONS, &code, &offset, c->cctx);
	if (n->re == NULL) {
		PCRE2_UCHAR why[160];
		char what[256];
		if (code == PCRE2_ERROR_HEAP_FAILED)
			return cfail_nomem(c);
		if (pcre2_get_error_message(code, why, sizeof why) == PCRE2_ERROR_BADDATA)
			snprintf((char *)why, sizeof why, "error %d", code);
		snprintf(what, sizeof what, "invalid regular expression at offset %zu: %s",
		         (size_t)offset, (const char *)why);
		return cfail(c, PW_ERR_INVALID, what);
	}
	n->pattern = json_stringn(s, len);
	if (n->pattern == NULL)
		return cfail_nomem(c);
	return PW_OK;
}

static pw_status kw_enum(sc_compile *c, const sc_keyword *k, sc_node *n, const json_t *v,
                         unsigned depth)
{
	(void)k;
	(void)depth;
	if (!json_is_array(v))
		return cfail(c, PW_ERR_INVALID, "must be an array");
	n->enum_values = json_deep_copy(v);
	if (n->enum_values == NULL)
		return cfail_nomem(c);
	return PW_OK;
}

static pw_status kw_const(sc_compile *c, const sc_keyword *k, sc_node *n, const json_t *v,
                          unsigned depth)
{
	(void)k;
	(void)depth;
	n->const_value = json_deep_copy(v);
	if (n->const_value == NULL)
		return cfail_nomem(c);
	return PW_OK;
}

/* "description", "title": annotations, not kept, but they must be strings. */
static pw_status kw_text(sc_compile *c, const sc_keyword *k, sc_node *n, const json_t *v,
                         unsigned depth)
{
	(void)k;
	(void)n;
	(void)depth;
	if (!json_is_string(v))
		return cfail(c, PW_ERR_INVALID, "must be a string");
	return PW_OK;
}

/* "examples": an annotation, not kept, but it must be an array. */
static pw_status kw_examples(sc_compile *c, const sc_keyword *k, sc_node *n, const json_t *v,
                             unsigned depth)
{
	(void)k;
	(void)n;
	(void)depth;
	if (!json_is_array(v))
		return cfail(c, PW_ERR_INVALID, "must be an array");
	return PW_OK;
}

/* "default": an annotation of any type, not kept. */
static pw_status kw_any(sc_compile *c, const sc_keyword *k, sc_node *n, const json_t *v,
                        unsigned depth)
{
	(void)c;
	(void)k;
	(void)n;
	(void)v;
	(void)depth;
	return PW_OK;
}

/* The supported keywords, docs/SPEC.md "Input schemas"; nothing else compiles. */
static const sc_keyword sc_keywords[] = {
        {"type", kw_type, 0},
        {"properties", kw_properties, 0},
        {"required", kw_required, 0},
        {"additionalProperties", kw_additional, 0},
        {"items", kw_items, 0},
        {"minItems", kw_count, SC_HAS_MIN_ITEMS},
        {"maxItems", kw_count, SC_HAS_MAX_ITEMS},
        {"minLength", kw_count, SC_HAS_MIN_LENGTH},
        {"maxLength", kw_count, SC_HAS_MAX_LENGTH},
        {"pattern", kw_pattern, 0},
        {"minimum", kw_bound, SC_HAS_MINIMUM},
        {"maximum", kw_bound, SC_HAS_MAXIMUM},
        {"exclusiveMinimum", kw_bound, SC_HAS_EXCL_MIN},
        {"exclusiveMaximum", kw_bound, SC_HAS_EXCL_MAX},
        {"enum", kw_enum, 0},
        {"const", kw_const, 0},
        {"description", kw_text, 0},
        {"title", kw_text, 0},
        {"default", kw_any, 0},
        {"examples", kw_examples, 0},
};

static const sc_keyword *find_keyword(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof sc_keywords / sizeof sc_keywords[0]; i++)
		if (strlen(sc_keywords[i].name) == len && memcmp(sc_keywords[i].name, s, len) == 0)
			return &sc_keywords[i];
	return NULL;
}

/*
 * Compile the schema js found at c->path, depth levels down (the root is
 * 1). On success *out is a new node owned by the caller; on failure it is
 * NULL, nothing is left allocated and c->err says why.
 */
static pw_status compile_node(sc_compile *c, const json_t *js, unsigned depth, sc_node **out)
{
	pw_status st = PW_OK;

	*out = NULL;
	if (depth > SC_MAX_DEPTH) {
		char what[64];
		snprintf(what, sizeof what, "schema nests deeper than %d levels", SC_MAX_DEPTH);
		return cfail(c, PW_ERR_TOO_DEEP, what);
	}
	if (!json_is_object(js))
		return cfail(c, PW_ERR_INVALID, "schema must be an object");
	sc_node *n = sc_zalloc(c->s, sizeof *n);
	if (n == NULL)
		return cfail_nomem(c);
	/* jansson's iterators take a non-const object; they only read it */
	json_t *obj = (json_t *)js;
	for (void *it = json_object_iter(obj); it != NULL; it = json_object_iter_next(obj, it)) {
		const char *key = json_object_iter_key(it);
		size_t klen = json_object_iter_key_len(it);
		const sc_keyword *k = find_keyword(key, klen);
		if (k == NULL) {
			st = cfail_quoted(c, PW_ERR_INVALID, "unsupported keyword ", key, klen);
			break;
		}
		st = path_push(&c->path, key, klen);
		if (st != PW_OK)
			break;
		st = k->fn(c, k, n, json_object_iter_value(it), depth);
		path_pop(&c->path);
		if (st != PW_OK)
			break;
	}
	/*
	 * Unknown members are refused unless additionalProperties is a schema,
	 * so a required name that properties does not declare could never be
	 * satisfied: refuse the schema rather than every call.
	 */
	for (size_t i = 0; st == PW_OK && n->additional == NULL && i < json_array_size(n->required);
	     i++) {
		const json_t *name = json_array_get(n->required, i);
		if (find_property(n, json_string_value(name), json_string_length(name)) == NULL) {
			st = path_push(&c->path, "required", 8);
			if (st != PW_OK)
				break;
			st = cfail_quoted(c, PW_ERR_INVALID,
			                  "requires a property that properties does not declare: ",
			                  json_string_value(name), json_string_length(name));
			path_pop(&c->path);
		}
	}
	if (st != PW_OK) {
		node_free(c->s, n);
		return st;
	}
	*out = n;
	return PW_OK;
}

pw_status pw_schema_compile(const json_t *schema, pw_schema **out, char *err, size_t errlen)
{
	sc_compile c;
	pw_status st;
	json_malloc_t alloc;
	json_free_t release;

	memset(&c, 0, sizeof c);
	c.err = err;
	c.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL)
		return cfail(&c, PW_ERR_INTERNAL, "no place for the compiled schema");
	*out = NULL;
	if (schema == NULL)
		return cfail(&c, PW_ERR_INVALID, "schema must be an object");

	json_get_alloc_funcs(&alloc, &release);
	pw_schema *s = alloc(sizeof *s);
	if (s == NULL)
		return cfail_nomem(&c);
	memset(s, 0, sizeof *s);
	s->alloc = alloc;
	s->release = release;
	c.s = s;

	s->gctx = pcre2_general_context_create(sc_pcre2_malloc, sc_pcre2_free, s);
	if (s->gctx == NULL)
		goto nomem;
	s->mctx = pcre2_match_context_create(s->gctx);
	if (s->mctx == NULL)
		goto nomem;
	if (pcre2_set_match_limit(s->mctx, SC_MATCH_LIMIT) != 0 ||
	    pcre2_set_depth_limit(s->mctx, SC_DEPTH_LIMIT) != 0 ||
	    pcre2_set_heap_limit(s->mctx, SC_HEAP_LIMIT_KIB) != 0) {
		st = cfail(&c, PW_ERR_INTERNAL, "cannot set the pattern match limits");
		goto fail;
	}
	c.cctx = pcre2_compile_context_create(s->gctx);
	if (c.cctx == NULL)
		goto nomem;
	st = compile_node(&c, schema, 1, &s->root);
	pcre2_compile_context_free(c.cctx);
	if (st != PW_OK)
		goto fail;
	*out = s;
	return PW_OK;

nomem:
	st = cfail_nomem(&c);
fail:
	pw_schema_free(s);
	return st;
}

/* ---- validating --------------------------------------------------------- */

typedef struct sc_validate {
	const pw_schema *s;
	pw_schema_error *err; /* OUT: the first failure; NULL when the caller wants none */
	pcre2_match_data *md; /* owned; made at the first pattern, freed by pw_schema_validate() */
	sc_path path;         /* pointer into the instance of the value being checked */
} sc_validate;

/*
 * Record a failure of rule at the current path and return st. expected is
 * consumed (it becomes the error's, or is released); a new reference to
 * actual is taken. what is the message after "<pointer>: ".
 */
static pw_status vfail(sc_validate *v, pw_status st, const char *rule, json_t *expected,
                       const json_t *actual, const char *what)
{
	pw_schema_error *e = v->err;
	sc_text t;
	if (e == NULL) {
		json_decref(expected);
		return st;
	}
	json_decref(e->expected);
	json_decref(e->actual);
	text_init(&t, e->pointer, sizeof e->pointer);
	text_pointer(&t, &v->path, false);
	snprintf(e->rule, sizeof e->rule, "%s", rule);
	e->expected = expected;
	/* the instance is the caller's; jansson's reference count is its only mutable part */
	e->actual = json_incref((json_t *)actual);
	text_init(&t, e->message, sizeof e->message);
	text_message_head(&t, &v->path);
	text_str(&t, what);
	return st;
}

static const char *instance_type_name(const json_t *inst)
{
	switch (json_typeof(inst)) {
	case JSON_NULL: return "null";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER:
	case JSON_REAL: return "number";
	default: return "unknown";
	}
}

static unsigned instance_type_bits(const json_t *inst)
{
	switch (json_typeof(inst)) {
	case JSON_NULL: return SC_T_NULL;
	case JSON_TRUE:
	case JSON_FALSE: return SC_T_BOOLEAN;
	case JSON_OBJECT: return SC_T_OBJECT;
	case JSON_ARRAY: return SC_T_ARRAY;
	case JSON_STRING: return SC_T_STRING;
	case JSON_INTEGER: return SC_T_NUMBER | SC_T_INTEGER;
	case JSON_REAL:
		return SC_T_NUMBER | (is_integral(json_real_value(inst)) ? SC_T_INTEGER : 0u);
	default: return 0;
	}
}

static pw_status check_type(sc_validate *v, const sc_node *n, const json_t *inst)
{
	char what[256];
	sc_text t;
	if (n->types == 0 || (instance_type_bits(inst) & n->types) != 0)
		return PW_OK;
	json_t *expected = json_deep_copy(n->type_list);
	if (expected == NULL)
		return PW_ERR_NOMEM;
	text_init(&t, what, sizeof what);
	text_str(&t, "expected ");
	size_t count = json_array_size(n->type_list);
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			text_str(&t, i + 1 == count ? " or " : ", ");
		text_str(&t, json_string_value(json_array_get(n->type_list, i)));
	}
	text_str(&t, ", got ");
	text_str(&t, instance_type_name(inst));
	return vfail(v, PW_ERR_INVALID, "type", expected, inst, what);
}

static pw_status check_enum_const(sc_validate *v, const sc_node *n, const json_t *inst)
{
	if (n->enum_values != NULL) {
		bool found = false;
		for (size_t i = 0; i < json_array_size(n->enum_values) && !found; i++)
			found = pw_json_equal(json_array_get(n->enum_values, i), inst);
		if (!found) {
			json_t *expected = json_deep_copy(n->enum_values);
			if (expected == NULL)
				return PW_ERR_NOMEM;
			return vfail(v, PW_ERR_INVALID, "enum", expected, inst,
			             "value is not one of the allowed values");
		}
	}
	if (n->const_value != NULL && !pw_json_equal(n->const_value, inst)) {
		json_t *expected = json_deep_copy(n->const_value);
		if (expected == NULL)
			return PW_ERR_NOMEM;
		return vfail(v, PW_ERR_INVALID, "const", expected, inst,
		             "value is not the allowed constant");
	}
	return PW_OK;
}

/* A failed count bound: expected is the bound as a JSON integer. */
static pw_status fail_count(sc_validate *v, const char *rule, size_t bound, const json_t *inst,
                            const char *what)
{
	json_t *expected = json_integer((json_int_t)bound);
	if (expected == NULL)
		return PW_ERR_NOMEM;
	return vfail(v, PW_ERR_INVALID, rule, expected, inst, what);
}

static pw_status check_pattern(sc_validate *v, const sc_node *n, const json_t *inst)
{
	char what[512];
	sc_text t;
	pw_status st;
	const char *why;

	if (v->md == NULL) {
		v->md = pcre2_match_data_create(1, v->s->gctx);
		if (v->md == NULL)
			return PW_ERR_NOMEM;
	}
	/* check_string() has checked the subject's UTF-8: PCRE2 need not check it again */
	int rc = pcre2_match(n->re, (PCRE2_SPTR)json_string_value(inst), json_string_length(inst),
	                     0, PCRE2_NO_UTF_CHECK, v->md, v->s->mctx);
	if (rc >= 0)
		return PW_OK; /* 0: matched, the ovector too small to say where */
	switch (rc) {
	case PCRE2_ERROR_NOMATCH:
		st = PW_ERR_INVALID;
		why = "does not match pattern ";
		break;
	case PCRE2_ERROR_MATCHLIMIT:
	case PCRE2_ERROR_DEPTHLIMIT:
	case PCRE2_ERROR_HEAPLIMIT:
		st = PW_ERR_LIMIT;
		why = "match limit reached for pattern ";
		break;
	case PCRE2_ERROR_NOMEMORY: return PW_ERR_NOMEM;
	default:
		st = PW_ERR_INTERNAL;
		why = "match failed for pattern ";
		break;
	}
	json_t *expected = json_deep_copy(n->pattern);
	if (expected == NULL)
		return PW_ERR_NOMEM;
	text_init(&t, what, sizeof what);
	text_str(&t, why);
	text_quoted(&t, json_string_value(n->pattern), json_string_length(n->pattern));
	return vfail(v, st, "pattern", expected, inst, what);
}

static pw_status check_string(sc_validate *v, const sc_node *n, const json_t *inst)
{
	char what[128];
	const char *s = json_string_value(inst);
	size_t len = json_string_length(inst);

	if (!pw_utf8_valid(s, len))
		return vfail(v, PW_ERR_INVALID, "type", NULL, inst,
		             "string is not valid utf-8 or holds a nul");
	size_t cps = pw_utf8_codepoints(s, len);
	if ((n->has & SC_HAS_MIN_LENGTH) && cps < n->min_length) {
		snprintf(what, sizeof what, "length %zu is less than minLength %zu", cps,
		         n->min_length);
		return fail_count(v, "minLength", n->min_length, inst, what);
	}
	if ((n->has & SC_HAS_MAX_LENGTH) && cps > n->max_length) {
		snprintf(what, sizeof what, "length %zu is greater than maxLength %zu", cps,
		         n->max_length);
		return fail_count(v, "maxLength", n->max_length, inst, what);
	}
	if (n->re != NULL)
		return check_pattern(v, n, inst);
	return PW_OK;
}

static pw_status fail_bound(sc_validate *v, const char *rule, double d, double bound,
                            const json_t *inst, const char *relation)
{
	char what[128], a[PW_JCS_NUMBER_MAX], b[PW_JCS_NUMBER_MAX];
	json_t *expected = json_real(bound);
	if (expected == NULL)
		return PW_ERR_NOMEM;
	fmt_number(d, a);
	fmt_number(bound, b);
	snprintf(what, sizeof what, "%s %s %s %s", a, relation, rule, b);
	return vfail(v, PW_ERR_INVALID, rule, expected, inst, what);
}

static pw_status check_number(sc_validate *v, const sc_node *n, const json_t *inst)
{
	double d;
	if (!pw_json_number(inst, &d))
		return PW_ERR_INTERNAL;
	if ((n->has & SC_HAS_MINIMUM) && d < n->minimum)
		return fail_bound(v, "minimum", d, n->minimum, inst, "is less than");
	if ((n->has & SC_HAS_MAXIMUM) && d > n->maximum)
		return fail_bound(v, "maximum", d, n->maximum, inst, "is greater than");
	if ((n->has & SC_HAS_EXCL_MIN) && d <= n->excl_min)
		return fail_bound(v, "exclusiveMinimum", d, n->excl_min, inst,
		                  "is not greater than");
	if ((n->has & SC_HAS_EXCL_MAX) && d >= n->excl_max)
		return fail_bound(v, "exclusiveMaximum", d, n->excl_max, inst, "is not less than");
	return PW_OK;
}

static pw_status validate_node(sc_validate *v, const sc_node *n, const json_t *inst);

static pw_status check_array(sc_validate *v, const sc_node *n, const json_t *inst)
{
	char what[128];
	size_t count = json_array_size(inst);
	if ((n->has & SC_HAS_MIN_ITEMS) && count < n->min_items) {
		snprintf(what, sizeof what, "array has %zu item%s, fewer than minItems %zu", count,
		         count == 1 ? "" : "s", n->min_items);
		return fail_count(v, "minItems", n->min_items, inst, what);
	}
	if ((n->has & SC_HAS_MAX_ITEMS) && count > n->max_items) {
		snprintf(what, sizeof what, "array has %zu item%s, more than maxItems %zu", count,
		         count == 1 ? "" : "s", n->max_items);
		return fail_count(v, "maxItems", n->max_items, inst, what);
	}
	if (n->items == NULL)
		return PW_OK;
	for (size_t i = 0; i < count; i++) {
		PW_TRY(path_push(&v->path, NULL, i));
		PW_TRY(validate_node(v, n->items, json_array_get(inst, i)));
		path_pop(&v->path);
	}
	return PW_OK;
}

static const sc_node *find_property(const sc_node *n, const char *name, size_t len)
{
	sc_prop key = {(char *)name, len, NULL};
	if (n->nprops == 0)
		return NULL;
	const sc_prop *p = bsearch(&key, n->props, n->nprops, sizeof *n->props, prop_cmp);
	return p != NULL ? p->schema : NULL;
}

static pw_status check_object(sc_validate *v, const sc_node *n, const json_t *inst)
{
	char what[512];
	sc_text t;

	for (size_t i = 0; i < json_array_size(n->required); i++) {
		const json_t *name = json_array_get(n->required, i);
		const char *s = json_string_value(name);
		size_t len = json_string_length(name);
		if (json_object_getn(inst, s, len) != NULL)
			continue;
		json_t *expected = json_stringn(s, len);
		if (expected == NULL)
			return PW_ERR_NOMEM;
		text_init(&t, what, sizeof what);
		text_str(&t, "missing required property ");
		text_quoted(&t, s, len);
		return vfail(v, PW_ERR_INVALID, "required", expected, NULL, what);
	}
	/* jansson's iterators take a non-const object; they only read it */
	json_t *obj = (json_t *)inst;
	for (void *it = json_object_iter(obj); it != NULL; it = json_object_iter_next(obj, it)) {
		const char *key = json_object_iter_key(it);
		size_t klen = json_object_iter_key_len(it);
		const json_t *member = json_object_iter_value(it);
		const sc_node *sub = find_property(n, key, klen);
		if (sub == NULL)
			sub = n->additional;
		PW_TRY(path_push(&v->path, key, klen));
		if (sub == NULL) {
			json_t *expected = json_stringn(key, klen);
			if (expected == NULL)
				return PW_ERR_NOMEM;
			text_init(&t, what, sizeof what);
			text_str(&t, "unknown property ");
			text_quoted(&t, key, klen);
			return vfail(v, PW_ERR_INVALID, "additionalProperties", expected, member,
			             what);
		}
		PW_TRY(validate_node(v, sub, member));
		path_pop(&v->path);
	}
	return PW_OK;
}

/*
 * Check inst against n: type, enum, const, then the keywords of inst's
 * type, then (arrays, objects) the children in document order. Recursion
 * follows the schema, so SC_MAX_DEPTH bounds it.
 */
static pw_status validate_node(sc_validate *v, const sc_node *n, const json_t *inst)
{
	PW_TRY(check_type(v, n, inst));
	PW_TRY(check_enum_const(v, n, inst));
	switch (json_typeof(inst)) {
	case JSON_STRING: return check_string(v, n, inst);
	case JSON_INTEGER:
	case JSON_REAL: return check_number(v, n, inst);
	case JSON_ARRAY: return check_array(v, n, inst);
	case JSON_OBJECT: return check_object(v, n, inst);
	case JSON_TRUE:
	case JSON_FALSE:
	case JSON_NULL: return PW_OK;
	default: return PW_ERR_INTERNAL;
	}
}

pw_status pw_schema_validate(const pw_schema *s, const json_t *instance, pw_schema_error *err)
{
	sc_validate v;
	if (err != NULL)
		memset(err, 0, sizeof *err);
	if (s == NULL || s->root == NULL || instance == NULL)
		return PW_ERR_INTERNAL;
	memset(&v, 0, sizeof v);
	v.s = s;
	v.err = err;
	pw_status st = validate_node(&v, s->root, instance);
	pcre2_match_data_free(v.md);
	if (st == PW_ERR_NOMEM && err != NULL)
		pw_schema_error_release(err);
	return st;
}

void pw_schema_error_release(pw_schema_error *err)
{
	if (err == NULL)
		return;
	json_decref(err->expected);
	json_decref(err->actual);
	memset(err, 0, sizeof *err);
}
