/*
 * probe.c: an escape probe for pitwall's sandbox (tests/cli/sandbox.sh; the probe table is in
 * docs/SECURITY.md).
 *
 *   probe MODE [ARG...]
 *
 * Run as an action's program, each MODE tries one way out of the sandbox and prints exactly one
 * JSON object on stdout, then exits 0:
 *
 *   {"probe":MODE,"blocked":true|false,"errno":NAME|null,"call":SYSCALL,...,"detail":TEXT}
 *
 * "blocked" is true when the attempt failed; "errno" (strerrorname_np) and "call" name the decisive
 * system call: in a mode that tries several, the first that got through, else the first tried.
 * Each mode adds its own members (counts, per-call errno names, "ok" for a call that succeeded).
 * cpu_spin and output_flood print no report: they are meant to be killed.
 *
 * The probe must do no harm when it is NOT confined (a broken sandbox, or someone running it by
 * hand): signal_parent sends SIGKILL only after signal 0 was refused, ptrace uses PTRACE_SEIZE
 * (which never stops the parent), mount uses a scratch directory under the working directory and
 * unmounts it, tiocsti never injects into a real terminal, the syscalls mode gives every call
 * arguments it refuses after its permission check, and every bomb stops at a cap of its own.
 * Still, run fork_bomb, memory_bomb, cpu_spin, output_flood and file_bomb outside the sandbox only
 * as a non-root user under tight limits:
 *   setpriv --reuid=65534 --regid=65534 --clear-groups \
 *     prlimit --nproc=20 --as=100000000 --cpu=1 --fsize=1000000 probe MODE ...
 *
 * Standalone: libc and Linux headers only (glibc >= 2.32 for strerrorname_np). It uses only
 * symbols that Linux 6.1's headers have, so it builds against Debian 12's linux-libc-dev.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define REPORT_MAX     8192
#define FORK_CAP       1000           /* far above any procs limit, far below pid_max */
#define MEMORY_CAP_MIB 1024           /* memory_bomb stops here if nothing stopped it */
#define FILE_CAP_BYTES (256ull << 20) /* file_bomb stops here */
#define BLOCK_BYTES    (64u << 10)    /* file_bomb and output_flood write this much at once */
#define SPIN_CAP_SEC   30             /* cpu_spin and output_flood give up after this */
#define BACKGROUND_SEC 60             /* how long background's child sleeps */
#define LISTEN_SEC     300            /* listen serves at most this long */
#define LISTEN_MAX     8              /* sockets a listen may open */
#define CHILD_OUT_MAX  256            /* bytes of the setuid child's stdout read */

/*
 * The JSON object being built. Members are appended in order; an append that does not fit sets
 * full, and report_end() then prints a short object that says so instead.
 */
struct report {
	char buf[REPORT_MAX]; /* the object so far, not NUL-terminated */
	size_t len;
	bool comma;       /* the next member or element needs a comma before it */
	bool full;        /* something did not fit */
	const char *mode; /* borrowed from argv */
};

/* One probe: runs with argv[0] the mode and its arguments after it; fills r. */
struct mode {
	const char *name;
	int nargs; /* arguments it needs after the mode */
	const char *usage;
	void (*run)(struct report *r, char **args);
};

static void put(struct report *r, const char *s, size_t n)
{
	if (r->full || n > sizeof r->buf - r->len) {
		r->full = true;
		return;
	}
	memcpy(r->buf + r->len, s, n);
	r->len += n;
}

static void puts_raw(struct report *r, const char *s)
{
	put(r, s, strlen(s));
}

/*
 * s as a JSON string. Bytes >= 0x80 are written as \u00XX, so that the output is ASCII and valid
 * whatever bytes a path holds (a non-ASCII name is shown as its bytes, not decoded).
 */
static void put_jstr(struct report *r, const char *s)
{
	char esc[8];
	put(r, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			put(r, esc, 2);
		} else if (*p < 0x20 || *p >= 0x7f) {
			(void)snprintf(esc, sizeof esc, "\\u%04x", (unsigned)*p);
			put(r, esc, 6);
		} else {
			put(r, (const char *)p, 1);
		}
	}
	put(r, "\"", 1);
}

static void sep(struct report *r)
{
	if (r->comma)
		put(r, ",", 1);
	r->comma = true;
}

static void key(struct report *r, const char *k)
{
	sep(r);
	put_jstr(r, k);
	put(r, ":", 1);
}

static void field_str(struct report *r, const char *k, const char *v)
{
	key(r, k);
	if (v)
		put_jstr(r, v);
	else
		puts_raw(r, "null");
}

static void field_int(struct report *r, const char *k, long long v)
{
	char num[32];
	key(r, k);
	(void)snprintf(num, sizeof num, "%lld", v);
	puts_raw(r, num);
}

static void field_bool(struct report *r, const char *k, bool v)
{
	key(r, k);
	puts_raw(r, v ? "true" : "false");
}

__attribute__((format(printf, 3, 4))) static void field_fmt(struct report *r, const char *k,
                                                            const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (n < 0)
		text[0] = '\0';
	field_str(r, k, text); /* a longer text is cut at 1023 bytes */
}

static void obj_begin(struct report *r, const char *k)
{
	key(r, k);
	put(r, "{", 1);
	r->comma = false;
}

static void arr_begin(struct report *r, const char *k)
{
	key(r, k);
	put(r, "[", 1);
	r->comma = false;
}

static void close_with(struct report *r, const char *c)
{
	puts_raw(r, c);
	r->comma = true;
}

static void elem_int(struct report *r, long long v)
{
	char num[32];
	sep(r);
	(void)snprintf(num, sizeof num, "%lld", v);
	puts_raw(r, num);
}

/* The name of errno value e ("EACCES"), into buf; "E<number>" for one glibc does not name. */
static const char *errname(int e, char *buf, size_t size)
{
	const char *n = strerrorname_np(e);
	if (n)
		return n;
	(void)snprintf(buf, size, "E%d", e);
	return buf;
}

/* Member k: the errno name of e, or null when e is 0. */
static void field_errno(struct report *r, const char *k, int e)
{
	char b[16];
	field_str(r, k, e ? errname(e, b, sizeof b) : NULL);
}

/* Member k: "ok" when the call succeeded (e is 0), else its errno name. */
static void field_outcome(struct report *r, const char *k, int e)
{
	char b[16];
	field_str(r, k, e ? errname(e, b, sizeof b) : "ok");
}

static void report_begin(struct report *r, const char *mode)
{
	r->len = 0;
	r->comma = false;
	r->full = false;
	r->mode = mode;
	put(r, "{", 1);
	field_str(r, "probe", mode);
}

/* The members every report starts with. */
static void report_head(struct report *r, bool blocked, const char *call, int e)
{
	field_bool(r, "blocked", blocked);
	field_errno(r, "errno", e);
	field_str(r, "call", call);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Closes the object and writes it, with a newline, to stdout in one go. 0 or -1. */
static int report_end(struct report *r)
{
	put(r, "}\n", 2);
	if (r->full) {
		struct report s;
		report_begin(&s, r->mode);
		field_str(&s, "error", "report too long");
		put(&s, "}\n", 2);
		return write_all(STDOUT_FILENO, s.buf, s.len);
	}
	return write_all(STDOUT_FILENO, r->buf, r->len);
}

/* The first of n (call, errno) pairs whose errno is 0, else the first: the report's head. */
static void head_of(struct report *r, size_t n, const char *const calls[], const int errs[])
{
	size_t pick = 0;
	bool blocked = true;
	for (size_t i = 0; i < n; i++) {
		if (errs[i] == 0) {
			pick = i;
			blocked = false;
			break;
		}
	}
	report_head(r, blocked, calls[pick], errs[pick]);
}

/* A TCP port 1-65535 (or 0 when allow_zero) from s. 0 on success, -1 otherwise. */
static int parse_port(const char *s, bool allow_zero, uint16_t *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < (allow_zero ? 0 : 1) || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/*
 * A unix socket address: a pathname, or an abstract name (a leading NUL then name) when abstract.
 * Its length in *len. -1 when name is too long.
 */
static int unix_addr(const char *name, bool abstract, struct sockaddr_un *a, socklen_t *len)
{
	size_t n = strlen(name), off = abstract ? 1 : 0;
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	if (n + off + (abstract ? 0 : 1) > sizeof a->sun_path)
		return -1;
	memcpy(a->sun_path + off, name, n);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + off + n + (abstract ? 0 : 1));
	return 0;
}

/* CapEff as 16 hex digits into buf: capget(2), or /proc/self/status when capget is refused. */
static const char *cap_eff(char *buf, size_t size)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof d);
	if (syscall(SYS_capget, &h, d) == 0) {
		unsigned long long eff = ((unsigned long long)d[1].effective << 32) |
		                         (unsigned long long)d[0].effective;
		(void)snprintf(buf, size, "%016llx", eff);
		return buf;
	}
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return NULL;
	char line[256];
	const char *found = NULL;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "CapEff:\t", 8) == 0) {
			line[strcspn(line, "\n")] = '\0';
			(void)snprintf(buf, size, "%.16s", line + 8);
			found = buf;
			break;
		}
	}
	fclose(f);
	return found;
}

/* PR_GET_NO_NEW_PRIVS: 1, 0, or -1 when prctl is refused. */
static int no_new_privs(void)
{
	return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
}

/* ---- files ---- */

/* Open and read (at most 4 KiB of) path; what it reads is counted, never printed. */
static void probe_read(struct report *r, const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		report_head(r, true, "open", errno);
		field_fmt(r, "detail", "open %s", path);
		return;
	}
	ssize_t n = read(fd, buf, sizeof buf);
	int e = n < 0 ? errno : 0;
	(void)close(fd);
	report_head(r, n < 0, "read", e);
	field_int(r, "bytes", n < 0 ? 0 : n);
	field_fmt(r, "detail", "read %s", path);
}

static void m_read(struct report *r, char **a)
{
	probe_read(r, a[1]);
}

/* Create (or append to) path and write a line to it. */
static void probe_write(struct report *r, const char *path)
{
	static const char line[] = "written by the pitwall escape probe\n";
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		report_head(r, true, "open", errno);
		field_fmt(r, "detail", "create %s", path);
		return;
	}
	int e = write_all(fd, line, sizeof line - 1) < 0 ? errno : 0;
	if (close(fd) < 0 && e == 0)
		e = errno;
	report_head(r, e != 0, "write", e);
	field_fmt(r, "detail", "write %s", path);
}

static void m_write_ok(struct report *r, char **a)
{
	char path[4096];
	int n = snprintf(path, sizeof path, "%s/probe.write", a[1]);
	if (n < 0 || (size_t)n >= sizeof path) {
		report_head(r, true, "snprintf", ENAMETOOLONG);
		return;
	}
	probe_write(r, path);
}

static void m_write_outside(struct report *r, char **a)
{
	probe_write(r, a[1]);
}

/* ---- network ---- */

/* A TCP-family socket of protocol proto for a[1] (a port), or -1 with the failure reported. */
static int tcp_socket(struct report *r, char **a, int proto, uint16_t *port)
{
	if (parse_port(a[1], false, port) < 0) {
		report_head(r, true, "argument", EINVAL);
		field_fmt(r, "detail", "not a port: %s", a[1]);
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, proto);
	if (fd < 0) {
		report_head(r, true, "socket", errno);
		field_int(r, "port", *port);
		field_fmt(r, "detail", "socket(AF_INET, SOCK_STREAM, %d)", proto);
	}
	return fd;
}

/* connect() to 127.0.0.1:port over fd (closed), reported as call. */
static void tcp_connect(struct report *r, int fd, uint16_t port, int flags, const char *call)
{
	struct sockaddr_in sa = loopback(port);
	int rc = flags ? (int)sendto(fd, "probe", 5, flags, (struct sockaddr *)&sa, sizeof sa)
	               : connect(fd, (struct sockaddr *)&sa, sizeof sa);
	int e = rc < 0 ? errno : 0;
	(void)close(fd);
	report_head(r, rc < 0, call, e);
	field_int(r, "port", port);
	field_fmt(r, "detail", "%s 127.0.0.1:%u", call, (unsigned)port);
}

static void m_connect(struct report *r, char **a)
{
	uint16_t port;
	int fd = tcp_socket(r, a, 0, &port);
	if (fd >= 0)
		tcp_connect(r, fd, port, 0, "connect");
}

/* MPTCP to 127.0.0.1:PORT: a SOCK_STREAM socket that Landlock's TCP rules do not see. */
static void m_mptcp(struct report *r, char **a)
{
	uint16_t port;
	int fd = tcp_socket(r, a, 262 /* IPPROTO_MPTCP */, &port);
	if (fd >= 0)
		tcp_connect(r, fd, port, 0, "connect");
}

/* TCP Fast Open to 127.0.0.1:PORT: sendto(MSG_FASTOPEN) connects without connect(). */
static void m_fastopen(struct report *r, char **a)
{
	uint16_t port;
	int fd = tcp_socket(r, a, 0, &port);
	if (fd >= 0)
		tcp_connect(r, fd, port, MSG_FASTOPEN, "sendto");
}

/* listen() on an unbound TCP socket: the kernel binds a port without bind(). */
static void m_listen_any(struct report *r, char **a)
{
	(void)a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		report_head(r, true, "socket", errno);
		return;
	}
	int rc = listen(fd, 1);
	int e = rc < 0 ? errno : 0;
	(void)close(fd);
	report_head(r, rc < 0, "listen", e);
}

/* A UDP datagram to 127.0.0.1:PORT: Landlock's network rules cover TCP only. */
static void m_udp(struct report *r, char **a)
{
	uint16_t port;
	if (parse_port(a[1], false, &port) < 0) {
		report_head(r, true, "argument", EINVAL);
		field_fmt(r, "detail", "not a port: %s", a[1]);
		return;
	}
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		report_head(r, true, "socket", errno);
		field_int(r, "port", port);
		field_str(r, "detail", "socket(AF_INET, SOCK_DGRAM)");
		return;
	}
	struct sockaddr_in sa = loopback(port);
	ssize_t n = sendto(fd, "probe", 5, 0, (struct sockaddr *)&sa, sizeof sa);
	int e = n < 0 ? errno : 0;
	(void)close(fd);
	report_head(r, n < 0, "sendto", e);
	field_int(r, "port", port);
	field_fmt(r, "detail", "sendto udp 127.0.0.1:%u", (unsigned)port);
}

static void probe_unix(struct report *r, const char *name, bool abstract)
{
	struct sockaddr_un sa;
	socklen_t len;
	if (unix_addr(name, abstract, &sa, &len) < 0) {
		report_head(r, true, "argument", ENAMETOOLONG);
		return;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		report_head(r, true, "socket", errno);
		field_str(r, "detail", "socket(AF_UNIX, SOCK_STREAM)");
		return;
	}
	int rc = connect(fd, (struct sockaddr *)&sa, len);
	int e = rc < 0 ? errno : 0;
	(void)close(fd);
	report_head(r, rc < 0, "connect", e);
	field_fmt(r, "detail", "connect unix %s%s", abstract ? "@" : "", name);
}

static void m_unix_connect(struct report *r, char **a)
{
	probe_unix(r, a[1], false);
}

static void m_abstract_connect(struct report *r, char **a)
{
	probe_unix(r, a[1], true);
}

/* ---- other processes ---- */

/*
 * Signal 0 to the parent first: it checks the permission and delivers nothing. SIGKILL follows
 * only if signal 0 was refused, so that a broken sandbox does not kill the broker.
 */
static void m_signal_parent(struct report *r, char **a)
{
	(void)a;
	pid_t pp = getppid();
	if (pp <= 1) {
		report_head(r, true, "getppid", 0);
		field_int(r, "ppid", pp);
		field_str(r, "detail", "the parent is not visible: nothing to signal");
		return;
	}
	int e0 = kill(pp, 0) < 0 ? errno : 0;
	if (e0 == 0) {
		report_head(r, false, "kill", 0);
		field_int(r, "ppid", pp);
		field_outcome(r, "kill0", 0);
		field_str(r, "kill9", "skipped");
		field_str(r, "detail", "signal 0 reached the parent; SIGKILL not sent");
		return;
	}
	int e9 = kill(pp, SIGKILL) < 0 ? errno : 0;
	report_head(r, e9 != 0, "kill", e9);
	field_int(r, "ppid", pp);
	field_outcome(r, "kill0", e0);
	field_outcome(r, "kill9", e9);
	field_fmt(r, "detail", "kill(%d, SIGKILL)", (int)pp);
}

/*
 * PTRACE_SEIZE goes through the same permission check as PTRACE_ATTACH but does not stop the
 * tracee; if it got through, exiting detaches. Then PTRACE_TRACEME (the parent as tracer).
 */
static void m_ptrace(struct report *r, char **a)
{
	(void)a;
	pid_t pp = getppid();
	int ea = ESRCH;
	if (pp > 1)
		ea = ptrace(PTRACE_SEIZE, pp, 0, 0) < 0 ? errno : 0;
	int et = ptrace(PTRACE_TRACEME, 0, 0, 0) < 0 ? errno : 0;
	const char *calls[] = {"ptrace_seize", "ptrace_traceme"};
	int errs[] = {ea, et};
	head_of(r, 2, calls, errs);
	field_int(r, "ppid", pp);
	field_outcome(r, "attach", ea);
	field_outcome(r, "traceme", et);
	field_fmt(r, "detail", "PTRACE_SEIZE %d, PTRACE_TRACEME", (int)pp);
}

/*
 * TIOCSTI pushes bytes into a terminal's input: a way to type commands into the operator's shell.
 * Under pitwall fd 0 is /dev/null, so the driver alone answers ENOTTY; a system-call filter answers
 * first. Never tried on a real terminal.
 */
static void m_tiocsti(struct report *r, char **a)
{
	(void)a;
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int eo = fd < 0 ? errno : 0;
	if (fd >= 0)
		(void)close(fd);
	if (isatty(STDIN_FILENO)) {
		report_head(r, false, "ioctl", 0);
		field_outcome(r, "tty_open", eo);
		field_str(r, "ioctl", "skipped");
		field_str(r, "detail", "fd 0 is a terminal: not injecting into it");
		return;
	}
	char c = '\0';
	int ei = ioctl(STDIN_FILENO, TIOCSTI, &c) < 0 ? errno : 0;
	report_head(r, ei != 0, "ioctl", ei); /* ENOTTY too: only a success injects */
	field_outcome(r, "tty_open", eo);
	field_outcome(r, "ioctl", ei);
	field_str(r, "detail", "open /dev/tty; ioctl(0, TIOCSTI)");
}

/* ---- the kernel's namespaces, mounts, privileges ---- */

/* A tmpfs on a scratch directory under the working directory, unmounted at once if it worked. */
static void m_mount(struct report *r, char **a)
{
	(void)a;
	char cwd[2048], target[4096];
	if (!getcwd(cwd, sizeof cwd)) {
		report_head(r, true, "getcwd", errno);
		return;
	}
	int n = snprintf(target, sizeof target, "%s/probe-mnt", cwd);
	if (n < 0 || (size_t)n >= sizeof target) {
		report_head(r, true, "snprintf", ENAMETOOLONG);
		return;
	}
	(void)mkdir(target, 0700); /* may fail: mount is tried all the same */
	int e = mount("none", target, "tmpfs", 0, NULL) < 0 ? errno : 0;
	if (e == 0)
		(void)umount2(target, MNT_DETACH);
	report_head(r, e != 0, "mount", e);
	field_fmt(r, "detail", "mount tmpfs on %s", target);
}

static void m_unshare(struct report *r, char **a)
{
	(void)a;
	int eu = unshare(CLONE_NEWUSER) < 0 ? errno : 0;
	int en = unshare(CLONE_NEWNS) < 0 ? errno : 0;
	int es;
	const char *setns_call = "setns";
	int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		es = errno;
		setns_call = "open";
	} else {
		es = setns(fd, CLONE_NEWNET) < 0 ? errno : 0;
		(void)close(fd);
	}
	const char *calls[] = {"unshare_newuser", "unshare_newns", "setns"};
	int errs[] = {eu, en, es};
	head_of(r, 3, calls, errs);
	field_outcome(r, "newuser", eu);
	field_outcome(r, "newns", en);
	field_outcome(r, "setns", es);
	field_str(r, "setns_call", setns_call);
	field_str(r, "detail", "unshare(CLONE_NEWUSER), unshare(CLONE_NEWNS), setns(net)");
}

/* Run path with argv {path, "whoami"}; its stdout into out (NUL-terminated). 0 or an errno. */
static int run_child(const char *path, char *out, size_t size, int *status)
{
	int so[2], ex[2];
	if (pipe2(so, O_CLOEXEC) < 0)
		return errno;
	if (pipe2(ex, O_CLOEXEC) < 0) {
		int e = errno;
		(void)close(so[0]);
		(void)close(so[1]);
		return e;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		(void)close(so[0]);
		(void)close(so[1]);
		(void)close(ex[0]);
		(void)close(ex[1]);
		return e;
	}
	if (pid == 0) {
		char *argv[] = {(char *)path, (char *)"whoami", NULL};
		char *envp[] = {NULL};
		(void)dup2(so[1], STDOUT_FILENO);
		(void)execve(path, argv, envp);
		int e = errno;
		(void)write_all(ex[1], (const char *)&e, sizeof e);
		_exit(127);
	}
	(void)close(so[1]);
	(void)close(ex[1]);
	int e = 0;
	ssize_t n = read(ex[0], &e, sizeof e); /* EOF (0) at a successful exec */
	(void)close(ex[0]);
	if (n != (ssize_t)sizeof e)
		e = 0;
	size_t len = 0;
	while (len + 1 < size) {
		ssize_t k = read(so[0], out + len, size - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	out[len] = '\0';
	(void)close(so[0]);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return e;
}

/* The integer after "key": in a JSON text, or -1. */
static long json_int(const char *text, const char *k)
{
	char pat[64];
	(void)snprintf(pat, sizeof pat, "\"%s\":", k);
	const char *p = strstr(text, pat);
	if (!p)
		return -1;
	char *end;
	errno = 0;
	long v = strtol(p + strlen(pat), &end, 10);
	return errno || end == p + strlen(pat) ? -1 : v;
}

/*
 * PATH is a copy of this probe, setuid to another user. Under no_new_privs the kernel ignores the
 * setuid bit at execve, so the child's euid is ours.
 */
static void m_setuid(struct report *r, char **a)
{
	char out[CHILD_OUT_MAX], cap[32];
	int status = 0;
	int e = run_child(a[1], out, sizeof out, &status);
	long self = (long)geteuid();
	long child = e ? -1 : json_int(out, "euid");
	if (e) {
		report_head(r, true, "execve", e); /* not run at all: nothing gained */
	} else {
		report_head(r, child == self, "execve", 0);
		field_int(r, "child_euid", child);
		field_int(r, "child_uid", json_int(out, "uid"));
	}
	field_int(r, "self_euid", self);
	field_int(r, "no_new_privs", no_new_privs());
	field_str(r, "cap_eff", cap_eff(cap, sizeof cap));
	field_fmt(r, "detail", "execve %s whoami", a[1]);
}

static void m_whoami(struct report *r, char **a)
{
	(void)a;
	field_int(r, "euid", (long long)geteuid());
	field_int(r, "uid", (long long)getuid());
}

static void m_caps(struct report *r, char **a)
{
	(void)a;
	char cap[32];
	/* read before setuid, which would clear the capabilities if it worked */
	const char *eff = cap_eff(cap, sizeof cap);
	int nnp = no_new_privs();
	long long uid = (long long)getuid(), euid = (long long)geteuid();
	int e = setuid(12345) < 0 ? errno : 0;
	report_head(r, e != 0, "setuid", e);
	field_str(r, "cap_eff", eff);
	field_int(r, "no_new_privs", nnp);
	field_int(r, "uid", uid);
	field_int(r, "euid", euid);
	field_str(r, "detail", "setuid(12345)");
}

/* ---- resources ---- */

/*
 * Fork children that wait, until fork fails or FORK_CAP. Each child dies with its parent
 * (PR_SET_PDEATHSIG), and the parent kills and reaps them all before it reports.
 */
static void m_fork_bomb(struct report *r, char **a)
{
	(void)a;
	static pid_t kids[FORK_CAP];
	pid_t self = getpid();
	long count = 0;
	int e = 0;
	while (count < FORK_CAP) {
		pid_t pid = fork();
		if (pid < 0) {
			e = errno;
			break;
		}
		if (pid == 0) {
			(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
			if (getppid() != self)
				_exit(0);
			for (;;)
				pause();
		}
		kids[count++] = pid;
	}
	for (long i = 0; i < count; i++)
		(void)kill(kids[i], SIGKILL);
	for (long i = 0; i < count; i++)
		while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR)
			;
	report_head(r, e != 0, "fork", e);
	field_int(r, "count", count);
	field_int(r, "cap", FORK_CAP);
	field_str(r, "detail", "children forked before fork failed");
}

/* Allocate and touch 1 MiB chunks until malloc fails or MEMORY_CAP_MIB; frees them to report. */
static void m_memory_bomb(struct report *r, char **a)
{
	(void)a;
	void **chain = NULL;
	long mib = 0;
	int e = 0;
	while (mib < MEMORY_CAP_MIB) {
		void **chunk = malloc(1u << 20);
		if (!chunk) {
			e = errno;
			break;
		}
		memset(chunk, 0xa5, 1u << 20);
		chunk[0] = chain;
		chain = chunk;
		mib++;
	}
	while (chain) {
		void **next = chain[0];
		free(chain);
		chain = next;
	}
	report_head(r, e != 0, "malloc", e);
	field_int(r, "mib", mib);
	field_int(r, "cap_mib", MEMORY_CAP_MIB);
	field_str(r, "detail", "MiB allocated and touched before malloc failed");
}

static double since(const struct timespec *t0)
{
	struct timespec t;
	(void)clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Spin until killed (RLIMIT_CPU); reports only if SPIN_CAP_SEC of wall time pass first. */
static void m_cpu_spin(struct report *r, char **a)
{
	(void)a;
	volatile unsigned long n = 0;
	struct timespec t0;
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		n = n + 1;
		if ((n & 0xffffful) == 0 && since(&t0) >= SPIN_CAP_SEC)
			break;
	}
	report_head(r, false, "spin", 0);
	field_fmt(r, "detail", "spun %d s of wall time without being stopped", SPIN_CAP_SEC);
}

/*
 * Write to stdout until killed at the wall timeout. Paced (64 KiB every 5 ms, about 13 MB/s) so
 * that it spends little CPU time and the wall timeout, not the CPU limit, is what stops it.
 * Prints nothing else; gives up after SPIN_CAP_SEC.
 */
static void m_output_flood(struct report *r, char **a)
{
	(void)a;
	(void)r;
	static char block[BLOCK_BYTES];
	struct timespec t0, pause_5ms = {.tv_sec = 0, .tv_nsec = 5000000};
	memset(block, 'x', sizeof block);
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	while (since(&t0) < SPIN_CAP_SEC) {
		if (write_all(STDOUT_FILENO, block, sizeof block) < 0)
			break;
		(void)nanosleep(&pause_5ms, NULL);
	}
	_exit(0);
}

/* Write DIR/big in 64 KiB blocks until a write fails (RLIMIT_FSIZE: EFBIG) or FILE_CAP_BYTES. */
static void m_file_bomb(struct report *r, char **a)
{
	static char block[BLOCK_BYTES];
	char path[4096];
	int n = snprintf(path, sizeof path, "%s/big", a[1]);
	if (n < 0 || (size_t)n >= sizeof path) {
		report_head(r, true, "snprintf", ENAMETOOLONG);
		return;
	}
	(void)signal(SIGXFSZ, SIG_IGN);
	memset(block, 'f', sizeof block);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		report_head(r, true, "open", errno);
		field_fmt(r, "detail", "create %s", path);
		return;
	}
	unsigned long long bytes = 0;
	int e = 0;
	while (bytes < FILE_CAP_BYTES) {
		ssize_t w = write(fd, block, sizeof block);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			break;
		}
		bytes += (unsigned long long)w;
	}
	(void)close(fd);
	report_head(r, e != 0, "write", e);
	field_int(r, "bytes", (long long)bytes);
	field_fmt(r, "detail", "write %s", path);
}

/* Write text to path (created or truncated). Errors are ignored: the caller reports over a pipe. */
static void put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	(void)write_all(fd, text, strlen(text));
	(void)close(fd);
}

/*
 * A child that tries to leave the process group (setsid, else setpgid) so as to outlive the call,
 * closes 0-2 so that pitwall does not wait for it, and sleeps. The parent reports its pid, written
 * to DIR/bg.pid too, and what setsid and setpgid answered (DIR/bg.setsid). "pidns" says which pid
 * namespace the pid is in, so that the test knows whether it can look for it.
 */
static void m_background(struct report *r, char **a)
{
	char path[4096], text[128], b1[16], b2[16];
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		report_head(r, true, "pipe2", errno);
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		report_head(r, true, "fork", errno);
		return;
	}
	if (pid == 0) {
		int errs[2];
		(void)close(p[0]);
		errs[0] = setsid() < 0 ? errno : 0;
		errs[1] = setpgid(0, 0) < 0 ? errno : 0;
		(void)snprintf(text, sizeof text, "setsid=%s setpgid=%s\n",
		               errs[0] ? errname(errs[0], b1, sizeof b1) : "ok",
		               errs[1] ? errname(errs[1], b2, sizeof b2) : "ok");
		if (snprintf(path, sizeof path, "%s/bg.setsid", a[1]) < (int)sizeof path)
			put_file(path, text);
		(void)write_all(p[1], (const char *)errs, sizeof errs);
		(void)close(p[1]);
		(void)close(STDIN_FILENO);
		(void)close(STDOUT_FILENO);
		(void)close(STDERR_FILENO);
		struct timespec left = {.tv_sec = BACKGROUND_SEC, .tv_nsec = 0};
		while (nanosleep(&left, &left) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	(void)close(p[1]);
	int errs[2] = {EIO, EIO};
	ssize_t n;
	while ((n = read(p[0], errs, sizeof errs)) < 0 && errno == EINTR)
		;
	(void)close(p[0]);
	(void)snprintf(text, sizeof text, "%d\n", (int)pid);
	if (snprintf(path, sizeof path, "%s/bg.pid", a[1]) < (int)sizeof path)
		put_file(path, text);
	char ns[128];
	ssize_t k = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
	ns[k < 0 ? 0 : k] = '\0';
	const char *calls[] = {"setsid", "setpgid"};
	head_of(r, 2, calls, errs);
	field_int(r, "pid", pid);
	field_outcome(r, "setsid", errs[0]);
	field_outcome(r, "setpgid", errs[1]);
	field_str(r, "pidns", k < 0 ? NULL : ns);
	field_fmt(r, "detail", "child %d sleeps %d s", (int)pid, BACKGROUND_SEC);
}

/* ---- system calls a sandboxed program has no use for ---- */

/* Each returns 0 when the call got through (closing what it made), else its errno. */
static int ret(long rc)
{
	if (rc < 0)
		return errno;
	return 0;
}

static int fd_ret(long fd)
{
	if (fd < 0)
		return errno;
	(void)close((int)fd);
	return 0;
}

static int sc_bpf(void)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr); /* no program: EINVAL after the permission check */
	return fd_ret(syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr));
}

static int sc_keyctl(void)
{
	return ret(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
}

static int sc_kexec_load(void)
{
	/* an unknown flag, too many segments: EINVAL after the permission check; never an unload */
	return ret(syscall(SYS_kexec_load, 0ul, 1000ul, NULL, 0x1000ul));
}

static int sc_init_module(void)
{
	return ret(syscall(SYS_init_module, NULL, 0ul, "")); /* an empty image: ENOEXEC */
}

static int sc_io_uring_setup(void)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	return fd_ret(syscall(SYS_io_uring_setup, 1u, &p));
}

static int sc_perf_event_open(void)
{
	struct perf_event_attr pe;
	memset(&pe, 0, sizeof pe);
	pe.type = PERF_TYPE_SOFTWARE;
	pe.size = sizeof pe;
	pe.config = PERF_COUNT_SW_DUMMY;
	pe.disabled = 1;
	pe.exclude_kernel = 1;
	pe.exclude_hv = 1;
	return fd_ret(syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0ul));
}

static int sc_userfaultfd(void)
{
	return fd_ret(syscall(SYS_userfaultfd, O_CLOEXEC));
}

static int sc_personality(void)
{
	int prev = personality(0xffffffff);
	int rc = personality(PER_LINUX32);
	if (rc < 0)
		return errno;
	(void)personality((unsigned long)prev);
	return 0;
}

/* The "shocker" escape: open any inode of a filesystem by its handle. A zero handle is stale. */
static int sc_open_by_handle_at(void)
{
	union {
		struct file_handle fh;
		char bytes[sizeof(struct file_handle) + 8];
	} h;
	memset(&h, 0, sizeof h);
	h.fh.handle_bytes = 8;
	h.fh.handle_type = 1;
	return fd_ret(open_by_handle_at(AT_FDCWD, &h.fh, O_RDONLY | O_CLOEXEC));
}

/* Read 8 bytes of the broker's memory (at an address that may not be mapped there: EFAULT). */
static int sc_process_vm_readv(void)
{
	pid_t pp = getppid();
	if (pp <= 1)
		return ESRCH;
	char buf[8];
	struct iovec local = {.iov_base = buf, .iov_len = sizeof buf};
	struct iovec remote = {.iov_base = buf, .iov_len = sizeof buf};
	return ret(process_vm_readv(pp, &local, 1, &remote, 1, 0));
}

/* Raw sockets see and forge any traffic, and Landlock's network rules do not cover them. */
static int sc_af_packet(void)
{
	return fd_ret(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
}

static int sc_raw_socket(void)
{
	return fd_ret(socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
}

static void m_syscalls(struct report *r, char **a)
{
	(void)a;
	static const struct {
		const char *name;
		int (*call)(void);
	} calls[] = {
	        {"bpf", sc_bpf},
	        {"keyctl", sc_keyctl},
	        {"kexec_load", sc_kexec_load},
	        {"init_module", sc_init_module},
	        {"io_uring_setup", sc_io_uring_setup},
	        {"perf_event_open", sc_perf_event_open},
	        {"userfaultfd", sc_userfaultfd},
	        {"open_by_handle_at", sc_open_by_handle_at},
	        {"process_vm_readv", sc_process_vm_readv},
	        {"af_packet", sc_af_packet},
	        {"raw_socket", sc_raw_socket},
	        {"personality", sc_personality},
	};
	enum { N = sizeof calls / sizeof calls[0] };
	const char *names[N];
	int errs[N];
	for (size_t i = 0; i < N; i++) {
		names[i] = calls[i].name;
		errs[i] = calls[i].call();
	}
	head_of(r, N, names, errs);
	obj_begin(r, "calls");
	for (size_t i = 0; i < N; i++)
		field_outcome(r, names[i], errs[i]);
	close_with(r, "}");
	field_str(r, "detail", "\"ok\": the call got through");
}

/* ---- the test's listeners, run outside the sandbox ---- */

/* One listening socket for spec: a TCP port on 127.0.0.1 (0: any), "@NAME" or a socket path. */
static int listen_one(const char *spec, uint16_t *port)
{
	uint16_t want;
	int fd;
	*port = 0;
	if (parse_port(spec, true, &want) == 0) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return -1;
		int one = 1;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		struct sockaddr_in sa = loopback(want);
		socklen_t len = sizeof sa;
		if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 16) < 0 ||
		    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
			(void)close(fd);
			return -1;
		}
		*port = ntohs(sa.sin_port);
		return fd;
	}
	struct sockaddr_un sa;
	socklen_t len;
	bool abstract = spec[0] == '@';
	if (unix_addr(abstract ? spec + 1 : spec, abstract, &sa, &len) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (!abstract)
		(void)unlink(spec);
	if (bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 16) < 0) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

/*
 * listen SPEC...: open each listener, print {"probe":"listen","ready":true,"ports":[...]} (the TCP
 * ports, in order), then accept and close connections until SIGTERM or LISTEN_SEC pass.
 */
static void m_listen(struct report *r, char **a)
{
	struct pollfd pfd[LISTEN_MAX];
	uint16_t ports[LISTEN_MAX];
	nfds_t n = 0;
	for (char **s = a + 1; *s; s++) {
		if (n == LISTEN_MAX) {
			report_head(r, true, "argument", E2BIG);
			return;
		}
		int fd = listen_one(*s, &ports[n]);
		if (fd < 0) {
			report_head(r, true, "listen", errno);
			field_fmt(r, "detail", "listen %s", *s);
			return;
		}
		pfd[n].fd = fd;
		pfd[n].events = POLLIN;
		n++;
	}
	field_bool(r, "ready", true);
	arr_begin(r, "ports");
	for (nfds_t i = 0; i < n; i++)
		if (ports[i])
			elem_int(r, ports[i]);
	close_with(r, "]");
	if (report_end(r) < 0)
		_exit(1);
	struct timespec t0;
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	while (since(&t0) < LISTEN_SEC) {
		if (poll(pfd, n, 1000) < 0 && errno != EINTR)
			break;
		for (nfds_t i = 0; i < n; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			int c = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0)
				(void)close(c);
		}
	}
	_exit(0);
}

static const struct mode modes[] = {
        {"read_ok", 1, "PATH", m_read},
        {"read_secret", 1, "PATH", m_read},
        {"write_ok", 1, "DIR", m_write_ok},
        {"write_outside", 1, "PATH", m_write_outside},
        {"connect", 1, "PORT", m_connect},
        {"udp", 1, "PORT", m_udp},
        {"mptcp", 1, "PORT", m_mptcp},
        {"fastopen", 1, "PORT", m_fastopen},
        {"listen_any", 0, "", m_listen_any},
        {"unix_connect", 1, "PATH", m_unix_connect},
        {"abstract_connect", 1, "NAME", m_abstract_connect},
        {"signal_parent", 0, "", m_signal_parent},
        {"ptrace", 0, "", m_ptrace},
        {"tiocsti", 0, "", m_tiocsti},
        {"mount", 0, "", m_mount},
        {"unshare", 0, "", m_unshare},
        {"setuid", 1, "PATH", m_setuid},
        {"whoami", 0, "", m_whoami},
        {"caps", 0, "", m_caps},
        {"fork_bomb", 0, "", m_fork_bomb},
        {"memory_bomb", 0, "", m_memory_bomb},
        {"cpu_spin", 0, "", m_cpu_spin},
        {"output_flood", 0, "", m_output_flood},
        {"file_bomb", 1, "DIR", m_file_bomb},
        {"background", 1, "DIR", m_background},
        {"syscalls", 0, "", m_syscalls},
        {"listen", 1, "PORT|@NAME|PATH...", m_listen},
};

static void usage(void)
{
	fputs("usage: probe MODE [ARG...]\nmodes:\n", stderr);
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		fprintf(stderr, "  %s%s%s\n", modes[i].name, modes[i].usage[0] ? " " : "",
		        modes[i].usage);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		const struct mode *m = &modes[i];
		if (strcmp(argv[1], m->name) != 0)
			continue;
		/* an argument given as "" (an empty template value) counts as missing */
		for (int k = 1; k <= m->nargs; k++) {
			if (k + 1 >= argc || argv[k + 1][0] == '\0') {
				fprintf(stderr, "probe: %s: missing %s\n", m->name, m->usage);
				return 2;
			}
		}
		static struct report r;
		report_begin(&r, m->name);
		m->run(&r, argv + 1);
		return report_end(&r) < 0 ? 1 : 0;
	}
	fprintf(stderr, "probe: unknown mode \"%s\"\n", argv[1]);
	usage();
	return 2;
}
