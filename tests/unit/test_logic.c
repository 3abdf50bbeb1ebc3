/*
 * test_logic.c: the bounded JSON Logic evaluator.
 *
 * 1. The official JSON Logic suite (../shared/vectors/jsonlogic/tests.json,
 *    277 cases), read from $PW_VECTORS, once as pw_json_parse() gives it
 *    (numbers as reals) and once through json_loads() (integers).
 * 2. JavaScript corners: a table of rules whose expected results come from
 *    json-logic-js 2.0.5 run under Node.js and written with JSON.stringify()
 *    (so NaN and the infinities read null); NULL marks a rule that throws.
 * 3. Negative cases: unknown operators, the step, depth, nesting and string
 *    bounds, malformed arguments for every operator, the static check,
 *    log's silence, and every allocation failing in turn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "core/logic.h"
#include "testutil.h"

#define ERRLEN 256

static const pw_json_limits big_json = {(size_t)1 << 20, 64};

static json_t *parse_or_fail(const char *text)
{
	json_t *v = NULL;
	char err[ERRLEN];
	pw_status st = pw_json_parse(text, strlen(text), &big_json, &v, err, sizeof err);
	if (st != PW_OK)
		fail_msg("cannot parse %s: %s", text, err);
	return v;
}

/* Compact JSON of v for messages; free() it. */
static char *dump(const json_t *v)
{
	char *s = v != NULL ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	return s != NULL ? s : strdup("(none)");
}

/* Evaluate rule text on data text. */
static pw_status eval_text(const char *rule_text, const char *data_text, const pw_logic_limits *lim,
                           json_t **out, char *err)
{
	json_t *rule = parse_or_fail(rule_text);
	json_t *data = data_text != NULL ? parse_or_fail(data_text) : NULL;
	pw_status st = pw_logic_eval(rule, data, lim, out, err, ERRLEN);
	json_decref(rule);
	json_decref(data);
	return st;
}

static void want_value(const char *rule_text, const char *data_text, const char *want_text)
{
	char err[ERRLEN];
	json_t *out = NULL, *want = parse_or_fail(want_text);
	pw_status st = eval_text(rule_text, data_text, NULL, &out, err);
	if (st != PW_OK)
		fail_msg("rule %s data %s: %s: %s", rule_text, data_text, pw_status_name(st), err);
	if (!pw_json_equal(out, want)) {
		char *got = dump(out);
		print_error("rule %s data %s: got %s, want %s\n", rule_text, data_text, got,
		            want_text);
		free(got);
		fail();
	}
	json_decref(out);
	json_decref(want);
}

/* Evaluation fails with status want and a message containing msg. */
static void want_error(const char *rule_text, const char *data_text, const pw_logic_limits *lim,
                       pw_status want, const char *msg)
{
	char err[ERRLEN];
	json_t *out = (json_t *)0x1;
	pw_status st = eval_text(rule_text, data_text, lim, &out, err);
	if (st != want)
		fail_msg("rule %.200s: got %s (%s), want %s", rule_text, pw_status_name(st), err,
		         pw_status_name(want));
	assert_null(out);
	if (strstr(err, msg) == NULL)
		fail_msg("rule %.200s: message \"%s\" lacks \"%s\"", rule_text, err, msg);
}

/* Same for a rule and data built in memory. */
static void want_error_json(const json_t *rule, const json_t *data, const pw_logic_limits *lim,
                            pw_status want, const char *msg)
{
	char err[ERRLEN];
	json_t *out = (json_t *)0x1;
	pw_status st = pw_logic_eval(rule, data, lim, &out, err, sizeof err);
	if (st != want)
		fail_msg("got %s (%s), want %s", pw_status_name(st), err, pw_status_name(want));
	assert_null(out);
	if (strstr(err, msg) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err, msg);
}

/* ---- the official suite ------------------------------------------------ */

static char *read_vectors(size_t *len)
{
	const char *dir = getenv("PW_VECTORS");
	char path[4096];
	if (dir == NULL || dir[0] == '\0')
		fail_msg("PW_VECTORS is not set: it must name the shared vectors directory "
		         "(../shared/vectors); meson test sets it");
	snprintf(path, sizeof path, "%s/jsonlogic/tests.json", dir);
	char *buf = tu_read_file(path, len);
	if (buf == NULL)
		fail_msg("cannot read the JSON Logic suite %s (PW_VECTORS=%s)", path, dir);
	return buf;
}

static void run_suite(const json_t *all, const char *how)
{
	size_t total = 0, passed = 0;
	char err[ERRLEN];

	assert_true(json_is_array(all));
	for (size_t i = 0; i < json_array_size(all); i++) {
		const json_t *c = json_array_get(all, i);
		if (json_is_string(c))
			continue; /* a comment between groups */
		if (!json_is_array(c) || json_array_size(c) != 3)
			fail_msg("entry %zu of the suite is not [rule, data, expected]", i);
		const json_t *rule = json_array_get(c, 0), *data = json_array_get(c, 1),
		             *want = json_array_get(c, 2);
		json_t *out = NULL;
		total++;
		pw_status st = pw_logic_eval(rule, data, NULL, &out, err, sizeof err);
		pw_status cst = pw_logic_check(rule, NULL, err, sizeof err);
		if (st == PW_OK && cst == PW_OK && pw_json_equal(out, want)) {
			passed++;
		} else {
			char *r = dump(rule), *d = dump(data), *w = dump(want), *g = dump(out);
			print_error("jsonlogic case %zu (%s): rule %s data %s: want %s, got %s "
			            "(eval %s, check %s: %s)\n",
			            total, how, r, d, w, g, pw_status_name(st), pw_status_name(cst),
			            err);
			free(r), free(d), free(w), free(g);
		}
		json_decref(out);
	}
	print_message("jsonlogic vectors (%s): %zu of %zu passed\n", how, passed, total);
	assert_int_equal(total, 277);
	assert_int_equal(passed, total);
}

static void test_vectors(void **state)
{
	size_t len = 0;
	char err[ERRLEN];
	json_t *all = NULL;
	(void)state;

	char *buf = read_vectors(&len);
	pw_status st = pw_json_parse(buf, len, &big_json, &all, err, sizeof err);
	free(buf);
	if (st != PW_OK)
		fail_msg("cannot parse the JSON Logic suite: %s", err);
	run_suite(all, "reals");
	json_decref(all);
}

/* The same suite with jansson's own integers, which the evaluator must accept. */
static void test_vectors_integers(void **state)
{
	size_t len = 0;
	json_error_t jerr;
	(void)state;

	char *buf = read_vectors(&len);
	json_t *all = json_loadb(buf, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (all == NULL)
		fail_msg("cannot parse the JSON Logic suite: %s", jerr.text);
	run_suite(all, "integers");
	json_decref(all);
}

/* ---- JavaScript corners ------------------------------------------------ */

static const struct js_case {
	const char *rule;
	const char *data;
	const char *want; /* NULL: json-logic-js throws, we return PW_ERR_INVALID */
} js_cases[] = {
        {"{\"var\":{}}", "{\"a\":1}", "null"},
        {"{\"substr\":[]}", "null", "\"undefined\""},
        {"{\"var\":[[]]}", "{\"\":5}", "5"},
        {"{\"missing_some\":[]}", "null", NULL},
        {"{\"*\":[]}", "null", NULL},
        {"{\"reduce\":[]}", "null", "null"},
        {"{\"map\":5}", "null", "[]"},
        {"{\"map\":[]}", "null", "[]"},
        {"{\"filter\":[[1,2]]}", "null", "[]"},
        {"{\"map\":[[1,2]]}", "null", "[null,null]"},
        {"{\"in\":[]}", "null", "false"},
        {"{\"<\":[]}", "null", "false"},
        {"{\"cat\":[]}", "null", "\"\""},
        {"{\"merge\":{}}", "null", "[{}]"},
        {"{\"if\":{}}", "null", "{}"},
        {"{\"/\":[1,0]}", "null", "null"},
        {"{\"%\":[1,0]}", "null", "null"},
        {"{\"max\":[]}", "null", "null"},
        {"{\"min\":[]}", "null", "null"},
        {"{\"var\":1.5}", "[0,[0,1,2,3,4,55]]", "55"},
        {"{\"var\":\"a.b.c.d\"}", "{\"a\":\"str\"}", "null"},
        {"{\"cat\":[null,\"a\",[1,[2,null]],{},true,1.5,0]}", "null",
         "\"a1,2,[object Object]true1.50\""},
        {"{\"==\":[[1],[1]]}", "null", "false"},
        {"{\"==\":[{\"var\":\"a\"},{\"var\":\"a\"}]}", "{\"a\":[1]}", "true"},
        {"{\"===\":[{\"var\":\"a\"},{\"var\":\"a\"}]}", "{\"a\":{\"b\":1}}", "true"},
        {"{\"==\":[0,\"\"]}", "null", "true"},
        {"{\"==\":[null,0]}", "null", "false"},
        {"{\"==\":[null,{\"and\":[]}]}", "null", "true"},
        {"{\"===\":[null,{\"and\":[]}]}", "null", "false"},
        {"{\"==\":[\"1\",[1]]}", "null", "true"},
        {"{\"==\":[true,[1]]}", "null", "true"},
        {"{\"==\":[false,[]]}", "null", "true"},
        {"{\"==\":[{},\"[object Object]\"]}", "null", "true"},
        {"{\"==\":[[],false]}", "null", "true"},
        {"{\"==\":[[0],false]}", "null", "true"},
        {"{\"==\":[{\"/\":[0,0]},{\"/\":[0,0]}]}", "null", "false"},
        {"{\"==\":[{\"and\":[]},{\"and\":[]}]}", "null", "true"},
        {"{\"==\":[\"abc\",[\"abc\"]]}", "null", "true"},
        {"{\"==\":[1,\"0x1\"]}", "null", "true"},
        {"{\"!=\":[1,\"1.0\"]}", "null", "false"},
        {"{\"!==\":[1,\"1\"]}", "null", "true"},
        {"{\"<\":[\"a\",\"b\"]}", "null", "true"},
        {"{\"<\":[\"10\",\"9\"]}", "null", "true"},
        {"{\"<\":[\"10\",9]}", "null", "false"},
        {"{\"<\":[null,1]}", "null", "true"},
        {"{\"<\":[{\"and\":[]},1]}", "null", "false"},
        {"{\"<\":[[\"b\"],\"c\"]}", "null", "true"},
        {"{\"<\":[{\"x\":1},\"[object Q]\"]}", "null", NULL},
        {"{\"<\":[\"\\uffff\",\"\\ud83d\\ude00\"]}", "null", "false"},
        {"{\">\":[\"\\uffff\",\"\\ud83d\\ude00\"]}", "null", "true"},
        {"{\"<\":[\"\\u00e9\",\"\\u00ea\"]}", "null", "true"},
        {"{\"<=\":[1,1,1]}", "null", "true"},
        {"{\"<\":[1,2,\"3\"]}", "null", "true"},
        {"{\"<\":[3,2,1]}", "null", "false"},
        {"{\">\":[3,2,5]}", "null", "true"},
        {"{\">=\":[1,1,0]}", "null", "true"},
        {"{\"<=\":[\"b\",\"b\",\"a\"]}", "null", "false"},
        {"{\"<\":[1,2,{\"and\":[]}]}", "null", "true"},
        {"{\"in\":[null,\"nullable\"]}", "null", "true"},
        {"{\"in\":[\"\",\"\"]}", "null", "false"},
        {"{\"in\":[\"\",\"a\"]}", "null", "true"},
        {"{\"in\":[1,[1,\"1\"]]}", "null", "true"},
        {"{\"in\":[\"1\",[1]]}", "null", "false"},
        {"{\"in\":[[1],[[1]]]}", "null", "false"},
        {"{\"in\":[1,\"a1b\"]}", "null", "true"},
        {"{\"in\":[\"a\",{\"a\":1}]}", "null", NULL},
        {"{\"in\":[\"b\",{\"cat\":[\"a\",\"b\",[1,2]]}]}", "null", "true"},
        {"{\"+\":[\"1abc\",2]}", "null", "3"},
        {"{\"+\":[\" 12px\",\"3.5e1x\"]}", "null", "47"},
        {"{\"+\":[null]}", "null", "null"},
        {"{\"+\":[[]]}", "null", "null"},
        {"{\"+\":[[1,2]]}", "null", "1"},
        {"{\"+\":[\".5\",\"-.5e1\",\"1.e1\"]}", "null", "5.5"},
        {"{\"+\":[\"0x10\"]}", "null", "0"},
        {"{\"+\":[\"Infinity\",\"-Infinity\"]}", "null", "null"},
        {"{\"+\":[]}", "null", "0"},
        {"{\"+\":\"3\"}", "null", "3"},
        {"{\"+\":[true]}", "null", "null"},
        {"{\"-\":[\"1abc\",2]}", "null", "null"},
        {"{\"-\":[\" 0x10 \",\"3\"]}", "null", "13"},
        {"{\"-\":[\"0b101\",0]}", "null", "5"},
        {"{\"-\":[\"0o17\",0]}", "null", "15"},
        {"{\"-\":[\"0X1f\",0]}", "null", "31"},
        {"{\"-\":[\"-0x10\",0]}", "null", "null"},
        {"{\"-\":[\"1_000\",0]}", "null", "null"},
        {"{\"-\":[\"\",1]}", "null", "-1"},
        {"{\"-\":[\" \\u00a0\\ufeff7\\u2028\",0]}", "null", "7"},
        {"{\"-\":[\"\\u3000 8 \\u205f\",0]}", "null", "8"},
        {"{\"-\":[\"\\u200b9\",0]}", "null", "null"},
        {"{\"-\":[\"1e1000\",0]}", "null", "null"},
        {"{\"-\":[[5],[2]]}", "null", "3"},
        {"{\"-\":[true]}", "null", "-1"},
        {"{\"-\":[{}]}", "null", "null"},
        {"{\"-\":[null,\"2\"]}", "null", "-2"},
        {"{\"-\":[3,{\"and\":[]}]}", "null", "-3"},
        {"{\"-\":[\"12345678901234567890123\",0]}", "null", "1.2345678901234568e+22"},
        {"{\"-\":[\"0.1e-5\",0]}", "null", "0.000001"},
        {"{\"-\":[\"1e\",0]}", "null", "null"},
        {"{\"-\":[\".\",0]}", "null", "null"},
        {"{\"-\":[\"+5\",0]}", "null", "5"},
        {"{\"-\":[\"++5\",0]}", "null", "null"},
        {"{\"-\":[\"Infinityx\",0]}", "null", "null"},
        {"{\"-\":[\"infinity\",0]}", "null", "null"},
        {"{\"-\":[\"nan\",0]}", "null", "null"},
        {"{\"*\":[\"2\"]}", "null", "\"2\""},
        {"{\"*\":[\"2\",\"3\"]}", "null", "6"},
        {"{\"*\":[\"2px\",[3]]}", "null", "6"},
        {"{\"/\":[-1,0]}", "null", "null"},
        {"{\"/\":[0,0]}", "null", "null"},
        {"{\"/\":[\"6\",\"3\"]}", "null", "2"},
        {"{\"%\":[-7,2]}", "null", "-1"},
        {"{\"%\":[\"7.5\",2]}", "null", "1.5"},
        {"{\"%\":[5,{\"/\":[1,0]}]}", "null", "5"},
        {"{\"max\":[1,\"2\",[3]]}", "null", "3"},
        {"{\"min\":[1,\"x\"]}", "null", "null"},
        {"{\"max\":[null,-1]}", "null", "0"},
        {"{\"min\":[true,2]}", "null", "1"},
        {"{\"var\":\"length\"}", "[\"a\",\"b\"]", "2"},
        {"{\"var\":\"x.length\"}", "{\"x\":\"h\\ud83d\\ude00\"}", "3"},
        {"{\"var\":\"0\"}", "\"h\\u00e9llo\"", "\"h\""},
        {"{\"var\":\"1\"}", "\"h\\u00e9llo\"", "\"\\u00e9\""},
        {"{\"var\":\"1\"}", "\"h\\ud83d\\ude00\"", "\"\\ufffd\""},
        {"{\"var\":\"01\"}", "[\"a\",\"b\"]", "null"},
        {"{\"var\":\"1\"}", "[\"a\",\"b\"]", "\"b\""},
        {"{\"var\":\"5\"}", "[\"a\",\"b\"]", "null"},
        {"{\"var\":\"-1\"}", "[\"a\",\"b\"]", "null"},
        {"{\"var\":\"a..b\"}", "{\"a\":{\"\":{\"b\":3}}}", "3"},
        {"{\"var\":\"a.\"}", "{\"a\":{\"\":4}}", "4"},
        {"{\"var\":true}", "{\"true\":1}", "1"},
        {"{\"var\":null}", "5", "5"},
        {"{\"var\":[\"x\",{\"and\":[]}]}", "{}", "null"},
        {"{\"var\":[\"a\",5]}", "{\"a\":null}", "null"},
        {"{\"var\":[\"a.b\",5]}", "{\"a\":null}", "5"},
        {"{\"var\":\"a.0.b\"}", "{\"a\":[{\"b\":7}]}", "7"},
        {"{\"var\":\"a.length\"}", "{\"a\":{\"length\":9}}", "9"},
        {"{\"var\":\"x\"}", "\"str\"", "null"},
        {"{\"var\":\"x\"}", "5", "null"},
        {"{\"var\":\"\"}", "null", "null"},
        {"{\"var\":[\"\"]}", "[1]", "[1]"},
        {"{\"var\":[[\"a\"]]}", "{\"a\":6}", "6"},
        {"{\"var\":[[\"a\",\"b\"]]}", "{\"a,b\":6}", "6"},
        {"{\"substr\":[\"\\ud83d\\ude00x\",1]}", "null", "\"\\ufffdx\""},
        {"{\"substr\":[\"\\ud83d\\ude00x\",0,2]}", "null", "\"\\ud83d\\ude00\""},
        {"{\"substr\":[\"\\ud83d\\ude00x\",0,1]}", "null", "\"\\ufffd\""},
        {"{\"substr\":[\"h\\u00e9llo\",-3,-1]}", "null", "\"ll\""},
        {"{\"substr\":[12345,1,2]}", "null", "\"23\""},
        {"{\"substr\":[\"abc\",\"1\"]}", "null", "\"bc\""},
        {"{\"substr\":[\"abcdef\",1,\"-2\"]}", "null", "\"\""},
        {"{\"substr\":[\"abcdef\",1,[-2]]}", "null", "\"\""},
        {"{\"substr\":[\"abc\",5]}", "null", "\"\""},
        {"{\"substr\":[\"abc\",-10]}", "null", "\"abc\""},
        {"{\"substr\":[\"abc\",1,100]}", "null", "\"bc\""},
        {"{\"substr\":[\"abc\",null]}", "null", "\"abc\""},
        {"{\"substr\":[\"abc\",1,null]}", "null", "\"\""},
        {"{\"substr\":[\"abc\",1.7,1.9]}", "null", "\"b\""},
        {"{\"substr\":[\"abcdef\",2,-10]}", "null", "\"\""},
        {"{\"substr\":[\"abcdef\",\"x\",\"y\"]}", "null", "\"\""},
        {"{\"substr\":[null,1]}", "null", "\"ull\""},
        {"{\"substr\":[[1,2,3],1,3]}", "null", "\",2,\""},
        {"{\"substr\":[\"abc\",{\"/\":[-1,0]}]}", "null", "\"abc\""},
        {"{\"substr\":[\"abc\",1,{\"/\":[1,0]}]}", "null", "\"bc\""},
        {"{\"substr\":[\"abcdef\",1,{\"/\":[-1,0]}]}", "null", "\"\""},
        {"{\"!\":[]}", "null", "true"},
        {"{\"!!\":[[]]}", "null", "false"},
        {"{\"!!\":[\"0\"]}", "null", "true"},
        {"{\"!!\":[{}]}", "null", "true"},
        {"{\"!\":[{\"/\":[0,0]}]}", "null", "true"},
        {"{\"missing\":[[\"a\",5]]}", "{}", "[\"a\",5]"},
        {"{\"missing\":[\"a\",[\"b\",1]]}", "{}", "[\"a\"]"},
        {"{\"missing\":[\"\"]}", "{\"a\":1}", "[]"},
        {"{\"missing\":[\"a\"]}", "{\"a\":\"\"}", "[\"a\"]"},
        {"{\"missing\":[\"a\"]}", "{\"a\":0}", "[]"},
        {"{\"missing\":[\"a\"]}", "{\"a\":false}", "[]"},
        {"{\"missing\":[\"a\",\"b.c\"]}", "{\"b\":{\"c\":null}}", "[\"a\",\"b.c\"]"},
        {"{\"missing\":[1,\"0\"]}", "[\"x\"]", "[1]"},
        {"{\"missing\":[]}", "{}", "[]"},
        {"{\"missing_some\":[1,\"ab\"]}", "{}", "[]"},
        {"{\"missing_some\":[0,[\"a\"]]}", "{}", "[]"},
        {"{\"missing_some\":[\"1\",[\"a\",\"b\"]]}", "{\"a\":1}", "[]"},
        {"{\"missing_some\":[2,[[\"a\",\"b\",\"c\"]]]}", "{\"a\":1}", "[\"b\",\"c\"]"},
        {"{\"missing_some\":[1,5]}", "{}", "[5]"},
        {"{\"missing_some\":[1,{\"a\":1,\"b\":2}]}", "{}", "[{\"a\":1,\"b\":2}]"},
        {"{\"missing_some\":[1,[]]}", "{}", "[]"},
        {"{\"reduce\":[[1,2,3],{\"+\":[{\"var\":\"accumulator\"},{\"var\":\"current\"}]}]}", "null",
         "null"},
        {"{\"reduce\":[[],{\"+\":1},{\"var\":\"x\"}]}", "{\"x\":42}", "42"},
        {"{\"reduce\":[[1,2],{\"var\":\"accumulator\"},{\"a\":1,\"b\":2}]}", "null",
         "{\"a\":1,\"b\":2}"},
        {"{\"reduce\":[[1,2,3],{\"and\":[]},0]}", "null", "null"},
        {"{\"reduce\":[[1,2],{\"if\":[{\"==\":[{\"var\":\"current\"},1]},{\"and\":[]},{\"var\":["
         "\"accumulator\",9]}]},0]}",
         "null", "9"},
        {"{\"reduce\":[[1,2],{\"if\":[{\"==\":[{\"var\":\"current\"},1]},{\"/"
         "\":[1,0]},{\">\":[{\"var\":\"accumulator\"},1e+300]}]},0]}",
         "null", "true"},
        {"{\"reduce\":[[1,2],{\"var\":\"\"},0]}", "null",
         "{\"current\":2,\"accumulator\":{\"current\":1,\"accumulator\":0}}"},
        {"{\"reduce\":[[1,2],{\"var\":\"current.x\"},0]}", "null", "null"},
        {"{\"reduce\":[[{\"x\":5}],{\"var\":\"current.x\"},0]}", "null", NULL},
        {"{\"reduce\":[[1,2],{\"var\":\"accumulator.length\"},\"abc\"]}", "null", "null"},
        {"{\"reduce\":[[1],{\"missing\":[\"current\",\"accumulator\",\"other\"]},null]}", "null",
         "[\"accumulator\",\"other\"]"},
        {"{\"reduce\":[[1],{\"missing\":[\"current\",\"accumulator\"]},0]}", "null", "[]"},
        {"{\"reduce\":[5,{\"+\":1},7]}", "null", "7"},
        {"{\"reduce\":[[1,2,3],{\"cat\":[{\"var\":\"accumulator\"},{\"var\":\"current\"}]},\"\"]}",
         "null", "\"123\""},
        {"{\"all\":[5,true]}", "null", "false"},
        {"{\"none\":[5,true]}", "null", "true"},
        {"{\"some\":[[0,\"\",[]],{\"var\":\"\"}]}", "null", "false"},
        {"{\"some\":[[0,\"0\"],{\"var\":\"\"}]}", "null", "true"},
        {"{\"all\":[[1,[0]],{\"var\":\"\"}]}", "null", "true"},
        {"{\"none\":[[0,null],{\"var\":\"\"}]}", "null", "true"},
        {"{\"filter\":[[1,2,3],{\"%\":[{\"var\":\"\"},2]}]}", "null", "[1,3]"},
        {"{\"filter\":[{\"var\":\"a\"},{\"var\":\"ok\"}]}",
         "{\"a\":[{\"ok\":1,\"n\":1},{\"ok\":0,\"n\":2}]}", "[{\"ok\":1,\"n\":1}]"},
        {"{\"map\":[[1,2],{\"/\":[{\"var\":\"\"},0]}]}", "null", "[null,null]"},
        {"{\"map\":[[1,\"a\"],[{\"var\":\"\"},{\"and\":[]}]]}", "null", "[[1,null],[\"a\",null]]"},
        {"{\"map\":[{\"var\":\"x\"},{\"var\":\"y\"}]}", "{\"x\":[{\"y\":1},{\"z\":2}],\"y\":9}",
         "[1,null]"},
        {"{\"and\":[]}", "null", "null"},
        {"{\"or\":[]}", "null", "null"},
        {"{\"and\":[1,\"\",2]}", "null", "\"\""},
        {"{\"or\":[0,[],\"x\"]}", "null", "\"x\""},
        {"{\"if\":[[],\"a\",\"b\"]}", "null", "\"b\""},
        {"{\"?:\":[1,\"a\"]}", "null", "\"a\""},
        {"{\"if\":[0,\"a\",0,\"b\"]}", "null", "null"},
        {"{\"log\":{\"var\":\"x\"}}", "{\"x\":[1]}", "[1]"},
        {"{\"log\":[]}", "null", "null"},
        {"{\"log\":[1,2]}", "null", "1"},
        {"{\"a\":{\"foo\":1},\"b\":2}", "null", "{\"a\":{\"foo\":1},\"b\":2}"},
        {"{}", "null", "{}"},
        {"[{\"var\":\"a\"},{},{\"x\":1,\"y\":2},[[{\"+\":[1,1]}]]]", "{\"a\":1}",
         "[1,{},{\"x\":1,\"y\":2},[[2]]]"},
        {"{\"cat\":[{\"/\":[1,0]},{\"/\":[0,0]},{\"-\":[{\"/\":[1,0]}]}]}", "null",
         "\"InfinityNaN-Infinity\""},
        {"{\"cat\":[1e+21,1e-7,0.1,123456789012345680000,0.000001,-1.5e-9]}", "null",
         "\"1e+211e-70.11234567890123456800000.000001-1.5e-9\""},
        {"{\"cat\":[0.30000000000000004,5e-324,1.7976931348623157e+308]}", "null",
         "\"0.300000000000000045e-3241.7976931348623157e+308\""},
        {"{\"cat\":[\"a\",{\"var\":\"x\"}]}", "{\"x\":[[1,[2,[3]]],null,true]}",
         "\"a1,2,3,,true\""},
        {"{\"merge\":[[1],2,[[3]],null,{\"and\":[]}]}", "null", "[1,2,[3],null,null]"},
        {"{\"merge\":[{\"var\":\"a\"},{\"var\":\"b\"}]}", "{\"a\":[1,2],\"b\":{\"c\":3}}",
         "[1,2,{\"c\":3}]"},
        {"{\"==\":[1,1]}", "null", "true"},
        {"{\"===\":[{\"+\":[\"1\"]},1]}", "null", "true"},
        {"{\"===\":[\"a\",\"a\"]}", "null", "true"},
        {"{\"===\":[[],[]]}", "null", "false"},
        {"{\"===\":[{},{}]}", "null", "false"},
        {"{\"!==\":[{\"var\":\"x\"},{\"var\":\"x\"}]}", "{\"x\":[]}", "false"},
        {"{\"==\":[{\"var\":\"x\"},{\"var\":\"y\"}]}", "{\"x\":[],\"y\":[]}", "false"},
        {"{\"==\":[{\"var\":\"\"},{\"var\":\"\"}]}", "{\"x\":1}", "true"},
        {"{\"in\":[{\"var\":\"x\"},{\"var\":\"xs\"}]}", "{\"x\":{\"a\":1},\"xs\":[{\"a\":1}]}",
         "false"},
        {"{\"in\":[{\"var\":\"xs.0\"},{\"var\":\"xs\"}]}", "{\"xs\":[{\"a\":1}]}", "true"},
        {"{\"==\":[{\"map\":[[1],{\"var\":\"\"}]},\"1\"]}", "null", "true"},
        {"{\"filter\":[{\"var\":\"\"},true]}", "[[1],[2]]", "[[1],[2]]"},
        {"{\"==\":[{\"var\":\"0\"},{\"filter\":[{\"var\":\"\"},true]}]}", "[[1]]", "false"},
        {"{\"in\":[{\"var\":\"0\"},{\"filter\":[{\"var\":\"\"},true]}]}", "[[1]]", "true"},
        {"{\"in\":[{\"var\":\"0\"},{\"merge\":[{\"var\":\"\"}]}]}", "[[1]]", "true"},
        {"{\"in\":[{\"var\":\"0\"},{\"map\":[{\"var\":\"\"},{\"var\":\"\"}]}]}", "[[1]]", "true"},
        {"{\"if\":[{\"var\":\"x\"},{\"var\":\"x\"},1]}", "{\"x\":[1]}", "[1]"},
        {"{\"==\":[{\"if\":[true,{\"var\":\"x\"}]},{\"var\":\"x\"}]}", "{\"x\":[1]}", "true"},
        {"{\"==\":[{\"log\":{\"var\":\"x\"}},{\"var\":\"x\"}]}", "{\"x\":[1]}", "true"},
        {"{\"==\":[{\"or\":[{\"var\":\"x\"}]},{\"var\":\"x\"}]}", "{\"x\":[1]}", "true"},
        {"{\"==\":[{\"var\":[\"nope\",{\"var\":\"x\"}]},{\"var\":\"x\"}]}", "{\"x\":[1]}", "true"},
        {"{\"==\":[{\"reduce\":[[1],{\"var\":\"accumulator\"},{\"var\":\"x\"}]},{\"var\":\"x\"}]}",
         "{\"x\":[1]}", "true"},
        {"{\"==\":[{\"reduce\":[[1],{\"var\":\"\"},0]},{\"reduce\":[[1],{\"var\":\"\"},0]}]}",
         "null", "false"},
        {"{\"==\":[{\"reduce\":[[{\"a\":1}],{\"var\":\"current\"},0]},{\"reduce\":[[{\"a\":1}],{"
         "\"var\":\"current\"},0]}]}",
         "null", NULL},
        {"{\"==\":[{\"var\":[\"a\"]},{\"var\":\"a\"}]}", "{\"a\":[1]}", "true"},
        {"{\"===\":[{\"var\":\"a.0\"},{\"var\":\"a.0\"}]}", "{\"a\":[[1]]}", "true"},
        {"{\"===\":[{\"missing\":[\"a\"]},{\"missing\":[\"a\"]}]}", "{}", "false"},
        {"{\"==\":[{\"*\":[{\"var\":\"a\"}]},{\"var\":\"a\"}]}", "{\"a\":[1]}", "true"},
        {"{\"missing\":{\"merge\":[\"vin\",{\"if\":[{\"var\":\"financing\"},[\"apr\"],[]]}]}}",
         "{\"financing\":true}", "[\"vin\",\"apr\"]"},
        {"{\"foo\":1}", "null", NULL},
        {"{\"a.b\":1}", "null", NULL},
        {"{\"var.length\":1}", "null", NULL},
        {"{\"if\":[true,1,{\"foo\":2}]}", "null", "1"},
        {"{\"<\":[{\"var\":\"o\"},\"[object Q]\"]}", "{\"o\":{\"x\":1}}", "true"},
        {"{\"in\":[\"a\",{\"var\":\"o\"}]}", "{\"o\":{\"a\":1}}", "false"},
        {"{\"reduce\":[{\"var\":\"xs\"},{\"var\":\"current.x\"},0]}", "{\"xs\":[{\"x\":5}]}", "5"},
        {"{\"==\":[{\"reduce\":[{\"var\":\"xs\"},{\"var\":\"current\"},0]},{\"reduce\":[{\"var\":"
         "\"xs\"},{\"var\":\"current\"},0]}]}",
         "{\"xs\":[{\"a\":1}]}", "true"},
        {"{\"==\":[{\"var\":\"o\"},\"[object Object]\"]}", "{\"o\":{\"x\":1}}", "true"},
        {"{\"cat\":[{\"var\":\"o\"},1]}", "{\"o\":{\"x\":1}}", "\"[object Object]1\""},
        {"{\"-\":[{\"var\":\"o\"},1]}", "{\"o\":{\"x\":1}}", "null"},
        {"{\"!!\":{\"var\":\"o\"}}", "{\"o\":{}}", "true"},
        {"{\"if\":[{\"var\":\"o\"},\"t\",\"f\"]}", "{\"o\":{}}", "\"t\""},
        {"{\"merge\":[{\"var\":\"o\"}]}", "{\"o\":{}}", "[{}]"},
        {"{\"substr\":[{\"var\":\"o\"},1,6]}", "{\"o\":{\"a\":1}}", "\"object\""},
        {"{\"var\":[\"o.x\",3]}", "{\"o\":{\"x\":false}}", "false"},
        {"{\"missing_some\":[1,{\"var\":\"keys\"}]}", "{\"keys\":[\"a\",\"b\"],\"b\":1}", "[]"},
        {"{\"max\":[{\"var\":\"xs\"}]}", "{\"xs\":[7]}", "7"},
        {"{\"max\":{\"var\":\"xs\"}}", "{\"xs\":[1,7]}", "null"},
        {"{\"reduce\":[{\"var\":\"xs\"},{\"+\":[{\"var\":\"accumulator\"},{\"var\":\"current\"}]},{"
         "\"var\":\"start\"}]}",
         "{\"xs\":[1,2],\"start\":10}", "13"},
        {"{\"reduce\":[{\"var\":\"xs\"},{\"+\":[{\"var\":\"accumulator\"},{\"var\":\"current\"}]},{"
         "\"*\":[2,3]}]}",
         "{\"xs\":[1]}", "7"},
};

static void test_js_semantics(void **state)
{
	char err[ERRLEN];
	size_t bad = 0;
	(void)state;

	for (size_t i = 0; i < sizeof js_cases / sizeof js_cases[0]; i++) {
		const struct js_case *c = &js_cases[i];
		json_t *out = NULL;
		pw_status st = eval_text(c->rule, c->data, NULL, &out, err);
		if (c->want == NULL) {
			if (st != PW_ERR_INVALID || out != NULL || err[0] == '\0') {
				print_error("rule %s data %s: got %s, want invalid\n", c->rule,
				            c->data, pw_status_name(st));
				bad++;
			}
			json_decref(out);
			continue;
		}
		json_t *want = parse_or_fail(c->want);
		if (st != PW_OK || !pw_json_equal(out, want) ||
		    (json_is_number(want) && !json_is_real(out))) {
			char *g = dump(out);
			print_error("rule %s data %s: got %s (%s %s), want %s\n", c->rule, c->data,
			            g, pw_status_name(st), err, c->want);
			free(g);
			bad++;
		}
		json_decref(out);
		json_decref(want);
	}
	print_message("javascript corner cases: %zu of %zu as json-logic-js\n",
	              sizeof js_cases / sizeof js_cases[0] - bad,
	              sizeof js_cases / sizeof js_cases[0]);
	assert_int_equal(bad, 0);
}

/* Numbers built as jansson integers work as numbers; results are reals. */
static void test_integer_inputs(void **state)
{
	char err[ERRLEN];
	json_t *out = NULL;
	(void)state;

	json_t *rule = json_pack("{s:[{s:s},i]}", "+", "var", "n", 2);
	json_t *data = json_pack("{s:I}", "n", (json_int_t)40);
	assert_non_null(rule);
	assert_non_null(data);
	assert_int_equal(pw_logic_eval(rule, data, NULL, &out, err, sizeof err), PW_OK);
	assert_true(json_is_real(out));
	assert_true(json_real_value(out) == 42.0);
	json_decref(out);
	json_decref(rule);

	/* a number passed through untouched still comes back as a real */
	rule = json_pack("{s:s}", "var", "n");
	assert_int_equal(pw_logic_eval(rule, data, NULL, &out, err, sizeof err), PW_OK);
	assert_true(json_is_real(out));
	assert_true(json_real_value(out) == 40.0);
	json_decref(out);
	json_decref(rule);

	rule = json_pack("{s:[i,f]}", "===", 7, 7.0);
	assert_int_equal(pw_logic_eval(rule, NULL, NULL, &out, err, sizeof err), PW_OK);
	assert_true(json_is_true(out));
	json_decref(out);
	json_decref(rule);
	json_decref(data);
}

/* ---- negative cases ---------------------------------------------------- */

static void test_unknown_operator(void **state)
{
	char err[ERRLEN];
	(void)state;

	want_error("{\"foo\":1}", NULL, NULL, PW_ERR_INVALID, "unknown operator \"foo\"");
	want_error("{\"and\":[true,{\"foo\":[1,2]}]}", NULL, NULL, PW_ERR_INVALID,
	           "unknown operator \"foo\"");
	want_error("{\"map\":[[1],{\"Var\":\"\"}]}", NULL, NULL, PW_ERR_INVALID,
	           "unknown operator \"Var\"");
	want_error("{\"var.length\":1}", NULL, NULL, PW_ERR_INVALID, "unknown operator");
	want_error("{\"\":1}", NULL, NULL, PW_ERR_INVALID, "unknown operator \"\"");
	/* quotes and control characters do not reach the message */
	want_error("{\"a\\\"b\\n\":1}", NULL, NULL, PW_ERR_INVALID, "unknown operator \"a?b?\"");

	/* a long name is cut short */
	char rule[600];
	memset(rule, 0, sizeof rule);
	strcpy(rule, "{\"");
	memset(rule + 2, 'x', 500);
	strcpy(rule + 502, "\":1}");
	want_error(rule, NULL, NULL, PW_ERR_INVALID, "...\"");
	json_t *out = NULL;
	assert_int_equal(eval_text(rule, NULL, NULL, &out, err), PW_ERR_INVALID);
	assert_true(strlen(err) < 100);
	assert_string_equal(err + strlen(err) - 4, "...\"");
	assert_true(strncmp(err, "unknown operator \"", 18) == 0);

	/* an unknown operator on a branch not taken: eval is fine, the check is not */
	want_value("{\"if\":[true,1,{\"foo\":2}]}", NULL, "1");
	json_t *r = parse_or_fail("{\"if\":[true,1,{\"foo\":2}]}");
	assert_int_equal(pw_logic_check(r, NULL, err, sizeof err), PW_ERR_INVALID);
	assert_string_equal(err, "unknown operator \"foo\"");
	json_decref(r);
}

static json_t *int_array(size_t n)
{
	json_t *a = json_array();
	assert_non_null(a);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(json_array_append_new(a, json_real((double)i)), 0);
	return a;
}

static void test_step_limit(void **state)
{
	char err[ERRLEN];
	json_t *out = NULL;
	(void)state;

	json_t *data = json_pack("{s:o}", "xs", int_array(100000));
	json_t *map = parse_or_fail("{\"map\":[{\"var\":\"xs\"},{\"+\":[{\"var\":\"\"},1]}]}");
	json_t *sum =
	        parse_or_fail("{\"reduce\":[{\"var\":\"xs\"},"
	                      "{\"+\":[{\"var\":\"accumulator\"},{\"var\":\"current\"}]},0]}");

	want_error_json(map, data, NULL, PW_ERR_LIMIT, "step limit 100000 reached");
	want_error_json(sum, data, NULL, PW_ERR_LIMIT, "step limit 100000 reached");
	pw_logic_limits small = {64, 50};
	want_error_json(sum, data, &small, PW_ERR_LIMIT, "step limit 50 reached");

	/* with room enough the same rules finish */
	pw_logic_limits roomy = {64, 10000000};
	assert_int_equal(pw_logic_eval(sum, data, &roomy, &out, err, sizeof err), PW_OK);
	assert_true(json_real_value(out) == 4999950000.0);
	json_decref(out);
	assert_int_equal(pw_logic_eval(map, data, &roomy, &out, err, sizeof err), PW_OK);
	assert_int_equal(json_array_size(out), 100000);
	assert_true(json_real_value(json_array_get(out, 99999)) == 100000.0);
	json_decref(out);

	/* doubling a string or an array each turn is charged for what it builds */
	json_t *cat =
	        parse_or_fail("{\"reduce\":[{\"var\":\"xs\"},{\"cat\":[{\"var\":\"accumulator\"},"
	                      "{\"var\":\"accumulator\"}]},\"ab\"]}");
	json_t *merge = parse_or_fail("{\"reduce\":[{\"var\":\"xs\"},{\"merge\":[{\"var\":"
	                              "\"accumulator\"},{\"var\":\"accumulator\"}]},[1]]}");
	json_t *few = json_pack("{s:o}", "xs", int_array(64));
	want_error_json(cat, few, NULL, PW_ERR_LIMIT, "step limit 100000 reached");
	want_error_json(merge, few, NULL, PW_ERR_LIMIT, "step limit 100000 reached");
	pw_logic_limits huge = {64, ULONG_MAX};
	want_error_json(cat, few, &huge, PW_ERR_LIMIT, "string longer than");

	/*
	 * Values share structure: [acc, acc] costs one step to build but doubles
	 * what a caller writing it out would see. Building charges the
	 * written-out size, so this stops too, and whatever is returned writes
	 * out in at most max_steps nodes.
	 */
	json_t *pair = parse_or_fail("{\"reduce\":[{\"var\":\"xs\"},[{\"var\":\"accumulator\"},"
	                             "{\"var\":\"accumulator\"}],0]}");
	json_t *pair2 = parse_or_fail("{\"reduce\":[{\"var\":\"xs\"},{\"merge\":[[{\"var\":"
	                              "\"accumulator\"}],[{\"var\":\"accumulator\"}]]},0]}");
	want_error_json(pair, few, &roomy, PW_ERR_LIMIT, "step limit 10000000 reached");
	want_error_json(pair2, few, &roomy, PW_ERR_LIMIT, "step limit 10000000 reached");
	json_t *ten = json_pack("{s:o}", "xs", int_array(10));
	assert_int_equal(pw_logic_eval(pair, ten, NULL, &out, err, sizeof err), PW_OK);
	char *text = json_dumps(out, JSON_COMPACT);
	assert_non_null(text);
	size_t commas = 0;
	for (const char *p = text; *p != '\0'; p++)
		commas += *p == ',';
	assert_int_equal(commas, 1023); /* a full binary tree with 1024 leaves */
	free(text);
	json_decref(out);
	/* the data itself is counted when it is copied into a new array */
	json_t *root = parse_or_fail("{\"reduce\":[[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17],"
	                             "[{\"var\":\"accumulator\"},{\"var\":\"accumulator\"}],"
	                             "{\"var\":\"xs\"}]}");
	want_error_json(root, data, &roomy, PW_ERR_LIMIT, "step limit 10000000 reached");
	/* but returning or testing big data costs nothing extra */
	json_t *whole = parse_or_fail("[{\"var\":\"xs\"},{\"!!\":{\"var\":\"xs\"}},"
	                              "{\"in\":[99999,{\"var\":\"xs\"}]}]");
	assert_int_equal(pw_logic_eval(whole, data, NULL, &out, err, sizeof err), PW_ERR_LIMIT);
	assert_string_equal(err, "step limit 100000 reached"); /* the [..] literal copies xs */
	json_decref(whole);
	whole = parse_or_fail("{\"and\":[{\"var\":\"xs\"},{\"!!\":{\"var\":\"xs\"}},"
	                      "{\"in\":[99999.0,{\"var\":\"xs\"}]}]}");
	pw_logic_limits fair = {64, 200000};
	assert_int_equal(pw_logic_eval(whole, data, &fair, &out, err, sizeof err), PW_OK);
	assert_true(json_is_true(out));
	json_decref(out);

	json_decref(whole);
	json_decref(root);
	json_decref(ten);
	json_decref(pair2);
	json_decref(pair);
	json_decref(few);
	json_decref(merge);
	json_decref(cat);
	json_decref(sum);
	json_decref(map);
	json_decref(data);
}

/* Free a one-child chain without jansson's recursion. */
static void free_chain(json_t *v)
{
	while (v != NULL) {
		json_t *child = NULL;
		if (json_is_array(v) && json_array_size(v) > 0)
			child = json_array_get(v, 0);
		else if (json_is_object(v) && json_object_size(v) > 0)
			child = json_object_iter_value(json_object_iter(v));
		json_incref(child);
		json_decref(v);
		v = child;
	}
}

/* {"!": {"!": ... true}} n deep, or [[...[true]...]] when arrays. */
static json_t *chain(unsigned n, bool arrays)
{
	json_t *r = json_true();
	for (unsigned i = 0; i < n; i++) {
		json_t *o = arrays ? json_array() : json_object();
		assert_non_null(o);
		if (arrays)
			assert_int_equal(json_array_append_new(o, r), 0);
		else
			assert_int_equal(json_object_set_new(o, "!", r), 0);
		r = o;
	}
	return r;
}

static void test_depth_limit(void **state)
{
	char err[ERRLEN];
	json_t *out = NULL;
	(void)state;

	for (int arrays = 0; arrays <= 1; arrays++) {
		json_t *deep = chain(10000, arrays);
		want_error_json(deep, NULL, NULL, PW_ERR_LIMIT,
		                "rule nested deeper than 64 levels");
		assert_int_equal(pw_logic_check(deep, NULL, err, sizeof err), PW_ERR_LIMIT);
		assert_string_equal(err, "rule nested deeper than 64 levels");
		/* a max_depth beyond what the C stack allows is lowered */
		pw_logic_limits high = {1000000, 0};
		want_error_json(deep, NULL, &high, PW_ERR_LIMIT, "rule nested deeper than 1024");
		assert_int_equal(pw_logic_check(deep, &high, err, sizeof err), PW_ERR_LIMIT);
		free_chain(deep);

		/* exactly at the bound, and one past it */
		json_t *ok = chain(64, arrays), *over = chain(65, arrays);
		assert_int_equal(pw_logic_eval(ok, NULL, NULL, &out, err, sizeof err), PW_OK);
		if (!arrays)
			assert_true(json_is_true(out));
		json_decref(out);
		assert_int_equal(pw_logic_check(ok, NULL, err, sizeof err), PW_OK);
		want_error_json(over, NULL, NULL, PW_ERR_LIMIT, "rule nested deeper than 64");
		assert_int_equal(pw_logic_check(over, NULL, err, sizeof err), PW_ERR_LIMIT);
		pw_logic_limits three = {3, 0};
		want_error_json(ok, NULL, &three, PW_ERR_LIMIT, "rule nested deeper than 3 levels");
		json_decref(ok);
		json_decref(over);
	}

	/* a literal object is data, however deep, and is not walked */
	json_t *lit = json_pack("{s:o,s:i}", "a", chain(5000, false), "b", 1);
	assert_int_equal(pw_logic_check(lit, NULL, err, sizeof err), PW_OK);
	assert_int_equal(pw_logic_eval(lit, NULL, NULL, &out, err, sizeof err), PW_OK);
	assert_ptr_equal(out, lit);
	json_decref(out);
	json_t *a = json_object_get(lit, "a");
	json_incref(a);
	json_decref(lit);
	free_chain(a);
}

/* A reduce that wraps its accumulator once per element stops at a bound. */
static void test_nesting_limit(void **state)
{
	pw_logic_limits roomy = {64, 100000000};
	(void)state;

	json_t *data = json_pack("{s:o}", "xs", int_array(5000));
	json_t *wrap =
	        parse_or_fail("{\"reduce\":[{\"var\":\"xs\"},[{\"var\":\"accumulator\"}],0]}");
	json_t *whole = parse_or_fail("{\"reduce\":[{\"var\":\"xs\"},{\"var\":\"\"},0]}");
	json_t *merge = parse_or_fail("{\"reduce\":[{\"var\":\"xs\"},{\"merge\":[[{\"var\":"
	                              "\"accumulator\"}]]},0]}");
	json_t *keys = parse_or_fail("{\"reduce\":[{\"var\":\"xs\"},{\"missing\":[[{\"var\":"
	                             "\"accumulator\"}]]},0]}");
	want_error_json(wrap, data, &roomy, PW_ERR_LIMIT, "value nested deeper than 1024 levels");
	want_error_json(whole, data, &roomy, PW_ERR_LIMIT, "value nested deeper than 1024 levels");
	want_error_json(merge, data, &roomy, PW_ERR_LIMIT, "value nested deeper than 1024 levels");
	want_error_json(keys, data, &roomy, PW_ERR_LIMIT, "value nested deeper than 1024 levels");

	/* flat accumulators are not affected: a running list of all elements */
	char err[ERRLEN];
	json_t *out = NULL;
	json_t *flat = parse_or_fail("{\"reduce\":[{\"var\":\"xs\"},{\"merge\":[{\"var\":"
	                             "\"accumulator\"},[[{\"var\":\"current\"}]]]},[]]}");
	pw_logic_limits big = {64, ULONG_MAX};
	assert_int_equal(pw_logic_eval(flat, data, &big, &out, err, sizeof err), PW_OK);
	assert_int_equal(json_array_size(out), 5000);
	json_decref(out);

	json_decref(flat);
	json_decref(keys);
	json_decref(merge);
	json_decref(whole);
	json_decref(wrap);
	json_decref(data);
}

static const char *const all_ops[] = {
        "var", "missing", "missing_some", "if",  "?:",   "==",   "===",   "!=",
        "!==", "!",       "!!",           "or",  "and",  ">",    ">=",    "<",
        "<=",  "max",     "min",          "+",   "-",    "*",    "/",     "%",
        "map", "filter",  "reduce",       "all", "none", "some", "merge", "in",
        "cat", "substr",  "log",
};

static const char *const odd_args[] = {
        "null",
        "[]",
        "{}",
        "[[]]",
        "[{}]",
        "\"x\"",
        "1",
        "-1.5",
        "[null,null,null]",
        "[[1],[2],[3]]",
        "[\"a\",-1,-1]",
        "[\"abc\",1e308,-1e308]",
        "[{\"var\":\"\"},{\"var\":\"\"},{\"var\":\"\"}]",
        "[{\"var\":\"a\"},{\"var\":\"\"},{\"var\":\"a.1\"}]",
        "[1e308,1e308,1e308]",
        "[\"\",\"\",\"\"]",
        "[true,false]",
        "[[],[],[]]",
        "[{\"a\":1,\"b\":2},{}]",
        "[\"\\ud83d\\ude00\",-1,1]",
        "[[[[1]]],\"0x1g\"]",
        "[{\"and\":[]},{\"and\":[]},{\"and\":[]}]",
        "[\"a.b.c\",{\"missing\":[]}]",
        "[{\"/\":[0,0]},{\"/\":[1,0]},{\"/\":[-1,0]}]",
        "[\"\\u00e9\\u00e9\",\"-1\",\"2\"]",
        "[{\"var\":\"a\"},{\"cat\":[{\"var\":\"\"},\"!\"]},{\"var\":\"a\"}]",
        "[2,{\"var\":\"a\"}]",
        "[[{\"var\":\"\"}],[\"a\",[\"a\",1]]]",
};

static const char *const odd_data[] = {
        "null", "{\"a\":[1,\"x\",[2]]}", "[1,[2,3]]", "\"str\"", "0",
};

/* Every operator with odd arguments: a value or an error, never a crash. */
static void test_malformed_arguments(void **state)
{
	char err[ERRLEN], rule[512];
	size_t ok = 0, refused = 0;
	(void)state;

	for (size_t o = 0; o < sizeof all_ops / sizeof all_ops[0]; o++) {
		for (size_t a = 0; a < sizeof odd_args / sizeof odd_args[0]; a++) {
			snprintf(rule, sizeof rule, "{\"%s\":%s}", all_ops[o], odd_args[a]);
			json_t *r = parse_or_fail(rule);
			assert_int_equal(pw_logic_check(r, NULL, err, sizeof err), PW_OK);
			for (size_t d = 0; d < sizeof odd_data / sizeof odd_data[0]; d++) {
				json_t *data = parse_or_fail(odd_data[d]), *out = (json_t *)0x1;
				err[0] = 'x', err[1] = '\0';
				pw_status st = pw_logic_eval(r, data, NULL, &out, err, sizeof err);
				if (st == PW_OK) {
					assert_non_null(out);
					assert_string_equal(err, "");
					ok++;
				} else {
					if (st != PW_ERR_INVALID)
						fail_msg("rule %s data %s: %s: %s", rule,
						         odd_data[d], pw_status_name(st), err);
					assert_null(out);
					assert_true(err[0] != '\0');
					refused++;
				}
				json_decref(out == (json_t *)0x1 ? NULL : out);
				json_decref(data);
			}
			json_decref(r);
		}
	}
	print_message("odd arguments: %zu evaluated, %zu refused\n", ok, refused);

	/* the ones the brief names */
	want_value("{\"var\":{}}", "{\"a\":1}", "null");
	want_value("{\"substr\":[]}", NULL, "\"undefined\"");
	want_error("{\"missing_some\":[]}", NULL, NULL, PW_ERR_INVALID,
	           "missing_some needs an array of keys");
	want_error("{\"*\":[]}", NULL, NULL, PW_ERR_INVALID, "needs at least one argument");
}

static void test_null_arguments(void **state)
{
	char err[ERRLEN];
	json_t *out = (json_t *)0x1, *rule = json_true();
	(void)state;

	assert_int_equal(pw_logic_eval(NULL, NULL, NULL, &out, err, sizeof err), PW_ERR_INVALID);
	assert_null(out);
	assert_int_equal(pw_logic_eval(rule, NULL, NULL, NULL, err, sizeof err), PW_ERR_INVALID);
	assert_int_equal(pw_logic_check(NULL, NULL, err, sizeof err), PW_ERR_INVALID);
	/* no error buffer is fine */
	json_t *bad = parse_or_fail("{\"foo\":1}");
	assert_int_equal(pw_logic_eval(bad, NULL, NULL, &out, NULL, 0), PW_ERR_INVALID);
	assert_int_equal(pw_logic_check(bad, NULL, NULL, 0), PW_ERR_INVALID);
	/* a short one is cut, still terminated */
	char tiny[8];
	assert_int_equal(pw_logic_check(bad, NULL, tiny, sizeof tiny), PW_ERR_INVALID);
	assert_string_equal(tiny, "unknown");
	json_decref(bad);
	/* data NULL is null */
	want_value("{\"var\":\"\"}", NULL, "null");
	json_t *v = parse_or_fail("{\"var\":[\"a\",3]}");
	assert_int_equal(pw_logic_eval(v, NULL, NULL, &out, err, sizeof err), PW_OK);
	assert_true(json_real_value(out) == 3.0);
	json_decref(out);
	json_decref(v);
}

static void want_check(const char *rule_text, pw_status want, const char *msg)
{
	char err[ERRLEN];
	json_t *r = parse_or_fail(rule_text);
	pw_status st = pw_logic_check(r, NULL, err, sizeof err);
	json_decref(r);
	if (st != want)
		fail_msg("check %s: got %s (%s), want %s", rule_text, pw_status_name(st), err,
		         pw_status_name(want));
	if (msg != NULL && strcmp(err, msg) != 0)
		fail_msg("check %s: message \"%s\", want \"%s\"", rule_text, err, msg);
}

static void test_check(void **state)
{
	(void)state;

	want_check("{\"and\":[{\"<\":[{\"var\":\"input.n\"},10]},{\"in\":[\"x\",[\"x\"]]}]}", PW_OK,
	           NULL);
	want_check("true", PW_OK, NULL);
	want_check("[1,{\"var\":\"a\"}]", PW_OK, NULL);
	want_check("{\"filter\":[{\"var\":\"xs\"},{\">\":[{\"var\":\"\"},1]}]}", PW_OK, NULL);
	want_check("{\"bogus\":[1]}", PW_ERR_INVALID, "unknown operator \"bogus\"");
	want_check("[1,[2,{\"bogus\":[]}]]", PW_ERR_INVALID, "unknown operator \"bogus\"");
	want_check("{\"map\":[[1],{\"cat\":[{\"nope\":1}]}]}", PW_ERR_INVALID,
	           "unknown operator \"nope\"");
	want_check("{\"!\":{\"nope\":1}}", PW_ERR_INVALID, "unknown operator \"nope\"");
	/* reduce's initial value is evaluated, so it is checked */
	want_check("{\"reduce\":[[],1,{\"nope\":1}]}", PW_ERR_INVALID, "unknown operator \"nope\"");
	want_error("{\"reduce\":[[],1,{\"nope\":1}]}", NULL, NULL, PW_ERR_INVALID,
	           "unknown operator \"nope\"");
	/* what eval never looks at, check does not either */
	want_check("{\"map\":[[1],1,{\"nope\":1}]}", PW_OK, NULL);
	want_value("{\"map\":[[1],1,{\"nope\":1}]}", NULL, "[1]");
	want_check("{\"a\":{\"nope\":1},\"b\":2}", PW_OK, NULL);
	want_value("{\"a\":{\"nope\":1},\"b\":2}", NULL, "{\"a\":{\"nope\":1},\"b\":2}");
	want_check("{}", PW_OK, NULL);
}

/* log evaluates to its argument and writes nothing to stdout or stderr. */
static void test_log_is_silent(void **state)
{
	char err[ERRLEN];
	json_t *out1 = NULL, *out2 = NULL;
	(void)state;

	json_t *r1 = parse_or_fail("{\"log\":\"apple\"}");
	json_t *r2 = parse_or_fail("{\"log\":[{\"var\":\"x\"},2]}");
	json_t *data = parse_or_fail("{\"x\":[1,{\"y\":null}]}");
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	assert_true(so >= 0 && se >= 0);
	assert_true(dup2(fileno(tmp), 1) >= 0 && dup2(fileno(tmp), 2) >= 0);
	pw_status s1 = pw_logic_eval(r1, data, NULL, &out1, err, sizeof err);
	pw_status s2 = pw_logic_eval(r2, data, NULL, &out2, err, sizeof err);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	assert_int_equal(fseek(tmp, 0, SEEK_END), 0);
	long written = ftell(tmp);
	fclose(tmp);

	assert_int_equal(written, 0);
	assert_int_equal(s1, PW_OK);
	assert_int_equal(s2, PW_OK);
	assert_string_equal(json_string_value(out1), "apple");
	assert_true(pw_json_equal(out2, json_object_get(data, "x")));
	json_decref(out1);
	json_decref(out2);
	json_decref(data);
	json_decref(r2);
	json_decref(r1);
}

static void test_truthy(void **state)
{
	(void)state;
	static const char *const falsy[] = {"[]", "0", "\"\"", "null", "false", "-0"};
	static const char *const truthy[] = {"[0]", "\"0\"",     "{}",   "true", "1",
	                                     "-1",  "\"false\"", "[[]]", "0.5"};
	for (size_t i = 0; i < sizeof falsy / sizeof falsy[0]; i++) {
		json_t *v = parse_or_fail(falsy[i]);
		if (pw_logic_truthy(v))
			fail_msg("%s is truthy", falsy[i]);
		json_decref(v);
	}
	for (size_t i = 0; i < sizeof truthy / sizeof truthy[0]; i++) {
		json_t *v = parse_or_fail(truthy[i]);
		if (!pw_logic_truthy(v))
			fail_msg("%s is falsy", truthy[i]);
		json_decref(v);
	}
	assert_false(pw_logic_truthy(NULL));
	json_t *i0 = json_integer(0), *i1 = json_integer(3);
	assert_false(pw_logic_truthy(i0));
	assert_true(pw_logic_truthy(i1));
	json_decref(i0);
	json_decref(i1);
}

/* Evaluation leaves the rule and the data as they were, references included. */
static void test_inputs_untouched(void **state)
{
	char err[ERRLEN];
	json_t *out = NULL;
	(void)state;

	json_t *rule = parse_or_fail(
	        "{\"map\":[{\"var\":\"xs\"},{\"merge\":[{\"var\":\"\"},[{\"var\":\"\"}],"
	        "{\"filter\":[{\"var\":\"\"},true]},{\"reduce\":[[1],{\"var\":\"\"},{\"var\":\"\"}]"
	        "}]}]}");
	json_t *data = parse_or_fail("{\"xs\":[[1,{\"a\":2}],[\"b\"]]}");
	char *before_r = dump(rule), *before_d = dump(data);
	assert_int_equal(pw_logic_eval(rule, data, NULL, &out, err, sizeof err), PW_OK);
	json_decref(out);
	char *after_r = dump(rule), *after_d = dump(data);
	assert_string_equal(before_r, after_r);
	assert_string_equal(before_d, after_d);
	assert_int_equal(rule->refcount, 1);
	assert_int_equal(data->refcount, 1);
	assert_int_equal(json_object_get(data, "xs")->refcount, 1);
	free(before_r), free(before_d), free(after_r), free(after_d);
	json_decref(rule);
	json_decref(data);
}

/* ---- allocation failures ----------------------------------------------- */

static long fi_countdown = -1; /* test only: allocations left before one fails */
static unsigned long fi_failed;

static void *fi_malloc(size_t n)
{
	if (fi_countdown == 0) {
		fi_countdown = -1;
		fi_failed++;
		return NULL;
	}
	if (fi_countdown > 0)
		fi_countdown--;
	return malloc(n);
}

static const char *const fi_rules[][2] = {
        {"{\"map\":[{\"var\":\"xs\"},{\"cat\":[{\"var\":\"\"},\"-\",{\"substr\":["
         "\"h\\u00e9llo\\ud83d"
         "\\ude00\",1,-1]}]}]}",
         "{\"xs\":[1,\"a\",[2,3],null]}"},
        {"{\"reduce\":[{\"var\":\"xs\"},{\"merge\":[{\"var\":\"accumulator\"},[{\"var\":"
         "\"current\"}],{\"var\":\"\"}]},[]]}",
         "{\"xs\":[1,\"a\",[2,3]]}"},
        {"{\"missing_some\":[1,[\"a\",\"b\",\"c\"]]}", "{\"b\":1}"},
        {"{\"missing_some\":[2,[[\"a\",\"b\",\"c\"]]]}", "{\"b\":1}"},
        {"{\"missing\":{\"merge\":[\"a\",[\"b\"],[[\"c\",1]]]}}", "{}"},
        {"{\"filter\":[{\"var\":\"xs\"},{\"<\":[{\"var\":\"\"},\"3\",[10]]}]}",
         "{\"xs\":[1,2,3,4]}"},
        {"[{\"==\":[[1,2],\"1,2\"]},{\"in\":[\"b\",{\"cat\":[\"a\",\"b\",[1,2]]}]},"
         "{\"in\":[2,[1,2]]}]",
         "null"},
        {"[{\"+\":[\"1.5e3\",[2]]},{\"*\":[\" 0x10 \",\"3\"]},{\"-\":[\" 0x10 \",\"3\"]},"
         "{\"/\":[[8],\"2\"]},{\"%\":[\"7\",2]},{\"max\":[1,\"9\",[3]]},{\"min\":[]}]",
         "null"},
        {"{\"-\":[\"1234567890123456789012345678901234567890123456789012345678901234567890123"
         "4567890123456789012345678901234567890123456789012345678901234567890\",1]}",
         "null"},
        {"{\"if\":[{\"var\":\"a.b\"},{\"max\":[1,\"2\",[3]]},{\"min\":[]}]}",
         "{\"a\":{\"b\":[0]}}"},
        {"{\"cat\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",{\"var\":\"s.1\"},"
         "{\"var\":\"s.length\"},{\"var\":\"xs.length\"}]}",
         "{\"s\":\"x\\ud83d\\ude00\",\"xs\":[1]}"},
        {"{\"all\":[[1,2,3],{\">\":[{\"var\":\"\"},0]}]}", "null"},
        {"[{\"some\":[[1,2],{\"==\":[{\"var\":\"\"},\"2\"]}]},{\"none\":[[1],false]},"
         "{\"!\":[{\"and\":[1,[],2]}]},{\"or\":[0,\"x\"]},{\"?:\":[0,1,2]},{\"log\":\"z\"}]",
         "null"},
        {"{\"reduce\":[[1,2],{\"if\":[{\"==\":[{\"var\":\"current\"},1]},{\"/\":[1,0]},"
         "{\"var\":\"\"}]},{\"var\":\"x\"}]}",
         "{\"x\":5}"},
        {"{\"substr\":[[1,[2,\"x\"]],1,\"-1\"]}", "null"},
        {"{\"<\":[\"\\uffff\",{\"cat\":[\"\\ud83d\\ude00\"]},[\"\\uffff\\uffff\"]]}", "null"},
        {"{\"foo\":[1,2]}", "null"},
};

static void test_allocation_failures(void **state)
{
	char err[ERRLEN];
	unsigned long injected = 0;
	(void)state;

	for (size_t i = 0; i < sizeof fi_rules / sizeof fi_rules[0]; i++) {
		json_t *rule = parse_or_fail(fi_rules[i][0]), *data = parse_or_fail(fi_rules[i][1]);
		json_t *want = NULL;
		pw_status want_st = pw_logic_eval(rule, data, NULL, &want, err, sizeof err);
		json_set_alloc_funcs(fi_malloc, free);
		for (long k = 0;; k++) {
			json_t *out = (json_t *)0x1;
			fi_countdown = k;
			fi_failed = 0;
			pw_status st = pw_logic_eval(rule, data, NULL, &out, err, sizeof err);
			fi_countdown = -1;
			if (fi_failed == 0) {
				assert_int_equal(st, want_st);
				if (st == PW_OK)
					assert_true(pw_json_equal(out, want));
				json_decref(out == (json_t *)0x1 ? NULL : out);
				break;
			}
			injected++;
			if (st != PW_ERR_NOMEM)
				fail_msg("rule %zu, allocation %ld failing: got %s (%s)", i, k,
				         pw_status_name(st), err);
			assert_null(out);
			assert_string_equal(err, "out of memory");
			assert_true(k < 100000);
		}
		json_set_alloc_funcs(malloc, free);
		json_decref(want);
		json_decref(rule);
		json_decref(data);
	}
	print_message("allocation failures injected: %lu\n", injected);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_vectors),
	        cmocka_unit_test(test_vectors_integers),
	        cmocka_unit_test(test_js_semantics),
	        cmocka_unit_test(test_integer_inputs),
	        cmocka_unit_test(test_unknown_operator),
	        cmocka_unit_test(test_step_limit),
	        cmocka_unit_test(test_depth_limit),
	        cmocka_unit_test(test_nesting_limit),
	        cmocka_unit_test(test_malformed_arguments),
	        cmocka_unit_test(test_null_arguments),
	        cmocka_unit_test(test_check),
	        cmocka_unit_test(test_log_is_silent),
	        cmocka_unit_test(test_truthy),
	        cmocka_unit_test(test_inputs_untouched),
	        cmocka_unit_test(test_allocation_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
