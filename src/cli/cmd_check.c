/*
 * cmd_check.c: `pitwall check SPEC` and `pitwall id SPEC`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

#include "cli/cli.h"
#include "io/specfile.h"

void pw_cli_print_diag(const char *file, const pw_diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const pw_diag_item *it = &d->items[i];
		const char *level = it->level == PW_DIAG_WARNING ? "warning: " : "";
		if (it->line > 0)
			fprintf(stderr, "%s:%u:%u: %s%s\n", file, it->line, it->col, level,
			        it->msg);
		else
			fprintf(stderr, "%s: %s%s\n", file, level, it->msg);
	}
	if (d->n < d->errors)
		fprintf(stderr, "%s: %zu more errors not shown\n", file, d->errors - d->n);
}

/* Shared by check and id: load, print diagnostics, return the exit status. */
static int load(const char *cmd, int argc, char **argv, pw_specfile *sf, int quiet_warnings)
{
	pw_diag d = PW_DIAG_INIT;
	if (argc != 1 || argv[0][0] == '-')
		return pw_cli_usage(cmd);
	pw_status st = pw_specfile_load(argv[0], sf, &d);
	if (st != PW_OK || !quiet_warnings)
		pw_cli_print_diag(argv[0], &d);
	if (st != PW_OK && d.errors == 0)
		fprintf(stderr, "%s: %s\n", argv[0], pw_status_name(st));
	pw_diag_release(&d);
	return st == PW_OK ? PW_EXIT_OK : PW_EXIT_USAGE;
}

int pw_cmd_check(int argc, char **argv)
{
	pw_specfile sf;
	int rc = load("check", argc, argv, &sf, 0);
	if (rc != PW_EXIT_OK)
		return rc;
	printf("workflow_id %s\n", sf.spec->workflow_id);
	pw_specfile_release(&sf);
	return PW_EXIT_OK;
}

int pw_cmd_id(int argc, char **argv)
{
	pw_specfile sf;
	int rc = load("id", argc, argv, &sf, 1);
	if (rc != PW_EXIT_OK)
		return rc;
	printf("%s\n", sf.spec->workflow_id);
	pw_specfile_release(&sf);
	return PW_EXIT_OK;
}

int pw_cmd_model(int argc, char **argv)
{
	pw_specfile sf;
	char *canon = NULL;
	size_t len = 0;
	int rc = load("model", argc, argv, &sf, 1);
	if (rc != PW_EXIT_OK)
		return rc;
	if (pw_jcs_dump(sf.spec->model, 0, &canon, &len) != PW_OK) {
		fprintf(stderr, "%s: cannot serialize the model\n", argv[0]);
		rc = PW_EXIT_FAILURE;
	} else {
		fwrite(canon, 1, len, stdout);
		fputc('\n', stdout);
	}
	free(canon);
	pw_specfile_release(&sf);
	return rc;
}
