/*
 * fuzz_schema.c: pw_schema_compile() and pw_schema_validate().
 *
 * The input is read as JSON with pw_json_parse(), nesting up to 256
 * (anything else is skipped), and compiled as a schema. A refused schema must come back
 * NULL with a one-line message and a documented status. A compiled one
 * validates a set of instances: fixed ones covering every type and a
 * pattern that backtracks, the schema document itself and its members,
 * and objects built from the schema's own properties (each set to its
 * const, first enum value, first example or default), which tend to get
 * past "required" and "additionalProperties" into the nested schemas.
 *
 * For each validation:
 *  - the status is PW_OK, PW_ERR_INVALID or PW_ERR_LIMIT (PW_ERR_LIMIT
 *    only for "pattern"), and again the same without an error record;
 *  - PW_OK leaves the error record empty; a failure fills rule and a
 *    message that is one line of valid UTF-8, with a pointer of valid
 *    UTF-8 that, unless cut, leads into the instance: to the very value
 *    held as actual, or for "required" to the object (actual NULL);
 *  - the instance is left as it was;
 *  - releasing the record twice is harmless.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/schema.h"
#include "fuzz.h"

static const char *const fixed_instances[] = {
        "null",
        "true",
        "false",
        "0",
        "-1",
        "1.5",
        "9007199254740993",
        "-1e308",
        "\"\"",
        "\"a\"",
        "\"abc\\n\"",
        "\"ORD-1001\"",
        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\"",
        "\"\\u00e9\\ud83d\\ude00~/\\\\\"",
        "[]",
        "[1, \"a\", null, [[]], {}]",
        "{}",
        "{\"a\": 1}",
        "{\"branch\": \"main\", \"n\": 3, \"tags\": [\"x\", \"y\"]}",
        "{\"a/b~c\": {\"x\": [1, 2, {\"\\u0001\\n\": \"\\u007f\"}]}}",
};

/* A line of valid UTF-8: no control character, no DEL. */
static bool one_line(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return pw_utf8_valid(s, strlen(s));
}

/*
 * Follow an RFC 6901 pointer into v. Returns the value, or NULL when a
 * step is missing or malformed.
 */
static const json_t *follow(const json_t *v, const char *ptr)
{
	char seg[512];
	while (*ptr != '\0') {
		size_t n = 0;
		if (*ptr++ != '/')
			return NULL;
		while (*ptr != '\0' && *ptr != '/') {
			char c = *ptr++;
			if (c == '~') {
				if (*ptr == '0')
					c = '~';
				else if (*ptr == '1')
					c = '/';
				else
					return NULL;
				ptr++;
			}
			if (n + 1 >= sizeof seg)
				return NULL;
			seg[n++] = c;
		}
		seg[n] = '\0';
		if (json_is_object(v)) {
			v = json_object_getn(v, seg, n);
		} else if (json_is_array(v)) {
			char *end;
			unsigned long long i = strtoull(seg, &end, 10);
			if (n == 0 || *end != '\0' || i >= json_array_size(v))
				return NULL;
			v = json_array_get(v, (size_t)i);
		} else {
			return NULL;
		}
		if (v == NULL)
			return NULL;
	}
	return v;
}

static void check_validate(const pw_schema *s, const json_t *inst)
{
	pw_schema_error e;
	size_t before_len, after_len;
	char *before = fuzz_jcs(inst, 0, &before_len);

	pw_status st = pw_schema_validate(s, inst, &e);
	FUZZ_ASSERT(st == PW_OK || st == PW_ERR_INVALID || st == PW_ERR_LIMIT);
	if (st == PW_OK) {
		FUZZ_ASSERT(e.rule[0] == '\0' && e.message[0] == '\0' && e.pointer[0] == '\0');
		FUZZ_ASSERT(e.expected == NULL && e.actual == NULL);
	} else {
		FUZZ_ASSERT(e.rule[0] != '\0');
		FUZZ_ASSERT(e.message[0] != '\0' && one_line(e.message));
		FUZZ_ASSERT(pw_utf8_valid(e.pointer, strlen(e.pointer)));
		if (st == PW_ERR_LIMIT)
			FUZZ_ASSERT(strcmp(e.rule, "pattern") == 0);
		/* a cut pointer stops up to 4 bytes short of the end (code point, escape) */
		if (strlen(e.pointer) + 5 < sizeof e.pointer) {
			const json_t *at = follow(inst, e.pointer);
			FUZZ_ASSERT(at != NULL);
			if (strcmp(e.rule, "required") == 0) {
				FUZZ_ASSERT(e.actual == NULL && json_is_object(at));
				FUZZ_ASSERT(json_is_string(e.expected));
			} else {
				FUZZ_ASSERT(e.actual == at);
			}
		}
	}
	pw_schema_error_release(&e);
	pw_schema_error_release(&e);
	FUZZ_ASSERT(e.expected == NULL && e.actual == NULL);

	/* the same verdict without an error record */
	FUZZ_ASSERT(pw_schema_validate(s, inst, NULL) == st);

	char *after = fuzz_jcs(inst, 0, &after_len);
	FUZZ_ASSERT(after_len == before_len && memcmp(before, after, after_len) == 0);
	free(after);
	free(before);
}

/* A value a property's schema suggests: const, enum[0], examples[0], default; or NULL. */
static json_t *suggest(const json_t *sub)
{
	static const char *const keys[] = {"const", "enum", "examples", "default"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		json_t *v = json_object_get(sub, keys[i]);
		if (v == NULL)
			continue;
		if (i == 1 || i == 2)
			v = json_array_get(v, 0);
		if (v != NULL)
			return v;
	}
	return NULL;
}

/* An object with each of schema's properties set to suggest(), recursively for objects. */
static json_t *build(const json_t *schema, unsigned depth)
{
	const char *key;
	json_t *sub;
	json_t *obj = json_object();
	FUZZ_ASSERT(obj != NULL);
	json_object_foreach (json_object_get(schema, "properties"), key, sub) {
		json_t *v = suggest(sub);
		if (v != NULL)
			v = json_incref(v);
		else if (json_is_object(json_object_get(sub, "properties")) && depth < 70)
			v = build(sub, depth + 1);
		else
			continue;
		FUZZ_ASSERT(json_object_set_new(obj, key, v) == 0);
	}
	return obj;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *schema = NULL;
	pw_schema *s = NULL;
	char err[512] = "";

	/* deeper than the JSON default, so that the schema's own depth cap is reached */
	pw_json_limits lim = {PW_JSON_MAX_BYTES_DEFAULT, 4 * PW_JSON_MAX_DEPTH_DEFAULT};
	if (pw_json_parse((const char *)data, size, &lim, &schema, NULL, 0) != PW_OK)
		return 0;

	pw_status st = pw_schema_compile(schema, &s, err, sizeof err);
	if (st != PW_OK) {
		FUZZ_ASSERT(s == NULL);
		FUZZ_ASSERT(st == PW_ERR_INVALID || st == PW_ERR_TOO_DEEP || st == PW_ERR_NOMEM);
		FUZZ_ASSERT(err[0] != '\0' && one_line(err));
		json_decref(schema);
		return 0;
	}
	FUZZ_ASSERT(s != NULL);
	FUZZ_ASSERT(json_is_object(schema));

	for (size_t i = 0; i < sizeof fixed_instances / sizeof fixed_instances[0]; i++) {
		json_t *inst = NULL;
		const char *text = fixed_instances[i];
		FUZZ_ASSERT(pw_json_parse(text, strlen(text), NULL, &inst, NULL, 0) == PW_OK);
		check_validate(s, inst);
		json_decref(inst);
	}
	check_validate(s, schema);
	const char *key;
	json_t *member;
	json_object_foreach (schema, key, member)
		check_validate(s, member);
	json_t *built = build(schema, 0);
	check_validate(s, built);
	json_decref(built);
	json_t *suggested = suggest(schema);
	if (suggested != NULL)
		check_validate(s, suggested);

	pw_schema_free(s);
	json_decref(schema);
	return 0;
}
