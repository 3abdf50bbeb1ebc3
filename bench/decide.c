/*
 * decide: pitwall's decision latency, in process (bench/README.md).
 *
 *     decide EXAMPLES_DIR WORK_DIR [ITERS]
 *
 * Builds a run of examples/refunds and one of examples/research_v1 in a
 * ledger in WORK_DIR, through the broker with a no-op executor that prints
 * what each program would (the refunds run has looked order ORD-1001 up;
 * the research run has a pod, a checkout and an uploaded manifest), reads
 * each run back and folds it as the broker does. Then, for each scenario,
 * 2,000 warm-up decisions and ITERS (20,000) timed ones, each timed alone:
 * parsing the input text (pw_json_parse, as the broker does), and
 * pw_decide(): the run's health, the closed set, the input schema, the
 * transition, the capabilities, pre, the code pin (the hash observed is
 * given), the rules. No executor, no ledger, no fsync, no spec reload.
 * Each scenario's verdict and reason are checked before timing.
 *
 * Prints one JSON line per scenario, as bench/cedar/decide.mjs does:
 *   {"engine":"pitwall","scenario":...,"iters":N,"p50_ns":...,"p99_ns":...,
 *    "min_ns":...,"mean_ns":...}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/canned.h"
#include "bench/stats.h"
#include "broker/broker.h"
#include "core/decide.h"
#include "core/json.h"
#include "core/run.h"
#include "io/specfile.h"
#include "ledger/ledger.h"

#define WARMUP 2000

static const char *const manifest =
        "sha256:2f1d3f6a3b7a9c1e5d4b8a7f6e5d4c3b2a1908f7e6d5c4b3a291817161514130";

static void die(const char *what, const char *why)
{
	fprintf(stderr, "decide: %s: %s\n", what, why);
	exit(1);
}

/* The executor: what each example program would print, at once. */
static pw_status canned_exec(const pw_exec_spec *s, pw_exec_result *r)
{
	const char *base = strrchr(s->program, '/');
	base = base != NULL ? base + 1 : s->program;
	char out[512];
	if (strcmp(base, "lookup_order") == 0)
		snprintf(out, sizeof out,
		         "{\"order_id\":\"ORD-1001\",\"customer\":\"Ada\",\"financial_status\":"
		         "\"paid\",\"total_cents\":12000,\"refunded_cents\":0,"
		         "\"refundable_cents\":12000}");
	else if (strcmp(base, "pod_up") == 0)
		snprintf(out, sizeof out,
		         "{\"pod_id\":\"pod-bench\",\"gpu\":\"A100\",\"count\":1}");
	else if (strcmp(base, "checkout") == 0)
		snprintf(out, sizeof out,
		         "{\"branch\":\"main\",\"sha\":"
		         "\"0123456789abcdef0123456789abcdef01234567\"}");
	else if (strcmp(base, "upload_manifest") == 0)
		snprintf(out, sizeof out, "{\"manifest_id\":\"%s\",\"rows\":4}", manifest);
	else
		die("no canned output for", base);
	return bench_canned_result(s, out, r);
}

/* Start run run_id of spec in db and make the calls steps[] (action, input) pairs. */
static void prepare(const char *db, const char *spec, const char *run_id,
                    const char *const steps[][2], size_t n)
{
	char err[512];
	json_t *reply = NULL;
	if (pw_broker_start(db, spec, run_id, NULL, &reply, err, sizeof err) != PW_OK)
		die("run start", err);
	json_decref(reply);
	pw_broker_opts o = {.db_path = db, .for_calls = true, .exec = canned_exec};
	pw_broker *b;
	if (pw_broker_open(&o, run_id, &b, err, sizeof err) != PW_OK)
		die("open", err);
	for (size_t i = 0; i < n; i++) {
		if (pw_broker_call(b, steps[i][0], steps[i][1], strlen(steps[i][1]), &reply, err,
		                   sizeof err) != PW_OK)
			die(steps[i][0], err);
		const char *outcome = json_string_value(json_object_get(reply, "outcome"));
		if (outcome == NULL || strcmp(outcome, "ok") != 0) {
			char *s = json_dumps(reply, JSON_COMPACT);
			die(steps[i][0], s != NULL ? s : "failed");
		}
		json_decref(reply);
	}
	pw_broker_close(b);
}

typedef struct fold_arg {
	pw_run *run;
	char err[256];
} fold_arg;

static int fold_one(void *arg, const json_t *ev)
{
	fold_arg *f = arg;
	return pw_run_fold(f->run, ev, f->err, sizeof f->err) != PW_OK;
}

/* The run's state, folded from the ledger as the broker folds it. */
static void load_run(const char *db, const char *run_id, pw_run *run)
{
	pw_ledger *L;
	char err[512];
	fold_arg f = {run, ""};
	pw_run_init(run);
	if (pw_ledger_open(db, false, &L, err, sizeof err) != PW_OK)
		die("ledger", err);
	if (pw_ledger_read(L, run_id, 0, fold_one, &f, err, sizeof err) != PW_OK || f.err[0])
		die("fold", f.err[0] ? f.err : err);
	pw_ledger_close(L);
}

typedef struct scenario {
	const char *name, *action, *input, *verdict, *reason;
} scenario;

static void measure(const pw_spec *spec, const pw_run *run, const scenario *sc, size_t iters)
{
	const pw_action *a = pw_spec_action(spec, sc->action);
	double *t = malloc(iters * sizeof *t), sum = 0;
	if (a == NULL || t == NULL)
		die(sc->name, "no such action, or out of memory");
	size_t len = strlen(sc->input);
	for (size_t i = 0; i < WARMUP + iters; i++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		json_t *input = NULL;
		char perr[256];
		if (pw_json_parse(sc->input, len, NULL, &input, perr, sizeof perr) != PW_OK)
			die(sc->name, perr);
		pw_call c = {
		        .action = sc->action,
		        .input = input,
		        .agent = "agent",
		        .now_ms = run->last_ms + 1000,
		        .spec_id = spec->workflow_id,
		        .program_sha256 = a->sha256,
		};
		pw_decision d;
		if (pw_decide(spec, run, &c, &d) != PW_OK)
			die(sc->name, "pw_decide failed");
		if (i == 0 && (strcmp(pw_verdict_name(d.verdict), sc->verdict) != 0 ||
		               strcmp(d.reason, sc->reason) != 0)) {
			fprintf(stderr, "decide: %s: expected %s %s, got %s %s: %s\n", sc->name,
			        sc->verdict, sc->reason, pw_verdict_name(d.verdict), d.reason,
			        d.message);
			exit(1);
		}
		pw_decision_release(&d);
		json_decref(input);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (i >= WARMUP) {
			t[i - WARMUP] = (double)(t1.tv_sec - t0.tv_sec) * 1e9 +
			                (double)(t1.tv_nsec - t0.tv_nsec);
			sum += t[i - WARMUP];
		}
	}
	double p50 = bench_pct(t, iters, 0.5), p99 = bench_pct(t, iters, 0.99);
	printf("{\"engine\":\"pitwall\",\"scenario\":\"%s\",\"iters\":%zu,\"p50_ns\":%.0f,"
	       "\"p99_ns\":%.0f,\"min_ns\":%.0f,\"mean_ns\":%.0f}\n",
	       sc->name, iters, p50, p99, t[0], sum / (double)iters);
	free(t);
}

static void load_spec(const char *path, pw_specfile *sf)
{
	pw_diag diag = PW_DIAG_INIT;
	if (pw_specfile_load(path, sf, &diag) != PW_OK)
		die(path, "does not load (pitwall check says why)");
	pw_diag_release(&diag);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: decide EXAMPLES_DIR WORK_DIR [ITERS]\n");
		return 2;
	}
	size_t iters = argc > 3 ? strtoul(argv[3], NULL, 10) : 20000;
	if (iters < 100)
		iters = 100;
	char refunds[4096], research[4096], db[4096];
	snprintf(refunds, sizeof refunds, "%s/refunds/workflow.yaml", argv[1]);
	snprintf(research, sizeof research, "%s/research_v1/workflow.yaml", argv[1]);
	snprintf(db, sizeof db, "%s/decide.db", argv[2]);
	char side[4200]; /* a fresh ledger each time */
	remove(db);
	snprintf(side, sizeof side, "%s-wal", db);
	remove(side);
	snprintf(side, sizeof side, "%s-shm", db);
	remove(side);

	static const char *const refund_steps[][2] = {
	        {"LookupOrder", "{\"order_id\":\"ORD-1001\"}"},
	};
	char upload_input[128];
	snprintf(upload_input, sizeof upload_input, "{\"csv\":\"sweep.csv\"}");
	const char *const research_steps[][2] = {
	        {"PodUp", "{\"name\":\"exp\",\"gpu\":\"A100\",\"count\":1}"},
	        {"Checkout", "{\"branch\":\"main\"}"},
	        {"UploadManifest", upload_input},
	};
	prepare(db, refunds, "bench-refunds", refund_steps, 1);
	prepare(db, research, "bench-research", research_steps, 3);

	char sweep_ok[160], sweep_other[160];
	snprintf(sweep_ok, sizeof sweep_ok, "{\"manifest_id\":\"%s\",\"timeout\":21600}", manifest);
	snprintf(sweep_other, sizeof sweep_other,
	         "{\"manifest_id\":\"sha256:%064d\",\"timeout\":21600}", 0);
	const scenario refund_sc[] = {
	        {"refund_allow", "IssueRefund",
	         "{\"order_id\":\"ORD-1001\",\"amount_cents\":1200,\"reason\":\"damaged\"}",
	         "allow", "RULE_ALLOW"},
	        {"refund_approval", "IssueRefund",
	         "{\"order_id\":\"ORD-1001\",\"amount_cents\":12000,\"reason\":\"damaged\"}",
	         "approval", "refund_over_50"},
	        {"refund_block", "IssueRefund",
	         "{\"order_id\":\"ORD-1001\",\"amount_cents\":60000,\"reason\":\"damaged\"}",
	         "block", "refund_over_500"},
	        {"refund_nocap", "IssueRefund",
	         "{\"order_id\":\"ORD-2002\",\"amount_cents\":1200,\"reason\":\"damaged\"}",
	         "reject", "CAP_MISMATCH"},
	};
	const scenario research_sc[] = {
	        {"research_sweep_allow", "SweepStart", sweep_ok, "allow", "DEFAULT_ALLOW"},
	        {"research_sweep_other_manifest", "SweepStart", sweep_other, "reject",
	         "CAP_MISMATCH"},
	        {"research_upload_allow", "UploadManifest", upload_input, "allow", "DEFAULT_ALLOW"},
	};

	pw_specfile sf_refunds, sf_research;
	pw_run run_refunds, run_research;
	load_spec(refunds, &sf_refunds);
	load_spec(research, &sf_research);
	load_run(db, "bench-refunds", &run_refunds);
	load_run(db, "bench-research", &run_research);
	for (size_t i = 0; i < sizeof refund_sc / sizeof *refund_sc; i++)
		measure(sf_refunds.spec, &run_refunds, &refund_sc[i], iters);
	for (size_t i = 0; i < sizeof research_sc / sizeof *research_sc; i++)
		measure(sf_research.spec, &run_research, &research_sc[i], iters);
	pw_run_release(&run_refunds);
	pw_run_release(&run_research);
	pw_specfile_release(&sf_refunds);
	pw_specfile_release(&sf_research);
	return 0;
}
