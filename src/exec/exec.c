/*
 * exec.c: run one executor program (see exec.h).
 *
 * A run goes: check the spec; hash the program file and remember its
 * identity (device, inode, size, mtime, ctime); compare the hash with the
 * pin; make the pipes; posix_spawn() in a new session with an empty signal
 * mask and default dispositions, stdin on /dev/null, stdout and stderr on
 * the pipes, every other fd closed, in the working directory; stat() the
 * program again; read both pipes until EOF and until the child exits,
 * enforcing the timeout; kill what is left of the child's process group;
 * reap.
 *
 * Process-group kills are only ever sent while the child is unreaped (a
 * zombie still holds its pid and so its process group id), so a kill can
 * never reach an unrelated process that reused the number.
 *
 * The broker must not set SIGCHLD to SIG_IGN: the kernel would then reap
 * the child itself and its status would be lost (PW_ERR_INTERNAL).
 */
#include "exec/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/hash.h"

#define PROGRAM_MAX_BYTES ((uint64_t)256 << 20) /* as PW_PROGRAM_MAX_BYTES in io/specfile.h */
#define EOF_WAIT_MS       200u  /* after the child exits, how long leftovers may hold the pipes */
#define TICK_MS           10    /* child-exit polling when pidfd_open() is not available */
#define POLL_MAX_MS       60000 /* longest single poll(); the loop recomputes its deadlines */
#define READ_CHUNK        32768
#define READ_ROUNDS       8 /* reads per stream per wake-up, so neither stream starves */

/* What identifies the program file between its hash and its start. */
typedef struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct timespec ctime;
} file_id;

/* One output pipe of the child and what was kept of it. */
typedef struct stream {
	int fd;         /* read end (non-blocking); -1 once at EOF or closed */
	char *buf;      /* owned; from realloc(); NULL until the first kept byte */
	size_t len;     /* bytes kept */
	size_t cap;     /* bytes allocated in buf */
	size_t max;     /* bytes to keep at most */
	bool truncated; /* a byte beyond max was read and dropped */
} stream;

/* The child while it runs. Times are CLOCK_MONOTONIC milliseconds. */
typedef struct child {
	pid_t pid;      /* also its process group id (POSIX_SPAWN_SETSID) */
	int pidfd;      /* readable once the child exits; -1 if unavailable */
	bool exited;    /* waitid(WNOWAIT) saw it exit; not reaped yet */
	bool term_sent; /* the timeout fired: SIGTERM went to the group */
	bool kill_sent; /* the grace period ran out: SIGKILL went to the group */
	uint64_t deadline;
	uint64_t kill_at;
	uint64_t exited_at;
	const volatile sig_atomic_t *cancel; /* borrowed; non-zero: stop it now */
	bool cancelled;                      /* the deadline was brought forward by *cancel */
} child;

static uint64_t now_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Milliseconds from now until t, as a poll() timeout. */
static int ms_until(uint64_t now, uint64_t t)
{
	if (t <= now)
		return 0;
	return t - now > POLL_MAX_MS ? POLL_MAX_MS : (int)(t - now);
}

static void set_message(pw_exec_result *r, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void set_message(pw_exec_result *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(r->message, sizeof r->message, fmt, ap);
	va_end(ap);
}

/* The description of errno e with a lowercase first letter, into buf. */
static const char *errno_text(int e, char *buf, size_t n)
{
	const char *d = strerrordesc_np(e);
	if (d == NULL)
		(void)snprintf(buf, n, "error %d", e);
	else
		(void)snprintf(buf, n, "%s", d);
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

static void fail(pw_exec_result *r, pw_exec_how how, const char *what, int e)
{
	char eb[128];
	r->how = how;
	set_message(r, "%s: %s", what, errno_text(e, eb, sizeof eb));
}

static void file_id_of(const struct stat *st, file_id *id)
{
	memset(id, 0, sizeof *id);
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
	id->ctime = st->st_ctim;
}

static bool file_id_same(const file_id *a, const file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/*
 * SHA-256 of the open file fd, at most PROGRAM_MAX_BYTES, into hex. *ok
 * false means the run cannot go on and r says why; a status other than
 * PW_OK means pitwall itself failed.
 */
static pw_status hash_fd(int fd, char hex[PW_SHA256_HEX_LEN + 1], uint64_t *total,
                         pw_exec_result *r, bool *ok)
{
	unsigned char chunk[READ_CHUNK], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	pw_status st = PW_OK;
	*ok = false;
	*total = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return PW_ERR_NOMEM;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		st = PW_ERR_INTERNAL;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(r, PW_EXEC_SPAWN_FAILED, "spawn failed: cannot read program", errno);
			goto out;
		}
		if (n == 0)
			break;
		*total += (uint64_t)n;
		if (*total > PROGRAM_MAX_BYTES) {
			r->how = PW_EXEC_SPAWN_FAILED;
			set_message(r, "spawn failed: program is larger than %llu bytes",
			            (unsigned long long)PROGRAM_MAX_BYTES);
			goto out;
		}
		if (EVP_DigestUpdate(ctx, chunk, (size_t)n) != 1) {
			st = PW_ERR_INTERNAL;
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != PW_SHA256_LEN) {
		st = PW_ERR_INTERNAL;
		goto out;
	}
	pw_hex(md, PW_SHA256_LEN, hex);
	*ok = true;
out:
	EVP_MD_CTX_free(ctx);
	return st;
}

/*
 * Hash the program at path into r->program_sha256 and record its identity
 * in *id. *ok as for hash_fd().
 */
static pw_status hash_program(const char *path, file_id *id, pw_exec_result *r, bool *ok)
{
	struct stat before, after;
	char hex[PW_SHA256_HEX_LEN + 1];
	uint64_t total = 0;
	pw_status st = PW_OK;
	int fd;
	*ok = false;
	/* O_NONBLOCK: opening a FIFO must not hang; it is refused below anyway */
	do
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		fail(r, PW_EXEC_SPAWN_FAILED, "spawn failed", errno);
		return PW_OK;
	}
	if (fstat(fd, &before) != 0) {
		fail(r, PW_EXEC_SPAWN_FAILED, "spawn failed: cannot stat program", errno);
		goto out;
	}
	if (!S_ISREG(before.st_mode)) {
		r->how = PW_EXEC_SPAWN_FAILED;
		set_message(r, "spawn failed: program is not a regular file");
		goto out;
	}
	if ((uint64_t)before.st_size > PROGRAM_MAX_BYTES) {
		r->how = PW_EXEC_SPAWN_FAILED;
		set_message(r, "spawn failed: program is larger than %llu bytes",
		            (unsigned long long)PROGRAM_MAX_BYTES);
		goto out;
	}
	st = hash_fd(fd, hex, &total, r, ok);
	if (st != PW_OK || !*ok)
		goto out;
	*ok = false;
	if (fstat(fd, &after) != 0) {
		fail(r, PW_EXEC_SPAWN_FAILED, "spawn failed: cannot stat program", errno);
		goto out;
	}
	file_id_of(&before, id);
	file_id id2;
	file_id_of(&after, &id2);
	if (!file_id_same(id, &id2) || total != (uint64_t)before.st_size) {
		r->how = PW_EXEC_CODE_MISMATCH;
		set_message(r, "program changed while it was being hashed; not run");
		goto out;
	}
	memcpy(r->program_sha256, hex, sizeof hex);
	*ok = true;
out:
	(void)close(fd);
	return st;
}

/* Move a pipe end that landed on 0, 1 or 2 (the broker had closed them) above 2. */
static int fd_above_stdio(int *fd)
{
	if (*fd > 2)
		return 0;
	int nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return -1;
	(void)close(*fd);
	*fd = nfd;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
	*fd = -1;
}

/* A close-on-exec pipe, both ends above 2, the read end non-blocking. 0 or errno. */
static int make_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) != 0)
		return errno;
	if (fd_above_stdio(&p[0]) != 0 || fd_above_stdio(&p[1]) != 0 ||
	    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK) != 0) {
		int e = errno;
		close_fd(&p[0]);
		close_fd(&p[1]);
		return e;
	}
	return 0;
}

/*
 * The child's file actions and attributes: working directory, stdin from
 * /dev/null, stdout and stderr on the pipes, every other fd closed; a new
 * session (so a process group of its own), an empty signal mask and the
 * default disposition for every signal. 0 or an errno value.
 */
static int spawn_setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at, const char *cwd,
                       int out_w, int err_w)
{
	sigset_t none, all;
	int e;
	(void)sigemptyset(&none);
	(void)sigfillset(&all);
	if ((e = posix_spawn_file_actions_addchdir_np(fa, cwd)) != 0 ||
	    (e = posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(fa, out_w, 1)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(fa, err_w, 2)) != 0 ||
	    (e = posix_spawn_file_actions_addclosefrom_np(fa, 3)) != 0)
		return e;
	if ((e = posix_spawnattr_setflags(at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
	                                              POSIX_SPAWN_SETSIGDEF)) != 0 ||
	    (e = posix_spawnattr_setsigmask(at, &none)) != 0 ||
	    (e = posix_spawnattr_setsigdefault(at, &all)) != 0)
		return e;
	return 0;
}

/* Read what is there on st; keep up to st->max bytes, drop the rest. */
static pw_status stream_read(stream *st)
{
	char chunk[READ_CHUNK];
	for (int round = 0; round < READ_ROUNDS && st->fd >= 0; round++) {
		ssize_t n = read(st->fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return PW_OK;
		if (n <= 0) { /* EOF, or an error that reading again will not cure */
			close_fd(&st->fd);
			return PW_OK;
		}
		size_t got = (size_t)n, keep = st->max - st->len;
		if (keep > got)
			keep = got;
		if (keep < got)
			st->truncated = true;
		if (keep == 0)
			continue;
		if (st->len + keep + 1 > st->cap) {
			size_t cap = st->cap ? st->cap : READ_CHUNK;
			while (cap < st->len + keep + 1)
				cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
			if (cap > st->max + 1)
				cap = st->max + 1;
			char *nb = realloc(st->buf, cap);
			if (nb == NULL)
				return PW_ERR_NOMEM;
			st->buf = nb;
			st->cap = cap;
		}
		memcpy(st->buf + st->len, chunk, keep);
		st->len += keep;
	}
	return PW_OK;
}

/* Hand what st kept to the result: a NUL-terminated buffer, never NULL. */
static pw_status stream_take(stream *st, char **out, size_t *len, bool *truncated)
{
	if (st->buf == NULL && (st->buf = malloc(1)) == NULL)
		return PW_ERR_NOMEM;
	st->buf[st->len] = '\0';
	*out = st->buf;
	*len = st->len;
	*truncated = st->truncated;
	st->buf = NULL;
	return PW_OK;
}

/* True once the child has exited (it stays a zombie: WNOWAIT). */
static bool child_exited(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	for (;;) {
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
			return si.si_pid == pid;
		if (errno != EINTR)
			return true; /* ECHILD: nothing left to wait for */
	}
}

static int open_pidfd(pid_t pid)
{
	long fd = syscall(SYS_pidfd_open, pid, 0); /* pidfds are close-on-exec */
	return fd < 0 ? -1 : (int)fd;
}

/*
 * Send the timeout's signals when they are due. SIGCONT after SIGTERM, so
 * that a stopped process in the group gets its SIGTERM too.
 */
static void enforce_timeout(child *c, uint64_t now, uint64_t grace_ms)
{
	if (!c->term_sent && now >= c->deadline) {
		(void)kill(-c->pid, SIGTERM);
		(void)kill(-c->pid, SIGCONT);
		c->term_sent = true;
		c->kill_at = add_sat(now, grace_ms);
	}
	if (c->term_sent && !c->kill_sent && now >= c->kill_at) {
		(void)kill(-c->pid, SIGKILL);
		c->kill_sent = true;
	}
}

/*
 * Read both pipes until both are at EOF and the child has exited, sending
 * the timeout's signals when due. Once the child has exited its process
 * group is killed (leftovers that stayed in it die with it), and the pipes
 * get EOF_WAIT_MS more: a process that left the group (setsid) may hold
 * them open for as long as it likes. Returns with the child exited, or
 * killed with SIGKILL when pitwall itself failed (status not PW_OK).
 */
static pw_status supervise(child *c, stream *so, stream *se, uint64_t grace_ms)
{
	for (;;) {
		uint64_t now = now_ms();
		if (!c->exited && child_exited(c->pid)) {
			c->exited = true;
			c->exited_at = now;
			(void)kill(-c->pid, SIGKILL);
		}
		if (c->exited &&
		    ((so->fd < 0 && se->fd < 0) || now >= add_sat(c->exited_at, EOF_WAIT_MS)))
			return PW_OK;

		int wait;
		if (!c->exited && !c->term_sent && c->cancel != NULL && *c->cancel) {
			c->cancelled = true;
			c->deadline = now;
		}
		if (!c->exited) {
			enforce_timeout(c, now, grace_ms);
			uint64_t next = !c->term_sent   ? c->deadline
			                : !c->kill_sent ? c->kill_at
			                                : UINT64_MAX;
			wait = ms_until(now, next);
			if ((c->pidfd < 0 || c->cancel != NULL) && wait > TICK_MS)
				wait = TICK_MS;
		} else {
			wait = ms_until(now, add_sat(c->exited_at, EOF_WAIT_MS));
		}

		struct pollfd pf[3];
		stream *which[2] = {NULL, NULL};
		nfds_t n = 0;
		if (so->fd >= 0) {
			which[n] = so;
			pf[n++] = (struct pollfd){.fd = so->fd, .events = POLLIN};
		}
		if (se->fd >= 0) {
			which[n] = se;
			pf[n++] = (struct pollfd){.fd = se->fd, .events = POLLIN};
		}
		nfds_t nstreams = n;
		if (!c->exited && c->pidfd >= 0)
			pf[n++] = (struct pollfd){.fd = c->pidfd, .events = POLLIN};
		int pr = poll(n ? pf : NULL, n, wait);
		if (pr < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (pr < 0) {
			(void)kill(-c->pid, SIGKILL);
			return PW_ERR_IO;
		}
		for (nfds_t i = 0; i < nstreams; i++) {
			if ((pf[i].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) == 0)
				continue;
			pw_status st = stream_read(which[i]);
			if (st != PW_OK) {
				(void)kill(-c->pid, SIGKILL);
				return st;
			}
		}
	}
}

/* Reap the child (it has exited or been sent SIGKILL). 0 or errno. */
static int reap(pid_t pid, int *status)
{
	pid_t w;
	do
		w = waitpid(pid, status, 0);
	while (w < 0 && errno == EINTR);
	return w == pid ? 0 : errno;
}

static void describe_end(pw_exec_result *r, const child *c, int status, uint64_t timeout_ms)
{
	if (c->term_sent) {
		r->how = PW_EXEC_TIMEOUT;
		if (WIFSIGNALED(status))
			r->signal = WTERMSIG(status);
		else
			r->signal = c->kill_sent ? SIGKILL : SIGTERM;
		if (c->cancelled)
			set_message(r, "stopped: pitwall was interrupted");
		else
			set_message(r, "timed out after %llu ms", (unsigned long long)timeout_ms);
	} else if (WIFEXITED(status)) {
		r->how = PW_EXEC_EXITED;
		r->exit_status = WEXITSTATUS(status);
		set_message(r, "exited with status %d", r->exit_status);
	} else {
		const char *abbrev = WIFSIGNALED(status) ? sigabbrev_np(WTERMSIG(status)) : NULL;
		r->how = PW_EXEC_SIGNALED;
		r->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
		set_message(r, "killed by signal %d (%s)", r->signal, abbrev ? abbrev : "?");
	}
}

static bool spec_ok(const pw_exec_spec *s)
{
	return s->program != NULL && s->program[0] == '/' && pw_is_sha256_hex(s->sha256) &&
	       s->argv != NULL && s->argv[0] != NULL && s->cwd != NULL && s->cwd[0] == '/' &&
	       s->timeout_ms > 0;
}

/*
 * Start the child and supervise it to the end. Called with r's output
 * buffers unset; fills r (or returns a status other than PW_OK, with the
 * child reaped).
 */
static pw_status spawn_and_wait(const pw_exec_spec *s, const file_id *id, pw_exec_result *r)
{
	static char *const empty_env[] = {NULL};
	uint64_t grace = s->grace_ms ? s->grace_ms : PW_EXEC_GRACE_MS_DEFAULT;
	size_t max = s->max_output ? s->max_output : PW_EXEC_MAX_OUTPUT_DEFAULT;
	if (max == SIZE_MAX)
		max--; /* room for the NUL */
	stream so = {.fd = -1, .max = max}, se = {.fd = -1, .max = max};
	int outp[2] = {-1, -1}, errp[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	bool fa_init = false, at_init = false;
	child c = {.pid = -1, .pidfd = -1};
	pw_sandbox_prep *sb = NULL;
	pw_status st = PW_OK;
	int e, status = 0;

	if ((e = make_pipe(outp)) != 0 || (e = make_pipe(errp)) != 0) {
		fail(r, PW_EXEC_SPAWN_FAILED, "spawn failed: cannot create a pipe", e);
		goto out;
	}
	if ((e = posix_spawn_file_actions_init(&fa)) != 0)
		goto setup_failed;
	fa_init = true;
	if ((e = posix_spawnattr_init(&at)) != 0)
		goto setup_failed;
	at_init = true;
	if ((e = spawn_setup(&fa, &at, s->cwd, outp[1], errp[1])) != 0)
		goto setup_failed;

	if (s->sandbox != NULL) {
		char why[sizeof r->message];
		st = pw_sandbox_prepare(s->sandbox, s->program, &sb, why, sizeof why);
		if (st == PW_ERR_NOMEM)
			goto out;
		if (st != PW_OK) {
			st = PW_OK;
			r->how = PW_EXEC_SPAWN_FAILED;
			set_message(r, "%s", why);
			goto out;
		}
	}

	uint64_t start = now_ms();
	if (sb != NULL) {
		char why[sizeof r->message];
		c.pid = pw_sandbox_spawn(sb, s->program, s->argv, s->envp ? s->envp : empty_env,
		                         s->cwd, outp[1], errp[1], why, sizeof why);
		e = c.pid < 0 ? errno : 0;
		if (c.pid < 0) {
			r->how = PW_EXEC_SPAWN_FAILED;
			set_message(r, "%s", why);
		} else {
			pw_sandbox_report_of(sb, &r->sandbox);
		}
	} else {
		e = posix_spawn(&c.pid, s->program, &fa, &at, s->argv,
		                s->envp ? s->envp : empty_env);
		if (e != 0)
			fail(r, PW_EXEC_SPAWN_FAILED, "spawn failed", e);
	}
	close_fd(&outp[1]);
	close_fd(&errp[1]);
	if (e != 0 || c.pid < 0)
		goto out;
	c.deadline = add_sat(start, s->timeout_ms);
	c.cancel = s->cancel;
	so.fd = outp[0];
	se.fd = errp[0];
	outp[0] = errp[0] = -1;

	struct stat now_st;
	file_id id2;
	if (stat(s->program, &now_st) == 0)
		file_id_of(&now_st, &id2);
	else
		memset(&id2, 0, sizeof id2);
	if (!file_id_same(id, &id2)) {
		(void)kill(-c.pid, SIGKILL);
		if ((e = reap(c.pid, &status)) != 0) {
			st = PW_ERR_INTERNAL;
			goto out;
		}
		r->duration_ms = now_ms() - start;
		r->how = PW_EXEC_CODE_MISMATCH;
		set_message(r, "program changed between its hash check and its start; killed");
		goto out;
	}

	c.pidfd = open_pidfd(c.pid);
	st = supervise(&c, &so, &se, grace);
	if ((e = reap(c.pid, &status)) != 0 && st == PW_OK)
		st = PW_ERR_INTERNAL;
	r->duration_ms = now_ms() - start;
	if (st != PW_OK)
		goto out;
	describe_end(r, &c, status, s->timeout_ms);
	goto out;

setup_failed:
	if (e == ENOMEM)
		st = PW_ERR_NOMEM;
	else
		fail(r, PW_EXEC_SPAWN_FAILED, "spawn failed: cannot set up the child", e);
out:
	if (st == PW_OK)
		st = stream_take(&so, &r->out, &r->out_len, &r->out_truncated);
	if (st == PW_OK)
		st = stream_take(&se, &r->err, &r->err_len, &r->err_truncated);
	free(so.buf);
	free(se.buf);
	close_fd(&so.fd);
	close_fd(&se.fd);
	close_fd(&c.pidfd);
	close_fd(&outp[0]);
	close_fd(&outp[1]);
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	pw_sandbox_release(sb); /* after the reap: removes the run's cgroup */
	if (at_init)
		(void)posix_spawnattr_destroy(&at);
	if (fa_init)
		(void)posix_spawn_file_actions_destroy(&fa);
	return st;
}

/* A result for a run that never started: empty outputs. */
static pw_status not_run(pw_exec_result *r)
{
	r->out = calloc(1, 1);
	r->err = calloc(1, 1);
	if (r->out == NULL || r->err == NULL)
		return PW_ERR_NOMEM;
	return PW_OK;
}

pw_status pw_exec_run(const pw_exec_spec *s, pw_exec_result *r)
{
	if (r == NULL)
		return PW_ERR_INVALID;
	memset(r, 0, sizeof *r);
	r->exit_status = -1;
	if (s == NULL || !spec_ok(s))
		return PW_ERR_INVALID;

	file_id id;
	bool ok = false;
	pw_status st = hash_program(s->program, &id, r, &ok);
	if (st == PW_OK && ok && !pw_ct_equal(r->program_sha256, s->sha256, PW_SHA256_HEX_LEN)) {
		r->how = PW_EXEC_CODE_MISMATCH;
		set_message(r, "program does not match its pin; not run");
		ok = false;
	}
	if (st == PW_OK)
		st = ok ? spawn_and_wait(s, &id, r) : not_run(r);
	if (st != PW_OK) {
		pw_exec_result_release(r);
		r->exit_status = -1;
	}
	return st;
}

void pw_exec_result_release(pw_exec_result *r)
{
	if (r == NULL)
		return;
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
	r->out_len = r->err_len = 0;
}
