/*
 * reseal: a forger's tool for the tamper tests. Reads JSON Lines events on
 * stdin and writes them back with seq renumbered from 0 and every prev and
 * hash recomputed (core/event.h), as someone with write access to a log
 * would do to hide an edit from the hash chain. The verifier must then
 * catch the edit by replaying the decisions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/json.h"

int main(void)
{
	char *line = NULL, prev[PW_HASH_STR_LEN + 1];
	size_t cap = 0;
	ssize_t n;
	uint64_t seq = 0;
	pw_json_limits lim = {PW_EVENT_MAX_BYTES, 128};
	memcpy(prev, pw_event_genesis_prev, sizeof prev);
	while ((n = getline(&line, &cap, stdin)) > 0) {
		json_t *ev = NULL;
		char *out = NULL;
		size_t len = 0;
		const char *run_id;
		if (pw_json_parse(line, (size_t)n, &lim, &ev, NULL, 0) != PW_OK ||
		    (run_id = json_string_value(json_object_get(ev, "run_id"))) == NULL) {
			fprintf(stderr, "reseal: line %llu is not an event\n",
			        (unsigned long long)seq + 1);
			return 2;
		}
		char *rid = strdup(run_id);
		if (rid == NULL || pw_event_seal(ev, rid, seq, prev, 0) != PW_OK ||
		    pw_event_dump(ev, &out, &len) != PW_OK) {
			fprintf(stderr, "reseal: cannot seal line %llu\n",
			        (unsigned long long)seq + 1);
			return 2;
		}
		memcpy(prev, json_string_value(json_object_get(ev, "hash")), sizeof prev);
		printf("%s\n", out);
		free(out);
		free(rid);
		json_decref(ev);
		seq++;
	}
	free(line);
	return 0;
}
