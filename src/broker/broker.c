#include "broker/broker.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "core/decide.h"
#include "core/effects.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/outcome.h"
#include "core/record.h"
#include "core/run.h"
#include "exec/exec.h"
#include "exec/template.h"
#include "io/file.h"
#include "io/specfile.h"
#include "ledger/ledger.h"

#define STDERR_KEEP 4096 /* bytes of a program's stderr kept in its result event */

struct pw_broker {
	pw_ledger *L;     /* owned */
	pw_run_info info; /* owned contents */
	pw_run run;       /* folded state, up to run.n_events */
	char agent[65];
	pw_secrets secrets; /* owned; empty without a secrets file */
	bool have_secrets;  /* a secrets file was given */
	uint64_t lock_wait_ms;
	const volatile sig_atomic_t *cancel; /* borrowed; see pw_broker_opts */
	pw_status (*exec)(const pw_exec_spec *s, pw_exec_result *r); /* see pw_broker_opts */
	pw_specfile sf;       /* owned; the spec as last loaded (sf.spec NULL: not loaded) */
	struct stat spec_st;  /* what the spec file was when sf was loaded */
	char spec_error[512]; /* why the spec did not load */
	bool spec_unreadable; /* it could not be read at all (as opposed to: read, and differs) */
	json_t *appended;     /* the events sealed in the open write transaction, in order */
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Append to err what follows from the failure it holds. */
static void add_err(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void add_err(char *err, size_t errlen, const char *fmt, ...)
{
	size_t n = err != NULL ? strnlen(err, errlen) : errlen;
	if (n + 1 >= errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every error line of diag joined with "; " into err. */
static void diag_join(const pw_diag *d, char *err, size_t errlen)
{
	size_t used = 0;
	err[0] = '\0';
	for (size_t i = 0; i < d->n && used + 1 < errlen; i++) {
		if (d->items[i].level != PW_DIAG_ERROR)
			continue;
		int n;
		if (d->items[i].line > 0)
			n = snprintf(err + used, errlen - used, "%s%u:%u: %s", used ? "; " : "",
			             d->items[i].line, d->items[i].col, d->items[i].msg);
		else
			n = snprintf(err + used, errlen - used, "%s%s", used ? "; " : "",
			             d->items[i].msg);
		if (n < 0)
			break;
		used += (size_t)n < errlen - used ? (size_t)n : errlen - used - 1;
	}
}

/* ---- starting a run ------------------------------------------------------ */

static pw_status mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return PW_ERR_TOO_LARGE;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return PW_ERR_IO;
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return PW_ERR_IO;
	return PW_OK;
}

static void random_run_id(char out[65])
{
	unsigned char b[6] = {0};
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
		int64_t t = now_ms();
		memcpy(b, &t, sizeof b);
	}
	char hex[13];
	pw_hex(b, sizeof b, hex);
	snprintf(out, 65, "run-%s", hex);
}

pw_status pw_broker_sandbox_check(const pw_spec *spec, char *err, size_t errlen)
{
	const pw_sandbox_kernel *k = pw_sandbox_kernel_probe();
	pw_effects *e = malloc(sizeof *e); /* about 17 KiB: not on the stack */
	if (e == NULL)
		return PW_ERR_NOMEM;
	pw_status st = PW_OK;
	for (size_t i = 0; i < spec->n_actions && st == PW_OK; i++) {
		pw_action_effects(&spec->actions[i], e);
		unsigned refused = pw_sandbox_refused(k, pw_effects_needs(e), e->downgrade);
		if (refused == 0)
			continue;
		unsigned bit = refused & (~refused + 1);
		set_err(err, errlen,
		        "action %s needs %s, which this kernel cannot enforce (Landlock ABI %d); "
		        "list it in the action's effects.downgrade to run without it",
		        spec->actions[i].name, pw_feature_name(bit), k->landlock_abi);
		st = PW_ERR_UNSUPPORTED;
	}
	free(e);
	return st;
}

pw_status pw_broker_start(const char *db_path, const char *spec_path, const char *run_id,
                          const char *agent, json_t **reply, char *err, size_t errlen)
{
	pw_specfile sf;
	pw_diag diag = PW_DIAG_INIT;
	pw_ledger *L = NULL;
	char *spec_abs = NULL, *db_dir = NULL, id[65], run_dir[PATH_MAX];
	json_t *genesis = NULL;
	pw_status st;

	*reply = NULL;
	if (run_id != NULL && !pw_id_valid(run_id)) {
		set_err(err, errlen,
		        "invalid run id \"%.80s\": expected ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
		        run_id);
		return PW_ERR_INVALID;
	}
	if (agent != NULL && !pw_id_valid(agent)) {
		set_err(err, errlen,
		        "invalid agent name: expected ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$");
		return PW_ERR_INVALID;
	}

	st = pw_specfile_load(spec_path, &sf, &diag);
	if (st != PW_OK) {
		char why[900];
		diag_join(&diag, why, sizeof why);
		set_err(err, errlen, "%s: %s", spec_path, why);
		pw_diag_release(&diag);
		return st;
	}
	pw_diag_release(&diag);
	if ((st = pw_broker_sandbox_check(sf.spec, err, errlen)) != PW_OK)
		goto out;

	spec_abs = realpath(spec_path, NULL);
	db_dir = pw_path_dir_abs(db_path);
	if (spec_abs == NULL || db_dir == NULL) {
		set_err(err, errlen, "%s: %s", spec_abs ? db_path : spec_path, strerror(errno));
		st = PW_ERR_NOTFOUND;
		goto out;
	}
	st = pw_ledger_open(db_path, true, &L, err, errlen);
	if (st != PW_OK)
		goto out;

	for (int attempt = 0; attempt < 4; attempt++) {
		if (run_id != NULL)
			snprintf(id, sizeof id, "%s", run_id);
		else
			random_run_id(id);
		if (snprintf(run_dir, sizeof run_dir, "%s/runs/%s", db_dir, id) >=
		    (int)sizeof run_dir) {
			set_err(err, errlen, "run directory path too long");
			st = PW_ERR_TOO_LARGE;
			goto out;
		}
		json_decref(genesis);
		genesis = json_pack("{ss ss ss ss s:s*}", "kind", "genesis", "workflow_id",
		                    sf.spec->workflow_id, "workflow",
		                    json_string_value(json_object_get(sf.spec->model, "name")),
		                    "state",
		                    json_string_value(json_object_get(sf.spec->model, "initial")),
		                    "agent", agent);
		if (genesis == NULL) {
			st = PW_ERR_NOMEM;
			goto out;
		}
		st = pw_ledger_begin(L);
		if (st == PW_OK) {
			st = pw_ledger_create_run(L, id, spec_abs, run_dir, genesis, now_ms(),
			                          NULL);
			if (st == PW_OK)
				st = pw_ledger_commit(L);
			else
				pw_ledger_rollback(L);
		}
		if (st != PW_ERR_DUPKEY || run_id != NULL)
			break;
	}
	if (st == PW_ERR_DUPKEY) {
		set_err(err, errlen, "run \"%s\" already exists in %s", id, db_path);
		goto out;
	}
	if (st != PW_OK) {
		set_err(err, errlen, "%s: cannot record the run: %s", db_path, pw_ledger_errmsg(L));
		goto out;
	}
	if (mkdir_p(run_dir, 0700) != PW_OK) {
		set_err(err, errlen, "cannot create the run directory %s: %s", run_dir,
		        strerror(errno));
		st = PW_ERR_IO;
		goto out;
	}
	*reply = json_pack("{ss ss ss ss ss ss si}", "run_id", id, "workflow",
	                   json_string_value(json_object_get(sf.spec->model, "name")),
	                   "workflow_id", sf.spec->workflow_id, "state",
	                   json_string_value(json_object_get(sf.spec->model, "initial")), "run_dir",
	                   run_dir, "spec", spec_abs, "events", 1);
	if (*reply == NULL)
		st = PW_ERR_NOMEM;
out:
	json_decref(genesis);
	pw_ledger_close(L);
	pw_specfile_release(&sf);
	free(spec_abs);
	free(db_dir);
	return st;
}

/* ---- opening a run -------------------------------------------------------- */

typedef struct fold_ctx {
	pw_run *run;
	pw_status st;
	char *err;
	size_t errlen;
} fold_ctx;

static int fold_one(void *arg, const json_t *ev)
{
	fold_ctx *c = arg;
	c->st = pw_run_fold(c->run, ev, c->err, c->errlen);
	return c->st != PW_OK;
}

/* Fold the events appended since the last sync. */
static pw_status sync_run(pw_broker *b, char *err, size_t errlen)
{
	fold_ctx c = {&b->run, PW_OK, err, errlen};
	pw_status st =
	        pw_ledger_read(b->L, b->info.run_id, b->run.n_events, fold_one, &c, err, errlen);
	if (st == PW_OK)
		st = c.st;
	return st;
}

static int found_lockout(void *arg, const char *run_id, uint64_t seq, const char *reason);
static pw_status append_all(pw_broker *b, json_t *ev, const json_t *after, int64_t now,
                            json_t **stored, char *err, size_t errlen);
static void rollback_txn(pw_broker *b);

/*
 * A run whose log does not verify, opened by an agent: a policy violation.
 * Halt and freeze it and lock the agent out, appended after whatever the
 * log holds, unless the agent is locked out already. Best effort: the run
 * is refused either way.
 */
static void freeze_tampered(pw_broker *b, const char *why)
{
	bool locked_out = false;
	json_t *evs = NULL;
	if (pw_ledger_begin(b->L) != PW_OK)
		return;
	if (pw_ledger_lockouts(b->L, b->agent, found_lockout, &locked_out) == PW_OK &&
	    !locked_out && (evs = pw_record_tampered(b->agent, why)) != NULL) {
		json_t *first = json_array_get(evs, 0);
		json_incref(first);
		json_array_remove(evs, 0);
		if (append_all(b, first, evs, now_ms(), NULL, NULL, 0) == PW_OK &&
		    pw_ledger_commit(b->L) == PW_OK) {
			/* not folded: the broker is closed, the run's state being unknown */
			json_decref(b->appended);
			b->appended = NULL;
			json_decref(first);
			json_decref(evs);
			return;
		}
		json_decref(first);
	}
	json_decref(evs);
	rollback_txn(b);
}

pw_status pw_broker_open(const pw_broker_opts *o, const char *run_id, pw_broker **out, char *err,
                         size_t errlen)
{
	const char *agent = o->agent ? o->agent : PW_AGENT_DEFAULT;
	*out = NULL;
	if (!pw_id_valid(agent)) {
		set_err(err, errlen,
		        "invalid agent name: expected ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$");
		return PW_ERR_INVALID;
	}
	if (!pw_id_valid(run_id)) {
		set_err(err, errlen, "no run \"%.80s\": not a valid run id", run_id);
		return PW_ERR_NOTFOUND;
	}
	pw_broker *b = calloc(1, sizeof *b);
	if (b == NULL)
		return PW_ERR_NOMEM;
	pw_run_init(&b->run);
	snprintf(b->agent, sizeof b->agent, "%s", agent);
	b->lock_wait_ms = o->lock_wait_ms ? o->lock_wait_ms : PW_LOCK_WAIT_MS_DEFAULT;
	b->cancel = o->cancel;
	b->exec = o->exec != NULL ? o->exec : pw_exec_run;
	pw_status st = PW_OK;
	if (o->secrets_path != NULL) {
		st = pw_secrets_load(o->secrets_path, &b->secrets, err, errlen);
		b->have_secrets = st == PW_OK;
	}
	if (st == PW_OK)
		st = pw_ledger_open(o->db_path, false, &b->L, err, errlen);
	if (st == PW_OK) {
		st = pw_ledger_run(b->L, run_id, &b->info);
		if (st == PW_ERR_NOTFOUND)
			set_err(err, errlen, "no run \"%s\" in %s", run_id, o->db_path);
		else if (st != PW_OK)
			set_err(err, errlen, "%s: %s", o->db_path, pw_ledger_errmsg(b->L));
	}
	if (st == PW_OK && (st = sync_run(b, err, errlen)) != PW_OK && st == PW_ERR_INVALID) {
		char why[400];
		snprintf(why, sizeof why, "%s", err);
		set_err(err, errlen, "the log of run %s does not verify: %s", run_id, why);
		if (o->for_calls)
			freeze_tampered(b, why);
	}
	if (st != PW_OK) {
		pw_broker_close(b);
		return st;
	}
	*out = b;
	return PW_OK;
}

void pw_broker_close(pw_broker *b)
{
	if (b == NULL)
		return;
	pw_run_release(&b->run);
	pw_run_info_release(&b->info);
	pw_secrets_release(&b->secrets);
	pw_specfile_release(&b->sf);
	json_decref(b->appended);
	pw_ledger_close(b->L);
	free(b);
}

/* ---- one call -------------------------------------------------------------- */

/*
 * Load the run's spec again unless the file is exactly what was loaded
 * last time (same inode, size, mtime and ctime). sf.spec NULL afterwards:
 * it did not load, and spec_error says why.
 */
static void load_spec(pw_broker *b)
{
	struct stat st;
	if (b->sf.spec != NULL && stat(b->info.spec_path, &st) == 0 &&
	    st.st_dev == b->spec_st.st_dev && st.st_ino == b->spec_st.st_ino &&
	    st.st_size == b->spec_st.st_size && st.st_mtim.tv_sec == b->spec_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == b->spec_st.st_mtim.tv_nsec &&
	    st.st_ctim.tv_sec == b->spec_st.st_ctim.tv_sec &&
	    st.st_ctim.tv_nsec == b->spec_st.st_ctim.tv_nsec)
		return;
	pw_specfile_release(&b->sf);
	b->spec_error[0] = '\0';
	b->spec_unreadable = false;
	if (stat(b->info.spec_path, &b->spec_st) != 0) {
		snprintf(b->spec_error, sizeof b->spec_error, "%s: %s", b->info.spec_path,
		         strerror(errno));
		b->spec_unreadable = true;
		return;
	}
	pw_diag diag = PW_DIAG_INIT;
	pw_status ls = pw_specfile_load_opt(b->info.spec_path, false, &b->sf, &diag);
	if (ls != PW_OK) {
		char why[400];
		diag_join(&diag, why, sizeof why);
		snprintf(b->spec_error, sizeof b->spec_error, "%s", why[0] ? why : "does not load");
		pw_utf8_trim(b->spec_error);
		/* a read that failed is not a different spec: deny the call, do not halt */
		b->spec_unreadable = ls == PW_ERR_IO || ls == PW_ERR_NOTFOUND || ls == PW_ERR_NOMEM;
	}
	pw_diag_release(&diag);
}

/* The call's observations: the program's hash now, into hex (NULL when unreadable). */
static const char *program_hash(const pw_broker *b, const pw_action *a, char hex[65])
{
	char e[256];
	char *path = pw_specfile_program_path(&b->sf, a);
	if (path == NULL)
		return NULL;
	pw_status st = pw_file_sha256(path, PW_PROGRAM_MAX_BYTES, hex, e, sizeof e);
	free(path);
	return st == PW_OK ? hex : NULL;
}

/* Set key to v (reference stolen) unless v is NULL. */
static pw_status put(json_t *o, const char *key, json_t *v)
{
	if (v == NULL)
		return PW_OK;
	return json_object_set_new(o, key, v) == 0 ? PW_OK : PW_ERR_NOMEM;
}

static json_t *opt_str(const char *s)
{
	return s && *s ? json_string(s) : NULL;
}

/* "type@value" strings of a caps list ({cap, value}). */
static json_t *cap_strings_of(const json_t *caps)
{
	json_t *out = json_array();
	char buf[1200];
	size_t i;
	const json_t *c;
	json_array_foreach (caps, i, c) {
		pw_cap_format(json_string_value(json_object_get(c, "cap")),
		              json_object_get(c, "value"), buf, sizeof buf);
		if (out == NULL || json_array_append_new(out, json_string(buf)) != 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* Capabilities the run holds now, as "type@value" strings. */
static json_t *held_caps(const pw_run *r, int64_t now)
{
	json_t *out = json_array();
	char buf[1200];
	for (size_t i = 0; out != NULL && i < r->n_caps; i++) {
		if (r->caps[i].expires_ms != 0 && r->caps[i].expires_ms <= now)
			continue;
		pw_cap_format(r->caps[i].type, r->caps[i].value, buf, sizeof buf);
		if (json_array_append_new(out, json_string(buf)) != 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* The reply: the call event's members that an agent may see, plus the run's state. */
static json_t *reply_of(const pw_broker *b, const json_t *call_ev, const json_t *result_ev)
{
	static const char *const from_call[] = {"call_id", "action",      "verdict",    "reason",
	                                        "check",   "expected",    "actual",     "owner",
	                                        "tier",    "approval_id", "expires_ms", "message"};
	static const char *const from_result[] = {"outcome", "reason", "tier",   "check", "message",
	                                          "result",  "exit",   "signal", "stderr"};
	json_t *r = json_object();
	if (r == NULL || json_object_set_new(r, "run_id", json_string(b->info.run_id)))
		goto nomem;
	for (size_t i = 0; i < sizeof from_call / sizeof *from_call; i++) {
		json_t *v = json_object_get(call_ev, from_call[i]);
		if (v != NULL && json_object_set(r, from_call[i], v) != 0)
			goto nomem;
	}
	if (result_ev != NULL) {
		/* the outcome's reason, tier, check and message replace the verdict's */
		json_object_del(r, "check");
		json_object_del(r, "tier");
		for (size_t i = 0; i < sizeof from_result / sizeof *from_result; i++) {
			json_t *v = json_object_get(result_ev, from_result[i]);
			if (v != NULL && !json_is_null(v) && json_object_set(r, from_result[i], v))
				goto nomem;
		}
		json_t *em = cap_strings_of(json_object_get(result_ev, "caps"));
		if (em == NULL || json_object_set_new(r, "emitted", em) != 0)
			goto nomem;
	}
	if (json_object_set_new(r, "state", json_string(b->run.state)) != 0 ||
	    put(r, "caps", held_caps(&b->run, now_ms())) != PW_OK)
		goto nomem;
	return r;
nomem:
	json_decref(r);
	return NULL;
}

/* Keep the last STDERR_KEEP bytes of s, as valid UTF-8 (bad bytes become U+FFFD). */
static json_t *stderr_tail(const char *s, size_t len)
{
	size_t start = len > STDERR_KEEP ? len - STDERR_KEEP : 0;
	while (start < len && start > 0 && ((unsigned char)s[start] & 0xC0) == 0x80)
		start++;
	char *buf = malloc((len - start) * 3 + 1);
	if (buf == NULL)
		return NULL;
	size_t n = 0;
	for (size_t i = start; i < len;) {
		size_t k = 1;
		unsigned char c = (unsigned char)s[i];
		if (c >= 0xC0)
			k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
		if (i + k <= len && c != 0 && pw_utf8_valid(s + i, k)) {
			memcpy(buf + n, s + i, k);
			n += k;
			i += k;
		} else {
			memcpy(buf + n, "\xEF\xBF\xBD", 3);
			n += 3;
			i++;
		}
	}
	json_t *v = json_stringn(buf, n);
	free(buf);
	return v;
}

/* What one execution left: the facts the outcome is computed from, and what is recorded. */
typedef struct observed {
	pw_how how;
	int exit_status, signal;
	json_t *result;      /* owned; the redacted result object, or NULL */
	json_t *stderr_tail; /* owned; the redacted end of stderr, or NULL */
	uint64_t duration_ms;
	size_t stdout_bytes;
	bool stdout_truncated;
	char why[512];             /* what the executor said, or why there is no result */
	pw_sandbox_report sandbox; /* what was enforced on the program */
} observed;

static void observed_release(observed *o)
{
	json_decref(o->result);
	json_decref(o->stderr_tail);
	o->result = o->stderr_tail = NULL;
}

/* The largest result object recorded (canonical bytes); a larger one is no result. */
#define RESULT_MAX ((size_t)4 << 20)

/* -0 reads as a double -0.0 but is written as 0: make them one value before anything decides. */
static void zero_sign(json_t *v, unsigned depth)
{
	if (depth > 256)
		return;
	if (json_is_real(v) && json_real_value(v) == 0)
		json_real_set(v, 0.0);
	size_t i;
	const char *k;
	json_t *e;
	if (json_is_array(v))
		json_array_foreach (v, i, e)
			zero_sign(e, depth + 1);
	else if (json_is_object(v))
		json_object_foreach (v, k, e)
			zero_sign(e, depth + 1);
}

/* The longest secret value, so that a cut stream can drop what might be part of one. */
static size_t longest_secret(const pw_secrets *s)
{
	size_t m = 0;
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->values[i]) > m)
			m = strlen(s->values[i]);
	return m;
}

/* The program's stdout as the redacted result object, or NULL with o->why saying why not. */
static pw_status take_result(const pw_broker *b, const pw_exec_result *xr, observed *o)
{
	json_t *raw = NULL, *red = NULL;
	pw_json_limits lim = {xr->out_len, 64};
	char perr[256] = "";
	if (xr->out_truncated) {
		snprintf(o->why, sizeof o->why, "stdout was cut at its limit");
		return PW_OK;
	}
	pw_status st = pw_json_parse(xr->out, xr->out_len, &lim, &raw, perr, sizeof perr);
	if (st == PW_ERR_NOMEM)
		return st;
	if (st != PW_OK || !json_is_object(raw)) {
		if (xr->how == PW_EXEC_EXITED && xr->exit_status == 0)
			snprintf(o->why, sizeof o->why, "stdout is not one JSON object%s%s",
			         perr[0] ? ": " : "", perr);
		json_decref(raw);
		return PW_OK;
	}
	st = pw_redact_json(&b->secrets, raw, &red);
	json_decref(raw);
	if (st == PW_ERR_NOMEM)
		return st;
	if (st != PW_OK) {
		snprintf(o->why, sizeof o->why, "the result cannot be redacted (%s)",
		         pw_status_name(st));
		return PW_OK;
	}
	zero_sign(red, 0);
	char *jcs = NULL;
	size_t n = 0;
	st = pw_jcs_dump(red, 0, &jcs, &n);
	free(jcs);
	if (st == PW_ERR_NOMEM) {
		json_decref(red);
		return st;
	}
	if (st != PW_OK || n > RESULT_MAX) {
		snprintf(o->why, sizeof o->why,
		         "the result is over the %zu bytes that can be recorded", RESULT_MAX);
		json_decref(red);
		return PW_OK;
	}
	o->result = red;
	return PW_OK;
}

/* The action's effects as a sandbox for this run: paths resolved into owned strings. */
typedef struct sandbox_def {
	pw_effects e;
	pw_sandbox sb;
	char *read[PW_EFFECTS_MAX_PATHS];
	char *write[PW_EFFECTS_MAX_PATHS];
	size_t read_base[PW_EFFECTS_MAX_PATHS], write_base[PW_EFFECTS_MAX_PATHS];
	uint16_t ports[PW_EFFECTS_MAX_NET];
} sandbox_def;

static void sandbox_def_release(sandbox_def *d)
{
	for (size_t i = 0; i < PW_EFFECTS_MAX_PATHS; i++) {
		free(d->read[i]);
		free(d->write[i]);
	}
}

static pw_status sandbox_def_init(sandbox_def *d, const pw_action *a, const pw_template_ctx *ctx)
{
	memset(d, 0, sizeof *d);
	pw_action_effects(a, &d->e);
	for (size_t i = 0; i < d->e.n_read; i++)
		if ((d->read[i] = pw_template_path(d->e.read[i], ctx, &d->read_base[i])) == NULL)
			return PW_ERR_NOMEM;
	for (size_t i = 0; i < d->e.n_write; i++)
		if ((d->write[i] = pw_template_path(d->e.write[i], ctx, &d->write_base[i])) == NULL)
			return PW_ERR_NOMEM;
	for (size_t i = 0; i < d->e.n_net; i++)
		d->ports[i] = d->e.net[i].port;
	d->sb = (pw_sandbox){
	        .read = (const char *const *)d->read,
	        .n_read = d->e.n_read,
	        .write = (const char *const *)d->write,
	        .n_write = d->e.n_write,
	        .read_base = d->read_base,
	        .write_base = d->write_base,
	        .ports = d->ports,
	        .n_ports = d->e.n_net,
	        .net = d->e.n_net > 0,
	        .memory = d->e.memory,
	        .cpu_ms = d->e.cpu_ms,
	        .file_size = d->e.file_size,
	        .procs = d->e.procs,
	        .open_files = d->e.open_files,
	        .needs = pw_effects_needs(&d->e),
	        .downgrade = d->e.downgrade,
	};
	return PW_OK;
}

/* Run the allowed call's program; what happened goes to *o. Errors are pitwall's own. */
static pw_status execute(pw_broker *b, const pw_action *a, const json_t *input, observed *o)
{
	pw_template_ctx ctx = {input, b->info.run_id, b->info.run_dir, b->sf.dir};
	const json_t *run = json_object_get(a->def, "run");
	char **argv = NULL, **envp = NULL;
	char *program = pw_specfile_program_path(&b->sf, a);
	pw_exec_result xr;
	pw_status st;
	sandbox_def *sd = malloc(sizeof *sd); /* about 17 KiB: not on the stack */

	memset(o, 0, sizeof *o);
	memset(&xr, 0, sizeof xr);
	o->exit_status = -1;
	if (program == NULL || sd == NULL) {
		free(program);
		free(sd);
		return PW_ERR_NOMEM;
	}
	memset(sd, 0, sizeof *sd);
	if ((st = sandbox_def_init(sd, a, &ctx)) != PW_OK)
		goto out;
	st = pw_template_argv(run, program, &ctx, &argv, o->why, sizeof o->why);
	if (st == PW_OK)
		st = pw_template_envp(run, &ctx, b->have_secrets ? &b->secrets : NULL, &envp,
		                      o->why, sizeof o->why);
	if (st != PW_OK) {
		/* a missing secret, a value that cannot be an argument: it never starts */
		o->how = PW_HOW_SPAWN_FAILED;
		st = st == PW_ERR_NOMEM ? st : PW_OK;
		goto out;
	}
	int64_t max_output = pw_event_int(run, "max_output");
	pw_exec_spec xs = {
	        .program = program,
	        .sha256 = a->sha256,
	        .argv = argv,
	        .envp = envp,
	        .cwd = b->info.run_dir,
	        .timeout_ms = (uint64_t)pw_spec_duration_ms(json_object_get(run, "timeout"), 60000),
	        .max_output = max_output > 0 ? (size_t)max_output : PW_EXEC_MAX_OUTPUT_DEFAULT,
	        .cancel = b->cancel,
	        .sandbox = &sd->sb,
	};
	st = b->exec(&xs, &xr);
	if (st != PW_OK)
		goto out;
	snprintf(o->why, sizeof o->why, "%s", xr.message);
	o->sandbox = xr.sandbox;
	switch (xr.how) {
	case PW_EXEC_EXITED: o->how = PW_HOW_EXITED; break;
	case PW_EXEC_SIGNALED: o->how = PW_HOW_SIGNALED; break;
	case PW_EXEC_TIMEOUT: o->how = PW_HOW_TIMEOUT; break;
	case PW_EXEC_CODE_MISMATCH: o->how = PW_HOW_CODE_MISMATCH; break;
	case PW_EXEC_SPAWN_FAILED:
	default: o->how = PW_HOW_SPAWN_FAILED; break;
	}
	o->exit_status = xr.how == PW_EXEC_EXITED ? xr.exit_status : -1;
	o->signal = xr.signal;
	o->duration_ms = xr.duration_ms;
	o->stdout_bytes = xr.out_len;
	o->stdout_truncated = xr.out_truncated;
	if (xr.out_len > 0 && (st = take_result(b, &xr, o)) != PW_OK)
		goto out;
	if (xr.err_len > 0) {
		/* a cut stream may end inside a secret: drop what could be its start */
		size_t keep = xr.err_len, cut = longest_secret(&b->secrets);
		if (xr.err_truncated && cut > 0)
			keep = keep > cut ? keep - cut : 0;
		char *red = NULL;
		size_t redlen = 0;
		st = pw_redact_text(&b->secrets, xr.err, keep, &red, &redlen);
		if (st != PW_OK)
			goto out;
		o->stderr_tail = stderr_tail(red, redlen);
		free(red);
		if (o->stderr_tail == NULL)
			st = PW_ERR_NOMEM;
	}
out:
	if (st != PW_OK)
		observed_release(o);
	pw_exec_result_release(&xr);
	pw_strv_free(argv);
	pw_strv_free(envp);
	free(program);
	sandbox_def_release(sd);
	free(sd);
	return st;
}

/* The record of attempt of an execution, as the result event writes it. */
static pw_exec_record record_of(const observed *o, unsigned attempt)
{
	return (pw_exec_record){o->how,
	                        o->exit_status,
	                        o->signal,
	                        o->result,
	                        o->stderr_tail,
	                        o->duration_ms,
	                        o->stdout_bytes,
	                        o->stdout_truncated,
	                        o->why,
	                        attempt,
	                        o->sandbox.applied,
	                        o->sandbox.landlock_abi,
	                        o->sandbox.enforced,
	                        o->sandbox.missing};
}

/*
 * Inside a transaction: append ev, then each event of after (an array,
 * may be NULL), all at time now. *stored gets the first.
 */
static pw_status append_all(pw_broker *b, json_t *ev, const json_t *after, int64_t now,
                            json_t **stored, char *err, size_t errlen)
{
	if (stored != NULL)
		*stored = NULL;
	bool nomem = b->appended == NULL && (b->appended = json_array()) == NULL;
	pw_status st = nomem ? PW_ERR_NOMEM : PW_OK;
	for (size_t i = 0; st == PW_OK && i <= json_array_size(after); i++) {
		json_t *sealed = NULL;
		st = pw_ledger_append(b->L, b->info.run_id,
		                      i == 0 ? ev : json_array_get(after, i - 1), now, &sealed);
		if (st == PW_OK && i == 0 && stored != NULL)
			*stored = json_incref(sealed);
		if (st == PW_OK && json_array_append_new(b->appended, sealed) != 0) {
			st = PW_ERR_NOMEM;
			nomem = true;
		}
	}
	if (st != PW_OK)
		set_err(err, errlen, "cannot write the log: %s",
		        nomem ? "out of memory" : pw_ledger_errmsg(b->L));
	return st;
}

/* End the write transaction, keeping nothing it appended. */
static void rollback_txn(pw_broker *b)
{
	pw_ledger_rollback(b->L);
	json_decref(b->appended);
	b->appended = NULL;
}

/*
 * After a commit: fold what the transaction appended from the sealed events
 * themselves, not by reading them back. They are what the ledger stored
 * (pw_ledger_append() parses them from the stored bytes and checks them as
 * a read would), and they follow the state folded inside the transaction
 * with nothing between, since it held the write lock from that sync to the
 * commit. pw_run_fold() checks each one's seq all the same.
 */
static pw_status fold_appended(pw_broker *b, char *err, size_t errlen)
{
	json_t *evs = b->appended, *ev;
	b->appended = NULL;
	pw_status st = PW_OK;
	size_t i;
	json_array_foreach (evs, i, ev) {
		if ((st = pw_run_fold(&b->run, ev, err, errlen)) != PW_OK)
			break;
	}
	json_decref(evs);
	return st;
}

/*
 * Open the write transaction and fold what others appended since the last
 * sync: the run state is then the one every decision inside it sees. On
 * failure nothing is open and err says why.
 */
static pw_status begin_synced(pw_broker *b, char *err, size_t errlen)
{
	pw_status st = pw_ledger_begin(b->L);
	if (st != PW_OK) {
		set_err(err, errlen, "cannot write the log: %s", pw_ledger_errmsg(b->L));
		return st;
	}
	if ((st = sync_run(b, err, errlen)) != PW_OK)
		rollback_txn(b);
	return st;
}

/*
 * Append an event in its own transaction, after folding what others
 * appended: ev, or for a result (a != NULL) the event pw_record_result()
 * builds inside the transaction.
 */
static pw_status append(pw_broker *b, json_t *ev, const pw_action *a, const json_t *input,
                        const char *call_id, const observed *o, unsigned attempt, pw_outcome *oc,
                        json_t **stored, char *err, size_t errlen)
{
	json_t *built = NULL, *after = NULL;
	pw_status st = begin_synced(b, err, errlen);
	if (st != PW_OK)
		return st;
	int64_t now = now_ms();
	if (st == PW_OK && a != NULL) {
		pw_exec_record rec = record_of(o, attempt);
		/* the outcome is computed against the run as folded now and at now, which is
		   also the event's time: a capability's ttl counts from the recorded time */
		ev = built =
		        pw_record_result(b->sf.spec, a, &b->run, input, call_id, &rec, now, oc);
		if (ev != NULL)
			after = pw_record_after_result(oc, call_id, a->name, b->run.n_events);
		if (ev == NULL || after == NULL) {
			if (ev != NULL)
				pw_outcome_release(oc);
			st = PW_ERR_NOMEM;
			set_err(err, errlen, "cannot build the result event");
		}
	}
	if (st == PW_OK)
		st = append_all(b, ev, after, now, stored, err, errlen);
	if (st == PW_OK) {
		st = pw_ledger_commit(b->L);
		if (st != PW_OK)
			set_err(err, errlen, "cannot commit to the log: %s",
			        pw_ledger_errmsg(b->L));
	}
	json_decref(built);
	json_decref(after);
	if (st != PW_OK) {
		if (a != NULL && after != NULL)
			pw_outcome_release(oc);
		rollback_txn(b);
		if (stored && *stored) {
			json_decref(*stored);
			*stored = NULL;
		}
		return st;
	}
	return fold_appended(b, err, errlen);
}

/* Whether another run of the ledger (or this one) has locked agent out. */
static int found_lockout(void *arg, const char *run_id, uint64_t seq, const char *reason)
{
	(void)run_id;
	(void)seq;
	(void)reason;
	*(bool *)arg = true;
	return 1;
}

/* Sleep ms, waking early when the call is cancelled. */
static void backoff_sleep(const pw_broker *b, int64_t ms)
{
	while (ms > 0 && !(b->cancel && *b->cancel)) {
		int64_t step = ms < 50 ? ms : 50;
		struct timespec ts = {0, (long)step * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

/* The reply for a call to a frozen run, which records nothing. */
static json_t *frozen_reply(const pw_broker *b, const char *action)
{
	char msg[300];
	snprintf(msg, sizeof msg,
	         "run %s is frozen after a policy violation (%s at event %llu): nothing more is "
	         "recorded or run",
	         b->info.run_id, b->run.halt_reason ? b->run.halt_reason : "?",
	         (unsigned long long)b->run.halt_seq);
	return json_pack("{ss ss* ss ss ss ss sb sb}", "run_id", b->info.run_id, "action", action,
	                 "verdict", "reject", "reason", "RUN_FROZEN", "check", "run", "message",
	                 msg, "halted", true, "frozen", true);
}

/*
 * One attempt of a call, from the decision to the result: the call event
 * (and what must follow it) in one transaction, then for allow the
 * program, then its result (and what must follow it) in another. *oc is
 * set (release it) when a result was recorded; *frozen when the run was
 * frozen and nothing was recorded.
 */
typedef struct attempt_ctx {
	const char *action;
	json_t *in; /* borrowed */
	const char *parse_err;
	const char *hex_or_null;
	bool busy;
	unsigned attempt;
	const char *retry_of;
	/* out */
	char call_id[32];
	json_t *stored_call, *stored_result;
	pw_outcome oc;
	bool have_oc, frozen;
} attempt_ctx;

static pw_status one_attempt(pw_broker *b, const pw_action *a, attempt_ctx *x, char *err,
                             size_t errlen)
{
	pw_decision d;
	json_t *call_ev = NULL, *after = NULL;
	memset(&d, 0, sizeof d);
	pw_status st = begin_synced(b, err, errlen);
	if (st != PW_OK)
		return st;
	if (b->run.frozen) {
		x->frozen = true;
		rollback_txn(b);
		return PW_OK;
	}
	pw_call c = {
	        .action = x->action,
	        .input = x->in,
	        .input_error = x->parse_err,
	        .agent = b->agent,
	        .spec_id = b->sf.spec ? b->sf.spec->workflow_id : NULL,
	        .spec_error = b->spec_error,
	        .spec_unreadable = b->spec_unreadable,
	        .program_sha256 = x->hex_or_null,
	        .busy = x->busy,
	        .attempt = x->attempt,
	        .retry_of = x->retry_of,
	};
	st = pw_ledger_lockouts(b->L, b->agent, found_lockout, &c.locked_out);
	if (st != PW_OK) {
		set_err(err, errlen, "cannot read the lockouts: %s", pw_ledger_errmsg(b->L));
		goto rollback;
	}
	/* decide */
	c.now_ms = now_ms();
	st = pw_decide(b->sf.spec, &b->run, &c, &d);
	if (st != PW_OK) {
		set_err(err, errlen, "cannot decide: %s", pw_status_name(st));
		goto rollback;
	}
	/* write-ahead: the call event, and the halt and lockout it may bring */
	uint64_t seq = b->run.n_events;
	snprintf(x->call_id, sizeof x->call_id, "c%llu", (unsigned long long)seq);
	call_ev = pw_record_call(b->run.state, &c, &d, x->call_id);
	after = call_ev ? pw_record_after_call(&d, b->agent, seq) : NULL;
	if (after == NULL) {
		st = PW_ERR_NOMEM;
		goto rollback;
	}
	st = append_all(b, call_ev, after, c.now_ms, &x->stored_call, err, errlen);
	if (st == PW_OK && (st = pw_ledger_commit(b->L)) != PW_OK)
		set_err(err, errlen, "cannot commit to the log: %s", pw_ledger_errmsg(b->L));
	if (st != PW_OK) {
		add_err(err, errlen, "; the call does not run");
		if (x->attempt > 1) /* the attempt before ran, and its result is recorded */
			add_err(err, errlen,
			        " again (attempt %u); its attempt %u ran and its result is in the "
			        "log",
			        x->attempt, x->attempt - 1);
		goto rollback;
	}
	json_decref(call_ev);
	json_decref(after);
	call_ev = after = NULL;
	st = fold_appended(b, err, errlen);
	if (st != PW_OK && d.verdict == PW_VERDICT_ALLOW)
		add_err(err, errlen,
		        "; call %s is in the log and did not run: it is in doubt until an owner "
		        "resolves it (pitwall resolve)",
		        x->call_id);
	if (st != PW_OK || d.verdict != PW_VERDICT_ALLOW)
		goto out;

	/* run it */
	observed o;
	st = execute(b, a, x->in, &o);
	if (st != PW_OK) {
		set_err(err, errlen, "call %s could not run: %s; it stays in doubt", x->call_id,
		        pw_status_name(st));
		goto out;
	}
	st = append(b, NULL, a, x->in, x->call_id, &o, x->attempt, &x->oc, &x->stored_result, err,
	            errlen);
	if (st != PW_OK && x->stored_result == NULL) /* not committed (else: not folded) */
		add_err(err, errlen,
		        "; call %s ran and its result is not in the log: it is in doubt until an "
		        "owner resolves it (pitwall resolve)",
		        x->call_id);
	observed_release(&o);
	x->have_oc = x->stored_result != NULL; /* built and recorded, even if not folded */
	goto out; /* on failure it ran and the log does not know: the call stays in doubt */
rollback:
	rollback_txn(b);
out:
	json_decref(call_ev);
	json_decref(after);
	pw_decision_release(&d);
	return st;
}

pw_status pw_broker_call(pw_broker *b, const char *action, const char *input, size_t len,
                         json_t **reply, char *err, size_t errlen)
{
	char parse_err[256] = "", hex[65], root[32] = "";
	json_t *in = NULL;
	bool locked = false;
	pw_status st;

	*reply = NULL;
	/* 1 parse */
	if (len > PW_CALL_INPUT_MAX)
		snprintf(parse_err, sizeof parse_err, "input of %zu bytes is over the limit of %zu",
		         len, PW_CALL_INPUT_MAX);
	else if (pw_json_parse(input, len, NULL, &in, parse_err, sizeof parse_err) != PW_OK &&
	         parse_err[0] == '\0')
		snprintf(parse_err, sizeof parse_err, "unreadable");
	if (in != NULL && !json_is_object(in)) {
		snprintf(parse_err, sizeof parse_err, "the input is not a JSON object");
		json_decref(in);
		in = NULL;
	}
	zero_sign(in, 0);
	bool name_ok = action != NULL && action[0] != '\0' &&
	               strlen(action) <= PW_ACTION_NAME_MAX &&
	               pw_utf8_valid(action, strlen(action));

	/* 2 the spec as it is now, 3 the program's hash */
	load_spec(b);
	const pw_action *a = b->sf.spec && name_ok ? pw_spec_action(b->sf.spec, action) : NULL;
	attempt_ctx x = {
	        .action = name_ok ? action : NULL,
	        .in = in,
	        .parse_err = parse_err,
	        .hex_or_null = a ? program_hash(b, a, hex) : NULL,
	        .attempt = 1,
	};

	/* The kernel probe (once a process) starts a child that shares this process's fds for
	   as long as making its namespaces takes: done here, before the lock, so that a broker
	   killed meanwhile does not leave a call looking in progress while that child lives. */
	if (a != NULL)
		(void)pw_sandbox_kernel_probe();

	/* 4 the run's call lock, held through every retry */
	st = pw_ledger_lock_run(b->L, b->info.id, b->lock_wait_ms);
	if (st == PW_OK)
		locked = true;
	else if (st == PW_ERR_LIMIT)
		x.busy = true;
	else {
		set_err(err, errlen, "cannot take the run's call lock: %s", pw_ledger_errmsg(b->L));
		goto out;
	}
	for (;;) {
		/* 5-7 decide, write ahead, run, record */
		st = one_attempt(b, a, &x, err, errlen);
		if (st != PW_OK || x.frozen)
			break;
		bool again = x.have_oc && x.oc.retry && !(b->cancel && *b->cancel);
		int64_t wait = x.have_oc ? x.oc.retry_in_ms : 0;
		if (!again)
			break;
		/* a correctable failure with retries left: the same call again, decided afresh */
		if (x.attempt == 1)
			snprintf(root, sizeof root, "%s", x.call_id);
		backoff_sleep(b, wait);
		if (b->cancel && *b->cancel)
			break; /* interrupted while waiting: the last attempt's result stands */
		pw_outcome_release(&x.oc);
		x.have_oc = false;
		json_decref(x.stored_call);
		json_decref(x.stored_result);
		x.stored_call = x.stored_result = NULL;
		x.attempt++;
		x.retry_of = root;
		/* the program is hashed again for each attempt */
		load_spec(b);
		a = b->sf.spec && name_ok ? pw_spec_action(b->sf.spec, action) : NULL;
		x.hex_or_null = a ? program_hash(b, a, hex) : NULL;
	}
	if (st == PW_OK && x.frozen)
		*reply = frozen_reply(b, x.action);
	else if (st == PW_OK || (st != PW_OK && x.stored_result != NULL))
		*reply = reply_of(b, x.stored_call, x.stored_result);
	if (*reply != NULL && x.attempt > 1)
		(void)json_object_set_new(*reply, "attempts", json_integer(x.attempt));
	if (st == PW_OK && *reply == NULL)
		st = PW_ERR_NOMEM;
out:
	if (locked)
		pw_ledger_unlock_run(b->L, b->info.id);
	if (x.have_oc)
		pw_outcome_release(&x.oc);
	json_decref(in);
	json_decref(x.stored_call);
	json_decref(x.stored_result);
	return st;
}

/* ---- resolve and status ---------------------------------------------------- */

static pw_status refuse(char *err, size_t errlen, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static bool text_ok(const char *t);
static bool declared_owner(const pw_broker *b, const char *owner);

pw_status pw_broker_resolve(pw_broker *b, const char *call_id, bool ok, const char *owner,
                            const char *os_user, const char *note, json_t **reply, char *err,
                            size_t errlen)
{
	json_t *ev = NULL, *stored = NULL;
	pw_status st;
	*reply = NULL;
	load_spec(b);
	if (b->sf.spec == NULL || strcmp(b->sf.spec->workflow_id, b->run.workflow_id) != 0) {
		set_err(err, errlen, "the workflow spec %s is not the one run %s pinned (%s)",
		        b->info.spec_path, b->info.run_id,
		        b->sf.spec ? b->sf.spec->workflow_id : b->spec_error);
		return PW_ERR_PERM;
	}
	if (!declared_owner(b, owner))
		return refuse(err, errlen, "NOT_OWNER",
		              "\"%s\" is not an owner declared by workflow %s", owner ? owner : "",
		              b->run.workflow);
	if (!text_ok(note)) {
		set_err(err, errlen, "the note must be at most 1000 bytes of UTF-8 on one line");
		return PW_ERR_INVALID;
	}
	st = pw_ledger_lock_run(b->L, b->info.id, 0);
	if (st != PW_OK) {
		set_err(err, errlen,
		        "a call of run %s is in progress; resolve only a call in doubt",
		        b->info.run_id);
		return st == PW_ERR_LIMIT ? PW_ERR_PERM : st;
	}
	st = sync_run(b, err, errlen);
	if (st != PW_OK)
		goto out;
	const pw_open_call *oc = pw_run_open_call(&b->run, call_id);
	if (oc == NULL) {
		set_err(err, errlen, "run %s has no call \"%s\" in doubt", b->info.run_id, call_id);
		st = PW_ERR_NOTFOUND;
		goto out;
	}
	ev = pw_record_resolve(b->sf.spec, &b->run, oc, ok, owner, os_user, note);
	if (ev == NULL) {
		st = PW_ERR_NOMEM;
		goto out;
	}
	st = append(b, ev, NULL, NULL, NULL, NULL, 0, NULL, &stored, err, errlen);
	if (st == PW_OK) {
		*reply = json_pack("{ss ss ss ss ss}", "run_id", b->info.run_id, "call_id", call_id,
		                   "outcome", ok ? "ok" : "failed", "by", owner, "state",
		                   b->run.state);
		if (*reply == NULL)
			st = PW_ERR_NOMEM;
	}
out:
	pw_ledger_unlock_run(b->L, b->info.id);
	json_decref(ev);
	json_decref(stored);
	return st;
}

/* ---- owners' decisions: approve, deny, resume, unlock ---------------------- */

/* A refusal: PW_ERR_PERM with err "CODE: why". */
static pw_status refuse(char *err, size_t errlen, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static pw_status refuse(char *err, size_t errlen, const char *code, const char *fmt, ...)
{
	int n = snprintf(err, errlen, "%s: ", code);
	va_list ap;
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return PW_ERR_PERM;
}

/* A note or reason: at most 1000 bytes of UTF-8, without control characters. */
static bool text_ok(const char *t)
{
	if (t == NULL)
		return true;
	size_t n = strlen(t);
	if (n > 1000 || !pw_utf8_valid(t, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
			return false;
	return true;
}

/* Inside the transaction: append ev (stolen) and commit, then fold it; *reply = the event. */
static pw_status commit_one(pw_broker *b, json_t *ev, json_t **reply, char *err, size_t errlen)
{
	json_t *stored = NULL;
	pw_status st = ev ? append_all(b, ev, NULL, now_ms(), &stored, err, errlen) : PW_ERR_NOMEM;
	json_decref(ev);
	if (st == PW_OK && (st = pw_ledger_commit(b->L)) != PW_OK)
		set_err(err, errlen, "cannot commit to the log: %s", pw_ledger_errmsg(b->L));
	if (st != PW_OK) {
		rollback_txn(b);
		json_decref(stored);
		return st;
	}
	*reply = stored;
	return fold_appended(b, err, errlen);
}

pw_status pw_broker_decide(pw_broker *b, const char *approval_id, bool approve, const char *owner,
                           const char *os_user, const char *text, json_t **reply, char *err,
                           size_t errlen)
{
	*reply = NULL;
	if (!text_ok(text) || (!approve && (text == NULL || text[0] == '\0'))) {
		set_err(err, errlen, "the %s must be 1 to 1000 bytes of UTF-8 on one line",
		        approve ? "note" : "reason");
		return PW_ERR_INVALID;
	}
	pw_status st = begin_synced(b, err, errlen);
	if (st != PW_OK)
		return st;
	const pw_pending *p = pw_run_pending(&b->run, approval_id);
	int64_t now = now_ms();
	if (p == NULL) {
		set_err(err, errlen, "run %s has no approval request \"%.80s\" waiting",
		        b->info.run_id, approval_id);
		st = PW_ERR_NOTFOUND;
	} else if (strcmp(p->owner, owner) != 0)
		st = refuse(err, errlen, "NOT_OWNER", "approval %s is for owner %s, not %s",
		            approval_id, p->owner, owner);
	else if (b->run.frozen && approve)
		st = refuse(err, errlen, "RUN_FROZEN", "run %s is frozen; an approval cannot apply",
		            b->info.run_id);
	else if (approve && p->approved)
		st = refuse(err, errlen, "APPROVAL_DECIDED",
		            "approval %s was approved already by %s", approval_id, p->by);
	else if (approve && p->expires_ms <= now)
		st = refuse(err, errlen, "APPROVAL_EXPIRED",
		            "approval %s expired %lld s ago; the agent must ask again", approval_id,
		            (long long)((now - p->expires_ms) / 1000));
	if (st != PW_OK)
		goto rollback;
	json_t *ev = approve ? pw_record_approve(p, owner, os_user, text)
	                     : pw_record_deny(p, owner, os_user, text);
	return commit_one(b, ev, reply, err, errlen);
rollback:
	rollback_txn(b);
	return st;
}

/* The spec as loaded now, if it is the run's; else a refusal. */
static pw_status pinned_spec(pw_broker *b, char *err, size_t errlen)
{
	load_spec(b);
	if (b->sf.spec == NULL || strcmp(b->sf.spec->workflow_id, b->run.workflow_id) != 0) {
		set_err(err, errlen, "the workflow spec %s is not the one run %s pinned (%s)",
		        b->info.spec_path, b->info.run_id,
		        b->sf.spec ? b->sf.spec->workflow_id : b->spec_error);
		return PW_ERR_PERM;
	}
	return PW_OK;
}

static bool declared_owner(const pw_broker *b, const char *owner)
{
	return owner != NULL &&
	       json_object_get(json_object_get(b->sf.spec->model, "owners"), owner) != NULL;
}

pw_status pw_broker_resume(pw_broker *b, const char *owner, const char *os_user, const char *note,
                           json_t **reply, char *err, size_t errlen)
{
	*reply = NULL;
	if (!text_ok(note)) {
		set_err(err, errlen, "the note must be at most 1000 bytes of UTF-8 on one line");
		return PW_ERR_INVALID;
	}
	PW_TRY(pinned_spec(b, err, errlen));
	if (!declared_owner(b, owner))
		return refuse(err, errlen, "NOT_OWNER",
		              "\"%s\" is not an owner declared by workflow %s", owner ? owner : "",
		              b->run.workflow);
	pw_status st = begin_synced(b, err, errlen);
	if (st != PW_OK)
		return st;
	if (b->run.frozen)
		st = refuse(
		        err, errlen, "RUN_FROZEN",
		        "run %s is frozen after a policy violation (%s): it cannot resume; keep "
		        "it as evidence and start a new run",
		        b->info.run_id, b->run.halt_reason ? b->run.halt_reason : "?");
	else if (!b->run.halted)
		st = refuse(err, errlen, "NOT_HALTED", "run %s is not halted", b->info.run_id);
	if (st != PW_OK)
		goto rollback;
	return commit_one(b, pw_record_resume(&b->run, owner, os_user, note), reply, err, errlen);
rollback:
	rollback_txn(b);
	return st;
}

typedef struct lockout_list {
	json_t *list; /* [{run_id, seq, reason}] */
	pw_status st;
} lockout_list;

static int collect_lockout(void *arg, const char *run_id, uint64_t seq, const char *reason)
{
	lockout_list *l = arg;
	if (json_array_append_new(l->list, json_pack("{sssIss}", "run_id", run_id, "seq",
	                                             (json_int_t)seq, "reason", reason)) != 0) {
		l->st = PW_ERR_NOMEM;
		return 1;
	}
	return 0;
}

pw_status pw_broker_unlock(const char *db_path, const char *agent, const char *owner,
                           const char *os_user, const char *note, json_t **reply, char *err,
                           size_t errlen)
{
	pw_ledger *L = NULL;
	lockout_list l = {json_array(), PW_OK};
	*reply = NULL;
	if (!pw_id_valid(agent)) {
		set_err(err, errlen, "invalid agent name");
		json_decref(l.list);
		return PW_ERR_INVALID;
	}
	if (!text_ok(note)) {
		set_err(err, errlen, "the note must be at most 1000 bytes of UTF-8 on one line");
		json_decref(l.list);
		return PW_ERR_INVALID;
	}
	pw_status st = l.list ? pw_ledger_open(db_path, false, &L, err, errlen) : PW_ERR_NOMEM;
	if (st == PW_OK && (st = pw_ledger_begin(L)) == PW_OK) {
		st = pw_ledger_lockouts(L, agent, collect_lockout, &l);
		if (st == PW_OK)
			st = l.st;
		size_t i;
		json_t *e;
		json_array_foreach (l.list, i, e) {
			if (st != PW_OK)
				break;
			pw_lockout lo = {(char *)agent,
			                 (char *)json_string_value(json_object_get(e, "reason")),
			                 (uint64_t)json_integer_value(json_object_get(e, "seq"))};
			json_t *ev = pw_record_unlock(&lo, owner, os_user, note);
			st = ev ? pw_ledger_append(L,
			                           json_string_value(json_object_get(e, "run_id")),
			                           ev, now_ms(), NULL)
			        : PW_ERR_NOMEM;
			json_decref(ev);
		}
		if (st == PW_OK && json_array_size(l.list) == 0) {
			set_err(err, errlen, "agent %s is not locked out", agent);
			st = PW_ERR_NOTFOUND;
		} else if (st == PW_OK)
			st = pw_ledger_commit(L);
		else
			set_err(err, errlen, "cannot write the log: %s", pw_ledger_errmsg(L));
		if (st != PW_OK)
			pw_ledger_rollback(L);
	}
	if (st == PW_OK) {
		*reply = json_pack("{ss ss sO}", "agent", agent, "by", owner, "unlocked", l.list);
		if (*reply == NULL)
			st = PW_ERR_NOMEM;
	}
	json_decref(l.list);
	pw_ledger_close(L);
	return st;
}

/* Counters as JSON (of one action when action is not NULL): calls, verdicts, outcomes, tiers. */
static json_t *counts_json(const pw_run_counts *c, const char *action)
{
	json_t *tiers = json_object();
	for (int t = PW_TIER_CORRECTABLE; tiers && t <= PW_TIER_POLICY; t++)
		if (json_object_set_new(tiers, pw_tier_name((pw_tier)t),
		                        json_integer((json_int_t)c->tier[t])) != 0) {
			json_decref(tiers);
			tiers = NULL;
		}
	json_t *o =
	        json_pack("{sIsIsIsIsIsIsIsIsIsIso}", "calls", (json_int_t)c->calls, "allowed",
	                  (json_int_t)c->allowed, "approval", (json_int_t)c->approval, "blocked",
	                  (json_int_t)c->blocked, "rejected", (json_int_t)c->rejected, "ok",
	                  (json_int_t)c->ok, "failed", (json_int_t)c->failed, "resolved",
	                  (json_int_t)c->resolved, "retries", (json_int_t)c->retries, "escalations",
	                  (json_int_t)c->escalations, "tiers", tiers);
	if (o != NULL && action == NULL &&
	    json_object_update_new(
	            o, json_pack("{sIsIsIsIsIsI}", "halts", (json_int_t)c->halts, "resumes",
	                         (json_int_t)c->resumes, "lockouts", (json_int_t)c->lockouts,
	                         "unlocks", (json_int_t)c->unlocks, "approved",
	                         (json_int_t)c->approved, "denied", (json_int_t)c->denied)) != 0) {
		json_decref(o);
		return NULL;
	}
	if (o != NULL && action != NULL &&
	    json_object_set_new(o, "action", json_string(action)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

pw_status pw_broker_status(pw_broker *b, json_t **out, char *err, size_t errlen)
{
	*out = NULL;
	pw_status st = sync_run(b, err, errlen);
	if (st != PW_OK)
		return st;
	/* is an open call in progress (someone holds the lock) or in doubt? */
	bool busy = false;
	if (b->run.n_open > 0) {
		st = pw_ledger_lock_run(b->L, b->info.id, 0);
		busy = st == PW_ERR_LIMIT;
		if (st == PW_OK)
			pw_ledger_unlock_run(b->L, b->info.id);
		else if (st != PW_ERR_LIMIT)
			return st;
		/* an event may have landed between the read and the lock */
		st = sync_run(b, err, errlen);
		if (st != PW_OK)
			return st;
	}
	const pw_run *r = &b->run;
	int64_t now = now_ms();
	json_t *caps = json_array(), *open = json_array(), *pending = json_array();
	json_t *o = json_object();
	if (!caps || !open || !pending || !o)
		goto nomem;
	char buf[1200];
	for (size_t i = 0; i < r->n_caps; i++) {
		const pw_cap *c = &r->caps[i];
		pw_cap_format(c->type, c->value, buf, sizeof buf);
		json_t *e = json_pack("{sssOsIsb}", "cap", buf, "value", c->value, "seq",
		                      (json_int_t)c->seq, "expired",
		                      c->expires_ms != 0 && c->expires_ms <= now);
		if (e == NULL ||
		    (c->expires_ms &&
		     json_object_set_new(e, "expires_ms", json_integer(c->expires_ms))) ||
		    json_array_append_new(caps, e))
			goto nomem;
	}
	for (size_t i = 0; i < r->n_open; i++) {
		json_t *e = json_pack("{sssssssIss}", "call_id", r->open[i].call_id, "action",
		                      r->open[i].action, "agent", r->open[i].agent, "seq",
		                      (json_int_t)r->open[i].seq, "status",
		                      busy ? "in_progress" : "in_doubt");
		if (e == NULL || json_array_append_new(open, e))
			goto nomem;
	}
	for (size_t i = 0; i < r->n_pending; i++) {
		const pw_pending *p = &r->pending[i];
		json_t *e = json_pack("{ss ss ss ss ss sI sb ss ss sb ss* sO*}", "approval_id",
		                      p->approval_id, "call_id", p->call_id, "action", p->action,
		                      "owner", p->owner, "reason", p->reason, "expires_ms",
		                      (json_int_t)p->expires_ms, "expired", p->expires_ms <= now,
		                      "agent", p->agent, "call_sha256", p->call_sha256, "approved",
		                      p->approved, "approved_by", p->by, "input", p->input);
		if (e == NULL || json_array_append_new(pending, e))
			goto nomem;
	}
	bool terminal = false;
	load_spec(b);
	if (b->sf.spec != NULL) {
		size_t i;
		const json_t *t;
		json_array_foreach (json_object_get(b->sf.spec->model, "terminal"), i, t)
			terminal = terminal || strcmp(json_string_value(t), r->state) == 0;
	}
	json_t *counts = counts_json(&r->counts, NULL);
	json_t *actions = json_array(), *lockouts = json_array();
	for (size_t i = 0; counts && actions && i < r->n_stats; i++) {
		const pw_action_stats *as = &r->stats[i];
		pw_run_counts c = {.calls = as->calls,
		                   .allowed = as->allowed,
		                   .approval = as->approval,
		                   .blocked = as->blocked,
		                   .rejected = as->rejected,
		                   .ok = as->ok,
		                   .failed = as->failed,
		                   .retries = as->retries,
		                   .escalations = as->escalations};
		memcpy(c.tier, as->tier, sizeof c.tier);
		if (json_array_append_new(actions, counts_json(&c, as->action)) != 0)
			goto nomem;
	}
	for (size_t i = 0; lockouts && i < r->n_lockouts; i++)
		if (json_array_append_new(lockouts,
		                          json_pack("{sssssI}", "agent", r->lockouts[i].agent,
		                                    "reason", r->lockouts[i].reason, "seq",
		                                    (json_int_t)r->lockouts[i].seq)) != 0)
			goto nomem;
	if (counts == NULL || actions == NULL || lockouts == NULL ||
	    json_object_set_new(o, "frozen", json_boolean(r->frozen)) ||
	    json_object_set_new(o, "actions", actions) ||
	    json_object_set_new(o, "lockouts", lockouts)) {
		json_decref(counts);
		json_decref(actions);
		json_decref(lockouts);
		goto nomem;
	}
	if (json_object_set_new(o, "run_id", json_string(r->run_id)) ||
	    json_object_set_new(o, "workflow", json_string(r->workflow)) ||
	    json_object_set_new(o, "workflow_id", json_string(r->workflow_id)) ||
	    json_object_set_new(o, "spec", json_string(b->info.spec_path)) ||
	    json_object_set_new(o, "spec_matches",
	                        json_boolean(b->sf.spec != NULL && strcmp(b->sf.spec->workflow_id,
	                                                                  r->workflow_id) == 0)) ||
	    json_object_set_new(o, "run_dir", json_string(b->info.run_dir)) ||
	    json_object_set_new(o, "state", json_string(r->state)) ||
	    json_object_set_new(o, "terminal", json_boolean(terminal)) ||
	    json_object_set_new(o, "halted", json_boolean(r->halted)) ||
	    put(o, "halt_reason", opt_str(r->halt_reason)) ||
	    json_object_set_new(o, "caps", caps) || json_object_set_new(o, "open_calls", open) ||
	    json_object_set_new(o, "pending_approvals", pending) ||
	    json_object_set_new(o, "counts", counts) ||
	    json_object_set_new(o, "events", json_integer((json_int_t)r->n_events)) ||
	    json_object_set_new(o, "head", json_string(r->head))) {
		caps = open = pending = NULL;
		goto nomem;
	}
	*out = o;
	return PW_OK;
nomem:
	json_decref(caps);
	json_decref(open);
	json_decref(pending);
	json_decref(o);
	return PW_ERR_NOMEM;
}

/* ---- recent verdicts ------------------------------------------------------ */

typedef struct recent_ctx {
	json_t *list; /* {call_id, action, verdict, reason, check, outcome?} in log order */
	pw_status st;
} recent_ctx;

static int recent_one(void *arg, const json_t *ev)
{
	recent_ctx *c = arg;
	const char *kind = pw_event_str(ev, "kind"), *call_id = pw_event_str(ev, "call_id");
	if (kind == NULL || call_id == NULL ||
	    (strcmp(kind, "call") != 0 && strcmp(kind, "result") != 0 &&
	     strcmp(kind, "resolve") != 0))
		return 0; /* approve, deny and escalate name a call too: they are not outcomes */
	if (strcmp(kind, "call") == 0) {
		json_t *e =
		        json_pack("{ss so ss ss s:o*}", "call_id", call_id, "action",
		                  json_incref(json_object_get(ev, "action")), "verdict",
		                  pw_event_str(ev, "verdict"), "reason", pw_event_str(ev, "reason"),
		                  "check", json_incref(json_object_get(ev, "check")));
		if (e == NULL || json_array_append_new(c->list, e) != 0) {
			c->st = PW_ERR_NOMEM;
			return 1;
		}
		return 0;
	}
	/* a result or resolve: the outcome of its call, when the call is in the window */
	for (size_t i = json_array_size(c->list); i-- > 0;) {
		json_t *e = json_array_get(c->list, i);
		if (strcmp(json_string_value(json_object_get(e, "call_id")), call_id) != 0)
			continue;
		if (json_object_set(e, "outcome", json_object_get(ev, "outcome")) != 0)
			c->st = PW_ERR_NOMEM;
		break;
	}
	return c->st != PW_OK;
}

pw_status pw_broker_recent(pw_broker *b, size_t max, json_t **out, char *err, size_t errlen)
{
	*out = NULL;
	pw_status st = sync_run(b, err, errlen);
	if (st != PW_OK)
		return st;
	/* a call has at most one result or resolve, so 2 * max events hold the last max calls */
	uint64_t n = b->run.n_events, from = n > 2 * (uint64_t)max ? n - 2 * (uint64_t)max : 0;
	recent_ctx c = {json_array(), PW_OK};
	if (c.list == NULL)
		return PW_ERR_NOMEM;
	st = pw_ledger_read(b->L, b->info.run_id, from, recent_one, &c, err, errlen);
	if (st == PW_OK)
		st = c.st;
	while (st == PW_OK && json_array_size(c.list) > max)
		if (json_array_remove(c.list, 0) != 0)
			st = PW_ERR_INTERNAL;
	if (st != PW_OK) {
		json_decref(c.list);
		return st;
	}
	*out = c.list;
	return PW_OK;
}
