/*
 * fuzz.h: what the fuzz harnesses share.
 *
 * Each tests/fuzz/fuzz_<parser>.c defines LLVMFuzzerTestOneInput(). Built
 * by scripts/fuzz with clang -fsanitize=fuzzer, libFuzzer drives it; built
 * in the ordinary suite (gcc, and the ASan build), tests/fuzz/replay.c
 * calls it once for each file of the parser's seed corpus.
 *
 * A harness returns 0 for every input, accepted or refused: refusing bad
 * input is the parser's job, and the library never aborts. The harness
 * calls abort() (through FUZZ_ASSERT) when a promise of the headers does
 * not hold, so that libFuzzer and the replay both report it as a crash
 * with the failed condition on stderr. Everything a harness allocates is
 * freed before it returns, so LeakSanitizer sees only the parser's leaks.
 */
#ifndef PW_FUZZ_H
#define PW_FUZZ_H

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

/* The libFuzzer entry point; data[0..size) is the input, not NUL-terminated. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((noreturn)) static inline void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, what);
	abort();
}

/* abort() with the condition's text when cond is false. */
#define FUZZ_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fuzz_fail(__FILE__, __LINE__, #cond);                                      \
	} while (0)

/*
 * True when every string and member name in v is valid UTF-8 without NUL
 * and every number is finite: what a value from pw_json_parse(), or built
 * from one by the core, must hold.
 */
static inline bool fuzz_json_clean(const json_t *v)
{
	const char *key;
	json_t *m;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		json_object_foreach ((json_t *)v, key, m) {
			if (!pw_utf8_valid(key, strlen(key)) || !fuzz_json_clean(m))
				return false;
		}
		return true;
	case JSON_ARRAY:
		for (size_t i = 0; i < json_array_size(v); i++)
			if (!fuzz_json_clean(json_array_get(v, i)))
				return false;
		return true;
	case JSON_STRING: return pw_utf8_valid(json_string_value(v), json_string_length(v));
	case JSON_REAL: return isfinite(json_real_value(v));
	case JSON_INTEGER:
	case JSON_TRUE:
	case JSON_FALSE:
	case JSON_NULL: return true;
	default: return false;
	}
}

/*
 * Canonical bytes of v (pw_jcs_dump() with a depth bound of max_depth),
 * which must succeed. The caller frees the result.
 */
static inline char *fuzz_jcs(const json_t *v, unsigned max_depth, size_t *len)
{
	char *out = NULL;
	pw_status st = pw_jcs_dump(v, max_depth, &out, len);
	if (st != PW_OK) {
		fprintf(stderr, "pw_jcs_dump: %s\n", pw_status_name(st));
		fuzz_fail(__FILE__, __LINE__, "pw_jcs_dump(v) == PW_OK");
	}
	FUZZ_ASSERT(out != NULL && strlen(out) == *len);
	return out;
}

#endif
