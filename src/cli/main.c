/*
 * main.c: pitwall's entry point: finds the subcommand and runs it.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#define PW_VERSION "0.1.0"

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
	        "pitwall checks each spec exactly; the broker that decides and records every\n"
	        "call (allow, approval, block, reject) is the next step.\n"
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
