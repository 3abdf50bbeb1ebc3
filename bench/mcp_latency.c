/*
 * mcp_latency.c: what pitwall adds to one MCP tools/call (bench/README.md).
 *
 *   mcp_latency PITWALL SPEC DIR N PROGRAM [ARG...]
 *
 * In one process, N times each (after a warm-up):
 *   mcp     a tools/call of action Echo through `pitwall mcp` (a run in
 *           DIR/pitwall.db): request written to the server's stdin until
 *           its response line is read back;
 *   direct  the same program started directly (posix_spawn, stdout read
 *           to the end, waitpid): what the action costs without pitwall;
 *   reject  a tools/call the input schema refuses: decided and recorded
 *           (one commit), nothing runs;
 *   commit  one durable SQLite commit in DIR/commit.db, configured as the
 *           ledger is (WAL, synchronous=FULL): BEGIN IMMEDIATE, one
 *           INSERT, COMMIT.
 * Prints the median and 99th percentile of each in microseconds, the
 * added latency (mcp minus direct) and the target, one durable
 * commit plus 100 us, for the median.
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define WARMUP 50

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	qsort(v, n, sizeof *v, cmp_double);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static void die(const char *what)
{
	fprintf(stderr, "mcp_latency: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Run argv to completion; its exit status. */
static int run(char *const argv[])
{
	pid_t pid;
	int status;
	if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		die(argv[0]);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
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

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: mcp_latency PITWALL SPEC DIR N PROGRAM [ARG...]\n");
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
	signal(SIGPIPE, SIG_IGN);

	double *mcp = calloc((size_t)n, sizeof *mcp), *dir_t = calloc((size_t)n, sizeof *dir_t);
	double *commit = calloc((size_t)n, sizeof *commit), *rej = calloc((size_t)n, sizeof *rej);
	if (!mcp || !dir_t || !commit || !rej)
		die("calloc");

	/* mcp: a run, a session, N calls */
	char *start_argv[] = {(char *)pw, "run",      "start", (char *)spec, "--db",
	                      db,         "--run-id", "lat",   NULL};
	if (run(start_argv) != 0) {
		fprintf(stderr, "mcp_latency: pitwall run start failed\n");
		return 1;
	}
	char *mcp_argv[] = {(char *)pw, "mcp",   "--spec", (char *)spec, "--db",
	                    db,         "--run", "lat",    NULL};
	FILE *to, *from;
	pid_t server = start(mcp_argv, &to, &from);
	char *line = NULL;
	size_t cap = 0;
	roundtrip(to, from,
	          "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
	          "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{"
	          "\"name\":\"mcp_latency\",\"version\":\"1\"}}}",
	          1, NULL, &line, &cap);
	fputs("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n", to);
	char req[256];
	for (long i = 0; i < n + WARMUP; i++) {
		int id = (int)i + 2;
		snprintf(req, sizeof req,
		         "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{"
		         "\"name\":\"Echo\",\"arguments\":{}}}",
		         id);
		double t0 = now_us();
		roundtrip(to, from, req, id, "\"verdict\":\"allow\"", &line, &cap);
		if (i >= WARMUP)
			mcp[i - WARMUP] = now_us() - t0;
	}
	/* a call the schema rejects: decided and recorded (one commit), nothing runs */
	for (long i = 0; i < n + WARMUP; i++) {
		int id = (int)(n + WARMUP + i) + 2;
		snprintf(req, sizeof req,
		         "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{"
		         "\"name\":\"Echo\",\"arguments\":{\"x\":1}}}",
		         id);
		double t0 = now_us();
		roundtrip(to, from, req, id, "\"reason\":\"INPUT_INVALID\"", &line, &cap);
		if (i >= WARMUP)
			rej[i - WARMUP] = now_us() - t0;
	}
	fclose(to);
	int status;
	waitpid(server, &status, 0);
	fclose(from);
	free(line);

	/* direct: the same program, no pitwall */
	for (long i = 0; i < n + WARMUP; i++) {
		double t = direct_once(prog);
		if (i >= WARMUP)
			dir_t[i - WARMUP] = t;
	}

	/* one durable commit, as the ledger makes them */
	sqlite3 *s;
	if (sqlite3_open(cdb, &s) != SQLITE_OK ||
	    sqlite3_exec(s,
	                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	                 "CREATE TABLE IF NOT EXISTS t (x TEXT);",
	                 NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "mcp_latency: %s\n", sqlite3_errmsg(s));
		return 1;
	}
	for (long i = 0; i < n + WARMUP; i++) {
		double t0 = now_us();
		if (sqlite3_exec(
		            s,
		            "BEGIN IMMEDIATE; INSERT INTO t VALUES "
		            "('an event of a few hundred bytes, as the ledger writes'); COMMIT;",
		            NULL, NULL, NULL) != SQLITE_OK) {
			fprintf(stderr, "mcp_latency: %s\n", sqlite3_errmsg(s));
			return 1;
		}
		if (i >= WARMUP)
			commit[i - WARMUP] = now_us() - t0;
	}
	sqlite3_close(s);

	double m50 = pct(mcp, (size_t)n, 0.5), m99 = pct(mcp, (size_t)n, 0.99);
	double d50 = pct(dir_t, (size_t)n, 0.5), d99 = pct(dir_t, (size_t)n, 0.99);
	double c50 = pct(commit, (size_t)n, 0.5), c99 = pct(commit, (size_t)n, 0.99);
	double r50 = pct(rej, (size_t)n, 0.5), r99 = pct(rej, (size_t)n, 0.99);
	printf("calls: %ld each (after %d warm-up)\n", n, WARMUP);
	printf("%-34s %10s %10s\n", "", "p50 us", "p99 us");
	printf("%-34s %10.0f %10.0f\n", "tools/call through pitwall mcp", m50, m99);
	printf("%-34s %10.0f %10.0f\n", "the program run directly", d50, d99);
	printf("%-34s %10.0f %10.0f\n", "added by pitwall (difference)", m50 - d50, m99 - d99);
	printf("%-34s %10.0f %10.0f\n", "one durable commit (WAL, FULL)", c50, c99);
	printf("%-34s %10.0f %10.0f\n", "a rejected tools/call (1 commit)", r50, r99);
	printf("target: added p50 <= one commit + 100 us = %.0f us: %s (added p50 = %.2f "
	       "commits)\n",
	       c50 + 100, m50 - d50 <= c50 + 100 ? "met" : "NOT met", (m50 - d50) / c50);
	free(mcp);
	free(dir_t);
	free(commit);
	free(rej);
	return 0;
}
