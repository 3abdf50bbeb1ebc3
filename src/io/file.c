#include "io/file.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hash.h"

/* Open path for reading and check it is a regular file within max bytes. */
static pw_status open_regular(const char *path, size_t max, int *fd_out, size_t *size, char *err,
                              size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open: %s", strerror(e));
		return e == ENOENT || e == ENOTDIR ? PW_ERR_NOTFOUND
		       : e == EACCES || e == EPERM ? PW_ERR_PERM
		                                   : PW_ERR_IO;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		return PW_ERR_IO;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "is a directory");
		close(fd);
		return PW_ERR_INVALID;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		close(fd);
		return PW_ERR_INVALID;
	}
	if ((unsigned long long)st.st_size > max) {
		snprintf(err, errlen, "file is %lld bytes, over the limit of %zu",
		         (long long)st.st_size, max);
		close(fd);
		return PW_ERR_TOO_LARGE;
	}
	*fd_out = fd;
	*size = (size_t)st.st_size;
	return PW_OK;
}

pw_status pw_file_read(const char *path, size_t max, char **buf, size_t *len, char *err,
                       size_t errlen)
{
	int fd = -1;
	size_t size = 0, n = 0;
	*buf = NULL;
	*len = 0;
	PW_TRY(open_regular(path, max, &fd, &size, err, errlen));
	/* read up to max+1 bytes: the file may grow between fstat and read */
	char *b = malloc(max + 1);
	if (b == NULL) {
		close(fd);
		return PW_ERR_NOMEM;
	}
	for (;;) {
		ssize_t r = read(fd, b + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s", strerror(errno));
			free(b);
			close(fd);
			return PW_ERR_IO;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			snprintf(err, errlen, "file is over the limit of %zu bytes", max);
			free(b);
			close(fd);
			return PW_ERR_TOO_LARGE;
		}
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return PW_OK;
}

pw_status pw_file_sha256(const char *path, size_t max, char hex[65], char *err, size_t errlen)
{
	int fd = -1;
	size_t size = 0, total = 0;
	unsigned char digest[PW_SHA256_LEN], chunk[65536];
	unsigned int dlen = 0;
	pw_status st = PW_OK;

	PW_TRY(open_regular(path, max, &fd, &size, err, errlen));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		st = PW_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s", strerror(errno));
			st = PW_ERR_IO;
			goto out;
		}
		if (r == 0)
			break;
		total += (size_t)r;
		if (total > max) {
			snprintf(err, errlen, "file is over the limit of %zu bytes", max);
			st = PW_ERR_TOO_LARGE;
			goto out;
		}
		if (EVP_DigestUpdate(ctx, chunk, (size_t)r) != 1) {
			st = PW_ERR_INTERNAL;
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(ctx, digest, &dlen) != 1 || dlen != PW_SHA256_LEN) {
		st = PW_ERR_INTERNAL;
		goto out;
	}
	pw_hex(digest, PW_SHA256_LEN, hex);
out:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return st;
}

char *pw_path_dir_abs(const char *path)
{
	char *copy = strdup(path), *abs = NULL;
	if (copy == NULL)
		return NULL;
	char *slash = strrchr(copy, '/');
	if (slash == NULL)
		abs = realpath(".", NULL);
	else if (slash == copy)
		abs = strdup("/");
	else {
		*slash = '\0';
		abs = realpath(copy, NULL);
	}
	free(copy);
	return abs;
}
