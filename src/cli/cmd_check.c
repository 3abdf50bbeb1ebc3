/*
 * cmd_check.c: the commands about a spec itself: check, id, model, pin.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"

#include "broker/broker.h"
#include "cli/cli.h"
#include "core/effects.h"
#include "core/hash.h"
#include "exec/sandbox.h"
#include "io/file.h"
#include "io/specfile.h"

void pw_cli_put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

void pw_cli_print_diag(const char *file, const pw_diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const pw_diag_item *it = &d->items[i];
		const char *level = it->level == PW_DIAG_WARNING ? "warning: " : "";
		pw_cli_put_escaped(stderr, file);
		if (it->line > 0)
			fprintf(stderr, ":%u:%u", it->line, it->col);
		fprintf(stderr, ": %s", level);
		pw_cli_put_escaped(stderr, it->msg);
		fputc('\n', stderr);
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

/* A byte count as the spec writes it: the largest unit that divides it. */
static void put_size(uint64_t n)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	int u = -1;
	while (u < 3 && n >= 1024 && n % 1024 == 0) {
		n /= 1024;
		u++;
	}
	printf("%llu%s", (unsigned long long)n, u < 0 ? "" : units[u]);
}

static void put_ms(uint64_t ms)
{
	if (ms % 1000 == 0)
		printf("%llus", (unsigned long long)(ms / 1000));
	else
		printf("%llums", (unsigned long long)ms);
}

static void put_features(unsigned set)
{
	const char *sep = "";
	for (unsigned i = 0; i < PW_FEAT_COUNT; i++)
		if (set & (1u << i)) {
			printf("%s%s", sep, pw_feature_name(1u << i));
			sep = " ";
		}
	if (*sep == '\0')
		printf("none");
}

/* What each action may do (its effects, defaults applied) and what this kernel enforces. */
static void put_effects(const pw_spec *spec, pw_effects *e)
{
	const pw_sandbox_kernel *k = pw_sandbox_kernel_probe();
	printf("sandbox: Landlock ABI %d; available: ", k->landlock_abi);
	put_features(k->available);
	printf("\n");
	for (size_t i = 0; i < spec->n_actions; i++) {
		pw_action_effects(&spec->actions[i], e);
		printf("action %s\n  read:    the program, the system base", spec->actions[i].name);
		for (size_t j = 0; j < e->n_read; j++) {
			printf(", ");
			pw_cli_put_escaped(stdout, e->read[j]);
		}
		printf("\n  write:   ");
		for (size_t j = 0; j < e->n_write; j++) {
			printf("%s", j ? ", " : "");
			pw_cli_put_escaped(stdout, e->write[j]);
		}
		printf("%s\n  net:     ", e->n_write ? "" : "nothing");
		for (size_t j = 0; j < e->n_net; j++)
			printf(strchr(e->net[j].host, ':') ? "%s[%s]:%u" : "%s%s:%u", j ? ", " : "",
			       e->net[j].host, (unsigned)e->net[j].port);
		printf("%s\n  limits:  memory ", e->n_net ? " (TCP)" : "none");
		put_size(e->memory);
		printf(", cpu ");
		put_ms(e->cpu_ms);
		printf(", wall ");
		put_ms(e->wall_ms);
		printf(", procs %u, file_size ", e->procs);
		put_size(e->file_size);
		printf(", open_files %u\n  needs:   ", e->open_files);
		put_features(pw_effects_needs(e));
		if (e->downgrade) {
			printf("\n  accepts running without: ");
			put_features(e->downgrade);
		}
		printf("\n");
	}
}

int pw_cmd_check(int argc, char **argv)
{
	pw_specfile sf;
	int rc = load("check", argc, argv, &sf, 0);
	if (rc != PW_EXIT_OK)
		return rc;
	printf("workflow_id %s\n", sf.spec->workflow_id);
	pw_effects *e = malloc(sizeof *e); /* about 17 KiB: not on the stack */
	char err[512];
	pw_status st = e ? pw_broker_sandbox_check(sf.spec, err, sizeof err) : PW_ERR_NOMEM;
	if (e != NULL)
		put_effects(sf.spec, e);
	if (st == PW_ERR_UNSUPPORTED) {
		fprintf(stderr, "%s: refused: SANDBOX_UNAVAILABLE: %s\n", argv[0], err);
		rc = PW_EXIT_REJECTED;
	} else if (st != PW_OK) {
		fprintf(stderr, "%s: %s\n", argv[0], pw_status_name(st));
		rc = PW_EXIT_FAILURE;
	}
	free(e);
	pw_specfile_release(&sf);
	return rc;
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

/*
 * Byte offset of 1-based line and column (columns count characters, as
 * libyaml's marks do) in buf, or (size_t)-1.
 */
static size_t offset_of(const char *buf, size_t len, unsigned line, unsigned col)
{
	size_t i = 0;
	/* line breaks as libyaml counts them: \n, \r\n and a lone \r */
	for (unsigned l = 1; l < line; l++) {
		while (i < len && buf[i] != '\n' && buf[i] != '\r')
			i++;
		if (i >= len)
			return (size_t)-1;
		i += (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n') ? 2 : 1;
	}
	for (unsigned c = 1; c < col && i < len; c++) {
		i++;
		while (i < len && (buf[i] & 0xc0) == 0x80)
			i++;
	}
	return i < len ? i : (size_t)-1;
}

/* Write len bytes to path atomically: a temporary file beside it, fsync, rename. */
static int replace_file(const char *path, const char *buf, size_t len)
{
	struct stat st;
	size_t n = strlen(path) + 16;
	char *tmp = malloc(n);
	int fd = -1, rc = -1;
	if (tmp == NULL || stat(path, &st) != 0)
		goto out;
	snprintf(tmp, n, "%s.pin-XXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0)
		goto out;
	if (fchmod(fd, st.st_mode & 07777) != 0)
		goto out;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	rc = rename(tmp, path);
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* Does buf read as a spec like old, action for action, with exactly the given pins? */
static bool pins_verified(const char *buf, size_t len, const pw_spec *old,
                          char (*pins)[PW_SHA256_HEX_LEN + 1])
{
	pw_diag d = PW_DIAG_INIT;
	pw_spec *now = NULL;
	bool ok = pw_spec_parse(buf, len, &now, &d) == PW_OK && now->n_actions == old->n_actions;
	for (size_t i = 0; ok && i < now->n_actions; i++)
		ok = strcmp(now->actions[i].name, old->actions[i].name) == 0 &&
		     strcmp(now->actions[i].sha256, pins[i]) == 0;
	pw_spec_free(now);
	pw_diag_release(&d);
	return ok;
}

int pw_cmd_pin(int argc, char **argv)
{
	pw_diag d = PW_DIAG_INIT;
	pw_specfile sf = {0};
	char *buf = NULL, err[256];
	char(*pins)[PW_SHA256_HEX_LEN + 1] = NULL; /* the pin each action should end with */
	size_t len = 0, changed = 0;
	int rc = PW_EXIT_USAGE;

	if (argc != 1 || argv[0][0] == '-')
		return pw_cli_usage("pin");
	const char *path = argv[0];
	if (pw_file_read(path, PW_SPEC_MAX_BYTES, &buf, &len, err, sizeof err) != PW_OK) {
		fprintf(stderr, "%s: %s\n", path, err);
		return PW_EXIT_USAGE;
	}
	/* the spec must read and check, all but its pins */
	if (pw_spec_parse(buf, len, &sf.spec, &d) != PW_OK || (sf.path = strdup(path)) == NULL) {
		pw_cli_print_diag(path, &d);
		goto out;
	}
	char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
	if (slash != NULL)
		*slash = '\0';
	sf.dir = dir == NULL ? NULL : realpath(slash ? (dir[0] ? dir : "/") : ".", NULL);
	free(dir);
	if (sf.dir == NULL) {
		fprintf(stderr, "%s: cannot resolve its folder\n", path);
		goto out;
	}
	if ((pins = calloc(sf.spec->n_actions + 1, sizeof *pins)) == NULL)
		goto out;
	for (size_t i = 0; i < sf.spec->n_actions; i++) {
		const pw_action *a = &sf.spec->actions[i];
		char hex[PW_SHA256_HEX_LEN + 1];
		memcpy(pins[i], a->sha256, sizeof pins[i]);
		char *prog = pw_specfile_program_path(&sf, a);
		pw_status st =
		        prog ? pw_file_sha256(prog, PW_PROGRAM_MAX_BYTES, hex, err, sizeof err)
		             : PW_ERR_NOMEM;
		free(prog);
		if (st != PW_OK) {
			fprintf(stderr, "%s:%u:%u: actions.%s.run.program: \"%s\": %s\n", path,
			        a->program_line, a->program_col, a->name, a->program,
			        st == PW_ERR_NOMEM ? "out of memory" : err);
			goto out;
		}
		if (strcmp(hex, a->sha256) == 0)
			continue;
		/* the pin's text is on its own line, after an optional anchor, tag or quote */
		size_t off = offset_of(buf, len, a->sha256_line, a->sha256_col);
		const char *at = NULL;
		if (off != (size_t)-1) {
			size_t eol = off;
			while (eol < len && buf[eol] != '\n' && buf[eol] != '\r')
				eol++;
			at = memmem(buf + off, eol - off, a->sha256, PW_SHA256_HEX_LEN);
		}
		if (at == NULL) {
			fprintf(stderr,
			        "%s:%u:%u: actions.%s.run.sha256: cannot locate the pin in the "
			        "text\n",
			        path, a->sha256_line, a->sha256_col, a->name);
			goto out;
		}
		printf("actions.%s: %s -> %s\n", a->name, a->sha256, hex);
		memcpy(buf + (at - buf), hex, PW_SHA256_HEX_LEN);
		memcpy(pins[i], hex, sizeof hex);
		changed++;
	}
	/* before writing: the edited text must read as the same spec with new pins */
	if (changed > 0 && !pins_verified(buf, len, sf.spec, pins)) {
		fprintf(stderr,
		        "%s: the edited text does not read back as expected; nothing written\n",
		        path);
		goto out;
	}
	if (changed > 0 && replace_file(path, buf, len) != 0) {
		fprintf(stderr, "%s: cannot write: %s\n", path, strerror(errno));
		goto out;
	}
	pw_specfile_release(&sf);
	pw_diag_release(&d);
	rc = load("pin", 1, argv, &sf, 1);
	if (rc == PW_EXIT_OK)
		printf("%zu pin%s updated; workflow_id %s\n", changed, changed == 1 ? "" : "s",
		       sf.spec->workflow_id);
out:
	pw_specfile_release(&sf);
	pw_diag_release(&d);
	free(pins);
	free(buf);
	return rc;
}
