/*
 * replay.c: run a fuzz harness on its corpus without libFuzzer.
 *
 * Linked with one tests/fuzz/fuzz_<parser>.c into an ordinary program
 * (meson builds fuzz_json, fuzz_spec, ...), so that the plain and the ASan
 * test suites replay every seed:
 *
 *     fuzz_json tests/fuzz/corpus/json       every file of the directory
 *     fuzz_json crash-1234 other-input       these files (a reproducer)
 *
 * Files of a directory run in strcmp() order of their names, dot files
 * skipped, so a run is deterministic. Each input is copied into a buffer of
 * exactly its size, as libFuzzer does, so that AddressSanitizer catches a
 * read one byte past the end. The name of each input goes to stdout before
 * it runs, so a crash is attributed. A harness reports a broken invariant
 * by abort(); this program exits 1 when an input cannot be read or a
 * directory holds none, 0 after "replayed N inputs".
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_MAX_BYTES ((size_t)16 << 20) /* larger than any seed should be */

/* Read path whole into a malloc()ed buffer of exactly its size (1 byte when empty). */
static int read_input(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;
	*out = NULL;
	*len = 0;
	if (f == NULL) {
		fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			if (cap > REPLAY_MAX_BYTES) {
				fprintf(stderr, "replay: %s: larger than %zu bytes\n", path,
				        REPLAY_MAX_BYTES);
				goto fail;
			}
			uint8_t *p = realloc(buf, cap);
			if (p == NULL)
				goto fail;
			buf = p;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		goto fail;
	}
	fclose(f);
	/* exact size, so that an over-read is caught */
	*out = malloc(n ? n : 1);
	if (*out == NULL) {
		free(buf);
		return -1;
	}
	memcpy(*out, buf, n);
	free(buf);
	*len = n;
	return 0;
fail:
	free(buf);
	fclose(f);
	return -1;
}

static int run_file(const char *path)
{
	uint8_t *data;
	size_t len;
	if (read_input(path, &data, &len) != 0)
		return -1;
	printf("%s (%zu bytes)\n", path, len);
	fflush(stdout);
	(void)LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay every regular file of dir in name order; adds to *count. */
static int run_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0, cap = 0, ran = 0;
	int rc = 0;
	struct dirent *e;
	if (d == NULL) {
		fprintf(stderr, "replay: cannot open directory %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **p = realloc(names, cap * sizeof *names);
			if (p == NULL) {
				rc = -1;
				break;
			}
			names = p;
		}
		if ((names[n] = strdup(e->d_name)) == NULL) {
			rc = -1;
			break;
		}
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char path[4096];
		struct stat sb;
		int w = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (w < 0 || (size_t)w >= sizeof path) {
			fprintf(stderr, "replay: path too long: %s/%s\n", dir, names[i]);
			rc = -1;
		} else if (stat(path, &sb) != 0) {
			fprintf(stderr, "replay: cannot stat %s: %s\n", path, strerror(errno));
			rc = -1;
		} else if (S_ISREG(sb.st_mode)) {
			rc = run_file(path);
			if (rc == 0)
				ran++;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc == 0 && ran == 0) {
		fprintf(stderr, "replay: %s holds no inputs\n", dir);
		rc = -1;
	}
	*count += ran;
	return rc;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat sb;
		int rc;
		if (stat(argv[i], &sb) != 0) {
			fprintf(stderr, "replay: cannot stat %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(sb.st_mode)) {
			rc = run_dir(argv[i], &count);
		} else {
			rc = run_file(argv[i]);
			if (rc == 0)
				count++;
		}
		if (rc != 0)
			return 1;
	}
	printf("replayed %zu inputs\n", count);
	return 0;
}
