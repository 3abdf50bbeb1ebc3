/*
 * fuzz_canon.c: pw_canon_object() and what the verifier builds on it
 * (core/canon.h, pw_event_hash_canon()).
 *
 * For every input:
 *  - accepted means canonical: pw_json_parse() takes the text (with the
 *    same depth limit) and pw_jcs_dump() of what it parses is the text,
 *    byte for byte; so skipping pw_jcs_dump() for an accepted line is sound;
 *  - the members listed are the object's, in order: each name is a member,
 *    pw_canon_value() of its span is the very value parsed there (equal,
 *    and of the same JSON types: numbers as reals), pw_canon_string() of a
 *    string span is the string, pw_canon_int() agrees with pw_event_int();
 *    pw_canon_members() lists the same spans;
 *  - the event hash from the bytes is the event hash of the parsed value
 *    (pw_event_hash_canon() and pw_event_hash() agree, status included);
 *  - and the converse, so that the fast reading is taken when it can be:
 *    a text that is the canonical form of what it parses to is accepted,
 *    unless a member name is written with an escape or it has more members
 *    than the room given.
 */
#include <stdint.h>
#include <string.h>

#include "core/canon.h"
#include "core/event.h"
#include "core/json.h"
#include "fuzz.h"

#define MAX_DEPTH   128u
#define MAX_MEMBERS 64

/* Equal and of the same JSON types all the way down (pw_json_equal() lets 1 equal 1.0). */
static bool same_value(const json_t *a, const json_t *b)
{
	if (json_typeof(a) != json_typeof(b) || !pw_json_equal(a, b))
		return false;
	if (json_is_array(a)) {
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!same_value(json_array_get(a, i), json_array_get(b, i)))
				return false;
	} else if (json_is_object(a)) {
		const char *key;
		json_t *m;
		void *ib = json_object_iter((json_t *)b);
		json_object_foreach ((json_t *)a, key, m) {
			/* the same members in the same order of insertion */
			if (ib == NULL || strcmp(key, json_object_iter_key(ib)) != 0 ||
			    !same_value(m, json_object_iter_value(ib)))
				return false;
			ib = json_object_iter_next((json_t *)b, ib);
		}
	}
	return true;
}

/* Whether some member name anywhere in v needs an escape in canonical form. */
static bool escaped_name(const json_t *v)
{
	const char *key;
	json_t *m;
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			if (escaped_name(json_array_get(v, i)))
				return true;
	} else if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, key, m) {
			for (const char *p = key; *p != '\0'; p++)
				if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\')
					return true;
			if (escaped_name(m))
				return true;
		}
	}
	return false;
}

static void check_members(const char *buf, size_t size, const json_t *v, const pw_canon_member *m,
                          size_t n)
{
	pw_canon_member again[MAX_MEMBERS];
	size_t n2 = 0;
	FUZZ_ASSERT(n == json_object_size(v));
	FUZZ_ASSERT(pw_canon_members(buf, size, again, MAX_MEMBERS, &n2) && n2 == n);
	void *it = json_object_iter((json_t *)v);
	for (size_t i = 0; i < n; i++, it = json_object_iter_next((json_t *)v, it)) {
		FUZZ_ASSERT(it != NULL);
		FUZZ_ASSERT(m[i].name_len == strlen(json_object_iter_key(it)) &&
		            memcmp(m[i].name, json_object_iter_key(it), m[i].name_len) == 0);
		FUZZ_ASSERT(again[i].name == m[i].name && again[i].name_len == m[i].name_len &&
		            again[i].value == m[i].value && again[i].value_len == m[i].value_len);
		const json_t *want = json_object_iter_value(it);
		json_t *got = pw_canon_value(m[i].value, m[i].value_len);
		FUZZ_ASSERT(got != NULL && same_value(got, want));
		json_decref(got);
		if (json_is_string(want)) {
			char *s = malloc(m[i].value_len);
			FUZZ_ASSERT(s != NULL);
			size_t len = pw_canon_string(m[i].value, m[i].value_len, s);
			FUZZ_ASSERT(len == json_string_length(want) &&
			            memcmp(s, json_string_value(want), len) == 0 && s[len] == '\0');
			free(s);
		}
		FUZZ_ASSERT(pw_canon_int(m[i].value, m[i].value_len) ==
		            pw_event_int(v, json_object_iter_key(it)));
	}
}

static void check_hash(const char *buf, size_t size, const json_t *v, const pw_canon_member *m,
                       size_t n)
{
	char a[PW_HASH_STR_LEN + 1] = "", b[PW_HASH_STR_LEN + 1] = "";
	pw_event_hasher *h = NULL;
	FUZZ_ASSERT(pw_event_hasher_new(&h) == PW_OK);
	pw_status sa = pw_event_hash_canon(h, buf, size, m, n, a);
	pw_status sb = pw_event_hash(v, b);
	FUZZ_ASSERT(sa == sb);
	FUZZ_ASSERT(sa != PW_OK || strcmp(a, b) == 0);
	pw_event_hasher_free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	pw_canon_member m[MAX_MEMBERS];
	size_t n = 0;
	json_t *v = NULL;
	pw_json_limits lim = {size, MAX_DEPTH};

	bool accepted = pw_canon_object(buf, size, MAX_DEPTH, m, MAX_MEMBERS, &n);
	pw_status st = pw_json_parse(buf, size, &lim, &v, NULL, 0);
	if (accepted) {
		FUZZ_ASSERT(st == PW_OK && json_is_object(v));
		size_t len = 0;
		char *canon = fuzz_jcs(v, 0, &len);
		FUZZ_ASSERT(len == size && memcmp(canon, buf, size) == 0);
		free(canon);
		check_members(buf, size, v, m, n);
		check_hash(buf, size, v, m, n);
	} else if (st == PW_OK && json_is_object(v) && !escaped_name(v) &&
	           json_object_size(v) <= MAX_MEMBERS) {
		char *canon = NULL;
		size_t len = 0;
		if (pw_jcs_dump(v, 0, &canon, &len) == PW_OK)
			FUZZ_ASSERT(len != size || memcmp(canon, buf, size) != 0);
		free(canon);
	}
	json_decref(v);
	return 0;
}
