/*
 * gen_log.c: write a valid run of bench/workflow.yaml as an export (JSON
 * Lines, one canonical event a line) of exactly N events, for the verify
 * benchmark (bench/README.md).
 *
 *   gen_log [--seed S] [--run-id ID] [--calls] SPEC N >run.jsonl
 *
 * `pitwall call` starts a process per call, so a log of a million events
 * cannot be made through the CLI in reasonable time. This program plays
 * the broker instead. For every call it decides with the pure core
 * (pw_decide) against the state folded so far, builds the call event as
 * src/broker/broker.c does, plays the executor (the programs of
 * bench/bin/ are deterministic in their arguments, so the result here is
 * what they would print), builds the result event from pw_outcome_compute,
 * seals each event (pw_event_seal), writes its canonical form, and reads it
 * back and folds it (pw_run_fold) as the broker does after each append.
 * The clock advances as in a queue that routes a lead every few seconds.
 *
 * The calls: a lead routed (allowed, and about 1 in 97 fails with the
 * correctable exit status 75), blocked (score under 10), rejected (input
 * invalid, input malformed, a capability for another queue, a transition
 * from the wrong state, a precondition on the agent), and every 10,000
 * calls one approval; every 50,000 calls one call is left in doubt and
 * settled by a resolve event. A pending approval stays in the run's state
 * (nothing settles it yet), so approvals are kept rare.
 *
 * --calls writes, instead of the log, one line per call: the agent, the
 * action and the input text, tab-separated. bench/check_gen.sh makes the
 * same calls through the real broker and compares the two logs, so that
 * the copies of the broker's event builders below cannot drift unseen.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decide.h"
#include "core/effects.h"
#include "core/event.h"
#include "core/json.h"
#include "core/outcome.h"
#include "core/record.h"
#include "core/run.h"
#include "core/spec.h"
#include "exec/sandbox.h"

#define START_MS       INT64_C(1790000000000) /* 2026-09-21T14:13:20Z */
#define APPROVAL_EVERY 10000u                 /* calls */
#define IN_DOUBT_EVERY 50000u                 /* calls */

typedef struct gen {
	const pw_spec *spec; /* borrowed */
	pw_run run;          /* the state folded from the events written */
	char run_id[65];
	char prev[PW_HASH_STR_LEN + 1]; /* hash of the last event written */
	uint64_t seq;                   /* the next event's seq */
	uint64_t max;                   /* events to write */
	uint64_t calls;                 /* calls made */
	int64_t now;                    /* the clock, ms since the epoch */
	uint64_t rng;                   /* xorshift64* state */
	bool calls_only;                /* --calls */
} gen;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("gen_log: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static uint64_t rnd(gen *g, uint64_t n)
{
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return (g->rng * UINT64_C(2685821657736338717)) % n;
}

/* ---- what the broker writes ------------------------------------------------ */

/* What one execution left (pw_exec_record, owning its values). */
typedef struct observed {
	pw_how how;
	int exit_status, signal;
	json_t *result;      /* owned; the result object, or NULL */
	json_t *stderr_tail; /* owned; stderr, or NULL */
	uint64_t duration_ms;
	size_t stdout_bytes;
	bool stdout_truncated;
	char why[512]; /* what the executor said */
} observed;

/* The resolve event, as pw_broker_resolve() writes it. */
static json_t *resolve_event(const gen *g, const char *call_id, bool ok, const char *owner,
                             const char *note)
{
	const pw_open_call *oc = pw_run_open_call(&g->run, call_id);
	if (oc == NULL)
		die("resolve: call %s is not open", call_id);
	return pw_record_resolve(g->spec, &g->run, oc, ok, owner, NULL, note);
}

/*
 * Seal ev (a reference stolen) as the next event at time_ms, write its
 * canonical bytes, and fold what reads back from them, as the ledger and
 * the broker do. Past the last event, ev is dropped.
 */
static void append(gen *g, json_t *ev, int64_t time_ms)
{
	if (ev == NULL)
		die("cannot build event %" PRIu64 ": out of memory", g->seq);
	if (g->seq >= g->max) {
		json_decref(ev);
		return;
	}
	char *body = NULL, err[256];
	size_t len = 0;
	json_t *stored = NULL;
	const pw_json_limits lim = {PW_EVENT_MAX_BYTES, 128};
	if (pw_event_seal(ev, g->run_id, g->seq, g->prev, time_ms) != PW_OK ||
	    pw_event_dump(ev, &body, &len) != PW_OK ||
	    pw_json_parse(body, len, &lim, &stored, err, sizeof err) != PW_OK)
		die("cannot seal event %" PRIu64, g->seq);
	if (pw_run_fold(&g->run, stored, err, sizeof err) != PW_OK)
		die("event %" PRIu64 " does not fold: %s", g->seq, err);
	if (!g->calls_only) {
		fwrite(body, 1, len, stdout);
		putchar('\n');
	}
	memcpy(g->prev, pw_event_str(stored, "hash"), sizeof g->prev);
	g->seq++;
	json_decref(stored);
	json_decref(ev);
	free(body);
}

/* ---- the executor, played ---------------------------------------------------- */

/* Parse what a program printed as its result, as broker.c's take_result() (no secrets). */
static void take_result(const char *out, size_t len, observed *o)
{
	pw_json_limits lim = {len, 64};
	o->stdout_bytes = len;
	if (pw_json_parse(out, len, &lim, &o->result, NULL, 0) != PW_OK ||
	    !json_is_object(o->result))
		die("a program's stdout is not one JSON object: %.*s", (int)len, out);
}

/* What the broker's sandbox would record for a on this kernel (sandbox.c): every feature the
   kernel has enforced (the network namespace only for net: none), and what the action needs
   that the kernel lacks missing. */
static void sandbox_of(const pw_action *a, pw_exec_record *rec)
{
	static pw_effects e; /* about 17 KiB */
	const pw_sandbox_kernel *k = pw_sandbox_kernel_probe();
	pw_action_effects(a, &e);
	unsigned needs = pw_effects_needs(&e);
	rec->landlock_abi = k->landlock_abi;
	rec->enforced = k->available & (e.n_net > 0 ? ~(unsigned)PW_FEAT_NETNS : ~0u);
	rec->missing = needs & ~k->available;
}

/* What bench/bin/<program> does with input; keep the two in step (bench/check_gen.sh). */
static void execute(gen *g, const pw_action *a, const json_t *in, observed *o)
{
	char out[1024];
	int n;
	const char *s = pw_event_str(in, "lead_id");
	memset(o, 0, sizeof *o);
	o->how = PW_HOW_EXITED;
	o->duration_ms = 40 + rnd(g, 360);
	if (strcmp(a->name, "OpenQueue") == 0) {
		n = snprintf(out, sizeof out,
		             "{\"queue_id\":\"%s\",\"region\":\"%s\",\"opened\":true}\n",
		             pw_event_str(in, "queue_id"), pw_event_str(in, "region"));
	} else if (strcmp(a->name, "CloseQueue") == 0) {
		n = snprintf(out, sizeof out, "{\"queue_id\":\"%s\",\"closed\":true}\n",
		             pw_event_str(in, "queue_id"));
	} else if (strtoull(s + 2, NULL, 10) % 97 == 0) {
		o->exit_status = 75;
		snprintf(o->why, sizeof o->why, "exited with status %d", o->exit_status);
		o->stderr_tail = json_string("route_lead: the CRM is busy, try again later\n");
		return;
	} else {
		const char *seg = pw_event_str(in, "segment");
		int64_t score = pw_event_int(in, "score");
		const char *owner =
		        strcmp(seg, "enterprise") == 0
		                ? "\"id\":\"U-101\",\"name\":\"Dana Whitfield\",\"email\":"
		                  "\"dana.whitfield@example.com\""
		        : strcmp(seg, "mid_market") == 0
		                ? "\"id\":\"U-204\",\"name\":\"Rafael Ortiz\",\"email\":"
		                  "\"rafael.ortiz@example.com\""
		                : "\"id\":\"U-310\",\"name\":\"Mei Tanaka\",\"email\":"
		                  "\"mei.tanaka@example.com\"";
		const char *heat = score >= 70 ? "hot" : score >= 40 ? "warm" : "cold";
		const char *next = score >= 70   ? "call_within_1h"
		                   : score >= 40 ? "email_sequence_a"
		                                 : "nurture";
		int sla = score >= 70 ? 60 : score >= 40 ? 240 : 1440;
		n = snprintf(out, sizeof out,
		             "{\"lead_id\":\"%s\",\"segment\":\"%s\",\"score\":%" PRId64
		             ",\"lane\":\"%s/%s\",\"owner\":{%s},\"next_action\":\"%s\","
		             "\"sla_minutes\":%d,\"crm_record\":\"https://crm.example.com/leads/"
		             "%s\",\"routed_by\":\"round_robin/v3\"}\n",
		             s, seg, score, seg, heat, owner, next, sla, s);
	}
	if (n < 0 || (size_t)n >= sizeof out)
		die("a program's output does not fit");
	snprintf(o->why, sizeof o->why, "exited with status 0");
	take_result(out, (size_t)n, o);
}

/* ---- calls ------------------------------------------------------------------- */

/*
 * One action call of agent with the input text, as pw_broker_call() makes
 * it: decided, recorded, run (unless in_doubt: the broker died while it
 * ran), and its result recorded. Returns the call's id in call_id.
 */
static pw_verdict call(gen *g, const char *agent, const char *action, const char *text,
                       bool in_doubt, char call_id[32])
{
	char parse_err[256] = "";
	json_t *in = NULL;
	if (g->calls_only)
		printf("%s\t%s\t%s\n", agent, action, text);
	/* 1 parse; the inputs here hold no -0, which the broker would make 0 */
	if (pw_json_parse(text, strlen(text), NULL, &in, parse_err, sizeof parse_err) != PW_OK &&
	    parse_err[0] == '\0')
		snprintf(parse_err, sizeof parse_err, "unreadable");
	if (in != NULL && !json_is_object(in))
		die("input %s is not an object", text);
	const pw_action *a = pw_spec_action(g->spec, action);
	pw_call c = {
	        .action = action,
	        .input = in,
	        .input_error = parse_err,
	        .agent = agent,
	        .now_ms = g->now,
	        .spec_id = g->spec->workflow_id,
	        .spec_error = "",
	        .program_sha256 = a ? a->sha256 : NULL, /* the programs are the pinned ones */
	};
	pw_decision d;
	if (pw_decide(g->spec, &g->run, &c, &d) != PW_OK)
		die("cannot decide call %" PRIu64, g->seq);
	snprintf(call_id, 32, "c%" PRIu64, g->seq);
	append(g, pw_record_call(g->run.state, &c, &d, call_id), g->now);
	pw_verdict verdict = d.verdict;
	if (verdict == PW_VERDICT_ALLOW && !in_doubt) {
		observed o;
		execute(g, a, in, &o);
		int64_t end = g->now + (int64_t)o.duration_ms + 1;
		pw_exec_record rec = {o.how,
		                      o.exit_status,
		                      o.signal,
		                      o.result,
		                      o.stderr_tail,
		                      o.duration_ms,
		                      o.stdout_bytes,
		                      o.stdout_truncated,
		                      o.why,
		                      1,
		                      true,
		                      0,
		                      0,
		                      0};
		sandbox_of(a, &rec);
		append(g, pw_record_result(g->spec, a, &g->run, in, call_id, &rec, end, NULL), end);
		json_decref(o.result);
		json_decref(o.stderr_tail);
	}
	pw_decision_release(&d);
	json_decref(in);
	g->calls++;
	return verdict;
}

static const char *const companies[] = {
        "Acme Logistics GmbH",           "Nordwind Energie AG",
        "Blue Harbor Analytics",         "Zoë's Bakery Ltd",
        "Kowalski & Synowie Sp. z o.o.", "Café Olé S.A.",
        "株式会社さくらテック",          "Northwind Traders",
        "Helios Solar Pty Ltd",          "Fjällräven Outdoor AB",
        "Quantum Widgets Inc.",          "São Paulo Fintech Ltda",
        "Redwood Health Partners LLP",   "Ørsted Offshore Services",
        "Tiny Robots \\\"Lab\\\" Co.",   "Evergreen Municipal Utilities",
};
static const char *const people[] = {"jane.doe", "m.mueller", "p.kowalski", "li.wei",
                                     "a.silva",  "r.patel",   "s.nakamura", "o.hansen"};
static const char *const domains[] = {"acme-logistics.de", "nordwind.example", "blueharbor.io",
                                      "bakery.co.uk",      "kowalski.pl",      "cafeole.fr",
                                      "sakura-tech.jp",    "northwind.com"};
static const char *const sources[] = {"web_form", "webinar", "referral", "partner", "event"};
static const char *const notes[] = {
        "Asked for a demo before the end of the quarter.",
        "Came through the \\\"Q3 logistics\\\" webinar; wants pricing for 40 seats and an "
        "on-site workshop in München.",
        "Existing customer of a competitor; contract renews in March. Decision maker is the "
        "CFO, not the contact.",
        "Referred by Dana (enterprise team). Budget approved, needs SSO and a DPA review "
        "first.",
        "Small team, self-serve likely enough.",
        "Visited the pricing page 7 times this week ✓",
};
static const char *const segments[] = {"enterprise", "mid_market", "mid_market",
                                       "smb",        "smb",        "smb"};
static const char *const routers[] = {"router-1", "router-2", "router-3"};

/* The input text of a RouteLead call for lead number lead. */
static void lead_input(gen *g, char *buf, size_t len, uint64_t lead, const char *queue,
                       const char *segment, int score, bool with_note)
{
	char note[600] = "";
	if (with_note)
		snprintf(note, sizeof note, ",\"note\":\"%s\"",
		         notes[rnd(g, sizeof notes / sizeof *notes)]);
	size_t who = rnd(g, sizeof people / sizeof *people);
	int n = snprintf(buf, len,
	                 "{\"queue_id\":\"%s\",\"lead_id\":\"L-%" PRIu64
	                 "\",\"company\":\"%s\",\"email\":\"%s@%s\",\"segment\":\"%s\","
	                 "\"score\":%d,\"source\":\"%s\"%s}",
	                 queue, lead, companies[rnd(g, sizeof companies / sizeof *companies)],
	                 people[who], domains[rnd(g, sizeof domains / sizeof *domains)], segment,
	                 score, sources[rnd(g, sizeof sources / sizeof *sources)], note);
	if (n < 0 || (size_t)n >= len)
		die("an input does not fit");
}

/* The next call of the queue's life. */
static void next_call(gen *g)
{
	char text[2048], call_id[32];
	uint64_t i = g->calls, lead = 100000 + i;
	const char *router = routers[i % 3];
	const char *segment = segments[rnd(g, sizeof segments / sizeof *segments)];
	int score = 10 + (int)rnd(g, 91);
	bool note = rnd(g, 10) < 3;
	uint64_t r = rnd(g, 10000);

	g->now += 500 + (int64_t)rnd(g, 7500);
	if (strcmp(segment, "enterprise") == 0 && score >= 95)
		score = 94; /* strategic accounts come below, at their own pace */
	if (i % APPROVAL_EVERY == 50) {
		lead_input(g, text, sizeof text, lead, "Q-1", "enterprise", 97, true);
		(void)call(g, router, "RouteLead", text, false, call_id);
	} else if (i % IN_DOUBT_EVERY == IN_DOUBT_EVERY / 2) {
		lead_input(g, text, sizeof text, lead, "Q-1", segment, score, note);
		if (call(g, router, "RouteLead", text, true, call_id) != PW_VERDICT_ALLOW)
			die("the call left in doubt was not allowed");
		g->now += 300000; /* sales ops notice after five minutes */
		append(g,
		       resolve_event(g, call_id, false, "sales-ops",
		                     "the router restarted mid-call; the lead was queued again"),
		       g->now);
	} else if (r < 8800) {
		lead_input(g, text, sizeof text, lead, "Q-1", segment, score, note);
		(void)call(g, router, "RouteLead", text, false, call_id);
	} else if (r < 9100) { /* block: the score is too low */
		lead_input(g, text, sizeof text, lead, "Q-1", segment, (int)rnd(g, 10), note);
		(void)call(g, router, "RouteLead", text, false, call_id);
	} else if (r < 9400) { /* reject: the input does not fit the schema */
		static const char *const bad[] = {
		        "{\"queue_id\":\"Q-1\",\"lead_id\":\"L-12a4\",\"company\":\"Acme Logistics "
		        "GmbH\",\"email\":\"jane.doe@acme-logistics.de\",\"segment\":\"smb\","
		        "\"score\":50}",
		        "{\"queue_id\":\"Q-1\",\"lead_id\":\"L-2001\",\"company\":\"Northwind "
		        "Traders\",\"email\":\"li.wei@northwind.com\",\"segment\":\"smb\","
		        "\"score\":150}",
		        "{\"queue_id\":\"Q-1\",\"lead_id\":\"L-2002\",\"company\":\"Blue Harbor "
		        "Analytics\",\"segment\":\"mid_market\",\"score\":61}",
		        "{\"queue_id\":\"Q-1\",\"lead_id\":\"L-2003\",\"company\":\"Helios Solar "
		        "Pty "
		        "Ltd\",\"email\":\"r.patel@helios.example\",\"segment\":\"enterprise\","
		        "\"score\":88,\"priority\":\"high\"}",
		};
		(void)call(g, router, "RouteLead", bad[r % 4], false, call_id);
	} else if (r < 9600) { /* reject: a queue this run never opened */
		lead_input(g, text, sizeof text, lead, "Q-7", segment, score, note);
		(void)call(g, router, "RouteLead", text, false, call_id);
	} else if (r < 9750) { /* reject: the queue is open already */
		(void)call(g, router, "OpenQueue", "{\"queue_id\":\"Q-2\",\"region\":\"amer\"}",
		           false, call_id);
	} else if (r < 9800) { /* reject: the input is not JSON */
		(void)call(g, router, "RouteLead",
		           "{\"queue_id\":\"Q-1\",\"lead_id\":\"L-1\",\"lead_id\":\"L-2\"}", false,
		           call_id);
	} else { /* reject: only the routers may route */
		lead_input(g, text, sizeof text, lead, "Q-1", segment, score, note);
		(void)call(g, "intake-bot", "RouteLead", text, false, call_id);
	}
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	char *buf = malloc(PW_JSON_MAX_BYTES_DEFAULT + 1);
	if (buf == NULL)
		die("out of memory");
	*len = fread(buf, 1, PW_JSON_MAX_BYTES_DEFAULT + 1, f);
	if (ferror(f) || *len > PW_JSON_MAX_BYTES_DEFAULT)
		die("%s: cannot read, or larger than 1 MiB", path);
	fclose(f);
	return buf;
}

static uint64_t number(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
		die("%s: not a number: %s", what, s);
	return v;
}

int main(int argc, char **argv)
{
	static char outbuf[1 << 20];
	gen g = {.rng = 0x9e3779b97f4a7c15u, .now = START_MS};
	const char *args[2];
	int nargs = 0;
	snprintf(g.run_id, sizeof g.run_id, "lead-queue-1");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			g.rng ^= number(argv[++i], "--seed") * 0x2545f4914f6cdd1du;
		else if (strcmp(argv[i], "--run-id") == 0 && i + 1 < argc)
			snprintf(g.run_id, sizeof g.run_id, "%s", argv[++i]);
		else if (strcmp(argv[i], "--calls") == 0)
			g.calls_only = true;
		else if (nargs < 2 && argv[i][0] != '-')
			args[nargs++] = argv[i];
		else
			die("usage: gen_log [--seed S] [--run-id ID] [--calls] SPEC N");
	}
	if (nargs != 2 || !pw_id_valid(g.run_id) || g.rng == 0)
		die("usage: gen_log [--seed S] [--run-id ID] [--calls] SPEC N");
	g.max = number(args[1], "N");
	setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);

	size_t len;
	char *text = read_file(args[0], &len);
	pw_diag diag = PW_DIAG_INIT;
	pw_spec *spec = NULL;
	if (pw_spec_parse(text, len, &spec, &diag) != PW_OK)
		die("%s does not load (pitwall check says why)", args[0]);
	pw_diag_release(&diag);
	free(text);
	if (pw_spec_action(spec, "OpenQueue") == NULL || pw_spec_action(spec, "RouteLead") == NULL)
		die("%s is not bench/workflow.yaml", args[0]);
	g.spec = spec;
	pw_run_init(&g.run);
	memcpy(g.prev, pw_event_genesis_prev, sizeof g.prev);

	/* the run starts, then its queue opens */
	append(&g,
	       json_pack("{ss ss ss ss ss}", "kind", "genesis", "workflow_id", spec->workflow_id,
	                 "workflow", json_string_value(json_object_get(spec->model, "name")),
	                 "state", json_string_value(json_object_get(spec->model, "initial")),
	                 "agent", "operator"),
	       g.now);
	char call_id[32];
	g.now += 2000;
	(void)call(&g, "router-1", "OpenQueue", "{\"queue_id\":\"Q-1\",\"region\":\"emea\"}", false,
	           call_id);
	while (g.seq < g.max)
		next_call(&g);

	if (fflush(stdout) != 0 || ferror(stdout))
		die("cannot write the log: %s", strerror(errno));
	pw_run_release(&g.run);
	pw_spec_free(spec);
	return 0;
}
