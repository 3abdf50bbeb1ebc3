/*
 * sandbox.c: confine an executor program (see sandbox.h).
 *
 * The parent does everything that allocates or reads files: the kernel
 * probe (once per process), the seccomp BPF program (once per process and
 * network variant, with libseccomp), the Landlock ruleset (per run: the
 * paths are opened here), the pids cgroup (per run, as root), the rlimit
 * values and the uid/gid map lines. The child, which shares the parent's
 * memory until it executes the program (CLONE_VM | CLONE_VFORK: no page
 * tables are copied, so starting it costs the same whatever the broker's
 * size), then makes system calls only, through syscall(): no allocation,
 * no lock, no libc state. When a step fails it writes the step and errno
 * into the shared record and exits 127; the parent reads them once the
 * clone returns, which under CLONE_VFORK is after the child's execve()
 * or exit.
 *
 * The Landlock and seccomp constants are defined here from the kernel's
 * documented user-space ABI because Debian 12's headers stop at ABI 2.
 */
#include "exec/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <netinet/in.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Landlock user-space ABI 1-6 (include/uapi/linux/landlock.h). */
#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_RULE_PATH_BENEATH      1
#define LL_RULE_NET_PORT          2
#define LL_FS_EXECUTE             (1ull << 0)
#define LL_FS_WRITE_FILE          (1ull << 1)
#define LL_FS_READ_FILE           (1ull << 2)
#define LL_FS_READ_DIR            (1ull << 3)
#define LL_FS_ABI1                ((1ull << 13) - 1) /* EXECUTE .. MAKE_SYM */
#define LL_FS_REFER               (1ull << 13)       /* ABI 2 */
#define LL_FS_TRUNCATE            (1ull << 14)       /* ABI 3 */
#define LL_FS_IOCTL_DEV           (1ull << 15)       /* ABI 5 */
#define LL_FS_FILE_RIGHTS                                                                          \
	(LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)
#define LL_NET_BIND_TCP               (1ull << 0) /* ABI 4 */
#define LL_NET_CONNECT_TCP            (1ull << 1)
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ull << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL               (1ull << 1)

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;             /* ABI 6 */
};

struct ll_path_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

struct ll_net_port {
	uint64_t allowed_access;
	uint64_t port;
};

#define CHILD_STACK (64 * 1024)
#define ROOT_LOCKED                                                                                \
	(SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |                           \
	 SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |   \
	 SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)
#define RMDIR_TRIES  100 /* 1 ms apart: how long a run's cgroup may take to empty */
#define MAX_LIMITS   5
#define MAP_LINE_MAX 48

/* Always readable (and executable) by a program, whatever its effects: what a dynamically
   linked program and a POSIX shell need to start. Paths that do not exist are skipped. */
static const char *const base_read[] = {
        "/usr",
        "/bin",
        "/sbin",
        "/lib",
        "/lib64",
        "/lib32",
        "/libx32",
        "/etc/ld.so.cache",
        "/etc/ld.so.conf",
        "/etc/ld.so.conf.d",
        "/etc/localtime",
        "/etc/passwd",
        "/etc/group",
        "/etc/nsswitch.conf",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
};
/* Readable too when the action declares network endpoints: name resolution and TLS roots. */
static const char *const base_read_net[] = {
        "/etc/hosts",    "/etc/resolv.conf", "/etc/host.conf",
        "/etc/gai.conf", "/etc/ssl",         "/etc/ca-certificates",
};
/* Readable and writable. */
static const char *const base_write[] = {"/dev/null"};

/* What the child does, in order; the names are the failure messages'. */
enum step {
	STEP_NONE = 0,
	STEP_SIGNALS,
	STEP_SETSID,
	STEP_CGROUP,
	STEP_STDIO,
	STEP_CHDIR,
	STEP_USERNS,
	STEP_RLIMIT,
	STEP_CAPS,
	STEP_NO_NEW_PRIVS,
	STEP_LANDLOCK,
	STEP_SECCOMP,
	STEP_SIGMASK,
	STEP_CLOSE_FDS,
	STEP_EXEC,
};

static const char *const step_names[] = {
        [STEP_NONE] = "none",
        [STEP_SIGNALS] = "reset signal dispositions",
        [STEP_SETSID] = "start a session",
        [STEP_CGROUP] = "join the pids cgroup",
        [STEP_STDIO] = "set up fds 0-2",
        [STEP_CHDIR] = "enter the working directory",
        [STEP_USERNS] = "enter the namespaces",
        [STEP_RLIMIT] = "set the resource limits",
        [STEP_CAPS] = "drop capabilities",
        [STEP_NO_NEW_PRIVS] = "set no_new_privs",
        [STEP_LANDLOCK] = "enforce the Landlock ruleset",
        [STEP_SECCOMP] = "load the seccomp filter",
        [STEP_SIGMASK] = "clear the signal mask",
        [STEP_CLOSE_FDS] = "close inherited fds",
        [STEP_EXEC] = "execute the program",
};

struct pw_sandbox_prep {
	const pw_sandbox_kernel *k;
	int ruleset_fd;               /* -1 without Landlock */
	const struct sock_fprog *bpf; /* cached per process; NULL without seccomp */
	int cgroup_fd;                /* cgroup.procs of the run's cgroup; -1 if none */
	char cgroup_dir[512];         /* "" if none */
	int devnull;                  /* /dev/null, read-only; the process keeps it open */
	int user_fd; /* borrowed from the probe: the user namespace to enter, or -1 */
	int net_fd;  /* borrowed likewise: the network namespace to enter, or -1 */
	int limit_res[MAX_LIMITS];
	struct rlimit limit_val[MAX_LIMITS];
	int n_limits;
	bool lock_root;          /* set the securebits that keep root from regaining capabilities */
	unsigned landlock_feats; /* PW_FEAT_LANDLOCK_* the ruleset enforces */
	pw_sandbox_report report;
};

/* What the parent hands the child, and what the child answers. */
typedef struct child_args {
	const pw_sandbox_prep *p;
	const char *program;
	char *const *argv;
	char *const *envp;
	const char *cwd;
	int out_w, err_w;
	int keep[7]; /* the fds the child uses before its execve, ascending, no repeats */
	int n_keep;
	volatile int step;      /* OUT: the step that failed, STEP_NONE if it executed */
	volatile int error;     /* OUT: its errno */
	volatile unsigned done; /* OUT: PW_FEAT_* the child put in place */
} child_args;

/* ---- the kernel probe ---- */

static long ll_create(const struct ll_ruleset_attr *attr, size_t size, unsigned flags)
{
	return syscall(SYS_landlock_create_ruleset, attr, size, flags);
}

static int landlock_abi(void)
{
	long abi = ll_create(NULL, 0, LL_CREATE_RULESET_VERSION);
	return abi > 0 && abi < 1000 ? (int)abi : 0;
}

static bool seccomp_usable(void)
{
	uint32_t action = SECCOMP_RET_ERRNO;
	return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

/*
 * The network namespace of programs that declare no network: one per
 * process, made once and entered by each child with setns(), because
 * making a namespace costs far more than the rest of a sandboxed start
 * (about 0.7 ms against 0.1 ms here). Sharing it is safe: it has no
 * interface up, no program in it may open a socket (seccomp), and Landlock
 * scopes abstract Unix sockets to each program's own domain. As another
 * user than root it belongs to a user namespace made with it, which the
 * child enters first (its owner has every capability in it).
 */
typedef struct ns_maker {
	int flags;
	char uid_map[MAP_LINE_MAX], gid_map[MAP_LINE_MAX];
	volatile int user_fd, net_fd; /* OUT: the namespaces, opened close-on-exec */
} ns_maker;

static long write_proc(const char *name, const char *text);
static void remove_stale_cgroups(const char *dir);

__attribute__((no_sanitize("address", "undefined"))) static int ns_child(void *arg)
{
	ns_maker *m = arg;
	if (syscall(SYS_unshare, m->flags) != 0)
		syscall(SYS_exit, 1);
	if ((m->flags & CLONE_NEWUSER) && (write_proc("/proc/self/setgroups", "deny") != 0 ||
	                                   write_proc("/proc/self/uid_map", m->uid_map) != 0 ||
	                                   write_proc("/proc/self/gid_map", m->gid_map) != 0))
		syscall(SYS_exit, 1);
	/* CLONE_FILES: these land in the parent's fd table. */
	if (m->flags & CLONE_NEWUSER)
		m->user_fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/ns/user",
		                          O_RDONLY | O_CLOEXEC);
	m->net_fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	syscall(SYS_exit, 0);
	return 0;
}

/* Make the namespaces of flags (CLONE_NEWUSER and/or CLONE_NEWNET); false if this process may
   not. */
static bool make_namespaces(int flags, int *user_fd, int *net_fd)
{
	ns_maker m = {.flags = flags, .user_fd = -1, .net_fd = -1};
	snprintf(m.uid_map, sizeof m.uid_map, "%u %u 1\n", (unsigned)geteuid(),
	         (unsigned)geteuid());
	snprintf(m.gid_map, sizeof m.gid_map, "%u %u 1\n", (unsigned)getegid(),
	         (unsigned)getegid());
	void *stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
	                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return false;
	sigset_t all, old;
	(void)sigfillset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, &old); /* no handler may run on the shared memory */
	pid_t pid = clone(ns_child, (char *)stack + CHILD_STACK,
	                  CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, &m);
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	int status = 1;
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	(void)munmap(stack, CHILD_STACK);
	bool ok = pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && m.net_fd >= 0 &&
	          (!(flags & CLONE_NEWUSER) || m.user_fd >= 0);
	if (!ok) {
		if (m.user_fd >= 0)
			(void)close(m.user_fd);
		if (m.net_fd >= 0)
			(void)close(m.net_fd);
		return false;
	}
	*user_fd = m.user_fd;
	*net_fd = m.net_fd;
	return true;
}

/* Whether the comma-separated list opts holds word. */
static bool has_word(const char *opts, const char *word)
{
	size_t n = strlen(word);
	for (const char *s = opts; s != NULL; s = strchr(s, ',')) {
		if (*s == ',')
			s++;
		if (strncmp(s, word, n) == 0 && (s[n] == ',' || s[n] == '\0' || s[n] == '\n'))
			return true;
	}
	return false;
}

/* Whether the file at dir/name holds word (as a space-separated list). */
static bool file_has_word(const char *dir, const char *name, const char *word)
{
	char path[600], buf[512];
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
		return false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	(void)close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	size_t wl = strlen(word);
	for (char *s = buf; (s = strstr(s, word)) != NULL; s += wl)
		if ((s == buf || s[-1] == ' ') && (s[wl] == ' ' || s[wl] == '\n' || s[wl] == '\0'))
			return true;
	return false;
}

/*
 * As root, RLIMIT_NPROC does not bind (the kernel exempts the root user),
 * so the process limit is a pids cgroup: the cgroup v1 "pids" hierarchy,
 * or a cgroup v2 mount whose subtree has the pids controller. Found from
 * /proc/self/mountinfo; "" when there is none that root may write.
 */
static void find_pids_dir(char *out, size_t n)
{
	out[0] = '\0';
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL)
		return;
	char line[1024], v2[256] = "";
	while (fgets(line, sizeof line, f) != NULL) {
		char mnt[256], fstype[32], opts[512];
		const char *sep = strstr(line, " - ");
		if (sep == NULL || sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1 ||
		    sscanf(sep + 3, "%31s %*s %511s", fstype, opts) != 2 || strchr(mnt, '\\'))
			continue;
		if (strcmp(fstype, "cgroup") == 0 && has_word(opts, "pids")) {
			snprintf(out, n, "%s", mnt);
			break;
		}
		if (strcmp(fstype, "cgroup2") == 0 && v2[0] == '\0' &&
		    file_has_word(mnt, "cgroup.subtree_control", "pids"))
			snprintf(v2, sizeof v2, "%s", mnt);
	}
	(void)fclose(f);
	if (out[0] == '\0' && v2[0] != '\0')
		snprintf(out, n, "%s", v2);
	if (out[0] != '\0' && access(out, W_OK) != 0)
		out[0] = '\0';
}

const pw_sandbox_kernel *pw_sandbox_kernel_probe(void)
{
	static pw_sandbox_kernel k;
	static bool done;
	if (done)
		return &k;
	done = true;
	k.landlock_abi = landlock_abi();
	k.seccomp = seccomp_usable();
	bool root = geteuid() == 0;
	k.user_fd = k.net_fd = -1;
	k.netns = make_namespaces(root ? CLONE_NEWNET : CLONE_NEWUSER | CLONE_NEWNET, &k.user_fd,
	                          &k.net_fd);
	bool userns = !root && k.user_fd >= 0;
	if (root) {
		find_pids_dir(k.pids_dir, sizeof k.pids_dir);
		if (k.pids_dir[0] != '\0')
			remove_stale_cgroups(k.pids_dir);
	}
	/* As another user, RLIMIT_NPROC binds; set inside a new user namespace it counts only
	   the program's own processes, not every process of the user. */
	k.pids = root ? k.pids_dir[0] != '\0' : userns;
	k.available = (k.landlock_abi >= 3 ? PW_FEAT_LANDLOCK_FS : 0) |
	              (k.landlock_abi >= 4 ? PW_FEAT_LANDLOCK_NET : 0) |
	              (k.landlock_abi >= 6 ? PW_FEAT_LANDLOCK_SCOPE : 0) |
	              (k.netns ? PW_FEAT_NETNS : 0) | (k.seccomp ? PW_FEAT_SECCOMP : 0) |
	              (k.pids ? PW_FEAT_PIDS : 0);
	return &k;
}

unsigned pw_sandbox_refused(const pw_sandbox_kernel *k, unsigned needs, unsigned downgrade)
{
	return needs & ~k->available & ~downgrade;
}

/* ---- the seccomp filter ---- */

/* Denied with EPERM to every program: debugging and memory access to other processes,
   mounts and namespaces, kernel modules, keys, BPF, perf, io_uring (whose operations
   bypass this filter), clocks, the host name, process groups and sessions (so that
   nothing leaves the process group pitwall kills at the end), and handles that reach
   files outside the Landlock rules. */
static const char *const denied_calls[] = {
        "ptrace",
        "process_vm_readv",
        "process_vm_writev",
        "pidfd_getfd",
        "kcmp",
        "mount",
        "umount2",
        "pivot_root",
        "chroot",
        "unshare",
        "setns",
        "mount_setattr",
        "move_mount",
        "open_tree",
        "fsopen",
        "fsconfig",
        "fsmount",
        "fspick",
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "bpf",
        "keyctl",
        "add_key",
        "request_key",
        "perf_event_open",
        "userfaultfd",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "open_by_handle_at",
        "name_to_handle_at",
        "reboot",
        "swapon",
        "swapoff",
        "acct",
        "quotactl",
        "quotactl_fd",
        "syslog",
        "iopl",
        "ioperm",
        "settimeofday",
        "clock_settime",
        "clock_adjtime",
        "adjtimex",
        "sethostname",
        "setdomainname",
        "vhangup",
        "uselib",
        "lookup_dcookie",
        "setsid",
        "setpgid",
        "fanotify_init",
        "personality",
};

/* clone() flags refused: the namespaces, and a child of the broker itself (CLONE_PARENT), which
   the process-group kill would leave for the broker to reap. */
#define CLONE_DENIED_FLAGS                                                                         \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |             \
	 CLONE_NEWPID | CLONE_NEWNET | CLONE_PARENT)

static int add_rules(scmp_filter_ctx ctx, bool net)
{
	int rc = 0;
	for (size_t i = 0; i < sizeof denied_calls / sizeof *denied_calls && rc == 0; i++) {
		/* a name this libseccomp does not know would fail open: refuse to build */
		int nr = seccomp_syscall_resolve_name(denied_calls[i]);
		rc = nr == __NR_SCMP_ERROR ? -EINVAL
		                           : seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	}
	/* clone() with a denied flag; clone3() passes its flags in memory that a filter
	   cannot read, so it is refused as unknown and libc falls back to clone(). */
	for (unsigned bit = 0; bit < 32 && rc == 0; bit++)
		if (CLONE_DENIED_FLAGS & (1u << bit))
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
			                      SCMP_A0(SCMP_CMP_MASKED_EQ, 1u << bit, 1u << bit));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* Typing into a terminal's input queue. */
	static const unsigned long tty_cmds[] = {TIOCSTI, TIOCLINUX, TIOCCONS, TIOCSETD};
	for (size_t i = 0; i < sizeof tty_cmds / sizeof *tty_cmds && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
		                      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, tty_cmds[i]));
	/* TCP Fast Open sends data (and connects) without connect(), which Landlock checks; and
	   listen() on an unbound socket binds a port without bind(), which Landlock checks too. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(sendto), 1,
		                      SCMP_A3(SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(sendmsg), 1,
		                      SCMP_A2(SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(sendmmsg), 1,
		                      SCMP_A3(SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(listen), 0);
	if (!net) {
		/* No network at all: no socket of any family (a Unix socket can reach a daemon
		   that acts for it, such as a container engine's); socketpair() stays. */
		if (rc == 0)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 0);
		return rc;
	}
	/* Declared endpoints: TCP over IPv4 or IPv6 only (Landlock filters its ports). */
	for (int family = 0; family < 64 && rc == 0; family++)
		if (family != AF_INET && family != AF_INET6)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
			                      SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, family));
	for (int i = 0; i < 2 && rc == 0; i++) {
		int family = i == 0 ? AF_INET : AF_INET6;
		for (int type = 0; type < 16 && rc == 0; type++)
			if (type != SOCK_STREAM)
				rc = seccomp_rule_add(
				        ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 2,
				        SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, family),
				        SCMP_A1(SCMP_CMP_MASKED_EQ, 0xfu, type));
	}
	/* ... and plain TCP: protocol 0 or IPPROTO_TCP, not MPTCP, SCTP or SMC, which Landlock's
	   TCP rules do not see. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
		                      SCMP_A2(SCMP_CMP_GT, IPPROTO_TCP));
	for (int proto = 1; proto < IPPROTO_TCP && rc == 0; proto++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
		                      SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu, proto));
	return rc;
}

/* The BPF program of the filter, built with libseccomp and exported to memory. */
static struct sock_fprog *build_filter(bool net)
{
	struct sock_fprog *prog = NULL;
	struct sock_filter *code = NULL;
	int fd = -1;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL)
		return NULL;
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) != 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) != 0 || add_rules(ctx, net) != 0)
		goto out;
	if ((fd = memfd_create("pitwall-seccomp", MFD_CLOEXEC)) < 0 ||
	    seccomp_export_bpf(ctx, fd) != 0)
		goto out;
	off_t size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof *code != 0 || size > 65536 * (off_t)sizeof *code)
		goto out;
	code = malloc((size_t)size);
	prog = malloc(sizeof *prog);
	if (code == NULL || prog == NULL || pread(fd, code, (size_t)size, 0) != (ssize_t)size) {
		free(prog);
		prog = NULL;
		goto out;
	}
	prog->len = (unsigned short)((size_t)size / sizeof *code);
	prog->filter = code;
	code = NULL;
out:
	free(code);
	if (fd >= 0)
		(void)close(fd);
	seccomp_release(ctx);
	return prog;
}

/* Built once per process and variant, then kept for its lifetime. */
static const struct sock_fprog *filter_for(bool net)
{
	static struct sock_fprog *cache[2];
	if (cache[net] == NULL)
		cache[net] = build_filter(net);
	return cache[net];
}

/* ---- the Landlock ruleset ---- */

static uint64_t fs_handled(int abi)
{
	return LL_FS_ABI1 | (abi >= 2 ? LL_FS_REFER : 0) | (abi >= 3 ? LL_FS_TRUNCATE : 0) |
	       (abi >= 5 ? LL_FS_IOCTL_DEV : 0);
}

/*
 * Open path for a rule. Its first base bytes name a folder pitwall chose
 * ({spec.dir} or {run.dir}, 0 for a path the spec wrote out): what follows
 * is opened below that folder without following any symbolic link, since
 * a program of the run may have made one there (a link to / in the run's
 * folder would otherwise grant /).
 */
static int open_rule_path(const char *path, size_t base)
{
	if (base == 0 || path[base] == '\0')
		return open(path, O_PATH | O_CLOEXEC);
	char dir[PATH_MAX];
	if (base >= sizeof dir || path[base] != '/') {
		errno = EINVAL;
		return -1;
	}
	memcpy(dir, path, base);
	dir[base] = '\0';
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	struct open_how how = {.flags = O_PATH | O_CLOEXEC,
	                       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
	long fd = syscall(SYS_openat2, dfd, path + base + 1, &how, sizeof how);
	int e = errno;
	(void)close(dfd);
	errno = e;
	return (int)fd;
}

/* Allow access below path (or on the file path); false (errno set) on a failure other than
   the path not existing, which counts in *skipped. base: see open_rule_path(). */
static bool allow_path(int ruleset, const char *path, size_t base, uint64_t access, size_t *skipped)
{
	int fd = open_rule_path(path, base);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			(*skipped)++;
			return true;
		}
		return false;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		(void)close(fd);
		errno = e;
		return false;
	}
	if (!S_ISDIR(st.st_mode))
		access &= LL_FS_FILE_RIGHTS;
	struct ll_path_beneath pb = {.allowed_access = access, .parent_fd = fd};
	long rc = syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &pb, 0);
	int e = errno;
	(void)close(fd);
	errno = e;
	return rc == 0;
}

static pw_status make_ruleset(const pw_sandbox *sb, const char *program, int abi,
                              pw_sandbox_prep *p, char *why, size_t why_len)
{
	uint64_t fs = fs_handled(abi);
	uint64_t rd = LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR;
	uint64_t wr = fs & ~LL_FS_EXECUTE;
	struct ll_ruleset_attr attr = {.handled_access_fs = fs};
	size_t size = sizeof attr.handled_access_fs;
	if (abi >= 4) {
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		size = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
		size = sizeof attr;
	}
	long fd = ll_create(&attr, size, 0);
	if (fd < 0) {
		snprintf(why, why_len, "sandbox: cannot create the Landlock ruleset: %s",
		         strerror(errno));
		return PW_ERR_IO;
	}
	p->ruleset_fd = (int)fd;
	size_t *sk = &p->report.skipped;
	const char *bad = NULL;
	for (size_t i = 0; i < sizeof base_read / sizeof *base_read && !bad; i++)
		if (!allow_path(p->ruleset_fd, base_read[i], 0, rd, &(size_t){0}))
			bad = base_read[i];
	for (size_t i = 0; sb->net && i < sizeof base_read_net / sizeof *base_read_net && !bad; i++)
		if (!allow_path(p->ruleset_fd, base_read_net[i], 0, rd, &(size_t){0}))
			bad = base_read_net[i];
	for (size_t i = 0; i < sizeof base_write / sizeof *base_write && !bad; i++)
		if (!allow_path(p->ruleset_fd, base_write[i], 0, rd | wr, &(size_t){0}))
			bad = base_write[i];
	if (!bad && !allow_path(p->ruleset_fd, program, 0, rd, &(size_t){0}))
		bad = program;
	for (size_t i = 0; i < sb->n_read && !bad; i++)
		if (!allow_path(p->ruleset_fd, sb->read[i], sb->read_base ? sb->read_base[i] : 0,
		                rd, sk))
			bad = sb->read[i];
	for (size_t i = 0; i < sb->n_write && !bad; i++)
		if (!allow_path(p->ruleset_fd, sb->write[i], sb->write_base ? sb->write_base[i] : 0,
		                (rd & ~LL_FS_EXECUTE) | wr, sk))
			bad = sb->write[i];
	if (bad) {
		snprintf(why, why_len, "sandbox: cannot add a Landlock rule for %s: %s", bad,
		         strerror(errno));
		return PW_ERR_IO;
	}
	for (size_t i = 0; abi >= 4 && i < sb->n_ports; i++) {
		struct ll_net_port np = {.allowed_access = LL_NET_CONNECT_TCP,
		                         .port = sb->ports[i]};
		if (syscall(SYS_landlock_add_rule, p->ruleset_fd, LL_RULE_NET_PORT, &np, 0) != 0) {
			snprintf(why, why_len,
			         "sandbox: cannot add a Landlock rule for port %u: %s",
			         (unsigned)sb->ports[i], strerror(errno));
			return PW_ERR_IO;
		}
	}
	p->report.landlock_abi = abi;
	p->landlock_feats = (abi >= 3 ? PW_FEAT_LANDLOCK_FS : 0u) |
	                    (abi >= 4 ? PW_FEAT_LANDLOCK_NET : 0u) |
	                    (abi >= 6 ? PW_FEAT_LANDLOCK_SCOPE : 0u);
	return PW_OK;
}

/* ---- the pids cgroup (root) ---- */

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Remove the empty cgroups that brokers killed during a call left behind (once per process). */
static void remove_stale_cgroups(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		long pid;
		char path[600];
		if (sscanf(de->d_name, "pitwall-%ld-", &pid) != 1 || pid <= 0 ||
		    (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < (int)sizeof path)
			(void)rmdir(path); /* fails, harmlessly, while a process is still in it */
	}
	(void)closedir(d);
}

static pw_status make_cgroup(const pw_sandbox_kernel *k, unsigned procs, pw_sandbox_prep *p,
                             char *why, size_t why_len)
{
	char path[600];
	uint64_t nonce = 0;
	if (getrandom(&nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce)
		nonce = (uint64_t)now_ns();
	int n = snprintf(p->cgroup_dir, sizeof p->cgroup_dir, "%s/pitwall-%ld-%016llx", k->pids_dir,
	                 (long)getpid(), (unsigned long long)nonce);
	if (n < 0 || (size_t)n >= sizeof p->cgroup_dir || mkdir(p->cgroup_dir, 0700) != 0) {
		snprintf(why, why_len, "sandbox: cannot make a pids cgroup in %s: %s", k->pids_dir,
		         strerror(errno));
		p->cgroup_dir[0] = '\0';
		return PW_ERR_IO;
	}
	char num[24];
	int len = snprintf(num, sizeof num, "%u\n", procs);
	snprintf(path, sizeof path, "%s/pids.max", p->cgroup_dir);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok = fd >= 0 && write(fd, num, (size_t)len) == len;
	int e = errno;
	if (fd >= 0)
		(void)close(fd);
	snprintf(path, sizeof path, "%s/cgroup.procs", p->cgroup_dir);
	if (ok && (p->cgroup_fd = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
		ok = false;
		e = errno;
	}
	if (!ok) {
		snprintf(why, why_len, "sandbox: cannot set up the pids cgroup %s: %s",
		         p->cgroup_dir, strerror(e));
		return PW_ERR_IO;
	}
	return PW_OK;
}

static void remove_cgroup(pw_sandbox_prep *p)
{
	if (p->cgroup_dir[0] == '\0')
		return;
	/* The process group was killed; kill anything else left in the cgroup (a program that ran
	   without seccomp could leave the group), then remove it once its processes are gone. */
	char path[600];
	snprintf(path, sizeof path, "%s/cgroup.procs", p->cgroup_dir);
	FILE *f = fopen(path, "re");
	if (f != NULL) {
		long pid;
		while (fscanf(f, "%ld", &pid) == 1)
			if (pid > 0)
				(void)kill((pid_t)pid, SIGKILL);
		(void)fclose(f);
	}
	for (int i = 0; i < RMDIR_TRIES; i++) {
		if (rmdir(p->cgroup_dir) == 0 || errno != EBUSY)
			break;
		(void)nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	p->cgroup_dir[0] = '\0';
}

/* ---- prepare ---- */

static void add_limit(pw_sandbox_prep *p, int res, uint64_t v)
{
	p->limit_res[p->n_limits] = res;
	p->limit_val[p->n_limits].rlim_cur = (rlim_t)v;
	p->limit_val[p->n_limits].rlim_max = (rlim_t)v;
	p->n_limits++;
}

pw_status pw_sandbox_prepare(const pw_sandbox *sb, const char *program, pw_sandbox_prep **out,
                             char *why, size_t why_len)
{
	*out = NULL;
	why[0] = '\0';
	const pw_sandbox_kernel *k = pw_sandbox_kernel_probe();
	unsigned needs = sb->needs;
	unsigned refused = pw_sandbox_refused(k, needs, sb->downgrade);
	if (refused) {
		unsigned bit = refused & -refused;
		snprintf(why, why_len,
		         "sandbox: this kernel cannot enforce %s and the action does not accept "
		         "running without it (effects.downgrade)",
		         pw_feature_name(bit));
		return PW_ERR_UNSUPPORTED;
	}
	pw_sandbox_prep *p = calloc(1, sizeof *p);
	if (p == NULL)
		return PW_ERR_NOMEM;
	p->k = k;
	p->ruleset_fd = p->cgroup_fd = p->user_fd = p->net_fd = -1;
	/* Enforced: what the child reports it put in place (pw_sandbox_spawn()). */
	p->report.missing = needs & ~k->available;
	pw_status st = PW_OK;
	static int devnull = -1; /* opened once per process */
	if (devnull < 0) {
		/* above 2, so that the child's dup2() onto 0 always makes a new fd */
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && fd <= 2) {
			devnull = fcntl(fd, F_DUPFD_CLOEXEC, 3);
			(void)close(fd);
		} else {
			devnull = fd;
		}
	}
	if ((p->devnull = devnull) < 0) {
		snprintf(why, why_len, "sandbox: cannot open /dev/null: %s", strerror(errno));
		st = PW_ERR_IO;
		goto out;
	}
	if (k->landlock_abi > 0 &&
	    (st = make_ruleset(sb, program, k->landlock_abi, p, why, why_len)) != PW_OK)
		goto out;
	if (k->seccomp && (p->bpf = filter_for(sb->net)) == NULL) {
		snprintf(why, why_len, "sandbox: cannot build the seccomp filter");
		st = PW_ERR_NOMEM;
		goto out;
	}
	bool root = geteuid() == 0;
	if (root && k->pids && (st = make_cgroup(k, sb->procs, p, why, why_len)) != PW_OK)
		goto out;
	/* As another user, the child enters the probe's user namespace (RLIMIT_NPROC set in it
	   counts only the processes in it), which also owns the network namespace. */
	p->user_fd = root ? -1 : k->user_fd;
	p->net_fd = !sb->net ? k->net_fd : -1;
	add_limit(p, RLIMIT_AS, sb->memory);
	add_limit(p, RLIMIT_CPU, (sb->cpu_ms + 999) / 1000);
	add_limit(p, RLIMIT_FSIZE, sb->file_size);
	add_limit(p, RLIMIT_NOFILE, sb->open_files);
	add_limit(p, RLIMIT_NPROC, sb->procs);
	/* With CAP_SETPCAP (root, or in the user namespace) the child locks root out of
	   capabilities: no capabilities for uid 0 at execve, none kept across a uid change, no
	   ambient ones raised. */
	p->lock_root = root || p->user_fd >= 0;
out:
	if (st != PW_OK) {
		pw_sandbox_release(p);
		return st;
	}
	*out = p;
	return PW_OK;
}

void pw_sandbox_release(pw_sandbox_prep *p)
{
	if (p == NULL)
		return;
	if (p->ruleset_fd >= 0)
		(void)close(p->ruleset_fd);
	if (p->cgroup_fd >= 0)
		(void)close(p->cgroup_fd);
	remove_cgroup(p);
	free(p);
}

void pw_sandbox_report_of(const pw_sandbox_prep *p, pw_sandbox_report *r)
{
	*r = p->report;
}

/* ---- the child ---- */

#define CHILD_TRY(a, s, call)                                                                      \
	do {                                                                                       \
		if ((long)(call) < 0) {                                                            \
			(a)->error = errno;                                                        \
			(a)->step = (s);                                                           \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

/* Write text to /proc/self/<name>. */
__attribute__((no_sanitize("address", "undefined"))) static long write_proc(const char *name,
                                                                            const char *text)
{
	long fd = syscall(SYS_openat, AT_FDCWD, name, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (text[n])
		n++;
	long w = syscall(SYS_write, fd, text, n);
	int e = errno;
	syscall(SYS_close, fd);
	errno = e;
	return w == (long)n ? 0 : -1;
}

__attribute__((no_sanitize("address", "undefined"))) static int child_setup(child_args *a)
{
	const pw_sandbox_prep *p = a->p;
	/* First, give back every fd of the broker's the child does not use: the copies in its fd
	   table would otherwise live until the execve, and the next steps (the cgroup write above
	   all) can take milliseconds. The run's lock is one of them: a broker killed meanwhile
	   would leave its open call looking in progress, not in doubt, for that long. */
	unsigned lo = 3;
	for (int i = 0; i < a->n_keep; i++) {
		unsigned k = (unsigned)a->keep[i];
		if (k > lo)
			CHILD_TRY(a, STEP_CLOSE_FDS, syscall(SYS_close_range, lo, k - 1, 0));
		if (k >= lo)
			lo = k + 1;
	}
	CHILD_TRY(a, STEP_CLOSE_FDS, syscall(SYS_close_range, lo, ~0u, 0));
	/* the kernel's struct sigaction (handler, flags, restorer, mask), not libc's: all zero is
	   SIG_DFL with no flags and an empty mask */
	struct {
		unsigned long handler, flags, restorer;
		uint64_t mask;
	} dfl = {0, 0, 0, 0};
	for (int sig = 1; sig < 65; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)syscall(SYS_rt_sigaction, sig, &dfl, NULL, 8);
	CHILD_TRY(a, STEP_SETSID, syscall(SYS_setsid));
	if (p->cgroup_fd >= 0)
		CHILD_TRY(a, STEP_CGROUP, syscall(SYS_write, p->cgroup_fd, "0", 1));
	if (p->cgroup_fd >= 0)
		a->done |= PW_FEAT_PIDS;
	CHILD_TRY(a, STEP_STDIO, syscall(SYS_dup2, p->devnull, 0));
	CHILD_TRY(a, STEP_STDIO, syscall(SYS_dup2, a->out_w, 1));
	CHILD_TRY(a, STEP_STDIO, syscall(SYS_dup2, a->err_w, 2));
	CHILD_TRY(a, STEP_CHDIR, syscall(SYS_chdir, a->cwd));
	/* Before the rlimits: RLIMIT_NPROC set inside a new user namespace counts only the
	   processes in it. */
	if (p->user_fd >= 0)
		CHILD_TRY(a, STEP_USERNS, syscall(SYS_setns, p->user_fd, CLONE_NEWUSER));
	if (p->net_fd >= 0)
		CHILD_TRY(a, STEP_USERNS, syscall(SYS_setns, p->net_fd, CLONE_NEWNET));
	if (p->net_fd >= 0)
		a->done |= PW_FEAT_NETNS;
	for (int i = 0; i < p->n_limits; i++)
		CHILD_TRY(a, STEP_RLIMIT,
		          syscall(SYS_prlimit64, 0, p->limit_res[i], &p->limit_val[i], NULL));
	if (p->user_fd >= 0) /* RLIMIT_NPROC, set inside the user namespace */
		a->done |= PW_FEAT_PIDS;
	/* No capabilities: none now, none ambient, and (securebits) none that uid 0 or a setuid
	   program would get at execve; no_new_privs below covers file capabilities. */
	if (p->lock_root)
		CHILD_TRY(a, STEP_CAPS,
		          syscall(SYS_prctl, PR_SET_SECUREBITS, ROOT_LOCKED, 0, 0, 0));
	CHILD_TRY(a, STEP_CAPS,
	          syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	__builtin_memset(data, 0, sizeof data);
	CHILD_TRY(a, STEP_CAPS, syscall(SYS_capset, &hdr, data));
	CHILD_TRY(a, STEP_NO_NEW_PRIVS, syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	if (p->ruleset_fd >= 0)
		CHILD_TRY(a, STEP_LANDLOCK, syscall(SYS_landlock_restrict_self, p->ruleset_fd, 0));
	if (p->ruleset_fd >= 0)
		a->done |= p->landlock_feats;
	if (p->bpf != NULL)
		CHILD_TRY(a, STEP_SECCOMP,
		          syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, p->bpf));
	if (p->bpf != NULL)
		a->done |= PW_FEAT_SECCOMP;
	uint64_t none = 0;
	CHILD_TRY(a, STEP_SIGMASK, syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8));
	CHILD_TRY(a, STEP_CLOSE_FDS, syscall(SYS_close_range, 3, ~0u, 0));
	CHILD_TRY(a, STEP_EXEC, syscall(SYS_execve, a->program, a->argv, a->envp));
	return -1;
}

__attribute__((no_sanitize("address", "undefined"))) static int child_main(void *arg)
{
	child_args *a = arg;
	(void)child_setup(a);
	syscall(SYS_exit_group, 127);
	return 127;
}

int pw_sandbox_spawn(pw_sandbox_prep *p, const char *program, char *const argv[],
                     char *const envp[], const char *cwd, int out_w, int err_w, char *why,
                     size_t why_len)
{
	child_args a = {.p = p,
	                .program = program,
	                .argv = argv,
	                .envp = envp,
	                .cwd = cwd,
	                .out_w = out_w,
	                .err_w = err_w,
	                .step = STEP_NONE,
	                .error = 0};
	const int used[] = {p->devnull, out_w,     err_w,        p->cgroup_fd,
	                    p->user_fd, p->net_fd, p->ruleset_fd};
	for (size_t i = 0; i < sizeof used / sizeof used[0]; i++) { /* insertion, ascending */
		int fd = used[i], j = a.n_keep;
		if (fd < 0)
			continue;
		while (j > 0 && a.keep[j - 1] > fd)
			j--;
		if (j > 0 && a.keep[j - 1] == fd)
			continue;
		memmove(&a.keep[j + 1], &a.keep[j], (size_t)(a.n_keep - j) * sizeof a.keep[0]);
		a.keep[j] = fd;
		a.n_keep++;
	}
	static void *stack; /* one per process: a child runs on it only until its execve */
	if (stack == NULL) {
		void *m = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (m == MAP_FAILED) {
			snprintf(why, why_len, "spawn failed: no memory for the child's stack");
			return -1;
		}
		stack = m;
	}
	sigset_t all, old;
	(void)sigfillset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, &old);
	pid_t pid = clone(child_main, (char *)stack + CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD,
	                  &a);
	int e = errno;
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		snprintf(why, why_len, "spawn failed: %s", strerror(e));
		errno = e;
		return -1;
	}
	if (a.step != STEP_NONE) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		snprintf(why, why_len, "%s: cannot %s: %s",
		         a.step == STEP_EXEC ? "spawn failed" : "sandbox", step_names[a.step],
		         strerror(a.error));
		errno = a.error;
		return -1;
	}
	p->report.applied = true;
	p->report.enforced = a.done;
	return pid;
}
