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
#include "core/decide.h"
#include "core/event.h"
#include "core/json.h"
#include "core/outcome.h"
#include "core/record.h"
#include "core/run.h"
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

#define PIN  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define PIN2 "1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define T0   INT64_C(1700000000000)
#define H1   INT64_C(3600000)

/*
 * Open mints nothing; Flaky fails correctably on exit 75 (escalating at
 * the second such failure in a minute) and fatally on exit 3; Close over
 * 10 waits for ops-lead.
 */
static const char ras_text[] = "pitwall: 1\n"
                               "name: ras\n"
                               "owners:\n"
                               "  ops-lead: {title: Ops lead}\n"
                               "states: [INIT, OPEN, CLOSED]\n"
                               "initial: INIT\n"
                               "terminal: [CLOSED]\n"
                               "default: allow\n"
                               "actions:\n"
                               "  Open:\n"
                               "    from: [INIT]\n"
                               "    to: OPEN\n"
                               "    input: {type: object}\n"
                               "    run: {program: bin/open, sha256: " PIN "}\n"
                               "  Flaky:\n"
                               "    from: [OPEN]\n"
                               "    input: {type: object}\n"
                               "    errors:\n"
                               "      exit: {75: correctable, 3: fatal}\n"
                               "      escalate: {count: 2, window: 1m}\n"
                               "    run: {program: bin/flaky, sha256: " PIN "}\n"
                               "  Close:\n"
                               "    from: [OPEN]\n"
                               "    to: CLOSED\n"
                               "    input:\n"
                               "      type: object\n"
                               "      properties: {amount: {type: integer}}\n"
                               "      required: [amount]\n"
                               "    decide:\n"
                               "      - when: {\">\": [{var: input.amount}, 10]}\n"
                               "        approval: {owner: ops-lead, reason: over_10, expires: 1h}\n"
                               "    run: {program: bin/close, sha256: " PIN "}\n";

static pw_spec *ras;

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
	if (pw_spec_parse(ras_text, strlen(ras_text), &ras, &d) != PW_OK)
		return -1;
	pw_diag_release(&d);
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
	pw_spec_free(ras);
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

static void in_place(const pw_spec *s, const char *const *line, const size_t *len, size_t n,
                     outcome *o)
{
	pw_verifier *v = NULL;
	pw_verify_prep *p = NULL;
	pw_event_hasher *h = NULL;
	memset(o, 0, sizeof *o);
	assert_int_equal(pw_verify_new(s, &v), PW_OK);
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
static void as_json(const pw_spec *s, const char *const *line, const size_t *len, size_t n,
                    outcome *o)
{
	pw_verifier *v = NULL;
	const pw_json_limits lim = {PW_EVENT_MAX_BYTES, 128};
	memset(o, 0, sizeof *o);
	assert_int_equal(pw_verify_new(s, &v), PW_OK);
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

/*
 * Both readings of the lines, against spec s, give the same outcome (left
 * in *out when out is not NULL); returns whether it is VALID.
 */
static bool agree_spec(const pw_spec *s, const char *const *line, const size_t *len, size_t n,
                       const char *what, outcome *out)
{
	outcome a, b;
	in_place(s, line, len, n, &a);
	as_json(s, line, len, n, &b);
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
	if (out != NULL)
		*out = b;
	return a.st == PW_OK && a.rep.valid;
}

/* Both readings of the lines, against the vectors' spec, agree; whether it is VALID. */
static bool agree(const char *const *line, const size_t *len, size_t n, const char *what)
{
	return agree_spec(spec, line, len, n, what, NULL);
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
		/* every byte, each into one of the replacements in turn (all five at every byte
		   replays the log five times as often, minutes under ASan) */
		for (size_t pos = 0; pos < len; pos++) {
			for (size_t c = (pos + k) % sizeof into; c < sizeof into;
			     c += sizeof into) {
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

/* ---- logs of the follow-up and owner events, built here ------------------------- */

#define MAX_EVENTS 48

/*
 * A log written as the broker writes it: each call decided by the core
 * against the run folded so far and recorded with what must follow it;
 * each result computed and recorded with what must follow it.
 */
typedef struct tlog {
	json_t *ev[MAX_EVENTS]; /* owned; sealed */
	size_t n;
	pw_run run; /* folded from ev[0..n) */
	int64_t t;  /* the time of the next step */
	/* the last allowed call, for its result */
	char call_id[32];
	char action[32];
	json_t *input; /* owned */
} tlog;

/* Seal ev (stolen) as the next event at time_ms and fold it; the test fails unless it folds. */
static void tl_append(tlog *l, json_t *ev, int64_t time_ms)
{
	char err[256];
	assert_non_null(ev);
	assert_true(l->n < MAX_EVENTS);
	const char *prev =
	        l->n == 0 ? pw_event_genesis_prev : pw_event_str(l->ev[l->n - 1], "hash");
	assert_int_equal(pw_event_seal(ev, "run-v", l->n, prev, time_ms), PW_OK);
	if (pw_run_fold(&l->run, ev, err, sizeof err) != PW_OK)
		fail_msg("the log's own event %zu does not fold: %s", l->n, err);
	l->ev[l->n++] = ev;
}

/*
 * Seal ev (stolen) as the next event at time_ms without folding it: an
 * event the broker would not write, which the log's state does not see.
 */
static void tl_push(tlog *l, json_t *ev, int64_t time_ms)
{
	assert_non_null(ev);
	assert_true(l->n < MAX_EVENTS);
	const char *prev =
	        l->n == 0 ? pw_event_genesis_prev : pw_event_str(l->ev[l->n - 1], "hash");
	assert_int_equal(pw_event_seal(ev, "run-v", l->n, prev, time_ms), PW_OK);
	l->ev[l->n++] = ev;
}

static void tl_append_all(tlog *l, json_t *list, int64_t time_ms)
{
	assert_non_null(list);
	for (size_t i = 0; i < json_array_size(list); i++)
		tl_append(l, json_incref(json_array_get(list, i)), time_ms);
	json_decref(list);
}

static void tl_begin(tlog *l)
{
	memset(l, 0, sizeof *l);
	pw_run_init(&l->run);
	l->t = T0;
	tl_append(l,
	          json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "genesis", "workflow_id",
	                    ras->workflow_id, "workflow", "ras", "state", "INIT", "agent",
	                    "agent-7"),
	          l->t);
	l->t += 1000;
}

/*
 * agent calls action with input (JSON text) and program pin prog; the
 * verdict. With fold false, the call event is decided and pushed as the
 * next event but not folded, and nothing follows it.
 */
static pw_verdict tl_call_as(tlog *l, const char *agent, const char *action, const char *input,
                             const char *prog, bool fold)
{
	json_error_t je;
	json_t *in = json_loads(input, 0, &je);
	assert_non_null(in);
	pw_call c = {
	        .action = action,
	        .input = in,
	        .agent = agent,
	        .now_ms = l->t,
	        .spec_id = ras->workflow_id,
	        .program_sha256 = prog,
	};
	pw_decision d;
	char call_id[32];
	uint64_t seq = l->n;
	snprintf(call_id, sizeof call_id, "c%llu", (unsigned long long)seq);
	assert_int_equal(pw_decide(ras, &l->run, &c, &d), PW_OK);
	pw_verdict v = d.verdict;
	json_t *after = pw_record_after_call(&d, agent, seq);
	json_t *ev = pw_record_call(l->run.state, &c, &d, call_id);
	pw_decision_release(&d);
	if (fold) {
		tl_append(l, ev, l->t);
		tl_append_all(l, after, l->t);
	} else {
		tl_push(l, ev, l->t);
		json_decref(after);
	}
	if (v == PW_VERDICT_ALLOW && fold) {
		snprintf(l->call_id, sizeof l->call_id, "%s", call_id);
		snprintf(l->action, sizeof l->action, "%s", action);
		json_decref(l->input);
		l->input = json_incref(in);
	}
	json_decref(in);
	l->t += 1000;
	return v;
}

static pw_verdict tl_call(tlog *l, const char *agent, const char *action, const char *input,
                          const char *prog)
{
	return tl_call_as(l, agent, action, input, prog, true);
}

/* The last allowed call exits with status (0: with the result {}). */
static void tl_result(tlog *l, int status)
{
	json_t *res = json_object();
	pw_exec_record rec = {.how = PW_HOW_EXITED, .exit_status = status, .result = res};
	pw_outcome o;
	const pw_action *a = pw_spec_action(ras, l->action);
	assert_non_null(a);
	json_t *ev = pw_record_result(ras, a, &l->run, l->input, l->call_id, &rec, l->t, &o);
	assert_non_null(ev);
	uint64_t seq = l->n;
	tl_append(l, ev, l->t);
	tl_append_all(l, pw_record_after_result(&o, l->call_id, l->action, seq), l->t);
	pw_outcome_release(&o);
	json_decref(res);
	l->t += 1000;
}

/* An owner's approve (or deny) of the approval request approval_id. */
static void tl_decide(tlog *l, const char *approval_id, const char *by, bool approve)
{
	const pw_pending *p = pw_run_pending(&l->run, approval_id);
	assert_non_null(p);
	tl_append(l,
	          approve ? pw_record_approve(p, by, "root", NULL)
	                  : pw_record_deny(p, by, "root", "no"),
	          l->t);
	l->t += 1000;
}

static void tl_free(tlog *l)
{
	for (size_t i = 0; i < l->n; i++)
		json_decref(l->ev[i]);
	json_decref(l->input);
	pw_run_release(&l->run);
	memset(l, 0, sizeof *l);
}

/* Seal ev[from..n) again after an edit: a forger who rewrites the chain. */
static void tl_reseal(tlog *l, size_t from)
{
	for (size_t i = from; i < l->n; i++) {
		const char *prev =
		        i == 0 ? pw_event_genesis_prev : pw_event_str(l->ev[i - 1], "hash");
		assert_int_equal(pw_event_seal(l->ev[i], "run-v", i, prev, 0), PW_OK);
	}
}

/* Remove event k (and seal what follows again). */
static void tl_remove(tlog *l, size_t k)
{
	assert_true(k < l->n);
	json_decref(l->ev[k]);
	memmove(&l->ev[k], &l->ev[k + 1], (l->n - k - 1) * sizeof l->ev[0]);
	l->n--;
	tl_reseal(l, k);
}

/* Insert ev (stolen) at k with time_ms (and seal what follows again). */
static void tl_insert(tlog *l, size_t k, json_t *ev, int64_t time_ms)
{
	assert_non_null(ev);
	assert_true(k <= l->n && l->n < MAX_EVENTS);
	memmove(&l->ev[k + 1], &l->ev[k], (l->n - k) * sizeof l->ev[0]);
	assert_int_equal(json_object_set_new(ev, "time_ms", json_integer(time_ms)), 0);
	l->ev[k] = ev;
	l->n++;
	tl_reseal(l, k);
}

/* Set member key of event k to value (stolen; NULL: delete it) and seal again. */
static void tl_edit(tlog *l, size_t k, const char *key, json_t *value)
{
	assert_true(k < l->n);
	if (value == NULL)
		assert_int_equal(json_object_del(l->ev[k], key), 0);
	else
		assert_int_equal(json_object_set_new(l->ev[k], key, value), 0);
	tl_reseal(l, k);
}

/* The kind of event k. */
static const char *tl_kind(const tlog *l, size_t k)
{
	return pw_event_str(l->ev[k], "kind");
}

/*
 * Verify the log both ways (the readings must agree word for word); the
 * report, which the caller checks.
 */
static outcome tl_verify(const tlog *l, const char *what)
{
	char *text[MAX_EVENTS];
	const char *line[MAX_EVENTS];
	size_t len[MAX_EVENTS];
	for (size_t i = 0; i < l->n; i++) {
		assert_int_equal(pw_event_dump(l->ev[i], &text[i], &len[i]), PW_OK);
		line[i] = text[i];
	}
	outcome o;
	(void)agree_spec(ras, line, len, l->n, what, &o);
	for (size_t i = 0; i < l->n; i++)
		free(text[i]);
	return o;
}

static void expect_valid(const tlog *l, const char *what)
{
	outcome o = tl_verify(l, what);
	if (o.st != PW_OK || !o.rep.valid)
		fail_msg("%s: VIOLATION at %llu: %s: %s", what, (unsigned long long)o.rep.bad_seq,
		         o.rep.check, o.rep.detail);
	assert_int_equal(o.rep.events, l->n);
}

/* The log must be a VIOLATION at event bad_seq, of check, with exactly detail. */
static void expect_violation(const tlog *l, uint64_t bad_seq, const char *check, const char *detail,
                             const char *what)
{
	outcome o = tl_verify(l, what);
	assert_int_equal(o.st, PW_OK);
	if (o.rep.valid)
		fail_msg("%s: VALID, want a violation of %s at %llu", what, check,
		         (unsigned long long)bad_seq);
	if (o.rep.bad_seq != bad_seq || strcmp(o.rep.check, check) != 0 ||
	    strcmp(o.rep.detail, detail) != 0)
		fail_msg("%s: VIOLATION at %llu: %s: %s; want at %llu: %s: %s", what,
		         (unsigned long long)o.rep.bad_seq, o.rep.check, o.rep.detail,
		         (unsigned long long)bad_seq, check, detail);
	assert_int_equal(o.rep.events, bad_seq);
}

/* genesis, Open (allowed, ok): the run in OPEN at seq 3. */
static void tl_open(tlog *l)
{
	tl_begin(l);
	assert_int_equal(tl_call(l, "agent-7", "Open", "{}", PIN), PW_VERDICT_ALLOW);
	tl_result(l, 0);
	assert_int_equal(l->n, 3);
	assert_string_equal(l->run.state, "OPEN");
}

/* A changed program halts the run: the halt must follow its call, and only then. */
static void test_followup_halt(void **state)
{
	(void)state;
	tlog l;
	tl_open(&l);
	/* 3 call CODE_HASH_MISMATCH, 4 halt, 5 call RUN_HALTED, 6 resume, 7 call allowed */
	assert_int_equal(tl_call(&l, "agent-7", "Flaky", "{}", PIN2), PW_VERDICT_REJECT);
	assert_string_equal(tl_kind(&l, 4), "halt");
	assert_int_equal(tl_call(&l, "agent-7", "Flaky", "{}", PIN), PW_VERDICT_REJECT);
	assert_string_equal(pw_event_str(l.ev[5], "reason"), "RUN_HALTED");
	tl_append(&l, pw_record_resume(&l.run, "ops-lead", "root", NULL), l.t);
	assert_int_equal(tl_call(&l, "agent-7", "Flaky", "{}", PIN), PW_VERDICT_ALLOW);
	expect_valid(&l, "a fatal call, its halt, a resume");

	/* the halt left out: the event after the call is not the halt */
	json_t *halt = json_incref(l.ev[4]);
	tl_remove(&l, 4);
	expect_violation(&l, 4, "followup", "event 3 requires a halt event next, not a call",
	                 "the halt left out");
	/* ... or changed */
	tl_insert(&l, 4, json_deep_copy(halt), T0 + 3000);
	expect_valid(&l, "the halt put back");
	tl_edit(&l, 4, "frozen", json_true());
	expect_violation(&l, 4, "followup", "frozen: recorded true, event 3 requires false",
	                 "the halt frozen");
	tl_edit(&l, 4, "frozen", json_false());
	tl_edit(&l, 4, "cause", json_integer(2));
	/* read back, every number is a real, which the detail shows as jansson prints it */
	expect_violation(&l, 4, "followup", "cause: recorded 2.0, event 3 requires 3.0",
	                 "the halt's cause changed");
	tl_edit(&l, 4, "cause", json_integer(3));
	tl_edit(&l, 4, "reason", json_string("RUN_HALTED"));
	expect_violation(&l, 4, "followup",
	                 "reason: recorded \"RUN_HALTED\", event 3 requires \"CODE_HASH_MISMATCH\"",
	                 "the halt's reason changed");
	tl_edit(&l, 4, "reason", json_string("CODE_HASH_MISMATCH"));
	tl_edit(&l, 4, "note", json_string("x"));
	expect_violation(&l, 4, "followup", "note: recorded \"x\", event 3 requires absent",
	                 "a member added to the halt");
	tl_edit(&l, 4, "note", NULL);
	tl_edit(&l, 4, "tier", NULL);
	expect_violation(&l, 4, "followup", "tier: absent, event 3 requires it",
	                 "a member taken from the halt");
	tl_edit(&l, 4, "tier", json_string("fatal"));
	expect_valid(&l, "the halt restored");

	/* a halt that no fault asks for: after an allowed call's result, or twice */
	tl_insert(&l, 3, json_deep_copy(halt), T0 + 2500);
	expect_violation(&l, 3, "followup", "a halt event that no fault before it calls for",
	                 "a halt nobody asked for");
	tl_remove(&l, 3);
	tl_insert(&l, 5, json_deep_copy(halt), T0 + 3000);
	expect_violation(&l, 5, "followup", "a halt event that no fault before it calls for",
	                 "a second halt");
	tl_remove(&l, 5);
	/* a lockout or escalate nobody asked for */
	tl_insert(&l, 3,
	          json_pack("{s:s, s:s, s:s, s:i}", "kind", "lockout", "agent", "agent-7", "reason",
	                    "UNKNOWN_ACTION", "cause", 2),
	          T0 + 2500);
	expect_violation(&l, 3, "followup", "a lockout event that no fault before it calls for",
	                 "a lockout nobody asked for");
	tl_remove(&l, 3);
	expect_valid(&l, "back as it was");

	/* resume: by an owner of the spec, of a halted run */
	json_decref(l.ev[6]);
	l.ev[6] = json_pack("{s:s, s:s, s:i, s:s, s:s}", "kind", "resume", "reason",
	                    "CODE_HASH_MISMATCH", "halt", 4, "by", "mallory", "os_user", "root");
	tl_reseal(&l, 6);
	expect_violation(&l, 6, "resume", "by \"mallory\" is not an owner of the spec",
	                 "resume by a stranger");
	tl_edit(&l, 6, "by", json_string("ops-lead"));
	expect_valid(&l, "resume by the owner");
	/* ... naming the halt it lifts */
	tl_edit(&l, 6, "halt", json_integer(3));
	expect_violation(&l, 6, "resume",
	                 "seq 6: resume names halt 3 (CODE_HASH_MISMATCH), not the halt at 4 "
	                 "(CODE_HASH_MISMATCH)",
	                 "resume of another halt");
	tl_edit(&l, 6, "halt", json_integer(4));
	tl_edit(&l, 6, "os_user", NULL);
	expect_violation(&l, 6, "resume", "a resume without by and os_user",
	                 "resume without os_user");
	json_decref(halt);
	tl_free(&l);

	/* a resume of a run that is not halted */
	tl_open(&l);
	tl_push(&l, pw_record_resume(&l.run, "ops-lead", "root", NULL), l.t);
	expect_violation(&l, 3, "resume", "seq 3: resume of a run that is not halted",
	                 "a resume with no halt");
	tl_free(&l);
}

/* A fatal result halts the run: its halt follows the result. */
static void test_followup_fatal_result(void **state)
{
	(void)state;
	tlog l;
	tl_open(&l);
	assert_int_equal(tl_call(&l, "agent-7", "Flaky", "{}", PIN), PW_VERDICT_ALLOW);
	tl_result(&l, 3); /* 4: result, 5: halt */
	assert_string_equal(tl_kind(&l, 5), "halt");
	assert_int_equal(pw_event_int(l.ev[5], "cause"), 4);
	assert_int_equal(tl_call(&l, "agent-7", "Flaky", "{}", PIN), PW_VERDICT_REJECT);
	expect_valid(&l, "a fatal result and its halt");
	tl_remove(&l, 5);
	expect_violation(&l, 5, "followup", "event 4 requires a halt event next, not a call",
	                 "the halt of a fatal result left out");
	tl_free(&l);
}

/* A policy violation: a frozen halt, then the lockout, then only an operator's events. */
static void test_followup_policy_violation(void **state)
{
	(void)state;
	tlog l;
	tl_open(&l);
	/* 3 call UNKNOWN_ACTION, 4 halt (frozen), 5 lockout */
	assert_int_equal(tl_call(&l, "agent-7", "Refund", "{}", PIN), PW_VERDICT_REJECT);
	assert_string_equal(tl_kind(&l, 4), "halt");
	assert_string_equal(tl_kind(&l, 5), "lockout");
	assert_true(l.run.frozen);
	expect_valid(&l, "a policy violation");

	/* a call after the freeze: decided as recorded, but it cannot be there */
	tlog m;
	tl_open(&m);
	assert_int_equal(tl_call(&m, "agent-7", "Refund", "{}", PIN), PW_VERDICT_REJECT);
	assert_int_equal(tl_call_as(&m, "agent-8", "Flaky", "{}", PIN, false), PW_VERDICT_REJECT);
	assert_string_equal(pw_event_str(m.ev[6], "reason"), "RUN_HALTED");
	expect_violation(&m, 6, "fold",
	                 "seq 6: a call event after the run was frozen (only an operator's deny, "
	                 "resolve or unlock may follow)",
	                 "a call after a freeze");
	tl_free(&m);

	/* the lockout left out, or before the halt */
	json_t *lockout = json_incref(l.ev[5]);
	json_t *halt = json_incref(l.ev[4]);
	tl_remove(&l, 5);
	tl_push(&l,
	        json_pack("{s:s, s:s, s:s, s:s}", "kind", "unlock", "agent", "agent-7", "by",
	                  "ops-lead", "os_user", "root"),
	        l.t);
	expect_violation(&l, 5, "followup", "event 3 requires a lockout event next, not a unlock",
	                 "the lockout left out");
	tl_remove(&l, 5);
	tl_remove(&l, 4);
	tl_insert(&l, 4, json_deep_copy(lockout), T0 + 3000);
	tl_insert(&l, 5, json_deep_copy(halt), T0 + 3000);
	expect_violation(&l, 4, "followup", "event 3 requires a halt event next, not a lockout",
	                 "lockout before halt");
	tl_remove(&l, 4);
	tl_insert(&l, 5, json_deep_copy(lockout), T0 + 3000);
	expect_valid(&l, "in order again");
	tl_edit(&l, 5, "agent", json_string("agent-8"));
	expect_violation(&l, 5, "followup",
	                 "agent: recorded \"agent-8\", event 3 requires \"agent-7\"",
	                 "another agent locked out");
	tl_edit(&l, 5, "agent", json_string("agent-7"));

	/* unlock: of the agent locked out, once */
	tl_push(&l, pw_record_unlock(pw_run_lockout(&l.run, "agent-7"), "ops-lead", "root", NULL),
	        l.t);
	expect_valid(&l, "an unlock");
	tl_edit(&l, 6, "lockout", json_integer(4));
	expect_violation(&l, 6, "unlock",
	                 "seq 6: unlock names another lockout than the one at 5 (UNKNOWN_ACTION)",
	                 "an unlock of another lockout");
	tl_edit(&l, 6, "lockout", json_integer(5));
	tl_push(&l,
	        json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "kind", "unlock", "agent", "agent-7",
	                  "reason", "UNKNOWN_ACTION", "lockout", 5, "by", "ops-lead", "os_user",
	                  "root"),
	        l.t);
	expect_violation(&l, 7, "unlock",
	                 "seq 7: unlock of agent-7, whom this run did not lock out",
	                 "a second unlock");
	json_decref(lockout);
	json_decref(halt);
	tl_free(&l);
}

/* The second correctable failure of Flaky within a minute is escalated: escalate follows. */
static void test_followup_escalate(void **state)
{
	(void)state;
	tlog l;
	tl_open(&l);
	assert_int_equal(tl_call(&l, "agent-7", "Flaky", "{}", PIN), PW_VERDICT_ALLOW);
	tl_result(&l, 75); /* 4: correctable */
	assert_string_equal(pw_event_str(l.ev[4], "tier"), "correctable");
	assert_int_equal(tl_call(&l, "agent-7", "Flaky", "{}", PIN), PW_VERDICT_ALLOW);
	tl_result(&l, 75); /* 6: escalated to uncorrected, 7: escalate */
	assert_string_equal(pw_event_str(l.ev[6], "tier"), "uncorrected");
	assert_string_equal(tl_kind(&l, 7), "escalate");
	assert_int_equal(tl_call(&l, "agent-7", "Close", "{\"amount\": 5}", PIN), PW_VERDICT_ALLOW);
	expect_valid(&l, "an escalation");

	/* every member of escalate is what the result requires */
	static const struct {
		const char *key;
		const char *value; /* JSON; NULL: deleted */
		const char *detail;
	} edits[] = {
	        /* numbers read back are reals, shown as "3.0"; escalate's own are integers */
	        {"count", "3", "count: recorded 3.0, event 6 requires 2"},
	        {"threshold", "1", "threshold: recorded 1.0, event 6 requires 2"},
	        {"window_ms", "600000", "window_ms: recorded 600000.0, event 6 requires 60000"},
	        {"scope", "\"run\"", "scope: recorded \"run\", event 6 requires \"action\""},
	        {"action", "\"Close\"", "action: recorded \"Close\", event 6 requires \"Flaky\""},
	        {"call_id", "\"c3\"", "call_id: recorded \"c3\", event 6 requires \"c5\""},
	        {"cause", "4", "cause: recorded 4.0, event 6 requires 6.0"},
	        {"cause", NULL, "cause: absent, event 6 requires it"},
	};
	for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
		json_t *was = json_incref(json_object_get(l.ev[7], edits[i].key));
		json_t *v =
		        edits[i].value ? json_loads(edits[i].value, JSON_DECODE_ANY, NULL) : NULL;
		tl_edit(&l, 7, edits[i].key, v);
		expect_violation(&l, 7, "followup", edits[i].detail, edits[i].key);
		tl_edit(&l, 7, edits[i].key, was);
	}
	expect_valid(&l, "escalate restored");

	/* the escalate left out; an escalate after a failure that does not escalate */
	json_t *esc = json_incref(l.ev[7]);
	tl_remove(&l, 7);
	expect_violation(&l, 7, "followup", "event 6 requires a escalate event next, not a call",
	                 "the escalate left out");
	tl_insert(&l, 5, esc, T0 + 4000);
	expect_violation(&l, 5, "followup", "a escalate event that no fault before it calls for",
	                 "an escalate after the first failure");
	tl_free(&l);
}

/* Approvals: by the request's owner, before it lapses, once; an allow needs one. */
static void test_approval_events(void **state)
{
	(void)state;
	tlog l;
	tl_open(&l);
	/* 3 approval a3; 4 repeat (a3); 5 approve; 6 allow APPROVED; 7 result; 8 a new request */
	assert_int_equal(tl_call(&l, "agent-7", "Close", "{\"amount\": 50}", PIN),
	                 PW_VERDICT_APPROVAL);
	assert_int_equal(tl_call(&l, "agent-7", "Close", "{\"amount\": 50}", PIN),
	                 PW_VERDICT_APPROVAL);
	assert_string_equal(pw_event_str(l.ev[4], "approval_id"), "a3");
	tl_decide(&l, "a3", "ops-lead", true);
	assert_int_equal(tl_call(&l, "agent-7", "Close", "{\"amount\": 50}", PIN),
	                 PW_VERDICT_ALLOW);
	assert_string_equal(pw_event_str(l.ev[6], "reason"), "APPROVED");
	assert_string_equal(pw_event_str(l.ev[6], "approval_id"), "a3");
	tl_result(&l, 1);
	assert_int_equal(tl_call(&l, "agent-7", "Close", "{\"amount\": 50}", PIN),
	                 PW_VERDICT_APPROVAL);
	assert_string_equal(pw_event_str(l.ev[8], "approval_id"), "a8");
	tl_decide(&l, "a8", "ops-lead", false);
	expect_valid(&l, "approve, use, deny");

	/* approved by someone who is not its owner */
	tl_edit(&l, 5, "by", json_string("mallory"));
	expect_violation(&l, 5, "approval", "seq 5: approval a3 is for owner ops-lead, not mallory",
	                 "approve by a non-owner");
	tl_edit(&l, 5, "by", json_string("ops-lead"));
	/* of a request that is not there */
	tl_edit(&l, 5, "approval_id", json_string("a99"));
	expect_violation(&l, 5, "approval", "approve of a99, which is not waiting",
	                 "approve of an unknown id");
	tl_edit(&l, 5, "approval_id", json_string("a3"));
	/* of another call */
	tl_edit(&l, 5, "call_id", json_string("c4"));
	expect_violation(&l, 5, "approval", "call_id: recorded \"c4\", the spec gives \"c3\"",
	                 "approve naming another call");
	tl_edit(&l, 5, "call_id", json_string("c3"));
	/* when it has lapsed */
	int64_t expires = pw_event_int(l.ev[3], "expires_ms");
	assert_int_equal(expires, T0 + 3000 + H1);
	tl_edit(&l, 5, "time_ms", json_integer(expires));
	expect_violation(&l, 5, "approval", "seq 5: approval a3 expired before it was approved",
	                 "approve after expiry");
	tl_edit(&l, 5, "time_ms", json_integer(expires - 1));
	expect_valid(&l, "approved a ms before expiry");
	tl_edit(&l, 5, "time_ms", json_integer(T0 + 5000));
	/* used when it has lapsed: the call asks anew */
	tl_edit(&l, 6, "time_ms", json_integer(expires));
	expect_violation(&l, 6, "decision",
	                 "verdict: recorded \"allow\", the spec gives \"approval\"",
	                 "an approval used after expiry");
	tl_edit(&l, 6, "time_ms", json_integer(expires - 1));
	expect_valid(&l, "an approval used a ms before expiry");
	tl_edit(&l, 6, "time_ms", json_integer(T0 + 6000));
	expect_valid(&l, "restored");
	/* twice */
	json_t *twice = json_deep_copy(l.ev[5]);
	tl_insert(&l, 6, twice, T0 + 5500);
	expect_violation(&l, 6, "approval", "seq 6: approval a3 was approved already",
	                 "approved twice");
	tl_remove(&l, 6);
	/* a deny says why */
	tl_edit(&l, 9, "reason", NULL);
	expect_violation(&l, 9, "approval", "a deny without a reason", "a deny without a reason");
	tl_edit(&l, 9, "reason", json_string("no"));
	/* denied by a non-owner */
	tl_edit(&l, 9, "by", json_string("mallory"));
	expect_violation(&l, 9, "approval", "seq 9: approval a8 is for owner ops-lead, not mallory",
	                 "deny by a non-owner");
	tl_edit(&l, 9, "by", json_string("ops-lead"));
	expect_valid(&l, "restored again");

	/* an allow APPROVED without the approve before it: the spec still waits */
	json_t *approve = json_incref(l.ev[5]);
	tl_remove(&l, 5);
	tl_edit(&l, 5, "call_id", json_string("c5"));
	expect_violation(&l, 5, "decision",
	                 "verdict: recorded \"allow\", the spec gives \"approval\"",
	                 "allowed without an approval");
	/* ... and an approval used twice */
	tl_insert(&l, 5, approve, T0 + 5000);
	tl_edit(&l, 6, "call_id", json_string("c6"));
	expect_valid(&l, "approve put back");
	json_t *again = json_deep_copy(l.ev[6]);
	assert_int_equal(json_object_set_new(again, "call_id", json_string("c8")), 0);
	json_decref(l.ev[8]);
	l.ev[8] = again;
	tl_reseal(&l, 8);
	expect_violation(&l, 8, "decision",
	                 "verdict: recorded \"allow\", the spec gives \"approval\"",
	                 "an approval used twice");
	tl_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_vectors_valid_both_ways),
	        cmocka_unit_test(test_deleted_and_swapped_lines),
	        cmocka_unit_test(test_every_byte_changed),
	        cmocka_unit_test(test_not_canonical_still_valid),
	        cmocka_unit_test(test_followup_halt),
	        cmocka_unit_test(test_followup_fatal_result),
	        cmocka_unit_test(test_followup_policy_violation),
	        cmocka_unit_test(test_followup_escalate),
	        cmocka_unit_test(test_approval_events),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
