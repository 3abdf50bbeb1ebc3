/*
 * testutil.h: small helpers shared by the unit tests (reading vector files).
 */
#ifndef PW_TESTUTIL_H
#define PW_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Read a whole file into a NUL-terminated malloc()ed buffer. Returns NULL
 * (after printing why) when it cannot.
 */
static inline char *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;
	if (f == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		return NULL;
	}
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			char *p = realloc(buf, cap);
			if (p == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
		size_t r = fread(buf + n, 1, 4096, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/*
 * Path of a file under the reference vectors, from $PW_VECTORS (set by
 * the meson test environment) or ../shared/vectors.
 */
static inline const char *tu_vector_path(const char *rel)
{
	static char path[4096];
	const char *dir = getenv("PW_VECTORS");
	if (dir == NULL || dir[0] == '\0')
		dir = "../shared/vectors";
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	return path;
}

#endif
