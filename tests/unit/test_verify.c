/*
 * test_verify.c: the verifier's two readings of an export agree
 * (verify/verify.h): a line read in place (pw_verify_prepare() and
 * pw_verify_line(), which checks canonical lines from their bytes) and
 * the same line parsed as JSON and fed to pw_verify_event() give the same
 * report, word for word, on every log below:
 *
 *  - the recorded run of the log vectors (tests/vectors/log: every event
 *    kind and every verdict), which is VALID;
 *  - that run with each line deleted, each pair of lines swapped, a byte
 *    changed at every position of every line (into a few different bytes),
 *    and each line written in a form that is not canonical (a space,
 *    another member order, an escape that need not be there, 1.0 for 1),
 *    which is still VALID since the hash is taken of the canonical form.
 *
 * The canonical reader itself (core/canon.h) has its own property test,
 * tests/fuzz/fuzz_canon.c, replayed by the fuzz suite.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/canon.h"
#include "core/event.h"
#include "core/json.h"
#include "core/spec.h"
#include "testutil.h"
#include "verify/verify.h"

#define MAX_LINES 64

typedef struct log {
	char *text; /* owned */
	size_t off[MAX_LINES], len[MAX_LINES];
	size_t n;
} log_t;

static pw_spec *spec;
static log_t vectors;

static char *source_path(const char *rel)
{
	static char path[4096];
	const char *root = getenv("PW_SOURCE_ROOT");
	snprintf(path, sizeof path, "%s/%s", root && root[0] ? root : ".", rel);
	return path;
}

/* Cut text into lines (without their newlines). */
static void split(log_t *l)
{
	size_t start = 0, len = strlen(l->text);
	l->n = 0;
	for (size_t i = 0; i <= len && l->n < MAX_LINES; i++) {
		if (i == len && i == start)
			break;
		if (i == len || l->text[i] == '\n') {
			l->off[l->n] = start;
			l->len[l->n++] = i - start;
			start = i + 1;
		}
	}
}

static int setup(void **state)
{
	(void)state;
	size_t len = 0;
	char *text = tu_read_file(source_path("tests/vectors/log/workflow.yaml"), &len);
	pw_diag d = PW_DIAG_INIT;
	if (text == NULL || pw_spec_parse(text, len, &spec, &d) != PW_OK)
		return -1;
	pw_diag_release(&d);
	free(text);
	vectors.text = tu_read_file(source_path("tests/vectors/log/run.jsonl"), NULL);
	if (vectors.text == NULL)
		return -1;
	split(&vectors);
	return vectors.n > 2 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	pw_spec_free(spec);
	free(vectors.text);
	return 0;
}

/* The outcome of verifying lines[0..n) one way: the report, and how the reading stopped. */
typedef struct outcome {
	pw_verify_report rep;
	pw_status st; /* PW_OK, or why a line was not an event (or could not be checked) */
	char perr[256];
	size_t stopped; /* the line it stopped at */
} outcome;

static void in_place(const char *const *line, const size_t *len, size_t n, outcome *o)
{
	pw_verifier *v = NULL;
	pw_verify_prep *p = NULL;
	pw_event_hasher *h = NULL;
	memset(o, 0, sizeof *o);
	assert_int_equal(pw_verify_new(spec, &v), PW_OK);
	assert_int_equal(pw_verify_prep_new(&p), PW_OK);
	assert_int_equal(pw_event_hasher_new(&h), PW_OK);
	for (o->stopped = 0; o->stopped < n; o->stopped++) {
		assert_int_equal(pw_verify_prepare(h, p, line[o->stopped], len[o->stopped]), PW_OK);
		o->st = pw_verify_line(v, p, o->perr, sizeof o->perr);
		if (o->st != PW_OK || !pw_verify_report_get(v)->valid)
			break;
	}
	o->rep = *pw_verify_report_get(v);
	pw_event_hasher_free(h);
	pw_verify_prep_free(p);
	pw_verify_free(v);
}

/* As pitwall verify read a line before lines were read in place. */
static void as_json(const char *const *line, const size_t *len, size_t n, outcome *o)
{
	pw_verifier *v = NULL;
	const pw_json_limits lim = {PW_EVENT_MAX_BYTES, 128};
	memset(o, 0, sizeof *o);
	assert_int_equal(pw_verify_new(spec, &v), PW_OK);
	for (o->stopped = 0; o->stopped < n; o->stopped++) {
		json_t *ev = NULL;
		o->st = pw_json_parse(line[o->stopped], len[o->stopped], &lim, &ev, o->perr,
		                      sizeof o->perr);
		if (o->st == PW_OK && !json_is_object(ev)) {
			snprintf(o->perr, sizeof o->perr, "another JSON value");
			o->st = PW_ERR_INVALID;
		}
		if (o->st == PW_OK)
			o->st = pw_verify_event(v, ev);
		json_decref(ev);
		if (o->st != PW_OK || !pw_verify_report_get(v)->valid)
			break;
	}
	o->rep = *pw_verify_report_get(v);
	pw_verify_free(v);
}

/* Both readings of the lines give the same outcome; returns whether it is VALID. */
static bool agree(const char *const *line, const size_t *len, size_t n, const char *what)
{
	outcome a, b;
	in_place(line, len, n, &a);
	as_json(line, len, n, &b);
	bool same =
	        a.st == b.st && a.stopped == b.stopped && a.rep.valid == b.rep.valid &&
	        a.rep.events == b.rep.events && a.rep.bad_seq == b.rep.bad_seq &&
	        strcmp(a.rep.check, b.rep.check) == 0 && strcmp(a.rep.detail, b.rep.detail) == 0 &&
	        strcmp(a.rep.run_id, b.rep.run_id) == 0 && strcmp(a.rep.head, b.rep.head) == 0 &&
	        (a.st == PW_OK || strcmp(a.perr, b.perr) == 0);
	if (!same)
		fail_msg("%s: in place: %s %llu %s %s (%s); as JSON: %s %llu %s %s (%s)", what,
		         a.rep.valid ? "valid" : "invalid", (unsigned long long)a.rep.bad_seq,
		         a.rep.check, a.rep.detail, pw_status_name(a.st),
		         b.rep.valid ? "valid" : "invalid", (unsigned long long)b.rep.bad_seq,
		         b.rep.check, b.rep.detail, pw_status_name(b.st));
	return a.st == PW_OK && a.rep.valid;
}

/* The vector lines, with line k replaced by repl[0..rlen) (k == n: none). */
static bool agree_with(size_t k, const char *repl, size_t rlen, const char *what)
{
	const char *line[MAX_LINES];
	size_t len[MAX_LINES];
	for (size_t i = 0; i < vectors.n; i++) {
		line[i] = i == k ? repl : vectors.text + vectors.off[i];
		len[i] = i == k ? rlen : vectors.len[i];
	}
	return agree(line, len, vectors.n, what);
}

static void test_vectors_valid_both_ways(void **state)
{
	(void)state;
	assert_true(agree_with(vectors.n, NULL, 0, "the vectors"));
}

static void test_deleted_and_swapped_lines(void **state)
{
	(void)state;
	const char *line[MAX_LINES];
	size_t len[MAX_LINES];
	for (size_t k = 0; k < vectors.n; k++) {
		size_t m = 0;
		for (size_t i = 0; i < vectors.n; i++) {
			if (i == k)
				continue;
			line[m] = vectors.text + vectors.off[i];
			len[m++] = vectors.len[i];
		}
		(void)agree(line, len, m, "a line deleted");
	}
	for (size_t k = 0; k + 1 < vectors.n; k++) {
		for (size_t i = 0; i < vectors.n; i++) {
			size_t j = i == k ? k + 1 : i == k + 1 ? k : i;
			line[i] = vectors.text + vectors.off[j];
			len[i] = vectors.len[j];
		}
		assert_false(agree(line, len, vectors.n, "two lines swapped"));
	}
}

static void test_every_byte_changed(void **state)
{
	(void)state;
	static const char into[] = {'a', '"', '\\', '\0', (char)0xc3};
	size_t caught = 0, cases = 0;
	for (size_t k = 0; k < vectors.n; k++) {
		const char *src = vectors.text + vectors.off[k];
		size_t len = vectors.len[k];
		char *buf = malloc(len);
		assert_non_null(buf);
		for (size_t pos = 0; pos < len; pos++) {
			for (size_t c = 0; c < sizeof into; c++) {
				if (src[pos] == into[c])
					continue;
				memcpy(buf, src, len);
				buf[pos] = into[c];
				cases++;
				caught += !agree_with(k, buf, len, "a byte changed");
			}
		}
		free(buf);
	}
	/* a change is caught unless it leaves the same event (say, a space added) */
	assert_true(caught > cases * 9 / 10);
}

/* Replace the first from in line k with to, into buf; its length. */
static size_t rewrite(size_t k, const char *from, const char *to, char *buf, size_t cap)
{
	const char *src = vectors.text + vectors.off[k];
	size_t len = vectors.len[k];
	const char *at = memmem(src, len, from, strlen(from));
	if (at == NULL)
		return 0;
	size_t head = (size_t)(at - src), n = head;
	assert_true(len - strlen(from) + strlen(to) < cap);
	memcpy(buf, src, head);
	memcpy(buf + n, to, strlen(to));
	n += strlen(to);
	memcpy(buf + n, at + strlen(from), len - head - strlen(from));
	return n + len - head - strlen(from);
}

static void test_not_canonical_still_valid(void **state)
{
	(void)state;
	static const char *const edits[][2] = {
	        {"\":", "\": "},                /* whitespace */
	        {"{\"", " {\""},                /* whitespace before the object */
	        {"\"v\":1", "\"v\":1.0"},       /* another way to write 1 */
	        {"\"seq\":", "\"seq\" :"},      /* whitespace before a colon */
	        {"é", "\\u00e9"},               /* an escape that need not be there */
	        {"✓", "\\u2713"},               /* the same for a 3-byte character */
	        {"/", "\\/"},                   /* an escaped solidus */
	        {"\\u0007", "\\u0007 "},        /* a change: caught */
	        {"\"kind\"", "\"k\\u0069nd\""}, /* an escaped member name */
	};
	char buf[8192];
	for (size_t k = 0; k < vectors.n; k++) {
		for (size_t e = 0; e < sizeof edits / sizeof *edits; e++) {
			size_t n = rewrite(k, edits[e][0], edits[e][1], buf, sizeof buf);
			if (n == 0)
				continue;
			bool valid = agree_with(k, buf, n, edits[e][1]);
			if (e != 7)
				assert_true(valid);
		}
	}
	/* members in another order: the last two swapped */
	for (size_t k = 0; k < vectors.n; k++) {
		const char *src = vectors.text + vectors.off[k];
		pw_canon_member m[64];
		size_t n = 0, o = 0;
		assert_true(pw_canon_object(src, vectors.len[k], 128, m, 64, &n));
		buf[o++] = '{';
		for (size_t i = 0; i < n; i++) {
			size_t j = i + 2 == n ? n - 1 : i + 1 == n ? n - 2 : i;
			const char *start = m[j].name - 1, *end = m[j].value + m[j].value_len;
			if (i > 0)
				buf[o++] = ',';
			memcpy(buf + o, start, (size_t)(end - start));
			o += (size_t)(end - start);
		}
		buf[o++] = '}';
		assert_true(agree_with(k, buf, o, "members in another order"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_vectors_valid_both_ways),
	        cmocka_unit_test(test_deleted_and_swapped_lines),
	        cmocka_unit_test(test_every_byte_changed),
	        cmocka_unit_test(test_not_canonical_still_valid),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
