/*
 * cmd_verify.c: export a run as JSON Lines, and verify a run against its spec.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

/* ---- verifying an export ------------------------------------------------------
 *
 * A reader thread reads the file in large blocks, cuts it into lines and
 * prepares each one (pw_verify_prepare(): the canonical reading and the
 * hash), while this thread feeds the lines prepared so far to the
 * verifier, in order. The two share a ring of NBATCH batches, so that
 * memory stays the same whatever the length of the log. A line longer
 * than an event may be is kept only up to one byte past the limit, which
 * is enough to say so.
 */

#define NBATCH      4
#define BATCH_LINES 128
#define BATCH_BYTES ((size_t)1 << 18) /* a batch holds about this much text */
#define READ_BLOCK  ((size_t)1 << 16) /* the least room given to one read() */

typedef struct batch {
	char *text; /* owned; the lines as read, newlines included */
	size_t len, cap;
	size_t n; /* lines */
	size_t off[BATCH_LINES], size[BATCH_LINES];
	pw_verify_prep *prep[BATCH_LINES]; /* owned */
	bool last;                         /* nothing follows: the end, or a failure */
	int read_errno;                    /* why reading stopped, or 0 */
	pw_status st;                      /* PW_ERR_NOMEM when preparing failed */
} batch;

typedef struct pipeline {
	/* the reader's own */
	int fd;
	bool eof, skipping; /* skipping: the rest of a line cut at its limit */
	int read_errno;
	pw_event_hasher *hasher; /* owned */
	/* the batches: each belongs to one thread at a time, handed over under mu */
	batch b[NBATCH];
	/* shared, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t filled, taken; /* batches handed over by the reader / given back */
	bool stop;              /* the verifier has seen enough */
} pipeline;

static pw_status room(batch *b, size_t need)
{
	if (b->cap - b->len >= need)
		return PW_OK;
	size_t cap = b->cap ? b->cap : BATCH_BYTES + READ_BLOCK;
	while (cap - b->len < need)
		cap *= 2;
	char *t = realloc(b->text, cap);
	if (t == NULL)
		return PW_ERR_NOMEM;
	b->text = t;
	b->cap = cap;
	return PW_OK;
}

/* One more read() at the end of b's text (a line being skipped is dropped, not kept). */
static void read_more(pipeline *p, batch *b)
{
	ssize_t k;
	do
		k = read(p->fd, b->text + b->len, b->cap - b->len);
	while (k < 0 && errno == EINTR);
	if (k < 0) {
		p->read_errno = errno;
		return;
	}
	if (k == 0) {
		p->eof = true;
		return;
	}
	char *got = b->text + b->len, *nl = p->skipping ? memchr(got, '\n', (size_t)k) : got;
	if (nl == NULL)
		return;
	if (nl != got) {
		memmove(got, nl, (size_t)(got + k - nl));
		k = got + k - nl;
	}
	p->skipping = false;
	b->len += (size_t)k;
}

/*
 * Fill b with lines after the b->len bytes it starts with (the start of a
 * line carried over); the start of a line not yet complete is left at
 * b->text[*tail..b->len).
 */
static pw_status fill(pipeline *p, batch *b, size_t *tail)
{
	size_t start = 0, scan = 0;
	b->n = 0;
	for (;;) {
		char *nl;
		while (b->n < BATCH_LINES &&
		       (nl = memchr(b->text + scan, '\n', b->len - scan)) != NULL) {
			b->off[b->n] = start;
			b->size[b->n++] = (size_t)(nl - b->text) - start;
			start = scan = (size_t)(nl - b->text) + 1;
		}
		if (b->n == BATCH_LINES || start >= BATCH_BYTES)
			break;
		scan = b->len;
		if (p->eof || p->read_errno != 0) {
			if (start < b->len) {
				b->off[b->n] = start;
				b->size[b->n++] = b->len - start;
				start = b->len;
			}
			b->last = true;
			b->read_errno = p->read_errno;
			break;
		}
		if (b->len - start > PW_EVENT_MAX_BYTES + 1) {
			b->len = scan = start + PW_EVENT_MAX_BYTES + 1;
			p->skipping = true;
		}
		PW_TRY(room(b, READ_BLOCK));
		read_more(p, b);
	}
	*tail = start;
	return PW_OK;
}

/* Wait for batch i to be free again (false: the verifier has stopped). */
static bool next_free(pipeline *p, uint64_t i)
{
	pthread_mutex_lock(&p->mu);
	while (i - p->taken >= NBATCH && !p->stop)
		pthread_cond_wait(&p->cv, &p->mu);
	bool go = !p->stop;
	pthread_mutex_unlock(&p->mu);
	return go;
}

static void *reader_main(void *arg)
{
	pipeline *p = arg;
	size_t tail = 0;
	if (!next_free(p, 0))
		return NULL;
	p->b[0].len = 0;
	for (uint64_t i = 0;; i++) {
		batch *b = &p->b[i % NBATCH], *nb = &p->b[(i + 1) % NBATCH];
		b->last = false;
		b->read_errno = 0;
		b->st = fill(p, b, &tail);
		size_t k = 0;
		for (; k < b->n && b->st == PW_OK; k++)
			b->st = pw_verify_prepare(p->hasher, b->prep[k], b->text + b->off[k],
			                          b->size[k]);
		if (b->st != PW_OK) {
			b->n = k > 0 ? k - 1 : 0; /* the lines prepared */
			b->last = true;
		}
		bool more = !b->last && next_free(p, i + 1);
		if (more) {
			/* the start of the next line goes to the next batch */
			nb->len = 0;
			b->st = room(nb, b->len - tail + READ_BLOCK);
			if (b->st == PW_OK) {
				memcpy(nb->text, b->text + tail, b->len - tail);
				nb->len = b->len - tail;
			} else {
				b->last = true;
			}
		}
		pthread_mutex_lock(&p->mu);
		p->filled = i + 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (!more || b->last)
			return NULL;
	}
}

/* Wait for batch i to be filled by the reader. */
static batch *next_filled(pipeline *p, uint64_t i)
{
	pthread_mutex_lock(&p->mu);
	while (p->filled <= i)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	return &p->b[i % NBATCH];
}

static void give_back(pipeline *p, uint64_t i)
{
	pthread_mutex_lock(&p->mu);
	p->taken = i + 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static pw_status pipeline_init(pipeline *p, int fd)
{
	memset(p, 0, sizeof *p);
	p->fd = fd;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	PW_TRY(pw_event_hasher_new(&p->hasher));
	for (size_t i = 0; i < NBATCH; i++) {
		PW_TRY(room(&p->b[i], READ_BLOCK));
		for (size_t k = 0; k < BATCH_LINES; k++)
			PW_TRY(pw_verify_prep_new(&p->b[i].prep[k]));
	}
	return PW_OK;
}

static void pipeline_release(pipeline *p)
{
	for (size_t i = 0; i < NBATCH; i++) {
		for (size_t k = 0; k < BATCH_LINES; k++)
			pw_verify_prep_free(p->b[i].prep[k]);
		free(p->b[i].text);
	}
	pw_event_hasher_free(p->hasher);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
}

/* Whether the line after line k of batch i is a JSON object. */
static bool next_is_event(pipeline *p, uint64_t i, size_t k)
{
	batch *b = &p->b[i % NBATCH];
	const pw_json_limits lim = {PW_EVENT_MAX_BYTES, 128};
	if (k + 1 >= b->n) {
		if (b->last)
			return false;
		give_back(p, i);
		b = next_filled(p, i + 1);
		k = (size_t)-1;
	}
	json_t *ev = NULL;
	bool yes = b->n > k + 1 && b->size[k + 1] > 0 && b->size[k + 1] <= PW_EVENT_MAX_BYTES &&
	           pw_json_parse(b->text + b->off[k + 1], b->size[k + 1], &lim, &ev, NULL, 0) ==
	                   PW_OK &&
	           json_is_object(ev);
	json_decref(ev);
	return yes;
}

/* Verify the lines of the pipeline in order; returns the exit status. */
static int verify_lines(pipeline *p, const char *path, pw_verifier *v)
{
	char perr[256];
	uint64_t lineno = 0;
	for (uint64_t i = 0;; i++) {
		batch *b = next_filled(p, i);
		for (size_t k = 0; k < b->n; k++) {
			lineno++;
			pw_status st = pw_verify_line(v, b->prep[k], perr, sizeof perr);
			if (st == PW_ERR_NOMEM) {
				pw_cli_error("verify", "cannot verify: %s", pw_status_name(st));
				return PW_EXIT_FAILURE;
			}
			if (st != PW_OK) {
				/* a first line that does not parse is a damaged log only if a
				 * second does */
				if (lineno == 1 && !next_is_event(p, i, k)) {
					pw_cli_error("verify",
					             "%s: line 1 is not a JSON object (%s): not a "
					             "pitwall export",
					             path, perr);
					return PW_EXIT_USAGE;
				}
				printf("VIOLATION at event %llu: format: line %llu is not a JSON "
				       "object: %s\n",
				       (unsigned long long)(lineno - 1), (unsigned long long)lineno,
				       perr);
				return PW_EXIT_FAILURE;
			}
			if (!pw_verify_report_get(v)->valid)
				return PW_EXIT_OK;
		}
		if (b->st != PW_OK) {
			pw_cli_error("verify", "cannot verify: %s", pw_status_name(b->st));
			return PW_EXIT_FAILURE;
		}
		if (b->last) {
			if (b->read_errno == 0)
				return PW_EXIT_OK;
			pw_cli_error("verify", "%s: read error", path);
			return PW_EXIT_USAGE;
		}
		give_back(p, i);
	}
}

/* Verify the JSON Lines file path; returns the exit status. */
static int verify_file(const char *path, pw_verifier *v)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pw_cli_error("verify", "%s: %s", path, strerror(errno));
		return PW_EXIT_USAGE;
	}
	pipeline p;
	pthread_t reader;
	int rc = PW_EXIT_FAILURE;
	if (pipeline_init(&p, fd) != PW_OK || pthread_create(&reader, NULL, reader_main, &p) != 0) {
		pw_cli_error("verify", "cannot verify: %s", pw_status_name(PW_ERR_NOMEM));
		goto out;
	}
	rc = verify_lines(&p, path, v);
	pthread_mutex_lock(&p.mu);
	p.stop = true;
	pthread_cond_broadcast(&p.cv);
	pthread_mutex_unlock(&p.mu);
	pthread_join(reader, NULL);
out:
	pipeline_release(&p);
	if (fd != STDIN_FILENO)
		close(fd);
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
