/*
 * test_json.c: strict parsing and RFC 8785 canonical form.
 *
 * Negative cases first: every refusal of pw_json_parse() with its status;
 * then the RFC 8785 reference pairs and all 140,022 number lines of
 * ../shared/vectors/jcs.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/json.h"
#include "testutil.h"

static pw_status parse_str(const char *text, json_t **out)
{
	char err[256];
	return pw_json_parse(text, strlen(text), NULL, out, err, sizeof err);
}

static void expect_refused(const char *text, pw_status want)
{
	json_t *v = (json_t *)0x1;
	pw_status st = parse_str(text, &v);
	if (st != want)
		fail_msg("input %s: got %s, want %s", text, pw_status_name(st),
		         pw_status_name(want));
	assert_null(v);
}

static void test_rejects_duplicate_keys(void **state)
{
	(void)state;
	expect_refused("{\"a\":1,\"a\":2}", PW_ERR_DUPKEY);
	expect_refused("{\"x\":{\"b\":true,\"b\":true}}", PW_ERR_DUPKEY);
}

static void test_rejects_bad_utf8_and_surrogates(void **state)
{
	(void)state;
	expect_refused("\"\xff\"", PW_ERR_UTF8);
	expect_refused("\"\xc0\xaf\"", PW_ERR_UTF8);     /* overlong '/' */
	expect_refused("\"\xed\xa0\x80\"", PW_ERR_UTF8); /* UTF-8 encoded surrogate */
	expect_refused("\"\\ud800\"", PW_ERR_UTF8);      /* lone high surrogate */
	expect_refused("\"\\udc00\"", PW_ERR_UTF8);      /* lone low surrogate */
	expect_refused("\"\\ud800\\u0041\"", PW_ERR_UTF8);
	expect_refused("{\"\xe2\x82\":1}", PW_ERR_UTF8); /* truncated in a key */
}

static void test_rejects_non_json_numbers(void **state)
{
	(void)state;
	expect_refused("NaN", PW_ERR_SYNTAX);
	expect_refused("[Infinity]", PW_ERR_SYNTAX);
	expect_refused("-Infinity", PW_ERR_SYNTAX);
	expect_refused("1e400", PW_ERR_NUMBER);
	expect_refused("[01]", PW_ERR_SYNTAX);
	expect_refused("[.5]", PW_ERR_SYNTAX);
}

static void test_rejects_malformed(void **state)
{
	(void)state;
	expect_refused("", PW_ERR_SYNTAX);
	expect_refused("{", PW_ERR_SYNTAX);
	expect_refused("{\"a\":1} x", PW_ERR_SYNTAX);
	expect_refused("{'a':1}", PW_ERR_SYNTAX);
	expect_refused("[1,]", PW_ERR_SYNTAX);
	expect_refused("\"a\\u0000b\"", PW_ERR_SYNTAX); /* NUL never reaches C strings */
}

static void test_rejects_too_large(void **state)
{
	(void)state;
	pw_json_limits lim = {.max_bytes = 16, .max_depth = 8};
	json_t *v = NULL;
	const char *text = "[1,2,3,4,5,6,7,8,9]";
	assert_int_equal(pw_json_parse(text, strlen(text), &lim, &v, NULL, 0), PW_ERR_TOO_LARGE);
	assert_null(v);
	/* the default cap is 1 MiB */
	size_t n = ((size_t)1 << 20) + 1;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '1';
	assert_int_equal(pw_json_parse(big, n, NULL, &v, NULL, 0), PW_ERR_TOO_LARGE);
	free(big);
}

static void test_rejects_too_deep(void **state)
{
	(void)state;
	size_t depth = 10000;
	char *deep = malloc(2 * depth + 1);
	assert_non_null(deep);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[2 * depth] = '\0';
	expect_refused(deep, PW_ERR_TOO_DEEP);
	/* exactly at the cap passes; one more is refused by pitwall's own check */
	pw_json_limits lim = {.max_bytes = 1 << 20, .max_depth = 64};
	json_t *ok = NULL;
	deep[0] = '\0';
	memset(deep, '[', 64);
	memset(deep + 64, ']', 64);
	assert_int_equal(pw_json_parse(deep, 128, &lim, &ok, NULL, 0), PW_OK);
	json_decref(ok);
	memset(deep, '[', 65);
	memset(deep + 65, ']', 65);
	assert_int_equal(pw_json_parse(deep, 130, &lim, &ok, NULL, 0), PW_ERR_TOO_DEEP);
	assert_null(ok);
	/* brackets inside strings do not count */
	json_t *v = NULL;
	assert_int_equal(
	        parse_str("[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	                  "[[[[[[[[[[[[[[[[[[[[[[[[\"]",
	                  &v),
	        PW_OK);
	json_decref(v);
	free(deep);
}

static void test_error_message_has_position(void **state)
{
	(void)state;
	char err[256];
	json_t *v = NULL;
	const char *text = "{\n \"a\": 1,\n \"a\": 2}";
	assert_int_equal(pw_json_parse(text, strlen(text), NULL, &v, err, sizeof err),
	                 PW_ERR_DUPKEY);
	assert_non_null(strstr(err, "line 3"));
}

static void expect_jcs(const char *in, const char *want)
{
	json_t *v = NULL;
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(parse_str(in, &v), PW_OK);
	assert_int_equal(pw_jcs_dump(v, 0, &out, &len), PW_OK);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
	free(out);
	json_decref(v);
}

static void test_jcs_basics(void **state)
{
	(void)state;
	expect_jcs("{\"b\": [1, 2.50, -0], \"a\": \"\\u001f\\t\"}",
	           "{\"a\":\"\\u001f\\t\",\"b\":[1,2.5,0]}");
	expect_jcs("123456789012345678901234567890", "1.2345678901234568e+29");
	expect_jcs("[1e21, 1e20, 0.000001, 0.0000001]",
	           "[1e+21,100000000000000000000,0.000001,1e-7]");
	expect_jcs("{}", "{}");
	expect_jcs("\"\xe2\x80\xa8\x7f\"", "\"\xe2\x80\xa8\x7f\"");
}

static void test_jcs_number_rejects_nan_inf(void **state)
{
	(void)state;
	char buf[PW_JCS_NUMBER_MAX];
	assert_int_equal(pw_jcs_number(NAN, buf), PW_ERR_NUMBER);
	assert_int_equal(pw_jcs_number(INFINITY, buf), PW_ERR_NUMBER);
	assert_int_equal(pw_jcs_number(-INFINITY, buf), PW_ERR_NUMBER);
}

static void test_jcs_dump_depth_cap(void **state)
{
	(void)state;
	json_t *root = json_array(), *cur = root;
	for (int i = 0; i < 300; i++) {
		json_t *next = json_array();
		json_array_append_new(cur, next);
		cur = next;
	}
	char *out = NULL;
	assert_int_equal(pw_jcs_dump(root, 100, &out, NULL), PW_ERR_TOO_DEEP);
	assert_null(out);
	json_decref(root);
}

static void test_equal_numbers_by_value(void **state)
{
	(void)state;
	json_t *i = json_integer(2), *r = json_real(2.0), *s = json_string("2");
	assert_true(pw_json_equal(i, r));
	assert_false(pw_json_equal(i, s));
	json_decref(i);
	json_decref(r);
	json_decref(s);
}

static void test_utf8_helpers(void **state)
{
	(void)state;
	assert_true(pw_utf8_valid("caf\xc3\xa9", 5));
	assert_false(pw_utf8_valid("a\0b", 3));
	assert_false(pw_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
	assert_int_equal(pw_utf8_codepoints("caf\xc3\xa9\xf0\x9f\x98\x82", 9), 5);
}

/* RFC 8785 reference pairs: input/X.json canonicalizes to output/X.json. */
static void test_jcs_reference_pairs(void **state)
{
	(void)state;
	static const char *names[] = {"arrays",  "french", "structures",
	                              "unicode", "values", "weird"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char rel[128];
		size_t inlen = 0, wantlen = 0, outlen = 0;
		snprintf(rel, sizeof rel, "jcs/input/%s.json", names[i]);
		char *in = tu_read_file(tu_vector_path(rel), &inlen);
		snprintf(rel, sizeof rel, "jcs/output/%s.json", names[i]);
		char *want = tu_read_file(tu_vector_path(rel), &wantlen);
		if (in == NULL || want == NULL)
			fail_msg("reference vectors missing: run make test PW_VECTORS=DIR (see "
			         "README)");
		json_t *v = NULL;
		char *out = NULL, err[256];
		assert_int_equal(pw_json_parse(in, inlen, NULL, &v, err, sizeof err), PW_OK);
		assert_int_equal(pw_jcs_dump(v, 0, &out, &outlen), PW_OK);
		if (outlen != wantlen || memcmp(out, want, wantlen) != 0)
			fail_msg("%s: got %s want %s", names[i], out, want);
		free(out);
		json_decref(v);
		free(in);
		free(want);
	}
}

/* Every line "HEX,EXPECTED" of jcs/numbers.txt. */
static void test_jcs_numbers_file(void **state)
{
	(void)state;
	size_t len = 0, lines = 0, bad = 0;
	char *text = tu_read_file(tu_vector_path("jcs/numbers.txt"), &len);
	if (text == NULL)
		fail_msg("reference vectors missing: run make test PW_VECTORS=DIR (see README)");
	char *line = text;
	while (line < text + len) {
		char *nl = strchr(line, '\n');
		if (nl == NULL)
			nl = text + len;
		*nl = '\0';
		if (*line != '\0') {
			char *comma = strchr(line, ',');
			assert_non_null(comma);
			*comma = '\0';
			uint64_t bits = strtoull(line, NULL, 16);
			double d;
			memcpy(&d, &bits, sizeof d);
			char got[PW_JCS_NUMBER_MAX];
			lines++;
			if (pw_jcs_number(d, got) != PW_OK || strcmp(got, comma + 1) != 0) {
				if (bad++ < 10)
					fprintf(stderr, "numbers.txt %s: got %s want %s\n", line,
					        got, comma + 1);
			}
		}
		line = nl + 1;
	}
	free(text);
	fprintf(stderr, "numbers.txt: %zu lines, %zu mismatches\n", lines, bad);
	assert_int_equal(lines, 140022);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rejects_duplicate_keys),
	        cmocka_unit_test(test_rejects_bad_utf8_and_surrogates),
	        cmocka_unit_test(test_rejects_non_json_numbers),
	        cmocka_unit_test(test_rejects_malformed),
	        cmocka_unit_test(test_rejects_too_large),
	        cmocka_unit_test(test_rejects_too_deep),
	        cmocka_unit_test(test_error_message_has_position),
	        cmocka_unit_test(test_jcs_basics),
	        cmocka_unit_test(test_jcs_number_rejects_nan_inf),
	        cmocka_unit_test(test_jcs_dump_depth_cap),
	        cmocka_unit_test(test_equal_numbers_by_value),
	        cmocka_unit_test(test_utf8_helpers),
	        cmocka_unit_test(test_jcs_reference_pairs),
	        cmocka_unit_test(test_jcs_numbers_file),
	};
	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
