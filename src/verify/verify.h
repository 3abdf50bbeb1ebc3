/*
 * verify.h: replay a run's log against its spec and prove it legal, or
 * name the first event that is not.
 *
 * The verifier trusts nothing but the spec it is given and the events in
 * front of it. Events are fed one at a time, in order (from an export or
 * from the ledger); for each it checks:
 *
 *   chain       "v", "run_id", contiguous "seq", "prev" linking to the
 *               previous event's hash, and "hash" recomputed (event.h)
 *   genesis     the first event is the only genesis, pins this spec's
 *               workflow_id and starts in its initial state
 *   decision    for every call, the recorded verdict, reason, tier, check,
 *               expected, actual, owner, expiry and message are exactly what
 *               the pure core decides (decide.h) from the state folded so far,
 *               the recorded input, the recorded time and the recorded
 *               observations; the call id is "c<seq>" and the recorded state
 *               is the folded one
 *   outcome     for every result, it follows an allowed call that is still
 *               open, and its outcome, tier, reason, check, capabilities
 *               minted and new state are what the core computes (outcome.h)
 *               from the recorded facts (how the program ended, its exit
 *               status, its result) at the recorded time
 *   resolve     it settles an open call, by an owner the spec declares, to
 *               the state the rules give
 *   fold        the event fits the run (run.h)
 *
 * What it cannot see: observations the runtime recorded (the hash of a
 * program, whether the spec on disk could be read, whether another call was
 * in progress) are taken as recorded; and events cut off the end of a log
 * leave a shorter log that is still valid, unless its head is compared with
 * a checkpoint kept elsewhere.
 *
 * Pure: no I/O. Memory grows with the run's state (capabilities, open
 * calls), not with the number of events.
 */
#ifndef PW_VERIFY_VERIFY_H
#define PW_VERIFY_VERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/event.h"
#include "core/run.h"
#include "core/spec.h"

typedef struct pw_verifier pw_verifier;

/* The verdict on a log, or on the part of it seen so far. */
typedef struct pw_verify_report {
	bool valid;       /* no violation so far */
	uint64_t events;  /* events accepted */
	uint64_t bad_seq; /* the position of the first event that is not legal */
	char check[32];   /* which check: "chain", "genesis", "decision", "outcome", ... */
	char detail[768]; /* one line: what was recorded, what was expected */
	char run_id[65];
	char head[PW_HASH_STR_LEN + 1]; /* hash of the last event accepted */
} pw_verify_report;

/* A verifier for logs of spec (borrowed; it must outlive the verifier). */
PW_MUST_CHECK pw_status pw_verify_new(const pw_spec *spec, pw_verifier **out);
void pw_verify_free(pw_verifier *v);

/*
 * Feed the next event. PW_OK whether or not it is legal: after the first
 * violation the verifier ignores what follows, and the report says where it
 * was. PW_ERR_NOMEM when it could not check.
 */
PW_MUST_CHECK pw_status pw_verify_event(pw_verifier *v, const json_t *ev);

/*
 * Lines of an export, read in place. An exported line is the canonical
 * form of its event (event.h), so the verifier need not build the event
 * as JSON to check it: it hashes the line's bytes and compares members as
 * bytes, and builds as JSON only what the replay needs (the input and the
 * result). A line that is not canonical is read the ordinary way
 * (pw_json_parse(), then as pw_verify_event()), and so is an event that
 * does not pass a check, so that the report is the same either way.
 *
 * Preparing a line does not touch the verifier: lines may be prepared
 * ahead, in another thread (each thread with its own hasher), and are then
 * fed in order with pw_verify_line().
 */
typedef struct pw_verify_prep pw_verify_prep;
PW_MUST_CHECK pw_status pw_verify_prep_new(pw_verify_prep **out);
void pw_verify_prep_free(pw_verify_prep *p);

/*
 * Read line[0..len) (without its newline; borrowed until pw_verify_line()
 * has taken it) into p. PW_ERR_NOMEM; PW_OK otherwise, whatever the line.
 */
PW_MUST_CHECK pw_status pw_verify_prepare(pw_event_hasher *h, pw_verify_prep *p, const char *line,
                                          size_t len);

/*
 * Feed the prepared line as the next event: PW_OK or PW_ERR_NOMEM as
 * pw_verify_event(). What the verifier keeps of the line's values it holds
 * its own references to; the line's are released when p prepares another
 * line, in the thread that made them (which keeps malloc() from passing
 * memory between threads, a cost measured in bench/RESULTS.md). When the line is not a JSON object,
 * the event is not fed: the status of pw_json_parse() (PW_ERR_TOO_LARGE over PW_EVENT_MAX_BYTES,
 * PW_ERR_INVALID for another JSON value) with why in perr.
 */
PW_MUST_CHECK pw_status pw_verify_line(pw_verifier *v, pw_verify_prep *p, char *perr,
                                       size_t perrlen);

/* The report so far. A log with no event at all is not valid (check "genesis"). */
const pw_verify_report *pw_verify_report_get(const pw_verifier *v);

/* The run state folded from the events accepted. */
const pw_run *pw_verify_run(const pw_verifier *v);

#endif
