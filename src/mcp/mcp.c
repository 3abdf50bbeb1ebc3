#include "mcp/mcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/broker.h"
#include "core/event.h"
#include "core/json.h"

/* Protocol revisions spoken, newest first; an unknown request gets the newest. */
static const char *const versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

/* JSON-RPC 2.0 error codes. */
#define RPC_PARSE_ERROR      (-32700)
#define RPC_INVALID_REQUEST  (-32600)
#define RPC_METHOD_NOT_FOUND (-32601)
#define RPC_INVALID_PARAMS   (-32602)
#define RPC_INTERNAL_ERROR   (-32603)

/* Calls shown by pitwall_status. */
#define RECENT_CALLS 10

struct pw_mcp {
	const pw_spec *spec; /* borrowed */
	pw_broker *b;        /* owned */
	bool list_all;
	char version[32];
	bool initialized;   /* initialize was answered */
	json_t *advertised; /* owned; the legal action names the client last saw, or NULL */
	pw_mcp_write_fn w;  /* for the message being handled */
	void *warg;
	bool write_failed;
};

pw_status pw_mcp_open(const pw_mcp_opts *o, pw_mcp **out, char *err, size_t errlen)
{
	*out = NULL;
	if (o->spec == NULL || o->run_id == NULL)
		return PW_ERR_INTERNAL;
	for (size_t i = 0; i < o->spec->n_actions; i++)
		if (strcmp(o->spec->actions[i].name, PW_MCP_STATUS_TOOL) == 0) {
			snprintf(err, errlen,
			         "the spec has an action named %s, a name pitwall's "
			         "status tool takes",
			         PW_MCP_STATUS_TOOL);
			return PW_ERR_INVALID;
		}
	pw_mcp *m = calloc(1, sizeof *m);
	if (m == NULL)
		return PW_ERR_NOMEM;
	m->spec = o->spec;
	m->list_all = o->list_all;
	snprintf(m->version, sizeof m->version, "%s", o->version ? o->version : "0");
	pw_broker_opts bo = {.db_path = o->db_path,
	                     .agent = o->agent,
	                     .secrets_path = o->secrets_path,
	                     .cancel = o->cancel,
	                     .for_calls = true};
	pw_status st = pw_broker_open(&bo, o->run_id, &m->b, err, errlen);
	json_t *status = NULL;
	if (st == PW_OK)
		st = pw_broker_status(m->b, &status, err, errlen);
	if (st == PW_OK) {
		const char *pinned = json_string_value(json_object_get(status, "workflow_id"));
		if (pinned == NULL || strcmp(pinned, o->spec->workflow_id) != 0) {
			snprintf(err, errlen,
			         "run %s pins workflow %s, not this spec (%s): give the spec the "
			         "run was started with",
			         o->run_id, pinned ? pinned : "?", o->spec->workflow_id);
			st = PW_ERR_INVALID;
		}
	}
	json_decref(status);
	if (st != PW_OK) {
		pw_mcp_close(m);
		return st;
	}
	*out = m;
	return PW_OK;
}

void pw_mcp_close(pw_mcp *m)
{
	if (m == NULL)
		return;
	pw_broker_close(m->b);
	json_decref(m->advertised);
	free(m);
}

/* ---- sending ---------------------------------------------------------------- */

/* Send msg (stolen) as one line. */
static pw_status send_msg(pw_mcp *m, json_t *msg)
{
	if (msg == NULL)
		return PW_ERR_NOMEM;
	if (m->write_failed) {
		json_decref(msg);
		return PW_ERR_IO;
	}
	char *s = NULL;
	size_t n = 0;
	pw_status st = pw_jcs_dump(msg, 0, &s, &n);
	json_decref(msg);
	if (st != PW_OK)
		return st;
	if (m->w(m->warg, s, n) != 0) {
		m->write_failed = true;
		st = PW_ERR_IO;
	}
	free(s);
	return st;
}

/* id: borrowed; NULL for a response to a message whose id could not be read. */
static pw_status send_result(pw_mcp *m, const json_t *id, json_t *result)
{
	if (result == NULL)
		return PW_ERR_NOMEM;
	return send_msg(m, json_pack("{ss sO so}", "jsonrpc", "2.0", "id",
	                             id ? (json_t *)id : json_null(), "result", result));
}

static pw_status send_error(pw_mcp *m, const json_t *id, int code, const char *message)
{
	return send_msg(m, json_pack("{ss sO s{si ss}}", "jsonrpc", "2.0", "id",
	                             id ? (json_t *)id : json_null(), "error", "code", code,
	                             "message", message));
}

/* ---- the legal actions -------------------------------------------------------- */

static bool in_from(const pw_action *a, const char *state)
{
	size_t i;
	const json_t *s;
	json_array_foreach (json_object_get(a->def, "from"), i, s)
		if (json_is_string(s) && strcmp(json_string_value(s), state) == 0)
			return true;
	return false;
}

/* Whether the run's state (from status) lets action a be called. */
static bool legal(const pw_action *a, const json_t *status)
{
	const char *state = json_string_value(json_object_get(status, "state"));
	return state != NULL && !json_is_true(json_object_get(status, "halted")) &&
	       in_from(a, state);
}

static json_t *legal_names(const pw_mcp *m, const json_t *status)
{
	json_t *names = json_array();
	for (size_t i = 0; names != NULL && i < m->spec->n_actions; i++)
		if (legal(&m->spec->actions[i], status) &&
		    json_array_append_new(names, json_string(m->spec->actions[i].name)) != 0) {
			json_decref(names);
			return NULL;
		}
	return names;
}

/*
 * After each message once initialized: tell the client when the legal
 * actions differ from what it last saw (a call of this session or of
 * another process moved the run).
 */
static pw_status notify_if_changed(pw_mcp *m)
{
	char err[512];
	json_t *status = NULL;
	if (!m->initialized || m->advertised == NULL)
		return PW_OK;
	pw_status st = pw_broker_status(m->b, &status, err, sizeof err);
	if (st != PW_OK)
		return st == PW_ERR_NOMEM ? st : PW_OK; /* the next message tries again */
	json_t *now = legal_names(m, status);
	json_decref(status);
	if (now == NULL)
		return PW_ERR_NOMEM;
	if (json_equal(now, m->advertised)) {
		json_decref(now);
		return PW_OK;
	}
	json_decref(m->advertised);
	m->advertised = now;
	return send_msg(m, json_pack("{ss ss}", "jsonrpc", "2.0", "method",
	                             "notifications/tools/list_changed"));
}

/* ---- methods ------------------------------------------------------------------ */

static pw_status do_initialize(pw_mcp *m, const json_t *id, const json_t *params)
{
	const char *asked = json_string_value(json_object_get(params, "protocolVersion"));
	if (asked == NULL)
		return send_error(m, id, RPC_INVALID_PARAMS,
		                  "initialize: params.protocolVersion must be a string");
	const char *v = versions[0];
	for (size_t i = 0; i < sizeof versions / sizeof *versions; i++)
		if (strcmp(asked, versions[i]) == 0)
			v = versions[i];
	const char *wf = json_string_value(json_object_get(m->spec->model, "name"));
	char text[1024];
	snprintf(text, sizeof text,
	         "The tools are the actions of workflow %s, and only they can be called. By "
	         "default only the actions legal in the run's current state are listed; the "
	         "list changes as the run moves (notifications/tools/list_changed). Every call "
	         "is decided and recorded before anything runs: allow (it runs now), approval "
	         "(it waits for the named owner), block (it stops; the owner decides) or "
	         "reject (a check failed; the result names it, with what was expected and "
	         "what was found). Call %s for the state, the capabilities held, pending "
	         "approvals and recent verdicts.",
	         wf ? wf : "?", PW_MCP_STATUS_TOOL);
	json_t *result =
	        json_pack("{ss s{s{sb}} s{ss ss ss} ss}", "protocolVersion", v, "capabilities",
	                  "tools", "listChanged", 1, "serverInfo", "name", "pitwall", "title",
	                  "pitwall governed actions", "version", m->version, "instructions", text);
	pw_status st = send_result(m, id, result);
	if (st == PW_OK)
		m->initialized = true;
	return st;
}

static json_t *tool_of(const pw_action *a, bool list_all, bool is_legal, const char *state)
{
	const char *desc = json_string_value(json_object_get(a->def, "description"));
	char buf[2048];
	if (list_all && !is_legal) {
		snprintf(buf, sizeof buf, "[not callable in state %s] %s", state ? state : "?",
		         desc ? desc : "");
		desc = buf;
	}
	json_t *t = json_pack("{ss sO}", "name", a->name, "inputSchema",
	                      json_object_get(a->def, "input"));
	if (t == NULL)
		return NULL;
	if ((desc != NULL && json_object_set_new(t, "description", json_string(desc)) != 0) ||
	    (list_all &&
	     json_object_set_new(t, "_meta", json_pack("{sb}", "dev.pitwall/legal", is_legal)))) {
		json_decref(t);
		return NULL;
	}
	return t;
}

static json_t *status_tool(void)
{
	return json_pack("{ss ss s{ss s{} sb} s{sb sb}}", "name", PW_MCP_STATUS_TOOL, "description",
	                 "The run's state, the actions legal in it, capabilities held, calls "
	                 "in progress or in doubt, pending approvals (with their ids and "
	                 "expiry) and the last verdicts. Read-only; it is not recorded.",
	                 "inputSchema", "type", "object", "properties", "additionalProperties", 0,
	                 "annotations", "readOnlyHint", 1, "openWorldHint", 0);
}

static pw_status do_tools_list(pw_mcp *m, const json_t *id)
{
	char err[512];
	json_t *status = NULL;
	pw_status st = pw_broker_status(m->b, &status, err, sizeof err);
	if (st != PW_OK)
		return st == PW_ERR_NOMEM ? st : send_error(m, id, RPC_INTERNAL_ERROR, err);
	const char *state = json_string_value(json_object_get(status, "state"));
	json_t *tools = json_array(), *names = legal_names(m, status);
	st = tools && names ? PW_OK : PW_ERR_NOMEM;
	for (size_t i = 0; st == PW_OK && i < m->spec->n_actions; i++) {
		const pw_action *a = &m->spec->actions[i];
		bool ok = legal(a, status);
		if (!ok && !m->list_all)
			continue;
		if (json_array_append_new(tools, tool_of(a, m->list_all, ok, state)) != 0)
			st = PW_ERR_NOMEM;
	}
	if (st == PW_OK && json_array_append_new(tools, status_tool()) != 0)
		st = PW_ERR_NOMEM;
	json_decref(status);
	if (st != PW_OK) {
		json_decref(tools);
		json_decref(names);
		return st;
	}
	json_decref(m->advertised);
	m->advertised = names;
	return send_result(m, id, json_pack("{so}", "tools", tools));
}

/* A tool result: text for people, the same facts as structured content. */
static json_t *tool_result(const char *text, json_t *structured, bool is_error)
{
	return json_pack("{s[{ss ss}] so sb}", "content", "type", "text", "text", text,
	                 "structuredContent", structured, "isError", is_error);
}

static pw_status do_status(pw_mcp *m, const json_t *id)
{
	char err[512];
	json_t *status = NULL, *recent = NULL;
	pw_status st = pw_broker_status(m->b, &status, err, sizeof err);
	if (st == PW_OK)
		st = pw_broker_recent(m->b, RECENT_CALLS, &recent, err, sizeof err);
	if (st != PW_OK) {
		json_decref(status);
		return st == PW_ERR_NOMEM ? st : send_error(m, id, RPC_INTERNAL_ERROR, err);
	}
	/* paths on pitwall's machine are not the agent's business */
	(void)json_object_del(status, "spec");
	(void)json_object_del(status, "run_dir");
	json_t *names = legal_names(m, status);
	if (names == NULL || json_object_set_new(status, "legal_actions", names) != 0 ||
	    json_object_set_new(status, "recent_calls", recent) != 0) {
		json_decref(status);
		return PW_ERR_NOMEM;
	}
	char *text = json_dumps(status, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text == NULL) {
		json_decref(status);
		return PW_ERR_NOMEM;
	}
	st = send_result(m, id, tool_result(text, status, false));
	free(text);
	return st;
}

/* Compact JSON of member key of o, cut to fit, or "" when absent. */
static void show(const json_t *o, const char *key, char *buf, size_t len)
{
	const json_t *v = json_object_get(o, key);
	char *s = NULL;
	size_t n = 0;
	if (v == NULL || pw_jcs_dump(v, 0, &s, &n) != PW_OK)
		s = NULL;
	snprintf(buf, len, "%s", s ? s : "");
	free(s);
	pw_utf8_trim(buf);
}

/* The reply of a call as a few lines of text. */
static char *call_text(const json_t *r, const char *note)
{
	const char *verdict = json_string_value(json_object_get(r, "verdict"));
	const char *reason = json_string_value(json_object_get(r, "reason"));
	const char *message = json_string_value(json_object_get(r, "message"));
	const char *state = json_string_value(json_object_get(r, "state"));
	const char *outcome = json_string_value(json_object_get(r, "outcome"));
	char exp[1024], act[1024], res[4096], when[32] = "?", *out = NULL;
	show(r, "expected", exp, sizeof exp);
	show(r, "actual", act, sizeof act);
	show(r, "result", res, sizeof res);
	verdict = verdict ? verdict : "?";
	reason = reason ? reason : "?";
	message = message ? message : "";
	state = state ? state : "?";
	int n = -1;
	if (strcmp(verdict, "allow") == 0 && outcome && strcmp(outcome, "ok") == 0)
		n = asprintf(&out, "ok: %s. The run is now in state %s.%s%s", message, state,
		             res[0] ? "\nresult: " : "", res);
	else if (strcmp(verdict, "allow") == 0)
		n = asprintf(&out, "failed (%s): %s. The run is in state %s.", reason, message,
		             state);
	else if (strcmp(verdict, "approval") == 0) {
		int64_t exp_ms = pw_event_int(r, "expires_ms");
		time_t t = (time_t)(exp_ms / 1000);
		struct tm tm;
		if (exp_ms > 0 && gmtime_r(&t, &tm) != NULL)
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		n = asprintf(&out,
		             "approval: %s. Nothing has run. Approval id %s, for owner %s, "
		             "expires %s. Call %s to see whether it is still pending.",
		             message, json_string_value(json_object_get(r, "approval_id")),
		             json_string_value(json_object_get(r, "owner")), when,
		             PW_MCP_STATUS_TOOL);
	} else if (strcmp(verdict, "block") == 0)
		n = asprintf(&out, "blocked (%s): %s. Nothing has run.", reason, message);
	else
		n = asprintf(&out, "rejected (%s): %s. Nothing has run.\ncheck: %s%s%s%s%s", reason,
		             message, json_string_value(json_object_get(r, "check")),
		             exp[0] ? "\nexpected: " : "", exp, act[0] ? "\nactual: " : "", act);
	if (n >= 0 && json_is_true(json_object_get(r, "halted"))) {
		char *more = NULL;
		n = asprintf(
		        &more, "%s\n%s", out,
		        json_is_true(json_object_get(r, "frozen"))
		                ? "The run is frozen after a policy violation: no action will "
		                  "run in it again."
		                : "The run is halted: no action can run until an owner resumes "
		                  "it.");
		free(out);
		out = n >= 0 ? more : NULL;
	}
	if (n >= 0 && note != NULL) {
		char *more = NULL;
		n = asprintf(&more, "%s\n%s", out, note);
		free(out);
		out = n >= 0 ? more : NULL;
	}
	return n >= 0 ? out : NULL;
}

static pw_status do_tools_call(pw_mcp *m, const json_t *id, const json_t *params)
{
	const char *name = json_string_value(json_object_get(params, "name"));
	const json_t *args = json_object_get(params, "arguments");
	if (name == NULL)
		return send_error(m, id, RPC_INVALID_PARAMS,
		                  "tools/call: params.name must be a string");
	if (strcmp(name, PW_MCP_STATUS_TOOL) == 0)
		return do_status(m, id);

	/* the arguments go to the pipeline as they came, whatever they are: it decides */
	char *input = NULL, err[1024] = "";
	size_t len = 0;
	pw_status st = args ? pw_jcs_dump(args, 0, &input, &len) : PW_OK;
	if (st == PW_ERR_NOMEM)
		return st;
	if (st != PW_OK || input == NULL) {
		free(input);
		input = strdup("{}");
		len = 2;
		if (input == NULL)
			return PW_ERR_NOMEM;
	}
	json_t *reply = NULL, *status = NULL;
	st = pw_broker_call(m->b, name, input, len, &reply, err, sizeof err);
	free(input);
	if (reply == NULL)
		return st == PW_ERR_NOMEM ? st
		                          : send_error(m, id, RPC_INTERNAL_ERROR,
		                                       err[0] ? err : "the call could not be made");
	char err2[512];
	if (pw_broker_status(m->b, &status, err2, sizeof err2) == PW_OK)
		(void)json_object_set(reply, "halted", json_object_get(status, "halted"));
	json_decref(status);
	char note[1200];
	snprintf(
	        note, sizeof note,
	        "The result is recorded, but pitwall failed after it (%s); check the run's status.",
	        err);
	char *text = call_text(reply, st == PW_OK ? NULL : note);
	const char *verdict = json_string_value(json_object_get(reply, "verdict"));
	const char *outcome = json_string_value(json_object_get(reply, "outcome"));
	bool is_error =
	        st != PW_OK || verdict == NULL || strcmp(verdict, "reject") == 0 ||
	        strcmp(verdict, "block") == 0 ||
	        (strcmp(verdict, "allow") == 0 && (outcome == NULL || strcmp(outcome, "ok")));
	if (text == NULL) {
		json_decref(reply);
		return PW_ERR_NOMEM;
	}
	pw_status sst = send_result(m, id, tool_result(text, reply, is_error));
	free(text);
	return sst;
}

/* ---- dispatch ------------------------------------------------------------------ */

static bool valid_id(const json_t *id)
{
	double d;
	return json_is_string(id) || (pw_json_number(id, &d) && d == (double)(long long)d &&
	                              d > -9007199254740992.0 && d < 9007199254740992.0);
}

static pw_status dispatch(pw_mcp *m, const char *line, size_t len)
{
	json_t *msg = NULL;
	char perr[256];
	pw_json_limits lim = {PW_MCP_LINE_MAX, 64};
	pw_status st = pw_json_parse(line, len, &lim, &msg, perr, sizeof perr);
	if (st == PW_ERR_NOMEM)
		return st;
	if (st != PW_OK) {
		char text[320];
		snprintf(text, sizeof text, "Parse error: %s", perr);
		return send_error(m, NULL, RPC_PARSE_ERROR, text);
	}
	if (!json_is_object(msg)) {
		bool batch = json_is_array(msg);
		json_decref(msg);
		return send_error(m, NULL, RPC_INVALID_REQUEST,
		                  batch ? "Invalid Request: batches are not supported"
		                        : "Invalid Request: not a JSON object");
	}
	const json_t *id = json_object_get(msg, "id");
	const json_t *method = json_object_get(msg, "method");
	const json_t *params = json_object_get(msg, "params");
	const char *jsonrpc = json_string_value(json_object_get(msg, "jsonrpc"));
	const char *mname = json_string_value(method);

	if (id != NULL && !valid_id(id))
		st = send_error(m, NULL, RPC_INVALID_REQUEST,
		                "Invalid Request: id must be a string or an integer");
	else if (jsonrpc == NULL || strcmp(jsonrpc, "2.0") != 0)
		st = send_error(m, id, RPC_INVALID_REQUEST,
		                "Invalid Request: jsonrpc must be \"2.0\"");
	else if (method == NULL && id != NULL &&
	         (json_object_get(msg, "result") != NULL || json_object_get(msg, "error") != NULL))
		st = PW_OK; /* a response: pitwall sends no requests, so nothing waits for it */
	else if (method == NULL)
		st = send_error(m, id, RPC_INVALID_REQUEST, "Invalid Request: no method");
	else if (mname == NULL)
		st = send_error(m, id, RPC_INVALID_REQUEST,
		                "Invalid Request: method must be a string");
	else if (id == NULL)
		st = PW_OK; /* notifications: initialized, cancelled, ... need no answer */
	else if (params != NULL && !json_is_object(params))
		st = send_error(m, id, RPC_INVALID_PARAMS,
		                "Invalid params: params must be an object");
	else if (strcmp(mname, "ping") == 0)
		st = send_result(m, id, json_object());
	else if (strcmp(mname, "initialize") == 0)
		st = do_initialize(m, id, params);
	else if (!m->initialized &&
	         (strcmp(mname, "tools/list") == 0 || strcmp(mname, "tools/call") == 0))
		st = send_error(m, id, RPC_INVALID_REQUEST,
		                "Invalid Request: the session is not initialized; send initialize "
		                "first");
	else if (strcmp(mname, "tools/list") == 0)
		st = do_tools_list(m, id);
	else if (strcmp(mname, "tools/call") == 0)
		st = do_tools_call(m, id, params);
	else {
		char text[200];
		snprintf(text, sizeof text, "Method not found: %.100s", mname);
		pw_utf8_trim(text);
		st = send_error(m, id, RPC_METHOD_NOT_FOUND, text);
	}
	json_decref(msg);
	return st;
}

pw_status pw_mcp_handle(pw_mcp *m, const char *line, size_t len, pw_mcp_write_fn w, void *arg)
{
	m->w = w;
	m->warg = arg;
	pw_status st = dispatch(m, line, len);
	if (st == PW_OK)
		st = notify_if_changed(m);
	return st;
}

pw_status pw_mcp_idle(pw_mcp *m, pw_mcp_write_fn w, void *arg)
{
	m->w = w;
	m->warg = arg;
	return notify_if_changed(m);
}

pw_status pw_mcp_too_long(pw_mcp *m, pw_mcp_write_fn w, void *arg)
{
	char text[120];
	m->w = w;
	m->warg = arg;
	snprintf(text, sizeof text, "Invalid Request: a message over %zu bytes was skipped",
	         PW_MCP_LINE_MAX);
	return send_error(m, NULL, RPC_INVALID_REQUEST, text);
}
