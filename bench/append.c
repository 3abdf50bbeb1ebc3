/*
 * append: durable appends through the broker against a raw SQLite insert
 * loop with the same durability (bench/README.md).
 *
 *     append SPEC DIR ROUNDS EVENTS [pitwall|raw]
 *
 * SPEC is examples/refunds/workflow.yaml. For each round, and in each
 * round for 1, 4 and 16 concurrent writers (processes, as separate
 * `pitwall mcp` servers would be), interleaved so that both ways see the
 * same machine:
 *
 *   pitwall  every writer has its own run in one fresh ledger (DIR) and
 *            calls LookupOrder through pw_broker_call() until the writers
 *            have appended EVENTS events between them (a call appends two:
 *            its call event, committed before the program would run, and
 *            its result). The executor is a no-op (pw_broker_opts.exec):
 *            it returns the order at once, so what is measured is the
 *            broker and the ledger: parsing, the spec check, the program's
 *            hash, the run lock, the fold, the decision, sealing, the
 *            inserts with their chain trigger, the commits (WAL,
 *            synchronous=FULL), the outcome and the reply.
 *   raw      every writer inserts rows of the same size into a table of
 *            the same columns and key in a fresh database, one row per
 *            transaction (BEGIN IMMEDIATE, INSERT, COMMIT) with a prepared
 *            statement, WAL, synchronous=FULL, the ledger's busy timeout.
 *
 * The latency of a pitwall event is the time from the start of the call to
 * the executor (the no-op executor marks it: the call event is committed,
 * and the argv and sandbox definition are built), and from there to the end
 * of the call for its result; of a raw event, the transaction.
 * Prints a Markdown table: events/s and latency p50/p99, the median of the
 * rounds with their minimum and maximum, and the ratio pitwall / raw of
 * events/s, taken per round. With a last argument, only that way runs,
 * with one writer, and nothing is printed: for a profiler.
 */
#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/canned.h"
#include "bench/stats.h"
#include "broker/broker.h"

#define MAX_ROUNDS 64
#define N_WRITERS  3
static const int writers_of[N_WRITERS] = {1, 4, 16};

static const char order_json[] = "{\"order_id\":\"ORD-1001\",\"customer\":\"Ada\","
                                 "\"financial_status\":\"paid\",\"total_cents\":12000,"
                                 "\"refunded_cents\":0,\"refundable_cents\":12000}\n";

/* Shared with the writers (MAP_SHARED): where each writes its figures. */
typedef struct shared {
	double start[16], end[16]; /* after the barrier, and when done */
	double lat[];              /* one per event */
} shared;

static double committed_us; /* set by the no-op executor: the call event is durable */

static void die(const char *fmt, const char *what)
{
	fprintf(stderr, "append: ");
	fprintf(stderr, fmt, what);
	fputc('\n', stderr);
	exit(1);
}

/* The executor: nothing runs; the order comes back at once. */
static pw_status noop_exec(const pw_exec_spec *s, pw_exec_result *r)
{
	committed_us = bench_now_us();
	return bench_canned_result(s, order_json, r);
}

/* What each writer gets: the paths, its share of the events, the barrier. */
typedef struct job {
	const char *db;
	size_t events; /* in all */
	size_t body_len;
	int barrier_fd;
} job;

static void wait_barrier(const job *j)
{
	char c;
	while (read(j->barrier_fd, &c, 1) < 0 && errno == EINTR)
		;
}

static void pitwall_writer(int i, int n, shared *sh, void *arg)
{
	job *j = arg;
	char run_id[32], agent[32], err[512];
	snprintf(run_id, sizeof run_id, "w%d", i);
	snprintf(agent, sizeof agent, "agent-%d", i);
	pw_broker_opts o = {.db_path = j->db, .agent = agent, .for_calls = true, .exec = noop_exec};
	pw_broker *b;
	if (pw_broker_open(&o, run_id, &b, err, sizeof err) != PW_OK)
		die("open: %s", err);
	size_t calls = j->events / 2 / (size_t)n, base = (size_t)i * calls * 2;
	static const char input[] = "{\"order_id\":\"ORD-1001\"}";
	wait_barrier(j);
	sh->start[i] = bench_now_us();
	for (size_t k = 0; k < calls; k++) {
		json_t *reply = NULL;
		double t0 = bench_now_us();
		if (pw_broker_call(b, "LookupOrder", input, sizeof input - 1, &reply, err,
		                   sizeof err) != PW_OK)
			die("call: %s", err);
		double t2 = bench_now_us();
		const char *outcome = json_string_value(json_object_get(reply, "outcome"));
		if (outcome == NULL || strcmp(outcome, "ok") != 0) {
			char *s = json_dumps(reply, JSON_COMPACT);
			die("call did not succeed: %s", s ? s : "?");
		}
		json_decref(reply);
		sh->lat[base + 2 * k] = committed_us - t0;
		sh->lat[base + 2 * k + 1] = t2 - committed_us;
	}
	sh->end[i] = bench_now_us();
	pw_broker_close(b);
}

static void sql_or_die(sqlite3 *s, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(s, sql, NULL, NULL, &msg) != SQLITE_OK)
		die("sqlite: %s", msg ? msg : sqlite3_errmsg(s));
}

static void raw_writer(int i, int n, shared *sh, void *arg)
{
	job *j = arg;
	sqlite3 *s;
	sqlite3_stmt *ins;
	char run_id[32];
	static const char hash[] =
	        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	snprintf(run_id, sizeof run_id, "w%d", i);
	if (sqlite3_open(j->db, &s) != SQLITE_OK)
		die("open: %s", sqlite3_errmsg(s));
	sqlite3_busy_timeout(s, 10000);
	sql_or_die(s, "PRAGMA synchronous=FULL");
	if (sqlite3_prepare_v2(s,
	                       "INSERT INTO events (run_id, seq, kind, hash, prev, body) "
	                       "VALUES (?1, ?2, 'call', ?3, ?3, ?4)",
	                       -1, &ins, NULL) != SQLITE_OK)
		die("prepare: %s", sqlite3_errmsg(s));
	char *body = malloc(j->body_len + 1);
	if (body == NULL)
		die("%s", "malloc");
	memset(body, 'x', j->body_len);
	body[j->body_len] = '\0';
	size_t rows = j->events / (size_t)n, base = (size_t)i * rows;
	wait_barrier(j);
	sh->start[i] = bench_now_us();
	for (size_t k = 0; k < rows; k++) {
		double t0 = bench_now_us();
		sql_or_die(s, "BEGIN IMMEDIATE");
		sqlite3_bind_text(ins, 1, run_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 2, (sqlite3_int64)k);
		sqlite3_bind_text(ins, 3, hash, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, body, (int)j->body_len, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE)
			die("insert: %s", sqlite3_errmsg(s));
		sqlite3_reset(ins);
		sql_or_die(s, "COMMIT");
		sh->lat[base + k] = bench_now_us() - t0;
	}
	sh->end[i] = bench_now_us();
	sqlite3_finalize(ins);
	sqlite3_close(s);
	free(body);
}

/* One round's figures for one way and one number of writers. */
typedef struct figures {
	double eps, p50, p99;
} figures;

static figures collect(const shared *sh, int n, size_t events)
{
	double first = sh->start[0], last = sh->end[0];
	for (int i = 1; i < n; i++) {
		first = sh->start[i] < first ? sh->start[i] : first;
		last = sh->end[i] > last ? sh->end[i] : last;
	}
	double *v = malloc(events * sizeof *v);
	if (v == NULL)
		die("%s", "malloc");
	memcpy(v, sh->lat, events * sizeof *v);
	figures f = {(double)events / ((last - first) / 1e6), bench_pct(v, events, 0.5),
	             bench_pct(v, events, 0.99)};
	free(v);
	return f;
}

static void remove_db(const char *path)
{
	char p[4200];
	static const char *const sfx[] = {"", "-wal", "-shm", "-calls.lock"};
	for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
		snprintf(p, sizeof p, "%s%s", path, sfx[i]);
		unlink(p);
	}
}

/* Start n runs of spec in a fresh ledger db. */
static void start_runs(const char *db, const char *spec, int n)
{
	char err[512], run_id[32];
	for (int i = 0; i < n; i++) {
		json_t *reply = NULL;
		snprintf(run_id, sizeof run_id, "w%d", i);
		if (pw_broker_start(db, spec, run_id, NULL, &reply, err, sizeof err) != PW_OK)
			die("start: %s", err);
		json_decref(reply);
	}
}

static size_t avg_body(const char *db)
{
	sqlite3 *s;
	sqlite3_stmt *q;
	size_t len = 0;
	if (sqlite3_open(db, &s) != SQLITE_OK ||
	    sqlite3_prepare_v2(s,
	                       "SELECT avg(length(body) + length(hash) + length(prev)) FROM "
	                       "events WHERE kind IN ('call', 'result')",
	                       -1, &q, NULL) != SQLITE_OK)
		die("avg: %s", sqlite3_errmsg(s));
	if (sqlite3_step(q) == SQLITE_ROW)
		len = (size_t)sqlite3_column_double(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(s);
	return len > 142 ? len - 142 : 1; /* the raw row carries hash and prev too */
}

static figures one_round(bool raw, const char *dir, const char *spec, int n, size_t events,
                         size_t *body_len, shared *sh)
{
	char db[4096];
	snprintf(db, sizeof db, "%s/%s.db", dir, raw ? "raw" : "ledger");
	remove_db(db);
	if (raw) {
		sqlite3 *s;
		if (sqlite3_open(db, &s) != SQLITE_OK)
			die("open: %s", sqlite3_errmsg(s));
		sql_or_die(s, "PRAGMA journal_mode=WAL;"
		              "CREATE TABLE events (run_id TEXT NOT NULL, seq INTEGER NOT NULL,"
		              " kind TEXT NOT NULL, hash TEXT NOT NULL, prev TEXT NOT NULL,"
		              " body TEXT NOT NULL, PRIMARY KEY (run_id, seq))");
		sqlite3_close(s);
	} else {
		start_runs(db, spec, n);
	}
	memset(sh, 0, sizeof *sh);
	job j = {db, events, *body_len, -1};
	int barrier[2];
	if (pipe(barrier) != 0)
		die("pipe: %s", strerror(errno));
	j.barrier_fd = barrier[0];
	pid_t pid[16];
	for (int i = 0; i < n; i++) {
		if ((pid[i] = fork()) < 0)
			die("fork: %s", strerror(errno));
		if (pid[i] == 0) {
			close(barrier[1]);
			(raw ? raw_writer : pitwall_writer)(i, n, sh, &j);
			_exit(0);
		}
	}
	close(barrier[0]);
	usleep(200000); /* every writer has opened its connection and waits */
	close(barrier[1]);
	for (int i = 0; i < n; i++) {
		int status;
		if (waitpid(pid[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			die("%s", "a writer failed");
	}
	figures f = collect(sh, n, events);
	if (!raw && *body_len == 0)
		*body_len = avg_body(db);
	remove_db(db);
	return f;
}

static void print_cell(double *v, size_t n, const char *fmt)
{
	bench_mmm m = bench_summary(v, n);
	printf(" | ");
	printf(fmt, m.med);
	printf(" (");
	printf(fmt, m.min);
	printf("-");
	printf(fmt, m.max);
	printf(")");
}

int main(int argc, char **argv)
{
	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: append SPEC DIR ROUNDS EVENTS [pitwall|raw]\n");
		return 2;
	}
	const char *spec = argv[1], *dir = argv[2];
	size_t rounds = strtoul(argv[3], NULL, 10), events = strtoul(argv[4], NULL, 10);
	if (rounds < 1 || rounds > MAX_ROUNDS || events < 64 || events % 32 != 0) {
		fprintf(stderr, "append: ROUNDS 1-%d, EVENTS a multiple of 32, at least 64\n",
		        MAX_ROUNDS);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	shared *sh = mmap(NULL, sizeof *sh + events * sizeof(double), PROT_READ | PROT_WRITE,
	                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	static figures pw[N_WRITERS][MAX_ROUNDS], raw[N_WRITERS][MAX_ROUNDS];
	size_t body_len = 0;
	if (argc == 6) {
		if (strcmp(argv[5], "pitwall") != 0 && strcmp(argv[5], "raw") != 0) {
			fprintf(stderr, "append: the last argument is pitwall or raw\n");
			return 2;
		}
		body_len = 675;
		for (size_t r = 0; r < rounds; r++)
			(void)one_round(strcmp(argv[5], "raw") == 0, dir, spec, 1, events,
			                &body_len, sh);
		return 0;
	}
	for (size_t r = 0; r < rounds; r++) {
		for (int w = 0; w < N_WRITERS; w++) {
			pw[w][r] =
			        one_round(false, dir, spec, writers_of[w], events, &body_len, sh);
			raw[w][r] =
			        one_round(true, dir, spec, writers_of[w], events, &body_len, sh);
		}
	}
	printf("%zu rounds of %zu events each way, a raw row of %zu bytes of body plus hash and "
	       "prev (the ledger's average event); median (min-max) of the rounds\n\n",
	       rounds, events, body_len);
	printf("| writers | pitwall events/s | p50 µs | p99 µs | raw SQLite events/s | p50 µs | "
	       "p99 µs | pitwall / raw |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	double v[MAX_ROUNDS];
	for (int w = 0; w < N_WRITERS; w++) {
		printf("| %d", writers_of[w]);
#define CELL(arr, field, fmt)                                                                      \
	do {                                                                                       \
		for (size_t r = 0; r < rounds; r++)                                                \
			v[r] = arr[w][r].field;                                                    \
		print_cell(v, rounds, fmt);                                                        \
	} while (0)
		CELL(pw, eps, "%.0f");
		CELL(pw, p50, "%.0f");
		CELL(pw, p99, "%.0f");
		CELL(raw, eps, "%.0f");
		CELL(raw, p50, "%.0f");
		CELL(raw, p99, "%.0f");
#undef CELL
		for (size_t r = 0; r < rounds; r++)
			v[r] = pw[w][r].eps / raw[w][r].eps;
		print_cell(v, rounds, "%.2f");
		printf(" |\n");
	}
	for (size_t r = 0; r < rounds; r++)
		v[r] = pw[0][r].eps / raw[0][r].eps;
	bench_mmm m = bench_summary(v, rounds);
	printf("\n- **Target: a single writer at 0.8x the raw loop or better: %s, %.2fx.**\n",
	       m.med >= 0.8 ? "met" : "not met", m.med);
	printf("- With 4 and 16 writers both ways mostly measure SQLite's busy handler: one writer "
	       "at a "
	       "time, the others sleeping between retries; their ratio says little about pitwall "
	       "(bench/README.md, Discussion).\n");
	return 0;
}
