/*
 * fuzz_spec.c: pw_spec_parse(), the YAML reader and the spec checker.
 *
 * For every input:
 *  - a spec comes back exactly when the status is PW_OK, and then diag
 *    holds no error; a refused spec (other than out of memory) has at
 *    least one error in diag;
 *  - diag is well formed: at most PW_DIAG_MAX items, each with a
 *    non-empty message, every error counted (diag.h promises no more
 *    of a message: it may hold a control character or a UTF-8 sequence
 *    cut by a byte limit, so neither is checked);
 *  - parsing the same bytes again gives the same status, the same
 *    messages and the same workflow_id;
 *  - on success the model is plain JSON (clean strings, finite numbers)
 *    whose canonical form parses back to an equal value with the same
 *    workflow_id, the workflow_id is "sha256:" and 64 lowercase hex
 *    digits, and every action is complete (compiled input schema,
 *    program, sha256 pin with their positions) and found by name; its
 *    input schema then validates a few instances without breaking.
 */
#include <stdint.h>
#include <string.h>

#include "core/json.h"
#include "core/spec.h"
#include "fuzz.h"

static void check_diag(const pw_diag *d)
{
	size_t errors = 0;
	FUZZ_ASSERT(d->n <= PW_DIAG_MAX && d->n <= d->cap);
	for (size_t i = 0; i < d->n; i++) {
		const pw_diag_item *it = &d->items[i];
		FUZZ_ASSERT(it->level == PW_DIAG_ERROR || it->level == PW_DIAG_WARNING);
		FUZZ_ASSERT(it->msg != NULL && it->msg[0] != '\0');
		errors += it->level == PW_DIAG_ERROR;
	}
	/* items past the cap, or lost to memory, are still counted */
	FUZZ_ASSERT(d->errors >= errors);
	if (d->n < PW_DIAG_MAX && !d->out_of_memory)
		FUZZ_ASSERT(d->errors == errors);
}

static bool same_diag(const pw_diag *a, const pw_diag *b)
{
	if (a->n != b->n || a->errors != b->errors)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const pw_diag_item *x = &a->items[i], *y = &b->items[i];
		if (x->level != y->level || x->line != y->line || x->col != y->col ||
		    strcmp(x->msg, y->msg) != 0)
			return false;
	}
	return true;
}

static bool is_workflow_id(const char *id)
{
	if (strlen(id) != PW_WORKFLOW_ID_LEN || strncmp(id, "sha256:", 7) != 0)
		return false;
	for (const char *p = id + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* Validate a few instances against a compiled input schema; only the contract is checked. */
static void poke_schema(const pw_schema *s, const json_t *def)
{
	json_t *inst[3];
	inst[0] = json_object();
	inst[1] = json_pack("{s:s, s:f}", "order_id", "ORD-1001", "amount_cents", 100.0);
	/* an object with every declared property set to null */
	inst[2] = json_object();
	FUZZ_ASSERT(inst[0] != NULL && inst[1] != NULL && inst[2] != NULL);
	const char *key;
	json_t *m;
	json_object_foreach (json_object_get(json_object_get(def, "input"), "properties"), key, m)
		FUZZ_ASSERT(json_object_set_new(inst[2], key, json_null()) == 0);
	for (size_t i = 0; i < 3; i++) {
		pw_schema_error e;
		pw_status st = pw_schema_validate(s, inst[i], &e);
		FUZZ_ASSERT(st == PW_OK || st == PW_ERR_INVALID || st == PW_ERR_LIMIT);
		FUZZ_ASSERT((st == PW_OK) == (e.rule[0] == '\0'));
		pw_schema_error_release(&e);
		json_decref(inst[i]);
	}
}

static void check_spec(const pw_spec *spec)
{
	char id[PW_WORKFLOW_ID_LEN + 1];
	char *canon;
	size_t clen;
	json_t *again = NULL;
	const json_t *actions = json_object_get(spec->model, "actions");

	FUZZ_ASSERT(spec->model != NULL && spec->marks != NULL);
	FUZZ_ASSERT(json_is_object(spec->model));
	FUZZ_ASSERT(fuzz_json_clean(spec->model));
	FUZZ_ASSERT(is_workflow_id(spec->workflow_id));
	FUZZ_ASSERT(pw_spec_id(spec->model, id) == PW_OK);
	FUZZ_ASSERT(strcmp(id, spec->workflow_id) == 0);

	/* the model is plain JSON: its canonical form reads back as the same workflow */
	canon = fuzz_jcs(spec->model, 0, &clen);
	pw_json_limits lim = {SIZE_MAX, 4 * PW_JSON_MAX_DEPTH_DEFAULT + 1};
	FUZZ_ASSERT(pw_json_parse(canon, clen, &lim, &again, NULL, 0) == PW_OK);
	FUZZ_ASSERT(pw_json_equal(spec->model, again));
	FUZZ_ASSERT(pw_spec_id(again, id) == PW_OK);
	FUZZ_ASSERT(strcmp(id, spec->workflow_id) == 0);
	json_decref(again);
	free(canon);

	FUZZ_ASSERT(json_is_object(actions));
	FUZZ_ASSERT(spec->n_actions == json_object_size(actions));
	FUZZ_ASSERT(spec->n_actions <= PW_SPEC_MAX_ACTIONS);
	for (size_t i = 0; i < spec->n_actions; i++) {
		const pw_action *a = &spec->actions[i];
		FUZZ_ASSERT(a->name != NULL && a->def == json_object_get(actions, a->name));
		FUZZ_ASSERT(pw_spec_action(spec, a->name) == a);
		FUZZ_ASSERT(a->input != NULL);
		FUZZ_ASSERT(a->program != NULL && a->program[0] != '\0');
		FUZZ_ASSERT(a->sha256 != NULL && strlen(a->sha256) == 64);
		FUZZ_ASSERT(a->program_line > 0 && a->sha256_line > 0);
		poke_schema(a->input, a->def);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	pw_diag d1 = PW_DIAG_INIT, d2 = PW_DIAG_INIT;
	pw_spec *s1 = NULL, *s2 = NULL;

	pw_status st1 = pw_spec_parse(buf, size, &s1, &d1);
	FUZZ_ASSERT((st1 == PW_OK) == (s1 != NULL));
	check_diag(&d1);
	if (st1 == PW_OK) {
		FUZZ_ASSERT(d1.errors == 0);
		check_spec(s1);
	} else if (st1 != PW_ERR_NOMEM) {
		if (d1.errors == 0)
			fprintf(stderr, "pw_spec_parse: %s with no error in diag\n",
			        pw_status_name(st1));
		FUZZ_ASSERT(d1.errors > 0);
	}

	/* the same bytes, the same verdict */
	pw_status st2 = pw_spec_parse(buf, size, &s2, &d2);
	FUZZ_ASSERT(st2 == st1);
	FUZZ_ASSERT(same_diag(&d1, &d2));
	if (st1 == PW_OK)
		FUZZ_ASSERT(strcmp(s1->workflow_id, s2->workflow_id) == 0);

	pw_spec_free(s2);
	pw_spec_free(s1);
	pw_diag_release(&d2);
	pw_diag_release(&d1);
	return 0;
}
