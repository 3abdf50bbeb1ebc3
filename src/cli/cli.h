/*
 * cli.h: the pitwall command line. One function per subcommand, each
 * taking the arguments after its name and returning the process exit
 * status (docs/CLI.md lists them).
 */
#ifndef PW_CLI_CLI_H
#define PW_CLI_CLI_H

#include "core/diag.h"

/* Exit statuses shared by every command. */
#define PW_EXIT_OK      0
#define PW_EXIT_FAILURE 1
#define PW_EXIT_USAGE   2 /* bad arguments, or an input that cannot be used */

typedef struct pw_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis; /* one line, for `pitwall --help` */
	const char *help;     /* full text, for `pitwall help NAME` */
} pw_command;

int pw_cmd_check(int argc, char **argv);
int pw_cmd_id(int argc, char **argv);
int pw_cmd_model(int argc, char **argv);
int pw_cmd_pin(int argc, char **argv);

/* Print diag items as "file:line:col: message" to stderr. */
void pw_cli_print_diag(const char *file, const pw_diag *d);

/* Print "pitwall CMD: usage: ..." to stderr and return PW_EXIT_USAGE. */
int pw_cli_usage(const char *cmd);

#endif
