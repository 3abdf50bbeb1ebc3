/*
 * yaml.c: libyaml's event stream into jansson values, strictly.
 *
 * A recursive descent over events, bounded by max_depth, so the C stack
 * use is bounded too. Every node gets a mark in a side table; mapping
 * keys get their own marks so "unknown key" errors point at the key.
 */
#include "core/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/json.h"

#define PW_YAML_MAX_ANCHORS 1024 /* keep in step with the message "more than 1024 anchors" */
#define TAG_PREFIX          "tag:yaml.org,2002:"
#define MAX_SAFE_INT        9007199254740992ULL /* 2^53: larger integers lose precision as doubles */

typedef struct mark_entry {
	const json_t *node; /* the value node, or the mapping for a key mark */
	char *key;          /* owned; NULL for a value mark */
	unsigned line, col;
} mark_entry;

struct pw_marks {
	mark_entry *v; /* owned array */
	size_t n, cap;
};

typedef struct anchor {
	char *name;   /* owned */
	json_t *node; /* one reference owned */
} anchor;

typedef struct reader {
	yaml_parser_t parser;
	pw_yaml_limits lim;
	pw_marks *marks;
	pw_diag *diag;
	anchor *anchors; /* owned array */
	size_t n_anchors, cap_anchors;
	size_t nodes; /* nodes in the model so far, aliases expanded */
} reader;

static pw_status fail(reader *r, pw_status st, const yaml_mark_t *m, const char *msg,
                      const char *arg)
{
	unsigned line = m ? (unsigned)m->line + 1 : 0, col = m ? (unsigned)m->column + 1 : 0;
	if (arg)
		pw_diag_add(r->diag, PW_DIAG_ERROR, line, col, "%s \"%.80s\"", msg, arg);
	else
		pw_diag_add(r->diag, PW_DIAG_ERROR, line, col, "%s", msg);
	return st;
}

static pw_status add_mark(pw_marks *m, const json_t *node, const char *key, const yaml_mark_t *ym)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		mark_entry *v = realloc(m->v, cap * sizeof *v);
		if (v == NULL)
			return PW_ERR_NOMEM;
		m->v = v;
		m->cap = cap;
	}
	char *k = NULL;
	if (key != NULL && (k = strdup(key)) == NULL)
		return PW_ERR_NOMEM;
	m->v[m->n++] = (mark_entry){node, k, (unsigned)ym->line + 1, (unsigned)ym->column + 1};
	return PW_OK;
}

bool pw_marks_value(const pw_marks *m, const json_t *node, unsigned *line, unsigned *col)
{
	*line = *col = 0;
	if (m == NULL || node == NULL)
		return false;
	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i].node == node && m->v[i].key == NULL) {
			*line = m->v[i].line;
			*col = m->v[i].col;
			return true;
		}
	}
	return false;
}

bool pw_marks_key(const pw_marks *m, const json_t *obj, const char *key, unsigned *line,
                  unsigned *col)
{
	*line = *col = 0;
	if (m == NULL || obj == NULL || key == NULL)
		return false;
	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i].node == obj && m->v[i].key != NULL && strcmp(m->v[i].key, key) == 0) {
			*line = m->v[i].line;
			*col = m->v[i].col;
			return true;
		}
	}
	return false;
}

void pw_marks_free(pw_marks *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].key);
	free(m->v);
	free(m);
}

/* ---- characters --------------------------------------------------------- */

/*
 * Characters refused anywhere in a spec, raw or written as an escape: C0
 * controls other than tab and line breaks, DEL, C1 controls, the Unicode
 * line and paragraph separators, and the bidirectional overrides and
 * isolates. None has a use in a spec; each can hide or reorder text on a
 * reviewer's screen (CVE-2021-42574, "Trojan Source") or an operator's
 * terminal.
 */
static bool refused_char(uint32_t cp, bool allow_breaks)
{
	if (cp == '\t')
		return false;
	if (cp == '\n' || cp == '\r')
		return !allow_breaks;
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

/* Decode one code point of valid UTF-8 at s (pw_utf8_valid() has passed). */
static uint32_t decode_valid(const unsigned char *s, size_t *n)
{
	if (s[0] < 0x80) {
		*n = 1;
		return s[0];
	}
	if ((s[0] & 0xe0) == 0xc0) {
		*n = 2;
		return ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
	}
	if ((s[0] & 0xf0) == 0xe0) {
		*n = 3;
		return ((uint32_t)(s[0] & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) |
		       (s[2] & 0x3f);
	}
	*n = 4;
	return ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3f) << 12) |
	       ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
}

/* The first refused character of a decoded scalar, or 0. */
static uint32_t first_refused(const char *s, size_t len, bool allow_breaks)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0, n = 1; i < len; i += n) {
		uint32_t cp = decode_valid(p + i, &n);
		if (refused_char(cp, allow_breaks))
			return cp;
	}
	return 0;
}

/* ---- scalars ------------------------------------------------------------ */

static bool all_in(const char *s, const char *set)
{
	return *s != '\0' && s[strspn(s, set)] == '\0';
}

static bool is_decimal_float(const char *s)
{
	const char *p = s;
	bool digits = false;
	if (*p == '+' || *p == '-')
		p++;
	while (*p >= '0' && *p <= '9')
		p++, digits = true;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++, digits = true;
	}
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

static bool one_of(const char *s, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strcmp(s, *words) == 0)
			return true;
	return false;
}

static const char *const null_words[] = {"", "~", "null", "Null", "NULL", NULL};
static const char *const true_words[] = {"true", "True", "TRUE", NULL};
static const char *const false_words[] = {"false", "False", "FALSE", NULL};
static const char *const special_floats[] = {".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf",
                                             "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
                                             ".NaN",  ".NAN",  NULL};

enum want { WANT_ANY, WANT_STR, WANT_INT, WANT_FLOAT, WANT_BOOL, WANT_NULL };

/* Resolve a plain (or tagged) scalar to a JSON value per the YAML 1.2 core schema. */
static pw_status resolve_scalar(reader *r, const char *s, enum want want, const yaml_mark_t *m,
                                json_t **out)
{
	*out = NULL;
	if (want == WANT_STR) {
		*out = json_string(s);
		return *out ? PW_OK : PW_ERR_NOMEM;
	}
	if ((want == WANT_ANY || want == WANT_NULL) && one_of(s, null_words)) {
		*out = json_null();
		return PW_OK;
	}
	if ((want == WANT_ANY || want == WANT_BOOL) && one_of(s, true_words)) {
		*out = json_true();
		return PW_OK;
	}
	if ((want == WANT_ANY || want == WANT_BOOL) && one_of(s, false_words)) {
		*out = json_false();
		return PW_OK;
	}
	if ((want == WANT_ANY || want == WANT_FLOAT) && one_of(s, special_floats))
		return fail(r, PW_ERR_INVALID, m, "number cannot be represented in JSON:", s);

	bool is_int = false, negative = (s[0] == '-');
	unsigned long long u = 0;
	const char *body = (s[0] == '+' || s[0] == '-') ? s + 1 : s;
	errno = 0;
	if (strncmp(s, "0x", 2) == 0 && all_in(s + 2, "0123456789abcdefABCDEF")) {
		is_int = true;
		u = strtoull(s + 2, NULL, 16);
	} else if (strncmp(s, "0o", 2) == 0 && all_in(s + 2, "01234567")) {
		is_int = true;
		u = strtoull(s + 2, NULL, 8);
	} else if (all_in(body, "0123456789")) {
		is_int = true;
		u = strtoull(body, NULL, 10);
	}
	if (is_int && (want == WANT_ANY || want == WANT_INT || want == WANT_FLOAT)) {
		/* exact check on the integer, before a double could round it */
		if (errno == ERANGE || u > MAX_SAFE_INT)
			return fail(r, PW_ERR_INVALID, m, "integer out of range (beyond 2^53):", s);
		*out = json_real(negative ? -(double)u : (double)u);
		return *out ? PW_OK : PW_ERR_NOMEM;
	}
	double d;
	if ((want == WANT_ANY || want == WANT_FLOAT) && is_decimal_float(s)) {
		errno = 0;
		d = strtod(s, NULL);
		/* overflow or underflow: the double is not the number written */
		if (errno == ERANGE || isinf(d))
			return fail(r, PW_ERR_INVALID, m,
			            "number cannot be represented in JSON:", s);
		*out = json_real(d);
		return *out ? PW_OK : PW_ERR_NOMEM;
	}
	if (want != WANT_ANY)
		return fail(r, PW_ERR_INVALID, m, "scalar does not match its tag:", s);
	*out = json_string(s);
	return *out ? PW_OK : PW_ERR_NOMEM;
}

static pw_status scalar_tag(reader *r, const yaml_event_t *ev, enum want *want)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	if (tag == NULL || strcmp(tag, "!") == 0) {
		*want = (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && tag == NULL)
		                ? WANT_ANY
		                : WANT_STR;
		return PW_OK;
	}
	static const struct {
		const char *name;
		enum want want;
	} tags[] = {{"str", WANT_STR},
	            {"int", WANT_INT},
	            {"float", WANT_FLOAT},
	            {"bool", WANT_BOOL},
	            {"null", WANT_NULL}};
	if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0) {
		for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
			if (strcmp(tag + strlen(TAG_PREFIX), tags[i].name) == 0) {
				*want = tags[i].want;
				return PW_OK;
			}
		}
	}
	return fail(r, PW_ERR_INVALID, &ev->start_mark, "unsupported tag", tag);
}

static bool collection_tag_ok(const yaml_char_t *tag, const char *kind)
{
	if (tag == NULL || strcmp((const char *)tag, "!") == 0)
		return true;
	return strncmp((const char *)tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0 &&
	       strcmp((const char *)tag + strlen(TAG_PREFIX), kind) == 0;
}

/* ---- anchors ------------------------------------------------------------ */

static pw_status anchor_add(reader *r, const yaml_char_t *name, json_t *node)
{
	if (name == NULL)
		return PW_OK;
	if (r->n_anchors >= PW_YAML_MAX_ANCHORS)
		return PW_ERR_LIMIT;
	/* a redefined anchor shadows the earlier one from here on */
	if (r->n_anchors == r->cap_anchors) {
		size_t cap = r->cap_anchors ? r->cap_anchors * 2 : 8;
		anchor *a = realloc(r->anchors, cap * sizeof *a);
		if (a == NULL)
			return PW_ERR_NOMEM;
		r->anchors = a;
		r->cap_anchors = cap;
	}
	char *copy = strdup((const char *)name);
	if (copy == NULL)
		return PW_ERR_NOMEM;
	r->anchors[r->n_anchors++] = (anchor){copy, json_incref(node)};
	return PW_OK;
}

static json_t *anchor_find(const reader *r, const yaml_char_t *name)
{
	for (size_t i = r->n_anchors; i-- > 0;)
		if (strcmp(r->anchors[i].name, (const char *)name) == 0)
			return r->anchors[i].node;
	return NULL;
}

/* Count the nodes of v, stopping early once budget is exceeded. */
static size_t count_nodes(const json_t *v, size_t budget)
{
	size_t n = 1;
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v) && n <= budget; i++)
			n += count_nodes(json_array_get(v, i), budget - n);
	} else if (json_is_object(v)) {
		const char *k;
		json_t *m;
		json_object_foreach ((json_t *)v, k, m) {
			if (n > budget)
				break;
			n += count_nodes(m, budget - n);
		}
	}
	return n;
}

/* ---- the descent -------------------------------------------------------- */

static pw_status next_event(reader *r, yaml_event_t *ev)
{
	if (yaml_parser_parse(&r->parser, ev))
		return PW_OK;
	const char *problem = r->parser.problem ? r->parser.problem : "malformed yaml";
	pw_status st = PW_ERR_SYNTAX;
	if (r->parser.error == YAML_MEMORY_ERROR)
		st = PW_ERR_NOMEM;
	else if (r->parser.error == YAML_READER_ERROR)
		st = PW_ERR_UTF8;
	pw_diag_add(r->diag, PW_DIAG_ERROR, (unsigned)r->parser.problem_mark.line + 1,
	            (unsigned)r->parser.problem_mark.column + 1, "%s%s%s", problem,
	            r->parser.context ? " " : "", r->parser.context ? r->parser.context : "");
	return st;
}

static pw_status parse_node(reader *r, yaml_event_t *ev, unsigned depth, json_t **out);

static pw_status count_node(reader *r, const yaml_mark_t *m, size_t n)
{
	r->nodes += n;
	if (r->nodes > r->lim.max_nodes) {
		pw_diag_add(r->diag, PW_DIAG_ERROR, (unsigned)m->line + 1, (unsigned)m->column + 1,
		            "more than %zu nodes (aliases expanded)", r->lim.max_nodes);
		return PW_ERR_TOO_LARGE;
	}
	return PW_OK;
}

static pw_status parse_sequence(reader *r, const yaml_event_t *start, unsigned depth, json_t *arr)
{
	(void)start;
	for (;;) {
		yaml_event_t ev;
		PW_TRY(next_event(r, &ev));
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return PW_OK;
		}
		json_t *item = NULL;
		pw_status st = parse_node(r, &ev, depth + 1, &item);
		yaml_event_delete(&ev);
		PW_TRY(st);
		if (json_array_append_new(arr, item) != 0)
			return PW_ERR_NOMEM;
	}
}

static pw_status parse_mapping(reader *r, const yaml_event_t *start, unsigned depth, json_t *obj)
{
	(void)start;
	for (;;) {
		yaml_event_t kev;
		PW_TRY(next_event(r, &kev));
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			return PW_OK;
		}
		pw_status st = PW_OK;
		char *key = NULL;
		yaml_mark_t kmark = kev.start_mark;
		if (kev.type != YAML_SCALAR_EVENT) {
			st = fail(r, PW_ERR_INVALID, &kmark, "mapping keys must be plain strings",
			          NULL);
		} else if (kev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		           strcmp((const char *)kev.data.scalar.value, "<<") == 0) {
			st = fail(r, PW_ERR_INVALID, &kmark, "merge keys are not supported:", "<<");
		} else if (kev.data.scalar.length != strlen((const char *)kev.data.scalar.value)) {
			st = fail(r, PW_ERR_INVALID, &kmark, "key contains a NUL character", NULL);
		} else if (kev.data.scalar.anchor != NULL) {
			st = fail(r, PW_ERR_INVALID, &kmark, "anchors on keys are not supported",
			          NULL);
		} else if (kev.data.scalar.tag != NULL &&
		           strcmp((const char *)kev.data.scalar.tag, "!") != 0 &&
		           strcmp((const char *)kev.data.scalar.tag, TAG_PREFIX "str") != 0) {
			st = fail(r, PW_ERR_INVALID, &kmark, "unsupported tag on a key",
			          (const char *)kev.data.scalar.tag);
		} else if (first_refused((const char *)kev.data.scalar.value,
		                         kev.data.scalar.length, false) != 0) {
			st = fail(r, PW_ERR_INVALID, &kmark,
			          "key contains a control, separator or bidirectional character",
			          NULL);
		} else if ((key = strdup((const char *)kev.data.scalar.value)) == NULL) {
			st = PW_ERR_NOMEM;
		}
		yaml_event_delete(&kev);
		if (st == PW_OK && json_object_get(obj, key) != NULL)
			st = fail(r, PW_ERR_DUPKEY, &kmark, "duplicate key", key);
		if (st == PW_OK)
			st = count_node(r, &kmark, 1);
		if (st != PW_OK) {
			free(key);
			return st;
		}
		yaml_event_t vev;
		json_t *val = NULL;
		st = next_event(r, &vev);
		if (st == PW_OK) {
			st = parse_node(r, &vev, depth + 1, &val);
			yaml_event_delete(&vev);
		}
		if (st == PW_OK && json_object_set_new(obj, key, val) != 0)
			st = PW_ERR_NOMEM;
		if (st == PW_OK)
			st = add_mark(r->marks, obj, key, &kmark);
		free(key);
		PW_TRY(st);
	}
}

static pw_status parse_node(reader *r, yaml_event_t *ev, unsigned depth, json_t **out)
{
	json_t *v = NULL;
	pw_status st = PW_OK;
	const yaml_char_t *anchor_name = NULL;

	*out = NULL;
	if (depth > r->lim.max_depth) {
		pw_diag_add(r->diag, PW_DIAG_ERROR, (unsigned)ev->start_mark.line + 1,
		            (unsigned)ev->start_mark.column + 1, "nesting deeper than %u levels",
		            r->lim.max_depth);
		return PW_ERR_TOO_DEEP;
	}
	switch (ev->type) {
	case YAML_ALIAS_EVENT: {
		json_t *target = anchor_find(r, ev->data.alias.anchor);
		if (target == NULL)
			return fail(r, PW_ERR_INVALID, &ev->start_mark, "undefined alias",
			            (const char *)ev->data.alias.anchor);
		PW_TRY(count_node(r, &ev->start_mark,
		                  count_nodes(target, r->lim.max_nodes - r->nodes + 1)));
		*out = json_incref(target);
		return PW_OK;
	}
	case YAML_SCALAR_EVENT: {
		enum want want = WANT_ANY;
		const char *s = (const char *)ev->data.scalar.value;
		if (ev->data.scalar.length != strlen(s))
			return fail(r, PW_ERR_INVALID, &ev->start_mark,
			            "scalar contains a NUL character", NULL);
		if (first_refused(s, ev->data.scalar.length, true) != 0)
			return fail(
			        r, PW_ERR_INVALID, &ev->start_mark,
			        "scalar contains a control, separator or bidirectional character",
			        NULL);
		PW_TRY(scalar_tag(r, ev, &want));
		PW_TRY(count_node(r, &ev->start_mark, 1));
		PW_TRY(resolve_scalar(r, s, want, &ev->start_mark, &v));
		anchor_name = ev->data.scalar.anchor;
		break;
	}
	case YAML_SEQUENCE_START_EVENT:
		if (!collection_tag_ok(ev->data.sequence_start.tag, "seq"))
			return fail(r, PW_ERR_INVALID, &ev->start_mark, "unsupported tag",
			            (const char *)ev->data.sequence_start.tag);
		PW_TRY(count_node(r, &ev->start_mark, 1));
		if ((v = json_array()) == NULL)
			return PW_ERR_NOMEM;
		st = parse_sequence(r, ev, depth, v);
		anchor_name = ev->data.sequence_start.anchor;
		break;
	case YAML_MAPPING_START_EVENT:
		if (!collection_tag_ok(ev->data.mapping_start.tag, "map"))
			return fail(r, PW_ERR_INVALID, &ev->start_mark, "unsupported tag",
			            (const char *)ev->data.mapping_start.tag);
		PW_TRY(count_node(r, &ev->start_mark, 1));
		if ((v = json_object()) == NULL)
			return PW_ERR_NOMEM;
		st = parse_mapping(r, ev, depth, v);
		anchor_name = ev->data.mapping_start.anchor;
		break;
	default: return fail(r, PW_ERR_SYNTAX, &ev->start_mark, "unexpected yaml event", NULL);
	}
	/* true, false and null are jansson singletons shared by every use: a
	 * position for one would be a wrong position for the others */
	if (st == PW_OK && !json_is_boolean(v) && !json_is_null(v))
		st = add_mark(r->marks, v, NULL, &ev->start_mark);
	if (st == PW_OK) {
		st = anchor_add(r, anchor_name, v);
		if (st == PW_ERR_LIMIT)
			st = fail(r, PW_ERR_TOO_LARGE, &ev->start_mark, "more than 1024 anchors",
			          NULL);
	}
	if (st != PW_OK) {
		json_decref(v);
		return st;
	}
	*out = v;
	return PW_OK;
}

/* Depth of v, counting no further than limit + 1. */
static unsigned model_depth(const json_t *v, unsigned limit)
{
	unsigned deepest = 0;
	if (limit == 0)
		return 1;
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v) && deepest <= limit; i++) {
			unsigned d = model_depth(json_array_get(v, i), limit - 1);
			if (d > deepest)
				deepest = d;
		}
	} else if (json_is_object(v)) {
		const char *k;
		json_t *m;
		json_object_foreach ((json_t *)v, k, m) {
			unsigned d = model_depth(m, limit - 1);
			if (d > deepest)
				deepest = d;
			if (deepest > limit)
				break;
		}
	}
	return deepest + 1;
}

/* Check UTF-8 before libyaml sees it, so the position is exact and NUL is refused. */
static pw_status check_text(reader *r, const char *buf, size_t len)
{
	unsigned line = 1, col = 1;
	size_t i = 0;
	while (i < len) {
		size_t n = 1;
		unsigned char c = (unsigned char)buf[i];
		if (c == 0) {
			pw_diag_add(r->diag, PW_DIAG_ERROR, line, col, "NUL byte in the file");
			return PW_ERR_UTF8;
		}
		if (c >= 0x80) {
			/* validate one sequence with the shared decoder's rules */
			size_t want = (c & 0xe0) == 0xc0   ? 2
			              : (c & 0xf0) == 0xe0 ? 3
			              : (c & 0xf8) == 0xf0 ? 4
			                                   : 0;
			if (want == 0 || want > len - i || !pw_utf8_valid(buf + i, want)) {
				pw_diag_add(r->diag, PW_DIAG_ERROR, line, col, "invalid UTF-8");
				return PW_ERR_UTF8;
			}
			n = want;
		}
		size_t dn;
		uint32_t cp = decode_valid((const unsigned char *)buf + i, &dn);
		if (refused_char(cp, true) && !(cp == 0xfeff && i == 0)) {
			pw_diag_add(r->diag, PW_DIAG_ERROR, line, col,
			            "character U+%04X is not allowed in a spec (a control, "
			            "separator or "
			            "bidirectional character)",
			            (unsigned)cp);
			return PW_ERR_INVALID;
		}
		/* line breaks as libyaml counts them: \n, \r\n, \r */
		if (c == '\n' || (c == '\r' && (i + 1 >= len || buf[i + 1] != '\n'))) {
			line++;
			col = 1;
		} else if (c != '\r') {
			col++;
		}
		i += n;
	}
	return PW_OK;
}

pw_status pw_yaml_parse(const char *buf, size_t len, const pw_yaml_limits *lim, json_t **out,
                        pw_marks **marks, pw_diag *diag)
{
	reader r;
	pw_status st = PW_OK;
	json_t *root = NULL;
	yaml_event_t ev;
	bool have_event = false;

	*out = NULL;
	*marks = NULL;
	memset(&r, 0, sizeof r);
	r.diag = diag;
	r.lim = lim ? *lim : (pw_yaml_limits){0};
	if (r.lim.max_bytes == 0)
		r.lim.max_bytes = (size_t)1 << 20;
	if (r.lim.max_depth == 0)
		r.lim.max_depth = 64;
	if (r.lim.max_nodes == 0)
		r.lim.max_nodes = 100000;

	if (len > r.lim.max_bytes) {
		pw_diag_add(diag, PW_DIAG_ERROR, 0, 0, "file is %zu bytes, over the limit of %zu",
		            len, r.lim.max_bytes);
		return PW_ERR_TOO_LARGE;
	}
	PW_TRY(check_text(&r, buf, len));
	/* a UTF-8 byte order mark: skipped (the encoding is forced to UTF-8 below) */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		buf += 3;
		len -= 3;
	}
	if ((r.marks = calloc(1, sizeof *r.marks)) == NULL)
		return PW_ERR_NOMEM;
	if (!yaml_parser_initialize(&r.parser)) {
		free(r.marks);
		return PW_ERR_NOMEM;
	}
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&r.parser, YAML_UTF8_ENCODING);

	/* STREAM-START, then exactly one document */
	st = next_event(&r, &ev);
	if (st == PW_OK) {
		yaml_event_delete(&ev);
		st = next_event(&r, &ev);
	}
	if (st == PW_OK) {
		have_event = true;
		if (ev.type == YAML_STREAM_END_EVENT) {
			pw_diag_add(diag, PW_DIAG_ERROR, 0, 0, "empty file: no YAML document");
			st = PW_ERR_SYNTAX;
		} else if (ev.type != YAML_DOCUMENT_START_EVENT) {
			st = fail(&r, PW_ERR_SYNTAX, &ev.start_mark, "expected a document", NULL);
		} else if (ev.data.document_start.version_directive != NULL &&
		           (ev.data.document_start.version_directive->major != 1 ||
		            ev.data.document_start.version_directive->minor != 2)) {
			/* 1.1 reads 0777, yes and on differently: one reading only */
			st = fail(&r, PW_ERR_INVALID, &ev.start_mark,
			          "only YAML 1.2 is read; remove the %YAML directive", NULL);
		}
	}
	if (st == PW_OK) {
		yaml_event_delete(&ev);
		have_event = false;
		st = next_event(&r, &ev);
		if (st == PW_OK) {
			have_event = true;
			st = parse_node(&r, &ev, 1, &root);
		}
		/* aliases can nest what each level alone kept under the cap */
		if (st == PW_OK && model_depth(root, r.lim.max_depth) > r.lim.max_depth) {
			pw_diag_add(diag, PW_DIAG_ERROR, 0, 0,
			            "nesting deeper than %u levels once aliases are expanded",
			            r.lim.max_depth);
			st = PW_ERR_TOO_DEEP;
		}
	}
	if (have_event) {
		yaml_event_delete(&ev);
		have_event = false;
	}
	if (st == PW_OK) {
		st = next_event(&r, &ev); /* DOCUMENT-END */
		if (st == PW_OK) {
			yaml_event_delete(&ev);
			st = next_event(&r, &ev);
		}
		if (st == PW_OK) {
			if (ev.type != YAML_STREAM_END_EVENT)
				st = fail(&r, PW_ERR_SYNTAX, &ev.start_mark,
				          "more than one YAML document", NULL);
			yaml_event_delete(&ev);
		}
	}
	for (size_t i = 0; i < r.n_anchors; i++) {
		free(r.anchors[i].name);
		json_decref(r.anchors[i].node);
	}
	free(r.anchors);
	yaml_parser_delete(&r.parser);
	if (st != PW_OK) {
		if (st == PW_ERR_NOMEM && diag->errors == 0)
			pw_diag_add(diag, PW_DIAG_ERROR, 0, 0, "out of memory");
		json_decref(root);
		pw_marks_free(r.marks);
		return st;
	}
	*out = root;
	*marks = r.marks;
	return PW_OK;
}
