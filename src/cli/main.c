/*
 * main.c: pitwall's entry point: finds the subcommand and runs it.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const pw_command commands[] = {
        {"check", pw_cmd_check,
         "check SPEC      validate a workflow spec and print its workflow_id",
         "usage: pitwall check SPEC\n"
         "\n"
         "Validate the workflow spec SPEC (a YAML file, see docs/SPEC.md) and print\n"
         "\n"
         "    workflow_id sha256:<64 hex digits>\n"
         "\n"
         "Checks: strict YAML (unknown keys, wrong types and duplicate keys are errors),\n"
         "states and transitions, owners, input schemas, conditions, argv templates,\n"
         "capabilities available before they are required, and that every executor\n"
         "program exists and matches its sha256 pin. Problems are printed to stderr as\n"
         "FILE:LINE:COL: message. Warnings (such as unreachable actions) do not fail.\n"
         "\n"
         "Exit status: 0 valid, 2 invalid or unreadable.\n"},
        {"id", pw_cmd_id, "id SPEC         print only the workflow_id of a valid spec",
         "usage: pitwall id SPEC\n"
         "\n"
         "Print the workflow_id of SPEC, \"sha256:\" followed by the SHA-256 of the\n"
         "RFC 8785 canonical JSON of the spec's model. Reformatting the YAML (key\n"
         "order, quotes, flow or block style, comments, anchors) never changes it; any\n"
         "change of meaning does. The spec must pass `pitwall check`.\n"
         "\n"
         "Exit status: 0 printed, 2 invalid or unreadable.\n"},
        {"model", pw_cmd_model,
         "model SPEC      print the canonical JSON that the workflow_id hashes",
         "usage: pitwall model SPEC\n"
         "\n"
         "Print the model of SPEC in RFC 8785 canonical form: exactly the bytes whose\n"
         "SHA-256 is the workflow_id. JSON is also YAML, so the output is itself a\n"
         "valid spec with the same workflow_id. The spec must pass `pitwall check`.\n"
         "\n"
         "Exit status: 0 printed, 2 invalid or unreadable.\n"},
        {"pin", pw_cmd_pin,
         "pin SPEC        after a reviewed change to a program, rewrite its sha256 pin",
         "usage: pitwall pin SPEC\n"
         "\n"
         "Hash every executor program of SPEC and rewrite, in place, each sha256 pin\n"
         "that no longer matches; nothing else in the file changes (formatting and\n"
         "comments are kept). Prints each pin it changes, then the new workflow_id.\n"
         "The spec must otherwise pass `pitwall check`. The file is replaced\n"
         "atomically (written beside it, synced, renamed).\n"
         "\n"
         "Pinning is approval: run it only after reviewing what changed in the\n"
         "programs, since the new workflow_id is what a run will trust.\n"
         "\n"
         "Exit status: 0 pinned (or nothing to do), 2 invalid or unreadable.\n"},
        {"run", pw_cmd_run, "run start SPEC   start a run of a workflow spec and print its run_id",
         "usage: pitwall run start SPEC [--db PATH] [--run-id ID] [--as NAME]\n"
         "\n"
         "Start a run of the workflow spec SPEC, which must pass `pitwall check`\n"
         "(every pin included). The genesis event pins the spec's workflow_id: every\n"
         "later call loads SPEC again and halts the run if it is not that spec.\n"
         "Creates the ledger (default .pitwall/pitwall.db) and the run's working\n"
         "directory (runs/RUN_ID beside the ledger). Prints one JSON object with\n"
         "run_id, workflow, workflow_id, state and run_dir.\n"
         "\n"
         "Exit status: 0 started, 2 invalid spec, unusable ledger or run id taken.\n"},
        {"call", pw_cmd_call,
         "call RUN ACTION [INPUT|-]  call an action of a run (all checks, then it runs)",
         "usage: pitwall call RUN ACTION [INPUT_JSON | -] [--db PATH] [--as AGENT]\n"
         "                    [--secrets FILE]\n"
         "\n"
         "Call ACTION in run RUN with INPUT_JSON (default {}; - reads it from stdin, at\n"
         "most 1 MiB). pitwall decides (allow, approval, block or reject), records the\n"
         "call in the log before anything runs, runs the action's program when\n"
         "allowed, and records its result. Prints one JSON object: verdict, reason,\n"
         "state, and where they apply check, expected, actual, owner, outcome, result,\n"
         "emitted, caps. --secrets names the file the action's secrets come from.\n"
         "\n"
         "Exit status: 0 allowed and succeeded, 3 waiting for approval, 4 blocked,\n"
         "5 rejected, 6 allowed but the action failed, 7 the run is halted,\n"
         "2 usage error (no such run or ledger).\n"},
        {"status", pw_cmd_status, "status RUN      show a run's state, capabilities and open calls",
         "usage: pitwall status RUN [--db PATH]\n"
         "\n"
         "Print the run's state as JSON, folded from its log: state, capabilities\n"
         "held, calls in progress or in doubt, pending approvals, counters, whether\n"
         "the run is halted, and the hash of its last event.\n"
         "\n"
         "Exit status: 0 printed, 1 the log does not verify, 2 no such run.\n"},
        {"log", pw_cmd_log, "log RUN         print a run's timeline, one line per event",
         "usage: pitwall log RUN [--db PATH] [--json]\n"
         "\n"
         "Print the run's events in order, one readable line each, after checking\n"
         "each against the hash chain. --json prints each event's canonical JSON.\n"
         "\n"
         "Exit status: 0 printed, 1 the log does not verify (the events before the\n"
         "break are printed), 2 no such run.\n"},
        {"resolve", pw_cmd_resolve,
         "resolve RUN CALL_ID --outcome ok|failed --as OWNER   settle an in-doubt call",
         "usage: pitwall resolve RUN CALL_ID --outcome ok|failed --as OWNER [--note TEXT]\n"
         "                       [--trust FILE] [--db PATH]\n"
         "\n"
         "A call whose program started but whose result was never recorded (pitwall\n"
         "was killed, the machine went down) is in doubt, and the run accepts no\n"
         "call until an owner records what happened, after checking the real system.\n"
         "OWNER is authenticated by the trust file (see approve). The resolve event\n"
         "names the owner and the OS user. ok moves the run to the action's target\n"
         "state when it has a single one; no capability is minted either way.\n"
         "\n"
         "Exit status: 0 recorded, 5 refused (not authenticated, not an owner of the\n"
         "workflow), 1 no such call in doubt or another failure, 2 usage error.\n"},
        {"pending", pw_cmd_pending, "pending [RUN]   list approval requests waiting for an owner",
         "usage: pitwall pending [RUN] [--db PATH] [--json]\n"
         "\n"
         "List the approval requests of RUN (default: every run of the ledger) that\n"
         "have not expired: waiting for their owner, or approved and not yet used.\n"
         "Each shows its run, approval id, action, input, owner, reason, the agent\n"
         "that asked, when it expires, and the call hash the approval is bound to.\n"
         "\n"
         "Exit status: 0 listed, 1 a run could not be read, 2 usage error.\n"},
        {"approve", pw_cmd_approve,
         "approve APPROVAL_ID --as OWNER   approve a waiting call (it runs on its next call)",
         "usage: pitwall approve APPROVAL_ID --as OWNER [--note TEXT] [--run RUN]\n"
         "                       [--trust FILE] [--db PATH]\n"
         "\n"
         "Record OWNER's approval of a waiting request. OWNER must be the owner the\n"
         "request names, and the trust file (default /etc/pitwall/owners) must let\n"
         "the calling OS user act as OWNER. The approval is bound to the exact call\n"
         "(action and input), is used by the agent's next call of it, runs it once,\n"
         "and lapses when the request expires. --run picks the run when the id is\n"
         "waiting in several.\n"
         "\n"
         "Exit status: 0 recorded, 5 refused (NOT_AUTHENTICATED, NOT_OWNER,\n"
         "APPROVAL_EXPIRED, APPROVAL_DECIDED, RUN_FROZEN), 1 no such request waiting,\n"
         "2 usage error.\n"},
        {"deny", pw_cmd_deny, "deny APPROVAL_ID --as OWNER --reason TEXT   refuse a waiting call",
         "usage: pitwall deny APPROVAL_ID --as OWNER --reason TEXT [--run RUN]\n"
         "                    [--trust FILE] [--db PATH]\n"
         "\n"
         "Record OWNER's refusal of a request (waiting, or approved and not yet used:\n"
         "a deny withdraws the approval). Authenticated as for approve.\n"
         "\n"
         "Exit status: 0 recorded, 5 refused, 1 no such request, 2 usage error.\n"},
        {"resume", pw_cmd_resume, "resume RUN --as OWNER   let a run halted by a fatal error go on",
         "usage: pitwall resume RUN --as OWNER [--note TEXT] [--trust FILE] [--db PATH]\n"
         "\n"
         "A fatal error (errors.exit ... fatal, a program that is not the pinned one)\n"
         "halts the run: nothing runs until an owner declared by the workflow, having\n"
         "looked, records a resume. A run frozen by a policy violation never resumes.\n"
         "\n"
         "Exit status: 0 recorded, 5 refused (NOT_AUTHENTICATED, NOT_OWNER, NOT_HALTED,\n"
         "RUN_FROZEN), 1 a failure, 2 usage error.\n"},
        {"unlock", pw_cmd_unlock, "unlock AGENT --as OWNER   lift an agent's lockout",
         "usage: pitwall unlock AGENT --as OWNER [--note TEXT] [--trust FILE] [--db PATH]\n"
         "\n"
         "A policy violation locks the calling agent out of every run of the ledger.\n"
         "Record an unlock event, by an owner of the trust file, in each run that\n"
         "locked AGENT out.\n"
         "\n"
         "Exit status: 0 unlocked, 5 refused (NOT_AUTHENTICATED), 1 not locked out or\n"
         "a failure, 2 usage error.\n"},
        {"stats", pw_cmd_stats, "stats [RUN]     counters by tier and action (--format prometheus)",
         "usage: pitwall stats [RUN] [--db PATH] [--format text|prometheus|json]\n"
         "\n"
         "Counters of RUN (default: every run of the ledger), folded from the logs:\n"
         "calls by verdict, results, faults by RAS tier, retries, escalations,\n"
         "halts, lockouts, unlocks and owners' decisions, in total and per action.\n"
         "--format prometheus prints the Prometheus text exposition format.\n"
         "\n"
         "Exit status: 0 printed, 1 a run could not be read, 2 usage error.\n"},
        {"export", pw_cmd_export,
         "export RUN      write a run's log as JSON Lines (one canonical event a line)",
         "usage: pitwall export RUN [--db PATH]\n"
         "\n"
         "Write every event of run RUN to stdout as JSON Lines: each event's RFC 8785\n"
         "canonical JSON, hash included, one per line, in order (docs/LOG-FORMAT.md).\n"
         "The events are checked against the hash chain as they are read.\n"
         "\n"
         "Exit status: 0 written, 1 the log does not verify, 2 no such run.\n"},
        {"verify", pw_cmd_verify,
         "verify FILE.jsonl --spec SPEC | verify --db PATH RUN   prove a run was legal",
         "usage: pitwall verify FILE.jsonl --spec SPEC\n"
         "       pitwall verify --db PATH RUN [--spec SPEC]\n"
         "\n"
         "Replay a run's events against its workflow spec with pitwall's pure core\n"
         "only: the hash chain, the genesis pin, every verdict decided again from the\n"
         "state folded so far, every outcome computed again from its recorded facts,\n"
         "every resolve. Prints\n"
         "\n"
         "    VALID run <run_id>: <N> events, workflow sha256:<hex>, head sha256:<hex>\n"
         "\n"
         "or VIOLATION at event <seq>: <check>: <detail>. FILE may be - for stdin.\n"
         "With --db, SPEC defaults to the path the run was started with.\n"
         "\n"
         "Exit status: 0 valid, 1 violation, 2 unusable input (a missing file, not\n"
         "JSON Lines, an unreadable spec).\n"},
        {"mcp", pw_cmd_mcp,
         "mcp --spec SPEC (--run RUN | --new-run)   serve a run to MCP clients on stdio",
         "usage: pitwall mcp --spec SPEC (--run RUN | --new-run) [--db PATH] [--as AGENT]\n"
         "                   [--secrets FILE] [--list legal|all]\n"
         "\n"
         "Serve one run over the Model Context Protocol on stdin and stdout\n"
         "(newline-delimited JSON-RPC 2.0; messages for people go to stderr). The\n"
         "tools are the spec's actions, each with its input schema, plus the read-only\n"
         "pitwall_status. By default tools/list shows only the actions legal in the\n"
         "run's state, and notifications/tools/list_changed follows every change;\n"
         "--list all shows every action with the legal ones marked. Every tools/call\n"
         "goes through the same pipeline as pitwall call. SPEC must be the spec the\n"
         "run pins; --new-run starts a run of it (as --as, default operator).\n"
         "See docs/MCP.md.\n"
         "\n"
         "Exit status: 0 the client closed the session, 1 a failure, 2 usage error\n"
         "(invalid spec, no such run, a run of another spec).\n"},
};

static const size_t n_commands = sizeof commands / sizeof commands[0];

static const pw_command *find(const char *name)
{
	for (size_t i = 0; i < n_commands; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void overview(FILE *f)
{
	fprintf(f,
	        "pitwall %s: governed execution for AI agents\n"
	        "\n"
	        "An agent gets a closed set of typed actions declared in a workflow spec;\n"
	        "every call is decided (allow, approval, block, reject), recorded in a\n"
	        "hash-chained log before it runs, and run without a shell.\n"
	        "\n"
	        "usage: pitwall COMMAND [ARGS]\n"
	        "\n"
	        "commands:\n",
	        PW_VERSION);
	for (size_t i = 0; i < n_commands; i++)
		fprintf(f, "  %s\n", commands[i].synopsis);
	fprintf(f, "  help COMMAND    show the full help of a command\n"
	           "\n"
	           "Start with: pitwall check examples/research_v1/workflow.yaml\n"
	           "            pitwall run start examples/research_v1/workflow.yaml\n"
	           "Reference: docs/SPEC.md (workflow spec), docs/CLI.md (commands)\n");
}

int pw_cli_usage(const char *cmd)
{
	const pw_command *c = find(cmd);
	if (c != NULL) {
		const char *nl = strchr(c->help, '\n');
		fprintf(stderr, "pitwall %s: %.*s\n", cmd, (int)(nl ? nl - c->help : 0), c->help);
	}
	fprintf(stderr, "see 'pitwall help %s'\n", cmd);
	return PW_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		overview(stderr);
		return PW_EXIT_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		overview(stdout);
		return PW_EXIT_OK;
	}
	if (strcmp(name, "--version") == 0) {
		printf("pitwall %s\n", PW_VERSION);
		return PW_EXIT_OK;
	}
	if (strcmp(name, "help") == 0) {
		if (argc == 2) {
			overview(stdout);
			return PW_EXIT_OK;
		}
		const pw_command *c = find(argv[2]);
		if (c == NULL) {
			fprintf(stderr, "pitwall: unknown command \"%s\"; see 'pitwall --help'\n",
			        argv[2]);
			return PW_EXIT_USAGE;
		}
		fputs(c->help, stdout);
		return PW_EXIT_OK;
	}
	const pw_command *c = find(name);
	if (c == NULL) {
		fprintf(stderr, "pitwall: unknown command \"%s\"; see 'pitwall --help'\n", name);
		return PW_EXIT_USAGE;
	}
	if (argc == 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
		fputs(c->help, stdout);
		return PW_EXIT_OK;
	}
	return c->run(argc - 2, argv + 2);
}
