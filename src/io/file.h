/*
 * file.h: bounded reads of whole files.
 */
#ifndef PW_IO_FILE_H
#define PW_IO_FILE_H

#include <stddef.h>

#include "core/err.h"

/*
 * Read the regular file at path, refusing one larger than max bytes. On
 * success *buf is a NUL-terminated buffer from malloc() (the caller frees
 * it) and *len its length. On failure err holds one line such as
 * "is a directory" or "file is 10485760 bytes, over the limit of 1048576"
 * (without the path) and the status says what kind: PW_ERR_NOTFOUND,
 * PW_ERR_PERM, PW_ERR_TOO_LARGE, PW_ERR_INVALID (not a regular file),
 * PW_ERR_IO, PW_ERR_NOMEM.
 */
PW_MUST_CHECK pw_status pw_file_read(const char *path, size_t max, char **buf, size_t *len,
                                     char *err, size_t errlen);

/*
 * SHA-256 of the regular file at path as 64 lowercase hex digits into
 * hex (65 bytes). Refuses files over max bytes. Same errors as above.
 */
PW_MUST_CHECK pw_status pw_file_sha256(const char *path, size_t max, char hex[65], char *err,
                                       size_t errlen);

/*
 * Absolute path (realpath) of the folder holding path, which itself need
 * not exist: "dir/x" gives the real path of "dir", "x" that of ".". From
 * malloc(); NULL (errno set) when the folder does not resolve.
 */
char *pw_path_dir_abs(const char *path);

#endif
