/*
 * event.h: the events of a run's log, and how each is chained to the last.
 *
 * An event is a JSON object. Every event has these members:
 *
 *   "v"        1 (the log format version)
 *   "run_id"   the run
 *   "seq"      0, 1, 2, ... with no gaps; 0 is the genesis
 *   "kind"     "genesis", "call", "result", "resolve", ...
 *   "time_ms"  milliseconds since the Unix epoch (UTC), an integer
 *   "prev"     "sha256:<hex>" of the previous event's hash; for the
 *              genesis, "sha256:" followed by 64 zeros
 *   "hash"     "sha256:<hex>" of this event, as below
 *
 * and the members of its kind (docs/LOG-FORMAT.md lists them all).
 *
 *   hash = SHA-256( "pitwall-event-v1" || 0x00 || the 32 bytes of prev
 *                   || JCS(the event without its "hash" member) )
 *
 * where JCS is the RFC 8785 canonical form. The domain tag keeps an event
 * hash from ever being confused with another SHA-256 that pitwall computes
 * (a workflow_id, a program pin, an input digest).
 *
 * Pure: no I/O.
 */
#ifndef PW_CORE_EVENT_H
#define PW_CORE_EVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/canon.h"
#include "core/err.h"

#define PW_EVENT_DOMAIN    "pitwall-event-v1"
#define PW_EVENT_VERSION   1
#define PW_HASH_STR_LEN    (7 + 64)          /* "sha256:" + 64 hex digits */
#define PW_EVENT_MAX_BYTES ((size_t)8 << 20) /* one canonical event, at most */

/* "sha256:0000...0": the prev of a genesis event. */
extern const char pw_event_genesis_prev[PW_HASH_STR_LEN + 1];

/*
 * Compute ev's hash from its members (an existing "hash" member is
 * ignored) into out as "sha256:<hex>". PW_ERR_INVALID if "prev" is not a
 * "sha256:<hex>" string; PW_ERR_TOO_LARGE over PW_EVENT_MAX_BYTES;
 * PW_ERR_NOMEM.
 */
PW_MUST_CHECK pw_status pw_event_hash(const json_t *ev, char out[PW_HASH_STR_LEN + 1]);

/*
 * The same hash from bytes, for a reader that holds the event's canonical
 * form already: line[0..len) as pw_canon_object() accepted it, m[0..n) its
 * members. Cut the "hash" member out of a canonical object and what is left
 * is the canonical form of the object without it, so nothing is built or
 * serialized. The same statuses as pw_event_hash(). A hasher keeps SHA-256
 * ready between events; one hasher is for one thread.
 */
typedef struct pw_event_hasher pw_event_hasher;
PW_MUST_CHECK pw_status pw_event_hasher_new(pw_event_hasher **out);
void pw_event_hasher_free(pw_event_hasher *h);
PW_MUST_CHECK pw_status pw_event_hash_canon(pw_event_hasher *h, const char *line, size_t len,
                                            const pw_canon_member *m, size_t n,
                                            char out[PW_HASH_STR_LEN + 1]);

/*
 * Set ev's "v", "run_id", "seq", "prev" (and "time_ms" when ev has none)
 * and then its "hash". prev is the previous event's hash or
 * pw_event_genesis_prev for seq 0.
 */
PW_MUST_CHECK pw_status pw_event_seal(json_t *ev, const char *run_id, uint64_t seq,
                                      const char *prev, int64_t time_ms);

/*
 * Check one stored event against the chain: the common members are
 * present and well-typed, "run_id" is run_id, "seq" is seq, "prev" is
 * prev, and "hash" is what pw_event_hash() computes. PW_ERR_INVALID with
 * a one-line reason in err ("seq 7: prev does not match the hash of
 * event 6") when not.
 */
PW_MUST_CHECK pw_status pw_event_verify(const json_t *ev, const char *run_id, uint64_t seq,
                                        const char *prev, char *err, size_t errlen);

/* Canonical bytes of a sealed event, for storage and export. */
PW_MUST_CHECK pw_status pw_event_dump(const json_t *ev, char **out, size_t *outlen);

/* Member accessors that tolerate absence: NULL / -1 / false. */
const char *pw_event_str(const json_t *ev, const char *key);
int64_t pw_event_int(const json_t *ev, const char *key);

/* A run_id (and any id pitwall prints) is ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$. */
bool pw_id_valid(const char *s);

#endif
