/*
 * canon.h: read JSON text that is already in RFC 8785 canonical form, in
 * place, without building values.
 *
 * Every line of an exported log is the canonical form of its event
 * (event.h), and an event's hash is taken over that form. When a text is
 * canonical, the canonical form need not be computed again: it is the text
 * itself. pw_canon_object() decides whether a buffer is exactly the
 * canonical form of a JSON object that pw_json_parse() accepts, and lists
 * its members as spans of the buffer. The caller can then hash the bytes,
 * compare members with expected values byte for byte (two JSON values are
 * equal in the sense of pw_json_equal() exactly when their canonical forms
 * are), and build values (pw_json_parse() of a member's span) only for the
 * members it needs.
 *
 * Being canonical is decided, never assumed or repaired: a text that is not
 * canonical is refused (false), and the caller falls back to pw_json_parse()
 * and pw_jcs_dump(). The reader also refuses, for simplicity, a few
 * canonical texts: member names written with escapes, and objects with more
 * members than the caller has room for.
 *
 * Pure: no I/O; nothing is allocated but by pw_canon_value().
 */
#ifndef PW_CORE_CANON_H
#define PW_CORE_CANON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One member of an object, as spans of the text it was read from. */
typedef struct pw_canon_member {
	const char *name; /* the member's name, without quotes (it has no escapes) */
	size_t name_len;
	const char *value; /* the value's canonical text */
	size_t value_len;
} pw_canon_member;

/*
 * True when buf[0..len) is, byte for byte, the RFC 8785 canonical form of
 * a JSON object that pw_json_parse() accepts with a nesting limit of
 * max_depth (so that pw_jcs_dump() of what it parses gives buf back), and
 * has at most max members, none of whose names, at any depth, is written
 * with an escape. Its members, in order, then go to members[0..*n).
 */
bool pw_canon_object(const char *buf, size_t len, unsigned max_depth, pw_canon_member *members,
                     size_t max, size_t *n);

/*
 * The members of obj[0..len), the span of an object that pw_canon_object()
 * accepted (the whole text or a value inside it), into members[0..*n).
 * False when it has more than max members.
 */
bool pw_canon_members(const char *obj, size_t len, pw_canon_member *members, size_t max, size_t *n);

/*
 * Decode lit[0..len), the span of a string value of an accepted text
 * (quotes included), into out, which must hold len - 1 bytes; returns the
 * decoded length (out is NUL-terminated; the value holds no NUL).
 */
size_t pw_canon_string(const char *lit, size_t len, char *out);

/*
 * Build the value of val[0..len), the span of any value of an accepted
 * text, as JSON: the very value that pw_json_parse() of the text holds
 * there (numbers as reals, members in the order written). A new
 * reference, or NULL when out of memory.
 */
json_t *pw_canon_value(const char *val, size_t len);

/*
 * The value of the number lit[0..len) of an accepted text as pw_event_int()
 * reads it: the integer when the number is one within +-2^53, else -1.
 */
int64_t pw_canon_int(const char *lit, size_t len);

#endif
