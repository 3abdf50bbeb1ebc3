/*
 * fuzz_logic.c: pw_logic_check() and pw_logic_eval().
 *
 * The input is read as JSON with pw_json_parse(), nesting up to 256
 * (anything else is skipped). A two-element array is [rule, data], as in the official test
 * suite; any other value is a rule evaluated against null.
 *
 * For every rule:
 *  - pw_logic_check() returns PW_OK, or PW_ERR_INVALID / PW_ERR_LIMIT with
 *    a message;
 *  - pw_logic_eval() returns PW_OK with a result, or one of its documented
 *    statuses with *out NULL and a message; it is run whatever the check
 *    said, since a hostile rule may skip the check;
 *  - a result is plain JSON: clean strings, finite numbers, canonical form
 *    that parses back to an equal value;
 *  - the bounds only stop evaluation, never change it: an evaluation that
 *    ends (other than by the bound) with a small step budget ends the same
 *    way, with the same result, with the default budget;
 *  - rule and data are not modified, and once the results are released
 *    every node of the input holds its one reference again (no reference
 *    leaked or dropped).
 */
#include <stdint.h>
#include <string.h>

#include "core/json.h"
#include "core/logic.h"
#include "fuzz.h"

/* Depth bound for pw_jcs_dump() of a result: inputs (64) plus what a rule may add (1024). */
#define RESULT_MAX_DEPTH 4096u

typedef struct run {
	pw_status st;
	json_t *out; /* owned; NULL unless st is PW_OK */
	char *canon; /* owned; canonical form of out */
	size_t clen;
} run;

static bool eval_status_ok(pw_status st)
{
	return st == PW_OK || st == PW_ERR_INVALID || st == PW_ERR_LIMIT || st == PW_ERR_NOMEM;
}

static void eval(const json_t *rule, const json_t *data, const pw_logic_limits *lim, run *r)
{
	char err[256] = "";
	r->out = NULL;
	r->canon = NULL;
	r->clen = 0;
	r->st = pw_logic_eval(rule, data, lim, &r->out, err, sizeof err);
	FUZZ_ASSERT(eval_status_ok(r->st));
	if (r->st != PW_OK) {
		FUZZ_ASSERT(r->out == NULL);
		FUZZ_ASSERT(err[0] != '\0');
		return;
	}
	FUZZ_ASSERT(r->out != NULL);
	FUZZ_ASSERT(fuzz_json_clean(r->out));
	(void)pw_logic_truthy(r->out);
	r->canon = fuzz_jcs(r->out, RESULT_MAX_DEPTH, &r->clen);
	FUZZ_ASSERT(pw_utf8_valid(r->canon, r->clen));
}

static void run_release(run *r)
{
	free(r->canon);
	json_decref(r->out);
}

/* The result reads back: canonical form parses to an equal value. */
static void check_reparse(const run *r)
{
	json_t *back = NULL;
	pw_json_limits lim = {SIZE_MAX, RESULT_MAX_DEPTH};
	FUZZ_ASSERT(pw_json_parse(r->canon, r->clen, &lim, &back, NULL, 0) == PW_OK);
	FUZZ_ASSERT(pw_json_equal(r->out, back));
	json_decref(back);
}

/* Every node under v (v excluded) has exactly one reference: its parent's. */
static bool sole_refs(const json_t *v)
{
	const char *key;
	json_t *m;
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			const json_t *c = json_array_get(v, i);
			if (!json_is_null(c) && !json_is_boolean(c) && c->refcount != 1)
				return false;
			if (!sole_refs(c))
				return false;
		}
	} else if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, key, m) {
			if (!json_is_null(m) && !json_is_boolean(m) && m->refcount != 1)
				return false;
			if (!sole_refs(m))
				return false;
		}
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *root = NULL, *holder = NULL;
	const json_t *rule, *input;
	char err[256] = "";
	char *before;
	size_t before_len, after_len;

	/* deeper than the JSON default, so that the rule depth bound is reached */
	pw_json_limits lim = {PW_JSON_MAX_BYTES_DEFAULT, 4 * PW_JSON_MAX_DEPTH_DEFAULT};
	if (pw_json_parse((const char *)data, size, &lim, &root, NULL, 0) != PW_OK)
		return 0;
	/* hold the root in an array so that every node, the root too, has one owner */
	holder = json_array();
	FUZZ_ASSERT(holder != NULL && json_array_append_new(holder, root) == 0);
	if (json_is_array(root) && json_array_size(root) == 2) {
		rule = json_array_get(root, 0);
		input = json_array_get(root, 1);
	} else {
		rule = root;
		input = NULL;
	}
	FUZZ_ASSERT(sole_refs(holder));
	before = fuzz_jcs(holder, RESULT_MAX_DEPTH, &before_len);

	pw_status st = pw_logic_check(rule, NULL, err, sizeof err);
	FUZZ_ASSERT(st == PW_OK || st == PW_ERR_INVALID || st == PW_ERR_LIMIT);
	if (st != PW_OK)
		FUZZ_ASSERT(err[0] != '\0');

	run full, small;
	pw_logic_limits tight = {0, 300};
	eval(rule, input, NULL, &full);
	eval(rule, input, &tight, &small);
	if (full.st == PW_OK)
		check_reparse(&full);
	if (small.st != PW_ERR_LIMIT && small.st != PW_ERR_NOMEM) {
		FUZZ_ASSERT(full.st == small.st);
		if (full.st == PW_OK)
			FUZZ_ASSERT(full.clen == small.clen &&
			            memcmp(full.canon, small.canon, full.clen) == 0);
	}
	run_release(&small);
	run_release(&full);

	/* rule and data untouched, every reference given back */
	char *after = fuzz_jcs(holder, RESULT_MAX_DEPTH, &after_len);
	FUZZ_ASSERT(after_len == before_len && memcmp(before, after, after_len) == 0);
	FUZZ_ASSERT(sole_refs(holder));
	free(after);
	free(before);
	json_decref(holder);
	return 0;
}
