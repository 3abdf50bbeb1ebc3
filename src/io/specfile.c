#include "io/specfile.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hash.h"
#include "io/file.h"

char *pw_specfile_program_path(const pw_specfile *sf, const pw_action *a)
{
	if (a->program == NULL)
		return NULL;
	if (a->program[0] == '/')
		return strdup(a->program);
	size_t n = strlen(sf->dir) + 1 + strlen(a->program) + 1;
	char *p = malloc(n);
	if (p != NULL)
		snprintf(p, n, "%s/%s", sf->dir, a->program);
	return p;
}

/* Check one action's program against its pin; problems go to diag. */
static pw_status check_pin(const pw_specfile *sf, const pw_action *a, pw_diag *diag)
{
	char hex[65], err[256];
	struct stat st;
	char *path = pw_specfile_program_path(sf, a);
	if (path == NULL)
		return PW_ERR_NOMEM;
	pw_status rc = pw_file_sha256(path, PW_PROGRAM_MAX_BYTES, hex, err, sizeof err);
	if (rc == PW_ERR_NOMEM) {
		free(path);
		return rc;
	}
	if (rc != PW_OK) {
		pw_diag_add(diag, PW_DIAG_ERROR, a->program_line, a->program_col,
		            "actions.%s.run.program: \"%s\": %s", a->name, a->program, err);
	} else if (stat(path, &st) != 0 || (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0) {
		pw_diag_add(diag, PW_DIAG_ERROR, a->program_line, a->program_col,
		            "actions.%s.run.program: \"%s\" is not executable", a->name,
		            a->program);
	} else if (!pw_ct_equal(hex, a->sha256, PW_SHA256_HEX_LEN)) {
		pw_diag_add(diag, PW_DIAG_ERROR, a->sha256_line, a->sha256_col,
		            "actions.%s.run.sha256: pin does not match the program \"%s\": pinned "
		            "%s, file has %s",
		            a->name, a->program, a->sha256, hex);
	}
	free(path);
	return PW_OK;
}

pw_status pw_specfile_load(const char *path, pw_specfile *out, pw_diag *diag)
{
	return pw_specfile_load_opt(path, true, out, diag);
}

pw_status pw_specfile_load_opt(const char *path, bool pins, pw_specfile *out, pw_diag *diag)
{
	char *buf = NULL, err[256];
	size_t len = 0;
	pw_status st;

	memset(out, 0, sizeof *out);
	st = pw_file_read(path, PW_SPEC_MAX_BYTES, &buf, &len, err, sizeof err);
	if (st != PW_OK) {
		pw_diag_add(diag, PW_DIAG_ERROR, 0, 0, "%s", err);
		return st;
	}
	out->path = strdup(path);
	out->dir = pw_path_dir_abs(path);
	if (out->path == NULL || out->dir == NULL) {
		st = PW_ERR_NOMEM;
		goto out;
	}
	st = pw_spec_parse(buf, len, &out->spec, diag);
	if (st != PW_OK)
		goto out;
	size_t errors = diag->errors;
	for (size_t i = 0; pins && i < out->spec->n_actions && st == PW_OK; i++)
		st = check_pin(out, &out->spec->actions[i], diag);
	if (st == PW_OK && diag->errors > errors)
		st = PW_ERR_PERM;
out:
	free(buf);
	if (st != PW_OK)
		pw_specfile_release(out);
	return st;
}

void pw_specfile_release(pw_specfile *sf)
{
	pw_spec_free(sf->spec);
	free(sf->path);
	free(sf->dir);
	memset(sf, 0, sizeof *sf);
}
