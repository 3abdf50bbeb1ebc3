/*
 * nolandlock: run a command as if the kernel had no Landlock (and, with
 * --no-netns, could make no namespace), to test pitwall's refusal path on a
 * kernel that has them: a seccomp filter makes landlock_create_ruleset(),
 * landlock_add_rule() and landlock_restrict_self() fail with ENOSYS, as
 * they do on a kernel built without Landlock (and unshare() and clone()
 * with namespace flags fail with EPERM), then the command is executed.
 *
 *     nolandlock [--no-netns] PROGRAM [ARG...]
 */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int first = 1;
	int no_netns = argc > 1 && strcmp(argv[1], "--no-netns") == 0;
	first += no_netns;
	if (argc <= first || argv[first][0] != '/') {
		fprintf(stderr, "usage: nolandlock [--no-netns] /PROGRAM [ARG...]\n");
		return 2;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc = ctx == NULL;
	static const char *const calls[] = {"landlock_create_ruleset", "landlock_add_rule",
	                                    "landlock_restrict_self"};
	for (size_t i = 0; i < sizeof calls / sizeof *calls && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
		                      seccomp_syscall_resolve_name(calls[i]), 0);
	if (no_netns && rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 0);
	if (no_netns && rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
		                      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWNET, CLONE_NEWNET));
	if (rc == 0)
		rc = seccomp_load(ctx); /* sets no_new_privs first */
	seccomp_release(ctx);
	if (rc != 0) {
		fprintf(stderr, "nolandlock: cannot load the filter: %s\n", strerror(-rc));
		return 1;
	}
	execv(argv[first], argv + first);
	fprintf(stderr, "nolandlock: %s: %s\n", argv[first], strerror(errno));
	return 127;
}
