/*
 * trust.h: the operator trust file, which says which OS users may act as
 * which owners (pitwall approve, deny, resolve, resume, unlock).
 *
 * One owner a line, its OS users after a colon, separated by spaces or
 * commas; "#" starts a comment:
 *
 *     # /etc/pitwall/owners
 *     finance-lead: alice, bob
 *     ml-lead: carol
 *
 * The file decides who may approve what, so pitwall refuses it unless only
 * root can change it: a regular file (not a symbolic link) owned by root,
 * not writable by group or others, in directories up to / that are owned
 * by root and not writable by group or others (the sticky /tmp excepted).
 * At most 64 KiB, 256 owners and 64 users an owner.
 *
 * The calling user is the process's real uid, looked up by name. This is
 * as strong as the OS accounts are, and no stronger: see docs/SECURITY.md.
 */
#ifndef PW_IO_TRUST_H
#define PW_IO_TRUST_H

#include <stddef.h>

#include "core/err.h"

#define PW_TRUST_DEFAULT  "/etc/pitwall/owners"
#define PW_TRUST_USER_MAX 64

/*
 * Check that the calling user may act as owner according to the trust
 * file at path (NULL: PW_TRUST_DEFAULT). PW_OK with os_user set to the
 * caller's user name; PW_ERR_NOTFOUND (no such file), PW_ERR_PERM (the
 * file is refused, or it does not let this user act as owner: err says
 * which, beginning "NOT_AUTHENTICATED: " for the latter), PW_ERR_INVALID
 * (a line that does not read).
 */
PW_MUST_CHECK pw_status pw_trust_authenticate(const char *path, const char *owner,
                                              char os_user[PW_TRUST_USER_MAX + 1], char *err,
                                              size_t errlen);

#endif
