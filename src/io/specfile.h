/*
 * specfile.h: load a workflow spec from disk and check its executor pins.
 *
 * This is the shell around core/spec: it reads the file (at most
 * PW_SPEC_MAX_BYTES), hands the bytes to pw_spec_parse(), then checks that
 * every action's program exists next to the spec (or at its absolute
 * path), is a regular executable file, and hashes to its sha256 pin. A
 * pin that does not match is an error: what would run is not what was
 * approved.
 */
#ifndef PW_IO_SPECFILE_H
#define PW_IO_SPECFILE_H

#include <stdbool.h>

#include "core/diag.h"
#include "core/spec.h"

#define PW_SPEC_MAX_BYTES    ((size_t)1 << 20)
#define PW_PROGRAM_MAX_BYTES ((size_t)256 << 20)

typedef struct pw_specfile {
	pw_spec *spec; /* owned */
	char *path;    /* owned; the path as given */
	char *dir;     /* owned; absolute path of the spec's folder */
} pw_specfile;

/*
 * Load path. Problems go to diag with positions (the caller prints them
 * as "path:line:col: message"). PW_OK fills *out (release with
 * pw_specfile_release()); otherwise *out is zeroed.
 */
PW_MUST_CHECK pw_status pw_specfile_load(const char *path, pw_specfile *out, pw_diag *diag);

/*
 * The same, with the pin checks only when pins is true. The broker loads
 * without them: it checks the pin of the one program a call would run, as
 * step 8 of the pipeline (CODE_HASH_MISMATCH), so that a changed program
 * is a recorded verdict rather than a spec that does not load.
 */
PW_MUST_CHECK pw_status pw_specfile_load_opt(const char *path, bool pins, pw_specfile *out,
                                             pw_diag *diag);

/*
 * Absolute path of an action's program, resolved against the spec's
 * folder, into a buffer from malloc() the caller frees. NULL on failure.
 */
char *pw_specfile_program_path(const pw_specfile *sf, const pw_action *a);

void pw_specfile_release(pw_specfile *sf);

#endif
