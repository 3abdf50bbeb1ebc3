/*
 * cli.h: the pitwall command line. One function per subcommand, each
 * taking the arguments after its name and returning the process exit
 * status (docs/CLI.md lists them).
 */
#ifndef PW_CLI_CLI_H
#define PW_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "core/diag.h"

#define PW_VERSION "0.1.0"

/* Exit statuses shared by every command. */
#define PW_EXIT_OK      0
#define PW_EXIT_FAILURE 1
#define PW_EXIT_USAGE   2 /* bad arguments, or an input that cannot be used */
/* pitwall call */
#define PW_EXIT_APPROVAL      3 /* waiting for an owner's approval */
#define PW_EXIT_BLOCKED       4 /* blocked by policy */
#define PW_EXIT_REJECTED      5 /* rejected: a check failed */
#define PW_EXIT_ACTION_FAILED 6 /* allowed, ran, and failed (or its result is not recorded) */
#define PW_EXIT_HALTED        7 /* the run is halted */

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
int pw_cmd_run(int argc, char **argv);
int pw_cmd_call(int argc, char **argv);
int pw_cmd_status(int argc, char **argv);
int pw_cmd_log(int argc, char **argv);
int pw_cmd_resolve(int argc, char **argv);
int pw_cmd_pending(int argc, char **argv);
int pw_cmd_approve(int argc, char **argv);
int pw_cmd_deny(int argc, char **argv);
int pw_cmd_resume(int argc, char **argv);
int pw_cmd_unlock(int argc, char **argv);
int pw_cmd_stats(int argc, char **argv);
int pw_cmd_export(int argc, char **argv);
int pw_cmd_verify(int argc, char **argv);
int pw_cmd_mcp(int argc, char **argv);

/* Print diag items as "file:line:col: message" to stderr. */
void pw_cli_print_diag(const char *file, const pw_diag *d);

/* Write s to f with control characters shown as \xNN, never interpreted. */
void pw_cli_put_escaped(FILE *f, const char *s);

/* "pitwall CMD: MESSAGE\n" to stderr, the message escaped like pw_cli_put_escaped(). */
void pw_cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "pitwall CMD: usage: ..." to stderr and return PW_EXIT_USAGE. */
int pw_cli_usage(const char *cmd);

#endif
