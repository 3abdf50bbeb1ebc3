/*
 * test_exec.c: the executor, templates, secrets files and redaction.
 *
 * The test program is its own child: started with argv[1] "--child-..."
 * it plays one of the small programs in child_main() instead of running
 * the tests, so what a child saw (its argv, environment, fds, working
 * directory, signal state) is printed by code we control, with no shell
 * anywhere. pitwall starts it by its absolute path (/proc/self/exe
 * resolved) under its real SHA-256 pin.
 *
 * Negative cases first: refused specs, pins, secrets files and templates;
 * then what a run must guarantee.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/hash.h"
#include "core/json.h"
#include "exec/exec.h"
#include "exec/template.h"
#include "testutil.h"

extern char **environ;

static char self_path[4096];                 /* this program, absolute */
static char self_sha[PW_SHA256_HEX_LEN + 1]; /* its pin */

#define SLACK_MS 3000 /* startup of a sanitized child, a loaded machine */

/* ---- the child programs ---------------------------------------------------- */

static void write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(120);
		p += w;
		n -= (size_t)w;
	}
}

static void put_str(int fd, const char *s)
{
	write_all(fd, s, strlen(s));
}

static void nap_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* "A<len>:<bytes>" or "E<len>:<bytes>": unambiguous whatever the bytes. */
static void dump_item(FILE *f, char tag, const char *s)
{
	fprintf(f, "%c%zu:%s", tag, strlen(s), s);
}

static void child_fds(void)
{
	char line[512], link[256];
	int fds[64], n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		_exit(121);
	struct dirent *de;
	while ((de = readdir(d)) != NULL && n < 64) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (de->d_name[0] == '.' || *end != '\0' || fd == dirfd(d))
			continue;
		fds[n++] = (int)fd;
	}
	closedir(d);
	for (int i = 1; i < n; i++) /* insertion sort */
		for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
			int t = fds[j];
			fds[j] = fds[j - 1];
			fds[j - 1] = t;
		}
	size_t off = (size_t)snprintf(line, sizeof line, "fds=");
	for (int i = 0; i < n && off < sizeof line; i++)
		off += (size_t)snprintf(line + off, sizeof line - off, "%s%d", i ? "," : "",
		                        fds[i]);
	ssize_t ll = readlink("/proc/self/fd/0", link, sizeof link - 1);
	link[ll < 0 ? 0 : ll] = '\0';
	if (off < sizeof line)
		snprintf(line + off, sizeof line - off, " stdin=%s\n", link);
	put_str(1, line);
}

/* The SigBlk and SigIgn lines of /proc/self/status. */
static void child_sigs(void)
{
	char buf[8192];
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	if (n < 0)
		_exit(122);
	buf[n] = '\0';
	for (char *l = buf; l != NULL && *l != '\0';) {
		char *nl = strchr(l, '\n');
		if (nl != NULL)
			*nl = '\0';
		if (strncmp(l, "SigBlk:", 7) == 0 || strncmp(l, "SigIgn:", 7) == 0) {
			put_str(1, l);
			put_str(1, "\n");
		}
		l = nl ? nl + 1 : NULL;
	}
}

static void print_pid(pid_t pid)
{
	char b[32];
	snprintf(b, sizeof b, "%d\n", (int)pid);
	put_str(1, b);
}

/* A grandchild that lives 30 s unless killed; it keeps stdout and stderr. */
static pid_t fork_sleeper(bool new_session)
{
	int p[2];
	if (pipe(p) != 0)
		_exit(123);
	pid_t g = fork();
	if (g < 0)
		_exit(124);
	if (g == 0) {
		if (new_session)
			(void)setsid();
		write_all(p[1], "x", 1);
		nap_ms(30000);
		_exit(0);
	}
	char c;
	while (read(p[0], &c, 1) < 0 && errno == EINTR) /* it has left the group, if asked */
		;
	return g;
}

static int child_main(int argc, char **argv)
{
	const char *mode = argv[1];
	if (strcmp(mode, "--child-dump") == 0) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		for (int i = 0; i < argc; i++)
			dump_item(f, 'A', argv[i]);
		for (char **e = environ; *e != NULL; e++)
			dump_item(f, 'E', *e);
		fclose(f);
		write_all(1, buf, len);
	} else if (strcmp(mode, "--child-fds") == 0) {
		child_fds();
	} else if (strcmp(mode, "--child-sigs") == 0) {
		child_sigs();
	} else if (strcmp(mode, "--child-cwd") == 0) {
		char cwd[4096];
		if (getcwd(cwd, sizeof cwd) == NULL)
			_exit(125);
		put_str(1, cwd);
	} else if (strcmp(mode, "--child-exit") == 0 && argc > 2) {
		put_str(1, "out");
		put_str(2, "err");
		_exit((int)strtol(argv[2], NULL, 10));
	} else if (strcmp(mode, "--child-kill-self") == 0) {
		raise(SIGKILL);
	} else if (strcmp(mode, "--child-marker") == 0 && argc > 2) {
		int fd = open(argv[2], O_CREAT | O_WRONLY, 0600);
		if (fd >= 0)
			close(fd);
	} else if (strcmp(mode, "--child-flood") == 0 && argc > 2) {
		static char xs[65536], ys[65536];
		memset(xs, 'x', sizeof xs);
		memset(ys, 'y', sizeof ys);
		unsigned long long n = strtoull(argv[2], NULL, 10);
		for (unsigned long long done = 0; done < n;) {
			size_t k = n - done < sizeof xs ? (size_t)(n - done) : sizeof xs;
			write_all(1, xs, k);
			write_all(2, ys, k);
			done += k;
		}
	} else if (strcmp(mode, "--child-group") == 0) { /* both die on SIGTERM */
		print_pid(fork_sleeper(false));
		nap_ms(30000);
	} else if (strcmp(mode, "--child-stubborn") == 0) { /* both ignore SIGTERM */
		signal(SIGTERM, SIG_IGN);
		print_pid(fork_sleeper(false));
		nap_ms(30000);
	} else if (strcmp(mode, "--child-leftover") == 0) { /* exits, its grandchild stays */
		print_pid(fork_sleeper(false));
	} else if (strcmp(mode, "--child-daemon") == 0) { /* as above, in its own session */
		print_pid(fork_sleeper(true));
	} else if (strcmp(mode, "--child-quiet-sleep") == 0) { /* closes its output, runs on */
		close(1);
		close(2);
		nap_ms(30000);
	} else {
		_exit(126);
	}
	_exit(0);
}

/* ---- helpers --------------------------------------------------------------- */

static char *make_tmpdir(void)
{
	char *d = strdup("/tmp/pw_test_exec_XXXXXX");
	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

/* Remove dir and the files in it (the tests make no subdirectories except where noted). */
static void remove_tmpdir(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[4096];
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		if (unlink(p) != 0)
			(void)rmdir(p);
	}
	if (d != NULL)
		closedir(d);
	(void)rmdir(dir);
	free(dir);
}

static void write_file(char *path, size_t pathlen, const char *dir, const char *name,
                       const char *data, size_t len, mode_t mode)
{
	snprintf(path, pathlen, "%s/%s", dir, name);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static json_t *parse(const char *text)
{
	json_t *v = NULL;
	char err[256];
	if (pw_json_parse(text, strlen(text), NULL, &v, err, sizeof err) != PW_OK)
		fail_msg("bad test JSON %s: %s", text, err);
	return v;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (hay == NULL || strstr(hay, needle) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", hay ? hay : "(null)", needle);
}

static void spec_self(pw_exec_spec *s, char **argv, char **envp, const char *cwd)
{
	memset(s, 0, sizeof *s);
	s->program = self_path;
	s->sha256 = self_sha;
	s->argv = argv;
	s->envp = envp;
	s->cwd = cwd ? cwd : "/";
	s->timeout_ms = 20000;
}

/* Run this program in mode a1 (with a2) and return what happened. */
static void run_mode(pw_exec_result *r, uint64_t timeout, uint64_t grace, size_t maxout,
                     const char *a1, const char *a2)
{
	char *argv[] = {self_path, (char *)a1, (char *)a2, NULL};
	char *envp[] = {NULL};
	pw_exec_spec s;
	spec_self(&s, argv, envp, NULL);
	s.timeout_ms = timeout;
	s.grace_ms = grace;
	s.max_output = maxout;
	assert_int_equal(pw_exec_run(&s, r), PW_OK);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* True if pid no longer runs (gone, or a zombie its new parent has not reaped). */
static bool proc_gone(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return true;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *rp = strrchr(buf, ')');
	return rp != NULL && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
}

static bool wait_gone(pid_t pid, int ms)
{
	for (int t = 0; t < ms; t += 10) {
		if (proc_gone(pid))
			return true;
		nap_ms(10);
	}
	return proc_gone(pid);
}

static pid_t pid_in(const char *out)
{
	char *end;
	long p = strtol(out, &end, 10);
	if (p <= 1 || *end != '\n')
		fail_msg("expected a pid, got \"%s\"", out);
	return (pid_t)p;
}

static int count_own_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* A pw_secrets from NULL-terminated name, value pairs (as a loaded file would give). */
static void secrets_of(pw_secrets *s, const char *const *pairs)
{
	size_t n = 0;
	while (pairs[2 * n] != NULL)
		n++;
	s->n = n;
	s->names = calloc(n + 1, sizeof *s->names);
	s->values = calloc(n + 1, sizeof *s->values);
	assert_non_null(s->names);
	assert_non_null(s->values);
	for (size_t i = 0; i < n; i++) {
		s->names[i] = strdup(pairs[2 * i]);
		s->values[i] = strdup(pairs[2 * i + 1]);
	}
}

/* ---- pw_exec_run: refused specs -------------------------------------------- */

static void test_exec_refuses_bad_specs(void **state)
{
	(void)state;
	char *argv[] = {self_path, "--child-exit", "0", NULL};
	pw_exec_spec s;
	pw_exec_result r;

	spec_self(&s, argv, NULL, NULL);
	s.program = "bin/relative";
	assert_int_equal(pw_exec_run(&s, &r), PW_ERR_INVALID);
	assert_null(r.out);
	pw_exec_result_release(&r);
	s.program = "relative";
	assert_int_equal(pw_exec_run(&s, &r), PW_ERR_INVALID);
	s.program = "";
	assert_int_equal(pw_exec_run(&s, &r), PW_ERR_INVALID);

	spec_self(&s, argv, NULL, "tmp");
	assert_int_equal(pw_exec_run(&s, &r), PW_ERR_INVALID); /* relative cwd */
	spec_self(&s, argv, NULL, NULL);
	s.timeout_ms = 0;
	assert_int_equal(pw_exec_run(&s, &r), PW_ERR_INVALID);
	spec_self(&s, argv, NULL, NULL);
	s.sha256 = "ABCDEF";
	assert_int_equal(pw_exec_run(&s, &r), PW_ERR_INVALID);
	spec_self(&s, NULL, NULL, NULL);
	assert_int_equal(pw_exec_run(&s, &r), PW_ERR_INVALID);
	assert_int_equal(pw_exec_run(NULL, &r), PW_ERR_INVALID);
	pw_exec_result_release(&r);
	pw_exec_result_release(NULL);
}

static void test_exec_pin_mismatch_does_not_run(void **state)
{
	(void)state;
	char *dir = make_tmpdir(), marker[4200];
	snprintf(marker, sizeof marker, "%s/ran", dir);
	char *argv[] = {self_path, "--child-marker", marker, NULL};
	pw_exec_spec s;
	pw_exec_result r;
	spec_self(&s, argv, NULL, NULL);
	s.sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
	assert_int_equal(pw_exec_run(&s, &r), PW_OK);
	assert_int_equal(r.how, PW_EXEC_CODE_MISMATCH);
	assert_string_equal(r.program_sha256, self_sha);
	assert_int_equal(r.exit_status, -1);
	assert_string_equal(r.out, "");
	assert_contains(r.message, "pin");
	assert_int_equal(access(marker, F_OK), -1); /* it never ran */
	pw_exec_result_release(&r);

	/* the right pin: it runs and leaves the marker */
	spec_self(&s, argv, NULL, NULL);
	assert_int_equal(pw_exec_run(&s, &r), PW_OK);
	assert_int_equal(r.how, PW_EXEC_EXITED);
	assert_int_equal(access(marker, F_OK), 0);
	pw_exec_result_release(&r);
	remove_tmpdir(dir);
}

static void test_exec_spawn_failures(void **state)
{
	(void)state;
	char *dir = make_tmpdir(), path[4200], nowhere[4200];
	char *argv[] = {self_path, NULL};
	pw_exec_spec s;
	pw_exec_result r;

	/* no such program */
	spec_self(&s, argv, NULL, NULL);
	s.program = "/nonexistent/pitwall/program";
	assert_int_equal(pw_exec_run(&s, &r), PW_OK);
	assert_int_equal(r.how, PW_EXEC_SPAWN_FAILED);
	assert_string_equal(r.message, "spawn failed: no such file or directory");
	assert_string_equal(r.program_sha256, "");
	assert_non_null(r.out);
	assert_non_null(r.err);
	pw_exec_result_release(&r);

	/* a directory */
	spec_self(&s, argv, NULL, NULL);
	s.program = dir;
	assert_int_equal(pw_exec_run(&s, &r), PW_OK);
	assert_int_equal(r.how, PW_EXEC_SPAWN_FAILED);
	assert_contains(r.message, "not a regular file");
	pw_exec_result_release(&r);

	/* the pinned bytes, but not executable: execve() refuses, even for root */
	const char text[] = "not a program\n";
	unsigned char md[PW_SHA256_LEN];
	char hex[PW_SHA256_HEX_LEN + 1];
	write_file(path, sizeof path, dir, "noexec", text, sizeof text - 1, 0644);
	assert_int_equal(pw_sha256(text, sizeof text - 1, md), PW_OK);
	pw_hex(md, sizeof md, hex);
	spec_self(&s, argv, NULL, NULL);
	s.program = path;
	s.sha256 = hex;
	assert_int_equal(pw_exec_run(&s, &r), PW_OK);
	assert_int_equal(r.how, PW_EXEC_SPAWN_FAILED);
	assert_string_equal(r.message, "spawn failed: permission denied");
	assert_string_equal(r.program_sha256, hex);
	pw_exec_result_release(&r);

	/* executable, but not a format the kernel runs: no fallback to a shell */
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(pw_exec_run(&s, &r), PW_OK);
	assert_int_equal(r.how, PW_EXEC_SPAWN_FAILED);
	assert_string_equal(r.message, "spawn failed: exec format error");
	pw_exec_result_release(&r);

	/* a working directory that does not exist */
	snprintf(nowhere, sizeof nowhere, "%s/missing", dir);
	spec_self(&s, argv, NULL, nowhere);
	assert_int_equal(pw_exec_run(&s, &r), PW_OK);
	assert_int_equal(r.how, PW_EXEC_SPAWN_FAILED);
	assert_contains(r.message, "no such file or directory");
	pw_exec_result_release(&r);
	remove_tmpdir(dir);
}

/* ---- pw_exec_run: what a run guarantees ------------------------------------ */

static void test_exec_exit_status_and_signal(void **state)
{
	(void)state;
	pw_exec_result r;
	run_mode(&r, 20000, 0, 0, "--child-exit", "3");
	assert_int_equal(r.how, PW_EXEC_EXITED);
	assert_int_equal(r.exit_status, 3);
	assert_string_equal(r.out, "out");
	assert_int_equal(r.out_len, 3);
	assert_string_equal(r.err, "err");
	assert_false(r.out_truncated);
	assert_string_equal(r.program_sha256, self_sha);
	pw_exec_result_release(&r);

	run_mode(&r, 20000, 0, 0, "--child-exit", "0");
	assert_int_equal(r.how, PW_EXEC_EXITED);
	assert_int_equal(r.exit_status, 0);
	pw_exec_result_release(&r);

	run_mode(&r, 20000, 0, 0, "--child-kill-self", NULL);
	assert_int_equal(r.how, PW_EXEC_SIGNALED);
	assert_int_equal(r.signal, SIGKILL);
	assert_int_equal(r.exit_status, -1);
	assert_string_equal(r.message, "killed by signal 9 (KILL)");
	pw_exec_result_release(&r);
}

/*
 * Inputs that a shell would interpret reach the program as exact argv
 * bytes; the environment is exactly the built one, secrets included, and
 * nothing of pitwall's own.
 */
static void test_exec_no_shell_exact_argv_and_env(void **state)
{
	(void)state;
	char *dir = make_tmpdir(), sfile[4200], err[256];
	json_t *input = parse(
	        "{\"subst\":\"$(id)\",\"semi\":\"; rm -rf /\",\"pipe\":\"| cat /etc/passwd\","
	        "\"tick\":\"`id`\",\"glob\":\"*\",\"q\":\"?\",\"tilde\":\"~\",\"nl\":\"a\\nb\","
	        "\"space\":\"two words\",\"quotes\":\"'\\\"\",\"dollar\":\"$HOME\",\"empty\":\"\","
	        "\"redir\":\"> /tmp/x 2>&1\",\"amp\":\"& echo hi\",\"n\":1.5,\"flag\":true,"
	        "\"nested\":{\"deep\":\"x;y\"}}");
	json_t *run = parse(
	        "{\"args\":[\"--child-dump\",\"{input.subst}\",\"{input.semi}\",\"{input.pipe}\","
	        "\"{input.tick}\",\"{input.glob}\",\"{input.q}\",\"{input.tilde}\",\"{input.nl}\","
	        "\"{input.space}\",\"{input.quotes}\",\"{input.dollar}\",\"{input.empty}\","
	        "\"{input.redir}\",\"{input.amp}\",\"{input.n}\",\"{input.flag}\","
	        "\"{input.nested.deep}\",\"{input.missing}\",\"{run.id}\",\"{run.dir}\","
	        "\"{spec.dir}\",\"literal; $(id) `x` * ~\"],"
	        "\"env\":{\"ZED\":\"{input.space}\",\"ALPHA\":\"{input.subst}\","
	        "\"RUN_ID\":\"{run.id}\"},\"secrets\":[\"TOKEN\"]}");
	const char *secrets_text = "# test secrets\nTOKEN=tok-$(id)-value\n";
	write_file(sfile, sizeof sfile, dir, "secrets", secrets_text, strlen(secrets_text), 0600);
	pw_secrets sec;
	assert_int_equal(pw_secrets_load(sfile, &sec, err, sizeof err), PW_OK);

	pw_template_ctx ctx = {
	        .input = input, .run_id = "run-1", .run_dir = dir, .spec_dir = "/spec dir/x"};
	char **argv = NULL, **envp = NULL;
	assert_int_equal(pw_template_argv(run, self_path, &ctx, &argv, err, sizeof err), PW_OK);
	assert_int_equal(pw_template_envp(run, &ctx, &sec, &envp, err, sizeof err), PW_OK);

	const char *want_argv[] = {self_path,
	                           "--child-dump",
	                           "$(id)",
	                           "; rm -rf /",
	                           "| cat /etc/passwd",
	                           "`id`",
	                           "*",
	                           "?",
	                           "~",
	                           "a\nb",
	                           "two words",
	                           "'\"",
	                           "$HOME",
	                           "",
	                           "> /tmp/x 2>&1",
	                           "& echo hi",
	                           "1.5",
	                           "true",
	                           "x;y",
	                           "",
	                           "run-1",
	                           dir,
	                           "/spec dir/x",
	                           "literal; $(id) `x` * ~",
	                           NULL};
	const char *want_env[] = {"ZED=two words", "ALPHA=$(id)", "RUN_ID=run-1",
	                          "TOKEN=tok-$(id)-value", NULL};
	char *want = NULL;
	size_t wlen = 0;
	FILE *f = open_memstream(&want, &wlen);
	for (size_t i = 0; want_argv[i] != NULL; i++) {
		assert_non_null(argv[i]);
		assert_string_equal(argv[i], want_argv[i]);
		dump_item(f, 'A', want_argv[i]);
	}
	for (size_t i = 0; want_env[i] != NULL; i++)
		dump_item(f, 'E', want_env[i]);
	fclose(f);

	/* pitwall's own environment must not reach the child */
	assert_int_equal(setenv("SHOULD_NOT_LEAK", "1", 1), 0);
	pw_exec_spec s;
	pw_exec_result r;
	spec_self(&s, argv, envp, dir);
	assert_int_equal(pw_exec_run(&s, &r), PW_OK);
	assert_int_equal(unsetenv("SHOULD_NOT_LEAK"), 0);
	assert_int_equal(r.how, PW_EXEC_EXITED);
	assert_int_equal(r.exit_status, 0);
	assert_int_equal(r.out_len, wlen);
	assert_memory_equal(r.out, want, wlen);
	assert_null(strstr(r.out, "SHOULD_NOT_LEAK"));
	pw_exec_result_release(&r);

	/* an empty environment is empty */
	char *none[] = {NULL};
	char *dump_argv[] = {self_path, "--child-dump", NULL};
	spec_self(&s, dump_argv, none, NULL);
	assert_int_equal(pw_exec_run(&s, &r), PW_OK);
	assert_null(strstr(r.out, "E"));
	pw_exec_result_release(&r);

	free(want);
	pw_strv_free(argv);
	pw_strv_free(envp);
	pw_secrets_release(&sec);
	json_decref(input);
	json_decref(run);
	remove_tmpdir(dir);
}

/* Only 0, 1 and 2 are open in the child, stdin is /dev/null; pitwall leaks no fds itself. */
static void test_exec_only_stdio_fds(void **state)
{
	(void)state;
	int extra[3], p[2];
	for (int i = 0; i < 3; i++) {
		extra[i] = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
		assert_true(extra[i] > 2);
	}
	assert_int_equal(pipe(p), 0);
	int before = count_own_fds();

	pw_exec_result r;
	run_mode(&r, 20000, 0, 0, "--child-fds", NULL);
	assert_int_equal(r.how, PW_EXEC_EXITED);
	assert_string_equal(r.out, "fds=0,1,2 stdin=/dev/null\n");
	pw_exec_result_release(&r);
	run_mode(&r, 20000, 0, 0, "--child-exit", "1");
	pw_exec_result_release(&r);
	assert_int_equal(count_own_fds(), before);

	/* and no zombie is left behind */
	int st;
	assert_int_equal(waitpid(-1, &st, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);

	for (int i = 0; i < 3; i++)
		close(extra[i]);
	close(p[0]);
	close(p[1]);
}

/* The child starts with no blocked and no ignored signals, whatever pitwall has. */
static void test_exec_default_signal_state(void **state)
{
	(void)state;
	sigset_t block, old;
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_term, old_pipe;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGHUP);
	assert_int_equal(sigprocmask(SIG_BLOCK, &block, &old), 0);
	assert_int_equal(sigaction(SIGTERM, &ign, &old_term), 0);
	assert_int_equal(sigaction(SIGPIPE, &ign, &old_pipe), 0);

	pw_exec_result r;
	run_mode(&r, 20000, 0, 0, "--child-sigs", NULL);

	sigprocmask(SIG_SETMASK, &old, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	assert_int_equal(r.how, PW_EXEC_EXITED);
	/*
	 * glibc's posix_spawn() sets its two internal signals (32 and 33,
	 * below SIGRTMIN) to SIG_IGN in the child, and sigfillset() cannot
	 * name them; every other signal must be default and unblocked.
	 */
	unsigned long long blk = 1, ignd = 1;
	assert_int_equal(sscanf(r.out, "SigBlk:\t%llx\nSigIgn:\t%llx\n", &blk, &ignd), 2);
	assert_int_equal(blk, 0);
	assert_int_equal(ignd & ~0x180000000ull, 0);
	pw_exec_result_release(&r);
}

static void test_exec_cwd(void **state)
{
	(void)state;
	char *dir = make_tmpdir(), real[4096];
	assert_non_null(realpath(dir, real));
	char *argv[] = {self_path, "--child-cwd", NULL};
	pw_exec_spec s;
	pw_exec_result r;
	spec_self(&s, argv, NULL, dir);
	assert_int_equal(pw_exec_run(&s, &r), PW_OK);
	assert_int_equal(r.how, PW_EXEC_EXITED);
	assert_string_equal(r.out, real);
	pw_exec_result_release(&r);
	remove_tmpdir(dir);
}

/* At the timeout the whole process group gets SIGTERM: child and grandchild die. */
static void test_exec_timeout_kills_group(void **state)
{
	(void)state;
	pw_exec_result r;
	uint64_t t0 = mono_ms();
	run_mode(&r, 700, 5000, 0, "--child-group", NULL);
	uint64_t took = mono_ms() - t0;
	assert_int_equal(r.how, PW_EXEC_TIMEOUT);
	assert_int_equal(r.signal, SIGTERM);
	assert_int_equal(r.exit_status, -1);
	assert_string_equal(r.message, "timed out after 700 ms");
	assert_true(r.duration_ms >= 690);
	assert_true(took < 700 + SLACK_MS); /* well before the 5 s grace */
	pid_t g = pid_in(r.out);
	assert_true(wait_gone(g, 2000));
	pw_exec_result_release(&r);
}

/* A group that ignores SIGTERM gets SIGKILL after the grace period. */
static void test_exec_timeout_sigkill_after_grace(void **state)
{
	(void)state;
	pw_exec_result r;
	uint64_t t0 = mono_ms();
	run_mode(&r, 500, 400, 0, "--child-stubborn", NULL);
	uint64_t took = mono_ms() - t0;
	assert_int_equal(r.how, PW_EXEC_TIMEOUT);
	assert_int_equal(r.signal, SIGKILL);
	assert_true(r.duration_ms >= 890);
	assert_true(took < 900 + SLACK_MS);
	pid_t g = pid_in(r.out);
	assert_true(wait_gone(g, 2000));
	pw_exec_result_release(&r);
}

/* A child that closed its output and runs on still meets its timeout. */
static void test_exec_timeout_after_output_closed(void **state)
{
	(void)state;
	pw_exec_result r;
	uint64_t t0 = mono_ms();
	run_mode(&r, 500, 1000, 0, "--child-quiet-sleep", NULL);
	assert_int_equal(r.how, PW_EXEC_TIMEOUT);
	assert_int_equal(r.signal, SIGTERM);
	assert_true(mono_ms() - t0 < 500 + SLACK_MS);
	pw_exec_result_release(&r);
}

/* What a child leaves in its process group dies when it exits. */
static void test_exec_leftovers_in_group_killed(void **state)
{
	(void)state;
	pw_exec_result r;
	uint64_t t0 = mono_ms();
	run_mode(&r, 20000, 0, 0, "--child-leftover", NULL);
	assert_int_equal(r.how, PW_EXEC_EXITED);
	assert_int_equal(r.exit_status, 0);
	assert_true(mono_ms() - t0 < SLACK_MS);
	pid_t g = pid_in(r.out);
	assert_true(wait_gone(g, 2000));
	pw_exec_result_release(&r);
}

/*
 * A job started in a session of its own (setsid) is not pitwall's to
 * kill, and holding the pipes open does not keep the call waiting.
 */
static void test_exec_daemon_survives_and_does_not_block(void **state)
{
	(void)state;
	pw_exec_result r;
	uint64_t t0 = mono_ms();
	run_mode(&r, 20000, 0, 0, "--child-daemon", NULL);
	uint64_t took = mono_ms() - t0;
	assert_int_equal(r.how, PW_EXEC_EXITED);
	assert_int_equal(r.exit_status, 0);
	assert_true(took < SLACK_MS); /* not the 30 s the daemon holds stdout */
	pid_t g = pid_in(r.out);
	nap_ms(100);
	assert_false(proc_gone(g));
	kill(g, SIGKILL);
	assert_true(wait_gone(g, 2000));
	pw_exec_result_release(&r);
}

static void test_exec_output_caps(void **state)
{
	(void)state;
	pw_exec_result r;
	size_t mib = (size_t)1 << 20;
	uint64_t t0 = mono_ms();
	run_mode(&r, 60000, 0, mib, "--child-flood", "5242880");
	assert_int_equal(r.how, PW_EXEC_EXITED);
	assert_int_equal(r.exit_status, 0);
	assert_true(mono_ms() - t0 < 20000);
	assert_int_equal(r.out_len, mib);
	assert_int_equal(r.err_len, mib);
	assert_true(r.out_truncated);
	assert_true(r.err_truncated);
	assert_int_equal(r.out[mib], '\0');
	for (size_t i = 0; i < mib; i++)
		if (r.out[i] != 'x' || r.err[i] != 'y')
			fail_msg("byte %zu: out %d err %d", i, r.out[i], r.err[i]);
	pw_exec_result_release(&r);

	/* exactly at the cap is not cut; one byte under is */
	run_mode(&r, 20000, 0, 3, "--child-exit", "0");
	assert_string_equal(r.out, "out");
	assert_false(r.out_truncated);
	pw_exec_result_release(&r);
	run_mode(&r, 20000, 0, 2, "--child-exit", "0");
	assert_string_equal(r.out, "ou");
	assert_true(r.out_truncated);
	assert_string_equal(r.err, "er");
	assert_true(r.err_truncated);
	pw_exec_result_release(&r);
}

/* ---- secrets files --------------------------------------------------------- */

static void expect_secrets_refused(const char *dir, const char *text, size_t len, mode_t mode,
                                   pw_status want, const char *needle, const char *hidden)
{
	char path[4200], err[512];
	pw_secrets s;
	write_file(path, sizeof path, dir, "secrets", text, len, mode);
	err[0] = '\0';
	pw_status st = pw_secrets_load(path, &s, err, sizeof err);
	if (st != want)
		fail_msg("%s: got %s, want %s (%s)", text, pw_status_name(st), pw_status_name(want),
		         err);
	assert_int_equal(s.n, 0);
	assert_null(s.names);
	assert_null(s.values);
	if (needle != NULL)
		assert_contains(err, needle);
	assert_contains(err, path);
	if (hidden != NULL && strstr(err, hidden) != NULL)
		fail_msg("error message shows a secret value: %s", err);
}

static void test_secrets_refuses_open_permissions(void **state)
{
	(void)state;
	char *dir = make_tmpdir(), path[4200], link[4200], err[512];
	const char *text = "TOKEN=0123456789\n";
	size_t len = strlen(text);
	expect_secrets_refused(dir, text, len, 0644, PW_ERR_PERM,
	                       "readable or writable by group or others (mode 0644); chmod 600 it",
	                       "0123456789");
	expect_secrets_refused(dir, text, len, 0640, PW_ERR_PERM, "(mode 0640)", NULL);
	expect_secrets_refused(dir, text, len, 0604, PW_ERR_PERM, "(mode 0604)", NULL);
	expect_secrets_refused(dir, text, len, 0620, PW_ERR_PERM, "(mode 0620)", NULL);
	expect_secrets_refused(dir, text, len, 0610, PW_ERR_PERM, "(mode 0610)", NULL);

	pw_secrets s;
	/* a symbolic link, even to a good file */
	write_file(path, sizeof path, dir, "secrets", text, len, 0600);
	snprintf(link, sizeof link, "%s/link", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(pw_secrets_load(link, &s, err, sizeof err), PW_ERR_PERM);
	assert_contains(err, "symbolic link");
	/* not a regular file */
	assert_int_equal(pw_secrets_load(dir, &s, err, sizeof err), PW_ERR_PERM);
	assert_contains(err, "not a regular file");
	/* missing */
	snprintf(link, sizeof link, "%s/missing", dir);
	assert_int_equal(pw_secrets_load(link, &s, err, sizeof err), PW_ERR_NOTFOUND);
	/* owned by someone else: only root can make such a file */
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(pw_secrets_load(path, &s, err, sizeof err), PW_ERR_PERM);
		assert_contains(err, "owned by uid 65534");
	}
	remove_tmpdir(dir);
}

static void test_secrets_refuses_bad_content(void **state)
{
	(void)state;
	char *dir = make_tmpdir();
#define REFUSE(text, want, needle)                                                                 \
	expect_secrets_refused(dir, text, sizeof text - 1, 0600, want, needle, "s3cr3t-value")
	REFUSE("A=s3cr3t-value\nNOEQUALS s3cr3t-value\n", PW_ERR_INVALID,
	       "line 2: expected NAME=value");
	REFUSE("1BAD=s3cr3t-value\n", PW_ERR_INVALID, "line 1: invalid secret name");
	REFUSE(" A=s3cr3t-value\n", PW_ERR_INVALID, "line 1: invalid secret name");
	REFUSE("A-B=s3cr3t-value\n", PW_ERR_INVALID, "line 1: invalid secret name");
	REFUSE("=s3cr3t-value\n", PW_ERR_INVALID, "line 1: invalid secret name");
	REFUSE("__A=s3cr3t-value\n", PW_ERR_INVALID, "invalid secret name");
	REFUSE("# c\n\nSHORT=1234567\n", PW_ERR_INVALID,
	       "line 3: the value of SHORT is shorter than 8 bytes");
	REFUSE("A=s3cr3t-value\nB=other-value\nA=s3cr3t-value2\n", PW_ERR_INVALID,
	       "line 3: secret A is already defined on line 1");
	REFUSE("A=s3cr3t-value\r\n", PW_ERR_INVALID, "line 1: carriage return");
	REFUSE("A=s3cr3t\0value\n", PW_ERR_INVALID, "line 1: NUL byte");
#undef REFUSE
	/* a 65-character name; 64 is the most */
	char line[256];
	snprintf(line, sizeof line, "%065d=s3cr3t-value\n", 0);
	line[0] = 'N';
	expect_secrets_refused(dir, line, strlen(line), 0600, PW_ERR_INVALID, "invalid secret name",
	                       "s3cr3t-value");
	/* 65 secrets; 64 is the most */
	char *many = malloc(65 * 32);
	assert_non_null(many);
	size_t off = 0;
	for (int i = 0; i < 65; i++)
		off += (size_t)snprintf(many + off, 32, "S%d=value-%04d\n", i, i);
	expect_secrets_refused(dir, many, off, 0600, PW_ERR_TOO_LARGE, "line 65: more than 64",
	                       NULL);
	/* over 64 KiB */
	size_t big = ((size_t)64 << 10) + 1;
	char *huge = malloc(big);
	assert_non_null(huge);
	memset(huge, '#', big);
	expect_secrets_refused(dir, huge, big, 0600, PW_ERR_TOO_LARGE, "over the limit", NULL);
	free(huge);
	free(many);
	remove_tmpdir(dir);
}

static void test_secrets_load_good_file(void **state)
{
	(void)state;
	char *dir = make_tmpdir(), path[4200], err[256];
	const char text[] = "# comment\n\n   \nTOKEN=abc=def ghi \n_PRIVATE=12345678\n"
	                    "N64_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx="
	                    "\xc3\xa9t\xc3\xa9-\xe2\x82\xac\xe2\x82\xac\n"
	                    "LAST=no-newline";
	write_file(path, sizeof path, dir, "secrets", text, sizeof text - 1, 0600);
	pw_secrets s;
	if (pw_secrets_load(path, &s, err, sizeof err) != PW_OK)
		fail_msg("%s", err);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.names[0], "TOKEN");
	assert_string_equal(s.values[0], "abc=def ghi "); /* byte for byte */
	assert_string_equal(s.names[1], "_PRIVATE");
	assert_int_equal(strlen(s.names[2]), 64);
	assert_string_equal(s.values[2], "\xc3\xa9t\xc3\xa9-\xe2\x82\xac\xe2\x82\xac");
	assert_string_equal(s.values[3], "no-newline");
	pw_secrets_release(&s);
	assert_int_equal(s.n, 0);
	pw_secrets_release(&s); /* twice is harmless */

	/* 0400 and 0700 are fine: nobody else has access */
	write_file(path, sizeof path, dir, "secrets", text, sizeof text - 1, 0400);
	assert_int_equal(pw_secrets_load(path, &s, err, sizeof err), PW_OK);
	pw_secrets_release(&s);
	write_file(path, sizeof path, dir, "secrets2", text, sizeof text - 1, 0700);
	assert_int_equal(pw_secrets_load(path, &s, err, sizeof err), PW_OK);
	pw_secrets_release(&s);
	remove_tmpdir(dir);
}

/* ---- templates ------------------------------------------------------------- */

static void expect_template_refused(const pw_template_ctx *ctx, const char *tmpl,
                                    const char *needle)
{
	char *out = (char *)0x1, err[512];
	err[0] = '\0';
	pw_status st = pw_template_expand(tmpl, ctx, &out, err, sizeof err);
	if (st != PW_ERR_INVALID)
		fail_msg("template %s: got %s, want invalid", tmpl ? tmpl : "(null)",
		         pw_status_name(st));
	assert_null(out);
	if (needle != NULL)
		assert_contains(err, needle);
}

static void expect_template(const pw_template_ctx *ctx, const char *tmpl, const char *want)
{
	char *out = NULL, err[512];
	err[0] = '\0';
	pw_status st = pw_template_expand(tmpl, ctx, &out, err, sizeof err);
	if (st != PW_OK)
		fail_msg("template %s: %s (%s)", tmpl, pw_status_name(st), err);
	assert_string_equal(out, want);
	free(out);
}

static void test_template_refusals(void **state)
{
	(void)state;
	json_t *input = parse("{\"a\":\"x\",\"b\":\"y\"}");
	pw_template_ctx ctx = {.input = input, .run_id = "r1", .run_dir = "/d", .spec_dir = "/s"};
	const char *whole = "a placeholder must be the whole element";
	expect_template_refused(&ctx, "x{input.a}", whole);
	expect_template_refused(&ctx, "{input.a}x", whole);
	expect_template_refused(&ctx, "{input.a}{input.b}", whole);
	expect_template_refused(&ctx, "--flag={input.a}", whole);
	expect_template_refused(&ctx, "{input.a", whole);
	expect_template_refused(&ctx, "input.a}", whole);
	expect_template_refused(&ctx, "{{input.a}}", whole);
	expect_template_refused(&ctx, "{}", whole);
	expect_template_refused(&ctx, "}", whole);
	expect_template_refused(&ctx, "{foo}", "unknown placeholder");
	expect_template_refused(&ctx, "{run.ids}", "unknown placeholder");
	expect_template_refused(&ctx, "{INPUT.a}", "unknown placeholder");
	expect_template_refused(&ctx, "{env.HOME}", "unknown placeholder");
	expect_template_refused(&ctx, "{input.}", "unknown placeholder");
	expect_template_refused(&ctx, "{input..a}", "malformed input path");
	expect_template_refused(&ctx, "{input.a.}", "malformed input path");
	expect_template_refused(&ctx, "{input.a b}", "malformed input path");
	expect_template_refused(&ctx, "{input.a$}", "malformed input path");
	char longt[300];
	memset(longt, 'a', sizeof longt);
	longt[0] = '{';
	memcpy(longt + 1, "input.", 6);
	longt[258] = '}';
	longt[259] = '\0';
	expect_template_refused(&ctx, longt, "longer than 256");
	expect_template_refused(&ctx, NULL, NULL);

	/* a string holding NUL cannot become an argument */
	json_t *nul = json_object();
	json_object_set_new(nul, "s", json_stringn("a\0b", 3));
	pw_template_ctx nctx = {.input = nul, .run_id = "r1", .run_dir = "/d", .spec_dir = "/s"};
	expect_template_refused(&nctx, "{input.s}", "NUL byte");
	json_decref(nul);

	/* a placeholder with nothing to give */
	pw_template_ctx empty = {.input = input};
	expect_template_refused(&empty, "{run.id}", "no value");
	json_decref(input);
}

static void test_template_values(void **state)
{
	(void)state;
	json_t *input = parse("{\"s\":\"as is: {x} $(y)\",\"n\":3,\"f\":1.5,\"big\":1e21,"
	                      "\"neg\":-0,\"t\":true,\"no\":false,\"z\":null,"
	                      "\"o\":{\"b\":1,\"a\":[1,\"x\",{\"q\":null}]},\"arr\":[],"
	                      "\"p\":{\"q\":{\"r\":\"deep\"}},\"dash-name\":\"d\"}");
	pw_template_ctx ctx = {
	        .input = input, .run_id = "r1", .run_dir = "/run dir", .spec_dir = "/s"};
	expect_template(&ctx, "{input.s}", "as is: {x} $(y)");
	expect_template(&ctx, "{input.n}", "3");
	expect_template(&ctx, "{input.f}", "1.5");
	expect_template(&ctx, "{input.big}", "1e+21");
	expect_template(&ctx, "{input.neg}", "0");
	expect_template(&ctx, "{input.t}", "true");
	expect_template(&ctx, "{input.no}", "false");
	expect_template(&ctx, "{input.z}", "null");
	expect_template(&ctx, "{input.o}", "{\"a\":[1,\"x\",{\"q\":null}],\"b\":1}");
	expect_template(&ctx, "{input.arr}", "[]");
	expect_template(&ctx, "{input.p.q.r}", "deep");
	expect_template(&ctx, "{input.dash-name}", "d");
	/* absent fields and absent or non-object parents: "" */
	expect_template(&ctx, "{input.missing}", "");
	expect_template(&ctx, "{input.missing.deeper}", "");
	expect_template(&ctx, "{input.p.missing}", "");
	expect_template(&ctx, "{input.s.x}", "");
	expect_template(&ctx, "{input.o.a.x}", "");
	expect_template(&ctx, "{input.n.x}", "");
	/* literal text, whatever it holds besides braces */
	expect_template(&ctx, "", "");
	expect_template(&ctx, "--name=$(id) 'a' \"b\" ; | & *", "--name=$(id) 'a' \"b\" ; | & *");
	expect_template(&ctx, "{run.id}", "r1");
	expect_template(&ctx, "{run.dir}", "/run dir");
	expect_template(&ctx, "{spec.dir}", "/s");
	pw_template_ctx noinput = {.input = NULL, .run_id = "r1"};
	expect_template(&noinput, "{input.a}", "");
	json_decref(input);
}

static void test_template_argv_and_envp(void **state)
{
	(void)state;
	char err[256];
	char **v = (char **)0x1;
	json_t *input = parse("{\"a\":\"A\"}");
	pw_template_ctx ctx = {.input = input, .run_id = "r1", .run_dir = "/d", .spec_dir = "/s"};

	/* refusals */
	json_t *run = parse("{\"args\":[\"ok\",\"x{input.a}\"]}");
	assert_int_equal(pw_template_argv(run, "/bin/prog", &ctx, &v, err, sizeof err),
	                 PW_ERR_INVALID);
	assert_null(v);
	assert_contains(err, "run.args[1]: ");
	assert_int_equal(pw_template_argv(run, "bin/prog", &ctx, &v, err, sizeof err),
	                 PW_ERR_INVALID);
	json_decref(run);
	run = parse("{\"args\":[\"ok\",3]}");
	assert_int_equal(pw_template_argv(run, "/bin/prog", &ctx, &v, err, sizeof err),
	                 PW_ERR_INVALID);
	json_decref(run);
	run = parse("{\"args\":\"--all\"}");
	assert_int_equal(pw_template_argv(run, "/bin/prog", &ctx, &v, err, sizeof err),
	                 PW_ERR_INVALID);
	json_decref(run);
	const char *bad_env[] = {"{\"env\":{\"A=B\":\"x\"}}",
	                         "{\"env\":{\"1A\":\"x\"}}",
	                         "{\"env\":{\"A\":\"x{run.id}\"}}",
	                         "{\"env\":{\"A\":1}}",
	                         "{\"env\":[\"A\"]}",
	                         "{\"env\":{\"A\":\"x\"},\"secrets\":[\"A\"]}",
	                         "{\"secrets\":[\"S\",\"S\"]}",
	                         "{\"secrets\":[\"A=B\"]}",
	                         NULL};
	pw_secrets sec;
	secrets_of(&sec, (const char *const[]){"S", "secret-value-1", "A", "secret-value-2", NULL});
	for (size_t i = 0; bad_env[i] != NULL; i++) {
		run = parse(bad_env[i]);
		v = (char **)0x1;
		pw_status st = pw_template_envp(run, &ctx, &sec, &v, err, sizeof err);
		if (st != PW_ERR_INVALID)
			fail_msg("%s: got %s", bad_env[i], pw_status_name(st));
		assert_null(v);
		json_decref(run);
	}
	/* a secret that is not in the file, or no file at all */
	run = parse("{\"env\":{\"A\":\"1\"},\"secrets\":[\"S\",\"MISSING_ONE\"]}");
	assert_int_equal(pw_template_envp(run, &ctx, &sec, &v, err, sizeof err), PW_ERR_NOTFOUND);
	assert_contains(err, "\"MISSING_ONE\"");
	assert_null(v);
	assert_int_equal(pw_template_envp(run, &ctx, NULL, &v, err, sizeof err), PW_ERR_NOTFOUND);
	assert_contains(err, "\"S\"");
	json_decref(run);

	/* argv: program, then args; no args at all is just the program */
	run = parse("{\"args\":[\"-v\",\"{input.a}\",\"{input.none}\"]}");
	assert_int_equal(pw_template_argv(run, "/bin/prog", &ctx, &v, err, sizeof err), PW_OK);
	assert_string_equal(v[0], "/bin/prog");
	assert_string_equal(v[1], "-v");
	assert_string_equal(v[2], "A");
	assert_string_equal(v[3], "");
	assert_null(v[4]);
	pw_strv_free(v);
	json_decref(run);
	run = parse("{}");
	assert_int_equal(pw_template_argv(run, "/bin/prog", &ctx, &v, err, sizeof err), PW_OK);
	assert_string_equal(v[0], "/bin/prog");
	assert_null(v[1]);
	pw_strv_free(v);
	/* envp: nothing declared is nothing */
	assert_int_equal(pw_template_envp(run, &ctx, NULL, &v, err, sizeof err), PW_OK);
	assert_null(v[0]);
	pw_strv_free(v);
	json_decref(run);

	/* envp: env in the model's order, then the secrets */
	run = parse("{\"env\":{\"ZZ\":\"{input.a}\",\"_AA\":\"lit=eral\",\"MM\":\"{run.dir}\"},"
	            "\"secrets\":[\"S\"]}");
	assert_int_equal(pw_template_envp(run, &ctx, &sec, &v, err, sizeof err), PW_OK);
	assert_string_equal(v[0], "ZZ=A");
	assert_string_equal(v[1], "_AA=lit=eral");
	assert_string_equal(v[2], "MM=/d");
	assert_string_equal(v[3], "S=secret-value-1");
	assert_null(v[4]);
	pw_strv_free(v);
	pw_strv_free(NULL);
	json_decref(run);
	pw_secrets_release(&sec);
	json_decref(input);
}

/* ---- redaction ------------------------------------------------------------- */

static void expect_redacted(const pw_secrets *s, const char *in, size_t len, const char *want)
{
	char *out = NULL;
	size_t outlen = 0;
	assert_int_equal(pw_redact_text(s, in, len, &out, &outlen), PW_OK);
	if (outlen != strlen(want) || memcmp(out, want, outlen) != 0)
		fail_msg("redact \"%.*s\": got \"%s\", want \"%s\"", (int)len, in, out, want);
	assert_int_equal(out[outlen], '\0');
	free(out);
}

static void test_redact_text(void **state)
{
	(void)state;
	pw_secrets s;
	secrets_of(&s, (const char *const[]){"INNER", "secret12", "OUTER", "xxsecret12yy", "C",
	                                     "abcdefgh", "D", "fghijklm", "R", "aaaaaaaa", NULL});
	/* a secret containing another is redacted whole */
	expect_redacted(&s, "a xxsecret12yy b secret12 c", 27,
	                "a [REDACTED:OUTER] b [REDACTED:INNER] c");
	/* overlapping occurrences leave no fragment of either */
	expect_redacted(&s, "<abcdefghijklm>", 15, "<[REDACTED:C][REDACTED:D]>");
	expect_redacted(&s, "fghijklmabcdefgh", 16, "[REDACTED:D][REDACTED:C]");
	/* a run of one repeated secret is one marker */
	expect_redacted(&s, "aaaaaaaaaaaaaaaaaaaa!", 21, "[REDACTED:R]!");
	expect_redacted(&s, "secret1", 7, "secret1"); /* a prefix is not the secret */
	expect_redacted(&s, "", 0, "");
	expect_redacted(&s, "secret12secret12", 16, "[REDACTED:INNER][REDACTED:INNER]");

	/* bytes after a NUL are redacted too; the length is what counts */
	char *out = NULL;
	size_t outlen = 0;
	const char bin[] = "\0secret12\0";
	assert_int_equal(pw_redact_text(&s, bin, sizeof bin - 1, &out, &outlen), PW_OK);
	assert_int_equal(outlen, 1 + 16 + 1);
	assert_memory_equal(out, "\0[REDACTED:INNER]\0", outlen);
	free(out);
	/* no secrets: a plain copy */
	assert_int_equal(pw_redact_text(NULL, bin, sizeof bin - 1, &out, &outlen), PW_OK);
	assert_int_equal(outlen, sizeof bin - 1);
	assert_memory_equal(out, bin, outlen);
	free(out);
	pw_secrets_release(&s);
}

static void test_redact_json(void **state)
{
	(void)state;
	pw_secrets s;
	/* U's value begins inside a UTF-8 character (the second byte of "é") */
	secrets_of(&s, (const char *const[]){"INNER", "secret12", "OUTER", "xxsecret12yy", "U",
	                                     "\xa9-token-1", NULL});
	json_t *v =
	        parse("{\"key-secret12\":[\"xxsecret12yy\",1.5,true,null,{\"n\":\"secret12!\"}],"
	              "\"plain\":\"ok\",\"utf8\":\"caf\xc3\xa9-token-1 ok\"}");
	json_t *out = NULL;
	assert_int_equal(pw_redact_json(&s, v, &out), PW_OK);
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(pw_jcs_dump(out, 0, &text, &len), PW_OK);
	assert_string_equal(text, "{\"key-[REDACTED:INNER]\":[\"[REDACTED:OUTER]\",1.5,true,null,"
	                          "{\"n\":\"[REDACTED:INNER]!\"}],\"plain\":\"ok\","
	                          "\"utf8\":\"caf[REDACTED:U] ok\"}");
	free(text);
	/* a deep copy: the input is untouched */
	assert_string_equal(
	        json_string_value(json_array_get(json_object_get(v, "key-secret12"), 0)),
	        "xxsecret12yy");
	assert_true(out != v);
	json_decref(out);
	json_decref(v);

	/* two member names that redact alike are refused, not merged */
	v = parse("{\"secret12\":1,\"[REDACTED:INNER]\":2}");
	out = (json_t *)0x1;
	assert_int_equal(pw_redact_json(&s, v, &out), PW_ERR_DUPKEY);
	assert_null(out);
	json_decref(v);

	/* no secrets: an equal copy */
	v = parse("{\"a\":[1,\"secret12\",{\"b\":null}]}");
	assert_int_equal(pw_redact_json(NULL, v, &out), PW_OK);
	assert_true(pw_json_equal(out, v));
	json_decref(out);
	json_decref(v);
	pw_secrets_release(&s);
}

/* ---- main ------------------------------------------------------------------ */

static int find_self(void)
{
	ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
	if (n <= 0)
		return -1;
	self_path[n] = '\0';
	size_t len = 0;
	char *bytes = tu_read_file(self_path, &len);
	unsigned char md[PW_SHA256_LEN];
	if (bytes == NULL || pw_sha256(bytes, len, md) != PW_OK) {
		free(bytes);
		return -1;
	}
	free(bytes);
	pw_hex(md, sizeof md, self_sha);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strncmp(argv[1], "--child-", 8) == 0)
		return child_main(argc, argv);
	if (find_self() != 0) {
		fprintf(stderr, "cannot read /proc/self/exe\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_exec_refuses_bad_specs),
	        cmocka_unit_test(test_exec_pin_mismatch_does_not_run),
	        cmocka_unit_test(test_exec_spawn_failures),
	        cmocka_unit_test(test_secrets_refuses_open_permissions),
	        cmocka_unit_test(test_secrets_refuses_bad_content),
	        cmocka_unit_test(test_template_refusals),
	        cmocka_unit_test(test_exec_exit_status_and_signal),
	        cmocka_unit_test(test_exec_no_shell_exact_argv_and_env),
	        cmocka_unit_test(test_exec_only_stdio_fds),
	        cmocka_unit_test(test_exec_default_signal_state),
	        cmocka_unit_test(test_exec_cwd),
	        cmocka_unit_test(test_exec_timeout_kills_group),
	        cmocka_unit_test(test_exec_timeout_sigkill_after_grace),
	        cmocka_unit_test(test_exec_timeout_after_output_closed),
	        cmocka_unit_test(test_exec_leftovers_in_group_killed),
	        cmocka_unit_test(test_exec_daemon_survives_and_does_not_block),
	        cmocka_unit_test(test_exec_output_caps),
	        cmocka_unit_test(test_secrets_load_good_file),
	        cmocka_unit_test(test_template_values),
	        cmocka_unit_test(test_template_argv_and_envp),
	        cmocka_unit_test(test_redact_text),
	        cmocka_unit_test(test_redact_json),
	};
	return cmocka_run_group_tests_name("exec", tests, NULL, NULL);
}
