/*
 * cmd_mcp.c: pitwall mcp, an MCP server on stdin and stdout (docs/MCP.md).
 *
 * stdout carries only protocol messages, one JSON text per line; anything
 * for people goes to stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/broker.h"
#include "cli/cli.h"
#include "io/specfile.h"
#include "mcp/mcp.h"

#define DEFAULT_DB ".pitwall/pitwall.db"

/* How often a quiet session checks whether the run moved. */
#define IDLE_POLL_MS 1000

/* Set by SIGINT, SIGTERM and SIGHUP: a running program is stopped and recorded, then we exit. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: a blocked read returns EINTR */
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN; /* a client that went away is a failed write, not a death */
	(void)sigaction(SIGPIPE, &sa, NULL);
}

typedef struct mcp_args {
	const char *spec, *db, *run, *as, *secrets, *list;
	bool new_run;
} mcp_args;

static bool parse_args(int argc, char **argv, mcp_args *a)
{
	memset(a, 0, sizeof *a);
	a->db = DEFAULT_DB;
	for (int i = 0; i < argc; i++) {
		const char **slot = NULL;
		if (strcmp(argv[i], "--new-run") == 0) {
			a->new_run = true;
			continue;
		}
		if (strcmp(argv[i], "--spec") == 0)
			slot = &a->spec;
		else if (strcmp(argv[i], "--db") == 0)
			slot = &a->db;
		else if (strcmp(argv[i], "--run") == 0)
			slot = &a->run;
		else if (strcmp(argv[i], "--as") == 0)
			slot = &a->as;
		else if (strcmp(argv[i], "--secrets") == 0)
			slot = &a->secrets;
		else if (strcmp(argv[i], "--list") == 0)
			slot = &a->list;
		if (slot == NULL) {
			pw_cli_error("mcp", "unexpected argument \"%.80s\"", argv[i]);
			return false;
		}
		if (i + 1 >= argc) {
			pw_cli_error("mcp", "%s needs a value", argv[i]);
			return false;
		}
		*slot = argv[++i];
	}
	if (a->spec == NULL || (a->run == NULL) == !a->new_run) {
		pw_cli_error("mcp", "give --spec SPEC and one of --run RUN or --new-run");
		return false;
	}
	if (a->list != NULL && strcmp(a->list, "legal") != 0 && strcmp(a->list, "all") != 0) {
		pw_cli_error("mcp", "--list is legal or all, not \"%.40s\"", a->list);
		return false;
	}
	return true;
}

/*
 * Write all of buf to fd. Once a signal asked us to stop, fd turns
 * non-blocking: what the client still reads is written (the answer to a
 * call the signal cut short), but a client that stopped reading cannot
 * hold pitwall.
 */
static int write_all(int fd, const char *buf, size_t len)
{
	int fl = -1, rc = 0;
	while (len > 0) {
		if (interrupted && fl < 0) {
			fl = fcntl(fd, F_GETFL);
			if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
				rc = -1;
				break;
			}
		}
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -1;
			break;
		}
		buf += n;
		len -= (size_t)n;
	}
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl); /* the file description may be shared: put it back */
	return rc;
}

/* One message and its newline, unbuffered: a blocked write never hides a SIGTERM. */
static int write_line(void *arg, const char *line, size_t len)
{
	(void)arg;
	if (write_all(STDOUT_FILENO, line, len) != 0 || write_all(STDOUT_FILENO, "\n", 1) != 0)
		return -1;
	return 0;
}

/*
 * Read stdin in chunks and hand over each line. A line longer than
 * PW_MCP_LINE_MAX is skipped up to its newline (never held whole) and
 * answered with an error. Returns the exit status.
 */
static int serve(pw_mcp *m)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	bool skipping = false;
	int rc = PW_EXIT_OK;
	if (buf == NULL)
		return PW_EXIT_FAILURE;
	while (!interrupted) {
		if (len == cap) {
			/* only reached while under the limit: grow */
			size_t ncap = cap * 2 > PW_MCP_LINE_MAX + 1 ? PW_MCP_LINE_MAX + 1 : cap * 2;
			char *p = realloc(buf, ncap);
			if (p == NULL) {
				rc = PW_EXIT_FAILURE;
				break;
			}
			buf = p;
			cap = ncap;
		}
		/* while the client is quiet, look for changes other processes make to the run */
		struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
		int pr = poll(&pfd, 1, IDLE_POLL_MS);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0) {
			pw_status ist = pw_mcp_idle(m, write_line, NULL);
			if (ist == PW_ERR_IO)
				break;
			continue;
		}
		ssize_t n = read(STDIN_FILENO, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "pitwall mcp: cannot read stdin: %s\n", strerror(errno));
			rc = PW_EXIT_FAILURE;
			break;
		}
		if (n == 0)
			break; /* the client closed the session; a last line without newline is
			          dropped */
		len += (size_t)n;
		size_t start = 0;
		pw_status st = PW_OK;
		for (;;) {
			char *nl = memchr(buf + start, '\n', len - start);
			if (nl == NULL)
				break;
			size_t l = (size_t)(nl - (buf + start));
			if (skipping)
				skipping = false;
			else if (l > 0 && !(l == 1 && buf[start] == '\r'))
				st = pw_mcp_handle(m, buf + start, l, write_line, NULL);
			start += l + 1;
			if (st != PW_OK || interrupted)
				break;
		}
		memmove(buf, buf + start, len - start);
		len -= start;
		if (st == PW_OK && len > PW_MCP_LINE_MAX) {
			if (!skipping)
				st = pw_mcp_too_long(m, write_line, NULL);
			skipping = true;
			len = 0;
		}
		if (st == PW_ERR_IO)
			break; /* the client stopped reading */
		if (st != PW_OK) {
			fprintf(stderr, "pitwall mcp: %s\n", pw_status_name(st));
			rc = PW_EXIT_FAILURE;
			break;
		}
	}
	free(buf);
	return rc;
}

int pw_cmd_mcp(int argc, char **argv)
{
	mcp_args a;
	if (!parse_args(argc, argv, &a))
		return pw_cli_usage("mcp");
	catch_signals();

	pw_specfile sf;
	pw_diag d = PW_DIAG_INIT;
	if (pw_specfile_load(a.spec, &sf, &d) != PW_OK) {
		pw_cli_print_diag(a.spec, &d);
		pw_diag_release(&d);
		return PW_EXIT_USAGE;
	}
	pw_diag_release(&d);

	char err[1024], run_id[80];
	int rc = PW_EXIT_USAGE;
	if (a.new_run) {
		json_t *reply = NULL;
		if (strcmp(a.db, DEFAULT_DB) == 0 && mkdir(".pitwall", 0700) != 0 &&
		    errno != EEXIST) {
			pw_cli_error("mcp", "cannot create .pitwall: %s", strerror(errno));
			goto out;
		}
		if (pw_broker_start(a.db, a.spec, NULL, a.as ? a.as : "operator", &reply, err,
		                    sizeof err) != PW_OK) {
			pw_cli_error("mcp", "%s", err);
			goto out;
		}
		snprintf(run_id, sizeof run_id, "%s",
		         json_string_value(json_object_get(reply, "run_id")));
		json_decref(reply);
		fprintf(stderr, "pitwall mcp: started run %s\n", run_id);
	} else {
		snprintf(run_id, sizeof run_id, "%s", a.run);
	}

	pw_mcp_opts mo = {
	        .spec = sf.spec,
	        .db_path = a.db,
	        .run_id = run_id,
	        .agent = a.as,
	        .secrets_path = a.secrets,
	        .list_all = a.list != NULL && strcmp(a.list, "all") == 0,
	        .version = PW_VERSION,
	        .cancel = &interrupted,
	};
	pw_mcp *m = NULL;
	if (access(a.db, F_OK) != 0) {
		pw_cli_error("mcp", "no ledger at %s", a.db);
		goto out;
	}
	if (pw_mcp_open(&mo, &m, err, sizeof err) != PW_OK) {
		pw_cli_error("mcp", "%s", err);
		goto out;
	}
	fprintf(stderr, "pitwall mcp: serving run %s of workflow %s on stdio\n", run_id,
	        sf.spec->workflow_id);
	rc = serve(m);
	pw_mcp_close(m);
out:
	pw_specfile_release(&sf);
	return rc;
}
