/*
 * cmd_verify.c: export a run as JSON Lines, and verify a run against its spec.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/json.h"
#include "io/specfile.h"
#include "ledger/ledger.h"
#include "verify/verify.h"

#define DEFAULT_DB ".pitwall/pitwall.db"

static int print_event(void *arg, const json_t *ev)
{
	(void)arg;
	char *s = NULL;
	size_t n = 0;
	if (pw_event_dump(ev, &s, &n) != PW_OK)
		return 1;
	fwrite(s, 1, n, stdout);
	fputc('\n', stdout);
	free(s);
	return 0;
}

/* Parse "--db PATH", "--spec PATH" and positionals; false on a usage error. */
static bool args(const char *cmd, int argc, char **argv, const char **db, const char **spec,
                 char **pos, int max_pos, int *npos)
{
	*npos = 0;
	for (int i = 0; i < argc; i++) {
		if ((strcmp(argv[i], "--db") == 0 || strcmp(argv[i], "--spec") == 0) &&
		    i + 1 < argc) {
			*(argv[i][2] == 'd' ? db : spec) = argv[i + 1];
			i++;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			pw_cli_error(cmd, "unknown option \"%s\"", argv[i]);
			return false;
		} else if (*npos < max_pos) {
			pos[(*npos)++] = argv[i];
		} else {
			pw_cli_error(cmd, "unexpected argument \"%.80s\"", argv[i]);
			return false;
		}
	}
	return true;
}

static pw_ledger *open_ledger(const char *cmd, const char *db)
{
	char err[1024];
	pw_ledger *L = NULL;
	if (access(db, F_OK) != 0) {
		pw_cli_error(cmd, "no ledger at %s", db);
		return NULL;
	}
	if (pw_ledger_open(db, false, &L, err, sizeof err) != PW_OK) {
		pw_cli_error(cmd, "%s", err);
		return NULL;
	}
	return L;
}

int pw_cmd_export(int argc, char **argv)
{
	const char *db = DEFAULT_DB, *spec = NULL;
	char *pos[1];
	int npos;
	if (!args("export", argc, argv, &db, &spec, pos, 1, &npos) || npos != 1 || spec != NULL)
		return pw_cli_usage("export");
	pw_ledger *L = open_ledger("export", db);
	if (L == NULL)
		return PW_EXIT_USAGE;
	pw_run_info ri;
	char err[1024];
	if (pw_ledger_run(L, pos[0], &ri) != PW_OK) {
		pw_cli_error("export", "no run \"%.80s\" in %s", pos[0], db);
		pw_ledger_close(L);
		return PW_EXIT_USAGE;
	}
	pw_run_info_release(&ri);
	pw_status st = pw_ledger_read(L, pos[0], 0, print_event, NULL, err, sizeof err);
	fflush(stdout);
	if (st != PW_OK)
		pw_cli_error("export", "the log of run %s does not verify: %s", pos[0], err);
	pw_ledger_close(L);
	return st == PW_OK ? PW_EXIT_OK : PW_EXIT_FAILURE;
}

/* Feed one event to the verifier (the ledger's reader calls this). */
static int feed(void *arg, const json_t *ev)
{
	pw_verifier *v = arg;
	return pw_verify_event(v, ev) != PW_OK || !pw_verify_report_get(v)->valid;
}

/* Whether the next line of f is a JSON object (it is consumed). */
static bool next_is_event(FILE *f, const pw_json_limits *lim)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	json_t *ev = NULL;
	bool yes = n > 0 && (size_t)n <= PW_EVENT_MAX_BYTES &&
	           pw_json_parse(line, (size_t)n, lim, &ev, NULL, 0) == PW_OK && json_is_object(ev);
	json_decref(ev);
	free(line);
	return yes;
}

/* Verify the JSON Lines file path; returns the exit status. */
static int verify_file(const char *path, pw_verifier *v)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	if (f == NULL) {
		pw_cli_error("verify", "%s: %s", path, strerror(errno));
		return PW_EXIT_USAGE;
	}
	char *line = NULL, perr[256];
	size_t cap = 0;
	ssize_t n;
	uint64_t lineno = 0;
	int rc = PW_EXIT_OK;
	pw_json_limits lim = {PW_EVENT_MAX_BYTES, 128};
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		json_t *ev = NULL;
		pw_status st =
		        (size_t)n > PW_EVENT_MAX_BYTES
		                ? PW_ERR_TOO_LARGE
		                : pw_json_parse(line, (size_t)n, &lim, &ev, perr, sizeof perr);
		if (st == PW_ERR_TOO_LARGE)
			snprintf(perr, sizeof perr, "longer than %zu bytes", PW_EVENT_MAX_BYTES);
		if (st != PW_OK || !json_is_object(ev)) {
			json_decref(ev);
			/* a first line that does not parse is a damaged log only if a second does
			 */
			if (lineno == 1 && !next_is_event(f, &lim)) {
				pw_cli_error("verify",
				             "%s: line 1 is not a JSON object (%s): not a pitwall "
				             "export",
				             path, st == PW_OK ? "another JSON value" : perr);
				rc = PW_EXIT_USAGE;
			} else {
				printf("VIOLATION at event %llu: format: line %llu is not a JSON "
				       "object: %s\n",
				       (unsigned long long)(lineno - 1), (unsigned long long)lineno,
				       st == PW_OK ? "another JSON value" : perr);
				rc = PW_EXIT_FAILURE;
			}
			break;
		}
		st = pw_verify_event(v, ev);
		json_decref(ev);
		if (st != PW_OK) {
			pw_cli_error("verify", "cannot verify: %s", pw_status_name(st));
			rc = PW_EXIT_FAILURE;
			break;
		}
		if (!pw_verify_report_get(v)->valid)
			break;
	}
	if (ferror(f) && rc == PW_EXIT_OK) {
		pw_cli_error("verify", "%s: read error", path);
		rc = PW_EXIT_USAGE;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

int pw_cmd_verify(int argc, char **argv)
{
	const char *db = NULL, *spec_path = NULL;
	char *pos[1];
	int npos;
	if (!args("verify", argc, argv, &db, &spec_path, pos, 1, &npos) || npos != 1 ||
	    (db == NULL && spec_path == NULL))
		return pw_cli_usage("verify");

	pw_ledger *L = NULL;
	pw_run_info ri = {0};
	char err[1024];
	if (db != NULL) {
		if ((L = open_ledger("verify", db)) == NULL)
			return PW_EXIT_USAGE;
		if (pw_ledger_run(L, pos[0], &ri) != PW_OK) {
			pw_cli_error("verify", "no run \"%.80s\" in %s", pos[0], db);
			pw_ledger_close(L);
			return PW_EXIT_USAGE;
		}
		if (spec_path == NULL)
			spec_path = ri.spec_path;
	}
	pw_specfile sf;
	pw_diag d = PW_DIAG_INIT;
	int rc = PW_EXIT_USAGE;
	pw_verifier *v = NULL;
	if (pw_specfile_load_opt(spec_path, false, &sf, &d) != PW_OK) {
		pw_cli_print_diag(spec_path, &d);
		pw_diag_release(&d);
		goto out_ledger;
	}
	pw_diag_release(&d);
	if (pw_verify_new(sf.spec, &v) != PW_OK)
		goto out;

	if (L != NULL) {
		pw_status st = pw_ledger_read(L, pos[0], 0, feed, v, err, sizeof err);
		if (st == PW_ERR_INVALID && pw_verify_report_get(v)->valid) {
			/* the ledger's own chain check stopped at the first bad event */
			printf("VIOLATION at event %llu: chain: %s\n",
			       (unsigned long long)pw_verify_report_get(v)->events, err);
			rc = PW_EXIT_FAILURE;
			goto out;
		}
		rc = st == PW_OK ? PW_EXIT_OK : PW_EXIT_FAILURE;
		if (st != PW_OK && st != PW_ERR_INVALID)
			pw_cli_error("verify", "%s", err);
	} else {
		rc = verify_file(pos[0], v);
	}
	if (rc == PW_EXIT_USAGE || (rc == PW_EXIT_FAILURE && pw_verify_report_get(v)->valid))
		goto out;
	const pw_verify_report *r = pw_verify_report_get(v);
	if (r->valid && r->events == 0) {
		printf("VIOLATION at event 0: genesis: the log has no events\n");
		rc = PW_EXIT_FAILURE;
	} else if (r->valid) {
		printf("VALID run %s: %llu events, workflow %s, head %s\n", r->run_id,
		       (unsigned long long)r->events, sf.spec->workflow_id, r->head);
		rc = PW_EXIT_OK;
	} else {
		printf("VIOLATION at event %llu: %s: ", (unsigned long long)r->bad_seq, r->check);
		pw_cli_put_escaped(stdout, r->detail);
		putchar('\n');
		rc = PW_EXIT_FAILURE;
	}
out:
	pw_verify_free(v);
	pw_specfile_release(&sf);
out_ledger:
	pw_run_info_release(&ri);
	pw_ledger_close(L);
	fflush(stdout);
	return rc;
}
