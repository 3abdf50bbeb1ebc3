/*
 * test_spec.c: the workflow spec reader and checker (core/yaml + core/spec).
 *
 * Table-driven: each case is a small spec text and the one error it must
 * produce (a substring, and its line). Negative cases first; then the
 * identity rules: reformatting keeps the workflow_id, meaning changes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/effects.h"
#include "core/json.h"
#include "core/spec.h"
#include "testutil.h"

#define PIN  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define PIN2 "1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* A valid spec; cases below replace one line or append text to it. */
static const char *base_spec(void)
{
	return "pitwall: 1\n"                                                              /* 1 */
	       "name: demo\n"                                                              /* 2 */
	       "owners:\n"                                                                 /* 3 */
	       "  ops-lead: {title: Ops lead}\n"                                           /* 4 */
	       "states: [INIT, READY, DONE]\n"                                             /* 5 */
	       "initial: INIT\n"                                                           /* 6 */
	       "terminal: [DONE]\n"                                                        /* 7 */
	       "default: allow\n"                                                          /* 8 */
	       "actions:\n"                                                                /* 9 */
	       "  Prepare:\n"                                                              /* 10 */
	       "    from: [INIT]\n"                                                        /* 11 */
	       "    to: READY\n"                                                           /* 12 */
	       "    input: {type: object, properties: {n: {type: integer, minimum: 1}}}\n" /* 13 */
	       "    emits: [{cap: prepared, value: {var: result.id}}]\n"                   /* 14 */
	       "    run: {program: bin/prepare, sha256: " PIN ", args: [\"{input.n}\"]}\n" /* 15 */
	       "  Finish:\n"                                                               /* 16 */
	       "    from: [READY]\n"                                                       /* 17 */
	       "    to: DONE\n"                                                            /* 18 */
	       "    input: {type: object, properties: {id: {type: string}}, required: [id]}\n" /* 19
	                                                                                        */
	       "    requires: [{cap: prepared, value: {var: input.id}}]\n"           /* 20 */
	       "    decide:\n"                                                       /* 21 */
	       "      - when: {\"==\": [{var: input.id}, \"big\"]}\n"                /* 22 */
	       "        approval: {owner: ops-lead, reason: big_one, expires: 1h}\n" /* 23 */
	       "    run: {program: bin/finish, sha256: " PIN "}\n";                  /* 24 */
}

/* base_spec() with line `line` (1-based) replaced by repl (NULL: deleted). */
static char *with_line(int line, const char *repl)
{
	const char *s = base_spec();
	size_t cap = strlen(s) + (repl ? strlen(repl) : 0) + 2;
	char *out = malloc(cap), *o = out;
	int n = 1;
	assert_non_null(out);
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = (size_t)(nl - s) + 1;
		if (n == line) {
			if (repl) {
				memcpy(o, repl, strlen(repl));
				o += strlen(repl);
				*o++ = '\n';
			}
		} else {
			memcpy(o, s, len);
			o += len;
		}
		s += len;
		n++;
	}
	*o = '\0';
	return out;
}

static pw_status parse(const char *text, pw_spec **spec, pw_diag *d)
{
	return pw_spec_parse(text, strlen(text), spec, d);
}

/* text must fail with an error containing want, at line want_line (0: any). */
static void expect_error(const char *text, const char *want, unsigned want_line)
{
	pw_diag d = PW_DIAG_INIT;
	pw_spec *spec = NULL;
	pw_status st = parse(text, &spec, &d);
	assert_int_not_equal(st, PW_OK);
	assert_null(spec);
	bool found = false;
	for (size_t i = 0; i < d.n; i++) {
		if (d.items[i].level == PW_DIAG_ERROR && strstr(d.items[i].msg, want) &&
		    (want_line == 0 || d.items[i].line == want_line))
			found = true;
	}
	if (!found) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "  got %u:%u: %s\n", d.items[i].line, d.items[i].col,
			        d.items[i].msg);
		fail_msg("no error \"%s\" at line %u", want, want_line);
	}
	pw_diag_release(&d);
}

static void expect_line_error(int line, const char *repl, const char *want, unsigned want_line)
{
	char *text = with_line(line, repl);
	expect_error(text, want, want_line);
	free(text);
}

static void test_yaml_refusals(void **state)
{
	(void)state;
	expect_error("", "empty file", 0);
	expect_error("a: [1, 2\n", "did not find expected", 0);
	expect_error("a: 1\na: 2\n", "duplicate key \"a\"", 2);
	expect_error("a: 1\n---\nb: 2\n", "more than one YAML document", 0);
	expect_error("a: !!binary aGVsbG8=\n", "unsupported tag", 1);
	expect_error("base: &b {x: 1}\nc:\n  <<: *b\n", "merge keys are not supported", 3);
	expect_error("a: .inf\n", "cannot be represented", 1);
	expect_error("a: 9007199254740993\n", "integer out of range", 1);
	expect_error("a: \"x\\0y\"\n", "NUL", 1);
	expect_error("a: *nope\n", "undefined alias", 1);
	expect_error("? [1]\n: 2\n", "mapping keys must be plain strings", 1);
	expect_error("a: \"\xff\"\n", "invalid UTF-8", 1);
	expect_error("%YAML 1.1\n---\na: 0777\n", "only YAML 1.2 is read", 0);
	expect_error("!custom a: 1\n", "unsupported tag on a key", 1);
	expect_error("!!binary a: 1\n", "unsupported tag on a key", 1);
	expect_error("a: 1e-400\n", "cannot be represented", 1);
	expect_error("a: 1e400\n", "cannot be represented", 1);
	/* controls, separators and bidirectional overrides: raw, or as escapes */
	expect_error("a: x\x1b[2Ky\n", "U+001B is not allowed", 1);
	expect_error("a: \"\\e[1A\"\n", "control, separator or bidirectional", 1);
	expect_error("b: 1\na: \xe2\x80\xae\n", "U+202E is not allowed", 2);
	expect_error("\"\\u202e\": 1\n", "key contains a control", 1);
	expect_error("a: \"\\u0085\"\n", "control, separator or bidirectional", 1);
	/* an alias bomb: 10 levels of 10 aliases each */
	char bomb[2048];
	int n = snprintf(bomb, sizeof bomb, "a0: &a0 [x,x,x,x,x,x,x,x,x,x]\n");
	for (int i = 1; i < 10; i++)
		n += snprintf(bomb + n, sizeof bomb - (size_t)n,
		              "a%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n", i,
		              i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
		              i - 1);
	expect_error(bomb, "more than 100000 nodes", 0);
	/* aliases cannot build a model deeper than the nesting cap */
	char chain[8192];
	n = snprintf(chain, sizeof chain, "a0: &a0 [[[[[[[[[[1]]]]]]]]]]\n");
	for (int i = 1; i < 10; i++)
		n += snprintf(chain + n, sizeof chain - (size_t)n,
		              "a%d: &a%d [[[[[[[[[[*a%d]]]]]]]]]]\n", i, i, i - 1);
	expect_error(chain, "nesting deeper than 64 levels", 0);
	/* at most 1024 anchors */
	size_t cap = 1100 * 24;
	char *anchors = malloc(cap);
	assert_non_null(anchors);
	size_t used = 0;
	for (int i = 0; i < 1100; i++)
		used += (size_t)snprintf(anchors + used, cap - used, "k%d: &a%d %d\n", i, i, i);
	expect_error(anchors, "more than 1024 anchors", 0);
	free(anchors);
	/* 10,000-deep nesting is refused at the limit, not by the C stack */
	size_t depth = 10000;
	char *deep = malloc(depth * 2 + 8);
	assert_non_null(deep);
	memcpy(deep, "a: ", 3);
	memset(deep + 3, '[', depth);
	memset(deep + 3 + depth, ']', depth);
	strcpy(deep + 3 + 2 * depth, "\n");
	expect_error(deep, "nesting deeper than 64", 1);
	free(deep);
}

/* A message that cuts a name short never ends inside a UTF-8 character. */
static void test_messages_are_utf8(void **state)
{
	(void)state;
	char text[512] = "a\xc3\xa9";
	for (int i = 0; i < 60; i++)
		strcat(text, "\xc3\xa9");
	size_t klen = strlen(text);
	char doc[1200];
	snprintf(doc, sizeof doc, "%.*s: 1\n%.*s: 2\n", (int)klen, text, (int)klen, text);
	pw_diag d = PW_DIAG_INIT;
	pw_spec *spec = NULL;
	assert_int_not_equal(parse(doc, &spec, &d), PW_OK);
	assert_true(d.n >= 1);
	assert_non_null(strstr(d.items[0].msg, "duplicate key"));
	for (size_t i = 0; i < d.n; i++)
		assert_true(pw_utf8_valid(d.items[i].msg, strlen(d.items[i].msg)));
	pw_diag_release(&d);
}

static void test_structure_refusals(void **state)
{
	(void)state;
	expect_line_error(2, "name: demo\nretries: 3", "unknown key \"retries\"", 3);
	expect_line_error(1, "pitwall: 2", "unsupported spec format version", 1);
	expect_line_error(1, NULL, "missing required key \"pitwall\"", 0);
	expect_line_error(8, NULL, "missing required key \"default\"", 0);
	expect_line_error(6, NULL, "missing required key \"initial\"", 0);
	expect_line_error(7, NULL, "missing required key \"terminal\"", 0);
	expect_line_error(22, "      - when: {\"==\": [{var: input.id}, \"big\"], typo: 1}",
	                  "a condition must be an operation", 22);
	expect_line_error(22, "      - when: \"false\"", "a condition must be an operation", 22);
	expect_line_error(22, "      - when: [1]", "a condition must be an operation", 22);
	expect_line_error(15,
	                  "    run: {program: bin/prepare, sha256: " PIN
	                  ", errors: {exit: {\"075\": fatal}}}",
	                  "unknown key \"errors\"", 15);
	expect_line_error(24,
	                  "    run: {program: bin/finish, sha256: " PIN "}\n"
	                  "    errors: {exit: {\"075\": fatal}}",
	                  "exit status \"075\" is not a number from 1 to 255", 25);
	expect_line_error(24,
	                  "    run: {program: bin/finish, sha256: " PIN "}\n"
	                  "    errors: {exit: {\" 75\": fatal}}",
	                  "is not a number from 1 to 255", 25);
	expect_line_error(15,
	                  "    run: {program: bin/prepare, sha256: " PIN
	                  ", env: {LD_PRELOAD: \"{input.n}\"}}",
	                  "variable \"LD_PRELOAD\" can make the program load code", 15);
	expect_line_error(15,
	                  "    run: {program: bin/prepare, sha256: " PIN ", env: {BASH_ENV: x}}",
	                  "variable \"BASH_ENV\"", 15);
	expect_line_error(
	        15, "    run: {program: bin/prepare, sha256: " PIN ", args: [\"{input.n.x}\"]}",
	        "the input schema has no property \"x\"", 15);
	expect_line_error(
	        15, "    run: {program: bin/prepare, sha256: " PIN ", args: [\"{input.n..}\"]}",
	        "malformed input path", 15);
	expect_line_error(4, "  ops-lead: {title: [Ops]}",
	                  "owners.ops-lead.title: expected a string", 4);
	expect_line_error(5, "states: INIT", "states: expected a list", 5);
	expect_line_error(5, "states: [INIT, READY, DONE, INIT]", "duplicate state \"INIT\"", 5);
	expect_line_error(6, "initial: START", "initial: unknown state \"START\"", 6);
	expect_line_error(7, "terminal: [END]", "unknown state \"END\"", 7);
	expect_line_error(8, "default: maybe", "default: expected allow", 8);
	expect_line_error(8, "default: {block: {owner: nobody, reason: x}}",
	                  "unknown owner \"nobody\"", 8);
	expect_line_error(11, "    from: [NOWHERE]", "unknown state \"NOWHERE\"", 11);
	expect_line_error(12, "    to: NOWHERE", "to: unknown state \"NOWHERE\"", 12);
	expect_line_error(13, "    input: {type: string}", "must be a mapping with type: object",
	                  13);
	expect_line_error(13,
	                  "    input: {type: object, properties: {n: {type: integer, format: x}}}",
	                  "invalid schema", 13);
	expect_line_error(
	        13, "    input: {type: object, properties: {n: {type: string, pattern: \"(\"}}}",
	        "invalid schema", 13);
	expect_line_error(14, "    emits: [{cap: Prepared, value: {var: result.id}}]",
	                  "invalid capability type \"Prepared\"", 14);
	expect_line_error(14, "    emits: [{cap: prepared, value: {bogus_op: [1]}}]",
	                  "invalid condition", 14);
	expect_line_error(15, "    run: {program: bin/prepare, sha256: abc}",
	                  "expected 64 lowercase hex digits", 15);
	expect_line_error(
	        15, "    run: {program: bin/prepare, sha256: " PIN ", args: [\"--n={input.n}\"]}",
	        "a placeholder must be the whole element", 15);
	expect_line_error(15,
	                  "    run: {program: bin/prepare, sha256: " PIN ", args: [\"{input.m}\"]}",
	                  "the input schema has no property \"m\"", 15);
	expect_line_error(
	        15, "    run: {program: bin/prepare, sha256: " PIN ", args: [\"{env.HOME}\"]}",
	        "unknown placeholder", 15);
	expect_line_error(15, "    run: {program: bin/prepare, sha256: " PIN ", timeout: 12x}",
	                  "expected a duration", 15);
	expect_line_error(15, "    run: {program: bin/prepare, sha256: " PIN ", shell: true}",
	                  "unknown key \"shell\"", 15);
	expect_line_error(23, "        approval: {owner: cfo, reason: big_one}",
	                  "unknown owner \"cfo\"", 23);
	expect_line_error(23, "        allow: false", "expected true", 23);
	expect_line_error(23, "        allow: true\n        block: {owner: ops-lead, reason: no}",
	                  "needs exactly one verdict", 22);
	expect_line_error(
	        20, "    requires: [{cap: approved}]",
	        "capability \"approved\" is not emitted by any action that can run before "
	        "Finish",
	        20);
}

/* Finish's run line (24) followed by errors (line 25). */
#define FINISH_RUN "    run: {program: bin/finish, sha256: " PIN "}\n"

/* errors.escalate at the top level: {count 1..1000, window <= 7d}, nothing else. */
static void test_escalate_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *errors;
		const char *want;
	} cases[] = {
	        {"errors: {escalate: {count: 0}}",
	         "errors.escalate.count: 0 is out of range [1, 1000]"},
	        {"errors: {escalate: {count: 1001}}",
	         "errors.escalate.count: 1001 is out of range [1, 1000]"},
	        {"errors: {escalate: {count: -3}}", "errors.escalate.count: -3 is out of range"},
	        {"errors: {escalate: {count: 2.5}}",
	         "errors.escalate.count: expected an integer, got a number"},
	        {"errors: {escalate: {count: \"5\"}}",
	         "errors.escalate.count: expected an integer, got a string"},
	        {"errors: {escalate: {window: 8d}}",
	         "errors.escalate.window: a window longer than 7 days"},
	        {"errors: {escalate: {window: 168h1m}}",
	         "errors.escalate.window: expected a duration"},
	        {"errors: {escalate: {window: 604801s}}",
	         "errors.escalate.window: a window longer than 7 days"},
	        {"errors: {escalate: {window: 604801}}",
	         "errors.escalate.window: a window longer than 7 days"},
	        {"errors: {escalate: {window: 0s}}", "errors.escalate.window: expected a duration"},
	        {"errors: {escalate: {window: 10x}}",
	         "errors.escalate.window: expected a duration"},
	        {"errors: {escalate: {window: -5}}", "errors.escalate.window: expected a duration"},
	        {"errors: {escalate: {count: 3, period: 1m}}",
	         "errors.escalate: unknown key \"period\""},
	        {"errors: {escalate: 5}", "errors.escalate: expected a mapping, got a number"},
	        {"errors: {escalate: {count: 3}, retry: {max: 1}}",
	         "errors: unknown key \"retry\""},
	        {"errors: {timeout: correctable}", "errors: unknown key \"timeout\""},
	        {"errors: {exit: {75: correctable}}", "errors: unknown key \"exit\""},
	        {"errors: [escalate]", "errors: expected a mapping, got a list"},
	};
	char buf[256];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(buf, sizeof buf, "default: allow\n%s", cases[i].errors);
		expect_line_error(8, buf, cases[i].want, 9);
	}
}

/* An action's errors: escalate as above; timeout and signal take a tier; nothing else. */
static void test_action_errors_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *errors;
		const char *want;
	} cases[] = {
	        {"{escalate: {count: 0}}",
	         "actions.Finish.errors.escalate.count: 0 is out of range [1, 1000]"},
	        {"{escalate: {count: 1001, window: 1m}}",
	         "actions.Finish.errors.escalate.count: 1001 is out of range [1, 1000]"},
	        {"{escalate: {window: 8d}}",
	         "actions.Finish.errors.escalate.window: a window longer than 7 days"},
	        {"{escalate: {window: soon}}",
	         "actions.Finish.errors.escalate.window: expected a duration"},
	        {"{escalate: {count: 2, max: 3}}",
	         "actions.Finish.errors.escalate: unknown key \"max\""},
	        {"{escalation: {count: 2}}", "actions.Finish.errors: unknown key \"escalation\""},
	        {"{timeout: policy_violation}",
	         "actions.Finish.errors.timeout: unknown tier \"policy_violation\"; expected "
	         "correctable, uncorrected or fatal"},
	        {"{signal: fatalish}",
	         "actions.Finish.errors.signal: unknown tier \"fatalish\"; expected correctable, "
	         "uncorrected or fatal"},
	        {"{signal: none}", "actions.Finish.errors.signal: unknown tier \"none\""},
	        {"{timeout: Correctable}",
	         "actions.Finish.errors.timeout: unknown tier \"Correctable\""},
	        {"{timeout: 5}", "actions.Finish.errors.timeout: expected a string, got a number"},
	        {"{signal: [fatal]}",
	         "actions.Finish.errors.signal: expected a string, got a list"},
	        {"{exit: {75: policy_violation}}",
	         "actions.Finish.errors.exit.75: unknown tier \"policy_violation\""},
	        {"{retry: {max: 11}}",
	         "actions.Finish.errors.retry.max: 11 is out of range [0, 10]"},
	        {"{retry: {max: -1}}",
	         "actions.Finish.errors.retry.max: -1 is out of range [0, 10]"},
	        {"{retry: {backoff: fast}}",
	         "actions.Finish.errors.retry.backoff: expected a duration"},
	        {"{retry: {max: 1, jitter: 1s}}",
	         "actions.Finish.errors.retry: unknown key \"jitter\""},
	        {"{retry: 3}", "actions.Finish.errors.retry: expected a mapping, got a number"},
	};
	char buf[512];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(buf, sizeof buf, FINISH_RUN "    errors: %s", cases[i].errors);
		expect_line_error(24, buf, cases[i].want, 25);
	}
}

/* text with the first from replaced by to (malloc()ed). */
static char *replaced(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	assert_non_null(at);
	size_t cap = strlen(text) + strlen(to) + 1;
	char *out = malloc(cap);
	assert_non_null(out);
	snprintf(out, cap, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	return out;
}

/* The limits themselves are accepted, and read back as the thresholds. */
static void test_escalate_accepted(void **state)
{
	(void)state;
	static const struct {
		const char *top, *action; /* top-level and Finish's errors, or "" */
		unsigned run_count, action_count;
		int64_t run_window, action_window;
	} cases[] = {
	        {"", "", 5, 5, 600000, 600000},
	        {"{escalate: {count: 1, window: 7d}}", "", 1, 1, 604800000, 604800000},
	        {"{escalate: {count: 1000, window: 604800}}", "", 1000, 1000, 604800000, 604800000},
	        {"{escalate: {count: 3}}", "{escalate: {window: 1ms}}", 3, 3, 600000, 1},
	        {"{escalate: {window: 2m}}", "{escalate: {count: 9}}", 5, 9, 120000, 120000},
	        {"{}", "{escalate: {}}", 5, 5, 600000, 600000},
	        {"", "{timeout: correctable, signal: fatal, escalate: {count: 2, window: 168h}}", 5,
	         2, 600000, 604800000},
	        {"", "{timeout: uncorrected, signal: correctable, retry: {max: 10, backoff: 1h}}",
	         5, 5, 600000, 600000},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char top[256], run[512];
		snprintf(top, sizeof top, "default: allow\n%s%s%s",
		         cases[i].top[0] ? "errors: " : "", cases[i].top,
		         cases[i].top[0] ? "\n" : "");
		snprintf(run, sizeof run, FINISH_RUN "%s%s%s",
		         cases[i].action[0] ? "    errors: " : "", cases[i].action,
		         cases[i].action[0] ? "\n" : "");
		char *t1 = replaced(base_spec(), "default: allow\n", top);
		char *t2 = replaced(t1, FINISH_RUN, run);
		pw_diag d = PW_DIAG_INIT;
		pw_spec *spec = NULL;
		if (parse(t2, &spec, &d) != PW_OK) {
			for (size_t k = 0; k < d.n; k++)
				fprintf(stderr, "  %u:%u: %s\n", d.items[k].line, d.items[k].col,
				        d.items[k].msg);
			fail_msg("case %zu does not load", i);
		}
		assert_int_equal(d.n, 0);
		pw_escalate e = pw_spec_escalate(spec, NULL);
		assert_int_equal(e.count, cases[i].run_count);
		assert_int_equal(e.window_ms, cases[i].run_window);
		e = pw_spec_escalate(spec, pw_spec_action(spec, "Finish"));
		assert_int_equal(e.count, cases[i].action_count);
		assert_int_equal(e.window_ms, cases[i].action_window);
		/* Prepare has no errors of its own: the run's */
		e = pw_spec_escalate(spec, pw_spec_action(spec, "Prepare"));
		assert_int_equal(e.count, cases[i].run_count);
		assert_int_equal(e.window_ms, cases[i].run_window);
		pw_spec_free(spec);
		pw_diag_release(&d);
		free(t1);
		free(t2);
	}
	/* the thresholds are part of the spec's meaning: its id */
	char *a = replaced(base_spec(), "default: allow\n",
	                   "default: allow\nerrors: {escalate: {count: 3}}\n");
	char *b = replaced(base_spec(), "default: allow\n",
	                   "default: allow\nerrors: {escalate: {count: 4}}\n");
	char *c = replaced(base_spec(), FINISH_RUN, FINISH_RUN "    errors: {timeout: fatal}\n");
	pw_spec *sa = NULL, *sb = NULL, *sc = NULL, *s0 = NULL;
	pw_diag d = PW_DIAG_INIT;
	assert_int_equal(parse(a, &sa, &d), PW_OK);
	assert_int_equal(parse(b, &sb, &d), PW_OK);
	assert_int_equal(parse(c, &sc, &d), PW_OK);
	assert_int_equal(parse(base_spec(), &s0, &d), PW_OK);
	assert_string_not_equal(sa->workflow_id, sb->workflow_id);
	assert_string_not_equal(sa->workflow_id, s0->workflow_id);
	assert_string_not_equal(sc->workflow_id, s0->workflow_id);
	pw_spec_free(sa);
	pw_spec_free(sb);
	pw_spec_free(sc);
	pw_spec_free(s0);
	pw_diag_release(&d);
	free(a);
	free(b);
	free(c);
}

static void test_capability_order(void **state)
{
	(void)state;
	/* Finish emits what Prepare requires: Prepare runs first, so it can never hold it */
	char *text = with_line(14, "    requires: [{cap: finished}]");
	size_t len = strlen(text);
	char *more = malloc(len + 64);
	assert_non_null(more);
	memcpy(more, text, len + 1);
	strcat(more, "    emits: [{cap: finished, value: {var: result.id}}]\n");
	expect_error(more,
	             "capability \"finished\" is not emitted by any action that can run "
	             "before Prepare",
	             14);
	free(more);
	free(text);
}

static void test_unreachable_warning(void **state)
{
	(void)state;
	char *text = with_line(5, "states: [INIT, READY, DONE, ISLAND]");
	size_t len = strlen(text);
	char *more = malloc(len + 256);
	assert_non_null(more);
	memcpy(more, text, len + 1);
	strcat(more, "  Lost:\n    from: [ISLAND]\n    input: {type: object}\n"
	             "    run: {program: bin/finish, sha256: " PIN "}\n");
	pw_diag d = PW_DIAG_INIT;
	pw_spec *spec = NULL;
	assert_int_equal(parse(more, &spec, &d), PW_OK);
	assert_int_equal(d.errors, 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.items[0].level, PW_DIAG_WARNING);
	assert_non_null(strstr(d.items[0].msg, "actions.Lost: unreachable"));
	assert_false(pw_spec_action(spec, "Lost")->reachable);
	assert_true(pw_spec_action(spec, "Finish")->reachable);
	pw_spec_free(spec);
	pw_diag_release(&d);
	free(more);
	free(text);
}

/* A diag that already holds an error must not make a bad spec look good. */
static void test_diag_reuse(void **state)
{
	(void)state;
	pw_diag d = PW_DIAG_INIT;
	pw_spec *spec = NULL;
	pw_diag_add(&d, PW_DIAG_ERROR, 1, 1, "an earlier problem");
	char *text = with_line(20, "    requires: [{cap: approved}]");
	assert_int_equal(parse(text, &spec, &d), PW_ERR_INVALID);
	assert_null(spec);
	assert_int_equal(d.errors, 2);
	pw_diag_release(&d);
	free(text);
}

/*
 * Large graphs stay linear: 1000 states, one action from every state to
 * every state that emits x, one that requires it (this took minutes with
 * a quartic check). No timing here: a hang shows as the test's timeout.
 */
static void test_large_graph(void **state)
{
	(void)state;
	size_t cap = 64 * 1024, n = 0;
	char *t = malloc(cap);
	assert_non_null(t);
	n += (size_t)snprintf(t + n, cap - n, "pitwall: 1\nname: big\nowners: {}\nstates: [S0");
	for (int i = 1; i < 1000; i++)
		n += (size_t)snprintf(t + n, cap - n, ", S%d", i);
	n += (size_t)snprintf(t + n, cap - n,
	                      "]\ninitial: S0\nterminal: [S999]\ndefault: allow\nactions:\n"
	                      "  A:\n    from: &all [S0");
	for (int i = 1; i < 1000; i++)
		n += (size_t)snprintf(t + n, cap - n, ", S%d", i);
	n += (size_t)snprintf(t + n, cap - n,
	                      "]\n    to: [{state: S1, when: true}, {state: S999}]\n"
	                      "    input: {type: object}\n"
	                      "    emits: [{cap: x, value: 1}]\n"
	                      "    run: {program: a, sha256: " PIN "}\n"
	                      "  B:\n    from: *all\n    input: {type: object}\n"
	                      "    requires: [{cap: x}]\n"
	                      "    run: {program: b, sha256: " PIN "}\n");
	pw_diag d = PW_DIAG_INIT;
	pw_spec *spec = NULL;
	assert_int_equal(parse(t, &spec, &d), PW_OK);
	assert_int_equal(d.errors, 0);
	pw_spec_free(spec);
	pw_diag_release(&d);
	free(t);
}

static void id_of(const char *text, char id[PW_WORKFLOW_ID_LEN + 1])
{
	pw_diag d = PW_DIAG_INIT;
	pw_spec *spec = NULL;
	if (parse(text, &spec, &d) != PW_OK) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "  %u:%u: %s\n", d.items[i].line, d.items[i].col,
			        d.items[i].msg);
		fail_msg("spec did not parse");
	}
	memcpy(id, spec->workflow_id, PW_WORKFLOW_ID_LEN + 1);
	pw_spec_free(spec);
	pw_diag_release(&d);
}

static void test_id_ignores_formatting(void **state)
{
	(void)state;
	char a[PW_WORKFLOW_ID_LEN + 1], b[PW_WORKFLOW_ID_LEN + 1];
	id_of(base_spec(), a);
	assert_int_equal(strlen(a), PW_WORKFLOW_ID_LEN);
	assert_memory_equal(a, "sha256:", 7);

	/* the same meaning: block style, other key order, quotes, comments, anchors */
	const char *same =
	        "\xef\xbb\xbf# a byte order mark, a comment, and an anchor used below\n"
	        "name: 'demo'\n"
	        "pitwall: 1.0\n"
	        "states:\n  - INIT\n  - \"READY\"\n  - &done DONE\n"
	        "terminal: [*done]\n"
	        "initial: INIT   # trailing comment\n"
	        "owners: {\"ops-lead\": {title: \"Ops lead\"}}\n"
	        "default: allow\n"
	        "actions:\n"
	        "  Finish:\n"
	        "    to: *done\n"
	        "    from: [READY]\n"
	        "    input:\n      type: object\n      required: [id]\n"
	        "      properties: {id: &str {type: string}}\n"
	        "    requires:\n      - cap: prepared\n        value: {var: input.id}\n"
	        "    decide:\n"
	        "      - approval: {reason: big_one, owner: ops-lead, expires: 1h}\n"
	        "        when: {'==': [{var: input.id}, big]}\n"
	        "    run: {sha256: " PIN ", program: bin/finish}\n"
	        "  Prepare:\n"
	        "    from: [INIT]\n"
	        "    to: READY\n"
	        "    input: {properties: {n: {minimum: 1, type: integer}}, type: object}\n"
	        "    emits: [{value: {var: result.id}, cap: prepared}]\n"
	        "    run: {program: bin/prepare, sha256: " PIN ", args: ['{input.n}']}\n";
	id_of(same, b);
	assert_string_equal(a, b);
}

static void test_id_changes_with_meaning(void **state)
{
	(void)state;
	char base[PW_WORKFLOW_ID_LEN + 1], other[PW_WORKFLOW_ID_LEN + 1];
	id_of(base_spec(), base);
	struct {
		int line;
		const char *repl;
	} changes[] = {
	        /* a state */
	        {5, "states: [INIT, READY, DONE, EXTRA]"},
	        /* a bound */
	        {13, "    input: {type: object, properties: {n: {type: integer, minimum: 2}}}"},
	        /* a rule */
	        {22, "      - when: {\"==\": [{var: input.id}, \"huge\"]}"},
	        /* an executor pin */
	        {15, "    run: {program: bin/prepare, sha256: " PIN2 ", args: [\"{input.n}\"]}"},
	        /* a pattern */
	        {19, "    input: {type: object, properties: {id: {type: string, pattern: \"^a\"}}, "
	             "required: [id]}"},
	};
	for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
		char *text = with_line(changes[i].line, changes[i].repl);
		id_of(text, other);
		if (strcmp(base, other) == 0)
			fail_msg("change %zu kept the id", i);
		free(text);
	}
}

/* effects: each rule of docs/SPEC.md, *effects*, refused with its message. */
static void test_effects_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *effects;
		const char *want;
	} cases[] = {
	        /* paths */
	        {"{read: [data]}",
	         "actions.Finish.effects.read[0]: path \"data\": must be absolute, or start with "
	         "{spec.dir} or {run.dir}"},
	        {"{read: [\"/a/../b\"]}", "read[0]: path \"/a/../b\": a \".\" or \"..\" component"},
	        {"{read: [\"/a/..\"]}", "a \".\" or \"..\" component"},
	        {"{write: [\"{run.dir}/./x\"]}",
	         "effects.write[0]: path \"{run.dir}/./x\": a \".\" or \"..\" component"},
	        {"{read: [\"{input.n}\"]}",
	         "effects.read[0]: path \"{input.n}\": an input placeholder is refused: the agent "
	         "writes the input, and must not choose what the sandbox opens"},
	        {"{write: [\"/srv/{input.n}\"]}", "an input placeholder is refused"},
	        {"{write: [\"{run.dir}x\"]}",
	         "effects.write[0]: path \"{run.dir}x\": a placeholder must be followed by \"/\" "
	         "or nothing"},
	        {"{read: [\"{spec.dir}..\"]}",
	         "a placeholder must be followed by \"/\" or nothing"},
	        {"{read: [\"{run.id}/x\"]}",
	         "unknown placeholder; a path may start with {spec.dir} or {run.dir}"},
	        {"{read: [\"/a/{b}\"]}",
	         "\"{\" and \"}\" may appear only in a leading {spec.dir} or {run.dir}"},
	        {"{read: [\"{spec.dir}/{run.dir}\"]}", "\"{\" and \"}\" may appear only"},
	        {"{read: [\"/a}\"]}", "\"{\" and \"}\" may appear only"},
	        {"{read: [\"/a//b\"]}", "path \"/a//b\": an empty component (\"//\")"},
	        {"{read: [\"//\"]}", "an empty component"},
	        {"{read: [\"/a/\"]}", "path \"/a/\": a trailing \"/\""},
	        {"{write: [\"{run.dir}/\"]}", "a trailing \"/\""},
	        {"{read: [\"\"]}", "effects.read[0]: path \"\": must not be empty"},
	        {"{read: [\"/a\", \"/b\", \"/a\"]}", "effects.read[2]: duplicate path \"/a\""},
	        {"{read: [1]}", "effects.read[0]: expected a string, got a number"},
	        {"{read: /a}", "effects.read: expected a list, got a string"},
	        /* net */
	        {"{net: []}", "effects.net: an empty list; for no network write net: none"},
	        {"{net: all}",
	         "effects.net: expected none or a list of \"host:port\", got \"all\""},
	        {"{net: {a: 1}}",
	         "effects.net: expected none or a list of \"host:port\", got a mapping"},
	        {"{net: [443]}", "effects.net[0]: expected a string, got a number"},
	        {"{net: [example.com]}",
	         "effects.net[0]: endpoint \"example.com\": expected \"host:port\""},
	        {"{net: [\"example.com:0\"]}",
	         "endpoint \"example.com:0\": the port must be a number from 1 to 65535 written "
	         "plainly"},
	        {"{net: [\"example.com:65536\"]}", "the port must be a number from 1 to 65535"},
	        {"{net: [\"example.com:080\"]}", "the port must be a number from 1 to 65535"},
	        {"{net: [\"example.com:+80\"]}", "the port must be a number from 1 to 65535"},
	        {"{net: [\"example.com: 80\"]}", "the port must be a number from 1 to 65535"},
	        {"{net: [\"example.com:\"]}", "the port must be a number from 1 to 65535"},
	        {"{net: [\"example.com:4430000\"]}", "the port must be a number from 1 to 65535"},
	        {"{net: [\":443\"]}", "endpoint \":443\": the host must be 1 to 253 bytes"},
	        {"{net: [\"-bad.com:443\"]}", "endpoint \"-bad.com:443\": invalid host name"},
	        {"{net: [\"bad-.com:443\"]}", "invalid host name"},
	        {"{net: [\"a..b:443\"]}", "invalid host name"},
	        {"{net: [\"exa_mple.com:443\"]}", "invalid host name"},
	        {"{net: [\"example.com.:443\"]}", "invalid host name"},
	        {"{net: [\"a b:443\"]}", "invalid host name"},
	        {"{net: "
	         "[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com:1\"]}",
	         "invalid host name"},
	        {"{net: [\"256.1.1.1:443\"]}",
	         "endpoint \"256.1.1.1:443\": invalid IPv4 address (a dotted quad)"},
	        {"{net: [\"1.2.3:443\"]}", "invalid IPv4 address"},
	        {"{net: [\"01.2.3.4:443\"]}", "invalid IPv4 address"},
	        {"{net: [\"::1:443\"]}",
	         "endpoint \"::1:443\": an IPv6 address must be in brackets, as in "
	         "\"[::1]:443\""},
	        {"{net: [\"[::1]\"]}", "endpoint \"[::1]\": expected \"[IPv6]:port\""},
	        {"{net: [\"[::1]443\"]}", "expected \"[IPv6]:port\""},
	        {"{net: [\"[::g]:443\"]}", "endpoint \"[::g]:443\": invalid IPv6 address"},
	        {"{net: [\"[1.2.3.4]:443\"]}", "invalid IPv6 address"},
	        {"{net: [\"[fe80::1%eth0]:443\"]}", "invalid IPv6 address"},
	        {"{net: [\"[]:443\"]}", "the host must be 1 to 253 bytes"},
	        {"{net: [\"[::1]:0\"]}", "the port must be a number from 1 to 65535"},
	        {"{net: [\"a.com:443\", \"A.COM:443\"]}",
	         "effects.net[1]: duplicate endpoint \"A.COM:443\""},
	        {"{net: [\"[::1]:443\", \"[0:0::1]:443\"]}", "duplicate endpoint \"[0:0::1]:443\""},
	        /* limits */
	        {"{limits: {memory: 1GiB, disk: 1GiB}}",
	         "actions.Finish.effects.limits: unknown key \"disk\""},
	        {"{limits: 5}", "effects.limits: expected a mapping, got a number"},
	        {"{limits: {memory: 512KiB}}",
	         "effects.limits.memory: 524288 bytes is out of range [1MiB, 64GiB]"},
	        {"{limits: {memory: 65GiB}}", "bytes is out of range [1MiB, 64GiB]"},
	        {"{limits: {memory: 1048575}}",
	         "effects.limits.memory: 1048575 bytes is out of range [1MiB, 64GiB]"},
	        {"{limits: {memory: 256MB}}",
	         "effects.limits.memory: expected a size: an integer number of bytes, or digits "
	         "and KiB, MiB, GiB or TiB, such as \"256MiB\""},
	        {"{limits: {memory: 256mib}}", "effects.limits.memory: expected a size"},
	        {"{limits: {memory: \"256 MiB\"}}", "effects.limits.memory: expected a size"},
	        {"{limits: {memory: 0256MiB}}", "effects.limits.memory: expected a size"},
	        {"{limits: {memory: 1.5GiB}}", "effects.limits.memory: expected a size"},
	        {"{limits: {memory: 1.5}}", "effects.limits.memory: expected a size"},
	        {"{limits: {memory: -1}}", "effects.limits.memory: expected a size"},
	        {"{limits: {memory: \"1048576\"}}", "effects.limits.memory: expected a size"},
	        {"{limits: {memory: 99999999TiB}}", "effects.limits.memory: expected a size"},
	        {"{limits: {file_size: 1023}}",
	         "effects.limits.file_size: 1023 bytes is out of range [1KiB, 1TiB]"},
	        {"{limits: {file_size: 2TiB}}", "is out of range [1KiB, 1TiB]"},
	        {"{limits: {file_size: 64MB}}", "effects.limits.file_size: expected a size"},
	        {"{limits: {cpu: 30x}}",
	         "effects.limits.cpu: expected a duration such as \"120s\", \"10m\" or \"6h\""},
	        {"{limits: {cpu: 0s}}", "effects.limits.cpu: expected a duration"},
	        {"{limits: {procs: 0}}", "effects.limits.procs: 0 is out of range [1, 4096]"},
	        {"{limits: {procs: 4097}}", "effects.limits.procs: 4097 is out of range [1, 4096]"},
	        {"{limits: {procs: 1.5}}", "effects.limits.procs: expected an integer"},
	        {"{limits: {procs: 32k}}", "effects.limits.procs: expected an integer"},
	        {"{limits: {open_files: 15}}",
	         "effects.limits.open_files: 15 is out of range [16, 65536]"},
	        {"{limits: {open_files: 65537}}", "65537 is out of range [16, 65536]"},
	        /* downgrade and the mapping itself */
	        {"{downgrade: [docker]}",
	         "effects.downgrade[0]: unknown feature \"docker\"; expected landlock_fs, "
	         "landlock_net, landlock_scope, netns, seccomp or pids"},
	        {"{downgrade: [netns, seccomp, netns]}",
	         "effects.downgrade[2]: duplicate feature \"netns\""},
	        {"{downgrade: netns}", "effects.downgrade: expected a list, got a string"},
	        {"{downgrade: [landlock_fs, landlock_net, landlock_scope, netns, seccomp, pids, "
	         "pids]}",
	         "effects.downgrade: more than 6 entries"},
	        {"{downgrade: [NETNS]}", "unknown feature \"NETNS\""},
	        {"{sandbox: true}", "actions.Finish.effects: unknown key \"sandbox\""},
	        {"{read: [/a], exec: [/b]}", "actions.Finish.effects: unknown key \"exec\""},
	        {"none", "actions.Finish.effects: expected a mapping, got a string"},
	};
	char buf[512];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(buf, sizeof buf, FINISH_RUN "    effects: %s", cases[i].effects);
		expect_line_error(24, buf, cases[i].want, 25);
	}
	/* effects belong to the action, not to run */
	expect_line_error(24,
	                  "    run: {program: bin/finish, sha256: " PIN ", effects: {net: none}}",
	                  "actions.Finish.run: unknown key \"effects\"", 24);

	/* at most 64 paths in a list, each at most 1024 bytes */
	char *many = malloc(4096), *text;
	assert_non_null(many);
	int n = snprintf(many, 4096, FINISH_RUN "    effects:\n      read: [/p0");
	for (int i = 1; i < PW_EFFECTS_MAX_PATHS + 1; i++)
		n += snprintf(many + n, 4096 - (size_t)n, ", /p%d", i);
	snprintf(many + n, 4096 - (size_t)n, "]");
	expect_line_error(24, many, "actions.Finish.effects.read: more than 64 entries", 26);
	text = replaced(many, ", /p64]", "]");
	char *ok = with_line(24, text);
	pw_diag d = PW_DIAG_INIT;
	pw_spec *spec = NULL;
	assert_int_equal(parse(ok, &spec, &d), PW_OK);
	pw_effects e;
	pw_action_effects(pw_spec_action(spec, "Finish"), &e);
	assert_int_equal(e.n_read, PW_EFFECTS_MAX_PATHS);
	assert_string_equal(e.read[63], "/p63");
	pw_spec_free(spec);
	pw_diag_release(&d);
	free(ok);
	free(text);

	size_t cap = PW_EFFECTS_PATH_MAX + 512;
	char *lng = malloc(cap);
	assert_non_null(lng);
	size_t head = (size_t)snprintf(lng, cap, FINISH_RUN "    effects: {write: [\"");
	memset(lng + head, 'a', PW_EFFECTS_PATH_MAX);
	lng[head] = '/';
	snprintf(lng + head + PW_EFFECTS_PATH_MAX, cap - head - PW_EFFECTS_PATH_MAX, "\"]}");
	text = with_line(24, lng);
	pw_spec *sp = NULL;
	assert_int_equal(parse(text, &sp, &d), PW_OK); /* exactly 1024 bytes */
	pw_spec_free(sp);
	pw_diag_release(&d);
	free(text);
	lng[head + PW_EFFECTS_PATH_MAX] = 'b';
	snprintf(lng + head + PW_EFFECTS_PATH_MAX + 1, cap - head - PW_EFFECTS_PATH_MAX - 1,
	         "\"]}");
	expect_line_error(24, lng, "longer than 1024 bytes", 25);
	free(lng);
	free(many);
}

/* text (Finish's run line and what follows it) in place of line 24; must load cleanly. */
static pw_spec *load_finish(const char *text)
{
	char *t = with_line(24, text);
	pw_diag d = PW_DIAG_INIT;
	pw_spec *spec = NULL;
	if (parse(t, &spec, &d) != PW_OK || d.n != 0) {
		for (size_t k = 0; k < d.n; k++)
			fprintf(stderr, "  %u:%u: %s\n", d.items[k].line, d.items[k].col,
			        d.items[k].msg);
		fail_msg("spec does not load cleanly:\n%s", text);
	}
	pw_diag_release(&d);
	free(t);
	return spec;
}

static void test_effects_defaults(void **state)
{
	(void)state;
	pw_effects e;
	pw_spec *spec = load_finish(FINISH_RUN);
	pw_action_effects(pw_spec_action(spec, "Finish"), &e);
	assert_int_equal(e.n_read, 0);
	assert_int_equal(e.n_write, 1);
	assert_string_equal(e.write[0], "{run.dir}");
	assert_int_equal(e.n_net, 0);
	assert_int_equal(e.memory, PW_LIMIT_MEMORY_DEFAULT);
	assert_int_equal(e.memory, 1024 * 1024 * 1024);
	assert_int_equal(e.wall_ms, 60000);
	assert_int_equal(e.cpu_ms, 60000);
	assert_int_equal(e.procs, 64);
	assert_int_equal(e.file_size, (uint64_t)1 << 30);
	assert_int_equal(e.open_files, 256);
	assert_int_equal(e.downgrade, 0);
	assert_int_equal(pw_effects_needs(&e), PW_FEAT_LANDLOCK_FS | PW_FEAT_LANDLOCK_SCOPE |
	                                               PW_FEAT_SECCOMP | PW_FEAT_PIDS |
	                                               PW_FEAT_NETNS);
	pw_spec_free(spec);

	/* cpu defaults to run.timeout; an empty effects and limits change nothing else */
	spec = load_finish("    run: {program: bin/finish, sha256: " PIN ", timeout: 5m}\n"
	                   "    effects: {net: none, limits: {}}");
	pw_action_effects(pw_spec_action(spec, "Finish"), &e);
	assert_int_equal(e.wall_ms, 300000);
	assert_int_equal(e.cpu_ms, 300000);
	assert_int_equal(e.n_net, 0);
	assert_int_equal(e.n_write, 1);
	assert_string_equal(e.write[0], "{run.dir}");
	assert_int_equal(e.procs, PW_LIMIT_PROCS_DEFAULT);
	assert_int_equal(e.open_files, PW_LIMIT_OPEN_FILES_DEFAULT);
	pw_spec_free(spec);

	/* write: [] is no write at all, not the default */
	spec = load_finish(FINISH_RUN "    effects: {write: [], read: []}");
	pw_action_effects(pw_spec_action(spec, "Finish"), &e);
	assert_int_equal(e.n_write, 0);
	assert_int_equal(e.n_read, 0);
	pw_spec_free(spec);

	/* Prepare has no effects either: the same defaults */
	spec = load_finish(FINISH_RUN "    effects: {write: [/tmp]}");
	pw_action_effects(pw_spec_action(spec, "Prepare"), &e);
	assert_int_equal(e.n_write, 1);
	assert_string_equal(e.write[0], "{run.dir}");
	pw_spec_free(spec);
}

static void test_effects_values(void **state)
{
	(void)state;
	pw_effects e;
	pw_spec *spec = load_finish(
	        "    run: {program: bin/finish, sha256: " PIN ", timeout: 2m}\n"
	        "    effects:\n"
	        "      read: [\"{spec.dir}/data\", /etc/ssl/certs, /, \"{spec.dir}\", "
	        "/a.b/..c/...]\n"
	        "      write: [\"{run.dir}\", \"{run.dir}/out\", /tmp/x]\n"
	        "      net: [\"[::1]:443\", \"Example.COM:8443\", \"10.0.0.1:1\", "
	        "\"[2001:db8::1]:65535\", \"a-b.c0:80\", \"[::ffff:1.2.3.4]:22\", \"x:443\", "
	        "\"x:444\"]\n"
	        "      limits: {memory: 256MiB, cpu: 30s, procs: 32, file_size: 64MiB, open_files: "
	        "64}\n"
	        "      downgrade: [netns, landlock_scope]\n");
	pw_action_effects(pw_spec_action(spec, "Finish"), &e);
	assert_int_equal(e.n_read, 5);
	assert_string_equal(e.read[0], "{spec.dir}/data");
	assert_string_equal(e.read[1], "/etc/ssl/certs");
	assert_string_equal(e.read[2], "/");
	assert_string_equal(e.read[3], "{spec.dir}");
	assert_string_equal(e.read[4], "/a.b/..c/...");
	assert_int_equal(e.n_write, 3);
	assert_string_equal(e.write[0], "{run.dir}");
	assert_string_equal(e.write[1], "{run.dir}/out");
	assert_string_equal(e.write[2], "/tmp/x");
	assert_int_equal(e.n_net, 8);
	assert_string_equal(e.net[0].host, "::1");
	assert_int_equal(e.net[0].port, 443);
	assert_string_equal(e.net[1].host, "Example.COM");
	assert_int_equal(e.net[1].port, 8443);
	assert_string_equal(e.net[2].host, "10.0.0.1");
	assert_int_equal(e.net[2].port, 1);
	assert_string_equal(e.net[3].host, "2001:db8::1");
	assert_int_equal(e.net[3].port, 65535);
	assert_string_equal(e.net[4].host, "a-b.c0");
	assert_string_equal(e.net[5].host, "::ffff:1.2.3.4");
	assert_int_equal(e.net[5].port, 22);
	assert_int_equal(e.net[7].port, 444);
	assert_int_equal(e.memory, 256u << 20);
	assert_int_equal(e.cpu_ms, 30000);
	assert_int_equal(e.wall_ms, 120000);
	assert_int_equal(e.procs, 32);
	assert_int_equal(e.file_size, 64u << 20);
	assert_int_equal(e.open_files, 64);
	assert_int_equal(e.downgrade, PW_FEAT_NETNS | PW_FEAT_LANDLOCK_SCOPE);
	assert_int_equal(pw_effects_needs(&e), PW_FEAT_LANDLOCK_FS | PW_FEAT_LANDLOCK_SCOPE |
	                                               PW_FEAT_SECCOMP | PW_FEAT_PIDS |
	                                               PW_FEAT_LANDLOCK_NET);
	char id[PW_WORKFLOW_ID_LEN + 1], base[PW_WORKFLOW_ID_LEN + 1];
	memcpy(id, spec->workflow_id, sizeof id);
	pw_spec_free(spec);
	id_of(base_spec(), base);
	assert_string_not_equal(id, base); /* effects are part of the spec's meaning */

	/* the bounds themselves, in bytes and in units */
	spec = load_finish(FINISH_RUN "    effects:\n"
	                              "      limits: {memory: 1048576, file_size: 1TiB, procs: 1, "
	                              "open_files: 16, cpu: 1ms}");
	pw_action_effects(pw_spec_action(spec, "Finish"), &e);
	assert_int_equal(e.memory, PW_LIMIT_MEMORY_MIN);
	assert_int_equal(e.file_size, PW_LIMIT_FILE_SIZE_MAX);
	assert_int_equal(e.procs, 1);
	assert_int_equal(e.open_files, 16);
	assert_int_equal(e.cpu_ms, 1);
	assert_int_equal(e.wall_ms, 60000);
	pw_spec_free(spec);
	spec = load_finish(FINISH_RUN "    effects:\n"
	                              "      limits: {memory: 64GiB, file_size: 1KiB, procs: 4096, "
	                              "open_files: 65536, cpu: 90}\n"
	                              "      downgrade: [landlock_fs, landlock_net, "
	                              "landlock_scope, netns, seccomp, pids]");
	pw_action_effects(pw_spec_action(spec, "Finish"), &e);
	assert_int_equal(e.memory, PW_LIMIT_MEMORY_MAX);
	assert_int_equal(e.file_size, 1024);
	assert_int_equal(e.procs, 4096);
	assert_int_equal(e.open_files, 65536);
	assert_int_equal(e.cpu_ms, 90000);
	assert_int_equal(e.downgrade, PW_FEAT_ALL);
	pw_spec_free(spec);
}

static void test_features(void **state)
{
	(void)state;
	static const char *const names[] = {"landlock_fs", "landlock_net", "landlock_scope",
	                                    "netns",       "seccomp",      "pids"};
	unsigned all = 0;
	for (unsigned i = 0; i < PW_FEAT_COUNT; i++) {
		assert_string_equal(pw_feature_name(1u << i), names[i]);
		assert_int_equal(pw_feature_by_name(names[i]), 1u << i);
		all |= pw_feature_by_name(names[i]);
	}
	assert_int_equal(all, PW_FEAT_ALL);
	assert_int_equal(PW_FEAT_NETNS, pw_feature_by_name("netns"));
	assert_null(pw_feature_name(0));
	assert_null(pw_feature_name(3));
	assert_null(pw_feature_name(1u << PW_FEAT_COUNT));
	assert_int_equal(pw_feature_by_name(""), 0);
	assert_int_equal(pw_feature_by_name("Netns"), 0);

	pw_effects e;
	memset(&e, 0, sizeof e);
	assert_int_equal(pw_effects_needs(&e), PW_FEAT_ALL & ~PW_FEAT_LANDLOCK_NET);
	e.n_net = 1;
	assert_int_equal(pw_effects_needs(&e), PW_FEAT_ALL & ~PW_FEAT_NETNS);

	pw_endpoint a, b;
	assert_null(pw_endpoint_parse("[::1]:443", &a));
	assert_string_equal(a.host, "::1");
	assert_int_equal(a.port, 443);
	assert_null(pw_endpoint_parse("[0::1]:443", &b));
	assert_true(pw_endpoint_same(&a, &b));
	assert_null(pw_endpoint_parse("[::1]:444", &b));
	assert_false(pw_endpoint_same(&a, &b));
	assert_null(pw_endpoint_parse("127.0.0.1:443", &b));
	assert_false(pw_endpoint_same(&a, &b));
	assert_non_null(pw_endpoint_parse("", &b));
	assert_non_null(pw_endpoint_parse("[", &b));
	assert_non_null(pw_endpoint_parse("[:1", &b));
	assert_non_null(pw_endpoint_parse(":", &b));

	assert_null(pw_effects_path_problem("/"));
	assert_null(pw_effects_path_problem("{run.dir}"));
	assert_non_null(pw_effects_path_problem("/."));
	assert_non_null(pw_effects_path_problem("{run.dir}/.."));
	assert_non_null(pw_effects_path_problem("{run.dir"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_yaml_refusals),
	        cmocka_unit_test(test_messages_are_utf8),
	        cmocka_unit_test(test_structure_refusals),
	        cmocka_unit_test(test_escalate_refusals),
	        cmocka_unit_test(test_action_errors_refusals),
	        cmocka_unit_test(test_escalate_accepted),
	        cmocka_unit_test(test_effects_refusals),
	        cmocka_unit_test(test_effects_defaults),
	        cmocka_unit_test(test_effects_values),
	        cmocka_unit_test(test_features),
	        cmocka_unit_test(test_capability_order),
	        cmocka_unit_test(test_unreachable_warning),
	        cmocka_unit_test(test_diag_reuse),
	        cmocka_unit_test(test_large_graph),
	        cmocka_unit_test(test_id_ignores_formatting),
	        cmocka_unit_test(test_id_changes_with_meaning),
	};
	return cmocka_run_group_tests_name("spec", tests, NULL, NULL);
}
