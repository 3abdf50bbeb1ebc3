/*
 * mcp.h: a Model Context Protocol server for one run (docs/MCP.md).
 *
 * The transport is the caller's: it hands over each line it received
 * (one JSON-RPC 2.0 message) and gets back, through a write function, the
 * lines to send (responses and notifications, one JSON text each, without
 * the newline). Requests are handled one at a time, in order; a tools/call
 * returns when the action has run and its result is recorded.
 *
 * Tools are the spec's actions (each with its input schema) and one
 * read-only tool, pitwall_status. Every tools/call of an action goes
 * through the broker's pipeline (broker.h), exactly as `pitwall call`:
 * the verdict is recorded before anything runs, an unknown name is an
 * UNKNOWN_ACTION policy violation, and so on.
 */
#ifndef PW_MCP_MCP_H
#define PW_MCP_MCP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/spec.h"

/* The longest message a session reads; a longer line gets an error and is skipped. */
#define PW_MCP_LINE_MAX ((size_t)4 << 20)

/* The read-only tool that reports the run's state. Spec actions cannot take this name. */
#define PW_MCP_STATUS_TOOL "pitwall_status"

typedef struct pw_mcp pw_mcp;

typedef struct pw_mcp_opts {
	const pw_spec *spec;      /* borrowed: the run's pinned spec, loaded by the caller */
	const char *db_path;      /* the ledger */
	const char *run_id;       /* the run, which must pin spec */
	const char *agent;        /* who calls (NULL: the broker's default) */
	const char *secrets_path; /* NULL: none */
	bool list_all;            /* tools/list: every action, legal ones marked */
	const char *version;      /* serverInfo.version */
	const volatile sig_atomic_t *cancel; /* see pw_broker_opts */
} pw_mcp_opts;

/* Send one line (no newline); non-zero when it cannot be sent, which ends the session. */
typedef int (*pw_mcp_write_fn)(void *arg, const char *line, size_t len);

/*
 * Open a session on run o->run_id. PW_ERR_NOTFOUND: no such run or ledger;
 * PW_ERR_INVALID: the run does not pin o->spec (err says which it pins);
 * others from pw_broker_open().
 */
PW_MUST_CHECK pw_status pw_mcp_open(const pw_mcp_opts *o, pw_mcp **out, char *err, size_t errlen);
void pw_mcp_close(pw_mcp *m);

/*
 * Handle one received line (without its newline). Writes the response, if
 * the message asks for one, and a notifications/tools/list_changed when
 * the set of legal actions changed. PW_OK, or PW_ERR_IO when a write
 * failed (the peer is gone), or PW_ERR_NOMEM.
 */
PW_MUST_CHECK pw_status pw_mcp_handle(pw_mcp *m, const char *line, size_t len, pw_mcp_write_fn w,
                                      void *arg);

/*
 * Called when the client has been quiet for a while: sends
 * notifications/tools/list_changed if another process moved the run.
 */
PW_MUST_CHECK pw_status pw_mcp_idle(pw_mcp *m, pw_mcp_write_fn w, void *arg);

/* Answer a line that was longer than PW_MCP_LINE_MAX (and skipped). */
PW_MUST_CHECK pw_status pw_mcp_too_long(pw_mcp *m, pw_mcp_write_fn w, void *arg);

#endif
