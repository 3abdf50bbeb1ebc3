/*
 * test_event.c: the log format's test vectors (tests/vectors/log, described
 * in docs/LOG-FORMAT.md) against pitwall's own code: each line of run.jsonl
 * is exactly the canonical form of its event (pw_event_dump), its hash is
 * the one hashes.txt gives (pw_event_hash), and the chain links
 * (pw_event_verify). tests/cli/log_vectors.sh checks the same vectors with
 * a second implementation written from the document.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/event.h"
#include "core/json.h"
#include "testutil.h"

static char *vector(const char *name)
{
	char path[4096];
	const char *root = getenv("PW_SOURCE_ROOT");
	snprintf(path, sizeof path, "%s/tests/vectors/log/%s", root && *root ? root : ".", name);
	char *buf = tu_read_file(path, NULL);
	if (buf == NULL)
		fail_msg("log vectors missing: %s", path);
	return buf;
}

/* The next line of *p (without its newline), or NULL at the end. */
static char *next_line(char **p)
{
	if (**p == '\0')
		return NULL;
	char *line = *p, *nl = strchr(line, '\n');
	if (nl != NULL) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p += strlen(line);
	}
	return line;
}

static json_t *parse(const char *line)
{
	json_t *ev = NULL;
	char err[256];
	pw_json_limits lim = {PW_EVENT_MAX_BYTES, 128};
	if (pw_json_parse(line, strlen(line), &lim, &ev, err, sizeof err) != PW_OK)
		fail_msg("vector does not parse: %s", err);
	return ev;
}

static void test_vectors_are_canonical_and_hash_as_given(void **state)
{
	(void)state;
	char *run = vector("run.jsonl"), *hashes = vector("hashes.txt");
	char *rp = run, *hp = hashes, *line, prev[PW_HASH_STR_LEN + 1], h[PW_HASH_STR_LEN + 1];
	char err[256];
	uint64_t seq = 0;
	memcpy(prev, pw_event_genesis_prev, sizeof prev);
	while ((line = next_line(&rp)) != NULL) {
		char *want = next_line(&hp);
		char seqbuf[24];
		assert_non_null(want);
		snprintf(seqbuf, sizeof seqbuf, "%llu ", (unsigned long long)seq);
		assert_int_equal(strncmp(want, seqbuf, strlen(seqbuf)), 0);
		want += strlen(seqbuf);

		json_t *ev = parse(line);
		char *canon = NULL;
		size_t n = 0;
		assert_int_equal(pw_event_dump(ev, &canon, &n), PW_OK);
		assert_string_equal(canon,
		                    line); /* the line is the canonical form, byte for byte */
		free(canon);
		assert_int_equal(pw_event_hash(ev, h), PW_OK);
		assert_string_equal(h, want);
		assert_int_equal(pw_event_verify(ev, "v1", seq, prev, err, sizeof err), PW_OK);
		memcpy(prev, h, sizeof prev);
		json_decref(ev);
		seq++;
	}
	assert_null(next_line(&hp));
	assert_true(seq >= 32);
	free(run);
	free(hashes);
}

/* Each member is covered: changing any one top-level member changes the hash. */
static void test_every_member_is_hashed(void **state)
{
	(void)state;
	char *run = vector("run.jsonl"), *rp = run, *line;
	char h0[PW_HASH_STR_LEN + 1], h1[PW_HASH_STR_LEN + 1];
	size_t members = 0;
	while ((line = next_line(&rp)) != NULL) {
		json_t *ev = parse(line);
		const char *key;
		json_t *val;
		assert_int_equal(pw_event_hash(ev, h0), PW_OK);
		json_object_foreach (ev, key, val) {
			if (strcmp(key, "hash") == 0)
				continue;
			json_t *copy = json_deep_copy(ev);
			assert_non_null(copy);
			/* prev must stay a hash string; flip its last hex digit instead */
			if (strcmp(key, "prev") == 0) {
				char p[PW_HASH_STR_LEN + 1];
				snprintf(p, sizeof p, "%s", json_string_value(val));
				p[PW_HASH_STR_LEN - 1] = p[PW_HASH_STR_LEN - 1] == '0' ? '1' : '0';
				assert_int_equal(json_object_set_new(copy, key, json_string(p)), 0);
			} else {
				assert_int_equal(
				        json_object_set_new(copy, key, json_string("x-changed")),
				        0);
			}
			assert_int_equal(pw_event_hash(copy, h1), PW_OK);
			assert_string_not_equal(h0, h1);
			json_decref(copy);
			members++;
		}
		/* the stored hash itself is not hashed */
		json_t *copy = json_deep_copy(ev);
		assert_int_equal(json_object_set_new(copy, "hash", json_string("x")), 0);
		assert_int_equal(pw_event_hash(copy, h1), PW_OK);
		assert_string_equal(h0, h1);
		json_decref(copy);
		json_decref(ev);
	}
	assert_true(members > 200);
	free(run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_vectors_are_canonical_and_hash_as_given),
	        cmocka_unit_test(test_every_member_is_hashed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
