/*
 * mcp_latency.c: one whole call through each front-end, and what pitwall
 * adds to it (bench/README.md).
 *
 *   mcp_latency PITWALL SPEC DIR N PROGRAM [ARG...]
 *   mcp_latency --rss PITWALL SPEC DIR N
 *
 * In one process, N times each (after a warm-up), in a fresh run of SPEC
 * (its action Echo runs PROGRAM ARG... and must succeed) in DIR/pitwall.db:
 *   mcp         a tools/call of Echo through one long-lived `pitwall mcp`:
 *               request written to the server's stdin until its response
 *               line is read back;
 *   reject      a tools/call the input schema refuses: decided and
 *               recorded (one commit), nothing runs;
 *   cli         `pitwall call RUN Echo` as a process, from its start to its
 *               exit: start-up, loading the spec, opening and checking the
 *               run's log, the call;
 *   cli_reject  the same with the input the schema refuses;
 *   direct      the program started directly (posix_spawn, stdout read to
 *               the end, waitpid): what the action costs without pitwall;
 *   commit      one durable SQLite commit in DIR/commit.db, configured as
 *               the ledger is (WAL, synchronous=FULL): BEGIN IMMEDIATE, one
 *               INSERT, COMMIT.
 * Prints one line of "name value" pairs: NAME_p50 and NAME_p99 of each, in
 * microseconds.
 *
 * With --rss, N calls through one `pitwall mcp`, Echo and the rejected
 * call in turn, and at 1,000, 10,000, 25%, 50%, 75% and 100% of them the
 * server's resident memory and its peak so far (VmRSS, VmHWM of
 * /proc/PID/status): one line "calls K rss_kib R hwm_kib H" each.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/stats.h"

extern char **environ;

#define WARMUP 20
#define now_us bench_now_us
#define pct    bench_pct

static void die(const char *what)
{
	fprintf(stderr, "mcp_latency: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Start argv with pipes to its stdin and from its stdout. */
static pid_t start(char *const argv[], FILE **to, FILE **from)
{
	int in[2], out[2];
	pid_t pid;
	posix_spawn_file_actions_t fa;
	if (pipe(in) != 0 || pipe(out) != 0)
		die("pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, in[1]);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		die(argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	*to = fdopen(in[1], "w");
	*from = fdopen(out[0], "r");
	if (*to == NULL || *from == NULL)
		die("fdopen");
	return pid;
}

/* Send one line, read one line back; the response must carry "id":id. */
static void roundtrip(FILE *to, FILE *from, const char *req, int id, const char *verdict,
                      char **line, size_t *cap)
{
	char want[32];
	if (fputs(req, to) == EOF || fputc('\n', to) == EOF || fflush(to) != 0)
		die("write to pitwall mcp");
	snprintf(want, sizeof want, "\"id\":%d,", id);
	for (;;) {
		if (getline(line, cap, from) < 0)
			die("read from pitwall mcp");
		if (strstr(*line, want) != NULL)
			break; /* a notification may come first */
	}
	if (verdict != NULL && strstr(*line, verdict) == NULL) {
		fprintf(stderr, "mcp_latency: expected %s: %s", verdict, *line);
		exit(1);
	}
}

static double direct_once(char *const argv[])
{
	int out[2];
	pid_t pid;
	char buf[4096];
	double t0 = now_us();
	posix_spawn_file_actions_t fa;
	if (pipe(out) != 0)
		die("pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		die(argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	while (read(out[0], buf, sizeof buf) > 0)
		;
	close(out[0]);
	int status;
	waitpid(pid, &status, 0);
	return now_us() - t0;
}

/* A process that runs argv, stdout to /dev/null; its exit status, and *us its wall time. */
static int timed_run(char *const argv[], double *us)
{
	pid_t pid;
	int status;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	double t0 = now_us();
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		die(argv[0]);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	*us = now_us() - t0;
	posix_spawn_file_actions_destroy(&fa);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* A server of one run: its process and the pipes of its session. */
typedef struct server {
	pid_t pid;
	FILE *to, *from;
	char *line;
	size_t cap;
	int next_id;
} server;

static void start_run(const char *pw, const char *spec, const char *db, const char *run_id)
{
	char *argv[] = {(char *)pw, "run",      "start",        (char *)spec, "--db",
	                (char *)db, "--run-id", (char *)run_id, NULL};
	double us;
	if (timed_run(argv, &us) != 0) {
		fprintf(stderr, "mcp_latency: pitwall run start failed\n");
		exit(1);
	}
}

static void server_start(server *s, const char *pw, const char *spec, const char *db,
                         const char *run_id)
{
	char *argv[] = {(char *)pw, "mcp",   "--spec",       (char *)spec, "--db",
	                (char *)db, "--run", (char *)run_id, NULL};
	memset(s, 0, sizeof *s);
	s->pid = start(argv, &s->to, &s->from);
	roundtrip(s->to, s->from,
	          "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
	          "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{"
	          "\"name\":\"mcp_latency\",\"version\":\"1\"}}}",
	          1, NULL, &s->line, &s->cap);
	fputs("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n", s->to);
	s->next_id = 2;
}

/* One tools/call of Echo: allowed and ok, or (bad) the input the schema refuses. */
static double server_call(server *s, bool bad)
{
	char req[256];
	int id = s->next_id++;
	snprintf(req, sizeof req,
	         "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{"
	         "\"name\":\"Echo\",\"arguments\":%s}}",
	         id, bad ? "{\"x\":1}" : "{}");
	double t0 = now_us();
	roundtrip(s->to, s->from, req, id,
	          bad ? "\"reason\":\"INPUT_INVALID\"" : "\"outcome\":\"ok\"", &s->line, &s->cap);
	return now_us() - t0;
}

static void server_stop(server *s)
{
	int status;
	fclose(s->to);
	waitpid(s->pid, &status, 0);
	fclose(s->from);
	free(s->line);
}

/* Resident and peak resident memory of process pid, in KiB. */
static void memory_of(pid_t pid, long *rss, long *hwm)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	*rss = *hwm = -1;
	if (f == NULL)
		die(path);
	while (fgets(line, sizeof line, f) != NULL) {
		sscanf(line, "VmRSS: %ld", rss);
		sscanf(line, "VmHWM: %ld", hwm);
	}
	fclose(f);
}

static int rss_main(const char *pw, const char *spec, const char *dir, long n)
{
	char db[4096];
	snprintf(db, sizeof db, "%s/rss.db", dir);
	start_run(pw, spec, db, "rss");
	server s;
	server_start(&s, pw, spec, db, "rss");
	for (long i = 1; i <= n; i++) {
		(void)server_call(&s, i % 2 == 0);
		if (i == 1000 || i == 10000 || i == n / 4 || i == n / 2 || i == 3 * n / 4 ||
		    i == n) {
			long rss, hwm;
			memory_of(s.pid, &rss, &hwm);
			printf("calls %ld rss_kib %ld hwm_kib %ld\n", i, rss, hwm);
			fflush(stdout);
		}
	}
	server_stop(&s);
	return 0;
}

static void print_pcts(const char *name, double *v, size_t n)
{
	printf("%s_p50 %.0f %s_p99 %.0f ", name, pct(v, n, 0.5), name, pct(v, n, 0.99));
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 6 && strcmp(argv[1], "--rss") == 0)
		return rss_main(argv[2], argv[3], argv[4], strtol(argv[5], NULL, 10));
	if (argc < 6) {
		fprintf(stderr, "usage: mcp_latency PITWALL SPEC DIR N PROGRAM [ARG...]\n"
		                "       mcp_latency --rss PITWALL SPEC DIR N\n");
		return 2;
	}
	const char *pw = argv[1], *spec = argv[2], *dir = argv[3];
	long n = strtol(argv[4], NULL, 10);
	char **prog = argv + 5;
	char db[4096], cdb[4096];
	if (n < 10)
		n = 10;
	snprintf(db, sizeof db, "%s/pitwall.db", dir);
	snprintf(cdb, sizeof cdb, "%s/commit.db", dir);

	enum { MCP, REJECT, CLI, CLI_REJECT, DIRECT, COMMIT, KINDS };
	static const char *const names[KINDS] = {"mcp",        "reject", "cli",
	                                         "cli_reject", "direct", "commit"};
	double *t[KINDS];
	for (int k = 0; k < KINDS; k++)
		if ((t[k] = calloc((size_t)n, sizeof(double))) == NULL)
			die("calloc");

	/* the long-lived server: a run, a session, N calls of each kind */
	start_run(pw, spec, db, "lat");
	server s;
	server_start(&s, pw, spec, db, "lat");
	for (long i = 0; i < n + WARMUP; i++) {
		double a = server_call(&s, false), b = server_call(&s, true);
		if (i >= WARMUP) {
			t[MCP][i - WARMUP] = a;
			t[REJECT][i - WARMUP] = b;
		}
	}
	server_stop(&s);

	/* the CLI: a process a call, in a run of its own */
	start_run(pw, spec, db, "cli");
	char *ok_argv[] = {(char *)pw, "call", "cli", "Echo", "{}", "--db", db, NULL};
	char *bad_argv[] = {(char *)pw, "call", "cli", "Echo", "{\"x\":1}", "--db", db, NULL};
	for (long i = 0; i < n + WARMUP; i++) {
		double a, b;
		if (timed_run(ok_argv, &a) != 0 || timed_run(bad_argv, &b) != 5) {
			fprintf(stderr, "mcp_latency: pitwall call did not exit 0 / 5\n");
			return 1;
		}
		if (i >= WARMUP) {
			t[CLI][i - WARMUP] = a;
			t[CLI_REJECT][i - WARMUP] = b;
		}
	}

	/* direct: the same program, no pitwall */
	for (long i = 0; i < n + WARMUP; i++) {
		double d = direct_once(prog);
		if (i >= WARMUP)
			t[DIRECT][i - WARMUP] = d;
	}

	/* one durable commit, as the ledger makes them */
	sqlite3 *c;
	if (sqlite3_open(cdb, &c) != SQLITE_OK ||
	    sqlite3_exec(c,
	                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	                 "CREATE TABLE IF NOT EXISTS t (x TEXT);",
	                 NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "mcp_latency: %s\n", sqlite3_errmsg(c));
		return 1;
	}
	for (long i = 0; i < n + WARMUP; i++) {
		double t0 = now_us();
		if (sqlite3_exec(
		            c,
		            "BEGIN IMMEDIATE; INSERT INTO t VALUES "
		            "('an event of a few hundred bytes, as the ledger writes'); COMMIT;",
		            NULL, NULL, NULL) != SQLITE_OK) {
			fprintf(stderr, "mcp_latency: %s\n", sqlite3_errmsg(c));
			return 1;
		}
		if (i >= WARMUP)
			t[COMMIT][i - WARMUP] = now_us() - t0;
	}
	sqlite3_close(c);

	for (int k = 0; k < KINDS; k++) {
		print_pcts(names[k], t[k], (size_t)n);
		free(t[k]);
	}
	printf("calls %ld\n", n);
	return 0;
}
