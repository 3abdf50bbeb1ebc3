/*
 * cmd_run.c: the commands about runs: run start, call, status, log, and
 * the owners' commands: resolve, pending, approve, deny, resume, unlock,
 * stats.
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
#include "io/trust.h"
#include "ledger/ledger.h"

#define DEFAULT_DIR ".pitwall"
#define DEFAULT_DB  DEFAULT_DIR "/pitwall.db"

/* Options shared by the run commands; NULL when not given. */
typedef struct opts {
	const char *db, *as, *secrets, *run_id, *outcome, *note, *run, *reason, *trust, *format;
	bool json;
	char *pos[4]; /* positional arguments */
	int npos;
} opts;

/* Whether the space-separated list allowed holds name. */
static bool allows(const char *allowed, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = allowed; (p = strstr(p, name)) != NULL; p += n)
		if ((p == allowed || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

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
	        {"--run", "run", offsetof(opts, run)},
	        {"--reason", "reason", offsetof(opts, reason)},
	        {"--trust", "trust", offsetof(opts, trust)},
	        {"--format", "format", offsetof(opts, format)},
	};
	memset(o, 0, sizeof *o);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0 && allows(allowed, "json")) {
			o->json = true;
			continue;
		}
		if (strncmp(a, "--", 2) == 0) {
			size_t k;
			for (k = 0; k < sizeof table / sizeof *table; k++)
				if (strcmp(a, table[k].flag) == 0)
					break;
			if (k == sizeof table / sizeof *table || !allows(allowed, table[k].name)) {
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
	if (st == PW_ERR_UNSUPPORTED) {
		pw_cli_error("run start", "refused: SANDBOX_UNAVAILABLE: %s", err);
		return PW_EXIT_REJECTED;
	}
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
	pw_broker_opts bo = {.db_path = db,
	                     .agent = o->as,
	                     .secrets_path = o->secrets,
	                     .cancel = &interrupted,
	                     .for_calls = strcmp(cmd, "call") == 0};
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

/*
 * --as OWNER, checked against the trust file: PW_EXIT_OK with os_user
 * set, or the exit status after saying why not.
 */
static int authenticate(const char *cmd, const opts *o, char os_user[PW_TRUST_USER_MAX + 1])
{
	char err[1024];
	pw_status st = pw_trust_authenticate(o->trust, o->as, os_user, err, sizeof err);
	if (st == PW_OK)
		return PW_EXIT_OK;
	pw_cli_error(cmd, "refused: %s", err);
	return st == PW_ERR_PERM ? PW_EXIT_REJECTED : PW_EXIT_FAILURE;
}

/* The exit status of an owner's command: 0 done, 5 refused, 1 otherwise (after saying why). */
static int owner_exit(const char *cmd, pw_status st, const char *err, json_t *reply)
{
	if (st == PW_OK) {
		print_json(reply, false);
		return PW_EXIT_OK;
	}
	pw_cli_error(cmd, "%s%s", st == PW_ERR_PERM ? "refused: " : "", err);
	return st == PW_ERR_PERM ? PW_EXIT_REJECTED : PW_EXIT_FAILURE;
}

/* An owner's command on one run: open it (as nobody's agent). */
static pw_broker *open_for_owner(const char *cmd, const opts *o, const char *run_id)
{
	opts bo = *o;
	bo.as = NULL; /* the owner is not the calling agent */
	bo.secrets = NULL;
	return open_run(cmd, &bo, run_id);
}

int pw_cmd_resolve(int argc, char **argv)
{
	opts o;
	char os_user[PW_TRUST_USER_MAX + 1];
	if (!parse("resolve", argc, argv, "db outcome as note trust", 2, &o) || o.npos != 2 ||
	    o.outcome == NULL || o.as == NULL)
		return pw_cli_usage("resolve");
	bool ok = strcmp(o.outcome, "ok") == 0;
	if (!ok && strcmp(o.outcome, "failed") != 0) {
		pw_cli_error("resolve", "--outcome must be ok or failed");
		return PW_EXIT_USAGE;
	}
	int rc = authenticate("resolve", &o, os_user);
	if (rc != PW_EXIT_OK)
		return rc;
	pw_broker *b = open_for_owner("resolve", &o, o.pos[0]);
	if (b == NULL)
		return PW_EXIT_USAGE;
	json_t *reply = NULL;
	char err[1024];
	pw_status st =
	        pw_broker_resolve(b, o.pos[1], ok, o.as, os_user, o.note, &reply, err, sizeof err);
	rc = owner_exit("resolve", st, err, reply);
	json_decref(reply);
	pw_broker_close(b);
	return rc;
}

/* ---- approvals ------------------------------------------------------------ */

static void put_value(const json_t *v);

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct run_list {
	json_t *ids; /* run_id strings */
} run_list;

static int add_run(void *arg, const pw_run_info *ri)
{
	run_list *l = arg;
	return json_array_append_new(l->ids, json_string(ri->run_id)) != 0;
}

/* Every run of the ledger (or just o->pos[0] / only), as a list of ids; NULL after an error. */
static json_t *runs_of(const char *cmd, const opts *o, const char *only)
{
	const char *db = db_path(o, false);
	pw_ledger *L = NULL;
	char err[1024];
	if (access(db, F_OK) != 0) {
		pw_cli_error(cmd, "no ledger at %s", db);
		return NULL;
	}
	run_list l = {json_array()};
	if (only != NULL)
		return json_array_append_new(l.ids, json_string(only)) == 0 ? l.ids : NULL;
	if (pw_ledger_open(db, false, &L, err, sizeof err) != PW_OK ||
	    pw_ledger_runs(L, add_run, &l) != PW_OK) {
		pw_cli_error(cmd, "%s", L ? pw_ledger_errmsg(L) : err);
		json_decref(l.ids);
		l.ids = NULL;
	}
	pw_ledger_close(L);
	return l.ids;
}

/*
 * The approval requests of a run that still matter (waiting, or approved
 * and unused), with expired ones too when expired.
 */
static json_t *live_requests(pw_broker *b, const char *run_id, bool expired, json_t *into)
{
	json_t *s = NULL;
	char err[1024];
	if (pw_broker_status(b, &s, err, sizeof err) != PW_OK)
		return NULL;
	size_t i;
	json_t *p;
	json_array_foreach (json_object_get(s, "pending_approvals"), i, p) {
		if (!expired && json_is_true(json_object_get(p, "expired")))
			continue;
		json_object_set_new(p, "run_id", json_string(run_id));
		json_array_append(into, p);
	}
	json_decref(s);
	return into;
}

int pw_cmd_pending(int argc, char **argv)
{
	opts o;
	if (!parse("pending", argc, argv, "db json", 1, &o))
		return pw_cli_usage("pending");
	json_t *ids = runs_of("pending", &o, o.npos ? o.pos[0] : NULL);
	if (ids == NULL)
		return PW_EXIT_USAGE;
	json_t *all = json_array();
	int rc = PW_EXIT_OK;
	size_t i;
	json_t *id;
	json_array_foreach (ids, i, id) {
		pw_broker *b = open_for_owner("pending", &o, json_string_value(id));
		if (b == NULL) {
			rc = o.npos ? PW_EXIT_USAGE : PW_EXIT_FAILURE;
			continue;
		}
		if (live_requests(b, json_string_value(id), false, all) == NULL)
			rc = PW_EXIT_FAILURE;
		pw_broker_close(b);
	}
	if (o.json) {
		print_json(all, true);
	} else if (json_array_size(all) == 0) {
		puts("no approval requests waiting");
	} else {
		json_t *p;
		json_array_foreach (all, i, p) {
			int64_t left = pw_event_int(p, "expires_ms") - now_ms();
			printf("%s %s  %s  ", json_string_value(json_object_get(p, "run_id")),
			       json_string_value(json_object_get(p, "approval_id")),
			       json_is_true(json_object_get(p, "approved")) ? "approved, unused"
			                                                    : "waiting");
			put_value(json_object_get(p, "action"));
			putchar(' ');
			put_value(json_object_get(p, "input"));
			printf("\n    owner ");
			put_value(json_object_get(p, "owner"));
			fputs(", reason ", stdout);
			put_value(json_object_get(p, "reason"));
			fputs(", asked by ", stdout);
			put_value(json_object_get(p, "agent"));
			printf(", expires in %llds\n    call ",
			       (long long)(left > 0 ? left / 1000 : 0));
			put_value(json_object_get(p, "call_sha256"));
			putchar('\n');
		}
	}
	fflush(stdout);
	json_decref(all);
	json_decref(ids);
	return rc;
}

/* approve / deny: find the request (in --run, else in the one run that has it), decide. */
static int decide_cmd(const char *cmd, int argc, char **argv, bool approve)
{
	opts o;
	char os_user[PW_TRUST_USER_MAX + 1], err[1024];
	if (!parse(cmd, argc, argv, approve ? "db as note run trust" : "db as reason run trust", 1,
	           &o) ||
	    o.npos != 1 || o.as == NULL || (!approve && o.reason == NULL))
		return pw_cli_usage(cmd);
	int rc = authenticate(cmd, &o, os_user);
	if (rc != PW_EXIT_OK)
		return rc;
	json_t *ids = runs_of(cmd, &o, o.run);
	if (ids == NULL)
		return PW_EXIT_USAGE;
	/* the run that holds the request */
	const char *aid = o.pos[0], *run_id = NULL, *expired_in = NULL;
	size_t i, found = 0, found_expired = 0;
	json_t *id;
	json_array_foreach (ids, i, id) {
		pw_broker *b = open_for_owner(cmd, &o, json_string_value(id));
		json_t *live = json_array();
		if (b != NULL && live_requests(b, json_string_value(id), true, live) != NULL) {
			size_t k;
			json_t *p;
			json_array_foreach (live, k, p)
				if (strcmp(json_string_value(json_object_get(p, "approval_id")),
				           aid) != 0)
					continue;
				else if (json_is_true(json_object_get(p, "expired"))) {
					found_expired++; /* said so only when no live one has the id
					                  */
					expired_in = json_string_value(id);
				} else {
					found++;
					run_id = json_string_value(id);
				}
		}
		json_decref(live);
		pw_broker_close(b);
	}
	if (found > 1) {
		pw_cli_error(cmd, "%s names a request in %zu runs; give --run RUN", aid, found);
		json_decref(ids);
		return PW_EXIT_USAGE;
	}
	if (run_id == NULL && found_expired == 1)
		run_id = expired_in;
	if (run_id == NULL)
		run_id = o.run;
	if (run_id == NULL) {
		pw_cli_error(cmd, "no approval request %.80s is waiting in any run", aid);
		json_decref(ids);
		return PW_EXIT_FAILURE;
	}
	pw_broker *b = open_for_owner(cmd, &o, run_id);
	json_t *reply = NULL;
	pw_status st = b ? pw_broker_decide(b, aid, approve, o.as, os_user,
	                                    approve ? o.note : o.reason, &reply, err, sizeof err)
	                 : PW_ERR_NOTFOUND;
	rc = b ? owner_exit(cmd, st, err, reply) : PW_EXIT_USAGE;
	json_decref(reply);
	pw_broker_close(b);
	json_decref(ids);
	return rc;
}

int pw_cmd_approve(int argc, char **argv)
{
	return decide_cmd("approve", argc, argv, true);
}

int pw_cmd_deny(int argc, char **argv)
{
	return decide_cmd("deny", argc, argv, false);
}

/* ---- resume, unlock ------------------------------------------------------- */

int pw_cmd_resume(int argc, char **argv)
{
	opts o;
	char os_user[PW_TRUST_USER_MAX + 1], err[1024];
	if (!parse("resume", argc, argv, "db as note trust", 1, &o) || o.npos != 1 || o.as == NULL)
		return pw_cli_usage("resume");
	int rc = authenticate("resume", &o, os_user);
	if (rc != PW_EXIT_OK)
		return rc;
	pw_broker *b = open_for_owner("resume", &o, o.pos[0]);
	if (b == NULL)
		return PW_EXIT_USAGE;
	json_t *reply = NULL;
	pw_status st = pw_broker_resume(b, o.as, os_user, o.note, &reply, err, sizeof err);
	rc = owner_exit("resume", st, err, reply);
	json_decref(reply);
	pw_broker_close(b);
	return rc;
}

int pw_cmd_unlock(int argc, char **argv)
{
	opts o;
	char os_user[PW_TRUST_USER_MAX + 1], err[1024];
	if (!parse("unlock", argc, argv, "db as note trust", 1, &o) || o.npos != 1 || o.as == NULL)
		return pw_cli_usage("unlock");
	int rc = authenticate("unlock", &o, os_user);
	if (rc != PW_EXIT_OK)
		return rc;
	const char *db = db_path(&o, false);
	if (access(db, F_OK) != 0) {
		pw_cli_error("unlock", "no ledger at %s", db);
		return PW_EXIT_USAGE;
	}
	json_t *reply = NULL;
	pw_status st =
	        pw_broker_unlock(db, o.pos[0], o.as, os_user, o.note, &reply, err, sizeof err);
	rc = owner_exit("unlock", st, err, reply);
	json_decref(reply);
	return rc;
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
	} else if (strcmp(kind, "approve") == 0 || strcmp(kind, "deny") == 0) {
		put_value(S("approval_id"));
		fputs(" of ", stdout);
		put_value(S("call_id"));
		putchar(' ');
		put_value(S("action"));
		fputs(kind[0] == 'a' ? ": approved by " : ": denied by ", stdout);
		put_value(S("by"));
		fputs(" (OS user ", stdout);
		put_value(S("os_user"));
		putchar(')');
		if (S("reason")) {
			fputs(": ", stdout);
			put_value(S("reason"));
		}
	} else if (strcmp(kind, "halt") == 0) {
		fputs(json_is_true(S("frozen")) ? "frozen: " : "halted: ", stdout);
		put_value(S("reason"));
		fputs(" (", stdout);
		put_value(S("tier"));
		putchar(')');
	} else if (strcmp(kind, "lockout") == 0 || strcmp(kind, "unlock") == 0) {
		fputs("agent ", stdout);
		put_value(S("agent"));
		fputs(kind[0] == 'l' ? " locked out of every run: " : " unlocked by ", stdout);
		put_value(kind[0] == 'l' ? S("reason") : S("by"));
	} else if (strcmp(kind, "escalate") == 0) {
		put_value(S("call_id"));
		putchar(' ');
		put_value(S("action"));
		fputs(": escalated to uncorrected, ", stdout);
		put_value(S("count"));
		fputs(" correctable failures of the ", stdout);
		put_value(S("scope"));
		fputs(" within ", stdout);
		put_value(S("window_ms"));
		fputs(" ms", stdout);
	} else if (strcmp(kind, "resume") == 0) {
		fputs("resumed by ", stdout);
		put_value(S("by"));
		fputs(" after ", stdout);
		put_value(S("reason"));
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

/* ---- stats -------------------------------------------------------------------- */

/* A Prometheus label value: backslash, double quote and line feed escaped. */
static void prom_label(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			printf("\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", stdout);
		else
			putchar(*s);
	}
}

static long long count_of(const json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

typedef struct metric {
	const char *name, *type, *help;
} metric;

static const metric metrics[] = {
        {"pitwall_calls_total", "counter", "Calls decided, by run, action and verdict."},
        {"pitwall_results_total", "counter",
         "Results of allowed calls, by run, action and outcome."},
        {"pitwall_errors_total", "counter",
         "Faults by RAS tier (calls and results), by run and action."},
        {"pitwall_retries_total", "counter", "Retries of correctable failures, by run and action."},
        {"pitwall_escalations_total", "counter",
         "Correctable failures escalated to uncorrected, by run and action."},
        {"pitwall_halts_total", "counter", "Halt events, by run."},
        {"pitwall_lockouts_total", "counter", "Lockout events, by run."},
        {"pitwall_unlocks_total", "counter", "Unlock events, by run."},
        {"pitwall_approvals_total", "counter", "Owners' decisions on approval requests, by run."},
        {"pitwall_run_halted", "gauge", "1 when the run is halted."},
        {"pitwall_run_frozen", "gauge", "1 when the run is frozen after a policy violation."},
        {"pitwall_agents_locked_out", "gauge", "Agents the run has locked out and not unlocked."},
};

/* One sample: name{run="...",[key="value",]...} value. */
static void sample(const char *name, const char *run, const char *k1, const char *v1,
                   const char *k2, const char *v2, long long value)
{
	printf("%s{run=\"", name);
	prom_label(run);
	putchar('"');
	if (k1) {
		printf(",%s=\"", k1);
		prom_label(v1);
		putchar('"');
	}
	if (k2) {
		printf(",%s=\"", k2);
		prom_label(v2);
		putchar('"');
	}
	printf("} %lld\n", value);
}

static void prom_metric(size_t m, const json_t *runs)
{
	static const char *const verdicts[] = {"allowed", "allow", "approval", "approval",
	                                       "blocked", "block", "rejected", "reject"};
	static const char *const tiers[] = {"correctable", "uncorrected", "fatal",
	                                    "policy_violation"};
	printf("# HELP %s %s\n# TYPE %s %s\n", metrics[m].name, metrics[m].help, metrics[m].name,
	       metrics[m].type);
	size_t i, k;
	const json_t *s, *a;
	json_array_foreach (runs, i, s) {
		const char *run = json_string_value(json_object_get(s, "run_id"));
		const json_t *c = json_object_get(s, "counts");
		json_array_foreach (json_object_get(s, "actions"), k, a) {
			const char *act = json_string_value(json_object_get(a, "action"));
			if (m == 0)
				for (size_t v = 0; v < 8; v += 2)
					sample(metrics[m].name, run, "action", act, "verdict",
					       verdicts[v + 1], count_of(a, verdicts[v]));
			if (m == 1) {
				sample(metrics[m].name, run, "action", act, "outcome", "ok",
				       count_of(a, "ok"));
				sample(metrics[m].name, run, "action", act, "outcome", "failed",
				       count_of(a, "failed"));
			}
			if (m == 2)
				for (size_t t = 0; t < 4; t++)
					sample(metrics[m].name, run, "action", act, "tier",
					       tiers[t],
					       count_of(json_object_get(a, "tiers"), tiers[t]));
			if (m == 3)
				sample(metrics[m].name, run, "action", act, NULL, NULL,
				       count_of(a, "retries"));
			if (m == 4)
				sample(metrics[m].name, run, "action", act, NULL, NULL,
				       count_of(a, "escalations"));
		}
		if (m == 5)
			sample(metrics[m].name, run, NULL, NULL, NULL, NULL, count_of(c, "halts"));
		if (m == 6)
			sample(metrics[m].name, run, NULL, NULL, NULL, NULL,
			       count_of(c, "lockouts"));
		if (m == 7)
			sample(metrics[m].name, run, NULL, NULL, NULL, NULL,
			       count_of(c, "unlocks"));
		if (m == 8) {
			sample(metrics[m].name, run, "decision", "approved", NULL, NULL,
			       count_of(c, "approved"));
			sample(metrics[m].name, run, "decision", "denied", NULL, NULL,
			       count_of(c, "denied"));
		}
		if (m == 9)
			sample(metrics[m].name, run, NULL, NULL, NULL, NULL,
			       json_is_true(json_object_get(s, "halted")));
		if (m == 10)
			sample(metrics[m].name, run, NULL, NULL, NULL, NULL,
			       json_is_true(json_object_get(s, "frozen")));
		if (m == 11)
			sample(metrics[m].name, run, NULL, NULL, NULL, NULL,
			       (long long)json_array_size(json_object_get(s, "lockouts")));
	}
}

static void stats_text(const json_t *runs)
{
	size_t i, k;
	const json_t *s, *a;
	json_array_foreach (runs, i, s) {
		const json_t *c = json_object_get(s, "counts");
		const json_t *t = json_object_get(c, "tiers");
		printf("run %s (%s): state %s%s%s\n",
		       json_string_value(json_object_get(s, "run_id")),
		       json_string_value(json_object_get(s, "workflow")),
		       json_string_value(json_object_get(s, "state")),
		       json_is_true(json_object_get(s, "halted")) ? ", HALTED" : "",
		       json_is_true(json_object_get(s, "frozen")) ? ", FROZEN" : "");
		printf("  calls %lld (allow %lld, approval %lld, block %lld, reject %lld), ok "
		       "%lld, "
		       "failed %lld, retries %lld\n",
		       count_of(c, "calls"), count_of(c, "allowed"), count_of(c, "approval"),
		       count_of(c, "blocked"), count_of(c, "rejected"), count_of(c, "ok"),
		       count_of(c, "failed"), count_of(c, "retries"));
		printf("  tiers: correctable %lld, uncorrected %lld, fatal %lld, policy_violation "
		       "%lld; escalations %lld, halts %lld, resumes %lld, lockouts %lld, unlocks "
		       "%lld, approved %lld, denied %lld\n",
		       count_of(t, "correctable"), count_of(t, "uncorrected"), count_of(t, "fatal"),
		       count_of(t, "policy_violation"), count_of(c, "escalations"),
		       count_of(c, "halts"), count_of(c, "resumes"), count_of(c, "lockouts"),
		       count_of(c, "unlocks"), count_of(c, "approved"), count_of(c, "denied"));
		json_array_foreach (json_object_get(s, "actions"), k, a) {
			const json_t *at = json_object_get(a, "tiers");
			printf("  %-24s calls %lld ok %lld failed %lld retries %lld escalations "
			       "%lld "
			       "| CE %lld UE %lld fatal %lld policy %lld\n",
			       json_string_value(json_object_get(a, "action")),
			       count_of(a, "calls"), count_of(a, "ok"), count_of(a, "failed"),
			       count_of(a, "retries"), count_of(a, "escalations"),
			       count_of(at, "correctable"), count_of(at, "uncorrected"),
			       count_of(at, "fatal"), count_of(at, "policy_violation"));
		}
	}
}

int pw_cmd_stats(int argc, char **argv)
{
	opts o;
	if (!parse("stats", argc, argv, "db format", 1, &o))
		return pw_cli_usage("stats");
	const char *fmt = o.format ? o.format : "text";
	if (strcmp(fmt, "text") != 0 && strcmp(fmt, "prometheus") != 0 &&
	    strcmp(fmt, "json") != 0) {
		pw_cli_error("stats", "--format must be text, prometheus or json");
		return PW_EXIT_USAGE;
	}
	json_t *ids = runs_of("stats", &o, o.npos ? o.pos[0] : NULL);
	if (ids == NULL)
		return PW_EXIT_USAGE;
	json_t *runs = json_array();
	int rc = PW_EXIT_OK;
	size_t i;
	json_t *id;
	json_array_foreach (ids, i, id) {
		pw_broker *b = open_for_owner("stats", &o, json_string_value(id));
		json_t *s = NULL;
		char err[1024];
		if (b == NULL) {
			rc = o.npos ? PW_EXIT_USAGE : PW_EXIT_FAILURE;
			continue;
		}
		if (pw_broker_status(b, &s, err, sizeof err) != PW_OK) {
			pw_cli_error("stats", "%s", err);
			rc = PW_EXIT_FAILURE;
		} else {
			json_array_append_new(runs, s);
		}
		pw_broker_close(b);
	}
	if (strcmp(fmt, "json") == 0)
		print_json(runs, true);
	else if (strcmp(fmt, "prometheus") == 0)
		for (size_t m = 0; m < sizeof metrics / sizeof metrics[0]; m++)
			prom_metric(m, runs);
	else
		stats_text(runs);
	fflush(stdout);
	json_decref(runs);
	json_decref(ids);
	return rc;
}
