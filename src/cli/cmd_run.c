/*
 * cmd_run.c: the commands about runs: run start, call, status, log, resolve.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker/broker.h"
#include "cli/cli.h"
#include "core/event.h"
#include "core/json.h"
#include "ledger/ledger.h"

#define DEFAULT_DIR ".pitwall"
#define DEFAULT_DB  DEFAULT_DIR "/pitwall.db"

/* Options shared by the run commands; NULL when not given. */
typedef struct opts {
	const char *db, *as, *secrets, *run_id, *outcome, *note;
	bool json;
	char *pos[4]; /* positional arguments */
	int npos;
} opts;

/*
 * Parse argv into o. allowed lists the options the command takes (e.g.
 * "db as secrets"). Returns false (after printing why) on a usage error.
 */
static bool parse(const char *cmd, int argc, char **argv, const char *allowed, int max_pos, opts *o)
{
	static const struct {
		const char *flag, *name;
		size_t off;
	} table[] = {
	        {"--db", "db", offsetof(opts, db)},
	        {"--as", "as", offsetof(opts, as)},
	        {"--secrets", "secrets", offsetof(opts, secrets)},
	        {"--run-id", "run-id", offsetof(opts, run_id)},
	        {"--outcome", "outcome", offsetof(opts, outcome)},
	        {"--note", "note", offsetof(opts, note)},
	};
	memset(o, 0, sizeof *o);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0 && strstr(allowed, "json")) {
			o->json = true;
			continue;
		}
		if (strncmp(a, "--", 2) == 0) {
			size_t k;
			for (k = 0; k < sizeof table / sizeof *table; k++)
				if (strcmp(a, table[k].flag) == 0)
					break;
			if (k == sizeof table / sizeof *table || !strstr(allowed, table[k].name)) {
				pw_cli_error(cmd, "unknown option \"%s\"", a);
				return false;
			}
			if (i + 1 >= argc) {
				pw_cli_error(cmd, "%s needs a value", a);
				return false;
			}
			*(const char **)((char *)o + table[k].off) = argv[++i];
			continue;
		}
		if (a[0] == '-' && a[1] != '\0') {
			pw_cli_error(cmd, "unknown option \"%s\"", a);
			return false;
		}
		if (o->npos >= max_pos) {
			pw_cli_error(cmd, "unexpected argument \"%.80s\"", a);
			return false;
		}
		o->pos[o->npos++] = argv[i];
	}
	return true;
}

/* The ledger path: --db, or the default; for a new run, create the default folder. */
static const char *db_path(const opts *o, bool create)
{
	if (o->db != NULL)
		return o->db;
	if (create && mkdir(DEFAULT_DIR, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "pitwall: cannot create %s: %s\n", DEFAULT_DIR, strerror(errno));
		return NULL;
	}
	return DEFAULT_DB;
}

/*
 * A copy of v with every whole number written as an integer: pitwall
 * reads every JSON number as a double (core/json.h), and jansson would
 * print 4 as 4.0.
 */
static json_t *integral(const json_t *v)
{
	double d = json_is_real(v) ? json_real_value(v) : 0.5;
	if (json_is_real(v) && d > -9007199254740992.0 && d < 9007199254740992.0 &&
	    d == (double)(json_int_t)d)
		return json_integer((json_int_t)d);
	if (json_is_array(v)) {
		json_t *a = json_array();
		size_t i;
		const json_t *e;
		json_array_foreach (v, i, e)
			if (a != NULL && json_array_append_new(a, integral(e)) != 0) {
				json_decref(a);
				return NULL;
			}
		return a;
	}
	if (json_is_object(v)) {
		json_t *o = json_object();
		const char *k;
		const json_t *e;
		json_object_foreach ((json_t *)v, k, e)
			if (o != NULL && json_object_set_new(o, k, integral(e)) != 0) {
				json_decref(o);
				return NULL;
			}
		return o;
	}
	return json_incref((json_t *)v);
}

/* Print v on one line (or indented), ASCII only: other characters are escaped. */
static void print_json(const json_t *v, bool pretty)
{
	json_t *w = integral(v);
	char *s = w == NULL ? NULL
	                    : json_dumps(w, JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER |
	                                            (pretty ? JSON_INDENT(2) : JSON_COMPACT));
	json_decref(w);
	if (s != NULL) {
		puts(s);
		free(s);
	}
	fflush(stdout);
}

/* ---- run start ------------------------------------------------------------ */

int pw_cmd_run(int argc, char **argv)
{
	opts o;
	if (argc < 1 || strcmp(argv[0], "start") != 0)
		return pw_cli_usage("run");
	if (!parse("run start", argc - 1, argv + 1, "db run-id as", 1, &o) || o.npos != 1)
		return pw_cli_usage("run");
	const char *db = db_path(&o, true);
	if (db == NULL)
		return PW_EXIT_USAGE;
	char err[1024];
	json_t *reply = NULL;
	pw_status st = pw_broker_start(db, o.pos[0], o.run_id, o.as ? o.as : "operator", &reply,
	                               err, sizeof err);
	if (st != PW_OK) {
		pw_cli_error("run start", "%s", err);
		return PW_EXIT_USAGE;
	}
	print_json(reply, false);
	json_decref(reply);
	return PW_EXIT_OK;
}

/* ---- call ------------------------------------------------------------------- */

/* Read stdin up to max + 1 bytes (one more shows that it is over the cap). */
static char *read_stdin(size_t max, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	if (buf == NULL)
		return NULL;
	for (;;) {
		if (n == cap) {
			if (cap > max) {
				break;
			}
			cap *= 2;
			char *p = realloc(buf, cap);
			if (p == NULL) {
				free(buf);
				return NULL;
			}
			buf = p;
		}
		ssize_t r = read(STDIN_FILENO, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return buf;
}

static int exit_of(const json_t *reply)
{
	const char *v = json_string_value(json_object_get(reply, "verdict"));
	const char *outcome = json_string_value(json_object_get(reply, "outcome"));
	if (json_is_true(json_object_get(reply, "halted")))
		return PW_EXIT_HALTED;
	if (v == NULL)
		return PW_EXIT_FAILURE;
	if (strcmp(v, "approval") == 0)
		return PW_EXIT_APPROVAL;
	if (strcmp(v, "block") == 0)
		return PW_EXIT_BLOCKED;
	if (strcmp(v, "reject") == 0)
		return PW_EXIT_REJECTED;
	return outcome != NULL && strcmp(outcome, "ok") == 0 ? PW_EXIT_OK : PW_EXIT_ACTION_FAILED;
}

/* Set by SIGINT, SIGTERM and SIGHUP while a call runs: stop the program, record, exit. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void catch_stop_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
}

static pw_broker *open_run(const char *cmd, const opts *o, const char *run_id)
{
	const char *db = db_path(o, false);
	if (access(db, F_OK) != 0) {
		pw_cli_error(cmd, "no ledger at %s; start a run with 'pitwall run start SPEC'%s",
		             db, o->db ? "" : " or give --db PATH");
		return NULL;
	}
	pw_broker_opts bo = {
	        .db_path = db, .agent = o->as, .secrets_path = o->secrets, .cancel = &interrupted};
	pw_broker *b = NULL;
	char err[1024];
	if (pw_broker_open(&bo, run_id, &b, err, sizeof err) != PW_OK) {
		pw_cli_error(cmd, "%s", err);
		return NULL;
	}
	return b;
}

int pw_cmd_call(int argc, char **argv)
{
	opts o;
	if (!parse("call", argc, argv, "db as secrets", 3, &o) || o.npos < 2)
		return pw_cli_usage("call");
	char *input = NULL;
	size_t len = 0;
	if (o.npos == 3 && strcmp(o.pos[2], "-") == 0) {
		input = read_stdin(PW_CALL_INPUT_MAX, &len);
		if (input == NULL) {
			pw_cli_error("call", "cannot read the input from stdin: %s",
			             strerror(errno));
			return PW_EXIT_USAGE;
		}
	} else {
		input = strdup(o.npos == 3 ? o.pos[2] : "{}");
		if (input == NULL)
			return PW_EXIT_FAILURE;
		len = strlen(input);
	}
	catch_stop_signals();
	pw_broker *b = open_run("call", &o, o.pos[0]);
	if (b == NULL) {
		free(input);
		return PW_EXIT_USAGE;
	}
	json_t *reply = NULL, *status = NULL;
	char err[1024];
	pw_status st = pw_broker_call(b, o.pos[1], input, len, &reply, err, sizeof err);
	free(input);
	int rc;
	if (st != PW_OK)
		pw_cli_error("call", "%s", err);
	if (reply != NULL) {
		if (pw_broker_status(b, &status, err, sizeof err) == PW_OK)
			json_object_set(reply, "halted", json_object_get(status, "halted"));
		print_json(reply, false);
		rc = st == PW_OK ? exit_of(reply) : PW_EXIT_ACTION_FAILED;
	} else {
		rc = PW_EXIT_FAILURE;
	}
	json_decref(status);
	json_decref(reply);
	pw_broker_close(b);
	return rc;
}

/* ---- status, resolve ----------------------------------------------------- */

int pw_cmd_status(int argc, char **argv)
{
	opts o;
	if (!parse("status", argc, argv, "db", 1, &o) || o.npos != 1)
		return pw_cli_usage("status");
	pw_broker *b = open_run("status", &o, o.pos[0]);
	if (b == NULL)
		return PW_EXIT_USAGE;
	json_t *s = NULL;
	char err[1024];
	pw_status st = pw_broker_status(b, &s, err, sizeof err);
	if (st != PW_OK)
		pw_cli_error("status", "%s", err);
	else
		print_json(s, true);
	json_decref(s);
	pw_broker_close(b);
	return st == PW_OK ? PW_EXIT_OK : PW_EXIT_FAILURE;
}

int pw_cmd_resolve(int argc, char **argv)
{
	opts o;
	if (!parse("resolve", argc, argv, "db outcome as note", 2, &o) || o.npos != 2 ||
	    o.outcome == NULL || o.as == NULL)
		return pw_cli_usage("resolve");
	bool ok = strcmp(o.outcome, "ok") == 0;
	if (!ok && strcmp(o.outcome, "failed") != 0) {
		pw_cli_error("resolve", "--outcome must be ok or failed");
		return PW_EXIT_USAGE;
	}
	opts bo = o;
	bo.as = NULL; /* the resolving owner is not the calling agent */
	pw_broker *b = open_run("resolve", &bo, o.pos[0]);
	if (b == NULL)
		return PW_EXIT_USAGE;
	json_t *reply = NULL;
	char err[1024];
	pw_status st = pw_broker_resolve(b, o.pos[1], ok, o.as, o.note, &reply, err, sizeof err);
	if (st != PW_OK)
		pw_cli_error("resolve", "%s", err);
	else
		print_json(reply, false);
	json_decref(reply);
	pw_broker_close(b);
	return st == PW_OK ? PW_EXIT_OK : PW_EXIT_USAGE;
}

/* ---- log ---------------------------------------------------------------------- */

static void put_time(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32] = "?";
	if (gmtime_r(&t, &tm) != NULL)
		strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	printf("%s.%03dZ", buf, (int)(ms % 1000));
}

/*
 * A short rendering of a JSON value: strings without their quotes, others
 * compact; everything outside printable ASCII escaped (\uXXXX), so that
 * what an agent chose (an action name, an input) cannot reorder or hide
 * text on the operator's terminal; cut at 120 bytes.
 */
static void put_value(const json_t *v)
{
	json_t *w = integral(v);
	char *s = w ? json_dumps(w, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
	json_decref(w);
	const char *p = s ? s : "?";
	size_t n = strlen(p);
	if (json_is_string(v) && n >= 2) {
		p++;
		n -= 2;
	}
	printf("%.*s%s", (int)(n > 120 ? 120 : n), p, n > 120 ? "..." : "");
	free(s);
}

static void put_caps(const json_t *caps)
{
	size_t i;
	const json_t *c;
	json_array_foreach (caps, i, c) {
		fputs(i ? ", " : ", minted ", stdout);
		put_value(json_object_get(c, "cap"));
		putchar('@');
		put_value(json_object_get(c, "value"));
	}
}

#define S(k) json_object_get(ev, k)

static int log_line(void *arg, const json_t *ev)
{
	bool json = *(bool *)arg;
	if (json) {
		char *s = NULL;
		size_t n = 0;
		if (pw_event_dump(ev, &s, &n) == PW_OK)
			printf("%s\n", s);
		free(s);
		return 0;
	}
	const char *kind = pw_event_str(ev, "kind");
	printf("%4lld  ", (long long)pw_event_int(ev, "seq"));
	put_time(pw_event_int(ev, "time_ms"));
	printf("  %-8s ", kind);
	if (strcmp(kind, "genesis") == 0) {
		fputs("workflow ", stdout);
		put_value(S("workflow"));
		fputs(" ", stdout);
		put_value(S("workflow_id"));
		fputs(", state ", stdout);
		put_value(S("state"));
	} else if (strcmp(kind, "call") == 0) {
		put_value(S("call_id"));
		putchar(' ');
		if (json_is_string(S("action")))
			put_value(S("action"));
		else
			fputs("(no action name)", stdout);
		fputs(" by ", stdout);
		put_value(S("agent"));
		fputs(": ", stdout);
		put_value(S("verdict"));
		fputs(" ", stdout);
		put_value(S("reason"));
		if (S("check")) {
			fputs(" [", stdout);
			put_value(S("check"));
			putchar(']');
		}
		const char *v = pw_event_str(ev, "verdict");
		if (v && strcmp(v, "allow") != 0) {
			if (S("expected")) {
				fputs(" expected ", stdout);
				put_value(S("expected"));
			}
			if (S("actual")) {
				fputs(" actual ", stdout);
				put_value(S("actual"));
			}
			if (S("owner")) {
				fputs(" owner ", stdout);
				put_value(S("owner"));
			}
		}
		if (S("tier")) {
			fputs(" (", stdout);
			put_value(S("tier"));
			putchar(')');
		}
	} else if (strcmp(kind, "result") == 0) {
		put_value(S("call_id"));
		putchar(' ');
		put_value(S("action"));
		fputs(": ", stdout);
		put_value(S("outcome"));
		const char *outcome = pw_event_str(ev, "outcome");
		if (outcome == NULL || strcmp(outcome, "ok") != 0) {
			putchar(' ');
			put_value(S("reason"));
			if (S("tier")) {
				fputs(" (", stdout);
				put_value(S("tier"));
				putchar(')');
			}
		}
		fputs(" -> ", stdout);
		put_value(S("state"));
		put_caps(S("caps"));
	} else if (strcmp(kind, "resolve") == 0) {
		put_value(S("call_id"));
		putchar(' ');
		put_value(S("action"));
		fputs(": resolved ", stdout);
		put_value(S("outcome"));
		fputs(" by ", stdout);
		put_value(S("by"));
		fputs(" -> ", stdout);
		put_value(S("state"));
	}
	putchar('\n');
	return 0;
}

#undef S

int pw_cmd_log(int argc, char **argv)
{
	opts o;
	if (!parse("log", argc, argv, "db json", 1, &o) || o.npos != 1)
		return pw_cli_usage("log");
	const char *db = db_path(&o, false);
	pw_ledger *L = NULL;
	char err[1024];
	if (access(db, F_OK) != 0) {
		pw_cli_error("log", "no ledger at %s", db);
		return PW_EXIT_USAGE;
	}
	if (pw_ledger_open(db, false, &L, err, sizeof err) != PW_OK) {
		pw_cli_error("log", "%s", err);
		return PW_EXIT_USAGE;
	}
	pw_run_info ri;
	pw_status st = pw_ledger_run(L, o.pos[0], &ri);
	if (st != PW_OK) {
		pw_cli_error("log", "no run \"%.80s\" in %s", o.pos[0], db);
		pw_ledger_close(L);
		return PW_EXIT_USAGE;
	}
	pw_run_info_release(&ri);
	st = pw_ledger_read(L, o.pos[0], 0, log_line, &o.json, err, sizeof err);
	fflush(stdout);
	if (st != PW_OK)
		pw_cli_error("log", "the log of run %s does not verify: %s", o.pos[0], err);
	pw_ledger_close(L);
	return st == PW_OK ? PW_EXIT_OK : PW_EXIT_FAILURE;
}

void pw_cli_error(const char *cmd, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "pitwall %s: ", cmd);
	pw_cli_put_escaped(stderr, msg);
	fputc('\n', stderr);
}
