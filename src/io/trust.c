#include "io/trust.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TRUST_MAX_BYTES  (64 * 1024)
#define TRUST_MAX_OWNERS 256
#define TRUST_MAX_USERS  64

static pw_status say(pw_status st, char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static pw_status say(pw_status st, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return st;
}

/* Whether st (of path) can be changed only by root. */
static bool root_only(const struct stat *st, bool dir)
{
	if (st->st_uid != 0)
		return false;
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) == 0)
		return true;
	/* a sticky directory (/tmp): others may add files, not replace root's */
	return dir && (st->st_mode & S_ISVTX) != 0;
}

/* Every directory from the file's up to /: owned by root, not writable by others. */
static pw_status check_dirs(const char *path, char *err, size_t errlen)
{
	char *real = realpath(path, NULL);
	if (real == NULL)
		return say(PW_ERR_IO, err, errlen, "%s: %s", path, strerror(errno));
	pw_status st = PW_OK;
	for (char *slash = strrchr(real, '/'); slash != NULL; slash = strrchr(real, '/')) {
		if (slash == real)
			slash[1] = '\0';
		else
			*slash = '\0';
		struct stat sb;
		if (stat(real, &sb) != 0) {
			st = say(PW_ERR_IO, err, errlen, "%s: %s", real, strerror(errno));
			break;
		}
		if (!root_only(&sb, true)) {
			st = say(PW_ERR_PERM, err, errlen,
			         "the trust file is refused: its directory %s can be changed by "
			         "someone other than root (owner uid %u, mode %04o)",
			         real, (unsigned)sb.st_uid, (unsigned)(sb.st_mode & 07777));
			break;
		}
		if (slash == real)
			break;
	}
	free(real);
	return st;
}

/* The file's text, after the checks; NULL with err set. */
static char *read_trust(const char *path, pw_status *st, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*st = say(errno == ENOENT  ? PW_ERR_NOTFOUND
		          : errno == ELOOP ? PW_ERR_PERM
		                           : PW_ERR_IO,
		          err, errlen, "the trust file %s: %s", path,
		          errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return NULL;
	}
	struct stat sb;
	char *buf = NULL;
	if (fstat(fd, &sb) != 0) {
		*st = say(PW_ERR_IO, err, errlen, "%s: %s", path, strerror(errno));
	} else if (!S_ISREG(sb.st_mode)) {
		*st = say(PW_ERR_PERM, err, errlen, "the trust file %s is not a regular file",
		          path);
	} else if (!root_only(&sb, false)) {
		*st = say(PW_ERR_PERM, err, errlen,
		          "the trust file %s is refused: it must be owned by root and writable by "
		          "no one else (owner uid %u, mode %04o)",
		          path, (unsigned)sb.st_uid, (unsigned)(sb.st_mode & 07777));
	} else if (sb.st_size > TRUST_MAX_BYTES) {
		*st = say(PW_ERR_TOO_LARGE, err, errlen, "the trust file %s is over %d bytes", path,
		          TRUST_MAX_BYTES);
	} else if ((*st = check_dirs(path, err, errlen)) == PW_OK) {
		buf = malloc((size_t)sb.st_size + 1);
		size_t n = 0;
		while (buf != NULL && n < (size_t)sb.st_size) {
			ssize_t r = read(fd, buf + n, (size_t)sb.st_size - n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			n += (size_t)r;
		}
		if (buf == NULL)
			*st = say(PW_ERR_NOMEM, err, errlen, "out of memory");
		else if (n != (size_t)sb.st_size) {
			*st = say(PW_ERR_IO, err, errlen, "%s: short read", path);
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			if (memchr(buf, '\0', n) != NULL) {
				*st = say(PW_ERR_INVALID, err, errlen, "%s: a NUL byte", path);
				free(buf);
				buf = NULL;
			}
		}
	}
	close(fd);
	return buf;
}

/* A name: [a-z_][a-z0-9_.-]* of at most max bytes (an owner, or a user). */
static bool name_ok(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	return true;
}

pw_status pw_trust_authenticate(const char *path, const char *owner,
                                char os_user[PW_TRUST_USER_MAX + 1], char *err, size_t errlen)
{
	if (path == NULL)
		path = PW_TRUST_DEFAULT;
	os_user[0] = '\0';
	struct passwd *pw = getpwuid(getuid());
	if (pw == NULL || strlen(pw->pw_name) > PW_TRUST_USER_MAX)
		return say(PW_ERR_PERM, err, errlen,
		           "NOT_AUTHENTICATED: the calling user (uid %u) has no usable name",
		           (unsigned)getuid());
	pw_status st = PW_OK;
	char *text = read_trust(path, &st, err, errlen);
	if (text == NULL)
		return st;
	bool found = false, allowed = false;
	unsigned line = 0, owners = 0;
	for (char *p = text, *next; p != NULL && *p != '\0' && st == PW_OK; p = next) {
		line++;
		next = strchr(p, '\n');
		if (next != NULL)
			*next++ = '\0';
		char *hash = strchr(p, '#');
		if (hash != NULL)
			*hash = '\0';
		p += strspn(p, " \t\r");
		if (*p == '\0')
			continue;
		char *colon = strchr(p, ':');
		size_t on = colon ? (size_t)(colon - p) : 0;
		while (on > 0 && (p[on - 1] == ' ' || p[on - 1] == '\t'))
			on--;
		if (colon == NULL || !name_ok(p, on, 64)) {
			st = say(PW_ERR_INVALID, err, errlen,
			         "%s:%u: expected \"owner: user, user\" with an owner name "
			         "^[a-z][a-z0-9_.-]{0,63}$",
			         path, line);
			break;
		}
		if (++owners > TRUST_MAX_OWNERS) {
			st = say(PW_ERR_INVALID, err, errlen, "%s: more than %d owners", path,
			         TRUST_MAX_OWNERS);
			break;
		}
		bool this_owner = strlen(owner) == on && memcmp(owner, p, on) == 0;
		found = found || this_owner;
		unsigned users = 0;
		for (char *u = colon + 1; st == PW_OK;) {
			u += strspn(u, " \t\r,");
			if (*u == '\0')
				break;
			size_t un = strcspn(u, " \t\r,");
			if (!name_ok(u, un, PW_TRUST_USER_MAX) || ++users > TRUST_MAX_USERS)
				st = say(PW_ERR_INVALID, err, errlen,
				         "%s:%u: \"%.*s\" is not a user name (or more than %d "
				         "users)",
				         path, line, (int)(un > 64 ? 64 : un), u, TRUST_MAX_USERS);
			else if (this_owner && strlen(pw->pw_name) == un &&
			         memcmp(pw->pw_name, u, un) == 0)
				allowed = true;
			u += un;
		}
	}
	free(text);
	if (st != PW_OK)
		return st;
	if (!allowed)
		return say(PW_ERR_PERM, err, errlen,
		           "NOT_AUTHENTICATED: %s does not let OS user %s act as owner %s%s", path,
		           pw->pw_name, owner, found ? "" : " (no such owner in it)");
	snprintf(os_user, PW_TRUST_USER_MAX + 1, "%s", pw->pw_name);
	return PW_OK;
}
